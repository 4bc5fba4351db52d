/*  zsat_bufclient - producer and consumer ends of the buffer node protocol
    (zsat_bufclient.h, docs/buffer.md). Each object owns one DEALER socket.
*/
#include "zsat_bufclient.h"
#include "zsat_curve.h"
#include <errno.h>
#include <unistd.h>

typedef struct {
    uint64_t id;
    int64_t sent_at;  //  zclock_mono () of the last attempt
    bool sent;        //  the last attempt was taken by a connection (ZMQ_IMMEDIATE)
    uint64_t epoch;   //  the producer's disconnect count at that send
    zmsg_t *msg;      //  ["PUT <id> <producer>", routing, envelope, payload], until answered
} unanswered_t;

//  A copy handed to a connection that did not drop is not re-sent before this many resend
//  periods: it is on its way (or its answer is); only an answer lost while connected (the
//  node's queue to us was full) needs this safety net.
#define RESEND_CONNECTED 10

struct zsat_bufproducer_t {
    zsock_t *sock;
    zsock_t *monitor;          //  PAIR receiving the DEALER's disconnect events
    uint64_t epoch;            //  disconnects seen: a copy sent before one may be lost
    char name[ZSAT_NAME_MAX];  //  this producer, unique per process and start: the node's dedup key
    int window;
    int64_t resend_ms;
    uint64_t next_id;
    zhashx_t *unanswered;  //  id (decimal) -> unanswered_t
    zlist_t *answers;      //  zsat_bufreply_t * taken while send waited for room
    int64_t resend_check;  //  zclock_mono () of the next scan for vectors to re-send
    uint64_t resent;
};

struct zsat_bufconsumer_t {
    zsock_t *sock;
    char name[ZSAT_NAME_MAX];
    zmsg_t *last;      //  the record handed out last
    int64_t heard_at;  //  zclock_mono () of the last message from the node
    int64_t hello_at;
    char denied[256];  //  the node's DENIED reason, "" when welcome
};

static zsock_t *
s_dealer (const char *endpoint, bool immediate, zsat_error_t *err)
{
    zsock_t *sock = zsock_new (ZMQ_DEALER);
    if (!sock) {
        zsat_fail (err, ZSAT_E_IO, "cannot create a socket");
        return NULL;
    }
    zsock_set_linger (sock, 0);  //  nothing is lost at close: unanswered vectors are re-sent
    zsock_set_sndhwm (sock, 100000);
    zsock_set_rcvhwm (sock, 100000);
    zsock_set_maxmsgsize (sock, ZSAT_PAYLOAD_MAX + 64 * 1024);
    //  A node killed with -9 is noticed and reconnected to promptly.
    zsock_set_heartbeat_ivl (sock, 1000);
    zsock_set_heartbeat_timeout (sock, 5000);
    zsock_set_reconnect_ivl (sock, 100);
    //  Producer: queue only to a connection that completed its handshake, so while the node
    //  is away a send fails at once instead of piling copies into a pipe nobody reads.
    //  (Before the connect: it applies to the connections made after it is set.)
    if (immediate)
        zsock_set_immediate (sock, 1);
    if (zsat_curve_apply (sock, NULL, endpoint, ZSAT_CURVE_CLIENT) != 0 ||
        zsock_connect (sock, "%s", endpoint) < 0) {
        zsat_fail (err, ZSAT_E_IO, "cannot connect %s: %s", endpoint, zmq_strerror (zmq_errno ()));
        zsock_destroy (&sock);
    }
    return sock;
}

static void
s_unanswered_free (void **item)
{
    unanswered_t *u = *item;
    if (u) {
        zmsg_destroy (&u->msg);
        free (u);
        *item = NULL;
    }
}

//  Watches the DEALER for disconnects, the only moment a sent copy can be lost.
static int
s_monitor (zsat_bufproducer_t *self)
{
    char endpoint[64];
    snprintf (endpoint, sizeof endpoint, "inproc://zsat-bufproducer-%p", (void *)self);
    if (zmq_socket_monitor (zsock_resolve (self->sock), endpoint, ZMQ_EVENT_DISCONNECTED) != 0)
        return -1;
    self->monitor = zsock_new (ZMQ_PAIR);
    if (!self->monitor || zsock_connect (self->monitor, "%s", endpoint) != 0)
        return -1;
    zsock_set_rcvtimeo (self->monitor, 0);
    return 0;
}

static void
s_monitor_drain (zsat_bufproducer_t *self)
{
    zmsg_t *event;
    for (int i = 0; i < 1000 && self->monitor && (event = zmsg_recv (self->monitor)); i++) {
        self->epoch++;
        zmsg_destroy (&event);
    }
}

zsat_bufproducer_t *
zsat_bufproducer_new (const char *endpoint, int window, int64_t resend_ms, zsat_error_t *err)
{
    zsat_bufproducer_t *self = calloc (1, sizeof *self);
    if (!self)
        return NULL;
    snprintf (self->name, sizeof self->name, "p%x-%" PRIx64, (unsigned)getpid (),
              (uint64_t)zclock_usecs ());
    self->sock = s_dealer (endpoint, true, err);
    if (self->sock && s_monitor (self)) {
        zsat_fail (err, ZSAT_E_IO, "cannot monitor the producer socket");
        zsock_destroy (&self->sock);
    }
    self->window = window > 0 ? window : 1;
    self->resend_ms = resend_ms > 0 ? resend_ms : 1000;
    self->next_id = 1;
    self->unanswered = zhashx_new ();
    zhashx_set_destructor (self->unanswered, s_unanswered_free);
    self->answers = zlist_new ();
    if (!self->sock)
        zsat_bufproducer_destroy (&self);
    return self;
}

void
zsat_bufproducer_destroy (zsat_bufproducer_t **self_p)
{
    zsat_bufproducer_t *self = *self_p;
    if (!self)
        return;
    zhashx_destroy (&self->unanswered);
    zsat_bufreply_t *kept;
    while (self->answers && (kept = zlist_pop (self->answers)))
        free (kept);
    zlist_destroy (&self->answers);
    if (self->sock && self->monitor)
        zmq_socket_monitor (zsock_resolve (self->sock), NULL, 0);
    zsock_destroy (&self->monitor);
    zsock_destroy (&self->sock);
    free (self);
    *self_p = NULL;
}

//  Sends a copy of u's message without blocking: at HWM it stays unanswered and goes again
//  at the next re-send. Returns 0 or -1.
static int
s_send_copy (zsat_bufproducer_t *self, unanswered_t *u)
{
    void *sock = zsock_resolve (self->sock);
    u->sent_at = zclock_mono ();
    u->sent = false;
    size_t left = zmsg_size (u->msg);
    //  Once the first frame is taken, ZeroMQ takes the whole message.
    for (zframe_t *f = zmsg_first (u->msg); f; f = zmsg_next (u->msg)) {
        int flags = --left ? ZMQ_SNDMORE : 0;
        if (zmq_send (sock, zframe_data (f), zframe_size (f), flags | ZMQ_DONTWAIT) < 0)
            return -1;
    }
    u->sent = true;
    u->epoch = self->epoch;
    return 0;
}

static void
s_resend_old (zsat_bufproducer_t *self)
{
    int64_t now = zclock_mono ();
    //  A scan walks every unanswered vector: a few per re-send period is enough.
    if (now < self->resend_check)
        return;
    self->resend_check = now + (self->resend_ms / 4 > 10 ? self->resend_ms / 4 : 10);
    s_monitor_drain (self);
    //  Re-send only what cannot be on its way: never taken by a connection, or sent on one
    //  that dropped since (a killed node, a heartbeat timeout). At most one extra copy.
    for (unanswered_t *u = zhashx_first (self->unanswered); u; u = zhashx_next (self->unanswered)) {
        bool lost = !u->sent || u->epoch != self->epoch;
        int64_t wait = lost ? 0 : self->resend_ms * RESEND_CONNECTED;
        if (now - u->sent_at < wait || (lost && !u->sent && now - u->sent_at < self->resend_ms / 4))
            continue;
        bool again = u->sent;
        if (s_send_copy (self, u) == 0 && again)
            self->resent++;
    }
}

static int s_poll (zsat_bufproducer_t *self, int timeout_ms, zsat_bufreply_t *reply);

int64_t
zsat_bufproducer_send (zsat_bufproducer_t *self, const void *routing, size_t routing_size,
                       const void *envelope, size_t envelope_size, const void *payload,
                       size_t payload_size, int timeout_ms, zsat_error_t *err)
{
    int64_t deadline = zclock_mono () + timeout_ms;
    zsat_bufreply_t reply;
    while (zhashx_size (self->unanswered) >= (size_t)self->window) {
        int64_t left = deadline - zclock_mono ();
        if (left <= 0) {
            zsat_fail (err, ZSAT_E_IO, "window of %d vectors awaiting STORED is full",
                       self->window);
            return 0;
        }
        int rc = s_poll (self, (int)left, &reply);
        if (rc < 0)
            return zsat_fail (err, ZSAT_E_IO, "interrupted");
        zsat_bufreply_t *kept = rc == 1 ? malloc (sizeof *kept) : NULL;
        if (kept) {  //  kept for the caller's next zsat_bufproducer_poll
            *kept = reply;
            zlist_append (self->answers, kept);
        }
    }
    unanswered_t *u = calloc (1, sizeof *u);
    u->id = self->next_id++;
    u->msg = zmsg_new ();
    zmsg_addstrf (u->msg, "PUT %" PRIu64 " %s", u->id, self->name);
    zmsg_addmem (u->msg, routing, routing_size);
    zmsg_addmem (u->msg, envelope, envelope_size);
    zmsg_addmem (u->msg, payload, payload_size);
    char key[24];
    snprintf (key, sizeof key, "%" PRIu64, u->id);
    zhashx_insert (self->unanswered, key, u);
    s_send_copy (self, u);
    return (int64_t)u->id;
}

//  Parses "STORED <id> <seq>" or "REFUSED <id> <reason>". Returns 0 or -1.
static int
s_parse_reply (const char *text, zsat_bufreply_t *reply)
{
    memset (reply, 0, sizeof *reply);
    int used = 0;
    if (sscanf (text, "STORED %" SCNu64 " %" SCNu64, &reply->id, &reply->seq) == 2) {
        reply->stored = true;
        return 0;
    }
    if (sscanf (text, "REFUSED %" SCNu64 " %n", &reply->id, &used) == 1 && used > 0) {
        snprintf (reply->reason, sizeof reply->reason, "%s", text + used);
        return 0;
    }
    return -1;
}

static int
s_poll (zsat_bufproducer_t *self, int timeout_ms, zsat_bufreply_t *reply)
{
    int64_t deadline = zclock_mono () + timeout_ms;
    while (true) {
        s_resend_old (self);
        int64_t left = deadline - zclock_mono ();
        int wait = (int)(left < self->resend_ms ? left : self->resend_ms);
        zmq_pollitem_t item = {zsock_resolve (self->sock), 0, ZMQ_POLLIN, 0};
        int rc = zmq_poll (&item, 1, wait > 0 ? wait : 0);
        if (rc < 0)
            return -1;
        if (rc == 0 && left <= 0)
            return 0;
        if (rc == 0)
            continue;
        char *text = zstr_recv (self->sock);
        char key[24];
        bool ok = text && s_parse_reply (text, reply) == 0;
        zstr_free (&text);
        snprintf (key, sizeof key, "%" PRIu64, ok ? reply->id : 0);
        //  A duplicate answer (a re-sent vector stored twice) finds nothing: skip it.
        if (ok && zhashx_lookup (self->unanswered, key)) {
            zhashx_delete (self->unanswered, key);
            return 1;
        }
    }
}

int
zsat_bufproducer_poll (zsat_bufproducer_t *self, int timeout_ms, zsat_bufreply_t *reply)
{
    zsat_bufreply_t *kept = zlist_pop (self->answers);
    if (kept) {
        *reply = *kept;
        free (kept);
        return 1;
    }
    return s_poll (self, timeout_ms, reply);
}

size_t
zsat_bufproducer_pending (zsat_bufproducer_t *self)
{
    return zhashx_size (self->unanswered);
}

uint64_t
zsat_bufproducer_resent (zsat_bufproducer_t *self)
{
    return self->resent;
}

//  --- Consumer ---

static void
s_hello (zsat_bufconsumer_t *self)
{
    zstr_sendf (self->sock, "HELLO %s", self->name);
    self->hello_at = zclock_mono ();
}

zsat_bufconsumer_t *
zsat_bufconsumer_new (const char *endpoint, const char *name, zsat_error_t *err)
{
    if (!zsat_name_valid (name)) {
        zsat_fail (err, ZSAT_E_FIELD, "invalid consumer name '%.64s'", name);
        return NULL;
    }
    zsat_bufconsumer_t *self = calloc (1, sizeof *self);
    if (!self)
        return NULL;
    snprintf (self->name, sizeof self->name, "%s", name);
    self->sock = s_dealer (endpoint, false, err);
    if (!self->sock) {
        free (self);
        return NULL;
    }
    s_hello (self);
    self->heard_at = zclock_mono ();
    return self;
}

void
zsat_bufconsumer_destroy (zsat_bufconsumer_t **self_p)
{
    zsat_bufconsumer_t *self = *self_p;
    if (!self)
        return;
    zmsg_destroy (&self->last);
    zsock_destroy (&self->sock);
    free (self);
    *self_p = NULL;
}

//  Fills rec from ["REC <seq> <flags>", routing, envelope, payload]. Returns 0 or -1.
static int
s_parse_record (zmsg_t *msg, zsat_bufrecord_t *rec)
{
    zframe_t *head = zmsg_first (msg);
    char text[64];
    if (!head || zmsg_size (msg) != 4 || zframe_size (head) >= sizeof text)
        return -1;
    memcpy (text, zframe_data (head), zframe_size (head));
    text[zframe_size (head)] = 0;
    if (sscanf (text, "REC %" SCNu64 " %" SCNu32, &rec->seq, &rec->flags) != 2)
        return -1;
    for (int i = 0; i < 3; i++) {
        zframe_t *f = zmsg_next (msg);
        rec->frame[i] = zframe_data (f);
        rec->frame_size[i] = zframe_size (f);
    }
    return 0;
}

int
zsat_bufconsumer_recv (zsat_bufconsumer_t *self, int timeout_ms, zsat_bufrecord_t *rec)
{
    int64_t deadline = zclock_mono () + timeout_ms;
    zmsg_destroy (&self->last);
    while (true) {
        //  Silence for a second: the node may have restarted and forgotten this connection.
        int64_t now = zclock_mono ();
        if (now - self->heard_at >= 1000 && now - self->hello_at >= 1000)
            s_hello (self);
        int64_t left = deadline - now;
        zmq_pollitem_t item = {zsock_resolve (self->sock), 0, ZMQ_POLLIN, 0};
        int rc = zmq_poll (&item, 1, left > 200 ? 200 : left > 0 ? (int)left : 0);
        if (rc < 0)
            return -1;
        if (rc == 0 && left <= 0)
            return 0;
        if (rc == 0)
            continue;
        zmsg_t *msg = zmsg_recv (self->sock);
        if (!msg)
            return -1;
        self->heard_at = zclock_mono ();
        if (s_parse_record (msg, rec) == 0) {
            self->last = msg;
            return 1;
        }
        char *text = zmsg_popstr (msg);
        if (text && strncmp (text, "DENIED ", 7) == 0)
            snprintf (self->denied, sizeof self->denied, "%s", text + 7);
        else if (text && strncmp (text, "WELCOME ", 8) == 0)
            self->denied[0] = 0;
        zstr_free (&text);
        zmsg_destroy (&msg);
    }
}

const char *
zsat_bufconsumer_denied (zsat_bufconsumer_t *self)
{
    return self->denied[0] ? self->denied : NULL;
}

int
zsat_bufconsumer_ack (zsat_bufconsumer_t *self, uint64_t seq)
{
    return zstr_sendf (self->sock, "ACK %s %" PRIu64, self->name, seq);
}

void
zsat_bufclient_test (bool verbose)
{
    printf (" * zsat_bufclient: ");
    //  A producer against a plain ROUTER standing in for the node's answers.
    zsock_t *router = zsock_new_router ("inproc://bufclient-test");
    zsat_error_t err;
    zsat_bufproducer_t *p = zsat_bufproducer_new ("inproc://bufclient-test", 2, 100, &err);
    assert (p);
    assert (zsat_bufproducer_send (p, "a/b", 3, "e", 1, "payload", 7, 1000, &err) == 1);
    assert (zsat_bufproducer_send (p, "a/b", 3, "e", 1, "payload", 7, 1000, &err) == 2);
    assert (zsat_bufproducer_send (p, "a/b", 3, "e", 1, "x", 1, 50, &err) == 0);  //  full
    zmsg_t *msg = zmsg_recv (router);
    assert (zmsg_size (msg) == 5);
    zframe_t *identity = zmsg_pop (msg);
    char *put = zmsg_popstr (msg);
    assert (strncmp (put, "PUT 1 p", 7) == 0);
    zstr_free (&put);
    zmsg_destroy (&msg);
    zframe_send (&identity, router, ZFRAME_MORE | ZFRAME_REUSE);
    zstr_send (router, "STORED 1 41");
    zframe_send (&identity, router, ZFRAME_MORE | ZFRAME_REUSE);
    zstr_send (router, "REFUSED 2 disk limit reached");
    zsat_bufreply_t reply;
    assert (zsat_bufproducer_poll (p, 1000, &reply) == 1 && reply.stored && reply.seq == 41);
    assert (zsat_bufproducer_poll (p, 1000, &reply) == 1 && !reply.stored && reply.id == 2);
    assert (streq (reply.reason, "disk limit reached"));
    assert (zsat_bufproducer_pending (p) == 0);
    //  An unanswered vector on a connection that stays up is sent again only after
    //  RESEND_CONNECTED periods (its answer may have been lost), not every period.
    assert (zsat_bufproducer_send (p, "a/b", 3, "e", 1, "y", 1, 1000, &err) == 3);
    assert (zsat_bufproducer_poll (p, 500, &reply) == 0);
    assert (zsat_bufproducer_resent (p) == 0 && zsat_bufproducer_pending (p) == 1);
    assert (zsat_bufproducer_poll (p, 1000, &reply) == 0);
    assert (zsat_bufproducer_resent (p) >= 1 && zsat_bufproducer_pending (p) == 1);
    zframe_destroy (&identity);
    zsat_bufproducer_destroy (&p);
    zsock_destroy (&router);
    //  Nobody listening: nothing piles up (ZMQ_IMMEDIATE), and once a node binds each
    //  vector arrives once, not once per period that passed.
    char ipc[64];
    snprintf (ipc, sizeof ipc, "ipc:///tmp/zsat-bufclient-test-%d.ipc", (int)getpid ());
    p = zsat_bufproducer_new (ipc, 8, 100, &err);
    assert (p);
    for (int i = 0; i < 3; i++)
        assert (zsat_bufproducer_send (p, "a/b", 3, "e", 1, "z", 1, 1000, &err) == i + 1);
    assert (zsat_bufproducer_poll (p, 600, &reply) == 0 && zsat_bufproducer_resent (p) == 0);
    router = zsock_new_router (ipc);
    assert (router);
    zsock_set_rcvtimeo (router, 10);
    int copies = 0;
    for (int turn = 0; turn < 12; turn++) {  //  bounded: 12 x (poll 50 ms + recv 10 ms)
        zsat_bufproducer_poll (p, 50, &reply);
        while ((msg = zmsg_recv (router))) {
            copies++;
            zmsg_destroy (&msg);
        }
    }
    //  The old re-send every period gave ~7 copies each here; a machine slow enough to pass
    //  the safety net (10 periods) may add one.
    assert (copies >= 3 && copies <= 6);
    zsat_bufproducer_destroy (&p);
    zsock_destroy (&router);
    unlink (ipc + 6);
    if (verbose)
        printf ("(window, STORED/REFUSED, re-send) ");
    printf ("OK\n");
}
