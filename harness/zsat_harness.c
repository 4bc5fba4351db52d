/*  zsat_harness - one run of a scenario (see zsat_harness.h).

    The run: sweep what crashed runs left, create the hosts (namespaces, or loopback), write
    the effective topology (the user's file with the load's options on the gen node and the
    hosts' emulated addresses) into the report folder, start `zsat launch` per host, wait
    until the tracker's NODES shows every instance alive, then for the scenario's duration
    apply faults on time and take a sample every second (rows the sinks appended, the
    tracker's STATUS and NODES). Then drain, count what the sinks wrote against what gen
    sent, stop the launchers (SIGTERM, bounded, then SIGKILL of every process of the run),
    delete the hosts and judge the invariants.

    Sockets: a REQ to tracker.query (recreated after a timeout, as REQ cannot resend) and a
    SUB to tracker.state (SCALE decisions), both over the tracker host's ipc endpoints, which
    the harness reaches from outside the namespaces through the shared run directory.
*/
#define _GNU_SOURCE  //  memmem
#include "zsat_harness.h"
#include "zsat_netns.h"
#include "zsat_report.h"
#include "zsat_stats.h"
#include <dirent.h>
#include <glob.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <yaml.h>

#define HARNESS_LAUNCHERS_MAX 64
#define HARNESS_SINK_FILES    256
#define HARNESS_PIDS_MAX      1024
#define HARNESS_STOP_MS       20000    //  launchers stop their nodes in order; then SIGKILL
#define HARNESS_DRAIN_MS      30000    //  after the load: until the sinks stop growing
#define HARNESS_QUERY_MS      1000     //  one tracker request
#define HARNESS_FAILED_MAX    1000000  //  FAILURE task ids kept for no_false_failures

static volatile sig_atomic_t s_interrupted;

typedef struct {
    char path[1024];
    off_t offset;
} sink_file_t;

typedef struct {
    char host[ZSAT_NAME_MAX], node[ZSAT_NAME_MAX];
    uint64_t wid, pid, out;
} seen_node_t;

struct zsat_harness_t {
    zsat_scenario_t *scenario;
    char out_dir[1024];
    char run_dir[1024];
    char binary[1024];
    char topology_path[1100];  //  the effective topology, in the report folder
    zsat_topology_t *topology;
    zsat_netns_t *netns;
    char addresses[ZSAT_NETNS_HOSTS_MAX][32];
    pid_t launchers[HARNESS_LAUNCHERS_MAX];
    size_t launcher_count;
    zsock_t *query;
    zsock_t *state;
    char query_endpoint[512];
    int64_t sent_retired;  //  gen's out counters of processes that were replaced
    sink_file_t sinks[HARNESS_SINK_FILES];
    size_t sink_count;
    int64_t sink_rows;
    seen_node_t seen[HARNESS_PIDS_MAX];
    size_t seen_count;
    zsat_progress_fn *progress;
    void *progress_arg;
    const char *phase;
    int64_t load_start;     //  zclock_mono at the start of the load
    zhashx_t *failed;       //  task ids of the FAILUREs on the feed (at most HARNESS_FAILED_MAX)
    uint64_t latency_next;  //  the tracker's sequence number of the next task latency to read
    int64_t *latencies;     //  one interval's task latencies (ZSAT_STATS_RECENT)
    zsat_results_t results;
};

void
zsat_harness_interrupt (void)
{
    s_interrupted = 1;
}

bool
zsat_harness_interrupted (void)
{
    return s_interrupted != 0;
}

zsat_harness_t *
zsat_harness_new (zsat_scenario_t *scenario, const char *out_dir, const char *binary)
{
    zsat_harness_t *self = (zsat_harness_t *)zmalloc (sizeof (zsat_harness_t));
    if (!self)
        return NULL;
    self->scenario = scenario;
    snprintf (self->out_dir, sizeof self->out_dir, "%s", out_dir);
    snprintf (self->binary, sizeof self->binary, "%s", binary);
    self->phase = "hosts";
    zsat_results_t *r = &self->results;
    snprintf (r->scenario, sizeof r->scenario, "%s", zsat_scenario_name (scenario));
    snprintf (r->scenario_file, sizeof r->scenario_file, "%s", zsat_scenario_file (scenario));
    snprintf (r->topology_file, sizeof r->topology_file, "%s",
              zsat_scenario_topology_path (scenario));
    r->duration_s = zsat_scenario_duration (scenario) / 1000.0;
    r->rate = zsat_scenario_load_options (scenario)->rate;
    r->critical = zsat_scenario_load_options (scenario)->critical;
    r->sent = r->lost = -1;
    r->rows = r->unique = r->duplicates = -1;
    r->happy_ends = r->failures = r->errors = r->retries = -1;
    r->timeouts = r->dead_letters = r->live = -1;
    r->p50_us = r->p99_us = r->max_us = -1;
    r->false_failures = r->backlog_at_scale_down = -1;
    self->failed = zhashx_new ();
    if (!self->failed)
        zsat_harness_destroy (&self);
    return self;
}

void
zsat_harness_set_progress (zsat_harness_t *self, zsat_progress_fn *fn, void *arg)
{
    self->progress = fn;
    self->progress_arg = arg;
}

const zsat_results_t *
zsat_harness_results (zsat_harness_t *self)
{
    return &self->results;
}

//  --------------------------------------------------------------------------
//  A small tolerant JSON scanner for the tracker's replies: finds keys inside a range.

//  Returns the end (one past the closing bracket) of the value starting at p, or NULL.
static const char *
s_json_skip (const char *p, const char *end)
{
    int depth = 0;
    bool in_string = false;
    for (; p < end; p++) {
        if (in_string) {
            if (*p == '\\')
                p++;
            else if (*p == '"')
                in_string = false;
        }
        else if (*p == '"')
            in_string = true;
        else if (*p == '{' || *p == '[')
            depth++;
        else if ((*p == '}' || *p == ']') && --depth == 0)
            return p + 1;
    }
    return NULL;
}

//  Returns a pointer to the value of "key" in [p, end), or NULL.
static const char *
s_json_find (const char *p, const char *end, const char *key)
{
    char pattern[80];
    int len = snprintf (pattern, sizeof pattern, "\"%s\":", key);
    const char *hit = (const char *)memmem (p, (size_t)(end - p), pattern, (size_t)len);
    return hit ? hit + len : NULL;
}

static int64_t
s_json_int (const char *p, const char *end, const char *key, int64_t otherwise)
{
    const char *value = s_json_find (p, end, key);
    if (!value)
        return otherwise;
    if (strncmp (value, "true", 4) == 0)
        return 1;
    if (strncmp (value, "false", 5) == 0)
        return 0;
    char *stop = NULL;
    double number = strtod (value, &stop);
    return stop == value ? otherwise : (int64_t)number;
}

static void
s_json_str (const char *p, const char *end, const char *key, char *out, size_t cap)
{
    const char *value = s_json_find (p, end, key);
    size_t len = 0;
    if (value && *value == '"') {
        for (value++; value < end && *value != '"' && len + 1 < cap; value++)
            out[len++] = *value;
    }
    out[len] = 0;
}

//  Iterates the objects of array "key": call with *cursor NULL first. Returns true and sets
//  [*begin, *obj_end) for each object.
static bool
s_json_each (const char *json, const char *key, const char **cursor, const char **begin,
             const char **obj_end)
{
    const char *end = json + strlen (json);
    if (!*cursor) {
        const char *array = s_json_find (json, end, key);
        if (!array || *array != '[')
            return false;
        *cursor = array + 1;
    }
    const char *open = strchr (*cursor, '{');
    const char *close = strchr (*cursor, ']');
    if (!open || (close && close < open))
        return false;
    const char *after = s_json_skip (open, end);
    if (!after)
        return false;
    *begin = open;
    *obj_end = after;
    *cursor = after;
    return true;
}

//  --------------------------------------------------------------------------
//  The effective topology: the user's file, edited with libyaml's document API.

static int
s_node_id (yaml_document_t *doc, yaml_node_t *node)
{
    return (int)(node - doc->nodes.start) + 1;
}

static yaml_node_pair_t *
s_yaml_pair (yaml_document_t *doc, int map_id, const char *key)
{
    yaml_node_t *map = yaml_document_get_node (doc, map_id);
    if (!map || map->type != YAML_MAPPING_NODE)
        return NULL;
    for (yaml_node_pair_t *pair = map->data.mapping.pairs.start; pair < map->data.mapping.pairs.top;
         pair++) {
        yaml_node_t *k = yaml_document_get_node (doc, pair->key);
        if (k && k->type == YAML_SCALAR_NODE && streq ((char *)k->data.scalar.value, key))
            return pair;
    }
    return NULL;
}

//  Sets map[key] = value (a new scalar; the old value node is left unreferenced). Returns
//  0, or -1 when map is not a mapping.
static int
s_yaml_set (yaml_document_t *doc, int map_id, const char *key, const char *value)
{
    yaml_node_t *map = yaml_document_get_node (doc, map_id);
    if (!map || map->type != YAML_MAPPING_NODE)
        return -1;
    int value_id =
        yaml_document_add_scalar (doc, NULL, (yaml_char_t *)value, -1, YAML_PLAIN_SCALAR_STYLE);
    yaml_node_pair_t *pair = s_yaml_pair (doc, map_id, key);
    if (pair) {
        pair->value = value_id;
        return 0;
    }
    int key_id =
        yaml_document_add_scalar (doc, NULL, (yaml_char_t *)key, -1, YAML_PLAIN_SCALAR_STYLE);
    return yaml_document_append_mapping_pair (doc, map_id, key_id, value_id) ? 0 : -1;
}

//  Returns the id of map[key] as a mapping, creating an empty one when absent, or 0.
static int
s_yaml_map (yaml_document_t *doc, int map_id, const char *key)
{
    yaml_node_pair_t *pair = s_yaml_pair (doc, map_id, key);
    if (pair) {
        yaml_node_t *value = yaml_document_get_node (doc, pair->value);
        return value && value->type == YAML_MAPPING_NODE ? pair->value : 0;
    }
    int value_id = yaml_document_add_mapping (doc, NULL, YAML_BLOCK_MAPPING_STYLE);
    int key_id =
        yaml_document_add_scalar (doc, NULL, (yaml_char_t *)key, -1, YAML_PLAIN_SCALAR_STYLE);
    yaml_document_append_mapping_pair (doc, map_id, key_id, value_id);
    return value_id;
}

//  Gives every host its emulated address: `a: 198.18.0.1` or `a: {address: ...}`.
static void
s_edit_hosts (zsat_harness_t *self, yaml_document_t *doc, int root)
{
    yaml_node_pair_t *hosts = s_yaml_pair (doc, root, "hosts");
    if (!hosts)
        return;  //  one implicit host: it talks over ipc only
    int hosts_id = hosts->value;
    size_t count = zsat_topology_host_count (zsat_scenario_topology (self->scenario));
    for (size_t i = 0; i < count; i++) {
        const char *name = zsat_topology_host (zsat_scenario_topology (self->scenario), i)->name;
        yaml_node_pair_t *pair = s_yaml_pair (doc, hosts_id, name);
        yaml_node_t *value = pair ? yaml_document_get_node (doc, pair->value) : NULL;
        if (value && value->type == YAML_MAPPING_NODE)
            s_yaml_set (doc, pair->value, "address", self->addresses[i]);
        else if (pair)
            s_yaml_set (doc, hosts_id, name, self->addresses[i]);
    }
}

//  Sets the load's options on the gen node; gen stops by itself at the end of the load.
static void
s_edit_load (zsat_harness_t *self, yaml_document_t *doc, int root)
{
    const zsat_load_t *load = zsat_scenario_load_options (self->scenario);
    yaml_node_pair_t *nodes = s_yaml_pair (doc, root, "nodes");
    const zsat_node_t *gen =
        zsat_topology_node_find (zsat_scenario_topology (self->scenario), load->node);
    if (!*load->node || !nodes || !gen || !streq (gen->kind, "gen"))
        return;  //  a scheduler's load is its schedules: nothing to set
    int nodes_id = nodes->value;
    yaml_node_pair_t *node = s_yaml_pair (doc, nodes_id, load->node);
    if (!node)
        return;
    int node_id = node->value;
    int options = s_yaml_map (doc, node_id, "options");
    if (!options)
        return;
    char value[64];
    if (load->has_rate) {
        snprintf (value, sizeof value, "%g", load->rate);
        s_yaml_set (doc, options, "rate", value);
    }
    if (load->has_size) {
        snprintf (value, sizeof value, "%" PRId64, load->size);
        s_yaml_set (doc, options, "size", value);
    }
    if (load->has_critical)
        s_yaml_set (doc, options, "critical", load->critical ? "true" : "false");
    if (load->has_seed) {
        snprintf (value, sizeof value, "%" PRId64, load->seed);
        s_yaml_set (doc, options, "seed", value);
    }
    snprintf (value, sizeof value, "%" PRId64 "ms", zsat_scenario_duration (self->scenario));
    s_yaml_set (doc, options, "duration", value);
}

//  Writes the effective topology into the report folder. Returns 0, or -1 with a reason in
//  results.error.
static int
s_write_topology (zsat_harness_t *self)
{
    zsat_results_t *r = &self->results;
    FILE *in = fopen (zsat_scenario_topology_path (self->scenario), "rb");
    FILE *out = in ? fopen (self->topology_path, "wb") : NULL;
    yaml_parser_t parser;
    yaml_emitter_t emitter;
    yaml_document_t doc;
    int rc = -1;
    yaml_parser_initialize (&parser);
    yaml_emitter_initialize (&emitter);
    if (!in || !out)
        snprintf (r->error, sizeof r->error, "cannot write %s", self->topology_path);
    else if (yaml_parser_set_input_file (&parser, in), !yaml_parser_load (&parser, &doc))
        snprintf (r->error, sizeof r->error, "cannot read the topology again");
    else {
        yaml_node_t *top = yaml_document_get_root_node (&doc);
        int root = top ? s_node_id (&doc, top) : 0;
        if (root) {
            s_edit_hosts (self, &doc, root);
            s_edit_load (self, &doc, root);
        }
        yaml_emitter_set_output_file (&emitter, out);
        yaml_emitter_set_width (&emitter, 100);
        //  dump frees the document, also when it fails; without it, free it here.
        if (root && yaml_emitter_open (&emitter))
            rc = yaml_emitter_dump (&emitter, &doc) && yaml_emitter_close (&emitter) ? 0 : -1;
        else
            yaml_document_delete (&doc);
        if (rc)
            snprintf (r->error, sizeof r->error, "cannot emit %s", self->topology_path);
    }
    yaml_emitter_delete (&emitter);
    yaml_parser_delete (&parser);
    if (in)
        fclose (in);
    if (out)
        fclose (out);
    return rc;
}

//  --------------------------------------------------------------------------
//  Processes of the run, found by the effective topology's path on their command line.

typedef struct {
    pid_t pid;
    int instance;
} run_proc_t;

//  Reads /proc/<pid>/cmdline into words. Returns the word count (0 when unreadable).
static int
s_cmdline (const char *pid, char *buf, size_t cap, const char **words, int max)
{
    char path[300];
    snprintf (path, sizeof path, "/proc/%s/cmdline", pid);
    FILE *file = fopen (path, "rb");
    if (!file)
        return 0;
    size_t size = fread (buf, 1, cap - 1, file);
    fclose (file);
    buf[size] = 0;
    int count = 0;
    for (size_t at = 0; at < size && count < max; at += strlen (buf + at) + 1)
        words[count++] = buf + at;
    return count;
}

//  Returns the word after `flag`, or NULL.
static const char *
s_flag (const char **words, int count, const char *flag)
{
    for (int i = 0; i + 1 < count; i++)
        if (streq (words[i], flag))
            return words[i + 1];
    return NULL;
}

//  Lists processes of this run; with node set, only `zsat node` of that node (and host).
static size_t
s_run_procs (zsat_harness_t *self, const char *node, const char *host, run_proc_t *out, size_t max)
{
    if (!*self->topology_path)
        return 0;
    DIR *dir = opendir ("/proc");
    size_t count = 0;
    struct dirent *entry;
    while (dir && (entry = readdir (dir)) && count < max) {
        if (entry->d_name[0] < '0' || entry->d_name[0] > '9')
            continue;
        char buf[4096];
        const char *words[32];
        int n = s_cmdline (entry->d_name, buf, sizeof buf, words, 32);
        bool ours = false;
        //  The launcher's children run its copy, <run_dir>/<host>/running/topology.yaml.
        size_t run_len = strlen (self->run_dir);
        for (int i = 0; i < n && !ours; i++)
            ours = streq (words[i], self->topology_path) ||
                   (strncmp (words[i], self->run_dir, run_len) == 0 && words[i][run_len] == '/' &&
                    strstr (words[i], "/running/topology.yaml"));
        if (!ours || (pid_t)atoi (entry->d_name) == getpid ())
            continue;
        const char *n_node = s_flag (words, n, "--node");
        const char *n_host = s_flag (words, n, "--host");
        const char *n_instance = s_flag (words, n, "--instance");
        if (node && (!n_node || !streq (n_node, node) || !n_instance))
            continue;
        if (node && host && *host && (!n_host || !streq (n_host, host)))
            continue;
        out[count].pid = (pid_t)atoi (entry->d_name);
        out[count++].instance = n_instance ? atoi (n_instance) : -1;
    }
    if (dir)
        closedir (dir);
    return count;
}

//  Sends sig to one instance of node (the lowest instance number) or to all of them.
//  Returns how many processes were signalled.
static int
s_signal_node (zsat_harness_t *self, const zsat_fault_t *fault, int sig, bool all)
{
    run_proc_t procs[256];
    size_t count = s_run_procs (self, fault->target, fault->host, procs, 256);
    int signalled = 0;
    size_t chosen = 0;
    for (size_t i = 1; i < count; i++)
        if (procs[i].instance < procs[chosen].instance)
            chosen = i;
    for (size_t i = 0; i < count; i++)
        if (all || i == chosen)
            signalled += kill (procs[i].pid, sig) == 0;
    return signalled;
}

//  SIGKILLs every process of the run that is still there (the last resort of stop).
static size_t
s_kill_all (zsat_harness_t *self)
{
    run_proc_t procs[HARNESS_PIDS_MAX];
    size_t count = s_run_procs (self, NULL, NULL, procs, HARNESS_PIDS_MAX);
    for (size_t i = 0; i < count; i++) {
        kill (procs[i].pid, SIGCONT);  //  a stopped process dies only once continued
        kill (procs[i].pid, SIGKILL);
    }
    return count;
}

//  --------------------------------------------------------------------------
//  The tracker: REQ query and SUB state feed over its host's ipc endpoints.

static const char *
s_tracker_host (zsat_topology_t *topology)
{
    for (size_t i = 0; i < zsat_topology_node_count (topology); i++) {
        const zsat_node_t *node = zsat_topology_node (topology, i);
        if (streq (node->kind, "tracker") && node->host_count > 0)
            return node->hosts[0];
    }
    return NULL;
}

static zsock_t *
s_socket (int type, const char *endpoint)
{
    zsock_t *sock = zsock_new (type);
    if (!sock)
        return NULL;
    zsock_set_linger (sock, 0);  //  queries are disposable: never hold the exit
    zsock_set_rcvtimeo (sock, HARNESS_QUERY_MS);
    zsock_set_sndtimeo (sock, HARNESS_QUERY_MS);
    if (zsock_attach (sock, endpoint, false) != 0)
        zsock_destroy (&sock);
    return sock;
}

//  Opens the query and feed sockets. Returns 0, or -1 when the endpoints are unknown.
static int
s_tracker_open (zsat_harness_t *self)
{
    const char *host = s_tracker_host (self->topology);
    char feed[512];
    if (!host ||
        zsat_topology_endpoint (self->topology, "tracker.query", NULL, host, self->query_endpoint,
                                sizeof self->query_endpoint) != 0 ||
        zsat_topology_endpoint (self->topology, "tracker.state", NULL, host, feed, sizeof feed))
        return -1;
    self->state = s_socket (ZMQ_SUB, feed);
    if (self->state)
        zsock_set_subscribe (self->state, "");
    return self->state ? 0 : -1;
}

//  Asks the tracker one question. Returns its JSON reply (caller frees), or NULL after
//  HARNESS_QUERY_MS; the REQ socket is then replaced, as it cannot send again.
static char *
s_ask (zsat_harness_t *self, const char *request)
{
    if (!self->query)
        self->query = s_socket (ZMQ_REQ, self->query_endpoint);
    if (!self->query)
        return NULL;
    char *reply = NULL;
    if (zstr_send (self->query, request) == 0)
        reply = zstr_recv (self->query);
    if (!reply)
        zsock_destroy (&self->query);
    return reply;
}

//  Reads what the feed has queued: counts messages and SCALE decisions, never waits.
static int s_count_ids (const char *dir, zhashx_t *ids, int64_t *rows);

//  A FAILURE on the feed: its task id, to be matched against what the sinks wrote.
static void
s_note_failure (zsat_harness_t *self, const char *body)
{
    //  64-bit ids: read as an integer (s_json_int goes through a double)
    const char *value = s_json_find (body, body + strlen (body), "task_id");
    char *stop = NULL;
    uint64_t id = value ? strtoull (value, &stop, 10) : 0;
    char key[32];
    snprintf (key, sizeof key, "%" PRIu64, id);
    if (value && stop != value && zhashx_size (self->failed) < HARNESS_FAILED_MAX &&
        !zhashx_lookup (self->failed, key))
        zhashx_insert (self->failed, key, (void *)1);
}

//  A SCALE -1: how many vectors sent had not reached a sink then (sent - distinct rows).
static void
s_note_scale_down (zsat_harness_t *self)
{
    zsat_results_t *r = &self->results;
    zhashx_t *ids = zhashx_new ();
    int64_t rows = 0;
    if (r->sent >= 0 && ids && s_count_ids (self->run_dir, ids, &rows) == 0) {
        int64_t backlog = r->sent - (int64_t)zhashx_size (ids);
        backlog = backlog > 0 ? backlog : 0;
        if (backlog > r->backlog_at_scale_down)
            r->backlog_at_scale_down = backlog;
    }
    zhashx_destroy (&ids);
}

static void
s_read_feed (zsat_harness_t *self)
{
    for (int i = 0; self->state && i < 10000; i++) {
        zmsg_t *msg = NULL;
        if (zsock_events (self->state) & ZMQ_POLLIN)
            msg = zmsg_recv (self->state);
        if (!msg)
            return;
        self->results.feed_messages++;
        char *topic = zmsg_popstr (msg);
        char *body = zmsg_popstr (msg);
        if (topic && body && strncmp (topic, "SCALE", 5) == 0) {
            int64_t delta = s_json_int (body, body + strlen (body), "delta", 0);
            if (delta > 0)
                self->results.scale_ups++;
            else if (delta < 0) {
                self->results.scale_downs++;
                s_note_scale_down (self);
            }
        }
        else if (topic && body && streq (topic, "FAILURE"))
            s_note_failure (self, body);
        zstr_free (&topic);
        zstr_free (&body);
        zmsg_destroy (&msg);
    }
}

//  --------------------------------------------------------------------------
//  What the sinks wrote: new lines in <run_dir>/<host>/csv/*.csv, read incrementally.

static sink_file_t *
s_sink_file (zsat_harness_t *self, const char *path)
{
    for (size_t i = 0; i < self->sink_count; i++)
        if (streq (self->sinks[i].path, path))
            return &self->sinks[i];
    if (self->sink_count == HARNESS_SINK_FILES)
        return NULL;
    sink_file_t *file = &self->sinks[self->sink_count++];
    snprintf (file->path, sizeof file->path, "%s", path);
    file->offset = 0;
    return file;
}

//  Counts the lines appended to a file since the last call (a header counts -1 later).
static int64_t
s_new_lines (sink_file_t *file)
{
    FILE *in = fopen (file->path, "rb");
    if (!in)
        return 0;
    int64_t lines = file->offset == 0 ? -1 : 0;  //  the header line
    if (fseeko (in, file->offset, SEEK_SET) == 0) {
        char buf[65536];
        size_t got;
        while ((got = fread (buf, 1, sizeof buf, in)) > 0) {
            //  Only whole lines count: a row being written waits for the next sample.
            size_t whole = got;
            while (whole > 0 && buf[whole - 1] != '\n')
                whole--;
            for (size_t i = 0; i < whole; i++)
                lines += buf[i] == '\n';
            file->offset += (off_t)whole;
            //  A torn last row: read again from its start, unless it is the end of the file.
            if (whole < got &&
                (got < sizeof buf || whole == 0 || fseeko (in, file->offset, SEEK_SET) != 0))
                break;
        }
    }
    fclose (in);
    return file->offset == 0 ? 0 : lines;
}

//  Returns the rows the sinks appended since the last call.
static int64_t
s_sink_poll (zsat_harness_t *self)
{
    char pattern[1200];
    snprintf (pattern, sizeof pattern, "%s/*/csv/*.csv", self->run_dir);
    glob_t found;
    int64_t rows = 0;
    if (glob (pattern, 0, NULL, &found) == 0) {
        for (size_t i = 0; i < found.gl_pathc; i++) {
            sink_file_t *file = s_sink_file (self, found.gl_pathv[i]);
            if (file)
                rows += s_new_lines (file);
        }
        globfree (&found);
    }
    self->sink_rows += rows;
    return rows;
}

//  Reads the task_id (4th cell) of every row of one CSV file into ids.
static void
s_count_file (const char *path, zhashx_t *ids, int64_t *rows)
{
    FILE *in = fopen (path, "rb");
    if (!in)
        return;
    char line[8192];
    bool header = true;
    while (fgets (line, sizeof line, in)) {
        if (header || !strchr (line, '\n')) {
            header = false;  //  skip the header, and a torn last row
            continue;
        }
        char *cell = line;
        for (int i = 0; i < 3 && cell; i++) {
            cell = strchr (cell, ',');
            cell = cell ? cell + 1 : NULL;
        }
        if (!cell)
            continue;
        cell[strcspn (cell, ",\n")] = 0;
        (*rows)++;
        if (!zhashx_lookup (ids, cell))
            zhashx_insert (ids, cell, (void *)1);
    }
    fclose (in);
}

static void
s_count_dir (const char *dir, zhashx_t *ids, int64_t *rows, int depth)
{
    DIR *handle = opendir (dir);
    struct dirent *entry;
    while (handle && (entry = readdir (handle))) {
        if (entry->d_name[0] == '.')
            continue;
        char path[2048];
        snprintf (path, sizeof path, "%s/%s", dir, entry->d_name);
        size_t len = strlen (entry->d_name);
        struct stat info;
        if (stat (path, &info) != 0)
            continue;
        if (S_ISDIR (info.st_mode) && depth < 4)
            s_count_dir (path, ids, rows, depth + 1);
        else if (S_ISREG (info.st_mode) && len > 4 && streq (entry->d_name + len - 4, ".csv"))
            s_count_file (path, ids, rows);
    }
    if (handle)
        closedir (handle);
}

//  Reads every task id the sinks under dir wrote into ids; counts rows.
static int
s_count_ids (const char *dir, zhashx_t *ids, int64_t *rows)
{
    if (access (dir, R_OK) != 0)
        return -1;
    *rows = 0;
    s_count_dir (dir, ids, rows, 0);
    return 0;
}

int
zsat_harness_count_rows (const char *dir, int64_t *rows, int64_t *unique)
{
    zhashx_t *ids = zhashx_new ();
    int rc = ids ? s_count_ids (dir, ids, rows) : -1;
    if (rc == 0)
        *unique = (int64_t)zhashx_size (ids);
    zhashx_destroy (&ids);
    return rc;
}

//  FAILUREs of tasks that reached a sink: the tracker gave up on what was delivered.
static int64_t
s_false_failures (zsat_harness_t *self)
{
    zhashx_t *ids = zhashx_new ();
    int64_t rows = 0, count = -1;
    if (ids && s_count_ids (self->run_dir, ids, &rows) == 0) {
        count = 0;
        for (void *v = zhashx_first (self->failed); v; v = zhashx_next (self->failed))
            count += zhashx_lookup (ids, zhashx_cursor (self->failed)) != NULL;
    }
    zhashx_destroy (&ids);
    return count;
}

//  --------------------------------------------------------------------------
//  The tracker's NODES and STATUS.

static seen_node_t *
s_seen (zsat_harness_t *self, const char *host, const char *node, uint64_t wid)
{
    for (size_t i = 0; i < self->seen_count; i++) {
        seen_node_t *seen = &self->seen[i];
        if (seen->wid == wid && streq (seen->host, host) && streq (seen->node, node))
            return seen;
    }
    if (self->seen_count == HARNESS_PIDS_MAX)
        return NULL;
    seen_node_t *seen = &self->seen[self->seen_count++];
    snprintf (seen->host, sizeof seen->host, "%s", host);
    snprintf (seen->node, sizeof seen->node, "%s", node);
    seen->wid = wid;
    return seen;
}

//  Counts alive instances of node on host in a NODES reply.
static int
s_alive (const char *json, const char *node, const char *host)
{
    const char *cursor = NULL, *begin, *end;
    int alive = 0;
    while (s_json_each (json, "nodes", &cursor, &begin, &end)) {
        char n[ZSAT_NAME_MAX], h[ZSAT_NAME_MAX];
        s_json_str (begin, end, "node", n, sizeof n);
        s_json_str (begin, end, "host", h, sizeof h);
        alive += streq (n, node) && streq (h, host) && s_json_int (begin, end, "alive", 0) == 1;
    }
    return alive;
}

//  Follows pids (restarts) and gen's out counter per process (sent = sum over processes).
static void
s_track_nodes (zsat_harness_t *self, const char *json)
{
    const char *cursor = NULL, *begin, *end;
    const char *load_node = zsat_scenario_load_options (self->scenario)->node;
    while (s_json_each (json, "nodes", &cursor, &begin, &end)) {
        char n[ZSAT_NAME_MAX], h[ZSAT_NAME_MAX];
        s_json_str (begin, end, "node", n, sizeof n);
        s_json_str (begin, end, "host", h, sizeof h);
        uint64_t pid = (uint64_t)s_json_int (begin, end, "pid", 0);
        seen_node_t *seen = s_seen (self, h, n, (uint64_t)s_json_int (begin, end, "wid", 0));
        if (!seen || !pid)
            continue;
        if (seen->pid && seen->pid != pid) {
            self->results.restarts++;
            if (streq (n, load_node))
                self->sent_retired += (int64_t)seen->out;  //  the previous process's total
            seen->out = 0;
        }
        seen->pid = pid;
        uint64_t out = (uint64_t)s_json_int (begin, end, "out", 0);
        if (out > seen->out)
            seen->out = out;
    }
    int64_t sent = self->sent_retired;
    bool any = false;
    for (size_t i = 0; i < self->seen_count; i++) {
        if (streq (self->seen[i].node, load_node)) {
            sent += (int64_t)self->seen[i].out;
            any = true;
        }
    }
    if (any)
        self->results.sent = sent;
}

//  Copies the tracker's per-stage counters into results (the last STATUS wins).
static void
s_read_stages (zsat_harness_t *self, const char *json, zsat_sample_t *sample)
{
    zsat_results_t *r = &self->results;
    const char *cursor = NULL, *begin, *end;
    r->stage_count = 0;
    while (s_json_each (json, "stages", &cursor, &begin, &end) &&
           r->stage_count < ZSAT_HARNESS_STAGES_MAX) {
        zsat_stage_t *stage = &r->stages[r->stage_count];
        s_json_str (begin, end, "node", stage->name, sizeof stage->name);
        s_json_str (begin, end, "host", stage->host, sizeof stage->host);
        if (!*stage->name)
            continue;  //  the tracker's own row of untracked events
        r->stage_count++;
        stage->ends = (uint64_t)s_json_int (begin, end, "ends", 0);
        stage->errors = (uint64_t)s_json_int (begin, end, "errors", 0);
        stage->timeouts = (uint64_t)s_json_int (begin, end, "timeouts", 0);
        stage->retries = (uint64_t)s_json_int (begin, end, "retries", 0);
        stage->failures = (uint64_t)s_json_int (begin, end, "failures", 0);
        stage->dead_letters = (uint64_t)s_json_int (begin, end, "dead_letters", 0);
        stage->p50_us = s_json_int (begin, end, "p50_us", -1);
        stage->p99_us = s_json_int (begin, end, "p99_us", -1);
        stage->max_us = s_json_int (begin, end, "max_us", -1);
        //  Task latency (from the task's creation) when the tracker has it, else the stage's.
        int64_t p50 = s_json_int (begin, end, "task_p50_us", -1);
        int64_t p99 = s_json_int (begin, end, "task_p99_us", -1);
        int64_t max = s_json_int (begin, end, "task_max_us", -1);
        if (p99 <= 0) {
            p50 = stage->p50_us;
            p99 = stage->p99_us;
            max = stage->max_us;
        }
        sample->p50_us = p50 > sample->p50_us ? p50 : sample->p50_us;
        sample->p99_us = p99 > sample->p99_us ? p99 : sample->p99_us;
        sample->max_us = max > sample->max_us ? max : sample->max_us;
    }
}

//  Sums the stages' counters into the run's totals.
static void
s_read_totals (zsat_harness_t *self, const char *json)
{
    zsat_results_t *r = &self->results;
    const char *end = json + strlen (json);
    const char *counters = s_json_find (json, end, "counters");
    const char *counters_end = counters ? s_json_skip (counters, end) : NULL;
    if (counters && counters_end) {
        r->happy_ends = s_json_int (counters, counters_end, "happy_ends", r->happy_ends);
        r->failures = s_json_int (counters, counters_end, "failures", r->failures);
    }
    r->live = s_json_int (json, end, "live", r->live);
    r->errors = r->retries = r->timeouts = r->dead_letters = 0;
    for (size_t i = 0; i < r->stage_count; i++) {
        r->errors += (int64_t)r->stages[i].errors;
        r->retries += (int64_t)r->stages[i].retries;
        r->timeouts += (int64_t)r->stages[i].timeouts;
        r->dead_letters += (int64_t)r->stages[i].dead_letters;
    }
}

//  Reads the task latencies the tracker recorded since the last call and, when sample is
//  given, sets its p50/p99/max to their exact percentiles: each interval its own samples.
//  A tracker that does not answer LATENCIES leaves the STATUS figures in place.
static void
s_read_latencies (zsat_harness_t *self, zsat_sample_t *sample)
{
    char request[48];
    snprintf (request, sizeof request, "LATENCIES %" PRIu64, self->latency_next);
    char *reply = s_ask (self, request);
    const char *next = reply ? strstr (reply, "\"next\":") : NULL;
    const char *list = reply ? strstr (reply, "\"us\":[") : NULL;
    if (!self->latencies)
        self->latencies = (int64_t *)calloc (ZSAT_STATS_RECENT, sizeof (int64_t));
    if (next && list && self->latencies) {
        self->latency_next = strtoull (next + 7, NULL, 10);
        size_t count = 0;
        char *end = NULL;
        for (const char *at = list + 6; *at && *at != ']' && count < ZSAT_STATS_RECENT;
             at = *end == ',' ? end + 1 : end) {
            self->latencies[count++] = strtoll (at, &end, 10);
            if (end == at)
                break;
        }
        if (sample)
            zsat_report_interval (self->latencies, count, sample);
    }
    zstr_free (&reply);
}

//  Takes one sample: sink rows since the last one, the tracker's STATUS and NODES.
static void
s_sample (zsat_harness_t *self, double t_s, bool record)
{
    zsat_results_t *r = &self->results;
    zsat_sample_t sample = {.t_s = t_s, .p50_us = -1, .p99_us = -1, .max_us = -1};
    sample.throughput = (double)s_sink_poll (self);
    char *status = s_ask (self, "STATUS");
    if (status) {
        sample.tracker_up = true;
        s_read_stages (self, status, &sample);
        s_read_totals (self, status);
        sample.happy_ends = r->happy_ends > 0 ? (uint64_t)r->happy_ends : 0;
        sample.failures = r->failures > 0 ? (uint64_t)r->failures : 0;
        zstr_free (&status);
        s_read_latencies (self, &sample);
    }
    char *nodes = s_ask (self, "NODES");
    if (nodes) {
        s_track_nodes (self, nodes);
        zstr_free (&nodes);
    }
    s_read_feed (self);
    if (record && r->sample_count < ZSAT_HARNESS_SAMPLES_MAX)
        r->samples[r->sample_count++] = sample;
    if (self->progress) {
        zsat_progress_t progress = {self->phase, t_s, r->duration_s, sample.throughput,
                                    r->fault_count};
        self->progress (self->progress_arg, &progress);
    }
}

//  --------------------------------------------------------------------------
//  The phases of a run.

static int
s_mkdir_p (const char *path)
{
    char buf[1024];
    snprintf (buf, sizeof buf, "%s", path);
    for (char *slash = buf + 1; *slash; slash++) {
        if (*slash != '/')
            continue;
        *slash = 0;
        mkdir (buf, 0755);
        *slash = '/';
    }
    return mkdir (buf, 0755) == 0 || errno == EEXIST ? 0 : -1;
}

//  Creates the hosts (namespaces or loopback addresses) after sweeping stale runs.
static int
s_make_hosts (zsat_harness_t *self)
{
    zsat_results_t *r = &self->results;
    zsat_topology_t *topology = zsat_scenario_topology (self->scenario);
    size_t count = zsat_topology_host_count (topology);
    zsat_hosts_mode_t mode = zsat_scenario_hosts (self->scenario);
    if (mode == ZSAT_HOSTS_AUTO)
        mode = zsat_netns_available () ? ZSAT_HOSTS_NETNS : ZSAT_HOSTS_LOOPBACK;
    snprintf (r->hosts_mode, sizeof r->hosts_mode, "%s",
              mode == ZSAT_HOSTS_NETNS ? "netns" : "loopback");
    if (count > ZSAT_NETNS_HOSTS_MAX) {
        snprintf (r->error, sizeof r->error, "more than %d hosts", ZSAT_NETNS_HOSTS_MAX);
        return -1;
    }
    for (size_t i = 0; i < count; i++)
        snprintf (self->addresses[i], sizeof self->addresses[i], "127.0.0.1");
    if (mode == ZSAT_HOSTS_LOOPBACK)
        return 0;
    zsat_error_t err = {0};
    zsat_netns_sweep (false, NULL);
    self->netns = zsat_netns_new (&err);
    for (size_t i = 0; self->netns && i < count; i++)
        if (zsat_netns_add_host (self->netns, zsat_topology_host (topology, i)->name,
                                 self->addresses[i], sizeof self->addresses[i], &err) != 0)
            break;
    if (err.code) {
        snprintf (r->error, sizeof r->error, "hosts: %s", err.text);
        return -1;
    }
    return 0;
}

//  Deletes a run directory left by an earlier run into the same folder, so its CSV files
//  cannot count as this run's rows. Bounded depth; only what the harness's runs create.
static void
s_remove_tree (const char *path, int depth)
{
    DIR *dir = depth < 6 ? opendir (path) : NULL;
    struct dirent *entry;
    while (dir && (entry = readdir (dir))) {
        if (streq (entry->d_name, ".") || streq (entry->d_name, ".."))
            continue;
        char child[2048];
        snprintf (child, sizeof child, "%s/%s", path, entry->d_name);
        struct stat info;
        if (lstat (child, &info) == 0 && S_ISDIR (info.st_mode))
            s_remove_tree (child, depth + 1);
        else
            unlink (child);
    }
    if (dir)
        closedir (dir);
    rmdir (path);
}

//  Chooses the run directory: inside the report folder when short enough for ipc paths
//  (108 bytes per socket path), else under /tmp.
static int
s_make_dirs (zsat_harness_t *self)
{
    zsat_results_t *r = &self->results;
    if (s_mkdir_p (self->out_dir) != 0) {
        snprintf (r->error, sizeof r->error, "cannot create %s: %s", self->out_dir,
                  strerror (errno));
        return -1;
    }
    char real[PATH_MAX];
    if (!realpath (self->out_dir, real))
        snprintf (real, sizeof real, "%s", self->out_dir);
    if (strlen (real) + sizeof "/topology.yaml" > sizeof self->topology_path) {
        snprintf (r->error, sizeof r->error, "report folder path too long (%zu bytes)",
                  strlen (real));
        return -1;
    }
    //  ipc paths must stay short (sun_path), so a deep report folder runs in /tmp.
    if (strlen (real) < 60)
        snprintf (self->run_dir, sizeof self->run_dir, "%.60s/run", real);
    else
        snprintf (self->run_dir, sizeof self->run_dir, "/tmp/zsat-harness-%d", (int)getpid ());
    snprintf (self->topology_path, sizeof self->topology_path, "%.*s/topology.yaml",
              (int)(sizeof self->topology_path - sizeof "/topology.yaml"), real);
    s_remove_tree (self->run_dir, 0);
    if (s_mkdir_p (self->run_dir) != 0) {
        snprintf (r->error, sizeof r->error, "cannot create %s: %s", self->run_dir,
                  strerror (errno));
        return -1;
    }
    //  The launchers and the topology loaded here both take the run directory from it.
    setenv ("ZSAT_RUN_DIR", self->run_dir, 1);
    unsetenv ("ZSAT_STATE_DIR");  //  the report counts rows under the run directory
    return 0;
}

static int
s_load_topology (zsat_harness_t *self)
{
    zsat_diag_t *diag = zsat_diag_new ();
    self->topology = zsat_topology_load (self->topology_path, diag);
    if (!self->topology)
        snprintf (self->results.error, sizeof self->results.error,
                  "the effective topology does not load: %s",
                  zsat_diag_count (diag) ? zsat_diag_get (diag, 0) : "?");
    zsat_diag_destroy (&diag);
    if (!self->topology)
        return -1;
    for (size_t i = 0; i < zsat_topology_host_count (self->topology); i++)
        zsat_topology_make_run_dir (self->topology, zsat_topology_host (self->topology, i)->name);
    if (s_tracker_open (self) != 0) {
        snprintf (self->results.error, sizeof self->results.error,
                  "no tracker endpoints in the topology");
        return -1;
    }
    return 0;
}

//  Starts `zsat launch --host H` per host, inside the host's namespace.
static int
s_start_launchers (zsat_harness_t *self)
{
    self->phase = "starting";
    for (size_t i = 0; i < zsat_topology_host_count (self->topology); i++) {
        const char *host = zsat_topology_host (self->topology, i)->name;
        char log[1200];
        snprintf (log, sizeof log, "%s/launcher.%s.log", self->out_dir, host);
        char *argv[] = {self->binary, "launch", "--host", (char *)host, self->topology_path, NULL};
        zsat_error_t err;
        pid_t pid = zsat_netns_spawn (self->netns, host, argv, NULL, log, &err);
        if (pid < 0) {
            snprintf (self->results.error, sizeof self->results.error, "launcher %s: %s", host,
                      err.text);
            return -1;
        }
        self->launchers[self->launcher_count++] = pid;
    }
    return 0;
}

//  Returns true when a launcher has exited (it should run until stopped); names it.
static bool
s_launcher_died (zsat_harness_t *self)
{
    for (size_t i = 0; i < self->launcher_count; i++) {
        int status;
        if (self->launchers[i] > 0 && waitpid (self->launchers[i], &status, WNOHANG) > 0) {
            const char *host = zsat_topology_host (self->topology, i)->name;
            snprintf (self->results.error, sizeof self->results.error,
                      "the launcher of host %s exited (status %d): see %s/launcher.%s.log", host,
                      WIFEXITED (status) ? WEXITSTATUS (status) : -WTERMSIG (status), self->out_dir,
                      host);
            self->launchers[i] = 0;
            return true;
        }
    }
    return false;
}

//  Counts instances of a system node (they need not heartbeat) by their processes.
static int
s_running (zsat_harness_t *self, const char *node, const char *host)
{
    run_proc_t procs[256];
    return (int)s_run_procs (self, node, host, procs, 256);
}

//  Returns true when every instance is up: heartbeating in the NODES reply (satellites), or
//  running (system nodes). Else names the first one missing.
static bool
s_all_up (zsat_harness_t *self, const char *json, char *missing, size_t cap)
{
    for (size_t i = 0; i < zsat_topology_node_count (self->topology); i++) {
        const zsat_node_t *node = zsat_topology_node (self->topology, i);
        const zsat_kind_t *kind = zsat_kind_find (node->kind);
        bool system = !kind || kind->role == ZSAT_ROLE_SYSTEM;
        for (size_t h = 0; h < node->host_count; h++) {
            int alive = system ? s_running (self, node->name, node->hosts[h])
                               : s_alive (json, node->name, node->hosts[h]);
            if (alive < node->instances) {
                snprintf (missing, cap, "%s on %s (%d of %d %s)", node->name, node->hosts[h], alive,
                          node->instances, system ? "running" : "heartbeating");
                return false;
            }
        }
    }
    return true;
}

//  Waits (bounded by the scenario's startup_timeout) until every instance heartbeats.
static int
s_wait_up (zsat_harness_t *self)
{
    int64_t deadline = zclock_mono () + zsat_scenario_startup_timeout (self->scenario);
    char missing[256] = "the tracker (no reply to NODES)";
    while (zclock_mono () < deadline && !s_interrupted) {
        if (s_launcher_died (self))
            return -1;
        char *nodes = s_ask (self, "NODES");
        bool up = nodes && s_all_up (self, nodes, missing, sizeof missing);
        zstr_free (&nodes);
        if (up)
            return 0;
        if (self->progress) {
            zsat_progress_t progress = {self->phase, 0, self->results.duration_s, 0, 0};
            self->progress (self->progress_arg, &progress);
        }
        zclock_sleep (250);
    }
    snprintf (self->results.error, sizeof self->results.error,
              "%s: not every node came up within %" PRId64 "ms: %s",
              s_interrupted ? "interrupted" : "startup",
              zsat_scenario_startup_timeout (self->scenario), missing);
    return -1;
}

//  Applies one fault now. Returns 0, or -1 with the reason in error.
static int
s_apply (zsat_harness_t *self, const zsat_fault_t *fault, char *error, size_t cap)
{
    zsat_error_t err = {0};
    int rc = 0;
    switch (fault->action) {
        case ZSAT_FAULT_KILL:
        case ZSAT_FAULT_RESTART:
        case ZSAT_FAULT_STOP:
        case ZSAT_FAULT_CONT: {
            static const int signals[] = {SIGKILL, SIGSTOP, SIGCONT, SIGTERM};
            bool all = fault->action == ZSAT_FAULT_STOP || fault->action == ZSAT_FAULT_CONT;
            if (s_signal_node (self, fault, signals[fault->action], all) == 0)
                rc = zsat_fail (&err, ZSAT_E_IO, "no running process of node %s", fault->target);
            break;
        }
        case ZSAT_FAULT_LINK_DOWN:
        case ZSAT_FAULT_LINK_UP:
            rc = self->netns ? zsat_netns_link (self->netns, fault->target,
                                                fault->action == ZSAT_FAULT_LINK_UP, &err)
                             : zsat_fail (&err, ZSAT_E_CONFIG, "no links on loopback hosts");
            break;
        case ZSAT_FAULT_BANDWIDTH:
            rc = self->netns ? zsat_netns_bandwidth (self->netns, fault->target, fault->rate, &err)
                             : zsat_fail (&err, ZSAT_E_CONFIG, "no links on loopback hosts");
            break;
    }
    snprintf (error, cap, "%s", rc ? err.text : "");
    return rc;
}

//  Applies every fault whose time has come.
static void
s_apply_due (zsat_harness_t *self, double t_s)
{
    zsat_results_t *r = &self->results;
    while (r->fault_count < zsat_scenario_fault_count (self->scenario)) {
        const zsat_fault_t *fault = zsat_scenario_fault (self->scenario, r->fault_count);
        if (fault->at_ms / 1000.0 > t_s)
            return;
        zsat_fault_result_t *result = &r->faults[r->fault_count++];
        result->fault = *fault;
        result->applied_s = t_s;
        result->recovery_s = -1;
        s_apply (self, fault, result->error, sizeof result->error);
    }
}

static double
s_elapsed (zsat_harness_t *self)
{
    return (zclock_mono () - self->load_start) / 1000.0;
}

//  The load phase: faults on time, a sample every second, for the scenario's duration.
static void
s_load (zsat_harness_t *self)
{
    self->phase = "load";
    self->load_start = zclock_mono ();
    double duration = self->results.duration_s;
    s_sink_poll (self);             //  rows written while starting count before t = 0
    s_read_latencies (self, NULL);  //  nor do the latencies of tasks before it
    double next_sample = 1;
    while (!s_interrupted && s_elapsed (self) < duration) {
        double t = s_elapsed (self);
        s_apply_due (self, t);
        if (t >= next_sample) {
            s_sample (self, next_sample, true);
            next_sample += 1;
            //  A launcher is the host: without it nothing restarts; the run is void.
            if (s_launcher_died (self))
                return;
        }
        zclock_sleep (20);
    }
}

//  Waits until the sinks stop growing for two seconds (bounded by HARNESS_DRAIN_MS).
static void
s_drain (zsat_harness_t *self)
{
    self->phase = "draining";
    int64_t deadline = zclock_mono () + HARNESS_DRAIN_MS;
    int quiet = 0;
    while (!s_interrupted && zclock_mono () < deadline && quiet < 2) {
        zclock_sleep (1000);
        int64_t before = self->sink_rows;
        s_sample (self, s_elapsed (self), false);
        quiet = self->sink_rows == before ? quiet + 1 : 0;
    }
}

//  Stops the launchers (SIGTERM: they stop their nodes in order), bounded, then kills
//  whatever of the run is left.
static void
s_stop (zsat_harness_t *self)
{
    self->phase = "stopping";
    for (size_t i = 0; i < self->launcher_count; i++)
        if (self->launchers[i] > 0)
            kill (self->launchers[i], SIGTERM);
    int64_t deadline = zclock_mono () + HARNESS_STOP_MS;
    for (size_t i = 0; i < self->launcher_count; i++) {
        while (self->launchers[i] > 0 && zclock_mono () < deadline &&
               waitpid (self->launchers[i], NULL, WNOHANG) == 0)
            zclock_sleep (50);
        if (self->launchers[i] > 0 && waitpid (self->launchers[i], NULL, WNOHANG) == 0) {
            kill (self->launchers[i], SIGKILL);
            waitpid (self->launchers[i], NULL, 0);
        }
        self->launchers[i] = 0;
    }
    //  Nodes a killed launcher left behind, and nodes the faults stopped.
    for (int round = 0; round < 10 && s_kill_all (self) > 0; round++)
        zclock_sleep (100);
}

//  --------------------------------------------------------------------------
//  Figures after the run.

//  Faults that end a disturbance (or are one blow) have a recovery; link_down, stop and a
//  bandwidth cap last until their healing fault, so their recovery is that one's.
static bool
s_has_recovery (const zsat_fault_t *fault)
{
    return fault->action == ZSAT_FAULT_KILL || fault->action == ZSAT_FAULT_RESTART ||
           fault->action == ZSAT_FAULT_CONT || fault->action == ZSAT_FAULT_LINK_UP ||
           (fault->action == ZSAT_FAULT_BANDWIDTH && streq (fault->rate, "off"));
}

//  When the disturbance a heal ends began: the latest earlier fault it undoes (link_down of
//  the host for link_up, stop for cont, a cap for "off"), else the fault's own time.
static double
s_disturbance_start (zsat_results_t *r, const zsat_fault_result_t *fault)
{
    const zsat_fault_t *f = &fault->fault;
    for (const zsat_fault_result_t *e = fault - 1; e >= r->faults; e--) {
        zsat_fault_action_t a = e->fault.action;
        bool undone = streq (e->fault.target, f->target) &&
                      ((f->action == ZSAT_FAULT_LINK_UP && a == ZSAT_FAULT_LINK_DOWN) ||
                       (f->action == ZSAT_FAULT_CONT && a == ZSAT_FAULT_STOP) ||
                       (f->action == ZSAT_FAULT_BANDWIDTH && a == ZSAT_FAULT_BANDWIDTH &&
                        !streq (e->fault.rate, "off")));
        if (undone)
            return e->applied_s;
    }
    return fault->applied_s;
}

//  Recovery: from the fault until the mean of two consecutive seconds of sink throughput is
//  back to >= 80% of the mean over the 5 s before the disturbance began.
static void
s_recovery (zsat_results_t *r, zsat_fault_result_t *fault)
{
    double sum = 0, start = s_disturbance_start (r, fault);
    int n = 0;
    fault->recovers = s_has_recovery (&fault->fault);
    for (size_t i = 0; i < r->sample_count; i++) {
        double t = r->samples[i].t_s;
        if (t <= start && t > start - 5) {
            sum += r->samples[i].throughput;
            n++;
        }
    }
    fault->before_rate = n ? sum / n : 0;
    fault->recovery_s = -1;
    if (fault->before_rate <= 0 || !s_has_recovery (&fault->fault))
        return;
    for (size_t i = 1; i < r->sample_count; i++) {
        const zsat_sample_t *s = &r->samples[i];
        if (s->t_s <= fault->applied_s)
            continue;
        double mean = (s->throughput + r->samples[i - 1].throughput) / 2;
        if (mean >= 0.8 * fault->before_rate) {
            fault->recovery_s = s->t_s - fault->applied_s;
            return;
        }
    }
}

//  Derives loss, worst latency, mean throughput and recoveries from the raw figures.
static void
s_summarize (zsat_results_t *r)
{
    if (r->sent >= 0 && r->unique >= 0)
        r->lost = r->sent > r->unique ? r->sent - r->unique : 0;
    double sum = 0;
    for (size_t i = 0; i < r->sample_count; i++) {
        const zsat_sample_t *s = &r->samples[i];
        sum += s->throughput;
        if (s->p50_us > r->p50_us)
            r->p50_us = s->p50_us;
        if (s->p99_us > r->p99_us)
            r->p99_us = s->p99_us;
        if (s->max_us > r->max_us)
            r->max_us = s->max_us;
    }
    r->mean_throughput = r->sample_count ? sum / (double)r->sample_count : 0;
    for (size_t i = 0; i < r->fault_count; i++)
        s_recovery (r, &r->faults[i]);
}

//  Fills the end-of-run figures: what the sinks wrote, then the derived ones.
static void
s_figures (zsat_harness_t *self)
{
    zsat_results_t *r = &self->results;
    if (zsat_harness_count_rows (self->run_dir, &r->rows, &r->unique) == 0)
        r->duplicates = r->rows - r->unique;
    if (r->feed_messages > 0)
        r->false_failures = s_false_failures (self);
    s_summarize (r);
}

static zsat_invariant_result_t *s_verdict (zsat_results_t *r, const char *name,
                                           zsat_verdict_t verdict, const char *format, ...)
    __attribute__ ((format (printf, 4, 5)));

static zsat_invariant_result_t *
s_verdict (zsat_results_t *r, const char *name, zsat_verdict_t verdict, const char *format, ...)
{
    zsat_invariant_result_t *result = &r->invariants[r->invariant_count++];
    result->name = name;
    result->verdict = verdict;
    va_list args;
    va_start (args, format);
    vsnprintf (result->detail, sizeof result->detail, format, args);
    va_end (args);
    return result;
}

static void
s_judge_loss (zsat_scenario_t *scenario, zsat_results_t *r)
{
    if (!r->critical)
        s_verdict (r, "no_critical_loss", ZSAT_VERDICT_UNMEASURED,
                   "the load is not critical (set load.critical: true)");
    else if (r->sent < 0 || r->unique < 0)
        s_verdict (r, "no_critical_loss", ZSAT_VERDICT_UNMEASURED, "%s unknown",
                   r->sent < 0 ? "sent (gen's heartbeats)" : "rows at the sinks");
    else
        s_verdict (r, "no_critical_loss", r->lost == 0 ? ZSAT_VERDICT_PASS : ZSAT_VERDICT_FAIL,
                   "sent %" PRId64 ", distinct at the sinks %" PRId64 ", lost %" PRId64, r->sent,
                   r->unique, r->lost);
}

static void
s_judge_recovery (zsat_results_t *r, int64_t max_ms)
{
    int measured = 0, slow = 0;
    double worst = 0;
    for (size_t i = 0; i < r->fault_count; i++) {
        const zsat_fault_result_t *f = &r->faults[i];
        if (!s_has_recovery (&f->fault) || f->before_rate <= 0)
            continue;
        measured++;
        if (f->recovery_s < 0 || f->recovery_s * 1000 > (double)max_ms)
            slow++;
        double took = f->recovery_s < 0 ? 1e9 : f->recovery_s;
        worst = took > worst ? took : worst;
    }
    char worst_text[32];
    if (worst >= 1e9)
        snprintf (worst_text, sizeof worst_text, "one never recovered");
    else
        snprintf (worst_text, sizeof worst_text, "worst %.0f s", worst);
    if (measured == 0)
        s_verdict (r, "recovery_max", ZSAT_VERDICT_UNMEASURED,
                   "no fault with a throughput before it to recover to");
    else
        s_verdict (r, "recovery_max", slow ? ZSAT_VERDICT_FAIL : ZSAT_VERDICT_PASS,
                   "%d of %d faults recovered within %" PRId64 "ms (%s)", measured - slow, measured,
                   max_ms, worst_text);
}

//  The overload invariants: scale-downs seen, none while vectors waited, no FAILURE for a
//  task that was delivered.
static void
s_judge_scaling (const zsat_invariants_t *inv, zsat_results_t *r)
{
    bool feed = r->feed_messages > 0;
    if (inv->min_scale_downs >= 0)
        s_verdict (r, "min_scale_downs",
                   !feed                                    ? ZSAT_VERDICT_UNMEASURED
                   : r->scale_downs >= inv->min_scale_downs ? ZSAT_VERDICT_PASS
                                                            : ZSAT_VERDICT_FAIL,
                   "%" PRId64 " SCALE -1 decisions on the tracker feed (min %" PRId64 ")",
                   r->scale_downs, inv->min_scale_downs);
    if (inv->max_backlog_at_scale_down >= 0 && (!feed || r->sent < 0))
        s_verdict (r, "max_backlog_at_scale_down", ZSAT_VERDICT_UNMEASURED, "%s unknown",
                   feed ? "sent (the load's heartbeats)" : "the tracker's feed");
    else if (inv->max_backlog_at_scale_down >= 0)
        s_verdict (r, "max_backlog_at_scale_down",
                   r->backlog_at_scale_down <= inv->max_backlog_at_scale_down ? ZSAT_VERDICT_PASS
                                                                              : ZSAT_VERDICT_FAIL,
                   "%" PRId64 " SCALE -1, at most %" PRId64
                   " vectors sent but not at a sink at one of them (max %" PRId64 ")",
                   r->scale_downs, r->backlog_at_scale_down < 0 ? 0 : r->backlog_at_scale_down,
                   inv->max_backlog_at_scale_down);
    if (inv->no_false_failures && r->false_failures < 0)
        s_verdict (r, "no_false_failures", ZSAT_VERDICT_UNMEASURED,
                   "no feed or no sink files to compare");
    else if (inv->no_false_failures)
        s_verdict (r, "no_false_failures",
                   r->false_failures == 0 ? ZSAT_VERDICT_PASS : ZSAT_VERDICT_FAIL,
                   "%" PRId64 " FAILUREs (of %" PRId64 ") for tasks that reached a sink",
                   r->false_failures, r->failures);
}

void
zsat_harness_judge (zsat_scenario_t *scenario, zsat_results_t *r)
{
    const zsat_invariants_t *inv = zsat_scenario_invariants (scenario);
    r->invariant_count = 0;
    if (inv->no_critical_loss)
        s_judge_loss (scenario, r);
    if (inv->all_tasks_end && r->live < 0)
        s_verdict (r, "all_tasks_end", ZSAT_VERDICT_UNMEASURED, "the tracker did not answer");
    else if (inv->all_tasks_end)
        s_verdict (r, "all_tasks_end", r->live == 0 ? ZSAT_VERDICT_PASS : ZSAT_VERDICT_FAIL,
                   "%" PRId64 " tasks still in flight; happy ends %" PRId64 ", failures %" PRId64,
                   r->live, r->happy_ends, r->failures);
    if (inv->max_duplicates >= 0 && r->duplicates < 0)
        s_verdict (r, "max_duplicates", ZSAT_VERDICT_UNMEASURED, "no sink rows found");
    else if (inv->max_duplicates >= 0)
        s_verdict (r, "max_duplicates",
                   r->duplicates <= inv->max_duplicates ? ZSAT_VERDICT_PASS : ZSAT_VERDICT_FAIL,
                   "%" PRId64 " duplicates (max %" PRId64 ")", r->duplicates, inv->max_duplicates);
    if (inv->p99_latency_max_ms >= 0 && r->p99_us < 0)
        s_verdict (r, "p99_latency_max", ZSAT_VERDICT_UNMEASURED,
                   "the tracker reported no latency");
    else if (inv->p99_latency_max_ms >= 0)
        s_verdict (r, "p99_latency_max",
                   r->p99_us <= inv->p99_latency_max_ms * 1000 ? ZSAT_VERDICT_PASS
                                                               : ZSAT_VERDICT_FAIL,
                   "worst 1 s p99 %.1fms (max %" PRId64 "ms)", r->p99_us / 1000.0,
                   inv->p99_latency_max_ms);
    if (inv->recovery_max_ms >= 0)
        s_judge_recovery (r, inv->recovery_max_ms);
    if (inv->min_scale_ups >= 0 && r->feed_messages == 0)
        s_verdict (r, "min_scale_ups", ZSAT_VERDICT_UNMEASURED,
                   "nothing arrived on the tracker's state feed");
    else if (inv->min_scale_ups >= 0)
        s_verdict (r, "min_scale_ups",
                   r->scale_ups >= inv->min_scale_ups ? ZSAT_VERDICT_PASS : ZSAT_VERDICT_FAIL,
                   "%" PRId64 " SCALE +1 decisions on the tracker feed (min %" PRId64 ")",
                   r->scale_ups, inv->min_scale_ups);
    s_judge_scaling (inv, r);
    r->passed = !*r->error;
    for (size_t i = 0; i < r->invariant_count; i++) {
        if (*r->error)
            r->invariants[i].verdict = ZSAT_VERDICT_UNMEASURED;
        r->passed = r->passed && r->invariants[i].verdict == ZSAT_VERDICT_PASS;
    }
}

int
zsat_harness_run (zsat_harness_t *self)
{
    zsat_results_t *r = &self->results;
    int rc = s_make_dirs (self);
    rc = rc ? rc : s_make_hosts (self);
    rc = rc ? rc : s_write_topology (self);
    rc = rc ? rc : s_load_topology (self);
    rc = rc ? rc : s_start_launchers (self);
    rc = rc ? rc : s_wait_up (self);
    if (rc == 0) {
        s_load (self);
        if (!*r->error)
            s_drain (self);
        if (s_interrupted)
            snprintf (r->error, sizeof r->error, "interrupted at %.1fs", s_elapsed (self));
    }
    s_stop (self);
    self->phase = "cleanup";
    zsat_netns_destroy (&self->netns);
    s_figures (self);
    zsat_harness_judge (self->scenario, r);
    return *r->error ? -1 : 0;
}

void
zsat_harness_destroy (zsat_harness_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    zsat_harness_t *self = *self_p;
    if (self->launcher_count)
        s_stop (self);
    zsat_netns_destroy (&self->netns);
    zsock_destroy (&self->query);
    zsock_destroy (&self->state);
    zsat_topology_destroy (&self->topology);
    zhashx_destroy (&self->failed);
    free (self->latencies);
    free (self);
    *self_p = NULL;
}

//  --------------------------------------------------------------------------
//  Selftest: the parts that need no running topology (the e2e test runs whole scenarios).

static void
s_test_write (const char *path, const char *text)
{
    FILE *file = fopen (path, "w");
    assert (file);
    fputs (text, file);
    fclose (file);
}

static void
s_test_json (void)
{
    const char *json = "{\"live\":3,\"stages\":[{\"host\":\"a\",\"node\":\"w\",\"ends\":5,"
                       "\"p99_us\":900,\"task_p99_us\":-1},{\"host\":\"b\",\"node\":\"s\","
                       "\"ends\":7,\"p99_us\":100,\"task_p99_us\":2500}],"
                       "\"counters\":{\"failures\":2,\"happy_ends\":11}}";
    const char *end = json + strlen (json);
    assert (s_json_int (json, end, "live", -1) == 3);
    assert (s_json_int (json, end, "nothing", -1) == -1);
    const char *cursor = NULL, *begin, *obj_end;
    int count = 0;
    char node[16];
    while (s_json_each (json, "stages", &cursor, &begin, &obj_end)) {
        s_json_str (begin, obj_end, "node", node, sizeof node);
        assert (streq (node, count == 0 ? "w" : "s"));
        count++;
    }
    assert (count == 2);
    zsat_harness_t self;
    memset (&self, 0, sizeof self);
    zsat_sample_t sample = {.p50_us = -1, .p99_us = -1, .max_us = -1};
    s_read_stages (&self, json, &sample);
    s_read_totals (&self, json);
    assert (self.results.stage_count == 2 && self.results.stages[1].ends == 7);
    assert (sample.p99_us == 2500);  //  task latency preferred, else the stage's
    assert (self.results.happy_ends == 11 && self.results.failures == 2);
    assert (self.results.live == 3);
}

static void
s_test_rows (const char *dir)
{
    char path[1024];
    snprintf (path, sizeof path, "%s/a", dir);
    mkdir (path, 0700);
    snprintf (path, sizeof path, "%s/a/gen.csv", dir);
    s_test_write (path, "time,host,node,task_id,seq\n1,a,csv,100,1\n1,a,csv,101,2\n"
                        "2,a,csv,100,1\n2,a,csv,102,3\n3,a,csv,103");  //  torn last row
    int64_t rows = 0, unique = 0;
    assert (zsat_harness_count_rows (dir, &rows, &unique) == 0);
    assert (rows == 4 && unique == 3);
    assert (zsat_harness_count_rows ("/nonexistent/zsat", &rows, &unique) == -1);
    sink_file_t file = {.offset = 0};
    snprintf (file.path, sizeof file.path, "%s", path);
    assert (s_new_lines (&file) == 4);  //  5 lines with the header, minus the header
    assert (s_new_lines (&file) == 0);
    unlink (path);
    snprintf (path, sizeof path, "%s/a", dir);
    rmdir (path);
}

//  A run of samples with a dip after a kill at 5 s: recovery 3 s; loss and duplicates judged.
static void
s_test_judge (zsat_scenario_t *scenario)
{
    zsat_results_t *r = (zsat_results_t *)zmalloc (sizeof (zsat_results_t));
    static const double rates[] = {100, 100, 100, 100, 100, 10, 20, 90, 100, 100};
    for (size_t i = 0; i < 10; i++)
        r->samples[r->sample_count++] = (zsat_sample_t){
            .t_s = (double)i + 1, .throughput = rates[i], .p99_us = 3000, .tracker_up = true};
    r->fault_count = 1;
    r->faults[0].fault.action = ZSAT_FAULT_KILL;
    r->faults[0].applied_s = 5;
    r->critical = true;
    r->sent = 1000;
    r->rows = 1001;
    r->unique = 999;
    r->duplicates = 2;
    r->live = 0;
    r->p99_us = -1;
    s_summarize (r);
    assert (r->faults[0].before_rate == 100);
    assert (r->faults[0].recovery_s == 4);  //  (90 + 100) / 2 at t = 9
    assert (r->lost == 1 && r->p99_us == 3000);
    zsat_harness_judge (scenario, r);
    assert (!r->passed);
    assert (r->invariant_count == 5);
    assert (streq (r->invariants[0].name, "no_critical_loss"));
    assert (r->invariants[0].verdict == ZSAT_VERDICT_FAIL);  //  1 lost
    assert (strstr (r->invariants[0].detail, "lost 1"));
    assert (r->invariants[1].verdict == ZSAT_VERDICT_PASS);  //  all tasks ended
    assert (r->invariants[2].verdict == ZSAT_VERDICT_PASS);  //  2 duplicates <= 10
    assert (r->invariants[3].verdict == ZSAT_VERDICT_PASS);  //  3 ms <= 50 ms
    assert (r->invariants[4].verdict == ZSAT_VERDICT_PASS);  //  4 s <= 5 s
    r->unique = 1000;
    s_summarize (r);
    zsat_harness_judge (scenario, r);
    assert (r->passed);
    r->critical = false;
    zsat_harness_judge (scenario, r);
    assert (r->invariants[0].verdict == ZSAT_VERDICT_UNMEASURED && !r->passed);
    //  A cut from 5 s to 7 s: link_up recovers against the rate before link_down.
    r->fault_count = 2;
    r->faults[0].fault.action = ZSAT_FAULT_LINK_DOWN;
    r->faults[1].fault.action = ZSAT_FAULT_LINK_UP;
    r->faults[1].applied_s = 7;
    snprintf (r->faults[0].fault.target, sizeof r->faults[0].fault.target, "b");
    snprintf (r->faults[1].fault.target, sizeof r->faults[1].fault.target, "b");
    s_summarize (r);
    assert (!r->faults[0].recovers && r->faults[0].recovery_s == -1);
    assert (r->faults[1].recovers && r->faults[1].before_rate == 100);
    assert (r->faults[1].recovery_s == 2);  //  (90 + 100) / 2 at t = 9
    free (r);
}

//  The effective topology keeps the user's file and carries the load and the addresses.
static void
s_test_topology (zsat_scenario_t *scenario, const char *dir)
{
    zsat_harness_t *self = zsat_harness_new (scenario, dir, "/bin/false");
    assert (self);
    snprintf (self->topology_path, sizeof self->topology_path, "%s/effective.yaml", dir);
    snprintf (self->addresses[0], sizeof self->addresses[0], "198.18.0.1");
    snprintf (self->addresses[1], sizeof self->addresses[1], "198.18.0.2");
    assert (s_write_topology (self) == 0);
    zsat_topology_t *topology = zsat_topology_load (self->topology_path, NULL);
    assert (topology);
    const zsat_node_t *gen = zsat_topology_node_find (topology, "gen");
    assert (streq (zsat_topology_node_option (gen, "rate"), "250"));
    assert (streq (zsat_topology_node_option (gen, "critical"), "true"));
    assert (streq (zsat_topology_node_option (gen, "format"), "record"));  //  kept
    assert (streq (zsat_topology_node_option (gen, "duration"), "4000ms"));
    assert (streq (zsat_topology_host_find (topology, "a")->address, "198.18.0.1"));
    assert (streq (zsat_topology_host_find (topology, "b")->address, "198.18.0.2"));
    zsat_topology_destroy (&topology);
    //  A launcher that exits at once is reported with its host and log.
    self->topology = zsat_topology_load (self->topology_path, NULL);
    assert (s_start_launchers (self) == 0);
    int64_t deadline = zclock_mono () + 10000;
    while (!s_launcher_died (self) && zclock_mono () < deadline)
        zclock_sleep (10);
    assert (strstr (self->results.error, "exited (status 1): see "));
    s_stop (self);
    unlink (self->topology_path);
    char path[1200];
    for (int i = 0; i < 2; i++) {
        snprintf (path, sizeof path, "%s/launcher.%c.log", dir, 'a' + i);
        unlink (path);
    }
    zsat_harness_destroy (&self);
}

//  The overload invariants, judged from figures.
static void
s_test_judge_scaling (const char *dir)
{
    char path[1024];
    snprintf (path, sizeof path, "%s/o.yaml", dir);
    s_test_write (path, "topology: t.yaml\nhosts: loopback\n"
                        "invariants: {min_scale_downs: 1, max_backlog_at_scale_down: 8, "
                        "no_false_failures: true}\n");
    zsat_scenario_t *scenario = zsat_scenario_load (path, NULL);
    assert (scenario);
    zsat_results_t *r = (zsat_results_t *)zmalloc (sizeof (zsat_results_t));
    r->sent = r->false_failures = r->backlog_at_scale_down = -1;
    zsat_harness_judge (scenario, r);  //  no feed: nothing measured
    assert (r->invariant_count == 3 && !r->passed);
    for (size_t i = 0; i < 3; i++)
        assert (r->invariants[i].verdict == ZSAT_VERDICT_UNMEASURED);
    r->feed_messages = 10;
    r->sent = 100;
    r->scale_downs = 1;
    r->backlog_at_scale_down = 3;
    r->false_failures = 0;
    r->failures = 2;
    zsat_harness_judge (scenario, r);
    assert (r->passed);
    r->backlog_at_scale_down = 9;  //  an instance went while 9 vectors waited
    r->false_failures = 1;         //  the tracker gave up on a delivered task
    r->scale_downs = 0;
    zsat_harness_judge (scenario, r);
    assert (!r->passed);
    for (size_t i = 0; i < 3; i++)
        assert (r->invariants[i].verdict == ZSAT_VERDICT_FAIL);
    assert (strstr (r->invariants[2].detail, "1 FAILUREs (of 2)"));
    free (r);
    zsat_scenario_destroy (&scenario);
    unlink (path);
}

void
zsat_harness_test (bool verbose)
{
    printf (" * zsat_harness: ");
    char dir[] = "/tmp/zsat-harness-test-XXXXXX";
    assert (mkdtemp (dir));
    char topo[1024], path[1024];
    snprintf (topo, sizeof topo, "%s/t.yaml", dir);
    s_test_write (topo, "name: t\nhosts: {a: 10.0.0.1, b: {address: 10.0.0.2}}\n"
                        "nodes:\n  gen: {kind: gen, host: a, options: {format: record}}\n"
                        "  csv: {kind: csv, host: b}\nlinks:\n  - gen -> csv\n");
    snprintf (path, sizeof path, "%s/s.yaml", dir);
    s_test_write (path, "topology: t.yaml\nhosts: loopback\nduration: 10s\n"
                        "load: {node: gen, rate: 250, critical: true}\n"
                        "faults: [{at: 5s, kill: csv}]\n"
                        "invariants: {no_critical_loss: true, all_tasks_end: true, "
                        "max_duplicates: 10, p99_latency_max: 50ms, recovery_max: 5s}\n");
    zsat_scenario_t *scenario = zsat_scenario_load (path, NULL);
    assert (scenario);
    s_test_json ();
    s_test_rows (dir);
    s_test_judge (scenario);
    s_test_judge_scaling (dir);
    zsat_scenario_set_duration (scenario, 4000);
    s_test_topology (scenario, dir);
    zsat_scenario_destroy (&scenario);
    unlink (path);
    unlink (topo);
    rmdir (dir);
    printf ("OK\n");
}
