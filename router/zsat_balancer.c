/*  zsat_balancer - the ROUTER/DEALER load balancer actor (protocol in zsat_balancer.h).

    Owns two ROUTER sockets: frontend (clients) and backend (workers). Written from the
    behaviour zguide describes for its load-balancing broker: workers queue up as ready, a
    request goes to the one ready longest, a reply makes its worker ready again, and the
    frontend is only read while a worker is ready, so excess requests wait in the clients'
    queues (bounded by HWM) instead of in this process.
*/
#include "zsat_balancer.h"
#include "zsat_curve.h"
#include <errno.h>

#define WORKERS_MAX 1024
#define HELD_MAX    64  //  requests in hand when every ready worker proved gone

typedef struct {
    zframe_t *identity;
    bool busy;
    uint64_t ready_seq;  //  when it became ready: the smallest is served first
    int64_t expiry;      //  zclock_mono () after which it is dead
} worker_t;

typedef struct {
    zsock_t *pipe, *frontend, *backend;
    int64_t heartbeat_ms, liveness;
    worker_t worker[WORKERS_MAX];
    size_t worker_count;
    uint64_t ready_clock;
    zlist_t *held;  //  zmsg_t *: requests whose chosen worker had gone
    bool terminated;
    uint64_t requests, replies, lost, dead, late, unroutable, bad;
} self_t;

static zsock_t *
s_router (const char *endpoint, char *why, size_t why_size)
{
    zsock_t *sock = zsock_new (ZMQ_ROUTER);
    if (!sock) {
        snprintf (why, why_size, "cannot create a socket");
        return NULL;
    }
    //  Replies and requests in flight are worth a moment to drain at $TERM.
    zsock_set_linger (sock, 1000);
    //  Bounded memory; beyond it ROUTER drops (mandatory: fails, counted as unroutable).
    zsock_set_sndhwm (sock, 100000);
    zsock_set_rcvhwm (sock, 100000);
    zsock_set_maxmsgsize (sock, ZSAT_PAYLOAD_MAX + 64 * 1024);
    //  A vanished peer must fail a send (EHOSTUNREACH), never swallow it silently.
    zsock_set_router_mandatory (sock, 1);
    //  With mandatory set, a full queue would block the send: a client that stops reading
    //  must not stall every other one, so the send fails instead (counted unroutable).
    zsock_set_sndtimeo (sock, 0);
    //  The transport notices a frozen peer; workers are also judged by their own heartbeats.
    zsock_set_heartbeat_ivl (sock, 1000);
    zsock_set_heartbeat_timeout (sock, 5000);
    if (!endpoint || zsat_curve_apply (sock, NULL, endpoint, ZSAT_CURVE_SERVER) ||
        zsock_attach (sock, endpoint, true) < 0) {
        snprintf (why, why_size, "cannot attach %s: %s", endpoint ? endpoint : "(null)",
                  zmq_strerror (zmq_errno ()));
        zsock_destroy (&sock);
    }
    return sock;
}

static worker_t *
s_worker_find (self_t *self, zframe_t *identity)
{
    for (size_t i = 0; i < self->worker_count; i++)
        if (zframe_eq (self->worker[i].identity, identity))
            return &self->worker[i];
    return NULL;
}

//  Adds a worker; takes identity. Returns NULL (identity destroyed) when the table is full.
static worker_t *
s_worker_add (self_t *self, zframe_t **identity_p)
{
    if (self->worker_count == WORKERS_MAX) {
        zframe_destroy (identity_p);
        return NULL;
    }
    worker_t *w = &self->worker[self->worker_count++];
    w->identity = *identity_p;
    *identity_p = NULL;
    w->busy = true;  //  s_worker_ready makes it ready
    return w;
}

static void
s_worker_remove (self_t *self, worker_t *w)
{
    zframe_destroy (&w->identity);
    *w = self->worker[--self->worker_count];
}

static void
s_worker_ready (self_t *self, worker_t *w)
{
    w->busy = false;
    w->ready_seq = ++self->ready_clock;
}

//  The ready worker waiting longest, or NULL.
static worker_t *
s_worker_next (self_t *self)
{
    worker_t *best = NULL;
    for (size_t i = 0; i < self->worker_count; i++) {
        worker_t *w = &self->worker[i];
        if (!w->busy && (!best || w->ready_seq < best->ready_seq))
            best = w;
    }
    return best;
}

//  Sends one request to the ready worker waiting longest; a worker whose connection is gone
//  is removed and the next one tried. Returns 0, or -1 with the request still the caller's.
static int
s_dispatch (self_t *self, zmsg_t **request_p)
{
    worker_t *w;
    while ((w = s_worker_next (self))) {
        zmsg_t *copy = zmsg_dup (*request_p);
        zmsg_pushmem (copy, zframe_data (w->identity), zframe_size (w->identity));
        if (zmsg_send (&copy, self->backend) == 0) {
            w->busy = true;
            zmsg_destroy (request_p);
            return 0;
        }
        zmsg_destroy (&copy);
        self->dead++;
        s_worker_remove (self, w);
    }
    return -1;
}

//  True when the message is an envelope: at least one routing frame, then an empty frame.
static bool
s_has_envelope (zmsg_t *msg)
{
    zframe_t *frame = zmsg_first (msg);
    for (size_t i = 0; frame; i++, frame = zmsg_next (msg))
        if (zframe_size (frame) == 0)
            return i > 0 && zmsg_next (msg) != NULL;
    return false;
}

static void
s_send_held (self_t *self)
{
    zmsg_t *request;
    while (s_worker_next (self) && (request = (zmsg_t *)zlist_pop (self->held)))
        if (s_dispatch (self, &request)) {
            zlist_push (self->held, request);
            break;
        }
}

static void
s_client (self_t *self)
{
    zmsg_t *request = zmsg_recv (self->frontend);
    if (!request)
        return;
    if (!s_has_envelope (request)) {
        self->bad++;  //  a DEALER client that forgot the empty delimiter frame
        zmsg_destroy (&request);
        return;
    }
    self->requests++;
    if (s_dispatch (self, &request) == 0)
        return;
    if (zlist_size (self->held) < HELD_MAX)
        zlist_append (self->held, request);
    else {
        self->lost++;  //  cannot happen while the frontend is read only with a worker ready
        zmsg_destroy (&request);
    }
}

//  A reply goes back to its client and makes the worker ready again; a reply from a worker
//  already removed as dead still reaches its client (counted late) and the worker re-joins.
static void
s_reply (self_t *self, worker_t *w, zframe_t **identity_p, zmsg_t **reply_p)
{
    if (!w) {
        self->late++;
        if ((w = s_worker_add (self, identity_p)))
            w->expiry = zclock_mono () + self->heartbeat_ms * self->liveness;
    }
    else if (!w->busy)
        self->bad++;  //  a reply nobody asked for: still delivered, its client may wait
    if (w)
        s_worker_ready (self, w);
    self->replies++;
    if (zmsg_send (reply_p, self->frontend) < 0) {
        self->unroutable++;  //  the client left before its answer, or stopped reading
        zmsg_destroy (reply_p);
    }
}

static void
s_worker_message (self_t *self)
{
    zmsg_t *msg = zmsg_recv (self->backend);
    if (!msg)
        return;
    zframe_t *identity = zmsg_pop (msg);
    worker_t *w = identity ? s_worker_find (self, identity) : NULL;
    if (w)
        w->expiry = zclock_mono () + self->heartbeat_ms * self->liveness;
    zframe_t *first = zmsg_first (msg);
    if (identity && zmsg_size (msg) == 1 && zframe_streq (first, "READY")) {
        if (w && w->busy)
            self->lost++;  //  it restarted under the same identity: its request is gone
        if (!w && (w = s_worker_add (self, &identity)))
            w->expiry = zclock_mono () + self->heartbeat_ms * self->liveness;
        if (w)
            s_worker_ready (self, w);
        else
            self->bad++;  //  the worker table is full: refused, counted
    }
    else if (identity && zmsg_size (msg) == 1 && zframe_streq (first, "HEARTBEAT")) {
        if (!w) {
            //  Removed as dead but alive: tell it to re-announce rather than ignore it.
            zmsg_t *unknown = zmsg_new ();
            zmsg_append (unknown, &identity);
            zmsg_addstr (unknown, "UNKNOWN");
            if (zmsg_send (&unknown, self->backend) < 0)
                zmsg_destroy (&unknown);
        }
    }
    else if (identity && s_has_envelope (msg))
        s_reply (self, w, &identity, &msg);
    else
        self->bad++;
    zframe_destroy (&identity);
    zmsg_destroy (&msg);
    s_send_held (self);
}

//  Removes every worker silent past its expiry; a request it held is counted lost.
static void
s_reap (self_t *self)
{
    int64_t now = zclock_mono ();
    for (size_t i = 0; i < self->worker_count;) {
        worker_t *w = &self->worker[i];
        if (now < w->expiry) {
            i++;
            continue;
        }
        self->lost += w->busy;
        self->dead++;
        s_worker_remove (self, w);
    }
}

static void
s_command (self_t *self)
{
    char *command = zstr_recv (self->pipe);
    if (!command) {
        self->terminated = true;
        return;
    }
    if (streq (command, "$TERM"))
        self->terminated = true;
    else if (streq (command, "STATS")) {
        size_t ready = 0;
        for (size_t i = 0; i < self->worker_count; i++)
            ready += !self->worker[i].busy;
        zstr_sendf (self->pipe,
                    "{\"workers\":%zu,\"ready\":%zu,\"requests\":%" PRIu64 ",\"replies\":%" PRIu64
                    ",\"lost\":%" PRIu64 ",\"dead\":%" PRIu64 ",\"late\":%" PRIu64
                    ",\"unroutable\":%" PRIu64 ",\"bad\":%" PRIu64 ",\"held\":%zu}",
                    self->worker_count, ready, self->requests, self->replies, self->lost,
                    self->dead, self->late, self->unroutable, self->bad, zlist_size (self->held));
    }
    freen (command);
}

static void
s_loop (self_t *self)
{
    zmq_pollitem_t items[] = {{zsock_resolve (self->pipe), 0, ZMQ_POLLIN, 0},
                              {zsock_resolve (self->backend), 0, ZMQ_POLLIN, 0},
                              {zsock_resolve (self->frontend), 0, ZMQ_POLLIN, 0}};
    while (!self->terminated) {
        //  Read clients only when a worker can take their request (see the header).
        int count = s_worker_next (self) ? 3 : 2;
        if (zmq_poll (items, count, self->heartbeat_ms) < 0) {
            if (errno == EINTR)
                continue;
            break;
        }
        if (items[0].revents & ZMQ_POLLIN)
            s_command (self);
        if (items[1].revents & ZMQ_POLLIN)
            s_worker_message (self);
        if (count == 3 && (items[2].revents & ZMQ_POLLIN))
            s_client (self);
        s_reap (self);
    }
}

void
zsat_balancer_actor (zsock_t *pipe, void *args)
{
    zsat_balancer_args_t *a = (zsat_balancer_args_t *)args;
    self_t *self = (self_t *)zmalloc (sizeof (self_t));
    self->pipe = pipe;
    self->held = zlist_new ();
    char why[256] = "cannot allocate";
    if (a && self->held) {
        self->heartbeat_ms = a->heartbeat_ms > 0 ? a->heartbeat_ms : 1000;
        self->liveness = a->liveness > 0 ? a->liveness : 3;
        self->frontend = s_router (a->frontend, why, sizeof why);
        if (self->frontend)
            self->backend = s_router (a->backend, why, sizeof why);
    }
    zsock_signal (pipe, 0);
    if (!self->backend)
        zstr_sendf (pipe, "FAILED %s", why);
    else {
        zstr_send (pipe, "READY");
        s_loop (self);
    }
    zmsg_t *request;
    while (self->held && (request = (zmsg_t *)zlist_pop (self->held)))
        zmsg_destroy (&request);
    zlist_destroy (&self->held);
    while (self->worker_count)
        s_worker_remove (self, &self->worker[0]);
    zsock_destroy (&self->frontend);
    zsock_destroy (&self->backend);
    free (self);
}

//  --- Selftest ---

#define TEST_FRONT "inproc://zsat-balancer-test-front"
#define TEST_BACK  "inproc://zsat-balancer-test-back"
#define TEST_HB    100

static int64_t
s_stat (zactor_t *actor, const char *key)
{
    zstr_send (actor, "STATS");
    char *json = zstr_recv (actor);
    assert (json);
    char pattern[64];
    snprintf (pattern, sizeof pattern, "\"%s\":", key);
    char *at = strstr (json, pattern);
    int64_t value = at ? strtoll (at + strlen (pattern), NULL, 10) : -1;
    freen (json);
    return value;
}

//  Waits (bounded) until STATS key reaches value; returns the last value seen.
static int64_t
s_stat_wait (zactor_t *actor, const char *key, int64_t value)
{
    int64_t seen = s_stat (actor, key);
    for (int i = 0; i < 500 && seen != value; i++) {
        zclock_sleep (20);
        seen = s_stat (actor, key);
    }
    return seen;
}

//  Blocks a test worker until the test says "GO" (no heartbeats meanwhile, like a frozen
//  process). Returns false when it was told to end instead.
static bool
s_test_wait_go (zsock_t *pipe)
{
    char *command = zstr_recv (pipe);
    bool go = command && streq (command, "GO");
    freen (command);
    return go;
}

//  A test worker (args: its name): answers each request with its name appended and
//  heartbeats. Commands, each answered "OK": "DIE" (exit without answering the next request,
//  like a crash), "HOLD" (freeze on the next request until "GO"), "PAUSE" (freeze now until
//  "GO"). A frozen worker is alive but silent, so the balancer removes it.
static void
s_test_worker (zsock_t *pipe, void *args)
{
    const char *name = (const char *)args;
    zsock_t *dealer = zsock_new_dealer (">" TEST_BACK);
    assert (dealer);
    zpoller_t *poller = zpoller_new (pipe, dealer, NULL);
    zsock_signal (pipe, 0);
    zstr_send (dealer, "READY");
    bool die = false, hold = false, alive = true;
    int64_t beat_at = zclock_mono () + TEST_HB;
    while (alive) {
        void *which = zpoller_wait (poller, TEST_HB / 2);
        if (which == pipe) {
            char *command = zstr_recv (pipe);
            alive = command && !streq (command, "$TERM");
            die |= alive && streq (command, "DIE");
            hold |= alive && streq (command, "HOLD");
            bool pause = alive && streq (command, "PAUSE");
            if (alive)
                zstr_send (pipe, "OK");
            freen (command);
            if (pause)
                alive = s_test_wait_go (pipe);
        }
        else if (which == dealer) {
            zmsg_t *msg = zmsg_recv (dealer);
            assert (msg);
            if (zmsg_size (msg) == 1)  //  UNKNOWN: re-join
                zstr_send (dealer, "READY");
            else if (!die && (!hold || s_test_wait_go (pipe))) {
                hold = false;
                zmsg_addstr (msg, name);
                zmsg_send (&msg, dealer);
            }
            else
                alive = false;  //  crashed, or told to end while frozen
            zmsg_destroy (&msg);
        }
        if (alive && zclock_mono () >= beat_at) {
            zstr_send (dealer, "HEARTBEAT");
            beat_at = zclock_mono () + TEST_HB;
        }
    }
    zpoller_destroy (&poller);
    zsock_destroy (&dealer);
    if (die) {
        //  Dead: wait for the test's $TERM without answering anything else.
        char *command = zstr_recv (pipe);
        freen (command);
    }
}

//  Sends count requests numbered from first; receives up to expect replies (bounded) and
//  adds each to served[worker]. Returns the replies received.
static int
s_round (zsock_t *client, int first, int count, int expect, int served[3])
{
    for (int i = 0; i < count; i++)
        zstr_sendm (client, ""), zstr_sendf (client, "%d", first + i);
    int got = 0;
    while (got < expect) {
        char *empty = NULL, *body = NULL, *name = NULL;
        if (zstr_recvx (client, &empty, &body, &name, NULL) < 0)
            break;  //  receive timeout
        assert (empty && streq (empty, "") && body && name && strlen (name) == 2);
        served[name[1] - '0']++;
        got++;
        freen (empty);
        freen (body);
        freen (name);
    }
    return got;
}

static void
s_command_ok (zactor_t *worker, const char *command)
{
    zstr_send (worker, command);
    char *ok = zstr_recv (worker);
    assert (ok && streq (ok, "OK"));
    freen (ok);
}

//  Two requests over two ready workers: the held worker gets one of them, whatever the
//  order, because the worker ready longest is always served first.
static void
s_frozen (zactor_t *balancer, zsock_t *client, zactor_t *held, int served[3])
{
    s_command_ok (held, "HOLD");
    int64_t replies = s_stat (balancer, "replies");
    assert (s_round (client, 70, 2, 1, served) == 1);
    assert (s_stat_wait (balancer, "dead", 2) == 2);
    assert (s_stat (balancer, "lost") == 2 && s_stat (balancer, "workers") == 1);
    zstr_send (held, "GO");
    assert (s_round (client, 0, 0, 1, served) == 1);
    assert (s_stat (balancer, "late") == 1 && s_stat (balancer, "replies") == replies + 2);
    assert (s_stat_wait (balancer, "workers", 2) == 2);
}

void
zsat_balancer_test (bool verbose)
{
    printf (" * zsat_balancer: ");
    if (verbose)
        printf ("\n");
    //  Liveness is generous so a busy shared machine never makes a live worker look dead.
    zsat_balancer_args_t args = {"@" TEST_FRONT, "@" TEST_BACK, TEST_HB, 20};
    zactor_t *balancer = zactor_new (zsat_balancer_actor, &args);
    assert (balancer);
    char *ready = zstr_recv (balancer);
    assert (ready && streq (ready, "READY"));
    freen (ready);
    static char names[3][3] = {"w0", "w1", "w2"};
    zactor_t *worker[3];
    for (int i = 0; i < 3; i++)
        worker[i] = zactor_new (s_test_worker, names[i]);
    assert (s_stat_wait (balancer, "workers", 3) == 3);

    zsock_t *client = zsock_new_dealer (">" TEST_FRONT);
    assert (client);
    zsock_set_rcvtimeo (client, 10000);
    int served[3] = {0, 0, 0};
    assert (s_round (client, 0, 30, 30, served) == 30);
    //  Each request goes to the worker ready longest: every worker takes a share.
    assert (served[0] > 0 && served[1] > 0 && served[2] > 0);
    assert (served[0] + served[1] + served[2] == 30);
    assert (s_stat (balancer, "lost") == 0 && s_stat (balancer, "replies") == 30);

    //  w1 dies holding a request: that one is counted lost, the other 29 are answered.
    zstr_send (worker[1], "DIE");
    char *ok = zstr_recv (worker[1]);
    assert (ok && streq (ok, "OK"));
    freen (ok);
    int before = served[1];
    assert (s_round (client, 30, 30, 29, served) == 29);
    assert (served[1] == before);
    assert (s_stat_wait (balancer, "workers", 2) == 2);
    assert (s_stat (balancer, "lost") == 1 && s_stat (balancer, "dead") == 1);

    //  The survivors take everything after; nothing else is lost.
    assert (s_round (client, 60, 10, 10, served) == 10);
    assert (served[1] == before);
    assert (s_stat (balancer, "requests") == 70 && s_stat (balancer, "replies") == 69);
    assert (s_stat (balancer, "lost") == 1 && s_stat (balancer, "bad") == 0);

    //  A frozen worker holding a request is removed and the request counted lost; when it
    //  thaws, its late reply still reaches the client and the worker joins again.
    s_frozen (balancer, client, worker[2], served);
    //  A worker frozen while idle is removed; its next heartbeat gets UNKNOWN, it re-joins.
    s_command_ok (worker[0], "PAUSE");
    assert (s_stat_wait (balancer, "dead", 3) == 3);
    assert (s_stat (balancer, "workers") == 1);
    zstr_send (worker[0], "GO");
    assert (s_stat_wait (balancer, "workers", 2) == 2);
    assert (s_round (client, 80, 10, 10, served) == 10);
    assert (s_stat (balancer, "lost") == 2 && s_stat (balancer, "bad") == 0);

    //  A request without the empty delimiter is refused and counted, not forwarded.
    zstr_send (client, "no-delimiter");
    assert (s_stat_wait (balancer, "bad", 1) == 1);
    if (verbose)
        printf ("   served w0=%d w1=%d w2=%d\n", served[0], served[1], served[2]);

    zsock_destroy (&client);
    for (int i = 0; i < 3; i++)
        zactor_destroy (&worker[i]);
    zactor_destroy (&balancer);

    zsat_balancer_args_t bad = {"@nosuch://x", "@" TEST_BACK, 0, 0};
    balancer = zactor_new (zsat_balancer_actor, &bad);
    char *reply = zstr_recv (balancer);
    assert (reply && strncmp (reply, "FAILED ", 7) == 0);
    freen (reply);
    zactor_destroy (&balancer);
    printf ("OK\n");
}
