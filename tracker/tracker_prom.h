// SPDX-License-Identifier: MPL-2.0
/*  tracker_prom - the tracker's statistics in the Prometheus text exposition format 0.0.4
    (`GET /metrics` of zsat_http, the tracker's `METRICS` query). Built in the tracker's
    thread from its own tables; the HTTP thread only forwards the text.
*/
#ifndef TRACKER_PROM_H_INCLUDED
#define TRACKER_PROM_H_INCLUDED
#include "zsat_stats.h"
#include "zsat_breaker.h"

#define TRACKER_PROM_CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"

typedef bool (tracker_prom_is_stage_fn) (const char *node, void *arg);

typedef struct {
    const char *topology;  //  topology name (label `topology`)
    const char *host;      //  the tracker's host and node
    const char *node;
    zsat_stats_t *stats;
    zsat_breaker_t *breaker;
    tracker_prom_is_stage_fn *is_stage;  //  nodes that have a breaker (not system nodes)
    void *arg;
    uint64_t tasks;  //  retained in the table
    uint64_t live;   //  in flight
    int64_t uptime_s;
} tracker_prom_t;

//  Returns the exposition text (caller frees), NULL when out of memory.
char *tracker_prom_text (const tracker_prom_t *in, int64_t now_us);

void tracker_prom_test (bool verbose);

#endif
