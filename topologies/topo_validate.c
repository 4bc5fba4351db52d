/*  topo_validate - completes the parsed model (implicit system nodes, routes derived from
    schedules, schedule hosts) and checks it as a whole: dangling names, system nodes, links
    that cannot work (two binders on one endpoint, mismatched patterns, a PUSH with no
    reader), unbounded cycles. Every problem is reported at the text it is about.
*/
#include "topo_internal.h"
#include <sys/stat.h>

typedef struct {
    zsat_topology_t *self;
    zsat_diag_t *diag;
    size_t errors;
} check_t;

#define s_error(c, text, line, col, ...)                                                           \
    do {                                                                                           \
        topo_error_at ((c)->self, (c)->diag, text, line, col, __VA_ARGS__);                        \
        (c)->errors++;                                                                             \
    } while (0)

static void
s_add_implicit (zsat_topology_t *self, const char *name, bool every_host)
{
    if (topo_node_of_kind (self, name, NULL) >= 0 || topo_node_index (self, name) >= 0)
        return;
    size_t host_count = every_host ? self->host_count : 1;
    const char **hosts = (const char **)topo_alloc (self, host_count * sizeof (char *));
    zsat_node_t *node = (zsat_node_t *)topo_push ((void **)&self->nodes, &self->node_count,
                                                  &self->node_cap, sizeof (zsat_node_t));
    if (!hosts || !node)
        return;
    for (size_t i = 0; i < host_count; i++)
        hosts[i] = self->hosts[i].name;
    name = topo_strdup (self, name, 0, 0);  //  every model string carries a mark
    *node = (zsat_node_t){.name = name,
                          .kind = name,
                          .host_count = host_count,
                          .hosts = hosts,
                          .instances = 1,
                          .min_instances = 1,
                          .max_instances = 1,
                          .implicit = true};
}

//  Reports an unknown node name, with a suggestion.
static bool
s_node_known (check_t *c, const char *name, const char *what)
{
    if (topo_node_index (c->self, name) >= 0)
        return true;
    const char *names[256];
    size_t n = 0;
    for (size_t i = 0; i < c->self->node_count && n < 256; i++)
        names[n++] = c->self->nodes[i].name;
    const char *close = topo_closest (name, names, n);
    if (close)
        s_error (c, name, 0, 0, "%s: unknown node '%s' (did you mean '%s'?)", what, name, close);
    else
        s_error (c, name, 0, 0, "%s: unknown node '%s'", what, name);
    return false;
}

static void
s_check_system (check_t *c)
{
    zsat_topology_t *self = c->self;
    const char *singletons[] = {"tracker", "scheduler"};
    for (int s = 0; s < 2; s++) {
        int count = 0;
        int taken = topo_node_index (self, singletons[s]);
        if (topo_node_of_kind (self, singletons[s], NULL) < 0 && taken >= 0)
            s_error (c, self->nodes[taken].name, self->nodes[taken].line, self->nodes[taken].col,
                     "no %s: node '%s' is of kind '%s' (declare a %s node under another name)",
                     singletons[s], singletons[s], self->nodes[taken].kind, singletons[s]);
        for (size_t i = 0; i < self->node_count; i++) {
            const zsat_node_t *node = &self->nodes[i];
            if (!streq (node->kind, singletons[s]))
                continue;
            if (++count > 1)
                s_error (c, node->name, node->line, node->col,
                         "a second %s node '%s' (one per topology)", singletons[s], node->name);
            if (node->host_count != 1 || node->instances != 1)
                s_error (c, node->name, node->line, node->col,
                         "node '%s': a %s runs one instance on one host", node->name,
                         singletons[s]);
        }
    }
    for (size_t h = 0; h < self->host_count; h++) {
        int count = 0;
        for (size_t i = 0; i < self->node_count; i++)
            if (streq (self->nodes[i].kind, "orchester") &&
                zsat_topology_node_on_host (&self->nodes[i], self->hosts[h].name)) {
                count++;
                if (self->nodes[i].instances != 1)
                    s_error (c, self->nodes[i].name, self->nodes[i].line, self->nodes[i].col,
                             "node '%s': an orchester runs one instance per host",
                             self->nodes[i].name);
            }
        if (count != 1)
            s_error (c, self->hosts[h].name, self->hosts[h].line, self->hosts[h].col,
                     "host '%s' has %d orchester nodes (needs exactly one)", self->hosts[h].name,
                     count);
    }
}

//  Without `routes:`, each scheduled type T goes to the node named T.
static void
s_derive_routes (check_t *c)
{
    zsat_topology_t *self = c->self;
    for (size_t i = 0; i < self->schedule_count; i++) {
        const char *type = self->schedules[i].type;
        if (zsat_topology_route_find (self, type) || topo_node_index (self, type) < 0)
            continue;
        const char **nodes = (const char **)topo_alloc (self, sizeof (char *));
        zsat_route_t *route = (zsat_route_t *)topo_push ((void **)&self->routes, &self->route_count,
                                                         &self->route_cap, sizeof (zsat_route_t));
        if (!nodes || !route)
            return;
        nodes[0] = self->nodes[topo_node_index (self, type)].name;
        *route = (zsat_route_t){.type = type, .node_count = 1, .nodes = nodes};
    }
}

static int
s_total_instances (const zsat_node_t *node)
{
    return node->instances * (int)node->host_count;
}

static void
s_check_routes (check_t *c)
{
    zsat_topology_t *self = c->self;
    for (size_t r = 0; r < self->route_count; r++) {
        const zsat_route_t *route = &self->routes[r];
        for (size_t n = 0; n < route->node_count; n++) {
            if (!s_node_known (c, route->nodes[n], "route"))
                continue;
            const zsat_node_t *node = &self->nodes[topo_node_index (self, route->nodes[n])];
            if (streq (node->kind, "orchester") || streq (node->kind, "tracker") ||
                streq (node->kind, "scheduler"))
                s_error (c, route->nodes[n], route->line, route->col,
                         "route '%s': node '%s' is a %s and cannot receive jobs", route->type,
                         node->name, node->kind);
            else if (s_total_instances (node) == 0)
                s_error (c, route->nodes[n], route->line, route->col,
                         "route '%s': node '%s' has no instance to receive jobs", route->type,
                         node->name);
        }
        if (route->alternate)
            s_node_known (c, route->alternate, "route alternate");
    }
}

//  Hosts default to every host where a node the type routes to runs.
static void
s_default_schedule_hosts (zsat_topology_t *self, zsat_schedule_t *sched, const zsat_route_t *route)
{
    const char **hosts = (const char **)topo_alloc (self, (self->host_count + 1) * sizeof (char *));
    if (!hosts)
        return;
    sched->hosts = hosts;
    for (size_t h = 0; h < self->host_count; h++) {
        bool used = false;
        for (size_t n = 0; n < route->node_count && !used; n++) {
            int index = topo_node_index (self, route->nodes[n]);
            used =
                index >= 0 && zsat_topology_node_on_host (&self->nodes[index], self->hosts[h].name);
        }
        if (used)
            hosts[sched->host_count++] = self->hosts[h].name;
    }
}

static void
s_check_schedules (check_t *c)
{
    zsat_topology_t *self = c->self;
    for (size_t i = 0; i < self->schedule_count; i++) {
        zsat_schedule_t *sched = &self->schedules[i];
        const zsat_route_t *route = zsat_topology_route_find (self, sched->type);
        if (!route)
            s_error (c, sched->type, sched->line, sched->col,
                     "schedule: type '%s' has no route (add it to routes: or name a node '%s')",
                     sched->type, sched->type);
        for (size_t h = 0; h < sched->host_count; h++)
            if (topo_host_index (self, sched->hosts[h]) < 0)
                s_error (c, sched->hosts[h], sched->line, sched->col,
                         "schedule '%s': unknown host '%s'", sched->type, sched->hosts[h]);
        if (!sched->hosts && route)
            s_default_schedule_hosts (self, sched, route);
    }
}

static void
s_check_channels (check_t *c)
{
    for (size_t i = 0; i < c->self->channel_count; i++)
        for (size_t n = 0; n < c->self->channels[i].consumer_count; n++)
            s_node_known (c, c->self->channels[i].consumers[n], "channel consumer");
}

static bool
s_is_buffer (zsat_topology_t *self, const char *name)
{
    int index = topo_node_index (self, name);
    return index >= 0 && streq (self->nodes[index].kind, "buffer");
}

//  A buffer node stores one declared channel, once: one host, one instance.
static void
s_check_buffer_node (check_t *c, const zsat_node_t *node)
{
    const zsat_option_kv_t *channel = NULL;
    for (size_t i = 0; i < node->option_count; i++)
        if (streq (node->options[i].key, "channel"))
            channel = &node->options[i];
    if (!channel)
        s_error (c, node->name, node->line, node->col,
                 "node '%s': a buffer needs option channel (a name under channels:)", node->name);
    else if (!zsat_topology_channel_find (c->self, channel->value))
        s_error (c, channel->value, channel->line, channel->col,
                 "node '%s': channel '%s' is not declared under channels:", node->name,
                 channel->value);
    if (node->host_count != 1 || node->instances != 1 || node->max_instances > 1)
        s_error (c, node->name, node->line, node->col,
                 "node '%s': a buffer runs once (one host, instances: 1), not %d on %zu host(s)",
                 node->name,
                 node->max_instances > node->instances ? node->max_instances : node->instances,
                 node->host_count);
}

//  Links into a buffer carry vectors to store, links out of it deliver them to a consumer
//  named after the node: it must be listed in the channel's consumers (the buffer refuses
//  others, or keeps unlisted ones forever) and run once (one name, one cursor).
static void
s_check_buffer_link (check_t *c, const zsat_link_t *link)
{
    zsat_topology_t *self = c->self;
    if (link->endpoint)
        s_error (c, link->name, link->line, link->col,
                 "link '%s': a buffer link takes no endpoint (set the buffer's in/out options)",
                 link->name);
    if (link->pattern != ZSAT_PATTERN_PUSH_PULL && link->pattern != ZSAT_PATTERN_ROUTER_DEALER)
        s_error (c, link->name, link->line, link->col,
                 "link '%s': a buffer link is push or dealer, not %s", link->name,
                 topo_pattern_name (link->pattern));
    if (s_is_buffer (self, link->from) && s_is_buffer (self, link->to))
        s_error (c, link->name, link->line, link->col, "link '%s': buffer to buffer", link->name);
    if (!s_is_buffer (self, link->from))
        return;
    const zsat_node_t *buffer = &self->nodes[topo_node_index (self, link->from)];
    const zsat_node_t *consumer = &self->nodes[topo_node_index (self, link->to)];
    const char *name = zsat_topology_node_option (buffer, "channel");
    const zsat_channel_t *channel = name ? zsat_topology_channel_find (self, name) : NULL;
    bool listed = false;
    for (size_t i = 0; channel && i < channel->consumer_count; i++)
        listed |= streq (channel->consumers[i], consumer->name);
    if (channel && !listed)
        s_error (c, link->name, link->line, link->col,
                 "link '%s': '%s' reads buffer '%s' but is not in channel '%s' consumers "
                 "(add it to consumers:)",
                 link->name, consumer->name, buffer->name, channel->name);
    if (consumer->host_count != 1 || consumer->instances != 1 || consumer->max_instances > 1)
        s_error (c, link->name, link->line, link->col,
                 "link '%s': consumer '%s' of buffer '%s' must run once (one host, instances: 1)",
                 link->name, consumer->name, buffer->name);
}

static void
s_check_buffers (check_t *c)
{
    zsat_topology_t *self = c->self;
    for (size_t n = 0; n < self->node_count; n++)
        if (streq (self->nodes[n].kind, "buffer"))
            s_check_buffer_node (c, &self->nodes[n]);
    for (size_t i = 0; i < self->link_count; i++) {
        const zsat_link_t *link = &self->links[i];
        if (topo_node_index (self, link->from) >= 0 && topo_node_index (self, link->to) >= 0 &&
            (s_is_buffer (self, link->from) || s_is_buffer (self, link->to)))
            s_check_buffer_link (c, link);
    }
}

static const char *
s_binder (const zsat_link_t *link)
{
    return link->bind_from ? link->from : link->to;
}

static void
s_check_link_sides (check_t *c, const zsat_link_t *link)
{
    zsat_topology_t *self = c->self;
    const zsat_node_t *binder = &self->nodes[topo_node_index (self, s_binder (link))];
    const zsat_node_t *reader = &self->nodes[topo_node_index (self, link->to)];
    if (s_is_buffer (self, link->from) || s_is_buffer (self, link->to))
        return;  //  the buffer binds both its sockets: s_check_buffer_link
    if (binder->host_count > 1 || binder->instances > 1)
        s_error (c, link->name, link->line, link->col,
                 "link '%s': two binders on one endpoint: binding side '%s' runs %d instance(s) "
                 "on %zu host(s) (set bind: %s, or run it once)",
                 link->name, binder->name, binder->instances, binder->host_count,
                 link->bind_from ? "to" : "from");
    if (s_total_instances (reader) == 0)
        s_error (c, link->name, link->line, link->col,
                 "link '%s': %s with no reader: node '%s' has no instance on any host", link->name,
                 topo_pattern_name (link->pattern), reader->name);
}

//  Links may share an explicit endpoint only when one node binds it for one pattern
//  (DSAT's PUSH_cpu_csvw and PUSH_ping_csvw: csvw binds once, both connect).
static void
s_check_shared_endpoint (check_t *c, size_t index)
{
    const zsat_link_t *link = &c->self->links[index];
    for (size_t i = 0; i < index; i++) {
        const zsat_link_t *other = &c->self->links[i];
        if (!other->endpoint || !streq (other->endpoint, link->endpoint))
            continue;
        if (other->pattern != link->pattern)
            s_error (c, link->endpoint, link->line, link->col,
                     "link '%s': endpoint '%s' is used by link '%s' with another pattern (%s, %s)",
                     link->name, link->endpoint, other->name, topo_pattern_name (link->pattern),
                     topo_pattern_name (other->pattern));
        else if (!streq (s_binder (other), s_binder (link)))
            s_error (c, link->endpoint, link->line, link->col,
                     "link '%s': duplicate endpoint '%s': two binders ('%s' and '%s' of link '%s')",
                     link->name, link->endpoint, s_binder (link), s_binder (other), other->name);
        return;
    }
}

static void
s_check_links (check_t *c)
{
    zsat_topology_t *self = c->self;
    for (size_t i = 0; i < self->link_count; i++) {
        const zsat_link_t *link = &self->links[i];
        bool from_ok = s_node_known (c, link->from, "link");
        bool to_ok = s_node_known (c, link->to, "link");
        for (size_t j = 0; j < i; j++)
            if (streq (self->links[j].name, link->name)) {
                s_error (c, link->name, link->line, link->col,
                         "duplicate link name '%s' (give one a name:)", link->name);
                break;
            }
        if (from_ok && to_ok)
            s_check_link_sides (c, link);
        if (link->endpoint)
            s_check_shared_endpoint (c, i);
    }
}

//  Depth-first search over the link graph, link ends resolved to node indices once.
typedef struct {
    const int *from, *to;  //  per link; -1 for an unknown node
    size_t link_count;
    char *state;  //  per node: 0 new, 1 on the path, 2 done
    int *path;    //  nodes on the current path, then the node closing the cycle
    int depth;
} walk_t;

//  Recursion depth is at most the node count (bounded by TOPO_ITEMS_MAX + system nodes).
static bool
s_cycle_from (walk_t *w, int node)
{
    w->state[node] = 1;
    w->path[w->depth++] = node;
    for (size_t i = 0; i < w->link_count; i++) {
        int next = w->to[i];
        if (w->from[i] != node || next < 0)
            continue;
        if (w->state[next] == 1) {
            w->path[w->depth++] = next;
            return true;
        }
        if (w->state[next] == 0 && s_cycle_from (w, next))
            return true;
    }
    w->state[node] = 2;
    w->depth--;
    return false;
}

static void
s_report_cycle (check_t *c, walk_t *w)
{
    char text[512] = "";
    int start = 0;
    while (w->path[start] != w->path[w->depth - 1])
        start++;
    for (int i = start; i < w->depth; i++)
        snprintf (text + strlen (text), sizeof text - strlen (text), "%s%s",
                  i > start ? " -> " : "", c->self->nodes[w->path[i]].name);
    s_error (c, NULL, c->self->policy.line, c->self->policy.col,
             "unbounded BOUNCE cycle %s: tracker.max_seq is 0 (set max_seq > 0)", text);
}

static void
s_check_cycles (check_t *c)
{
    zsat_topology_t *self = c->self;
    if (self->policy.max_seq > 0 || self->node_count == 0)
        return;
    int *ends = (int *)calloc (2 * self->link_count + 1, sizeof (int));
    walk_t w = {.from = ends,
                .to = ends ? ends + self->link_count : NULL,
                .link_count = self->link_count,
                .state = (char *)calloc (self->node_count, 1),
                .path = (int *)calloc (self->node_count + 1, sizeof (int))};
    for (size_t i = 0; ends && i < self->link_count; i++) {
        ends[i] = topo_node_index (self, self->links[i].from);
        ends[self->link_count + i] = topo_node_index (self, self->links[i].to);
    }
    for (size_t n = 0; ends && w.state && w.path && n < self->node_count; n++) {
        w.depth = 0;
        if (!w.state[n] && s_cycle_from (&w, (int)n)) {
            s_report_cycle (c, &w);
            break;
        }
    }
    free (ends);
    free (w.state);
    free (w.path);
}

//  ZeroMQ deletes what lies at an ipc path it binds: `zsat node` refuses a path that is not
//  a socket (common/zsat_ipcguard); check warns at the endpoint, not an error: the file may
//  be gone by the time the topology runs, and check may run on another machine.
static void
s_warn_ipc_files (check_t *c)
{
    for (size_t i = 0; i < c->self->link_count; i++) {
        const zsat_link_t *link = &c->self->links[i];
        const char *endpoint = link->endpoint;
        struct stat info;
        if (!endpoint || strncmp (endpoint, "ipc://", 6) != 0 || lstat (endpoint + 6, &info) != 0 ||
            S_ISSOCK (info.st_mode))
            continue;
        int line = 0, col = 0;
        topo_mark (endpoint, &line, &col);
        zsat_diag_add (c->diag, c->self->file, line, col,
                       "warning: link '%s': endpoint '%s' names an existing %s, not a socket: "
                       "its binder will refuse to start (binding would delete it)",
                       link->name, endpoint, S_ISREG (info.st_mode) ? "regular file" : "file");
    }
}

size_t
topo_validate (zsat_topology_t *self, zsat_diag_t *diag)
{
    check_t c = {.self = self, .diag = diag};
    s_add_implicit (self, "tracker", false);
    s_add_implicit (self, "scheduler", false);
    s_add_implicit (self, "orchester", true);
    s_check_system (&c);
    if (!self->routes_given)
        s_derive_routes (&c);
    s_check_routes (&c);
    s_check_schedules (&c);
    s_check_channels (&c);
    s_check_links (&c);
    s_check_buffers (&c);
    s_check_cycles (&c);
    s_warn_ipc_files (&c);
    return c.errors;
}
