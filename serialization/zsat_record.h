/*  zsat_record - a measurement: an ordered list of key -> number or string, the payload of
    every built-in probe (serialization "zsat.record", a msgpack map, docs/protocol.md).
    Sinks (csv, hdf5, carbon, log) read records; exec converts them to and from JSON.
    Fixed capacity, no allocation per record: probes fill one per measurement.
*/
#ifndef ZSAT_RECORD_H_INCLUDED
#define ZSAT_RECORD_H_INCLUDED
#include "zsat.h"

#define ZSAT_RECORD_SERIALIZATION "zsat.record"
#define ZSAT_RECORD_FIELDS_MAX    256
#define ZSAT_RECORD_KEY_MAX       64
#define ZSAT_RECORD_STR_MAX       128

typedef struct {
    char key[ZSAT_RECORD_KEY_MAX];
    bool is_number;
    double number;
    char text[ZSAT_RECORD_STR_MAX];
} zsat_field_value_t;

typedef struct {
    size_t count;
    zsat_field_value_t field[ZSAT_RECORD_FIELDS_MAX];
} zsat_record_t;

void zsat_record_reset (zsat_record_t *r);
//  Appends a number / a string. Returns 0, or -1 when full or the key is too long.
int zsat_record_add_number (zsat_record_t *r, const char *key, double value);
int zsat_record_add_text (zsat_record_t *r, const char *key, const char *value);
//  Returns the field with key, or NULL.
const zsat_field_value_t *zsat_record_find (const zsat_record_t *r, const char *key);
//  Encodes r as a msgpack map into buf. Returns the length, or -1 when cap is too small.
int zsat_record_encode (const zsat_record_t *r, uint8_t *buf, size_t cap);
//  Decodes a msgpack map of str -> int/float/str/bool/nil (bounded, strict). Returns 0 or -1.
int zsat_record_decode (zsat_record_t *r, const uint8_t *data, size_t size, zsat_error_t *err);
//  Writes r as a JSON object into buf. Returns the length, or -1 when cap is too small.
int zsat_record_to_json (const zsat_record_t *r, char *buf, size_t cap);
//  Parses a flat JSON object of string/number/bool/null values. Returns 0 or -1 with err.
int zsat_record_from_json (zsat_record_t *r, const char *json, size_t size, zsat_error_t *err);

#endif
