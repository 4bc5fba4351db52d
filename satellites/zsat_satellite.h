/*  zsat_satellite - the satellite runtime: a czmq actor that runs one node of a non-system
    kind. It opens the node's sockets (zsat_topology_sockets), calls the kind for every
    vector received (or every tick, for a source), retries with backoff, forwards to every
    next step whose `when` holds, and reports events and heartbeats to the tracker.
*/
#ifndef ZSAT_SATELLITE_H_INCLUDED
#define ZSAT_SATELLITE_H_INCLUDED
#include "zsat.h"

//  The node actor (zactor_fn): args is a zsat_node_args_t * that must outlive the actor.
//  Follows the node actor contract of zsat.h: signal, "READY" or "FAILED <reason>",
//  "STATS" -> one JSON frame, "$TERM" -> stop sources, flush events, kind exit, close.
void zsat_satellite_actor (zsock_t *pipe, void *args);

//  Runtime constants (docs/satellites.md explains each).
#define ZSAT_SATELLITE_HWM          1000   //  data links: vectors queued per peer
#define ZSAT_SATELLITE_EVENTS_HWM   10000  //  event batches queued to the tracker
#define ZSAT_SATELLITE_LINGER_MS    2000   //  outputs drain this long at close
#define ZSAT_SATELLITE_BATCH        256    //  events per batch
#define ZSAT_SATELLITE_FLUSH_MS     50     //  a pending batch waits at most this long
#define ZSAT_SATELLITE_HEARTBEAT_MS 1000
#define ZSAT_SATELLITE_BACKOFF_MS   10    //  first retry delay, doubled per retry
#define ZSAT_SATELLITE_BACKOFF_CAP  1000  //  upper bound of a retry delay (ms)

#endif
