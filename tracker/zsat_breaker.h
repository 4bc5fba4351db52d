/*  zsat_breaker - a circuit breaker per stage (node name). Closed: outcomes are counted in
    a sliding window; when at least min_tasks ended in the window and the failure ratio
    reaches the threshold, it opens (the orchester stops routing to the stage). After the
    cool-down it half-opens: one probe task may go; its success closes the breaker, its
    failure (or no outcome within another cool-down) opens it again.
    The clock is passed in; state changes go to a callback. No sockets.
*/
#ifndef ZSAT_BREAKER_H_INCLUDED
#define ZSAT_BREAKER_H_INCLUDED
#include "zsat.h"

typedef enum {
    ZSAT_BREAKER_CLOSED,
    ZSAT_BREAKER_OPEN,
    ZSAT_BREAKER_HALF_OPEN
} zsat_breaker_state_t;

//  What a state change reports: the numbers of the window that caused it.
typedef struct {
    const char *stage;
    int state;  //  zsat_breaker_state_t, the new one
    uint64_t failures;
    uint64_t tasks;
    double ratio;
} zsat_breaker_change_t;

typedef void (zsat_breaker_fn) (const zsat_breaker_change_t *change, void *arg);

typedef struct zsat_breaker_t zsat_breaker_t;

//  Creates breakers with the policy's threshold, minimum, window and cool-down (copied);
//  fn receives every state change. NULL on short memory.
zsat_breaker_t *zsat_breaker_new (const zsat_tracker_policy_t *policy, zsat_breaker_fn *fn,
                                  void *arg);
void zsat_breaker_destroy (zsat_breaker_t **self_p);
//  Counts one outcome of a task at stage (ok: ended, else error or timeout).
void zsat_breaker_outcome (zsat_breaker_t *self, const char *stage, bool ok, int64_t now_us);
//  Lets time pass: open breakers whose cool-down is over half-open, unanswered probes reopen.
void zsat_breaker_tick (zsat_breaker_t *self, int64_t now_us);
//  True while some stage's breaker is not CLOSED (zsat_breaker_tick has timed work).
bool zsat_breaker_busy (zsat_breaker_t *self);
//  The stage's state (CLOSED for a stage never seen).
int zsat_breaker_state (zsat_breaker_t *self, const char *stage);
const char *zsat_breaker_state_name (int state);

void zsat_breaker_test (bool verbose);

#endif
