/*  zsat_stats - the tracker's live numbers per stage, host and node instance.

    Stages and instances are rows of fixed arrays found through czmq hashes, looked up once
    per event batch (a batch has one source), not per record. Rates are a ring of 64
    one-second buckets; latency is a log-bucket histogram (4 sub-buckets per power of two,
    so a percentile is within 25% of the truth) kept for the current and the previous
    minute. Owns no socket.
*/
#include "zsat_stats.h"
#include <inttypes.h>

static double s_effective_busy (zsat_stats_t *self, uint16_t origin, int64_t now_us);

#define HIST_BUCKETS 160
#define RATE_SLOTS   64

typedef struct {
    uint32_t bucket[HIST_BUCKETS];
    uint64_t count;
    int64_t max;
} s_hist_t;

typedef struct {
    char host[ZSAT_NAME_MAX];
    char node[ZSAT_NAME_MAX];
    uint64_t counter[ZSAT_STAT_COUNT];
    int64_t busy;
    int64_t rate_second;  //  newest second counted
    uint32_t rate[RATE_SLOTS];
    uint64_t busy_us[RATE_SLOTS];  //  BEGIN->END spans ended in each second
    uint32_t spans[RATE_SLOTS];    //  how many spans ended in each second
    uint32_t arrived[RATE_SLOTS];  //  vectors an orchester sent to the stage, per second
    uint32_t taken[RATE_SLOTS];    //  vectors the stage took (ACK), per second
    uint32_t dead[RATE_SLOTS];     //  dead letters, per second
    int64_t queued;                //  sent to the stage and not yet taken (never below 0)
    int64_t queue_moved_us;        //  last arrival or take
    int64_t hist_minute;           //  minute of hist[*][hist_minute & 1]
    s_hist_t hist[ZSAT_LATENCY_COUNT][2];
    uint64_t cum[ZSAT_LATENCY_COUNT][ZSAT_STATS_BUCKETS + 1];  //  since start, fixed bounds
    uint64_t cum_sum_us[ZSAT_LATENCY_COUNT];
    uint64_t dead_by[ZSAT_STATS_DEAD_REASONS];
} s_stage_t;

//  Heartbeat detail counters, in the order of the detail text.
static const char *s_hb_keys[] = {"in", "out", "errors", "retries", "dropped", "dead"};
#define HB_KEYS 6

typedef struct {
    char host[ZSAT_NAME_MAX];
    char node[ZSAT_NAME_MAX];
    uint32_t wid;
    uint32_t pid;
    char version[16];
    uint16_t origin;
    int64_t first_seen_us;
    int64_t last_seen_us;
    int64_t last_heartbeat_us;  //  0 = never
    int64_t begin_us;           //  BEGIN timestamp of the vector it works on, 0 = none
    uint64_t heartbeats;
    uint64_t hb[HB_KEYS];
    uint32_t restarts;     //  times a new pid took the row (a crash and a restart)
    int64_t restarted_us;  //  when the last one was seen, 0 = never
} s_node_t;

struct zsat_stats_t {
    s_stage_t *stages;
    size_t stage_count;
    zhashx_t *stage_index;  //  "host/node" -> row + 1
    s_node_t *nodes;        //  ZSAT_STATS_NODES declared rows, then the side table
    size_t node_count;      //  declared rows used
    size_t side_count;      //  side rows used (nodes[ZSAT_STATS_NODES + i])
    size_t side_origins;    //  origins of undeclared nodes
    zhashx_t *node_index;   //  "host/node/wid" -> row + 1
    zsat_stats_declared_fn *declared;
    void *declared_arg;
    char (*types)[ZSAT_NAME_MAX];
    size_t type_count;
    zhashx_t *type_index;
    uint64_t global[ZSAT_GLOBAL_COUNT];
    int64_t *recent;       //  the last ZSAT_STATS_RECENT task latencies, a ring
    uint64_t recent_next;  //  sequence number of the next one
};

zsat_stats_t *
zsat_stats_new (void)
{
    zsat_stats_t *self = (zsat_stats_t *)calloc (1, sizeof *self);
    if (!self)
        return NULL;
    self->stages = (s_stage_t *)calloc (ZSAT_STATS_ORIGINS, sizeof (s_stage_t));
    self->nodes = (s_node_t *)calloc (ZSAT_STATS_NODES + ZSAT_STATS_SIDE_NODES, sizeof (s_node_t));
    self->types = (char (*)[ZSAT_NAME_MAX])calloc (ZSAT_STATS_TYPES, ZSAT_NAME_MAX);
    self->stage_index = zhashx_new ();
    self->node_index = zhashx_new ();
    self->type_index = zhashx_new ();
    self->recent = (int64_t *)calloc (ZSAT_STATS_RECENT, sizeof (int64_t));
    if (!self->stages || !self->nodes || !self->types || !self->stage_index || !self->node_index ||
        !self->type_index || !self->recent) {
        zsat_stats_destroy (&self);
        return NULL;
    }
    strcpy (self->stages[0].host, "?");
    strcpy (self->stages[0].node, "?");
    self->stage_count = 1;
    strcpy (self->types[0], "?");
    self->type_count = 1;
    return self;
}

void
zsat_stats_destroy (zsat_stats_t **self_p)
{
    if (self_p && *self_p) {
        zsat_stats_t *self = *self_p;
        zhashx_destroy (&self->stage_index);
        zhashx_destroy (&self->node_index);
        zhashx_destroy (&self->type_index);
        free (self->stages);
        free (self->nodes);
        free (self->types);
        free (self->recent);
        free (self);
        *self_p = NULL;
    }
}

static void
s_copy_name (char *dest, const char *src)
{
    snprintf (dest, ZSAT_NAME_MAX, "%s", src && *src ? src : "?");
}

void
zsat_stats_set_declared (zsat_stats_t *self, zsat_stats_declared_fn *fn, void *arg)
{
    self->declared = fn;
    self->declared_arg = arg;
}

static bool
s_declared (zsat_stats_t *self, const char *host, const char *node)
{
    return !self->declared || self->declared (host, node, self->declared_arg);
}

static bool
s_node_valid (zsat_stats_t *self, uint32_t id)
{
    return id < self->node_count ||
           (id >= ZSAT_STATS_NODES && id - ZSAT_STATS_NODES < self->side_count);
}

//  Rows in use, declared then side: n in 0..node_count + side_count - 1.
static s_node_t *
s_node_nth (zsat_stats_t *self, size_t n)
{
    return n < self->node_count ? &self->nodes[n]
                                : &self->nodes[ZSAT_STATS_NODES + (n - self->node_count)];
}

static size_t
s_node_total (zsat_stats_t *self)
{
    return self->node_count + self->side_count;
}

static void
s_node_key (char *key, size_t cap, const char *host, const char *node, uint32_t wid)
{
    snprintf (key, cap, "%s/%s/%" PRIu32, host, node, wid);
}

//  A side row for an undeclared node: a free one, else the least recently seen is evicted.
static uint32_t
s_side_row (zsat_stats_t *self)
{
    if (self->side_count < ZSAT_STATS_SIDE_NODES)
        return (uint32_t)(ZSAT_STATS_NODES + self->side_count++);
    uint32_t oldest = ZSAT_STATS_NODES;
    for (uint32_t i = ZSAT_STATS_NODES + 1; i < ZSAT_STATS_NODES + ZSAT_STATS_SIDE_NODES; i++)
        if (self->nodes[i].last_seen_us < self->nodes[oldest].last_seen_us)
            oldest = i;
    s_node_t *node = &self->nodes[oldest];
    char key[2 * ZSAT_NAME_MAX + 16];
    s_node_key (key, sizeof key, node->host, node->node, node->wid);
    zhashx_delete (self->node_index, key);
    memset (node, 0, sizeof *node);
    self->global[ZSAT_GLOBAL_UNDECLARED_EVICTED]++;
    return oldest;
}

static uint16_t
s_origin (zsat_stats_t *self, const char *host, const char *node)
{
    char key[2 * ZSAT_NAME_MAX + 2];
    snprintf (key, sizeof key, "%s/%s", host, node);
    uintptr_t row = (uintptr_t)zhashx_lookup (self->stage_index, key);
    if (row)
        return (uint16_t)(row - 1);
    bool declared = s_declared (self, host, node);
    if (self->stage_count == ZSAT_STATS_ORIGINS ||
        (!declared && self->side_origins == ZSAT_STATS_SIDE_ORIGINS)) {
        self->global[ZSAT_GLOBAL_OVERFLOW]++;
        return 0;
    }
    self->side_origins += !declared;
    s_stage_t *stage = &self->stages[self->stage_count];
    s_copy_name (stage->host, host);
    s_copy_name (stage->node, node);
    zhashx_insert (self->stage_index, key, (void *)(uintptr_t)(self->stage_count + 1));
    return (uint16_t)self->stage_count++;
}

uint16_t
zsat_stats_origin_find (zsat_stats_t *self, const char *host, const char *node)
{
    char key[2 * ZSAT_NAME_MAX + 2];
    snprintf (key, sizeof key, "%s/%s", host, node);
    uintptr_t row = (uintptr_t)zhashx_lookup (self->stage_index, key);
    return row ? (uint16_t)(row - 1) : 0;
}

static uint32_t
s_node_row (zsat_stats_t *self, const zsat_event_source_t *source, uint16_t origin)
{
    char key[2 * ZSAT_NAME_MAX + 16];
    s_node_key (key, sizeof key, source->host, source->node, source->wid);
    uintptr_t row = (uintptr_t)zhashx_lookup (self->node_index, key);
    if (row)
        return (uint32_t)(row - 1);
    uint32_t id;
    //  Nodes the topology does not declare (forged, or a stray tool) never take a row a
    //  real instance may need: they share a small side table, least recently seen out.
    if (!s_declared (self, source->host, source->node))
        id = s_side_row (self);
    else if (self->node_count < ZSAT_STATS_NODES)
        id = (uint32_t)self->node_count++;
    else {
        self->global[ZSAT_GLOBAL_OVERFLOW]++;
        return UINT32_MAX;
    }
    s_node_t *node = &self->nodes[id];
    s_copy_name (node->host, source->host);
    s_copy_name (node->node, source->node);
    node->wid = source->wid;
    node->origin = origin;
    zhashx_insert (self->node_index, key, (void *)(uintptr_t)(id + 1));
    return id;
}

//  An instance came back with a new pid: what its predecessor held in its queue is lost
//  (ZeroMQ does not re-route a dead peer's messages), so its share leaves the count.
static void
s_forget_share (zsat_stats_t *self, s_node_t *node, int64_t now_us)
{
    s_stage_t *stage = &self->stages[node->origin < self->stage_count ? node->origin : 0];
    int instances = zsat_stats_instances (self, node->origin, now_us);
    stage->queued -= stage->queued / (instances > 1 ? instances : 1);
    node->begin_us = 0;
}

uint16_t
zsat_stats_source (zsat_stats_t *self, const zsat_event_source_t *source, int64_t now_us,
                   uint32_t *node_id)
{
    uint16_t origin = s_origin (self, source->host, source->node);
    uint32_t row = s_node_row (self, source, origin);
    if (row != UINT32_MAX) {
        s_node_t *node = &self->nodes[row];
        if (node->pid && node->pid != source->pid) {
            s_forget_share (self, node, now_us);
            node->restarts++;
            node->restarted_us = now_us;
        }
        node->pid = source->pid;
        snprintf (node->version, sizeof node->version, "%s", source->version);
        if (!node->first_seen_us)
            node->first_seen_us = now_us;
        node->last_seen_us = now_us;
    }
    if (node_id)
        *node_id = row;
    return origin;
}

//  Parses "in=1 out=2 ..." into the node's counters; unknown keys and junk are skipped.
static void
s_parse_heartbeat (s_node_t *node, const char *detail)
{
    const char *p = detail;
    while (*p) {
        while (*p == ' ')
            p++;
        const char *eq = strchr (p, '=');
        if (!eq)
            break;
        for (int k = 0; k < HB_KEYS; k++)
            if ((size_t)(eq - p) == strlen (s_hb_keys[k]) &&
                strncmp (p, s_hb_keys[k], (size_t)(eq - p)) == 0)
                node->hb[k] = strtoull (eq + 1, NULL, 10);
        p = strchr (eq, ' ');
        if (!p)
            break;
    }
}

static void
s_rate_advance (s_stage_t *stage, int64_t second)
{
    if (second <= stage->rate_second)
        return;
    int64_t gap = second - stage->rate_second;
    if (gap >= RATE_SLOTS) {
        memset (stage->rate, 0, sizeof stage->rate);
        memset (stage->busy_us, 0, sizeof stage->busy_us);
        memset (stage->spans, 0, sizeof stage->spans);
        memset (stage->arrived, 0, sizeof stage->arrived);
        memset (stage->taken, 0, sizeof stage->taken);
        memset (stage->dead, 0, sizeof stage->dead);
    }
    else
        for (int64_t s = stage->rate_second + 1; s <= second; s++) {
            stage->rate[s % RATE_SLOTS] = 0;
            stage->busy_us[s % RATE_SLOTS] = 0;
            stage->spans[s % RATE_SLOTS] = 0;
            stage->arrived[s % RATE_SLOTS] = 0;
            stage->taken[s % RATE_SLOTS] = 0;
            stage->dead[s % RATE_SLOTS] = 0;
        }
    stage->rate_second = second;
}

static void
s_count_done (s_stage_t *stage, int64_t now_us)
{
    stage->counter[ZSAT_STAT_ENDS]++;
    if (stage->busy > 0)
        stage->busy--;
    int64_t second = now_us / 1000000;
    s_rate_advance (stage, second);
    if (second == stage->rate_second)
        stage->rate[second % RATE_SLOTS]++;
}

//  Adds one to a per-second ring of the stage (arrivals, takes).
static void
s_count_second (s_stage_t *stage, uint32_t *ring, int64_t now_us)
{
    int64_t second = now_us / 1000000;
    s_rate_advance (stage, second);
    if (second == stage->rate_second)
        ring[second % RATE_SLOTS]++;
    stage->queue_moved_us = now_us;
}

//  An orchester's SEND names the node it pushed the vector to (detail), on its own host:
//  the vector waits in that stage's queue until the stage takes it (ACK).
static void
s_count_send (zsat_stats_t *self, s_stage_t *from, const zsat_event_rec_t *rec, int64_t now_us)
{
    char node[ZSAT_NAME_MAX];
    size_t len = strnlen (rec->detail, ZSAT_EVENT_DETAIL_MAX);
    if (len == 0 || len >= sizeof node)
        return;
    memcpy (node, rec->detail, len);
    node[len] = 0;
    if (!zsat_name_valid (node))
        return;
    uint16_t to = s_origin (self, from->host, node);
    if (to == 0)
        return;
    s_stage_t *stage = &self->stages[to];
    stage->queued++;
    s_count_second (stage, stage->arrived, now_us);
}

static void
s_count_dead (s_stage_t *stage, int64_t now_us)
{
    int64_t second = now_us / 1000000;
    s_rate_advance (stage, second);
    if (second == stage->rate_second)
        stage->dead[second % RATE_SLOTS]++;
}

uint64_t
zsat_stats_dead_recent (zsat_stats_t *self, uint16_t origin, int64_t now_us)
{
    if (origin >= self->stage_count)
        return 0;
    s_stage_t *stage = &self->stages[origin];
    int64_t second = now_us / 1000000;
    s_rate_advance (stage, second);
    uint64_t sum = 0;
    for (int64_t s = second - 59; s <= second; s++)  //  the current second included
        if (s >= 0)
            sum += stage->dead[s % RATE_SLOTS];
    return sum;
}

static void
s_count_take (s_stage_t *stage, int64_t now_us)
{
    if (stage->queued > 0)
        stage->queued--;
    s_count_second (stage, stage->taken, now_us);
}

//  An instance works on one vector at a time: its BEGIN->END span is busy time, whichever
//  attempt the vector belongs to (a superseded attempt's work loads the stage as much).
static void
s_count_span (s_stage_t *stage, s_node_t *node, const zsat_event_rec_t *rec, int64_t now_us)
{
    if (!node || !node->begin_us)
        return;
    int64_t span = 0;
    if (__builtin_sub_overflow (rec->timestamp, node->begin_us, &span) || span < 0)
        span = 0;
    if (span > 3600000000)
        span = 3600000000;  //  a peer's clock jump is not an hour of work
    node->begin_us = 0;
    int64_t second = now_us / 1000000;
    s_rate_advance (stage, second);
    if (second == stage->rate_second) {
        stage->busy_us[second % RATE_SLOTS] += (uint64_t)span;
        stage->spans[second % RATE_SLOTS]++;
    }
}

static void
s_count_heartbeat (s_node_t *node, const zsat_event_rec_t *rec, int64_t now_us)
{
    if (!node)
        return;
    node->last_heartbeat_us = now_us;
    node->heartbeats++;
    char detail[ZSAT_EVENT_DETAIL_MAX + 1];
    memcpy (detail, rec->detail, ZSAT_EVENT_DETAIL_MAX);
    detail[ZSAT_EVENT_DETAIL_MAX] = 0;  //  never trust a peer's terminator
    s_parse_heartbeat (node, detail);
}

//  The orchester's dead-letter reasons (orchester/zsat_orchester.c), then "other".
static const char *s_dead_reasons[ZSAT_STATS_DEAD_REASONS] = {
    "wrong host", "unknown type", "malformed",    "over-bounced", "unexpected event",
    "route full", "circuit open", "not retained", "too big",      "other"};

static int
s_dead_reason (const char *detail)
{
    char text[ZSAT_EVENT_DETAIL_MAX + 1];
    memcpy (text, detail, ZSAT_EVENT_DETAIL_MAX);
    text[ZSAT_EVENT_DETAIL_MAX] = 0;  //  never trust a peer's terminator
    for (int r = 0; r < ZSAT_STATS_DEAD_REASONS - 1; r++)
        if (streq (text, s_dead_reasons[r]))
            return r;
    return ZSAT_STATS_DEAD_REASONS - 1;
}

const char *
zsat_stats_dead_reason (int reason)
{
    return reason >= 0 && reason < ZSAT_STATS_DEAD_REASONS ? s_dead_reasons[reason] : "?";
}

uint64_t
zsat_stats_dead_by (zsat_stats_t *self, uint16_t origin, int reason)
{
    if (origin >= self->stage_count || reason < 0 || reason >= ZSAT_STATS_DEAD_REASONS)
        return 0;
    return self->stages[origin].dead_by[reason];
}

void
zsat_stats_on_record (zsat_stats_t *self, uint16_t origin, uint32_t node_id,
                      const zsat_event_rec_t *rec, int64_t now_us)
{
    s_stage_t *stage = &self->stages[origin < self->stage_count ? origin : 0];
    s_node_t *node = s_node_valid (self, node_id) ? &self->nodes[node_id] : NULL;
    stage->counter[ZSAT_STAT_EVENTS]++;
    self->global[ZSAT_GLOBAL_RECORDS]++;
    switch (rec->event) {
        case ZSAT_EV_SEND:
            if (origin)
                s_count_send (self, stage, rec, now_us);
            break;
        case ZSAT_EV_ACK:
            s_count_take (stage, now_us);
            break;
        case ZSAT_EV_BEGIN:
            stage->counter[ZSAT_STAT_BEGINS]++;
            stage->busy++;
            if (node)
                node->begin_us = rec->timestamp ? rec->timestamp : 1;
            break;
        case ZSAT_EV_END:
        case ZSAT_EV_HAPPY_END:
            s_count_done (stage, now_us);
            s_count_span (stage, node, rec, now_us);
            break;
        case ZSAT_EV_ERROR:
            stage->counter[ZSAT_STAT_ERRORS]++;
            if (stage->busy > 0)
                stage->busy--;
            s_count_span (stage, node, rec, now_us);
            break;
        case ZSAT_EV_TIMEOUT:
        case ZSAT_EV_O_TIMEOUT:
            stage->counter[ZSAT_STAT_TIMEOUTS]++;
            break;
        case ZSAT_EV_RETRY:
            stage->counter[ZSAT_STAT_RETRIES]++;
            break;
        case ZSAT_EV_DEAD_LETTER:
            stage->counter[ZSAT_STAT_DEAD_LETTERS]++;
            stage->dead_by[s_dead_reason (rec->detail)]++;
            s_count_dead (stage, now_us);
            break;
        case ZSAT_EV_HEARTBEAT:
            s_count_heartbeat (node, rec, now_us);
            break;
        default:
            break;
    }
}

void
zsat_stats_add (zsat_stats_t *self, uint16_t origin, zsat_stat_t which, uint64_t n)
{
    if (which < ZSAT_STAT_COUNT)
        self->stages[origin < self->stage_count ? origin : 0].counter[which] += n;
}

void
zsat_stats_global_add (zsat_stats_t *self, zsat_global_t which, uint64_t n)
{
    if (which < ZSAT_GLOBAL_COUNT)
        self->global[which] += n;
}

uint64_t
zsat_stats_global (zsat_stats_t *self, zsat_global_t which)
{
    return which < ZSAT_GLOBAL_COUNT ? self->global[which] : 0;
}

uint64_t
zsat_stats_counter (zsat_stats_t *self, uint16_t origin, zsat_stat_t which)
{
    if (origin >= self->stage_count || which >= ZSAT_STAT_COUNT)
        return 0;
    return self->stages[origin].counter[which];
}

//  Bucket of a value: exact below 4, then 4 sub-buckets per power of two.
static int
s_bucket (int64_t v)
{
    if (v < 4)
        return v < 0 ? 0 : (int)v;
    int exp = 63 - __builtin_clzll ((uint64_t)v);
    int index = 4 + (exp - 2) * 4 + (int)((v >> (exp - 2)) & 3);
    return index < HIST_BUCKETS ? index : HIST_BUCKETS - 1;
}

//  Largest value that falls in a bucket.
static int64_t
s_bucket_top (int index)
{
    if (index < 4)
        return index;
    int exp = (index - 4) / 4 + 2;
    int64_t sub = (index - 4) % 4;
    return ((5 + sub) << (exp - 2)) - 1;
}

//  Makes hist[*][minute & 1] the current minute, dropping what is two minutes old.
static void
s_hist_rotate (s_stage_t *stage, int64_t minute)
{
    if (minute <= stage->hist_minute)
        return;
    for (int w = 0; w < ZSAT_LATENCY_COUNT; w++) {
        if (minute == stage->hist_minute + 1)
            memset (&stage->hist[w][minute & 1], 0, sizeof (s_hist_t));
        else
            memset (stage->hist[w], 0, sizeof stage->hist[w]);
    }
    stage->hist_minute = minute;
}

//  Prometheus-style bounds, 100 µs .. 60 s.
static const int64_t s_bounds[ZSAT_STATS_BUCKETS] = {100,     500,     1000,     5000,    10000,
                                                     50000,   100000,  250000,   500000,  1000000,
                                                     2500000, 5000000, 10000000, 60000000};

const int64_t *
zsat_stats_bucket_bounds (void)
{
    return s_bounds;
}

static void
s_cumulate (s_stage_t *stage, zsat_latency_t which, int64_t latency_us)
{
    int b = 0;
    while (b < ZSAT_STATS_BUCKETS && latency_us > s_bounds[b])
        b++;
    stage->cum[which][b]++;
    stage->cum_sum_us[which] += (uint64_t)latency_us;
}

void
zsat_stats_cumulative (zsat_stats_t *self, uint16_t origin, zsat_latency_t which,
                       uint64_t buckets[ZSAT_STATS_BUCKETS + 1], uint64_t *count, uint64_t *sum_us)
{
    memset (buckets, 0, (ZSAT_STATS_BUCKETS + 1) * sizeof buckets[0]);
    *count = *sum_us = 0;
    if (origin >= self->stage_count || which >= ZSAT_LATENCY_COUNT)
        return;
    s_stage_t *stage = &self->stages[origin];
    for (int b = 0; b <= ZSAT_STATS_BUCKETS; b++) {
        buckets[b] = stage->cum[which][b];
        *count += buckets[b];
    }
    *sum_us = stage->cum_sum_us[which];
}

void
zsat_stats_latency (zsat_stats_t *self, uint16_t origin, zsat_latency_t which, int64_t latency_us,
                    int64_t now_us)
{
    if (which >= ZSAT_LATENCY_COUNT)
        return;
    s_stage_t *stage = &self->stages[origin < self->stage_count ? origin : 0];
    int64_t minute = now_us / 60000000;
    s_hist_rotate (stage, minute);
    if (minute < stage->hist_minute)
        return;  //  the clock went back: drop rather than mix minutes
    if (latency_us < 0)
        latency_us = 0;
    s_cumulate (stage, which, latency_us);
    if (which == ZSAT_LATENCY_TASK)
        self->recent[self->recent_next++ % ZSAT_STATS_RECENT] = latency_us;
    s_hist_t *h = &stage->hist[which][minute & 1];
    h->bucket[s_bucket (latency_us)]++;
    h->count++;
    if (latency_us > h->max)
        h->max = latency_us;
}

int64_t
zsat_stats_percentile (zsat_stats_t *self, uint16_t origin, zsat_latency_t which, double pct,
                       int64_t now_us)
{
    if (origin >= self->stage_count || which >= ZSAT_LATENCY_COUNT)
        return -1;
    s_stage_t *stage = &self->stages[origin];
    s_hist_rotate (stage, now_us / 60000000);
    s_hist_t *a = &stage->hist[which][0], *b = &stage->hist[which][1];
    uint64_t count = a->count + b->count;
    if (count == 0)
        return -1;
    int64_t max = a->max > b->max ? a->max : b->max;
    if (pct >= 100)
        return max;
    uint64_t rank = (uint64_t)(pct / 100.0 * (double)count);
    if (rank < 1)
        rank = 1;
    uint64_t seen = 0;
    for (int i = 0; i < HIST_BUCKETS; i++) {
        seen += a->bucket[i] + b->bucket[i];
        if (seen >= rank) {
            int64_t top = s_bucket_top (i);
            return top < max ? top : max;
        }
    }
    return max;
}

uint16_t
zsat_stats_type (zsat_stats_t *self, const char *type)
{
    if (!type || !*type)
        return 0;
    uintptr_t row = (uintptr_t)zhashx_lookup (self->type_index, type);
    if (row)
        return (uint16_t)(row - 1);
    if (self->type_count == ZSAT_STATS_TYPES) {
        self->global[ZSAT_GLOBAL_OVERFLOW]++;
        return 0;
    }
    s_copy_name (self->types[self->type_count], type);
    zhashx_insert (self->type_index, self->types[self->type_count],
                   (void *)(uintptr_t)(self->type_count + 1));
    return (uint16_t)self->type_count++;
}

const char *
zsat_stats_type_name (zsat_stats_t *self, uint16_t type)
{
    return type < self->type_count ? self->types[type] : "?";
}

size_t
zsat_stats_origin_count (zsat_stats_t *self)
{
    return self->stage_count;
}

const char *
zsat_stats_origin_host (zsat_stats_t *self, uint16_t origin)
{
    return origin < self->stage_count ? self->stages[origin].host : "?";
}

const char *
zsat_stats_origin_node (zsat_stats_t *self, uint16_t origin)
{
    return origin < self->stage_count ? self->stages[origin].node : "?";
}

int64_t
zsat_stats_busy (zsat_stats_t *self, uint16_t origin)
{
    return origin < self->stage_count ? self->stages[origin].busy : 0;
}

int
zsat_stats_instances (zsat_stats_t *self, uint16_t origin, int64_t now_us)
{
    int count = 0;
    for (size_t n = 0; n < s_node_total (self); n++) {
        s_node_t *node = s_node_nth (self, n);
        if (node->origin == origin && node->last_heartbeat_us &&
            now_us - node->last_heartbeat_us <= ZSAT_HEARTBEAT_STALE)
            count++;
    }
    return count;
}

double
zsat_stats_utilization (zsat_stats_t *self, uint16_t origin, int64_t now_us)
{
    if (origin >= self->stage_count)
        return 0;
    s_stage_t *stage = &self->stages[origin];
    int64_t second = now_us / 1000000;
    s_rate_advance (stage, second);
    uint64_t sum = 0;
    for (int64_t s = second - ZSAT_STATS_UTIL_S; s < second; s++)
        if (s >= 0)
            sum += stage->busy_us[s % RATE_SLOTS];
    return (double)sum / (ZSAT_STATS_UTIL_S * 1e6);
}

int64_t
zsat_stats_queued (zsat_stats_t *self, uint16_t origin, int64_t now_us)
{
    if (origin == 0 || origin >= self->stage_count)
        return 0;
    s_stage_t *stage = &self->stages[origin];
    //  a count that neither grew nor shrank for a minute is not a queue but vectors lost
    //  unseen (a crash between two heartbeats): it stops holding deadlines and the scaler
    if (stage->queued > 0 && now_us - stage->queue_moved_us > ZSAT_STATS_QUEUE_STALE)
        stage->queued = 0;
    return stage->queued;
}

//  Sum of a per-second ring over the last `window_s` full seconds.
static uint64_t
s_ring_sum (s_stage_t *stage, const uint32_t *ring, int window_s, int64_t now_us)
{
    int64_t second = now_us / 1000000;
    s_rate_advance (stage, second);
    uint64_t sum = 0;
    for (int64_t s = second - window_s; s < second; s++)
        if (s >= 0)
            sum += ring[s % RATE_SLOTS];
    return sum;
}

double
zsat_stats_queue_growth (zsat_stats_t *self, uint16_t origin, int64_t now_us)
{
    if (origin == 0 || origin >= self->stage_count)
        return 0;
    s_stage_t *stage = &self->stages[origin];
    double in = (double)s_ring_sum (stage, stage->arrived, ZSAT_STATS_UTIL_S, now_us);
    double out = (double)s_ring_sum (stage, stage->taken, ZSAT_STATS_UTIL_S, now_us);
    return (in - out) / ZSAT_STATS_UTIL_S;
}

int64_t
zsat_stats_restarted_us (zsat_stats_t *self, uint16_t origin)
{
    int64_t last = 0;
    for (size_t n = 0; n < s_node_total (self); n++) {
        s_node_t *node = s_node_nth (self, n);
        if (node->origin == origin && node->restarted_us > last)
            last = node->restarted_us;
    }
    return last;
}

double
zsat_stats_flow_rate (zsat_stats_t *self, uint16_t origin, bool arrivals, int window_s,
                      int64_t now_us)
{
    if (origin == 0 || origin >= self->stage_count || window_s < 1 || window_s >= RATE_SLOTS)
        return 0;
    s_stage_t *stage = &self->stages[origin];
    uint32_t *ring = arrivals ? stage->arrived : stage->taken;
    return (double)s_ring_sum (stage, ring, window_s, now_us) / window_s;
}

int64_t
zsat_stats_service_us (zsat_stats_t *self, uint16_t origin, int64_t now_us)
{
    if (origin == 0 || origin >= self->stage_count)
        return -1;
    s_stage_t *stage = &self->stages[origin];
    uint64_t spans = 0, busy = 0;
    int64_t second = now_us / 1000000;
    s_rate_advance (stage, second);
    for (int64_t s = second - 60; s <= second; s++)
        if (s >= 0) {
            spans += stage->spans[s % RATE_SLOTS];
            busy += stage->busy_us[s % RATE_SLOTS];
        }
    return spans ? (int64_t)(busy / spans) : -1;
}

int64_t
zsat_stats_queue_wait_us (zsat_stats_t *self, uint16_t origin, int64_t now_us)
{
    int64_t queued = zsat_stats_queued (self, origin, now_us);
    int64_t service = zsat_stats_service_us (self, origin, now_us);
    if (queued <= 0 || service <= 0)
        return 0;
    int instances = zsat_stats_instances (self, origin, now_us);
    double wait = (double)queued * (double)service / (instances > 1 ? instances : 1);
    return wait < 3600e6 ? (int64_t)wait : 3600000000;
}

int64_t
zsat_stats_idle (zsat_stats_t *self, uint16_t origin, int64_t now_us)
{
    double busy = (double)zsat_stats_busy (self, origin);
    double utilization = zsat_stats_utilization (self, origin, now_us);
    double idle =
        zsat_stats_instances (self, origin, now_us) - (busy > utilization ? busy : utilization);
    //  rounded: a worker busy less than half the time still counts as idle
    return idle > 0 ? (int64_t)(idle + 0.5) : 0;
}

double
zsat_stats_rate (zsat_stats_t *self, uint16_t origin, int window_s, int64_t now_us)
{
    if (origin >= self->stage_count || window_s < 1 || window_s >= RATE_SLOTS)
        return 0;
    s_stage_t *stage = &self->stages[origin];
    int64_t second = now_us / 1000000;
    s_rate_advance (stage, second);
    uint64_t sum = 0;
    for (int64_t s = second - window_s; s < second; s++)
        if (s >= 0)
            sum += stage->rate[s % RATE_SLOTS];
    return (double)sum / window_s;
}

static const char *s_stat_names[ZSAT_STAT_COUNT] = {
    "events", "begins", "ends", "errors", "timeouts", "retries", "failures", "dead_letters"};
static const char *s_global_names[ZSAT_GLOBAL_COUNT] = {"batches",
                                                        "records",
                                                        "bad_messages",
                                                        "untracked",
                                                        "late",
                                                        "unexpected",
                                                        "evicted",
                                                        "refused",
                                                        "resends",
                                                        "failures",
                                                        "happy_ends",
                                                        "overflow",
                                                        "undeclared_evicted",
                                                        "overtaken"};

const char *
zsat_stats_global_name (int which)
{
    return which >= 0 && which < ZSAT_GLOBAL_COUNT ? s_global_names[which] : "?";
}

static void
s_write_stage (zsat_stats_t *self, zsat_jsonw_t *json, uint16_t origin, int64_t now_us)
{
    s_stage_t *stage = &self->stages[origin];
    zsat_jsonw_object (json, NULL);
    zsat_jsonw_str (json, "host", stage->host);
    zsat_jsonw_str (json, "node", stage->node);
    zsat_jsonw_int (json, "instances", zsat_stats_instances (self, origin, now_us));
    zsat_jsonw_int (json, "busy", stage->busy);
    zsat_jsonw_double (json, "utilization", zsat_stats_utilization (self, origin, now_us));
    zsat_jsonw_int (json, "idle", zsat_stats_idle (self, origin, now_us));
    zsat_jsonw_int (json, "queued", zsat_stats_queued (self, origin, now_us));
    zsat_jsonw_double (json, "queue_growth", zsat_stats_queue_growth (self, origin, now_us));
    zsat_jsonw_double (json, "rate_1s", zsat_stats_rate (self, origin, 1, now_us));
    zsat_jsonw_double (json, "rate_1m", zsat_stats_rate (self, origin, 60, now_us));
    for (int c = 0; c < ZSAT_STAT_COUNT; c++)
        zsat_jsonw_uint (json, s_stat_names[c], stage->counter[c]);
    zsat_jsonw_uint (json, "dead_letters_1m", zsat_stats_dead_recent (self, origin, now_us));
    zsat_jsonw_object (json, "dead_by");
    for (int r = 0; r < ZSAT_STATS_DEAD_REASONS; r++)
        if (stage->dead_by[r])
            zsat_jsonw_uint (json, s_dead_reasons[r], stage->dead_by[r]);
    zsat_jsonw_end (json);
    static const char *lat_keys[ZSAT_LATENCY_COUNT][3] = {
        {"p50_us", "p99_us", "max_us"}, {"task_p50_us", "task_p99_us", "task_max_us"}};
    static const double pcts[3] = {50, 99, 100};
    for (int w = 0; w < ZSAT_LATENCY_COUNT; w++)
        for (int p = 0; p < 3; p++)
            zsat_jsonw_int (
                json, lat_keys[w][p],
                zsat_stats_percentile (self, origin, (zsat_latency_t)w, pcts[p], now_us));
    zsat_jsonw_end (json);
}

//  Sums a host's stages: counters, busy, idle, instances, rates.
typedef struct {
    uint64_t counter[ZSAT_STAT_COUNT];
    int64_t busy, idle, instances;
    double rate_1s, rate_1m;
} s_host_sum_t;

static void
s_sum_host (zsat_stats_t *self, const char *host, s_host_sum_t *sum, int64_t now_us)
{
    memset (sum, 0, sizeof *sum);
    for (uint16_t o = 1; o < self->stage_count; o++) {
        if (strcmp (self->stages[o].host, host) != 0)
            continue;
        for (int c = 0; c < ZSAT_STAT_COUNT; c++)
            sum->counter[c] += self->stages[o].counter[c];
        sum->busy += self->stages[o].busy;
        sum->idle += zsat_stats_idle (self, o, now_us);
        sum->instances += zsat_stats_instances (self, o, now_us);
        sum->rate_1s += zsat_stats_rate (self, o, 1, now_us);
        sum->rate_1m += zsat_stats_rate (self, o, 60, now_us);
    }
}

static bool
s_first_of_host (zsat_stats_t *self, uint16_t origin)
{
    for (uint16_t o = 1; o < origin; o++)
        if (streq (self->stages[o].host, self->stages[origin].host))
            return false;
    return true;
}

void
zsat_stats_write (zsat_stats_t *self, zsat_jsonw_t *json, int64_t now_us)
{
    zsat_jsonw_array (json, "stages");
    for (uint16_t o = 0; o < self->stage_count; o++)
        if (o > 0 || self->stages[0].counter[ZSAT_STAT_EVENTS])
            s_write_stage (self, json, o, now_us);
    zsat_jsonw_end (json);
    zsat_jsonw_array (json, "hosts");
    for (uint16_t o = 1; o < self->stage_count; o++) {
        if (!s_first_of_host (self, o))
            continue;
        s_host_sum_t sum;
        s_sum_host (self, self->stages[o].host, &sum, now_us);
        zsat_jsonw_object (json, NULL);
        zsat_jsonw_str (json, "host", self->stages[o].host);
        zsat_jsonw_int (json, "instances", sum.instances);
        zsat_jsonw_int (json, "busy", sum.busy);
        zsat_jsonw_int (json, "idle", sum.idle);
        zsat_jsonw_double (json, "rate_1s", sum.rate_1s);
        zsat_jsonw_double (json, "rate_1m", sum.rate_1m);
        for (int c = 0; c < ZSAT_STAT_COUNT; c++)
            zsat_jsonw_uint (json, s_stat_names[c], sum.counter[c]);
        zsat_jsonw_end (json);
    }
    zsat_jsonw_end (json);
    zsat_jsonw_object (json, "counters");
    for (int g = 0; g < ZSAT_GLOBAL_COUNT; g++)
        zsat_jsonw_uint (json, s_global_names[g], self->global[g]);
    zsat_jsonw_end (json);
}

void
zsat_stats_write_nodes (zsat_stats_t *self, zsat_jsonw_t *json, int64_t now_us)
{
    zsat_jsonw_array (json, "nodes");
    for (size_t n = 0; n < s_node_total (self); n++) {
        s_node_t *node = s_node_nth (self, n);
        zsat_jsonw_object (json, NULL);
        zsat_jsonw_str (json, "host", node->host);
        zsat_jsonw_str (json, "node", node->node);
        zsat_jsonw_uint (json, "wid", node->wid);
        zsat_jsonw_uint (json, "pid", node->pid);
        zsat_jsonw_str (json, "version", node->version);
        zsat_jsonw_int (json, "last_heartbeat_ms_ago",
                        node->last_heartbeat_us ? (now_us - node->last_heartbeat_us) / 1000 : -1);
        zsat_jsonw_int (json, "last_seen_ms_ago", (now_us - node->last_seen_us) / 1000);
        zsat_jsonw_bool (json, "alive",
                         node->last_heartbeat_us &&
                             now_us - node->last_heartbeat_us <= ZSAT_HEARTBEAT_STALE);
        zsat_jsonw_uint (json, "heartbeats", node->heartbeats);
        zsat_jsonw_uint (json, "restarts", node->restarts);
        zsat_jsonw_int (json, "restarted_ms_ago",
                        node->restarted_us ? (now_us - node->restarted_us) / 1000 : -1);
        for (int k = 0; k < HB_KEYS; k++)
            zsat_jsonw_uint (json, s_hb_keys[k], node->hb[k]);
        zsat_jsonw_end (json);
    }
    zsat_jsonw_end (json);
}

void
zsat_stats_write_recent (zsat_stats_t *self, zsat_jsonw_t *json, uint64_t from)
{
    uint64_t next = self->recent_next;
    uint64_t oldest = next > ZSAT_STATS_RECENT ? next - ZSAT_STATS_RECENT : 0;
    if (from > next)
        from = next;  //  a tracker restarted: its sequence began again
    uint64_t first = from < oldest ? oldest : from;
    zsat_jsonw_uint (json, "from", from);
    zsat_jsonw_uint (json, "next", next);
    zsat_jsonw_uint (json, "lost", first - from);
    zsat_jsonw_array (json, "us");
    for (uint64_t seq = first; seq < next; seq++)
        zsat_jsonw_int (json, NULL, self->recent[seq % ZSAT_STATS_RECENT]);
    zsat_jsonw_end (json);
}

//  What the table shows as busy: the larger of BEGINs without END and the utilization.
static double
s_effective_busy (zsat_stats_t *self, uint16_t origin, int64_t now_us)
{
    double busy = (double)zsat_stats_busy (self, origin);
    double utilization = zsat_stats_utilization (self, origin, now_us);
    return busy > utilization ? busy : utilization;
}

//  Latency for a terminal: "850us", "12.5ms", "3.2s", "-" when no sample.
static void
s_fmt_us (char *buf, size_t cap, int64_t us)
{
    if (us < 0)
        snprintf (buf, cap, "-");
    else if (us < 1000)
        snprintf (buf, cap, "%" PRId64 "us", us);
    else if (us < 1000000)
        snprintf (buf, cap, "%.1fms", us / 1000.0);
    else
        snprintf (buf, cap, "%.1fs", us / 1000000.0);
}

char *
zsat_stats_table (zsat_stats_t *self, int64_t now_us)
{
    char *text = NULL;
    size_t size = 0;
    FILE *out = open_memstream (&text, &size);
    if (!out)
        return NULL;
    fprintf (out, "%-12s %-14s %4s %4s %4s %5s %8s %8s %6s %6s %6s %6s %6s %8s %8s %8s\n", "HOST",
             "STAGE", "INST", "BUSY", "IDLE", "QUEUE", "VEC/S", "VEC/S1M", "ERR", "RETRY", "TMOUT",
             "FAIL", "DEAD", "P50", "P99", "MAX");
    for (uint16_t o = 1; o < self->stage_count; o++) {
        s_stage_t *stage = &self->stages[o];
        char p50[16], p99[16], max[16];
        s_fmt_us (p50, sizeof p50, zsat_stats_percentile (self, o, ZSAT_LATENCY_STAGE, 50, now_us));
        s_fmt_us (p99, sizeof p99, zsat_stats_percentile (self, o, ZSAT_LATENCY_STAGE, 99, now_us));
        s_fmt_us (max, sizeof max,
                  zsat_stats_percentile (self, o, ZSAT_LATENCY_STAGE, 100, now_us));
        fprintf (out,
                 "%-12.12s %-14.14s %4d %4.1f %4" PRId64 " %5" PRId64 " %8.1f %8.1f %6" PRIu64
                 " %6" PRIu64 " %6" PRIu64 " %6" PRIu64 " %6" PRIu64 " %8s %8s %8s\n",
                 stage->host, stage->node, zsat_stats_instances (self, o, now_us),
                 s_effective_busy (self, o, now_us), zsat_stats_idle (self, o, now_us),
                 zsat_stats_queued (self, o, now_us), zsat_stats_rate (self, o, 1, now_us),
                 zsat_stats_rate (self, o, 60, now_us), stage->counter[ZSAT_STAT_ERRORS],
                 stage->counter[ZSAT_STAT_RETRIES], stage->counter[ZSAT_STAT_TIMEOUTS],
                 stage->counter[ZSAT_STAT_FAILURES], stage->counter[ZSAT_STAT_DEAD_LETTERS], p50,
                 p99, max);
    }
    if (self->stage_count == 1)
        fprintf (out, "(no stage has reported yet)\n");
    for (uint16_t o = 1; o < self->stage_count; o++) {
        if (!s_first_of_host (self, o))
            continue;
        s_host_sum_t sum;
        s_sum_host (self, self->stages[o].host, &sum, now_us);
        fprintf (out,
                 "%-12.12s %-14s %4" PRId64 " %4" PRId64 " %4" PRId64 " %5s %8.1f %8.1f %6" PRIu64
                 " %6" PRIu64 " %6" PRIu64 " %6" PRIu64 " %6" PRIu64 "\n",
                 self->stages[o].host, "(host total)", sum.instances, sum.busy, sum.idle, "",
                 sum.rate_1s, sum.rate_1m, sum.counter[ZSAT_STAT_ERRORS],
                 sum.counter[ZSAT_STAT_RETRIES], sum.counter[ZSAT_STAT_TIMEOUTS],
                 sum.counter[ZSAT_STAT_FAILURES], sum.counter[ZSAT_STAT_DEAD_LETTERS]);
    }
    fprintf (out, "\n");
    for (int g = 0; g < ZSAT_GLOBAL_COUNT; g++)
        fprintf (out, "%s=%" PRIu64 "%s", s_global_names[g], self->global[g],
                 g + 1 < ZSAT_GLOBAL_COUNT ? " " : "\n");
    fclose (out);
    return text;
}

//  --- selftest ---

static void
s_test_histogram (void)
{
    for (int64_t v = 0; v < 5000000; v = v * 3 / 2 + 1) {
        int b = s_bucket (v);
        assert (s_bucket_top (b) >= v);
        assert (b == 0 || s_bucket_top (b - 1) < v);
    }
    zsat_stats_t *s = zsat_stats_new ();
    zsat_event_source_t src = {.host = "a", .node = "cpu", .wid = 1, .pid = 10};
    int64_t now = 600000000;  //  minute 10
    uint16_t o = zsat_stats_source (s, &src, now, NULL);
    assert (o == 1);
    assert (zsat_stats_percentile (s, o, ZSAT_LATENCY_STAGE, 50, now) == -1);
    for (int i = 1; i <= 1000; i++)
        zsat_stats_latency (s, o, ZSAT_LATENCY_STAGE, i * 1000, now);
    int64_t p50 = zsat_stats_percentile (s, o, ZSAT_LATENCY_STAGE, 50, now);
    int64_t p99 = zsat_stats_percentile (s, o, ZSAT_LATENCY_STAGE, 99, now);
    assert (p50 >= 500000 && p50 <= 500000 * 5 / 4);
    assert (p99 >= 990000 && p99 <= 1000000);
    assert (zsat_stats_percentile (s, o, ZSAT_LATENCY_STAGE, 100, now) == 1000000);
    zsat_stats_latency (s, o, ZSAT_LATENCY_STAGE, -5, now);  //  skew: counted as 0
    //  next minute: still visible; two minutes later: gone
    assert (zsat_stats_percentile (s, o, ZSAT_LATENCY_STAGE, 100, now + 60000000) == 1000000);
    zsat_stats_latency (s, o, ZSAT_LATENCY_STAGE, 7, now + 60000000);
    assert (zsat_stats_percentile (s, o, ZSAT_LATENCY_STAGE, 100, now + 120000000) == 7);
    assert (zsat_stats_percentile (s, o, ZSAT_LATENCY_STAGE, 50, now + 180000000) == -1);
    zsat_stats_destroy (&s);
}

static void
s_feed (zsat_stats_t *s, uint16_t o, uint32_t node, int event, const char *detail, int64_t now)
{
    zsat_event_rec_t rec = {.event = (uint8_t)event, .task_id = 1};
    snprintf (rec.detail, sizeof rec.detail, "%s", detail ? detail : "");
    zsat_stats_on_record (s, o, node, &rec, now);
}

static void
s_test_counts (void)
{
    zsat_stats_t *s = zsat_stats_new ();
    int64_t now = 1000000000;
    zsat_event_source_t w1 = {.host = "a", .node = "cpu", .wid = 1, .pid = 11, .version = "0.1"};
    zsat_event_source_t w2 = {.host = "a", .node = "cpu", .wid = 2, .pid = 12, .version = "0.1"};
    uint32_t n1, n2;
    uint16_t o = zsat_stats_source (s, &w1, now, &n1);
    assert (zsat_stats_source (s, &w2, now, &n2) == o && n1 != n2);
    assert (zsat_stats_origin_find (s, "a", "cpu") == o &&
            zsat_stats_origin_find (s, "b", "x") == 0);
    s_feed (s, o, n1, ZSAT_EV_HEARTBEAT, "in=5 out=4 bogus errors=1 junk=9 dead=2", now);
    s_feed (s, o, n2, ZSAT_EV_HEARTBEAT, "", now);
    assert (zsat_stats_instances (s, o, now) == 2 && zsat_stats_idle (s, o, now) == 2);
    s_feed (s, o, n1, ZSAT_EV_BEGIN, NULL, now);
    assert (zsat_stats_busy (s, o) == 1 && zsat_stats_idle (s, o, now) == 1);
    s_feed (s, o, n1, ZSAT_EV_END, NULL, now);
    s_feed (s, o, n1, ZSAT_EV_ERROR, NULL, now);  //  no BEGIN: busy stays at 0

    assert (zsat_stats_busy (s, o) == 0);
    for (int i = 0; i < 30; i++)
        s_feed (s, o, n1, ZSAT_EV_HAPPY_END, NULL, now + 1000000 + i);
    //  rates: 1 s window sees the last full second, 1 min the average
    assert (zsat_stats_rate (s, o, 1, now + 2000000) == 30);
    assert (zsat_stats_rate (s, o, 60, now + 2000000) == 31.0 / 60);
    assert (zsat_stats_rate (s, o, 1, now + 3000000) == 0);
    assert (zsat_stats_rate (s, o, 60, now + 100000000) == 0);
    assert (zsat_stats_counter (s, o, ZSAT_STAT_ENDS) == 31);
    assert (zsat_stats_counter (s, o, ZSAT_STAT_ERRORS) == 1);
    zsat_stats_add (s, o, ZSAT_STAT_FAILURES, 2);
    assert (zsat_stats_counter (s, o, ZSAT_STAT_FAILURES) == 2);
    //  a worker busy all the time, though its BEGIN and END arrive together: 5 s of 1 s spans
    //  make a utilization of 1, so one of the two instances is idle. The spans count per
    //  instance, whatever attempt (task) they belong to.
    int64_t later = now + 100000000;
    for (int sec = 0; sec < ZSAT_STATS_UTIL_S; sec++) {
        int64_t at = later + sec * 1000000;
        zsat_event_rec_t rec = {.event = ZSAT_EV_BEGIN, .task_id = 100 + sec, .timestamp = at};
        zsat_stats_on_record (s, o, n1, &rec, at + 999999);
        rec = (zsat_event_rec_t){
            .event = ZSAT_EV_END, .task_id = 100 + sec, .retry = sec, .timestamp = at + 1000000};
        zsat_stats_on_record (s, o, n1, &rec, at + 999999);
    }
    assert (zsat_stats_service_us (s, o, later + ZSAT_STATS_UTIL_S * 1000000) == 1000000);
    later += ZSAT_STATS_UTIL_S * 1000000;
    s_feed (s, o, n1, ZSAT_EV_HEARTBEAT, "", later);
    s_feed (s, o, n2, ZSAT_EV_HEARTBEAT, "", later);
    assert (zsat_stats_utilization (s, o, later) == 1.0);
    assert (zsat_stats_busy (s, o) == 0 && zsat_stats_idle (s, o, later) == 1);
    assert (zsat_stats_utilization (s, o, later + 60000000) == 0);
    assert (zsat_stats_service_us (s, o, later + 70000000) == -1);
    //  heartbeats go stale
    assert (zsat_stats_instances (s, o, later + ZSAT_HEARTBEAT_STALE + 1) == 0);
    //  dead letters by reason; cumulative latency buckets
    later += 100000000;  //  past the queries above, which moved the rings on
    s_feed (s, o, n1, ZSAT_EV_DEAD_LETTER, "unknown type", later);
    s_feed (s, o, n1, ZSAT_EV_DEAD_LETTER, "in:x->y: bad frames", later);
    assert (zsat_stats_dead_by (s, o, 1) == 1 && zsat_stats_dead_by (s, o, 9) == 1);
    assert (zsat_stats_dead_recent (s, o, later) == 2 &&
            zsat_stats_dead_recent (s, o, later + 59000000) == 2);
    assert (zsat_stats_dead_recent (s, o, later + 60000000) == 0);
    assert (streq (zsat_stats_dead_reason (1), "unknown type"));
    uint64_t buckets[ZSAT_STATS_BUCKETS + 1], count, sum;
    zsat_stats_latency (s, o, ZSAT_LATENCY_STAGE, 100, later);      //  bucket le=100us
    zsat_stats_latency (s, o, ZSAT_LATENCY_STAGE, 1000000, later);  //  le=1s
    zsat_stats_cumulative (s, o, ZSAT_LATENCY_STAGE, buckets, &count, &sum);
    assert (count == 2 && sum == 1000100 && buckets[0] == 1 && buckets[9] == 1);
    zsat_stats_latency (s, o, ZSAT_LATENCY_STAGE, 3600000000, later);
    zsat_stats_cumulative (s, o, ZSAT_LATENCY_STAGE, buckets, &count, &sum);
    assert (count == 3 && buckets[ZSAT_STATS_BUCKETS] == 1);
    //  types
    assert (zsat_stats_type (s, "cpu") == 1 && zsat_stats_type (s, "mem") == 2);
    assert (zsat_stats_type (s, "cpu") == 1 && zsat_stats_type (s, "") == 0);
    assert (streq (zsat_stats_type_name (s, 2), "mem") &&
            streq (zsat_stats_type_name (s, 99), "?"));
    //  outputs
    zsat_jsonw_t *json = zsat_jsonw_new ();
    zsat_jsonw_object (json, NULL);
    zsat_stats_write (s, json, now);
    zsat_stats_write_nodes (s, json, now);
    zsat_jsonw_end (json);
    assert (strstr (zsat_jsonw_text (json), "\"node\":\"cpu\""));
    assert (strstr (zsat_jsonw_text (json), "\"dead\":2"));
    assert (strstr (zsat_jsonw_text (json), "\"version\":\"0.1\""));
    zsat_jsonw_destroy (&json);
    char *table = zsat_stats_table (s, now);
    assert (table && strstr (table, "cpu") && strstr (table, "(host total)"));
    free (table);
    zsat_stats_destroy (&s);
}

//  An orchester's SEND names the stage: the vector is queued there until the stage's ACK.
static void
s_test_queue (void)
{
    zsat_stats_t *s = zsat_stats_new ();
    int64_t now = 1000000000;
    zsat_event_source_t orch = {.host = "b", .node = "orchester", .pid = 5};
    zsat_event_source_t w1 = {.host = "b", .node = "work", .wid = 0, .pid = 6};
    zsat_event_source_t w2 = {.host = "b", .node = "work", .wid = 1, .pid = 7};
    uint32_t n_orch, n1, n2;
    uint16_t o = zsat_stats_source (s, &orch, now, &n_orch);
    uint16_t w = zsat_stats_source (s, &w1, now, &n1);
    assert (zsat_stats_source (s, &w2, now, &n2) == w);
    s_feed (s, w, n1, ZSAT_EV_HEARTBEAT, "", now);
    s_feed (s, w, n2, ZSAT_EV_HEARTBEAT, "", now);
    //  4 a second sent, 2 a second taken, for 10 s; each vector takes 1 s
    for (int i = 0; i < 40; i++) {
        int64_t t = now + i * 250000;
        s_feed (s, o, n_orch, ZSAT_EV_SEND, "work", t);
        s_feed (s, o, n_orch, ZSAT_EV_SEND, "", t);          //  names nothing: not counted
        s_feed (s, o, n_orch, ZSAT_EV_SEND, "bad name", t);  //  not a name: not counted
        if (i % 2)
            continue;
        uint32_t node = i % 4 ? n2 : n1;
        zsat_event_rec_t rec = {.event = ZSAT_EV_ACK, .task_id = (uint64_t)i, .timestamp = t};
        zsat_stats_on_record (s, w, node, &rec, t);
        rec.event = ZSAT_EV_BEGIN;
        zsat_stats_on_record (s, w, node, &rec, t);
        rec.event = ZSAT_EV_END;
        rec.timestamp = t + 1000000;
        zsat_stats_on_record (s, w, node, &rec, t);
        s_feed (s, w, n1, ZSAT_EV_HEARTBEAT, "", t);
        s_feed (s, w, n2, ZSAT_EV_HEARTBEAT, "", t);
    }
    int64_t t = now + 10000000;
    assert (zsat_stats_queued (s, w, t) == 20);
    double growth = zsat_stats_queue_growth (s, w, t);
    assert (growth > 1.9 && growth < 2.1);
    assert (zsat_stats_service_us (s, w, t) == 1000000);
    //  20 queued, 1 s each, 2 instances: the last one waits 10 s
    assert (zsat_stats_queue_wait_us (s, w, t) == 10000000);
    assert (zsat_stats_utilization (s, w, t) > 1.9);
    assert (zsat_stats_queued (s, o, t) == 0 && zsat_stats_queue_wait_us (s, o, t) == 0);
    //  an instance restarted (new pid): its share of the queue was lost with it
    w2.pid = 8;
    zsat_stats_source (s, &w2, t, &n2);
    assert (zsat_stats_queued (s, w, t) == 10);
    //  a queue that stands still for a minute is dropped
    assert (zsat_stats_queued (s, w, t + ZSAT_STATS_QUEUE_STALE + 1000000) == 0);
    zsat_stats_destroy (&s);
}

//  Forged heartbeats of made-up nodes fill only the side table: a real instance seen
//  afterwards still gets its row and counts.
static bool
s_test_declared (const char *host, const char *node, void *arg)
{
    return streq (host, "a") && streq (node, "cpu");
}

static void
s_test_side_table (void)
{
    zsat_stats_t *s = zsat_stats_new ();
    zsat_stats_set_declared (s, s_test_declared, NULL);
    int64_t now = 1000000000;
    zsat_event_source_t forged = {.host = "a", .wid = 0, .pid = 66};
    for (int i = 0; i < ZSAT_STATS_NODES + 1000; i++) {
        snprintf (forged.node, sizeof forged.node, "fake%d", i);
        uint32_t row;
        uint16_t o = zsat_stats_source (s, &forged, now + i, &row);
        assert (row != UINT32_MAX);
        s_feed (s, o, row, ZSAT_EV_HEARTBEAT, "in=1", now + i);
    }
    assert (zsat_stats_global (s, ZSAT_GLOBAL_UNDECLARED_EVICTED) ==
            ZSAT_STATS_NODES + 1000 - ZSAT_STATS_SIDE_NODES);
    assert (zsat_stats_origin_count (s) == 1 + ZSAT_STATS_SIDE_ORIGINS);
    //  the most recent forged ones are the ones kept
    assert (zsat_stats_origin_find (s, "a", "fake0") != 0);  //  its stage stays (no row)
    int64_t later = now + ZSAT_STATS_NODES + 1000;
    zsat_event_source_t real = {.host = "a", .node = "cpu", .wid = 3, .pid = 7};
    uint32_t row;
    uint16_t o = zsat_stats_source (s, &real, later, &row);
    assert (o != 0 && row != UINT32_MAX);
    s_feed (s, o, row, ZSAT_EV_HEARTBEAT, "", later);
    assert (zsat_stats_instances (s, o, later) == 1);
    //  a declared name on a host that does not run it is undeclared too
    zsat_event_source_t elsewhere = {.host = "b", .node = "cpu", .wid = 0, .pid = 8};
    zsat_stats_source (s, &elsewhere, later, &row);
    assert (row >= ZSAT_STATS_NODES);
    zsat_jsonw_t *json = zsat_jsonw_new ();
    zsat_jsonw_object (json, NULL);
    zsat_stats_write_nodes (s, json, later);
    zsat_jsonw_end (json);
    assert (strstr (zsat_jsonw_text (json), "\"node\":\"cpu\",\"wid\":3"));
    zsat_jsonw_destroy (&json);
    zsat_stats_destroy (&s);
}

static void
s_test_overflow (void)
{
    zsat_stats_t *s = zsat_stats_new ();
    zsat_event_source_t src = {.host = "h", .wid = 0};
    for (int i = 0; i < ZSAT_STATS_ORIGINS + 10; i++) {
        snprintf (src.node, sizeof src.node, "n%d", i);
        uint16_t o = zsat_stats_source (s, &src, 1, NULL);
        assert (i < ZSAT_STATS_ORIGINS - 1 ? o == i + 1 : o == 0);
    }
    assert (zsat_stats_global (s, ZSAT_GLOBAL_OVERFLOW) >= 11);
    assert (zsat_stats_origin_count (s) == ZSAT_STATS_ORIGINS);
    zsat_stats_destroy (&s);
    zsat_stats_destroy (&s);
}

static void
s_test_recent (void)
{
    zsat_stats_t *s = zsat_stats_new ();
    zsat_jsonw_t *json = zsat_jsonw_new ();
    uint16_t o = 0;
    for (int i = 1; i <= 3; i++)
        zsat_stats_latency (s, o, ZSAT_LATENCY_TASK, i * 1000, 1000000);
    zsat_stats_latency (s, o, ZSAT_LATENCY_STAGE, 77, 1000000);  //  not a task's
    zsat_jsonw_object (json, NULL);
    zsat_stats_write_recent (s, json, 1);
    zsat_jsonw_end (json);
    assert (strstr (zsat_jsonw_text (json), "\"from\":1,\"next\":3,\"lost\":0,\"us\":[2000,3000]"));
    //  more than the ring holds since `from`: the oldest are counted as lost
    for (int i = 0; i < ZSAT_STATS_RECENT + 5; i++)
        zsat_stats_latency (s, o, ZSAT_LATENCY_TASK, 9, 1000000);
    zsat_jsonw_reset (json);
    zsat_jsonw_object (json, NULL);
    zsat_stats_write_recent (s, json, 0);
    zsat_jsonw_end (json);
    assert (strstr (zsat_jsonw_text (json), "\"lost\":8,"));
    zsat_jsonw_destroy (&json);
    zsat_stats_destroy (&s);
}

void
zsat_stats_test (bool verbose)
{
    printf (" * zsat_stats: ");
    s_test_histogram ();
    s_test_counts ();
    s_test_queue ();
    s_test_side_table ();
    s_test_overflow ();
    s_test_recent ();
    printf ("OK\n");
}
