// SPDX-License-Identifier: MPL-2.0
/*  zsat_control - the one way every REP control socket (orchester control, launcher control,
    tracker query) reads a request and answers it, so no peer can stall a node's loop.

    A REP socket holds requests behind an envelope that ends with an empty delimiter frame.
    A message without it (a DEALER's single frame, a ROUTER's malformed reply stack) is thrown
    away by libzmq inside the receive call, which then waits for the next whole request: a
    blocking receive there freezes the node until some valid request arrives. So a request is
    read only after the poller said the socket is readable, always with ZMQ_DONTWAIT, whole
    (every frame of it), with at most ZSAT_CONTROL_FRAMES frames kept and the rest discarded;
    a readable socket that yields nothing is one dropped malformed message, counted.
*/
#ifndef ZSAT_CONTROL_H_INCLUDED
#define ZSAT_CONTROL_H_INCLUDED
#include "zsat.h"

#define ZSAT_CONTROL_FRAMES 4  //  frames kept of one request (SEND + a vector's three)

typedef struct {
    zmq_msg_t frame[ZSAT_CONTROL_FRAMES];
    int count;         //  frames held
    int received;      //  frames the request had (> count when it had too many)
    size_t bytes;      //  bytes of the frames held
    uint64_t dropped;  //  malformed messages libzmq discarded (no delimiter): never answered
    uint64_t bad;      //  requests answered with an error (callers add theirs with _bad)
    bool open;
} zsat_control_t;

//  Sets the options every control socket gets: a bounded frame (max_frame bytes), a short
//  linger (an answer to a client that left is worth nothing) and bounded queues.
void zsat_control_options (zsock_t *sock, int64_t max_frame);
//  Starts with no frames held and zero counters.
void zsat_control_init (zsat_control_t *self);
//  Gives up the held frames (safe twice).
void zsat_control_close (zsat_control_t *self);
//  Reads one whole request from a REP socket without waiting. Returns the frames it had
//  (>= 1: the caller must answer with zsat_control_reply), or 0 when no whole request was
//  there (a malformed message was dropped and counted in `dropped`, or nothing came).
int zsat_control_recv (zsat_control_t *self, void *socket);
//  Returns the request as a new NUL-terminated string when it is one frame of at most
//  max_len bytes of text without a NUL, else NULL. The caller frees it.
char *zsat_control_text (zsat_control_t *self, size_t max_len);
//  Frame i of the held request (NULL when out of range); still owned by self.
zmq_msg_t *zsat_control_frame (zsat_control_t *self, int i);
//  Counts one request the caller answered with an error.
void zsat_control_bad (zsat_control_t *self);
//  Answers the request just read with one frame of text, never blocking. Returns 0 or -1.
int zsat_control_reply (void *socket, const char *text);

#endif
