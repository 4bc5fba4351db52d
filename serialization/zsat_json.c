/*  zsat_json - strict flat-JSON reader and bounded JSON writer (no sockets, no allocation).
    Strict means RFC 8259 grammar for the subset it takes: one object of string keys to
    string/number/true/false/null, no duplicate checks (the caller's job), no trailing
    bytes but white space, strings valid UTF-8 without control characters or NUL.
*/
#include "zsat_json.h"
#include <math.h>
#include <stdarg.h>

static void
s_skip_ws (zsat_json_parser_t *self)
{
    while (self->p < self->end &&
           (*self->p == ' ' || *self->p == '\t' || *self->p == '\n' || *self->p == '\r'))
        self->p++;
}

int
zsat_json_open (zsat_json_parser_t *self, const char *json, size_t size, zsat_error_t *err)
{
    self->p = json ? json : "";
    self->end = json ? json + size : self->p;
    self->pairs = 0;
    self->done = false;
    self->nested_ok = false;
    self->nul_ok = false;
    s_skip_ws (self);
    if (self->p >= self->end || *self->p != '{')
        return zsat_fail (err, ZSAT_E_TYPE, "JSON: expected an object '{'");
    self->p++;
    return 0;
}

static int
s_hex4 (const char *p, const char *end, uint32_t *value)
{
    if (end - p < 4)
        return -1;
    uint32_t v = 0;
    for (int i = 0; i < 4; i++) {
        char c = p[i];
        int d = c >= '0' && c <= '9'   ? c - '0'
                : c >= 'a' && c <= 'f' ? c - 'a' + 10
                : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                       : -1;
        if (d < 0)
            return -1;
        v = v * 16 + (uint32_t)d;
    }
    *value = v;
    return 0;
}

//  Reads \uXXXX (and its low surrogate) at p (after the 'u'); sets *cp. Returns the bytes
//  consumed, or -1.
static int
s_unicode_escape (const char *p, const char *end, uint32_t *cp)
{
    uint32_t hi, lo;
    if (s_hex4 (p, end, &hi))
        return -1;
    if (hi >= 0xdc00 && hi <= 0xdfff)
        return -1;
    if (hi < 0xd800 || hi > 0xdbff) {
        *cp = hi;
        return 4;
    }
    if (end - p < 10 || p[4] != '\\' || p[5] != 'u' || s_hex4 (p + 6, end, &lo) || lo < 0xdc00 ||
        lo > 0xdfff)
        return -1;
    *cp = 0x10000 + ((hi - 0xd800) << 10) + (lo - 0xdc00);
    return 10;
}

static size_t
s_utf8_put (char *out, uint32_t cp)
{
    if (cp < 0x80) {
        out[0] = (char)cp;
        return 1;
    }
    if (cp < 0x800) {
        out[0] = (char)(0xc0 | (cp >> 6));
        out[1] = (char)(0x80 | (cp & 0x3f));
        return 2;
    }
    if (cp < 0x10000) {
        out[0] = (char)(0xe0 | (cp >> 12));
        out[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
        out[2] = (char)(0x80 | (cp & 0x3f));
        return 3;
    }
    out[0] = (char)(0xf0 | (cp >> 18));
    out[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
    out[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
    out[3] = (char)(0x80 | (cp & 0x3f));
    return 4;
}

//  Decodes one escape at p (after the backslash) into out; returns bytes consumed or -1.
//  \u0000 only when nul_ok: C strings (names, keys) end at a NUL.
static int
s_escape (const char *p, const char *end, char *out, size_t *out_len, bool nul_ok)
{
    if (p >= end)
        return -1;
    static const char from[] = "\"\\/bfnrt", to[] = "\"\\/\b\f\n\r\t";
    const char *hit = memchr (from, *p, sizeof from - 1);
    if (hit) {
        out[0] = to[hit - from];
        *out_len = 1;
        return 1;
    }
    uint32_t cp;
    int used = *p == 'u' ? s_unicode_escape (p + 1, end, &cp) : -1;
    if (used < 0 || (cp == 0 && !nul_ok))
        return -1;
    *out_len = s_utf8_put (out, cp);
    return used + 1;
}

//  Reads a string at self->p (on the quote) into out (cap bytes with the NUL).
static int
s_string (zsat_json_parser_t *self, char *out, size_t cap, size_t *len, bool nul_ok,
          zsat_error_t *err)
{
    const char *p = self->p + 1;
    size_t n = 0;
    while (p < self->end && *p != '"') {
        char tmp[4];
        size_t tlen = 1;
        if ((unsigned char)*p < 0x20)
            return zsat_fail (err, ZSAT_E_FIELD, "JSON: control character in a string");
        if (*p == '\\') {
            int used = s_escape (p + 1, self->end, tmp, &tlen, nul_ok);
            if (used < 0)
                return zsat_fail (err, ZSAT_E_FIELD, "JSON: bad escape in a string");
            p += used + 1;
        }
        else
            tmp[0] = *p++;
        if (n + tlen >= cap)
            return zsat_fail (err, ZSAT_E_SIZE, "JSON: string longer than %zu bytes", cap - 1);
        memcpy (out + n, tmp, tlen);
        n += tlen;
    }
    if (p >= self->end)
        return zsat_fail (err, ZSAT_E_TRUNCATED, "JSON: unterminated string");
    if (!zsat_json_utf8_valid (out, n))
        return zsat_fail (err, ZSAT_E_FIELD, "JSON: string is not valid UTF-8");
    out[n] = 0;
    *len = n;
    self->p = p + 1;
    return 0;
}

static size_t
s_digits (const char *p, const char *end)
{
    const char *s = p;
    while (p < end && *p >= '0' && *p <= '9')
        p++;
    return (size_t)(p - s);
}

//  Reads a number token per the JSON grammar into pair->number.
static int
s_number (zsat_json_parser_t *self, zsat_json_pair_t *pair, zsat_error_t *err)
{
    const char *p = self->p, *end = self->end;
    if (p < end && *p == '-')
        p++;
    size_t d = s_digits (p, end);
    if (d == 0 || (d > 1 && *p == '0'))
        return zsat_fail (err, ZSAT_E_FIELD, "JSON: bad number");
    p += d;
    if (p < end && *p == '.') {
        if ((d = s_digits (p + 1, end)) == 0)
            return zsat_fail (err, ZSAT_E_FIELD, "JSON: bad number fraction");
        p += 1 + d;
    }
    if (p < end && (*p == 'e' || *p == 'E')) {
        p++;
        if (p < end && (*p == '+' || *p == '-'))
            p++;
        if ((d = s_digits (p, end)) == 0)
            return zsat_fail (err, ZSAT_E_FIELD, "JSON: bad number exponent");
        p += d;
    }
    size_t n = (size_t)(p - self->p);
    if (n > ZSAT_JSON_NUMBER_MAX)
        return zsat_fail (err, ZSAT_E_SIZE, "JSON: number token too long");
    memcpy (pair->number, self->p, n);
    pair->number[n] = 0;
    self->p = p;
    return 0;
}

//  Finds the end of the object at self->p (on its '{'), matching brackets outside strings;
//  the content is not validated here. Sets pair->object/object_len.
static int
s_nested (zsat_json_parser_t *self, zsat_json_pair_t *pair, zsat_error_t *err)
{
    const char *p = self->p;
    int depth = 0;
    bool in_string = false;
    for (; p < self->end; p++) {
        if (in_string && *p == '\\')
            p++;  //  the escaped character cannot end the string
        else if (*p == '"')
            in_string = !in_string;
        else if (!in_string && (*p == '{' || *p == '['))
            depth++;
        else if (!in_string && (*p == '}' || *p == ']') && --depth == 0)
            break;
    }
    if (p >= self->end)
        return zsat_fail (err, ZSAT_E_TRUNCATED, "JSON: value of '%s' is not closed", pair->key);
    pair->type = ZSAT_JSON_OBJECT;
    pair->object = self->p;
    pair->object_len = (size_t)(p + 1 - self->p);
    self->p = p + 1;
    return 0;
}

static int
s_value (zsat_json_parser_t *self, zsat_json_pair_t *pair, zsat_error_t *err)
{
    static const char *words[] = {"true", "false", "null"};
    static const zsat_json_type_t types[] = {ZSAT_JSON_TRUE, ZSAT_JSON_FALSE, ZSAT_JSON_NULL};
    if (self->p >= self->end)
        return zsat_fail (err, ZSAT_E_TRUNCATED, "JSON: input ends before a value");
    char c = *self->p;
    if (c == '"') {
        pair->type = ZSAT_JSON_STRING;
        return s_string (self, pair->text, pair->text_cap, &pair->text_len, self->nul_ok, err);
    }
    if (c == '-' || (c >= '0' && c <= '9')) {
        pair->type = ZSAT_JSON_NUMBER;
        return s_number (self, pair, err);
    }
    if (c == '{' && self->nested_ok)
        return s_nested (self, pair, err);
    if (c == '{' || c == '[')
        return zsat_fail (err, ZSAT_E_TYPE, "JSON: value of '%s' is nested; only flat objects",
                          pair->key);
    for (int i = 0; i < 3; i++) {
        size_t n = strlen (words[i]);
        if ((size_t)(self->end - self->p) >= n && memcmp (self->p, words[i], n) == 0) {
            pair->type = types[i];
            self->p += n;
            return 0;
        }
    }
    return zsat_fail (err, ZSAT_E_FIELD, "JSON: unexpected character '%c'", c);
}

//  Consumes the closing '}' and checks nothing but white space follows.
static int
s_close (zsat_json_parser_t *self, zsat_error_t *err)
{
    self->p++;
    s_skip_ws (self);
    if (self->p != self->end)
        return zsat_fail (err, ZSAT_E_SIZE, "JSON: trailing bytes after the object");
    self->done = true;
    return 0;
}

int
zsat_json_next (zsat_json_parser_t *self, zsat_json_pair_t *pair, zsat_error_t *err)
{
    if (self->done)
        return 0;
    s_skip_ws (self);
    if (self->p >= self->end)
        return zsat_fail (err, ZSAT_E_TRUNCATED, "JSON: input ends inside the object");
    if (*self->p == '}')
        return s_close (self, err);
    if (self->pairs > 0) {
        if (*self->p != ',')
            return zsat_fail (err, ZSAT_E_FIELD, "JSON: expected ',' or '}'");
        self->p++;
        s_skip_ws (self);
    }
    size_t klen;
    if (self->p >= self->end || *self->p != '"')
        return zsat_fail (err, ZSAT_E_FIELD, "JSON: expected a key string");
    if (s_string (self, pair->key, sizeof pair->key, &klen, false, err))
        return -1;
    s_skip_ws (self);
    if (self->p >= self->end || *self->p != ':')
        return zsat_fail (err, ZSAT_E_FIELD, "JSON: expected ':' after key '%s'", pair->key);
    self->p++;
    s_skip_ws (self);
    if (s_value (self, pair, err))
        return -1;
    self->pairs++;
    return 1;
}

int
zsat_json_to_double (const char *token, double *value)
{
    char *end;
    errno = 0;
    double v = strtod (token, &end);
    if (*end || !isfinite (v))
        return -1;
    *value = v;
    return 0;
}

int
zsat_json_to_uint (const char *token, uint64_t max, uint64_t *value)
{
    if (!isdigit ((unsigned char)token[0]))
        return -1;
    char *end;
    errno = 0;
    unsigned long long v = strtoull (token, &end, 10);
    if (*end || errno == ERANGE || v > max)
        return -1;
    *value = v;
    return 0;
}

int
zsat_json_to_int64 (const char *token, int64_t *value)
{
    char *end;
    errno = 0;
    long long v = strtoll (token, &end, 10);
    if (*end || errno == ERANGE || end == token)
        return -1;
    *value = v;
    return 0;
}

bool
zsat_json_utf8_valid (const char *str, size_t n)
{
    const unsigned char *s = (const unsigned char *)str;
    size_t i = 0;
    while (i < n) {
        unsigned char c = s[i];
        size_t len = c < 0x80             ? 1
                     : (c & 0xe0) == 0xc0 ? 2
                     : (c & 0xf0) == 0xe0 ? 3
                     : (c & 0xf8) == 0xf0 ? 4
                                          : 0;
        if (len == 0 || i + len > n)
            return false;
        uint32_t cp = len == 1 ? c : c & (0x7f >> len);
        for (size_t k = 1; k < len; k++) {
            if ((s[i + k] & 0xc0) != 0x80)
                return false;
            cp = (cp << 6) | (s[i + k] & 0x3f);
        }
        static const uint32_t min[5] = {0, 0, 0x80, 0x800, 0x10000};
        if (cp < min[len] || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
            return false;
        i += len;
    }
    return true;
}

void
zsat_json_out_init (zsat_json_out_t *o, char *buf, size_t cap)
{
    o->buf = buf;
    o->cap = cap;
    o->len = 0;
    o->overflow = cap == 0;
}

void
zsat_json_raw (zsat_json_out_t *o, const char *s, size_t n)
{
    //  One byte stays free for the NUL of zsat_json_finish.
    if (o->overflow || o->len + n >= o->cap) {
        o->overflow = true;
        return;
    }
    memcpy (o->buf + o->len, s, n);
    o->len += n;
}

void
zsat_json_printf (zsat_json_out_t *o, const char *format, ...)
{
    char tmp[128];
    va_list args;
    va_start (args, format);
    int n = vsnprintf (tmp, sizeof tmp, format, args);
    va_end (args);
    if (n < 0 || n >= (int)sizeof tmp)
        o->overflow = true;
    else
        zsat_json_raw (o, tmp, (size_t)n);
}

void
zsat_json_string (zsat_json_out_t *o, const char *s, size_t n)
{
    zsat_json_raw (o, "\"", 1);
    size_t run = 0;  //  plain bytes are copied in runs, escapes one by one
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c >= 0x20 && c != '"' && c != '\\')
            continue;
        zsat_json_raw (o, s + run, i - run);
        run = i + 1;
        const char *short_form = c == '"'    ? "\\\""
                                 : c == '\\' ? "\\\\"
                                 : c == '\n' ? "\\n"
                                 : c == '\r' ? "\\r"
                                 : c == '\t' ? "\\t"
                                             : NULL;
        if (short_form)
            zsat_json_raw (o, short_form, 2);
        else
            zsat_json_printf (o, "\\u%04x", c);
    }
    zsat_json_raw (o, s + run, n - run);
    zsat_json_raw (o, "\"", 1);
}

void
zsat_json_message (zsat_json_out_t *o, const char *s, size_t n)
{
    char safe[1024];
    n = n < sizeof safe ? n : sizeof safe;
    if (zsat_json_utf8_valid (s, n)) {
        zsat_json_string (o, s, n);
        return;
    }
    for (size_t i = 0; i < n; i++)
        safe[i] = (unsigned char)s[i] > 0x7f ? '?' : s[i];
    zsat_json_string (o, safe, n);
}

void
zsat_json_number (zsat_json_out_t *o, double value)
{
    if (!isfinite (value))
        zsat_json_raw (o, "null", 4);
    else if (value == floor (value) && fabs (value) < 9007199254740992.0)
        zsat_json_printf (o, "%.0f", value);
    else
        zsat_json_printf (o, "%.17g", value);
}

int
zsat_json_finish (zsat_json_out_t *o)
{
    if (o->overflow)
        return -1;
    o->buf[o->len] = 0;
    return (int)o->len;
}

//  --- Selftest ---

static int
s_parse_all (const char *json, int *pairs, zsat_error_t *err)
{
    zsat_json_parser_t p;
    char text[32];
    zsat_json_pair_t pair = {.text = text, .text_cap = sizeof text};
    if (zsat_json_open (&p, json, strlen (json), err))
        return -1;
    int rc;
    *pairs = 0;
    while ((rc = zsat_json_next (&p, &pair, err)) == 1)
        (*pairs)++;
    return rc;
}

void
zsat_json_test (bool verbose)
{
    printf (" * zsat_json: ");
    const char *json = " {\"a\" : \"x\\\"y\\u00e9\\ud83d\\ude00\", \"b\":-1.5e3,\"c\":true,"
                       "\"d\":false, \"e\":null, \"f\": 0 } \n";
    zsat_json_parser_t p;
    char text[64];
    zsat_json_pair_t pair = {.text = text, .text_cap = sizeof text};
    zsat_error_t err;
    assert (zsat_json_open (&p, json, strlen (json), &err) == 0);
    assert (zsat_json_next (&p, &pair, &err) == 1 && streq (pair.key, "a"));
    assert (pair.type == ZSAT_JSON_STRING && streq (text, "x\"y\xc3\xa9\xf0\x9f\x98\x80"));
    assert (zsat_json_next (&p, &pair, &err) == 1 && pair.type == ZSAT_JSON_NUMBER);
    double d;
    assert (zsat_json_to_double (pair.number, &d) == 0 && d == -1500.0);
    assert (zsat_json_next (&p, &pair, &err) == 1 && pair.type == ZSAT_JSON_TRUE);
    assert (zsat_json_next (&p, &pair, &err) == 1 && pair.type == ZSAT_JSON_FALSE);
    assert (zsat_json_next (&p, &pair, &err) == 1 && pair.type == ZSAT_JSON_NULL);
    assert (zsat_json_next (&p, &pair, &err) == 1 && streq (pair.number, "0"));
    assert (zsat_json_next (&p, &pair, &err) == 0);
    assert (zsat_json_next (&p, &pair, &err) == 0);
    const char *bad[] = {"",
                         "[]",
                         "{",
                         "{\"a\"}",
                         "{\"a\":}",
                         "{\"a\":1,}",
                         "{\"a\":01}",
                         "{\"a\":1.}",
                         "{\"a\":[1]}",
                         "{\"a\":{}}",
                         "{\"a\":1} x",
                         "{a:1}",
                         "{\"a\":\"\\u0000\"}",
                         "{\"a\":\"\\ud800\"}",
                         "{\"a\":\"\x01\"}",
                         "{\"a\":\"\xff\"}",
                         "{\"a\":tru}",
                         "{\"a\":1 \"b\":2}",
                         "{\"a\":\"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\"}",
                         "{\"a\":-}"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        int pairs;
        int rc = s_parse_all (bad[i], &pairs, &err);
        if (verbose || rc != -1)
            printf ("\n   bad json %zu: rc=%d %s", i, rc, err.text);
        assert (rc == -1);
    }
    int pairs;
    assert (s_parse_all ("{}", &pairs, &err) == 0 && pairs == 0);
    uint64_t u;
    int64_t i64;
    assert (zsat_json_to_uint ("18446744073709551615", UINT64_MAX, &u) == 0 && u == UINT64_MAX);
    assert (zsat_json_to_uint ("18446744073709551616", UINT64_MAX, &u) == -1);
    assert (zsat_json_to_uint ("-1", UINT64_MAX, &u) == -1);
    assert (zsat_json_to_uint ("1.5", UINT64_MAX, &u) == -1);
    assert (zsat_json_to_int64 ("-9223372036854775808", &i64) == 0 && i64 == INT64_MIN);
    char buf[64];
    zsat_json_out_t o;
    zsat_json_out_init (&o, buf, sizeof buf);
    zsat_json_string (&o, "a\"\\\n\x01\xc3\xa9", 7);
    zsat_json_raw (&o, " ", 1);
    zsat_json_number (&o, 3.0);
    zsat_json_raw (&o, " ", 1);
    zsat_json_number (&o, 0.1);
    zsat_json_raw (&o, " ", 1);
    zsat_json_number (&o, NAN);
    assert (zsat_json_finish (&o) > 0);
    assert (streq (buf, "\"a\\\"\\\\\\n\\u0001\xc3\xa9\" 3 0.10000000000000001 null"));
    zsat_json_out_init (&o, buf, 4);
    zsat_json_raw (&o, "abcd", 4);
    assert (zsat_json_finish (&o) == -1);
    printf ("OK\n");
}
