// SPDX-License-Identifier: MPL-2.0
/*  zsat_dedup - (producer, id) -> seq of what a buffer node stored (zsat_dedup.h). One ring
    of ids per producer: id % window is its slot, so a lookup is one compare.
*/
#include "zsat_dedup.h"

typedef struct {
    uint64_t id, seq;
} slot_t;

typedef struct {
    char name[ZSAT_PRODUCER_MAX];
    uint64_t used;  //  tick of the last use: the least recent is replaced first
    slot_t *ring;   //  ZSAT_DEDUP_WINDOW slots
} producer_t;

struct zsat_dedup_t {
    producer_t producer[ZSAT_DEDUP_PRODUCERS];
    size_t count;
    uint64_t tick;
};

zsat_dedup_t *
zsat_dedup_new (void)
{
    return calloc (1, sizeof (zsat_dedup_t));
}

void
zsat_dedup_destroy (zsat_dedup_t **self_p)
{
    zsat_dedup_t *self = *self_p;
    if (!self)
        return;
    for (size_t i = 0; i < self->count; i++)
        free (self->producer[i].ring);
    free (self);
    *self_p = NULL;
}

static producer_t *
s_find (zsat_dedup_t *self, const char *name)
{
    for (size_t i = 0; i < self->count; i++)
        if (streq (self->producer[i].name, name)) {
            self->producer[i].used = ++self->tick;
            return &self->producer[i];
        }
    return NULL;
}

uint64_t
zsat_dedup_find (zsat_dedup_t *self, const char *producer, uint64_t id)
{
    producer_t *p = s_find (self, producer);
    if (!p || id == 0)
        return 0;
    slot_t *slot = &p->ring[id % ZSAT_DEDUP_WINDOW];
    return slot->id == id ? slot->seq : 0;
}

void
zsat_dedup_add (zsat_dedup_t *self, const char *producer, uint64_t id, uint64_t seq)
{
    producer_t *p = s_find (self, producer);
    if (!p && self->count < ZSAT_DEDUP_PRODUCERS) {
        p = &self->producer[self->count];
        p->ring = calloc (ZSAT_DEDUP_WINDOW, sizeof *p->ring);
        if (!p->ring)
            return;
        self->count++;
    }
    else if (!p) {
        p = &self->producer[0];
        for (size_t i = 1; i < self->count; i++)
            if (self->producer[i].used < p->used)
                p = &self->producer[i];
        memset (p->ring, 0, ZSAT_DEDUP_WINDOW * sizeof *p->ring);
    }
    if (p->name[0] == 0 || !streq (p->name, producer))
        snprintf (p->name, sizeof p->name, "%s", producer);
    p->used = ++self->tick;
    p->ring[id % ZSAT_DEDUP_WINDOW] = (slot_t){id, seq};
}

int
zsat_dedup_parse (const uint8_t *data, size_t size, char *producer, uint64_t *id)
{
    char text[ZSAT_PRODUCER_MAX + 24];
    if (!data || size == 0 || size >= sizeof text)
        return -1;
    memcpy (text, data, size);
    text[size] = 0;
    char name[ZSAT_PRODUCER_MAX];
    int used = 0;
    if (sscanf (text, "%39s %" SCNu64 "%n", name, id, &used) != 2 || (size_t)used != size ||
        !zsat_name_valid (name) || *id == 0)
        return -1;
    snprintf (producer, ZSAT_PRODUCER_MAX, "%s", name);
    return 0;
}

void
zsat_dedup_test (bool verbose)
{
    printf (" * zsat_dedup: ");
    zsat_dedup_t *d = zsat_dedup_new ();
    assert (zsat_dedup_find (d, "p1", 1) == 0);
    zsat_dedup_add (d, "p1", 1, 100);
    zsat_dedup_add (d, "p1", 2, 101);
    zsat_dedup_add (d, "p2", 1, 102);
    assert (zsat_dedup_find (d, "p1", 1) == 100 && zsat_dedup_find (d, "p1", 2) == 101);
    assert (zsat_dedup_find (d, "p2", 1) == 102 && zsat_dedup_find (d, "p2", 2) == 0);
    //  The window slides: an id a window older is forgotten, never mistaken.
    zsat_dedup_add (d, "p1", 1 + ZSAT_DEDUP_WINDOW, 200);
    assert (zsat_dedup_find (d, "p1", 1) == 0 &&
            zsat_dedup_find (d, "p1", 1 + ZSAT_DEDUP_WINDOW) == 200);
    //  More producers than the table holds: the least recently seen goes first.
    char name[16];
    for (int i = 0; i < ZSAT_DEDUP_PRODUCERS + 5; i++) {
        snprintf (name, sizeof name, "q%d", i);
        zsat_dedup_add (d, name, 7, (uint64_t)i + 1);
        assert (zsat_dedup_find (d, "p1", 2) == 101);  //  kept in use: never evicted
    }
    assert (zsat_dedup_find (d, "q0", 7) == 0 && zsat_dedup_find (d, "p2", 1) == 0);
    snprintf (name, sizeof name, "q%d", ZSAT_DEDUP_PRODUCERS + 4);
    assert (zsat_dedup_find (d, name, 7) == ZSAT_DEDUP_PRODUCERS + 5);
    zsat_dedup_destroy (&d);
    char producer[ZSAT_PRODUCER_MAX];
    uint64_t id;
    assert (zsat_dedup_parse ((const uint8_t *)"p-1.a 42", 8, producer, &id) == 0);
    assert (streq (producer, "p-1.a") && id == 42);
    assert (zsat_dedup_parse ((const uint8_t *)"p1 42 x", 7, producer, &id) == -1);
    assert (zsat_dedup_parse ((const uint8_t *)"p/1 42", 6, producer, &id) == -1);
    assert (zsat_dedup_parse ((const uint8_t *)"p1 0", 4, producer, &id) == -1);
    assert (zsat_dedup_parse ((const uint8_t *)"", 0, producer, &id) == -1);
    if (verbose)
        printf ("(window per producer, least recent producer evicted, origin parsing) ");
    printf ("OK\n");
}
