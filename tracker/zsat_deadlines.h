/*  zsat_deadlines - a hashed timer wheel for up to `capacity` timers named by their index
    (the tracker uses the task's slot). Start, cancel and reschedule are O(1); expiry walks
    only the slots whose tick has passed. The clock is passed in (now_us), never read.
*/
#ifndef ZSAT_DEADLINES_H_INCLUDED
#define ZSAT_DEADLINES_H_INCLUDED
#include "zsat.h"

typedef struct zsat_deadlines_t zsat_deadlines_t;

//  Called for each expired timer. The callback may start, cancel or restart any timer,
//  itself included; a timer restarted at or before now fires at the next tick walked (in
//  this call or the next one), so an expire call always ends.
typedef void (zsat_deadline_fn) (uint32_t id, int64_t expiry_us, void *arg);

//  Creates a wheel of `slots` (rounded up to a power of two) ticks of tick_us, for timers
//  0..capacity-1, starting at now_us. Returns NULL when an argument is out of range.
zsat_deadlines_t *zsat_deadlines_new (uint32_t capacity, uint32_t slots, int64_t tick_us,
                                      int64_t now_us);
void zsat_deadlines_destroy (zsat_deadlines_t **self_p);
//  Starts (or restarts) timer id to fire at expiry_us. Returns 0, or -1 when id is out of range.
int zsat_deadlines_start (zsat_deadlines_t *self, uint32_t id, int64_t expiry_us);
//  Stops timer id if it runs; a no-op otherwise.
void zsat_deadlines_cancel (zsat_deadlines_t *self, uint32_t id);
//  Returns true when timer id runs, and its expiry in *expiry_us (may be NULL).
bool zsat_deadlines_active (zsat_deadlines_t *self, uint32_t id, int64_t *expiry_us);
//  Fires every timer due at or before now_us, in tick order. Returns how many fired.
size_t zsat_deadlines_expire (zsat_deadlines_t *self, int64_t now_us, zsat_deadline_fn *fn,
                              void *arg);
//  The start of the first tick at or after the next one to walk whose slot holds a timer, if
//  it is before limit_us; else limit_us. Never later than the next expiry (a slot may also
//  hold timers of later turns), so sleeping until then misses no deadline. Walks at most
//  (limit_us - now) / tick_us slots, and at most one turn.
int64_t zsat_deadlines_next_us (zsat_deadlines_t *self, int64_t limit_us);
//  Timers running.
size_t zsat_deadlines_size (zsat_deadlines_t *self);
//  Bytes the wheel allocated (for the bench and docs).
size_t zsat_deadlines_footprint (zsat_deadlines_t *self);

void zsat_deadlines_test (bool verbose);

#endif
