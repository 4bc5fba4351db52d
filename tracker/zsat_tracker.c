/*  zsat_tracker - the tracker node actor.

    Owns three bound sockets: PULL "events" (zsat_evbatch messages from every node), PUB
    "state" (topic + JSON: stats every second, RESEND.<host>, SCALE.<host>, BREAKER,
    FAILURE, ALERT) and REP "query" ("STATUS", "NODES", "TRACE <task_id>", each also with
    a " TEXT" suffix for terminals); plus one "out:<link>" socket per topology link from
    the tracker, on which tracker_metrics sends its statistics as vectors every 10 s
    (`tracker -> carbon`). Everything else is plain data: zsat_fsm (tasks,
    deadlines), zsat_stats, zsat_scaler, zsat_breaker, fed with the wall clock. A bad
    message or request is counted (bad_messages) and dropped; nothing a peer sends can
    stop the loop.
*/
#include "zsat_tracker.h"
#include "zsat_curve.h"
#include "zsat_ipcguard.h"
#include "zsat_breaker.h"
#include "zsat_fsm.h"
#include "zsat_jsonw.h"
#include "zsat_scaler.h"
#include "zsat_stats.h"
#include "tracker_metrics.h"
#include "tracker_graph.h"
#include "tracker_prom.h"
#include "zsat_http.h"
#include "zsat_record.h"
#include "zsat_vector.h"
#include "zsat_control.h"
#include "zsat_recv.h"
#include <errno.h>
#include <inttypes.h>
#include <sys/stat.h>

#define DRAIN_MAX    256        //  event messages per wake, so queries and timers are never starved
#define EVENTS_HWM   100000     //  batches queued: senders use DONTWAIT and count their drops
#define EVENTS_MAX   (1 << 20)  //  a batch of 1024 records is well under 1 MiB
#define QUERY_MAX    4096
#define STATE_HWM    100000  //  PUB drops for a slow subscriber: keep bursts of FAILURE
#define STATE_LINGER 200     //  ms to flush the last FAILUREs at exit
#define METRICS_HWM  10000   //  vectors: several sends of 1024 stages while a sink catches up
#define SOCKETS_MAX  (3 + TRACKER_METRICS_OUTPUTS)

typedef struct {
    zsat_topology_t *topology;
    char host[ZSAT_NAME_MAX];
    char node[ZSAT_NAME_MAX];
    zsock_t *events;
    zsock_t *state;
    zsock_t *query;
    zsat_control_t ctl;                     //  query requests read whole and without waiting
    zsock_t *out[TRACKER_METRICS_OUTPUTS];  //  out:<link> sockets, for tracker_metrics
    zpoller_t *poller;
    zsat_tracker_policy_t policy;  //  copy: max_tasks clamped
    zsat_stats_t *stats;
    zsat_fsm_t *fsm;
    zsat_scaler_t *scaler;
    zsat_breaker_t *breaker;
    zsat_jsonw_t *json;
    tracker_metrics_t *metrics;
    zsat_http_t *http;                //  GET /metrics, /api/v1/..., the dashboard; NULL when off
    int64_t http_retry_us;            //  when to try to listen again after a failure
    uint64_t metrics_dropped_logged;  //  drops already said in the log
    int64_t started_us;
    int64_t next_stats_us;
    //  the batch being decoded
    uint16_t batch_origin;
    uint32_t batch_node;
    int64_t batch_now;
    bool batch_ready;
    zsat_event_source_t batch_source;
    int8_t origin_is_stage[ZSAT_STATS_ORIGINS];  //  0 unknown, 1 stage, -1 not (cache)
    char who[2 * ZSAT_NAME_MAX];                 //  "host.node", for log lines
    int64_t bad_logged_us;                       //  last log line about bad messages
    uint64_t bad_unlogged;                       //  bad messages since that line
    char reason[256];
} self_t;

static int64_t
s_now (void)
{
    return zclock_usecs ();
}

//  The time of day in µs: zclock_usecs (s_now) is czmq's monotonic clock.
static int64_t
s_epoch_us (void)
{
    struct timespec ts;
    clock_gettime (CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

//  A binding ipc endpoint needs its directory; the run directory is private (0700).
static void
s_make_ipc_dirs (const char *endpoints)
{
    char copy[512];
    snprintf (copy, sizeof copy, "%s", endpoints);
    for (char *e = strtok (copy, ","); e; e = strtok (NULL, ",")) {
        if (strncmp (e, "@ipc://", 7) != 0)
            continue;
        char *path = e + 7;
        for (char *slash = strchr (path + 1, '/'); slash; slash = strchr (slash + 1, '/')) {
            *slash = 0;
            mkdir (path, 0700);
            *slash = '/';
        }
    }
}

static zsock_t *
s_open (self_t *self, const zsat_socket_t *spec)
{
    zsock_t *sock = zsock_new (spec->socket_type);
    if (!sock)
        return NULL;
    s_make_ipc_dirs (spec->endpoint);
    char guard[512];
    if (zsat_ipcguard_check (spec->endpoint, true, guard, sizeof guard) != 0) {
        snprintf (self->reason, sizeof self->reason, "%.200s", guard);
        zsock_destroy (&sock);
    }
    else if (zsat_curve_apply (sock, self->host, spec->endpoint, ZSAT_CURVE_SERVER) != 0) {
        snprintf (self->reason, sizeof self->reason, "cannot secure %.160s", spec->endpoint);
        zsock_destroy (&sock);
    }
    else if (zsock_attach (sock, spec->endpoint, true) != 0) {
        //  The precision keeps gcc's truncation check quiet: a cut reason is fine.
        snprintf (self->reason, sizeof self->reason, "cannot bind %.160s: %.60s", spec->endpoint,
                  zmq_strerror (zmq_errno ()));
        zsock_destroy (&sock);
    }
    return sock;
}

static void
s_publish (self_t *self, const char *topic, const char *json)
{
    //  PUB never blocks: past the HWM a slow subscriber loses messages (zmq counts nothing)
    zstr_sendm (self->state, topic);
    zstr_send (self->state, json);
}

static void
s_on_emit (const char *topic, const char *json, void *arg)
{
    s_publish ((self_t *)arg, topic, json);
}

//  Whether the topology runs node on host: the stats keep other names out of the rows of
//  real instances (forged heartbeats must not hide a new instance).
static bool
s_declared (const char *host, const char *node_name, void *arg)
{
    self_t *self = (self_t *)arg;
    const zsat_node_t *node = zsat_topology_node_find (self->topology, node_name);
    return node && zsat_topology_node_on_host (node, host);
}

//  System nodes are neither scaled nor broken: they are not stages of the data path.
static bool
s_is_stage (self_t *self, const char *node_name)
{
    const zsat_node_t *node = zsat_topology_node_find (self->topology, node_name);
    if (!node)
        return false;
    const zsat_kind_t *kind = zsat_kind_find (node->kind);
    if (kind)
        return kind->role != ZSAT_ROLE_SYSTEM;
    static const char *systems[] = {"tracker", "scheduler", "orchester", "buffer", "launcher"};
    for (size_t i = 0; i < sizeof systems / sizeof systems[0]; i++)
        if (streq (node->kind, systems[i]))
            return false;
    return true;
}

static const char *
s_alternate (self_t *self, const char *stage)
{
    for (size_t r = 0; r < zsat_topology_route_count (self->topology); r++) {
        const zsat_route_t *route = zsat_topology_route (self->topology, r);
        for (size_t n = 0; n < route->node_count; n++)
            if (streq (route->nodes[n], stage) && route->alternate)
                return route->alternate;
    }
    return NULL;
}

//  s_is_stage for an origin, cached: outcomes come at the rate of events.
static bool
s_origin_is_stage (self_t *self, uint16_t origin)
{
    if (origin == 0 || origin >= ZSAT_STATS_ORIGINS)
        return false;
    if (!self->origin_is_stage[origin])
        self->origin_is_stage[origin] =
            s_is_stage (self, zsat_stats_origin_node (self->stats, origin)) ? 1 : -1;
    return self->origin_is_stage[origin] > 0;
}

static void
s_on_outcome (uint16_t origin, bool ok, int64_t now_us, void *arg)
{
    self_t *self = (self_t *)arg;
    if (s_origin_is_stage (self, origin))
        zsat_breaker_outcome (self->breaker, zsat_stats_origin_node (self->stats, origin), ok,
                              now_us);
}

static void
s_on_breaker (const zsat_breaker_change_t *change, void *arg)
{
    self_t *self = (self_t *)arg;
    const char *alternate = s_alternate (self, change->stage);
    zsat_jsonw_t *json = self->json;
    zsat_jsonw_reset (json);
    zsat_jsonw_object (json, NULL);
    zsat_jsonw_str (json, "stage", change->stage);
    zsat_jsonw_str (json, "state", zsat_breaker_state_name (change->state));
    if (alternate)
        zsat_jsonw_str (json, "alternate", alternate);
    else
        zsat_jsonw_str (json, "alternate", "");
    zsat_jsonw_uint (json, "failures", change->failures);
    zsat_jsonw_uint (json, "tasks", change->tasks);
    zsat_jsonw_double (json, "ratio", change->ratio);
    zsat_jsonw_end (json);
    s_publish (self, "BREAKER", zsat_jsonw_text (json));
    zsat_log_line (stderr, ZSAT_LOG_INFO, self->who,
                   "breaker of %s: %s (%" PRIu64 " failures of %" PRIu64 " tasks)", change->stage,
                   zsat_breaker_state_name (change->state), change->failures, change->tasks);
    if (change->state != ZSAT_BREAKER_OPEN)
        return;
    zsat_jsonw_reset (json);
    zsat_jsonw_object (json, NULL);
    zsat_jsonw_str (json, "kind", "breaker");
    zsat_jsonw_str (json, "stage", change->stage);
    zsat_jsonw_str (json, "state", "open");
    zsat_jsonw_uint (json, "failures", change->failures);
    zsat_jsonw_uint (json, "tasks", change->tasks);
    zsat_jsonw_double (json, "ratio", change->ratio);
    zsat_jsonw_double (json, "threshold", self->policy.breaker_threshold);
    zsat_jsonw_int (json, "window_ms", self->policy.breaker_window_ms);
    zsat_jsonw_end (json);
    s_publish (self, "ALERT", zsat_jsonw_text (json));
}

static void
s_self_destroy (self_t **self_p)
{
    if (*self_p) {
        self_t *self = *self_p;
        zsat_http_destroy (&self->http);  //  first: its requests ask the query socket
        zpoller_destroy (&self->poller);
        zsock_destroy (&self->events);
        zsock_destroy (&self->state);
        zsock_destroy (&self->query);
        for (size_t i = 0; i < TRACKER_METRICS_OUTPUTS; i++)
            zsock_destroy (&self->out[i]);
        tracker_metrics_destroy (&self->metrics);
        zsat_fsm_destroy (&self->fsm);
        zsat_scaler_destroy (&self->scaler);
        zsat_breaker_destroy (&self->breaker);
        zsat_stats_destroy (&self->stats);
        zsat_jsonw_destroy (&self->json);
        free (self);
        *self_p = NULL;
    }
}

//  An out:<link> socket: the tracker's statistics go there as vectors (tracker_metrics).
static int
s_open_output (self_t *self, const zsat_socket_t *spec)
{
    size_t index = tracker_metrics_outputs (self->metrics);
    if (index == TRACKER_METRICS_OUTPUTS) {
        snprintf (self->reason, sizeof self->reason, "more than %d links from '%s'",
                  TRACKER_METRICS_OUTPUTS, self->node);
        return -1;
    }
    if (!(self->out[index] = s_open (self, spec)))
        return -1;
    zsock_set_sndhwm (self->out[index], METRICS_HWM);
    zsock_set_linger (self->out[index], 0);  //  dashboard numbers: a stop never waits for a sink
    return tracker_metrics_add_output (self->metrics, zsock_resolve (self->out[index]), spec->peer);
}

static int
s_open_sockets (self_t *self)
{
    zsat_socket_t sockets[SOCKETS_MAX];
    int count =
        zsat_topology_sockets (self->topology, self->node, self->host, sockets, SOCKETS_MAX);
    if (count < 0) {
        snprintf (self->reason, sizeof self->reason,
                  "node '%s' does not run on host '%s' (or has more than %d links)", self->node,
                  self->host, TRACKER_METRICS_OUTPUTS);
        return -1;
    }
    for (int i = 0; i < count; i++) {
        if (strncmp (sockets[i].name, "out:", 4) == 0 && s_open_output (self, &sockets[i]) != 0)
            return -1;
        zsock_t **slot = streq (sockets[i].name, "events")  ? &self->events
                         : streq (sockets[i].name, "state") ? &self->state
                         : streq (sockets[i].name, "query") ? &self->query
                                                            : NULL;
        if (slot && !*slot && !(*slot = s_open (self, &sockets[i])))
            return -1;
    }
    if (!self->events || !self->state || !self->query) {
        snprintf (self->reason, sizeof self->reason, "the topology gives '%s' no tracker sockets",
                  self->node);
        return -1;
    }
    zsock_set_rcvhwm (self->events, EVENTS_HWM);
    zsock_set_maxmsgsize (self->events, EVENTS_MAX);
    zsock_set_sndhwm (self->state, STATE_HWM);
    zsock_set_linger (self->state, STATE_LINGER);
    zsat_control_options (self->query, QUERY_MAX);
    return 0;
}

//  The HTTP endpoint when the topology (`tracker: {http: ADDR:PORT}`) or ZSAT_TRACKER_HTTP
//  (set by `zsat up --http`) asks for one. It asks this tracker's own query socket. A
//  failure (port taken, token file unreadable) is logged and tried again every
//  HTTP_RETRY_US: the tracker's work matters more than its dashboard.
#define HTTP_RETRY_US 10000000
static void
s_start_http (self_t *self, int64_t now_us)
{
    const char *listen = getenv ("ZSAT_TRACKER_HTTP");
    if (!listen || !*listen)
        listen = self->policy.http;
    if (!listen || self->http || now_us < self->http_retry_us)
        return;
    self->http_retry_us = now_us + HTTP_RETRY_US;
    zsat_http_config_t config = {.listen = listen, .token_file = self->policy.http_token_file};
    char query[512], reason[256] = "no query endpoint";
    if (zsat_topology_endpoint (self->topology, "tracker.query", NULL, self->host, query,
                                sizeof query) == 0) {
        config.query = query;
        self->http = zsat_http_new (&config, reason, sizeof reason);
    }
    char web[1024];
    if (self->http)
        zsat_log_line (stderr, ZSAT_LOG_INFO, self->who, "http on %s (port %d), dashboard from %s",
                       listen, zsat_http_port (self->http), zsat_http_web_dir (web, sizeof web));
    else
        zsat_log_line (stderr, ZSAT_LOG_ERROR, self->who, "no http endpoint: %s (again in %d s)",
                       reason, HTTP_RETRY_US / 1000000);
}

static self_t *
s_self_new (const zsat_node_args_t *args, char *reason, size_t cap)
{
    self_t *self = (self_t *)calloc (1, sizeof *self);
    if (!self)
        return NULL;
    self->topology = args->topology;
    snprintf (self->host, sizeof self->host, "%s", args->host);
    snprintf (self->node, sizeof self->node, "%s", args->node);
    snprintf (self->who, sizeof self->who, "%s.%s", self->host, self->node);
    self->policy = *zsat_topology_policy (args->topology);
    if (self->policy.max_tasks > 100000000)
        self->policy.max_tasks = 100000000;  //  the table's own bound; 12.8 GB at that
    self->started_us = s_now ();
    self->next_stats_us = self->started_us + ZSAT_TRACKER_STATS_US;
    self->stats = zsat_stats_new ();
    self->json = zsat_jsonw_new ();
    self->scaler = zsat_scaler_new (&self->policy);
    self->breaker = zsat_breaker_new (&self->policy, s_on_breaker, self);
    self->metrics = tracker_metrics_new (self->host, self->node, self->started_us);
    if (self->stats) {
        zsat_stats_set_declared (self->stats, s_declared, self);
        self->fsm = zsat_fsm_new (&self->policy, self->stats, self->started_us);
    }
    if (!self->stats || !self->json || !self->scaler || !self->breaker || !self->fsm ||
        !self->metrics)
        snprintf (self->reason, sizeof self->reason,
                  "cannot allocate the tracker for %" PRId64 " tasks", self->policy.max_tasks);
    else if (s_open_sockets (self) == 0) {
        zsat_fsm_set_emit (self->fsm, s_on_emit, self);
        zsat_fsm_set_wall_offset (self->fsm, s_epoch_us () - s_now ());
        zsat_fsm_set_outcome (self->fsm, s_on_outcome, self);
        self->poller = zpoller_new (self->events, self->query, NULL);
        if (self->poller) {
            s_start_http (self, s_now ());
            return self;
        }
    }
    snprintf (reason, cap, "%s", *self->reason ? self->reason : "out of memory");
    s_self_destroy (&self);
    return NULL;
}

//  --- events ---

static void
s_republish_alert (self_t *self, const zsat_event_rec_t *rec)
{
    zsat_jsonw_t *json = self->json;
    zsat_jsonw_reset (json);
    zsat_jsonw_object (json, NULL);
    zsat_jsonw_str (json, "kind", "node");
    zsat_jsonw_str (json, "host", self->batch_source.host);
    zsat_jsonw_str (json, "node", self->batch_source.node);
    zsat_jsonw_uint (json, "wid", self->batch_source.wid);
    zsat_jsonw_str (json, "detail", rec->detail);
    zsat_jsonw_end (json);
    s_publish (self, "ALERT", zsat_jsonw_text (json));
}

static int
s_on_record (const zsat_event_rec_t *rec, void *arg)
{
    self_t *self = (self_t *)arg;
    if (!self->batch_ready) {
        //  the decoder fills the source before the first record
        self->batch_origin = zsat_stats_source (self->stats, &self->batch_source, self->batch_now,
                                                &self->batch_node);
        self->batch_ready = true;
    }
    zsat_stats_on_record (self->stats, self->batch_origin, self->batch_node, rec, self->batch_now);
    zsat_fsm_on_record (self->fsm, self->batch_origin, rec, self->batch_now);
    if (rec->event == ZSAT_EV_ALERT)
        s_republish_alert (self, rec);
    return 0;
}

//  Counts a bad message; says so in the log at most every BAD_LOG_US, so a flood of
//  garbage cannot flood the log too.
#define BAD_LOG_US 10000000
static void
s_bad_message (self_t *self, const char *why, int64_t now_us)
{
    zsat_stats_global_add (self->stats, ZSAT_GLOBAL_BAD_MESSAGES, 1);
    self->bad_unlogged++;
    if (now_us - self->bad_logged_us < BAD_LOG_US)
        return;
    zsat_log_line (stderr, ZSAT_LOG_WARN, self->who,
                   "%" PRIu64 " bad message(s) dropped; the last: %s", self->bad_unlogged, why);
    self->bad_logged_us = now_us;
    self->bad_unlogged = 0;
}

//  Handles one decoded-or-not batch body. Returns the records applied, -1 when bad.
static int
s_handle_batch (self_t *self, const uint8_t *data, size_t size, int64_t now_us)
{
    self->batch_ready = false;
    self->batch_now = now_us;
    zsat_error_t err;
    int rc = zsat_evbatch_decode (data, size, &self->batch_source, s_on_record, self, &err);
    if (rc < 0)
        s_bad_message (self, err.text, now_us);
    else
        zsat_stats_global_add (self->stats, ZSAT_GLOBAL_BATCHES, 1);
    return rc;
}

//  Receives one message without waiting: frame "zsat.ev" then the body, nothing more. The
//  receive is bounded (zsat_recv): a message of more frames or bytes is dropped as it is read.
//  Returns 1 when one was handled (well or counted bad), 0 when none was waiting.
static int
s_recv_batch (self_t *self, int64_t now_us)
{
    static const zsat_recv_limit_t limit = {2, EVENTS_MAX + sizeof ZSAT_EVBATCH_TOPIC};
    zmq_msg_t frame[2];
    zsat_recv_info_t info;
    int frames = zsat_recv (zsock_resolve (self->events), frame, &limit, ZMQ_DONTWAIT, &info);
    if (frames < 0)
        return 0;  //  none waiting (EAGAIN), or the socket is closing
    bool good =
        frames == 2 && zmq_msg_size (&frame[0]) == strlen (ZSAT_EVBATCH_TOPIC) &&
        memcmp (zmq_msg_data (&frame[0]), ZSAT_EVBATCH_TOPIC, zmq_msg_size (&frame[0])) == 0;
    if (good)
        s_handle_batch (self, (const uint8_t *)zmq_msg_data (&frame[1]), zmq_msg_size (&frame[1]),
                        now_us);
    else if (info.status != ZSAT_RECV_OK)
        s_bad_message (self, zsat_recv_status_name (info.status), now_us);
    else
        s_bad_message (self, "not two frames \"zsat.ev\" + body", now_us);
    for (int i = 0; i < frames; i++)
        zmq_msg_close (&frame[i]);
    return 1;
}

//  --- state feed and queries ---

//  True when no earlier origin has the same node (one breaker per node, whatever the host).
static bool
s_first_of_node (self_t *self, uint16_t origin)
{
    const char *node = zsat_stats_origin_node (self->stats, origin);
    for (uint16_t o = 1; o < origin; o++)
        if (streq (zsat_stats_origin_node (self->stats, o), node))
            return false;
    return true;
}

static void
s_write_status (self_t *self, zsat_jsonw_t *json, int64_t now_us)
{
    zsat_jsonw_object (json, NULL);
    zsat_jsonw_object (json, "tracker");
    zsat_jsonw_str (json, "host", self->host);
    zsat_jsonw_str (json, "node", self->node);
    zsat_jsonw_str (json, "version", ZSAT_VERSION);
    zsat_jsonw_int (json, "pid", getpid ());
    zsat_jsonw_int (json, "time_us", now_us);
    zsat_jsonw_int (json, "uptime_s", (now_us - self->started_us) / 1000000);
    zsat_jsonw_uint (json, "tasks", zsat_fsm_size (self->fsm));
    zsat_jsonw_uint (json, "live", zsat_fsm_live (self->fsm));
    zsat_jsonw_uint (json, "capacity", zsat_fsm_capacity (self->fsm));
    zsat_jsonw_uint (json, "table_bytes", zsat_fsm_footprint (self->fsm));
    //  Handshakes its CURVE sockets refused (docs/security.md); "none": plain or ipc.
    zsat_jsonw_str (json, "security", zsat_curve_active () ? "curve" : "none");
    zsat_jsonw_uint (json, "auth_refused", zsat_curve_refused ());
    zsat_jsonw_end (json);
    zsat_stats_write (self->stats, json, now_us);
    zsat_jsonw_object (json, "breakers");
    for (uint16_t o = 1; o < zsat_stats_origin_count (self->stats); o++) {
        const char *node = zsat_stats_origin_node (self->stats, o);
        if (s_first_of_node (self, o) && s_is_stage (self, node))
            zsat_jsonw_str (json, node,
                            zsat_breaker_state_name (zsat_breaker_state (self->breaker, node)));
    }
    zsat_jsonw_end (json);
    zsat_jsonw_object (json, "metrics");
    zsat_jsonw_uint (json, "outputs", tracker_metrics_outputs (self->metrics));
    zsat_jsonw_uint (json, "sent", tracker_metrics_sent (self->metrics));
    zsat_jsonw_uint (json, "dropped", tracker_metrics_dropped (self->metrics));
    zsat_jsonw_end (json);
    zsat_jsonw_end (json);
}

static void
s_publish_stats (self_t *self, int64_t now_us)
{
    zsat_jsonw_reset (self->json);
    s_write_status (self, self->json, now_us);
    s_publish (self, "stats", zsat_jsonw_text (self->json));
}

static void
s_write_scale (self_t *self, const zsat_node_t *node, uint16_t origin,
               const zsat_scale_decision_t *why)
{
    zsat_jsonw_t *json = self->json;
    zsat_jsonw_reset (json);
    zsat_jsonw_object (json, NULL);
    zsat_jsonw_str (json, "node", node->name);
    zsat_jsonw_int (json, "delta", why->delta);
    zsat_jsonw_str (json, "host", zsat_stats_origin_host (self->stats, origin));
    zsat_jsonw_int (json, "idle", why->idle);
    zsat_jsonw_int (json, "busy", zsat_stats_busy (self->stats, origin));
    zsat_jsonw_int (json, "instances", why->instances);
    zsat_jsonw_int (json, "held_ms", why->held_ms);
    zsat_jsonw_int (json, "queued", why->queued);
    zsat_jsonw_int (json, "low", why->low);
    zsat_jsonw_int (json, "high", why->high);
    zsat_jsonw_int (json, "min", node->min_instances);
    zsat_jsonw_int (json, "max", node->max_instances);
    zsat_jsonw_end (json);
}

//  One observation per stage and host; a decision goes out on SCALE.<host>.
static void
s_scale (self_t *self, int64_t now_us)
{
    for (uint16_t o = 1; o < zsat_stats_origin_count (self->stats); o++) {
        const char *host = zsat_stats_origin_host (self->stats, o);
        const zsat_node_t *node =
            zsat_topology_node_find (self->topology, zsat_stats_origin_node (self->stats, o));
        if (!node || !s_is_stage (self, node->name) || !zsat_topology_node_on_host (node, host))
            continue;
        zsat_scale_decision_t why;
        zsat_scale_queue_t queue = {zsat_stats_queued (self->stats, o, now_us),
                                    zsat_stats_queue_growth (self->stats, o, now_us)};
        int delta =
            zsat_scaler_observe (self->scaler, o, zsat_stats_idle (self->stats, o, now_us),
                                 zsat_stats_instances (self->stats, o, now_us), node->min_instances,
                                 node->max_instances, &queue, now_us, &why);
        if (!delta)
            continue;
        s_write_scale (self, node, o, &why);
        char topic[ZSAT_NAME_MAX + 8];
        snprintf (topic, sizeof topic, "SCALE.%s", host);
        s_publish (self, topic, zsat_jsonw_text (self->json));
        zsat_log_line (stderr, ZSAT_LOG_INFO, self->who,
                       "scale %s on %s by %+d (idle %" PRId64 " of %d for %" PRId64
                       " ms, queued %" PRId64 ")",
                       node->name, host, delta, why.idle, why.instances, why.held_ms, why.queued);
    }
}

//  Writes a task's timeline for a terminal into *text (caller frees).
static void
s_trace_text (self_t *self, uint64_t task_id, char **text)
{
    *text = NULL;
    size_t size = 0;
    FILE *out = open_memstream (text, &size);
    if (!out)
        return;
    zsat_task_mark_t marks[ZSAT_TASK_HISTORY];
    const zsat_task_t *task = zsat_fsm_find (self->fsm, task_id);
    if (!task)
        fprintf (out, "task %" PRIu64 " is not retained by the tracker\n", task_id);
    else {
        fprintf (out,
                 "task %" PRIu64 "  job %" PRIu64
                 "  type %s  state %s  retry %u  runs %u  seq %u\n",
                 task->task_id, task->job_id, zsat_stats_type_name (self->stats, task->type),
                 zsat_fsm_state_name (task->state), task->retry, task->retry + 1u, task->seq);
        size_t count = zsat_tasks_history (task, marks);
        if (task->marks > count)
            fprintf (out, "  (%u%s events: the first and the last %zu retained)\n", task->marks,
                     task->marks == 255 ? "+" : "", count - 1);
        for (size_t i = 0; i < count; i++)
            fprintf (out, "  %+12.3f ms  %-13s %s@%s  retry %u\n", marks[i].dt / 100.0,
                     zsat_fsm_event_name (marks[i].event),
                     zsat_stats_origin_node (self->stats, marks[i].origin),
                     zsat_stats_origin_host (self->stats, marks[i].origin), marks[i].retry);
    }
    fclose (out);
}

static char *
s_status_text (self_t *self, int64_t now_us)
{
    char *table = zsat_stats_table (self->stats, now_us);
    char *text = NULL;
    size_t size = 0;
    FILE *out = open_memstream (&text, &size);
    if (!out) {
        free (table);
        return NULL;
    }
    fprintf (out,
             "tracker %s@%s  zsat %s  up %" PRId64
             "s  tasks %zu live, %zu retained, capacity %zu\n\n",
             self->node, self->host, ZSAT_VERSION, (now_us - self->started_us) / 1000000,
             zsat_fsm_live (self->fsm), zsat_fsm_size (self->fsm) - zsat_fsm_live (self->fsm),
             zsat_fsm_capacity (self->fsm));
    fputs (table ? table : "", out);
    if (zsat_curve_active ())
        fprintf (out, "security: curve, auth_refused=%" PRIu64 " on the tracker's sockets\n",
                 zsat_curve_refused ());
    if (tracker_metrics_outputs (self->metrics))
        fprintf (out, "metrics: %" PRIu64 " vectors sent, %" PRIu64 " dropped\n",
                 tracker_metrics_sent (self->metrics), tracker_metrics_dropped (self->metrics));
    for (uint16_t o = 1; o < zsat_stats_origin_count (self->stats); o++) {
        const char *node = zsat_stats_origin_node (self->stats, o);
        int state = zsat_breaker_state (self->breaker, node);
        if (s_first_of_node (self, o) && state != ZSAT_BREAKER_CLOSED)
            fprintf (out, "breaker %s: %s\n", node, zsat_breaker_state_name (state));
    }
    fclose (out);
    free (table);
    return text;
}

static void
s_json_error (zsat_jsonw_t *json, const char *error)
{
    zsat_jsonw_reset (json);
    zsat_jsonw_object (json, NULL);
    zsat_jsonw_str (json, "error", error);
    zsat_jsonw_end (json);
}

//  Parses "TRACE <id>": returns true and sets *task_id for a plain decimal number.
static bool
s_parse_trace (const char *request, uint64_t *task_id)
{
    const char *digits = request + strlen ("TRACE ");
    if (strncmp (request, "TRACE ", 6) != 0 || !isdigit ((unsigned char)*digits))
        return false;
    char *end;
    errno = 0;
    *task_id = strtoull (digits, &end, 10);
    return errno == 0 && *end == 0;
}

static bool
s_prom_is_stage (const char *node, void *arg)
{
    return s_is_stage ((self_t *)arg, node);
}

static char *
s_metrics_text (self_t *self, int64_t now_us)
{
    tracker_prom_t in = {.topology = zsat_topology_name (self->topology),
                         .host = self->host,
                         .node = self->node,
                         .stats = self->stats,
                         .breaker = self->breaker,
                         .is_stage = s_prom_is_stage,
                         .arg = self,
                         .tasks = zsat_fsm_size (self->fsm),
                         .live = zsat_fsm_live (self->fsm),
                         .uptime_s = (now_us - self->started_us) / 1000000};
    return tracker_prom_text (&in, now_us);
}

//  Answers request (JSON in self->json, or text in *text when as_text); false when bad.
static bool
s_answer (self_t *self, const char *request, bool as_text, int64_t now_us, char **text)
{
    zsat_jsonw_t *json = self->json;
    zsat_jsonw_reset (json);
    uint64_t task_id;
    if (streq (request, "STATUS")) {
        if (as_text)
            *text = s_status_text (self, now_us);
        else
            s_write_status (self, json, now_us);
    }
    else if (streq (request, "NODES")) {
        zsat_jsonw_object (json, NULL);
        zsat_stats_write_nodes (self->stats, json, now_us);
        zsat_jsonw_end (json);
    }
    else if (streq (request, "METRICS"))
        *text = s_metrics_text (self, now_us);
    else if (streq (request, "TOPOLOGY")) {
        tracker_graph_t graph = {self->topology, self->stats, self->breaker, self->node};
        tracker_graph_write (&graph, json, now_us);
    }
    else if (strncmp (request, "LATENCIES ", 10) == 0 && !as_text &&
             isdigit ((unsigned char)request[10])) {
        //  the task latencies since a sequence number, one by one (the harness's exact
        //  percentiles per interval)
        zsat_jsonw_object (json, NULL);
        zsat_stats_write_recent (self->stats, json, strtoull (request + 10, NULL, 10));
        zsat_jsonw_end (json);
    }
    else if (s_parse_trace (request, &task_id)) {
        if (as_text)
            s_trace_text (self, task_id, text);
        else {
            zsat_jsonw_object (json, NULL);
            if (zsat_fsm_trace (self->fsm, task_id, json) != 0) {
                zsat_jsonw_uint (json, "task_id", task_id);
                zsat_jsonw_str (json, "error", "task not retained by the tracker");
            }
            zsat_jsonw_end (json);
        }
    }
    else {
        s_json_error (
            json, "unknown request: expected STATUS, NODES, TOPOLOGY, METRICS, LATENCIES <from> or "
                  "TRACE <task_id>, optionally followed by TEXT");
        return false;
    }
    return true;
}

//  One request frame, one reply frame: REP must answer even nonsense, or it would stall. Read
//  with zsat_control: a message without the REP delimiter is dropped and counted, not awaited.
static void
s_handle_query (self_t *self, int64_t now_us)
{
    void *handle = zsock_resolve (self->query);
    uint64_t dropped = self->ctl.dropped;
    int frames = zsat_control_recv (&self->ctl, handle);
    if (self->ctl.dropped > dropped)
        zsat_stats_global_add (self->stats, ZSAT_GLOBAL_BAD_MESSAGES, 1);
    if (frames == 0)
        return;
    char *request = zsat_control_text (&self->ctl, QUERY_MAX);
    zsat_control_close (&self->ctl);
    char *text = NULL;
    bool good = false;
    if (!request)
        s_json_error (self->json, "a request is one frame");
    else {
        size_t len = strlen (request);
        bool as_text = len > 5 && streq (request + len - 5, " TEXT");
        if (as_text)
            request[len - 5] = 0;
        good = s_answer (self, request, as_text, now_us, &text);
    }
    if (!good)
        zsat_stats_global_add (self->stats, ZSAT_GLOBAL_BAD_MESSAGES, 1);
    zsat_control_reply (handle, text ? text : zsat_jsonw_text (self->json));
    free (text);
    zstr_free (&request);
}

//  --- the loop ---

//  Sends the statistics on the out:<link> sockets; says in the log (once per send at most)
//  when some were dropped. Returns the vectors sent.
static int
s_send_metrics (self_t *self, int64_t now_us)
{
    int sent = tracker_metrics_send (self->metrics, self->stats, zsat_fsm_live (self->fsm), now_us,
                                     s_epoch_us ());
    uint64_t dropped = tracker_metrics_dropped (self->metrics);
    if (dropped > self->metrics_dropped_logged) {
        zsat_log_line (stderr, ZSAT_LOG_WARN, self->who,
                       "%" PRIu64 " metric vector(s) dropped (a sink is slow or away), %" PRIu64
                       " in all",
                       dropped - self->metrics_dropped_logged, dropped);
        self->metrics_dropped_logged = dropped;
    }
    return sent;
}

static void
s_on_time (self_t *self, int64_t now_us)
{
    s_start_http (self, now_us);  //  nothing to do unless it failed before
    zsat_fsm_expire (self->fsm, now_us);
    zsat_breaker_tick (self->breaker, now_us);
    if (tracker_metrics_due (self->metrics, now_us))
        s_send_metrics (self, now_us);
    if (now_us < self->next_stats_us)
        return;
    s_publish_stats (self, now_us);
    s_scale (self, now_us);
    self->next_stats_us += ZSAT_TRACKER_STATS_US;
    if (self->next_stats_us <= now_us)
        self->next_stats_us = now_us + ZSAT_TRACKER_STATS_US;
}

static int
s_poll_ms (self_t *self, int64_t now_us)
{
    int64_t wait_us = self->next_stats_us - now_us;
    //  Sleep until the wheel's next non-empty slot, not every tick: a table of finished
    //  tasks kept for `trace` cost 100 wake-ups a second at idle. Breakers cooling down
    //  are timed by the tick.
    if (zsat_fsm_size (self->fsm) && wait_us > 0)
        wait_us = zsat_fsm_next_us (self->fsm, now_us + wait_us) - now_us;
    if (zsat_breaker_busy (self->breaker) && wait_us > ZSAT_FSM_TICK_US)
        wait_us = ZSAT_FSM_TICK_US;
    return wait_us > 0 ? (int)(wait_us / 1000) + 1 : 0;
}

//  Returns false on $TERM.
static bool
s_handle_pipe (self_t *self, zsock_t *pipe)
{
    char *command = zstr_recv (pipe);
    if (!command)
        return false;
    bool running = !streq (command, "$TERM");
    if (streq (command, "STATS")) {
        zsat_jsonw_reset (self->json);
        zsat_jsonw_object (self->json, NULL);
        zsat_stats_write (self->stats, self->json, s_now ());
        zsat_jsonw_uint (self->json, "tasks", zsat_fsm_size (self->fsm));
        zsat_jsonw_end (self->json);
        zstr_send (pipe, zsat_jsonw_text (self->json));
    }
    else if (streq (command, "METRICS"))
        zstr_sendf (pipe, "%d", s_send_metrics (self, s_now ()));
    zstr_free (&command);
    return running;
}

static bool
s_readable (zsock_t *sock)
{
    return (zsock_events (sock) & ZMQ_POLLIN) != 0;
}

void
zsat_tracker_actor (zsock_t *pipe, void *args)
{
    char reason[256] = "";
    self_t *self = s_self_new ((const zsat_node_args_t *)args, reason, sizeof reason);
    zsock_signal (pipe, 0);
    if (!self || zpoller_add (self->poller, pipe) != 0) {
        zstr_sendf (pipe, "FAILED %s", self ? "cannot poll the pipe" : reason);
        s_self_destroy (&self);
        return;
    }
    zstr_send (pipe, "READY");
    bool running = true;
    while (running) {
        zpoller_wait (self->poller, s_poll_ms (self, s_now ()));
        if (zpoller_terminated (self->poller))
            break;
        int64_t now = s_now ();
        //  every socket gets its turn: a flood of events must not starve $TERM or queries
        if (s_readable (pipe))
            running = s_handle_pipe (self, pipe);
        if (s_readable (self->query))
            s_handle_query (self, now);
        for (int i = 0; i < DRAIN_MAX && s_recv_batch (self, now); i++)
            ;
        s_on_time (self, s_now ());
    }
    s_self_destroy (&self);
}

//  --- selftest: a real actor, real PUSH/SUB/REQ sockets over ipc, real event batches ---

typedef struct {
    zsat_topology_t *topology;
    zactor_t *tracker;
    zsock_t *push;
    zsock_t *sub;
    zsock_t *req;
    char run_dir[128];
    zsat_node_args_t args;
    char seen[8192];  //  every feed topic received, space separated
} s_rig_t;

static zsock_t *
s_client (s_rig_t *rig, int type, const char *what)
{
    char endpoint[512];
    assert (zsat_topology_endpoint (rig->topology, what, NULL, "a", endpoint, sizeof endpoint) ==
            0);
    zsock_t *sock = zsock_new (type);
    assert (sock && zsock_attach (sock, endpoint, false) == 0);
    return sock;
}

static void
s_rig_start (s_rig_t *rig, const char *extra_policy)
{
    snprintf (rig->run_dir, sizeof rig->run_dir, "/tmp/zsat-tracker-test-%d", (int)getpid ());
    char *text = zsys_sprintf ("name: trk\nrun_dir: %s\nhosts:\n  a: {address: 127.0.0.1}\n"
                               "nodes:\n  cpu: {kind: cpu, host: a, instances: 1, min: 1, max: 2}"
                               "\n  csv: {kind: csv, host: a}\n  sink: {kind: carbon, host: a}\n"
                               "links:\n  - cpu -> csv\n  - tracker -> sink\n"
                               "tracker:\n  timeout: 50ms\n  max_retry: 2\n  backoff: 10ms\n"
                               "  backoff_max: 20ms\n  max_tasks: 1000\n%s",
                               rig->run_dir, extra_policy);
    zsat_diag_t *diag = zsat_diag_new ();
    rig->topology = zsat_topology_parse (text, strlen (text), "trk.yaml", diag);
    if (!rig->topology)
        zsat_diag_print (diag, stderr);
    assert (rig->topology);
    zsat_diag_destroy (&diag);
    zstr_free (&text);
    rig->args = (zsat_node_args_t){.topology = rig->topology, .node = "tracker", .host = "a"};
    rig->tracker = zactor_new (zsat_tracker_actor, &rig->args);
    char *status = zstr_recv (rig->tracker);
    assert (status && streq (status, "READY"));
    zstr_free (&status);
    rig->push = s_client (rig, ZMQ_PUSH, "tracker.events");
    rig->sub = s_client (rig, ZMQ_SUB, "tracker.state");
    zsock_set_subscribe (rig->sub, "");
    rig->req = s_client (rig, ZMQ_REQ, "tracker.query");
    zsock_set_rcvtimeo (rig->req, 5000);
}

static void
s_rig_stop (s_rig_t *rig)
{
    zsock_destroy (&rig->push);
    zsock_destroy (&rig->sub);
    zsock_destroy (&rig->req);
    zactor_destroy (&rig->tracker);
    zsat_topology_destroy (&rig->topology);
    char *command = zsys_sprintf ("rm -rf '%s'", rig->run_dir);
    assert (system (command) == 0);
    zstr_free (&command);
}

//  Waits (bounded) for a feed message whose topic starts with prefix; returns its body
//  (caller frees) or NULL.
static char *
s_wait_topic (s_rig_t *rig, const char *prefix, int timeout_ms)
{
    int64_t until = zclock_mono () + timeout_ms;
    zsock_set_rcvtimeo (rig->sub, 100);
    while (zclock_mono () < until) {
        char *topic = NULL, *body = NULL;
        int frames = zstr_recvx (rig->sub, &topic, &body, NULL);
        if (frames == 2 && strlen (rig->seen) + strlen (topic) + 2 < sizeof rig->seen) {
            strcat (rig->seen, topic);
            strcat (rig->seen, " ");
        }
        if (frames == 2 && strncmp (topic, prefix, strlen (prefix)) == 0) {
            zstr_free (&topic);
            return body;
        }
        zstr_free (&topic);
        zstr_free (&body);
    }
    return NULL;
}

static char *
s_ask (s_rig_t *rig, const char *request)
{
    zstr_send (rig->req, request);
    char *reply = zstr_recv (rig->req);
    assert (reply);
    return reply;
}

static void
s_events (s_rig_t *rig, const char *node, const int *events, size_t count, uint64_t task_id,
          uint32_t retry, const char *detail)
{
    zsat_event_source_t source = {.host = "a", .wid = 1, .pid = 4242, .version = ZSAT_VERSION};
    snprintf (source.node, sizeof source.node, "%s", node);
    zsat_evbatch_t *batch = zsat_evbatch_new (&source, 64);
    assert (batch);
    for (size_t i = 0; i < count; i++) {
        zsat_event_rec_t rec = {.event = (uint8_t)events[i],
                                .task_id = task_id,
                                .job_id = 1,
                                .retry = retry,
                                .seq = 2,
                                .timestamp = zclock_usecs ()};
        strcpy (rec.type, "cpu");
        snprintf (rec.detail, sizeof rec.detail, "%s", detail ? detail : "");
        zsat_evbatch_add (batch, &rec);
    }
    assert (zsat_evbatch_flush (batch, zsock_resolve (rig->push), 0) == (int)count);
    zsat_evbatch_destroy (&batch);
}

//  Waits until the tracker has handled `batches` good batches (STATUS is answered in order
//  with events only loosely, so poll the counter, bounded).
static void
s_sync (s_rig_t *rig, uint64_t batches)
{
    for (int i = 0; i < 500; i++) {
        char *reply = s_ask (rig, "STATUS");
        char want[64];
        snprintf (want, sizeof want, "\"batches\":%" PRIu64 ",", batches);
        bool done = strstr (reply, want) != NULL;
        zstr_free (&reply);
        if (done)
            return;
        zclock_sleep (10);
    }
    assert (false);
}

static void
s_test_paths (s_rig_t *rig)
{
    //  the happy path, over three stages
    static const int orchester[] = {ZSAT_EV_INIT, ZSAT_EV_ACK, ZSAT_EV_SEND};
    static const int cpu[] = {ZSAT_EV_ACK, ZSAT_EV_BEGIN, ZSAT_EV_END, ZSAT_EV_HEARTBEAT};
    static const int csv[] = {ZSAT_EV_ACK, ZSAT_EV_BEGIN, ZSAT_EV_HAPPY_END};
    s_events (rig, "orchester", orchester, 3, 100, 0, NULL);
    s_events (rig, "cpu", cpu, 4, 100, 0, "in=1 out=1 errors=0 retries=0 dropped=0 dead=0");
    s_events (rig, "csv", csv, 3, 100, 0, NULL);
    s_sync (rig, 3);
    char *reply = s_ask (rig, "TRACE 100");
    assert (strstr (reply, "\"state\":\"DONE\"") && strstr (reply, "\"events\":9"));
    zstr_free (&reply);
    reply = s_ask (rig, "TRACE 100 TEXT");
    assert (strstr (reply, "state DONE") && strstr (reply, "HAPPY_END"));
    zstr_free (&reply);
    reply = s_ask (rig, "NODES");
    assert (strstr (reply, "\"node\":\"cpu\"") && strstr (reply, "\"pid\":4242"));
    zstr_free (&reply);
    reply = s_ask (rig, "STATUS TEXT");
    assert (strstr (reply, "STAGE") && strstr (reply, "cpu"));
    zstr_free (&reply);
    reply = s_ask (rig, "METRICS");
    assert (strstr (reply, "zsat_stage_vectors_in_total{topology=\"trk\",host=\"a\",node=\"cpu\","
                           "stage=\"cpu@a\"} 1\n"));
    zstr_free (&reply);
    reply = s_ask (rig, "TOPOLOGY");
    assert (strstr (reply, "{\"from\":\"cpu\",\"to\":\"csv\",\"kind\":\"link\","));
    zstr_free (&reply);
    //  ERROR: RESEND to the orchester's host with retry 1
    static const int error[] = {ZSAT_EV_BEGIN, ZSAT_EV_ERROR};
    s_events (rig, "orchester", orchester, 3, 200, 0, NULL);
    s_events (rig, "cpu", error, 2, 200, 0, "boom");
    char *body = s_wait_topic (rig, "RESEND.a", 5000);
    assert (body && strstr (body, "\"task_id\":200,") && strstr (body, "\"retry\":1,"));
    zstr_free (&body);
    //  two more failed attempts: FAILURE with the reason and the history
    s_events (rig, "cpu", error, 2, 200, 1, "boom");
    body = s_wait_topic (rig, "RESEND.a", 5000);
    assert (body && strstr (body, "\"retry\":2,"));
    zstr_free (&body);
    s_events (rig, "cpu", error, 2, 200, 2, "boom at last");
    body = s_wait_topic (rig, "FAILURE", 5000);
    assert (body && strstr (body, "retries exhausted (2): ERROR at cpu@a: boom at last"));
    assert (strstr (body, "\"history\":[{"));
    zstr_free (&body);
}

static void
s_test_timeout_and_hostile (s_rig_t *rig)
{
    //  nothing after SEND: deadline, RESEND, RESEND, FAILURE, in that order
    static const int orchester[] = {ZSAT_EV_INIT, ZSAT_EV_ACK, ZSAT_EV_SEND};
    s_events (rig, "orchester", orchester, 3, 300, 0, NULL);
    int resends = 0;
    char *body = NULL;
    zsock_set_rcvtimeo (rig->sub, 5000);
    for (int i = 0; i < 50 && !body; i++) {
        char *topic = NULL, *text = NULL;
        if (zstr_recvx (rig->sub, &topic, &text, NULL) != 2)
            break;
        if (strlen (rig->seen) + strlen (topic) + 2 < sizeof rig->seen) {
            strcat (rig->seen, topic);
            strcat (rig->seen, " ");
        }
        if (streq (topic, "FAILURE"))
            body = text;
        else {
            resends += strncmp (topic, "RESEND.a", 8) == 0 && strstr (text, "\"task_id\":300,");
            zstr_free (&text);
        }
        zstr_free (&topic);
    }
    assert (body && resends == 2);
    assert (strstr (body, "\"task_id\":300,") && strstr (body, "deadline passed at orchester@a"));
    zstr_free (&body);
    //  hostile messages: counted, never fatal
    zstr_send (rig->push, "one frame only");
    zstr_sendx (rig->push, "zsat.other", "body", NULL);
    zstr_sendx (rig->push, ZSAT_EVBATCH_TOPIC, "\x93garbage", NULL);
    zstr_sendx (rig->push, ZSAT_EVBATCH_TOPIC, "a", "b", NULL);
    zstr_sendx (rig->push, ZSAT_EVBATCH_TOPIC, "", NULL);
    char *reply = s_ask (rig, "HELLO");
    assert (strstr (reply, "\"error\":\"unknown request"));
    zstr_free (&reply);
    zstr_sendx (rig->req, "TRACE", "1", NULL);
    reply = zstr_recv (rig->req);
    assert (reply && strstr (reply, "one frame"));
    zstr_free (&reply);
    reply = s_ask (rig, "TRACE 12x");
    assert (strstr (reply, "\"error\""));
    zstr_free (&reply);
    reply = s_ask (rig, "TRACE 99999");
    assert (strstr (reply, "not retained"));
    zstr_free (&reply);
    for (int i = 0; i < 500; i++) {
        reply = s_ask (rig, "STATUS");
        bool done = strstr (reply, "\"bad_messages\":8,") != NULL;
        zstr_free (&reply);
        if (done)
            break;
        zclock_sleep (10);
    }
    reply = s_ask (rig, "STATUS");
    assert (strstr (reply, "\"bad_messages\":8,"));
    zstr_free (&reply);
    zstr_send (rig->tracker, "STATS");
    reply = zstr_recv (rig->tracker);
    assert (reply && strstr (reply, "\"bad_messages\":8"));
    zstr_free (&reply);
}

//  Asks STATUS until its reply contains text (bounded: 5 s).
static void
s_wait_status (s_rig_t *rig, const char *text)
{
    for (int i = 0; i < 500; i++) {
        char *reply = s_ask (rig, "STATUS");
        bool found = strstr (reply, text) != NULL;
        zstr_free (&reply);
        if (found)
            return;
        zclock_sleep (10);
    }
    assert (false);
}

//  Binds a PULL where the sink node would (the topology's in:tracker->sink), has the tracker
//  send its statistics now, and checks one vector per stage seen so far plus the global one.
static void
s_test_metrics (s_rig_t *rig)
{
    zsat_socket_t sockets[8];
    int count = zsat_topology_sockets (rig->topology, "sink", "a", sockets, 8);
    zsock_t *pull = NULL;
    for (int i = 0; i < count; i++)
        if (streq (sockets[i].name, "in:tracker->sink"))
            pull = zsock_new (sockets[i].socket_type);
    for (int i = 0; i < count && pull; i++)
        if (streq (sockets[i].name, "in:tracker->sink"))
            assert (zsock_attach (pull, sockets[i].endpoint, true) == 0);
    assert (pull);
    zsock_set_rcvtimeo (pull, 5000);
    zstr_send (rig->tracker, "METRICS");
    char *reply = zstr_recv (rig->tracker);
    assert (reply && streq (reply, "4"));  //  orchester, cpu, csv, and the tracker's own
    zstr_free (&reply);
    zsat_record_t *record = (zsat_record_t *)malloc (sizeof *record);
    assert (record);
    char steps[256] = "";
    for (int i = 0; i < 4; i++) {
        zsat_frames_t frames;
        zsat_frames_init (&frames);
        assert (zsat_frames_recv (&frames, zsock_resolve (pull), 0) == 3);
        zsat_vector_t v;
        zsat_error_t err;
        assert (zsat_vector_decode_frames (&v, &frames, &err) == 0);
        assert (streq (v.where, "a") && streq (v.next, "sink") && streq (v.type, "tracker.stats"));
        //  stamped with the time of day (carbon files points by it), not a monotonic clock
        assert (llabs (v.timestamp - zclock_time () * 1000) < 86400000000LL);
        assert (zsat_record_decode (record, v.payload, v.payload_size, &err) == 0);
        zsat_frames_close (&frames);
        strcat (steps, v.step);
        strcat (steps, " ");
        if (streq (v.step, "cpu"))
            assert (record->count == 12 && zsat_record_find (record, "errors")->number == 3 &&
                    zsat_record_find (record, "vectors_per_s_1m"));
        if (streq (v.step, "tracker"))
            assert (zsat_record_find (record, "happy_ends")->number == 1 &&
                    zsat_record_find (record, "resends")->number == 2);
    }
    assert (streq (steps, "orchester cpu csv tracker "));
    free (record);
    zsock_destroy (&pull);
    s_wait_status (rig, "\"metrics\":{\"outputs\":1,\"sent\":4,\"dropped\":0}");
}

//  Breaker: cpu failed 3 of 4 (min_tasks 3, threshold 0.5) in s_test_paths, so it opened
//  with an ALERT, half-opens after 200 ms; a success closes it. Scale: one live cpu
//  instance, busy, idle 0 < low 1 for the window: SCALE.a asks for one more (max 2).
static void
s_test_breaker_and_scale (s_rig_t *rig)
{
    assert (strstr (rig->seen, "BREAKER ") && strstr (rig->seen, "ALERT "));
    //  the feed may already have passed the half-open while the test waited for FAILURE:
    //  ask STATUS, which holds the state whenever it is asked
    s_wait_status (rig, "\"breakers\":{\"cpu\":\"half-open\"");
    static const int ok[] = {ZSAT_EV_BEGIN, ZSAT_EV_END, ZSAT_EV_HEARTBEAT};
    s_events (rig, "cpu", ok, 3, 500, 0, "in=9");
    s_wait_status (rig, "\"breakers\":{\"cpu\":\"closed\"");
    static const int busy[] = {ZSAT_EV_HEARTBEAT, ZSAT_EV_BEGIN};
    s_events (rig, "cpu", busy, 2, 600, 0, "in=10");
    char *body = s_wait_topic (rig, "SCALE.a", 5000);
    assert (body && strstr (body, "{\"node\":\"cpu\",\"delta\":1,\"host\":\"a\",\"idle\":0,"));
    assert (strstr (body, "\"instances\":1,") && strstr (body, "\"max\":2}"));
    zstr_free (&body);
}

void
zsat_tracker_test (bool verbose)
{
    printf (" * zsat_tracker: ");
    tracker_metrics_test (verbose);
    tracker_prom_test (verbose);
    tracker_graph_test (verbose);
    s_rig_t rig;
    memset (&rig, 0, sizeof rig);
    //  Paths, metrics, breaker and scaling are checked with long stage deadlines: with 50 ms
    //  ones, a loaded machine let a deadline fire between two steps and reorder the feed.
    s_rig_start (&rig, "  timeouts: {orchester: 30s, cpu: 30s, csv: 30s}\n"
                       "  scale: {low: 1, high: 3, window: 100ms, cooldown: 1s}\n"
                       "  breaker: {threshold: 0.5, min_tasks: 3, window: 10s, cooldown: 200ms}\n");
    //  the feed is PUB: wait for the first `stats` so nothing later is lost to a slow join
    char *body = s_wait_topic (&rig, "stats", 5000);
    assert (body && strstr (body, "\"tracker\":{"));
    zstr_free (&body);
    s_test_paths (&rig);
    s_test_metrics (&rig);
    s_test_breaker_and_scale (&rig);
    s_rig_stop (&rig);
    //  Deadlines themselves, with the rig's 50 ms ones.
    s_rig_start (&rig, "");
    body = s_wait_topic (&rig, "stats", 5000);
    assert (body && strstr (body, "\"tracker\":{"));
    zstr_free (&body);
    s_test_timeout_and_hostile (&rig);
    s_rig_stop (&rig);
    //  a node that is not a tracker on that host fails start with a reason
    zsat_node_args_t args = {.topology = NULL, .node = "tracker", .host = "nowhere"};
    s_rig_start (&rig, "");
    args.topology = rig.topology;
    zactor_t *bad = zactor_new (zsat_tracker_actor, &args);
    char *status = zstr_recv (bad);
    assert (status && strstr (status, "FAILED "));
    zstr_free (&status);
    zactor_destroy (&bad);
    s_rig_stop (&rig);
    printf ("OK\n");
}
