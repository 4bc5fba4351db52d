/*  fuzz_topology - the topology loader on arbitrary bytes: it must return a topology or a
    list of problems, never crash; a loaded topology must resolve every node's sockets and
    render as dot.
*/
#include "zsat.h"

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
    zsat_diag_t *diag = zsat_diag_new ();
    zsat_topology_t *topology = zsat_topology_parse ((const char *)data, size, "fuzz.yaml", diag);
    if (topology) {
        static zsat_socket_t sockets[256];
        for (size_t n = 0; n < zsat_topology_node_count (topology); n++) {
            const zsat_node_t *node = zsat_topology_node (topology, n);
            for (size_t h = 0; h < node->host_count; h++)
                zsat_topology_sockets (topology, node->name, node->hosts[h], sockets, 256);
        }
        FILE *sink = fopen ("/dev/null", "w");
        if (sink) {
            zsat_topology_dot (topology, sink);
            fclose (sink);
        }
        zsat_topology_destroy (&topology);
    }
    zsat_diag_destroy (&diag);
    return 0;
}
