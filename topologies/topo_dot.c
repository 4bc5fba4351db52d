/*  topo_dot - the topology as Graphviz dot: one cluster per host, one box per instance,
    coloured by role; links as solid edges labelled by pattern; system flows (jobs, routes,
    events) dashed. Writes text only; `zsat dot -o x.svg` runs Graphviz on it.
*/
#include "topo_internal.h"

//  Pairs of instance boxes drawn per link before it is summarised as one labelled edge.
#define TOPO_DOT_EDGES_MAX 16

static bool
s_is_system_kind (const char *kind)
{
    static const char *kinds[] = {"orchester", "tracker",  "scheduler",
                                  "buffer",    "launcher", "router"};
    for (size_t i = 0; i < sizeof kinds / sizeof kinds[0]; i++)
        if (streq (kind, kinds[i]))
            return true;
    return false;
}

//  The kind's declared role when registered; else guessed from the system names and links.
static zsat_role_t
s_role (zsat_topology_t *self, const zsat_node_t *node)
{
    const zsat_kind_t *kind = zsat_kind_find (node->kind);
    if (kind)
        return kind->role;
    if (s_is_system_kind (node->kind))
        return ZSAT_ROLE_SYSTEM;
    bool in = false, out = false;
    for (size_t i = 0; i < self->link_count; i++) {
        out = out || streq (self->links[i].from, node->name);
        in = in || streq (self->links[i].to, node->name);
    }
    bool routed = false;
    for (size_t r = 0; r < self->route_count; r++)
        for (size_t n = 0; n < self->routes[r].node_count; n++)
            routed = routed || streq (self->routes[r].nodes[n], node->name);
    if (in && !out)
        return ZSAT_ROLE_SINK;
    if (!in && !routed)
        return ZSAT_ROLE_SOURCE;
    return ZSAT_ROLE_WORKER;
}

static const char *
s_colour (zsat_role_t role)
{
    switch (role) {
        case ZSAT_ROLE_SYSTEM:
            return "#d9d9d9";
        case ZSAT_ROLE_SOURCE:
            return "#a6cee3";
        case ZSAT_ROLE_SINK:
            return "#fdbf6f";
        default:
            return "#b2df8a";
    }
}

static const char *
s_role_name (zsat_role_t role)
{
    static const char *names[] = {"source", "worker", "sink", "system"};
    return (unsigned)role < 4 ? names[role] : "worker";
}

static void
s_write_hosts (zsat_topology_t *self, FILE *out)
{
    for (size_t h = 0; h < self->host_count; h++) {
        const zsat_host_t *host = &self->hosts[h];
        fprintf (out, "  subgraph \"cluster_%s\" {\n    label=\"host %s (%s)\";\n", host->name,
                 host->name, host->address);
        for (size_t n = 0; n < self->node_count; n++) {
            const zsat_node_t *node = &self->nodes[n];
            if (!zsat_topology_node_on_host (node, host->name))
                continue;
            zsat_role_t role = s_role (self, node);
            for (int i = 0; i < node->instances; i++)
                fprintf (out, "    \"%s/%s/%d\" [label=\"%s #%d\\n%s (%s)\", fillcolor=\"%s\"];\n",
                         host->name, node->name, i, node->name, i, node->kind, s_role_name (role),
                         s_colour (role));
        }
        fprintf (out, "  }\n");
    }
}

//  Every instance of from -> every instance of to, up to TOPO_DOT_EDGES_MAX pairs.
static void
s_write_edges (zsat_topology_t *self, FILE *out, const char *from, const char *to,
               const char *label, const char *style, const char *only_host)
{
    const zsat_node_t *a = zsat_topology_node_find (self, from);
    const zsat_node_t *b = zsat_topology_node_find (self, to);
    if (!a || !b)
        return;
    int pairs = 0;
    for (size_t ha = 0; ha < a->host_count; ha++)
        for (size_t hb = 0; hb < b->host_count; hb++) {
            if (only_host && (!streq (a->hosts[ha], only_host) || !streq (b->hosts[hb], only_host)))
                continue;
            for (int ia = 0; ia < a->instances; ia++)
                for (int ib = 0; ib < b->instances; ib++) {
                    if (++pairs > TOPO_DOT_EDGES_MAX)
                        return;
                    fprintf (out, "  \"%s/%s/%d\" -> \"%s/%s/%d\" [label=\"%s\", style=%s];\n",
                             a->hosts[ha], a->name, ia, b->hosts[hb], b->name, ib, label, style);
                }
        }
}

static void
s_write_system_flows (zsat_topology_t *self, FILE *out)
{
    int scheduler = topo_node_of_kind (self, "scheduler", NULL);
    int tracker = topo_node_of_kind (self, "tracker", NULL);
    for (size_t o = 0; o < self->node_count; o++) {
        const zsat_node_t *orchester = &self->nodes[o];
        if (!streq (orchester->kind, "orchester"))
            continue;
        if (scheduler >= 0)
            s_write_edges (self, out, self->nodes[scheduler].name, orchester->name, "jobs",
                           "dashed", NULL);
        if (tracker >= 0)
            s_write_edges (self, out, orchester->name, self->nodes[tracker].name,
                           "events (every node)", "dotted", NULL);
        for (size_t h = 0; h < orchester->host_count; h++)
            for (size_t r = 0; r < self->route_count; r++)
                for (size_t n = 0; n < self->routes[r].node_count; n++) {
                    char label[ZSAT_NAME_MAX + 8];
                    snprintf (label, sizeof label, "route %s", self->routes[r].type);
                    s_write_edges (self, out, orchester->name, self->routes[r].nodes[n], label,
                                   "dashed", orchester->hosts[h]);
                }
    }
}

int
zsat_topology_dot (zsat_topology_t *self, FILE *out)
{
    fprintf (out, "digraph \"%s\" {\n  rankdir=LR;\n  compound=true;\n", self->name);
    fprintf (out, "  node [shape=box, style=filled, fontname=\"Helvetica\"];\n");
    fprintf (out, "  edge [fontname=\"Helvetica\", fontsize=10];\n");
    s_write_hosts (self, out);
    for (size_t i = 0; i < self->link_count; i++) {
        const zsat_link_t *link = &self->links[i];
        char label[256];
        snprintf (label, sizeof label, "%s%s%s", topo_pattern_name (link->pattern),
                  link->when ? " if " : "", link->when ? link->when : "");
        s_write_edges (self, out, link->from, link->to, label, "solid", NULL);
    }
    s_write_system_flows (self, out);
    fprintf (out, "}\n");
    return fflush (out) == 0 && !ferror (out) ? 0 : -1;
}
