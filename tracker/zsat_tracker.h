/*  zsat_tracker - the tracker node: pulls every node's event batches, runs each record
    through the task FSM and the stats, publishes the state feed and answers queries.
    Sockets (from the topology, all bound): PULL "events", PUB "state", REP "query".
*/
#ifndef ZSAT_TRACKER_H_INCLUDED
#define ZSAT_TRACKER_H_INCLUDED
#include "zsat.h"

//  Interval of the `stats` topic and of scaling decisions.
#define ZSAT_TRACKER_STATS_US 1000000

//  The node actor (zsat_node_args_t * as args; see the contract in zsat.h). Pipe commands:
//  "$TERM"; "STATS" -> one frame of JSON counters.
void zsat_tracker_actor (zsock_t *pipe, void *args);

void zsat_tracker_test (bool verbose);

#endif
