// SPDX-License-Identifier: MPL-2.0
/*  tracker_graph - the declared topology with what the tracker observes on it (the
    tracker's TOPOLOGY query, `GET /api/v1/topology`): every declared node with its state,
    every edge with its observed rate, and the stages seen that the topology does not declare.
*/
#ifndef TRACKER_GRAPH_H_INCLUDED
#define TRACKER_GRAPH_H_INCLUDED
#include "zsat_topology.h"
#include "zsat_stats.h"
#include "zsat_breaker.h"
#include "zsat_jsonw.h"

#define TRACKER_GRAPH_RATE_S     5         //  edge rates: mean over the last 5 full seconds
#define TRACKER_GRAPH_RESTART_US 30000000  //  a restart within 30 s shows the node red

typedef struct {
    zsat_topology_t *topology;
    zsat_stats_t *stats;
    zsat_breaker_t *breaker;
    const char *tracker;  //  the tracker's node name: it answers, so it is up
} tracker_graph_t;

//  Writes the whole graph as one JSON object into json (reset by the caller).
void tracker_graph_write (const tracker_graph_t *in, zsat_jsonw_t *json, int64_t now_us);

void tracker_graph_test (bool verbose);

#endif
