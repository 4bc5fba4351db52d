/*  zsat_retrycache - a bounded cache of the frames of recently routed vectors, keyed by
    task_id, so the orchester can re-send a task when the tracker asks (RESEND). Memory is
    allocated once at creation: a ring arena the frames are appended to, and a 4-way
    set-associative index. A put never allocates; the oldest vectors are overwritten (or
    leave the index when their set is full), and a vector bigger than a slot is not retained
    (counted).
*/
#ifndef ZSAT_RETRYCACHE_H_INCLUDED
#define ZSAT_RETRYCACHE_H_INCLUDED
#include "zsat.h"

#define ZSAT_RETRYCACHE_WAYS 4

//  One cached vector: pointers into the cache, valid until the next put.
typedef struct {
    uint64_t task_id;
    uint8_t *routing;
    size_t routing_size;
    uint8_t *envelope;  //  writable: the orchester patches retry/seq in place
    size_t envelope_size;
    uint8_t *payload;
    size_t payload_size;
} zsat_retrycache_item_t;

typedef struct zsat_retrycache_t zsat_retrycache_t;

//  Creates a cache of about `slots` entries (rounded up to a power of two, at least 4) of up
//  to slot_bytes bytes each (three frames together). Returns NULL when out of memory.
zsat_retrycache_t *zsat_retrycache_new (size_t slots, size_t slot_bytes);
void zsat_retrycache_destroy (zsat_retrycache_t **self_p);
//  Copies the three frames under task_id, replacing an older copy of the same task. Returns
//  0, or -1 when they do not fit in a slot (then counted as too big, nothing kept).
int zsat_retrycache_put (zsat_retrycache_t *self, uint64_t task_id, const void *routing,
                         size_t routing_size, const void *envelope, size_t envelope_size,
                         const void *payload, size_t payload_size);
//  Finds task_id. Returns 0 and fills item, or -1 when not retained (never stored, evicted).
int zsat_retrycache_get (zsat_retrycache_t *self, uint64_t task_id, zsat_retrycache_item_t *item);
//  Counters: entries stored, evicted to make room, refused as too big.
uint64_t zsat_retrycache_stored (zsat_retrycache_t *self);
uint64_t zsat_retrycache_evicted (zsat_retrycache_t *self);
uint64_t zsat_retrycache_too_big (zsat_retrycache_t *self);

#endif
