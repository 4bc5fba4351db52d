/*  zsat_scheduler - the job clock and the scheduler actor. The clock holds the schedules
    (type, hosts, every) and says which tick is due at a given monotonic time: the n-th
    deadline is start + n * every, never "sleep every", so ticks do not drift; a tick whose
    deadline passed by a whole interval or more is skipped and counted (DSAT lost one job a
    day by sleeping). The actor publishes one INIT vector per host on each tick.
*/
#ifndef ZSAT_SCHEDULER_H_INCLUDED
#define ZSAT_SCHEDULER_H_INCLUDED
#include "zsat.h"

#define ZSAT_SCHEDULES_MAX 256

typedef struct zsat_scheduler_t zsat_scheduler_t;

//  Creates an empty clock whose ticks count from start_ms (monotonic milliseconds).
zsat_scheduler_t *zsat_scheduler_new (int64_t start_ms);
void zsat_scheduler_destroy (zsat_scheduler_t **self_p);
//  Adds a schedule of type every every_ms (> 0); the caller keeps its hosts (one tick = one
//  job for every host). Returns its index, or -1 when full or invalid.
int zsat_scheduler_add (zsat_scheduler_t *self, const char *type, int64_t every_ms);
size_t zsat_scheduler_size (zsat_scheduler_t *self);
const char *zsat_scheduler_type (zsat_scheduler_t *self, size_t index);
//  Returns the n-th deadline of schedule index: start + n * every (ms, monotonic).
int64_t zsat_scheduler_deadline (zsat_scheduler_t *self, size_t index, uint64_t n);
//  Returns the earliest next deadline over every schedule (INT64_MAX when there is none).
int64_t zsat_scheduler_next (zsat_scheduler_t *self);
//  Returns the index of a schedule due at now and sets *tick to the tick to publish (the
//  latest whose deadline passed), skipping and counting older unpublished ticks; -1 when
//  none is due. Call until -1.
int zsat_scheduler_due (zsat_scheduler_t *self, int64_t now, uint64_t *tick);
//  Ticks skipped because they were late by a whole interval or more.
uint64_t zsat_scheduler_missed (zsat_scheduler_t *self);

//  The actor (args = zsat_node_args_t *): PUB "jobs", PUSH "events". "STATS" -> JSON.
void zsat_scheduler_actor (zsock_t *pipe, void *args);

#endif
