/*  zsat_retrycache - bounded, preallocated cache of routed vectors' frames for RESEND.
    The frames are appended to one ring arena in arrival order (sequential writes, which the
    CPU prefetches), and a small set-associative index maps task_id to the record's position:
    one cache line per lookup. A record is valid while the ring has not come round to it,
    so evicting needs no bookkeeping; an index entry pointing to an overwritten record is
    simply free.
*/
#include "zsat_retrycache.h"

//  Record header in the ring, followed by the three frames.
typedef struct {
    uint64_t task_id;
    uint32_t routing_size, envelope_size, payload_size, length;
} s_record_t;

typedef struct {
    uint64_t task_id;
    uint64_t pos;  //  virtual position of the record + 1; 0 = empty
} s_entry_t;

struct zsat_retrycache_t {
    size_t sets;  //  a power of two
    size_t slot_bytes;
    s_entry_t *index;  //  sets * WAYS
    uint8_t *arena;
    uint64_t size;   //  arena bytes
    uint64_t write;  //  virtual write position (grows; physical = write % size)
    uint64_t stored, evicted, too_big;
};

zsat_retrycache_t *
zsat_retrycache_new (size_t slots, size_t slot_bytes)
{
    zsat_retrycache_t *self = (zsat_retrycache_t *)calloc (1, sizeof *self);
    if (!self)
        return NULL;
    self->sets = 1;
    while (self->sets * ZSAT_RETRYCACHE_WAYS < slots)
        self->sets <<= 1;
    self->slot_bytes = slot_bytes;
    size_t count = self->sets * ZSAT_RETRYCACHE_WAYS;
    //  Room for `count` records of the biggest size: the index, not the ring, bounds entries.
    self->size = (uint64_t)count * ((slot_bytes + sizeof (s_record_t) + 63) & ~(size_t)63);
    self->index = (s_entry_t *)calloc (count, sizeof (s_entry_t));
    self->arena = (uint8_t *)malloc (self->size);
    if (!self->index || !self->arena)
        zsat_retrycache_destroy (&self);
    return self;
}

void
zsat_retrycache_destroy (zsat_retrycache_t **self_p)
{
    if (self_p && *self_p) {
        free ((*self_p)->index);
        free ((*self_p)->arena);
        free (*self_p);
        *self_p = NULL;
    }
}

//  Task ids carry a counter in their low bits: mix so consecutive ids spread over sets.
static s_entry_t *
s_set_of (zsat_retrycache_t *self, uint64_t task_id)
{
    uint64_t h = task_id * 0x9E3779B97F4A7C15ull;
    return &self->index[((size_t)(h >> 32) & (self->sets - 1)) * ZSAT_RETRYCACHE_WAYS];
}

//  True when the record at virtual position pos has not been overwritten by the ring.
static bool
s_live (zsat_retrycache_t *self, const s_entry_t *e)
{
    return e->pos && self->write - (e->pos - 1) <= self->size;
}

static s_record_t *
s_record (zsat_retrycache_t *self, uint64_t pos)
{
    return (s_record_t *)(self->arena + pos % self->size);
}

//  Returns the entry of task_id, or the one to reuse (dead, else the oldest) with *found false.
static s_entry_t *
s_find (zsat_retrycache_t *self, uint64_t task_id, bool *found)
{
    s_entry_t *set = s_set_of (self, task_id), *victim = NULL;
    *found = false;
    for (s_entry_t *e = set; e < set + ZSAT_RETRYCACHE_WAYS; e++) {
        bool live = s_live (self, e);
        if (live && e->task_id == task_id) {
            *found = true;
            return e;
        }
        if (!live)
            victim = victim && !s_live (self, victim) ? victim : e;
        else if (!victim || (s_live (self, victim) && e->pos < victim->pos))
            victim = e;
    }
    return victim;
}

int
zsat_retrycache_put (zsat_retrycache_t *self, uint64_t task_id, const void *routing,
                     size_t routing_size, const void *envelope, size_t envelope_size,
                     const void *payload, size_t payload_size)
{
    size_t bytes = routing_size + envelope_size + payload_size;
    if (bytes > self->slot_bytes) {
        self->too_big++;
        return -1;
    }
    uint64_t length = (sizeof (s_record_t) + bytes + 63) & ~(uint64_t)63;
    //  A record never wraps: skip to the start of the ring when it does not fit before the end.
    if (self->write % self->size + length > self->size)
        self->write += self->size - self->write % self->size;
    bool found;
    s_entry_t *e = s_find (self, task_id, &found);
    if (!found && s_live (self, e))
        self->evicted++;
    s_record_t *r = s_record (self, self->write);
    *r = (s_record_t){task_id, (uint32_t)routing_size, (uint32_t)envelope_size,
                      (uint32_t)payload_size, (uint32_t)length};
    uint8_t *data = (uint8_t *)(r + 1);
    memcpy (data, routing, routing_size);
    memcpy (data + routing_size, envelope, envelope_size);
    if (payload_size)
        memcpy (data + routing_size + envelope_size, payload, payload_size);
    e->task_id = task_id;
    e->pos = self->write + 1;
    self->write += length;
    self->stored++;
    return 0;
}

int
zsat_retrycache_get (zsat_retrycache_t *self, uint64_t task_id, zsat_retrycache_item_t *item)
{
    bool found;
    s_entry_t *e = s_find (self, task_id, &found);
    if (!found)
        return -1;
    s_record_t *r = s_record (self, e->pos - 1);
    if (r->task_id != task_id)
        return -1;
    uint8_t *data = (uint8_t *)(r + 1);
    item->task_id = task_id;
    item->routing = data;
    item->routing_size = r->routing_size;
    item->envelope = data + r->routing_size;
    item->envelope_size = r->envelope_size;
    item->payload = item->envelope + r->envelope_size;
    item->payload_size = r->payload_size;
    return 0;
}

uint64_t
zsat_retrycache_stored (zsat_retrycache_t *self)
{
    return self->stored;
}

uint64_t
zsat_retrycache_evicted (zsat_retrycache_t *self)
{
    return self->evicted;
}

uint64_t
zsat_retrycache_too_big (zsat_retrycache_t *self)
{
    return self->too_big;
}

void
zsat_retrycache_test (bool verbose)
{
    printf (" * zsat_retrycache: ");
    zsat_retrycache_t *cache = zsat_retrycache_new (64, 256);
    assert (cache);
    zsat_retrycache_item_t item;
    assert (zsat_retrycache_get (cache, 42, &item) == -1);
    assert (zsat_retrycache_put (cache, 42, "h/cpu", 5, "ENV", 3, "payload", 7) == 0);
    assert (zsat_retrycache_get (cache, 42, &item) == 0);
    assert (item.routing_size == 5 && memcmp (item.routing, "h/cpu", 5) == 0);
    assert (item.envelope_size == 3 && memcmp (item.envelope, "ENV", 3) == 0);
    assert (item.payload_size == 7 && memcmp (item.payload, "payload", 7) == 0);
    //  a newer copy of the same task replaces the old one in place
    assert (zsat_retrycache_put (cache, 42, "h/cpu", 5, "ENV2", 4, "", 0) == 0);
    assert (zsat_retrycache_get (cache, 42, &item) == 0);
    assert (item.envelope_size == 4 && item.payload_size == 0);
    assert (zsat_retrycache_evicted (cache) == 0);
    //  too big for a slot: refused and counted, nothing kept
    uint8_t big[300] = {0};
    assert (zsat_retrycache_put (cache, 7, "h/x", 3, big, sizeof big, NULL, 0) == -1);
    assert (zsat_retrycache_too_big (cache) == 1);
    assert (zsat_retrycache_get (cache, 7, &item) == -1);

    //  bounded: after many more puts than slots, the latest are found, the oldest evicted,
    //  and what is found is always the right task's bytes
    for (uint64_t id = 1000; id < 1000 + 10000; id++)
        assert (zsat_retrycache_put (cache, id, &id, sizeof id, "E", 1, "P", 1) == 0);
    assert (zsat_retrycache_evicted (cache) >= 10000 - 64);
    size_t found = 0;
    for (uint64_t id = 1000; id < 1000 + 10000; id++)
        if (zsat_retrycache_get (cache, id, &item) == 0) {
            assert (memcmp (item.routing, &id, sizeof id) == 0);
            found++;
        }
    assert (found == 64);
    //  the very last one is always retained
    uint64_t last = 1000 + 10000 - 1;
    assert (zsat_retrycache_get (cache, last, &item) == 0);
    assert (zsat_retrycache_stored (cache) == 10002);
    zsat_retrycache_destroy (&cache);
    zsat_retrycache_destroy (&cache);

    //  The ring wraps with records of every size: whatever is found has its own bytes, and
    //  the latest put is always found.
    cache = zsat_retrycache_new (8, 200);
    uint8_t payload[200];
    uint32_t seed = 7;
    for (uint64_t id = 1; id < 5000; id++) {
        seed = seed * 1103515245u + 12345u;
        size_t size = (seed >> 16) % 180;
        memset (payload, (int)(id & 0xff), size);
        assert (zsat_retrycache_put (cache, id, &id, sizeof id, "E", 1, payload, size) == 0);
        assert (zsat_retrycache_get (cache, id, &item) == 0 && item.payload_size == size);
        for (uint64_t back = id > 20 ? id - 20 : 1; back <= id; back++)
            if (zsat_retrycache_get (cache, back, &item) == 0) {
                assert (memcmp (item.routing, &back, sizeof back) == 0);
                for (size_t k = 0; k < item.payload_size; k++)
                    assert (item.payload[k] == (uint8_t)(back & 0xff));
            }
    }
    zsat_retrycache_destroy (&cache);
    if (verbose)
        printf ("(%zu found of 10000) ", found);
    printf ("OK\n");
}
