/*  zsat_deadlines - a hashed timer wheel for up to `capacity` timers named by their index.

    Every timer and every slot is a node of circular doubly linked lists held in two index
    arrays: nodes 0..capacity-1 are timers, the next `slots` nodes are the slot heads, the
    last one heads the list being expired. So a timer knows its neighbours and leaves its
    slot in O(1) without knowing which slot it is in. A timer whose tick is more than one
    turn away stays in its slot and is skipped until its turn (a "round" check). Costs 16
    bytes per timer (expiry + two links) plus 8 bytes per slot. Owns no socket.
*/
#include "zsat_deadlines.h"

//  Links hold node + 1, so 0 (what calloc gives) means "not linked": a million timers cost
//  no memory until they are started.
#define NIL 0

struct zsat_deadlines_t {
    uint32_t capacity;
    uint32_t slots;  //  power of two
    uint32_t mask;
    int64_t tick_us;
    int64_t tick;  //  next tick to walk
    size_t size;   //  timers running
    int64_t *expiry;
    uint32_t *next;  //  node + 1; NIL when the timer is stopped
    uint32_t *prev;
};

zsat_deadlines_t *
zsat_deadlines_new (uint32_t capacity, uint32_t slots, int64_t tick_us, int64_t now_us)
{
    if (capacity == 0 || capacity > UINT32_MAX / 2 || slots == 0 || slots > (1u << 24) ||
        tick_us <= 0 || now_us < 0)
        return NULL;
    zsat_deadlines_t *self = (zsat_deadlines_t *)calloc (1, sizeof *self);
    if (!self)
        return NULL;
    uint32_t rounded = 1;
    while (rounded < slots)
        rounded <<= 1;
    self->capacity = capacity;
    self->slots = rounded;
    self->mask = rounded - 1;
    self->tick_us = tick_us;
    self->tick = now_us / tick_us;
    size_t nodes = (size_t)capacity + rounded + 1;
    self->expiry = (int64_t *)calloc (capacity, sizeof (int64_t));
    self->next = (uint32_t *)calloc (nodes, sizeof (uint32_t));
    self->prev = (uint32_t *)calloc (nodes, sizeof (uint32_t));
    if (!self->expiry || !self->next || !self->prev) {
        zsat_deadlines_destroy (&self);
        return NULL;
    }
    for (size_t n = capacity; n < nodes; n++)
        self->next[n] = self->prev[n] = (uint32_t)n + 1;
    return self;
}

void
zsat_deadlines_destroy (zsat_deadlines_t **self_p)
{
    if (self_p && *self_p) {
        zsat_deadlines_t *self = *self_p;
        free (self->expiry);
        free (self->next);
        free (self->prev);
        free (self);
        *self_p = NULL;
    }
}

static void
s_unlink (zsat_deadlines_t *self, uint32_t id)
{
    uint32_t prev = self->prev[id] - 1, next = self->next[id] - 1;
    self->next[prev] = next + 1;
    self->prev[next] = prev + 1;
    self->next[id] = self->prev[id] = NIL;
}

static void
s_append (zsat_deadlines_t *self, uint32_t head, uint32_t id)
{
    uint32_t last = self->prev[head] - 1;
    self->next[last] = id + 1;
    self->prev[id] = last + 1;
    self->next[id] = head + 1;
    self->prev[head] = id + 1;
}

static bool
s_empty (zsat_deadlines_t *self, uint32_t head)
{
    return self->next[head] == head + 1;
}

static uint32_t
s_head_of_tick (zsat_deadlines_t *self, int64_t tick)
{
    return self->capacity + (uint32_t)(tick & self->mask);
}

int
zsat_deadlines_start (zsat_deadlines_t *self, uint32_t id, int64_t expiry_us)
{
    if (id >= self->capacity)
        return -1;
    if (self->next[id] != NIL)
        s_unlink (self, id);
    else
        self->size++;
    if (expiry_us < 0)
        expiry_us = 0;
    self->expiry[id] = expiry_us;
    //  A tick already walked would only come round again a whole turn later.
    int64_t tick = expiry_us / self->tick_us;
    s_append (self, s_head_of_tick (self, tick < self->tick ? self->tick : tick), id);
    return 0;
}

void
zsat_deadlines_cancel (zsat_deadlines_t *self, uint32_t id)
{
    if (id < self->capacity && self->next[id] != NIL) {
        s_unlink (self, id);
        self->size--;
    }
}

bool
zsat_deadlines_active (zsat_deadlines_t *self, uint32_t id, int64_t *expiry_us)
{
    if (id >= self->capacity || self->next[id] == NIL)
        return false;
    if (expiry_us)
        *expiry_us = self->expiry[id];
    return true;
}

//  Moves the slot's timers to the expiry list, then fires those due by `upto` and puts the
//  others back. Detaching first lets callbacks cancel any timer, even the next one here.
static size_t
s_walk_slot (zsat_deadlines_t *self, int64_t tick, int64_t upto, zsat_deadline_fn *fn, void *arg)
{
    uint32_t head = s_head_of_tick (self, tick);
    uint32_t work = self->capacity + self->slots;
    if (s_empty (self, head))
        return 0;
    self->next[work] = self->next[head];
    self->prev[work] = self->prev[head];
    self->prev[self->next[work] - 1] = work + 1;
    self->next[self->prev[work] - 1] = work + 1;
    self->next[head] = self->prev[head] = head + 1;
    size_t fired = 0;
    while (!s_empty (self, work)) {
        uint32_t id = self->next[work] - 1;
        s_unlink (self, id);
        if (self->expiry[id] / self->tick_us <= upto) {
            self->size--;
            fired++;
            fn (id, self->expiry[id], arg);
        }
        else
            s_append (self, head, id);
    }
    return fired;
}

size_t
zsat_deadlines_expire (zsat_deadlines_t *self, int64_t now_us, zsat_deadline_fn *fn, void *arg)
{
    int64_t target = now_us / self->tick_us;
    size_t fired = 0;
    if (target - self->tick >= (int64_t)self->slots) {
        //  A long gap: one turn over every slot fires everything due, in slot order.
        int64_t first = self->tick;
        self->tick = target + 1;
        for (int64_t t = first; t < first + self->slots; t++)
            fired += s_walk_slot (self, t, target, fn, arg);
        return fired;
    }
    while (self->tick <= target) {
        int64_t t = self->tick++;
        fired += s_walk_slot (self, t, t, fn, arg);
    }
    return fired;
}

int64_t
zsat_deadlines_next_us (zsat_deadlines_t *self, int64_t limit_us)
{
    for (int64_t t = self->tick; t < self->tick + (int64_t)self->slots; t++) {
        if (t * self->tick_us >= limit_us)
            break;
        if (!s_empty (self, s_head_of_tick (self, t)))
            return t * self->tick_us;
    }
    return limit_us;
}

size_t
zsat_deadlines_size (zsat_deadlines_t *self)
{
    return self->size;
}

size_t
zsat_deadlines_footprint (zsat_deadlines_t *self)
{
    size_t nodes = (size_t)self->capacity + self->slots + 1;
    return sizeof *self + self->capacity * sizeof (int64_t) + 2 * nodes * sizeof (uint32_t);
}

//  --- selftest ---

#define NONE UINT32_MAX

typedef struct {
    uint32_t ids[4096];
    int64_t when[4096];
    size_t count;
    zsat_deadlines_t *wheel;
    uint32_t cancel_id;  //  cancelled by the callback when not NONE
    uint32_t restart_id;
} s_log_t;

static void
s_record (uint32_t id, int64_t expiry_us, void *arg)
{
    s_log_t *log = (s_log_t *)arg;
    assert (log->count < 4096);
    log->ids[log->count] = id;
    log->when[log->count++] = expiry_us;
    if (log->cancel_id != NONE)
        zsat_deadlines_cancel (log->wheel, log->cancel_id);
    if (log->restart_id == id) {
        log->restart_id = NONE;
        zsat_deadlines_start (log->wheel, id, 0);  //  in the past: next tick walked
    }
}

static void
s_test_order (void)
{
    zsat_deadlines_t *w = zsat_deadlines_new (100, 16, 1000, 5000000);
    assert (w);
    s_log_t log = {.wheel = w, .cancel_id = NONE, .restart_id = NONE};
    //  reverse start order, two in one slot, one several turns away
    for (uint32_t i = 0; i < 10; i++)
        assert (zsat_deadlines_start (w, i, 5000000 + (10 - i) * 1000) == 0);
    assert (zsat_deadlines_start (w, 50, 5000000 + 3 * 1000 + 16 * 1000 * 5) == 0);
    assert (zsat_deadlines_start (w, 100, 1) == -1);
    assert (zsat_deadlines_size (w) == 11);
    assert (zsat_deadlines_expire (w, 5000000 + 4999, s_record, &log) == 4);
    assert (log.ids[0] == 9 && log.ids[1] == 8 && log.ids[2] == 7 && log.ids[3] == 6);
    assert (zsat_deadlines_expire (w, 5000000 + 20000, s_record, &log) == 6);
    for (size_t i = 1; i < log.count; i++)
        assert (log.when[i] >= log.when[i - 1]);
    assert (zsat_deadlines_size (w) == 1 && zsat_deadlines_active (w, 50, NULL));
    //  far future: skipped on every turn until due
    assert (zsat_deadlines_expire (w, 5000000 + 82999, s_record, &log) == 0);
    assert (zsat_deadlines_expire (w, 5000000 + 83000, s_record, &log) == 1);
    assert (log.ids[10] == 50 && zsat_deadlines_size (w) == 0);
    zsat_deadlines_destroy (&w);
    zsat_deadlines_destroy (&w);
}

//  The next non-empty slot bounds the next expiry from below: sleeping until then is safe.
static void
s_test_next (void)
{
    zsat_deadlines_t *w = zsat_deadlines_new (10, 16, 1000, 0);
    s_log_t log = {.wheel = w, .cancel_id = NONE, .restart_id = NONE};
    assert (zsat_deadlines_next_us (w, 50000) == 50000);  //  empty: the limit
    assert (zsat_deadlines_start (w, 1, 7500) == 0);
    assert (zsat_deadlines_next_us (w, 50000) == 7000);
    assert (zsat_deadlines_next_us (w, 5000) == 5000);                //  beyond the limit
    assert (zsat_deadlines_start (w, 2, 3000 + 16 * 1000 * 3) == 0);  //  slot 3, three turns on
    assert (zsat_deadlines_next_us (w, 50000) == 3000);               //  early, never late
    assert (zsat_deadlines_expire (w, 3000, s_record, &log) == 0);
    assert (zsat_deadlines_next_us (w, 50000) == 7000);
    assert (zsat_deadlines_expire (w, 7000, s_record, &log) == 1 && log.ids[0] == 1);
    assert (zsat_deadlines_next_us (w, 1000000) == 19000);  //  slot 3 of the next turn
    zsat_deadlines_destroy (&w);
}

static void
s_test_cancel (void)
{
    zsat_deadlines_t *w = zsat_deadlines_new (1000, 8, 10, 0);
    s_log_t log = {.wheel = w, .cancel_id = NONE, .restart_id = NONE};
    //  many timers in the same slot; cancel half; reschedule some
    for (uint32_t i = 0; i < 1000; i++)
        zsat_deadlines_start (w, i, 80);
    for (uint32_t i = 0; i < 1000; i += 2)
        zsat_deadlines_cancel (w, i);
    zsat_deadlines_cancel (w, 0);  //  twice is a no-op
    for (uint32_t i = 1; i < 100; i += 2)
        zsat_deadlines_start (w, i, 1000);  //  restart later
    assert (zsat_deadlines_size (w) == 500);
    assert (zsat_deadlines_expire (w, 80, s_record, &log) == 450);
    for (size_t i = 0; i < log.count; i++)
        assert (log.ids[i] % 2 == 1 && log.ids[i] >= 100);
    //  cancel during expiry: the first to fire cancels another due in the same slot
    log.count = 0;
    zsat_deadlines_start (w, 1, 2000);
    zsat_deadlines_start (w, 3, 2000);
    assert (zsat_deadlines_size (w) == 50);
    log.cancel_id = 3;
    assert (zsat_deadlines_expire (w, 1000, s_record, &log) == 48);
    log.count = 0;
    assert (zsat_deadlines_expire (w, 2000, s_record, &log) == 1);
    assert (log.ids[0] == 1 && zsat_deadlines_size (w) == 0);
    //  restart itself in the past during expiry: fires once more, later, and expiry ends
    log.cancel_id = NONE;
    log.count = 0;
    zsat_deadlines_start (w, 7, 2010);
    log.restart_id = 7;
    size_t fired = zsat_deadlines_expire (w, 2010, s_record, &log);
    fired += zsat_deadlines_expire (w, 2020, s_record, &log);
    assert (fired == 2 && log.ids[0] == 7 && log.ids[1] == 7);
    zsat_deadlines_destroy (&w);
}

static void
s_test_gap (void)
{
    //  a clock jump of many turns fires everything due at once, nothing early
    zsat_deadlines_t *w = zsat_deadlines_new (64, 4, 1000, 0);
    s_log_t log = {.wheel = w, .cancel_id = NONE, .restart_id = NONE};
    for (uint32_t i = 0; i < 64; i++)
        zsat_deadlines_start (w, i, (int64_t)i * 100000);
    assert (zsat_deadlines_expire (w, 3000000, s_record, &log) == 31);
    assert (zsat_deadlines_size (w) == 33);
    assert (zsat_deadlines_expire (w, 100000000, s_record, &log) == 33);
    assert (zsat_deadlines_footprint (w) > 64 * 16);
    assert (zsat_deadlines_new (0, 4, 1, 0) == NULL);
    assert (zsat_deadlines_new (4, 4, 0, 0) == NULL);
    zsat_deadlines_destroy (&w);
}

void
zsat_deadlines_test (bool verbose)
{
    printf (" * zsat_deadlines: ");
    s_test_order ();
    s_test_next ();
    s_test_cancel ();
    s_test_gap ();
    printf ("OK\n");
}
