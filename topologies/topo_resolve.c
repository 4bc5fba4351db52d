/*  topo_resolve - deterministic ports and the sockets each node opens on each host.

    Ports: base_port + 0..3 for the singletons (tracker.events, tracker.state, tracker.query,
    scheduler.jobs), then three per host in host order (orchester.any, orchester.control,
    launcher.control), then one per (routed node, host) in route order, then one per link in
    file order, then one per (other non-system node, host) in node order (so routes can be
    added at run time to any worker), then two per `buffer` node in node order (its `in` and
    `out` ROUTERs: every link into a buffer connects a DEALER to `in`, every link out of it a
    DEALER to `out`), then, with several hosts, one per (non-system node, host it does not
    run on): that host's orchester binds it on tcp as `remote:<node>` and the node's
    instances connect an `in:route@<host>` PULL to it, so a route added at run time on one
    host can reach a node of another. A binder binds ipc://<run_dir>/<host>/<port>.ipc when it has peers on its own
    host and tcp://<host bind>:<port> when it has peers on other hosts (`bind:` of the host,
    by default its `address:`: never every interface unless the topology says `bind: 0.0.0.0`); a connecter uses ipc on
    the binder's host and tcp://<binder host address>:<port> elsewhere.
*/
#include "topo_internal.h"

static int
s_host_port (zsat_topology_t *self, int host, int offset)
{
    return self->base_port + TOPO_PORT_HOSTS + TOPO_PORTS_PER_HOST * host + offset;
}

static void
s_check_ipc_paths (zsat_topology_t *self, zsat_diag_t *diag, size_t *errors)
{
    for (size_t h = 0; h < self->host_count; h++) {
        char path[1024];
        int size = snprintf (path, sizeof path, "%s/%s/%d.ipc", self->run_dir, self->hosts[h].name,
                             self->next_port);
        if (size >= TOPO_IPC_PATH_MAX) {
            topo_error_at (self, diag, self->run_dir, 0, 0,
                           "ipc path '%s' is %d bytes (limit %d): use a shorter run_dir", path,
                           size, TOPO_IPC_PATH_MAX - 1);
            (*errors)++;
            return;
        }
    }
    for (size_t i = 0; i < self->link_count; i++) {
        const char *endpoint = self->links[i].endpoint;
        if (endpoint && strncmp (endpoint, "ipc://", 6) == 0 &&
            strlen (endpoint + 6) >= TOPO_IPC_PATH_MAX) {
            topo_error_at (self, diag, endpoint, 0, 0, "ipc path '%s' is %zu bytes (limit %d)",
                           endpoint + 6, strlen (endpoint + 6), TOPO_IPC_PATH_MAX - 1);
            (*errors)++;
        }
    }
}

//  Kinds that never take jobs from an orchester (they run their own actor, no in:route).
static bool
s_system_kind (const char *kind)
{
    static const char *kinds[] = {"orchester", "tracker",  "scheduler",
                                  "buffer",    "launcher", "router"};
    for (size_t i = 0; i < sizeof kinds / sizeof kinds[0]; i++)
        if (streq (kind, kinds[i]))
            return true;
    return false;
}

//  Every other non-system node (a route's alternate, a worker no route names yet) gets a
//  route endpoint on each of its hosts, so the breaker can divert to the alternate and
//  ROUTE ADD can reach any worker. These ports follow the links', so no earlier port moves.
static int
s_more_route_ports (zsat_topology_t *self, int port)
{
    for (size_t n = 0; n < self->node_count; n++) {
        if (s_system_kind (self->nodes[n].kind))
            continue;
        for (size_t h = 0; h < self->nodes[n].host_count; h++) {
            int host = topo_host_index (self, self->nodes[n].hosts[h]);
            if (host >= 0 && self->route_port[n * self->host_count + (size_t)host] == 0)
                self->route_port[n * self->host_count + (size_t)host] = port++;
        }
    }
    return port;
}

//  With several hosts, each non-system node gets a tcp route port on every host it does not
//  run on (after every other port, so none of them moved): ROUTE ADD there reaches it.
static int
s_remote_route_ports (zsat_topology_t *self, int port)
{
    if (self->host_count < 2)
        return port;
    for (size_t n = 0; n < self->node_count; n++) {
        if (s_system_kind (self->nodes[n].kind) || self->nodes[n].instances == 0)
            continue;
        for (size_t h = 0; h < self->host_count; h++)
            if (!zsat_topology_node_on_host (&self->nodes[n], self->hosts[h].name))
                self->remote_port[n * self->host_count + h] = port++;
    }
    return port;
}

size_t
topo_resolve_ports (zsat_topology_t *self, zsat_diag_t *diag)
{
    size_t errors = 0;
    self->link_port = (int *)calloc (self->link_count + 1, sizeof (int));
    self->link_binder = (int *)calloc (self->link_count + 1, sizeof (int));
    self->route_port = (int *)calloc (self->node_count * self->host_count + 1, sizeof (int));
    self->remote_port = (int *)calloc (self->node_count * self->host_count + 1, sizeof (int));
    if (!self->link_port || !self->link_binder || !self->route_port || !self->remote_port) {
        zsat_diag_add (diag, self->file, 0, 0, "out of memory");
        return 1;
    }
    int port = s_host_port (self, (int)self->host_count, 0);
    for (size_t r = 0; r < self->route_count; r++)
        for (size_t n = 0; n < self->routes[r].node_count; n++) {
            int node = topo_node_index (self, self->routes[r].nodes[n]);
            for (size_t h = 0; node >= 0 && h < self->nodes[node].host_count; h++) {
                int host = topo_host_index (self, self->nodes[node].hosts[h]);
                int *slot = &self->route_port[(size_t)node * self->host_count + (size_t)host];
                if (host >= 0 && *slot == 0)
                    *slot = port++;
            }
        }
    for (size_t i = 0; i < self->link_count; i++) {
        const zsat_link_t *link = &self->links[i];
        int binder = topo_node_index (self, link->bind_from ? link->from : link->to);
        self->link_binder[i] = binder >= 0 && self->nodes[binder].host_count > 0
                                   ? topo_host_index (self, self->nodes[binder].hosts[0])
                                   : -1;
        if (!link->endpoint)
            self->link_port[i] = port++;
    }
    port = s_more_route_ports (self, port);
    for (size_t n = 0; n < self->node_count; n++)
        port += streq (self->nodes[n].kind, "buffer") ? 2 : 0;
    self->buffer_end = port;
    port = s_remote_route_ports (self, port);
    self->next_port = port;
    if (port - 1 > 65535) {
        zsat_diag_add (diag, self->file, self->base_port_line ? self->base_port_line : 1,
                       self->base_port_col ? self->base_port_col : 1,
                       "base_port %d leaves too few ports: the topology needs up to port %d%s",
                       self->base_port, port - 1,
                       self->base_port_line ? "" : " (the default base_port: set a lower one)");
        errors++;
    }
    s_check_ipc_paths (self, diag, &errors);
    return errors;
}

//  "@ipc://<run_dir>/<host>/<port>.ipc" and/or "@tcp://<host bind>:<port>".
static void
s_bind_at (zsat_topology_t *self, int port, int host, bool ipc, bool tcp, char *buf, size_t cap)
{
    if (!ipc && !tcp)
        ipc = true;  //  no peer yet: ipc keeps the socket private
    int used = 0;
    if (ipc)
        used =
            snprintf (buf, cap, "@ipc://%s/%s/%d.ipc", self->run_dir, self->hosts[host].name, port);
    if (tcp)
        snprintf (buf + used, cap - (size_t)used, "%s@tcp://%s:%d", ipc ? "," : "",
                  self->hosts[host].bind ? self->hosts[host].bind : self->hosts[host].address,
                  port);
}

static void
s_connect_to (zsat_topology_t *self, int port, int host, int from_host, char *buf, size_t cap)
{
    if (host == from_host)
        snprintf (buf, cap, ">ipc://%s/%s/%d.ipc", self->run_dir, self->hosts[host].name, port);
    else
        snprintf (buf, cap, ">tcp://%s:%d", self->hosts[host].address, port);
}

//  Resolves a system socket to (port, binding host); -1 when unknown.
static int
s_system (zsat_topology_t *self, const char *what, const char *host, int *port, int *bind_host)
{
    static const char *singles[] = {"tracker.events", "tracker.state", "tracker.query",
                                    "scheduler.jobs"};
    static const char *per_host[] = {"orchester.any", "orchester.control", "launcher.control"};
    for (int i = 0; i < 4; i++)
        if (streq (what, singles[i])) {
            int node = topo_node_of_kind (self, i < 3 ? "tracker" : "scheduler", NULL);
            if (node < 0 || self->nodes[node].host_count == 0)
                return -1;
            *port = self->base_port + i;
            *bind_host = topo_host_index (self, self->nodes[node].hosts[0]);
            return *bind_host >= 0 ? 0 : -1;
        }
    for (int i = 0; i < 3; i++)
        if (streq (what, per_host[i])) {
            if (!host && self->host_count == 1)
                host = self->hosts[0].name;
            *bind_host = host ? topo_host_index (self, host) : -1;
            if (*bind_host < 0)
                return -1;
            *port = s_host_port (self, *bind_host, i);
            return 0;
        }
    return -1;
}

static int s_buffer_port (zsat_topology_t *self, int index);
static bool s_peer_where (zsat_topology_t *self, const char *node, int host, bool same);
static bool s_buffer_peer_where (zsat_topology_t *self, const char *buffer, bool in, int host,
                                 bool same);

//  A link port: its binder's host, and whether the binder also binds tcp (a peer elsewhere).
static int
s_link_port_host (zsat_topology_t *self, int port, bool *tcp)
{
    for (size_t i = 0; i < self->link_count; i++) {
        const zsat_link_t *link = &self->links[i];
        if (self->link_port[i] != port || self->link_binder[i] < 0)
            continue;
        const char *peer = link->bind_from ? link->to : link->from;
        *tcp = s_peer_where (self, peer, self->link_binder[i], false);
        return self->link_binder[i];
    }
    return -1;
}

int
zsat_topology_port_host (zsat_topology_t *self, int port, bool *tcp)
{
    bool dummy;
    tcp = tcp ? tcp : &dummy;
    *tcp = self && self->host_count > 1;
    if (!self || port < self->base_port || port >= self->next_port)
        return -1;
    int offset = port - self->base_port;
    if (offset < TOPO_PORT_HOSTS) {
        int port_found, host;
        static const char *singles[] = {"tracker.events", "tracker.state", "tracker.query",
                                        "scheduler.jobs"};
        return s_system (self, singles[offset], NULL, &port_found, &host) == 0 ? host : -1;
    }
    if (offset < TOPO_PORT_HOSTS + TOPO_PORTS_PER_HOST * (int)self->host_count)
        return (offset - TOPO_PORT_HOSTS) / TOPO_PORTS_PER_HOST;
    int host = s_link_port_host (self, port, tcp);
    if (host >= 0)
        return host;
    for (size_t n = 0; n < self->node_count; n++) {
        int first = s_buffer_port (self, (int)n);
        if (!first || (port != first && port != first + 1) || !self->nodes[n].host_count)
            continue;
        host = topo_host_index (self, self->nodes[n].hosts[0]);
        *tcp = host >= 0 &&
               s_buffer_peer_where (self, self->nodes[n].name, port == first, host, false);
        return host;
    }
    *tcp = false;  //  route ports: ipc only
    return -1;
}

int
zsat_topology_endpoint (zsat_topology_t *self, const char *what, const char *host,
                        const char *from_host, char *buf, size_t cap)
{
    int port, bind_host;
    if (!self || !what || !buf || s_system (self, what, host, &port, &bind_host) != 0)
        return -1;
    int from = from_host ? topo_host_index (self, from_host) : bind_host;
    if (from < 0)
        return -1;
    s_connect_to (self, port, bind_host, from, buf, cap);
    return 0;
}

int
zsat_topology_bind_endpoint (zsat_topology_t *self, const char *what, const char *host, char *buf,
                             size_t cap)
{
    int port, bind_host;
    if (!self || !what || !buf || s_system (self, what, host, &port, &bind_host) != 0)
        return -1;
    s_bind_at (self, port, bind_host, true, self->host_count > 1, buf, cap);
    return 0;
}

typedef struct {
    zsat_topology_t *self;
    zsat_socket_t *out;
    int max, count;
    int host;  //  index of the host the node runs on
    bool full;
} sockets_t;

static zsat_socket_t *
s_add (sockets_t *s, const char *name, int type, bool bind, const char *peer)
{
    if (s->count >= s->max) {
        s->full = true;
        return NULL;
    }
    zsat_socket_t *socket = &s->out[s->count++];
    memset (socket, 0, sizeof *socket);
    snprintf (socket->name, sizeof socket->name, "%s", name);
    socket->socket_type = type;
    socket->bind = bind;
    socket->peer = peer;
    return socket;
}

//  A client socket to a system socket, connected from this host.
static void
s_add_client (sockets_t *s, const char *name, int type, const char *what, const char *host)
{
    zsat_socket_t *socket = s_add (s, name, type, false, NULL);
    if (socket)
        zsat_topology_endpoint (s->self, what, host, s->self->hosts[s->host].name, socket->endpoint,
                                sizeof socket->endpoint);
}

static void
s_add_server (sockets_t *s, const char *name, int type, const char *what)
{
    int port, bind_host;
    zsat_socket_t *socket = s_add (s, name, type, true, NULL);
    if (socket && s_system (s->self, what, s->self->hosts[s->host].name, &port, &bind_host) == 0)
        s_bind_at (s->self, port, s->host, true, s->self->host_count > 1, socket->endpoint,
                   sizeof socket->endpoint);
}

static void
s_orchester_sockets (sockets_t *s)
{
    zsat_topology_t *self = s->self;
    s_add_client (s, "jobs", ZMQ_SUB, "scheduler.jobs", NULL);
    if (s->count > 0 && !s->full)
        s->out[s->count - 1].topic = self->host_topics[s->host];
    s_add_server (s, "any", ZMQ_PULL, "orchester.any");
    s_add_server (s, "control", ZMQ_REP, "orchester.control");
    for (size_t n = 0; n < self->node_count; n++) {
        int port = self->route_port[n * self->host_count + (size_t)s->host];
        if (port == 0)
            continue;
        char name[128];
        snprintf (name, sizeof name, "route:%s", self->nodes[n].name);
        zsat_socket_t *socket = s_add (s, name, ZMQ_PUSH, true, self->nodes[n].name);
        if (socket)
            s_bind_at (self, port, s->host, true, false, socket->endpoint, sizeof socket->endpoint);
    }
    for (size_t n = 0; n < self->node_count; n++) {
        int port = self->remote_port[n * self->host_count + (size_t)s->host];
        if (port == 0)
            continue;
        char name[128];
        snprintf (name, sizeof name, "remote:%s", self->nodes[n].name);
        zsat_socket_t *socket = s_add (s, name, ZMQ_PUSH, true, self->nodes[n].name);
        if (socket)
            s_bind_at (self, port, s->host, false, true, socket->endpoint, sizeof socket->endpoint);
    }
    s_add_client (s, "events", ZMQ_PUSH, "tracker.events", NULL);
    s_add_client (s, "state", ZMQ_SUB, "tracker.state", NULL);
    if (s->count > 0 && !s->full)
        s->out[s->count - 1].topic = "";
}

//  True when some instance of node runs on host (same) or on another host (!same).
static bool
s_peer_where (zsat_topology_t *self, const char *node, int host, bool same)
{
    int index = topo_node_index (self, node);
    if (index < 0 || self->nodes[index].instances == 0)
        return false;
    for (size_t h = 0; h < self->nodes[index].host_count; h++) {
        bool here = streq (self->nodes[index].hosts[h], self->hosts[host].name);
        if (here == same)
            return true;
    }
    return false;
}

//  The first of the two ports of buffer node index (in, then out), or 0: they follow the
//  link ports, two per buffer node in node order.
static int
s_buffer_port (zsat_topology_t *self, int index)
{
    if (index < 0 || !streq (self->nodes[index].kind, "buffer"))
        return 0;
    int port = self->buffer_end;
    for (size_t n = (size_t)index; n < self->node_count; n++)
        port -= streq (self->nodes[n].kind, "buffer") ? 2 : 0;
    return port;
}

//  True when some link of the buffer's side has a peer on host (same) or elsewhere (!same).
static bool
s_buffer_peer_where (zsat_topology_t *self, const char *buffer, bool in, int host, bool same)
{
    for (size_t i = 0; i < self->link_count; i++) {
        const zsat_link_t *link = &self->links[i];
        if (streq (in ? link->to : link->from, buffer) &&
            s_peer_where (self, in ? link->from : link->to, host, same))
            return true;
    }
    return false;
}

int
zsat_topology_buffer_endpoint (zsat_topology_t *self, const char *buffer, const char *side,
                               const char *from_host, char *buf, size_t cap)
{
    int index = self && buffer && side ? topo_node_index (self, buffer) : -1;
    int port = s_buffer_port (self, index);
    bool in = side && streq (side, "in");
    if (port == 0 || (!in && !streq (side, "out")) || !buf || self->nodes[index].host_count == 0)
        return -1;
    int host = topo_host_index (self, self->nodes[index].hosts[0]);
    const char *given = zsat_topology_node_option (&self->nodes[index], side);
    if (given && *given)
        snprintf (buf, cap, "%c%s", from_host ? '>' : '@', given);
    else if (!from_host)
        s_bind_at (self, in ? port : port + 1, host,
                   s_buffer_peer_where (self, buffer, in, host, true),
                   s_buffer_peer_where (self, buffer, in, host, false), buf, cap);
    else {
        int from = topo_host_index (self, from_host);
        if (from < 0)
            return -1;
        s_connect_to (self, in ? port : port + 1, host, from, buf, cap);
    }
    return 0;
}

//  A binder of an explicit endpoint opens it once even when several links share it.
static bool
s_bound_before (zsat_topology_t *self, size_t index, const char *node)
{
    const zsat_link_t *link = &self->links[index];
    for (size_t i = 0; i < index; i++) {
        const zsat_link_t *other = &self->links[i];
        if (other->endpoint && streq (other->endpoint, link->endpoint) &&
            streq (other->bind_from ? other->from : other->to, node))
            return true;
    }
    return false;
}

//  A link into (out of) a buffer: a DEALER connected to the buffer's in (out) ROUTER.
static void
s_buffer_link_socket (sockets_t *s, size_t index, bool sender, const char *buffer)
{
    char name[128];
    snprintf (name, sizeof name, "%s:%s", sender ? "out" : "in", s->self->links[index].name);
    zsat_socket_t *socket = s_add (s, name, ZMQ_DEALER, false, buffer);
    if (!socket)
        return;
    socket->when = sender ? s->self->links[index].when : NULL;
    zsat_topology_buffer_endpoint (s->self, buffer, sender ? "in" : "out",
                                   s->self->hosts[s->host].name, socket->endpoint,
                                   sizeof socket->endpoint);
}

static void
s_link_socket (sockets_t *s, size_t index, bool sender)
{
    zsat_topology_t *self = s->self;
    const zsat_link_t *link = &self->links[index];
    const char *me = sender ? link->from : link->to, *peer = sender ? link->to : link->from;
    if (s_buffer_port (self, topo_node_index (self, peer))) {
        s_buffer_link_socket (s, index, sender, peer);
        return;
    }
    bool bind = sender == link->bind_from;
    if (bind && link->endpoint && s_bound_before (self, index, me))
        return;
    char name[128];
    snprintf (name, sizeof name, "%s:%s", sender ? "out" : "in", link->name);
    int type = sender ? topo_sender_type (link->pattern) : topo_receiver_type (link->pattern);
    zsat_socket_t *socket = s_add (s, name, type, bind, peer);
    if (!socket)
        return;
    socket->when = sender ? link->when : NULL;
    socket->topic = type == ZMQ_SUB ? link->topic : NULL;
    if (link->endpoint)
        snprintf (socket->endpoint, sizeof socket->endpoint, "%c%s", bind ? '@' : '>',
                  link->endpoint);
    else if (bind)
        s_bind_at (self, self->link_port[index], s->host, s_peer_where (self, peer, s->host, true),
                   s_peer_where (self, peer, s->host, false), socket->endpoint,
                   sizeof socket->endpoint);
    else
        s_connect_to (self, self->link_port[index], self->link_binder[index], s->host,
                      socket->endpoint, sizeof socket->endpoint);
}

static void
s_link_sockets (sockets_t *s, const char *node)
{
    for (size_t i = 0; i < s->self->link_count; i++) {
        if (streq (s->self->links[i].from, node))
            s_link_socket (s, i, true);
        if (streq (s->self->links[i].to, node))
            s_link_socket (s, i, false);
    }
}

//  One PULL per other host whose orchester binds a remote route port for this node.
static void
s_remote_route_inputs (sockets_t *s, size_t node)
{
    zsat_topology_t *self = s->self;
    for (size_t h = 0; h < self->host_count; h++) {
        int port = self->remote_port[node * self->host_count + h];
        if (port == 0)
            continue;
        char name[128];
        snprintf (name, sizeof name, "in:route@%s", self->hosts[h].name);
        zsat_socket_t *socket = s_add (s, name, ZMQ_PULL, false, NULL);
        if (!socket)
            return;
        s_connect_to (self, port, (int)h, s->host, socket->endpoint, sizeof socket->endpoint);
        socket->peer = self->nodes[topo_node_of_kind (self, "orchester", self->hosts[h].name)].name;
    }
}

int
zsat_topology_sockets (zsat_topology_t *self, const char *node, const char *host,
                       zsat_socket_t *out, int max)
{
    int index = self && node ? topo_node_index (self, node) : -1;
    sockets_t s = {.self = self, .out = out, .max = max, .host = -1};
    if (index < 0 || !host || !zsat_topology_node_on_host (&self->nodes[index], host))
        return -1;
    s.host = topo_host_index (self, host);
    const zsat_node_t *me = &self->nodes[index];
    if (streq (me->kind, "orchester"))
        s_orchester_sockets (&s);
    else if (streq (me->kind, "tracker")) {
        s_add_server (&s, "events", ZMQ_PULL, "tracker.events");
        s_add_server (&s, "state", ZMQ_PUB, "tracker.state");
        s_add_server (&s, "query", ZMQ_REP, "tracker.query");
    }
    else if (streq (me->kind, "scheduler")) {
        s_add_server (&s, "jobs", ZMQ_PUB, "scheduler.jobs");
        s_add_client (&s, "events", ZMQ_PUSH, "tracker.events", NULL);
    }
    else if (streq (me->kind, "buffer")) {
        //  One in and one out ROUTER serve every link of the buffer (no per-link socket).
        s_add_client (&s, "events", ZMQ_PUSH, "tracker.events", NULL);
        for (int side = 0; side < 2; side++) {
            zsat_socket_t *socket = s_add (&s, side ? "out" : "in", ZMQ_ROUTER, true, NULL);
            if (socket)
                zsat_topology_buffer_endpoint (self, me->name, side ? "out" : "in", NULL,
                                               socket->endpoint, sizeof socket->endpoint);
        }
        return s.full ? -1 : s.count;
    }
    else {
        s_add_client (&s, "events", ZMQ_PUSH, "tracker.events", NULL);
        int port = self->route_port[(size_t)index * self->host_count + (size_t)s.host];
        zsat_socket_t *socket = port ? s_add (&s, "in:route", ZMQ_PULL, false, NULL) : NULL;
        if (socket)
            s_connect_to (self, port, s.host, s.host, socket->endpoint, sizeof socket->endpoint);
        if (socket)
            socket->peer = self->nodes[topo_node_of_kind (self, "orchester", host)].name;
        s_remote_route_inputs (&s, (size_t)index);
    }
    s_link_sockets (&s, me->name);
    return s.full ? -1 : s.count;
}

int
topo_sender_type (zsat_pattern_t pattern)
{
    static const int types[] = {ZMQ_PUSH, ZMQ_PUB, ZMQ_REQ, ZMQ_PAIR, ZMQ_DEALER};
    return types[pattern];
}

int
topo_receiver_type (zsat_pattern_t pattern)
{
    static const int types[] = {ZMQ_PULL, ZMQ_SUB, ZMQ_REP, ZMQ_PAIR, ZMQ_ROUTER};
    return types[pattern];
}

const char *
topo_pattern_name (zsat_pattern_t pattern)
{
    static const char *names[] = {"push", "pub", "req", "pair", "dealer"};
    return (unsigned)pattern < 5 ? names[pattern] : "?";
}
