/*  zsat_orchester - the per-host router of jobs (a czmq actor). See zsat_orchester.c. */
#ifndef ZSAT_ORCHESTER_H_INCLUDED
#define ZSAT_ORCHESTER_H_INCLUDED
#include "zsat.h"

//  Dead-letter reasons: each is counted and reported as a DEAD_LETTER event whose detail is
//  the reason's text.
typedef enum {
    ZSAT_DEAD_WRONG_HOST,
    ZSAT_DEAD_UNKNOWN_TYPE,
    ZSAT_DEAD_MALFORMED,
    ZSAT_DEAD_OVER_BOUNCED,
    ZSAT_DEAD_UNEXPECTED_EVENT,
    ZSAT_DEAD_ROUTE_FULL,
    ZSAT_DEAD_CIRCUIT_OPEN,
    ZSAT_DEAD_NOT_RETAINED,
    ZSAT_DEAD_TOO_BIG,  //  a message of more bytes than a vector has (frames: malformed)
    ZSAT_DEAD_COUNT
} zsat_dead_reason_t;

//  Returns the text of a reason ("wrong host"), or "?".
const char *zsat_dead_reason_name (int reason);

//  The actor (args = zsat_node_args_t *): opens the sockets zsat_topology_sockets gives the
//  node on its host, signals, sends "READY" or "FAILED <reason>", routes until "$TERM".
//  Pipe commands: "STATS" -> one frame of JSON counters; "ROUTE ..." as on the control socket.
void zsat_orchester_actor (zsock_t *pipe, void *args);

#endif
