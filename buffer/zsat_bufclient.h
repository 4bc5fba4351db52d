/*  zsat_bufclient - the client side of a buffer node (protocol in docs/buffer.md).
    A producer (one DEALER, ZMQ_IMMEDIATE) sends vectors as "PUT <id> <producer>" and keeps
    each until the node answered STORED, re-sending it only when the previous copy cannot
    have arrived: never taken by a connection, or sent on one that dropped since (a socket
    monitor counts disconnects), or unanswered for 10 x resend_ms (so a node killed with -9
    loses nothing acknowledged and nothing unacknowledged: at least once; the node drops a
    re-sent copy it already stored). A consumer (one DEALER) says
    HELLO, receives records (ZSAT_FLAG_REPLAY set on re-deliveries) and acknowledges them.
    Neither is thread-safe; each owns its socket.
*/
#ifndef ZSAT_BUFCLIENT_H_INCLUDED
#define ZSAT_BUFCLIENT_H_INCLUDED
#include "zsat.h"

typedef struct zsat_bufproducer_t zsat_bufproducer_t;
typedef struct zsat_bufconsumer_t zsat_bufconsumer_t;

typedef struct {
    uint64_t id;  //  the id zsat_bufproducer_send returned
    bool stored;  //  true: STORED as seq; false: REFUSED for reason
    uint64_t seq;
    char reason[256];
} zsat_bufreply_t;

//  Connects a producer to a node's `in` endpoint (zsock_attach syntax without prefix).
//  window bounds the vectors awaiting STORED. Returns it, or NULL with err.
zsat_bufproducer_t *zsat_bufproducer_new (const char *endpoint, int window, int64_t resend_ms,
                                          zsat_error_t *err);
void zsat_bufproducer_destroy (zsat_bufproducer_t **self_p);
//  Sends the three frames of a vector (copied: the caller keeps its buffers). Blocks up to
//  timeout_ms for room in the window. Returns the id (> 0), or 0 when the window stayed
//  full (err says so), or -1 on a socket error.
int64_t zsat_bufproducer_send (zsat_bufproducer_t *self, const void *routing, size_t routing_size,
                               const void *envelope, size_t envelope_size, const void *payload,
                               size_t payload_size, int timeout_ms, zsat_error_t *err);
//  Waits up to timeout_ms for one answer. Returns 1 with reply filled, 0 on timeout, -1 on
//  error. Unanswered vectors older than resend_ms are re-sent meanwhile.
int zsat_bufproducer_poll (zsat_bufproducer_t *self, int timeout_ms, zsat_bufreply_t *reply);
size_t zsat_bufproducer_pending (zsat_bufproducer_t *self);
uint64_t zsat_bufproducer_resent (zsat_bufproducer_t *self);

typedef struct {
    uint64_t seq;
    uint32_t flags;           //  ZSAT_FLAG_REPLAY when it may have been delivered before
    const uint8_t *frame[3];  //  routing, envelope, payload: valid until the next recv
    size_t frame_size[3];
} zsat_bufrecord_t;

//  Connects a consumer named name to a node's `out` endpoint and says HELLO.
zsat_bufconsumer_t *zsat_bufconsumer_new (const char *endpoint, const char *name,
                                          zsat_error_t *err);
void zsat_bufconsumer_destroy (zsat_bufconsumer_t **self_p);
//  Waits up to timeout_ms for a record. Returns 1 with rec filled, 0 on timeout, -1 on
//  error. Says HELLO again after a second of silence, so a restarted node resumes delivery.
int zsat_bufconsumer_recv (zsat_bufconsumer_t *self, int timeout_ms, zsat_bufrecord_t *rec);
//  The node's reason for refusing this consumer (not in the channel's consumers), or NULL.
const char *zsat_bufconsumer_denied (zsat_bufconsumer_t *self);
//  Acknowledges seq (after the record is processed). Returns 0 or -1.
int zsat_bufconsumer_ack (zsat_bufconsumer_t *self, uint64_t seq);

void zsat_bufclient_test (bool verbose);

#endif
