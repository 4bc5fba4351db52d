// SPDX-License-Identifier: MPL-2.0
/*  zsat_dedup - which (producer, producer id) pairs a buffer node already stored, and as
    which seq. A producer re-sends a vector it got no answer for; when the first copy did
    arrive, the node answers the re-sent one with the first copy's seq instead of storing it
    again. Bounded: a window of ZSAT_DEDUP_WINDOW ids per producer, ZSAT_DEDUP_PRODUCERS
    producers (the least recently seen is forgotten first). The node rebuilds it at start
    from the origin frames of the newest log records, so it survives a restart.
*/
#ifndef ZSAT_DEDUP_H_INCLUDED
#define ZSAT_DEDUP_H_INCLUDED
#include "zsat.h"

#define ZSAT_DEDUP_WINDOW    4096
#define ZSAT_DEDUP_PRODUCERS 64
#define ZSAT_PRODUCER_MAX    40  //  a producer name: [0-9a-zA-Z_.-], shorter than this

typedef struct zsat_dedup_t zsat_dedup_t;

zsat_dedup_t *zsat_dedup_new (void);
void zsat_dedup_destroy (zsat_dedup_t **self_p);
//  The seq (producer, id) was stored as, or 0 when it is not remembered.
uint64_t zsat_dedup_find (zsat_dedup_t *self, const char *producer, uint64_t id);
//  Remembers that (producer, id) was stored as seq.
void zsat_dedup_add (zsat_dedup_t *self, const char *producer, uint64_t id, uint64_t seq);
//  Parses an origin frame "<producer> <id>". Returns 0, or -1 when it is not one.
int zsat_dedup_parse (const uint8_t *data, size_t size, char *producer, uint64_t *id);

void zsat_dedup_test (bool verbose);

#endif
