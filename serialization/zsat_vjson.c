/*  zsat_vjson - vectors to and from one JSON object (zsat_vjson.h). No sockets; the caller
    gives the buffers (a record's two scratch copies are the only allocation).
*/
#include "zsat.h"
#include "zsat_json.h"
#include "zsat_record.h"
#include "zsat_vjson.h"
#include <strings.h>

typedef enum {
    K_EVENT,
    K_U32,
    K_U64,
    K_I64,
    K_STR,
    K_PAYLOAD,
    K_HEX,
    K_SIZE,
    K_RECORD,
    K_NOTE
} s_kind_t;

typedef struct {
    const char *name;
    s_kind_t kind;
    size_t offset;
} s_key_t;

#define S_K(field, kind)                                                                           \
    {                                                                                              \
#field, kind, offsetof(zsat_vector_t, field)                                               \
    }
static const s_key_t s_keys[] = {S_K (event, K_EVENT),       S_K (flags, K_U32),
                                 S_K (seq, K_U32),           S_K (retry, K_U32),
                                 S_K (wid, K_U32),           S_K (pid, K_U32),
                                 S_K (checksum, K_U32),      S_K (task_id, K_U64),
                                 S_K (job_id, K_U64),        S_K (timestamp, K_I64),
                                 S_K (where, K_STR),         S_K (step, K_STR),
                                 S_K (next, K_STR),          S_K (emitter, K_STR),
                                 S_K (type, K_STR),          S_K (channel, K_STR),
                                 S_K (serialization, K_STR), {"payload", K_PAYLOAD, 0},
                                 {"payload_hex", K_HEX, 0},  {"payload_size", K_SIZE, 0},
                                 {"record", K_RECORD, 0},    {"record_error", K_NOTE, 0}};
#define S_KEYS (sizeof s_keys / sizeof s_keys[0])

//  A record as JSON: 256 fields of a 63-byte key and a 127-byte text, each byte escaped.
#define S_RECORD_JSON_MAX (ZSAT_RECORD_FIELDS_MAX * (ZSAT_RECORD_KEY_MAX + ZSAT_RECORD_STR_MAX) * 6)

size_t
zsat_vector_json_size (const zsat_vector_t *v)
{
    //  Every payload byte takes at most 6 bytes escaped ("\u00XX"); the rest is bounded.
    return 1024 + 7 * ZSAT_NAME_MAX * 6 + v->payload_size * 6 + S_RECORD_JSON_MAX + 64;
}

static void
s_put_number (zsat_json_out_t *o, const char *key, uint64_t value)
{
    zsat_json_printf (o, ", \"%s\": %" PRIu64, key, value);
}

static void
s_put_payload (zsat_json_out_t *o, const zsat_vector_t *v)
{
    const char *p = (const char *)v->payload;
    if (v->payload_size == 0 || zsat_json_utf8_valid (p, v->payload_size)) {
        zsat_json_raw (o, ", \"payload\": ", 13);
        zsat_json_string (o, v->payload_size ? p : "", v->payload_size);
        return;
    }
    zsat_json_raw (o, ", \"payload_hex\": \"", 18);
    for (size_t i = 0; i < v->payload_size && !o->overflow; i++)
        zsat_json_printf (o, "%02x", v->payload[i]);
    zsat_json_raw (o, "\"", 1);
}

//  Writes every envelope field, then payload_size, leaving the object open.
static void
s_put_envelope (zsat_json_out_t *o, const zsat_vector_t *v)
{
    zsat_json_raw (o, "{\"event\": ", 10);
    const char *name = zsat_event_name (v->event);
    zsat_json_string (o, name, strlen (name));
    for (size_t i = 1; i < S_KEYS; i++) {
        const s_key_t *k = &s_keys[i];
        const char *field = (const char *)v + k->offset;
        if (k->kind == K_U32)
            s_put_number (o, k->name, *(const uint32_t *)field);
        else if (k->kind == K_U64)
            s_put_number (o, k->name, *(const uint64_t *)field);
        else if (k->kind == K_I64)
            zsat_json_printf (o, ", \"%s\": %" PRId64, k->name, *(const int64_t *)field);
        else if (k->kind == K_STR) {
            zsat_json_printf (o, ", \"%s\": ", k->name);
            zsat_json_string (o, field, strnlen (field, ZSAT_NAME_MAX));
        }
    }
    s_put_number (o, "payload_size", v->payload_size);
}

int
zsat_vector_to_json (const zsat_vector_t *v, char *buf, size_t cap)
{
    zsat_json_out_t o;
    zsat_json_out_init (&o, buf, cap);
    s_put_envelope (&o, v);
    s_put_payload (&o, v);
    zsat_json_raw (&o, "}", 1);
    return zsat_json_finish (&o);
}

//  The canonical bytes of the record written as json: what an encoder makes of the text.
//  Returns the size, or -1 with err.
static int
s_record_bytes (const char *json, size_t len, zsat_record_t *r, uint8_t *out, size_t cap,
                zsat_error_t *err)
{
    if (zsat_record_from_json (r, json, len, err))
        return -1;
    int size = zsat_record_encode (r, out, cap);
    return size < 0 ? zsat_fail (err, ZSAT_E_SIZE, "record does not fit %zu bytes", cap) : size;
}

typedef struct {
    zsat_record_t record;
    char json[S_RECORD_JSON_MAX];
    uint8_t bytes[ZSAT_VJSON_RECORD_MAX];
} s_scratch_t;

//  A record payload: "record" alone when reading that text back gives the payload's very
//  bytes, else the payload beside the record (a view: NaN prints as null, a float32 or a
//  wide integer is re-encoded otherwise), or beside "record_error" when it does not decode.
static void
s_put_record (zsat_json_out_t *o, const zsat_vector_t *v)
{
    s_scratch_t *s = (s_scratch_t *)malloc (sizeof *s);
    zsat_error_t err = {ZSAT_E_SIZE, "out of memory"};
    int len = -1, size = -1;
    if (s && zsat_record_decode (&s->record, v->payload, v->payload_size, &err) == 0 &&
        (len = zsat_record_to_json (&s->record, s->json, sizeof s->json)) < 0)
        zsat_fail (&err, ZSAT_E_SIZE, "record does not fit the JSON buffer");
    if (len > 0)
        size = s_record_bytes (s->json, (size_t)len, &s->record, s->bytes, sizeof s->bytes, &err);
    if (size < 0 || (size_t)size != v->payload_size ||
        memcmp (s->bytes, v->payload, v->payload_size))
        s_put_payload (o, v);
    if (len > 0) {
        zsat_json_raw (o, ", \"record\": ", 12);
        zsat_json_raw (o, s->json, (size_t)len);
    }
    else {
        zsat_json_raw (o, ", \"record_error\": ", 18);
        zsat_json_message (o, err.text, strlen (err.text));
    }
    free (s);
}

int
zsat_vector_to_json_decoded (const zsat_vector_t *v, char *buf, size_t cap)
{
    if (!streq (v->serialization, ZSAT_RECORD_SERIALIZATION))
        return zsat_vector_to_json (v, buf, cap);
    zsat_json_out_t o;
    zsat_json_out_init (&o, buf, cap);
    s_put_envelope (&o, v);
    s_put_record (&o, v);
    zsat_json_raw (&o, "}", 1);
    return zsat_json_finish (&o);
}

static int
s_hex_digit (char c)
{
    return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

//  Decodes hex text in place (each byte lands at or before its digits).
static int
s_unhex (char *text, size_t len, zsat_error_t *err)
{
    if (len % 2)
        return zsat_fail (err, ZSAT_E_FIELD, "payload_hex has an odd length");
    for (size_t i = 0; i < len / 2; i++) {
        int hi = s_hex_digit (text[2 * i]), lo = s_hex_digit (text[2 * i + 1]);
        if (hi < 0 || lo < 0)
            return zsat_fail (err, ZSAT_E_FIELD, "payload_hex holds a non-hex character");
        text[i] = (char)(hi * 16 + lo);
    }
    return 0;
}

//  Stores a numeric pair into v per k.
static int
s_number (zsat_vector_t *v, const s_key_t *k, const zsat_json_pair_t *pair, uint64_t *size,
          zsat_error_t *err)
{
    void *dst = (char *)v + k->offset;
    uint64_t u;
    if (k->kind == K_EVENT && pair->type == ZSAT_JSON_STRING) {
        int e = zsat_event_from_name (pair->text);
        if (e == ZSAT_EV_NONE && strcasecmp (pair->text, "NONE") != 0)
            return zsat_fail (err, ZSAT_E_FIELD, "unknown event '%s'", pair->text);
        v->event = (uint8_t)e;
        return 0;
    }
    if (pair->type != ZSAT_JSON_NUMBER)
        return zsat_fail (err, ZSAT_E_TYPE, "'%s' must be a number", k->name);
    if (k->kind == K_I64)
        return zsat_json_to_int64 (pair->number, (int64_t *)dst) == 0
                   ? 0
                   : zsat_fail (err, ZSAT_E_FIELD, "'%s' is not an int64", k->name);
    uint64_t max = k->kind == K_EVENT ? ZSAT_EV_COUNT - 1
                   : k->kind == K_U32 ? UINT32_MAX
                                      : UINT64_MAX;
    if (zsat_json_to_uint (pair->number, max, &u))
        return zsat_fail (err, ZSAT_E_FIELD, "'%s' is not an integer in 0..%" PRIu64, k->name, max);
    if (k->kind == K_EVENT)
        v->event = (uint8_t)u;
    else if (k->kind == K_U32)
        *(uint32_t *)dst = (uint32_t)u;
    else if (k->kind == K_U64)
        *(uint64_t *)dst = u;
    else
        *size = u;
    return 0;
}

typedef struct {
    size_t used;  //  payload_buf bytes holding the payload
    bool payload_seen;
    bool checksum_seen;
    bool size_seen;
    bool serialization_seen;
    uint64_t size;
    const char *record;  //  the "record" object's text, in the input
    size_t record_len;
} s_state_t;

static int
s_pair (zsat_vector_t *v, const zsat_json_pair_t *pair, s_state_t *st, zsat_error_t *err)
{
    const s_key_t *k = NULL;
    for (size_t i = 0; i < S_KEYS && !k; i++)
        if (streq (s_keys[i].name, pair->key))
            k = &s_keys[i];
    if (!k)
        return zsat_fail (err, ZSAT_E_FIELD, "unknown key '%s'", pair->key);
    if (k->kind == K_RECORD) {
        if (pair->type != ZSAT_JSON_OBJECT)
            return zsat_fail (err, ZSAT_E_TYPE, "'record' must be an object");
        st->record = pair->object;
        st->record_len = pair->object_len;
        return 0;
    }
    if (k->kind == K_NOTE)  //  decode's explanation, nothing to encode
        return pair->type == ZSAT_JSON_STRING
                   ? 0
                   : zsat_fail (err, ZSAT_E_TYPE, "'%s' must be a string", k->name);
    if (pair->type == ZSAT_JSON_OBJECT)
        return zsat_fail (err, ZSAT_E_TYPE, "'%s' must not be an object", k->name);
    if (k->kind == K_STR || k->kind == K_PAYLOAD || k->kind == K_HEX) {
        if (pair->type != ZSAT_JSON_STRING)
            return zsat_fail (err, ZSAT_E_TYPE, "'%s' must be a string", k->name);
        if (k->kind == K_STR) {
            size_t cap = streq (k->name, "serialization") ? ZSAT_SERIALIZATION_MAX : ZSAT_NAME_MAX;
            if (pair->text_len >= cap)
                return zsat_fail (err, ZSAT_E_SIZE, "'%s' is over %zu bytes", k->name, cap - 1);
            if (strlen (pair->text) != pair->text_len)
                return zsat_fail (err, ZSAT_E_FIELD, "'%s' holds a NUL", k->name);
            st->serialization_seen |= streq (k->name, "serialization");
            memcpy ((char *)v + k->offset, pair->text, pair->text_len + 1);
            return 0;
        }
        if (st->payload_seen)
            return zsat_fail (err, ZSAT_E_FIELD, "payload given twice");
        st->payload_seen = true;
        v->payload = (const uint8_t *)pair->text;
        v->payload_size = k->kind == K_HEX ? pair->text_len / 2 : pair->text_len;
        return k->kind == K_HEX ? s_unhex (pair->text, pair->text_len, err) : 0;
    }
    if (k->kind == K_SIZE)
        st->size_seen = true;
    if (streq (k->name, "checksum"))
        st->checksum_seen = true;
    return s_number (v, k, pair, &st->size, err);
}

//  Checks that the payload, read as a record and written as JSON, is the record given in
//  s->bytes (size bytes): a "record" beside a payload is a view that must agree with it.
static int
s_record_matches (const zsat_vector_t *v, s_scratch_t *s, size_t size, zsat_error_t *err)
{
    uint8_t *given = (uint8_t *)malloc (size ? size : 1);
    int len = -1, back = -1;
    if (given) {
        memcpy (given, s->bytes, size);
        if (zsat_record_decode (&s->record, v->payload, v->payload_size, err) == 0)
            len = zsat_record_to_json (&s->record, s->json, sizeof s->json);
        if (len > 0)
            back =
                s_record_bytes (s->json, (size_t)len, &s->record, s->bytes, sizeof s->bytes, err);
    }
    int rc = back >= 0 && (size_t)back == size && memcmp (given, s->bytes, size) == 0
                 ? 0
                 : zsat_fail (err, ZSAT_E_FIELD, "'record' disagrees with the payload");
    free (given);
    return rc;
}

//  Turns st's "record" into the payload, or checks it against the payload given beside it.
static int
s_record_payload (zsat_vector_t *v, const s_state_t *st, uint8_t *buf, size_t cap,
                  zsat_error_t *err)
{
    if (st->serialization_seen && !streq (v->serialization, ZSAT_RECORD_SERIALIZATION))
        return zsat_fail (err, ZSAT_E_FIELD, "'record' with serialization '%s'", v->serialization);
    s_scratch_t *s = (s_scratch_t *)malloc (sizeof *s);
    if (!s)
        return zsat_fail (err, ZSAT_E_SIZE, "out of memory for the record");
    int rc = -1, size = s_record_bytes (st->record, st->record_len, &s->record, s->bytes,
                                        sizeof s->bytes, err);
    if (size < 0)
        zsat_fail (err, err->code, "record: %s", err->text);
    else if (!st->payload_seen) {
        if ((size_t)size > cap)
            zsat_fail (err, ZSAT_E_SIZE, "record does not fit the payload buffer");
        else {
            memcpy (buf, s->bytes, (size_t)size);
            v->payload = buf;  //  the checksum follows below unless one was given
            v->payload_size = (size_t)size;
            snprintf (v->serialization, sizeof v->serialization, "%s", ZSAT_RECORD_SERIALIZATION);
            rc = 0;
        }
    }
    else
        rc = s_record_matches (v, s, (size_t)size, err);
    free (s);
    return rc;
}

int
zsat_vector_from_json (zsat_vector_t *v, const char *json, size_t size, uint8_t *payload_buf,
                       size_t payload_cap, zsat_error_t *err)
{
    zsat_vector_init (v);
    if (payload_cap < 2)
        return zsat_fail (err, ZSAT_E_SIZE, "payload buffer too small");
    zsat_json_parser_t p;
    zsat_json_pair_t pair;
    s_state_t st = {0};
    bool seen[S_KEYS] = {false};
    if (zsat_json_open (&p, json, size, err))
        return -1;
    p.nested_ok = true;  //  "record"
    p.nul_ok = true;     //  "payload"; names are checked for NUL in s_pair
    int rc;
    while (true) {
        //  Strings land after the payload already parsed, so they never overwrite it.
        pair.text = (char *)payload_buf + st.used;
        pair.text_cap = payload_cap - st.used;
        if ((rc = zsat_json_next (&p, &pair, err)) != 1)
            break;
        for (size_t i = 0; i < S_KEYS; i++)
            if (streq (s_keys[i].name, pair.key)) {
                if (seen[i])
                    return zsat_fail (err, ZSAT_E_FIELD, "key '%s' appears twice", pair.key);
                seen[i] = true;
            }
        if (s_pair (v, &pair, &st, err))
            return -1;
        if (st.payload_seen && st.used == 0 && v->payload_size)
            st.used = (size_t)(v->payload - payload_buf) + v->payload_size;
    }
    if (rc < 0 || (st.record && s_record_payload (v, &st, payload_buf, payload_cap, err)))
        return -1;
    if (v->payload_size > ZSAT_PAYLOAD_MAX)
        return zsat_fail (err, ZSAT_E_SIZE, "payload of %zu bytes is over the protocol's %d",
                          v->payload_size, ZSAT_PAYLOAD_MAX);
    if (st.size_seen && st.size != v->payload_size)
        return zsat_fail (err, ZSAT_E_FIELD, "payload_size %" PRIu64 " but the payload has %zu",
                          st.size, v->payload_size);
    if (!st.checksum_seen)
        v->checksum = zsat_crc32 (0, v->payload, v->payload_size);
    return 0;
}

//  --- Selftest ---

//  Record payloads as "record", NULs in payloads: what `codec decode | codec encode` needs.
static void
s_test_record (bool verbose)
{
    zsat_vector_t v, back;
    zsat_error_t err;
    static uint8_t payload[4096];
    static char json[1 << 20];  //  zsat_vector_json_size's bound for a record
    const char *j = "{\"where\": \"h\", \"type\": \"t\", \"record\": {\"a\": 1, \"b\": \"x\"}}";
    assert (zsat_vector_from_json (&v, j, strlen (j), payload, sizeof payload, &err) == 0);
    assert (streq (v.serialization, ZSAT_RECORD_SERIALIZATION) && v.payload_size == 8);
    assert (memcmp (v.payload,
                    "\x82\xa1"
                    "a\x01\xa1"
                    "b\xa1x",
                    8) == 0);
    assert (zsat_vector_json_size (&v) <= sizeof json);
    assert (zsat_vector_to_json_decoded (&v, json, sizeof json) > 0);
    assert (strstr (json, "\"record\": {\"a\": 1, \"b\": \"x\"}") && !strstr (json, "payload_hex"));
    assert (zsat_vector_from_json (&back, json, strlen (json), payload, sizeof payload, &err) == 0);
    assert (back.payload_size == 8 && memcmp (back.payload,
                                              "\x82\xa1"
                                              "a\x01",
                                              4) == 0);
    //  float32 is not what an encoder writes: the bytes stay, the record is a view.
    zsat_vector_set_payload (&v, "\x81\xa1x\xca\x3f\xc0\x00\x00", 8);
    assert (zsat_vector_to_json_decoded (&v, json, sizeof json) > 0);
    assert (strstr (json, "\"payload_hex\": \"81a178ca3fc00000\", \"record\": {\"x\": 1.5}"));
    assert (zsat_vector_from_json (&back, json, strlen (json), payload, sizeof payload, &err) == 0);
    assert (back.payload_size == 8 && back.payload[3] == 0xca);
    const char *bad[] = {"{\"payload_hex\": \"81a178ca3fc00000\", \"record\": {\"x\": 2}}",
                         "{\"serialization\": \"raw\", \"record\": {\"x\": 2}}",
                         "{\"record\": {\"x\": [2]}}",
                         "{\"record\": {\"x\": 2}",
                         "{\"record\": 1}",
                         "{\"where\": {}}",
                         "{\"where\": \"a\\u0000b\"}"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        int rc =
            zsat_vector_from_json (&back, bad[i], strlen (bad[i]), payload, sizeof payload, &err);
        if (verbose || rc != -1)
            printf ("\n   bad '%s': rc=%d %s", bad[i], rc, err.text);
        assert (rc == -1);
    }
    j = "{\"payload\": \"a\\u0000b\"}";
    assert (zsat_vector_from_json (&back, j, strlen (j), payload, sizeof payload, &err) == 0);
    assert (back.payload_size == 3 && memcmp (back.payload, "a\0b", 3) == 0);
}

void
zsat_vjson_test (bool verbose)
{
    printf (" * zsat_vjson: ");
    zsat_vector_t v, back;
    zsat_vector_init (&v);
    v.event = ZSAT_EV_HAPPY_END;
    v.flags = 5;
    v.seq = 6;
    v.task_id = UINT64_MAX;
    v.timestamp = INT64_MIN;
    strcpy (v.where, "h");
    strcpy (v.type, "t");
    strcpy (v.step, "s\"x");
    zsat_vector_set_payload (&v, "caf\xc3\xa9\n", 6);
    char json[4096];
    assert (zsat_vector_to_json (&v, json, sizeof json) > 0);
    assert (strstr (json, "\"event\": \"HAPPY_END\"") && strstr (json, "\"payload\": \"caf"));
    assert (strstr (json, "\"task_id\": 18446744073709551615"));
    uint8_t payload[256];
    zsat_error_t err;
    assert (zsat_vector_from_json (&back, json, strlen (json), payload, sizeof payload, &err) == 0);
    assert (back.event == v.event && back.flags == 5 && back.seq == 6);
    assert (back.task_id == UINT64_MAX && back.timestamp == INT64_MIN);
    assert (streq (back.step, "s\"x") && streq (back.type, "t") &&
            streq (back.serialization, "raw"));
    assert (back.payload_size == 6 && memcmp (back.payload, v.payload, 6) == 0);
    assert (back.checksum == v.checksum);
    //  Binary payloads go as hex; a key after the payload does not overwrite it.
    zsat_vector_set_payload (&v, "\x00\xff\x10", 3);
    assert (zsat_vector_to_json (&v, json, sizeof json) > 0);
    assert (strstr (json, "\"payload_hex\": \"00ff10\""));
    assert (zsat_vector_from_json (&back, json, strlen (json), payload, sizeof payload, &err) == 0);
    assert (back.payload_size == 3 && memcmp (back.payload, "\x00\xff\x10", 3) == 0);
    const char *j = "{\"payload\": \"abc\", \"where\": \"hostA\", \"event\": 3, \"checksum\": 1}";
    assert (zsat_vector_from_json (&back, j, strlen (j), payload, sizeof payload, &err) == 0);
    assert (back.payload_size == 3 && memcmp (back.payload, "abc", 3) == 0);
    assert (streq (back.where, "hostA") && back.event == ZSAT_EV_ACK && back.checksum == 1);
    const char *bad[] = {"{\"nope\": 1}",
                         "{\"seq\": -1}",
                         "{\"seq\": 4294967296}",
                         "{\"event\": \"WHAT\"}",
                         "{\"event\": 99}",
                         "{\"where\": 1}",
                         "{\"seq\": \"1\"}",
                         "{\"seq\": 1, \"seq\": 2}",
                         "{\"payload_hex\": \"abc\"}",
                         "{\"payload_hex\": \"zz\"}",
                         "{\"payload\": \"a\", \"payload_hex\": \"61\"}",
                         "{\"payload\": \"ab\", \"payload_size\": 3}",
                         "{\"timestamp\": 1.5}"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        int rc =
            zsat_vector_from_json (&back, bad[i], strlen (bad[i]), payload, sizeof payload, &err);
        if (verbose || rc != -1)
            printf ("\n   bad '%s': rc=%d %s", bad[i], rc, err.text);
        assert (rc == -1);
    }
    assert (zsat_vector_to_json (&v, json, 20) == -1);
    s_test_record (verbose);
    printf ("OK\n");
}
