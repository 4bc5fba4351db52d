/*  zsat_bufnode - the buffer node actor (sockets and protocol in zsat_bufnode.h).

    Owns two ROUTER sockets (in: producers, out: consumers) and one zsat_buffer. A vector is
    answered STORED only once its append is durable per the channel's mode, and delivered
    to consumers only from the store, so whatever a consumer saw is on disk first.
*/
#include "zsat_bufnode.h"
#include "zsat_curve.h"
#include "zsat_options.h"
#include "zsat_ipcguard.h"
#include "zsat_bufclient.h"
#include "zsat_recv.h"
#include "zsat_dedup.h"
#include <errno.h>
#include <stdarg.h>
#include <time.h>
#include <unistd.h>

#define PEERS_MAX     64
#define DRAIN_MAX     1000  //  messages read per socket per loop turn: keeps the loop fair
#define DELIVER_BURST 256   //  records sent per consumer per loop turn

#define OPT(name, type, def, desc, field, ...)                                                     \
    {                                                                                              \
        name, type, def, desc, offsetof (zsat_bufnode_config_t, field),                            \
            sizeof (((zsat_bufnode_config_t *)0)->field), __VA_ARGS__                              \
    }

const zsat_option_t zsat_bufnode_options[] = {
    OPT ("channel", ZSAT_OPT_STRING, "", "critical channel stored (required)", channel),
    OPT ("dir", ZSAT_OPT_STRING, "", "buffer directory (default <run_dir>/<host>/buffer)", dir),
    OPT ("in", ZSAT_OPT_STRING, "",
         "producers' endpoint (default derived by the topology: ipc, plus tcp across hosts)", in),
    OPT ("out", ZSAT_OPT_STRING, "",
         "consumers' endpoint (default derived by the topology: ipc, plus tcp across hosts)", out),
    //  Acks beyond the cursors' window could not be remembered: the window must fit in it.
    OPT ("window", ZSAT_OPT_INT, "1000", "unacknowledged records in flight per consumer", window,
         ZSAT_RANGE (1, ZSAT_CURSOR_WINDOW)),
    OPT ("ack_timeout", ZSAT_OPT_DURATION, "5s", "no acknowledgement this long: replay",
         ack_timeout, ZSAT_ABOVE (0)),
    OPT ("replay_rate", ZSAT_OPT_INT, "20000", "records/s per consumer while replaying",
         replay_rate, ZSAT_AT_LEAST (1)),
    OPT ("segment_size", ZSAT_OPT_SIZE, "64MiB", "log segment size before rotation", segment_size,
         ZSAT_AT_LEAST (4096)),
    OPT ("compact_every", ZSAT_OPT_DURATION, "10s", "compaction and garbage collection period",
         compact_every, ZSAT_ABOVE (0)),
    ZSAT_OPTIONS_END};

//  --- Configuration ---

int
zsat_bufnode_config (zsat_topology_t *topology, const char *node, const char *host,
                     zsat_bufnode_config_t *config, zsat_error_t *err)
{
    const zsat_node_t *n = zsat_topology_node_find (topology, node);
    if (!n)
        return zsat_fail (err, ZSAT_E_CONFIG, "no node '%s' in the topology", node);
    //  The option table (types and constraints) is the one `zsat check` applies.
    const zsat_kind_t kind = {
        .name = "buffer", .options = zsat_bufnode_options, .config_size = sizeof *config};
    zsat_diag_t *diag = zsat_diag_new ();
    int rc = zsat_options_parse_at (&kind, n->options, n->option_count, config,
                                    zsat_topology_file (topology), n->line, n->col, diag);
    if (rc)
        zsat_fail (err, ZSAT_E_CONFIG, "node %s: %s", node, zsat_diag_get (diag, 0));
    zsat_diag_destroy (&diag);
    if (rc)
        return -1;
    if (!zsat_name_valid (config->channel))
        return zsat_fail (err, ZSAT_E_CONFIG, "node %s: option channel must name a channel", node);
    const char *run = zsat_topology_run_dir (topology);
    if (!config->dir[0])
        snprintf (config->dir, sizeof config->dir, "%s/%s/buffer",
                  zsat_topology_state_dir (topology), host);
    //  The topology derives both endpoints (ipc, plus tcp for peers on other hosts) so the
    //  runtime's producers and consumers find them without options.
    if (!config->in[0] &&
        zsat_topology_buffer_endpoint (topology, node, "in", NULL, config->in, sizeof config->in))
        snprintf (config->in, sizeof config->in, "ipc://%s/%s/%s.in.ipc", run, host, node);
    if (!config->out[0] && zsat_topology_buffer_endpoint (topology, node, "out", NULL, config->out,
                                                          sizeof config->out))
        snprintf (config->out, sizeof config->out, "ipc://%s/%s/%s.out.ipc", run, host, node);
    return 0;
}

//  --- The actor's state ---

typedef struct {
    char name[ZSAT_NAME_MAX];
    zframe_t *identity;  //  ROUTER identity of its current connection, NULL when gone
    uint64_t next_send;
    uint64_t max_sent;      //  highest seq sent since this node started
    int64_t last_progress;  //  zclock_mono () of the last cursor move (or of the first send)
    double tokens;          //  replay rate limiter (token bucket)
    int64_t tokens_at;
    zsat_buffer_pos_t pos;
    uint64_t delivered, replayed, timeouts;
} peer_t;

typedef struct {
    zframe_t *identity;
    char id[48];
    uint64_t seq;
} pending_t;

typedef struct {
    zsock_t *pipe, *in, *out;
    zsock_t *events;  //  PUSH to tracker.events: heartbeats (NULL when unreachable)
    zsat_evbatch_t *batch;
    int64_t heartbeat_at;
    zpoller_t *poller;
    zsat_bufnode_config_t cfg;
    zsat_buffer_t *buf;
    const zsat_channel_t *channel;  //  from the topology, NULL when not declared
    peer_t peer[PEERS_MAX];
    size_t peer_count;
    zlist_t *pending;       //  pending_t *, in seq order: STORED once durable
    uint64_t replay_below;  //  seqs stored before this start may have been delivered
    int64_t maintain_at;
    char who[160];
    bool terminated;
    zsat_dedup_t *dedup;  //  (producer, id) already stored: a re-sent copy is not stored again
    uint64_t stored, refused, acks, ack_errors, bad, oversize, compacted, collected, duplicates;
    uint64_t impostors;  //  HELLO/ACK for a consumer from another host's key
    char
        sender[ZSAT_NAME_MAX + 1];  //  the CURVE key's name of the message being handled ("": none)
} self_t;

#define DEDUP_REBUILD 8192  //  newest log records read at start to rebuild the dedup window

static int64_t
s_now_us (void)
{
    struct timespec ts;
    clock_gettime (CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

//  ipc endpoints need their directory; tcp ones need nothing.
static void
s_ipc_dir (const char *endpoint)
{
    char list[512];
    snprintf (list, sizeof list, "%s", endpoint);
    char *save = NULL;
    for (char *e = strtok_r (list, ",", &save); e; e = strtok_r (NULL, ",", &save)) {
        e += *e == '@';
        if (strncmp (e, "ipc://", 6) != 0)
            continue;
        char *slash = strrchr (e + 6, '/');
        if (slash && slash != e + 6) {
            *slash = 0;
            zsys_dir_create ("%s", e + 6);
        }
    }
}

static zsock_t *
s_router (const char *endpoint, bool mandatory, zsat_error_t *err)
{
    zsock_t *sock = zsock_new (ZMQ_ROUTER);
    if (!sock) {
        zsat_fail (err, ZSAT_E_IO, "cannot create a socket");
        return NULL;
    }
    //  Answers and records are worth draining at exit: a lost STORED costs a duplicate.
    zsock_set_linger (sock, 1000);
    //  Bounded: a window per peer is far below this; beyond it the sender waits or retries.
    zsock_set_sndhwm (sock, 100000);
    zsock_set_rcvhwm (sock, 100000);
    zsock_set_maxmsgsize (sock, ZSAT_PAYLOAD_MAX + 64 * 1024);
    //  A frozen or vanished peer must be noticed: without heartbeats it never is.
    zsock_set_heartbeat_ivl (sock, 1000);
    zsock_set_heartbeat_timeout (sock, 5000);
    //  Sending to a consumer that left must fail (EHOSTUNREACH), not vanish silently.
    if (mandatory)
        zsock_set_router_mandatory (sock, 1);
    s_ipc_dir (endpoint);
    char guard[512];
    if (zsat_ipcguard_check (endpoint, true, guard, sizeof guard) != 0) {
        zsat_fail (err, ZSAT_E_IO, "%s", guard);
        zsock_destroy (&sock);
        return NULL;
    }
    if (zsat_curve_apply (sock, NULL, endpoint, ZSAT_CURVE_SERVER) != 0) {
        zsat_fail (err, ZSAT_E_CONFIG, "cannot secure %s (see docs/security.md)", endpoint);
        zsock_destroy (&sock);
        return NULL;
    }
    //  "@a,@b" (zsock_attach syntax, as the topology derives it) binds every endpoint.
    int rc =
        *endpoint == '@' ? zsock_attach (sock, endpoint, true) : zsock_bind (sock, "%s", endpoint);
    if (rc < 0) {
        zsat_fail (err, ZSAT_E_IO, "cannot bind %s: %s", endpoint, zmq_strerror (zmq_errno ()));
        zsock_destroy (&sock);
    }
    return sock;
}

static peer_t *
s_peer (self_t *self, const char *name)
{
    for (size_t i = 0; i < self->peer_count; i++)
        if (streq (self->peer[i].name, name))
            return &self->peer[i];
    return NULL;
}

static peer_t *
s_peer_add (self_t *self, const char *name)
{
    if (self->peer_count == PEERS_MAX)
        return NULL;
    peer_t *p = &self->peer[self->peer_count++];
    memset (p, 0, sizeof *p);
    snprintf (p->name, sizeof p->name, "%.63s", name);
    zsat_buffer_pos_init (&p->pos);
    return p;
}

//  The origins of the newest records tell which re-sent vectors are already stored, so a
//  restarted node answers a producer's re-send with the first copy's seq.
static void
s_dedup_rebuild (self_t *self)
{
    self->dedup = zsat_dedup_new ();
    zsat_wal_t *wal = zsat_buffer_wal (self->buf);
    uint64_t last = zsat_wal_last_seq (wal), first = zsat_wal_first_seq (wal);
    if (!self->dedup || !last)
        return;
    uint64_t from = last >= first + DEDUP_REBUILD ? last - DEDUP_REBUILD + 1 : first;
    zsat_wal_pos_t pos;
    zsat_wal_pos_init (&pos);
    zsat_wal_record_t rec;
    char producer[ZSAT_PRODUCER_MAX];
    uint64_t id;
    for (uint64_t seq = from; seq <= last; seq++)
        if (zsat_wal_read (wal, &pos, seq, &rec, NULL) == 1 &&
            zsat_dedup_parse (rec.origin, rec.origin_size, producer, &id) == 0)
            zsat_dedup_add (self->dedup, producer, id, seq);
    zsat_wal_pos_close (&pos);
}

static int
s_open_store (self_t *self, zsat_node_args_t *args, zsat_error_t *err)
{
    zsat_buffer_opts_t opts;
    zsat_buffer_opts_init (&opts);
    opts.wal.segment_size = self->cfg.segment_size;
    self->channel = zsat_topology_channel_find (args->topology, self->cfg.channel);
    if (!self->channel)
        zsat_log_line (stderr, ZSAT_LOG_WARN, self->who,
                       "channel %s is not declared in the topology: durability batch, 1 GiB, "
                       "any consumer name accepted",
                       self->cfg.channel);
    if (self->channel && zsat_buffer_opts_from_channel (&opts, self->channel, err))
        return -1;
    zsat_buffer_report_t report;
    self->buf = zsat_buffer_open (self->cfg.dir, self->cfg.channel, &opts, &report, err);
    if (!self->buf)
        return -1;
    zsat_log_line (stderr, ZSAT_LOG_INFO, self->who, "opened %s (durability %s): %s",
                   zsat_buffer_path (self->buf), zsat_durability_name (opts.wal.durability),
                   report.message);
    for (size_t i = 0; self->channel && i < self->channel->consumer_count; i++)
        if (zsat_buffer_consumer_add (self->buf, self->channel->consumers[i], err) ||
            !s_peer_add (self, self->channel->consumers[i]))
            return -1;
    self->replay_below = zsat_buffer_last_seq (self->buf);
    s_dedup_rebuild (self);
    return 0;
}

//  The tracker learns the node is alive from a HEARTBEAT every second (a batch of one).
static void
s_open_events (self_t *self, zsat_node_args_t *args)
{
    char endpoint[600];
    if (zsat_topology_endpoint (args->topology, "tracker.events", NULL, args->host, endpoint,
                                sizeof endpoint)) {
        zsat_log_line (stderr, ZSAT_LOG_WARN, self->who, "no tracker.events: no heartbeats");
        return;
    }
    self->events = zsock_new (ZMQ_PUSH);
    //  Events are sent with DONTWAIT and dropped (counted) when the tracker lags: bounded.
    zsock_set_sndhwm (self->events, 1000);
    zsock_set_linger (self->events, 0);
    if (!self->events || zsat_curve_apply (self->events, args->host, endpoint, ZSAT_CURVE_CLIENT) ||
        zsock_attach (self->events, endpoint, false) != 0) {
        zsat_log_line (stderr, ZSAT_LOG_WARN, self->who, "cannot reach %s: no heartbeats",
                       endpoint);
        zsock_destroy (&self->events);
        return;
    }
    zsat_event_source_t source = {.wid = (uint32_t)args->instance, .pid = (uint32_t)getpid ()};
    snprintf (source.host, sizeof source.host, "%s", args->host);
    snprintf (source.node, sizeof source.node, "%s", args->node);
    snprintf (source.version, sizeof source.version, "%s", ZSAT_VERSION);
    self->batch = zsat_evbatch_new (&source, 16);
    self->heartbeat_at = zclock_mono ();
}

static void s_destroy (self_t **self_p);

static self_t *
s_new (zsock_t *pipe, zsat_node_args_t *args, zsat_error_t *err)
{
    self_t *self = calloc (1, sizeof *self);
    if (!self)
        return NULL;
    self->pipe = pipe;
    self->pending = zlist_new ();
    snprintf (self->who, sizeof self->who, "%s.%d", args->node, args->instance);
    if (zsat_bufnode_config (args->topology, args->node, args->host, &self->cfg, err) ||
        s_open_store (self, args, err) || !(self->in = s_router (self->cfg.in, false, err)) ||
        !(self->out = s_router (self->cfg.out, true, err))) {
        s_destroy (&self);
        return NULL;
    }
    s_open_events (self, args);
    self->poller = zpoller_new (pipe, self->in, self->out, NULL);
    self->maintain_at = zclock_mono () + self->cfg.compact_every;
    return self;
}

static void
s_destroy (self_t **self_p)
{
    self_t *self = *self_p;
    if (!self)
        return;
    pending_t *p;
    while ((p = zlist_pop (self->pending))) {
        zframe_destroy (&p->identity);
        free (p);
    }
    zlist_destroy (&self->pending);
    for (size_t i = 0; i < self->peer_count; i++) {
        zframe_destroy (&self->peer[i].identity);
        zsat_buffer_pos_close (&self->peer[i].pos);
    }
    zpoller_destroy (&self->poller);
    zsock_destroy (&self->in);
    zsock_destroy (&self->out);
    zsock_destroy (&self->events);
    zsat_evbatch_destroy (&self->batch);
    zsat_dedup_destroy (&self->dedup);
    zsat_buffer_destroy (&self->buf);
    free (self);
    *self_p = NULL;
}

//  --- Producers ---

static void s_answer (self_t *self, zframe_t *identity, const char *format, ...)
    __attribute__ ((format (printf, 3, 4)));

static void
s_answer (self_t *self, zframe_t *identity, const char *format, ...)
{
    char text[400];
    va_list args;
    va_start (args, format);
    vsnprintf (text, sizeof text, format, args);
    va_end (args);
    //  Never block the loop on a slow producer: an unsent STORED means a re-send, not a loss.
    if (zframe_send (&identity, self->in, ZFRAME_MORE | ZFRAME_REUSE | ZFRAME_DONTWAIT) == 0)
        zstr_send (self->in, text);
}

//  Tells the tracker the task is parked here (STORED, detail "retention_ms=N" from the
//  channel), so it waits the retention instead of the stage's deadline; never blocks.
static void
s_report_stored (self_t *self, const zsat_vector_t *v)
{
    if (!self->batch)
        return;
    char detail[48];
    snprintf (detail, sizeof detail, "retention_ms=%" PRId64,
              self->channel ? self->channel->retention_ms : (int64_t)3600000);
    if (zsat_evbatch_add_vector (self->batch, ZSAT_EV_STORED, v, detail) >= 12)
        zsat_evbatch_flush (self->batch, zsock_resolve (self->events), ZMQ_DONTWAIT);
}

static void
s_pending_add (self_t *self, zframe_t *identity, const char *id, uint64_t seq)
{
    pending_t *p = calloc (1, sizeof *p);
    if (!p)
        return;  //  unanswered: the producer re-sends, and the copy is recognised
    p->identity = zframe_dup (identity);
    snprintf (p->id, sizeof p->id, "%s", id);
    p->seq = seq;
    zlist_append (self->pending, p);
}

//  Appends the vector of frames f (origin: the PUT's "<producer> <id>", or empty), decoded
//  into *vp. Returns its seq, or 0 with err.
static uint64_t
s_store (self_t *self, zframe_t **f, const char *origin, zsat_vector_t *vp, zsat_error_t *err)
{
    zsat_vector_t v;
    zsat_wal_record_t rec = {.timestamp = s_now_us ()};
    for (int i = 0; i < 3; i++)
        rec.frame[i] = zframe_data (f[i]), rec.frame_size[i] = zframe_size (f[i]);
    rec.origin = (const uint8_t *)origin, rec.origin_size = strlen (origin);
    int rc = zsat_vector_decode (&v, rec.frame[0], rec.frame_size[0], rec.frame[1],
                                 rec.frame_size[1], rec.frame[2], rec.frame_size[2], err);
    if (rc == 0) {
        rec.task_id = v.task_id;
        rec.flags = v.flags | ZSAT_FLAG_CRITICAL;
        rc = zsat_buffer_append (self->buf, &rec, err);
    }
    *vp = v;
    return rc ? 0 : rec.seq;
}

//  Stores one ["PUT <id> [<producer>]", routing, envelope, payload] message, or refuses it.
//  A (producer, id) already stored is answered with its seq, not stored again.
static void
s_on_put (self_t *self, zmsg_t *msg)
{
    zframe_t *identity = zmsg_pop (msg);
    char *cmd = zmsg_popstr (msg);
    char id[48] = "?", producer[ZSAT_PRODUCER_MAX] = "", origin[ZSAT_PRODUCER_MAX + 24] = "";
    uint64_t num = 0, seq = 0;
    if (!identity || !cmd || sscanf (cmd, "PUT %47s", id) != 1 || zmsg_size (msg) != 3) {
        self->bad++;
        if (identity)
            s_answer (self, identity, "REFUSED %s want [\"PUT <id>\", routing, envelope, payload]",
                      id);
        zframe_destroy (&identity);
        zstr_free (&cmd);
        return;
    }
    //  Only a well-formed key is remembered; anything else is stored as it comes.
    if (sscanf (cmd, "PUT %*s %39s", producer) == 1 &&
        snprintf (origin, sizeof origin, "%s %s", producer, id) > 0 &&
        zsat_dedup_parse ((const uint8_t *)origin, strlen (origin), producer, &num) != 0)
        origin[0] = 0;
    if (origin[0] && (seq = zsat_dedup_find (self->dedup, producer, num)) != 0) {
        self->duplicates++;
        s_pending_add (self, identity, id, seq);  //  answered once seq is durable
    }
    else {
        zframe_t *f[3] = {zmsg_first (msg), zmsg_next (msg), zmsg_next (msg)};
        zsat_error_t err;
        zsat_vector_t v;
        seq = s_store (self, f, origin, &v, &err);
        if (!seq) {
            self->refused++;
            s_answer (self, identity, "REFUSED %s %s", id, err.text);
        }
        else {
            if (origin[0])
                zsat_dedup_add (self->dedup, producer, num, seq);
            s_pending_add (self, identity, id, seq);
            self->stored++;
            s_report_stored (self, &v);
        }
    }
    zframe_destroy (&identity);
    zstr_free (&cmd);
}

//  Answers STORED for every pending vector the durability mode now covers.
static void
s_answer_durable (self_t *self)
{
    uint64_t durable = zsat_buffer_durable_seq (self->buf);
    pending_t *p;
    while ((p = zlist_first (self->pending)) && p->seq <= durable) {
        zlist_pop (self->pending);
        s_answer (self, p->identity, "STORED %s %" PRIu64, p->id, p->seq);
        zframe_destroy (&p->identity);
        free (p);
    }
}

//  --- Consumers ---

static uint64_t
s_cursor (self_t *self, peer_t *p)
{
    uint64_t cursor = 0;
    zsat_cursors_get (zsat_buffer_cursors (self->buf), p->name, &cursor);
    return cursor;
}

static void
s_reply_out (self_t *self, zframe_t *identity, const char *text)
{
    if (zframe_send (&identity, self->out, ZFRAME_MORE | ZFRAME_REUSE | ZFRAME_DONTWAIT) == 0)
        zstr_send (self->out, text);
}

static bool
s_consumer_allowed (self_t *self, const char *name)
{
    if (!self->channel || self->channel->consumer_count == 0)
        return zsat_name_valid (name);
    for (size_t i = 0; i < self->channel->consumer_count; i++)
        if (streq (self->channel->consumers[i], name))
            return true;
    return false;
}

//  A HELLO from a new connection (a restarted consumer, or this node restarted) rewinds
//  delivery to the cursor: everything not acknowledged is sent again, flagged replay.
static void
s_on_hello (self_t *self, zframe_t *identity, const char *name)
{
    zsat_error_t err;
    peer_t *p = s_peer (self, name);
    if (!s_consumer_allowed (self, name)) {
        s_reply_out (self, identity, "DENIED not a consumer of this channel");
        return;
    }
    if (!p &&
        (zsat_buffer_consumer_add (self->buf, name, &err) || !(p = s_peer_add (self, name)))) {
        s_reply_out (self, identity, "DENIED too many consumers");
        return;
    }
    if (!p->identity || !zframe_eq (p->identity, identity)) {
        zframe_destroy (&p->identity);
        p->identity = zframe_dup (identity);
        p->next_send = s_cursor (self, p) + 1;
        p->last_progress = zclock_mono ();
        zsat_log_line (stderr, ZSAT_LOG_INFO, self->who, "consumer %s connected at cursor %" PRIu64,
                       name, p->next_send - 1);
    }
    char text[64];
    snprintf (text, sizeof text, "WELCOME %" PRIu64, s_cursor (self, p));
    s_reply_out (self, identity, text);
}

static void
s_on_ack (self_t *self, const char *name, uint64_t seq)
{
    zsat_error_t err;
    int rc = zsat_buffer_ack (self->buf, name, seq, &err);
    self->acks++;
    if (rc < 0) {
        if (self->ack_errors++ < 10)
            zsat_log_line (stderr, ZSAT_LOG_WARN, self->who, "%s", err.text);
        return;
    }
    peer_t *p = s_peer (self, name);
    if (p && rc == 1)
        p->last_progress = zclock_mono ();
}

//  A HELLO or ACK for consumer name must come from a host the consumer runs on (its CURVE
//  key): anyone else would take the consumer's records away from it. Counted, logged.
static bool
s_consumer_is_peer (self_t *self, const char *name)
{
    const char *sender = *self->sender ? self->sender : NULL;
    if (zsat_curve_name_may_be (sender, name))
        return true;
    if (self->impostors++ % 1000 == 0)
        zsat_log_line (stderr, ZSAT_LOG_WARN, self->who,
                       "refused HELLO/ACK for consumer %s from host key %s (impostors=%" PRIu64 ")",
                       name, sender, self->impostors);
    return false;
}

static void
s_on_out (self_t *self, zmsg_t *msg)
{
    zframe_t *identity = zmsg_pop (msg);
    zframe_t *body = zmsg_pop (msg);
    char *text = body ? zframe_strdup (body) : NULL;
    char name[ZSAT_NAME_MAX + 1];
    uint64_t seq;
    bool ack = identity && text && sscanf (text, "ACK %64s %" SCNu64, name, &seq) == 2;
    bool hello = !ack && identity && text && sscanf (text, "HELLO %64s", name) == 1;
    if ((ack || hello) && !s_consumer_is_peer (self, name))
        hello = ack = false;  //  counted as impostor
    if (ack)
        s_on_ack (self, name, seq);
    else if (hello)
        s_on_hello (self, identity, name);
    else
        self->bad++;
    zframe_destroy (&identity);
    zframe_destroy (&body);
    zstr_free (&text);
}

//  Token bucket: a replay goes at most replay_rate records/s, a burst of one tenth of that.
static bool
s_take_token (self_t *self, peer_t *p)
{
    int64_t now = zclock_usecs ();
    double rate = (double)self->cfg.replay_rate, burst = rate / 10 > 1 ? rate / 10 : 1;
    p->tokens += (double)(now - p->tokens_at) * rate / 1e6;
    p->tokens = p->tokens > burst ? burst : p->tokens;
    p->tokens_at = now;
    if (p->tokens < 1)
        return false;
    p->tokens -= 1;
    return true;
}

//  Sends one record to p. Returns 0, or -1 when the consumer cannot take it now.
static int
s_send_record (self_t *self, peer_t *p, zsat_wal_record_t *rec, bool replay)
{
    void *out = zsock_resolve (self->out);
    uint32_t flags = rec->flags | (replay ? ZSAT_FLAG_REPLAY : 0);
    char head[64];
    int n = snprintf (head, sizeof head, "REC %" PRIu64 " %" PRIu32, rec->seq, flags);
    if (zmq_send (out, zframe_data (p->identity), zframe_size (p->identity),
                  ZMQ_SNDMORE | ZMQ_DONTWAIT) < 0) {
        if (zmq_errno () == EHOSTUNREACH)  //  gone: wait for its next HELLO
            zframe_destroy (&p->identity);
        return -1;
    }
    //  The replay flag is also patched into a copy of the envelope, for consumers that
    //  only look at the vector.
    uint8_t envelope[ZSAT_ENVELOPE_MAX];
    size_t esize = rec->frame_size[1] <= sizeof envelope ? rec->frame_size[1] : 0;
    memcpy (envelope, rec->frame[1], esize);
    uint64_t vflags;
    if (replay && esize && zsat_vector_peek (envelope, esize, ZSAT_FIELD_FLAGS, &vflags) == 0)
        zsat_vector_patch (envelope, esize, ZSAT_FIELD_FLAGS, vflags | ZSAT_FLAG_REPLAY);
    zmq_send (out, head, (size_t)n, ZMQ_SNDMORE);
    zmq_send (out, rec->frame[0], rec->frame_size[0], ZMQ_SNDMORE);
    zmq_send (out, esize ? envelope : rec->frame[1], rec->frame_size[1], ZMQ_SNDMORE);
    zmq_send (out, rec->frame[2], rec->frame_size[2], 0);
    return 0;
}

static void
s_deliver_to (self_t *self, peer_t *p, uint64_t durable)
{
    uint64_t cursor = s_cursor (self, p);
    if (p->next_send <= cursor)
        p->next_send = cursor + 1;
    zsat_cursors_t *cursors = zsat_buffer_cursors (self->buf);
    for (int sent = 0; sent < DELIVER_BURST && p->identity && p->next_send <= durable &&
                       p->next_send <= cursor + (uint64_t)self->cfg.window;) {
        uint64_t seq = p->next_send;
        bool replay = seq <= p->max_sent || seq <= self->replay_below;
        if (zsat_cursors_acked (cursors, p->name, seq)) {
            p->next_send++;  //  acknowledged out of order already
            continue;
        }
        if (replay && !s_take_token (self, p))
            return;
        zsat_wal_record_t rec;
        zsat_error_t err;
        int rc = zsat_buffer_read (self->buf, &p->pos, seq, &rec, &err);
        if (rc < 0) {
            zsat_log_line (stderr, ZSAT_LOG_ERROR, self->who, "%s", err.text);
            return;
        }
        if (rc == 0) {
            //  A hole (records a repair cut off): nothing to deliver, and the cursor must
            //  not wait for an acknowledgement that can never come.
            zsat_cursors_ack (cursors, p->name, seq, NULL);
            p->next_send++;
            continue;
        }
        if (s_send_record (self, p, &rec, replay))
            return;
        if (seq == cursor + 1)
            p->last_progress = zclock_mono ();  //  the ack timeout runs from the first send
        p->next_send++;
        p->max_sent = seq > p->max_sent ? seq : p->max_sent;
        if (replay)
            p->replayed++;
        else
            p->delivered++;
        sent++;
    }
}

//  A consumer that acknowledged nothing for ack_timeout while records were in flight gets
//  everything after its cursor again (it may have lost them, or be stuck).
static void
s_check_timeouts (self_t *self)
{
    int64_t now = zclock_mono ();
    for (size_t i = 0; i < self->peer_count; i++) {
        peer_t *p = &self->peer[i];
        if (p->identity && p->next_send > s_cursor (self, p) + 1 &&
            now - p->last_progress > self->cfg.ack_timeout) {
            p->next_send = s_cursor (self, p) + 1;
            p->last_progress = now;
            p->timeouts++;
        }
    }
}

//  --- Loop ---

static void
s_maintain (self_t *self, bool rotate, int *compacted, int *deleted)
{
    zsat_error_t err;
    //  Collect first: a segment every consumer acknowledged is deleted, not converted.
    *deleted = zsat_buffer_gc (self->buf, &err);
    if (*deleted < 0)
        zsat_log_line (stderr, ZSAT_LOG_ERROR, self->who, "gc: %s", err.text);
    //  Periodic rounds compact one segment per loop turn, so producers and consumers are
    //  never kept waiting for more than one segment's conversion.
    *compacted = rotate ? zsat_buffer_compact (self->buf, true, &err)
                        : zsat_buffer_compact_step (self->buf, &err);
    if (*compacted < 0)
        zsat_log_line (stderr, ZSAT_LOG_ERROR, self->who, "compaction: %s", err.text);
    self->compacted += *compacted > 0 ? (uint64_t)*compacted : 0;
    self->collected += *deleted > 0 ? (uint64_t)*deleted : 0;
    //  More finished segments waiting: come back at the next turn, not a period later.
    bool more = !rotate && *compacted == 1;
    self->maintain_at = zclock_mono () + (more ? 0 : self->cfg.compact_every);
}

static void
s_send_stats (self_t *self)
{
    char text[4096];
    int n = snprintf (text, sizeof text,
                      "{\"stored\":%" PRIu64 ",\"refused\":%" PRIu64 ",\"acks\":%" PRIu64
                      ",\"ack_errors\":%" PRIu64 ",\"bad\":%" PRIu64 ",\"oversize\":%" PRIu64
                      ",\"impostors\":%" PRIu64 ",\"compacted\":%" PRIu64 ",\"collected\":%" PRIu64
                      ",\"duplicates\":%" PRIu64 ",\"durable_seq\":%" PRIu64
                      ",\"disk_bytes\":%" PRId64 ",\"consumers\":{",
                      self->stored, self->refused, self->acks, self->ack_errors, self->bad,
                      self->oversize, self->impostors, self->compacted, self->collected,
                      self->duplicates, zsat_buffer_durable_seq (self->buf),
                      zsat_buffer_disk_size (self->buf));
    for (size_t i = 0; i < self->peer_count && n < (int)sizeof text - 200; i++) {
        peer_t *p = &self->peer[i];
        n += snprintf (text + n, sizeof text - (size_t)n,
                       "%s\"%s\":{\"cursor\":%" PRIu64 ",\"delivered\":%" PRIu64
                       ",\"replayed\":%" PRIu64 ",\"timeouts\":%" PRIu64 ",\"connected\":%s}",
                       i ? "," : "", p->name, s_cursor (self, p), p->delivered, p->replayed,
                       p->timeouts, p->identity ? "true" : "false");
    }
    snprintf (text + n, sizeof text - (size_t)n, "}}");
    zstr_send (self->pipe, text);
}

static void
s_on_pipe (self_t *self)
{
    char *cmd = zstr_recv (self->pipe);
    if (!cmd || streq (cmd, "$TERM"))
        self->terminated = true;
    else if (streq (cmd, "STATS"))
        s_send_stats (self);
    else if (streq (cmd, "COMPACT")) {
        int compacted, deleted;
        s_maintain (self, true, &compacted, &deleted);
        zstr_sendf (self->pipe, "OK %d %d", compacted, deleted);
    }
    zstr_free (&cmd);
}

//  Most frames and bytes of a message on each socket: [identity, "PUT <id>", routing,
//  envelope, payload] on `in`, [identity, "ACK|HELLO ..."] on `out` (identities are at most
//  255 bytes). Anything bigger is dropped as it is read (zsat_recv) and counted in `bad`.
static const zsat_recv_limit_t s_in_limit = {5, ZSAT_VECTOR_BYTES_MAX + 1024};
static const zsat_recv_limit_t s_out_limit = {2, 1024};

//  Receives one message within its socket's limits as a zmsg (the handlers' form). Returns
//  NULL when none is waiting or it was refused (then counted).
static zmsg_t *
s_recv_msg (self_t *self, zsock_t *sock)
{
    zmq_msg_t frame[5];
    zsat_recv_info_t info;
    const zsat_recv_limit_t *limit = sock == self->in ? &s_in_limit : &s_out_limit;
    int n = zsat_recv (zsock_resolve (sock), frame, limit, ZMQ_DONTWAIT, &info);
    if (n <= 0) {
        if (n == 0) {
            self->bad++;
            self->oversize++;
        }
        return NULL;
    }
    //  Who sent it, read before the frames are copied (a copy has no metadata).
    const char *name = zmq_msg_gets (&frame[n - 1], "name");
    snprintf (self->sender, sizeof self->sender, "%s", name ? name : "");
    zmsg_t *msg = zmsg_new ();
    for (int i = 0; i < n; i++) {
        if (msg && zmsg_addmem (msg, zmq_msg_data (&frame[i]), zmq_msg_size (&frame[i])))
            zmsg_destroy (&msg);
        zmq_msg_close (&frame[i]);
    }
    return msg;
}

static void
s_drain (self_t *self, zsock_t *sock, void (*handle) (self_t *, zmsg_t *))
{
    for (int i = 0; i < DRAIN_MAX && (zsock_events (sock) & ZMQ_POLLIN); i++) {
        zmsg_t *msg = s_recv_msg (self, sock);
        if (msg)
            handle (self, msg);
        zmsg_destroy (&msg);
    }
}

static int
s_wait_ms (self_t *self)
{
    int64_t due = zsat_buffer_commit_due (self->buf);
    int wait = due >= 0 && due < 50 ? (int)due : 50;
    uint64_t durable = zsat_buffer_durable_seq (self->buf);
    for (size_t i = 0; i < self->peer_count; i++) {
        peer_t *p = &self->peer[i];
        //  Work left for a consumer that is only held back by the replay rate: come back soon.
        if (p->identity && p->next_send <= durable &&
            p->next_send <= s_cursor (self, p) + (uint64_t)self->cfg.window)
            wait = wait < 2 ? wait : 2;
    }
    return wait;
}

static void
s_heartbeat (self_t *self)
{
    if (!self->batch || zclock_mono () < self->heartbeat_at)
        return;
    self->heartbeat_at = zclock_mono () + 1000;
    uint64_t out = 0;
    for (size_t i = 0; i < self->peer_count; i++)
        out += self->peer[i].delivered + self->peer[i].replayed;
    zsat_event_rec_t rec = {.event = ZSAT_EV_HEARTBEAT, .timestamp = s_now_us ()};
    snprintf (rec.detail, sizeof rec.detail,
              "in=%" PRIu64 " out=%" PRIu64 " errors=%" PRIu64 " retries=0 dropped=%" PRIu64
              " dead=%" PRIu64,
              self->stored, out, self->refused + self->ack_errors,
              zsat_evbatch_dropped (self->batch), self->bad);
    zsat_evbatch_add (self->batch, &rec);
    zsat_evbatch_flush (self->batch, zsock_resolve (self->events), ZMQ_DONTWAIT);
}

static void
s_turn (self_t *self)
{
    zsat_error_t err;
    if (zsat_buffer_commit (self->buf, false, &err))
        zsat_log_line (stderr, ZSAT_LOG_ERROR, self->who, "commit: %s", err.text);
    s_answer_durable (self);
    uint64_t durable = zsat_buffer_durable_seq (self->buf);
    for (size_t i = 0; i < self->peer_count; i++)
        s_deliver_to (self, &self->peer[i], durable);
    //  A damaged archive met while delivering was quarantined: said once, then delivery goes on.
    const char *notice = zsat_buffer_notice (self->buf);
    if (notice)
        zsat_log_line (stderr, ZSAT_LOG_WARN, self->who, "%s", notice);
    s_check_timeouts (self);
    s_heartbeat (self);
    if (self->batch)
        zsat_evbatch_flush (self->batch, zsock_resolve (self->events), ZMQ_DONTWAIT);
    if (zclock_mono () >= self->maintain_at) {
        int compacted, deleted;
        s_maintain (self, false, &compacted, &deleted);
    }
}

void
zsat_bufnode_actor (zsock_t *pipe, void *args)
{
    zsat_error_t err;
    self_t *self = s_new (pipe, (zsat_node_args_t *)args, &err);
    zsock_signal (pipe, 0);
    if (!self) {
        zstr_sendf (pipe, "FAILED %s", err.text);
        return;
    }
    zstr_send (pipe, "READY");
    while (!self->terminated) {
        zsock_t *which = zpoller_wait (self->poller, s_wait_ms (self));
        if (zpoller_terminated (self->poller))
            break;
        if (which == self->pipe)
            s_on_pipe (self);
        else if (which == self->in)
            s_drain (self, self->in, s_on_put);
        else if (which == self->out)
            s_drain (self, self->out, s_on_out);
        s_turn (self);
    }
    //  Whatever was written gets synced and answered before the node goes.
    zsat_buffer_commit (self->buf, true, NULL);
    s_answer_durable (self);
    s_destroy (&self);
}

//  --- Selftest ---

static char s_test_in[128], s_test_out[128];

static zsat_topology_t *
s_test_topology (const char *dir, const char *limit)
{
    char *text = zsys_sprintf (
        "name: buftest\nrun_dir: %s/run\nhosts:\n  a: {address: 127.0.0.1}\nnodes:\n"
        "  buf: {kind: buffer, host: a, options: {channel: crit, dir: %s, in: 'ipc://%s/in.ipc',"
        " out: 'ipc://%s/out.ipc', ack_timeout: 300ms, segment_size: 4096, compact_every: 1h,"
        " replay_rate: 100000}}\n"
        "  fast: {kind: csv, host: a}\n  slow: {kind: csv, host: a}\n"
        "channels:\n  crit: {critical: true, durability: batch, max_delay: 5ms,"
        " disk_limit: %s, consumers: [fast, slow]}\n",
        dir, dir, dir, dir, limit);
    zsat_diag_t *diag = zsat_diag_new ();
    zsat_topology_t *topology = zsat_topology_parse (text, strlen (text), "buftest.yaml", diag);
    if (!topology)
        zsat_diag_print (diag, stdout);
    zsat_diag_destroy (&diag);
    zstr_free (&text);
    return topology;
}

//  Sends n vectors (task ids from first) and waits for their answers: returns how many
//  were STORED (and checks their seqs grow), the rest were refused.
static int
s_test_produce (uint64_t first, int n, char *refusal, size_t cap)
{
    zsat_bufproducer_t *p = zsat_bufproducer_new (s_test_in, 64, 2000, NULL);
    assert (p);
    int stored = 0, answers = 0;
    uint8_t envelope[ZSAT_ENVELOPE_MAX];
    char routing[ZSAT_ROUTING_MAX], payload[64];
    zsat_bufreply_t reply;
    for (int i = 0; i < n; i++) {
        zsat_vector_t v;
        zsat_vector_init (&v);
        strcpy (v.where, "a"), strcpy (v.type, "t"), strcpy (v.channel, "crit");
        v.task_id = first + (uint64_t)i;
        snprintf (payload, sizeof payload, "task %" PRIu64, v.task_id);
        zsat_vector_set_payload (&v, payload, strlen (payload));
        int rsize = zsat_vector_encode_routing (&v, routing, sizeof routing, NULL);
        int esize = zsat_vector_encode_envelope (&v, envelope, sizeof envelope, NULL);
        assert (rsize > 0 && esize > 0);
        assert (zsat_bufproducer_send (p, routing, (size_t)rsize, envelope, (size_t)esize, payload,
                                       strlen (payload), 5000, NULL) > 0);
    }
    while (answers < n && zsat_bufproducer_poll (p, 5000, &reply) == 1) {
        answers++;
        stored += reply.stored;
        if (!reply.stored && refusal)
            snprintf (refusal, cap, "%s", reply.reason);
    }
    assert (answers == n);
    zsat_bufproducer_destroy (&p);
    return stored;
}

//  Sends one vector for task with the PUT frame put over a raw DEALER; returns the seq the
//  node answered STORED (0 when it did not).
static uint64_t
s_test_put_raw (uint64_t task, const char *put)
{
    zsat_vector_t v;
    zsat_vector_init (&v);
    strcpy (v.where, "a"), strcpy (v.type, "t"), strcpy (v.channel, "crit");
    v.task_id = task;
    char payload[64], routing[ZSAT_ROUTING_MAX];
    uint8_t envelope[ZSAT_ENVELOPE_MAX];
    snprintf (payload, sizeof payload, "task %" PRIu64, task);
    zsat_vector_set_payload (&v, payload, strlen (payload));
    int rsize = zsat_vector_encode_routing (&v, routing, sizeof routing, NULL);
    int esize = zsat_vector_encode_envelope (&v, envelope, sizeof envelope, NULL);
    zsock_t *raw = zsock_new_dealer (s_test_in);
    zsock_set_rcvtimeo (raw, 5000);
    zstr_sendm (raw, put);
    zmq_send (zsock_resolve (raw), routing, (size_t)rsize, ZMQ_SNDMORE);
    zmq_send (zsock_resolve (raw), envelope, (size_t)esize, ZMQ_SNDMORE);
    zmq_send (zsock_resolve (raw), payload, strlen (payload), 0);
    char *answer = zstr_recv (raw);
    uint64_t seq = 0;
    if (!answer || sscanf (answer, "STORED %*s %" SCNu64, &seq) != 1)
        seq = 0;
    zstr_free (&answer);
    zsock_destroy (&raw);
    return seq;
}

//  Appends n vectors (task ids from first) straight into the store of channel crit in dir.
static void
s_test_store_direct (const char *dir, uint64_t first, int n)
{
    zsat_buffer_opts_t opts;
    zsat_buffer_opts_init (&opts);
    opts.wal.segment_size = 4096;
    zsat_buffer_t *buf = zsat_buffer_open (dir, "crit", &opts, NULL, NULL);
    assert (buf);
    uint8_t envelope[ZSAT_ENVELOPE_MAX];
    char routing[ZSAT_ROUTING_MAX], payload[64];
    for (int i = 0; i < n; i++) {
        zsat_vector_t v;
        zsat_vector_init (&v);
        strcpy (v.where, "a"), strcpy (v.type, "t");
        v.task_id = first + (uint64_t)i;
        snprintf (payload, sizeof payload, "task %" PRIu64, v.task_id);
        zsat_vector_set_payload (&v, payload, strlen (payload));
        zsat_wal_record_t rec = {.task_id = v.task_id, .timestamp = 1};
        rec.frame[0] = (uint8_t *)routing;
        rec.frame_size[0] = (size_t)zsat_vector_encode_routing (&v, routing, sizeof routing, NULL);
        rec.frame[1] = envelope;
        rec.frame_size[1] =
            (size_t)zsat_vector_encode_envelope (&v, envelope, sizeof envelope, NULL);
        rec.frame[2] = (uint8_t *)payload, rec.frame_size[2] = strlen (payload);
        assert (zsat_buffer_append (buf, &rec, NULL) == 0);
    }
    zsat_buffer_destroy (&buf);
}

//  Receives up to n records; checks each payload names its task; acks when asked.
static int
s_test_consume (zsat_bufconsumer_t *c, int n, bool ack, uint32_t want_flags, uint64_t *last)
{
    zsat_bufrecord_t rec;
    int got = 0;
    while (got < n && zsat_bufconsumer_recv (c, 3000, &rec) == 1) {
        zsat_vector_t v;
        assert (zsat_vector_decode (&v, rec.frame[0], rec.frame_size[0], rec.frame[1],
                                    rec.frame_size[1], rec.frame[2], rec.frame_size[2], NULL) == 0);
        assert ((rec.flags & want_flags) == want_flags);
        assert ((v.flags & ZSAT_FLAG_REPLAY) == (rec.flags & ZSAT_FLAG_REPLAY));
        char payload[64];
        snprintf (payload, sizeof payload, "task %" PRIu64, v.task_id);
        assert (v.payload_size == strlen (payload) && !memcmp (v.payload, payload, v.payload_size));
        if (ack)
            zsat_bufconsumer_ack (c, rec.seq);
        *last = rec.seq;
        got++;
    }
    return got;
}

static char *
s_test_stats (zactor_t *node)
{
    zstr_send (node, "STATS");
    return zstr_recv (node);
}

//  Waits (bounded: 10 s) until the node reports consumer's cursor at cursor.
static void
s_test_wait_cursor (zactor_t *node, const char *consumer, uint64_t cursor)
{
    char want[128];
    snprintf (want, sizeof want, "\"%s\":{\"cursor\":%" PRIu64 ",", consumer, cursor);
    bool seen = false;
    for (int i = 0; i < 1000 && !seen; i++) {
        char *stats = s_test_stats (node);
        seen = strstr (stats, want) != NULL;
        zstr_free (&stats);
        if (!seen)
            zclock_sleep (10);
    }
    assert (seen);
}

static int
s_test_beat (const zsat_event_rec_t *rec, void *arg)
{
    assert (rec->event == ZSAT_EV_HEARTBEAT && strncmp (rec->detail, "in=", 3) == 0);
    return 0;
}

static zactor_t *
s_test_start (zsat_node_args_t *args)
{
    zactor_t *node = zactor_new (zsat_bufnode_actor, args);
    char *status = zstr_recv (node);
    assert (status && streq (status, "READY"));
    zstr_free (&status);
    return node;
}

void
zsat_bufnode_test (bool verbose)
{
    printf (" * zsat_bufnode: ");
    char dir[] = "/tmp/zsat_bufnode_test.XXXXXX", cmd[80];
    assert (mkdtemp (dir));
    snprintf (s_test_in, sizeof s_test_in, "ipc://%s/in.ipc", dir);
    snprintf (s_test_out, sizeof s_test_out, "ipc://%s/out.ipc", dir);
    zsat_topology_t *topology = s_test_topology (dir, "1G");
    assert (topology);
    //  A tracker stand-in: the node's first heartbeat arrives on tracker.events.
    char events[600];
    assert (zsat_topology_endpoint (topology, "tracker.events", NULL, "a", events, sizeof events) ==
            0);
    events[0] = '@';
    zsys_dir_create ("%s/run/a", dir);
    zsock_t *tracker = zsock_new (ZMQ_PULL);
    assert (zsock_attach (tracker, events, true) == 0);
    zsat_node_args_t args = {topology, "buf", "a", 0};
    zactor_t *node = s_test_start (&args);
    zsock_set_rcvtimeo (tracker, 5000);
    zmsg_t *beat = zmsg_recv (tracker);
    assert (beat && zmsg_size (beat) == 2);
    zframe_t *body = zmsg_last (beat);
    zsat_event_source_t source;
    assert (zsat_evbatch_decode (zframe_data (body), zframe_size (body), &source, s_test_beat, NULL,
                                 NULL) == 1);
    assert (streq (source.node, "buf") && streq (source.host, "a"));
    zmsg_destroy (&beat);
    zsock_destroy (&tracker);
    assert (s_test_produce (1, 100, NULL, 0) == 100);

    //  Malformed input is refused or counted, never a crash.
    zsock_t *raw = zsock_new_dealer (s_test_in);
    zstr_sendm (raw, "PUT 7");
    zstr_send (raw, "only two frames");
    char *answer = zstr_recv (raw);
    assert (answer && strstr (answer, "REFUSED 7"));
    zstr_free (&answer);
    zstr_sendm (raw, "PUT 8");
    zstr_sendm (raw, "a/t");
    zstr_sendm (raw, "not msgpack");
    zstr_send (raw, "payload");
    answer = zstr_recv (raw);
    assert (answer && strstr (answer, "REFUSED 8"));
    zstr_free (&answer);
    zsock_destroy (&raw);
    raw = zsock_new_dealer (s_test_out);
    zstr_send (raw, "HELLO nobody");
    answer = zstr_recv (raw);
    assert (answer && strstr (answer, "DENIED"));
    zstr_free (&answer);
    zsat_bufconsumer_t *nobody = zsat_bufconsumer_new (s_test_out, "nobody", NULL);
    zsat_bufrecord_t none;
    assert (zsat_bufconsumer_recv (nobody, 200, &none) == 0);
    assert (zsat_bufconsumer_denied (nobody) &&
            strstr (zsat_bufconsumer_denied (nobody), "not a consumer"));
    zsat_bufconsumer_destroy (&nobody);
    zstr_send (raw, "ACK fast 99999");
    zstr_send (raw, "garbage");
    zsock_destroy (&raw);

    //  Two consumers at different speeds; nothing is collected below the slow one's cursor.
    zsat_bufconsumer_t *fast = zsat_bufconsumer_new (s_test_out, "fast", NULL);
    zsat_bufconsumer_t *slow = zsat_bufconsumer_new (s_test_out, "slow", NULL);
    uint64_t last = 0;
    assert (s_test_consume (fast, 100, true, ZSAT_FLAG_CRITICAL, &last) == 100 && last == 100);
    assert (s_test_consume (slow, 50, true, 0, &last) == 50 && last == 50);
    s_test_wait_cursor (node, "fast", 100);  //  acks are one-way: wait until the node has them
    s_test_wait_cursor (node, "slow", 50);
    zstr_send (node, "COMPACT");
    char *ok = zstr_recv (node);
    int compacted = 0, deleted = 0;
    assert (sscanf (ok, "OK %d %d", &compacted, &deleted) == 2 && compacted > 0 && deleted > 0);
    zstr_free (&ok);
    char *stats = s_test_stats (node);
    assert (strstr (stats, "\"slow\":{\"cursor\":50"));
    zstr_free (&stats);

    //  The slow consumer dies mid-stream: its successor gets everything after the cursor,
    //  flagged replay (the records 51..100 had been sent to the dead one).
    zsat_bufconsumer_destroy (&slow);
    slow = zsat_bufconsumer_new (s_test_out, "slow", NULL);
    assert (s_test_consume (slow, 50, true, ZSAT_FLAG_REPLAY, &last) == 50 && last == 100);

    //  A consumer that stops acknowledging gets its records again after ack_timeout.
    assert (s_test_produce (101, 10, NULL, 0) == 10);
    assert (s_test_consume (fast, 10, false, 0, &last) == 10 && last == 110);
    assert (s_test_consume (fast, 10, true, ZSAT_FLAG_REPLAY, &last) == 10 && last == 110);
    assert (s_test_consume (slow, 10, true, 0, &last) == 10 && last == 110);
    s_test_wait_cursor (node, "fast", 110);
    s_test_wait_cursor (node, "slow", 110);
    zactor_destroy (&node);

    //  A restarted node resumes from the persisted cursors: nothing more to deliver.
    node = s_test_start (&args);
    zsat_bufrecord_t rec;
    assert (zsat_bufconsumer_recv (fast, 300, &rec) == 0);
    assert (s_test_produce (111, 1, NULL, 0) == 1);
    assert (s_test_consume (fast, 1, true, 0, &last) == 1 && last == 111);
    //  A re-sent (producer, id) is stored once: the copy is answered with the first seq,
    //  also by a restarted node (the window is rebuilt from the log).
    uint64_t first = s_test_put_raw (112, "PUT 9 ptest-dup");
    assert (first == 112 && s_test_put_raw (112, "PUT 9 ptest-dup") == first);
    assert (s_test_put_raw (112, "PUT 9 pother") == first + 1);  //  another producer
    assert (s_test_consume (fast, 2, true, 0, &last) == 2 && last == first + 1);
    s_test_wait_cursor (node, "fast", first + 1);
    stats = s_test_stats (node);
    assert (strstr (stats, "\"duplicates\":1,"));
    zstr_free (&stats);
    zactor_destroy (&node);
    node = s_test_start (&args);
    assert (s_test_put_raw (112, "PUT 9 ptest-dup") == first);
    assert (s_test_put_raw (113, "PUT 10 ptest-dup") == first + 2);
    assert (s_test_consume (fast, 1, true, 0, &last) == 1 && last == first + 2);
    assert (zsat_bufconsumer_recv (fast, 300, &rec) == 0);  //  no copy of 112 stored
    zactor_destroy (&node);
    zsat_bufconsumer_destroy (&fast);
    zsat_bufconsumer_destroy (&slow);

    //  A hole in the log (a repair cut a damaged middle segment): consumers get everything
    //  else and their cursors pass the hole.
    char cmd2[160];
    snprintf (cmd2, sizeof cmd2, "rm -rf %s/crit", dir);
    assert (system (cmd2) == 0);
    s_test_store_direct (dir, 500, 100);
    snprintf (cmd2, sizeof cmd2, "ls %s/crit/seg-* | sed -n 3p | xargs truncate -s 100", dir);
    assert (system (cmd2) == 0);
    node = s_test_start (&args);
    fast = zsat_bufconsumer_new (s_test_out, "fast", NULL);
    int got = 0;
    while (last != 100 && s_test_consume (fast, 1, true, 0, &last) == 1)
        got++;  //  bounded: each receive waits at most 3 s
    assert (got < 100 && last == 100);
    s_test_wait_cursor (node, "fast", 100);
    zactor_destroy (&node);
    zsat_bufconsumer_destroy (&fast);
    zsat_topology_destroy (&topology);

    //  Disk limit: the sender is told why; what was stored stays.
    topology = s_test_topology (dir, "6k");
    args.topology = topology;
    node = s_test_start (&args);
    char refusal[256] = "";
    int stored = s_test_produce (1000, 100, refusal, sizeof refusal);
    assert (stored < 100 && strstr (refusal, "disk limit reached"));
    stats = s_test_stats (node);
    assert (strstr (stats, "\"refused\":"));
    zstr_free (&stats);
    zactor_destroy (&node);
    zsat_topology_destroy (&topology);
    snprintf (cmd, sizeof cmd, "rm -rf %s", dir);
    assert (system (cmd) == 0);
    if (verbose)
        printf ("(store, deliver, two speeds, consumer restart, ack timeout, disk limit) ");
    printf ("OK\n");
}
