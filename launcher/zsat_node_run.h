/*  zsat_node_run - private to the launcher and its commands: links to pieces written in
    parallel (the satellite runtime, the topology loader) that may not be in this build yet.
    Until they are merged their symbols are weak and NULL, and callers report "not available
    in this build" instead of failing to link. Once the file exists the reference is strong,
    so a static link cannot leave the piece out by accident.
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

//  The topology loader is topologies/zsat_topology.c (found on the include path).
#if __has_include("zsat_topology.c")
#define ZSAT_HAVE_TOPOLOGY 1
#else
#define ZSAT_HAVE_TOPOLOGY 0
#pragma weak zsat_topology_load
#pragma weak zsat_topology_destroy
#pragma weak zsat_topology_name
#pragma weak zsat_topology_run_dir
#pragma weak zsat_topology_host_count
#pragma weak zsat_topology_host
#pragma weak zsat_topology_host_find
#pragma weak zsat_topology_node_count
#pragma weak zsat_topology_node
#pragma weak zsat_topology_node_find
#pragma weak zsat_topology_node_on_host
#pragma weak zsat_topology_endpoint
#pragma weak zsat_topology_parse
#pragma weak zsat_topology_node_option
#endif

//  Returns the satellite runtime's actor, or NULL when this build has none.
static inline zactor_fn *
zsat_node_run_satellite_actor (void)
{
    return zsat_satellite_actor;
}

//  Returns true when this build can load topologies.
static inline bool
zsat_node_run_have_topology (void)
{
#if ZSAT_HAVE_TOPOLOGY
    return true;
#else
    return zsat_topology_load != NULL;
#endif
}

#endif
