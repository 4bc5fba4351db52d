/*  zsat_breaker - circuit breakers per stage. The window is 10 buckets of window/10 each
    (counts of successes and failures), so the ratio covers the last window within a tenth.
    In half-open, the first outcome at the stage decides: while the breaker is open the
    orchester routes nothing else there, so it is the probe's. Owns no socket.
*/
#include "zsat_breaker.h"

#define BUCKETS 10
#define STAGES  256

typedef struct {
    char name[ZSAT_NAME_MAX];
    int state;
    int64_t since_us;      //  when the state began
    int64_t bucket_index;  //  newest bucket counted (time / bucket_us)
    uint32_t ok[BUCKETS];
    uint32_t failed[BUCKETS];
} s_stage_t;

struct zsat_breaker_t {
    double threshold;
    int min_tasks;
    int64_t bucket_us;
    int64_t cooldown_us;
    zsat_breaker_fn *fn;
    void *arg;
    s_stage_t stages[STAGES];
    size_t stage_count;
};

zsat_breaker_t *
zsat_breaker_new (const zsat_tracker_policy_t *policy, zsat_breaker_fn *fn, void *arg)
{
    zsat_breaker_t *self = (zsat_breaker_t *)calloc (1, sizeof *self);
    if (!self)
        return NULL;
    self->threshold = policy->breaker_threshold;
    self->min_tasks = policy->breaker_min_tasks > 0 ? policy->breaker_min_tasks : 1;
    self->bucket_us = policy->breaker_window_ms * 1000 / BUCKETS;
    if (self->bucket_us < 1000)
        self->bucket_us = 1000;
    self->cooldown_us = policy->breaker_cooldown_ms * 1000;
    self->fn = fn;
    self->arg = arg;
    return self;
}

void
zsat_breaker_destroy (zsat_breaker_t **self_p)
{
    if (self_p && *self_p) {
        free (*self_p);
        *self_p = NULL;
    }
}

static s_stage_t *
s_stage (zsat_breaker_t *self, const char *name, bool create)
{
    for (size_t i = 0; i < self->stage_count; i++)
        if (streq (self->stages[i].name, name))
            return &self->stages[i];
    if (!create || self->stage_count == STAGES || !zsat_name_valid (name))
        return NULL;
    s_stage_t *stage = &self->stages[self->stage_count++];
    snprintf (stage->name, sizeof stage->name, "%s", name);
    return stage;
}

//  Drops buckets older than the window.
static void
s_advance (zsat_breaker_t *self, s_stage_t *stage, int64_t now_us)
{
    int64_t index = now_us / self->bucket_us;
    if (index <= stage->bucket_index)
        return;
    if (index - stage->bucket_index >= BUCKETS) {
        memset (stage->ok, 0, sizeof stage->ok);
        memset (stage->failed, 0, sizeof stage->failed);
    }
    else
        for (int64_t i = stage->bucket_index + 1; i <= index; i++)
            stage->ok[i % BUCKETS] = stage->failed[i % BUCKETS] = 0;
    stage->bucket_index = index;
}

static void
s_change (zsat_breaker_t *self, s_stage_t *stage, int state, int64_t now_us)
{
    uint64_t ok = 0, failed = 0;
    for (int b = 0; b < BUCKETS; b++) {
        ok += stage->ok[b];
        failed += stage->failed[b];
    }
    stage->state = state;
    stage->since_us = now_us;
    if (state == ZSAT_BREAKER_CLOSED) {
        memset (stage->ok, 0, sizeof stage->ok);
        memset (stage->failed, 0, sizeof stage->failed);
    }
    zsat_breaker_change_t change = {.stage = stage->name,
                                    .state = state,
                                    .failures = failed,
                                    .tasks = ok + failed,
                                    .ratio = ok + failed ? (double)failed / (ok + failed) : 0};
    if (self->fn)
        self->fn (&change, self->arg);
}

static void
s_check_open (zsat_breaker_t *self, s_stage_t *stage, int64_t now_us)
{
    uint64_t ok = 0, failed = 0;
    for (int b = 0; b < BUCKETS; b++) {
        ok += stage->ok[b];
        failed += stage->failed[b];
    }
    if (ok + failed >= (uint64_t)self->min_tasks &&
        (double)failed / (double)(ok + failed) >= self->threshold)
        s_change (self, stage, ZSAT_BREAKER_OPEN, now_us);
}

void
zsat_breaker_outcome (zsat_breaker_t *self, const char *stage_name, bool ok, int64_t now_us)
{
    s_stage_t *stage = s_stage (self, stage_name, true);
    if (!stage)
        return;
    if (stage->state == ZSAT_BREAKER_HALF_OPEN) {
        s_change (self, stage, ok ? ZSAT_BREAKER_CLOSED : ZSAT_BREAKER_OPEN, now_us);
        return;
    }
    if (stage->state == ZSAT_BREAKER_OPEN)
        return;  //  stragglers from before it opened
    s_advance (self, stage, now_us);
    if (now_us / self->bucket_us < stage->bucket_index)
        return;  //  the clock went back
    if (ok)
        stage->ok[stage->bucket_index % BUCKETS]++;
    else {
        stage->failed[stage->bucket_index % BUCKETS]++;
        s_check_open (self, stage, now_us);
    }
}

void
zsat_breaker_tick (zsat_breaker_t *self, int64_t now_us)
{
    for (size_t i = 0; i < self->stage_count; i++) {
        s_stage_t *stage = &self->stages[i];
        if (stage->state != ZSAT_BREAKER_CLOSED && now_us - stage->since_us >= self->cooldown_us)
            s_change (self, stage,
                      stage->state == ZSAT_BREAKER_OPEN ? ZSAT_BREAKER_HALF_OPEN
                                                        : ZSAT_BREAKER_OPEN,
                      now_us);
    }
}

bool
zsat_breaker_busy (zsat_breaker_t *self)
{
    for (size_t i = 0; i < self->stage_count; i++)
        if (self->stages[i].state != ZSAT_BREAKER_CLOSED)
            return true;
    return false;
}

int
zsat_breaker_state (zsat_breaker_t *self, const char *stage_name)
{
    s_stage_t *stage = s_stage (self, stage_name, false);
    return stage ? stage->state : ZSAT_BREAKER_CLOSED;
}

const char *
zsat_breaker_state_name (int state)
{
    return state == ZSAT_BREAKER_OPEN        ? "open"
           : state == ZSAT_BREAKER_HALF_OPEN ? "half-open"
                                             : "closed";
}

//  --- selftest ---

typedef struct {
    int changes;
    int last_state;
    double last_ratio;
} s_seen_t;

static void
s_seen (const zsat_breaker_change_t *change, void *arg)
{
    s_seen_t *seen = (s_seen_t *)arg;
    seen->changes++;
    seen->last_state = change->state;
    seen->last_ratio = change->ratio;
}

void
zsat_breaker_test (bool verbose)
{
    printf (" * zsat_breaker: ");
    zsat_tracker_policy_t policy = {.breaker_threshold = 0.5,
                                    .breaker_min_tasks = 10,
                                    .breaker_window_ms = 10000,
                                    .breaker_cooldown_ms = 5000};
    s_seen_t seen = {0};
    zsat_breaker_t *b = zsat_breaker_new (&policy, s_seen, &seen);
    int64_t t = 1000000000;
    //  under the minimum of tasks: never opens, whatever the ratio
    for (int i = 0; i < 9; i++)
        zsat_breaker_outcome (b, "cpu", false, t);
    assert (zsat_breaker_state (b, "cpu") == ZSAT_BREAKER_CLOSED && seen.changes == 0);
    //  old failures leave the window
    t += 11000000;
    for (int i = 0; i < 5; i++)
        zsat_breaker_outcome (b, "cpu", true, t);
    for (int i = 0; i < 4; i++)
        zsat_breaker_outcome (b, "cpu", false, t);
    assert (zsat_breaker_state (b, "cpu") == ZSAT_BREAKER_CLOSED);
    zsat_breaker_outcome (b, "cpu", false, t);  //  5 of 10
    assert (zsat_breaker_state (b, "cpu") == ZSAT_BREAKER_OPEN && seen.changes == 1);
    assert (seen.last_ratio == 0.5);
    assert (zsat_breaker_state (b, "other") == ZSAT_BREAKER_CLOSED);
    //  open: stragglers ignored, cool-down then half-open
    zsat_breaker_outcome (b, "cpu", true, t + 1000);
    zsat_breaker_tick (b, t + 4999999);
    assert (zsat_breaker_state (b, "cpu") == ZSAT_BREAKER_OPEN);
    zsat_breaker_tick (b, t + 5000000);
    assert (zsat_breaker_state (b, "cpu") == ZSAT_BREAKER_HALF_OPEN && seen.changes == 2);
    //  failed probe: open again; next probe unanswered: open again; then success closes
    zsat_breaker_outcome (b, "cpu", false, t + 5100000);
    assert (zsat_breaker_state (b, "cpu") == ZSAT_BREAKER_OPEN && seen.changes == 3);
    zsat_breaker_tick (b, t + 10100000);
    assert (zsat_breaker_state (b, "cpu") == ZSAT_BREAKER_HALF_OPEN);
    zsat_breaker_tick (b, t + 15100000);
    assert (zsat_breaker_state (b, "cpu") == ZSAT_BREAKER_OPEN);
    zsat_breaker_tick (b, t + 20100000);
    zsat_breaker_outcome (b, "cpu", true, t + 20200000);
    assert (zsat_breaker_state (b, "cpu") == ZSAT_BREAKER_CLOSED && seen.changes == 7);
    //  closed with a clean window: one failure does not reopen it
    zsat_breaker_outcome (b, "cpu", false, t + 20300000);
    assert (zsat_breaker_state (b, "cpu") == ZSAT_BREAKER_CLOSED);
    zsat_breaker_outcome (b, "bad name!", false, t);  //  ignored
    assert (streq (zsat_breaker_state_name (ZSAT_BREAKER_HALF_OPEN), "half-open"));
    zsat_breaker_destroy (&b);
    zsat_breaker_destroy (&b);
    printf ("OK\n");
}
