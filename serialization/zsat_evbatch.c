/*  zsat_evbatch - tracker events batched per node: records are encoded as they are added
    into one preallocated buffer, and a flush sends it as one message (frame "zsat.ev", then
    the msgpack body) on the PUSH socket the caller owns. Owns no socket.

    The body's record array has an array32 header (0xdd + 4 bytes) written at flush time,
    so records never move. With ZMQ_DONTWAIT a full socket drops the batch, counted.
*/
#include "zsat.h"
#include "zsat_json.h"
#include "zsat_msgpack.h"

#define S_SOURCE_ELEMENTS 7
#define S_RECORD_ELEMENTS 9
//  The largest encoded record: fixarray, event, task_id, job_id, type, retry, seq, timestamp,
//  flags, detail, each at its widest.
#define S_RECORD_MAX (1 + 2 + 9 + 9 + 2 + 63 + 5 + 5 + 9 + 5 + 2 + 127)
#define S_HEADER_MAX (1 + 1 + 2 * (2 + 63) + 5 + 5 + 1 + 15 + 5)

struct zsat_evbatch_t {
    zsat_event_source_t source;
    size_t max_records;
    size_t pending;
    uint64_t dropped;
    uint8_t *buf;
    size_t header_len;  //  bytes up to and including the array32 header
    size_t len;
};

static bool
s_source_valid (const zsat_event_source_t *s)
{
    return zsat_name_valid (s->host) && zsat_name_valid (s->node) &&
           strnlen (s->version, sizeof s->version) < sizeof s->version &&
           zsat_json_utf8_valid (s->version, strlen (s->version));
}

zsat_evbatch_t *
zsat_evbatch_new (const zsat_event_source_t *source, size_t max_records)
{
    if (!source || !s_source_valid (source) || max_records == 0 ||
        max_records > ZSAT_EVBATCH_MAX_RECORDS)
        return NULL;
    zsat_evbatch_t *self = calloc (1, sizeof *self);
    if (!self)
        return NULL;
    self->source = *source;
    self->max_records = max_records;
    self->buf = malloc (S_HEADER_MAX + max_records * S_RECORD_MAX);
    if (!self->buf) {
        free (self);
        return NULL;
    }
    uint8_t *p = self->buf;
    *p++ = 0x90 | S_SOURCE_ELEMENTS;
    *p++ = ZSAT_EVBATCH_VERSION;
    p = zsat_mp_put_str (p, source->host, strlen (source->host));
    p = zsat_mp_put_str (p, source->node, strlen (source->node));
    p = zsat_mp_put_uint (p, source->wid);
    p = zsat_mp_put_uint (p, source->pid);
    p = zsat_mp_put_str (p, source->version, strlen (source->version));
    *p = 0xdd;
    self->header_len = (size_t)(p - self->buf) + 5;
    self->len = self->header_len;
    return self;
}

void
zsat_evbatch_destroy (zsat_evbatch_t **self_p)
{
    if (self_p && *self_p) {
        free ((*self_p)->buf);
        free (*self_p);
        *self_p = NULL;
    }
}

//  Invalid records and records beyond a full batch are counted as dropped: never silent.
int
zsat_evbatch_add (zsat_evbatch_t *self, const zsat_event_rec_t *rec)
{
    size_t tlen = strnlen (rec->type, ZSAT_NAME_MAX);
    size_t dlen = strnlen (rec->detail, ZSAT_EVENT_DETAIL_MAX);
    if (self->pending >= self->max_records || rec->event >= ZSAT_EV_COUNT ||
        (tlen > 0 && !zsat_name_valid (rec->type)) || tlen == ZSAT_NAME_MAX ||
        dlen == ZSAT_EVENT_DETAIL_MAX) {
        self->dropped++;
        return -1;
    }
    uint8_t *p = self->buf + self->len;
    *p++ = 0x90 | S_RECORD_ELEMENTS;
    p = zsat_mp_put_uint (p, rec->event);
    p = zsat_mp_put_uint (p, rec->task_id);
    p = zsat_mp_put_uint (p, rec->job_id);
    p = zsat_mp_put_str (p, rec->type, tlen);
    p = zsat_mp_put_uint (p, rec->retry);
    p = zsat_mp_put_uint (p, rec->seq);
    p = zsat_mp_put_int (p, rec->timestamp);
    p = zsat_mp_put_uint (p, rec->flags);
    uint8_t *detail = p + zsat_mp_str_header_size (dlen);
    p = zsat_mp_put_str (p, rec->detail, dlen);
    //  A detail is human text: bytes that would make it invalid UTF-8 become '?'.
    if (!zsat_json_utf8_valid ((const char *)detail, dlen))
        for (size_t i = 0; i < dlen; i++)
            if (detail[i] >= 0x80)
                detail[i] = '?';
    self->len = (size_t)(p - self->buf);
    return (int)++self->pending;
}

int
zsat_evbatch_add_vector (zsat_evbatch_t *self, int event, const zsat_vector_t *v,
                         const char *detail)
{
    zsat_event_rec_t rec;
    rec.event = (uint8_t)(event >= 0 && event < ZSAT_EV_COUNT ? event : ZSAT_EV_COUNT);
    rec.task_id = v->task_id;
    rec.job_id = v->job_id;
    snprintf (rec.type, sizeof rec.type, "%s", v->type);
    rec.retry = v->retry;
    rec.seq = v->seq;
    struct timespec ts;
    clock_gettime (CLOCK_REALTIME, &ts);
    rec.timestamp = (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
    rec.flags = v->flags;
    //  Long details are cut: the reason's start is what a human needs.
    snprintf (rec.detail, sizeof rec.detail, "%s", detail ? detail : "");
    return zsat_evbatch_add (self, &rec);
}

size_t
zsat_evbatch_pending (zsat_evbatch_t *self)
{
    return self->pending;
}

const uint8_t *
zsat_evbatch_body (zsat_evbatch_t *self, size_t *size)
{
    zsat_mp_put_be (self->buf + self->header_len - 4, self->pending, 4);
    *size = self->len;
    return self->buf;
}

int
zsat_evbatch_flush (zsat_evbatch_t *self, void *socket, int flags)
{
    if (self->pending == 0)
        return 0;
    int sent = (int)self->pending;
    size_t size;
    zsat_evbatch_body (self, &size);
    int rc =
        zmq_send (socket, ZSAT_EVBATCH_TOPIC, strlen (ZSAT_EVBATCH_TOPIC), flags | ZMQ_SNDMORE);
    if (rc >= 0)
        rc = zmq_send (socket, self->buf, self->len, flags);
    if (rc < 0)
        self->dropped += self->pending;
    self->pending = 0;
    self->len = self->header_len;
    return rc < 0 ? -1 : sent;
}

uint64_t
zsat_evbatch_dropped (zsat_evbatch_t *self)
{
    return self->dropped;
}

//  --- Decoder ---

static int
s_read_name (zsat_mp_reader_t *r, char *buf, bool optional)
{
    int rc = zsat_mp_read_cstr (r, buf, ZSAT_NAME_MAX);
    if (rc)
        return rc;
    if ((buf[0] || !optional) && !zsat_name_valid (buf))
        return zsat_mp_fail (r, ZSAT_E_FIELD, buf[0] ? "not a valid name" : "empty name");
    return 0;
}

static int
s_read_u32 (zsat_mp_reader_t *r, uint32_t *value)
{
    uint64_t v = 0;
    int rc = zsat_mp_read_uint (r, UINT32_MAX, &v);
    *value = (uint32_t)v;
    return rc;
}

static int
s_read_text (zsat_mp_reader_t *r, char *buf, size_t cap)
{
    int rc = zsat_mp_read_cstr (r, buf, cap);
    if (rc == 0 && !zsat_json_utf8_valid (buf, strlen (buf)))
        return zsat_mp_fail (r, ZSAT_E_FIELD, "text is not valid UTF-8");
    return rc;
}

static int
s_read_record (zsat_mp_reader_t *r, zsat_event_rec_t *rec)
{
    uint32_t count;
    uint64_t event;
    int rc;
    if ((rc = zsat_mp_read_container (r, 'a', &count)))
        return rc;
    if (count != S_RECORD_ELEMENTS)
        return zsat_mp_fail (r, ZSAT_E_FIELD, "record is not an array of 9");
    if ((rc = zsat_mp_read_uint (r, 0xff, &event)))
        return rc;
    if (event >= ZSAT_EV_COUNT)
        return zsat_mp_fail (r, ZSAT_E_FIELD, "unknown event number");
    rec->event = (uint8_t)event;
    if ((rc = zsat_mp_read_uint (r, UINT64_MAX, &rec->task_id)) ||
        (rc = zsat_mp_read_uint (r, UINT64_MAX, &rec->job_id)) ||
        (rc = s_read_name (r, rec->type, true)) || (rc = s_read_u32 (r, &rec->retry)) ||
        (rc = s_read_u32 (r, &rec->seq)) || (rc = zsat_mp_read_int64 (r, &rec->timestamp)) ||
        (rc = s_read_u32 (r, &rec->flags)) ||
        (rc = s_read_text (r, rec->detail, sizeof rec->detail)))
        return rc;
    return 0;
}

static int
s_read_source (zsat_mp_reader_t *r, zsat_event_source_t *source, zsat_error_t *err)
{
    uint32_t count;
    uint64_t version;
    int rc = zsat_mp_read_container (r, 'a', &count);
    if (rc)
        return zsat_fail (err, rc, "event batch: %s", r->why);
    if (count == 0)
        return zsat_fail (err, ZSAT_E_FIELD, "event batch: empty array, no version");
    if ((rc = zsat_mp_read_uint (r, 0xff, &version)))
        return zsat_fail (err, rc, "event batch version: %s", r->why);
    if (version != ZSAT_EVBATCH_VERSION)
        return zsat_fail (err, ZSAT_E_VERSION, "event batch version %u is not %d",
                          (unsigned)version, ZSAT_EVBATCH_VERSION);
    if (count != S_SOURCE_ELEMENTS)
        return zsat_fail (err, ZSAT_E_FIELD, "event batch has %u elements, not %d", count,
                          S_SOURCE_ELEMENTS);
    if ((rc = s_read_name (r, source->host, false)) ||
        (rc = s_read_name (r, source->node, false)) || (rc = s_read_u32 (r, &source->wid)) ||
        (rc = s_read_u32 (r, &source->pid)) ||
        (rc = s_read_text (r, source->version, sizeof source->version)))
        return zsat_fail (err, rc, "event batch source: %s", r->why);
    return 0;
}

int
zsat_evbatch_decode (const uint8_t *data, size_t size, zsat_event_source_t *source,
                     int (*fn) (const zsat_event_rec_t *rec, void *arg), void *arg,
                     zsat_error_t *err)
{
    zsat_mp_reader_t r;
    zsat_mp_reader_init (&r, data, size);
    uint32_t count;
    if (s_read_source (&r, source, err))
        return -1;
    int rc = zsat_mp_read_container (&r, 'a', &count);
    if (rc)
        return zsat_fail (err, rc, "event batch records: %s", r.why);
    if (count > ZSAT_EVBATCH_MAX_RECORDS)
        return zsat_fail (err, ZSAT_E_SIZE, "event batch has %u records, over %d", count,
                          ZSAT_EVBATCH_MAX_RECORDS);
    int delivered = 0;
    for (uint32_t i = 0; i < count; i++) {
        zsat_event_rec_t rec;
        if ((rc = s_read_record (&r, &rec)))
            return zsat_fail (err, rc, "event record %u: %s", i, r.why);
        delivered++;
        if (fn && fn (&rec, arg))
            return delivered;
    }
    if (r.p != r.end)
        return zsat_fail (err, ZSAT_E_SIZE, "%zu trailing bytes after the event batch",
                          zsat_mp_left (&r));
    return delivered;
}

//  --- Selftest ---

typedef struct {
    zsat_event_rec_t rec[8];
    int count;
    int stop_at;
} s_collect_t;

static int
s_collect (const zsat_event_rec_t *rec, void *arg)
{
    s_collect_t *c = (s_collect_t *)arg;
    if (c->count < 8)
        c->rec[c->count] = *rec;
    c->count++;
    return c->count == c->stop_at;
}

static void
s_test_layout (void)
{
    zsat_event_source_t src = {.host = "h", .node = "n", .wid = 1, .pid = 300, .version = "0.1"};
    zsat_evbatch_t *b = zsat_evbatch_new (&src, 4);
    assert (b);
    zsat_event_rec_t rec = {.event = ZSAT_EV_ACK,
                            .task_id = 5,
                            .job_id = 0,
                            .type = "cpu",
                            .retry = 0,
                            .seq = 1,
                            .timestamp = -2,
                            .flags = 0,
                            .detail = ""};
    assert (zsat_evbatch_add (b, &rec) == 1);
    static const uint8_t expected[] = {
        0x97, 0x01, 0xa1, 'h',  0xa1, 'n',  0x01, 0xcd, 0x01, 0x2c, 0xa3, '0',  '.',
        '1',  0xdd, 0x00, 0x00, 0x00, 0x01,  //  array32 count, patched at flush
        0x99, 0x03, 0x05, 0x00, 0xa3, 'c',  'p',  'u',  0x00, 0x01, 0xfe, 0x00, 0xa0};
    zsock_t *pull = zsock_new_pull ("@inproc://zsat-evbatch-layout");
    zsock_t *push = zsock_new_push (">inproc://zsat-evbatch-layout");
    zsock_set_rcvtimeo (pull, 5000);
    assert (zsat_evbatch_flush (b, zsock_resolve (push), 0) == 1);
    zmsg_t *msg = zmsg_recv (pull);
    assert (msg && zmsg_size (msg) == 2);
    char *topic = zmsg_popstr (msg);
    assert (streq (topic, "zsat.ev"));
    zstr_free (&topic);
    zframe_t *body = zmsg_first (msg);
    assert (zframe_size (body) == sizeof expected);
    assert (memcmp (zframe_data (body), expected, sizeof expected) == 0);
    zmsg_destroy (&msg);
    zsock_destroy (&push);
    zsock_destroy (&pull);
    zsat_evbatch_destroy (&b);
    zsat_evbatch_destroy (&b);
}

static void
s_test_sockets (void)
{
    zsat_event_source_t src = {.wid = UINT32_MAX, .pid = 4242, .version = ZSAT_VERSION};
    memset (src.host, 'h', ZSAT_NAME_MAX - 1);
    strcpy (src.node, "orchester");
    zsat_evbatch_t *b = zsat_evbatch_new (&src, 3);
    assert (b && zsat_evbatch_pending (b) == 0);
    zsat_vector_t v;
    zsat_vector_init (&v);
    v.task_id = UINT64_MAX;
    v.job_id = 77;
    v.seq = 9;
    v.retry = 2;
    v.flags = ZSAT_FLAG_CRITICAL;
    memset (v.type, 't', ZSAT_NAME_MAX - 1);
    char detail[300];
    memset (detail, 'd', sizeof detail - 1);
    detail[sizeof detail - 1] = 0;
    assert (zsat_evbatch_add_vector (b, ZSAT_EV_BEGIN, &v, NULL) == 1);
    assert (zsat_evbatch_add_vector (b, ZSAT_EV_ERROR, &v, detail) == 2);
    zsat_event_rec_t hb = {
        .event = ZSAT_EV_HEARTBEAT, .timestamp = INT64_MIN, .detail = "in=1 out=2 \xff"};
    assert (zsat_evbatch_add (b, &hb) == 3);
    assert (zsat_evbatch_add (b, &hb) == -1 && zsat_evbatch_dropped (b) == 1);  //  full
    zsock_t *pull = zsock_new_pull ("@inproc://zsat-evbatch-test");
    zsock_t *push = zsock_new_push (">inproc://zsat-evbatch-test");
    zsock_set_rcvtimeo (pull, 5000);
    assert (zsat_evbatch_flush (b, zsock_resolve (push), ZMQ_DONTWAIT) == 3);
    assert (zsat_evbatch_pending (b) == 0 && zsat_evbatch_flush (b, zsock_resolve (push), 0) == 0);
    zmsg_t *msg = zmsg_recv (pull);
    assert (msg && zmsg_size (msg) == 2);
    zframe_t *body = zmsg_last (msg);
    zsat_event_source_t got;
    s_collect_t c = {.count = 0, .stop_at = -1};
    zsat_error_t err;
    int n = zsat_evbatch_decode (zframe_data (body), zframe_size (body), &got, s_collect, &c, &err);
    assert (n == 3 && c.count == 3);
    assert (streq (got.host, src.host) && streq (got.node, "orchester") && got.wid == UINT32_MAX);
    assert (got.pid == 4242 && streq (got.version, ZSAT_VERSION));
    assert (c.rec[0].event == ZSAT_EV_BEGIN && c.rec[0].task_id == UINT64_MAX);
    assert (c.rec[0].job_id == 77 && streq (c.rec[0].type, v.type) && c.rec[0].seq == 9);
    assert (c.rec[0].retry == 2 && c.rec[0].flags == ZSAT_FLAG_CRITICAL && c.rec[0].timestamp > 0);
    assert (strlen (c.rec[1].detail) == ZSAT_EVENT_DETAIL_MAX - 1);
    assert (c.rec[2].timestamp == INT64_MIN && streq (c.rec[2].detail, "in=1 out=2 ?"));
    c.count = 0;
    c.stop_at = 2;  //  fn stops the walk
    n = zsat_evbatch_decode (zframe_data (body), zframe_size (body), &got, s_collect, &c, &err);
    assert (n == 2);
    zmsg_destroy (&msg);
    //  A socket with no peer refuses under DONTWAIT: the batch is dropped and counted.
    zsock_t *lonely = zsock_new_push ("@inproc://zsat-evbatch-nobody");
    assert (zsat_evbatch_add (b, &hb) == 1 && zsat_evbatch_add (b, &hb) == 2);
    assert (zsat_evbatch_flush (b, zsock_resolve (lonely), ZMQ_DONTWAIT) == -1);
    assert (zsat_evbatch_dropped (b) == 3 && zsat_evbatch_pending (b) == 0);
    zsock_destroy (&lonely);
    zsock_destroy (&push);
    zsock_destroy (&pull);
    zsat_evbatch_destroy (&b);
    src.host[0] = 0;
    assert (zsat_evbatch_new (&src, 3) == NULL);
    strcpy (src.host, "h");
    assert (zsat_evbatch_new (&src, 0) == NULL);
    assert (zsat_evbatch_new (&src, ZSAT_EVBATCH_MAX_RECORDS + 1) == NULL);
}

typedef struct {
    const char *what;
    const char *data;
    size_t size;
    int expect;
} s_hostile_t;

#define S_HEAD "\x97\x01\xa1h\xa1n\x01\x02\xa0"
#define S_H(what, data, expect)                                                                    \
    {                                                                                              \
        what, data, sizeof (data) - 1, expect                                                      \
    }
static const s_hostile_t s_hostile[] = {
    S_H ("empty", "", ZSAT_E_TRUNCATED),
    S_H ("map", "\x80", ZSAT_E_TYPE),
    S_H ("version 2", "\x97\x02\xa1h\xa1n\x01\x02\xa0\x90", ZSAT_E_VERSION),
    S_H ("6 elements", "\x96\x01\xa1h\xa1n\x01\x02\xa0", ZSAT_E_FIELD),
    S_H ("host empty", "\x97\x01\xa0\xa1n\x01\x02\xa0\x90", ZSAT_E_FIELD),
    S_H ("wid negative", "\x97\x01\xa1h\xa1n\xff\x02\xa0\x90", ZSAT_E_TYPE),
    S_H ("version 16 bytes", "\x97\x01\xa1h\xa1n\x01\x02\xb0xxxxxxxxxxxxxxxx\x90", ZSAT_E_SIZE),
    S_H ("records not array", S_HEAD "\xc0", ZSAT_E_TYPE),
    S_H ("array32 of 4G records", S_HEAD "\xdd\xff\xff\xff\xff", ZSAT_E_DEPTH),
    S_H ("record of 8", S_HEAD "\x91\x98\x01\x01\x01\xa0\x01\x01\x01\x01", ZSAT_E_FIELD),
    S_H ("record event 99", S_HEAD "\x91\x99\x63\x01\x01\xa0\x01\x01\x01\x01\xa0", ZSAT_E_FIELD),
    S_H ("record type bad", S_HEAD "\x91\x99\x01\x01\x01\xa1/\x01\x01\x01\x01\xa0", ZSAT_E_FIELD),
    S_H ("record detail int", S_HEAD "\x91\x99\x01\x01\x01\xa0\x01\x01\x01\x01\x01", ZSAT_E_TYPE),
    S_H ("record truncated", S_HEAD "\x91\x99\x01\x01\x01\xa0\x01\x01\x01\x01\xa2x",
         ZSAT_E_TRUNCATED),
    S_H ("trailing", S_HEAD "\x90\x00", ZSAT_E_SIZE),
};

static void
s_test_hostile (bool verbose)
{
    zsat_event_source_t src;
    zsat_error_t err;
    for (size_t i = 0; i < sizeof s_hostile / sizeof s_hostile[0]; i++) {
        const s_hostile_t *h = &s_hostile[i];
        err.code = 0;
        int rc = zsat_evbatch_decode ((const uint8_t *)h->data, h->size, &src, NULL, NULL, &err);
        if (verbose || rc != -1 || err.code != h->expect)
            printf ("\n   hostile '%s': rc=%d code=%d (want %d) %s", h->what, rc, err.code,
                    h->expect, err.text);
        assert (rc == -1 && err.code == h->expect);
    }
    assert (zsat_evbatch_decode (NULL, 0, &src, NULL, NULL, &err) == -1);
    //  More records than a decoder takes, with the bytes to back the count.
    size_t size = sizeof S_HEAD - 1 + 5 + 2000;
    uint8_t *big = calloc (1, size);
    memcpy (big, S_HEAD, sizeof S_HEAD - 1);
    memcpy (big + sizeof S_HEAD - 1, "\xdd\x00\x00\x04\x01", 5);
    assert (zsat_evbatch_decode (big, size, &src, NULL, NULL, &err) == -1);
    assert (err.code == ZSAT_E_SIZE);
    free (big);
    assert (zsat_evbatch_decode ((const uint8_t *)S_HEAD "\x90", sizeof S_HEAD, &src, NULL, NULL,
                                 &err) == 0);
}

void
zsat_evbatch_test (bool verbose)
{
    printf (" * zsat_evbatch: ");
    s_test_layout ();
    s_test_sockets ();
    s_test_hostile (verbose);
    printf ("OK\n");
}
