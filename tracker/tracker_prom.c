// SPDX-License-Identifier: MPL-2.0
/*  tracker_prom - Prometheus text format 0.0.4 (see tracker_prom.h).

    Every family has HELP and TYPE lines, counters end in _total, durations are seconds,
    so `promtool check metrics` has nothing to say. Label sets are bounded: stages are the
    tracker's rows (at most 1024, undeclared names capped), dead-letter reasons a fixed
    list. Stage series carry topology, host, node and stage (= "node@host", the name the
    tracker's reasons use).
*/
#include "tracker_prom.h"
#include <inttypes.h>

typedef struct {
    FILE *out;
    const tracker_prom_t *in;
    int64_t now_us;
} s_ctx_t;

//  Label values are names ([A-Za-z0-9_.-]) but are escaped anyway: \ " and newline.
static void
s_value (FILE *out, const char *text)
{
    for (const char *c = text; *c; c++) {
        if (*c == '\\' || *c == '"')
            fputc ('\\', out);
        if (*c == '\n')
            fputs ("\\n", out);
        else
            fputc (*c, out);
    }
}

static void
s_family (s_ctx_t *c, const char *name, const char *type, const char *help)
{
    fprintf (c->out, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

//  Writes `{topology="..",host="..",node="..",stage="node@host"` without the closing brace.
static void
s_stage_labels (s_ctx_t *c, uint16_t origin)
{
    const char *host = zsat_stats_origin_host (c->in->stats, origin);
    const char *node = zsat_stats_origin_node (c->in->stats, origin);
    fputs ("{topology=\"", c->out);
    s_value (c->out, c->in->topology);
    fputs ("\",host=\"", c->out);
    s_value (c->out, host);
    fputs ("\",node=\"", c->out);
    s_value (c->out, node);
    fputs ("\",stage=\"", c->out);
    s_value (c->out, node);
    fputc ('@', c->out);
    s_value (c->out, host);
    fputc ('"', c->out);
}

//  Counters exactly (integers), gauges with 10 significant digits.
static void
s_number (FILE *out, double value)
{
    if (value == (double)(int64_t)value && value > -9e15 && value < 9e15)
        fprintf (out, " %" PRId64 "\n", (int64_t)value);
    else
        fprintf (out, " %.10g\n", value);
}

static void
s_stage_sample (s_ctx_t *c, const char *name, uint16_t origin, double value)
{
    fputs (name, c->out);
    s_stage_labels (c, origin);
    fputc ('}', c->out);
    s_number (c->out, value);
}

typedef double (s_getter_fn) (s_ctx_t *c, uint16_t origin);

static double
s_in (s_ctx_t *c, uint16_t o)
{
    return (double)zsat_stats_counter (c->in->stats, o, ZSAT_STAT_BEGINS);
}
static double
s_out (s_ctx_t *c, uint16_t o)
{
    return (double)zsat_stats_counter (c->in->stats, o, ZSAT_STAT_ENDS);
}
static double
s_errors (s_ctx_t *c, uint16_t o)
{
    return (double)zsat_stats_counter (c->in->stats, o, ZSAT_STAT_ERRORS);
}
static double
s_retries (s_ctx_t *c, uint16_t o)
{
    return (double)zsat_stats_counter (c->in->stats, o, ZSAT_STAT_RETRIES);
}
static double
s_timeouts (s_ctx_t *c, uint16_t o)
{
    return (double)zsat_stats_counter (c->in->stats, o, ZSAT_STAT_TIMEOUTS);
}
static double
s_failures (s_ctx_t *c, uint16_t o)
{
    return (double)zsat_stats_counter (c->in->stats, o, ZSAT_STAT_FAILURES);
}
static double
s_events (s_ctx_t *c, uint16_t o)
{
    return (double)zsat_stats_counter (c->in->stats, o, ZSAT_STAT_EVENTS);
}
static double
s_busy (s_ctx_t *c, uint16_t o)
{
    return (double)zsat_stats_busy (c->in->stats, o);
}
static double
s_utilization (s_ctx_t *c, uint16_t o)
{
    return zsat_stats_utilization (c->in->stats, o, c->now_us);
}
static double
s_instances (s_ctx_t *c, uint16_t o)
{
    return zsat_stats_instances (c->in->stats, o, c->now_us);
}
static double
s_queued (s_ctx_t *c, uint16_t o)
{
    return (double)zsat_stats_queued (c->in->stats, o, c->now_us);
}
static double
s_rate (s_ctx_t *c, uint16_t o)
{
    return zsat_stats_rate (c->in->stats, o, 1, c->now_us);
}

static const struct {
    const char *name;
    const char *type;
    const char *help;
    s_getter_fn *get;
} s_stage_families[] = {
    {"zsat_stage_vectors_in_total", "counter", "Vectors a stage began (BEGIN).", s_in},
    {"zsat_stage_vectors_out_total", "counter", "Vectors a stage finished (END or HAPPY_END).",
     s_out},
    {"zsat_stage_events_total", "counter", "Task events the stage reported.", s_events},
    {"zsat_stage_errors_total", "counter", "ERROR events of the stage.", s_errors},
    {"zsat_stage_retries_total", "counter", "RETRY events and RESENDs decided for the stage.",
     s_retries},
    {"zsat_stage_timeouts_total", "counter", "TIMEOUTs and passed deadlines at the stage.",
     s_timeouts},
    {"zsat_stage_failures_total", "counter", "Tasks declared FAILED at the stage.", s_failures},
    {"zsat_stage_busy", "gauge", "Vectors begun and not ended at the stage.", s_busy},
    {"zsat_stage_utilization", "gauge", "Average busy workers over the last 5 s.", s_utilization},
    {"zsat_stage_instances", "gauge", "Instances with a heartbeat in the last 3 s.", s_instances},
    {"zsat_stage_queued", "gauge", "Vectors sent to the stage and not taken yet.", s_queued},
    {"zsat_stage_vectors_per_second", "gauge", "Vectors finished over the last full second.",
     s_rate},
};

static void
s_write_stages (s_ctx_t *c)
{
    size_t count = zsat_stats_origin_count (c->in->stats);
    for (size_t f = 0; f < sizeof s_stage_families / sizeof s_stage_families[0]; f++) {
        s_family (c, s_stage_families[f].name, s_stage_families[f].type, s_stage_families[f].help);
        for (uint16_t o = 1; o < count; o++)
            s_stage_sample (c, s_stage_families[f].name, o, s_stage_families[f].get (c, o));
    }
}

static void
s_write_dead_letters (s_ctx_t *c)
{
    s_family (c, "zsat_stage_dead_letters_total", "counter",
              "Vectors dead-lettered at the stage, by reason.");
    size_t count = zsat_stats_origin_count (c->in->stats);
    for (uint16_t o = 1; o < count; o++)
        for (int r = 0; r < ZSAT_STATS_DEAD_REASONS; r++) {
            fputs ("zsat_stage_dead_letters_total", c->out);
            s_stage_labels (c, o);
            fputs (",reason=\"", c->out);
            s_value (c->out, zsat_stats_dead_reason (r));
            fprintf (c->out, "\"} %" PRIu64 "\n", zsat_stats_dead_by (c->in->stats, o, r));
        }
}

static void
s_write_histogram (s_ctx_t *c, const char *name, zsat_latency_t which, const char *help)
{
    s_family (c, name, "histogram", help);
    const int64_t *bounds = zsat_stats_bucket_bounds ();
    size_t count = zsat_stats_origin_count (c->in->stats);
    for (uint16_t o = 1; o < count; o++) {
        uint64_t buckets[ZSAT_STATS_BUCKETS + 1], total, sum_us, cumulative = 0;
        zsat_stats_cumulative (c->in->stats, o, which, buckets, &total, &sum_us);
        for (int b = 0; b <= ZSAT_STATS_BUCKETS; b++) {
            cumulative += buckets[b];
            fprintf (c->out, "%s_bucket", name);
            s_stage_labels (c, o);
            if (b < ZSAT_STATS_BUCKETS)
                fprintf (c->out, ",le=\"%g\"} %" PRIu64 "\n", bounds[b] / 1e6, cumulative);
            else
                fprintf (c->out, ",le=\"+Inf\"} %" PRIu64 "\n", cumulative);
        }
        fprintf (c->out, "%s_sum", name);
        s_stage_labels (c, o);
        fprintf (c->out, "} %.6f\n%s_count", sum_us / 1e6, name);
        s_stage_labels (c, o);
        fprintf (c->out, "} %" PRIu64 "\n", total);
    }
}

//  One breaker per node name (whatever the host): a gauge per state, 1 for the current one.
static void
s_write_breakers (s_ctx_t *c)
{
    s_family (c, "zsat_breaker_state", "gauge",
              "Circuit breaker of a stage: 1 for its current state.");
    zsat_stats_t *stats = c->in->stats;
    size_t count = zsat_stats_origin_count (stats);
    static const int states[] = {ZSAT_BREAKER_CLOSED, ZSAT_BREAKER_HALF_OPEN, ZSAT_BREAKER_OPEN};
    for (uint16_t o = 1; o < count; o++) {
        const char *node = zsat_stats_origin_node (stats, o);
        bool first = true;
        for (uint16_t p = 1; p < o && first; p++)
            first = !streq (zsat_stats_origin_node (stats, p), node);
        if (!first || (c->in->is_stage && !c->in->is_stage (node, c->in->arg)))
            continue;
        int state = zsat_breaker_state (c->in->breaker, node);
        for (size_t s = 0; s < 3; s++) {
            fputs ("zsat_breaker_state{topology=\"", c->out);
            s_value (c->out, c->in->topology);
            fputs ("\",node=\"", c->out);
            s_value (c->out, node);
            fprintf (c->out, "\",state=\"%s\"} %d\n", zsat_breaker_state_name (states[s]),
                     states[s] == state);
        }
    }
}

static void
s_tracker_sample (s_ctx_t *c, const char *name, const char *type, const char *help, double v)
{
    s_family (c, name, type, help);
    fprintf (c->out, "%s{topology=\"", name);
    s_value (c->out, c->in->topology);
    fputs ("\",host=\"", c->out);
    s_value (c->out, c->in->host);
    fputs ("\",node=\"", c->out);
    s_value (c->out, c->in->node);
    fputs ("\"}", c->out);
    s_number (c->out, v);
}

static void
s_write_tracker (s_ctx_t *c)
{
    s_tracker_sample (c, "zsat_tracker_tasks", "gauge", "Tasks retained in the tracker's table.",
                      (double)c->in->tasks);
    s_tracker_sample (c, "zsat_tracker_tasks_live", "gauge", "Tasks in flight (not finished).",
                      (double)c->in->live);
    s_tracker_sample (c, "zsat_tracker_uptime_seconds", "gauge", "Seconds since the tracker began.",
                      (double)c->in->uptime_s);
    for (int g = 0; g < ZSAT_GLOBAL_COUNT; g++) {
        char name[96], help[128];
        snprintf (name, sizeof name, "zsat_tracker_%s_total", zsat_stats_global_name (g));
        snprintf (help, sizeof help, "The tracker's counter %s (see docs/tracker.md).",
                  zsat_stats_global_name (g));
        s_tracker_sample (c, name, "counter", help,
                          (double)zsat_stats_global (c->in->stats, (zsat_global_t)g));
    }
}

char *
tracker_prom_text (const tracker_prom_t *in, int64_t now_us)
{
    char *text = NULL;
    size_t size = 0;
    s_ctx_t c = {open_memstream (&text, &size), in, now_us};
    if (!c.out)
        return NULL;
    s_write_stages (&c);
    s_write_dead_letters (&c);
    s_write_histogram (&c, "zsat_stage_latency_seconds", ZSAT_LATENCY_STAGE,
                       "BEGIN to END at the stage, on the stage's clock.");
    s_write_histogram (&c, "zsat_task_latency_seconds", ZSAT_LATENCY_TASK,
                       "First event to HAPPY_END of a task, counted at its last stage.");
    s_write_breakers (&c);
    s_write_tracker (&c);
    fclose (c.out);
    return text;
}

//  --- selftest ---

static bool
s_test_is_stage (const char *node, void *arg)
{
    return !streq (node, "orchester");
}

void
tracker_prom_test (bool verbose)
{
    (void)verbose;
    zsat_stats_t *stats = zsat_stats_new ();
    zsat_breaker_t *breaker = NULL;
    assert (stats);
    int64_t now = 1000000000;
    zsat_event_source_t cpu = {.host = "a", .node = "cpu", .wid = 1, .pid = 3};
    zsat_event_source_t orch = {.host = "a", .node = "orchester", .wid = 0, .pid = 4};
    uint32_t n_cpu, n_orch;
    uint16_t o = zsat_stats_source (stats, &cpu, now, &n_cpu);
    uint16_t q = zsat_stats_source (stats, &orch, now, &n_orch);
    static const int events[] = {ZSAT_EV_BEGIN, ZSAT_EV_END, ZSAT_EV_BEGIN, ZSAT_EV_ERROR};
    for (size_t i = 0; i < 4; i++) {
        zsat_event_rec_t rec = {.event = (uint8_t)events[i], .task_id = 1};
        zsat_stats_on_record (stats, o, n_cpu, &rec, now);
    }
    zsat_event_rec_t dead = {.event = ZSAT_EV_DEAD_LETTER, .task_id = 2};
    snprintf (dead.detail, sizeof dead.detail, "unknown type");
    zsat_stats_on_record (stats, q, n_orch, &dead, now);
    zsat_stats_latency (stats, o, ZSAT_LATENCY_STAGE, 2000, now);  //  2 ms
    tracker_prom_t in = {.topology = "t\"x",
                         .host = "a",
                         .node = "tracker",
                         .stats = stats,
                         .breaker = breaker,
                         .is_stage = s_test_is_stage,
                         .tasks = 3,
                         .live = 1};
    zsat_tracker_policy_t policy = {.breaker_threshold = 0.5,
                                    .breaker_min_tasks = 20,
                                    .breaker_window_ms = 30000,
                                    .breaker_cooldown_ms = 10000};
    in.breaker = breaker = zsat_breaker_new (&policy, NULL, NULL);
    assert (breaker);
    char *text = tracker_prom_text (&in, now);
    assert (text);
    if (verbose)
        fputs (text, stdout);
#define LABELS_CPU "{topology=\"t\\\"x\",host=\"a\",node=\"cpu\",stage=\"cpu@a\""
    assert (strstr (text, "# TYPE zsat_stage_vectors_in_total counter\n"));
    assert (strstr (text, "\nzsat_stage_vectors_in_total" LABELS_CPU "} 2\n"));
    assert (strstr (text, "\nzsat_stage_vectors_out_total" LABELS_CPU "} 1\n"));
    assert (strstr (text, "\nzsat_stage_errors_total" LABELS_CPU "} 1\n"));
    assert (strstr (text, "stage=\"orchester@a\",reason=\"unknown type\"} 1\n"));
    assert (strstr (text, "stage=\"orchester@a\",reason=\"other\"} 0\n"));
    assert (strstr (text, "\nzsat_stage_latency_seconds_bucket" LABELS_CPU ",le=\"0.001\"} 0\n"));
    assert (strstr (text, "\nzsat_stage_latency_seconds_bucket" LABELS_CPU ",le=\"0.005\"} 1\n"));
    assert (strstr (text, "\nzsat_stage_latency_seconds_bucket" LABELS_CPU ",le=\"+Inf\"} 1\n"));
    assert (strstr (text, "\nzsat_stage_latency_seconds_sum" LABELS_CPU "} 0.002000\n"));
    assert (strstr (text, "\nzsat_stage_latency_seconds_count" LABELS_CPU "} 1\n"));
    assert (
        strstr (text, "zsat_breaker_state{topology=\"t\\\"x\",node=\"cpu\",state=\"closed\"} 1"));
    assert (!strstr (text, "node=\"orchester\",state="));  //  system nodes have no breaker
    assert (strstr (
        text, "\nzsat_tracker_tasks_live{topology=\"t\\\"x\",host=\"a\",node=\"tracker\"} 1\n"));
    assert (strstr (text, "\nzsat_tracker_happy_ends_total{"));
    //  every line is a comment or a sample ending in a number
    for (char *line = strtok (text, "\n"); line; line = strtok (NULL, "\n"))
        assert (line[0] == '#' || strrchr (line, ' '));
    free (text);
    zsat_breaker_destroy (&breaker);
    zsat_stats_destroy (&stats);
}
