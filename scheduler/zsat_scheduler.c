/*  zsat_scheduler - the job clock and the scheduler actor.

    Sockets (from zsat_topology_sockets for the scheduler node):
      PUB  "jobs"    INIT vectors, routing frame "host/type" (each orchester subscribes to
                     "<host>/"). PUB drops for a subscriber that has not joined yet: the first
                     ticks after a start can be missed by late orchesters (slow joiner).
      PUSH "events"  batched INIT events to the tracker, never blocking.

    The clock computes the n-th deadline as start + n * every on the monotonic clock, so a
    late wake-up never shifts the ticks after it; a tick late by a whole interval is skipped
    and counted rather than bunched.
*/
#include "zsat_scheduler.h"
#include "zsat_curve.h"
#include "zsat_ipcguard.h"
#include <time.h>

typedef struct {
    char type[ZSAT_NAME_MAX];
    int64_t every;
    uint64_t next;  //  index of the next tick to publish
} s_schedule_t;

struct zsat_scheduler_t {
    int64_t start;
    size_t size;
    s_schedule_t schedule[ZSAT_SCHEDULES_MAX];
    uint64_t missed;
};

zsat_scheduler_t *
zsat_scheduler_new (int64_t start_ms)
{
    zsat_scheduler_t *self = (zsat_scheduler_t *)calloc (1, sizeof (zsat_scheduler_t));
    if (self)
        self->start = start_ms;
    return self;
}

void
zsat_scheduler_destroy (zsat_scheduler_t **self_p)
{
    if (self_p && *self_p) {
        free (*self_p);
        *self_p = NULL;
    }
}

int
zsat_scheduler_add (zsat_scheduler_t *self, const char *type, int64_t every_ms)
{
    if (self->size == ZSAT_SCHEDULES_MAX || !zsat_name_valid (type) || every_ms <= 0)
        return -1;
    s_schedule_t *s = &self->schedule[self->size];
    snprintf (s->type, sizeof s->type, "%s", type);
    s->every = every_ms;
    s->next = 0;
    return (int)self->size++;
}

size_t
zsat_scheduler_size (zsat_scheduler_t *self)
{
    return self->size;
}

const char *
zsat_scheduler_type (zsat_scheduler_t *self, size_t index)
{
    return index < self->size ? self->schedule[index].type : NULL;
}

int64_t
zsat_scheduler_deadline (zsat_scheduler_t *self, size_t index, uint64_t n)
{
    return self->start + (int64_t)n * self->schedule[index].every;
}

int64_t
zsat_scheduler_next (zsat_scheduler_t *self)
{
    int64_t next = INT64_MAX;
    for (size_t i = 0; i < self->size; i++) {
        int64_t d = zsat_scheduler_deadline (self, i, self->schedule[i].next);
        if (d < next)
            next = d;
    }
    return next;
}

int
zsat_scheduler_due (zsat_scheduler_t *self, int64_t now, uint64_t *tick)
{
    for (size_t i = 0; i < self->size; i++) {
        s_schedule_t *s = &self->schedule[i];
        int64_t deadline = zsat_scheduler_deadline (self, i, s->next);
        if (deadline > now)
            continue;
        //  Whole intervals behind: those ticks are gone; publish only the latest due one.
        uint64_t late = (uint64_t)((now - deadline) / s->every);
        self->missed += late;
        *tick = s->next + late;
        s->next = *tick + 1;
        return (int)i;
    }
    return -1;
}

uint64_t
zsat_scheduler_missed (zsat_scheduler_t *self)
{
    return self->missed;
}

//  ---------------------------------------------------------------------------------------
//  The actor

#define S_HOSTS_MAX      64
#define S_BATCH_RECORDS  256
#define S_BATCH_DELAY_MS 5
#define S_HEARTBEAT_MS   1000

typedef struct {
    zsock_t *pipe;
    zsat_topology_t *topology;
    char host[ZSAT_NAME_MAX];
    char node[ZSAT_NAME_MAX];
    int instance;
    zsock_t *jobs, *events;
    zsat_scheduler_t *clock;
    const char *hosts[ZSAT_SCHEDULES_MAX][S_HOSTS_MAX];
    size_t host_count[ZSAT_SCHEDULES_MAX];
    zsat_evbatch_t *batch;
    uint64_t job_base, ticks, published, send_failed, task_counter;
    int64_t next_flush, next_heartbeat;
    bool terminated;
} s_self_t;

static int64_t
s_epoch_us (void)
{
    struct timespec ts;
    clock_gettime (CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

//  Hosts a schedule is for: those it names, else every host where a node of a route of its
//  type runs.
static void
s_schedule_hosts (s_self_t *self, size_t index, const zsat_schedule_t *s)
{
    size_t *count = &self->host_count[index];
    for (size_t h = 0; h < s->host_count && *count < S_HOSTS_MAX; h++)
        self->hosts[index][(*count)++] = s->hosts[h];
    if (s->host_count)
        return;
    const zsat_route_t *r = zsat_topology_route_find (self->topology, s->type);
    for (size_t h = 0; r && h < zsat_topology_host_count (self->topology); h++) {
        const char *host = zsat_topology_host (self->topology, h)->name;
        bool routed = false;
        for (size_t k = 0; k < r->node_count && !routed; k++) {
            const zsat_node_t *node = zsat_topology_node_find (self->topology, r->nodes[k]);
            routed = node && zsat_topology_node_on_host (node, host);
        }
        if (routed && *count < S_HOSTS_MAX)
            self->hosts[index][(*count)++] = host;
    }
}

static int
s_open (s_self_t *self, char *reason, size_t cap)
{
    zsat_socket_t list[16];
    int n = zsat_topology_sockets (self->topology, self->node, self->host, list, 16);
    if (n < 0) {
        snprintf (reason, cap, "node %s does not run on host %s", self->node, self->host);
        return -1;
    }
    for (int i = 0; i < n; i++) {
        bool jobs = streq (list[i].name, "jobs");
        if (!jobs && !streq (list[i].name, "events"))
            continue;
        zsock_t *sock = zsock_new (list[i].socket_type);
        //  Bounded queues: a slow subscriber loses jobs (PUB drops), never our memory.
        zsock_set_sndhwm (sock, 10000);
        //  The last tick's jobs and events still go out at stop, for at most this long.
        zsock_set_linger (sock, 500);
        //  Nothing but subscriptions comes in: refuse anything big.
        zsock_set_maxmsgsize (sock, 64 * 1024);
        if (strstr (list[i].endpoint, "tcp://")) {
            //  A frozen tcp subscriber is found and dropped instead of filling our queue.
            zsock_set_heartbeat_ivl (sock, 1000);
            zsock_set_heartbeat_timeout (sock, 3000);
        }
        char guard[512] = "";
        if (zsat_ipcguard_check (list[i].endpoint, true, guard, sizeof guard) ||
            zsat_curve_apply (sock, self->host, list[i].endpoint,
                              list[i].bind ? ZSAT_CURVE_SERVER : ZSAT_CURVE_CLIENT) ||
            zsock_attach (sock, list[i].endpoint, true)) {
            snprintf (reason, cap, "cannot attach %.60s to %.120s %.200s", list[i].name,
                      list[i].endpoint, guard);
            zsock_destroy (&sock);
            return -1;
        }
        *(jobs ? &self->jobs : &self->events) = sock;
    }
    if (!self->jobs) {
        snprintf (reason, cap, "the topology gives the scheduler no jobs socket");
        return -1;
    }
    return 0;
}

static int
s_setup (s_self_t *self, zsat_node_args_t *args, char *reason, size_t cap)
{
    self->topology = args->topology;
    snprintf (self->host, sizeof self->host, "%s", args->host ? args->host : "");
    snprintf (self->node, sizeof self->node, "%s", args->node ? args->node : "scheduler");
    self->instance = args->instance;
    self->clock = zsat_scheduler_new (zclock_mono ());
    //  Job ids: unique across restarts (start second in the high bits), consecutive per tick.
    self->job_base = (uint64_t)(s_epoch_us () / 1000000) << 24;
    zsat_event_source_t source = {.wid = (uint32_t)self->instance, .pid = (uint32_t)getpid ()};
    snprintf (source.host, sizeof source.host, "%s", self->host);
    snprintf (source.node, sizeof source.node, "%s", self->node);
    snprintf (source.version, sizeof source.version, "%s", ZSAT_VERSION);
    self->batch = zsat_evbatch_new (&source, S_BATCH_RECORDS);
    if (!self->clock || !self->batch) {
        snprintf (reason, cap, "out of memory");
        return -1;
    }
    for (size_t i = 0; i < zsat_topology_schedule_count (self->topology); i++) {
        const zsat_schedule_t *s = zsat_topology_schedule (self->topology, i);
        int index = zsat_scheduler_add (self->clock, s->type, s->every_ms);
        if (index < 0) {
            snprintf (reason, cap, "schedule %.63s: invalid or too many", s->type);
            return -1;
        }
        s_schedule_hosts (self, (size_t)index, s);
    }
    return s_open (self, reason, cap);
}

static void
s_flush (s_self_t *self)
{
    if (self->events && zsat_evbatch_pending (self->batch))
        zsat_evbatch_flush (self->batch, zsock_resolve (self->events), ZMQ_DONTWAIT);
    self->next_flush = zclock_mono () + S_BATCH_DELAY_MS;
}

//  Publishes one tick of a schedule: one INIT vector per host, all with one job id.
static void
s_publish (s_self_t *self, size_t index)
{
    uint64_t job_id = self->job_base + self->ticks++;
    for (size_t h = 0; h < self->host_count[index]; h++) {
        zsat_vector_t v;
        zsat_vector_init (&v);
        v.event = ZSAT_EV_INIT;
        v.timestamp = s_epoch_us ();
        v.task_id = ((uint64_t)v.timestamp << 12) | (self->task_counter++ & 0xfff);
        v.job_id = job_id;
        v.wid = (uint32_t)self->instance;
        v.pid = (uint32_t)getpid ();
        snprintf (v.where, sizeof v.where, "%s", self->hosts[index][h]);
        snprintf (v.type, sizeof v.type, "%s", zsat_scheduler_type (self->clock, index));
        snprintf (v.step, sizeof v.step, "%s", self->node);
        snprintf (v.emitter, sizeof v.emitter, "%s", self->node);
        snprintf (v.next, sizeof v.next, "orchester");
        zsat_error_t err;
        if (zsat_vector_send (&v, zsock_resolve (self->jobs), ZMQ_DONTWAIT, &err) == 0) {
            self->published++;
            if (zsat_evbatch_add_vector (self->batch, ZSAT_EV_INIT, &v, NULL) >= S_BATCH_RECORDS)
                s_flush (self);
        }
        else
            self->send_failed++;
    }
}

static char *
s_stats (s_self_t *self)
{
    return zsys_sprintf ("{\"node\":\"%s\",\"host\":\"%s\",\"schedules\":%zu,\"ticks\":%" PRIu64
                         ",\"published\":%" PRIu64 ",\"missed\":%" PRIu64
                         ",\"send_failed\":%" PRIu64 ",\"first_job_id\":%" PRIu64
                         ",\"events_dropped\":%" PRIu64 "}",
                         self->node, self->host, zsat_scheduler_size (self->clock), self->ticks,
                         self->published, zsat_scheduler_missed (self->clock), self->send_failed,
                         self->job_base, zsat_evbatch_dropped (self->batch));
}

static void
s_heartbeat (s_self_t *self)
{
    zsat_event_rec_t rec;
    memset (&rec, 0, sizeof rec);
    rec.event = ZSAT_EV_HEARTBEAT;
    rec.timestamp = s_epoch_us ();
    snprintf (rec.detail, sizeof rec.detail,
              "in=0 out=%" PRIu64 " errors=%" PRIu64 " retries=0 dropped=%" PRIu64 " dead=0",
              self->published, self->send_failed, zsat_scheduler_missed (self->clock));
    zsat_evbatch_add (self->batch, &rec);
    s_flush (self);
    self->next_heartbeat = zclock_mono () + S_HEARTBEAT_MS;
}

static void
s_loop (s_self_t *self)
{
    zmq_pollitem_t item = {zsock_resolve (self->pipe), 0, ZMQ_POLLIN, 0};
    s_heartbeat (self);
    while (!self->terminated) {
        int64_t now = zclock_mono ();
        int64_t next = zsat_scheduler_next (self->clock);
        if (self->next_heartbeat < next)
            next = self->next_heartbeat;
        if (zsat_evbatch_pending (self->batch) && self->next_flush < next)
            next = self->next_flush;
        zmq_poll (&item, 1, next > now ? (long)(next - now) : 0);
        if (item.revents & ZMQ_POLLIN) {
            char *command = zstr_recv (self->pipe);
            if (!command || streq (command, "$TERM"))
                self->terminated = true;
            else {
                char *reply =
                    streq (command, "STATS") ? s_stats (self) : strdup ("ERROR unknown command");
                zstr_send (self->pipe, reply);
                free (reply);
            }
            zstr_free (&command);
        }
        now = zclock_mono ();
        uint64_t tick;
        int index;
        while ((index = zsat_scheduler_due (self->clock, now, &tick)) >= 0)
            s_publish (self, (size_t)index);
        if (now >= self->next_heartbeat)
            s_heartbeat (self);
        else if (now >= self->next_flush)
            s_flush (self);
    }
    s_flush (self);
}

void
zsat_scheduler_actor (zsock_t *pipe, void *args)
{
    s_self_t *self = (s_self_t *)calloc (1, sizeof (s_self_t));
    self->pipe = pipe;
    char reason[256] = "no topology given";
    zsat_node_args_t *node_args = (zsat_node_args_t *)args;
    bool ok =
        node_args && node_args->topology && s_setup (self, node_args, reason, sizeof reason) == 0;
    zsock_signal (pipe, 0);
    if (ok) {
        zstr_send (pipe, "READY");
        s_loop (self);
    }
    else
        zstr_sendf (pipe, "FAILED %s", reason);
    zsock_destroy (&self->jobs);
    zsock_destroy (&self->events);
    zsat_scheduler_destroy (&self->clock);
    zsat_evbatch_destroy (&self->batch);
    free (self);
}

//  ---------------------------------------------------------------------------------------
//  Selftest

//  The clock on simulated time: deterministic, no wall clock.
static void
s_test_clock (bool verbose)
{
    zsat_scheduler_t *clock = zsat_scheduler_new (1000);
    assert (zsat_scheduler_add (clock, "cpu", 20) == 0);
    assert (zsat_scheduler_add (clock, "mem", 50) == 1);
    assert (zsat_scheduler_add (clock, "bad/type", 50) == -1);
    assert (zsat_scheduler_add (clock, "x", 0) == -1);
    for (uint64_t n = 0; n < 1000; n++)
        assert (zsat_scheduler_deadline (clock, 0, n) == 1000 + 20 * (int64_t)n);
    uint64_t tick;
    assert (zsat_scheduler_due (clock, 999, &tick) == -1);
    assert (zsat_scheduler_due (clock, 1000, &tick) == 0 && tick == 0);
    assert (zsat_scheduler_due (clock, 1000, &tick) == 1 && tick == 0);
    assert (zsat_scheduler_due (clock, 1000, &tick) == -1);
    assert (zsat_scheduler_next (clock) == 1020);
    //  late by less than an interval: published late, the next deadline does not move
    assert (zsat_scheduler_due (clock, 1039, &tick) == 0 && tick == 1);
    assert (zsat_scheduler_next (clock) == 1040);
    //  late by two whole intervals: two ticks skipped and counted, the latest published
    assert (zsat_scheduler_due (clock, 1085, &tick) == 0 && tick == 4);
    assert (zsat_scheduler_missed (clock) == 2);
    assert (zsat_scheduler_due (clock, 1085, &tick) == 1 && tick == 1);
    assert (zsat_scheduler_due (clock, 1085, &tick) == -1);
    assert (zsat_scheduler_next (clock) == 1100);
    zsat_scheduler_destroy (&clock);

    //  A simulated day at 20 ms with wake-ups up to 19 ms late: every tick published, none
    //  missed, and the last deadline is exactly start + n * every (no drift).
    clock = zsat_scheduler_new (0);
    zsat_scheduler_add (clock, "cpu", 20);
    uint64_t published = 0, expected = 0;
    int64_t now = 0;
    uint32_t jitter = 12345;
    const int64_t day = 24 * 3600 * 1000;
    while (now < day) {
        int64_t next = zsat_scheduler_next (clock);
        jitter = jitter * 1103515245u + 12345u;
        now = next + (int64_t)((jitter >> 16) % 20);
        while (zsat_scheduler_due (clock, now, &tick) == 0) {
            assert (tick == expected);
            expected++;
            published++;
        }
    }
    assert (zsat_scheduler_missed (clock) == 0);
    assert (published == (uint64_t)(day / 20) + 1 || published == (uint64_t)(day / 20) + 2);
    assert (zsat_scheduler_next (clock) == (int64_t)published * 20);
    zsat_scheduler_destroy (&clock);

    //  Stalls (a stopped process): published + missed always equals the ticks elapsed.
    clock = zsat_scheduler_new (0);
    zsat_scheduler_add (clock, "cpu", 20);
    published = 0;
    for (now = 0; now < 100000; now += 20 + (now % 7 == 0 ? 500 : 3)) {
        while (zsat_scheduler_due (clock, now, &tick) == 0)
            published++;
        assert (published + zsat_scheduler_missed (clock) == (uint64_t)(now / 20) + 1);
    }
    if (verbose)
        printf ("(%" PRIu64 " published, %" PRIu64 " skipped) ", published,
                zsat_scheduler_missed (clock));
    zsat_scheduler_destroy (&clock);
}

static zsock_t *
s_test_socket (zsat_topology_t *topology, const char *node, const char *name, int type)
{
    zsat_socket_t list[16];
    int n = zsat_topology_sockets (topology, node, "h1", list, 16);
    for (int i = 0; i < n; i++)
        if (streq (list[i].name, name)) {
            char endpoint[512];
            //  the test plays the other side of the socket: flip bind and connect
            snprintf (endpoint, sizeof endpoint, "%s", list[i].endpoint);
            endpoint[0] = endpoint[0] == '@' ? '>' : '@';
            zsock_t *sock = zsock_new (type);
            if (type == ZMQ_SUB)
                zsock_set_subscribe (sock, "h1/");
            assert (zsock_attach (sock, endpoint, true) == 0);
            return sock;
        }
    assert (!"socket not found");
    return NULL;
}

static int
s_test_count_init (const zsat_event_rec_t *rec, void *arg)
{
    if (rec->event == ZSAT_EV_INIT)
        (*(uint64_t *)arg)++;
    return 0;
}

//  The actor publishes one INIT per tick with consecutive job ids and unique task ids.
static void
s_test_actor (bool verbose)
{
    char run_dir[64], text[512];
    snprintf (run_dir, sizeof run_dir, "/tmp/zsat-stest-%d", (int)getpid ());
    snprintf (text, sizeof text,
              "name: stest\nrun_dir: %s\nhosts:\n  h1: {address: 127.0.0.1}\n"
              "nodes:\n  cpu: {kind: cpu}\nschedules:\n  - {type: cpu, every: 20ms}\n",
              run_dir);
    zsat_topology_t *topology = zsat_topology_parse (text, strlen (text), "stest.yaml", NULL);
    assert (topology);
    char dir[128];
    snprintf (dir, sizeof dir, "%s/h1", run_dir);
    assert (zsys_dir_create ("%s", dir) == 0);
    zsock_t *events = s_test_socket (topology, "scheduler", "events", ZMQ_PULL);
    zsat_node_args_t args = {topology, "scheduler", "h1", 0};
    zactor_t *actor = zactor_new (zsat_scheduler_actor, &args);
    char *ready = zstr_recv (actor);
    assert (ready && streq (ready, "READY"));
    zstr_free (&ready);
    //  subscribes after the start: the first ticks may be lost (slow joiner), not the rest
    zsock_t *jobs = s_test_socket (topology, "scheduler", "jobs", ZMQ_SUB);
    zsock_set_rcvtimeo (jobs, 2000);
    uint64_t last_job = 0, last_task = 0, received = 0;
    while (received < 25) {
        zsat_frames_t f;
        zsat_frames_init (&f);
        zsat_vector_t v;
        zsat_error_t err;
        assert (zsat_frames_recv (&f, zsock_resolve (jobs), 0) == 3);
        assert (zsat_vector_decode_frames (&v, &f, &err) == 0);
        assert (v.event == ZSAT_EV_INIT && streq (v.where, "h1") && streq (v.type, "cpu"));
        assert (streq (v.emitter, "scheduler") && v.seq == 0);
        assert (memcmp (zmq_msg_data (&f.frame[0]), "h1/cpu", 6) == 0);
        if (received)
            assert (v.job_id == last_job + 1 && v.task_id != last_task);
        last_job = v.job_id;
        last_task = v.task_id;
        received++;
        zsat_frames_close (&f);
    }
    zstr_send (actor, "STATS");
    char *stats = zstr_recv (actor);
    assert (stats && strstr (stats, "\"schedules\":1"));
    if (verbose)
        printf ("\n%s\n", stats);
    zstr_free (&stats);
    //  the tracker got an INIT per published job (batched)
    uint64_t inits = 0;
    zsock_set_rcvtimeo (events, 2000);
    while (inits < received) {
        zmsg_t *msg = zmsg_recv (events);
        assert (msg);
        zsat_event_source_t source;
        zframe_t *body = zmsg_last (msg);
        assert (zsat_evbatch_decode (zframe_data (body), zframe_size (body), &source,
                                     s_test_count_init, &inits, NULL) >= 0);
        zmsg_destroy (&msg);
    }
    zactor_destroy (&actor);
    zsock_destroy (&jobs);
    zsock_destroy (&events);
    zsat_topology_destroy (&topology);
    char command[128];
    snprintf (command, sizeof command, "rm -rf %s", run_dir);
    assert (system (command) == 0);
}

void
zsat_scheduler_test (bool verbose)
{
    printf (" * zsat_scheduler: ");
    s_test_clock (verbose);
    s_test_actor (verbose);
    printf ("OK\n");
}
