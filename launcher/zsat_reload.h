// SPDX-License-Identifier: MPL-2.0
/*  zsat_reload - what a changed topology file means for a running host (SIGHUP to
    `zsat launch`). Routes apply live: the host's orchester gets ROUTE ADD/DEL requests on
    its control socket, no node restarts. Any other change (nodes, links, options, scaling
    bounds, schedules, policy, hosts, ports) is refused for now with the first difference as
    the reason, and the running topology stays as it was.
*/
#ifndef ZSAT_RELOAD_H_INCLUDED
#define ZSAT_RELOAD_H_INCLUDED
#include "zsat.h"

#define ZSAT_RELOAD_REQUESTS_MAX 64

typedef struct {
    size_t count;
    char requests[ZSAT_RELOAD_REQUESTS_MAX][160];  //  "ROUTE ADD <type> <node>", "ROUTE DEL ..."
} zsat_reload_t;

//  Compares the running topology with the new one for host. Returns 0 with the orchester
//  requests that apply it (count 0: nothing to do), or -1 with err's text saying what
//  changed that cannot apply live.
int zsat_reload_plan (zsat_topology_t *running, zsat_topology_t *next, const char *host,
                      zsat_reload_t *plan, zsat_error_t *err);

#endif
