/*  zsat_tracker - the tracker node: pulls every node's event batches, runs each record
    through the task FSM and the stats, publishes the state feed and answers queries.
    Sockets (from the topology, all bound): PULL "events", PUB "state", REP "query"; and
    "out:<link>" for each link from the tracker (its statistics as vectors, every 10 s).
*/
#ifndef ZSAT_TRACKER_H_INCLUDED
#define ZSAT_TRACKER_H_INCLUDED
#include "zsat.h"

//  Interval of the `stats` topic and of scaling decisions.
#define ZSAT_TRACKER_STATS_US 1000000

//  The node actor (zsat_node_args_t * as args; see the contract in zsat.h). Pipe commands:
//  "$TERM"; "STATS" -> one frame of JSON counters; "METRICS" -> sends the statistics on the
//  out:<link> sockets now (tests; otherwise every 10 s) and replies the vectors sent.
void zsat_tracker_actor (zsock_t *pipe, void *args);

void zsat_tracker_test (bool verbose);

#endif
