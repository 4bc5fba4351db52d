/*  zsat_vector - the vector on the wire (three frames: routing, envelope, payload) and the
    multipart receive/send helpers every node uses. Owns no socket: it reads and writes the
    raw libzmq handles it is given.

    The envelope is a msgpack array of 18 elements (docs/protocol.md). The encoder writes the
    canonical form: numeric fields first with fixed widths so event/flags/seq/retry sit at
    constant offsets and can be patched in place; then the seven strings. The decoder takes
    any valid msgpack integer width and str8/16/32 (other languages pack minimally) but is
    strict about everything else, and never allocates.
*/
#include "zsat.h"
#include "zsat_msgpack.h"
#include "zsat_recv.h"

#define S_ELEMENTS 18  //  envelope version 1: [version, 10 numbers, 7 strings]

//  Canonical offsets: dc 00 12 | 01 | cc ev | ce flags | ce seq | ce retry | ce wid | ce pid |
//  ce checksum | cf task_id | cf job_id | d3 timestamp | strings...
#define S_OFF_EVENT   4
#define S_OFF_FLAGS   6
#define S_OFF_SEQ     11
#define S_OFF_RETRY   16
#define S_OFF_STRINGS 63

typedef enum { S_U8, S_U32, S_U64, S_I64, S_NAME, S_OPTNAME, S_SER } s_kind_t;

typedef struct {
    const char *name;
    s_kind_t kind;
    size_t offset;
} s_field_t;

#define S_F(field, kind)                                                                           \
    {                                                                                              \
#field, kind, offsetof(zsat_vector_t, field)                                               \
    }
//  Wire order after the version, the single source of the layout.
static const s_field_t s_fields[S_ELEMENTS - 1] = {
    S_F (event, S_U8),        S_F (flags, S_U32),        S_F (seq, S_U32),
    S_F (retry, S_U32),       S_F (wid, S_U32),          S_F (pid, S_U32),
    S_F (checksum, S_U32),    S_F (task_id, S_U64),      S_F (job_id, S_U64),
    S_F (timestamp, S_I64),   S_F (where, S_NAME),       S_F (step, S_OPTNAME),
    S_F (next, S_OPTNAME),    S_F (emitter, S_OPTNAME),  S_F (type, S_NAME),
    S_F (channel, S_OPTNAME), S_F (serialization, S_SER)};
#define S_FIRST_STRING 10

void
zsat_vector_init (zsat_vector_t *v)
{
    memset (v, 0, sizeof *v);
    strcpy (v->serialization, "raw");
    v->payload = (const uint8_t *)"";
}

void
zsat_vector_set_payload (zsat_vector_t *v, const void *data, size_t size)
{
    v->payload = data ? (const uint8_t *)data : (const uint8_t *)"";
    v->payload_size = data ? size : 0;
    v->checksum = zsat_crc32 (0, v->payload, v->payload_size);
}

//  True for the bytes of a name, [A-Za-z0-9_.-] (zsat_name_valid's rule, without the
//  locale-dependent isalnum: this runs for every string of every vector).
static inline bool
s_name_byte (uint8_t c)
{
    return (unsigned)((c | 0x20) - 'a') < 26u || (unsigned)(c - '0') < 10u || c == '_' ||
           c == '.' || c == '-';
}

//  Returns true when s[0..n) are all name bytes.
static inline bool
s_name_bytes (const uint8_t *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!s_name_byte (s[i]))
            return false;
    return true;
}

//  Checks one string field of v; sets *len. Required names must be valid, optional ones
//  empty or valid, serialization 1..15 bytes of name characters.
static int
s_check_string (const zsat_vector_t *v, const s_field_t *f, size_t *len, zsat_error_t *err)
{
    const uint8_t *s = (const uint8_t *)v + f->offset;
    size_t cap = f->kind == S_SER ? ZSAT_SERIALIZATION_MAX : ZSAT_NAME_MAX;
    size_t n = 0;
    while (n < cap && s_name_byte (s[n]))
        n++;
    *len = n;
    if (n < cap && s[n] == 0 && (n > 0 || f->kind == S_OPTNAME))
        return 0;
    if (n == cap || (s[n] && !memchr (s + n, 0, cap - n)))
        return zsat_fail (err, ZSAT_E_SIZE, "field '%s' is longer than %zu bytes", f->name,
                          cap - 1);
    return zsat_fail (err, ZSAT_E_FIELD, "field '%s' is %s (want 1..%zu bytes of [A-Za-z0-9_.-])",
                      f->name, n || s[n] ? "not a valid name" : "empty", cap - 1);
}

int
zsat_vector_encode_routing (const zsat_vector_t *v, char *buf, size_t cap, zsat_error_t *err)
{
    size_t wlen, tlen;
    if (s_check_string (v, &s_fields[S_FIRST_STRING], &wlen, err) ||
        s_check_string (v, &s_fields[S_FIRST_STRING + 4], &tlen, err))
        return -1;
    if (wlen + 1 + tlen + 1 > cap)
        return zsat_fail (err, ZSAT_E_SIZE, "routing buffer too small");
    memcpy (buf, v->where, wlen);
    buf[wlen] = '/';
    memcpy (buf + wlen + 1, v->type, tlen);
    buf[wlen + 1 + tlen] = 0;
    return (int)(wlen + 1 + tlen);
}

static uint8_t *
s_put_fixed (uint8_t *p, uint8_t marker, uint64_t v, int n)
{
    *p = marker;
    return zsat_mp_put_be (p + 1, v, n);
}

int
zsat_vector_encode_envelope (const zsat_vector_t *v, uint8_t *buf, size_t cap, zsat_error_t *err)
{
    if (v->event >= ZSAT_EV_COUNT)
        return zsat_fail (err, ZSAT_E_FIELD, "field 'event' has unknown value %d", v->event);
    size_t lens[S_ELEMENTS - 1];
    size_t total = S_OFF_STRINGS;
    for (int i = S_FIRST_STRING; i < S_ELEMENTS - 1; i++) {
        if (s_check_string (v, &s_fields[i], &lens[i], err))
            return -1;
        total += zsat_mp_str_header_size (lens[i]) + lens[i];
    }
    if (total > cap)
        return zsat_fail (err, ZSAT_E_SIZE, "envelope needs %zu bytes, buffer has %zu", total, cap);
    uint8_t *p = buf;
    *p++ = 0xdc;
    *p++ = 0x00;
    *p++ = S_ELEMENTS;
    *p++ = ZSAT_ENVELOPE_VERSION;
    p = s_put_fixed (p, 0xcc, v->event, 1);
    p = s_put_fixed (p, 0xce, v->flags, 4);
    p = s_put_fixed (p, 0xce, v->seq, 4);
    p = s_put_fixed (p, 0xce, v->retry, 4);
    p = s_put_fixed (p, 0xce, v->wid, 4);
    p = s_put_fixed (p, 0xce, v->pid, 4);
    p = s_put_fixed (p, 0xce, v->checksum, 4);
    p = s_put_fixed (p, 0xcf, v->task_id, 8);
    p = s_put_fixed (p, 0xcf, v->job_id, 8);
    p = s_put_fixed (p, 0xd3, (uint64_t)v->timestamp, 8);
    for (int i = S_FIRST_STRING; i < S_ELEMENTS - 1; i++)
        p = zsat_mp_put_str (p, (const char *)v + s_fields[i].offset, lens[i]);
    return (int)(p - buf);
}

//  Reads one envelope element into v per its field description.
static int
s_read_field (zsat_mp_reader_t *r, const s_field_t *f, zsat_vector_t *v)
{
    void *dst = (char *)v + f->offset;
    uint64_t u;
    int rc;
    switch (f->kind) {
        case S_U8:
            if ((rc = zsat_mp_read_uint (r, 0xff, &u)))
                return rc;
            if (u >= ZSAT_EV_COUNT)
                return zsat_mp_fail (r, ZSAT_E_FIELD, "unknown event number");
            *(uint8_t *)dst = (uint8_t)u;
            return 0;
        case S_U32:
            if ((rc = zsat_mp_read_uint (r, UINT32_MAX, &u)))
                return rc;
            *(uint32_t *)dst = (uint32_t)u;
            return 0;
        case S_U64:
            return zsat_mp_read_uint (r, UINT64_MAX, (uint64_t *)dst);
        case S_I64:
            return zsat_mp_read_int64 (r, (int64_t *)dst);
        default:
            break;
    }
    size_t cap = f->kind == S_SER ? ZSAT_SERIALIZATION_MAX : ZSAT_NAME_MAX;
    const uint8_t *data;
    size_t n;
    if ((rc = zsat_mp_read_str (r, cap - 1, &data, &n)))
        return rc;
    if (n == 0 && f->kind != S_OPTNAME)
        return zsat_mp_fail (r, ZSAT_E_FIELD, "empty");
    if (!s_name_bytes (data, n))  //  also refuses NUL bytes
        return zsat_mp_fail (r, ZSAT_E_FIELD, "not a valid name");
    memcpy (dst, data, n);
    ((char *)dst)[n] = 0;
    return 0;
}

static int
s_decode_envelope (zsat_vector_t *v, const uint8_t *envelope, size_t size, zsat_error_t *err)
{
    if (size > ZSAT_ENVELOPE_MAX)
        return zsat_fail (err, ZSAT_E_SIZE, "envelope of %zu bytes is over %d", size,
                          ZSAT_ENVELOPE_MAX);
    zsat_mp_reader_t r;
    zsat_mp_reader_init (&r, envelope, size);
    uint32_t count;
    uint64_t version;
    int rc = zsat_mp_read_container (&r, 'a', &count);
    if (rc)
        return zsat_fail (err, rc, "envelope: %s", r.why);
    if (count == 0)
        return zsat_fail (err, ZSAT_E_FIELD, "envelope: empty array, no version");
    if ((rc = zsat_mp_read_uint (&r, 0xff, &version)))
        return zsat_fail (err, rc, "envelope version: %s", r.why);
    if (version != ZSAT_ENVELOPE_VERSION)
        return zsat_fail (err, ZSAT_E_VERSION, "envelope version %u is not %d", (unsigned)version,
                          ZSAT_ENVELOPE_VERSION);
    if (count != S_ELEMENTS)
        return zsat_fail (err, ZSAT_E_FIELD, "envelope version 1 has %d elements, not %u",
                          S_ELEMENTS, count);
    for (int i = 0; i < S_ELEMENTS - 1; i++)
        if ((rc = s_read_field (&r, &s_fields[i], v)))
            return zsat_fail (err, rc, "field '%s': %s", s_fields[i].name, r.why);
    if (r.p != r.end)
        return zsat_fail (err, ZSAT_E_SIZE, "%zu trailing bytes after the envelope",
                          zsat_mp_left (&r));
    return 0;
}

int
zsat_vector_decode (zsat_vector_t *v, const uint8_t *routing, size_t routing_size,
                    const uint8_t *envelope, size_t envelope_size, const uint8_t *payload,
                    size_t payload_size, zsat_error_t *err)
{
    if (routing_size > ZSAT_ROUTING_MAX)
        return zsat_fail (err, ZSAT_E_SIZE, "routing frame of %zu bytes is over %d", routing_size,
                          ZSAT_ROUTING_MAX);
    if (payload_size > ZSAT_PAYLOAD_MAX)
        return zsat_fail (err, ZSAT_E_SIZE, "payload of %zu bytes is over %d", payload_size,
                          ZSAT_PAYLOAD_MAX);
    if (s_decode_envelope (v, envelope, envelope_size, err))
        return -1;
    size_t wlen = strlen (v->where), tlen = strlen (v->type);
    if (routing_size != wlen + 1 + tlen || memcmp (routing, v->where, wlen) != 0 ||
        routing[wlen] != '/' || memcmp (routing + wlen + 1, v->type, tlen) != 0)
        return zsat_fail (err, ZSAT_E_ROUTING, "routing frame is not '%s/%s'", v->where, v->type);
    v->payload = payload && payload_size ? payload : (const uint8_t *)"";
    v->payload_size = payload_size;
    uint32_t crc = zsat_crc32 (0, v->payload, payload_size);
    if (crc != v->checksum)
        return zsat_fail (err, ZSAT_E_CHECKSUM, "payload CRC-32 %08x, envelope says %08x", crc,
                          v->checksum);
    return 0;
}

//  Returns the offset, marker and width of a patchable field, after checking the envelope
//  starts canonically; -1 when it does not.
static int
s_canonical_slot (const uint8_t *envelope, size_t size, zsat_field_t field, int *width)
{
    static const uint8_t head[4] = {0xdc, 0x00, S_ELEMENTS, ZSAT_ENVELOPE_VERSION};
    if (!envelope || size < S_OFF_STRINGS || memcmp (envelope, head, 4) != 0)
        return -1;
    int off = field == ZSAT_FIELD_EVENT   ? S_OFF_EVENT
              : field == ZSAT_FIELD_FLAGS ? S_OFF_FLAGS
              : field == ZSAT_FIELD_SEQ   ? S_OFF_SEQ
              : field == ZSAT_FIELD_RETRY ? S_OFF_RETRY
                                          : -1;
    if (off < 0)
        return -1;
    *width = field == ZSAT_FIELD_EVENT ? 1 : 4;
    if (envelope[off] != (*width == 1 ? 0xcc : 0xce))
        return -1;
    return off;
}

int
zsat_vector_patch (uint8_t *envelope, size_t size, zsat_field_t field, uint64_t value)
{
    int width;
    int off = s_canonical_slot (envelope, size, field, &width);
    if (off < 0)
        return -1;
    if (field == ZSAT_FIELD_EVENT ? value >= ZSAT_EV_COUNT : value > UINT32_MAX)
        return -1;
    zsat_mp_put_be (envelope + off + 1, value, width);
    return 0;
}

int
zsat_vector_peek (const uint8_t *envelope, size_t size, zsat_field_t field, uint64_t *value)
{
    int width;
    int off = s_canonical_slot (envelope, size, field, &width);
    if (off < 0)
        return -1;
    uint64_t v = 0;
    for (int i = 1; i <= width; i++)
        v = (v << 8) | envelope[off + i];
    *value = v;
    return 0;
}

//  --- Sockets ---

void
zsat_frames_init (zsat_frames_t *f)
{
    f->count = 0;
    f->received = 0;
    f->bytes = 0;
    f->refused = ZSAT_RECV_OK;
    f->open = false;
}

void
zsat_frames_close (zsat_frames_t *f)
{
    if (f->open)
        for (int i = 0; i < f->count; i++)
            zmq_msg_close (&f->frame[i]);
    zsat_frames_init (f);
}

int
zsat_frames_recv (zsat_frames_t *f, void *socket, int flags)
{
    static const zsat_recv_limit_t limit = {3, ZSAT_VECTOR_BYTES_MAX};
    zsat_frames_close (f);
    zsat_recv_info_t info;
    int held = zsat_recv (socket, f->frame, &limit, flags, &info);
    if (held < 0)
        return -1;
    f->count = held;
    f->received = info.frames;
    f->bytes = info.bytes;
    f->refused = info.status;
    f->open = held > 0;
    return held;
}

int
zsat_frames_send (zsat_frames_t *f, void *socket, int flags)
{
    if (!f->open || f->count == 0) {
        errno = EINVAL;
        return -1;
    }
    for (int i = 0; i < f->count; i++) {
        int more = i + 1 < f->count ? ZMQ_SNDMORE : 0;
        if (zmq_msg_send (&f->frame[i], socket, flags | more) < 0) {
            int saved = errno;
            //  A refused first frame leaves the message whole: the caller may retry.
            if (i > 0)
                zsat_frames_close (f);
            errno = saved;
            return -1;
        }
    }
    //  zmq_msg_send moved every frame: only empty messages are left to close.
    zsat_frames_close (f);
    return 0;
}

int
zsat_vector_decode_frames (zsat_vector_t *v, zsat_frames_t *f, zsat_error_t *err)
{
    if (f->refused == ZSAT_RECV_BYTES)
        return zsat_fail (err, ZSAT_E_SIZE, "message of %zu bytes over the limit of %zu", f->bytes,
                          (size_t)ZSAT_VECTOR_BYTES_MAX);
    if (!f->open || f->received != f->count)
        return zsat_fail (err, ZSAT_E_FRAMES, "message has %d frames, want 3 (or 1 legacy)",
                          f->received);
    if (f->count == 1)
        return zsat_dsat_decode (v, zmq_msg_data (&f->frame[0]), zmq_msg_size (&f->frame[0]), err);
    if (f->count != 3)
        return zsat_fail (err, ZSAT_E_FRAMES, "message has %d frames, want 3 (or 1 legacy)",
                          f->count);
    return zsat_vector_decode (v, zmq_msg_data (&f->frame[0]), zmq_msg_size (&f->frame[0]),
                               zmq_msg_data (&f->frame[1]), zmq_msg_size (&f->frame[1]),
                               zmq_msg_data (&f->frame[2]), zmq_msg_size (&f->frame[2]), err);
}

int
zsat_vector_send (const zsat_vector_t *v, void *socket, int flags, zsat_error_t *err)
{
    char routing[ZSAT_ROUTING_MAX];
    uint8_t envelope[ZSAT_ENVELOPE_MAX];
    int rlen = zsat_vector_encode_routing (v, routing, sizeof routing, err);
    if (rlen < 0)
        return -1;
    int elen = zsat_vector_encode_envelope (v, envelope, sizeof envelope, err);
    if (elen < 0)
        return -1;
    const void *payload = v->payload ? (const void *)v->payload : "";
    if (zmq_send (socket, routing, (size_t)rlen, flags | ZMQ_SNDMORE) < 0 ||
        zmq_send (socket, envelope, (size_t)elen, flags | ZMQ_SNDMORE) < 0 ||
        zmq_send (socket, payload, v->payload_size, flags) < 0) {
        int saved = errno;
        zsat_fail (err, ZSAT_E_IO, "send: %s", zmq_strerror (saved));
        errno = saved;
        return -1;
    }
    return 0;
}

void
zsat_vector_describe (const zsat_vector_t *v, char *buf, size_t cap)
{
    snprintf (buf, cap,
              "%s task=%" PRIu64 " job=%" PRIu64 " %s/%s step=%s next=%s emitter=%s channel=%s "
              "seq=%u retry=%u flags=0x%x wid=%u pid=%u ts=%" PRId64 " ser=%s payload=%zu crc=%08x",
              zsat_event_name (v->event), v->task_id, v->job_id, v->where, v->type, v->step,
              v->next, v->emitter, v->channel, v->seq, v->retry, v->flags, v->wid, v->pid,
              v->timestamp, v->serialization, v->payload_size, v->checksum);
}

//  --- Selftest ---

static uint64_t s_rng = 0x9E3779B97F4A7C15ull;

static uint64_t
s_rand (void)
{
    s_rng ^= s_rng << 13;
    s_rng ^= s_rng >> 7;
    s_rng ^= s_rng << 17;
    return s_rng;
}

static void
s_rand_name (char *buf, size_t len)
{
    static const char chars[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-";
    for (size_t i = 0; i < len; i++)
        buf[i] = chars[s_rand () % (sizeof chars - 1)];
    buf[len] = 0;
}

//  Fills v with random values; mode 0 random lengths, 1 shortest, 2 longest.
static void
s_rand_vector (zsat_vector_t *v, int mode)
{
    zsat_vector_init (v);
    v->event = (uint8_t)(s_rand () % ZSAT_EV_COUNT);
    v->flags = (uint32_t)s_rand ();
    v->seq = (uint32_t)s_rand ();
    v->retry = (uint32_t)s_rand ();
    v->wid = (uint32_t)s_rand ();
    v->pid = (uint32_t)s_rand ();
    v->task_id = s_rand ();
    v->job_id = s_rand ();
    v->timestamp = (int64_t)s_rand ();
    for (int i = S_FIRST_STRING; i < S_ELEMENTS - 1; i++) {
        const s_field_t *f = &s_fields[i];
        size_t max = (f->kind == S_SER ? ZSAT_SERIALIZATION_MAX : ZSAT_NAME_MAX) - 1;
        size_t min = f->kind == S_OPTNAME ? 0 : 1;
        size_t len = mode == 1 ? min : mode == 2 ? max : min + s_rand () % (max - min + 1);
        s_rand_name ((char *)v + f->offset, len);
    }
}

static void
s_assert_same (const zsat_vector_t *a, const zsat_vector_t *b)
{
    assert (a->event == b->event && a->flags == b->flags && a->seq == b->seq);
    assert (a->retry == b->retry && a->wid == b->wid && a->pid == b->pid);
    assert (a->checksum == b->checksum && a->task_id == b->task_id && a->job_id == b->job_id);
    assert (a->timestamp == b->timestamp);
    assert (streq (a->where, b->where) && streq (a->step, b->step) && streq (a->next, b->next));
    assert (streq (a->emitter, b->emitter) && streq (a->type, b->type));
    assert (streq (a->channel, b->channel) && streq (a->serialization, b->serialization));
    assert (a->payload_size == b->payload_size);
    assert (a->payload_size == 0 || memcmp (a->payload, b->payload, a->payload_size) == 0);
}

//  Encodes v into three buffers and decodes them back; asserts every field survived.
static void
s_round_trip (const zsat_vector_t *v)
{
    char routing[ZSAT_ROUTING_MAX];
    uint8_t env[ZSAT_ENVELOPE_MAX];
    zsat_error_t err;
    int rlen = zsat_vector_encode_routing (v, routing, sizeof routing, &err);
    int elen = zsat_vector_encode_envelope (v, env, sizeof env, &err);
    assert (rlen > 0 && elen >= S_OFF_STRINGS);
    zsat_vector_t back;
    int rc = zsat_vector_decode (&back, (uint8_t *)routing, (size_t)rlen, env, (size_t)elen,
                                 v->payload, v->payload_size, &err);
    assert (rc == 0);
    s_assert_same (v, &back);
    for (zsat_field_t f = ZSAT_FIELD_EVENT; f <= ZSAT_FIELD_RETRY; f++) {
        uint64_t value;
        assert (zsat_vector_peek (env, (size_t)elen, f, &value) == 0);
    }
}

static void
s_test_layout (void)
{
    zsat_vector_t v;
    zsat_vector_init (&v);
    v.event = ZSAT_EV_INIT;
    v.flags = ZSAT_FLAG_CRITICAL;
    v.seq = 2;
    v.retry = 0;
    v.wid = 3;
    v.pid = 0x1234;
    v.task_id = 0x0102030405060708ull;
    v.job_id = 9;
    v.timestamp = -1;
    strcpy (v.where, "hostA");
    strcpy (v.next, "cpu");
    strcpy (v.emitter, "sched");
    strcpy (v.type, "cpu");
    zsat_vector_set_payload (&v, "hello", 5);
    assert (v.checksum == 0x3610a686u);  //  zlib.crc32(b"hello")
    static const uint8_t expected[] = {
        0xdc, 0x00, 0x12, 0x01,                                //  array16 of 18, version 1
        0xcc, 0x01,                                            //  event INIT @4
        0xce, 0x00, 0x00, 0x00, 0x01,                          //  flags @6
        0xce, 0x00, 0x00, 0x00, 0x02,                          //  seq @11
        0xce, 0x00, 0x00, 0x00, 0x00,                          //  retry @16
        0xce, 0x00, 0x00, 0x00, 0x03,                          //  wid @21
        0xce, 0x00, 0x00, 0x12, 0x34,                          //  pid @26
        0xce, 0x36, 0x10, 0xa6, 0x86,                          //  checksum @31
        0xcf, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08,  //  task_id @36
        0xcf, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x09,  //  job_id @45
        0xd3, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,  //  timestamp @54
        0xa5, 'h',  'o',  's',  't',  'A',                     //  where @63
        0xa0,                                                  //  step
        0xa3, 'c',  'p',  'u',                                 //  next
        0xa5, 's',  'c',  'h',  'e',  'd',                     //  emitter
        0xa3, 'c',  'p',  'u',                                 //  type
        0xa0,                                                  //  channel
        0xa3, 'r',  'a',  'w'};                                //  serialization
    uint8_t env[ZSAT_ENVELOPE_MAX];
    zsat_error_t err;
    int elen = zsat_vector_encode_envelope (&v, env, sizeof env, &err);
    assert (elen == (int)sizeof expected);
    assert (memcmp (env, expected, sizeof expected) == 0);
    char routing[ZSAT_ROUTING_MAX];
    assert (zsat_vector_encode_routing (&v, routing, sizeof routing, &err) == 9);
    assert (streq (routing, "hostA/cpu"));
    //  Too small a buffer is an error, not an overflow.
    assert (zsat_vector_encode_envelope (&v, env, sizeof expected - 1, &err) == -1);
    assert (err.code == ZSAT_E_SIZE);
    assert (zsat_vector_encode_routing (&v, routing, 9, &err) == -1);
    char line[512];
    zsat_vector_describe (&v, line, sizeof line);
    assert (strstr (line, "INIT") && strstr (line, "hostA/cpu") && strstr (line, "payload=5"));
}

static void
s_test_encode_refuses (void)
{
    zsat_vector_t v;
    uint8_t env[ZSAT_ENVELOPE_MAX];
    zsat_error_t err;
    s_rand_vector (&v, 0);
    v.where[0] = 0;
    assert (zsat_vector_encode_envelope (&v, env, sizeof env, &err) == -1);
    assert (err.code == ZSAT_E_FIELD && strstr (err.text, "where"));
    s_rand_vector (&v, 0);
    strcpy (v.step, "a:b");
    assert (zsat_vector_encode_envelope (&v, env, sizeof env, &err) == -1);
    assert (err.code == ZSAT_E_FIELD && strstr (err.text, "step"));
    s_rand_vector (&v, 0);
    memset (v.serialization, 'x', sizeof v.serialization);
    assert (zsat_vector_encode_envelope (&v, env, sizeof env, &err) == -1);
    assert (err.code == ZSAT_E_SIZE && strstr (err.text, "serialization"));
    s_rand_vector (&v, 0);
    v.event = ZSAT_EV_COUNT;
    assert (zsat_vector_encode_envelope (&v, env, sizeof env, &err) == -1);
    assert (err.code == ZSAT_E_FIELD);
}

//  A minimal encoding, as Python's msgpack packs: every width the decoder must accept.
static void
s_test_minimal_widths (void)
{
    static const uint8_t env[] = {
        0xdc, 0x00, 0x12, 0x01,        //  version
        0x07,                          //  event fixint
        0x00,                          //  flags
        0xcd, 0x01, 0x00,              //  seq uint16 256
        0xcc, 0xc8,                    //  retry uint8 200
        0xd0, 0x05,                    //  wid as int8 5 (a signed width holding a positive value)
        0xce, 0x00, 0x01, 0x00, 0x00,  //  pid 65536
        0x00,                          //  checksum of the empty payload
        0xcf, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,  //  task_id max
        0x2a,                                                  //  job_id 42
        0xe0,                                                  //  timestamp -32
        0xd9, 0x02, 'h',  '1',                                 //  where as str8
        0xda, 0x00, 0x00,                                      //  step as empty str16
        0xdb, 0x00, 0x00, 0x00, 0x01, 'n',                     //  next as str32
        0xa0, 0xa1, 't',  0xa0, 0xa4, 'j',  's',  'o',  'n'};
    zsat_vector_t v;
    zsat_error_t err;
    int rc = zsat_vector_decode (&v, (const uint8_t *)"h1/t", 4, env, sizeof env, NULL, 0, &err);
    assert (rc == 0);
    assert (v.event == 7 && v.flags == 0 && v.seq == 256 && v.retry == 200 && v.wid == 5);
    assert (v.pid == 65536 && v.task_id == UINT64_MAX && v.job_id == 42 && v.timestamp == -32);
    assert (streq (v.where, "h1") && streq (v.step, "") && streq (v.next, "n"));
    assert (streq (v.type, "t") && streq (v.serialization, "json") && v.payload_size == 0);
    //  Not canonical: patch and peek refuse, the caller re-encodes.
    uint8_t copy[sizeof env];
    memcpy (copy, env, sizeof env);
    uint64_t value;
    assert (zsat_vector_peek (copy, sizeof copy, ZSAT_FIELD_SEQ, &value) == -1);
    assert (zsat_vector_patch (copy, sizeof copy, ZSAT_FIELD_SEQ, 1) == -1);
}

typedef struct {
    const char *what;
    int off;  //  splice position in the base envelope; -1 = at the end
    int del;  //  bytes removed there
    const char *ins;
    int ins_len;
    int expect;
} s_hostile_t;

#define S_H(what, off, del, ins, expect)                                                           \
    {                                                                                              \
        what, off, del, ins, sizeof (ins) - 1, expect                                              \
    }
static const s_hostile_t s_hostile[] = {
    S_H ("not an array (nil)", 0, 3, "\xc0", ZSAT_E_TYPE),
    S_H ("a map, not an array", 0, 3, "\xde\x00\x12", ZSAT_E_TYPE),
    S_H ("empty array", 0, 89, "\x90", ZSAT_E_FIELD),
    S_H ("version 2", 3, 1, "\x02", ZSAT_E_VERSION),
    S_H ("version 0", 3, 1, "\x00", ZSAT_E_VERSION),
    S_H ("version as str", 3, 1, "\xa1\x31", ZSAT_E_TYPE),
    S_H ("17 elements", 2, 1, "\x11", ZSAT_E_FIELD),
    S_H ("19 elements", 2, 1, "\x13", ZSAT_E_FIELD),
    S_H ("array32 of 4G elements", 0, 3, "\xdd\xff\xff\xff\xff", ZSAT_E_DEPTH),
    S_H ("array16 of 65535 elements", 0, 3, "\xdc\xff\xff", ZSAT_E_DEPTH),
    S_H ("event as str", 4, 2, "\xa1x", ZSAT_E_TYPE),
    S_H ("event unknown (200)", 5, 1, "\xc8", ZSAT_E_FIELD),
    S_H ("event over uint8", 4, 2, "\xcd\x01\x00", ZSAT_E_SIZE),
    S_H ("seq negative fixint", 11, 5, "\xff", ZSAT_E_TYPE),
    S_H ("seq negative int8", 11, 5, "\xd0\x80", ZSAT_E_TYPE),
    S_H ("flags over uint32", 6, 5, "\xcf\x00\x00\x00\x01\x00\x00\x00\x00", ZSAT_E_SIZE),
    S_H ("retry as float32", 16, 5, "\xca\x3f\x80\x00\x00", ZSAT_E_TYPE),
    S_H ("task_id nil", 36, 9, "\xc0", ZSAT_E_TYPE),
    S_H ("job_id true", 45, 9, "\xc3", ZSAT_E_TYPE),
    S_H ("timestamp over int64", 54, 9, "\xcf\xff\xff\xff\xff\xff\xff\xff\xff", ZSAT_E_SIZE),
    S_H ("where as nested array", 63, 6, "\x91\xa1x", ZSAT_E_TYPE),
    S_H ("where as bin", 63, 6,
         "\xc4\x03"
         "abc",
         ZSAT_E_TYPE),
    S_H ("where empty", 63, 6, "\xa0", ZSAT_E_FIELD),
    S_H ("where with slash", 63, 6, "\xa3\x61/b", ZSAT_E_FIELD),
    S_H ("where with NUL", 63, 6, "\xa3\x61\x00\x62", ZSAT_E_FIELD),
    S_H ("where str32 of 4 GiB", 63, 6, "\xdb\xff\xff\xff\xff", ZSAT_E_TRUNCATED),
    S_H ("where 64 bytes", 63, 6,
         "\xd9\x40xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx", ZSAT_E_SIZE),
    S_H ("step with space", 69, 1, "\xa3\x61 b", ZSAT_E_FIELD),
    S_H ("type empty", 80, 4, "\xa0", ZSAT_E_FIELD),
    S_H ("serialization 16 bytes", 85, 4, "\xb0xxxxxxxxxxxxxxxx", ZSAT_E_SIZE),
    S_H ("serialization empty", 85, 4, "\xa0", ZSAT_E_FIELD),
    S_H ("trailing garbage", -1, 0, "\x00", ZSAT_E_SIZE),
    S_H ("truncated last string", 88, 1, "", ZSAT_E_TRUNCATED),
};

//  The base envelope of the hostile table: the layout vector with an empty payload.
static int
s_base_envelope (zsat_vector_t *v, uint8_t *env)
{
    zsat_vector_init (v);
    v->event = ZSAT_EV_INIT;
    strcpy (v->where, "hostA");
    strcpy (v->next, "cpu");
    strcpy (v->emitter, "sched");
    strcpy (v->type, "cpu");
    zsat_vector_set_payload (v, NULL, 0);
    zsat_error_t err;
    int elen = zsat_vector_encode_envelope (v, env, ZSAT_ENVELOPE_MAX, &err);
    assert (elen == 89);
    return elen;
}

static void
s_test_hostile (bool verbose)
{
    zsat_vector_t v;
    uint8_t base[ZSAT_ENVELOPE_MAX];
    int blen = s_base_envelope (&v, base);
    const uint8_t *routing = (const uint8_t *)"hostA/cpu";
    zsat_error_t err;
    for (size_t i = 0; i < sizeof s_hostile / sizeof s_hostile[0]; i++) {
        const s_hostile_t *h = &s_hostile[i];
        uint8_t env[ZSAT_ENVELOPE_MAX + 128];
        int off = h->off < 0 ? blen : h->off;
        memcpy (env, base, (size_t)off);
        memcpy (env + off, h->ins, (size_t)h->ins_len);
        memcpy (env + off + h->ins_len, base + off + h->del, (size_t)(blen - off - h->del));
        size_t len = (size_t)(blen - h->del + h->ins_len);
        err.code = 0;
        int rc = zsat_vector_decode (&v, routing, 9, env, len, NULL, 0, &err);
        if (verbose || rc != -1 || err.code != h->expect)
            printf ("\n   hostile '%s': rc=%d code=%d (want %d) %s", h->what, rc, err.code,
                    h->expect, err.text);
        assert (rc == -1 && err.code == h->expect);
    }
    //  Truncated at every byte: an error, never a read past the end.
    for (int n = 0; n < blen; n++) {
        uint8_t *cut = malloc ((size_t)n + 1);  //  exact size, so ASan sees any overread
        memcpy (cut, base, (size_t)n);
        assert (zsat_vector_decode (&v, routing, 9, cut, (size_t)n, NULL, 0, &err) == -1);
        assert (err.code == ZSAT_E_TRUNCATED || err.code == ZSAT_E_DEPTH);
        free (cut);
    }
    //  Absent frames are empty ones.
    assert (zsat_vector_decode (&v, NULL, 0, NULL, 0, NULL, 0, &err) == -1);
    assert (err.code == ZSAT_E_TRUNCATED);
    //  Whole-message problems.
    assert (zsat_vector_decode (&v, routing, 9, base, (size_t)blen, NULL, 0, &err) == 0);
    assert (zsat_vector_decode (&v, (const uint8_t *)"hostB/cpu", 9, base, (size_t)blen, NULL, 0,
                                &err) == -1);
    assert (err.code == ZSAT_E_ROUTING);
    assert (zsat_vector_decode (&v, routing, 8, base, (size_t)blen, NULL, 0, &err) == -1);
    assert (err.code == ZSAT_E_ROUTING);
    assert (zsat_vector_decode (&v, routing, ZSAT_ROUTING_MAX + 1, base, (size_t)blen, NULL, 0,
                                &err) == -1);
    assert (err.code == ZSAT_E_SIZE);
    assert (zsat_vector_decode (&v, routing, 9, base, (size_t)blen, (const uint8_t *)"x", 1,
                                &err) == -1);
    assert (err.code == ZSAT_E_CHECKSUM);
    uint8_t big[ZSAT_ENVELOPE_MAX + 1];
    memcpy (big, base, (size_t)blen);
    memset (big + blen, 0, sizeof big - (size_t)blen);
    assert (zsat_vector_decode (&v, routing, 9, big, sizeof big, NULL, 0, &err) == -1);
    assert (err.code == ZSAT_E_SIZE);
}

static void
s_test_patch_peek (void)
{
    zsat_vector_t v, back;
    uint8_t env[ZSAT_ENVELOPE_MAX];
    zsat_error_t err;
    s_rand_vector (&v, 0);
    int elen = zsat_vector_encode_envelope (&v, env, sizeof env, &err);
    uint64_t value;
    assert (zsat_vector_peek (env, (size_t)elen, ZSAT_FIELD_SEQ, &value) == 0 && value == v.seq);
    assert (zsat_vector_patch (env, (size_t)elen, ZSAT_FIELD_EVENT, ZSAT_EV_ACK) == 0);
    assert (zsat_vector_patch (env, (size_t)elen, ZSAT_FIELD_FLAGS, 0xdeadbeef) == 0);
    assert (zsat_vector_patch (env, (size_t)elen, ZSAT_FIELD_SEQ, 77) == 0);
    assert (zsat_vector_patch (env, (size_t)elen, ZSAT_FIELD_RETRY, UINT32_MAX) == 0);
    assert (zsat_vector_patch (env, (size_t)elen, ZSAT_FIELD_RETRY, 1ull << 32) == -1);
    assert (zsat_vector_patch (env, (size_t)elen, ZSAT_FIELD_EVENT, ZSAT_EV_COUNT) == -1);
    assert (zsat_vector_patch (env, 10, ZSAT_FIELD_SEQ, 1) == -1);
    assert (zsat_vector_patch (env, (size_t)elen, (zsat_field_t)99, 1) == -1);
    char routing[ZSAT_ROUTING_MAX];
    int rlen = zsat_vector_encode_routing (&v, routing, sizeof routing, &err);
    assert (zsat_vector_decode (&back, (uint8_t *)routing, (size_t)rlen, env, (size_t)elen,
                                v.payload, v.payload_size, &err) == 0);
    assert (back.event == ZSAT_EV_ACK && back.flags == 0xdeadbeef && back.seq == 77);
    assert (back.retry == UINT32_MAX && back.task_id == v.task_id);
    assert (zsat_vector_peek (env, (size_t)elen, ZSAT_FIELD_EVENT, &value) == 0 && value == 3);
    assert (zsat_vector_peek (env, (size_t)elen, ZSAT_FIELD_RETRY, &value) == 0 &&
            value == UINT32_MAX);
    env[0] = 0x90;  //  not the canonical head
    assert (zsat_vector_peek (env, (size_t)elen, ZSAT_FIELD_SEQ, &value) == -1);
}

static void
s_test_round_trips (void)
{
    zsat_vector_t v;
    static uint8_t payload[4096];
    for (int i = 0; i < 2000; i++) {
        s_rand_vector (&v, i < 2 ? i + 1 : 0);
        size_t size = i % 3 == 0 ? 0 : s_rand () % sizeof payload;
        for (size_t b = 0; b < size; b++)
            payload[b] = (uint8_t)s_rand ();
        zsat_vector_set_payload (&v, payload, size);
        s_round_trip (&v);
    }
    //  The largest payload a receiver accepts.
    uint8_t *max = calloc (1, ZSAT_PAYLOAD_MAX);
    assert (max);
    max[ZSAT_PAYLOAD_MAX - 1] = 1;
    s_rand_vector (&v, 2);
    zsat_vector_set_payload (&v, max, ZSAT_PAYLOAD_MAX);
    s_round_trip (&v);
    free (max);
}

//  Real sockets: send, receive, decode; forward with frames_send; too many frames.
static void
s_test_sockets (void)
{
    zsock_t *pull = zsock_new_pull ("@inproc://zsat-vector-test");
    zsock_t *push = zsock_new_push (">inproc://zsat-vector-test");
    zsock_t *pull2 = zsock_new_pull ("@inproc://zsat-vector-test2");
    zsock_t *push2 = zsock_new_push (">inproc://zsat-vector-test2");
    assert (pull && push && pull2 && push2);
    zsock_set_rcvtimeo (pull, 5000);  //  bounded waits: a failure is an error, not a hang
    zsock_set_rcvtimeo (pull2, 5000);
    zsat_vector_t v, back;
    zsat_error_t err;
    s_rand_vector (&v, 0);
    zsat_vector_set_payload (&v, "payload bytes", 13);
    assert (zsat_vector_send (&v, zsock_resolve (push), 0, &err) == 0);
    zsat_frames_t f;
    zsat_frames_init (&f);
    assert (zsat_frames_recv (&f, zsock_resolve (pull), 0) == 3);
    assert (zsat_vector_decode_frames (&back, &f, &err) == 0);
    s_assert_same (&v, &back);
    assert (zsat_frames_send (&f, zsock_resolve (push2), 0) == 0);
    assert (f.count == 0 && !f.open);
    zsat_frames_t g;
    zsat_frames_init (&g);
    assert (zsat_frames_recv (&g, zsock_resolve (pull2), 0) == 3);
    assert (zsat_vector_decode_frames (&back, &g, &err) == 0);
    s_assert_same (&v, &back);
    //  Six frames: none kept (over the vector's 3), all counted; decoding refuses.
    zstr_sendm (push, "1");
    zstr_sendm (push, "2");
    zstr_sendm (push, "3");
    zstr_sendm (push, "4");
    zstr_sendm (push, "5");
    zstr_send (push, "6");
    assert (zsat_frames_recv (&g, zsock_resolve (pull), 0) == 0);
    assert (g.count == 0 && g.received == 6 && g.refused == ZSAT_RECV_FRAMES);
    assert (zsat_vector_decode_frames (&back, &g, &err) == -1 && err.code == ZSAT_E_FRAMES);
    zstr_sendm (push, "a");
    zstr_send (push, "b");
    assert (zsat_frames_recv (&g, zsock_resolve (pull), 0) == 2);
    assert (zsat_vector_decode_frames (&back, &g, &err) == -1 && err.code == ZSAT_E_FRAMES);
    //  One frame is DSAT's legacy format.
    zstr_send (push, "hostA:orchester:1:42:cpu\0sched:cpu:main:7:INIT:3\0str\0data");
    assert (zsat_frames_recv (&g, zsock_resolve (pull), 0) == 1);
    assert (zsat_vector_decode_frames (&back, &g, &err) == -1);  //  zstr stops at the NUL
    static const char legacy[] = "hostA:orchester:1:42:cpu\0sched:cpu:main:7:INIT:3\0str\0data";
    zmq_send (zsock_resolve (push), legacy, sizeof legacy - 1, 0);
    assert (zsat_frames_recv (&g, zsock_resolve (pull), 0) == 1);
    assert (zsat_vector_decode_frames (&back, &g, &err) == 0);
    assert ((back.flags & ZSAT_FLAG_LEGACY) && back.task_id == 7 && back.payload_size == 4);
    //  Nothing to receive: EAGAIN, nothing held.
    assert (zsat_frames_recv (&g, zsock_resolve (pull), ZMQ_DONTWAIT) == -1 && errno == EAGAIN);
    assert (g.count == 0);
    zsat_frames_close (&g);
    zsat_frames_close (&g);  //  safe twice
    zsat_frames_close (&f);
    //  Invalid vector: nothing is sent.
    strcpy (v.where, "bad/host");
    assert (zsat_vector_send (&v, zsock_resolve (push), 0, &err) == -1);
    assert (err.code == ZSAT_E_FIELD);
    zsock_destroy (&push);
    zsock_destroy (&pull);
    zsock_destroy (&push2);
    zsock_destroy (&pull2);
}

void
zsat_vector_test (bool verbose)
{
    printf (" * zsat_vector: ");
    s_test_layout ();
    s_test_encode_refuses ();
    s_test_minimal_widths ();
    s_test_hostile (verbose);
    s_test_patch_peek ();
    s_test_round_trips ();
    s_test_sockets ();
    printf ("OK\n");
}
