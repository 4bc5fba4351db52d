/*  tracker_metrics - the tracker's statistics as measurements (see tracker_metrics.h).

    Each vector is a task of its own (a fresh task_id, event INIT, emitter = the tracker),
    so the sink that stores it reports it to the tracker like any other vector. A latency
    the stage has no sample for is NaN: the keys stay the same from one send to the next
    (a csv or hdf5 sink keeps its columns) and carbon leaves non-finite values out.
*/
#include "tracker_metrics.h"
#include "zsat_record.h"
#include "zsat_vector.h"
#include <math.h>

typedef struct {
    void *socket;
    char peer[ZSAT_NAME_MAX];
} s_output_t;

struct tracker_metrics_t {
    char host[ZSAT_NAME_MAX];
    char node[ZSAT_NAME_MAX];
    s_output_t output[TRACKER_METRICS_OUTPUTS];
    size_t outputs;
    int64_t due_us;
    uint32_t counter;  //  low bits of task ids, as the scheduler makes them
    uint64_t sent;
    uint64_t dropped;
    zsat_record_t record;
    uint8_t payload[4096];  //  a dozen keys of at most 64 bytes each fit with room to spare
};

tracker_metrics_t *
tracker_metrics_new (const char *host, const char *node, int64_t now_us)
{
    tracker_metrics_t *self = (tracker_metrics_t *)calloc (1, sizeof *self);
    if (!self)
        return NULL;
    snprintf (self->host, sizeof self->host, "%s", host);
    snprintf (self->node, sizeof self->node, "%s", node);
    self->due_us = now_us + TRACKER_METRICS_US;
    return self;
}

void
tracker_metrics_destroy (tracker_metrics_t **self_p)
{
    if (*self_p) {
        free (*self_p);
        *self_p = NULL;
    }
}

int
tracker_metrics_add_output (tracker_metrics_t *self, void *socket, const char *peer)
{
    if (self->outputs == TRACKER_METRICS_OUTPUTS)
        return -1;
    s_output_t *output = &self->output[self->outputs++];
    output->socket = socket;
    snprintf (output->peer, sizeof output->peer, "%s", peer ? peer : "");
    return 0;
}

size_t
tracker_metrics_outputs (tracker_metrics_t *self)
{
    return self->outputs;
}

bool
tracker_metrics_due (tracker_metrics_t *self, int64_t now_us)
{
    return self->outputs > 0 && now_us >= self->due_us;
}

uint64_t
tracker_metrics_sent (tracker_metrics_t *self)
{
    return self->sent;
}

uint64_t
tracker_metrics_dropped (tracker_metrics_t *self)
{
    return self->dropped;
}

//  A percentile as a number, NaN when the stage has no sample.
static double
s_latency (zsat_stats_t *stats, uint16_t origin, double pct, int64_t now_us)
{
    int64_t us = zsat_stats_percentile (stats, origin, ZSAT_LATENCY_STAGE, pct, now_us);
    return us < 0 ? NAN : (double)us;
}

static void
s_stage_record (zsat_record_t *r, zsat_stats_t *stats, uint16_t o, int64_t now_us)
{
    zsat_record_reset (r);
    zsat_record_add_number (r, "vectors_per_s_1s", zsat_stats_rate (stats, o, 1, now_us));
    zsat_record_add_number (r, "vectors_per_s_1m", zsat_stats_rate (stats, o, 60, now_us));
    zsat_record_add_number (r, "busy", (double)zsat_stats_busy (stats, o));
    zsat_record_add_number (r, "idle", (double)zsat_stats_idle (stats, o, now_us));
    static const struct {
        const char *key;
        zsat_stat_t which;
    } counters[] = {{"errors", ZSAT_STAT_ERRORS},
                    {"retries", ZSAT_STAT_RETRIES},
                    {"timeouts", ZSAT_STAT_TIMEOUTS},
                    {"failures", ZSAT_STAT_FAILURES},
                    {"dead_letters", ZSAT_STAT_DEAD_LETTERS}};
    for (size_t i = 0; i < sizeof counters / sizeof counters[0]; i++)
        zsat_record_add_number (r, counters[i].key,
                                (double)zsat_stats_counter (stats, o, counters[i].which));
    zsat_record_add_number (r, "latency_p50_us", s_latency (stats, o, 50, now_us));
    zsat_record_add_number (r, "latency_p99_us", s_latency (stats, o, 99, now_us));
    zsat_record_add_number (r, "latency_max_us", s_latency (stats, o, 100, now_us));
}

static void
s_global_record (zsat_record_t *r, zsat_stats_t *stats, uint64_t tasks_in_flight)
{
    zsat_record_reset (r);
    zsat_record_add_number (r, "tasks_in_flight", (double)tasks_in_flight);
    zsat_record_add_number (r, "happy_ends",
                            (double)zsat_stats_global (stats, ZSAT_GLOBAL_HAPPY_ENDS));
    zsat_record_add_number (r, "failures", (double)zsat_stats_global (stats, ZSAT_GLOBAL_FAILURES));
    zsat_record_add_number (r, "resends", (double)zsat_stats_global (stats, ZSAT_GLOBAL_RESENDS));
    zsat_record_add_number (r, "bad_messages",
                            (double)zsat_stats_global (stats, ZSAT_GLOBAL_BAD_MESSAGES));
}

//  Sends self->record as one vector about node@host to every output. Returns those accepted.
static int
s_send_record (tracker_metrics_t *self, const char *host, const char *node, uint64_t job_id,
               int64_t wall_us)
{
    int size = zsat_record_encode (&self->record, self->payload, sizeof self->payload);
    zsat_vector_t v;
    zsat_vector_init (&v);
    v.event = ZSAT_EV_INIT;
    v.pid = (uint32_t)getpid ();
    v.timestamp = wall_us;
    v.job_id = job_id;
    v.task_id = ((uint64_t)wall_us << 12) | (self->counter++ & 0xfff);
    snprintf (v.where, sizeof v.where, "%s", host);
    snprintf (v.step, sizeof v.step, "%s", node);
    snprintf (v.emitter, sizeof v.emitter, "%s", self->node);
    snprintf (v.type, sizeof v.type, "%s", TRACKER_METRICS_TYPE);
    snprintf (v.serialization, sizeof v.serialization, "%s", ZSAT_RECORD_SERIALIZATION);
    zsat_vector_set_payload (&v, self->payload, size > 0 ? (size_t)size : 0);
    int accepted = 0;
    for (size_t i = 0; i < self->outputs; i++) {
        snprintf (v.next, sizeof v.next, "%s", self->output[i].peer);
        zsat_error_t err;
        //  never wait: a slow or absent sink must not hold the tracker's loop
        if (size > 0 && zsat_vector_send (&v, self->output[i].socket, ZMQ_DONTWAIT, &err) == 0)
            accepted++;
        else
            self->dropped++;
    }
    self->sent += (uint64_t)accepted;
    return accepted;
}

int
tracker_metrics_send (tracker_metrics_t *self, zsat_stats_t *stats, uint64_t tasks_in_flight,
                      int64_t now_us, int64_t wall_us)
{
    self->due_us = now_us + TRACKER_METRICS_US;
    uint64_t job_id = (uint64_t)wall_us << 12;
    int accepted = 0;
    //  origin 0 is the overflow "?": not a node anyone can name
    for (uint16_t o = 1; o < zsat_stats_origin_count (stats); o++) {
        s_stage_record (&self->record, stats, o, now_us);
        accepted += s_send_record (self, zsat_stats_origin_host (stats, o),
                                   zsat_stats_origin_node (stats, o), job_id, wall_us);
    }
    s_global_record (&self->record, stats, tasks_in_flight);
    accepted += s_send_record (self, self->host, self->node, job_id, wall_us);
    return accepted;
}

//  --- selftest ---

//  Receives one vector from pull and decodes its record; asserts on the envelope.
static void
s_test_recv (void *pull, zsat_vector_t *v, zsat_record_t *r)
{
    zsat_frames_t frames;
    zsat_frames_init (&frames);
    assert (zsat_frames_recv (&frames, pull, 0) == 3);
    zsat_error_t err;
    assert (zsat_vector_decode_frames (v, &frames, &err) == 0);
    assert (streq (v->type, TRACKER_METRICS_TYPE) && streq (v->emitter, "tracker"));
    assert (streq (v->next, "carbon") && v->event == ZSAT_EV_INIT && v->task_id != 0);
    assert (streq (v->serialization, ZSAT_RECORD_SERIALIZATION));
    assert (zsat_record_decode (r, v->payload, v->payload_size, &err) == 0);
    zsat_frames_close (&frames);
}

static void
s_test_feed (zsat_stats_t *stats, int64_t now)
{
    zsat_event_source_t source = {.host = "h1", .node = "cpu", .wid = 1, .version = ZSAT_VERSION};
    uint32_t node_id;
    uint16_t o = zsat_stats_source (stats, &source, now, &node_id);
    static const int events[] = {ZSAT_EV_BEGIN, ZSAT_EV_END, ZSAT_EV_BEGIN, ZSAT_EV_ERROR};
    for (size_t i = 0; i < sizeof events / sizeof events[0]; i++) {
        zsat_event_rec_t rec = {.event = (uint8_t)events[i], .task_id = 1 + i / 2, .job_id = 1};
        rec.timestamp = now + (int64_t)i * 1000;
        strcpy (rec.type, "cpu");
        zsat_stats_on_record (stats, o, node_id, &rec, now + (int64_t)i * 1000);
    }
    zsat_stats_latency (stats, o, ZSAT_LATENCY_STAGE, 1000, now);
    zsat_stats_global_add (stats, ZSAT_GLOBAL_BAD_MESSAGES, 2);
}

void
tracker_metrics_test (bool verbose)
{
    (void)verbose;
    int64_t now = 1763900000000000;
    tracker_metrics_t *self = tracker_metrics_new ("h0", "tracker", now);
    assert (self);
    zsat_stats_t *stats = zsat_stats_new ();
    assert (stats);
    //  no output: never due
    assert (!tracker_metrics_due (self, now + 2 * TRACKER_METRICS_US));
    zsock_t *pull = zsock_new_pull ("@inproc://tracker-metrics-test");
    zsock_t *push = zsock_new_push (">inproc://tracker-metrics-test");
    assert (pull && push);
    zsock_set_rcvtimeo (pull, 5000);
    assert (tracker_metrics_add_output (self, zsock_resolve (push), "carbon") == 0);
    assert (!tracker_metrics_due (self, now + TRACKER_METRICS_US - 1));
    assert (tracker_metrics_due (self, now + TRACKER_METRICS_US));
    s_test_feed (stats, now);
    now += TRACKER_METRICS_US;
    int64_t wall = 1763900000123456;
    assert (tracker_metrics_send (self, stats, 7, now, wall) == 2);
    //  at most every interval, counted from the last send
    assert (!tracker_metrics_due (self, now + TRACKER_METRICS_US - 1));
    assert (tracker_metrics_due (self, now + TRACKER_METRICS_US));
    zsat_vector_t v;
    zsat_record_t *r = (zsat_record_t *)malloc (sizeof *r);
    assert (r);
    s_test_recv (zsock_resolve (pull), &v, r);
    assert (streq (v.step, "cpu") && streq (v.where, "h1") && v.timestamp == wall);
    static const char *keys[] = {
        "vectors_per_s_1s", "vectors_per_s_1m", "busy",           "idle",
        "errors",           "retries",          "timeouts",       "failures",
        "dead_letters",     "latency_p50_us",   "latency_p99_us", "latency_max_us"};
    assert (r->count == sizeof keys / sizeof keys[0]);
    for (size_t i = 0; i < r->count; i++)
        assert (streq (r->field[i].key, keys[i]) && r->field[i].is_number);
    assert (zsat_record_find (r, "errors")->number == 1);
    assert (zsat_record_find (r, "latency_max_us")->number >= 1000);
    uint64_t first_task = v.task_id;
    s_test_recv (zsock_resolve (pull), &v, r);
    assert (streq (v.step, "tracker") && streq (v.where, "h0") && v.task_id != first_task);
    assert (r->count == 5 && zsat_record_find (r, "tasks_in_flight")->number == 7);
    assert (zsat_record_find (r, "bad_messages")->number == 2);
    assert (zsat_record_find (r, "happy_ends") && zsat_record_find (r, "resends"));
    assert (tracker_metrics_sent (self) == 2 && tracker_metrics_dropped (self) == 0);
    //  a stage with no latency sample: NaN, so the keys stay the same
    zsat_stats_t *empty = zsat_stats_new ();
    zsat_event_source_t source = {.host = "h1", .node = "csv", .wid = 1, .version = ZSAT_VERSION};
    uint32_t node_id;
    assert (zsat_stats_source (empty, &source, now, &node_id) == 1);
    assert (tracker_metrics_send (self, empty, 0, now, wall) == 2);
    s_test_recv (zsock_resolve (pull), &v, r);
    assert (streq (v.step, "csv") && r->count == sizeof keys / sizeof keys[0]);
    assert (isnan (zsat_record_find (r, "latency_p50_us")->number));
    s_test_recv (zsock_resolve (pull), &v, r);
    //  a socket that refuses (no peer, DONTWAIT) drops and counts, never waits
    zsock_t *lonely = zsock_new (ZMQ_PUSH);
    assert (lonely);
    assert (tracker_metrics_add_output (self, zsock_resolve (lonely), "carbon") == 0);
    assert (tracker_metrics_send (self, empty, 0, now, wall) == 2);
    assert (tracker_metrics_sent (self) == 6 && tracker_metrics_dropped (self) == 2);
    for (size_t i = tracker_metrics_outputs (self); i < TRACKER_METRICS_OUTPUTS; i++)
        assert (tracker_metrics_add_output (self, zsock_resolve (lonely), "x") == 0);
    assert (tracker_metrics_add_output (self, zsock_resolve (lonely), "x") == -1);
    free (r);
    zsock_destroy (&lonely);
    zsock_destroy (&push);
    zsock_destroy (&pull);
    zsat_stats_destroy (&empty);
    zsat_stats_destroy (&stats);
    tracker_metrics_destroy (&self);
}
