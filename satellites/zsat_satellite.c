/*  zsat_satellite - the satellite runtime actor. It runs one instance of one node whose kind
    is a source, worker or sink: it owns every socket of that node (the "in:*" inputs, the
    "out:*" outputs and the "events" PUSH to the tracker), so a kind never touches a socket.
    Per input vector: ACK and BEGIN events, the kind's handler (retried with exponential
    backoff on RETRY, up to the tracker policy's max_retry), then forwarding to every output
    whose `when` holds (END), or HAPPY_END at the last stage, or ERROR. Sources are ticked.
    Events are batched (256 records or 5 ms); a HEARTBEAT carries the counters every second.
    Malformed input is counted and dead-lettered, never fatal.
    Links into and out of a `buffer` node (critical channels) use the buffer's client instead
    of a plain socket: an output counts a vector as sent once the buffer answered STORED
    (runtime_buffer.c); an input acknowledges a record only after the handler returned OK or
    SKIP and every vector it forwarded into a buffer was STORED, so a crash, an ERROR or a
    refusal in between leaves it to the buffer's replay.
*/
#include "zsat.h"
#include "zsat_curve.h"
#include "zsat_ipcguard.h"
#include "zsat_satellite.h"
#include "zsat_options.h"
#include "zsat_probes.h"
#include "runtime_buffer.h"
#include <sys/stat.h>

#define SAT_SOCKETS_MAX 64
#define SAT_BURST       64  //  messages read from one input before the others get a turn
//  Buffer clients have no socket to poll here: they are polled at least this often.
#define SAT_BUFFER_POLL_MS 5
//  A source ticking more often than this wakes once per quantum and runs the ticks due in one
//  burst: cost follows the vectors, not a wake-up per vector (docs/satellites.md).
#define SAT_TICK_QUANTUM_US 50000
//  At $TERM, how long the vectors awaiting STORED may keep the node alive.
#define SAT_BUFFER_DRAIN_MS 5000

typedef enum { WHEN_LT, WHEN_LE, WHEN_GT, WHEN_GE, WHEN_EQ, WHEN_NE } s_when_op_t;

typedef struct {
    zsock_t *sock;
    void *handle;
    char name[128];
    char peer[ZSAT_NAME_MAX];
    int type;
    bool has_when;
    char when_key[ZSAT_RECORD_KEY_MAX];
    s_when_op_t when_op;
    double when_value;
    sat_bufout_t *bufout;       //  a link into a buffer node (sock is NULL)
    zsat_bufconsumer_t *bufin;  //  a link out of a buffer node (sock is NULL)
} s_port_t;

//  A record from a buffer input, acknowledged once its handler finished and every vector it
//  sent into a buffer was STORED: a crash in between leaves it to the buffer's replay.
typedef struct {
    zsat_bufconsumer_t *consumer;
    uint64_t seq;
    int holds;     //  answers awaited, plus one while the handler runs
    bool failed;   //  the handler failed or a buffer refused: not acknowledged
    void *handle;  //  in self->acks
} s_ack_t;

typedef struct {
    zsock_t *pipe;
    zsat_node_args_t *args;
    const zsat_kind_t *kind;
    zsat_ctx_t *ctx;
    void *config;
    void *state;
    bool kind_started;
    s_port_t input[SAT_SOCKETS_MAX];
    size_t input_count;
    s_port_t output[SAT_SOCKETS_MAX];
    size_t output_count;
    zsock_t *events;
    zsat_evbatch_t *evbatch;
    zmq_pollitem_t items[SAT_SOCKETS_MAX + 1];
    zsat_frames_t frames;
    zsat_vector_t vector, original;
    zsat_record_t *record;  //  decoded once per vector for `when`
    int record_state;       //  0 not decoded, 1 decoded, -1 not a record
    uint64_t in, out, errors, retries, dropped, dead, ticks;
    uint64_t dead_by[ZSAT_E_CONFIG + 1];  //  dead letters per zsat_errcode_t (STATS)
    bool buffered;         //  some port is a buffer link: poll them every SAT_BUFFER_POLL_MS
    bool buffer_busy;      //  a buffer input delivered a full burst: poll again at once
    zsat_result_t result;  //  of the last s_handle: a buffer input acknowledges on OK/SKIP
    zlistx_t *acks;        //  s_ack_t * awaiting answers
    s_ack_t *current;      //  of the record being handled, or NULL
    int max_retry;
    int64_t next_heartbeat, next_flush, next_tick_us;
    int64_t last_flush;  //  zclock_mono of the last event flush
    uint32_t pid;
    bool terminated;
    char reason[256];
} self_t;

//  --- setup ---

static int
s_when_parse (s_port_t *port, const char *when)
{
    static const char *ops[] = {"<=", ">=", "==", "!=", "<", ">"};
    static const s_when_op_t codes[] = {WHEN_LE, WHEN_GE, WHEN_EQ, WHEN_NE, WHEN_LT, WHEN_GT};
    const char *at = strpbrk (when, "<>=!");
    if (!at)
        return -1;
    size_t key_len = (size_t)(at - when);
    while (key_len > 0 && isspace ((unsigned char)when[key_len - 1]))
        key_len--;
    while (key_len > 0 && isspace ((unsigned char)*when))
        when++, key_len--;
    if (key_len == 0 || key_len >= sizeof port->when_key)
        return -1;
    for (size_t i = 0; i < 6; i++)
        if (strncmp (at, ops[i], strlen (ops[i])) == 0) {
            char *end = NULL;
            port->when_value = strtod (at + strlen (ops[i]), &end);
            while (end && isspace ((unsigned char)*end))
                end++;
            if (!end || end == at + strlen (ops[i]) || *end)
                return -1;
            memcpy (port->when_key, when, key_len);
            port->when_key[key_len] = 0;
            port->when_op = codes[i];
            port->has_when = true;
            return 0;
        }
    return -1;
}

//  A binding ipc endpoint needs its directory; explicit endpoints may lie outside the run
//  directory, which is created beforehand (private, 0700).
static void
s_make_ipc_dirs (const char *endpoints)
{
    char list[512];
    snprintf (list, sizeof list, "%s", endpoints);
    char *save = NULL;
    for (char *e = strtok_r (list, ",", &save); e; e = strtok_r (NULL, ",", &save)) {
        if (*e != '@' || strncmp (e + 1, "ipc://", 6) != 0)
            continue;
        char *path = e + 7;
        for (char *slash = strchr (path + 1, '/'); slash; slash = strchr (slash + 1, '/')) {
            *slash = 0;
            mkdir (path, 0700);
            *slash = '/';
        }
    }
}

//  Options set on purpose, before attach (they apply to later binds/connects).
static void
s_configure (zsock_t *sock, const zsat_socket_t *spec)
{
    bool output = strncmp (spec->name, "out:", 4) == 0;
    bool events = streq (spec->name, "events");
    //  Bounded queues: memory stays bounded; a full PUSH blocks (backpressure), a full PUB drops.
    int hwm = events ? ZSAT_SATELLITE_EVENTS_HWM : ZSAT_SATELLITE_HWM;
    zsock_set_sndhwm (sock, hwm);
    zsock_set_rcvhwm (sock, hwm);
    //  Outputs and events drain queued messages at close; inputs have nothing to send.
    zsock_set_linger (sock, output || events ? ZSAT_SATELLITE_LINGER_MS : 0);
    //  A peer cannot make us allocate more than one maximal vector per frame.
    zsock_set_maxmsgsize (sock, ZSAT_PAYLOAD_MAX + ZSAT_ENVELOPE_MAX + ZSAT_ROUTING_MAX);
    if (strstr (spec->endpoint, "tcp://")) {
        //  Detects a frozen or vanished tcp peer, which TCP alone may never report.
        zsock_set_heartbeat_ivl (sock, 1000);
        zsock_set_heartbeat_timeout (sock, 3000);
        zsock_set_heartbeat_ttl (sock, 3000);
    }
    if (output && spec->socket_type == ZMQ_PUSH && !spec->bind)
        //  Queue only to connected peers: a vector never waits for a peer that is not there.
        zsock_set_immediate (sock, 1);
    if (output && spec->socket_type == ZMQ_PUSH)
        //  A blocked send wakes up to answer the pipe and send heartbeats.
        zsock_set_sndtimeo (sock, 100);
    if (output && spec->socket_type == ZMQ_PUB) {
        //  A full PUB reports EAGAIN instead of dropping silently: the drop is counted.
        int one = 1;
        zmq_setsockopt (zsock_resolve (sock), ZMQ_XPUB_NODROP, &one, sizeof one);
    }
    if (spec->socket_type == ZMQ_SUB)
        zsock_set_subscribe (sock, spec->topic ? spec->topic : "");
}

static zsock_t *
s_open (const zsat_socket_t *spec, char *reason, size_t cap)
{
    zsock_t *sock = zsock_new (spec->socket_type);
    if (!sock) {
        snprintf (reason, cap, "socket %s: cannot create", spec->name);
        return NULL;
    }
    s_configure (sock, spec);
    s_make_ipc_dirs (spec->endpoint);
    char guard[512];
    if (zsat_ipcguard_check (spec->endpoint, spec->bind, guard, sizeof guard) != 0) {
        snprintf (reason, cap, "socket %.50s: %.400s", spec->name, guard);
        zsock_destroy (&sock);
    }
    else if (zsat_curve_apply (sock, NULL, spec->endpoint,
                               spec->bind ? ZSAT_CURVE_SERVER : ZSAT_CURVE_CLIENT) != 0) {
        snprintf (reason, cap, "socket %.50s: cannot secure %.120s (see docs/security.md)",
                  spec->name, spec->endpoint);
        zsock_destroy (&sock);
    }
    else if (zsock_attach (sock, spec->endpoint, spec->bind) != 0) {
        snprintf (reason, cap, "socket %.50s: cannot attach %.120s: %.50s", spec->name,
                  spec->endpoint, zmq_strerror (zmq_errno ()));
        zsock_destroy (&sock);
    }
    return sock;
}

static bool
s_is_buffer_link (self_t *self, const zsat_socket_t *spec)
{
    const zsat_node_t *peer =
        spec->peer ? zsat_topology_node_find (self->args->topology, spec->peer) : NULL;
    return spec->socket_type == ZMQ_DEALER && peer && streq (peer->kind, "buffer");
}

//  A buffer link: the consumer is named after the node (validation lets it run once), so
//  the buffer keeps one cursor for it across restarts.
static int
s_add_buffer_port (self_t *self, const zsat_socket_t *spec, bool input)
{
    size_t *count = input ? &self->input_count : &self->output_count;
    s_port_t *port = input ? &self->input[*count] : &self->output[*count];
    memset (port, 0, sizeof *port);
    zsat_error_t err;
    const char *endpoint = spec->endpoint + (spec->endpoint[0] == '>');
    s_make_ipc_dirs (spec->endpoint);
    if (input)
        port->bufin = zsat_bufconsumer_new (endpoint, self->args->node, &err);
    else
        port->bufout = sat_bufout_new (endpoint, &err);
    if (!port->bufin && !port->bufout) {
        snprintf (self->reason, sizeof self->reason, "%.60s: buffer client: %.150s", spec->name,
                  err.text);
        return -1;
    }
    port->type = ZMQ_DEALER;
    snprintf (port->name, sizeof port->name, "%s", spec->name);
    snprintf (port->peer, sizeof port->peer, "%s", spec->peer);
    (*count)++;
    self->buffered = true;
    if (spec->when && *spec->when && s_when_parse (port, spec->when)) {
        snprintf (self->reason, sizeof self->reason, "%s: cannot parse when '%s'", spec->name,
                  spec->when);
        return -1;
    }
    return 0;
}

static int
s_add_port (self_t *self, const zsat_socket_t *spec)
{
    bool input = strncmp (spec->name, "in:", 3) == 0;
    bool output = strncmp (spec->name, "out:", 4) == 0;
    bool events = streq (spec->name, "events");
    if (!input && !output && !events)
        return 0;  //  system sockets belong to system kinds
    if (s_is_buffer_link (self, spec))
        return s_add_buffer_port (self, spec, input);
    zsock_t *sock = s_open (spec, self->reason, sizeof self->reason);
    if (!sock)
        return -1;
    if (events) {
        zsock_destroy (&self->events);
        self->events = sock;
        return 0;
    }
    size_t *count = input ? &self->input_count : &self->output_count;
    s_port_t *port = input ? &self->input[*count] : &self->output[*count];
    memset (port, 0, sizeof *port);
    port->sock = sock;
    port->handle = zsock_resolve (sock);
    port->type = spec->socket_type;
    snprintf (port->name, sizeof port->name, "%s", spec->name);
    snprintf (port->peer, sizeof port->peer, "%s", spec->peer ? spec->peer : "");
    (*count)++;
    if (spec->when && *spec->when && s_when_parse (port, spec->when)) {
        snprintf (self->reason, sizeof self->reason, "%s: cannot parse when '%s'", spec->name,
                  spec->when);
        return -1;
    }
    return 0;
}

static int
s_open_sockets (self_t *self)
{
    zsat_socket_t *specs = (zsat_socket_t *)calloc (SAT_SOCKETS_MAX, sizeof (zsat_socket_t));
    int count = zsat_topology_sockets (self->args->topology, self->args->node, self->args->host,
                                       specs, SAT_SOCKETS_MAX);
    int rc = 0;
    if (count < 0) {
        snprintf (self->reason, sizeof self->reason, "node '%s' does not run on host '%s'",
                  self->args->node, self->args->host);
        rc = -1;
    }
    for (int i = 0; rc == 0 && i < count; i++)
        rc = s_add_port (self, &specs[i]);
    free (specs);
    if (rc == 0 && !self->events) {
        snprintf (self->reason, sizeof self->reason, "no events socket to the tracker");
        rc = -1;
    }
    return rc;
}

static int
s_start_kind (self_t *self, const zsat_node_t *node)
{
    zsat_topology_t *topology = self->args->topology;
    if (self->kind->config_size)
        self->config = calloc (1, self->kind->config_size);
    zsat_diag_t *diag = zsat_diag_new ();
    int rc = zsat_options_parse_at (self->kind, node->options, node->option_count, self->config,
                                    zsat_topology_file (topology), node->line, node->col, diag);
    if (rc)
        snprintf (self->reason, sizeof self->reason, "options: %s", zsat_diag_get (diag, 0));
    zsat_diag_destroy (&diag);
    if (rc == 0 && self->kind->init && self->kind->init (self->ctx, self->config, &self->state)) {
        snprintf (self->reason, sizeof self->reason, "kind '%s' failed to start (see log)",
                  self->kind->name);
        rc = -1;
    }
    self->kind_started = rc == 0;
    return rc;
}

static int
s_evbatch_new (self_t *self)
{
    zsat_event_source_t source;
    memset (&source, 0, sizeof source);
    snprintf (source.host, sizeof source.host, "%s", self->args->host);
    snprintf (source.node, sizeof source.node, "%s", self->args->node);
    source.wid = (uint32_t)self->args->instance;
    source.pid = (uint32_t)getpid ();
    snprintf (source.version, sizeof source.version, "%s", ZSAT_VERSION);
    self->evbatch = zsat_evbatch_new (&source, ZSAT_SATELLITE_BATCH);
    if (!self->evbatch)
        snprintf (self->reason, sizeof self->reason, "cannot create the event batch");
    return self->evbatch ? 0 : -1;
}

static void
s_ack_free (void **item)
{
    free (*item);
    *item = NULL;
}

static int
s_setup (self_t *self)
{
    zsat_node_args_t *args = self->args;
    self->pid = (uint32_t)getpid ();  //  once: the vector's pid field, not a syscall per vector
    const zsat_node_t *node =
        args->topology ? zsat_topology_node_find (args->topology, args->node) : NULL;
    if (!node) {
        snprintf (self->reason, sizeof self->reason, "no node '%s' in the topology",
                  args->node ? args->node : "");
        return -1;
    }
    self->kind = zsat_kind_find (node->kind);
    if (!self->kind || self->kind->role == ZSAT_ROLE_SYSTEM ||
        self->kind->role == ZSAT_ROLE_EXTERNAL) {
        snprintf (self->reason, sizeof self->reason,
                  !self->kind ? "unknown kind '%s' (not compiled into this zsat)"
                  : self->kind->role == ZSAT_ROLE_EXTERNAL
                      ? "kind '%s': an external program, never started by zsat"
                      : "kind '%s' is a system kind: it runs its own actor",
                  node->kind);
        return -1;
    }
    //  The context's directory is where kinds keep data: the state directory.
    self->ctx = zsat_ctx_new (zsat_topology_name (args->topology), args->host, args->node,
                              args->instance, zsat_topology_state_dir (args->topology));
    self->record = (zsat_record_t *)malloc (sizeof (zsat_record_t));
    if (!self->ctx || !self->record) {
        snprintf (self->reason, sizeof self->reason, "out of memory");
        return -1;
    }
    self->max_retry = zsat_topology_policy (args->topology)->max_retry;
    self->acks = zlistx_new ();
    if (!self->acks) {
        snprintf (self->reason, sizeof self->reason, "out of memory");
        return -1;
    }
    zlistx_set_destructor (self->acks, s_ack_free);
    zsat_error_t err;
    if (zsat_topology_prepare_host (args->topology, args->host, &err)) {
        snprintf (self->reason, sizeof self->reason, "%s", err.text);
        return -1;
    }
    if (s_evbatch_new (self) || s_open_sockets (self))
        return -1;
    return s_start_kind (self, node);
}

static void
s_destroy (self_t *self)
{
    if (self->kind_started && self->kind->exit)
        self->kind->exit (self->ctx, self->state);
    zsat_frames_close (&self->frames);
    for (size_t i = 0; i < self->input_count; i++) {
        zsock_destroy (&self->input[i].sock);
        zsat_bufconsumer_destroy (&self->input[i].bufin);
    }
    for (size_t i = 0; i < self->output_count; i++) {
        zsock_destroy (&self->output[i].sock);
        sat_bufout_destroy (&self->output[i].bufout);
    }
    zlistx_destroy (&self->acks);
    zsock_destroy (&self->events);
    zsat_evbatch_destroy (&self->evbatch);
    zsat_ctx_destroy (&self->ctx);
    free (self->config);
    free (self->record);
}

//  --- events ---

static void
s_flush (self_t *self)
{
    //  Never block the data path on the tracker: a refused batch is dropped and counted.
    zsat_evbatch_flush (self->evbatch, zsock_resolve (self->events), ZMQ_DONTWAIT);
    self->next_flush = 0;
    self->last_flush = zclock_mono ();
}

//  A pending batch goes ZSAT_SATELLITE_FLUSH_MS after its first record at the latest, and at
//  the end of any earlier wake-up once the last flush is that old (s_timers): at most one
//  flush per period under load, and at low rates no wake-up of its own.
static void
s_arm_flush (self_t *self)
{
    if (self->next_flush == 0)
        self->next_flush = zclock_mono () + ZSAT_SATELLITE_FLUSH_MS;
}

static void
s_event (self_t *self, int event, const zsat_vector_t *v, const char *detail)
{
    int pending = zsat_evbatch_add_vector (self->evbatch, event, v, detail);
    if (pending >= ZSAT_SATELLITE_BATCH)
        s_flush (self);
    else if (pending > 0)
        s_arm_flush (self);
}

static uint64_t
s_dropped (self_t *self)
{
    return self->dropped + zsat_evbatch_dropped (self->evbatch);
}

static void
s_heartbeat (self_t *self)
{
    zsat_event_rec_t rec;
    memset (&rec, 0, sizeof rec);
    rec.event = ZSAT_EV_HEARTBEAT;
    snprintf (rec.type, sizeof rec.type, "%s", self->kind->name);
    rec.timestamp = zclock_time () * 1000;
    int n =
        snprintf (rec.detail, sizeof rec.detail,
                  "in=%" PRIu64 " out=%" PRIu64 " errors=%" PRIu64 " retries=%" PRIu64
                  " dropped=%" PRIu64 " dead=%" PRIu64,
                  self->in, self->out, self->errors, self->retries, s_dropped (self), self->dead);
    //  The kind's own counters follow, as many as fit in one detail.
    uint64_t value;
    const char *name;
    for (size_t i = 0; (name = zsat_ctx_counter_at (self->ctx, i, &value)) != NULL; i++) {
        char item[96];
        int len = snprintf (item, sizeof item, " %s=%" PRIu64, name, value);
        if (n < 0 || (size_t)n + (size_t)len >= sizeof rec.detail)
            break;
        memcpy (rec.detail + n, item, (size_t)len + 1);
        n += len;
    }
    if (zsat_evbatch_add (self->evbatch, &rec) >= 0)
        s_flush (self);
    self->next_heartbeat = zclock_mono () + ZSAT_SATELLITE_HEARTBEAT_MS;
}

//  Drops one hold of a buffer record; the last one acknowledges it unless something failed.
static void
s_ack_release (self_t *self, s_ack_t *ack, bool failed)
{
    ack->failed |= failed;
    if (--ack->holds > 0)
        return;
    if (!ack->failed)
        zsat_bufconsumer_ack (ack->consumer, ack->seq);
    zlistx_delete (self->acks, ack->handle);
}

//  Takes the answers of every buffer output: STORED counts the vector sent, REFUSED (disk
//  limit, I/O) is an ERROR event with the buffer's reason.
static void
s_buffer_answers (self_t *self, int timeout_ms)
{
    for (size_t i = 0; i < self->output_count; i++) {
        sat_bufanswer_t answer;
        for (int n = 0; self->output[i].bufout && n < 1000 &&
                        sat_bufout_poll (self->output[i].bufout, n ? 0 : timeout_ms, &answer) == 1;
             n++) {
            if (answer.token)
                s_ack_release (self, (s_ack_t *)answer.token, !answer.stored);
            if (answer.stored) {
                self->out++;
                continue;
            }
            zsat_vector_t v;
            zsat_vector_init (&v);
            v.task_id = answer.task_id;
            v.job_id = answer.job_id;
            snprintf (v.type, sizeof v.type, "%s", answer.type);
            snprintf (v.where, sizeof v.where, "%s", self->args->host);
            snprintf (v.step, sizeof v.step, "%s", self->args->node);
            char detail[ZSAT_EVENT_DETAIL_MAX];
            snprintf (detail, sizeof detail, "%.30s: REFUSED: %.70s", self->output[i].name,
                      answer.reason);
            self->errors++;
            s_event (self, ZSAT_EV_ERROR, &v, detail);
            zsat_ctx_log (self->ctx, ZSAT_LOG_ERROR, "task %" PRIu64 ": %s", v.task_id, detail);
        }
    }
}

static void
s_timers (self_t *self)
{
    int64_t now = zclock_mono ();
    if (self->buffered)
        s_buffer_answers (self, 0);
    if (self->next_flush &&
        (now >= self->next_flush || now - self->last_flush >= ZSAT_SATELLITE_FLUSH_MS))
        s_flush (self);
    if (now >= self->next_heartbeat)
        s_heartbeat (self);
}

//  --- pipe ---

//  STATS: "bad" (malformed input) equals "dead" in a satellite: it dead-letters nothing else.

//  Appends "dead_by":{"frames":n,...} (the codes of docs/protocol.md section 9 that occurred)
//  and opens "counters":{. Returns the new length.
static int
s_stats_dead_by (self_t *self, char *json, size_t cap, int n)
{
    static const char *names[ZSAT_E_CONFIG + 1] = {"other",    "frames",    "version", "type",
                                                   "size",     "truncated", "depth",   "field",
                                                   "checksum", "routing",   "io",      "config"};
    bool first = true;
    n += snprintf (json + n, cap - (size_t)n, "\"dead_by\":{");
    for (int i = 0; i <= ZSAT_E_CONFIG && (size_t)n < cap - 100; i++)
        if (self->dead_by[i]) {
            n += snprintf (json + n, cap - (size_t)n, "%s\"%s\":%" PRIu64, first ? "" : ",",
                           names[i], self->dead_by[i]);
            first = false;
        }
    n += snprintf (json + n, cap - (size_t)n, "},\"counters\":{");
    return n;
}

static void
s_stats (self_t *self)
{
    char json[2048];
    int n = snprintf (json, sizeof json,
                      "{\"node\":\"%s\",\"host\":\"%s\",\"instance\":%d,\"kind\":\"%s\","
                      "\"in\":%" PRIu64 ",\"out\":%" PRIu64 ",\"errors\":%" PRIu64
                      ",\"retries\":%" PRIu64 ",\"dropped\":%" PRIu64 ",\"dead\":%" PRIu64
                      ",\"bad\":%" PRIu64 ",\"ticks\":%" PRIu64 ",",
                      self->args->node, self->args->host, self->args->instance, self->kind->name,
                      self->in, self->out, self->errors, self->retries, s_dropped (self),
                      self->dead, self->dead, self->ticks);
    n = s_stats_dead_by (self, json, sizeof json, n);
    uint64_t value;
    const char *name;
    for (size_t i = 0; (name = zsat_ctx_counter_at (self->ctx, i, &value)) != NULL; i++)
        if (n > 0 && (size_t)n < sizeof json - 100)
            n += snprintf (json + n, sizeof json - (size_t)n, "%s\"%s\":%" PRIu64, i ? "," : "",
                           name, value);
    if (n > 0 && (size_t)n < sizeof json - 3)
        snprintf (json + n, sizeof json - (size_t)n, "}}");
    zstr_send (self->pipe, json);
}

static void
s_command (self_t *self)
{
    char *command = zstr_recv (self->pipe);
    if (!command) {
        self->terminated = true;  //  interrupted
        return;
    }
    if (streq (command, "$TERM"))
        self->terminated = true;
    else if (streq (command, "STATS"))
        s_stats (self);
    else
        zsat_ctx_log (self->ctx, ZSAT_LOG_WARN, "unknown pipe command '%s'", command);
    zstr_free (&command);
}

static bool
s_pipe_ready (self_t *self, long timeout_ms)
{
    zmq_pollitem_t item = {zsock_resolve (self->pipe), 0, ZMQ_POLLIN, 0};
    return zmq_poll (&item, 1, timeout_ms) > 0 && (item.revents & ZMQ_POLLIN);
}

//  --- forwarding ---

static bool
s_when_holds (self_t *self, const s_port_t *port, const zsat_vector_t *v)
{
    if (!port->has_when)
        return true;
    if (self->record_state == 0) {
        zsat_error_t err;
        bool is_record = streq (v->serialization, ZSAT_RECORD_SERIALIZATION) &&
                         zsat_record_decode (self->record, v->payload, v->payload_size, &err) == 0;
        self->record_state = is_record ? 1 : -1;
    }
    const zsat_field_value_t *field =
        self->record_state == 1 ? zsat_record_find (self->record, port->when_key) : NULL;
    if (!field || !field->is_number)
        return false;  //  a missing key never matches
    double x = field->number, y = port->when_value;
    switch (port->when_op) {
        case WHEN_LT:
            return x < y;
        case WHEN_LE:
            return x <= y;
        case WHEN_GT:
            return x > y;
        case WHEN_GE:
            return x >= y;
        case WHEN_EQ:
            return x == y;
        case WHEN_NE:
            return x != y;
    }
    return false;
}

//  Sends v on one output. A full PUSH blocks (backpressure) while answering the pipe and
//  sending heartbeats; a full PUB drops. Returns 0, or -1 when dropped (counted).
static int
s_send (self_t *self, s_port_t *port, const zsat_vector_t *v)
{
    zsat_error_t err;
    int flags = port->type == ZMQ_PUB ? ZMQ_DONTWAIT : 0;
    while (port->bufout) {
        //  Counted in `out` when STORED (s_buffer_answers); a full window waits, like a PUSH.
        int rc = sat_bufout_send (port->bufout, v, self->current, 100, &err);
        if (rc == 0) {
            if (self->current)
                self->current->holds++;
            return 0;
        }
        if (rc < 0 || self->terminated)
            break;
        s_timers (self);
        if (s_pipe_ready (self, 0))
            s_command (self);
    }
    while (!port->bufout) {
        if (zsat_vector_send (v, port->handle, flags, &err) == 0) {
            self->out++;
            return 0;
        }
        if (err.code != ZSAT_E_IO || errno != EAGAIN || flags == ZMQ_DONTWAIT || self->terminated)
            break;
        s_timers (self);
        if (s_pipe_ready (self, 0))
            s_command (self);
    }
    self->dropped++;
    zsat_ctx_log (self->ctx, ZSAT_LOG_DEBUG, "%s: dropped task %" PRIu64 ": %s", port->name,
                  v->task_id, err.text);
    return -1;
}

static bool
s_leads_to (self_t *self, const s_port_t *port, const char *target)
{
    return streq (port->peer, target) ||
           zsat_topology_reaches (self->args->topology, port->peer, target);
}

//  A task re-sent for a branch that failed further down names that branch's node in `next`
//  (the orchester's s_resend_targets): only the outputs leading there get it, and it keeps
//  naming it, so the branches that succeeded do not see the task twice. NULL: every output.
static const char *
s_resend_target (self_t *self)
{
    const char *target = self->original.next;
    if (self->original.retry == 0 || !*target || streq (target, self->args->node))
        return NULL;
    for (size_t i = 0; i < self->output_count; i++)
        if (s_leads_to (self, &self->output[i], target))
            return target;
    return NULL;
}

//  Which outputs get v: those whose condition holds, and of a re-sent task only those that
//  lead to the branch being retried. Returns how many.
static size_t
s_match_outputs (self_t *self, const zsat_vector_t *v, const char *target, bool *match)
{
    size_t matched = 0;
    self->record_state = 0;  //  `when` decodes this vector's record at most once
    for (size_t i = 0; i < self->output_count; i++) {
        match[i] = (!*target || s_leads_to (self, &self->output[i], target)) &&
                   s_when_holds (self, &self->output[i], v);
        matched += match[i];
    }
    return matched;
}

//  Forwards v to every matching output; reports END, or HAPPY_END when the task ends here
//  (last stage, or no condition held). A fork (N > 1 outputs) is reported first, END with
//  detail "branches=N", and flushed before any branch gets the vector, so the tracker knows
//  to wait for N ends before the first of them arrives.
static bool
s_forward (self_t *self, zsat_vector_t *v)
{
    char target[ZSAT_NAME_MAX] = "";
    if (s_resend_target (self))
        snprintf (target, sizeof target, "%s", self->original.next);
    snprintf (v->step, sizeof v->step, "%s", self->args->node);
    v->wid = (uint32_t)self->args->instance;
    v->pid = self->pid;
    bool match[SAT_SOCKETS_MAX];
    size_t matched = s_match_outputs (self, v, target, match), sent = 0;
    if (matched > 1) {
        char branches[32];
        snprintf (branches, sizeof branches, "branches=%zu", matched);
        s_event (self, ZSAT_EV_END, v, branches);
        s_flush (self);
    }
    uint32_t seq = v->seq, flags = v->flags;
    v->event = ZSAT_EV_PROPAGATE;
    v->seq = seq + 1;
    if (matched > 1)
        v->flags |= ZSAT_FLAG_FORKED;  //  its branches' ends say they are one of several
    for (size_t i = 0; i < self->output_count; i++)
        if (match[i]) {
            snprintf (v->next, sizeof v->next, "%s", *target ? target : self->output[i].peer);
            sent += s_send (self, &self->output[i], v) == 0;
        }
    v->seq = seq;
    v->flags = flags;
    if (self->output_count == 0)
        s_event (self, ZSAT_EV_HAPPY_END, v, NULL);
    else if (matched == 0)
        s_event (self, ZSAT_EV_HAPPY_END, v, "no output condition held");
    else if (sent == 0) {
        self->errors++;
        s_event (self, ZSAT_EV_ERROR, v, "not forwarded: every output refused it");
        return false;
    }
    else if (matched == 1)
        s_event (self, ZSAT_EV_END, v, NULL);
    return true;
}

//  --- handling ---

//  Waits before a retry while still answering the pipe. Returns false when told to stop.
static bool
s_backoff (self_t *self, int64_t delay_ms)
{
    int64_t until = zclock_mono () + delay_ms;
    int64_t now;
    while (!self->terminated && (now = zclock_mono ()) < until) {
        int64_t wait = until - now;
        if (self->next_flush && self->next_flush - now < wait)
            wait = self->next_flush - now > 0 ? self->next_flush - now : 0;
        if (s_pipe_ready (self, (long)wait))
            s_command (self);
        s_timers (self);
    }
    return !self->terminated;
}

//  One task, one retry budget: the vector's `retry` counts every run of the task beyond the
//  first, whether the runtime retried it here or the tracker had it re-sent, so a local
//  retry takes the next number and none is made once retry reached max_retry.
static zsat_result_t
s_call (self_t *self, zsat_vector_t *v, char *detail, size_t cap)
{
    int64_t delay = ZSAT_SATELLITE_BACKOFF_MS;
    for (;;) {
        *v = self->original;
        zsat_kind_detail_clear ();
        zsat_result_t result = self->kind->handle (self->ctx, self->state, v);
        snprintf (detail, cap, "%s", zsat_kind_detail ());
        if (result != ZSAT_RETRY)
            return result;
        if ((int64_t)self->original.retry >= self->max_retry) {
            snprintf (detail, cap, "gave up after %u retries: %s", self->original.retry,
                      zsat_kind_detail ());
            return ZSAT_ERROR;
        }
        self->retries++;
        self->original.retry++;
        v->retry = self->original.retry;  //  the RETRY event names the attempt it starts
        s_event (self, ZSAT_EV_RETRY, v, detail);
        if (!s_backoff (self, delay)) {
            snprintf (detail, cap, "stopped while retrying: %s", zsat_kind_detail ());
            return ZSAT_ERROR;
        }
        delay = delay * 2 > ZSAT_SATELLITE_BACKOFF_CAP ? ZSAT_SATELLITE_BACKOFF_CAP : delay * 2;
    }
}

static void
s_handle (self_t *self, zsat_vector_t *v)
{
    char detail[ZSAT_EVENT_DETAIL_MAX];
    self->original = *v;
    //  ACK: the vector reached this node; BEGIN: its handler starts (they differ for a
    //  tracker measuring queueing vs work only when a node queues, which it does not).
    s_event (self, ZSAT_EV_ACK, v, NULL);
    s_event (self, ZSAT_EV_BEGIN, v, NULL);
    zsat_result_t result = s_call (self, v, detail, sizeof detail);
    self->result = result;
    if (result == ZSAT_OK) {
        if (!s_forward (self, v))
            self->result = ZSAT_ERROR;  //  counted and reported by s_forward
    }
    else if (result == ZSAT_SKIP)
        s_event (self, ZSAT_EV_HAPPY_END, v, "skipped");
    else {
        self->errors++;
        s_event (self, ZSAT_EV_ERROR, v, *detail ? detail : "handler failed");
    }
}

static void
s_dead_letter (self_t *self, const s_port_t *port, const zsat_error_t *err)
{
    const char *reason = err->text;
    self->dead++;
    self->dead_by[err->code >= 0 && err->code <= ZSAT_E_CONFIG ? err->code : 0]++;
    zsat_event_rec_t rec;
    memset (&rec, 0, sizeof rec);
    rec.event = ZSAT_EV_DEAD_LETTER;
    rec.timestamp = zclock_time () * 1000;
    snprintf (rec.detail, sizeof rec.detail, "%.40s: %.80s", port->name, reason);
    if (zsat_evbatch_add (self->evbatch, &rec) >= ZSAT_SATELLITE_BATCH)
        s_flush (self);
    else
        s_arm_flush (self);
}

//  Reads up to SAT_BURST messages from one input without waiting.
static void
s_drain_input (self_t *self, s_port_t *port)
{
    for (int n = 0; n < SAT_BURST && !self->terminated; n++) {
        if (zsat_frames_recv (&self->frames, port->handle, ZMQ_DONTWAIT) < 0)
            return;
        zsat_error_t err;
        if (zsat_vector_decode_frames (&self->vector, &self->frames, &err)) {
            s_dead_letter (self, port, &err);
            continue;
        }
        self->in++;
        if (self->kind->handle)
            s_handle (self, &self->vector);
        else
            s_event (self, ZSAT_EV_HAPPY_END, &self->vector, "kind has no handler");
        s_timers (self);
    }
}

//  Reads up to SAT_BURST records of a buffer input; acknowledges each one the handler
//  finished (OK or SKIP). One the handler failed stays unacknowledged: the buffer replays it.
static void
s_drain_buffer_input (self_t *self, s_port_t *port)
{
    int n = 0;
    zsat_bufrecord_t rec;
    for (; n < SAT_BURST && !self->terminated && zsat_bufconsumer_recv (port->bufin, 0, &rec) == 1;
         n++) {
        zsat_error_t err;
        if (zsat_vector_decode (&self->vector, rec.frame[0], rec.frame_size[0], rec.frame[1],
                                rec.frame_size[1], rec.frame[2], rec.frame_size[2], &err)) {
            s_dead_letter (self, port, &err);
            zsat_bufconsumer_ack (port->bufin, rec.seq);  //  replaying it would not help
            continue;
        }
        self->in++;
        if (rec.flags & ZSAT_FLAG_REPLAY)
            zsat_ctx_count (self->ctx, "replayed", 1);
        self->result = ZSAT_OK;
        s_ack_t *ack = (s_ack_t *)calloc (1, sizeof *ack);
        if (ack) {  //  without it the record is not acknowledged: the buffer replays it
            *ack = (s_ack_t){.consumer = port->bufin, .seq = rec.seq, .holds = 1};
            ack->handle = zlistx_add_end (self->acks, ack);
        }
        self->current = ack;
        if (self->kind->handle)
            s_handle (self, &self->vector);
        else
            s_event (self, ZSAT_EV_HAPPY_END, &self->vector, "kind has no handler");
        self->current = NULL;
        if (ack)
            s_ack_release (self, ack, self->result != ZSAT_OK && self->result != ZSAT_SKIP);
        s_timers (self);
    }
    const char *denied = zsat_bufconsumer_denied (port->bufin);
    if (denied && !self->terminated) {
        snprintf (self->reason, sizeof self->reason, "%.60s: %.180s", port->name, denied);
        zsat_ctx_log (self->ctx, ZSAT_LOG_ERROR, "buffer denied this consumer: %s", self->reason);
    }
    self->buffer_busy |= n == SAT_BURST;
}

//  --- sources ---

static void
s_tick_once (self_t *self)
{
    zsat_vector_t *v = &self->vector;
    zsat_vector_init (v);
    snprintf (v->where, sizeof v->where, "%s", self->args->host);
    snprintf (v->step, sizeof v->step, "%s", self->args->node);
    snprintf (v->emitter, sizeof v->emitter, "%s", self->args->node);
    snprintf (v->type, sizeof v->type, "%s", self->kind->name);
    v->event = ZSAT_EV_INIT;
    v->wid = (uint32_t)self->args->instance;
    v->pid = self->pid;
    v->timestamp = zclock_time () * 1000;
    zsat_kind_detail_clear ();
    zsat_result_t result = self->kind->tick (self->ctx, self->state, v);
    if (result == ZSAT_SKIP)
        return;
    self->ticks++;
    s_event (self, ZSAT_EV_INIT, v, NULL);
    if (result == ZSAT_OK)
        (void)s_forward (self, v);
    else {
        self->errors++;
        s_event (self, ZSAT_EV_ERROR, v,
                 *zsat_kind_detail () ? zsat_kind_detail () : "tick failed");
    }
}

//  Runs every tick that is due, in a bounded burst, so rates above the poll granularity hold.
static void
s_ticks (self_t *self)
{
    int64_t interval = zsat_ctx_tick (self->ctx);
    if (!self->kind->tick || interval <= 0 || self->terminated)
        return;
    int64_t now = zsat_probe_now_us ();
    if (self->next_tick_us == 0)
        self->next_tick_us = now;
    for (int burst = 0; burst < 1000 && now >= self->next_tick_us; burst++) {
        s_tick_once (self);
        self->next_tick_us += interval;
        if (zsat_ctx_tick (self->ctx) <= 0 || self->terminated)
            return;
    }
    //  More than a second behind: skip the backlog rather than burst forever.
    if (now - self->next_tick_us > 1000000)
        self->next_tick_us = now + interval;
}

//  --- loop ---

static long
s_poll_timeout (self_t *self)
{
    int64_t now = zclock_mono ();
    int64_t wait = self->next_heartbeat - now;
    if (self->next_flush && self->next_flush - now < wait)
        wait = self->next_flush - now;
    if (self->kind->tick && zsat_ctx_tick (self->ctx) > 0) {
        //  Rounded up: rounding down polled with 0 ms whenever less than 1 ms was left, so a
        //  source at >= 1000/s spun a whole core; the burst in s_ticks keeps the rate.
        int64_t interval = zsat_ctx_tick (self->ctx);
        int64_t slack = interval < SAT_TICK_QUANTUM_US ? SAT_TICK_QUANTUM_US - interval : 0;
        int64_t tick_wait = self->next_tick_us
                                ? (self->next_tick_us + slack - zsat_probe_now_us () + 999) / 1000
                                : 0;
        if (tick_wait < wait)
            wait = tick_wait;
    }
    if (self->buffered && wait > SAT_BUFFER_POLL_MS)
        wait = self->buffer_busy ? 0 : SAT_BUFFER_POLL_MS;
    return wait < 0 ? 0 : (long)wait;
}

//  At $TERM: waits (bounded) for the answers of the vectors still awaiting STORED, so a
//  node that stops right after its last send does not abandon its tail.
static void
s_buffer_drain (self_t *self)
{
    int64_t until = zclock_mono () + SAT_BUFFER_DRAIN_MS;
    while (zclock_mono () < until) {
        size_t pending = 0;
        for (size_t i = 0; i < self->output_count; i++)
            pending += self->output[i].bufout ? sat_bufout_pending (self->output[i].bufout) : 0;
        if (pending == 0)
            return;
        s_buffer_answers (self, 10);
    }
    zsat_ctx_log (self->ctx, ZSAT_LOG_WARN, "stopped with vectors not yet STORED by the buffer");
}

static void
s_loop (self_t *self)
{
    size_t count = 1 + self->input_count;
    self->items[0] = (zmq_pollitem_t){zsock_resolve (self->pipe), 0, ZMQ_POLLIN, 0};
    for (size_t i = 0; i < self->input_count; i++)
        //  A buffer input has no socket here: a NULL socket with fd -1 is never ready.
        self->items[1 + i] = (zmq_pollitem_t){self->input[i].handle, -1, ZMQ_POLLIN, 0};
    self->next_heartbeat = zclock_mono ();
    while (!self->terminated) {
        int rc = zmq_poll (self->items, (int)count, s_poll_timeout (self));
        if (rc < 0 && errno != EINTR)
            break;  //  context terminated
        if (rc > 0 && (self->items[0].revents & ZMQ_POLLIN))
            s_command (self);
        for (size_t i = 0; rc > 0 && i < self->input_count && !self->terminated; i++)
            if (self->items[1 + i].revents & ZMQ_POLLIN)
                s_drain_input (self, &self->input[i]);
        self->buffer_busy = false;
        for (size_t i = 0; i < self->input_count && !self->terminated; i++)
            if (self->input[i].bufin)
                s_drain_buffer_input (self, &self->input[i]);
        s_ticks (self);
        s_timers (self);
    }
    //  Drain: sources stopped (no more ticks), the current vector is done; the last
    //  counters and events go out before the kind flushes and the sockets linger.
    zsat_ctx_set_tick (self->ctx, 0);
    s_buffer_drain (self);
    s_heartbeat (self);
}

void
zsat_satellite_actor (zsock_t *pipe, void *args)
{
    self_t *self = (self_t *)calloc (1, sizeof (self_t));
    assert (self);  //  a few kilobytes at start-up; nothing to report with otherwise
    self->pipe = pipe;
    self->args = (zsat_node_args_t *)args;
    zsat_frames_init (&self->frames);
    int rc = s_setup (self);
    zsock_signal (pipe, 0);
    if (rc == 0) {
        zstr_send (pipe, "READY");
        s_loop (self);
    }
    else {
        zstr_sendf (pipe, "FAILED %s", self->reason);
        if (self->ctx)
            zsat_ctx_log (self->ctx, ZSAT_LOG_ERROR, "%s", self->reason);
    }
    s_destroy (self);
    free (self);
}

//  --- selftest: real sockets, the test plays the neighbours and the tracker ---

typedef struct {
    uint8_t event;
    uint64_t task_id;
    char node[ZSAT_NAME_MAX];
    char detail[ZSAT_EVENT_DETAIL_MAX];
} s_seen_t;

typedef struct {
    s_seen_t seen[4096];
    size_t count;
    const char *node;  //  set while decoding one batch
} s_tracker_t;

static int
s_on_event (const zsat_event_rec_t *rec, void *arg)
{
    s_tracker_t *t = (s_tracker_t *)arg;
    if (t->count < 4096) {
        s_seen_t *s = &t->seen[t->count++];
        s->event = rec->event;
        s->task_id = rec->task_id;
        snprintf (s->node, sizeof s->node, "%s", t->node);
        snprintf (s->detail, sizeof s->detail, "%s", rec->detail);
    }
    return 0;
}

static size_t
s_count (s_tracker_t *t, const char *node, int event, uint64_t task_id)
{
    size_t n = 0;
    for (size_t i = 0; i < t->count; i++)
        n += streq (t->seen[i].node, node) && t->seen[i].event == event &&
             (task_id == 0 || t->seen[i].task_id == task_id);
    return n;
}

static const s_seen_t *
s_find (s_tracker_t *t, const char *node, int event, uint64_t task_id)
{
    for (size_t i = 0; i < t->count; i++)
        if (streq (t->seen[i].node, node) && t->seen[i].event == event &&
            t->seen[i].task_id == task_id)
            return &t->seen[i];
    return NULL;
}

//  Reads event batches until `want` events of that kind arrived (bounded: 200 x 50 ms).
static void
s_wait_events (zsock_t *tracker, s_tracker_t *t, const char *node, int event, size_t want)
{
    for (int round = 0; round < 200 && s_count (t, node, event, 0) < want; round++) {
        zmsg_t *msg = zmsg_recv (tracker);
        if (!msg)
            continue;
        zframe_t *topic = zmsg_first (msg), *body = zmsg_next (msg);
        assert (topic && body && zframe_streq (topic, ZSAT_EVBATCH_TOPIC));
        zsat_event_source_t source;
        zsat_error_t err;
        //  the callback needs the node: decode twice, once for the source
        assert (zsat_evbatch_decode (zframe_data (body), zframe_size (body), &source, NULL, NULL,
                                     &err) >= 0);
        t->node = source.node;
        assert (zsat_evbatch_decode (zframe_data (body), zframe_size (body), &source, s_on_event, t,
                                     &err) >= 0);
        zmsg_destroy (&msg);
    }
    assert (s_count (t, node, event, 0) >= want);
}

static zsock_t *
s_test_socket (zsat_topology_t *topo, const char *node, const char *name)
{
    zsat_socket_t specs[16];
    int count = zsat_topology_sockets (topo, node, "local", specs, 16);
    for (int i = 0; i < count; i++)
        if (streq (specs[i].name, name)) {
            char reason[256];
            zsock_t *sock = s_open (&specs[i], reason, sizeof reason);
            assert (sock);
            zsock_set_rcvtimeo (sock, 50);
            zsock_set_sndtimeo (sock, 5000);
            return sock;
        }
    fprintf (stderr, "no socket %s of %s\n", name, node);
    assert (false);
    return NULL;
}

static void
s_send_record (zsock_t *sock, uint64_t task_id, double n)
{
    zsat_record_t *r = (zsat_record_t *)malloc (sizeof (zsat_record_t));
    zsat_record_reset (r);
    zsat_record_add_number (r, "n", n);
    uint8_t buf[256];
    int size = zsat_record_encode (r, buf, sizeof buf);
    assert (size > 0);
    zsat_vector_t v;
    zsat_vector_init (&v);
    snprintf (v.where, sizeof v.where, "local");
    snprintf (v.type, sizeof v.type, "load");
    snprintf (v.step, sizeof v.step, "feed");
    snprintf (v.serialization, sizeof v.serialization, ZSAT_RECORD_SERIALIZATION);
    v.task_id = task_id;
    v.seq = 3;
    zsat_vector_set_payload (&v, buf, (size_t)size);
    zsat_error_t err;
    assert (zsat_vector_send (&v, zsock_resolve (sock), 0, &err) == 0);
    free (r);
}

//  Receives one vector (bounded: 100 x 50 ms); returns its task id, checks step/seq/next.
static uint64_t
s_recv_vector (zsock_t *sock, const char *next, uint32_t seq)
{
    zsat_frames_t frames;
    zsat_frames_init (&frames);
    int rc = -1;
    for (int round = 0; round < 100 && rc < 0; round++)
        rc = zsat_frames_recv (&frames, zsock_resolve (sock), 0);
    assert (rc == 3);
    zsat_vector_t v;
    zsat_error_t err;
    assert (zsat_vector_decode_frames (&v, &frames, &err) == 0);
    assert (next == NULL || streq (v.next, next));
    assert (seq == 0 || v.seq == seq);
    uint64_t task_id = v.task_id;
    zsat_frames_close (&frames);
    return task_id;
}

static bool
s_nothing_waiting (zsock_t *sock)
{
    zsat_frames_t frames;
    zsat_frames_init (&frames);
    bool empty = zsat_frames_recv (&frames, zsock_resolve (sock), ZMQ_DONTWAIT) < 0;
    zsat_frames_close (&frames);
    return empty;
}

static zactor_t *
s_start_node (zsat_node_args_t *args)
{
    zactor_t *actor = zactor_new (zsat_satellite_actor, args);
    assert (actor);
    char *status = zstr_recv (actor);
    if (!streq (status, "READY"))
        fprintf (stderr, "%s: %s\n", args->node, status);
    assert (streq (status, "READY"));
    zstr_free (&status);
    return actor;
}

static void
s_test_work (zsat_topology_t *topo, zsock_t *tracker, s_tracker_t *t)
{
    zsat_node_args_t args = {topo, "work", "local", 0};
    zactor_t *work = s_start_node (&args);
    zsock_t *feed = s_test_socket (topo, "feed", "out:feed->work");
    zsock_t *big = s_test_socket (topo, "big", "in:work->big");
    zsock_t *all = s_test_socket (topo, "all", "in:work->all");
    //  fail_first 1: each task is retried once, then forwarded (n >= 5 also to big)
    for (uint64_t task = 1; task <= 6; task++)
        s_send_record (feed, task, (double)task);
    for (uint64_t task = 1; task <= 6; task++)
        assert (s_recv_vector (all, "all", 4) == task);
    assert (s_recv_vector (big, "big", 4) == 5);
    assert (s_recv_vector (big, "big", 4) == 6);
    s_wait_events (tracker, t, "work", ZSAT_EV_END, 6);
    for (uint64_t task = 1; task <= 6; task++) {
        assert (s_count (t, "work", ZSAT_EV_ACK, task) == 1);
        assert (s_count (t, "work", ZSAT_EV_BEGIN, task) == 1);
        assert (s_count (t, "work", ZSAT_EV_RETRY, task) == 1);
        assert (s_count (t, "work", ZSAT_EV_END, task) == 1);
    }
    assert (strstr (s_find (t, "work", ZSAT_EV_RETRY, 1)->detail, "fail_first"));

    //  malformed input: dead-lettered and counted; good traffic goes on
    zstr_sendm (feed, "local/load");
    zstr_send (feed, "not an envelope");
    zstr_sendm (feed, "a");
    zstr_sendm (feed, "b");
    zstr_sendm (feed, "c");
    zstr_send (feed, "d");
    for (int i = 0; i < 399; i++)  //  read and dropped frame by frame, none kept
        zstr_sendm (feed, "many");
    zstr_send (feed, "frames");
    s_send_record (feed, 7, 1);
    assert (s_recv_vector (all, "all", 4) == 7);
    s_wait_events (tracker, t, "work", ZSAT_EV_DEAD_LETTER, 3);
    bool many = false;
    for (size_t i = 0; i < t->count; i++)
        many |= t->seen[i].event == ZSAT_EV_DEAD_LETTER && strstr (t->seen[i].detail, "400 frames");
    assert (many);

    //  a DSAT satellite's legacy single frame joins
    zsat_vector_t v;
    zsat_vector_init (&v);
    snprintf (v.where, sizeof v.where, "local");
    snprintf (v.type, sizeof v.type, "load");
    snprintf (v.step, sizeof v.step, "dsat");
    snprintf (v.emitter, sizeof v.emitter, "dsat");
    snprintf (v.channel, sizeof v.channel, "main");
    snprintf (v.serialization, sizeof v.serialization, "str");
    v.event = ZSAT_EV_INIT;
    v.task_id = 8;
    zsat_vector_set_payload (&v, "hello", 5);
    uint8_t legacy[512];
    zsat_error_t err;
    int size = zsat_dsat_encode (&v, legacy, sizeof legacy, &err);
    assert (size > 0);
    assert (zmq_send (zsock_resolve (feed), legacy, (size_t)size, 0) == size);
    assert (s_recv_vector (all, "all", 1) == 8);
    assert (s_nothing_waiting (big));  //  no record: `n >= 5` cannot hold

    zstr_send (work, "STATS");
    char *stats = zstr_recv (work);
    assert (stats && strstr (stats, "\"in\":8,") && strstr (stats, "\"out\":10,"));
    assert (strstr (stats, "\"dead\":3,") && strstr (stats, "\"retries\":8,"));
    assert (strstr (stats, "\"bad\":3,") && strstr (stats, "\"dead_by\":{\"frames\":3}"));
    zstr_free (&stats);
    zactor_destroy (&work);
    //  $TERM flushed the last heartbeat with the counters
    s_wait_events (tracker, t, "work", ZSAT_EV_HEARTBEAT, 1);
    zsock_destroy (&feed);
    zsock_destroy (&big);
    zsock_destroy (&all);
}

static void
s_test_retry (zsat_topology_t *topo, zsock_t *tracker, s_tracker_t *t)
{
    zsat_node_args_t args = {topo, "bad", "local", 0};
    zactor_t *bad = s_start_node (&args);
    zsock_t *feed = s_test_socket (topo, "feed2", "out:feed2->bad");
    //  fail_first 5, max_retry 2: attempts 1-3 fail -> ERROR; the task sent again fails twice
    //  more, then passes: the last stage reports HAPPY_END
    s_send_record (feed, 21, 0);
    s_wait_events (tracker, t, "bad", ZSAT_EV_ERROR, 1);
    assert (s_count (t, "bad", ZSAT_EV_RETRY, 21) == 2);
    assert (strstr (s_find (t, "bad", ZSAT_EV_ERROR, 21)->detail, "gave up after 2 retries"));
    s_send_record (feed, 21, 0);
    s_wait_events (tracker, t, "bad", ZSAT_EV_HAPPY_END, 1);
    assert (s_count (t, "bad", ZSAT_EV_RETRY, 21) == 4);
    assert (s_count (t, "bad", ZSAT_EV_ERROR, 21) == 1);
    zactor_destroy (&bad);
    zsock_destroy (&feed);
}

//  A source: 5 ticks; `when: seq >= 2` holds for the last 3 generated records only.
static void
s_test_source (zsat_topology_t *topo, zsock_t *tracker, s_tracker_t *t)
{
    zsock_t *sink = s_test_socket (topo, "gsink", "in:gen->gsink");
    zsat_node_args_t args = {topo, "gen", "local", 0};
    zactor_t *gen = s_start_node (&args);
    uint64_t last = 0;
    for (int i = 0; i < 3; i++) {
        uint64_t task_id = s_recv_vector (sink, "gsink", 1);
        assert (task_id > last);
        last = task_id;
    }
    s_wait_events (tracker, t, "gen", ZSAT_EV_END, 3);
    s_wait_events (tracker, t, "gen", ZSAT_EV_HAPPY_END, 2);
    assert (s_count (t, "gen", ZSAT_EV_INIT, 0) == 5);
    zactor_destroy (&gen);
    assert (s_nothing_waiting (sink));  //  count 5: no sixth vector
    zsock_destroy (&sink);
}

//  A PUSH output with no reader blocks (backpressure), yet the node answers STATS and
//  stops on $TERM, counting the vector it could not deliver as dropped.
static void
s_test_blocked (zsat_topology_t *topo, zsock_t *tracker, s_tracker_t *t)
{
    zsat_node_args_t args = {topo, "stuck", "local", 0};
    zactor_t *stuck = s_start_node (&args);
    zsock_t *feed = s_test_socket (topo, "feed3", "out:feed3->stuck");
    s_send_record (feed, 31, 1);
    s_wait_events (tracker, t, "stuck", ZSAT_EV_BEGIN, 1);
    zstr_send (stuck, "STATS");
    char *stats = zstr_recv (stuck);
    assert (stats && strstr (stats, "\"in\":1,") && strstr (stats, "\"out\":0,"));
    zstr_free (&stats);
    zactor_destroy (&stuck);
    s_wait_events (tracker, t, "stuck", ZSAT_EV_ERROR, 1);
    //  The ERROR may travel in an earlier batch than the last heartbeat (the one $TERM
    //  flushed, with the final counters): read on until that one is in (bounded).
    const s_seen_t *last = NULL;
    for (int round = 0; round < 20; round++) {
        last = NULL;
        for (size_t i = 0; i < t->count; i++)
            if (streq (t->seen[i].node, "stuck") && t->seen[i].event == ZSAT_EV_HEARTBEAT)
                last = &t->seen[i];
        if (last && strstr (last->detail, "errors=1"))
            break;
        s_wait_events (tracker, t, "stuck", ZSAT_EV_HEARTBEAT,
                       s_count (t, "stuck", ZSAT_EV_HEARTBEAT, 0) + 1);
    }
    assert (last && strstr (last->detail, "in=1 out=0 errors=1 retries=0 dropped=1 dead=0"));
    zsock_destroy (&feed);
}

static void
s_test_failed (zsat_topology_t *topo)
{
    zsat_node_args_t args = {topo, "broken", "local", 0};
    zactor_t *actor = zactor_new (zsat_satellite_actor, &args);
    char *status = zstr_recv (actor);
    assert (status && strstr (status, "FAILED options: "));
    assert (strstr (status, "did you mean 'rate'?"));
    zstr_free (&status);
    zactor_destroy (&actor);
}

//  With the real orchester: a cpu job sent to the host's "any" socket is routed to the cpu
//  node (its "in:route" input), measured, and forwarded to the next step as a record.
static void
s_test_orchester (void)
{
    const zsat_kind_t *orchester = zsat_kind_find ("orchester");
    if (!orchester || !orchester->actor)
        return;  //  a build without the orchester
    char text[512];
    snprintf (text, sizeof text,
              "name: satorch\nrun_dir: /tmp/zsat-sattest-%d/orch\nroutes:\n  cpu: cpu\n"
              "nodes:\n  cpu: {kind: cpu}\n  out: {kind: fault}\nlinks:\n  - cpu -> out\n",
              (int)getpid ());
    zsat_topology_t *topo = zsat_topology_parse (text, strlen (text), "satorch.yaml", NULL);
    assert (topo);
    assert (zsat_topology_make_run_dir (topo, "local") == 0);
    zsock_t *out = s_test_socket (topo, "out", "in:cpu->out");
    zsat_node_args_t orch_args = {topo, "orchester", "local", 0};
    zactor_t *orch = zactor_new (orchester->actor, &orch_args);
    char *status = zstr_recv (orch);
    assert (status && streq (status, "READY"));
    zstr_free (&status);
    zsat_node_args_t cpu_args = {topo, "cpu", "local", 0};
    zactor_t *cpu = s_start_node (&cpu_args);
    char endpoint[512];
    assert (zsat_topology_endpoint (topo, "orchester.any", "local", "local", endpoint,
                                    sizeof endpoint) == 0);
    zsock_t *any = zsock_new (ZMQ_PUSH);
    assert (zsock_attach (any, endpoint, false) == 0);
    zsat_vector_t v;
    zsat_vector_init (&v);
    snprintf (v.where, sizeof v.where, "local");
    snprintf (v.type, sizeof v.type, "cpu");
    v.event = ZSAT_EV_INIT;
    v.task_id = 77;
    zsat_error_t err;
    assert (zsat_vector_send (&v, zsock_resolve (any), 0, &err) == 0);
    zsat_frames_t frames;
    zsat_frames_init (&frames);
    int rc = -1;
    for (int round = 0; round < 100 && rc < 0; round++)
        rc = zsat_frames_recv (&frames, zsock_resolve (out), 0);
    assert (rc == 3);
    assert (zsat_vector_decode_frames (&v, &frames, &err) == 0);
    assert (v.task_id == 77 && streq (v.step, "cpu") && streq (v.type, "cpu"));
    zsat_record_t *r = (zsat_record_t *)malloc (sizeof (zsat_record_t));
    assert (zsat_record_decode (r, v.payload, v.payload_size, &err) == 0);
    assert (zsat_record_find (r, "load1") && zsat_record_find (r, "ncpu")->number >= 1);
    free (r);
    zsat_frames_close (&frames);
    zsock_destroy (&any);
    zactor_destroy (&cpu);
    zactor_destroy (&orch);
    zsock_destroy (&out);
    zsat_topology_destroy (&topo);
}

//  With the real tracker: a node's heartbeat counters reach its NODES view, and a task
//  through the node is traced with the node's events.
static void
s_test_tracker (void)
{
    const zsat_kind_t *tracker_kind = zsat_kind_find ("tracker");
    if (!tracker_kind || !tracker_kind->actor)
        return;  //  a build without the tracker
    char text[512];
    snprintf (text, sizeof text,
              "name: sattrack\nrun_dir: /tmp/zsat-sattest-%d/track\n"
              "nodes:\n  feed: {kind: fault}\n  work: {kind: fault}\n"
              "links:\n  - feed -> work\n",
              (int)getpid ());
    zsat_topology_t *topo = zsat_topology_parse (text, strlen (text), "sattrack.yaml", NULL);
    assert (topo);
    assert (zsat_topology_make_run_dir (topo, "local") == 0);
    zsat_node_args_t tracker_args = {topo, "tracker", "local", 0};
    zactor_t *tracker = zactor_new (tracker_kind->actor, &tracker_args);
    char *status = zstr_recv (tracker);
    assert (status && streq (status, "READY"));
    zstr_free (&status);
    zsat_node_args_t args = {topo, "work", "local", 0};
    zactor_t *work = s_start_node (&args);
    zsock_t *feed = s_test_socket (topo, "feed", "out:feed->work");
    for (uint64_t task = 1; task <= 3; task++)
        s_send_record (feed, 500 + task, 1);
    char endpoint[512];
    assert (zsat_topology_endpoint (topo, "tracker.query", NULL, "local", endpoint,
                                    sizeof endpoint) == 0);
    zsock_t *query = zsock_new (ZMQ_REQ);
    assert (zsock_attach (query, endpoint, false) == 0);
    zsock_set_rcvtimeo (query, 5000);
    //  heartbeats come every second: ask until the counters show the three vectors (<= 10 s)
    bool seen = false;
    for (int round = 0; round < 20 && !seen; round++) {
        zstr_send (query, "NODES");
        char *nodes = zstr_recv (query);
        assert (nodes);
        seen = strstr (nodes, "\"node\":\"work\"") && strstr (nodes, "\"in\":3,");
        zstr_free (&nodes);
        if (!seen)
            zclock_sleep (500);
    }
    assert (seen);
    zsock_destroy (&query);
    zsock_destroy (&feed);
    zactor_destroy (&work);
    zactor_destroy (&tracker);
    zsat_topology_destroy (&topo);
}

void
zsat_satellite_test (bool verbose)
{
    printf (" * zsat_satellite: ");
    char text[2048];
    snprintf (text, sizeof text,
              "name: sattest\n"
              "run_dir: /tmp/zsat-sattest-%d\n"
              "tracker: {max_retry: 2}\n"
              "nodes:\n"
              "  feed: {kind: fault}\n"
              "  work: {kind: fault, options: {fail_first: 1}}\n"
              "  big: {kind: fault}\n"
              "  all: {kind: fault}\n"
              "  feed2: {kind: fault}\n"
              "  bad: {kind: fault, options: {fail_first: 5, mode: retry}}\n"
              "  gen: {kind: gen, options: {rate: 500, count: 5, type: load}}\n"
              "  gsink: {kind: fault}\n"
              "  broken: {kind: gen, options: {rat: 5}}\n"
              "  feed3: {kind: fault}\n"
              "  stuck: {kind: fault}\n"
              "  nowhere: {kind: fault}\n"
              "links:\n"
              "  - feed -> work\n"
              "  - {from: work, to: big, when: 'n >= 5'}\n"
              "  - work -> all\n"
              "  - feed2 -> bad\n"
              "  - {from: gen, to: gsink, when: 'seq >= 2'}\n"
              "  - feed3 -> stuck\n"
              "  - stuck -> nowhere\n",
              (int)getpid ());
    //  `broken` is refused by the checker at load: parse it without the checker first
    zsat_diag_t *diag = zsat_diag_new ();
    zsat_topology_t *topo = zsat_topology_parse (text, strlen (text), "sattest.yaml", diag);
    assert (!topo && zsat_diag_contains (diag, "sattest.yaml:13:"));
    zsat_diag_destroy (&diag);
    zsat_topology_set_checker (NULL);
    topo = zsat_topology_parse (text, strlen (text), "sattest.yaml", NULL);
    zsat_topology_set_checker (zsat_options_check_topology);
    assert (topo);
    zsock_t *tracker = s_test_socket (topo, "tracker", "events");
    s_tracker_t *t = (s_tracker_t *)calloc (1, sizeof (s_tracker_t));
    s_test_work (topo, tracker, t);
    s_test_retry (topo, tracker, t);
    s_test_source (topo, tracker, t);
    s_test_blocked (topo, tracker, t);
    s_test_failed (topo);
    s_test_orchester ();
    s_test_tracker ();
    if (verbose)
        printf ("%zu events ", t->count);
    free (t);
    zsock_destroy (&tracker);
    zsat_topology_destroy (&topo);
    char command[128];
    snprintf (command, sizeof command, "rm -rf /tmp/zsat-sattest-%d", (int)getpid ());
    if (system (command) != 0)
        printf ("(could not remove the run directory) ");
    printf ("OK\n");
}
