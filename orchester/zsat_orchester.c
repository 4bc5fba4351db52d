/*  zsat_orchester - the per-host router of jobs, a czmq actor.

    Sockets (from zsat_topology_sockets for the orchester node on its host):
      SUB  "jobs"          the scheduler's INIT jobs, topic "<host>/"
      PULL "any"           anyone: zsat send, other programs, BOUNCE from workers
      REP  "control"       ROUTE ADD|DEL|MOVE|LIST, STATS, SEND (a vector, answered with
                           its verdict); read with zsat_control: never blocks the loop
      PUSH "route:<node>"  one per non-system node of the host, routed or not (a route's
                           alternate, ROUTE ADD targets), opened at start; its instances
                           share it (PUSH round-robin)
      PUSH "events"        batched tracker events (zsat_evbatch), never blocking
      SUB  "state"         tracker feed: RESEND.<host> and BREAKER

    Hot path: the routing frame "where/type" picks the route, the canonical envelope is read
    and patched in place (event, seq, flags), and the same zmq_msg_t frames go out: no decode,
    no re-encode, no allocation per vector. Anything that cannot be routed is a dead letter,
    counted per reason and reported to the tracker as a DEAD_LETTER event.
*/
#include "zsat_orchester.h"
#include "zsat_curve.h"
#include "zsat_ipcguard.h"
#include "zsat_routes.h"
#include "zsat_retrycache.h"
#include "zsat_control.h"
#include "zsat_recv.h"
#include <time.h>
#include <sys/stat.h>

#define S_TARGETS_MAX     256  //  every worker of the host has a route socket (ROUTE ADD)
#define S_SOCKETS_MAX     256
#define S_BURST           512  //  messages read from one socket before polling again
#define S_BATCH_RECORDS   256  //  tracker events per batch (flush by count)
#define S_BATCH_DELAY_MS  5    //  ... or after this long
#define S_HEARTBEAT_MS    1000
#define S_CONTROL_MAX     4096
#define S_DEFAULT_HWM     10000
#define S_DEFAULT_TIMEOUT 200  //  ms a vector may wait for a full route before dead-lettering

typedef enum { S_CLOSED, S_OPEN, S_HALF_OPEN } s_breaker_t;

static const char *s_dead_names[ZSAT_DEAD_COUNT] = {
    "wrong host", "unknown type", "malformed",    "over-bounced", "unexpected event",
    "route full", "circuit open", "not retained", "too big"};

typedef struct {
    char node[ZSAT_NAME_MAX];
    zsock_t *sock;
    void *handle;  //  zsock_resolve (sock)
    bool stalled;  //  last send timed out: do not wait again until a send succeeds
    bool remote;   //  a node of another host (its remote:<node> tcp port): run-time routes only
    s_breaker_t breaker;
    bool probe_sent;
    char alternate[ZSAT_NAME_MAX];
    uint64_t sent, full;
} s_target_t;

//  What became of one vector sent through the control socket (SEND): the nodes that took it
//  and the first dead-letter reason, for the answer to the sender.
typedef struct {
    char routed[512];
    int dead;  //  -1: none
    int routed_count;
} s_verdict_t;

//  What the hot path reads from a canonical envelope.
typedef struct {
    uint64_t event, flags, seq, retry, task_id, job_id;
} s_peek_t;

typedef struct {
    zsock_t *pipe;
    zsat_topology_t *topology;
    char host[ZSAT_NAME_MAX];
    size_t host_len;
    char node[ZSAT_NAME_MAX];
    int instance;
    zsock_t *jobs, *any, *control, *events, *state;
    s_target_t target[S_TARGETS_MAX];
    size_t targets;
    zsat_routes_t *routes;
    zsat_retrycache_t *cache;
    zsat_evbatch_t *batch;
    zsat_frames_t frames;
    zsat_control_t ctl;
    s_verdict_t *verdict;  //  set while a SEND from the control socket is routed
    zsat_event_rec_t rec;  //  reused for every event: no allocation, fields overwritten
    int max_seq;
    int hwm;
    int route_timeout_ms;
    int64_t next_flush, next_heartbeat;
    bool terminated;
    uint64_t received, routed, sent, resent, retry_asked, bad_control, slow_path;
    uint64_t dead[ZSAT_DEAD_COUNT];
} self_t;

const char *
zsat_dead_reason_name (int reason)
{
    return reason >= 0 && reason < ZSAT_DEAD_COUNT ? s_dead_names[reason] : "?";
}

static int64_t
s_now_us (void)
{
    struct timespec ts;
    clock_gettime (CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

//  ---------------------------------------------------------------------------------------
//  Sockets and their options

//  Sets every option on purpose; the reasons are in docs/sockets.md too.
static void
s_set_options (zsock_t *sock, const char *endpoint, int hwm, int linger, int64_t maxmsg)
{
    //  Bounded queues: a stuck peer costs at most hwm messages of memory.
    zsock_set_sndhwm (sock, hwm);
    zsock_set_rcvhwm (sock, hwm);
    //  Route and event sockets drain on close; sockets that only read drop nothing by it.
    zsock_set_linger (sock, linger);
    //  An oversize frame is refused by libzmq before it costs memory.
    zsock_set_maxmsgsize (sock, maxmsg);
    if (endpoint && strstr (endpoint, "tcp://")) {
        //  A frozen tcp peer is only detected by heartbeats (ipc peers die with their process).
        zsock_set_heartbeat_ivl (sock, 1000);
        zsock_set_heartbeat_ttl (sock, 3000);
        zsock_set_heartbeat_timeout (sock, 3000);
    }
}

//  Creates the directories of every ipc endpoint the socket binds (mode 0700: the run
//  directory is private), so a node started before the launcher prepared them still binds.
static void
s_ipc_dirs (const char *endpoints)
{
    const char *p = endpoints;
    while ((p = strstr (p, "@ipc://"))) {
        char path[512];
        size_t n = strcspn (p + 7, ",");
        snprintf (path, sizeof path, "%.*s", (int)n, p + 7);
        for (char *slash = strchr (path + 1, '/'); slash; slash = strchr (slash + 1, '/')) {
            *slash = 0;
            mkdir (path, 0700);
            *slash = '/';
        }
        p += 7;
    }
}

//  Creates a socket of type, sets its options, attaches it. Returns NULL on failure.
static zsock_t *
s_socket_open (self_t *self, int type, const char *endpoint, int linger, int64_t maxmsg,
               bool immediate)
{
    zsock_t *sock = zsock_new (type);
    if (!sock)
        return NULL;
    s_set_options (sock, endpoint, self->hwm, linger, maxmsg);
    //  Route sockets: never park vectors for a worker that never connected.
    if (immediate)
        zsock_set_immediate (sock, 1);
    s_ipc_dirs (endpoint);
    char guard[512];
    bool bind = strchr (endpoint, '@') != NULL;
    if (zsat_ipcguard_check (endpoint, true, guard, sizeof guard) != 0 ||
        zsat_curve_apply (sock, self->host, endpoint,
                          !bind             ? ZSAT_CURVE_CLIENT
                          : type == ZMQ_REP ? ZSAT_CURVE_SERVER | ZSAT_CURVE_CONTROL
                                            : ZSAT_CURVE_SERVER) != 0 ||
        zsock_attach (sock, endpoint, true) != 0) {
        zsock_destroy (&sock);
        return NULL;
    }
    return sock;
}

//  Rewrites "@a,>b" as ">a,@b" into out: the other side of a link binds where one connects.
static void
s_flip_endpoint (const char *endpoint, char *out, size_t cap)
{
    snprintf (out, cap, "%s", endpoint);
    for (char *p = out; *p; p++)
        if ((p == out || p[-1] == ',') && (*p == '@' || *p == '>'))
            *p = *p == '@' ? '>' : '@';
}

//  Finds the endpoint the orchester uses to reach node: its own route:<node> socket (or
//  remote:<node> for a node of another host, *remote set), or the other side of the node's
//  "in:route" socket. Returns 0, or -1 when node has none here.
static int
s_route_endpoint (self_t *self, const char *node, char *out, size_t cap, bool *remote)
{
    zsat_socket_t *list = (zsat_socket_t *)calloc (S_SOCKETS_MAX, sizeof (zsat_socket_t));
    char name[128], far[128];
    snprintf (name, sizeof name, "route:%s", node);
    snprintf (far, sizeof far, "remote:%s", node);
    int rc = -1;
    *remote = false;
    int n = zsat_topology_sockets (self->topology, self->node, self->host, list, S_SOCKETS_MAX);
    for (int i = 0; i < n && rc; i++)
        if (streq (list[i].name, name) || streq (list[i].name, far)) {
            snprintf (out, cap, "%s", list[i].endpoint);
            *remote = streq (list[i].name, far);
            rc = 0;
        }
    n = rc ? zsat_topology_sockets (self->topology, node, self->host, list, S_SOCKETS_MAX) : 0;
    for (int i = 0; i < n && rc; i++)
        if (streq (list[i].name, "in:route")) {
            s_flip_endpoint (list[i].endpoint, out, cap);
            rc = 0;
        }
    free (list);
    return rc;
}

static s_target_t *
s_target_find (self_t *self, const char *node)
{
    for (size_t i = 0; i < self->targets; i++)
        if (streq (self->target[i].node, node))
            return &self->target[i];
    return NULL;
}

//  Returns the target of node, opening its socket on demand, or NULL when node has no route
//  endpoint on this host. Targets stay open until the end: a deleted route drains.
static s_target_t *
s_target_get (self_t *self, const char *node)
{
    s_target_t *t = s_target_find (self, node);
    if (t || self->targets == S_TARGETS_MAX || !zsat_name_valid (node))
        return t;
    char endpoint[512];
    bool remote;
    if (s_route_endpoint (self, node, endpoint, sizeof endpoint, &remote))
        return NULL;
    //  Linger: vectors queued for a worker are delivered at stop, not dropped.
    zsock_t *sock = s_socket_open (self, ZMQ_PUSH, endpoint, 2000, ZSAT_PAYLOAD_MAX, true);
    if (!sock)
        return NULL;
    t = &self->target[self->targets++];
    memset (t, 0, sizeof *t);
    snprintf (t->node, sizeof t->node, "%s", node);
    t->sock = sock;
    t->handle = zsock_resolve (sock);
    t->remote = remote;
    return t;
}

//  ---------------------------------------------------------------------------------------
//  Tracker events

static void
s_flush (self_t *self)
{
    if (self->events && zsat_evbatch_pending (self->batch))
        zsat_evbatch_flush (self->batch, zsock_resolve (self->events), ZMQ_DONTWAIT);
    self->next_flush = zclock_mono () + S_BATCH_DELAY_MS;
}

//  Appends one event; the record's ids and type must already be set in self->rec.
static void
s_event (self_t *self, int event, const char *detail)
{
    if (!self->batch)
        return;
    self->rec.event = (uint8_t)event;
    self->rec.timestamp = s_now_us ();
    if (detail)
        snprintf (self->rec.detail, sizeof self->rec.detail, "%s", detail);
    else
        self->rec.detail[0] = 0;
    if (zsat_evbatch_add (self->batch, &self->rec) >= S_BATCH_RECORDS)
        s_flush (self);
}

//  Sets the record's fields from a peeked envelope and the routing frame's type bytes.
static void
s_rec_set (self_t *self, const s_peek_t *p, const char *type, size_t type_len)
{
    zsat_event_rec_t *r = &self->rec;
    r->task_id = p ? p->task_id : 0;
    r->job_id = p ? p->job_id : 0;
    r->retry = p ? (uint32_t)p->retry : 0;
    r->seq = p ? (uint32_t)p->seq : 0;
    r->flags = p ? (uint32_t)p->flags : 0;
    if (type_len >= sizeof r->type)
        type_len = 0;
    memcpy (r->type, type, type_len);
    r->type[type_len] = 0;
}

//  Garbage from the wire never reaches the tracker as a type name. Only vectors that are not
//  routed need the check: a routed type was found in the routing table, so it is valid.
static void
s_rec_sanitize (self_t *self)
{
    if (self->rec.type[0] && !zsat_name_valid (self->rec.type))
        self->rec.type[0] = 0;
}

static void
s_dead (self_t *self, int reason)
{
    s_rec_sanitize (self);
    self->dead[reason]++;
    if (self->verdict && self->verdict->dead < 0)
        self->verdict->dead = reason;
    s_event (self, ZSAT_EV_DEAD_LETTER, s_dead_names[reason]);
}

static void
s_heartbeat (self_t *self)
{
    uint64_t dead = 0;
    for (int i = 0; i < ZSAT_DEAD_COUNT; i++)
        dead += self->dead[i];
    uint64_t dropped = self->batch ? zsat_evbatch_dropped (self->batch) : 0;
    s_rec_set (self, NULL, "", 0);
    char detail[ZSAT_EVENT_DETAIL_MAX];
    snprintf (detail, sizeof detail,
              "in=%" PRIu64 " out=%" PRIu64 " errors=%" PRIu64 " retries=%" PRIu64
              " dropped=%" PRIu64 " dead=%" PRIu64,
              self->received, self->sent, self->dead[ZSAT_DEAD_MALFORMED], self->resent, dropped,
              dead);
    s_event (self, ZSAT_EV_HEARTBEAT, detail);
    s_flush (self);
    self->next_heartbeat = zclock_mono () + S_HEARTBEAT_MS;
}

//  ---------------------------------------------------------------------------------------
//  The hot path

//  Canonical envelope layout (docs/protocol.md): task_id and job_id are uint64 (0xcf) at
//  fixed offsets after the patchable fields. zsat_vector_peek covers event/flags/seq/retry.
#define S_OFF_TASK_ID 36
#define S_OFF_JOB_ID  45

static int
s_peek_u64 (const uint8_t *env, size_t size, size_t off, uint64_t *value)
{
    if (size < off + 9 || env[off] != 0xcf)
        return -1;
    uint64_t v = 0;
    for (size_t i = 1; i <= 8; i++)
        v = (v << 8) | env[off + i];
    *value = v;
    return 0;
}

//  Reads what routing needs from a canonical envelope. Returns 0, or -1 when not canonical.
static int
s_peek (const uint8_t *env, size_t size, s_peek_t *p)
{
    if (zsat_vector_peek (env, size, ZSAT_FIELD_EVENT, &p->event) ||
        zsat_vector_peek (env, size, ZSAT_FIELD_SEQ, &p->seq) ||
        zsat_vector_peek (env, size, ZSAT_FIELD_FLAGS, &p->flags) ||
        zsat_vector_peek (env, size, ZSAT_FIELD_RETRY, &p->retry) ||
        s_peek_u64 (env, size, S_OFF_TASK_ID, &p->task_id) ||
        s_peek_u64 (env, size, S_OFF_JOB_ID, &p->job_id))
        return -1;
    return 0;
}

//  Sends three frames; copies them first when `copy` (fan-out: the originals go to the last
//  target). Returns 0, or -1 with the frames untouched when the socket refused.
static int
s_send_parts (void *socket, zmq_msg_t *parts, bool copy, int flags)
{
    zmq_msg_t dup[3];
    zmq_msg_t *out = parts;
    if (copy) {
        for (int i = 0; i < 3; i++) {
            zmq_msg_init (&dup[i]);
            zmq_msg_copy (&dup[i], &parts[i]);
        }
        out = dup;
    }
    int rc = 0;
    //  libzmq accepts the rest of a message once its first frame is in.
    if (zmq_msg_send (&out[0], socket, ZMQ_SNDMORE | flags) == -1)
        rc = -1;
    else {
        zmq_msg_send (&out[1], socket, ZMQ_SNDMORE);
        zmq_msg_send (&out[2], socket, 0);
    }
    if (copy)
        for (int i = 0; i < 3; i++)
            zmq_msg_close (&dup[i]);
    return rc;
}

//  Pushes to one target: a non-blocking try, then one bounded wait unless the target already
//  timed out (then dead-letter at once until it accepts again). Returns 0 or -1 (full).
static int
s_push (self_t *self, s_target_t *t, zmq_msg_t *parts, bool copy)
{
    if (s_send_parts (t->handle, parts, copy, ZMQ_DONTWAIT) == 0) {
        t->stalled = false;
        t->sent++;
        return 0;
    }
    if (!t->stalled && self->route_timeout_ms > 0) {
        zmq_pollitem_t item = {t->handle, 0, ZMQ_POLLOUT, 0};
        if (zmq_poll (&item, 1, self->route_timeout_ms) == 1 &&
            s_send_parts (t->handle, parts, copy, ZMQ_DONTWAIT) == 0) {
            t->sent++;
            return 0;
        }
    }
    t->stalled = true;
    t->full++;
    return -1;
}

//  Applies the circuit breaker of t: returns the target to use (t, or its alternate), or NULL
//  when the circuit is open with no alternate. Sets *probe for the half-open probe.
static s_target_t *
s_breaker_pick (self_t *self, s_target_t *t, bool *probe)
{
    *probe = false;
    if (t->breaker == S_CLOSED)
        return t;
    if (t->breaker == S_HALF_OPEN && !t->probe_sent) {
        t->probe_sent = true;
        *probe = true;
        return t;
    }
    return t->alternate[0] ? s_target_get (self, t->alternate) : NULL;
}

//  Sends a probe: its own copy of the envelope with ZSAT_FLAG_PROBE, so fan-out copies that
//  share the original bytes stay unflagged.
static int
s_push_probe (self_t *self, s_target_t *t, zmq_msg_t *parts, uint64_t flags)
{
    zmq_msg_t probe[3];
    zmq_msg_init (&probe[0]);
    zmq_msg_copy (&probe[0], &parts[0]);
    zmq_msg_init_size (&probe[1], zmq_msg_size (&parts[1]));
    memcpy (zmq_msg_data (&probe[1]), zmq_msg_data (&parts[1]), zmq_msg_size (&parts[1]));
    zsat_vector_patch ((uint8_t *)zmq_msg_data (&probe[1]), zmq_msg_size (&probe[1]),
                       ZSAT_FIELD_FLAGS, flags | ZSAT_FLAG_PROBE);
    zmq_msg_init (&probe[2]);
    zmq_msg_copy (&probe[2], &parts[2]);
    int rc = s_push (self, t, probe, false);
    for (int i = 0; i < 3; i++)
        zmq_msg_close (&probe[i]);
    return rc;
}

static void
s_verdict_node (s_verdict_t *v, const char *node)
{
    size_t len = strlen (v->routed);
    snprintf (v->routed + len, sizeof v->routed - len, "%s%s", len ? "," : "", node);
    v->routed_count++;
}

//  Sends patched frames to every target of the route; one SEND event (or dead letter) per
//  target. Returns the number of targets that took the vector.
static int
s_forward (self_t *self, zsat_route_entry_t *e, zmq_msg_t *parts, const s_peek_t *p)
{
    int delivered = 0;
    for (size_t i = 0; i < e->count; i++) {
        s_target_t *t = &self->target[e->ids[i]];
        bool probe;
        s_target_t *dest = s_breaker_pick (self, t, &probe);
        if (!dest) {
            s_dead (self, ZSAT_DEAD_CIRCUIT_OPEN);
            continue;
        }
        bool copy = i + 1 < e->count;
        int rc =
            probe ? s_push_probe (self, dest, parts, p->flags) : s_push (self, dest, parts, copy);
        if (rc == 0) {
            delivered++;
            self->sent++;
            s_event (self, ZSAT_EV_SEND, dest->node);
            if (self->verdict)
                s_verdict_node (self->verdict, dest->node);
        }
        else
            s_dead (self, ZSAT_DEAD_ROUTE_FULL);
    }
    return delivered;
}

//  Rare path: a non-canonical or legacy vector is decoded, changed and re-encoded into new
//  frames (allocates). Returns 0 with parts replaced and p filled, or -1 (malformed).
static int
s_slow_path (self_t *self, zsat_frames_t *f, s_peek_t *p)
{
    zsat_vector_t v;
    zsat_error_t err;
    if (zsat_vector_decode_frames (&v, f, &err))
        return -1;
    self->slow_path++;
    uint8_t envelope[ZSAT_ENVELOPE_MAX];
    char routing[ZSAT_ROUTING_MAX];
    int es = zsat_vector_encode_envelope (&v, envelope, sizeof envelope, &err);
    int rs = zsat_vector_encode_routing (&v, routing, sizeof routing, &err);
    if (es < 0 || rs < 0)
        return -1;
    zmq_msg_t parts[3];
    zmq_msg_init_size (&parts[0], (size_t)rs);
    memcpy (zmq_msg_data (&parts[0]), routing, (size_t)rs);
    zmq_msg_init_size (&parts[1], (size_t)es);
    memcpy (zmq_msg_data (&parts[1]), envelope, (size_t)es);
    zmq_msg_init_size (&parts[2], v.payload_size);
    if (v.payload_size)
        memcpy (zmq_msg_data (&parts[2]), v.payload, v.payload_size);
    //  v.payload pointed into the old frames: close them only now. zmq_msg_move closes its
    //  destination, which must therefore be an open message, not a closed or unused slot.
    zsat_frames_close (f);
    for (int i = 0; i < 3; i++) {
        zmq_msg_init (&f->frame[i]);
        zmq_msg_move (&f->frame[i], &parts[i]);
        zmq_msg_close (&parts[i]);
    }
    f->count = f->received = 3;
    f->open = true;
    return s_peek (envelope, (size_t)es, p);
}

//  Takes a routable vector: ACK, seq + 1 (BOUNCE becomes INIT) patched in place, a copy in
//  the retry cache, the same frames out to every node of the route.
static void
s_accept (self_t *self, zsat_route_entry_t *e, s_peek_t *p)
{
    zsat_frames_t *f = &self->frames;
    uint8_t *env = (uint8_t *)zmq_msg_data (&f->frame[1]);
    size_t esize = zmq_msg_size (&f->frame[1]);
    s_event (self, ZSAT_EV_ACK, NULL);
    p->seq++;
    zsat_vector_patch (env, esize, ZSAT_FIELD_SEQ, p->seq);
    //  Every event of a later hop then says an orchester holds a copy, even one that reaches
    //  the tracker before this orchester's SEND (batches of different nodes race).
    p->flags |= ZSAT_FLAG_ROUTED;
    zsat_vector_patch (env, esize, ZSAT_FIELD_FLAGS, p->flags);
    if (p->event == ZSAT_EV_BOUNCE)
        zsat_vector_patch (env, esize, ZSAT_FIELD_EVENT, ZSAT_EV_INIT);
    self->rec.seq = (uint32_t)p->seq;
    if (self->cache && p->task_id)
        zsat_retrycache_put (self->cache, p->task_id, zmq_msg_data (&f->frame[0]),
                             zmq_msg_size (&f->frame[0]), env, esize, zmq_msg_data (&f->frame[2]),
                             zmq_msg_size (&f->frame[2]));
    if (s_forward (self, e, f->frame, p) > 0) {
        self->routed++;
        e->routed++;
    }
}

//  Routes one received message (its frames in self->frames).
static void
s_route (self_t *self, int frames)
{
    zsat_frames_t *f = &self->frames;
    s_peek_t p;
    self->received++;
    if (frames != 3 && frames != 1) {
        s_rec_set (self, NULL, "", 0);
        s_dead (self, f->refused == ZSAT_RECV_BYTES ? ZSAT_DEAD_TOO_BIG : ZSAT_DEAD_MALFORMED);
        return;
    }
    if (frames == 1 ||
        s_peek ((uint8_t *)zmq_msg_data (&f->frame[1]), zmq_msg_size (&f->frame[1]), &p))
        if (s_slow_path (self, f, &p)) {
            s_rec_set (self, NULL, "", 0);
            s_dead (self, ZSAT_DEAD_MALFORMED);
            return;
        }
    const char *routing = (const char *)zmq_msg_data (&f->frame[0]);
    size_t rsize = zmq_msg_size (&f->frame[0]);
    const char *slash = rsize <= ZSAT_ROUTING_MAX ? memchr (routing, '/', rsize) : NULL;
    size_t where_len = slash ? (size_t)(slash - routing) : 0;
    const char *type = slash ? slash + 1 : "";
    size_t type_len = slash ? rsize - where_len - 1 : 0;
    s_rec_set (self, &p, type, type_len);
    if (!slash || where_len == 0 || type_len == 0)
        s_dead (self, ZSAT_DEAD_MALFORMED);
    else if (where_len != self->host_len || memcmp (routing, self->host, where_len))
        s_dead (self, ZSAT_DEAD_WRONG_HOST);
    else if (p.event != ZSAT_EV_INIT && p.event != ZSAT_EV_BOUNCE)
        s_dead (self, ZSAT_DEAD_UNEXPECTED_EVENT);
    else if (p.seq + 1 > (uint64_t)self->max_seq)
        s_dead (self, ZSAT_DEAD_OVER_BOUNCED);
    else {
        zsat_route_entry_t *e = zsat_routes_lookup (self->routes, type, type_len);
        if (e)
            s_accept (self, e, &p);
        else
            s_dead (self, ZSAT_DEAD_UNKNOWN_TYPE);
    }
}

//  Reads up to a burst of messages from one socket without waiting.
static void
s_drain (self_t *self, zsock_t *sock)
{
    void *handle = zsock_resolve (sock);
    for (int i = 0; i < S_BURST; i++) {
        int frames = zsat_frames_recv (&self->frames, handle, ZMQ_DONTWAIT);
        if (frames < 0)
            break;
        s_route (self, frames);
    }
    zsat_frames_close (&self->frames);
}

//  ---------------------------------------------------------------------------------------
//  Tracker feed: RESEND and BREAKER

//  Finds "key": in a flat JSON object and copies its value (string unquoted, else the bare
//  token) into out. Returns 0, or -1 when absent. Enough for the tracker's small bodies.
static int
s_json_get (const char *json, const char *key, char *out, size_t cap)
{
    char quoted[ZSAT_NAME_MAX + 3];
    snprintf (quoted, sizeof quoted, "\"%s\"", key);
    const char *p = strstr (json, quoted);
    if (!p || cap == 0)
        return -1;
    p += strlen (quoted);
    while (*p == ' ' || *p == '\t' || *p == '\n')
        p++;
    if (*p++ != ':')
        return -1;
    while (*p == ' ' || *p == '\t' || *p == '\n')
        p++;
    bool string = *p == '"';
    p += string;
    size_t n = 0;
    while (*p && n + 1 < cap &&
           (string ? *p != '"' : (*p != ',' && *p != '}' && *p != ' ' && *p != '\n')))
        out[n++] = *p++;
    out[n] = 0;
    return n || string ? 0 : -1;
}

static int
s_json_u64 (const char *json, const char *key, uint64_t *value)
{
    char text[32];
    char *end;
    if (s_json_get (json, key, text, sizeof text) || !isdigit ((unsigned char)text[0]))
        return -1;
    *value = strtoull (text, &end, 10);
    return *end ? -1 : 0;
}

//  Where a re-send goes, into *one; the envelope to send into envelope (returns its size, or
//  -1 when the cached one does not decode). `stage` failed: when it is a node of the route,
//  to it alone, as cached. Else it is a branch further down (cpu -> csv, cpu -> bad: bad
//  failed): to the route's nodes that have a path of links to it, with `next` = stage, so
//  each runtime on the way forwards only towards it and the branches that succeeded do not
//  see the task again (docs/tracker.md "Fan-out").
static int
s_resend_targets (self_t *self, const zsat_route_entry_t *e, const char *stage,
                  const zsat_retrycache_item_t *item, uint8_t *envelope, zsat_route_entry_t *one)
{
    *one = *e;
    memcpy (envelope, item->envelope, item->envelope_size);
    for (size_t i = 0; i < e->count; i++)
        if (streq (e->nodes[i], stage)) {
            one->count = 1;
            one->ids[0] = e->ids[i];
            return (int)item->envelope_size;
        }
    one->count = 0;
    for (size_t i = 0; i < e->count; i++)
        if (*stage && zsat_topology_reaches (self->topology, e->nodes[i], stage)) {
            snprintf (one->nodes[one->count], sizeof one->nodes[0], "%s", e->nodes[i]);
            one->ids[one->count++] = e->ids[i];
        }
    if (one->count == 0) {
        *one = *e;  //  a stage no route node leads to (or none named): the whole route
        return (int)item->envelope_size;
    }
    zsat_vector_t v;
    zsat_error_t err;
    if (zsat_vector_decode (&v, item->routing, item->routing_size, item->envelope,
                            item->envelope_size, item->payload, item->payload_size, &err))
        return -1;
    snprintf (v.next, sizeof v.next, "%s", stage);
    return zsat_vector_encode_envelope (&v, envelope, ZSAT_ENVELOPE_MAX, &err);
}

//  Re-sends a cached task with retry and seq patched, to the failed stage or towards it
//  (s_resend_targets).
static void
s_resend (self_t *self, const char *json)
{
    uint64_t task_id, retry;
    char stage[ZSAT_NAME_MAX] = "";
    if (s_json_u64 (json, "task_id", &task_id)) {
        self->bad_control++;
        return;
    }
    s_json_get (json, "stage", stage, sizeof stage);
    self->retry_asked++;
    zsat_retrycache_item_t item;
    s_peek_t p;
    if (!self->cache || zsat_retrycache_get (self->cache, task_id, &item) ||
        s_peek (item.envelope, item.envelope_size, &p)) {
        char type[ZSAT_NAME_MAX] = "";
        s_json_get (json, "type", type, sizeof type);
        memset (&p, 0, sizeof p);
        p.task_id = task_id;
        s_json_u64 (json, "job_id", &p.job_id);
        s_rec_set (self, &p, type, strlen (type));
        s_rec_sanitize (self);
        self->dead[ZSAT_DEAD_NOT_RETAINED]++;
        //  The tracker ends the task: nothing here can re-send it.
        s_event (self, ZSAT_EV_FAILURE, s_dead_names[ZSAT_DEAD_NOT_RETAINED]);
        s_event (self, ZSAT_EV_DEAD_LETTER, s_dead_names[ZSAT_DEAD_NOT_RETAINED]);
        return;
    }
    p.retry = s_json_u64 (json, "retry", &retry) == 0 ? retry : p.retry + 1;
    p.seq++;
    zsat_vector_patch (item.envelope, item.envelope_size, ZSAT_FIELD_RETRY, p.retry);
    zsat_vector_patch (item.envelope, item.envelope_size, ZSAT_FIELD_SEQ, p.seq);
    const char *slash = memchr (item.routing, '/', item.routing_size);
    const char *type = slash ? slash + 1 : "";
    size_t type_len = slash ? item.routing_size - (size_t)(slash + 1 - (char *)item.routing) : 0;
    s_rec_set (self, &p, type, type_len);
    zsat_route_entry_t *e = zsat_routes_lookup (self->routes, type, type_len);
    if (!e) {
        s_dead (self, ZSAT_DEAD_UNKNOWN_TYPE);
        return;
    }
    zsat_route_entry_t one;
    uint8_t envelope[ZSAT_ENVELOPE_MAX];
    int envelope_size = s_resend_targets (self, e, stage, &item, envelope, &one);
    if (envelope_size < 0) {
        s_dead (self, ZSAT_DEAD_MALFORMED);
        return;
    }
    zmq_msg_t parts[3];
    zmq_msg_init_size (&parts[0], item.routing_size);
    memcpy (zmq_msg_data (&parts[0]), item.routing, item.routing_size);
    zmq_msg_init_size (&parts[1], (size_t)envelope_size);
    memcpy (zmq_msg_data (&parts[1]), envelope, (size_t)envelope_size);
    zmq_msg_init_size (&parts[2], item.payload_size);
    memcpy (zmq_msg_data (&parts[2]), item.payload, item.payload_size);
    s_event (self, ZSAT_EV_RETRY, stage[0] ? stage : NULL);
    if (s_forward (self, &one, parts, &p) > 0)
        self->resent++;
    for (int i = 0; i < 3; i++)
        zmq_msg_close (&parts[i]);
}

static void
s_breaker (self_t *self, const char *json)
{
    char stage[ZSAT_NAME_MAX], state[16], alternate[ZSAT_NAME_MAX] = "";
    if (s_json_get (json, "stage", stage, sizeof stage) ||
        s_json_get (json, "state", state, sizeof state)) {
        self->bad_control++;
        return;
    }
    s_target_t *t = s_target_find (self, stage);
    if (!t)
        return;  //  a stage this orchester does not route to
    if (s_json_get (json, "alternate", alternate, sizeof alternate) == 0 && alternate[0] &&
        !streq (alternate, "null"))
        snprintf (t->alternate, sizeof t->alternate, "%s", alternate);
    if (streq (state, "open"))
        t->breaker = S_OPEN;
    else if (streq (state, "half-open")) {
        t->breaker = S_HALF_OPEN;
        t->probe_sent = false;
    }
    else if (streq (state, "closed"))
        t->breaker = S_CLOSED;
    else
        self->bad_control++;
}

//  Reads one message of the tracker feed: topic, JSON body. Anything else is counted.
static void
s_handle_state (self_t *self)
{
    zmsg_t *msg = zmsg_recv (self->state);
    if (!msg)
        return;
    char *topic = zmsg_popstr (msg);
    zframe_t *body = zmsg_pop (msg);
    char resend_topic[ZSAT_NAME_MAX + 8];
    snprintf (resend_topic, sizeof resend_topic, "RESEND.%s", self->host);
    if (!topic || !body || zmsg_size (msg) || zframe_size (body) >= S_CONTROL_MAX)
        self->bad_control++;
    else {
        char json[S_CONTROL_MAX];
        memcpy (json, zframe_data (body), zframe_size (body));
        json[zframe_size (body)] = 0;
        if (streq (topic, resend_topic))
            s_resend (self, json);
        else if (streq (topic, "BREAKER"))
            s_breaker (self, json);
    }
    zstr_free (&topic);
    zframe_destroy (&body);
    zmsg_destroy (&msg);
}

//  ---------------------------------------------------------------------------------------
//  Control: routes at run time, STATS

static void s_append (char *buf, size_t cap, size_t *len, const char *format, ...)
    __attribute__ ((format (printf, 4, 5)));

static void
s_append (char *buf, size_t cap, size_t *len, const char *format, ...)
{
    if (*len + 1 >= cap)
        return;
    va_list args;
    va_start (args, format);
    int n = vsnprintf (buf + *len, cap - *len, format, args);
    va_end (args);
    *len = n < 0 ? *len : (*len + (size_t)n >= cap ? cap - 1 : *len + (size_t)n);
}

//  Writes the counters as one JSON object. Returns a new string the caller frees.
static char *
s_stats_json (self_t *self)
{
    size_t cap = 4096 + zsat_routes_size (self->routes) * 96 + self->targets * 160;
    char *buf = (char *)malloc (cap);
    size_t len = 0;
    uint64_t dead = 0;
    s_append (buf, cap, &len,
              "{\"node\":\"%s\",\"host\":\"%s\",\"received\":%" PRIu64 ",\"routed\":%" PRIu64
              ",\"sent\":%" PRIu64 ",\"resent\":%" PRIu64 ",\"resend_asked\":%" PRIu64
              ",\"slow_path\":%" PRIu64 ",\"bad_control\":%" PRIu64 ",\"control_dropped\":%" PRIu64
              ",\"events_dropped\":%" PRIu64 ",\"dead_letters\":{",
              self->node, self->host, self->received, self->routed, self->sent, self->resent,
              self->retry_asked, self->slow_path, self->bad_control + self->ctl.bad,
              self->ctl.dropped, self->batch ? zsat_evbatch_dropped (self->batch) : 0);
    for (int i = 0; i < ZSAT_DEAD_COUNT; i++) {
        dead += self->dead[i];
        s_append (buf, cap, &len, "%s\"%s\":%" PRIu64, i ? "," : "", s_dead_names[i],
                  self->dead[i]);
    }
    s_append (buf, cap, &len, "},\"dead\":%" PRIu64 ",\"types\":{", dead);
    for (size_t i = 0; i < zsat_routes_size (self->routes); i++) {
        zsat_route_entry_t *e = zsat_routes_at (self->routes, i);
        s_append (buf, cap, &len, "%s\"%s\":%" PRIu64, i ? "," : "", e->type, e->routed);
    }
    s_append (buf, cap, &len, "},\"targets\":{");
    static const char *breaker[] = {"closed", "open", "half-open"};
    for (size_t i = 0; i < self->targets; i++) {
        s_target_t *t = &self->target[i];
        s_append (buf, cap, &len,
                  "%s\"%s\":{\"sent\":%" PRIu64 ",\"full\":%" PRIu64 ",\"breaker\":\"%s\"}",
                  i ? "," : "", t->node, t->sent, t->full, breaker[t->breaker]);
    }
    s_append (buf, cap, &len,
              "},\"retry_cache\":{\"stored\":%" PRIu64 ",\"evicted\":%" PRIu64
              ",\"too_big\":%" PRIu64 "}}",
              self->cache ? zsat_retrycache_stored (self->cache) : 0,
              self->cache ? zsat_retrycache_evicted (self->cache) : 0,
              self->cache ? zsat_retrycache_too_big (self->cache) : 0);
    return buf;
}

//  ROUTE MOVE: the route of type goes from one node to another in one step, between two
//  messages of the loop, so no vector goes to both and none to neither.
static char *
s_route_move (self_t *self, const char *type, const char *from, const char *to)
{
    s_target_t *t = s_target_get (self, to);
    if (!t)
        return zsys_sprintf ("ERROR node %s has no route endpoint on host %s", to, self->host);
    int rc = zsat_routes_move (self->routes, type, from, to, (int)(t - self->target));
    return strdup (rc == 0   ? "OK"
                   : rc == 1 ? "OK already routed (removed the route to the old node)"
                             : "ERROR no such route");
}

//  Executes one text command. Returns a new reply string the caller frees.
static char *
s_command (self_t *self, const char *command)
{
    char verb[16] = "", sub[16] = "", type[ZSAT_NAME_MAX] = "", node[ZSAT_NAME_MAX] = "";
    char to[ZSAT_NAME_MAX] = "", extra[2] = "";
    int n = sscanf (command, "%15s %15s %63s %63s %63s %1s", verb, sub, type, node, to, extra);
    if (streq (verb, "STATS") && n == 1)
        return s_stats_json (self);
    if (!streq (verb, "ROUTE"))
        return strdup ("ERROR unknown command (ROUTE ADD|DEL|MOVE|LIST, STATS, SEND)");
    if (streq (sub, "LIST") && n == 2) {
        char *buf = (char *)malloc (S_CONTROL_MAX * 4);
        zsat_routes_list (self->routes, buf, S_CONTROL_MAX * 4);
        return buf;
    }
    if (streq (sub, "MOVE") && n == 5 && zsat_name_valid (type) && zsat_name_valid (node) &&
        zsat_name_valid (to))
        return s_route_move (self, type, node, to);
    if (streq (sub, "MOVE"))
        return strdup ("ERROR usage: ROUTE MOVE <type> <from-node> <to-node>");
    if (n != 4 || !zsat_name_valid (type) || !zsat_name_valid (node))
        return strdup ("ERROR usage: ROUTE ADD|DEL <type> <node>");
    if (streq (sub, "ADD")) {
        s_target_t *t = s_target_get (self, node);
        if (!t)
            return zsys_sprintf ("ERROR node %s has no route endpoint on host %s", node,
                                 self->host);
        int rc = zsat_routes_add (self->routes, type, node, (int)(t - self->target));
        return strdup (rc == 0 ? "OK" : rc == 1 ? "OK already routed" : "ERROR route table full");
    }
    if (streq (sub, "DEL"))
        //  The socket stays open: vectors already queued to the node still drain.
        return strdup (zsat_routes_del (self->routes, type, node) == 0 ? "OK"
                                                                       : "ERROR no such route");
    return strdup ("ERROR usage: ROUTE ADD|DEL <type> <node>");
}

//  SEND: frames 1.. of the request are one vector (three frames, or one legacy frame). It is
//  routed exactly as if read from "any", and the answer says what became of it.
static char *
s_control_send (self_t *self)
{
    zsat_control_t *c = &self->ctl;
    if (c->received != 4 && c->received != 2) {
        zsat_control_bad (c);
        return strdup ("ERROR usage: SEND, then the vector's frames (3, or 1 legacy frame)");
    }
    zsat_frames_close (&self->frames);
    zsat_frames_init (&self->frames);
    for (int i = 1; i < c->count; i++) {
        zmq_msg_init (&self->frames.frame[i - 1]);
        zmq_msg_move (&self->frames.frame[i - 1], zsat_control_frame (c, i));
    }
    self->frames.count = self->frames.received = c->count - 1;
    self->frames.open = true;
    s_verdict_t verdict = {.dead = -1};
    self->verdict = &verdict;
    s_route (self, self->frames.count);
    self->verdict = NULL;
    zsat_frames_close (&self->frames);
    if (verdict.dead >= 0 && verdict.routed_count)
        return zsys_sprintf ("ERROR dead letter: %s (routed to %s only)",
                             s_dead_names[verdict.dead], verdict.routed);
    if (verdict.dead == ZSAT_DEAD_UNKNOWN_TYPE)
        return zsys_sprintf ("ERROR dead letter: unknown type (no route for type '%s' on host "
                             "%s: see ROUTE LIST)",
                             self->rec.type, self->host);
    if (verdict.dead == ZSAT_DEAD_WRONG_HOST)
        return zsys_sprintf ("ERROR dead letter: wrong host (this orchester routes for host %s)",
                             self->host);
    if (verdict.dead >= 0)
        return zsys_sprintf ("ERROR dead letter: %s", s_dead_names[verdict.dead]);
    return zsys_sprintf ("OK routed to %s", verdict.routed);
}

//  Answers one request on the REP socket, read whole and without waiting (zsat_control): a
//  message without the REP delimiter is dropped and counted, never waited on.
static void
s_handle_control (self_t *self)
{
    zsat_control_t *c = &self->ctl;
    void *handle = zsock_resolve (self->control);
    //  Bounded: a queue of requests must not starve the data sockets.
    for (int round = 0; round < 16; round++) {
        if (zsat_control_recv (c, handle) == 0)
            break;
        zmq_msg_t *first = zsat_control_frame (c, 0);
        char *reply;
        if (c->received > 1 && zmq_msg_size (first) == 4 &&
            !memcmp (zmq_msg_data (first), "SEND", 4))
            reply = s_control_send (self);
        else {
            char *command = zsat_control_text (c, 255);
            if (!command)
                zsat_control_bad (c);
            reply =
                command ? s_command (self, command) : strdup ("ERROR one frame of text expected");
            free (command);
        }
        zsat_control_reply (handle, reply);
        free (reply);
        zsat_control_close (c);
    }
}

static void
s_handle_pipe (self_t *self)
{
    char *command = zstr_recv (self->pipe);
    if (!command || streq (command, "$TERM"))
        self->terminated = true;
    else {
        char *reply = s_command (self, command);
        zstr_send (self->pipe, reply);
        free (reply);
    }
    zstr_free (&command);
}

//  ---------------------------------------------------------------------------------------
//  Setup, loop, teardown

//  Reads an option in the topology's syntax: a duration ("200ms", "2s"), a size ("64k",
//  "1MiB") or a bare count. Returns the value, or fallback when absent or unreadable.
static int64_t
s_option (self_t *self, const char *key, bool duration, int64_t fallback)
{
    const zsat_node_t *node = zsat_topology_node_find (self->topology, self->node);
    const char *text = node ? zsat_topology_node_option (node, key) : NULL;
    int64_t value;
    if (!text)
        return fallback;
    if (duration ? zsat_topology_parse_duration (text, &value)
                 : zsat_topology_parse_size (text, &value))
        return fallback;
    return value;
}

static int
s_open_system (self_t *self, const zsat_socket_t *s, char *reason, size_t cap)
{
    zsock_t **slot = streq (s->name, "jobs")      ? &self->jobs
                     : streq (s->name, "any")     ? &self->any
                     : streq (s->name, "control") ? &self->control
                     : streq (s->name, "events")  ? &self->events
                     : streq (s->name, "state")   ? &self->state
                                                  : NULL;
    if (!slot)
        return 0;  //  links of the orchester node, if any, are not its business
    bool data = slot == &self->jobs || slot == &self->any;
    int linger = slot == &self->events ? 1000 : slot == &self->control ? 100 : 0;
    //  control takes a vector too (SEND): its frames are bounded like the data sockets'.
    bool big = data || slot == &self->control;
    *slot = s_socket_open (self, s->socket_type, s->endpoint, linger,
                           big ? ZSAT_PAYLOAD_MAX : 4 * S_CONTROL_MAX, false);
    if (!*slot) {
        snprintf (reason, cap, "cannot open %.60s on %.120s: %.40s", s->name, s->endpoint,
                  zmq_strerror (zmq_errno ()));
        return -1;
    }
    if (slot == &self->control)
        zsat_control_options (*slot, ZSAT_PAYLOAD_MAX);
    if (slot == &self->jobs) {
        //  Only this host's jobs: the scheduler's topic is the routing frame "host/type".
        char topic[ZSAT_NAME_MAX + 2];
        snprintf (topic, sizeof topic, "%s/", self->host);
        zsock_set_subscribe (*slot, topic);
    }
    if (slot == &self->state) {
        char topic[ZSAT_NAME_MAX + 8];
        snprintf (topic, sizeof topic, "RESEND.%s", self->host);
        zsock_set_subscribe (*slot, topic);
        zsock_set_subscribe (*slot, "BREAKER");
    }
    return 0;
}

//  Opens every socket the topology gives the orchester here and loads the routes of the
//  topology whose nodes are reachable. Returns 0, or -1 with a reason.
static int
s_open_sockets (self_t *self, char *reason, size_t cap)
{
    zsat_socket_t *list = (zsat_socket_t *)calloc (S_SOCKETS_MAX, sizeof (zsat_socket_t));
    int n = zsat_topology_sockets (self->topology, self->node, self->host, list, S_SOCKETS_MAX);
    int rc = n < 0 ? -1 : 0;
    if (n < 0)
        snprintf (reason, cap, "node %s does not run on host %s", self->node, self->host);
    for (int i = 0; i < n && rc == 0; i++) {
        bool far = strncmp (list[i].name, "remote:", 7) == 0;
        if (strncmp (list[i].name, "route:", 6) == 0 || far) {
            if (self->targets == S_TARGETS_MAX) {
                snprintf (reason, cap, "more than %d route sockets on host %.100s", S_TARGETS_MAX,
                          self->host);
                rc = -1;
            }
            else if (!s_target_get (self, list[i].name + (far ? 7 : 6))) {
                snprintf (reason, cap, "cannot open %.100s on %.120s", list[i].name,
                          list[i].endpoint);
                rc = -1;
            }
        }
        else
            rc = s_open_system (self, &list[i], reason, cap);
    }
    free (list);
    if (rc == 0 && !self->any && !self->jobs) {
        snprintf (reason, cap, "the topology gives the orchester no jobs and no any socket");
        rc = -1;
    }
    return rc;
}

static void
s_load_routes (self_t *self)
{
    for (size_t i = 0; i < zsat_topology_route_count (self->topology); i++) {
        const zsat_route_t *r = zsat_topology_route (self->topology, i);
        for (size_t k = 0; k < r->node_count; k++) {
            s_target_t *t = s_target_find (self, r->nodes[k]);
            if (!t || t->remote)
                continue;  //  a node of another host: the file's routes are per host
            zsat_routes_add (self->routes, r->type, t->node, (int)(t - self->target));
            if (r->alternate)
                snprintf (t->alternate, sizeof t->alternate, "%s", r->alternate);
        }
    }
}

static int
s_setup (self_t *self, zsat_node_args_t *args, char *reason, size_t cap)
{
    self->topology = args->topology;
    snprintf (self->host, sizeof self->host, "%s", args->host ? args->host : "");
    snprintf (self->node, sizeof self->node, "%s", args->node ? args->node : "orchester");
    self->host_len = strlen (self->host);
    self->instance = args->instance;
    const zsat_tracker_policy_t *policy = zsat_topology_policy (self->topology);
    self->max_seq = policy && policy->max_seq > 0 ? policy->max_seq : 50;
    self->hwm = (int)s_option (self, "hwm", false, S_DEFAULT_HWM);
    self->route_timeout_ms = (int)s_option (self, "route_timeout", true, S_DEFAULT_TIMEOUT);
    int64_t slots = s_option (self, "retry_cache", false, 8192);
    int64_t slot_bytes = s_option (self, "retry_slot", false, 1024);
    self->routes = zsat_routes_new ();
    self->cache = slots > 0 ? zsat_retrycache_new ((size_t)slots, (size_t)slot_bytes) : NULL;
    zsat_event_source_t source = {.wid = (uint32_t)self->instance, .pid = (uint32_t)getpid ()};
    snprintf (source.host, sizeof source.host, "%s", self->host);
    snprintf (source.node, sizeof source.node, "%s", self->node);
    snprintf (source.version, sizeof source.version, "%s", ZSAT_VERSION);
    self->batch = zsat_evbatch_new (&source, S_BATCH_RECORDS);
    zsat_frames_init (&self->frames);
    if (!self->routes || (slots > 0 && !self->cache) || !self->batch) {
        snprintf (reason, cap, "out of memory");
        return -1;
    }
    if (s_open_sockets (self, reason, cap))
        return -1;
    s_load_routes (self);
    return 0;
}

static void
s_destroy (self_t *self)
{
    zsat_frames_close (&self->frames);
    zsat_control_close (&self->ctl);
    zsock_destroy (&self->jobs);
    zsock_destroy (&self->any);
    zsock_destroy (&self->control);
    zsock_destroy (&self->state);
    zsock_destroy (&self->events);
    for (size_t i = 0; i < self->targets; i++)
        zsock_destroy (&self->target[i].sock);
    zsat_routes_destroy (&self->routes);
    zsat_retrycache_destroy (&self->cache);
    zsat_evbatch_destroy (&self->batch);
    free (self);
}

//  Poll timeout: the next event flush (when events wait) or the next heartbeat.
static long
s_timeout (self_t *self)
{
    int64_t now = zclock_mono ();
    int64_t next = self->next_heartbeat;
    if (zsat_evbatch_pending (self->batch) && self->next_flush < next)
        next = self->next_flush;
    return next > now ? (long)(next - now) : 0;
}

static void
s_timers (self_t *self)
{
    int64_t now = zclock_mono ();
    if (now >= self->next_heartbeat)
        s_heartbeat (self);
    else if (now >= self->next_flush)
        s_flush (self);
}

static void
s_loop (self_t *self)
{
    zsock_t *socks[] = {self->pipe, self->control, self->state, self->any, self->jobs};
    zmq_pollitem_t items[5];
    zsock_t *owner[5];
    int count = 0;
    for (int i = 0; i < 5; i++)
        if (socks[i]) {
            items[count] = (zmq_pollitem_t){zsock_resolve (socks[i]), 0, ZMQ_POLLIN, 0};
            owner[count++] = socks[i];
        }
    s_heartbeat (self);
    while (!self->terminated) {
        if (zmq_poll (items, count, s_timeout (self)) == -1 && zmq_errno () != EINTR)
            break;
        for (int i = 0; i < count && !self->terminated; i++) {
            if (!(items[i].revents & ZMQ_POLLIN))
                continue;
            if (owner[i] == self->pipe)
                s_handle_pipe (self);
            else if (owner[i] == self->control)
                s_handle_control (self);
            else if (owner[i] == self->state)
                s_handle_state (self);
            else
                s_drain (self, owner[i]);
        }
        s_timers (self);
    }
    //  Route what already arrived (bounded), then send the last events before closing.
    for (int round = 0; round < 16; round++) {
        if (self->any)
            s_drain (self, self->any);
        if (self->jobs)
            s_drain (self, self->jobs);
    }
    s_flush (self);
}

void
zsat_orchester_actor (zsock_t *pipe, void *args)
{
    self_t *self = (self_t *)calloc (1, sizeof (self_t));
    self->pipe = pipe;
    char reason[256] = "";
    if (!args || !((zsat_node_args_t *)args)->topology) {
        snprintf (reason, sizeof reason, "no topology given");
        self->routes = NULL;
    }
    if (reason[0] || s_setup (self, (zsat_node_args_t *)args, reason, sizeof reason)) {
        zsock_signal (pipe, 0);
        zstr_sendf (pipe, "FAILED %s", reason);
        s_destroy (self);
        return;
    }
    zsock_signal (pipe, 0);
    zstr_send (pipe, "READY");
    s_loop (self);
    s_destroy (self);
}

//  ---------------------------------------------------------------------------------------
//  Selftest: the orchester in-process; the test plays scheduler, tracker, workers, clients.

typedef struct {
    zsat_topology_t *topology;
    zactor_t *actor;
    zsock_t *jobs;                         //  PUB, as the scheduler
    zsock_t *events;                       //  PULL, as the tracker
    zsock_t *state;                        //  PUB, as the tracker
    zsock_t *any;                          //  PUSH, as a client
    zsock_t *control;                      //  REQ
    zsock_t *cpu, *mem, *archive, *spare;  //  PULL, as the workers
    zsock_t *broken, *backup, *lone;       //  PULL: a route, its alternate, an unrouted node
    uint64_t ev[ZSAT_EV_COUNT];
    uint64_t dead_detail[ZSAT_DEAD_COUNT];
    uint64_t probe_seen;
} s_test_t;

static zsock_t *
s_test_socket (s_test_t *t, const char *node, const char *name, int type, bool flip)
{
    zsat_socket_t list[32];
    int n = zsat_topology_sockets (t->topology, node, "h1", list, 32);
    for (int i = 0; i < n; i++)
        if (streq (list[i].name, name)) {
            char endpoint[512];
            if (flip)
                s_flip_endpoint (list[i].endpoint, endpoint, sizeof endpoint);
            else
                snprintf (endpoint, sizeof endpoint, "%s", list[i].endpoint);
            zsock_t *sock = zsock_new (type);
            assert (sock);
            zsock_set_rcvtimeo (sock, 3000);
            zsock_set_sndtimeo (sock, 3000);
            if (type == ZMQ_SUB)
                zsock_set_subscribe (sock, "");
            s_ipc_dirs (endpoint);
            assert (zsock_attach (sock, endpoint, true) == 0);
            return sock;
        }
    assert (!"socket not found");
    return NULL;
}

static void
s_test_send (zsock_t *sock, const char *where, const char *type, int event, uint32_t seq,
             uint64_t task_id)
{
    zsat_vector_t v;
    zsat_vector_init (&v);
    v.event = (uint8_t)event;
    v.seq = seq;
    v.task_id = task_id;
    v.job_id = 7;
    snprintf (v.where, sizeof v.where, "%s", where);
    snprintf (v.type, sizeof v.type, "%s", type);
    snprintf (v.emitter, sizeof v.emitter, "test");
    zsat_vector_set_payload (&v, "12345678", 8);
    zsat_error_t err;
    assert (zsat_vector_send (&v, zsock_resolve (sock), 0, &err) == 0);
}

//  Receives one vector within a bounded time. Returns 0 and fills v (payload not kept).
static int
s_test_recv (zsock_t *sock, zsat_vector_t *v, int timeout_ms)
{
    zmq_pollitem_t item = {zsock_resolve (sock), 0, ZMQ_POLLIN, 0};
    if (zmq_poll (&item, 1, timeout_ms) != 1)
        return -1;
    zsat_frames_t f;
    zsat_frames_init (&f);
    zsat_error_t err;
    int rc = zsat_frames_recv (&f, zsock_resolve (sock), 0) == 3 &&
                     zsat_vector_decode_frames (v, &f, &err) == 0
                 ? 0
                 : -1;
    v->payload = NULL;
    zsat_frames_close (&f);
    return rc;
}

static int
s_test_on_event (const zsat_event_rec_t *rec, void *arg)
{
    s_test_t *t = (s_test_t *)arg;
    t->ev[rec->event < ZSAT_EV_COUNT ? rec->event : 0]++;
    if (rec->event == ZSAT_EV_DEAD_LETTER)
        for (int i = 0; i < ZSAT_DEAD_COUNT; i++)
            if (streq (rec->detail, s_dead_names[i]))
                t->dead_detail[i]++;
    return 0;
}

//  Reads tracker batches until the DEAD_LETTER count for reason reaches want (bounded).
static void
s_test_events (s_test_t *t, int event, uint64_t want)
{
    for (int i = 0; i < 300 && t->ev[event] < want; i++) {
        zmq_pollitem_t item = {zsock_resolve (t->events), 0, ZMQ_POLLIN, 0};
        if (zmq_poll (&item, 1, 10) != 1)
            continue;
        zmsg_t *msg = zmsg_recv (t->events);
        assert (msg && zmsg_size (msg) == 2);
        zframe_t *body = zmsg_last (msg);
        zsat_event_source_t source;
        zsat_error_t err;
        assert (zsat_evbatch_decode (zframe_data (body), zframe_size (body), &source,
                                     s_test_on_event, t, &err) >= 0);
        assert (streq (source.node, "orchester") && streq (source.host, "h1"));
        zmsg_destroy (&msg);
    }
    assert (t->ev[event] >= want);
}

static char *
s_test_control (s_test_t *t, const char *command)
{
    zstr_send (t->control, command);
    char *reply = zstr_recv (t->control);
    assert (reply);
    return reply;
}

static char *
s_test_stats (s_test_t *t)
{
    zstr_send (t->actor, "STATS");
    return zstr_recv (t->actor);
}

//  Returns the number after "key": in the STATS JSON (keys are unique enough here).
static uint64_t
s_test_stat (s_test_t *t, const char *key)
{
    char *json = s_test_stats (t);
    uint64_t value = 0;
    assert (s_json_u64 (json, key, &value) == 0);
    free (json);
    return value;
}

static void
s_test_setup (s_test_t *t, const char *run_dir)
{
    char text[1024];
    snprintf (text, sizeof text,
              "name: otest\nrun_dir: %s\nbase_port: 7100\n"
              "hosts:\n  h1: {address: 127.0.0.1}\n"
              "nodes:\n  cpu: {kind: cpu}\n  mem: {kind: mem}\n  archive: {kind: log}\n"
              "  spare: {kind: cpu}\n  idle: {kind: cpu}\n"
              "  broken: {kind: cpu}\n  backup: {kind: cpu}\n  lone: {kind: cpu}\n"
              "routes:\n  cpu: cpu\n  mem: [mem, archive]\n  spare: spare\n  idle: idle\n"
              "  job: {to: [broken], alternate: backup}\n",
              run_dir);
    zsat_diag_t *diag = zsat_diag_new ();
    t->topology = zsat_topology_parse (text, strlen (text), "otest.yaml", diag);
    if (!t->topology)
        zsat_diag_print (diag, stderr);
    assert (t->topology);
    zsat_diag_destroy (&diag);
    //  The test binds the tracker's and scheduler's ends, connects the workers' ends.
    t->events = s_test_socket (t, "tracker", "events", ZMQ_PULL, false);
    t->state = s_test_socket (t, "tracker", "state", ZMQ_PUB, false);
    t->jobs = s_test_socket (t, "scheduler", "jobs", ZMQ_PUB, false);
    zsat_node_args_t args = {t->topology, "orchester", "h1", 0};
    t->actor = zactor_new (zsat_orchester_actor, &args);
    char *ready = zstr_recv (t->actor);
    assert (ready && streq (ready, "READY"));
    zstr_free (&ready);
    t->cpu = s_test_socket (t, "cpu", "in:route", ZMQ_PULL, false);
    t->mem = s_test_socket (t, "mem", "in:route", ZMQ_PULL, false);
    t->archive = s_test_socket (t, "archive", "in:route", ZMQ_PULL, false);
    t->spare = s_test_socket (t, "spare", "in:route", ZMQ_PULL, false);
    t->broken = s_test_socket (t, "broken", "in:route", ZMQ_PULL, false);
    t->backup = s_test_socket (t, "backup", "in:route", ZMQ_PULL, false);
    t->lone = s_test_socket (t, "lone", "in:route", ZMQ_PULL, false);
    t->any = s_test_socket (t, "orchester", "any", ZMQ_PUSH, true);
    t->control = s_test_socket (t, "orchester", "control", ZMQ_REQ, true);
}

static void
s_test_teardown (s_test_t *t)
{
    zactor_destroy (&t->actor);
    zsock_t **socks[] = {&t->jobs, &t->events,  &t->state, &t->any,    &t->control, &t->cpu,
                         &t->mem,  &t->archive, &t->spare, &t->broken, &t->backup,  &t->lone};
    for (size_t i = 0; i < sizeof socks / sizeof socks[0]; i++)
        zsock_destroy (socks[i]);
    zsat_topology_destroy (&t->topology);
}

//  Routing, BOUNCE, fan-out and every dead-letter reason.
static void
s_test_routing (s_test_t *t)
{
    zsat_vector_t v;
    s_test_send (t->any, "h1", "cpu", ZSAT_EV_INIT, 0, 1001);
    assert (s_test_recv (t->cpu, &v, 3000) == 0);
    assert (v.task_id == 1001 && v.seq == 1 && v.event == ZSAT_EV_INIT && v.payload_size == 8);
    s_test_send (t->any, "h1", "cpu", ZSAT_EV_BOUNCE, 5, 1002);
    assert (s_test_recv (t->cpu, &v, 3000) == 0);
    assert (v.task_id == 1002 && v.seq == 6 && v.event == ZSAT_EV_INIT);
    //  fan-out: both nodes of the route get the vector
    s_test_send (t->any, "h1", "mem", ZSAT_EV_INIT, 0, 1003);
    assert (s_test_recv (t->mem, &v, 3000) == 0 && v.task_id == 1003 && v.seq == 1);
    assert (s_test_recv (t->archive, &v, 3000) == 0 && v.task_id == 1003 && v.seq == 1);

    s_test_send (t->any, "h2", "cpu", ZSAT_EV_INIT, 0, 2001);
    s_test_send (t->any, "h1", "disk", ZSAT_EV_INIT, 0, 2002);
    s_test_send (t->any, "h1", "cpu", ZSAT_EV_INIT, 50, 2003);
    s_test_send (t->any, "h1", "cpu", ZSAT_EV_HAPPY_END, 0, 2004);
    zstr_sendm (t->any, "h1/cpu");
    zstr_sendm (t->any, "not an envelope");
    zstr_send (t->any, "payload");
    s_test_events (t, ZSAT_EV_DEAD_LETTER, 5);
    assert (t->dead_detail[ZSAT_DEAD_WRONG_HOST] == 1);
    assert (t->dead_detail[ZSAT_DEAD_UNKNOWN_TYPE] == 1);
    assert (t->dead_detail[ZSAT_DEAD_OVER_BOUNCED] == 1);
    assert (t->dead_detail[ZSAT_DEAD_UNEXPECTED_EVENT] == 1);
    assert (t->dead_detail[ZSAT_DEAD_MALFORMED] == 1);
    assert (s_test_stat (t, "wrong host") == 1 && s_test_stat (t, "unknown type") == 1);
    assert (s_test_stat (t, "over-bounced") == 1 && s_test_stat (t, "malformed") == 1);
    assert (s_test_stat (t, "routed") == 3);
    //  every routed vector was acked and sent (fan-out: two SENDs)
    s_test_events (t, ZSAT_EV_SEND, 4);
    assert (t->ev[ZSAT_EV_ACK] == 3 && t->ev[ZSAT_EV_SEND] == 4);
    //  nothing else arrived at the workers
    assert (s_test_recv (t->cpu, &v, 50) == -1);
}

//  SEND through the control socket, answered with the verdict; a DEALER's bare frame (no REP
//  delimiter) never stalls the loop.
static void
s_test_control_hostile (s_test_t *t)
{
    char endpoint[512];
    assert (zsat_topology_endpoint (t->topology, "orchester.control", "h1", "h1", endpoint,
                                    sizeof endpoint) == 0);
    zsock_t *dealer = zsock_new (ZMQ_DEALER);
    assert (zsock_attach (dealer, endpoint, false) == 0);
    zstr_send (dealer, "STATS");
    zstr_sendx (dealer, "ROUTE", "LIST", NULL);
    s_test_send (t->any, "h1", "cpu", ZSAT_EV_INIT, 0, 2999);
    zsat_vector_t v;
    assert (s_test_recv (t->cpu, &v, 5000) == 0 && v.task_id == 2999);
    zsock_destroy (&dealer);
    //  SEND + a vector: routed, and the answer says where
    zstr_sendm (t->control, "SEND");
    s_test_send (t->control, "h1", "cpu", ZSAT_EV_INIT, 0, 2998);
    char *reply = zstr_recv (t->control);
    assert (reply && streq (reply, "OK routed to cpu"));
    zstr_free (&reply);
    assert (s_test_recv (t->cpu, &v, 5000) == 0 && v.task_id == 2998);
    zstr_sendm (t->control, "SEND");
    s_test_send (t->control, "h1", "nosuch", ZSAT_EV_INIT, 0, 2997);
    reply = zstr_recv (t->control);
    assert (reply && strstr (reply, "ERROR dead letter: unknown type") && strstr (reply, "nosuch"));
    zstr_free (&reply);
    zstr_sendx (t->control, "SEND", "x", "y", NULL);
    reply = zstr_recv (t->control);
    assert (reply && strstr (reply, "usage: SEND"));
    zstr_free (&reply);
    assert (s_test_stat (t, "control_dropped") >= 1);
    s_test_events (t, ZSAT_EV_DEAD_LETTER, 1);
}

//  Garbage to every socket: counted, never a crash, good traffic unaffected.
static void
s_test_malformed (s_test_t *t)
{
    uint64_t before = s_test_stat (t, "malformed");
    zstr_send (t->any, "one frame of garbage");
    zstr_sendm (t->any, "two");
    zstr_send (t->any, "frames");
    for (int i = 0; i < 4; i++)
        zstr_sendm (t->any, "five");
    zstr_send (t->any, "frames");
    zmq_send (zsock_resolve (t->any), "", 0, ZMQ_SNDMORE);
    zmq_send (zsock_resolve (t->any), "\xdc\x00\x12\x01", 4, ZMQ_SNDMORE);
    zmq_send (zsock_resolve (t->any), "", 0, 0);
    //  the control socket answers garbage with an error and keeps serving
    char *reply = s_test_control (t, "HELLO");
    assert (strncmp (reply, "ERROR", 5) == 0);
    zstr_free (&reply);
    zstr_sendm (t->control, "ROUTE");
    zstr_send (t->control, "LIST");
    reply = zstr_recv (t->control);
    assert (reply && strncmp (reply, "ERROR", 5) == 0);
    zstr_free (&reply);
    reply = s_test_control (t, "ROUTE ADD bad/type cpu");
    assert (strncmp (reply, "ERROR", 5) == 0);
    zstr_free (&reply);
    s_test_control_hostile (t);
    //  garbage on the tracker feed and on the jobs feed
    zstr_sendm (t->state, "RESEND.h1");
    zstr_send (t->state, "{not json");
    zstr_send (t->state, "BREAKER");
    zstr_sendm (t->jobs, "h1/cpu");
    zstr_send (t->jobs, "x");
    s_test_events (t, ZSAT_EV_DEAD_LETTER, 9);
    uint64_t malformed = s_test_stat (t, "malformed");
    //  four on "any"; the jobs one too unless the PUB dropped it (slow joiner)
    assert (malformed == before + 4 || malformed == before + 5);
    zsat_vector_t v;
    s_test_send (t->any, "h1", "cpu", ZSAT_EV_INIT, 0, 3001);
    assert (s_test_recv (t->cpu, &v, 3000) == 0 && v.task_id == 3001);
}

//  Vectors that are valid but not canonical take the slow path (decode, re-encode): a
//  minimally packed envelope (what Python's msgpack.packb writes) and a DSAT legacy frame
//  used to abort the orchester here (a frame moved into a closed message). Also a message of
//  more bytes than a vector has: refused as it is read, counted "too big".
static void
s_test_slow_path (s_test_t *t)
{
    static const uint8_t minimal[] = {0xdc, 0x00, 0x12, 0x01, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00,
                                      0x00, 0x64, 0x00, 0x00, 0xa2, 'h',  '1',  0xa0, 0xa0, 0xa0,
                                      0xa3, 'c',  'p',  'u',  0xa0, 0xa3, 'r',  'a',  'w'};
    static const char legacy[] = "h1::0:0:\0test:cpu::4002:INIT:3\0raw\0legacy payload";
    uint64_t slow = s_test_stat (t, "slow_path");
    void *any = zsock_resolve (t->any);
    zmq_send (any, "h1/cpu", 6, ZMQ_SNDMORE);
    zmq_send (any, minimal, sizeof minimal, ZMQ_SNDMORE);
    zmq_send (any, "", 0, 0);
    zmq_send (any, legacy, sizeof legacy - 1, 0);
    zsat_vector_t v;
    assert (s_test_recv (t->cpu, &v, 3000) == 0);
    assert (v.task_id == 100 && v.seq == 1 && v.event == ZSAT_EV_INIT && v.payload_size == 0);
    assert (s_test_recv (t->cpu, &v, 3000) == 0);
    assert (v.task_id == 4002 && v.seq == 4 && (v.flags & ZSAT_FLAG_LEGACY));
    assert (s_test_stat (t, "slow_path") == slow + 2);
    uint64_t big = s_test_stat (t, "too big");
    char *frame = (char *)calloc (1, ZSAT_PAYLOAD_MAX);
    assert (frame);
    zmq_send (any, "h1/cpu", 6, ZMQ_SNDMORE);
    zmq_send (any, frame, 2 * 1024 * 1024, ZMQ_SNDMORE);
    zmq_send (any, frame, ZSAT_PAYLOAD_MAX, 0);
    free (frame);
    s_test_send (t->any, "h1", "cpu", ZSAT_EV_INIT, 0, 4003);
    assert (s_test_recv (t->cpu, &v, 5000) == 0 && v.task_id == 4003);
    assert (s_test_stat (t, "too big") == big + 1);
}

//  Routes change while vectors flow: every vector reaches a worker; the counts add up.
static void
s_test_run_time_routes (s_test_t *t)
{
    const uint64_t count = 2000;
    uint64_t cpu_before = s_test_stat (t, "routed");
    uint64_t sent_before = s_test_stat (t, "sent");
    char *reply;
    zsat_vector_t v;
    uint64_t at_cpu = 0, at_spare = 0;
    uint8_t *seen = (uint8_t *)calloc (count, 1);
    for (uint64_t i = 0; i < count; i++) {
        s_test_send (t->any, "h1", "cpu", ZSAT_EV_INIT, 0, 10000 + i);
        if (i == count / 2) {
            reply = s_test_control (t, "ROUTE MOVE cpu cpu spare");
            assert (streq (reply, "OK"));
            zstr_free (&reply);
        }
        while (s_test_recv (t->cpu, &v, 0) == 0 && ++at_cpu)
            seen[v.task_id - 10000] = 1;
        while (s_test_recv (t->spare, &v, 0) == 0 && ++at_spare)
            seen[v.task_id - 10000] = 1;
    }
    reply = s_test_control (t, "ROUTE LIST");
    assert (streq (reply, "cpu spare\nidle idle\njob broken\nmem mem archive\nspare spare\n"));
    zstr_free (&reply);
    for (int i = 0; i < 500 && s_test_stat (t, "routed") < cpu_before + count; i++)
        zclock_sleep (10);
    assert (s_test_stat (t, "routed") == cpu_before + count);
    while (s_test_recv (t->cpu, &v, 100) == 0 && ++at_cpu)
        seen[v.task_id - 10000] = 1;
    while (s_test_recv (t->spare, &v, 100) == 0 && ++at_spare)
        seen[v.task_id - 10000] = 1;
    uint64_t distinct = 0;
    for (uint64_t i = 0; i < count; i++)
        distinct += seen[i];
    assert (distinct == count);
    //  exactly what the orchester says it sent arrived, and nothing was dead-lettered
    assert (at_cpu + at_spare == s_test_stat (t, "sent") - sent_before);
    //  MOVE: each vector went to exactly one of the two, none to both
    assert (at_cpu + at_spare == count && at_cpu > 0 && at_spare > 0);
    free (seen);
    reply = s_test_control (t, "ROUTE MOVE cpu cpu spare");
    assert (streq (reply, "ERROR no such route"));
    zstr_free (&reply);
    reply = s_test_control (t, "ROUTE MOVE cpu spare tracker");
    assert (strstr (reply, "has no route endpoint"));
    zstr_free (&reply);
    reply = s_test_control (t, "ROUTE MOVE cpu spare");
    assert (strstr (reply, "usage: ROUTE MOVE"));
    zstr_free (&reply);
    //  put the table back
    reply = s_test_control (t, "ROUTE ADD cpu cpu");
    zstr_free (&reply);
    reply = s_test_control (t, "ROUTE DEL cpu spare");
    assert (streq (reply, "OK"));
    zstr_free (&reply);
    reply = s_test_control (t, "ROUTE DEL cpu spare");
    assert (strncmp (reply, "ERROR", 5) == 0);
    zstr_free (&reply);
    reply = s_test_control (t, "ROUTE ADD cpu nowhere");
    assert (strncmp (reply, "ERROR", 5) == 0);
    zstr_free (&reply);
}

//  The tracker feed: RESEND re-sends from the cache with retry and seq patched; BREAKER
//  moves traffic to the alternate, lets one probe through when half-open.
static void s_test_breaker (s_test_t *t, const char *body, const char *node, const char *state);

static void
s_test_feed (s_test_t *t)
{
    //  PUB/SUB slow joiner: repeat a harmless RESEND (not retained) until the orchester sees it
    for (int i = 0; i < 300 && s_test_stat (t, "resend_asked") == 0; i++) {
        zstr_sendm (t->state, "RESEND.h1");
        zstr_send (t->state, "{\"task_id\":999999,\"job_id\":1,\"type\":\"cpu\",\"retry\":1}");
        zclock_sleep (10);
    }
    s_test_events (t, ZSAT_EV_FAILURE, 1);
    assert (s_test_stat (t, "not retained") >= 1);
    //  a RESEND for another host is not for us
    zstr_sendm (t->state, "RESEND.h2");
    zstr_send (t->state, "{\"task_id\":1001,\"retry\":1}");
    zsat_vector_t v;
    zstr_sendm (t->state, "RESEND.h1");
    zstr_send (t->state,
               "{\"task_id\":1001,\"job_id\":7,\"type\":\"cpu\",\"retry\":1,\"stage\":\"cpu\"}");
    assert (s_test_recv (t->cpu, &v, 3000) == 0);
    assert (v.task_id == 1001 && v.retry == 1 && v.seq == 2 && v.payload_size == 8);
    s_test_events (t, ZSAT_EV_RETRY, 1);
    assert (s_test_recv (t->cpu, &v, 50) == -1);

    //  breaker open with an alternate: cpu's traffic goes to spare
    s_test_breaker (t, "{\"stage\":\"cpu\",\"state\":\"open\",\"alternate\":\"spare\"}", "cpu",
                    "open");
    s_test_send (t->any, "h1", "cpu", ZSAT_EV_INIT, 0, 4001);
    assert (s_test_recv (t->spare, &v, 3000) == 0 && v.task_id == 4001);
    //  half-open: one probe to cpu, flagged; the next goes to the alternate again
    s_test_breaker (t, "{\"stage\":\"cpu\",\"state\":\"half-open\"}", "cpu", "half-open");
    s_test_send (t->any, "h1", "cpu", ZSAT_EV_INIT, 0, 4002);
    s_test_send (t->any, "h1", "cpu", ZSAT_EV_INIT, 0, 4003);
    assert (s_test_recv (t->cpu, &v, 3000) == 0 && v.task_id == 4002);
    assert (v.flags & ZSAT_FLAG_PROBE);
    assert (s_test_recv (t->spare, &v, 3000) == 0 && v.task_id == 4003);
    assert (!(v.flags & ZSAT_FLAG_PROBE));
    //  closed: back to cpu
    s_test_breaker (t, "{\"stage\":\"cpu\",\"state\":\"closed\"}", "cpu", "closed");
    s_test_send (t->any, "h1", "cpu", ZSAT_EV_INIT, 0, 4004);
    assert (s_test_recv (t->cpu, &v, 3000) == 0 && v.task_id == 4004);
    //  open without an alternate: dead letter "circuit open"
    s_test_breaker (t, "{\"stage\":\"mem\",\"state\":\"open\"}", "mem", "open");
    s_test_send (t->any, "h1", "mem", ZSAT_EV_INIT, 0, 4005);
    assert (s_test_recv (t->archive, &v, 3000) == 0 && v.task_id == 4005);
    s_test_events (t, ZSAT_EV_DEAD_LETTER, 1);
    for (int i = 0; i < 300 && s_test_stat (t, "circuit open") == 0; i++)
        zclock_sleep (10);
    assert (s_test_stat (t, "circuit open") == 1);
    assert (s_test_recv (t->mem, &v, 50) == -1);
}

//  Sends one BREAKER message and waits until the orchester's STATS show the node's state.
static void
s_test_breaker (s_test_t *t, const char *body, const char *node, const char *state)
{
    char want[128];
    snprintf (want, sizeof want, "\"%s\":{", node);
    bool seen = false;
    for (int i = 0; i < 300 && !seen; i++) {
        zstr_sendm (t->state, "BREAKER");
        zstr_send (t->state, body);
        zclock_sleep (10);
        char *json = s_test_stats (t);
        const char *at = strstr (json, want);
        const char *mark = at ? strstr (at, "\"breaker\":\"") : NULL;
        seen = mark && strncmp (mark + 11, state, strlen (state)) == 0 &&
               mark[11 + strlen (state)] == '"';
        free (json);
    }
    assert (seen);
}

//  A route's alternate that no route's `to` names has its own route socket (topology): the
//  breaker diverts to it while open, probes the main node when half-open, comes back when
//  closed. A node no route names takes a route added at run time.
static void
s_test_alternate (s_test_t *t)
{
    zsat_vector_t v;
    s_test_send (t->any, "h1", "job", ZSAT_EV_INIT, 0, 8001);
    assert (s_test_recv (t->broken, &v, 3000) == 0 && v.task_id == 8001);
    s_test_breaker (t, "{\"stage\":\"broken\",\"state\":\"open\",\"alternate\":\"backup\"}",
                    "broken", "open");
    uint64_t dead = s_test_stat (t, "circuit open");
    for (uint64_t i = 0; i < 20; i++)
        s_test_send (t->any, "h1", "job", ZSAT_EV_INIT, 0, 8100 + i);
    for (uint64_t i = 0; i < 20; i++) {
        assert (s_test_recv (t->backup, &v, 3000) == 0 && v.task_id == 8100 + i);
        assert (v.seq == 1 && !(v.flags & ZSAT_FLAG_PROBE));
    }
    assert (s_test_recv (t->broken, &v, 50) == -1);
    assert (s_test_stat (t, "circuit open") == dead);
    //  half-open: one probe to the main node, then the alternate again
    s_test_breaker (t, "{\"stage\":\"broken\",\"state\":\"half-open\"}", "broken", "half-open");
    s_test_send (t->any, "h1", "job", ZSAT_EV_INIT, 0, 8201);
    s_test_send (t->any, "h1", "job", ZSAT_EV_INIT, 0, 8202);
    assert (s_test_recv (t->broken, &v, 3000) == 0 && v.task_id == 8201);
    assert (v.flags & ZSAT_FLAG_PROBE);
    assert (s_test_recv (t->backup, &v, 3000) == 0 && v.task_id == 8202);
    //  closed: back to the main node only
    s_test_breaker (t, "{\"stage\":\"broken\",\"state\":\"closed\"}", "broken", "closed");
    s_test_send (t->any, "h1", "job", ZSAT_EV_INIT, 0, 8301);
    assert (s_test_recv (t->broken, &v, 3000) == 0 && v.task_id == 8301);
    assert (s_test_recv (t->backup, &v, 50) == -1);
    //  open without an alternate in the message: the topology's alternate
    s_test_breaker (t, "{\"stage\":\"broken\",\"state\":\"open\"}", "broken", "open");
    s_test_send (t->any, "h1", "job", ZSAT_EV_INIT, 0, 8401);
    assert (s_test_recv (t->backup, &v, 3000) == 0 && v.task_id == 8401);
    s_test_breaker (t, "{\"stage\":\"broken\",\"state\":\"closed\"}", "broken", "closed");
    assert (s_test_stat (t, "circuit open") == dead);
    //  a node no route names: its socket is open and idle, a route added at run time works
    assert (s_test_recv (t->lone, &v, 50) == -1);
    char *reply = s_test_control (t, "ROUTE ADD solo lone");
    assert (streq (reply, "OK"));
    zstr_free (&reply);
    s_test_send (t->any, "h1", "solo", ZSAT_EV_INIT, 0, 8501);
    assert (s_test_recv (t->lone, &v, 3000) == 0 && v.task_id == 8501 && v.seq == 1);
    reply = s_test_control (t, "ROUTE DEL solo lone");
    assert (streq (reply, "OK"));
    zstr_free (&reply);
    //  system nodes never take jobs
    reply = s_test_control (t, "ROUTE ADD solo tracker");
    assert (strncmp (reply, "ERROR node tracker has no route endpoint", 40) == 0);
    zstr_free (&reply);
}

//  Jobs from the scheduler's PUB are routed like the rest (after the slow joiner).
static void
s_test_jobs (s_test_t *t)
{
    zsat_vector_t v;
    int got = -1;
    for (int i = 0; i < 100 && got; i++) {
        s_test_send (t->jobs, "h1", "spare", ZSAT_EV_INIT, 0, 5000 + (uint64_t)i);
        got = s_test_recv (t->spare, &v, 30);
    }
    assert (got == 0 && v.seq == 1);
    //  a job for another host is filtered by the subscription: never even received
    uint64_t wrong = s_test_stat (t, "wrong host");
    s_test_send (t->jobs, "h2", "spare", ZSAT_EV_INIT, 0, 6000);
    zclock_sleep (50);
    assert (s_test_stat (t, "wrong host") == wrong);
}

//  A route whose node never connected: one bounded wait, then dead letters without waiting.
static void
s_test_route_full (s_test_t *t)
{
    uint64_t before = t->dead_detail[ZSAT_DEAD_ROUTE_FULL];
    s_test_send (t->any, "h1", "idle", ZSAT_EV_INIT, 0, 7001);
    s_test_send (t->any, "h1", "idle", ZSAT_EV_INIT, 0, 7002);
    for (int i = 0; i < 300 && t->dead_detail[ZSAT_DEAD_ROUTE_FULL] < before + 2; i++)
        s_test_events (t, ZSAT_EV_DEAD_LETTER, t->ev[ZSAT_EV_DEAD_LETTER] + 1);
    assert (t->dead_detail[ZSAT_DEAD_ROUTE_FULL] == before + 2);
    assert (s_test_stat (t, "route full") == 2);
    //  other routes are unaffected
    zsat_vector_t v;
    s_test_send (t->any, "h1", "cpu", ZSAT_EV_INIT, 0, 7003);
    assert (s_test_recv (t->cpu, &v, 3000) == 0 && v.task_id == 7003);
}

void
zsat_orchester_test (bool verbose)
{
    printf (" * zsat_orchester: ");
    char run_dir[64];
    snprintf (run_dir, sizeof run_dir, "/tmp/zsat-otest-%d", (int)getpid ());
    s_test_t t;
    memset (&t, 0, sizeof t);
    s_test_setup (&t, run_dir);
    s_test_routing (&t);
    s_test_malformed (&t);
    s_test_slow_path (&t);
    s_test_run_time_routes (&t);
    s_test_feed (&t);
    s_test_alternate (&t);
    s_test_jobs (&t);
    s_test_route_full (&t);
    if (verbose) {
        char *json = s_test_stats (&t);
        printf ("\n%s\n", json);
        free (json);
    }
    s_test_teardown (&t);
    char command[128];
    snprintf (command, sizeof command, "rm -rf %s", run_dir);
    assert (system (command) == 0);
    printf ("OK\n");
}
