/*  zsat_topology - the topology file: YAML -> validated model -> sockets per node and host.

    This file holds the class (load, accessors, lookups, duration and size syntax); the work
    is split by concept: topo_parse.c (YAML -> model), topo_validate.c (whole-model checks),
    topo_resolve.c (ports, endpoints, sockets), topo_dot.c (Graphviz), topo_import.c (DSAT).
    Owns no sockets.
*/
#include "topo_internal.h"
#include "zsat_datadir.h"
#include "zsat_safedir.h"
#include <strings.h>
#include <arpa/inet.h>
#include <sys/stat.h>
#include <unistd.h>

static zsat_topology_checker_fn *s_checker;

void
zsat_topology_set_checker (zsat_topology_checker_fn *fn)
{
    s_checker = fn;
}

static void
s_default_policy (zsat_tracker_policy_t *policy)
{
    *policy = (zsat_tracker_policy_t){.timeout_ms = 5000,
                                      .max_retry = 3,
                                      .backoff_ms = 100,
                                      .backoff_max_ms = 10000,
                                      .max_seq = 50,
                                      .max_tasks = 1000000,
                                      .scale_low = 1,
                                      .scale_high = 3,
                                      .scale_window_ms = 3000,
                                      .scale_cooldown_ms = 10000,
                                      .breaker_threshold = 0.5,
                                      .breaker_min_tasks = 20,
                                      .breaker_window_ms = 30000,
                                      .breaker_cooldown_ms = 10000};
}

//  The name defaults to the file's base name without extension ("two-hosts").
const char *
topo_base_name (zsat_topology_t *self, const char *filename)
{
    const char *base = strrchr (filename, '/');
    base = base ? base + 1 : filename;
    size_t n = strcspn (base, ".");
    char *name = topo_strndup (self, base, n, 0, 0);
    return name && zsat_name_valid (name) ? name : topo_strdup (self, "topology", 0, 0);
}

//  ZSAT_RUN_DIR wins, then `run_dir:`, then $XDG_RUNTIME_DIR/zsat/<name> (when it is a
//  private directory of ours, as the XDG spec promises), then /tmp/zsat-<uid>/<name>.
//  ZSAT_STATE_DIR, when set, is where sinks and the buffer keep data (else the run dir).
static void
s_set_run_dir (zsat_topology_t *self)
{
    const char *env = getenv ("ZSAT_RUN_DIR");
    const char *xdg = getenv ("XDG_RUNTIME_DIR");
    if (env && *env)
        self->run_dir = topo_strdup (self, env, 0, 0);
    else if (!self->run_dir) {
        char path[1024];
        if (zsat_safedir_private (xdg) && strlen (xdg) < 512)
            snprintf (path, sizeof path, "%s/zsat/%s", xdg, self->name);
        else
            snprintf (path, sizeof path, "/tmp/zsat-%u/%s", (unsigned)getuid (), self->name);
        self->run_dir = topo_strdup (self, path, 0, 0);
    }
    const char *state = getenv ("ZSAT_STATE_DIR");
    self->state_dir = state && *state ? topo_strdup (self, state, 0, 0) : NULL;
    size_t size = self->run_dir ? strlen (self->run_dir) : 0;
    while (size > 1 && self->run_dir[size - 1] == '/')
        ((char *)self->run_dir)[--size] = 0;
}

static void
s_set_host_topics (zsat_topology_t *self)
{
    self->host_topics = (const char **)topo_alloc (self, self->host_count * sizeof (char *) + 1);
    for (size_t h = 0; self->host_topics && h < self->host_count; h++) {
        char topic[ZSAT_NAME_MAX + 2];
        snprintf (topic, sizeof topic, "%s/", self->hosts[h].name);
        self->host_topics[h] = topo_strdup (self, topic, 0, 0);
    }
}

//  The load itself; problems go to diag with virtual lines (see topo_source_t).
static size_t
s_parse (zsat_topology_t *self, const char *text, size_t size, zsat_diag_t *diag)
{
    size_t errors = text ? topo_parse (self, text, size, diag) : 1;
    if (!self->file || self->host_count == 0)
        return errors ? errors : 1;
    s_set_run_dir (self);
    s_set_host_topics (self);
    errors += topo_validate (self, diag);
    errors += topo_resolve_ports (self, diag);
    if (s_checker) {
        size_t before = zsat_diag_count (diag);
        s_checker (self, diag);
        errors += zsat_diag_count (diag) - before;
    }
    return errors;
}

zsat_topology_t *
zsat_topology_parse (const char *text, size_t size, const char *filename, zsat_diag_t *diag)
{
    zsat_topology_t *self = (zsat_topology_t *)calloc (1, sizeof (zsat_topology_t));
    zsat_diag_t *own = zsat_diag_new ();
    if (!self || !own) {
        free (self);
        zsat_diag_destroy (&own);
        return NULL;
    }
    filename = filename ? filename : "-";
    self->file = topo_strdup (self, filename, 0, 0);
    self->name = topo_base_name (self, filename);
    self->base_port = ZSAT_DEFAULT_BASE_PORT;
    s_default_policy (&self->policy);
    size_t errors = s_parse (self, text, size, own);
    if (diag)
        topo_diag_move (self, own, diag);
    zsat_diag_destroy (&own);
    if (errors > 0 || self->host_count == 0)
        zsat_topology_destroy (&self);
    return self;
}

zsat_topology_t *
zsat_topology_load (const char *path, zsat_diag_t *diag)
{
    FILE *file = path ? fopen (path, "rb") : NULL;
    if (!file) {
        zsat_diag_add (diag, path ? path : "-", 0, 0, "cannot open: %s", strerror (errno));
        return NULL;
    }
    char *text = (char *)malloc (TOPO_FILE_MAX + 1);
    size_t size = text ? fread (text, 1, TOPO_FILE_MAX + 1, file) : 0;
    bool failed = !text || ferror (file);
    fclose (file);
    if (failed) {
        zsat_diag_add (diag, path, 0, 0, "cannot read");
        free (text);
        return NULL;
    }
    zsat_topology_t *self = zsat_topology_parse (text, size, path, diag);
    free (text);
    return self;
}

void
zsat_topology_destroy (zsat_topology_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    zsat_topology_t *self = *self_p;
    free (self->hosts);
    free (self->operators);
    free (self->nodes);
    free (self->links);
    free (self->routes);
    free (self->schedules);
    free (self->channels);
    free (self->link_port);
    free (self->link_binder);
    free (self->route_port);
    free (self->remote_port);
    free (self->sources);
    topo_arena_free (self);
    free (self);
    *self_p = NULL;
}

const char *
zsat_topology_name (zsat_topology_t *self)
{
    return self->name;
}

const char *
zsat_topology_file (zsat_topology_t *self)
{
    return self->file;
}

const char *
zsat_topology_run_dir (zsat_topology_t *self)
{
    return self->run_dir;
}

int
zsat_topology_base_port (zsat_topology_t *self)
{
    return self->base_port;
}

const char *
zsat_topology_state_dir (zsat_topology_t *self)
{
    return self->state_dir ? self->state_dir : self->run_dir;
}

int
zsat_topology_prepare_host (zsat_topology_t *self, const char *host, zsat_error_t *err)
{
    if (!self || topo_host_index (self, host) < 0) {
        errno = EINVAL;
        return zsat_fail (err, ZSAT_E_CONFIG, "host '%s' is not in the topology",
                          host ? host : "(null)");
    }
    char path[1024], reason[1024];
    snprintf (path, sizeof path, "%s/%s/logs", self->run_dir, host);
    if (zsat_safedir_make (path, reason, sizeof reason) != 0)
        return zsat_fail (err, ZSAT_E_IO, "run directory: %.200s", reason);
    snprintf (path, sizeof path, "%s/%s", zsat_topology_state_dir (self), host);
    if (zsat_safedir_make (path, reason, sizeof reason) != 0)
        return zsat_fail (err, ZSAT_E_IO, "state directory: %.200s", reason);
    return 0;
}

int
zsat_topology_make_run_dir (zsat_topology_t *self, const char *host)
{
    return zsat_topology_prepare_host (self, host, NULL);
}

size_t
zsat_topology_host_count (zsat_topology_t *self)
{
    return self->host_count;
}

const zsat_host_t *
zsat_topology_host (zsat_topology_t *self, size_t index)
{
    return index < self->host_count ? &self->hosts[index] : NULL;
}

int
topo_host_index (zsat_topology_t *self, const char *name)
{
    for (size_t i = 0; name && i < self->host_count; i++)
        if (streq (self->hosts[i].name, name))
            return (int)i;
    return -1;
}

const zsat_host_t *
zsat_topology_host_find (zsat_topology_t *self, const char *name)
{
    int index = topo_host_index (self, name);
    return index >= 0 ? &self->hosts[index] : NULL;
}

bool
zsat_topology_curve (zsat_topology_t *self)
{
    if (!self)
        return false;
    return self->security ? streq (self->security, "curve") : self->host_count > 1;
}

const char *
zsat_topology_security (zsat_topology_t *self)
{
    return self ? self->security : NULL;
}

void
zsat_topology_mark (const char *text, int *line, int *col)
{
    *line = *col = 0;
    if (text)
        topo_mark (text, line, col);
}

size_t
zsat_topology_operator_count (zsat_topology_t *self)
{
    return self ? self->operator_count : 0;
}

const zsat_operator_t *
zsat_topology_operator (zsat_topology_t *self, size_t index)
{
    return self && index < self->operator_count ? &self->operators[index] : NULL;
}

size_t
zsat_topology_node_count (zsat_topology_t *self)
{
    return self->node_count;
}

const zsat_node_t *
zsat_topology_node (zsat_topology_t *self, size_t index)
{
    return index < self->node_count ? &self->nodes[index] : NULL;
}

int
topo_node_index (zsat_topology_t *self, const char *name)
{
    for (size_t i = 0; name && i < self->node_count; i++)
        if (streq (self->nodes[i].name, name))
            return (int)i;
    return -1;
}

int
topo_node_of_kind (zsat_topology_t *self, const char *kind, const char *host)
{
    for (size_t i = 0; i < self->node_count; i++)
        if (streq (self->nodes[i].kind, kind) &&
            (!host || zsat_topology_node_on_host (&self->nodes[i], host)))
            return (int)i;
    return -1;
}

const zsat_node_t *
zsat_topology_node_find (zsat_topology_t *self, const char *name)
{
    int index = topo_node_index (self, name);
    return index >= 0 ? &self->nodes[index] : NULL;
}

bool
zsat_topology_node_on_host (const zsat_node_t *node, const char *host)
{
    for (size_t i = 0; node && host && i < node->host_count; i++)
        if (streq (node->hosts[i], host))
            return true;
    return false;
}

const char *
zsat_topology_node_option (const zsat_node_t *node, const char *key)
{
    for (size_t i = 0; node && key && i < node->option_count; i++)
        if (streq (node->options[i].key, key))
            return node->options[i].value;
    return NULL;
}

size_t
zsat_topology_link_count (zsat_topology_t *self)
{
    return self->link_count;
}

const zsat_link_t *
zsat_topology_link (zsat_topology_t *self, size_t index)
{
    return index < self->link_count ? &self->links[index] : NULL;
}

//  Marks the links reachable from `from` pass by pass (at most one pass per link, O(L^2)
//  name compares: topologies are small), so diamonds and cycles cost no more.
bool
zsat_topology_reaches (zsat_topology_t *self, const char *from, const char *to)
{
    if (!self || !from || !to || self->link_count == 0)
        return false;
    bool *reached = (bool *)calloc (self->link_count, sizeof (bool));
    if (!reached)
        return false;
    bool found = false, grew = true;
    for (size_t pass = 0; pass <= self->link_count && grew && !found; pass++) {
        grew = false;
        for (size_t i = 0; i < self->link_count && !found; i++) {
            const zsat_link_t *link = &self->links[i];
            if (reached[i] || !link->from || !link->to)
                continue;
            bool start = streq (link->from, from);
            for (size_t j = 0; j < self->link_count && !start; j++)
                start = reached[j] && self->links[j].to && streq (self->links[j].to, link->from);
            if (start) {
                reached[i] = grew = true;
                found = streq (link->to, to);
            }
        }
    }
    free (reached);
    return found;
}

size_t
zsat_topology_route_count (zsat_topology_t *self)
{
    return self->route_count;
}

const zsat_route_t *
zsat_topology_route (zsat_topology_t *self, size_t index)
{
    return index < self->route_count ? &self->routes[index] : NULL;
}

const zsat_route_t *
zsat_topology_route_find (zsat_topology_t *self, const char *type)
{
    for (size_t i = 0; type && i < self->route_count; i++)
        if (streq (self->routes[i].type, type))
            return &self->routes[i];
    return NULL;
}

bool
topo_routed_on (zsat_topology_t *self, const char *node, const char *host)
{
    int n = topo_node_index (self, node), h = topo_host_index (self, host);
    return n >= 0 && h >= 0 && self->route_port &&
           self->route_port[(size_t)n * self->host_count + (size_t)h] != 0;
}

size_t
zsat_topology_schedule_count (zsat_topology_t *self)
{
    return self->schedule_count;
}

const zsat_schedule_t *
zsat_topology_schedule (zsat_topology_t *self, size_t index)
{
    return index < self->schedule_count ? &self->schedules[index] : NULL;
}

size_t
zsat_topology_channel_count (zsat_topology_t *self)
{
    return self->channel_count;
}

const zsat_channel_t *
zsat_topology_channel (zsat_topology_t *self, size_t index)
{
    return index < self->channel_count ? &self->channels[index] : NULL;
}

const zsat_channel_t *
zsat_topology_channel_find (zsat_topology_t *self, const char *name)
{
    for (size_t i = 0; name && i < self->channel_count; i++)
        if (streq (self->channels[i].name, name))
            return &self->channels[i];
    return NULL;
}

const zsat_tracker_policy_t *
zsat_topology_policy (zsat_topology_t *self)
{
    return &self->policy;
}

int64_t
zsat_topology_stage_timeout (zsat_topology_t *self, const char *stage)
{
    const zsat_tracker_policy_t *policy = &self->policy;
    for (size_t i = 0; stage && i < policy->stage_timeout_count; i++)
        if (streq (policy->stage_timeout_names[i], stage))
            return policy->stage_timeout_ms[i];
    return policy->timeout_ms;
}

//  A non-negative integer followed by a unit from the table; rejects overflow.
static int
s_number_unit (const char *text, const char *const *units, const int64_t *scales, size_t count,
               bool unit_required, int64_t *out)
{
    if (!text || !isdigit ((unsigned char)*text))
        return -1;
    char *end;
    errno = 0;
    long long value = strtoll (text, &end, 10);
    if (errno)
        return -1;
    int64_t scale = unit_required ? 0 : 1;
    if (*end) {
        scale = 0;
        for (size_t i = 0; i < count && !scale; i++)
            if (streq (end, units[i]))
                scale = scales[i];
    }
    if (!scale || value > INT64_MAX / scale)
        return -1;
    *out = value * scale;
    return 0;
}

int
zsat_topology_http_address (const char *text, char *ip, int *port, bool *loopback, char *why,
                            size_t why_cap)
{
    const char *colon = text ? strrchr (text, ':') : NULL;
    size_t len = colon ? (size_t)(colon - text) : 0;
    char *end = NULL;
    long number = colon ? strtol (colon + 1, &end, 10) : 0;
    struct in_addr addr;
    if (!colon || len == 0 || len > 15 || !isdigit ((unsigned char)colon[1]) || *end ||
        number < 1 || number > 65535) {
        snprintf (why, why_cap, "'%.80s' is not ADDR:PORT (an IPv4 address, port 1..65535)",
                  text ? text : "");
        return -1;
    }
    memcpy (ip, text, len);
    ip[len] = 0;
    if (inet_pton (AF_INET, ip, &addr) != 1) {
        snprintf (why, why_cap, "'%s' is not an IPv4 address", ip);
        return -1;
    }
    *port = (int)number;
    *loopback = (ntohl (addr.s_addr) >> 24) == 127;
    return 0;
}

int
zsat_topology_parse_duration (const char *text, int64_t *ms)
{
    static const char *units[] = {"ms", "s", "m", "h"};
    static const int64_t scales[] = {1, 1000, 60000, 3600000};
    return s_number_unit (text, units, scales, 4, true, ms);
}

int
zsat_topology_parse_size (const char *text, int64_t *bytes)
{
    static const char *units[] = {"k",   "K", "kB", "KB",  "KiB", "M",  "MB",
                                  "MiB", "G", "GB", "GiB", "T",   "TiB"};
#define S_K 1024LL
    static const int64_t scales[] = {S_K,
                                     S_K,
                                     S_K,
                                     S_K,
                                     S_K,
                                     S_K * S_K,
                                     S_K * S_K,
                                     S_K * S_K,
                                     S_K * S_K * S_K,
                                     S_K * S_K * S_K,
                                     S_K * S_K * S_K,
                                     S_K * S_K * S_K * S_K,
                                     S_K * S_K * S_K * S_K};
#undef S_K
    return s_number_unit (text, units, scales, 13, false, bytes);
}

//  --- selftest ---

static zsat_topology_t *
s_load_shipped (const char *name)
{
    char path[1024];
    char relative[256];
    snprintf (relative, sizeof relative, "topologies/%s", name);
    assert (zsat_datadir_path (path, sizeof path, relative));
    zsat_diag_t *diag = zsat_diag_new ();
    zsat_topology_t *self = zsat_topology_load (path, diag);
    if (!self)
        zsat_diag_print (diag, stderr);
    zsat_diag_destroy (&diag);
    assert (self);
    return self;
}

static const zsat_socket_t *
s_socket (zsat_socket_t *sockets, int count, const char *name)
{
    for (int i = 0; i < count; i++)
        if (streq (sockets[i].name, name))
            return &sockets[i];
    return NULL;
}

static void
s_test_default (void)
{
    zsat_topology_t *self = s_load_shipped ("default.yaml");
    assert (streq (zsat_topology_name (self), "default"));
    assert (streq (zsat_topology_run_dir (self), "/tmp/zt"));
    assert (zsat_topology_host_count (self) == 1);
    assert (zsat_topology_node_count (self) == 9);  //  6 + tracker, scheduler, orchester
    assert (zsat_topology_node_find (self, "tracker")->implicit);
    assert (zsat_topology_link_count (self) == 8);
    assert (zsat_topology_route_count (self) == 4);
    assert (zsat_topology_reaches (self, "cpu", "csv") &&
            !zsat_topology_reaches (self, "csv", "cpu"));
    assert (!zsat_topology_reaches (self, "cpu", "cpu") &&
            !zsat_topology_reaches (self, "cpu", "x"));
    assert (zsat_topology_schedule (self, 0)->every_ms == 1000);
    assert (zsat_topology_schedule (self, 0)->host_count == 1);
    zsat_socket_t sockets[32];
    int count = zsat_topology_sockets (self, "cpu", "local", sockets, 32);
    assert (count == 4);  //  events, in:route, out:cpu->csv, out:cpu->hdf5
    assert (streq (s_socket (sockets, count, "events")->endpoint, ">ipc:///tmp/zt/local/7100.ipc"));
    assert (
        streq (s_socket (sockets, count, "in:route")->endpoint, ">ipc:///tmp/zt/local/7107.ipc"));
    assert (streq (s_socket (sockets, count, "out:cpu->csv")->endpoint,
                   ">ipc:///tmp/zt/local/7111.ipc"));
    assert (s_socket (sockets, count, "out:cpu->csv")->socket_type == ZMQ_PUSH);
    assert (zsat_topology_sockets (self, "cpu", "local", sockets, 3) == -1);
    assert (zsat_topology_sockets (self, "cpu", "nowhere", sockets, 32) == -1);
    count = zsat_topology_sockets (self, "csv", "local", sockets, 32);
    const zsat_socket_t *in = s_socket (sockets, count, "in:mem->csv");
    assert (in && in->bind && in->socket_type == ZMQ_PULL);
    assert (streq (in->endpoint, "@ipc:///tmp/zt/local/7112.ipc"));
    //  the sinks no route names get idle route endpoints after the links (ROUTE ADD)
    count = zsat_topology_sockets (self, "orchester", "local", sockets, 32);
    assert (count == 11);  //  jobs any control route:x6 events state
    assert (streq (s_socket (sockets, count, "jobs")->topic, "local/"));
    assert (
        streq (s_socket (sockets, count, "route:proc")->endpoint, "@ipc:///tmp/zt/local/7110.ipc"));
    assert (
        streq (s_socket (sockets, count, "route:csv")->endpoint, "@ipc:///tmp/zt/local/7119.ipc"));
    assert (
        streq (s_socket (sockets, count, "route:hdf5")->endpoint, "@ipc:///tmp/zt/local/7120.ipc"));
    count = zsat_topology_sockets (self, "csv", "local", sockets, 32);
    assert (
        streq (s_socket (sockets, count, "in:route")->endpoint, ">ipc:///tmp/zt/local/7119.ipc"));
    assert (streq (s_socket (sockets, count, "in:route")->peer, "orchester"));
    count = zsat_topology_sockets (self, "tracker", "local", sockets, 32);
    assert (count == 3 && !s_socket (sockets, count, "in:route"));
    char endpoint[256];
    assert (zsat_topology_endpoint (self, "tracker.query", NULL, NULL, endpoint, 256) == 0);
    assert (streq (endpoint, ">ipc:///tmp/zt/local/7102.ipc"));
    assert (zsat_topology_endpoint (self, "launcher.control", NULL, "local", endpoint, 256) == 0);
    assert (streq (endpoint, ">ipc:///tmp/zt/local/7106.ipc"));
    assert (zsat_topology_endpoint (self, "nothing", NULL, NULL, endpoint, 256) == -1);
    assert (zsat_topology_bind_endpoint (self, "tracker.events", NULL, endpoint, 256) == 0);
    assert (streq (endpoint, "@ipc:///tmp/zt/local/7100.ipc"));
    zsat_topology_destroy (&self);
}

static void
s_test_two_hosts (void)
{
    zsat_topology_t *self = s_load_shipped ("two-hosts.yaml");
    zsat_socket_t sockets[32];
    int count = zsat_topology_sockets (self, "cpu", "b", sockets, 32);
    assert (count == 3);
    assert (streq (s_socket (sockets, count, "events")->endpoint, ">tcp://198.18.0.1:7100"));
    assert (streq (s_socket (sockets, count, "in:route")->endpoint, ">ipc:///tmp/zt/b/7111.ipc"));
    assert (streq (s_socket (sockets, count, "out:cpu->csv")->endpoint, ">tcp://198.18.0.1:7114"));
    count = zsat_topology_sockets (self, "cpu", "a", sockets, 32);
    assert (
        streq (s_socket (sockets, count, "out:cpu->csv")->endpoint, ">ipc:///tmp/zt/a/7114.ipc"));
    count = zsat_topology_sockets (self, "csv", "a", sockets, 32);
    assert (streq (s_socket (sockets, count, "in:cpu->csv")->endpoint,
                   "@ipc:///tmp/zt/a/7114.ipc,@tcp://198.18.0.1:7114"));
    assert (zsat_topology_sockets (self, "csv", "b", sockets, 32) == -1);
    count = zsat_topology_sockets (self, "csv", "a", sockets, 32);
    assert (streq (s_socket (sockets, count, "in:route")->endpoint, ">ipc:///tmp/zt/a/7116.ipc"));
    count = zsat_topology_sockets (self, "tracker", "a", sockets, 32);
    assert (count == 3);
    assert (streq (s_socket (sockets, count, "state")->endpoint,
                   "@ipc:///tmp/zt/a/7101.ipc,@tcp://198.18.0.1:7101"));
    count = zsat_topology_sockets (self, "orchester", "b", sockets, 32);
    assert (streq (s_socket (sockets, count, "jobs")->endpoint, ">tcp://198.18.0.1:7103"));
    assert (streq (s_socket (sockets, count, "jobs")->topic, "b/"));
    assert (streq (s_socket (sockets, count, "any")->endpoint,
                   "@ipc:///tmp/zt/b/7107.ipc,@tcp://198.18.0.2:7107"));
    char endpoint[256];
    assert (zsat_topology_endpoint (self, "orchester.control", "b", "a", endpoint, 256) == 0);
    assert (streq (endpoint, ">tcp://198.18.0.2:7108"));
    assert (zsat_topology_endpoint (self, "orchester.control", NULL, "a", endpoint, 256) == -1);
    assert (zsat_topology_bind_endpoint (self, "launcher.control", "b", endpoint, 256) == 0);
    assert (streq (endpoint, "@ipc:///tmp/zt/b/7109.ipc,@tcp://198.18.0.2:7109"));
    assert (zsat_topology_bind_endpoint (self, "launcher.control", NULL, endpoint, 256) == -1);
    //  every port is used once in the whole topology
    int ports[64], port_count = 0;
    for (size_t n = 0; n < zsat_topology_node_count (self); n++)
        for (size_t h = 0; h < 2; h++) {
            const zsat_node_t *node = zsat_topology_node (self, n);
            const char *host = zsat_topology_host (self, h)->name;
            count = zsat_topology_sockets (self, node->name, host, sockets, 32);
            for (int i = 0; i < count; i++) {
                if (!sockets[i].bind)
                    continue;
                const char *colon = strrchr (sockets[i].endpoint, ':');
                const char *slash = strrchr (sockets[i].endpoint, '/');
                int port = atoi ((colon > slash ? colon : slash) + 1);
                for (int j = 0; j < port_count; j++)
                    assert (ports[j] != port);
                assert (port_count < 64);
                ports[port_count++] = port;
            }
        }
    //  no launcher node: its port is unbound; csv's idle route endpoint on a; b's orchester
    //  binds csv's remote route port (csv runs on a only), last of all
    assert (port_count == 2 * 3 + 4 + 4 + 2 - 2 + 1 + 1);
    assert (zsat_topology_sockets (self, "orchester", "b", sockets, 32) > 0);
    count = zsat_topology_sockets (self, "csv", "a", sockets, 32);
    bool remote = false;
    for (int i = 0; i < count; i++)
        if (streq (sockets[i].name, "in:route@b"))
            remote = streq (sockets[i].endpoint, ">tcp://198.18.0.2:7117") && !sockets[i].bind;
    assert (remote);
    zsat_topology_destroy (&self);
}

//  A route's alternate gets a route endpoint on each of its hosts (the breaker diverts to it),
//  after the links, in node order; system nodes never get one.
static void
s_test_alternate (void)
{
    const char *text = "hosts: {a: 198.18.0.1, b: 198.18.0.2}\n"
                       "nodes:\n"
                       "  broken: {kind: cpu, host: a}\n"
                       "  spare: {kind: cpu, hosts: all}\n"
                       "  csv: {kind: csv, host: a}\n"
                       "links: [broken -> csv]\n"
                       "routes: {job: {to: [broken], alternate: spare}}\n"
                       "schedules: [{type: job, every: 1s}]\n";
    zsat_diag_t *diag = zsat_diag_new ();
    zsat_topology_t *self = zsat_topology_parse (text, strlen (text), "alt.yaml", diag);
    if (!self)
        zsat_diag_print (diag, stderr);
    assert (self);
    zsat_socket_t sockets[32];
    //  7100..7109 system, 7110 route:broken on a, 7111 link, then spare on a and b, csv on a
    int count = zsat_topology_sockets (self, "spare", "a", sockets, 32);
    assert (count == 2);
    assert (streq (s_socket (sockets, count, "in:route")->endpoint, ">ipc:///tmp/zt/a/7112.ipc"));
    count = zsat_topology_sockets (self, "spare", "b", sockets, 32);
    assert (streq (s_socket (sockets, count, "in:route")->endpoint, ">ipc:///tmp/zt/b/7113.ipc"));
    count = zsat_topology_sockets (self, "orchester", "a", sockets, 32);
    assert (
        streq (s_socket (sockets, count, "route:broken")->endpoint, "@ipc:///tmp/zt/a/7110.ipc"));
    assert (
        streq (s_socket (sockets, count, "route:spare")->endpoint, "@ipc:///tmp/zt/a/7112.ipc"));
    assert (streq (s_socket (sockets, count, "route:csv")->endpoint, "@ipc:///tmp/zt/a/7114.ipc"));
    assert (!s_socket (sockets, count, "route:tracker"));
    count = zsat_topology_sockets (self, "orchester", "b", sockets, 32);
    assert (
        streq (s_socket (sockets, count, "route:spare")->endpoint, "@ipc:///tmp/zt/b/7113.ipc"));
    assert (!s_socket (sockets, count, "route:broken"));
    count = zsat_topology_sockets (self, "broken", "a", sockets, 32);
    assert (streq (s_socket (sockets, count, "out:broken->csv")->endpoint,
                   ">ipc:///tmp/zt/a/7111.ipc"));
    zsat_topology_destroy (&self);
    zsat_diag_destroy (&diag);
}

static void
s_test_syntax (void)
{
    int64_t value;
    assert (zsat_topology_parse_duration ("250ms", &value) == 0 && value == 250);
    assert (zsat_topology_parse_duration ("2s", &value) == 0 && value == 2000);
    assert (zsat_topology_parse_duration ("1m", &value) == 0 && value == 60000);
    assert (zsat_topology_parse_duration ("1h", &value) == 0 && value == 3600000);
    assert (zsat_topology_parse_duration ("5", &value) == -1);
    assert (zsat_topology_parse_duration ("-1s", &value) == -1);
    assert (zsat_topology_parse_duration ("1d", &value) == -1);
    assert (zsat_topology_parse_duration ("99999999999999999999s", &value) == -1);
    assert (zsat_topology_parse_size ("512", &value) == 0 && value == 512);
    assert (zsat_topology_parse_size ("64k", &value) == 0 && value == 65536);
    assert (zsat_topology_parse_size ("16MiB", &value) == 0 && value == 16 << 20);
    assert (zsat_topology_parse_size ("1G", &value) == 0 && value == 1 << 30);
    assert (zsat_topology_parse_size ("1X", &value) == -1);
    assert (zsat_topology_parse_size ("", &value) == -1);
}

static void
s_expect_problem (const char *text, const char *message)
{
    zsat_diag_t *diag = zsat_diag_new ();
    zsat_topology_t *self = zsat_topology_parse (text, strlen (text), "t.yaml", diag);
    if (self || !zsat_diag_contains (diag, message)) {
        fprintf (stderr, "expected '%s' in:\n", message);
        zsat_diag_print (diag, stderr);
    }
    assert (!self && zsat_diag_contains (diag, message));
    zsat_diag_destroy (&diag);
}

static void
s_test_problems (void)
{
    s_expect_problem ("nodes:\n  cpu: {instnces: 2}\n",
                      "t.yaml:2:9: unknown key 'instnces' (did you mean 'instances'?)");
    s_expect_problem ("nodes:\n  cpu: {instances: two}\n",
                      "t.yaml:2:20: 'instances' must be an integer, got 'two'");
    s_expect_problem ("nodes: {a: {}}\nlinks: [a -> b]\n", "t.yaml:2:9: link: unknown node 'b'");
    s_expect_problem ("nodes: [\n", "t.yaml:2:1: YAML syntax error");
    s_expect_problem ("", "the topology is empty");
    //  problems about implicit hosts and nodes (no source mark) are reported without one
    s_expect_problem ("nodes: {orchester: {kind: cpu}}\n",
                      "t.yaml: host 'local' has 0 orchester nodes (needs exactly one)");
    s_expect_problem ("nodes: {scheduler: {kind: tracker}}\n",
                      "t.yaml:1:9: no scheduler: node 'scheduler' is of kind 'tracker'");
    s_expect_problem ("schedules: [{type: x, every: 5}]\n", "must be a duration with a unit");
}

static void
s_test_expand (void)
{
    setenv ("ZSAT_TOPO_TEST_DIR", "/tmp/tt", 1);
    unsetenv ("ZSAT_TOPO_TEST_NONE");
    const char *text = "x-a: &a {kind: log, instances: 2, max: 2}\n"
                       "nodes:\n"
                       "  csv: {kind: csv, options: {dir: \"${ZSAT_TOPO_TEST_DIR}/x\", "
                       "flush: \"${ZSAT_TOPO_TEST_NONE:-every}\"}}\n"
                       "  p: {<<: *a, options: {file: \"$${HOME}$$\"}}\n"
                       "  q: {<<: *a, instances: 1}\n";
    zsat_diag_t *diag = zsat_diag_new ();
    zsat_topology_t *self = zsat_topology_parse (text, strlen (text), "t.yaml", diag);
    zsat_diag_print (diag, stderr);
    assert (self);
    const zsat_node_t *csv = zsat_topology_node_find (self, "csv");
    assert (streq (zsat_topology_node_option (csv, "dir"), "/tmp/tt/x"));
    assert (streq (zsat_topology_node_option (csv, "flush"), "every"));
    const zsat_node_t *p = zsat_topology_node_find (self, "p");
    assert (p && streq (p->kind, "log") && p->instances == 2);
    assert (streq (zsat_topology_node_option (p, "file"), "${HOME}$"));
    assert (zsat_topology_node_find (self, "q")->instances == 1);
    assert (!zsat_topology_node_find (self, "x-a"));
    zsat_topology_destroy (&self);
    zsat_diag_destroy (&diag);
    s_expect_problem ("run_dir: /a/${ZSAT_TOPO_TEST_NONE}\n",
                      "t.yaml:1:13: environment variable 'ZSAT_TOPO_TEST_NONE' is not set");
    s_expect_problem ("run_dir: /a/${ZSAT_X\n", "t.yaml:1:13: unterminated '${'");
    s_expect_problem ("nodes: {cpu: {<<: [a]}}\n", "t.yaml:1:19: '<<' merges a mapping");
    //  an include: its nodes join, its problems name it and the include
    char dir[64], path[128];
    snprintf (dir, sizeof dir, "/tmp/zsat-topo-inc-%d", (int)getpid ());
    mkdir (dir, 0700);
    snprintf (path, sizeof path, "%s/inc.yaml", dir);
    FILE *file = fopen (path, "w");
    fputs ("nodes:\n  cpu: {kind: cpu, instances: \"${ZSAT_TOPO_TEST_N:-1}\"}\n", file);
    fclose (file);
    snprintf (path, sizeof path, "%s/top.yaml", dir);
    file = fopen (path, "w");
    fputs ("name: inc\ninclude: inc.yaml\nnodes: {csv: {}}\nlinks: [cpu -> csv]\n", file);
    fclose (file);
    diag = zsat_diag_new ();
    self = zsat_topology_load (path, diag);
    assert (self && zsat_topology_node_find (self, "cpu") && zsat_topology_link_count (self) == 1);
    zsat_topology_destroy (&self);
    setenv ("ZSAT_TOPO_TEST_N", "many", 1);
    self = zsat_topology_load (path, diag);
    char expected[256];
    snprintf (expected, sizeof expected,
              "%s/inc.yaml:2:31: 'instances' must be an integer, got 'many' (included from "
              "%s/top.yaml:2:10)",
              dir, dir);
    assert (!self && zsat_diag_contains (diag, expected));
    unsetenv ("ZSAT_TOPO_TEST_N");
    zsat_diag_destroy (&diag);
    unlink (path);
    snprintf (path, sizeof path, "%s/inc.yaml", dir);
    unlink (path);
    rmdir (dir);
}

static void
s_test_run_dir (void)
{
    const char *text = "name: rd\nrun_dir: /tmp/rd-file/\n";
    unsetenv ("ZSAT_RUN_DIR");
    zsat_topology_t *self = zsat_topology_parse (text, strlen (text), "rd.yaml", NULL);
    assert (self && streq (zsat_topology_run_dir (self), "/tmp/rd-file"));
    zsat_topology_destroy (&self);
    self = zsat_topology_parse ("nodes: {}\n", 10, "dir/plain.yaml", NULL);
    char expected[128];
    snprintf (expected, sizeof expected, "/tmp/zsat-%u/plain", (unsigned)getuid ());
    assert (self && streq (zsat_topology_run_dir (self), expected));
    assert (streq (zsat_topology_name (self), "plain"));
    zsat_topology_destroy (&self);
    setenv ("ZSAT_RUN_DIR", "/tmp/rd-env", 1);
    self = zsat_topology_parse (text, strlen (text), "rd.yaml", NULL);
    assert (self && streq (zsat_topology_run_dir (self), "/tmp/rd-env"));
    char endpoint[256];
    assert (zsat_topology_endpoint (self, "tracker.events", NULL, NULL, endpoint, 256) == 0);
    assert (streq (endpoint, ">ipc:///tmp/rd-env/local/7100.ipc"));
    zsat_topology_destroy (&self);
    //  the run directory is made private, parents included
    char dir[64];
    snprintf (dir, sizeof dir, "/tmp/zsat-topo-test-%d", (int)getpid ());
    setenv ("ZSAT_RUN_DIR", dir, 1);
    self = zsat_topology_parse (text, strlen (text), "rd.yaml", NULL);
    assert (zsat_topology_make_run_dir (self, "local") == 0);
    assert (zsat_topology_make_run_dir (self, "local") == 0);
    assert (zsat_topology_make_run_dir (self, "other") == -1);
    char path[128];
    struct stat info;
    snprintf (path, sizeof path, "%s/local/logs", dir);
    assert (stat (path, &info) == 0 && S_ISDIR (info.st_mode) && (info.st_mode & 0777) == 0700);
    rmdir (path);
    snprintf (path, sizeof path, "%s/local", dir);
    rmdir (path);
    rmdir (dir);
    zsat_topology_destroy (&self);
    setenv ("ZSAT_RUN_DIR", "/tmp/zt", 1);
}

static void
s_test_dot (void)
{
    zsat_topology_t *self = s_load_shipped ("default.yaml");
    char *text = NULL;
    size_t size = 0;
    FILE *out = open_memstream (&text, &size);
    assert (out && zsat_topology_dot (self, out) == 0);
    fclose (out);
    assert (strstr (text, "digraph \"default\" {"));
    assert (strstr (text, "subgraph \"cluster_local\" {"));
    assert (strstr (text, "\"local/cpu/0\" -> \"local/csv/0\" [label=\"push\", style=solid];"));
    assert (strstr (text, "\"local/orchester/0\" -> \"local/cpu/0\" [label=\"route cpu\", "
                          "style=dashed];"));
    assert (strstr (text, "\"local/scheduler/0\" -> \"local/orchester/0\" [label=\"jobs\""));
    free (text);
    zsat_topology_destroy (&self);
}

//  A cut-down DSAT example: the same cnx and watchers as /work/shared/dsat.
static const char *s_dsat_vertex =
    "{ \"check_delay\" : 3, \"cnx\": {\n"
    "\t\"SUB_orchester_master\" : \"tcp://%(master_ip)s:9563\",\n"
    "\t\"PUSH_any_orchester\" : \"tcp://%(ext_ip)s:9576\",\n"
    "\t\"PUSH_any_tracker\" : \"ipc://tracker_in\",\n"
    "\t\"PUB_tracker_any\" : \"ipc://tracker_out\",\n"
    "\t\"PUSH_orchester_cpu\" : \"ipc://socksher\",\n"
    "\t\"PUSH_orchester_ping\" : \"tcp://%(ext_ip)s:9566\",\n"
    "\t\"PUSH_orchester_proc\" : \"ipc://_sock_proc\",\n"
    "\t\"PUSH_ping_csvw\" : \"tcp://%(ext_ip)s:%(csvw_port)s\",\n"
    "\t\"PUSH_cpu_csvw\" : \"tcp://%(ext_ip)s:%(csvw_port)s\",\n"
    "\t\"PUSH_cpu_rrd\" : \"ipc://cpu_rrd\",\n"
    "\t\"PUSH_proc_csvw\" : \"tcp://%(ext_ip)s:%(csvw_port)s\" },\n"
    " \"csvw_port\" : \"9558\", \"master_ip\" : \"127.0.0.1\", \"ext_ip\" : \"127.0.0.1\",\n"
    " \"bounce_to\": {\"cpu\": [{\"where\": \"localhost\", \"type\": \"cpu\"}]},\n"
    " \"polling_time_ms\" : 3500, \"max_retry\" : 2, \"timeout\" : 10 }\n";

static const char *s_dsat_ini =
    "[circus]\ncheck_delay = 1\n\n"
    "[watcher:tracker]\nnumprocesses = 1\nsingleton = True\n"
    "[watcher:orchester]\nnumprocesses = 1\n"
    "[watcher:proc]\ncmd = /usr/bin/env python\nnumprocesses = 2\n"
    "[watcher:ping]\nnumprocesses = 1\n[watcher:cpu]\nnumprocesses = 1\n"
    "[watcher:master]\nnumprocesses = 1\n[watcher:csvw]\nnumprocesses = 1\n"
    "[watcher:rrd]\nnumprocesses = 1 \n";

static void
s_test_import (void)
{
    zsat_diag_t *diag = zsat_diag_new ();
    char *yaml = zsat_topology_import_dsat (s_dsat_vertex, s_dsat_ini, diag);
    zsat_diag_print (diag, stderr);
    assert (yaml);
    for (size_t i = 0; i < zsat_diag_count (diag); i++)
        assert (strstr (zsat_diag_get (diag, i), "warning:"));  //  [circus] is not carried
    assert (strstr (yaml, "# Not carried over"));
    zsat_diag_destroy (&diag);
    diag = zsat_diag_new ();
    assert (strstr (yaml, "endpoint: \"tcp://127.0.0.1:9558\""));
    zsat_topology_t *self = zsat_topology_parse (yaml, strlen (yaml), "dsat.yaml", diag);
    zsat_diag_print (diag, stderr);
    assert (self);
    assert (zsat_topology_node_count (self) == 8);  //  every watcher, no implicit node
    assert (zsat_topology_link_count (self) == 4);
    assert (zsat_topology_route_count (self) == 3);
    assert (zsat_topology_node_find (self, "proc")->instances == 2);
    assert (streq (zsat_topology_node_find (self, "master")->kind, "scheduler"));
    assert (zsat_topology_policy (self)->max_retry == 2);
    assert (zsat_topology_policy (self)->timeout_ms == 10000);
    //  three links share csvw's endpoint: csvw binds it once
    zsat_socket_t sockets[16];
    int count = zsat_topology_sockets (self, "csvw", "local", sockets, 16);
    assert (count == 3);  //  events, in:route (idle), in:ping->csvw
    assert (streq (sockets[2].endpoint, "@tcp://127.0.0.1:9558"));
    zsat_topology_destroy (&self);
    free (yaml);
    assert (zsat_topology_import_dsat ("[1, 2]", s_dsat_ini, diag) == NULL);
    assert (zsat_topology_import_dsat ("{\"cnx\": ", s_dsat_ini, diag) == NULL);
    assert (zsat_diag_contains (diag, "JSON syntax error"));
    zsat_diag_destroy (&diag);
    zsat_topology_destroy (&self);
    self = s_load_shipped ("dsat-example.yaml");
    assert (zsat_topology_node_count (self) == 8 && zsat_topology_link_count (self) == 4);
    zsat_topology_destroy (&self);
}

//  Opens one resolved socket with czmq; NULL when the endpoint does not attach.
static zsock_t *
s_open (const zsat_socket_t *socket)
{
    zsock_t *sock = zsock_new (socket->socket_type);
    assert (sock);
    zsock_set_rcvtimeo (sock, 5000);  //  bounded wait; the message is already queued locally
    zsock_set_sndtimeo (sock, 5000);
    if (zsock_attach (sock, socket->endpoint, false) != 0)
        zsock_destroy (&sock);
    return sock;
}

//  The resolved endpoints work with real ZeroMQ sockets: cpu -> csv over ipc, and cpu's
//  events into the tracker.
static void
s_test_real_sockets (void)
{
    char dir[64];
    snprintf (dir, sizeof dir, "/tmp/zsat-topo-sock-%d", (int)getpid ());
    setenv ("ZSAT_RUN_DIR", dir, 1);
    zsat_topology_t *self = s_load_shipped ("default.yaml");
    assert (zsat_topology_make_run_dir (self, "local") == 0);
    zsat_socket_t cpu[16], csv[16], tracker[16];
    int cpu_count = zsat_topology_sockets (self, "cpu", "local", cpu, 16);
    int csv_count = zsat_topology_sockets (self, "csv", "local", csv, 16);
    int tracker_count = zsat_topology_sockets (self, "tracker", "local", tracker, 16);
    const char *pairs[][3] = {{"out:cpu->csv", "in:cpu->csv"}, {"events", "events"}};
    for (int i = 0; i < 2; i++) {
        zsock_t *reader = s_open (
            s_socket (i == 0 ? csv : tracker, i == 0 ? csv_count : tracker_count, pairs[i][1]));
        zsock_t *writer = s_open (s_socket (cpu, cpu_count, pairs[i][0]));
        assert (reader && writer);
        assert (zstr_send (writer, "hello") == 0);
        char *text = zstr_recv (reader);
        assert (text && streq (text, "hello"));
        zstr_free (&text);
        zsock_destroy (&writer);
        zsock_destroy (&reader);
    }
    char path[128];
    for (int port = 7100; port < 7120; port++) {  //  ipc files left by the bound sockets
        snprintf (path, sizeof path, "%s/local/%d.ipc", dir, port);
        unlink (path);
    }
    snprintf (path, sizeof path, "%s/local/logs", dir);
    rmdir (path);
    snprintf (path, sizeof path, "%s/local", dir);
    rmdir (path);
    rmdir (dir);
    zsat_topology_destroy (&self);
    setenv ("ZSAT_RUN_DIR", "/tmp/zt", 1);
}

//  The tracker's HTTP key: an address, loopback unless a token file is given.
static void
s_test_http (void)
{
    char ip[16], why[160];
    int port;
    bool loopback;
    assert (zsat_topology_http_address ("127.0.0.1:9188", ip, &port, &loopback, why, 160) == 0);
    assert (streq (ip, "127.0.0.1") && port == 9188 && loopback);
    assert (zsat_topology_http_address ("0.0.0.0:80", ip, &port, &loopback, why, 160) == 0);
    assert (!loopback);
    static const char *bad[] = {
        "9188",         ":9188",        "127.0.0.1:", "127.0.0.1:0", "127.0.0.1:65536",
        "127.0.0.1:9x", "localhost:80", "1.2.3:80",   NULL};
    for (const char **b = bad; *b; b++)
        assert (zsat_topology_http_address (*b, ip, &port, &loopback, why, 160) == -1);
    static const char *head = "name: h\nnodes:\n  cpu: {kind: cpu}\ntracker:\n";
    static const struct {
        const char *tracker;
        const char *error;  //  NULL: valid
    } cases[] = {{"  http: \"127.0.0.1:9188\"\n", NULL},
                 {"  http: \"127.0.0.1:99999\"\n", "h.yaml:5:9: 'http': '127.0.0.1:99999'"},
                 {"  http: 0.0.0.0:9188\n", "h.yaml:5:9: 'http' listens on 0.0.0.0, not loopback"},
                 {"  http: 0.0.0.0:9188\n  http_token_file: /etc/zsat/token\n", NULL},
                 {"  http: [1]\n", "h.yaml:5:9: 'http': must be a string"},
                 {"  http_token_file: ''\n", "h.yaml:5:20: 'http_token_file' must not be empty"}};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char *text = zsys_sprintf ("%s%s", head, cases[i].tracker);
        zsat_diag_t *diag = zsat_diag_new ();
        zsat_topology_t *t = zsat_topology_parse (text, strlen (text), "h.yaml", diag);
        if (cases[i].error)
            assert (!t && zsat_diag_count (diag) &&
                    strstr (zsat_diag_get (diag, 0), cases[i].error));
        else
            assert (t && zsat_topology_policy (t)->http);
        zsat_topology_destroy (&t);
        zsat_diag_destroy (&diag);
        zstr_free (&text);
    }
}

void
zsat_topology_test (bool verbose)
{
    printf (" * zsat_topology: ");
    char *saved = getenv ("ZSAT_RUN_DIR") ? strdup (getenv ("ZSAT_RUN_DIR")) : NULL;
    setenv ("ZSAT_RUN_DIR", "/tmp/zt", 1);
    s_test_default ();
    s_test_two_hosts ();
    s_test_alternate ();
    s_test_syntax ();
    s_test_problems ();
    s_test_expand ();
    s_test_run_dir ();
    s_test_dot ();
    s_test_import ();
    s_test_real_sockets ();
    s_test_http ();
    if (saved)
        setenv ("ZSAT_RUN_DIR", saved, 1);
    else
        unsetenv ("ZSAT_RUN_DIR");
    free (saved);
    printf ("OK\n");
}
