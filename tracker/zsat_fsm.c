/*  zsat_fsm - the tracker's task state machine and the engine its actions run on.

    The table below is the single source of truth for task states: each row reads
    "in STATE, on EVENT: do these actions in order, then go to NEXT". A row with state ANY
    applies to every state without a row of its own for that event; a row with event ANY
    catches every other event of its state. An action may raise an event (a full table
    refuses a task, a task out of retries): the interpreter then drops the rest of the row
    and handles the raised event from the same state, as malamute's FSMs do.

    Lookup order: (state, event), (state, ANY), (ANY, event); none means the event was not
    expected in that state: counted and ignored, so a hostile or confused peer can never
    move a task where the table does not say.

    Before lookup, a record from an attempt older than the task's current one becomes
    STALE, and one bounced more than max_seq becomes TOO_MANY_HOPS. Each task has one timer
    (its slot in the wheel); what it means follows from the state (s_timer_event).
    Owns no socket: messages to publish go to the emit callback.
*/
#include "zsat_fsm.h"
#include "zsat_datadir.h"
#include "zsat_deadlines.h"
#include <inttypes.h>
#include <pthread.h>

struct zsat_fsm_t {
    const zsat_tracker_policy_t *policy;
    zsat_stats_t *stats;
    zsat_tasks_t *tasks;
    zsat_deadlines_t *wheel;
    zsat_jsonw_t *json;
    zsat_fsm_emit_fn *emit;
    void *emit_arg;
    zsat_fsm_outcome_fn *outcome;
    void *outcome_arg;
    int64_t stage_timeout_us[ZSAT_STATS_ORIGINS];  //  0 = not looked up yet
    int64_t wall_offset_us;  //  time of day - the clock passed in, for the times shown
};

//  What one dispatch works on.
typedef struct {
    zsat_task_t *task;            //  NULL while the task is not in the table
    const zsat_event_rec_t *rec;  //  NULL for internal events
    uint16_t origin;              //  stage that reported the record, else the task's stage
    int event;                    //  event of the row being run
    int64_t now_us;
    char reason[256];  //  why the task fails, set by the action that decides it
} s_ctx_t;

typedef int (s_action_fn) (zsat_fsm_t *self, s_ctx_t *ctx);

typedef enum {
    A_NONE,
    A_CREATE_TASK,
    A_RECORD_EVENT,
    A_NOTE_HOME,
    A_COUNT_SIBLING,
    A_NOTE_BEGIN,
    A_COUNT_BRANCHES,
    A_CLOSE_BRANCH,
    A_PARK,
    A_NOTE_RETENTION_PASSED,
    A_RESTART_DEADLINE,
    A_MEASURE_STAGE_LATENCY,
    A_MEASURE_TASK_LATENCY,
    A_COUNT_STAGE_SUCCESS,
    A_COUNT_STAGE_FAILURE,
    A_COUNT_TIMEOUT,
    A_COUNT_HAPPY_END,
    A_CHECK_RETRY_BUDGET,
    A_SCHEDULE_RESEND,
    A_PUBLISH_RESEND,
    A_WAIT_FOR_RESEND,
    A_PUBLISH_FAILURE,
    A_FINISH_TASK,
    A_FORGET_TASK,
    A_COUNT_UNTRACKED,
    A_COUNT_LATE,
    A_COUNT_EVICTED,
    A_COUNT_REFUSED,
    A_COUNT
} s_action_t;

#define ROW_ACTIONS 7
typedef struct {
    uint8_t state;
    uint8_t event;
    uint8_t actions[ROW_ACTIONS];
    uint8_t next;
} s_row_t;

#define ROW(state, event, next, ...)                                                               \
    {                                                                                              \
        ZSAT_TS_##state, event, {__VA_ARGS__}, ZSAT_TS_##next                                      \
    }
#define E(name)  ZSAT_EV_##name
#define IE(name) ZSAT_FSM_EV_##name

//  Task flags of the tracker's own, above the wire flags it keeps (CRITICAL, PROBE): the
//  task began with an INIT (a source or the scheduler made it), and an orchester sent it
//  (its SEND, or a record of a vector with the ROUTED flag), so that orchester can re-send it.
//  A task that forked (fan-out) has branches on different attempts: a sibling's event of an
//  older attempt is no straggler.
#define S_TASK_FORKED 0x10u
//  Branch ends seen before their fork's END (the tracker reads nodes' batches fair-queued,
//  so a fast branch can overtake the END of the stage that forked): two bits, 0..3.
#define S_TASK_EARLY_LO        0x02u
#define S_TASK_EARLY_HI        0x08u
#define S_TASK_BEGAN_WITH_INIT 0x20u
#define S_TASK_ROUTED          0x40u

//  THE TABLE.
static const s_row_t s_table[] = {
    //  A task enters the table with its first event, whichever it is (the tracker may have
    //  restarted, or missed the INIT); a table full under the refuse policy raises REFUSED.
    ROW (NONE, E (INIT), CREATED, A_CREATE_TASK, A_RECORD_EVENT, A_RESTART_DEADLINE),
    ROW (NONE, E (BOUNCE), CREATED, A_CREATE_TASK, A_RECORD_EVENT, A_RESTART_DEADLINE),
    ROW (NONE, E (ACK), ACKED, A_CREATE_TASK, A_RECORD_EVENT, A_RESTART_DEADLINE),
    ROW (NONE, E (SEND), SENT, A_CREATE_TASK, A_RECORD_EVENT, A_NOTE_HOME, A_RESTART_DEADLINE),
    ROW (NONE, E (BEGIN), RUNNING, A_CREATE_TASK, A_RECORD_EVENT, A_NOTE_BEGIN, A_RESTART_DEADLINE),
    ROW (NONE, E (END), FORWARDED, A_CREATE_TASK, A_RECORD_EVENT, A_RESTART_DEADLINE),
    ROW (NONE, E (PROPAGATE), FORWARDED, A_CREATE_TASK, A_RECORD_EVENT, A_RESTART_DEADLINE),
    ROW (NONE, E (RETRY), RUNNING, A_CREATE_TASK, A_RECORD_EVENT, A_RESTART_DEADLINE),
    ROW (NONE, E (ERROR), BACKOFF, A_CREATE_TASK, A_RECORD_EVENT, A_COUNT_STAGE_FAILURE,
         A_CHECK_RETRY_BUDGET, A_SCHEDULE_RESEND),
    ROW (NONE, E (TIMEOUT), BACKOFF, A_CREATE_TASK, A_RECORD_EVENT, A_COUNT_STAGE_FAILURE,
         A_CHECK_RETRY_BUDGET, A_SCHEDULE_RESEND),
    ROW (NONE, E (O_TIMEOUT), BACKOFF, A_CREATE_TASK, A_RECORD_EVENT, A_COUNT_STAGE_FAILURE,
         A_CHECK_RETRY_BUDGET, A_SCHEDULE_RESEND),
    ROW (NONE, IE (EXHAUSTED), FAILED, A_PUBLISH_FAILURE, A_FINISH_TASK),
    ROW (NONE, IE (TOO_MANY_HOPS), FAILED, A_CREATE_TASK, A_RECORD_EVENT, A_PUBLISH_FAILURE,
         A_FINISH_TASK),
    //  Ends of tasks the table does not hold are still published: nothing ends silently.
    ROW (NONE, E (FAILURE), NONE, A_COUNT_UNTRACKED, A_PUBLISH_FAILURE),
    ROW (NONE, E (DEAD_LETTER), NONE, A_COUNT_UNTRACKED, A_PUBLISH_FAILURE),
    ROW (NONE, IE (REFUSED), NONE, A_COUNT_REFUSED),
    ROW (NONE, IE (ANY), NONE, A_COUNT_UNTRACKED),

    //  A task in flight: every event moves the deadline of the stage that reported it.
    ROW (ANY, E (INIT), CREATED, A_RECORD_EVENT, A_RESTART_DEADLINE),
    ROW (ANY, E (BOUNCE), CREATED, A_RECORD_EVENT, A_RESTART_DEADLINE),
    ROW (ANY, E (ACK), ACKED, A_RECORD_EVENT, A_RESTART_DEADLINE),
    //  An orchester's fan-out reports one SEND per node: each after the first is a branch.
    ROW (ANY, E (SEND), SENT, A_COUNT_SIBLING, A_RECORD_EVENT, A_NOTE_HOME, A_RESTART_DEADLINE),
    ROW (ANY, E (BEGIN), RUNNING, A_RECORD_EVENT, A_NOTE_BEGIN, A_RESTART_DEADLINE),
    ROW (ANY, E (END), FORWARDED, A_RECORD_EVENT, A_MEASURE_STAGE_LATENCY, A_COUNT_STAGE_SUCCESS,
         A_COUNT_BRANCHES, A_RESTART_DEADLINE),
    ROW (ANY, E (PROPAGATE), SAME, A_RECORD_EVENT, A_RESTART_DEADLINE),
    ROW (ANY, E (RETRY), SAME, A_RECORD_EVENT, A_RESTART_DEADLINE),
    //  A task is DONE when its last open branch ends; an earlier branch's end raises
    //  BRANCH_END and the task waits for the others.
    ROW (ANY, E (HAPPY_END), DONE, A_RECORD_EVENT, A_MEASURE_STAGE_LATENCY, A_COUNT_STAGE_SUCCESS,
         A_CLOSE_BRANCH, A_MEASURE_TASK_LATENCY, A_COUNT_HAPPY_END, A_FINISH_TASK),
    ROW (ANY, IE (BRANCH_END), SAME, A_RESTART_DEADLINE),
    ROW (ANY, IE (ALL_ENDED), DONE, A_COUNT_HAPPY_END, A_FINISH_TASK),
    //  Failures at a stage retry with backoff until max_retry; then EXHAUSTED.
    ROW (ANY, E (ERROR), BACKOFF, A_RECORD_EVENT, A_COUNT_STAGE_FAILURE, A_CHECK_RETRY_BUDGET,
         A_SCHEDULE_RESEND),
    ROW (ANY, E (TIMEOUT), BACKOFF, A_RECORD_EVENT, A_COUNT_STAGE_FAILURE, A_CHECK_RETRY_BUDGET,
         A_SCHEDULE_RESEND),
    ROW (ANY, E (O_TIMEOUT), BACKOFF, A_RECORD_EVENT, A_COUNT_STAGE_FAILURE, A_CHECK_RETRY_BUDGET,
         A_SCHEDULE_RESEND),
    //  A deadline counts against the stage only while the task is at it (taken or begun);
    //  in transit (sent, forwarded, resent) the stage that should have taken it is unknown.
    ROW (ANY, IE (DEADLINE), BACKOFF, A_RECORD_EVENT, A_COUNT_TIMEOUT, A_CHECK_RETRY_BUDGET,
         A_SCHEDULE_RESEND),
    ROW (ACKED, IE (DEADLINE), BACKOFF, A_RECORD_EVENT, A_COUNT_TIMEOUT, A_COUNT_STAGE_FAILURE,
         A_CHECK_RETRY_BUDGET, A_SCHEDULE_RESEND),
    ROW (RUNNING, IE (DEADLINE), BACKOFF, A_RECORD_EVENT, A_COUNT_TIMEOUT, A_COUNT_STAGE_FAILURE,
         A_CHECK_RETRY_BUDGET, A_SCHEDULE_RESEND),
    ROW (ANY, IE (EXHAUSTED), FAILED, A_PUBLISH_FAILURE, A_FINISH_TASK),
    ROW (ANY, IE (TOO_MANY_HOPS), FAILED, A_RECORD_EVENT, A_PUBLISH_FAILURE, A_FINISH_TASK),
    ROW (ANY, E (FAILURE), FAILED, A_RECORD_EVENT, A_PUBLISH_FAILURE, A_FINISH_TASK),
    ROW (ANY, E (DEAD_LETTER), FAILED, A_RECORD_EVENT, A_PUBLISH_FAILURE, A_FINISH_TASK),
    ROW (ANY, IE (STALE), SAME, A_COUNT_LATE),
    ROW (ANY, IE (EVICT), NONE, A_COUNT_EVICTED, A_PUBLISH_FAILURE, A_FORGET_TASK),

    //  A replay buffer stored the task: it waits there for its consumer as long as the
    //  channel's retention, not a stage's deadline; the events of the producer that arrive
    //  after it (lower seq: UPSTREAM) leave it parked; the consumer's events move it on.
    ROW (NONE, E (STORED), STORED, A_CREATE_TASK, A_RECORD_EVENT, A_PARK),
    ROW (ANY, E (STORED), STORED, A_RECORD_EVENT, A_PARK),
    ROW (STORED, IE (UPSTREAM), SAME, A_RECORD_EVENT),
    ROW (STORED, IE (DEADLINE), FAILED, A_RECORD_EVENT, A_COUNT_TIMEOUT, A_NOTE_RETENTION_PASSED,
         A_PUBLISH_FAILURE, A_FINISH_TASK),

    //  Waiting for the backoff: the failed attempt's other events change nothing, but a
    //  branch that ends is one branch fewer (and the last one ending means the work is done).
    ROW (BACKOFF, IE (BACKOFF_DONE), RESENT, A_PUBLISH_RESEND, A_WAIT_FOR_RESEND),
    ROW (BACKOFF, E (HAPPY_END), DONE, A_RECORD_EVENT, A_MEASURE_STAGE_LATENCY,
         A_COUNT_STAGE_SUCCESS, A_CLOSE_BRANCH, A_MEASURE_TASK_LATENCY, A_COUNT_HAPPY_END,
         A_FINISH_TASK),
    ROW (BACKOFF, IE (BRANCH_END), SAME, A_NONE),
    ROW (BACKOFF, E (END), SAME, A_RECORD_EVENT, A_COUNT_BRANCHES),
    ROW (BACKOFF, IE (EVICT), NONE, A_COUNT_EVICTED, A_PUBLISH_FAILURE, A_FORGET_TASK),
    ROW (BACKOFF, IE (ANY), SAME, A_COUNT_LATE),

    //  Finished tasks stay a while so late events (fan-out, duplicates) are recognised.
    ROW (DONE, IE (EXPIRE), NONE, A_FORGET_TASK),
    ROW (DONE, IE (EVICT), NONE, A_FORGET_TASK),
    ROW (DONE, IE (ANY), SAME, A_COUNT_LATE),
    ROW (FAILED, IE (EXPIRE), NONE, A_FORGET_TASK),
    ROW (FAILED, IE (EVICT), NONE, A_FORGET_TASK),
    ROW (FAILED, IE (ANY), SAME, A_COUNT_LATE),
};
#define TABLE_ROWS (sizeof s_table / sizeof s_table[0])

//  The event a task's timer raises, by state.
static const uint8_t s_timer_event[ZSAT_TS_COUNT] = {
    [ZSAT_TS_NONE] = 0,
    [ZSAT_TS_CREATED] = IE (DEADLINE),
    [ZSAT_TS_ACKED] = IE (DEADLINE),
    [ZSAT_TS_SENT] = IE (DEADLINE),
    [ZSAT_TS_RUNNING] = IE (DEADLINE),
    [ZSAT_TS_FORWARDED] = IE (DEADLINE),
    [ZSAT_TS_BACKOFF] = IE (BACKOFF_DONE),
    [ZSAT_TS_RESENT] = IE (DEADLINE),
    [ZSAT_TS_STORED] = IE (DEADLINE),
    [ZSAT_TS_DONE] = IE (EXPIRE),
    [ZSAT_TS_FAILED] = IE (EXPIRE),
};

static const char *s_state_names[ZSAT_TS_COUNT] = {"NONE",    "CREATED",   "ACKED",   "SENT",
                                                   "RUNNING", "FORWARDED", "BACKOFF", "RESENT",
                                                   "STORED",  "DONE",      "FAILED"};
static const char *s_internal_names[] = {"DEADLINE",   "BACKOFF_DONE", "EXHAUSTED", "TOO_MANY_HOPS",
                                         "STALE",      "EVICT",        "EXPIRE",    "REFUSED",
                                         "BRANCH_END", "UPSTREAM",     "ALL_ENDED"};

const char *
zsat_fsm_state_name (int state)
{
    if (state == ZSAT_TS_ANY)
        return "ANY";
    if (state == ZSAT_TS_SAME)
        return "SAME";
    return state >= 0 && state < ZSAT_TS_COUNT ? s_state_names[state] : "?";
}

const char *
zsat_fsm_event_name (int event)
{
    if (event == ZSAT_FSM_EV_ANY)
        return "ANY";
    if (event >= ZSAT_FSM_EV_DEADLINE && event <= ZSAT_FSM_EV_LAST)
        return s_internal_names[event - ZSAT_FSM_EV_DEADLINE];
    return zsat_event_name (event);
}

//  Row lookup by (state, event), built once from the table.
#define EVENTS (ZSAT_FSM_EV_LAST + 1)
static int16_t s_lookup[ZSAT_TS_COUNT][EVENTS];
static pthread_once_t s_lookup_once = PTHREAD_ONCE_INIT;

static int
s_find_row (int state, int event)
{
    for (size_t r = 0; r < TABLE_ROWS; r++)
        if (s_table[r].state == state && s_table[r].event == event)
            return (int)r;
    return -1;
}

static void
s_build_lookup (void)
{
    for (int s = 0; s < ZSAT_TS_COUNT; s++)
        for (int e = 0; e < EVENTS; e++) {
            int row = s_find_row (s, e);
            if (row < 0)
                row = s_find_row (s, ZSAT_FSM_EV_ANY);
            if (row < 0)
                row = s_find_row (ZSAT_TS_ANY, e);
            s_lookup[s][e] = (int16_t)row;
        }
}

static const s_row_t *
s_row_for (int state, int event)
{
    if (state < 0 || state >= ZSAT_TS_COUNT || event < 0 || event >= EVENTS)
        return NULL;
    int row = s_lookup[state][event];
    return row < 0 ? NULL : &s_table[row];
}

//  --- the engine ---

static void s_dispatch (zsat_fsm_t *self, s_ctx_t *ctx, int event);

zsat_fsm_t *
zsat_fsm_new (const zsat_tracker_policy_t *policy, zsat_stats_t *stats, int64_t now_us)
{
    if (!policy || !stats || policy->max_tasks < 1 || policy->max_tasks > 100000000 ||
        policy->timeout_ms < 1 || policy->max_retry < 0 || policy->backoff_ms < 0)
        return NULL;
    pthread_once (&s_lookup_once, s_build_lookup);
    zsat_fsm_t *self = (zsat_fsm_t *)calloc (1, sizeof *self);
    if (!self)
        return NULL;
    self->policy = policy;
    self->stats = stats;
    self->tasks = zsat_tasks_new ((uint32_t)policy->max_tasks);
    self->wheel = zsat_deadlines_new ((uint32_t)policy->max_tasks, 4096, ZSAT_FSM_TICK_US, now_us);
    self->json = zsat_jsonw_new ();
    if (!self->tasks || !self->wheel || !self->json) {
        zsat_fsm_destroy (&self);
        return NULL;
    }
    return self;
}

void
zsat_fsm_destroy (zsat_fsm_t **self_p)
{
    if (self_p && *self_p) {
        zsat_fsm_t *self = *self_p;
        zsat_tasks_destroy (&self->tasks);
        zsat_deadlines_destroy (&self->wheel);
        zsat_jsonw_destroy (&self->json);
        free (self);
        *self_p = NULL;
    }
}

void
zsat_fsm_set_emit (zsat_fsm_t *self, zsat_fsm_emit_fn *fn, void *arg)
{
    self->emit = fn;
    self->emit_arg = arg;
}

void
zsat_fsm_set_wall_offset (zsat_fsm_t *self, int64_t offset_us)
{
    self->wall_offset_us = offset_us;
}

void
zsat_fsm_set_outcome (zsat_fsm_t *self, zsat_fsm_outcome_fn *fn, void *arg)
{
    self->outcome = fn;
    self->outcome_arg = arg;
}

static void
s_emit (zsat_fsm_t *self, const char *topic)
{
    if (self->emit)
        self->emit (topic, zsat_jsonw_text (self->json), self->emit_arg);
}

//  Deadline of a stage in us: its override in the policy, else the default; cached.
static int64_t
s_stage_timeout (zsat_fsm_t *self, uint16_t origin)
{
    if (origin < ZSAT_STATS_ORIGINS && self->stage_timeout_us[origin])
        return self->stage_timeout_us[origin];
    const char *node = zsat_stats_origin_node (self->stats, origin);
    int64_t ms = self->policy->timeout_ms;
    for (size_t i = 0; i < self->policy->stage_timeout_count; i++)
        if (streq (self->policy->stage_timeout_names[i], node))
            ms = self->policy->stage_timeout_ms[i];
    int64_t us = (ms > 0 ? ms : 1) * 1000;
    if (origin < ZSAT_STATS_ORIGINS)
        self->stage_timeout_us[origin] = us;
    return us;
}

static void
s_start_timer (zsat_fsm_t *self, zsat_task_t *task, int64_t at_us)
{
    zsat_deadlines_start (self->wheel, zsat_tasks_slot (self->tasks, task), at_us);
}

//  Frees one task for a new one: a finished task first (whatever the policy), else the
//  oldest live one unless the policy refuses. Returns false when nothing may go.
static bool
s_make_room (zsat_fsm_t *self, int64_t now_us)
{
    zsat_task_t *victim = zsat_tasks_oldest (self->tasks, true);
    int event = ZSAT_FSM_EV_EXPIRE;
    if (!victim) {
        if (self->policy->refuse_when_full)
            return false;
        victim = zsat_tasks_oldest (self->tasks, false);
        event = ZSAT_FSM_EV_EVICT;
    }
    if (!victim)
        return false;
    s_ctx_t ctx = {.task = victim, .origin = victim->origin, .now_us = now_us};
    s_dispatch (self, &ctx, event);
    return true;
}

//  --- actions: each returns 0, or an event to raise instead of finishing the row ---

static int
s_create_task (zsat_fsm_t *self, s_ctx_t *ctx)
{
    uint64_t task_id = ctx->rec->task_id;
    zsat_task_t *task = zsat_tasks_insert (self->tasks, task_id);
    if (!task && s_make_room (self, ctx->now_us))
        task = zsat_tasks_insert (self->tasks, task_id);
    if (!task)
        return ZSAT_FSM_EV_REFUSED;
    task->created_us = ctx->now_us;
    task->home = task->origin = ctx->origin;
    task->state = ZSAT_TS_NONE;
    if (ctx->rec->event == ZSAT_EV_INIT)
        task->flags |= S_TASK_BEGAN_WITH_INIT;
    ctx->task = task;
    return 0;
}

static int
s_record_event (zsat_fsm_t *self, s_ctx_t *ctx)
{
    zsat_task_t *task = ctx->task;
    const zsat_event_rec_t *rec = ctx->rec;
    if (!rec) {
        zsat_tasks_mark (task, ctx->event, ctx->now_us, task->retry, task->origin);
        return 0;
    }
    //  History times are the tracker's clock when the record arrived, as created_us is:
    //  emitters' clocks (rec->timestamp) are other clocks and never mixed in.
    zsat_tasks_mark (task, rec->event, ctx->now_us, rec->retry, ctx->origin);
    //  The task is "at" its open branches: one that ended does not move it there.
    if (!(rec->event == ZSAT_EV_HAPPY_END && task->forks > 0))
        task->origin = ctx->origin;
    if (rec->retry > task->retry)
        task->retry = rec->retry > 255 ? 255 : (uint8_t)rec->retry;
    if (rec->seq > task->seq)
        task->seq = rec->seq > UINT16_MAX ? UINT16_MAX : (uint16_t)rec->seq;
    if (rec->job_id)
        task->job_id = rec->job_id;
    if (!task->type && rec->type[0])
        task->type = zsat_stats_type (self->stats, rec->type);
    task->flags |= (uint8_t)(rec->flags & (ZSAT_FLAG_PROBE | ZSAT_FLAG_CRITICAL));
    //  The vector says an orchester routed it: its SEND may still be on the way.
    if (rec->flags & ZSAT_FLAG_ROUTED)
        task->flags |= S_TASK_ROUTED;
    return 0;
}

static int
s_note_home (zsat_fsm_t *self, s_ctx_t *ctx)
{
    ctx->task->home = ctx->origin;
    ctx->task->flags |= S_TASK_ROUTED;
    return 0;
}

//  A SEND right after a SEND of the same attempt is the orchester's fan-out to another node.
static void
s_fork (zsat_task_t *task, unsigned long more)
{
    task->flags |= S_TASK_FORKED;
    task->forks = task->forks + more > 255 ? 255 : (uint8_t)(task->forks + more);
}

static unsigned
s_early (const zsat_task_t *task)
{
    return ((task->flags & S_TASK_EARLY_LO) ? 1u : 0u) |
           ((task->flags & S_TASK_EARLY_HI) ? 2u : 0u);
}

static void
s_set_early (zsat_task_t *task, unsigned early)
{
    task->flags &= (uint8_t) ~(S_TASK_EARLY_LO | S_TASK_EARLY_HI);
    task->flags |=
        (uint8_t)(((early & 1) ? S_TASK_EARLY_LO : 0) | ((early & 2) ? S_TASK_EARLY_HI : 0));
}

static int
s_count_sibling (zsat_fsm_t *self, s_ctx_t *ctx)
{
    zsat_task_t *task = ctx->task;
    zsat_task_mark_t last;
    if ((task->flags & S_TASK_ROUTED) && zsat_tasks_last (task, &last) &&
        last.event == ZSAT_EV_SEND && last.retry == ctx->rec->retry && last.origin == ctx->origin)
        s_fork (task, 1);
    return 0;
}

//  END with detail "branches=N": the stage forwarded to N outputs, N - 1 more branches.
static int
s_count_branches (zsat_fsm_t *self, s_ctx_t *ctx)
{
    char detail[ZSAT_EVENT_DETAIL_MAX + 1];
    memcpy (detail, ctx->rec->detail, ZSAT_EVENT_DETAIL_MAX);
    detail[ZSAT_EVENT_DETAIL_MAX] = 0;
    unsigned long n = 0;
    if (strncmp (detail, "branches=", 9) == 0 && isdigit ((unsigned char)detail[9]))
        n = strtoul (detail + 9, NULL, 10);
    if (n < 2)
        return 0;
    unsigned long early = s_early (ctx->task);
    s_set_early (ctx->task, 0);
    if (early >= n)
        return ZSAT_FSM_EV_ALL_ENDED;
    s_fork (ctx->task, n - 1 - early);
    return 0;
}

//  The last open branch ends the task; an earlier one raises BRANCH_END, and so does the end
//  of a branch (flag FORKED) whose fork has not been reported yet: it is counted as early.
static int
s_close_branch (zsat_fsm_t *self, s_ctx_t *ctx)
{
    zsat_task_t *task = ctx->task;
    if (task->forks > 0) {
        task->forks--;
        return ZSAT_FSM_EV_BRANCH_END;
    }
    if (ctx->rec && (ctx->rec->flags & ZSAT_FLAG_FORKED) && !(task->flags & S_TASK_FORKED) &&
        s_early (task) < 3) {
        s_set_early (task, s_early (task) + 1);
        return ZSAT_FSM_EV_BRANCH_END;
    }
    return 0;
}

//  The deadline of a parked task: the retention the buffer reported ("retention_ms=N"),
//  bounded to 1 ms .. 30 days; the default 1 h when it said none.
static int
s_park (zsat_fsm_t *self, s_ctx_t *ctx)
{
    char detail[ZSAT_EVENT_DETAIL_MAX + 1];
    memcpy (detail, ctx->rec->detail, ZSAT_EVENT_DETAIL_MAX);
    detail[ZSAT_EVENT_DETAIL_MAX] = 0;
    int64_t ms = 3600000;
    const char *at = strstr (detail, "retention_ms=");
    if (at && isdigit ((unsigned char)at[13])) {
        unsigned long long value = strtoull (at + 13, NULL, 10);
        ms = value < 1 ? 1 : value > 30ULL * 86400000 ? 30LL * 86400000 : (int64_t)value;
    }
    s_start_timer (self, ctx->task, ctx->now_us + ms * 1000);
    return 0;
}

static int
s_note_retention_passed (zsat_fsm_t *self, s_ctx_t *ctx)
{
    snprintf (ctx->reason, sizeof ctx->reason,
              "retention passed: stored in a buffer, never delivered (last seen at %s@%s)",
              zsat_stats_origin_node (self->stats, ctx->task->origin),
              zsat_stats_origin_host (self->stats, ctx->task->origin));
    return 0;
}

static int
s_note_begin (zsat_fsm_t *self, s_ctx_t *ctx)
{
    ctx->task->stage_since_us = ctx->rec->timestamp;
    return 0;
}

//  The stage an orchester's SEND pushed the vector to (its detail names the node, on the
//  orchester's host), or 0 when it is not known.
static uint16_t
s_send_target (zsat_fsm_t *self, s_ctx_t *ctx)
{
    if (!ctx->rec || ctx->rec->event != ZSAT_EV_SEND)
        return 0;
    char node[ZSAT_NAME_MAX];
    size_t len = strnlen (ctx->rec->detail, ZSAT_EVENT_DETAIL_MAX);
    if (len == 0 || len >= sizeof node)
        return 0;
    memcpy (node, ctx->rec->detail, len);
    node[len] = 0;
    return zsat_stats_origin_find (self->stats, zsat_stats_origin_host (self->stats, ctx->origin),
                                   node);
}

//  A vector an orchester sent waits in its stage's queue before anyone reports it again:
//  its deadline is that stage's, plus twice the queue's expected wait (PUSH deals vectors
//  to the instances' own queues in turn, so they drain unevenly).
static int
s_restart_deadline (zsat_fsm_t *self, s_ctx_t *ctx)
{
    //  Batches of different nodes race: a source's INIT (seq 0) may come after the
    //  orchester's SEND (seq 1). An earlier hop's straggler does not move the deadline.
    if (ctx->rec && ctx->task && ctx->rec->seq < ctx->task->seq)
        return 0;
    uint16_t target = s_send_target (self, ctx);
    int64_t timeout = s_stage_timeout (self, target ? target : ctx->origin);
    if (target)
        timeout += 2 * zsat_stats_queue_wait_us (self->stats, target, ctx->now_us);
    s_start_timer (self, ctx->task, ctx->now_us + timeout);
    return 0;
}

//  later - earlier for peers' timestamps: saturates instead of overflowing.
static int64_t
s_span (int64_t later, int64_t earlier)
{
    int64_t span;
    if (__builtin_sub_overflow (later, earlier, &span))
        span = later > earlier ? INT64_MAX : INT64_MIN;
    return span;
}

static int
s_measure_stage_latency (zsat_fsm_t *self, s_ctx_t *ctx)
{
    zsat_task_t *task = ctx->task;
    if (task->stage_since_us) {
        zsat_stats_latency (self->stats, ctx->origin, ZSAT_LATENCY_STAGE,
                            s_span (ctx->rec->timestamp, task->stage_since_us), ctx->now_us);
        task->stage_since_us = 0;
    }
    return 0;
}

static int
s_measure_task_latency (zsat_fsm_t *self, s_ctx_t *ctx)
{
    //  first event -> HAPPY_END on the tracker's clock: they may come from different hosts
    zsat_stats_latency (self->stats, ctx->origin, ZSAT_LATENCY_TASK,
                        s_span (ctx->now_us, ctx->task->created_us), ctx->now_us);
    return 0;
}

static int
s_count_stage_success (zsat_fsm_t *self, s_ctx_t *ctx)
{
    if (self->outcome)
        self->outcome (ctx->origin, true, ctx->now_us, self->outcome_arg);
    return 0;
}

static int
s_count_stage_failure (zsat_fsm_t *self, s_ctx_t *ctx)
{
    if (self->outcome)
        self->outcome (ctx->task ? ctx->task->origin : ctx->origin, false, ctx->now_us,
                       self->outcome_arg);
    return 0;
}

static int
s_count_timeout (zsat_fsm_t *self, s_ctx_t *ctx)
{
    zsat_stats_add (self->stats, ctx->task->origin, ZSAT_STAT_TIMEOUTS, 1);
    return 0;
}

static int
s_count_happy_end (zsat_fsm_t *self, s_ctx_t *ctx)
{
    zsat_stats_global_add (self->stats, ZSAT_GLOBAL_HAPPY_ENDS, 1);
    return 0;
}

//  Why the attempt failed, for the FAILURE reason: "ERROR at cpu@a: detail".
static void
s_describe_cause (zsat_fsm_t *self, s_ctx_t *ctx, char *buf, size_t cap)
{
    uint16_t origin = ctx->task ? ctx->task->origin : ctx->origin;
    const char *what =
        ctx->event == ZSAT_FSM_EV_DEADLINE ? "deadline passed" : zsat_fsm_event_name (ctx->event);
    char detail[ZSAT_EVENT_DETAIL_MAX + 1] = "";
    if (ctx->rec) {
        memcpy (detail, ctx->rec->detail, ZSAT_EVENT_DETAIL_MAX);
        detail[ZSAT_EVENT_DETAIL_MAX] = 0;
    }
    snprintf (buf, cap, "%s at %s@%s%s%s", what, zsat_stats_origin_node (self->stats, origin),
              zsat_stats_origin_host (self->stats, origin), *detail ? ": " : "", detail);
}

static int
s_check_retry_budget (zsat_fsm_t *self, s_ctx_t *ctx)
{
    char cause[200];
    //  Only an orchester keeps the vectors it sent: a task that began at a source and reached
    //  its stage over plain links cannot be re-sent, so asking would change nothing. (A task
    //  first seen mid-flight, after a tracker restart, may have been routed: it is asked.)
    if ((ctx->task->flags & S_TASK_BEGAN_WITH_INIT) && !(ctx->task->flags & S_TASK_ROUTED)) {
        s_describe_cause (self, ctx, cause, sizeof cause);
        snprintf (ctx->reason, sizeof ctx->reason, "not re-sendable (no orchester sent it): %s",
                  cause);
        return ZSAT_FSM_EV_EXHAUSTED;
    }
    if (ctx->task->retry < self->policy->max_retry)
        return 0;
    s_describe_cause (self, ctx, cause, sizeof cause);
    snprintf (ctx->reason, sizeof ctx->reason, "retries exhausted (%d): %s",
              self->policy->max_retry, cause);
    return ZSAT_FSM_EV_EXHAUSTED;
}

static int
s_schedule_resend (zsat_fsm_t *self, s_ctx_t *ctx)
{
    int64_t backoff = self->policy->backoff_ms;
    for (int r = 0; r < ctx->task->retry && backoff < self->policy->backoff_max_ms; r++)
        backoff *= 2;
    if (backoff > self->policy->backoff_max_ms)
        backoff = self->policy->backoff_max_ms;
    zsat_stats_add (self->stats, ctx->task->origin, ZSAT_STAT_RETRIES, 1);
    ctx->task->failed = ctx->task->origin;  //  the RESEND retries this stage's branch only
    s_start_timer (self, ctx->task, ctx->now_us + (backoff > 0 ? backoff : 0) * 1000);
    return 0;
}

static int
s_publish_resend (zsat_fsm_t *self, s_ctx_t *ctx)
{
    zsat_task_t *task = ctx->task;
    //  From now on the new attempt is the current one: the old one's events become STALE.
    if (task->retry < 255)
        task->retry++;
    zsat_jsonw_t *json = self->json;
    zsat_jsonw_reset (json);
    zsat_jsonw_object (json, NULL);
    zsat_jsonw_uint (json, "task_id", task->task_id);
    zsat_jsonw_uint (json, "job_id", task->job_id);
    zsat_jsonw_str (json, "type", zsat_stats_type_name (self->stats, task->type));
    zsat_jsonw_uint (json, "retry", task->retry);
    zsat_jsonw_str (json, "stage", zsat_stats_origin_node (self->stats, task->failed));
    zsat_jsonw_end (json);
    char topic[ZSAT_NAME_MAX + 8];
    snprintf (topic, sizeof topic, "RESEND.%s", zsat_stats_origin_host (self->stats, task->home));
    s_emit (self, topic);
    zsat_stats_global_add (self->stats, ZSAT_GLOBAL_RESENDS, 1);
    return 0;
}

static int
s_wait_for_resend (zsat_fsm_t *self, s_ctx_t *ctx)
{
    s_start_timer (self, ctx->task, ctx->now_us + s_stage_timeout (self, ctx->task->home));
    return 0;
}

//  The reason of a FAILURE the row's event decided, unless an action already set one.
static void
s_failure_reason (zsat_fsm_t *self, s_ctx_t *ctx)
{
    if (*ctx->reason)
        return;
    if (ctx->event == ZSAT_FSM_EV_TOO_MANY_HOPS)
        snprintf (ctx->reason, sizeof ctx->reason, "bounced more than max_seq (%d) times",
                  self->policy->max_seq);
    else if (ctx->event == ZSAT_FSM_EV_EVICT)
        snprintf (ctx->reason, sizeof ctx->reason, "evicted: task table full (%" PRId64 ")",
                  self->policy->max_tasks);
    else {
        char cause[200];
        s_describe_cause (self, ctx, cause, sizeof cause);
        snprintf (ctx->reason, sizeof ctx->reason, "%s", cause);
    }
}

static void
s_write_mark (zsat_fsm_t *self, zsat_jsonw_t *json, const zsat_task_mark_t *m, int64_t created_us)
{
    zsat_jsonw_object (json, NULL);
    zsat_jsonw_str (json, "event", zsat_fsm_event_name (m->event));
    zsat_jsonw_str (json, "host", zsat_stats_origin_host (self->stats, m->origin));
    zsat_jsonw_str (json, "stage", zsat_stats_origin_node (self->stats, m->origin));
    int64_t time_us;
    if (__builtin_add_overflow (created_us, (int64_t)m->dt * 10 + self->wall_offset_us, &time_us))
        time_us = created_us;
    zsat_jsonw_int (json, "time_us", time_us);
    zsat_jsonw_uint (json, "retry", m->retry);
    zsat_jsonw_end (json);
}

static void
s_write_history (zsat_fsm_t *self, zsat_jsonw_t *json, s_ctx_t *ctx)
{
    zsat_jsonw_array (json, "history");
    if (ctx->task) {
        zsat_task_mark_t marks[ZSAT_TASK_HISTORY];
        size_t count = zsat_tasks_history (ctx->task, marks);
        for (size_t i = 0; i < count; i++)
            s_write_mark (self, json, &marks[i], ctx->task->created_us);
    }
    else if (ctx->rec) {
        zsat_task_mark_t mark = {.event = ctx->rec->event,
                                 .origin = ctx->origin,
                                 .retry = ctx->rec->retry > 255 ? 255 : (uint8_t)ctx->rec->retry};
        s_write_mark (self, json, &mark, ctx->now_us);
    }
    zsat_jsonw_end (json);
}

static int
s_publish_failure (zsat_fsm_t *self, s_ctx_t *ctx)
{
    zsat_task_t *task = ctx->task;
    if (!task && !ctx->rec)
        return 0;  //  nothing to tell about
    s_failure_reason (self, ctx);
    uint16_t origin = task ? task->origin : ctx->origin;
    zsat_jsonw_t *json = self->json;
    zsat_jsonw_reset (json);
    zsat_jsonw_object (json, NULL);
    zsat_jsonw_uint (json, "task_id", task ? task->task_id : ctx->rec->task_id);
    zsat_jsonw_uint (json, "job_id", task ? task->job_id : ctx->rec->job_id);
    zsat_jsonw_str (json, "type",
                    task ? zsat_stats_type_name (self->stats, task->type) : ctx->rec->type);
    zsat_jsonw_str (json, "reason", ctx->reason);
    zsat_jsonw_str (json, "stage", zsat_stats_origin_node (self->stats, origin));
    zsat_jsonw_str (json, "host", zsat_stats_origin_host (self->stats, origin));
    zsat_jsonw_uint (json, "retry", task ? task->retry : ctx->rec->retry);
    if (task)
        zsat_jsonw_uint (json, "events", task->marks);
    s_write_history (self, json, ctx);
    zsat_jsonw_end (json);
    s_emit (self, "FAILURE");
    zsat_stats_add (self->stats, origin, ZSAT_STAT_FAILURES, 1);
    zsat_stats_global_add (self->stats, ZSAT_GLOBAL_FAILURES, 1);
    return 0;
}

static int
s_finish_task (zsat_fsm_t *self, s_ctx_t *ctx)
{
    zsat_tasks_set_finished (self->tasks, ctx->task);
    s_start_timer (self, ctx->task, ctx->now_us + ZSAT_FSM_RETAIN_US);
    return 0;
}

static int
s_forget_task (zsat_fsm_t *self, s_ctx_t *ctx)
{
    zsat_deadlines_cancel (self->wheel, zsat_tasks_slot (self->tasks, ctx->task));
    zsat_tasks_remove (self->tasks, ctx->task);
    ctx->task = NULL;
    return 0;
}

static int
s_count_untracked (zsat_fsm_t *self, s_ctx_t *ctx)
{
    zsat_stats_global_add (self->stats, ZSAT_GLOBAL_UNTRACKED, 1);
    return 0;
}

static int
s_count_late (zsat_fsm_t *self, s_ctx_t *ctx)
{
    //  Nodes flush their event batches on their own clocks and the tracker reads them fair-
    //  queued, so a stage's ACK/BEGIN/END can arrive after the sink's HAPPY_END that ended
    //  the task: a report of an earlier hop (lower seq) of the same attempt is overtaken,
    //  not late. Late is what is left: older attempts, later hops, a second end, FAILED.
    const zsat_event_rec_t *rec = ctx->rec;
    const zsat_task_t *task = ctx->task;
    bool overtaken = rec && task && task->state == ZSAT_TS_DONE && rec->retry == task->retry &&
                     rec->seq < task->seq && rec->event != ZSAT_EV_HAPPY_END;
    zsat_stats_global_add (self->stats, overtaken ? ZSAT_GLOBAL_OVERTAKEN : ZSAT_GLOBAL_LATE, 1);
    return 0;
}

static int
s_count_evicted (zsat_fsm_t *self, s_ctx_t *ctx)
{
    zsat_stats_global_add (self->stats, ZSAT_GLOBAL_EVICTED, 1);
    return 0;
}

static int
s_count_refused (zsat_fsm_t *self, s_ctx_t *ctx)
{
    zsat_stats_global_add (self->stats, ZSAT_GLOBAL_REFUSED, 1);
    return 0;
}

static const struct {
    const char *name;
    s_action_fn *fn;
} s_actions[A_COUNT] = {
    [A_NONE] = {"", NULL},
    [A_CREATE_TASK] = {"create task", s_create_task},
    [A_RECORD_EVENT] = {"record event", s_record_event},
    [A_NOTE_HOME] = {"note home", s_note_home},
    [A_COUNT_SIBLING] = {"count sibling", s_count_sibling},
    [A_NOTE_BEGIN] = {"note begin", s_note_begin},
    [A_COUNT_BRANCHES] = {"count branches", s_count_branches},
    [A_CLOSE_BRANCH] = {"close branch", s_close_branch},
    [A_PARK] = {"park for the retention", s_park},
    [A_NOTE_RETENTION_PASSED] = {"note retention passed", s_note_retention_passed},
    [A_RESTART_DEADLINE] = {"restart deadline", s_restart_deadline},
    [A_MEASURE_STAGE_LATENCY] = {"measure stage latency", s_measure_stage_latency},
    [A_MEASURE_TASK_LATENCY] = {"measure task latency", s_measure_task_latency},
    [A_COUNT_STAGE_SUCCESS] = {"count stage success", s_count_stage_success},
    [A_COUNT_STAGE_FAILURE] = {"count stage failure", s_count_stage_failure},
    [A_COUNT_TIMEOUT] = {"count timeout", s_count_timeout},
    [A_COUNT_HAPPY_END] = {"count happy end", s_count_happy_end},
    [A_CHECK_RETRY_BUDGET] = {"check retry budget", s_check_retry_budget},
    [A_SCHEDULE_RESEND] = {"schedule resend", s_schedule_resend},
    [A_PUBLISH_RESEND] = {"publish resend", s_publish_resend},
    [A_WAIT_FOR_RESEND] = {"wait for resend", s_wait_for_resend},
    [A_PUBLISH_FAILURE] = {"publish failure", s_publish_failure},
    [A_FINISH_TASK] = {"finish task", s_finish_task},
    [A_FORGET_TASK] = {"forget task", s_forget_task},
    [A_COUNT_UNTRACKED] = {"count untracked", s_count_untracked},
    [A_COUNT_LATE] = {"count late", s_count_late},
    [A_COUNT_EVICTED] = {"count evicted", s_count_evicted},
    [A_COUNT_REFUSED] = {"count refused", s_count_refused},
};

//  --- the interpreter ---

//  Runs event through the table for ctx's task; a raised event is handled from the same
//  state, at most a few times (the table raises at most twice in a row).
static void
s_dispatch (zsat_fsm_t *self, s_ctx_t *ctx, int event)
{
    for (int depth = 0; depth < 4; depth++) {
        int state = ctx->task ? ctx->task->state : ZSAT_TS_NONE;
        const s_row_t *row = s_row_for (state, event);
        if (!row) {
            zsat_stats_global_add (self->stats, ZSAT_GLOBAL_UNEXPECTED, 1);
            return;
        }
        ctx->event = event;
        int raised = 0;
        for (int a = 0; a < ROW_ACTIONS && row->actions[a] && !raised; a++)
            raised = s_actions[row->actions[a]].fn (self, ctx);
        if (!raised) {
            if (ctx->task && row->next != ZSAT_TS_SAME)
                ctx->task->state = row->next;
            return;
        }
        event = raised;
    }
}

static bool
s_is_task_event (int event)
{
    return event > ZSAT_EV_NONE && event < ZSAT_EV_COUNT && event != ZSAT_EV_HEARTBEAT &&
           event != ZSAT_EV_ALERT && event != ZSAT_EV_SCALE;
}

void
zsat_fsm_on_record (zsat_fsm_t *self, uint16_t origin, const zsat_event_rec_t *rec, int64_t now_us)
{
    if (!s_is_task_event (rec->event))
        return;
    s_ctx_t ctx = {.rec = rec, .origin = origin, .now_us = now_us};
    ctx.task = zsat_tasks_find (self->tasks, rec->task_id);
    int event = rec->event;
    if (ctx.task && rec->retry < ctx.task->retry && !(ctx.task->flags & S_TASK_FORKED))
        event = ZSAT_FSM_EV_STALE;
    else if (self->policy->max_seq > 0 && rec->seq > (uint32_t)self->policy->max_seq)
        event = ZSAT_FSM_EV_TOO_MANY_HOPS;
    else if (ctx.task && ctx.task->state == ZSAT_TS_STORED && rec->seq < ctx.task->seq &&
             rec->event != ZSAT_EV_STORED)
        event = ZSAT_FSM_EV_UPSTREAM;
    s_dispatch (self, &ctx, event);
}

static void
s_on_timer (uint32_t id, int64_t expiry_us, void *arg)
{
    zsat_fsm_t *self = (zsat_fsm_t *)arg;
    zsat_task_t *task = zsat_tasks_at (self->tasks, id);
    if (!task || task->state >= ZSAT_TS_COUNT || !s_timer_event[task->state])
        return;
    s_ctx_t ctx = {.task = task, .origin = task->origin, .now_us = expiry_us};
    s_dispatch (self, &ctx, s_timer_event[task->state]);
}

size_t
zsat_fsm_expire (zsat_fsm_t *self, int64_t now_us)
{
    return zsat_deadlines_expire (self->wheel, now_us, s_on_timer, self);
}

int64_t
zsat_fsm_next_us (zsat_fsm_t *self, int64_t limit_us)
{
    return zsat_deadlines_next_us (self->wheel, limit_us);
}

int
zsat_fsm_trace (zsat_fsm_t *self, uint64_t task_id, zsat_jsonw_t *json)
{
    zsat_task_t *task = zsat_tasks_find (self->tasks, task_id);
    if (!task)
        return -1;
    zsat_jsonw_uint (json, "task_id", task->task_id);
    zsat_jsonw_uint (json, "job_id", task->job_id);
    zsat_jsonw_str (json, "type", zsat_stats_type_name (self->stats, task->type));
    zsat_jsonw_str (json, "state", zsat_fsm_state_name (task->state));
    zsat_jsonw_uint (json, "retry", task->retry);
    //  One retry budget: every run of the work beyond the first took a retry number, whether
    //  the runtime retried it locally or the tracker had it re-sent.
    zsat_jsonw_uint (json, "runs", (uint64_t)task->retry + 1);
    zsat_jsonw_uint (json, "seq", task->seq);
    zsat_jsonw_str (json, "stage", zsat_stats_origin_node (self->stats, task->origin));
    zsat_jsonw_str (json, "host", zsat_stats_origin_host (self->stats, task->origin));
    zsat_jsonw_int (json, "created_us", task->created_us + self->wall_offset_us);
    zsat_jsonw_uint (json, "events", task->marks);
    zsat_jsonw_uint (json, "retained",
                     task->marks < ZSAT_TASK_HISTORY ? task->marks : ZSAT_TASK_HISTORY);
    s_ctx_t ctx = {.task = task};
    s_write_history (self, json, &ctx);
    return 0;
}

const zsat_task_t *
zsat_fsm_find (zsat_fsm_t *self, uint64_t task_id)
{
    return zsat_tasks_find (self->tasks, task_id);
}

int
zsat_fsm_task_state (zsat_fsm_t *self, uint64_t task_id)
{
    zsat_task_t *task = zsat_tasks_find (self->tasks, task_id);
    return task ? task->state : ZSAT_TS_NONE;
}

size_t
zsat_fsm_size (zsat_fsm_t *self)
{
    return zsat_tasks_size (self->tasks);
}

size_t
zsat_fsm_live (zsat_fsm_t *self)
{
    return zsat_tasks_size (self->tasks) - zsat_tasks_finished (self->tasks);
}

size_t
zsat_fsm_capacity (zsat_fsm_t *self)
{
    return zsat_tasks_capacity (self->tasks);
}

size_t
zsat_fsm_footprint (zsat_fsm_t *self)
{
    return zsat_tasks_footprint (self->tasks) + zsat_deadlines_footprint (self->wheel);
}

//  --- the picture ---

static void
s_dot_label (FILE *out, const s_row_t *row)
{
    fprintf (out, "%s", zsat_fsm_event_name (row->event));
    for (int a = 0; a < ROW_ACTIONS && row->actions[a]; a++)
        fprintf (out, "%s%s", a ? ",\\n" : "\\n/ ", s_actions[row->actions[a]].name);
}

//  The rows that leave a task in its state, one note per state (one line per event): drawn
//  as self-loops their labels lie on each other (NONE, ANY, BACKOFF, DONE, FAILED).
static void
s_dot_stays (FILE *out)
{
    for (int n = -1; n < ZSAT_TS_COUNT; n++) {
        int s = n < 0 ? ZSAT_TS_ANY : n;
        const char *state = zsat_fsm_state_name (s);
        bool any = false;
        for (size_t r = 0; r < TABLE_ROWS; r++) {
            const s_row_t *row = &s_table[r];
            if (row->state != s || !(row->next == ZSAT_TS_SAME || row->next == s))
                continue;
            if (!any)
                fprintf (out, "    %s_stays [shape=note, fontsize=8, label=\"stays %s on:\\l",
                         state, state);
            any = true;
            const char *event = zsat_fsm_event_name (row->event);
            fprintf (out, "%s", streq (event, "ANY") ? "any other event" : event);
            for (int a = 0; a < ROW_ACTIONS && row->actions[a]; a++)
                fprintf (out, "%s%s", a ? ", " : " / ", s_actions[row->actions[a]].name);
            fprintf (out, "\\l");
        }
        if (any)
            fprintf (out, "\"];\n    %s -> %s_stays [style=dotted, arrowhead=none];\n", state,
                     state);
    }
}

int
zsat_fsm_print_dot (FILE *out)
{
    fprintf (
        out,
        "//  Generated by `zsat dot --fsm` from the table in tracker/zsat_fsm.c: do not edit.\n"
        "digraph tracker_fsm {\n"
        "    rankdir=LR;\n"
        "    node [shape=ellipse, fontname=\"Helvetica\", fontsize=11];\n"
        "    edge [fontname=\"Helvetica\", fontsize=8];\n"
        "    ANY [shape=box, style=dashed, label=\"ANY state\\n(rows for every state "
        "without its own)\"];\n");
    for (int s = 0; s < ZSAT_TS_COUNT; s++)
        fprintf (out, "    %s%s;\n", s_state_names[s],
                 s == ZSAT_TS_NONE                          ? " [shape=doublecircle]"
                 : s == ZSAT_TS_DONE || s == ZSAT_TS_FAILED ? " [shape=box, style=rounded]"
                                                            : "");
    for (size_t r = 0; r < TABLE_ROWS; r++) {
        const s_row_t *row = &s_table[r];
        const char *from = zsat_fsm_state_name (row->state);
        const char *to = row->next == ZSAT_TS_SAME ? from : zsat_fsm_state_name (row->next);
        if (streq (from, to))
            continue;  //  drawn in the state's note below
        fprintf (out, "    %s -> %s [label=\"", from, to);
        s_dot_label (out, row);
        fprintf (out, "\"%s];\n", row->state == ZSAT_TS_ANY ? ", style=dashed" : "");
    }
    s_dot_stays (out);
    fprintf (out, "}\n");
    return ferror (out) ? -1 : 0;
}

//  --- selftest ---

#define SINK_MAX 32
typedef struct {
    size_t count;  //  every message emitted
    char topic[SINK_MAX][80];
    char body[SINK_MAX][4096];
    int outcomes_ok, outcomes_failed;
} s_sink_t;

static void
s_capture (const char *topic, const char *json, void *arg)
{
    s_sink_t *sink = (s_sink_t *)arg;
    size_t i = sink->count++ % SINK_MAX;
    snprintf (sink->topic[i], sizeof sink->topic[i], "%s", topic);
    snprintf (sink->body[i], sizeof sink->body[i], "%s", json);
}

static const char *
s_last_topic (s_sink_t *sink)
{
    return sink->count ? sink->topic[(sink->count - 1) % SINK_MAX] : "";
}

static const char *
s_last_body (s_sink_t *sink)
{
    return sink->count ? sink->body[(sink->count - 1) % SINK_MAX] : "";
}

static void
s_count_outcome (uint16_t origin, bool ok, int64_t now_us, void *arg)
{
    s_sink_t *sink = (s_sink_t *)arg;
    if (ok)
        sink->outcomes_ok++;
    else
        sink->outcomes_failed++;
}

static const char *s_test_stage_names[] = {"slow"};
static const int64_t s_test_stage_ms[] = {2000};

static zsat_tracker_policy_t
s_test_policy (int64_t max_tasks, bool refuse)
{
    zsat_tracker_policy_t policy = {.timeout_ms = 1000,
                                    .stage_timeout_count = 1,
                                    .stage_timeout_names = s_test_stage_names,
                                    .stage_timeout_ms = s_test_stage_ms,
                                    .max_retry = 2,
                                    .backoff_ms = 100,
                                    .backoff_max_ms = 150,
                                    .max_seq = 50,
                                    .max_tasks = max_tasks,
                                    .refuse_when_full = refuse};
    return policy;
}

typedef struct {
    zsat_tracker_policy_t policy;
    zsat_stats_t *stats;
    zsat_fsm_t *fsm;
    s_sink_t sink;
    uint16_t orchester, cpu, csv, slow;
} s_rig_t;

static uint16_t
s_rig_origin (s_rig_t *rig, const char *host, const char *node)
{
    zsat_event_source_t src = {.wid = 1};
    snprintf (src.host, sizeof src.host, "%s", host);
    snprintf (src.node, sizeof src.node, "%s", node);
    return zsat_stats_source (rig->stats, &src, 0, NULL);
}

static void
s_rig_init (s_rig_t *rig, int64_t max_tasks, bool refuse, int64_t now)
{
    memset (rig, 0, sizeof *rig);
    rig->policy = s_test_policy (max_tasks, refuse);
    rig->stats = zsat_stats_new ();
    rig->fsm = zsat_fsm_new (&rig->policy, rig->stats, now);
    assert (rig->fsm);
    zsat_fsm_set_emit (rig->fsm, s_capture, &rig->sink);
    zsat_fsm_set_outcome (rig->fsm, s_count_outcome, &rig->sink);
    rig->orchester = s_rig_origin (rig, "a", "orchester");
    rig->cpu = s_rig_origin (rig, "a", "cpu");
    rig->csv = s_rig_origin (rig, "b", "csv");
    rig->slow = s_rig_origin (rig, "a", "slow");
}

static void
s_rig_destroy (s_rig_t *rig)
{
    zsat_fsm_destroy (&rig->fsm);
    zsat_stats_destroy (&rig->stats);
}

static void
s_send (s_rig_t *rig, uint16_t origin, int event, uint64_t task_id, uint32_t retry, uint32_t seq,
        int64_t now, const char *detail)
{
    zsat_event_rec_t rec = {.event = (uint8_t)event,
                            .task_id = task_id,
                            .job_id = 77,
                            .retry = retry,
                            .seq = seq,
                            .timestamp = now};
    strcpy (rec.type, "cpu");
    snprintf (rec.detail, sizeof rec.detail, "%s", detail ? detail : "");
    zsat_fsm_on_record (rig->fsm, origin, &rec, now);
}

//  Puts a task straight into a state, as the table would have left it.
static zsat_task_t *
s_rig_task_in (s_rig_t *rig, uint64_t task_id, int state, int64_t now)
{
    zsat_task_t *task = zsat_tasks_insert (rig->fsm->tasks, task_id);
    assert (task);
    task->state = (uint8_t)state;
    task->retry = 1;
    task->created_us = now;
    task->origin = task->home = task->failed = rig->cpu;
    if (state == ZSAT_TS_DONE || state == ZSAT_TS_FAILED)
        zsat_tasks_set_finished (rig->fsm->tasks, task);
    return task;
}

static bool
s_row_has (const s_row_t *row, int action)
{
    for (int a = 0; a < ROW_ACTIONS; a++)
        if (row->actions[a] == action)
            return true;
    return false;
}

//  Delivers event to task_id the way the tracker would: wire events as records (retry and
//  seq chosen so the classifier yields the event), EXHAUSTED by an ERROR out of retries
//  where the table can raise it, other internal ones as the timer or the table raises them.
static void
s_deliver (s_rig_t *rig, uint64_t task_id, int event, int64_t now)
{
    zsat_task_t *task = zsat_tasks_find (rig->fsm->tasks, task_id);
    bool known = task != NULL;
    int state = known ? task->state : ZSAT_TS_NONE;
    if (event < ZSAT_EV_COUNT)
        s_send (rig, rig->cpu, event, task_id, 1, 3, now, "x");
    else if (event == ZSAT_FSM_EV_STALE && known)
        s_send (rig, rig->cpu, ZSAT_EV_END, task_id, 0, 3, now, NULL);
    else if (event == ZSAT_FSM_EV_EXHAUSTED && state != ZSAT_TS_BACKOFF && state != ZSAT_TS_DONE &&
             state != ZSAT_TS_FAILED)
        s_send (rig, rig->cpu, ZSAT_EV_ERROR, task_id, 2, 3, now, "last straw");
    else if (event == ZSAT_FSM_EV_TOO_MANY_HOPS)
        s_send (rig, rig->cpu, ZSAT_EV_ACK, task_id, 1, 51, now, NULL);
    else {
        s_ctx_t ctx = {.task = zsat_tasks_find (rig->fsm->tasks, task_id), .now_us = now};
        ctx.origin = ctx.task ? ctx.task->origin : rig->cpu;
        s_dispatch (rig->fsm, &ctx, event);
    }
}

//  Runs (state, event) through the table and checks what the row promised.
static void
s_check_row (const s_row_t *row, int state, int event, uint64_t task_id, bool verbose)
{
    int64_t now = 1000000000;
    s_rig_t rig;
    s_rig_init (&rig, 8, false, now);
    if (state != ZSAT_TS_NONE)
        s_rig_task_in (&rig, task_id, state, now);
    s_deliver (&rig, task_id, event, now);
    int expect = row->next == ZSAT_TS_SAME ? state : row->next;
    int got = zsat_fsm_task_state (rig.fsm, task_id);
    if (verbose && got != expect)
        printf ("\n   %s + %s -> %s, expected %s", zsat_fsm_state_name (state),
                zsat_fsm_event_name (event), zsat_fsm_state_name (got),
                zsat_fsm_state_name (expect));
    assert (got == expect);
    size_t emits = s_row_has (row, A_PUBLISH_FAILURE) + s_row_has (row, A_PUBLISH_RESEND);
    assert (rig.sink.count == emits);
    if (s_row_has (row, A_PUBLISH_FAILURE))
        assert (streq (s_last_topic (&rig.sink), "FAILURE"));
    if (s_row_has (row, A_PUBLISH_RESEND))
        assert (streq (s_last_topic (&rig.sink), "RESEND.a"));
    zsat_task_t *task = zsat_tasks_find (rig.fsm->tasks, task_id);
    bool timed = s_row_has (row, A_RESTART_DEADLINE) || s_row_has (row, A_SCHEDULE_RESEND) ||
                 s_row_has (row, A_WAIT_FOR_RESEND) || s_row_has (row, A_FINISH_TASK);
    if (timed)
        assert (task && zsat_deadlines_active (rig.fsm->wheel,
                                               zsat_tasks_slot (rig.fsm->tasks, task), NULL));
    if (s_row_has (row, A_FORGET_TASK))
        assert (!task && zsat_deadlines_size (rig.fsm->wheel) == 0);
    if (s_row_has (row, A_COUNT_LATE))
        assert (zsat_stats_global (rig.stats, ZSAT_GLOBAL_LATE) == 1);
    if (s_row_has (row, A_COUNT_UNTRACKED))
        assert (zsat_stats_global (rig.stats, ZSAT_GLOBAL_UNTRACKED) == 1);
    if (s_row_has (row, A_COUNT_EVICTED))
        assert (zsat_stats_global (rig.stats, ZSAT_GLOBAL_EVICTED) == 1);
    if (s_row_has (row, A_COUNT_STAGE_FAILURE))
        assert (rig.sink.outcomes_failed == 1);
    if (s_row_has (row, A_COUNT_STAGE_SUCCESS))
        assert (rig.sink.outcomes_ok == 1);
    s_rig_destroy (&rig);
}

static bool
s_deliverable (int event)
{
    if (event >= ZSAT_FSM_EV_DEADLINE)
        return event <= ZSAT_FSM_EV_LAST;
    return s_is_task_event (event);
}

//  Every row, from every state and with every event that resolves to it.
static void
s_test_every_row (bool verbose)
{
    pthread_once (&s_lookup_once, s_build_lookup);
    for (size_t r = 0; r < TABLE_ROWS; r++) {
        const s_row_t *row = &s_table[r];
        size_t walked = 0;
        for (int state = 0; state < ZSAT_TS_COUNT; state++)
            for (int event = 1; event < EVENTS; event++) {
                if (!s_deliverable (event) || s_row_for (state, event) != row)
                    continue;
                s_check_row (row, state, event, 1000 + r, verbose);
                walked++;
            }
        if (verbose && walked == 0)
            printf ("\n   row %zu (%s + %s) is never reached", r, zsat_fsm_state_name (row->state),
                    zsat_fsm_event_name (row->event));
        assert (walked > 0);
    }
}

static void
s_test_happy_path (void)
{
    int64_t t = 1000000000;
    s_rig_t rig;
    s_rig_init (&rig, 8, false, t);
    uint16_t sched = s_rig_origin (&rig, "m", "scheduler");
    s_send (&rig, sched, ZSAT_EV_INIT, 5, 0, 0, t, NULL);
    assert (zsat_fsm_task_state (rig.fsm, 5) == ZSAT_TS_CREATED);
    s_send (&rig, rig.orchester, ZSAT_EV_ACK, 5, 0, 1, t + 100, NULL);
    s_send (&rig, rig.orchester, ZSAT_EV_SEND, 5, 0, 1, t + 200, NULL);
    assert (zsat_fsm_task_state (rig.fsm, 5) == ZSAT_TS_SENT);
    s_send (&rig, rig.cpu, ZSAT_EV_ACK, 5, 0, 2, t + 300, NULL);
    s_send (&rig, rig.cpu, ZSAT_EV_BEGIN, 5, 0, 2, t + 400, NULL);
    assert (zsat_fsm_task_state (rig.fsm, 5) == ZSAT_TS_RUNNING);
    s_send (&rig, rig.cpu, ZSAT_EV_END, 5, 0, 2, t + 5400, NULL);
    s_send (&rig, rig.csv, ZSAT_EV_ACK, 5, 0, 3, t + 5500, NULL);
    s_send (&rig, rig.csv, ZSAT_EV_BEGIN, 5, 0, 3, t + 5600, NULL);
    //  nothing expires while events keep coming within the deadline
    assert (zsat_fsm_expire (rig.fsm, t + 900000) == 0);
    s_send (&rig, rig.csv, ZSAT_EV_HAPPY_END, 5, 0, 3, t + 5700, NULL);
    assert (zsat_fsm_task_state (rig.fsm, 5) == ZSAT_TS_DONE);
    assert (rig.sink.count == 0 && rig.sink.outcomes_ok == 2);
    assert (zsat_stats_global (rig.stats, ZSAT_GLOBAL_HAPPY_ENDS) == 1);
    assert (zsat_stats_percentile (rig.stats, rig.cpu, ZSAT_LATENCY_STAGE, 100, t) == 5000);
    assert (zsat_stats_percentile (rig.stats, rig.csv, ZSAT_LATENCY_TASK, 100, t) == 5700);
    //  trace while retained
    zsat_jsonw_t *json = zsat_jsonw_new ();
    zsat_jsonw_object (json, NULL);
    assert (zsat_fsm_trace (rig.fsm, 5, json) == 0);
    zsat_jsonw_end (json);
    assert (strstr (zsat_jsonw_text (json), "\"state\":\"DONE\""));
    assert (strstr (zsat_jsonw_text (json), "\"events\":9"));
    assert (strstr (zsat_jsonw_text (json),
                    "{\"event\":\"HAPPY_END\",\"host\":\"b\",\"stage\":\"csv\","
                    "\"time_us\":1000005700,\"retry\":0}"));
    //  a late duplicate is recognised; retention ends; afterwards the id is unknown
    s_send (&rig, rig.csv, ZSAT_EV_HAPPY_END, 5, 0, 3, t + 5800, NULL);
    assert (zsat_stats_global (rig.stats, ZSAT_GLOBAL_LATE) == 1);
    //  an earlier hop's report the end overtook (its batch flushed later) is no late event
    s_send (&rig, rig.cpu, ZSAT_EV_END, 5, 0, 2, t + 5900, NULL);
    assert (zsat_stats_global (rig.stats, ZSAT_GLOBAL_LATE) == 1);
    assert (zsat_stats_global (rig.stats, ZSAT_GLOBAL_OVERTAKEN) == 1);
    //  one of another attempt is
    s_send (&rig, rig.cpu, ZSAT_EV_END, 5, 1, 2, t + 5950, NULL);
    assert (zsat_stats_global (rig.stats, ZSAT_GLOBAL_LATE) == 2);
    assert (zsat_fsm_expire (rig.fsm, t + ZSAT_FSM_RETAIN_US + 10000) == 1);
    assert (zsat_fsm_task_state (rig.fsm, 5) == ZSAT_TS_NONE && zsat_fsm_size (rig.fsm) == 0);
    zsat_jsonw_reset (json);
    assert (zsat_fsm_trace (rig.fsm, 5, json) == -1);
    zsat_jsonw_destroy (&json);
    s_rig_destroy (&rig);
}

//  A task a source made (INIT) that no orchester sent cannot be re-sent: its ERROR is its
//  FAILURE, with that reason; the same task through an orchester would be re-sent.
static void
s_test_not_resendable (void)
{
    int64_t t = 2000000000;
    s_rig_t rig;
    s_rig_init (&rig, 8, false, t);
    s_send (&rig, rig.cpu, ZSAT_EV_INIT, 11, 0, 0, t, NULL);
    s_send (&rig, rig.csv, ZSAT_EV_BEGIN, 11, 0, 1, t + 10, NULL);
    s_send (&rig, rig.csv, ZSAT_EV_ERROR, 11, 0, 1, t + 20, "disk full");
    assert (zsat_fsm_task_state (rig.fsm, 11) == ZSAT_TS_FAILED);
    assert (rig.sink.count == 1 && streq (s_last_topic (&rig.sink), "FAILURE"));
    assert (strstr (s_last_body (&rig.sink), "not re-sendable (no orchester sent it)"));
    s_send (&rig, rig.cpu, ZSAT_EV_INIT, 12, 0, 0, t, NULL);
    s_send (&rig, rig.orchester, ZSAT_EV_SEND, 12, 0, 1, t + 5, NULL);
    s_send (&rig, rig.csv, ZSAT_EV_ERROR, 12, 0, 2, t + 20, "disk full");
    assert (zsat_fsm_task_state (rig.fsm, 12) == ZSAT_TS_BACKOFF);
    //  A routed vector's worker can report its ERROR before the orchester's SEND reaches the
    //  tracker (their batches race): the ROUTED flag of the worker's record says it is held.
    zsat_event_rec_t rec = {.event = ZSAT_EV_ERROR,
                            .task_id = 13,
                            .job_id = 77,
                            .seq = 1,
                            .flags = ZSAT_FLAG_ROUTED,
                            .timestamp = t + 20};
    strcpy (rec.type, "cpu");
    s_send (&rig, rig.cpu, ZSAT_EV_INIT, 13, 0, 0, t, NULL);
    zsat_fsm_on_record (rig.fsm, rig.csv, &rec, t + 20);
    assert (zsat_fsm_task_state (rig.fsm, 13) == ZSAT_TS_BACKOFF);
    assert (zsat_fsm_expire (rig.fsm, t + 1000000) == 2);  //  tasks 12 and 13 re-sent
    assert (zsat_fsm_task_state (rig.fsm, 13) == ZSAT_TS_RESENT);
    assert (streq (s_last_topic (&rig.sink), "RESEND.a"));
    s_rig_destroy (&rig);
}

//  ERROR -> RESEND with backoff, the old attempt's stragglers are STALE, then max_retry.
static void
s_test_retries (void)
{
    int64_t t = 2000000000;
    s_rig_t rig;
    s_rig_init (&rig, 8, false, t);
    s_send (&rig, rig.orchester, ZSAT_EV_SEND, 9, 0, 1, t, NULL);
    s_send (&rig, rig.cpu, ZSAT_EV_BEGIN, 9, 0, 2, t, NULL);
    s_send (&rig, rig.cpu, ZSAT_EV_ERROR, 9, 0, 2, t + 10, "boom");
    assert (zsat_fsm_task_state (rig.fsm, 9) == ZSAT_TS_BACKOFF);
    assert (zsat_fsm_expire (rig.fsm, t + 90000) == 0);  //  backoff 100 ms
    assert (zsat_fsm_expire (rig.fsm, t + 110000) == 1);
    assert (rig.sink.count == 1 && streq (s_last_topic (&rig.sink), "RESEND.a"));
    assert (streq (s_last_body (&rig.sink),
                   "{\"task_id\":9,\"job_id\":77,\"type\":\"cpu\",\"retry\":1,\"stage\":\"cpu\"}"));
    assert (zsat_fsm_task_state (rig.fsm, 9) == ZSAT_TS_RESENT);
    s_send (&rig, rig.cpu, ZSAT_EV_END, 9, 0, 2, t + 120000, NULL);  //  old attempt
    assert (zsat_stats_global (rig.stats, ZSAT_GLOBAL_LATE) == 1);
    assert (zsat_fsm_task_state (rig.fsm, 9) == ZSAT_TS_RESENT);
    //  second attempt fails too: backoff doubles (capped at 150 ms)
    s_send (&rig, rig.orchester, ZSAT_EV_SEND, 9, 1, 1, t + 200000, NULL);
    s_send (&rig, rig.cpu, ZSAT_EV_ERROR, 9, 1, 2, t + 210000, "boom");
    assert (zsat_fsm_expire (rig.fsm, t + 350000) == 0);
    assert (zsat_fsm_expire (rig.fsm, t + 360000) == 1);
    assert (rig.sink.count == 2 && strstr (s_last_body (&rig.sink), "\"retry\":2"));
    //  third: out of retries
    s_send (&rig, rig.cpu, ZSAT_EV_ERROR, 9, 2, 2, t + 400000, "boom again");
    assert (zsat_fsm_task_state (rig.fsm, 9) == ZSAT_TS_FAILED);
    assert (rig.sink.count == 3 && streq (s_last_topic (&rig.sink), "FAILURE"));
    assert (strstr (s_last_body (&rig.sink),
                    "\"reason\":\"retries exhausted (2): ERROR at cpu@a: boom again\""));
    assert (strstr (s_last_body (&rig.sink), "\"history\":[{"));
    assert (zsat_stats_counter (rig.stats, rig.cpu, ZSAT_STAT_RETRIES) == 2);
    assert (zsat_stats_counter (rig.stats, rig.cpu, ZSAT_STAT_FAILURES) == 1);
    assert (zsat_stats_global (rig.stats, ZSAT_GLOBAL_RESENDS) == 2);
    assert (rig.sink.outcomes_failed == 3);
    s_rig_destroy (&rig);
}

static void
s_send_detail (s_rig_t *rig, uint16_t origin, int event, uint64_t task_id, uint32_t retry,
               int64_t now, const char *detail)
{
    s_send (rig, origin, event, task_id, retry, 2, now, detail);
}

//  Fan-out: cpu forwards to csv and bad (END "branches=2"). The task is DONE only when both
//  ended; a failing branch is re-sent alone (RESEND names bad, not csv, though csv spoke
//  last), the sibling's end of the older attempt is no straggler, and a branch failed for
//  good ends the task FAILED. An orchester's SENDs to two nodes are two branches too.
static void
s_test_fanout (void)
{
    int64_t t = 2500000000;
    s_rig_t rig;
    s_rig_init (&rig, 8, false, t);
    s_send (&rig, rig.orchester, ZSAT_EV_SEND, 30, 0, 1, t, NULL);
    s_send_detail (&rig, rig.cpu, ZSAT_EV_END, 30, 0, t + 10, "branches=2");
    s_send_detail (&rig, rig.csv, ZSAT_EV_HAPPY_END, 30, 0, t + 20, NULL);
    assert (zsat_fsm_task_state (rig.fsm, 30) == ZSAT_TS_FORWARDED);
    s_send_detail (&rig, rig.slow, ZSAT_EV_HAPPY_END, 30, 0, t + 30, NULL);
    assert (zsat_fsm_task_state (rig.fsm, 30) == ZSAT_TS_DONE);
    assert (zsat_stats_global (rig.stats, ZSAT_GLOBAL_HAPPY_ENDS) == 1);

    s_send (&rig, rig.orchester, ZSAT_EV_SEND, 31, 0, 1, t, NULL);
    s_send_detail (&rig, rig.cpu, ZSAT_EV_END, 31, 0, t + 10, "branches=2");
    s_send_detail (&rig, rig.slow, ZSAT_EV_ERROR, 31, 0, t + 20, "exit 3");
    s_send_detail (&rig, rig.csv, ZSAT_EV_HAPPY_END, 31, 0, t + 30, NULL);
    assert (zsat_fsm_task_state (rig.fsm, 31) == ZSAT_TS_BACKOFF);
    assert (zsat_fsm_expire (rig.fsm, t + 200000) == 1);
    assert (streq (s_last_topic (&rig.sink), "RESEND.a"));
    assert (strstr (s_last_body (&rig.sink), "\"retry\":1,\"stage\":\"slow\""));
    //  the re-sent attempt: cpu forwards to bad alone; bad fails again twice: FAILED
    s_send (&rig, rig.orchester, ZSAT_EV_SEND, 31, 1, 1, t + 210000, NULL);
    s_send_detail (&rig, rig.cpu, ZSAT_EV_END, 31, 1, t + 220000, NULL);
    s_send_detail (&rig, rig.slow, ZSAT_EV_ERROR, 31, 1, t + 230000, "exit 3");
    assert (zsat_fsm_expire (rig.fsm, t + 500000) == 1);
    assert (strstr (s_last_body (&rig.sink), "\"retry\":2,\"stage\":\"slow\""));
    s_send_detail (&rig, rig.slow, ZSAT_EV_ERROR, 31, 2, t + 600000, "exit 3");
    assert (zsat_fsm_task_state (rig.fsm, 31) == ZSAT_TS_FAILED);
    assert (strstr (s_last_body (&rig.sink), "retries exhausted (2): ERROR at slow@a: exit 3"));

    //  two SENDs of one attempt (a route to two nodes): two branches
    s_send (&rig, rig.orchester, ZSAT_EV_SEND, 32, 0, 1, t, NULL);
    s_send (&rig, rig.orchester, ZSAT_EV_SEND, 32, 0, 1, t, NULL);
    s_send_detail (&rig, rig.cpu, ZSAT_EV_HAPPY_END, 32, 0, t + 10, NULL);
    assert (zsat_fsm_task_state (rig.fsm, 32) == ZSAT_TS_SENT);
    s_send_detail (&rig, rig.csv, ZSAT_EV_HAPPY_END, 32, 0, t + 20, NULL);
    assert (zsat_fsm_task_state (rig.fsm, 32) == ZSAT_TS_DONE);
    //  branches that end before their fork's END arrives (flag FORKED) are counted early
    zsat_event_rec_t rec = {.event = ZSAT_EV_HAPPY_END,
                            .task_id = 34,
                            .seq = 3,
                            .flags = ZSAT_FLAG_FORKED,
                            .timestamp = t};
    s_send (&rig, rig.orchester, ZSAT_EV_SEND, 34, 0, 1, t, NULL);
    zsat_fsm_on_record (rig.fsm, rig.csv, &rec, t + 10);
    assert (zsat_fsm_task_state (rig.fsm, 34) == ZSAT_TS_SENT);
    s_send_detail (&rig, rig.cpu, ZSAT_EV_END, 34, 0, t + 20, "branches=2");
    assert (zsat_fsm_task_state (rig.fsm, 34) == ZSAT_TS_FORWARDED);
    zsat_fsm_on_record (rig.fsm, rig.slow, &rec, t + 30);
    assert (zsat_fsm_task_state (rig.fsm, 34) == ZSAT_TS_DONE);
    rec.task_id = 35;
    s_send (&rig, rig.orchester, ZSAT_EV_SEND, 35, 0, 1, t, NULL);
    zsat_fsm_on_record (rig.fsm, rig.csv, &rec, t + 10);
    zsat_fsm_on_record (rig.fsm, rig.slow, &rec, t + 10);
    assert (zsat_fsm_task_state (rig.fsm, 35) == ZSAT_TS_SENT);
    s_send_detail (&rig, rig.cpu, ZSAT_EV_END, 35, 0, t + 20, "branches=2");
    assert (zsat_fsm_task_state (rig.fsm, 35) == ZSAT_TS_DONE);
    //  hostile branch counts saturate, never wrap
    s_send (&rig, rig.orchester, ZSAT_EV_SEND, 33, 0, 1, t, NULL);
    s_send_detail (&rig, rig.cpu, ZSAT_EV_END, 33, 0, t, "branches=99999999999999999999");
    assert (zsat_fsm_find (rig.fsm, 33)->forks == 255);
    s_rig_destroy (&rig);
}

//  A buffer stored the task (STORED, retention 60 s): the producer's END that arrives after
//  it, and stage deadlines (1 s) passing, leave it parked; the consumer's events end it
//  DONE. A task whose retention passes is a FAILURE that says so.
static void
s_test_stored (void)
{
    int64_t t = 2700000000;
    s_rig_t rig;
    s_rig_init (&rig, 8, false, t);
    uint16_t vault = s_rig_origin (&rig, "a", "vault");
    s_send (&rig, rig.cpu, ZSAT_EV_BEGIN, 40, 0, 1, t, NULL);
    s_send (&rig, vault, ZSAT_EV_STORED, 40, 0, 2, t + 10, "retention_ms=60000");
    s_send (&rig, rig.cpu, ZSAT_EV_END, 40, 0, 1, t + 20, NULL);
    assert (zsat_fsm_task_state (rig.fsm, 40) == ZSAT_TS_STORED);
    assert (zsat_fsm_expire (rig.fsm, t + 30000000) == 0);  //  30 s: 30 stage deadlines
    assert (rig.sink.count == 0);
    s_send (&rig, rig.csv, ZSAT_EV_ACK, 40, 0, 2, t + 30000000, NULL);
    s_send (&rig, rig.csv, ZSAT_EV_HAPPY_END, 40, 0, 2, t + 30000010, NULL);
    assert (zsat_fsm_task_state (rig.fsm, 40) == ZSAT_TS_DONE && rig.sink.count == 0);
    //  never delivered: the retention passes (hostile retention values are bounded)
    t += 31000000;
    s_send (&rig, vault, ZSAT_EV_STORED, 41, 0, 2, t, "retention_ms=2000");
    s_send (&rig, vault, ZSAT_EV_STORED, 42, 0, 2, t, "retention_ms=99999999999999999999999");
    assert (zsat_fsm_expire (rig.fsm, t + 1990000) == 0);
    assert (zsat_fsm_expire (rig.fsm, t + 2010000) == 1);
    assert (zsat_fsm_task_state (rig.fsm, 41) == ZSAT_TS_FAILED);
    assert (strstr (s_last_body (&rig.sink), "retention passed: stored in a buffer"));
    assert (zsat_fsm_task_state (rig.fsm, 42) == ZSAT_TS_STORED);
    s_rig_destroy (&rig);
}

//  No event within the stage's deadline: DEADLINE, RESEND, ... FAILURE.
static void
s_test_deadlines (void)
{
    int64_t t = 3000000000;
    s_rig_t rig;
    s_rig_init (&rig, 8, false, t);
    s_send (&rig, rig.orchester, ZSAT_EV_SEND, 1, 0, 1, t, NULL);
    s_send (&rig, rig.slow, ZSAT_EV_BEGIN, 2, 0, 1, t, NULL);  //  override: 2 s
    assert (zsat_fsm_expire (rig.fsm, t + 990000) == 0);
    assert (zsat_fsm_expire (rig.fsm, t + 1000000) == 1);
    assert (zsat_fsm_task_state (rig.fsm, 1) == ZSAT_TS_BACKOFF);
    assert (zsat_fsm_task_state (rig.fsm, 2) == ZSAT_TS_RUNNING);
    assert (zsat_stats_counter (rig.stats, rig.orchester, ZSAT_STAT_TIMEOUTS) == 1);
    //  task 1 is resent and never answers again: deadline, backoff, RESEND, ... FAILURE
    int64_t now = t + 1000000;
    for (int step = 0; step < 200 && zsat_fsm_task_state (rig.fsm, 1) != ZSAT_TS_FAILED; step++) {
        now += 50000;
        zsat_fsm_expire (rig.fsm, now);
    }
    assert (zsat_fsm_task_state (rig.fsm, 1) == ZSAT_TS_FAILED);
    //  deadline 1 s + backoff 100 ms, deadline 1 s + backoff 150 ms, deadline 1 s
    assert (now == t + 3250000);
    assert (streq (s_last_topic (&rig.sink), "FAILURE"));
    assert (strstr (s_last_body (&rig.sink), "\"task_id\":1,"));
    assert (
        strstr (s_last_body (&rig.sink), "retries exhausted (2): deadline passed at orchester@a"));
    assert (strstr (s_last_body (&rig.sink), "{\"event\":\"DEADLINE\",\"host\":\"a\","));
    //  task 2 timed out after its 2 s
    assert (zsat_stats_counter (rig.stats, rig.slow, ZSAT_STAT_TIMEOUTS) >= 1);
    s_rig_destroy (&rig);
}

//  Feeds one record to the stats and the FSM, as the tracker does.
static void
s_both (s_rig_t *rig, uint16_t origin, uint32_t node, int event, uint64_t task_id, int64_t ts,
        int64_t now, const char *detail)
{
    zsat_event_rec_t rec = {
        .event = (uint8_t)event, .task_id = task_id, .timestamp = ts, .seq = event == ZSAT_EV_SEND};
    strcpy (rec.type, "cpu");
    snprintf (rec.detail, sizeof rec.detail, "%s", detail ? detail : "");
    zsat_stats_on_record (rig->stats, origin, node, &rec, now);
    zsat_fsm_on_record (rig->fsm, origin, &rec, now);
}

//  A vector the orchester sent waits in the stage's queue: its deadline is the stage's plus
//  twice the queue's wait, not the orchester's; a SEND naming no known stage keeps the
//  orchester's.
static void
s_test_queued_deadline (void)
{
    int64_t t = 3500000000;
    s_rig_t rig;
    s_rig_init (&rig, 64, false, t);
    zsat_event_source_t src = {.host = "a", .node = "slow", .wid = 1};
    uint32_t worker, orch;
    zsat_stats_source (rig.stats, &src, t, &worker);
    src = (zsat_event_source_t){.host = "a", .node = "orchester", .wid = 1};
    zsat_stats_source (rig.stats, &src, t, &orch);
    s_both (&rig, rig.slow, worker, ZSAT_EV_HEARTBEAT, 0, t, t, "");
    //  one vector done in 1 s: the service time
    s_both (&rig, rig.slow, worker, ZSAT_EV_BEGIN, 1, t, t, NULL);
    s_both (&rig, rig.slow, worker, ZSAT_EV_HAPPY_END, 1, t + 1000000, t + 1000000, NULL);
    t += 1000000;
    s_both (&rig, rig.slow, worker, ZSAT_EV_HEARTBEAT, 0, t, t, "");
    for (uint64_t id = 10; id < 20; id++)
        s_both (&rig, rig.orchester, orch, ZSAT_EV_SEND, id, t, t, "slow");
    s_both (&rig, rig.orchester, orch, ZSAT_EV_SEND, 30, t, t, "nosuch");
    //  task 19 is 10th in the queue: 2 s (slow's deadline) + 2 x 10 x 1 s
    const zsat_task_t *last = zsat_fsm_find (rig.fsm, 19);
    int64_t expiry = 0;
    assert (last && zsat_deadlines_active (rig.fsm->wheel, zsat_tasks_slot (rig.fsm->tasks, last),
                                           &expiry));
    assert (expiry == t + 2000000 + 2 * 10000000);
    //  the source's INIT (seq 0) arrives after the SEND: the deadline stays
    s_both (&rig, rig.cpu, UINT32_MAX, ZSAT_EV_INIT, 19, t, t + 500000, NULL);
    assert (
        zsat_deadlines_active (rig.fsm->wheel, zsat_tasks_slot (rig.fsm->tasks, last), &expiry));
    assert (expiry == t + 2000000 + 2 * 10000000);
    const zsat_task_t *first = zsat_fsm_find (rig.fsm, 10);
    assert (
        zsat_deadlines_active (rig.fsm->wheel, zsat_tasks_slot (rig.fsm->tasks, first), &expiry));
    assert (expiry == t + 2000000 + 2 * 1000000);
    //  the one naming no stage has the orchester's 1 s
    zsat_fsm_expire (rig.fsm, t + 1000000);
    assert (zsat_fsm_task_state (rig.fsm, 30) == ZSAT_TS_BACKOFF);
    assert (zsat_fsm_task_state (rig.fsm, 10) == ZSAT_TS_SENT);
    s_rig_destroy (&rig);
}

static void
s_test_full_table (void)
{
    int64_t t = 4000000000;
    s_rig_t rig;
    s_rig_init (&rig, 4, false, t);
    for (uint64_t id = 1; id <= 4; id++)
        s_send (&rig, rig.orchester, ZSAT_EV_INIT, id, 0, 0, t + (int64_t)id, NULL);
    s_send (&rig, rig.cpu, ZSAT_EV_HAPPY_END, 3, 0, 2, t + 10, NULL);
    //  full: the finished task goes first, silently
    s_send (&rig, rig.orchester, ZSAT_EV_INIT, 5, 0, 0, t + 20, NULL);
    assert (zsat_fsm_task_state (rig.fsm, 3) == ZSAT_TS_NONE && rig.sink.count == 0);
    //  then the oldest live one, with a FAILURE
    s_send (&rig, rig.orchester, ZSAT_EV_INIT, 6, 0, 0, t + 30, NULL);
    assert (zsat_fsm_task_state (rig.fsm, 1) == ZSAT_TS_NONE);
    assert (zsat_fsm_task_state (rig.fsm, 6) == ZSAT_TS_CREATED);
    assert (zsat_stats_global (rig.stats, ZSAT_GLOBAL_EVICTED) == 1);
    assert (strstr (s_last_body (&rig.sink), "evicted: task table full (4)"));
    assert (zsat_fsm_size (rig.fsm) == 4);
    s_rig_destroy (&rig);

    s_rig_init (&rig, 2, true, t);
    s_send (&rig, rig.orchester, ZSAT_EV_INIT, 1, 0, 0, t, NULL);
    s_send (&rig, rig.orchester, ZSAT_EV_INIT, 2, 0, 0, t, NULL);
    s_send (&rig, rig.orchester, ZSAT_EV_INIT, 3, 0, 0, t, NULL);
    assert (zsat_fsm_task_state (rig.fsm, 3) == ZSAT_TS_NONE);
    assert (zsat_fsm_task_state (rig.fsm, 1) == ZSAT_TS_CREATED);
    assert (zsat_stats_global (rig.stats, ZSAT_GLOBAL_REFUSED) == 1 && rig.sink.count == 0);
    s_send (&rig, rig.cpu, ZSAT_EV_FAILURE, 2, 0, 2, t + 1, "gave up");
    assert (strstr (s_last_body (&rig.sink), "\"reason\":\"FAILURE at cpu@a: gave up\""));
    s_send (&rig, rig.orchester, ZSAT_EV_INIT, 3, 0, 0, t + 2, NULL);  //  room again
    assert (zsat_fsm_task_state (rig.fsm, 3) == ZSAT_TS_CREATED);
    s_rig_destroy (&rig);
}

static void
s_test_hostile (void)
{
    int64_t t = 5000000000;
    s_rig_t rig;
    s_rig_init (&rig, 8, false, t);
    s_send (&rig, rig.cpu, 200, 1, 0, 0, t, NULL);
    s_send (&rig, rig.cpu, 0, 1, 0, 0, t, NULL);
    s_send (&rig, rig.cpu, ZSAT_EV_HEARTBEAT, 1, 0, 0, t, NULL);
    assert (zsat_fsm_size (rig.fsm) == 0);
    //  absurd retry, seq and timestamps, a detail without a terminator
    zsat_event_rec_t rec = {
        .event = ZSAT_EV_ERROR, .task_id = 7, .retry = UINT32_MAX, .timestamp = INT64_MIN};
    memset (rec.detail, 'x', sizeof rec.detail);
    memset (rec.type, 'y', sizeof rec.type);
    zsat_fsm_on_record (rig.fsm, rig.cpu, &rec, t);
    assert (zsat_fsm_task_state (rig.fsm, 7) == ZSAT_TS_FAILED);
    assert (strstr (s_last_body (&rig.sink), "retries exhausted"));
    rec.event = ZSAT_EV_ACK;
    rec.task_id = 8;
    rec.retry = 0;
    rec.seq = UINT32_MAX;
    rec.timestamp = INT64_MAX;
    zsat_fsm_on_record (rig.fsm, 9999, &rec, t);  //  origin out of range too
    assert (zsat_fsm_task_state (rig.fsm, 8) == ZSAT_TS_FAILED);
    assert (strstr (s_last_body (&rig.sink), "bounced more than max_seq (50) times"));
    zsat_jsonw_t *json = zsat_jsonw_new ();
    zsat_jsonw_object (json, NULL);
    assert (zsat_fsm_trace (rig.fsm, 8, json) == 0);
    zsat_jsonw_destroy (&json);
    s_rig_destroy (&rig);
    zsat_tracker_policy_t bad = s_test_policy (0, false);
    zsat_stats_t *stats = zsat_stats_new ();
    assert (zsat_fsm_new (&bad, stats, 0) == NULL);
    zsat_stats_destroy (&stats);
}

//  The committed picture must be what the table draws now.
static void
s_test_dot (void)
{
    char *text = NULL;
    size_t size = 0;
    FILE *out = open_memstream (&text, &size);
    assert (out && zsat_fsm_print_dot (out) == 0);
    fclose (out);
    assert (strstr (text, "NONE -> CREATED [label=\"INIT\\n/ create task"));
    //  no self-loop (their labels overlap): a state's staying rows are one note
    for (int s = 0; s < ZSAT_TS_COUNT; s++) {
        char loop[64];
        snprintf (loop, sizeof loop, "    %s -> %s ", s_state_names[s], s_state_names[s]);
        assert (!strstr (text, loop));
    }
    assert (!strstr (text, "    ANY -> ANY "));
    assert (strstr (text, "ANY_stays [shape=note"));
    assert (strstr (text, "\\lSTALE / count late\\l"));
    char *committed = NULL;
    char path[1024];
    FILE *file =
        zsat_datadir_path (path, sizeof path, "docs/tracker-fsm.dot") ? fopen (path, "r") : NULL;
    if (file) {
        size_t cap = size + 2;
        committed = (char *)calloc (1, cap);
        size_t got = fread (committed, 1, cap - 1, file);
        committed[got] = 0;
        fclose (file);
    }
    if (!committed || strcmp (committed, text) != 0)
        fprintf (stderr, "\nzsat_fsm: docs/tracker-fsm.dot is stale or missing; regenerate it with "
                         "`zsat dot --fsm > docs/tracker-fsm.dot`\n");
    assert (committed && streq (committed, text));
    free (committed);
    free (text);
}

//  Every task in the table is in a real state and has a timer (else it would never leave),
//  and finished ones are on the finished list.
static void
s_check_invariants (zsat_fsm_t *fsm)
{
    size_t seen = 0;
    for (uint32_t slot = 0; slot < zsat_tasks_capacity (fsm->tasks); slot++) {
        zsat_task_t *task = zsat_tasks_at (fsm->tasks, slot);
        if (!task)
            continue;
        seen++;
        assert (task->state > ZSAT_TS_NONE && task->state < ZSAT_TS_COUNT);
        assert (zsat_deadlines_active (fsm->wheel, slot, NULL));
        bool finished = task->state == ZSAT_TS_DONE || task->state == ZSAT_TS_FAILED;
        assert (finished == ((task->flags & ZSAT_TASK_FINISHED) != 0));
    }
    assert (seen == zsat_fsm_size (fsm));
    assert (zsat_deadlines_size (fsm->wheel) == seen);
}

//  Random records (any event byte, few task ids, wild retry/seq/timestamps) and random
//  clock jumps: nothing crashes, the invariants hold after every step.
static void
s_test_random (bool refuse)
{
    int64_t t = 6000000000;
    s_rig_t rig;
    s_rig_init (&rig, 16, refuse, t);
    uint64_t rng = refuse ? 7 : 11;
    for (int i = 0; i < 100000; i++) {
        rng = rng * 6364136223846793005ULL + 1442695040888963407ULL;
        uint32_t r = (uint32_t)(rng >> 32);
        zsat_event_rec_t rec = {.event = (uint8_t)(r % 5 == 0 ? r >> 8 : 1 + (r >> 8) % 16),
                                .task_id = (r >> 12) % 40,
                                .retry = (r >> 16) % 4,
                                .seq = (r >> 18) % 60,
                                .timestamp = (r & 1) ? t : (int64_t)(rng ^ (rng << 7))};
        uint16_t origin = (uint16_t)(1 + (r >> 20) % 4);
        zsat_fsm_on_record (rig.fsm, origin, &rec, t);
        t += (r >> 24) % 4 == 0 ? (int64_t)((r >> 26) % 64) * 100000 : 100;
        zsat_fsm_expire (rig.fsm, t);
        if (i % 97 == 0)
            s_check_invariants (rig.fsm);
    }
    s_check_invariants (rig.fsm);
    //  long enough: every task retires
    zsat_fsm_expire (rig.fsm, t + 3600000000LL);
    zsat_fsm_expire (rig.fsm, t + 7200000000LL);
    assert (zsat_fsm_size (rig.fsm) == 0);
    s_rig_destroy (&rig);
}

void
zsat_fsm_test (bool verbose)
{
    printf (" * zsat_fsm: ");
    assert (streq (zsat_fsm_event_name (ZSAT_FSM_EV_DEADLINE), "DEADLINE"));
    assert (streq (zsat_fsm_event_name (ZSAT_FSM_EV_REFUSED), "REFUSED"));
    assert (streq (zsat_fsm_state_name (ZSAT_TS_FAILED), "FAILED"));
    s_test_every_row (verbose);
    s_test_happy_path ();
    s_test_retries ();
    s_test_not_resendable ();
    s_test_fanout ();
    s_test_stored ();
    s_test_deadlines ();
    s_test_queued_deadline ();
    s_test_full_table ();
    s_test_hostile ();
    s_test_random (false);
    s_test_random (true);
    s_test_dot ();
    printf ("OK\n");
}
