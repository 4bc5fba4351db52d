/*  zsat_tasks - the tracker's table of tasks in flight: fixed records preallocated to the
    policy's max_tasks, found by task_id through an open-addressing index, chained in two
    age lists (live tasks by creation, finished tasks by finish) so the oldest is found in
    O(1). Each record keeps its task's first event and its last ZSAT_TASK_HISTORY - 1.
    No sockets.
    Only the FSM (zsat_fsm) changes a record's state.
*/
#ifndef ZSAT_TASKS_H_INCLUDED
#define ZSAT_TASKS_H_INCLUDED
#include "zsat.h"

#define ZSAT_TASK_HISTORY  6
#define ZSAT_TASK_NONE     UINT32_MAX
#define ZSAT_TASK_FINISHED 0x80u  //  on the finished list (task flags)

//  One event of a task's history, 8 bytes.
typedef struct {
    uint32_t dt;      //  tracker's clock at the event - created_us, 10 us units (saturates
                      //  at UINT32_MAX, 11.9 h; never below 0: never before the first event)
    uint8_t event;    //  zsat_event_t or an internal FSM event
    uint8_t retry;    //  saturating at 255
    uint16_t origin;  //  stage@host, interned by zsat_stats
} zsat_task_mark_t;

//  One task, 104 bytes; with its timer (16) and index share (8) a task costs 128 bytes.
typedef struct {
    uint64_t task_id;
    uint64_t job_id;
    int64_t created_us;      //  tracker's (monotonic) clock when the first event arrived
    int64_t stage_since_us;  //  BEGIN timestamp at the current stage (that node's clock), 0 none
    uint32_t list_prev;
    uint32_t list_next;
    uint16_t origin;  //  where the task was last seen
    uint16_t type;    //  interned job type
    uint16_t seq;     //  highest seq seen, saturating
    uint8_t state;    //  zsat_task_state_t (zsat_fsm.h)
    uint8_t retry;
    uint8_t marks;    //  events recorded, saturating at 255
    uint8_t ring;     //  where the next mark goes in history[1..]
    uint8_t flags;    //  ZSAT_FLAG_* bits that fit, plus ZSAT_TASK_FINISHED
    uint8_t forks;    //  branches not ended yet beyond one (fan-out), saturating
    uint16_t home;    //  origin of the orchester that sent it (gets the RESEND)
    uint16_t failed;  //  origin of the stage whose failure the next RESEND retries
    zsat_task_mark_t history[ZSAT_TASK_HISTORY];  //  [0]: the first event; then a ring
} zsat_task_t;

typedef struct zsat_tasks_t zsat_tasks_t;

//  Creates a table for capacity tasks (1..100,000,000), all memory allocated now.
//  Returns NULL when capacity is out of range or memory is short.
zsat_tasks_t *zsat_tasks_new (uint32_t capacity);
void zsat_tasks_destroy (zsat_tasks_t **self_p);
//  Returns the task, or NULL when it is not in the table.
zsat_task_t *zsat_tasks_find (zsat_tasks_t *self, uint64_t task_id);
//  Adds a zeroed live task (task_id set) at the tail of the live list. Returns it, or NULL
//  when the table is full or task_id is already there.
zsat_task_t *zsat_tasks_insert (zsat_tasks_t *self, uint64_t task_id);
//  Removes the task; its pointer is invalid afterwards.
void zsat_tasks_remove (zsat_tasks_t *self, zsat_task_t *task);
//  Moves a live task to the tail of the finished list (it stays findable).
void zsat_tasks_set_finished (zsat_tasks_t *self, zsat_task_t *task);
//  The oldest live (finished=false) or finished task, or NULL when that list is empty.
zsat_task_t *zsat_tasks_oldest (zsat_tasks_t *self, bool finished);
//  Slot number of a task (0..capacity-1): the tracker names the task's timer with it.
uint32_t zsat_tasks_slot (zsat_tasks_t *self, const zsat_task_t *task);
//  The task in slot, or NULL when the slot is free.
zsat_task_t *zsat_tasks_at (zsat_tasks_t *self, uint32_t slot);
//  Records one event seen at now_us (the tracker's clock, the one created_us is on): the
//  first one stays in history[0], the later ones take turns in the other
//  ZSAT_TASK_HISTORY - 1 places.
void zsat_tasks_mark (zsat_task_t *task, int event, int64_t now_us, uint32_t retry,
                      uint16_t origin);
//  Copies the retained history, oldest first (the first event, then the latest ones), into
//  out (ZSAT_TASK_HISTORY entries at most).
//  Returns the count.
size_t zsat_tasks_history (const zsat_task_t *task, zsat_task_mark_t *out);
//  Copies the latest mark into out. Returns false when the task has none.
bool zsat_tasks_last (const zsat_task_t *task, zsat_task_mark_t *out);
size_t zsat_tasks_size (zsat_tasks_t *self);
size_t zsat_tasks_finished (zsat_tasks_t *self);
uint32_t zsat_tasks_capacity (zsat_tasks_t *self);
//  Bytes allocated (records + index).
size_t zsat_tasks_footprint (zsat_tasks_t *self);

void zsat_tasks_test (bool verbose);

#endif
