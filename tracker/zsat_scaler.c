/*  zsat_scaler - autoscaling decisions per stage, with hysteresis: two marks apart (a
    band where nothing happens), a window the mark must hold without a break, a cool-down
    between decisions and a longer one before changing direction. Owns no socket.
*/
#include "zsat_scaler.h"
#include "zsat_stats.h"

typedef struct {
    int64_t low_since;   //  0: not below the low mark
    int64_t high_since;  //  0: not above the high mark
    int64_t last_us;     //  last decision, 0 = never
    int last_delta;
} s_stage_t;

struct zsat_scaler_t {
    int low, high;
    int64_t window_us;
    int64_t cooldown_us;
    s_stage_t stages[ZSAT_STATS_ORIGINS];
};

zsat_scaler_t *
zsat_scaler_new (const zsat_tracker_policy_t *policy)
{
    zsat_scaler_t *self = (zsat_scaler_t *)calloc (1, sizeof *self);
    if (!self)
        return NULL;
    self->low = policy->scale_low;
    self->high = policy->scale_high;
    self->window_us = policy->scale_window_ms * 1000;
    self->cooldown_us = policy->scale_cooldown_ms * 1000;
    return self;
}

void
zsat_scaler_destroy (zsat_scaler_t **self_p)
{
    if (self_p && *self_p) {
        free (*self_p);
        *self_p = NULL;
    }
}

//  Returns +1/-1 when the mark held for the window, else 0; tracks when marks began.
static int
s_mark (zsat_scaler_t *self, s_stage_t *stage, int64_t idle, int64_t now_us, int64_t *held)
{
    int64_t *since = NULL;
    int delta = 0;
    if (idle < self->low) {
        stage->high_since = 0;
        since = &stage->low_since;
        delta = +1;
    }
    else if (idle > self->high) {
        stage->low_since = 0;
        since = &stage->high_since;
        delta = -1;
    }
    else {
        stage->low_since = stage->high_since = 0;
        return 0;
    }
    if (!*since)
        *since = now_us;
    *held = now_us - *since;
    //  turning back needs the opposite mark to hold a whole cool-down: a load that swings
    //  faster than that is served at its peak instead of being chased
    int64_t needed = self->window_us;
    if (stage->last_delta && delta != stage->last_delta && self->cooldown_us > needed)
        needed = self->cooldown_us;
    return *held >= needed ? delta : 0;
}

//  What the queue in front of the stage says about its idle workers: a queue that grows is
//  work arriving faster than the workers take it, so none is idle whatever their busy time
//  reads; a queue not yet drained keeps every worker (idle at most the high mark).
static int64_t
s_queue_idle (zsat_scaler_t *self, int64_t idle, int instances, const zsat_scale_queue_t *queue)
{
    if (!queue || queue->queued <= instances)
        return idle;
    if (queue->growth > 0)
        return 0;
    return idle > self->high ? self->high : idle;
}

int
zsat_scaler_observe (zsat_scaler_t *self, uint16_t origin, int64_t idle, int instances,
                     int min_instances, int max_instances, const zsat_scale_queue_t *queue,
                     int64_t now_us, zsat_scale_decision_t *why)
{
    if (origin >= ZSAT_STATS_ORIGINS)
        return 0;
    s_stage_t *stage = &self->stages[origin];
    if (instances <= 0) {
        stage->low_since = stage->high_since = 0;
        return 0;
    }
    idle = s_queue_idle (self, idle, instances, queue);
    int64_t held = 0;
    int delta = s_mark (self, stage, idle, now_us, &held);
    if (!delta)
        return 0;
    if (delta > 0 ? instances >= max_instances : instances <= min_instances)
        return 0;
    if (stage->last_us && now_us - stage->last_us < self->cooldown_us)
        return 0;
    stage->last_us = now_us;
    stage->last_delta = delta;
    //  the next decision needs the mark to hold a whole window again
    stage->low_since = stage->high_since = 0;
    if (why)
        *why = (zsat_scale_decision_t){.delta = delta,
                                       .idle = idle,
                                       .instances = instances,
                                       .held_ms = held / 1000,
                                       .queued = queue ? queue->queued : 0,
                                       .low = self->low,
                                       .high = self->high};
    return delta;
}

//  --- selftest: a simulated stage whose instances follow the decisions ---

typedef struct {
    int decisions;
    int reversals;
    int last_delta;
    int64_t last_us;
    int64_t min_gap_us;
    int instances;
} s_sim_t;

//  Runs `seconds` of load where busy(t) workers are needed, one observation per second.
static void
s_simulate (zsat_scaler_t *scaler, s_sim_t *sim, int64_t start_us, int seconds,
            int (*busy) (int64_t t_s), int min, int max)
{
    for (int s = 0; s < seconds; s++) {
        int64_t now = start_us + (int64_t)s * 1000000;
        int64_t idle = sim->instances - busy (s);
        zsat_scale_decision_t why;
        int delta = zsat_scaler_observe (scaler, 1, idle < 0 ? 0 : idle, sim->instances, min, max,
                                         NULL, now, &why);
        if (!delta)
            continue;
        assert (why.delta == delta && why.held_ms >= 3000);
        if (sim->last_us && now - sim->last_us < sim->min_gap_us)
            sim->min_gap_us = now - sim->last_us;
        if (sim->last_delta && delta != sim->last_delta)
            sim->reversals++;
        sim->last_delta = delta;
        sim->last_us = now;
        sim->decisions++;
        sim->instances += delta;
        assert (sim->instances >= min && sim->instances <= max);
    }
}

static int
s_square_fast (int64_t t)
{
    return (t / 2) % 2 ? 4 : 0;  //  2 s high, 2 s low: shorter than the 3 s window
}

static int
s_square_slow (int64_t t)
{
    return (t / 8) % 2 ? 6 : 0;  //  8 s up, 8 s down: longer than the window
}

static int
s_heavy (int64_t t)
{
    return 100;
}

static int
s_none (int64_t t)
{
    return 0;
}

//  The retry storm of an overload: three workers busy, but their busy time reads 0 (every
//  END belongs to a superseded attempt) while the queue grows. Never one fewer while the
//  queue grows or holds more than a vector per instance; more while it grows; one fewer
//  only once it drained.
static void
s_test_queue (const zsat_tracker_policy_t *policy)
{
    zsat_scaler_t *scaler = zsat_scaler_new (policy);
    int64_t t = 1000000000;
    int instances = 3, ups = 0, downs = 0;
    zsat_scale_queue_t queue = {.queued = 10, .growth = 1.5};
    for (int s = 0; s < 60; s++, t += 1000000) {
        int delta = zsat_scaler_observe (scaler, 1, instances, instances, 2, 4, &queue, t, NULL);
        ups += delta > 0;
        downs += delta < 0;
        instances += delta;
        queue.queued += 2;
    }
    assert (ups == 1 && downs == 0 && instances == 4);
    //  draining (not growing) but still queued: nothing goes
    queue.growth = -2;
    for (int s = 0; s < 60; s++, t += 1000000)
        assert (zsat_scaler_observe (scaler, 1, 4, 4, 2, 4, &queue, t, NULL) == 0);
    //  drained: idle above the high mark for a whole cool-down (a reversal) gives one fewer
    queue = (zsat_scale_queue_t){.queued = 0, .growth = 0};
    int64_t first = 0;
    for (int s = 0; s < 30 && !first; s++, t += 1000000)
        if (zsat_scaler_observe (scaler, 1, 4, 4, 2, 4, &queue, t, NULL) == -1)
            first = s;
    assert (first >= 9 && first <= 11);
    zsat_scaler_destroy (&scaler);
}

void
zsat_scaler_test (bool verbose)
{
    printf (" * zsat_scaler: ");
    zsat_tracker_policy_t policy = {
        .scale_low = 1, .scale_high = 3, .scale_window_ms = 3000, .scale_cooldown_ms = 10000};
    //  a square wave faster than the window: never a decision
    zsat_scaler_t *scaler = zsat_scaler_new (&policy);
    s_sim_t sim = {.instances = 2, .min_gap_us = INT64_MAX};
    s_simulate (scaler, &sim, 1000000000, 600, s_square_fast, 1, 8);
    assert (sim.decisions == 0);
    zsat_scaler_destroy (&scaler);
    //  a slow square wave: follows the peaks up, never flaps back and forth
    scaler = zsat_scaler_new (&policy);
    sim = (s_sim_t){.instances = 2, .min_gap_us = INT64_MAX};
    s_simulate (scaler, &sim, 1000000000, 600, s_square_slow, 1, 8);
    assert (sim.decisions >= 1 && sim.reversals == 0 && sim.instances == 7);
    assert (sim.min_gap_us >= 10000000);
    zsat_scaler_destroy (&scaler);
    //  sustained load: up to max, a cool-down apart; then no load: down to min
    scaler = zsat_scaler_new (&policy);
    sim = (s_sim_t){.instances = 1, .min_gap_us = INT64_MAX};
    s_simulate (scaler, &sim, 1000000000, 200, s_heavy, 1, 5);
    assert (sim.instances == 5 && sim.decisions == 4 && sim.min_gap_us >= 10000000);
    s_simulate (scaler, &sim, 1200000000, 200, s_none, 1, 5);
    //  idle 3 is inside the band (not above high): it stops there
    assert (sim.instances == 3 && sim.decisions == 6 && sim.reversals == 1);
    //  at the minimum already: idle workers above the mark change nothing
    sim = (s_sim_t){.instances = 5, .min_gap_us = INT64_MAX};
    s_simulate (scaler, &sim, 1500000000, 100, s_none, 5, 5);
    assert (sim.decisions == 0);
    //  no live instance: nothing to scale
    assert (zsat_scaler_observe (scaler, 2, 0, 0, 0, 5, NULL, 2000000000, NULL) == 0);
    assert (zsat_scaler_observe (scaler, 2, 0, 0, 0, 5, NULL, 2100000000, NULL) == 0);
    assert (zsat_scaler_observe (scaler, 9999, 0, 1, 0, 5, NULL, 2100000000, NULL) == 0);
    zsat_scaler_destroy (&scaler);
    zsat_scaler_destroy (&scaler);
    s_test_queue (&policy);
    printf ("OK\n");
}
