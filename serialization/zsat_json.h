/*  zsat_json - a small strict reader of flat JSON objects and a JSON writer, for records
    (exec's stdin/stdout), `zsat codec` and vectors as JSON. No allocation: strings are
    unescaped into a buffer the caller gives. Nested objects and arrays are refused, except
    that a parser with nested_ok hands a nested object back as its text (a vector's
    "record", parsed by zsat_record_from_json).
*/
#ifndef ZSAT_JSON_H_INCLUDED
#define ZSAT_JSON_H_INCLUDED
#include "zsat.h"

#define ZSAT_JSON_KEY_MAX    64  //  keys are 0..63 bytes
#define ZSAT_JSON_NUMBER_MAX 64  //  a longer number token is refused

typedef enum {
    ZSAT_JSON_STRING,
    ZSAT_JSON_NUMBER,
    ZSAT_JSON_TRUE,
    ZSAT_JSON_FALSE,
    ZSAT_JSON_NULL,
    ZSAT_JSON_OBJECT  //  only with nested_ok: the raw text of a nested object, unparsed
} zsat_json_type_t;

typedef struct {
    const char *p;
    const char *end;
    int pairs;  //  pairs read so far
    bool done;
    bool nested_ok;  //  set after open: a value may be an object (ZSAT_JSON_OBJECT)
    bool nul_ok;     //  set after open: string values may hold \u0000 (text_len counts it)
} zsat_json_parser_t;

//  One key/value pair. Set text/text_cap before zsat_json_next: string values are unescaped
//  there (UTF-8, NUL-terminated); number values are the raw token in number[].
typedef struct {
    char key[ZSAT_JSON_KEY_MAX];
    zsat_json_type_t type;
    char *text;
    size_t text_cap;
    size_t text_len;
    char number[ZSAT_JSON_NUMBER_MAX + 1];
    const char *object;  //  ZSAT_JSON_OBJECT: the object's text, '{' to '}', in the input
    size_t object_len;
} zsat_json_pair_t;

//  Starts reading json[0..size): expects '{' after optional white space. Returns 0 or -1.
int zsat_json_open (zsat_json_parser_t *self, const char *json, size_t size, zsat_error_t *err);
//  Reads the next pair. Returns 1 with a pair, 0 at the closing '}' (only white space may
//  follow), or -1 with err (syntax, nested value, string over text_cap, bad UTF-8). A
//  nested object (nested_ok) is only delimited here: strings and brackets are matched,
//  its content is for the caller to parse.
int zsat_json_next (zsat_json_parser_t *self, zsat_json_pair_t *pair, zsat_error_t *err);
//  Converts a number token. Return 0, or -1 when out of range / not an integer.
int zsat_json_to_double (const char *token, double *value);
int zsat_json_to_uint (const char *token, uint64_t max, uint64_t *value);
int zsat_json_to_int64 (const char *token, int64_t *value);

//  Returns true when s[0..n) is valid UTF-8 (no overlong forms, no surrogates).
bool zsat_json_utf8_valid (const char *s, size_t n);

//  A bounded output buffer: writes past cap set overflow and are dropped.
typedef struct {
    char *buf;
    size_t cap;
    size_t len;
    bool overflow;
} zsat_json_out_t;

void zsat_json_out_init (zsat_json_out_t *o, char *buf, size_t cap);
void zsat_json_raw (zsat_json_out_t *o, const char *s, size_t n);
void zsat_json_printf (zsat_json_out_t *o, const char *format, ...)
    __attribute__ ((format (printf, 2, 3)));
//  Writes s[0..n) as a quoted JSON string; the caller passes valid UTF-8.
void zsat_json_string (zsat_json_out_t *o, const char *s, size_t n);
//  Writes a message (an error text that may quote hostile bytes) as a JSON string: when s is
//  not valid UTF-8, every byte above 0x7f becomes '?'. At most 1024 bytes are written.
void zsat_json_message (zsat_json_out_t *o, const char *s, size_t n);
//  Writes a number: integral values without a fraction, non-finite ones as null.
void zsat_json_number (zsat_json_out_t *o, double value);
//  NUL-terminates. Returns the length, or -1 when the buffer was too small.
int zsat_json_finish (zsat_json_out_t *o);

#endif
