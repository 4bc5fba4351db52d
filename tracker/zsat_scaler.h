/*  zsat_scaler - autoscaling decisions per stage, from idle workers over time (DSAT's rule,
    finished): idle below the policy's low mark for a whole window asks for one more
    instance, above the high mark for a whole window one fewer, within the node's min/max,
    never two decisions of a stage closer than the cool-down, and a reversal of direction
    only when the opposite mark held for a whole cool-down, so a square-wave load cannot
    make it oscillate. A growing queue in front of the stage means no worker is idle; a
    queue not drained forbids scaling down.
    The clock is passed in. No sockets: the tracker publishes the decisions.
*/
#ifndef ZSAT_SCALER_H_INCLUDED
#define ZSAT_SCALER_H_INCLUDED
#include "zsat.h"

//  The numbers behind one decision, published with it.
typedef struct {
    int delta;        //  +1, -1 (0: no decision)
    int64_t idle;     //  idle workers when decided
    int instances;    //  instances alive when decided
    int64_t held_ms;  //  how long the mark held
    int64_t queued;   //  vectors waiting in the stage's queue
    int low, high;    //  the marks
} zsat_scale_decision_t;

//  The queue in front of a stage (zsat_stats_queued, zsat_stats_queue_growth).
typedef struct {
    int64_t queued;  //  vectors sent to it and not taken yet
    double growth;   //  vectors per second it grew by lately (negative: drains)
} zsat_scale_queue_t;

typedef struct zsat_scaler_t zsat_scaler_t;

//  Creates a scaler with the policy's marks, window and cool-down (copied). NULL on
//  short memory.
zsat_scaler_t *zsat_scaler_new (const zsat_tracker_policy_t *policy);
void zsat_scaler_destroy (zsat_scaler_t **self_p);
//  Feeds one observation of stage `origin` (0..ZSAT_STATS_ORIGINS-1): idle workers and live
//  instances, the node's bounds, its queue (may be NULL). Returns +1 or -1 when a decision
//  is taken now (filled in *why when not NULL), else 0. Stages with no live instance are
//  never scaled. While the queue holds more than one vector per instance and grows, no
//  worker counts as idle; while it holds that many at all, never one fewer.
int zsat_scaler_observe (zsat_scaler_t *self, uint16_t origin, int64_t idle, int instances,
                         int min_instances, int max_instances, const zsat_scale_queue_t *queue,
                         int64_t now_us, zsat_scale_decision_t *why);

void zsat_scaler_test (bool verbose);

#endif
