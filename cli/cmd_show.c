/*  zsat show - what a topology runs on a host: every node with its instances and every
    socket it binds or connects after endpoint resolution.
*/
#include "zsat.h"

static const char *s_usage_text =
    "usage: zsat show FILE [--host HOST]\n\n"
    "Prints every node on HOST (default: every host) with its instances, and every socket\n"
    "it binds or connects, with the resolved endpoints.";

static const char *
s_type_name (int type)
{
    switch (type) {
        case ZMQ_PUSH:
            return "PUSH";
        case ZMQ_PULL:
            return "PULL";
        case ZMQ_PUB:
            return "PUB";
        case ZMQ_SUB:
            return "SUB";
        case ZMQ_REQ:
            return "REQ";
        case ZMQ_REP:
            return "REP";
        case ZMQ_DEALER:
            return "DEALER";
        case ZMQ_ROUTER:
            return "ROUTER";
        case ZMQ_PAIR:
            return "PAIR";
        default:
            return "?";
    }
}

static void
s_show_node (zsat_topology_t *topology, const zsat_node_t *node, const char *host)
{
    printf ("  node %s (kind %s, %d instance%s, min %d, max %d%s)\n", node->name, node->kind,
            node->instances, node->instances == 1 ? "" : "s", node->min_instances,
            node->max_instances, node->implicit ? ", implicit" : "");
    for (size_t i = 0; i < node->option_count; i++)
        printf ("    option %s = %s\n", node->options[i].key, node->options[i].value);
    zsat_socket_t sockets[256];
    int count = zsat_topology_sockets (topology, node->name, host, sockets, 256);
    for (int i = 0; i < count; i++) {
        const zsat_socket_t *s = &sockets[i];
        printf ("    %-7s %-6s %-24s %s", s->bind ? "bind" : "connect",
                s_type_name (s->socket_type), s->name, s->endpoint);
        if (s->peer)
            printf ("  peer=%s", s->peer);
        if (s->topic)
            printf ("  topic=\"%s\"", s->topic);
        if (s->when)
            printf ("  when=\"%s\"", s->when);
        printf ("\n");
    }
    if (count < 0)
        printf ("    (too many sockets to show)\n");
}

static void
s_show_host (zsat_topology_t *topology, const zsat_host_t *host)
{
    printf ("host %s (%s)\n", host->name, host->address);
    for (size_t n = 0; n < zsat_topology_node_count (topology); n++) {
        const zsat_node_t *node = zsat_topology_node (topology, n);
        if (zsat_topology_node_on_host (node, host->name))
            s_show_node (topology, node, host->name);
    }
}

static int
s_run (int argc, char **argv)
{
    const char *file = NULL, *host = NULL;
    for (int i = 1; i < argc; i++) {
        if (streq (argv[i], "--help") || streq (argv[i], "-h")) {
            puts (s_usage_text);
            return 0;
        }
        if (streq (argv[i], "--host") && i + 1 < argc)
            host = argv[++i];
        else if (argv[i][0] != '-' && !file)
            file = argv[i];
        else {
            fprintf (stderr, "zsat show: unexpected argument '%s'\n%s\n", argv[i], s_usage_text);
            return 2;
        }
    }
    if (!file) {
        fprintf (stderr, "zsat show: no file given\n%s\n", s_usage_text);
        return 2;
    }
    zsat_diag_t *diag = zsat_diag_new ();
    zsat_topology_t *topology = zsat_topology_load (file, diag);
    zsat_diag_print (diag, stderr);
    zsat_diag_destroy (&diag);
    if (!topology)
        return 1;
    int status = 0;
    if (host && !zsat_topology_host_find (topology, host)) {
        fprintf (stderr, "zsat show: %s has no host '%s'\n", file, host);
        status = 1;
    }
    printf ("topology %s (run_dir %s, base_port %d)\n", zsat_topology_name (topology),
            zsat_topology_run_dir (topology), zsat_topology_base_port (topology));
    for (size_t h = 0; status == 0 && h < zsat_topology_host_count (topology); h++) {
        const zsat_host_t *entry = zsat_topology_host (topology, h);
        if (!host || streq (host, entry->name))
            s_show_host (topology, entry);
    }
    zsat_topology_destroy (&topology);
    return status;
}

const zsat_command_t zsat_cmd_show = {"show", "show a host's nodes and resolved sockets", s_run};
