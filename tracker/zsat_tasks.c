/*  zsat_tasks - the table of tasks in flight, preallocated, with O(1) find/insert/remove.

    Records live in one array, handed out in order, then reused through a chain of removed
    records (list_next). The index is an
    array of 2*capacity uint32 (record number + 1, 0 = empty) probed linearly, so it is at
    most half full; removal shifts the following entries back instead of leaving tombstones,
    so probes stay short after millions of inserts and removals. Two circular lists with
    sentinel records (live, finished) keep tasks in age order for eviction. No sockets.
*/
#include "zsat_tasks.h"

struct zsat_tasks_t {
    uint32_t capacity;
    uint32_t index_size;   //  2 * capacity
    size_t size;           //  tasks in the table
    size_t finished;       //  of which on the finished list
    uint32_t free_head;    //  chain of removed records
    uint32_t never_used;   //  records from here on were never handed out
    zsat_task_t *records;  //  capacity + 2 sentinels (live, finished)
    uint32_t *index;
};

#define LIVE(self)     ((self)->capacity)
#define FINISHED(self) ((self)->capacity + 1)

zsat_tasks_t *
zsat_tasks_new (uint32_t capacity)
{
    if (capacity == 0 || capacity > 100000000)
        return NULL;
    zsat_tasks_t *self = (zsat_tasks_t *)calloc (1, sizeof *self);
    if (!self)
        return NULL;
    self->capacity = capacity;
    self->index_size = 2 * capacity;
    self->records = (zsat_task_t *)calloc ((size_t)capacity + 2, sizeof (zsat_task_t));
    self->index = (uint32_t *)calloc (self->index_size, sizeof (uint32_t));
    if (!self->records || !self->index) {
        zsat_tasks_destroy (&self);
        return NULL;
    }
    //  Records are handed out in order first, so memory is touched (and counted in RSS)
    //  only as the table fills.
    self->free_head = ZSAT_TASK_NONE;
    for (uint32_t head = LIVE (self); head <= FINISHED (self); head++)
        self->records[head].list_next = self->records[head].list_prev = head;
    return self;
}

void
zsat_tasks_destroy (zsat_tasks_t **self_p)
{
    if (self_p && *self_p) {
        free ((*self_p)->records);
        free ((*self_p)->index);
        free (*self_p);
        *self_p = NULL;
    }
}

//  splitmix64's finaliser: task ids are sequential counters, so their low bits alone would
//  cluster; the multiply-shift then maps the hash onto a table of any size.
static uint32_t
s_home (zsat_tasks_t *self, uint64_t key)
{
    key ^= key >> 30;
    key *= 0xbf58476d1ce4e5b9ULL;
    key ^= key >> 27;
    key *= 0x94d049bb133111ebULL;
    key ^= key >> 31;
    return (uint32_t)(((key >> 32) * (uint64_t)self->index_size) >> 32);
}

static uint32_t
s_probe (zsat_tasks_t *self, uint64_t task_id)
{
    uint32_t pos = s_home (self, task_id);
    while (self->index[pos] && self->records[self->index[pos] - 1].task_id != task_id)
        pos = pos + 1 == self->index_size ? 0 : pos + 1;
    return pos;
}

zsat_task_t *
zsat_tasks_find (zsat_tasks_t *self, uint64_t task_id)
{
    uint32_t entry = self->index[s_probe (self, task_id)];
    return entry ? &self->records[entry - 1] : NULL;
}

static void
s_list_unlink (zsat_tasks_t *self, uint32_t r)
{
    zsat_task_t *t = &self->records[r];
    self->records[t->list_prev].list_next = t->list_next;
    self->records[t->list_next].list_prev = t->list_prev;
}

static void
s_list_append (zsat_tasks_t *self, uint32_t head, uint32_t r)
{
    uint32_t last = self->records[head].list_prev;
    self->records[last].list_next = r;
    self->records[r].list_prev = last;
    self->records[r].list_next = head;
    self->records[head].list_prev = r;
}

zsat_task_t *
zsat_tasks_insert (zsat_tasks_t *self, uint64_t task_id)
{
    if (self->free_head == ZSAT_TASK_NONE && self->never_used == self->capacity)
        return NULL;
    uint32_t pos = s_probe (self, task_id);
    if (self->index[pos])
        return NULL;
    uint32_t r;
    if (self->free_head != ZSAT_TASK_NONE) {
        r = self->free_head;
        self->free_head = self->records[r].list_next;
    }
    else
        r = self->never_used++;
    memset (&self->records[r], 0, sizeof (zsat_task_t));
    self->records[r].task_id = task_id;
    self->index[pos] = r + 1;
    s_list_append (self, LIVE (self), r);
    self->size++;
    return &self->records[r];
}

//  Backward-shift deletion: pulls later entries of the probe run into the hole when their
//  home position does not lie cyclically between the hole and themselves.
static void
s_index_delete (zsat_tasks_t *self, uint32_t hole)
{
    uint32_t pos = hole;
    for (;;) {
        pos = pos + 1 == self->index_size ? 0 : pos + 1;
        uint32_t entry = self->index[pos];
        if (!entry)
            break;
        uint32_t home = s_home (self, self->records[entry - 1].task_id);
        bool stays = hole <= pos ? (hole < home && home <= pos) : (hole < home || home <= pos);
        if (!stays) {
            self->index[hole] = entry;
            hole = pos;
        }
    }
    self->index[hole] = 0;
}

void
zsat_tasks_remove (zsat_tasks_t *self, zsat_task_t *task)
{
    uint32_t r = zsat_tasks_slot (self, task);
    if (r == ZSAT_TASK_NONE || task->list_prev == ZSAT_TASK_NONE)
        return;
    s_index_delete (self, s_probe (self, task->task_id));
    s_list_unlink (self, r);
    if (task->flags & ZSAT_TASK_FINISHED)
        self->finished--;
    self->size--;
    memset (task, 0, sizeof *task);
    task->list_prev = ZSAT_TASK_NONE;  //  marks the record free for zsat_tasks_at
    task->list_next = self->free_head;
    self->free_head = r;
}

void
zsat_tasks_set_finished (zsat_tasks_t *self, zsat_task_t *task)
{
    uint32_t r = zsat_tasks_slot (self, task);
    if (r == ZSAT_TASK_NONE || (task->flags & ZSAT_TASK_FINISHED))
        return;
    s_list_unlink (self, r);
    s_list_append (self, FINISHED (self), r);
    task->flags |= ZSAT_TASK_FINISHED;
    self->finished++;
}

zsat_task_t *
zsat_tasks_oldest (zsat_tasks_t *self, bool finished)
{
    uint32_t head = finished ? FINISHED (self) : LIVE (self);
    uint32_t first = self->records[head].list_next;
    return first == head ? NULL : &self->records[first];
}

uint32_t
zsat_tasks_slot (zsat_tasks_t *self, const zsat_task_t *task)
{
    if (!task || task < self->records || task >= self->records + self->capacity)
        return ZSAT_TASK_NONE;
    return (uint32_t)(task - self->records);
}

zsat_task_t *
zsat_tasks_at (zsat_tasks_t *self, uint32_t slot)
{
    if (slot >= self->capacity)
        return NULL;
    zsat_task_t *task = &self->records[slot];
    //  a free record has list_prev NONE (removed) or is on the free chain (never used)
    return zsat_tasks_find (self, task->task_id) == task ? task : NULL;
}

void
zsat_tasks_mark (zsat_task_t *task, int event, int64_t now_us, uint32_t retry, uint16_t origin)
{
    //  One clock: created_us and now_us are both the tracker's, so dt is >= 0 unless a caller
    //  passed an older now; such a mark is put at the first event, never before it.
    int64_t dt;
    if (__builtin_sub_overflow (now_us, task->created_us, &dt))
        dt = now_us > task->created_us ? INT64_MAX : 0;
    dt = dt < 0 ? 0 : dt / 10;
    if (dt > UINT32_MAX)
        dt = UINT32_MAX;
    //  the first event stays (where and when the task began); the others take turns
    zsat_task_mark_t *m = &task->history[0];
    if (task->marks) {
        m = &task->history[1 + task->ring];
        task->ring = (uint8_t)((task->ring + 1) % (ZSAT_TASK_HISTORY - 1));
    }
    m->dt = (uint32_t)dt;
    m->event = (uint8_t)event;
    m->retry = retry > 255 ? 255 : (uint8_t)retry;
    m->origin = origin;
    if (task->marks < 255)
        task->marks++;
}

size_t
zsat_tasks_history (const zsat_task_t *task, zsat_task_mark_t *out)
{
    if (task->marks == 0)
        return 0;
    const size_t turns = ZSAT_TASK_HISTORY - 1;
    size_t rest = task->marks - 1u < turns ? task->marks - 1u : turns;
    size_t first = (task->ring + turns - rest) % turns;
    out[0] = task->history[0];
    for (size_t i = 0; i < rest; i++)
        out[1 + i] = task->history[1 + (first + i) % turns];
    return 1 + rest;
}

bool
zsat_tasks_last (const zsat_task_t *task, zsat_task_mark_t *out)
{
    if (task->marks == 0)
        return false;
    const size_t turns = ZSAT_TASK_HISTORY - 1;
    *out =
        task->marks == 1 ? task->history[0] : task->history[1 + (task->ring + turns - 1) % turns];
    return true;
}

size_t
zsat_tasks_size (zsat_tasks_t *self)
{
    return self->size;
}

size_t
zsat_tasks_finished (zsat_tasks_t *self)
{
    return self->finished;
}

uint32_t
zsat_tasks_capacity (zsat_tasks_t *self)
{
    return self->capacity;
}

size_t
zsat_tasks_footprint (zsat_tasks_t *self)
{
    return sizeof *self + ((size_t)self->capacity + 2) * sizeof (zsat_task_t) +
           (size_t)self->index_size * sizeof (uint32_t);
}

//  --- selftest ---

static void
s_test_basics (void)
{
    assert (sizeof (zsat_task_t) == 104);
    assert (zsat_tasks_new (0) == NULL);
    zsat_tasks_t *t = zsat_tasks_new (4);
    assert (t && zsat_tasks_capacity (t) == 4);
    zsat_task_t *a = zsat_tasks_insert (t, 0);  //  task id 0 is a valid id
    zsat_task_t *b = zsat_tasks_insert (t, 7);
    assert (a && b && a != b);
    assert (zsat_tasks_insert (t, 7) == NULL);  //  already there
    assert (zsat_tasks_find (t, 0) == a && zsat_tasks_find (t, 7) == b);
    assert (zsat_tasks_find (t, 8) == NULL);
    assert (zsat_tasks_at (t, zsat_tasks_slot (t, b)) == b);
    assert (zsat_tasks_insert (t, 8) && zsat_tasks_insert (t, 9));
    assert (zsat_tasks_insert (t, 10) == NULL);  //  full
    assert (zsat_tasks_oldest (t, false) == a && zsat_tasks_oldest (t, true) == NULL);
    zsat_tasks_set_finished (t, a);
    assert (zsat_tasks_oldest (t, true) == a && zsat_tasks_oldest (t, false) == b);
    assert (zsat_tasks_finished (t) == 1 && zsat_tasks_size (t) == 4);
    uint32_t slot = zsat_tasks_slot (t, a);
    zsat_tasks_remove (t, a);
    assert (zsat_tasks_at (t, slot) == NULL && zsat_tasks_find (t, 0) == NULL);
    assert (zsat_tasks_finished (t) == 0 && zsat_tasks_size (t) == 3);
    zsat_tasks_remove (t, a);  //  twice is a no-op
    assert (zsat_tasks_size (t) == 3);
    assert (zsat_tasks_insert (t, 10) && zsat_tasks_oldest (t, false) == b);
    zsat_tasks_destroy (&t);
    zsat_tasks_destroy (&t);
}

static void
s_test_history (void)
{
    zsat_task_t task = {.created_us = 1000000};
    zsat_task_mark_t out[ZSAT_TASK_HISTORY];
    assert (zsat_tasks_history (&task, out) == 0);
    for (int i = 0; i < 300; i++)
        zsat_tasks_mark (&task, 1 + i % 9, 1000000 + i * 10, (uint32_t)i, (uint16_t)i);
    assert (task.marks == 255);
    assert (zsat_tasks_history (&task, out) == ZSAT_TASK_HISTORY);
    assert (out[0].origin == 0 && out[0].event == 1 && out[0].dt == 0);  //  the first stays
    for (int i = 1; i < ZSAT_TASK_HISTORY; i++)
        assert (out[i].origin == 300 - ZSAT_TASK_HISTORY + i && out[i].retry == 255);
    assert (out[ZSAT_TASK_HISTORY - 1].dt == 299);
    zsat_task_t few = {.created_us = 0};
    zsat_tasks_mark (&few, 1, 0, 0, 7);
    zsat_tasks_mark (&few, 3, 10, 0, 8);
    assert (zsat_tasks_history (&few, out) == 2 && out[0].origin == 7 && out[1].origin == 8);
    zsat_task_mark_t last;
    assert (zsat_tasks_last (&few, &last) && last.origin == 8);
    assert (zsat_tasks_last (&task, &last) && last.event == 3 && last.dt == 299);
    zsat_tasks_mark (&task, 1, INT64_MAX / 2, 0, 0);  //  saturates, no overflow, no wrap
    assert (zsat_tasks_history (&task, out) && out[ZSAT_TASK_HISTORY - 1].dt == UINT32_MAX);
    //  12 h after the first event still reads as later than it (an int32 of 10 us wrapped
    //  to negative past 5.96 h), and an older clock reading is put at the first event
    zsat_tasks_mark (&task, 1, 1000000 + 12LL * 3600 * 1000000, 0, 0);
    assert (zsat_tasks_history (&task, out) && out[ZSAT_TASK_HISTORY - 1].dt == UINT32_MAX);
    zsat_tasks_mark (&task, 1, INT64_MIN, 0, 0);
    zsat_tasks_history (&task, out);
    assert (out[ZSAT_TASK_HISTORY - 1].dt == 0);
}

//  Random inserts and removals against a shadow array: backward-shift deletion must keep
//  every remaining task findable.
static void
s_test_churn (void)
{
    enum { CAP = 5000, IDS = 12000 };
    zsat_tasks_t *t = zsat_tasks_new (CAP);
    static bool present[IDS];
    memset (present, 0, sizeof present);
    uint64_t rng = 42;
    size_t count = 0;
    for (int i = 0; i < 200000; i++) {
        rng = rng * 6364136223846793005ULL + 1442695040888963407ULL;
        uint64_t id = (rng >> 33) % IDS;
        zsat_task_t *task = zsat_tasks_find (t, id);
        assert ((task != NULL) == present[id]);
        if (task) {
            zsat_tasks_remove (t, task);
            present[id] = false;
            count--;
        }
        else if (zsat_tasks_insert (t, id)) {
            present[id] = true;
            count++;
        }
        else
            assert (count == CAP);
    }
    assert (zsat_tasks_size (t) == count);
    for (uint64_t id = 0; id < IDS; id++)
        assert ((zsat_tasks_find (t, id) != NULL) == present[id]);
    assert (zsat_tasks_footprint (t) >= CAP * (sizeof (zsat_task_t) + 8));
    zsat_tasks_destroy (&t);
}

void
zsat_tasks_test (bool verbose)
{
    printf (" * zsat_tasks: ");
    s_test_basics ();
    s_test_history ();
    s_test_churn ();
    printf ("OK\n");
}
