/*  zsat_retrycache - bounded, preallocated cache of routed vectors' frames for RESEND.
    Set-associative rather than a ring with a separate index: the slot of a task is found by
    its hash alone, so there is no index to keep consistent with evictions, and a put costs a
    hash, four compares and one memcpy.
*/
#include "zsat_retrycache.h"

typedef struct {
    uint64_t task_id;
    uint64_t stamp;  //  insertion order; 0 = empty
    uint32_t routing_size, envelope_size, payload_size;
} s_slot_t;

struct zsat_retrycache_t {
    size_t sets;  //  a power of two
    size_t slot_bytes;
    s_slot_t *slot;  //  sets * WAYS
    uint8_t *arena;  //  sets * WAYS * slot_bytes
    uint64_t clock;
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
    self->slot = (s_slot_t *)calloc (count, sizeof (s_slot_t));
    self->arena = (uint8_t *)malloc (count * slot_bytes + 1);
    if (!self->slot || !self->arena)
        zsat_retrycache_destroy (&self);
    return self;
}

void
zsat_retrycache_destroy (zsat_retrycache_t **self_p)
{
    if (self_p && *self_p) {
        free ((*self_p)->slot);
        free ((*self_p)->arena);
        free (*self_p);
        *self_p = NULL;
    }
}

//  Task ids carry a counter in their low bits: mix so consecutive ids spread over sets.
static size_t
s_set_of (zsat_retrycache_t *self, uint64_t task_id)
{
    uint64_t h = task_id * 0x9E3779B97F4A7C15ull;
    return (size_t)(h >> 32) & (self->sets - 1);
}

//  Returns the way holding task_id in its set, or the way to fill (empty or oldest).
static size_t
s_find (zsat_retrycache_t *self, uint64_t task_id, bool *found)
{
    size_t base = s_set_of (self, task_id) * ZSAT_RETRYCACHE_WAYS;
    size_t victim = base;
    *found = false;
    for (size_t w = base; w < base + ZSAT_RETRYCACHE_WAYS; w++) {
        if (self->slot[w].stamp && self->slot[w].task_id == task_id) {
            *found = true;
            return w;
        }
        if (self->slot[w].stamp < self->slot[victim].stamp)
            victim = w;
    }
    return victim;
}

int
zsat_retrycache_put (zsat_retrycache_t *self, uint64_t task_id, const void *routing,
                     size_t routing_size, const void *envelope, size_t envelope_size,
                     const void *payload, size_t payload_size)
{
    if (routing_size + envelope_size + payload_size > self->slot_bytes) {
        self->too_big++;
        return -1;
    }
    bool found;
    size_t w = s_find (self, task_id, &found);
    if (!found && self->slot[w].stamp)
        self->evicted++;
    s_slot_t *slot = &self->slot[w];
    slot->task_id = task_id;
    slot->stamp = ++self->clock;
    slot->routing_size = (uint32_t)routing_size;
    slot->envelope_size = (uint32_t)envelope_size;
    slot->payload_size = (uint32_t)payload_size;
    uint8_t *data = self->arena + w * self->slot_bytes;
    memcpy (data, routing, routing_size);
    memcpy (data + routing_size, envelope, envelope_size);
    if (payload_size)
        memcpy (data + routing_size + envelope_size, payload, payload_size);
    self->stored++;
    return 0;
}

int
zsat_retrycache_get (zsat_retrycache_t *self, uint64_t task_id, zsat_retrycache_item_t *item)
{
    bool found;
    size_t w = s_find (self, task_id, &found);
    if (!found)
        return -1;
    s_slot_t *slot = &self->slot[w];
    uint8_t *data = self->arena + w * self->slot_bytes;
    item->task_id = task_id;
    item->routing = data;
    item->routing_size = slot->routing_size;
    item->envelope = data + slot->routing_size;
    item->envelope_size = slot->envelope_size;
    item->payload = item->envelope + slot->envelope_size;
    item->payload_size = slot->payload_size;
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
    if (verbose)
        printf ("(%zu found of 10000) ", found);
    printf ("OK\n");
}
