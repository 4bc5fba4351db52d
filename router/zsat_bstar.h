/*  zsat_bstar - a primary/backup pair ("binary star", as zguide describes it) for a service
    that must have exactly one active server: the orchester's control or the tracker.

    zsat_bstar_t is the pure state machine: a table of (state, event, guard) -> (next state,
    result), driven by events and an injected clock, no sockets. The actor around it
    publishes its state to the peer every heartbeat (PUB) and turns the peer's states (SUB)
    into events. The rule that prevents split brain: a passive server becomes active only
    when the peer has been silent for 2 heartbeats AND a client request arrives, so a
    network split alone (peers cannot see each other, clients still see the active one)
    never makes two actives.
*/
#ifndef ZSAT_BSTAR_H_INCLUDED
#define ZSAT_BSTAR_H_INCLUDED
#include "zsat.h"

typedef enum {
    ZSAT_BSTAR_PRIMARY = 1,  //  primary starting, waiting for the peer or a client
    ZSAT_BSTAR_BACKUP,       //  backup starting, waiting for the peer
    ZSAT_BSTAR_ACTIVE,       //  serves clients
    ZSAT_BSTAR_PASSIVE       //  stands by; takes over on the rule above
} zsat_bstar_state_t;

typedef enum {
    ZSAT_BSTAR_PEER_PRIMARY = 1,  //  the peer said it is in that state
    ZSAT_BSTAR_PEER_BACKUP,
    ZSAT_BSTAR_PEER_ACTIVE,
    ZSAT_BSTAR_PEER_PASSIVE,
    ZSAT_BSTAR_CLIENT_REQUEST  //  a client asks this server to serve
} zsat_bstar_event_t;

typedef enum {
    ZSAT_BSTAR_OK = 0,   //  peer event taken, or client request accepted: serve it
    ZSAT_BSTAR_REJECT,   //  client request refused: this server is not active
    ZSAT_BSTAR_CONFLICT  //  both servers claim the same role (split brain, or two
                         //  primaries/backups configured): the operator must look
} zsat_bstar_result_t;

typedef struct zsat_bstar_t zsat_bstar_t;

//  Creates the machine in PRIMARY or BACKUP at time now_ms (any monotonic milliseconds);
//  the peer counts as heard at now_ms. heartbeat_ms must be > 0. Returns NULL on failure.
zsat_bstar_t *zsat_bstar_new (bool primary, int64_t heartbeat_ms, int64_t now_ms);
void zsat_bstar_destroy (zsat_bstar_t **self_p);
//  Applies one event at now_ms (never earlier than the previous call's). Returns a
//  zsat_bstar_result_t; the state may have changed (zsat_bstar_state).
int zsat_bstar_event (zsat_bstar_t *self, zsat_bstar_event_t event, int64_t now_ms);
zsat_bstar_state_t zsat_bstar_state (zsat_bstar_t *self);
//  Returns "PRIMARY", "BACKUP", "ACTIVE", "PASSIVE", or "?".
const char *zsat_bstar_state_name (int state);
//  Returns the peer event for a state name the peer published, or 0 when unknown.
zsat_bstar_event_t zsat_bstar_peer_event (const char *state_name);

//  Endpoints in zsock_attach syntax.
typedef struct {
    bool primary;
    const char *local;  //  PUB this server publishes its state on ("@ipc://.../primary.ipc")
    const char *peer;   //  the peer's state PUB (">ipc://.../backup.ipc")
    int heartbeat_ms;   //  state publication interval (0: 1000)
} zsat_bstar_args_t;

//  The actor: zactor_new (zsat_bstar_actor, &args). Signals, then "READY" or "FAILED
//  <reason>". Commands: "REQUEST" (a client request arrived: replies "ACCEPT <state>" or
//  "REJECT <state>"), "STATE" (replies the state name), "STATS" (one JSON frame
//  {"state","peer_messages","accepted","rejected","conflicts","changes"}), "$TERM".
//  The service it guards asks REQUEST before serving each client request.
void zsat_bstar_actor (zsock_t *pipe, void *args);

void zsat_bstar_test (bool verbose);

#endif
