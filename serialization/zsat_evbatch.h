/*  zsat_evbatch - tracker events, many per message, so tracking costs a fraction of a send
    per vector. Every node batches its events and flushes by count or after a short delay.
    Wire (docs/protocol.md): frame 0 "zsat.ev", frame 1 msgpack
      [version, host, node, wid, pid, zsat_version, [[event, task_id, job_id, type, retry,
       seq, timestamp_us, flags, detail], ...]]
    A batch with a HEARTBEAT record is the node's heartbeat.
*/
#ifndef ZSAT_EVBATCH_H_INCLUDED
#define ZSAT_EVBATCH_H_INCLUDED
#include "zsat.h"

#define ZSAT_EVBATCH_VERSION     1
#define ZSAT_EVBATCH_TOPIC       "zsat.ev"
#define ZSAT_EVBATCH_MAX_RECORDS 1024  //  a decoder refuses more
#define ZSAT_EVENT_DETAIL_MAX    128

typedef struct {
    char host[ZSAT_NAME_MAX];
    char node[ZSAT_NAME_MAX];  //  the stage: node name
    uint32_t wid;
    uint32_t pid;
    char version[16];
} zsat_event_source_t;

typedef struct {
    uint8_t event;  //  zsat_event_t
    uint64_t task_id;
    uint64_t job_id;
    char type[ZSAT_NAME_MAX];
    uint32_t retry;
    uint32_t seq;
    int64_t timestamp;  //  microseconds since the epoch
    uint32_t flags;
    char detail[ZSAT_EVENT_DETAIL_MAX];  //  reason for ERROR/FAILURE/DEAD_LETTER, else ""
} zsat_event_rec_t;

typedef struct zsat_evbatch_t zsat_evbatch_t;

//  Creates a batch for one source, flushing at max_records (1..ZSAT_EVBATCH_MAX_RECORDS).
zsat_evbatch_t *zsat_evbatch_new (const zsat_event_source_t *source, size_t max_records);
void zsat_evbatch_destroy (zsat_evbatch_t **self_p);
//  Appends one record (copied, encoded at once into a preallocated buffer). Returns the
//  number of records pending; the caller flushes when it reaches max_records.
int zsat_evbatch_add (zsat_evbatch_t *self, const zsat_event_rec_t *rec);
//  Convenience: appends an event about vector v with a detail text (may be NULL).
int zsat_evbatch_add_vector (zsat_evbatch_t *self, int event, const zsat_vector_t *v,
                             const char *detail);
size_t zsat_evbatch_pending (zsat_evbatch_t *self);
//  Sends the pending records as one message (two frames) and empties the batch. With
//  ZMQ_DONTWAIT a full socket drops the batch: returns -1 and counts it in dropped.
//  Returns the number of records sent (0 when none were pending).
int zsat_evbatch_flush (zsat_evbatch_t *self, void *socket, int flags);
//  Finalizes the pending records into the body a flush would send (frame 1) without
//  sending it or emptying the batch; valid until the next add or flush. For tests, fuzzers
//  and transports other than a socket.
const uint8_t *zsat_evbatch_body (zsat_evbatch_t *self, size_t *size);
//  Records dropped because the socket refused them (or add refused them).
uint64_t zsat_evbatch_dropped (zsat_evbatch_t *self);

//  Decodes the second frame of a batch: fills source and calls fn for each record in order.
//  Stops and returns -1 with err at the first invalid byte; fn returning non-zero stops too.
//  Returns the number of records delivered.
int zsat_evbatch_decode (const uint8_t *data, size_t size, zsat_event_source_t *source,
                         int (*fn) (const zsat_event_rec_t *rec, void *arg), void *arg,
                         zsat_error_t *err);

#endif
