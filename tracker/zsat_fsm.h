/*  zsat_fsm - the tracker's task state machine: one table of rows (state, event -> ordered
    actions, next state), a small interpreter over it, and the engine its actions run on
    (task table, deadline wheel, stats). The table is the only place task states change.
    zsat_fsm_print_dot draws the table (docs/tracker-fsm.dot is generated from it).
    The clock is passed in; published messages go to an emit callback. No sockets.
*/
#ifndef ZSAT_FSM_H_INCLUDED
#define ZSAT_FSM_H_INCLUDED
#include "zsat.h"
#include "zsat_jsonw.h"
#include "zsat_stats.h"
#include "zsat_tasks.h"

//  Task states.
typedef enum {
    ZSAT_TS_NONE,       //  not in the table
    ZSAT_TS_CREATED,    //  INIT or BOUNCE seen: a job exists
    ZSAT_TS_ACKED,      //  a stage took the vector
    ZSAT_TS_SENT,       //  the orchester pushed it to a stage
    ZSAT_TS_RUNNING,    //  a stage began working on it
    ZSAT_TS_FORWARDED,  //  a stage ended and forwarded it
    ZSAT_TS_BACKOFF,    //  failed at a stage: RESEND waits for the backoff
    ZSAT_TS_RESENT,     //  RESEND published: waiting for the orchester's new attempt
    ZSAT_TS_STORED,     //  parked in a replay buffer: waits its retention for the consumer
    ZSAT_TS_DONE,       //  HAPPY_END (kept a while for late events and trace)
    ZSAT_TS_FAILED,     //  FAILURE published (kept a while too)
    ZSAT_TS_COUNT,
    ZSAT_TS_ANY = 0xfe,   //  table only: a row for every state without its own
    ZSAT_TS_SAME = 0xff,  //  table only: stay in the current state
} zsat_task_state_t;

//  Internal events, numbered after zsat.h's so both fit one byte and never collide.
#define ZSAT_FSM_EV_DEADLINE      32  //  the task's deadline passed at the tracker
#define ZSAT_FSM_EV_BACKOFF_DONE  33  //  backoff over: time to publish RESEND
#define ZSAT_FSM_EV_EXHAUSTED     34  //  no retry left
#define ZSAT_FSM_EV_TOO_MANY_HOPS 35  //  seq above max_seq
#define ZSAT_FSM_EV_STALE         36  //  event of an attempt older than the current one
#define ZSAT_FSM_EV_EVICT         37  //  the table is full: the oldest task goes
#define ZSAT_FSM_EV_EXPIRE        38  //  a finished task's retention is over
#define ZSAT_FSM_EV_REFUSED       39  //  the table is full and the policy refuses new tasks
#define ZSAT_FSM_EV_BRANCH_END    40  //  one branch of a fan-out ended, others are still open
#define ZSAT_FSM_EV_UPSTREAM      41  //  a STORED task's event from before the buffer (lower seq)
#define ZSAT_FSM_EV_ALL_ENDED     42  //  a fork reported after all its branches had ended
#define ZSAT_FSM_EV_LAST          42
#define ZSAT_FSM_EV_ANY           0xff  //  table only: every event without its own row

//  How long a finished task stays for late events and `zsat trace`.
#define ZSAT_FSM_RETAIN_US 30000000
//  Deadline wheel granularity.
#define ZSAT_FSM_TICK_US 10000

typedef struct zsat_fsm_t zsat_fsm_t;

//  Receives each message to publish on the state feed: topic and JSON body.
typedef void (zsat_fsm_emit_fn) (const char *topic, const char *json, void *arg);
//  Receives each outcome of a stage (ok: it ended a vector; not ok: error or timeout).
typedef void (zsat_fsm_outcome_fn) (uint16_t origin, bool ok, int64_t now_us, void *arg);

//  Creates the engine with policy and stats (both borrowed: they outlive the engine); its
//  task table holds policy->max_tasks. Returns NULL on a policy out of range or short memory.
zsat_fsm_t *zsat_fsm_new (const zsat_tracker_policy_t *policy, zsat_stats_t *stats, int64_t now_us);
void zsat_fsm_destroy (zsat_fsm_t **self_p);
void zsat_fsm_set_emit (zsat_fsm_t *self, zsat_fsm_emit_fn *fn, void *arg);
//  The time of day minus the clock passed to the engine: added to the times it shows
//  (trace, FAILURE history), which are all on that one clock. Default 0.
void zsat_fsm_set_wall_offset (zsat_fsm_t *self, int64_t offset_us);
void zsat_fsm_set_outcome (zsat_fsm_t *self, zsat_fsm_outcome_fn *fn, void *arg);
//  Runs one record reported by the stage `origin` (zsat_stats_source) through the table.
//  Node-level records (HEARTBEAT, ALERT, SCALE, unknown numbers) are not task events: ignored.
void zsat_fsm_on_record (zsat_fsm_t *self, uint16_t origin, const zsat_event_rec_t *rec,
                         int64_t now_us);
//  Fires the deadlines due by now_us. Returns how many fired.
size_t zsat_fsm_expire (zsat_fsm_t *self, int64_t now_us);
//  When zsat_fsm_expire may next have work: at or before the next deadline, capped at limit_us.
int64_t zsat_fsm_next_us (zsat_fsm_t *self, int64_t limit_us);
//  Writes the task's timeline as JSON members of an open object. Returns 0, or -1 when the
//  task is not (or no longer) retained.
int zsat_fsm_trace (zsat_fsm_t *self, uint64_t task_id, zsat_jsonw_t *json);
//  The task, borrowed until the next call on the engine, or NULL when it is not retained.
const zsat_task_t *zsat_fsm_find (zsat_fsm_t *self, uint64_t task_id);
//  The task's state, ZSAT_TS_NONE when it is not in the table.
int zsat_fsm_task_state (zsat_fsm_t *self, uint64_t task_id);
//  Tasks in the table (live and retained finished), and its capacity.
size_t zsat_fsm_size (zsat_fsm_t *self);
size_t zsat_fsm_live (zsat_fsm_t *self);
size_t zsat_fsm_capacity (zsat_fsm_t *self);
//  Bytes preallocated for tasks (table, index, wheel).
size_t zsat_fsm_footprint (zsat_fsm_t *self);

const char *zsat_fsm_state_name (int state);
//  Name of a zsat.h event or an internal one ("DEADLINE"), "?" when unknown.
const char *zsat_fsm_event_name (int event);
//  Prints the table as a Graphviz digraph. Returns 0, or -1 on a write error.
int zsat_fsm_print_dot (FILE *out);

void zsat_fsm_test (bool verbose);

#endif
