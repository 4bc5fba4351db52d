/*  zsat_record - a measurement: ordered key -> number or text, the payload of the built-in
    probes (serialization "zsat.record": a msgpack map, docs/protocol.md). No sockets, no
    allocation: a record has a fixed capacity.

    Decisions (docs/protocol.md): keys are names ([A-Za-z0-9_.-], 1..63 bytes) so every
    sink can use them as column, dataset or metric names; duplicate keys are refused; text is
    valid UTF-8 up to 127 bytes; ints and bools become numbers (true 1, false 0; ints beyond
    2^53 round); nil (JSON null) means "no value" and the key is skipped.
*/
#include "zsat.h"
#include "zsat_json.h"
#include "zsat_msgpack.h"
#include <math.h>

void
zsat_record_reset (zsat_record_t *r)
{
    r->count = 0;
}

//  Appends an empty field for key; NULL when full, the key invalid or already present.
static zsat_field_value_t *
s_append (zsat_record_t *r, const char *key)
{
    if (r->count >= ZSAT_RECORD_FIELDS_MAX || !zsat_name_valid (key) ||
        strlen (key) >= ZSAT_RECORD_KEY_MAX || zsat_record_find (r, key))
        return NULL;
    zsat_field_value_t *f = &r->field[r->count];
    strcpy (f->key, key);
    f->text[0] = 0;
    f->number = 0;
    return f;
}

int
zsat_record_add_number (zsat_record_t *r, const char *key, double value)
{
    zsat_field_value_t *f = s_append (r, key);
    if (!f)
        return -1;
    f->is_number = true;
    f->number = value;
    r->count++;
    return 0;
}

//  Also -1 when the text is over ZSAT_RECORD_STR_MAX - 1 bytes or not valid UTF-8: a record
//  never holds a value it could not write out again.
int
zsat_record_add_text (zsat_record_t *r, const char *key, const char *value)
{
    size_t n = strlen (value);
    if (n >= ZSAT_RECORD_STR_MAX || !zsat_json_utf8_valid (value, n))
        return -1;
    zsat_field_value_t *f = s_append (r, key);
    if (!f)
        return -1;
    f->is_number = false;
    memcpy (f->text, value, n + 1);
    r->count++;
    return 0;
}

const zsat_field_value_t *
zsat_record_find (const zsat_record_t *r, const char *key)
{
    for (size_t i = 0; i < r->count; i++)
        if (streq (r->field[i].key, key))
            return &r->field[i];
    return NULL;
}

//  Integral numbers are written as msgpack ints (what Python readers expect for counts),
//  the others as float64.
static bool
s_is_int (double x)
{
    return isfinite (x) && x == floor (x) && fabs (x) < 9007199254740992.0 &&
           !(x == 0 && signbit (x));
}

static size_t
s_value_size (const zsat_field_value_t *f)
{
    if (!f->is_number) {
        size_t n = strlen (f->text);
        return zsat_mp_str_header_size (n) + n;
    }
    return s_is_int (f->number) ? zsat_mp_int_size ((int64_t)f->number) : 9;
}

int
zsat_record_encode (const zsat_record_t *r, uint8_t *buf, size_t cap)
{
    size_t total = r->count < 16 ? 1 : 3;
    for (size_t i = 0; i < r->count; i++) {
        size_t k = strlen (r->field[i].key);
        total += zsat_mp_str_header_size (k) + k + s_value_size (&r->field[i]);
    }
    if (total > cap || total > INT_MAX)
        return -1;
    uint8_t *p = buf;
    if (r->count < 16)
        *p++ = (uint8_t)(0x80 | r->count);
    else {
        *p++ = 0xde;
        p = zsat_mp_put_be (p, r->count, 2);
    }
    for (size_t i = 0; i < r->count; i++) {
        const zsat_field_value_t *f = &r->field[i];
        p = zsat_mp_put_str (p, f->key, strlen (f->key));
        if (!f->is_number)
            p = zsat_mp_put_str (p, f->text, strlen (f->text));
        else if (s_is_int (f->number))
            p = zsat_mp_put_int (p, (int64_t)f->number);
        else {
            uint64_t bits;
            memcpy (&bits, &f->number, sizeof bits);
            *p++ = 0xcb;
            p = zsat_mp_put_be (p, bits, 8);
        }
    }
    return (int)(p - buf);
}

//  Reads a float32/float64 at r into *value.
static int
s_read_float (zsat_mp_reader_t *r, double *value)
{
    bool f64 = *r->p == 0xcb;
    r->p++;
    uint64_t bits;
    int rc = zsat_mp_be (r, f64 ? 8 : 4, &bits);
    if (rc)
        return rc;
    if (f64)
        memcpy (value, &bits, sizeof *value);
    else {
        uint32_t b32 = (uint32_t)bits;
        float f;
        memcpy (&f, &b32, sizeof f);
        *value = f;
    }
    return 0;
}

//  Reads one value into f. Returns 0, 1 when it was nil (skip the key), or an error code.
static int
s_read_value (zsat_mp_reader_t *r, zsat_field_value_t *f)
{
    if (r->p >= r->end)
        return zsat_mp_fail (r, ZSAT_E_TRUNCATED, "input ends before a value");
    uint8_t b = *r->p;
    f->is_number = true;
    f->text[0] = 0;
    if (b == 0xc0 || b == 0xc2 || b == 0xc3) {
        r->p++;
        f->number = b == 0xc3;
        return b == 0xc0;
    }
    if (b == 0xca || b == 0xcb)
        return s_read_float (r, &f->number);
    if ((b >= 0xa0 && b <= 0xbf) || (b >= 0xd9 && b <= 0xdb)) {
        f->is_number = false;
        int rc = zsat_mp_read_cstr (r, f->text, sizeof f->text);
        if (rc == 0 && !zsat_json_utf8_valid (f->text, strlen (f->text)))
            return zsat_mp_fail (r, ZSAT_E_FIELD, "text is not valid UTF-8");
        return rc;
    }
    uint64_t raw;
    bool negative;
    int rc = zsat_mp_read_int_any (r, &raw, &negative);
    if (rc == ZSAT_E_TYPE)
        r->why = "not a number, string, bool or nil";
    if (rc)
        return rc;
    f->number = negative ? (double)(int64_t)raw : (double)raw;
    return 0;
}

//  Reads one key/value pair into the next slot of rec.
static int
s_read_pair (zsat_mp_reader_t *r, zsat_record_t *rec, zsat_error_t *err)
{
    zsat_field_value_t *f = &rec->field[rec->count];
    int rc = zsat_mp_read_cstr (r, f->key, sizeof f->key);
    if (rc)
        return zsat_fail (err, rc, "record key %zu: %s", rec->count, r->why);
    if (!zsat_name_valid (f->key))
        return zsat_fail (err, ZSAT_E_FIELD, "record key '%s' is not a valid name", f->key);
    for (size_t i = 0; i < rec->count; i++)
        if (streq (rec->field[i].key, f->key))
            return zsat_fail (err, ZSAT_E_FIELD, "record key '%s' appears twice", f->key);
    rc = s_read_value (r, f);
    if (rc < 0 || rc > 1)
        return zsat_fail (err, rc, "record value of '%s': %s", f->key, r->why);
    if (rc == 0)
        rec->count++;
    return 0;
}

int
zsat_record_decode (zsat_record_t *rec, const uint8_t *data, size_t size, zsat_error_t *err)
{
    zsat_record_reset (rec);
    zsat_mp_reader_t r;
    zsat_mp_reader_init (&r, data, size);
    uint32_t count;
    int rc = zsat_mp_read_container (&r, 'm', &count);
    if (rc)
        return zsat_fail (err, rc, "record: %s", r.why);
    if (count > ZSAT_RECORD_FIELDS_MAX)
        return zsat_fail (err, ZSAT_E_SIZE, "record has %u fields, over %d", count,
                          ZSAT_RECORD_FIELDS_MAX);
    for (uint32_t i = 0; i < count; i++)
        if (s_read_pair (&r, rec, err))
            return -1;
    if (r.p != r.end)
        return zsat_fail (err, ZSAT_E_SIZE, "%zu trailing bytes after the record",
                          zsat_mp_left (&r));
    return 0;
}

int
zsat_record_to_json (const zsat_record_t *r, char *buf, size_t cap)
{
    zsat_json_out_t o;
    zsat_json_out_init (&o, buf, cap);
    zsat_json_raw (&o, "{", 1);
    for (size_t i = 0; i < r->count; i++) {
        const zsat_field_value_t *f = &r->field[i];
        if (i)
            zsat_json_raw (&o, ", ", 2);
        zsat_json_string (&o, f->key, strlen (f->key));
        zsat_json_raw (&o, ": ", 2);
        if (f->is_number)
            zsat_json_number (&o, f->number);
        else
            zsat_json_string (&o, f->text, strlen (f->text));
    }
    zsat_json_raw (&o, "}", 1);
    return zsat_json_finish (&o);
}

//  Stores one parsed JSON pair in r.
static int
s_json_pair (zsat_record_t *r, const zsat_json_pair_t *pair, zsat_error_t *err)
{
    double value = pair->type == ZSAT_JSON_TRUE ? 1 : 0;
    if (pair->type == ZSAT_JSON_NULL)
        return 0;
    if (!zsat_name_valid (pair->key))
        return zsat_fail (err, ZSAT_E_FIELD, "record key '%s' is not a valid name", pair->key);
    if (zsat_record_find (r, pair->key))
        return zsat_fail (err, ZSAT_E_FIELD, "record key '%s' appears twice", pair->key);
    if (r->count >= ZSAT_RECORD_FIELDS_MAX)
        return zsat_fail (err, ZSAT_E_SIZE, "record has over %d fields", ZSAT_RECORD_FIELDS_MAX);
    if (pair->type == ZSAT_JSON_STRING)
        return zsat_record_add_text (r, pair->key, pair->text);
    if (pair->type == ZSAT_JSON_NUMBER && zsat_json_to_double (pair->number, &value))
        return zsat_fail (err, ZSAT_E_FIELD, "record number '%s' is out of range", pair->number);
    return zsat_record_add_number (r, pair->key, value);
}

int
zsat_record_from_json (zsat_record_t *r, const char *json, size_t size, zsat_error_t *err)
{
    zsat_record_reset (r);
    zsat_json_parser_t p;
    char text[ZSAT_RECORD_STR_MAX];
    zsat_json_pair_t pair = {.text = text, .text_cap = sizeof text};
    if (zsat_json_open (&p, json, size, err))
        return -1;
    int rc;
    while ((rc = zsat_json_next (&p, &pair, err)) == 1)
        if (s_json_pair (r, &pair, err))
            return -1;
    return rc;
}

//  --- Selftest ---

static void
s_assert_same (const zsat_record_t *a, const zsat_record_t *b)
{
    assert (a->count == b->count);
    for (size_t i = 0; i < a->count; i++) {
        const zsat_field_value_t *x = &a->field[i], *y = &b->field[i];
        assert (streq (x->key, y->key) && x->is_number == y->is_number);
        if (x->is_number)
            assert (x->number == y->number || (isnan (x->number) && isnan (y->number)));
        else
            assert (streq (x->text, y->text));
    }
}

typedef struct {
    const char *what;
    const char *data;
    size_t size;
    int expect;
} s_hostile_t;

#define S_H(what, data, expect)                                                                    \
    {                                                                                              \
        what, data, sizeof (data) - 1, expect                                                      \
    }
static const s_hostile_t s_hostile[] = {
    S_H ("empty", "", ZSAT_E_TRUNCATED),
    S_H ("array, not map", "\x91\x01", ZSAT_E_TYPE),
    S_H ("map32 of 4G pairs", "\xdf\xff\xff\xff\xff", ZSAT_E_DEPTH),
    S_H ("257 fields", "\xde\x01\x01", ZSAT_E_DEPTH),
    S_H ("key int", "\x81\x01\x01", ZSAT_E_TYPE),
    S_H ("key invalid", "\x81\xa3\x61 b\x01", ZSAT_E_FIELD),
    S_H ("key duplicate", "\x82\xa1k\x01\xa1k\x02", ZSAT_E_FIELD),
    S_H ("value array", "\x81\xa1k\x91\x01", ZSAT_E_TYPE),
    S_H ("value map", "\x81\xa1k\x80", ZSAT_E_TYPE),
    S_H ("value bin", "\x81\xa1k\xc4\x01x", ZSAT_E_TYPE),
    S_H ("value text with NUL", "\x81\xa1k\xa2x\x00", ZSAT_E_FIELD),
    S_H ("value text bad UTF-8", "\x81\xa1k\xa1\xff", ZSAT_E_FIELD),
    S_H ("value truncated float", "\x81\xa1k\xcb\x00\x00", ZSAT_E_TRUNCATED),
    S_H ("trailing byte", "\x81\xa1k\x01\x00", ZSAT_E_SIZE),
    S_H ("missing value", "\x81\xa1k", ZSAT_E_TRUNCATED),
};

static void
s_test_hostile (bool verbose)
{
    zsat_record_t *r = malloc (sizeof *r);
    zsat_error_t err;
    for (size_t i = 0; i < sizeof s_hostile / sizeof s_hostile[0]; i++) {
        const s_hostile_t *h = &s_hostile[i];
        err.code = 0;
        int rc = zsat_record_decode (r, (const uint8_t *)h->data, h->size, &err);
        if (verbose || rc != -1 || err.code != h->expect)
            printf ("\n   hostile '%s': rc=%d code=%d (want %d) %s", h->what, rc, err.code,
                    h->expect, err.text);
        assert (rc == -1 && err.code == h->expect);
    }
    assert (zsat_record_decode (r, NULL, 0, &err) == -1 && err.code == ZSAT_E_TRUNCATED);
    assert (zsat_record_from_json (r, NULL, 0, &err) == -1);
    const char *bad_json[] = {
        "{\"a b\":1}", "{\"k\":1,\"k\":2}", "{\"k\":[1]}", "{\"k\":1e999}",
        ("{\"k\":\"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
         "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\"}")};
    for (size_t i = 0; i < sizeof bad_json / sizeof bad_json[0]; i++)
        assert (zsat_record_from_json (r, bad_json[i], strlen (bad_json[i]), &err) == -1);
    free (r);
}

static void
s_test_round_trip (void)
{
    zsat_record_t *r = malloc (sizeof *r), *back = malloc (sizeof *back);
    zsat_record_reset (r);
    assert (zsat_record_add_number (r, "cpu.user", 12.5) == 0);
    assert (zsat_record_add_number (r, "count", 3) == 0);
    assert (zsat_record_add_number (r, "neg", -70000) == 0);
    assert (zsat_record_add_text (r, "host", "h\"1\xc3\xa9") == 0);
    assert (zsat_record_add_number (r, "count", 4) == -1);  //  duplicate
    assert (zsat_record_add_number (r, "a:b", 4) == -1);
    assert (zsat_record_add_text (r, "bad", "\xff") == -1);
    assert (zsat_record_find (r, "count")->number == 3);
    assert (zsat_record_find (r, "nope") == NULL);
    static uint8_t buf[65536];
    int n = zsat_record_encode (r, buf, sizeof buf);
    static const uint8_t expected[] = {
        0x84, 0xa8, 'c',  'p',  'u', '.', 'u', 's', 'e',  'r',  0xcb, 0x40, 0x29, 0,   0,    0,
        0,    0,    0,    0xa5, 'c', 'o', 'u', 'n', 't',  0x03, 0xa3, 'n',  'e',  'g', 0xd2, 0xff,
        0xfe, 0xee, 0x90, 0xa4, 'h', 'o', 's', 't', 0xa5, 'h',  '"',  '1',  0xc3, 0xa9};
    assert (n == (int)sizeof expected && memcmp (buf, expected, sizeof expected) == 0);
    zsat_error_t err;
    assert (zsat_record_decode (back, buf, (size_t)n, &err) == 0);
    s_assert_same (r, back);
    assert (zsat_record_encode (r, buf, 10) == -1);
    static char json[131072];
    assert (zsat_record_to_json (r, json, sizeof json) > 0);
    assert (streq (json, "{\"cpu.user\": 12.5, \"count\": 3, \"neg\": -70000, \"host\": "
                         "\"h\\\"1\xc3\xa9\"}"));
    assert (zsat_record_from_json (back, json, strlen (json), &err) == 0);
    s_assert_same (r, back);
    assert (zsat_record_to_json (r, json, 8) == -1);
    //  nil and JSON null are skipped; bools are numbers.
    static const uint8_t mixed[] = {0x83, 0xa1, 'a',  0xc0, 0xa1, 'b', 0xc3,
                                    0xa1, 'c',  0xca, 0x3f, 0xc0, 0,   0};
    assert (zsat_record_decode (back, mixed, sizeof mixed, &err) == 0 && back->count == 2);
    assert (zsat_record_find (back, "b")->number == 1 &&
            zsat_record_find (back, "c")->number == 1.5);
    const char *j = "{\"x\": null, \"t\": true, \"f\": false, \"s\": \"v\"}";
    assert (zsat_record_from_json (back, j, strlen (j), &err) == 0 && back->count == 3);
    //  A full record of maximal keys and texts.
    zsat_record_reset (r);
    char key[ZSAT_RECORD_KEY_MAX], text[ZSAT_RECORD_STR_MAX];
    memset (text, 'v', sizeof text - 1);
    text[sizeof text - 1] = 0;
    for (int i = 0; i < ZSAT_RECORD_FIELDS_MAX; i++) {
        memset (key, 'k', sizeof key - 1);
        key[sizeof key - 1] = 0;
        snprintf (key, 8, "%07d", i);
        key[7] = 'k';
        assert ((i % 2 ? zsat_record_add_text (r, key, text)
                       : zsat_record_add_number (r, key, i * 0.25 - 3)) == 0);
    }
    assert (zsat_record_add_number (r, "more", 1) == -1);
    n = zsat_record_encode (r, buf, sizeof buf);
    assert (n > 0 && zsat_record_decode (back, buf, (size_t)n, &err) == 0);
    s_assert_same (r, back);
    assert (zsat_record_to_json (r, json, sizeof json) > 0);
    assert (zsat_record_from_json (back, json, strlen (json), &err) == 0);
    s_assert_same (r, back);
    //  Cut at every byte of a valid encoding: an error, never an overread.
    n = zsat_record_encode (back, buf, sizeof buf);
    for (int cut = 0; cut < 200; cut++) {
        uint8_t *copy = malloc ((size_t)cut + 1);
        memcpy (copy, buf, (size_t)cut);
        assert (zsat_record_decode (back, copy, (size_t)cut, &err) == -1);
        free (copy);
    }
    free (r);
    free (back);
}

void
zsat_record_test (bool verbose)
{
    printf (" * zsat_record: ");
    s_test_round_trip ();
    s_test_hostile (verbose);
    printf ("OK\n");
}
