/*  zsat_msgpack - a tiny bounded msgpack reader and writer shared by the codecs in
    serialization/ (internal header, not part of the public API).

    Why not msgpack-c's unpacker: it allocates an array's or map's memory as soon as it reads
    the header, so a 5-byte input can ask for GiBs (FACTS.md). This reader never allocates:
    it walks the bytes in place, checks every length against the bytes left and sets a short
    reason on failure. The writer writes into a buffer the caller sized beforehand.
*/
#ifndef ZSAT_MSGPACK_H_INCLUDED
#define ZSAT_MSGPACK_H_INCLUDED
#include "zsat.h"

typedef struct {
    const uint8_t *p;
    const uint8_t *end;
    const char *why;  //  reason of the last failure, for error messages
} zsat_mp_reader_t;

static inline void
zsat_mp_reader_init (zsat_mp_reader_t *r, const uint8_t *data, size_t size)
{
    //  NULL + 0 is undefined in C: an absent input reads as an empty one.
    r->p = data ? data : (const uint8_t *)"";
    r->end = data ? data + size : r->p;
    r->why = "";
}

static inline size_t
zsat_mp_left (const zsat_mp_reader_t *r)
{
    return (size_t)(r->end - r->p);
}

static inline int
zsat_mp_fail (zsat_mp_reader_t *r, int code, const char *why)
{
    r->why = why;
    return code;
}

//  Reads n bytes big-endian. Returns 0 or ZSAT_E_TRUNCATED.
static inline int
zsat_mp_be (zsat_mp_reader_t *r, int n, uint64_t *value)
{
    if (zsat_mp_left (r) < (size_t)n)
        return zsat_mp_fail (r, ZSAT_E_TRUNCATED, "input ends inside a value");
    uint64_t v = 0;
    for (int i = 0; i < n; i++)
        v = (v << 8) | r->p[i];
    r->p += n;
    *value = v;
    return 0;
}

//  Reads any msgpack integer. Sets *negative when the value is below zero, then *value
//  holds it as int64 bits. Returns 0, ZSAT_E_TRUNCATED or ZSAT_E_TYPE.
static inline int
zsat_mp_read_int_any (zsat_mp_reader_t *r, uint64_t *value, bool *negative)
{
    if (r->p >= r->end)
        return zsat_mp_fail (r, ZSAT_E_TRUNCATED, "input ends before a value");
    uint8_t b = *r->p;
    *negative = false;
    if (b <= 0x7f) {
        r->p++;
        *value = b;
        return 0;
    }
    if (b >= 0xe0) {
        r->p++;
        *value = (uint64_t)(int64_t)(int8_t)b;
        *negative = true;
        return 0;
    }
    if (b >= 0xcc && b <= 0xcf) {
        r->p++;
        return zsat_mp_be (r, 1 << (b - 0xcc), value);
    }
    if (b >= 0xd0 && b <= 0xd3) {
        int n = 1 << (b - 0xd0);
        r->p++;
        uint64_t raw;
        int rc = zsat_mp_be (r, n, &raw);
        if (rc)
            return rc;
        int shift = 64 - 8 * n;
        int64_t s = (int64_t)(raw << shift) >> shift;  //  sign-extend
        *value = (uint64_t)s;
        *negative = s < 0;
        return 0;
    }
    return zsat_mp_fail (r, ZSAT_E_TYPE, "not an integer");
}

//  Reads an unsigned integer no greater than max. Returns 0 or an error code.
static inline int
zsat_mp_read_uint (zsat_mp_reader_t *r, uint64_t max, uint64_t *value)
{
    bool negative;
    int rc = zsat_mp_read_int_any (r, value, &negative);
    if (rc)
        return rc;
    if (negative)
        return zsat_mp_fail (r, ZSAT_E_TYPE, "negative where unsigned expected");
    if (*value > max)
        return zsat_mp_fail (r, ZSAT_E_SIZE, "integer too large for the field");
    return 0;
}

//  Reads a signed 64-bit integer. Returns 0 or an error code.
static inline int
zsat_mp_read_int64 (zsat_mp_reader_t *r, int64_t *value)
{
    uint64_t raw;
    bool negative;
    int rc = zsat_mp_read_int_any (r, &raw, &negative);
    if (rc)
        return rc;
    if (!negative && raw > (uint64_t)INT64_MAX)
        return zsat_mp_fail (r, ZSAT_E_SIZE, "integer too large for int64");
    *value = (int64_t)raw;
    return 0;
}

//  Reads a str header (fixstr, str8/16/32) and points *data at its bytes. The length is
//  checked against max and against the bytes left. Returns 0 or an error code.
static inline int
zsat_mp_read_str (zsat_mp_reader_t *r, size_t max, const uint8_t **data, size_t *size)
{
    if (r->p >= r->end)
        return zsat_mp_fail (r, ZSAT_E_TRUNCATED, "input ends before a string");
    uint8_t b = *r->p;
    uint64_t len;
    if (b >= 0xa0 && b <= 0xbf) {
        r->p++;
        len = b & 0x1f;
    }
    else if (b >= 0xd9 && b <= 0xdb) {
        r->p++;
        int rc = zsat_mp_be (r, 1 << (b - 0xd9), &len);
        if (rc)
            return rc;
    }
    else
        return zsat_mp_fail (r, ZSAT_E_TYPE, "not a string");
    if (len > zsat_mp_left (r))
        return zsat_mp_fail (r, ZSAT_E_TRUNCATED, "string longer than the input");
    if (len > max)
        return zsat_mp_fail (r, ZSAT_E_SIZE, "string too long for the field");
    *data = r->p;
    *size = (size_t)len;
    r->p += len;
    return 0;
}

//  Reads a str into a NUL-terminated buffer of cap bytes; refuses NUL bytes inside.
static inline int
zsat_mp_read_cstr (zsat_mp_reader_t *r, char *buf, size_t cap)
{
    const uint8_t *data;
    size_t size;
    int rc = zsat_mp_read_str (r, cap - 1, &data, &size);
    if (rc)
        return rc;
    if (memchr (data, 0, size))
        return zsat_mp_fail (r, ZSAT_E_FIELD, "string holds a NUL byte");
    memcpy (buf, data, size);
    buf[size] = 0;
    return 0;
}

//  Reads an array (fixarray, array16/32) or map header (kind 'a' or 'm'). A count larger
//  than the bytes left (each element takes at least one byte, a pair two) is refused
//  before anything trusts it. Returns 0 or an error code.
static inline int
zsat_mp_read_container (zsat_mp_reader_t *r, char kind, uint32_t *count)
{
    if (r->p >= r->end)
        return zsat_mp_fail (r, ZSAT_E_TRUNCATED, "input ends before a container");
    uint8_t b = *r->p;
    uint8_t fix = kind == 'a' ? 0x90 : 0x80;
    uint8_t ext16 = kind == 'a' ? 0xdc : 0xde;
    uint64_t n;
    if ((b & 0xf0) == fix) {
        r->p++;
        n = b & 0x0f;
    }
    else if (b == ext16 || b == ext16 + 1) {
        r->p++;
        int rc = zsat_mp_be (r, b == ext16 ? 2 : 4, &n);
        if (rc)
            return rc;
    }
    else
        return zsat_mp_fail (r, ZSAT_E_TYPE, kind == 'a' ? "not an array" : "not a map");
    if (n * (kind == 'a' ? 1 : 2) > zsat_mp_left (r))
        return zsat_mp_fail (r, ZSAT_E_DEPTH, "element count larger than the bytes left");
    *count = (uint32_t)n;
    return 0;
}

//  --- Writer: the caller checked the capacity, these never overflow a sized buffer. ---

static inline uint8_t *
zsat_mp_put_be (uint8_t *p, uint64_t v, int n)
{
    for (int i = n - 1; i >= 0; i--) {
        p[i] = (uint8_t)v;
        v >>= 8;
    }
    return p + n;
}

//  Bytes zsat_mp_put_uint writes for v.
static inline size_t
zsat_mp_uint_size (uint64_t v)
{
    return v <= 0x7f ? 1 : v <= 0xff ? 2 : v <= 0xffff ? 3 : v <= 0xffffffffu ? 5 : 9;
}

//  Writes v in its smallest unsigned form.
static inline uint8_t *
zsat_mp_put_uint (uint8_t *p, uint64_t v)
{
    if (v <= 0x7f) {
        *p = (uint8_t)v;
        return p + 1;
    }
    int n = v <= 0xff ? 1 : v <= 0xffff ? 2 : v <= 0xffffffffu ? 4 : 8;
    *p = (uint8_t)(n == 1 ? 0xcc : n == 2 ? 0xcd : n == 4 ? 0xce : 0xcf);
    return zsat_mp_put_be (p + 1, v, n);
}

//  Bytes zsat_mp_put_int writes for v.
static inline size_t
zsat_mp_int_size (int64_t v)
{
    if (v >= 0)
        return zsat_mp_uint_size ((uint64_t)v);
    return v >= -32 ? 1 : v >= INT8_MIN ? 2 : v >= INT16_MIN ? 3 : v >= INT32_MIN ? 5 : 9;
}

//  Writes v in its smallest form (unsigned forms for v >= 0, as msgpack implementations do).
static inline uint8_t *
zsat_mp_put_int (uint8_t *p, int64_t v)
{
    if (v >= 0)
        return zsat_mp_put_uint (p, (uint64_t)v);
    if (v >= -32) {
        *p = (uint8_t)(int8_t)v;
        return p + 1;
    }
    int n = v >= INT8_MIN ? 1 : v >= INT16_MIN ? 2 : v >= INT32_MIN ? 4 : 8;
    *p = (uint8_t)(n == 1 ? 0xd0 : n == 2 ? 0xd1 : n == 4 ? 0xd2 : 0xd3);
    return zsat_mp_put_be (p + 1, (uint64_t)v, n);
}

//  Bytes a str header takes for a string of len bytes.
static inline size_t
zsat_mp_str_header_size (size_t len)
{
    return len < 32 ? 1 : len <= 0xff ? 2 : len <= 0xffff ? 3 : 5;
}

static inline uint8_t *
zsat_mp_put_str (uint8_t *p, const void *s, size_t len)
{
    if (len < 32)
        *p++ = (uint8_t)(0xa0 | len);
    else if (len <= 0xff) {
        *p++ = 0xd9;
        *p++ = (uint8_t)len;
    }
    else if (len <= 0xffff) {
        *p++ = 0xda;
        p = zsat_mp_put_be (p, len, 2);
    }
    else {
        *p++ = 0xdb;
        p = zsat_mp_put_be (p, len, 4);
    }
    memcpy (p, s, len);
    return p + len;
}

#endif
