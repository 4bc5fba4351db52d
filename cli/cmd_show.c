/*  zsat show - what a topology runs on a host: every node with its instances and every
    socket it binds or connects after endpoint resolution.
*/
#include "zsat.h"
#include "zsat_json.h"

static const char *s_usage_text =
    "usage: zsat show FILE [--host HOST] [--json]\n"
    "       zsat show --expanded FILE\n\n"
    "Prints every node on HOST (default: every host) with its instances, and every socket\n"
    "it binds or connects, with the resolved endpoints. --json prints one JSON object\n"
    "instead (what a program joining over the wire reads, docs/satellites.md):\n"
    "  {\"topology\", \"run_dir\", \"base_port\", \"tracker\": {\"max_retry\", \"timeout_ms\"},\n"
    "   \"hosts\": [{\"name\", \"address\", \"nodes\": [{\"name\", \"kind\", \"role\",\n"
    "   \"instances\", \"min\", \"max\", \"implicit\", \"options\": {..}, \"sockets\": "
    "[{\"name\",\n"
    "   \"type\", \"bind\", \"endpoint\", \"peer\", \"topic\", \"when\"}]}]}]}\n"
    "  endpoint is as zsat gives it to czmq: '@' (bind) or '>' (connect) before each of\n"
    "  its comma-separated ZeroMQ endpoints.\n"
    "--expanded prints FILE as YAML the way the parser reads it: ${VAR} substituted,\n"
    "aliases and <<: merges copied out, include: files joined (docs/topology.md).";

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

//  Prints ", \"key\": \"value\"" (first: without the comma), value escaped.
static void
s_json_kv (const char *key, const char *value, bool first)
{
    char buf[2048];
    zsat_json_out_t o;
    zsat_json_out_init (&o, buf, sizeof buf);
    zsat_json_string (&o, value ? value : "", value ? strlen (value) : 0);
    printf ("%s\"%s\": %s", first ? "" : ", ", key, zsat_json_finish (&o) < 0 ? "\"\"" : buf);
}

static const char *
s_role_of (const zsat_node_t *node)
{
    static const char *names[] = {"source", "worker", "sink", "system", "external"};
    const zsat_kind_t *kind = zsat_kind_find (node->kind);
    return kind && (size_t)kind->role < 5 ? names[kind->role] : "unknown";
}

static void
s_json_sockets (zsat_topology_t *topology, const zsat_node_t *node, const char *host)
{
    zsat_socket_t sockets[256];
    int count = zsat_topology_sockets (topology, node->name, host, sockets, 256);
    printf (", \"sockets\": [");
    for (int i = 0; i < count; i++) {
        const zsat_socket_t *s = &sockets[i];
        printf ("%s{", i ? ", " : "");
        s_json_kv ("name", s->name, true);
        s_json_kv ("type", s_type_name (s->socket_type), false);
        printf (", \"bind\": %s", s->bind ? "true" : "false");
        s_json_kv ("endpoint", s->endpoint, false);
        s_json_kv ("peer", s->peer, false);
        s_json_kv ("topic", s->topic, false);
        s_json_kv ("when", s->when, false);
        printf ("}");
    }
    printf ("]");
}

static void
s_json_node (zsat_topology_t *topology, const zsat_node_t *node, const char *host, bool first)
{
    printf ("%s{", first ? "" : ", ");
    s_json_kv ("name", node->name, true);
    s_json_kv ("kind", node->kind, false);
    s_json_kv ("role", s_role_of (node), false);
    printf (", \"instances\": %d, \"min\": %d, \"max\": %d, \"implicit\": %s, \"options\": {",
            node->instances, node->min_instances, node->max_instances,
            node->implicit ? "true" : "false");
    for (size_t i = 0; i < node->option_count; i++)
        s_json_kv (node->options[i].key, node->options[i].value, i == 0);
    printf ("}");
    s_json_sockets (topology, node, host);
    printf ("}");
}

static void
s_json (zsat_topology_t *topology, const char *host)
{
    const zsat_tracker_policy_t *policy = zsat_topology_policy (topology);
    printf ("{");
    s_json_kv ("topology", zsat_topology_name (topology), true);
    s_json_kv ("run_dir", zsat_topology_run_dir (topology), false);
    printf (", \"base_port\": %d, \"tracker\": {\"max_retry\": %d, \"timeout_ms\": %" PRId64
            "}, \"hosts\": [",
            zsat_topology_base_port (topology), policy->max_retry, policy->timeout_ms);
    bool first_host = true;
    for (size_t h = 0; h < zsat_topology_host_count (topology); h++) {
        const zsat_host_t *entry = zsat_topology_host (topology, h);
        if (host && !streq (host, entry->name))
            continue;
        printf ("%s{", first_host ? "" : ", ");
        first_host = false;
        s_json_kv ("name", entry->name, true);
        s_json_kv ("address", entry->address, false);
        printf (", \"nodes\": [");
        bool first = true;
        for (size_t n = 0; n < zsat_topology_node_count (topology); n++) {
            const zsat_node_t *node = zsat_topology_node (topology, n);
            if (zsat_topology_node_on_host (node, entry->name)) {
                s_json_node (topology, node, entry->name, first);
                first = false;
            }
        }
        printf ("]}");
    }
    printf ("]}\n");
}

static int
s_run (int argc, char **argv)
{
    const char *file = NULL, *host = NULL;
    bool json = false, expanded = false;
    for (int i = 1; i < argc; i++) {
        if (streq (argv[i], "--help") || streq (argv[i], "-h")) {
            puts (s_usage_text);
            return 0;
        }
        if (streq (argv[i], "--host") && i + 1 < argc)
            host = argv[++i];
        else if (streq (argv[i], "--json"))
            json = true;
        else if (streq (argv[i], "--expanded"))
            expanded = true;
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
    if (expanded && (json || host)) {
        fprintf (stderr, "zsat show: --expanded takes no --host or --json\n%s\n", s_usage_text);
        return 2;
    }
    zsat_diag_t *diag = zsat_diag_new ();
    if (expanded) {
        int rc = zsat_topology_expand (file, stdout, diag);
        zsat_diag_print (diag, stderr);
        zsat_diag_destroy (&diag);
        return rc == 0 ? 0 : 1;
    }
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
    if (json && status == 0) {
        s_json (topology, host);
        zsat_topology_destroy (&topology);
        return 0;
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
