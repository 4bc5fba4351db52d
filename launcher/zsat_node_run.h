/*  zsat_node_run - private to the launcher and its commands: links to the satellite runtime,
    written in parallel, that may not be in this build yet. Until it is merged its symbol is
    weak and NULL, and `zsat node` reports "not available in this build" instead of failing
    to link. Once satellites/zsat_satellite.h exists the reference is strong, so a static link
    cannot leave the runtime out by accident.
*/
#ifndef ZSAT_NODE_RUN_H_INCLUDED
#define ZSAT_NODE_RUN_H_INCLUDED
#include "zsat.h"

#if __has_include("zsat_satellite.h")
#include "zsat_satellite.h"
#define ZSAT_HAVE_SATELLITE_RUNTIME 1
#else
void zsat_satellite_actor (zsock_t *pipe, void *args) __attribute__ ((weak));
#define ZSAT_HAVE_SATELLITE_RUNTIME 0
#endif

//  Returns the satellite runtime's actor, or NULL when this build has none.
static inline zactor_fn *
zsat_node_run_satellite_actor (void)
{
    return zsat_satellite_actor;
}

#endif
