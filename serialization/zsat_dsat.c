/*  zsat_dsat - DSAT's legacy single-frame format, so DSAT satellites can join a zsat
    topology (no sockets: frames in, frames out).

      where:step:wid:pid:next NUL emitter:type:channel:task_id:event:seq NUL serialization NUL
      payload

    Numbers are canonical decimals (no sign, no leading zero), the event is DSAT's name in
    upper case. job_id, retry, flags and timestamp do not exist in this format: a decoded
    vector has them 0 (plus ZSAT_FLAG_LEGACY), an encoded one loses them. Decoding then
    encoding a valid frame gives the same bytes.
*/
#include "zsat.h"

typedef enum { S_REQ, S_OPT, S_U32, S_U64, S_EVENT } s_kind_t;

typedef struct {
    const char *name;
    s_kind_t kind;
    size_t offset;
} s_field_t;

#define S_F(field, kind)                                                                           \
    {                                                                                              \
#field, kind, offsetof(zsat_vector_t, field)                                               \
    }
static const s_field_t s_part_a[5] = {S_F (where, S_REQ), S_F (step, S_OPT), S_F (wid, S_U32),
                                      S_F (pid, S_U32), S_F (next, S_OPT)};
static const s_field_t s_part_b[6] = {S_F (emitter, S_OPT), S_F (type, S_REQ),
                                      S_F (channel, S_OPT), S_F (task_id, S_U64),
                                      S_F (event, S_EVENT), S_F (seq, S_U32)};

//  The header (everything before the payload) is short; a frame without its separators in
//  the first bytes is not a legacy frame.
#define S_HEADER_MAX 1024

//  Parses a canonical decimal of n bytes no greater than max.
static int
s_parse_decimal (const char *s, size_t n, uint64_t max, uint64_t *value)
{
    if (n == 0 || n > 20 || (n > 1 && s[0] == '0'))
        return -1;
    uint64_t v = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        uint64_t d = (uint64_t)(s[i] - '0');
        if (v > (UINT64_MAX - d) / 10)
            return -1;
        v = v * 10 + d;
    }
    if (v > max)
        return -1;
    *value = v;
    return 0;
}

//  Stores one text field s[0..n) into v according to f.
static int
s_store (zsat_vector_t *v, const s_field_t *f, const char *s, size_t n, zsat_error_t *err)
{
    void *dst = (char *)v + f->offset;
    uint64_t u;
    if (f->kind == S_U32 || f->kind == S_U64) {
        if (s_parse_decimal (s, n, f->kind == S_U32 ? UINT32_MAX : UINT64_MAX, &u))
            return zsat_fail (err, ZSAT_E_FIELD, "legacy field '%s' is not a decimal in range",
                              f->name);
        if (f->kind == S_U32)
            *(uint32_t *)dst = (uint32_t)u;
        else
            *(uint64_t *)dst = u;
        return 0;
    }
    if (n >= ZSAT_NAME_MAX)
        return zsat_fail (err, ZSAT_E_SIZE, "legacy field '%s' is over %d bytes", f->name,
                          ZSAT_NAME_MAX - 1);
    char text[ZSAT_NAME_MAX];
    memcpy (text, s, n);
    text[n] = 0;
    if (f->kind == S_EVENT) {
        int e = zsat_event_from_name (text);
        if (e == ZSAT_EV_NONE || strcmp (text, zsat_event_name (e)) != 0)
            return zsat_fail (err, ZSAT_E_FIELD, "legacy event '%s' is not a known event name",
                              text);
        *(uint8_t *)dst = (uint8_t)e;
        return 0;
    }
    if ((n > 0 || f->kind == S_REQ) && !zsat_name_valid (text))
        return zsat_fail (err, ZSAT_E_FIELD, "legacy field '%s' is %s", f->name,
                          n ? "not a valid name" : "empty");
    memcpy (dst, text, n + 1);
    return 0;
}

//  Splits s[0..n) on ':' into exactly count fields and stores them.
static int
s_parse_part (zsat_vector_t *v, const s_field_t *fields, int count, const char *s, size_t n,
              zsat_error_t *err)
{
    const char *end = s + n;
    for (int i = 0; i < count; i++) {
        const char *colon = memchr (s, ':', (size_t)(end - s));
        bool last = i == count - 1;
        if (last != (colon == NULL))
            return zsat_fail (err, ZSAT_E_FIELD, "legacy header part '%s...' has %s than %d fields",
                              fields[0].name, last ? "more" : "fewer", count);
        const char *stop = last ? end : colon;
        if (s_store (v, &fields[i], s, (size_t)(stop - s), err))
            return -1;
        s = stop + 1;
    }
    return 0;
}

int
zsat_dsat_decode (zsat_vector_t *v, const uint8_t *frame, size_t size, zsat_error_t *err)
{
    if (size > (size_t)ZSAT_PAYLOAD_MAX + S_HEADER_MAX)
        return zsat_fail (err, ZSAT_E_SIZE, "legacy frame of %zu bytes is too large", size);
    if (!frame || size == 0)
        return zsat_fail (err, ZSAT_E_FIELD, "legacy frame is empty");
    zsat_vector_init (v);
    const char *s = (const char *)frame;
    const char *sep[3];
    const char *from = s;
    size_t header = size < S_HEADER_MAX ? size : S_HEADER_MAX;
    for (int i = 0; i < 3; i++) {
        sep[i] = memchr (from, 0, header - (size_t)(from - s));
        if (!sep[i])
            return zsat_fail (err, ZSAT_E_FIELD, "legacy frame lacks its NUL separator %d", i + 1);
        from = sep[i] + 1;
    }
    if (s_parse_part (v, s_part_a, 5, s, (size_t)(sep[0] - s), err) ||
        s_parse_part (v, s_part_b, 6, sep[0] + 1, (size_t)(sep[1] - sep[0] - 1), err))
        return -1;
    size_t slen = (size_t)(sep[2] - sep[1] - 1);
    if (slen >= ZSAT_SERIALIZATION_MAX)
        return zsat_fail (err, ZSAT_E_SIZE, "legacy serialization is over %d bytes",
                          ZSAT_SERIALIZATION_MAX - 1);
    memcpy (v->serialization, sep[1] + 1, slen);
    v->serialization[slen] = 0;
    if (!zsat_name_valid (v->serialization))
        return zsat_fail (err, ZSAT_E_FIELD, "legacy serialization is not a valid name");
    v->flags = ZSAT_FLAG_LEGACY;
    zsat_vector_set_payload (v, sep[2] + 1, size - (size_t)(sep[2] + 1 - s));
    return 0;
}

//  Writes one field of v as legacy text into p (room checked by the caller).
static int
s_format (const zsat_vector_t *v, const s_field_t *f, char *out, zsat_error_t *err)
{
    const void *src = (const char *)v + f->offset;
    switch (f->kind) {
        case S_U32:
            return sprintf (out, "%" PRIu32, *(const uint32_t *)src);
        case S_U64:
            return sprintf (out, "%" PRIu64, *(const uint64_t *)src);
        case S_EVENT: {
            int e = *(const uint8_t *)src;
            if (e == ZSAT_EV_NONE || e >= ZSAT_EV_COUNT)
                return zsat_fail (err, ZSAT_E_FIELD, "event %d has no legacy name", e);
            return sprintf (out, "%s", zsat_event_name (e));
        }
        default:
            break;
    }
    const char *s = (const char *)src;
    size_t n = strnlen (s, ZSAT_NAME_MAX);
    if (n == ZSAT_NAME_MAX)
        return zsat_fail (err, ZSAT_E_SIZE, "field '%s' is not terminated", f->name);
    if (memchr (s, ':', n))
        return zsat_fail (err, ZSAT_E_FIELD,
                          "field '%s' contains ':', which DSAT's format cannot carry", f->name);
    if ((n > 0 || f->kind == S_REQ) && !zsat_name_valid (s))
        return zsat_fail (err, ZSAT_E_FIELD, "field '%s' is %s", f->name,
                          n ? "not a valid name" : "empty");
    memcpy (out, s, n);
    return (int)n;
}

//  Writes the header (three parts and their separators) into out; returns its length.
static int
s_header (const zsat_vector_t *v, char *out, zsat_error_t *err)
{
    char *p = out;
    for (int part = 0; part < 2; part++) {
        const s_field_t *fields = part ? s_part_b : s_part_a;
        int count = part ? 6 : 5;
        for (int i = 0; i < count; i++) {
            int n = s_format (v, &fields[i], p, err);
            if (n < 0)
                return -1;
            p += n;
            *p++ = i + 1 < count ? ':' : '\0';
        }
    }
    size_t slen = strnlen (v->serialization, ZSAT_SERIALIZATION_MAX);
    if (slen == ZSAT_SERIALIZATION_MAX || !zsat_name_valid (v->serialization))
        return zsat_fail (err, ZSAT_E_FIELD,
                          "field 'serialization' is not a valid name (no ':' nor NUL)");
    memcpy (p, v->serialization, slen);
    p += slen;
    *p++ = '\0';
    return (int)(p - out);
}

int
zsat_dsat_encode (const zsat_vector_t *v, uint8_t *buf, size_t cap, zsat_error_t *err)
{
    char header[S_HEADER_MAX];
    int hlen = s_header (v, header, err);
    if (hlen < 0)
        return -1;
    size_t total = (size_t)hlen + v->payload_size;
    if (total > cap || total > INT_MAX)
        return zsat_fail (err, ZSAT_E_SIZE, "legacy frame needs %zu bytes, buffer has %zu", total,
                          cap);
    memcpy (buf, header, (size_t)hlen);
    if (v->payload_size)
        memcpy (buf + hlen, v->payload, v->payload_size);
    return (int)total;
}

//  --- Selftest ---

typedef struct {
    const char *what;
    const char *frame;
    size_t size;
    int expect;
} s_hostile_t;

#define S_H(what, frame, expect)                                                                   \
    {                                                                                              \
        what, frame, sizeof (frame) - 1, expect                                                    \
    }
static const s_hostile_t s_hostile[] = {
    S_H ("empty", "", ZSAT_E_FIELD),
    S_H ("no separators", "hostA:orchester:1:42:cpu", ZSAT_E_FIELD),
    S_H ("two separators", "h:s:1:2:n\0e:t:c:7:INIT:3\0str", ZSAT_E_FIELD),
    S_H ("four fields in part a", "h:s:1:2\0e:t:c:7:INIT:3\0str\0", ZSAT_E_FIELD),
    S_H ("six fields in part a", "h:s:1:2:n:x\0e:t:c:7:INIT:3\0str\0", ZSAT_E_FIELD),
    S_H ("seven fields in part b", "h:s:1:2:n\0e:t:c:7:INIT:3:x\0str\0", ZSAT_E_FIELD),
    S_H ("wid not a number", "h:s:x:2:n\0e:t:c:7:INIT:3\0str\0", ZSAT_E_FIELD),
    S_H ("wid negative", "h:s:-1:2:n\0e:t:c:7:INIT:3\0str\0", ZSAT_E_FIELD),
    S_H ("pid leading zero", "h:s:1:02:n\0e:t:c:7:INIT:3\0str\0", ZSAT_E_FIELD),
    S_H ("pid over uint32", "h:s:1:4294967296:n\0e:t:c:7:INIT:3\0str\0", ZSAT_E_FIELD),
    S_H ("task_id over uint64", "h:s:1:2:n\0e:t:c:18446744073709551616:INIT:3\0str\0",
         ZSAT_E_FIELD),
    S_H ("seq empty", "h:s:1:2:n\0e:t:c:7:INIT:\0str\0", ZSAT_E_FIELD),
    S_H ("unknown event", "h:s:1:2:n\0e:t:c:7:WHATEVER:3\0str\0", ZSAT_E_FIELD),
    S_H ("lower-case event", "h:s:1:2:n\0e:t:c:7:init:3\0str\0", ZSAT_E_FIELD),
    S_H ("where empty", ":s:1:2:n\0e:t:c:7:INIT:3\0str\0", ZSAT_E_FIELD),
    S_H ("type with space", "h:s:1:2:n\0e:t t:c:7:INIT:3\0str\0", ZSAT_E_FIELD),
    S_H ("where 64 bytes",
         "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx:s:1:2:n\0e:t:c:7:INIT:"
         "3\0str\0",
         ZSAT_E_SIZE),
    S_H ("serialization empty", "h:s:1:2:n\0e:t:c:7:INIT:3\0\0", ZSAT_E_FIELD),
    S_H ("serialization 16 bytes", "h:s:1:2:n\0e:t:c:7:INIT:3\0xxxxxxxxxxxxxxxx\0", ZSAT_E_SIZE),
};

void
zsat_dsat_test (bool verbose)
{
    printf (" * zsat_dsat: ");
    static const char frame[] = "hostA:orchester:1:4242:cpu\0sched:cpu::7:HAPPY_END:3\0json\0"
                                "{\"a\": 1}\0\xff";
    zsat_vector_t v;
    zsat_error_t err;
    assert (zsat_dsat_decode (&v, (const uint8_t *)frame, sizeof frame - 1, &err) == 0);
    assert (streq (v.where, "hostA") && streq (v.step, "orchester") && v.wid == 1);
    assert (v.pid == 4242 && streq (v.next, "cpu") && streq (v.emitter, "sched"));
    assert (streq (v.type, "cpu") && streq (v.channel, "") && v.task_id == 7);
    assert (v.event == ZSAT_EV_HAPPY_END && v.seq == 3 && streq (v.serialization, "json"));
    assert (v.flags == ZSAT_FLAG_LEGACY && v.payload_size == 10);
    assert (v.checksum == zsat_crc32 (0, v.payload, 10));
    uint8_t buf[256];
    int n = zsat_dsat_encode (&v, buf, sizeof buf, &err);
    assert (n == (int)sizeof frame - 1 && memcmp (buf, frame, (size_t)n) == 0);
    assert (zsat_dsat_encode (&v, buf, 20, &err) == -1 && err.code == ZSAT_E_SIZE);
    //  The largest numbers survive the round trip byte for byte.
    static const char big[] = "h:s:4294967295:0:n\0e:t:c:18446744073709551615:INIT:0\0str\0";
    assert (zsat_dsat_decode (&v, (const uint8_t *)big, sizeof big - 1, &err) == 0);
    assert (v.task_id == UINT64_MAX && v.wid == UINT32_MAX && v.payload_size == 0);
    n = zsat_dsat_encode (&v, buf, sizeof buf, &err);
    assert (n == (int)sizeof big - 1 && memcmp (buf, big, (size_t)n) == 0);
    //  Encode refuses what DSAT cannot carry, naming the field.
    strcpy (v.channel, "a:b");
    assert (zsat_dsat_encode (&v, buf, sizeof buf, &err) == -1);
    assert (err.code == ZSAT_E_FIELD && strstr (err.text, "channel") && strstr (err.text, "':'"));
    strcpy (v.channel, "");
    strcpy (v.serialization, "x:y");
    assert (zsat_dsat_encode (&v, buf, sizeof buf, &err) == -1);
    assert (strstr (err.text, "serialization"));
    strcpy (v.serialization, "str");
    v.event = ZSAT_EV_NONE;
    assert (zsat_dsat_encode (&v, buf, sizeof buf, &err) == -1 && err.code == ZSAT_E_FIELD);
    for (size_t i = 0; i < sizeof s_hostile / sizeof s_hostile[0]; i++) {
        const s_hostile_t *h = &s_hostile[i];
        err.code = 0;
        int rc = zsat_dsat_decode (&v, (const uint8_t *)h->frame, h->size, &err);
        if (verbose || rc != -1 || err.code != h->expect)
            printf ("\n   hostile '%s': rc=%d code=%d (want %d) %s", h->what, rc, err.code,
                    h->expect, err.text);
        assert (rc == -1 && err.code == h->expect);
    }
    //  Cut at every byte: a valid prefix must keep its payload shorter, never read beyond.
    for (size_t cut = 0; cut < sizeof frame - 1; cut++) {
        uint8_t *copy = malloc (cut + 1);
        memcpy (copy, frame, cut);
        int rc = zsat_dsat_decode (&v, copy, cut, &err);
        assert (rc == -1 || v.payload_size < 10);
        free (copy);
    }
    printf ("OK\n");
}
