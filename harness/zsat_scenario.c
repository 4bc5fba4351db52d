/*  zsat_scenario - scenario YAML -> validated struct. Uses libyaml's document loader, walks
    the known keys, reports every unknown key (with a did-you-mean), wrong type or bad value
    as `file:line:col: message` and goes on, then checks the names against the topology it
    loads. No sockets.
*/
#include "zsat_scenario.h"
#include "zsat_datadir.h"
#include <libgen.h>
#include <stdarg.h>
#include <yaml.h>

#define SCENARIO_FAULTS_MAX 256
#define SCENARIO_FILE_MAX   (1024 * 1024)

struct zsat_scenario_t {
    char name[ZSAT_NAME_MAX];
    char file[1024];
    char topology_path[2048];
    zsat_topology_t *topology;
    zsat_hosts_mode_t hosts;
    int64_t duration_ms;
    int64_t startup_timeout_ms;
    zsat_load_t load;
    int load_line, load_col;
    zsat_fault_t faults[SCENARIO_FAULTS_MAX];
    size_t fault_count;
    zsat_invariants_t invariants;
};

typedef struct {
    zsat_scenario_t *self;
    yaml_document_t *doc;
    zsat_diag_t *diag;
    size_t errors;
} parse_t;

static const char *s_top_keys[] = {
    "name", "description", "topology",   "hosts",           "duration",
    "load", "faults",      "invariants", "startup_timeout", NULL};
static const char *s_load_keys[] = {"node", "rate", "size", "critical", "seed", NULL};
static const char *s_fault_keys[] = {"at",        "kill",    "stop",      "cont", "restart",
                                     "link_down", "link_up", "bandwidth", "host", NULL};
static const char *s_bandwidth_keys[] = {"host", "rate", NULL};
static const char *s_invariant_keys[] = {"no_critical_loss",  "all_tasks_end",
                                         "max_duplicates",    "p99_latency_max",
                                         "recovery_max",      "min_scale_ups",
                                         "min_scale_downs",   "max_backlog_at_scale_down",
                                         "no_false_failures", NULL};
//  Same order as zsat_fault_action_t.
static const char *s_action_names[] = {"kill",      "stop",    "cont",     "restart",
                                       "link_down", "link_up", "bandwidth"};

static void s_error (parse_t *p, yaml_node_t *node, const char *format, ...)
    __attribute__ ((format (printf, 3, 4)));

static void
s_error (parse_t *p, yaml_node_t *node, const char *format, ...)
{
    char message[1024];
    va_list args;
    va_start (args, format);
    vsnprintf (message, sizeof message, format, args);
    va_end (args);
    int line = node ? (int)node->start_mark.line + 1 : 0;
    int col = node ? (int)node->start_mark.column + 1 : 0;
    zsat_diag_add (p->diag, p->self->file, line, col, "%s", message);
    p->errors++;
}

//  Levenshtein distance, capped: words longer than a name are never close to a key.
static size_t
s_distance (const char *a, const char *b)
{
    size_t la = strlen (a), lb = strlen (b);
    if (la >= ZSAT_NAME_MAX || lb >= ZSAT_NAME_MAX)
        return ZSAT_NAME_MAX;
    size_t prev[ZSAT_NAME_MAX + 1], row[ZSAT_NAME_MAX + 1];
    for (size_t j = 0; j <= lb; j++)
        prev[j] = j;
    for (size_t i = 1; i <= la; i++) {
        row[0] = i;
        for (size_t j = 1; j <= lb; j++) {
            size_t best = prev[j - 1] + (a[i - 1] != b[j - 1]);
            if (prev[j] + 1 < best)
                best = prev[j] + 1;
            if (row[j - 1] + 1 < best)
                best = row[j - 1] + 1;
            row[j] = best;
        }
        memcpy (prev, row, (lb + 1) * sizeof (size_t));
    }
    return prev[lb];
}

//  Returns the candidate at most two edits away (the closest), or NULL.
static const char *
s_closest (const char *word, const char *const *candidates, size_t count)
{
    const char *best = NULL;
    size_t best_distance = 3;
    for (size_t i = 0; i < count && candidates[i]; i++) {
        size_t d = s_distance (word, candidates[i]);
        if (d < best_distance && d < strlen (candidates[i])) {
            best = candidates[i];
            best_distance = d;
        }
    }
    return best;
}

static size_t
s_list_size (const char *const *list)
{
    size_t count = 0;
    while (list[count])
        count++;
    return count;
}

static yaml_node_t *
s_node (parse_t *p, int id)
{
    return yaml_document_get_node (p->doc, id);
}

static const char *
s_scalar (yaml_node_t *node)
{
    return node && node->type == YAML_SCALAR_NODE ? (const char *)node->data.scalar.value : NULL;
}

//  Checks that map is a mapping whose keys are known scalars, each once; names the nearest
//  known key for a typo. Returns false when map is not a mapping.
static bool
s_check_map (parse_t *p, yaml_node_t *map, const char *what, const char *const *known)
{
    if (!map || map->type != YAML_MAPPING_NODE) {
        s_error (p, map, "%s must be a mapping", what);
        return false;
    }
    for (yaml_node_pair_t *pair = map->data.mapping.pairs.start; pair < map->data.mapping.pairs.top;
         pair++) {
        yaml_node_t *key = s_node (p, pair->key);
        const char *name = s_scalar (key);
        if (!name) {
            s_error (p, key, "%s: keys must be scalars", what);
            continue;
        }
        bool found = false;
        for (size_t i = 0; known[i]; i++)
            found = found || streq (known[i], name);
        if (!found) {
            const char *near = s_closest (name, known, s_list_size (known));
            if (near)
                s_error (p, key, "%s: unknown key '%s' (did you mean '%s'?)", what, name, near);
            else
                s_error (p, key, "%s: unknown key '%s'", what, name);
        }
        for (yaml_node_pair_t *before = map->data.mapping.pairs.start; before < pair; before++) {
            const char *earlier = s_scalar (s_node (p, before->key));
            if (earlier && streq (earlier, name))
                s_error (p, key, "%s: key '%s' given twice", what, name);
        }
    }
    return true;
}

//  Returns the value node of key in map, or NULL.
static yaml_node_t *
s_get (parse_t *p, yaml_node_t *map, const char *key)
{
    if (!map || map->type != YAML_MAPPING_NODE)
        return NULL;
    for (yaml_node_pair_t *pair = map->data.mapping.pairs.start; pair < map->data.mapping.pairs.top;
         pair++) {
        const char *name = s_scalar (s_node (p, pair->key));
        if (name && streq (name, key))
            return s_node (p, pair->value);
    }
    return NULL;
}

static bool
s_name (parse_t *p, yaml_node_t *node, const char *what, char *out)
{
    const char *text = s_scalar (node);
    if (!text || !zsat_name_valid (text)) {
        s_error (p, node, "%s must be a name (1..63 bytes of [A-Za-z0-9_.-])", what);
        return false;
    }
    snprintf (out, ZSAT_NAME_MAX, "%s", text);
    return true;
}

static bool
s_duration (parse_t *p, yaml_node_t *node, const char *what, int64_t *ms)
{
    const char *text = s_scalar (node);
    if (!text || zsat_topology_parse_duration (text, ms) != 0) {
        s_error (p, node, "%s: '%s' is not a duration (an integer and ms, s, m or h: 30s)", what,
                 text ? text : "?");
        return false;
    }
    return true;
}

static bool
s_bool (parse_t *p, yaml_node_t *node, const char *what, bool *out)
{
    const char *text = s_scalar (node);
    static const char *yes[] = {"true", "yes", "on", "1"}, *no[] = {"false", "no", "off", "0"};
    for (size_t i = 0; text && i < 4; i++) {
        if (strcasecmp (text, yes[i]) == 0 || strcasecmp (text, no[i]) == 0) {
            *out = strcasecmp (text, yes[i]) == 0;
            return true;
        }
    }
    s_error (p, node, "%s: '%s' is not a boolean (true or false)", what, text ? text : "?");
    return false;
}

//  Reads a non-negative integer no larger than max.
static bool
s_int (parse_t *p, yaml_node_t *node, const char *what, int64_t max, int64_t *out)
{
    const char *text = s_scalar (node);
    char *end = NULL;
    errno = 0;
    long long value = text ? strtoll (text, &end, 10) : -1;
    if (!text || !*text || *end || errno || value < 0 || value > max) {
        s_error (p, node, "%s: '%s' is not an integer in 0..%" PRId64, what, text ? text : "?",
                 max);
        return false;
    }
    *out = value;
    return true;
}

static void
s_parse_load (parse_t *p, yaml_node_t *map)
{
    zsat_scenario_t *self = p->self;
    self->load_line = (int)map->start_mark.line + 1;
    self->load_col = (int)map->start_mark.column + 1;
    if (!s_check_map (p, map, "load", s_load_keys))
        return;
    zsat_load_t *load = &self->load;
    yaml_node_t *node = s_get (p, map, "node");
    if (!node)
        s_error (p, map, "load: 'node' (the gen node to drive) is required");
    else
        s_name (p, node, "load.node", load->node);
    if ((node = s_get (p, map, "rate"))) {
        const char *text = s_scalar (node);
        char *end = NULL;
        load->rate = text ? strtod (text, &end) : 0;
        if (!text || !*text || *end || !(load->rate > 0 && load->rate <= 1e6))
            s_error (p, node, "load.rate: '%s' is not a rate in (0, 1e6] vectors per second",
                     text ? text : "?");
        load->has_rate = true;
    }
    if ((node = s_get (p, map, "size"))) {
        const char *text = s_scalar (node);
        if (!text || zsat_topology_parse_size (text, &load->size) != 0 ||
            load->size > ZSAT_PAYLOAD_MAX)
            s_error (p, node, "load.size: '%s' is not a size up to 16MiB", text ? text : "?");
        load->has_size = true;
    }
    if ((node = s_get (p, map, "critical")))
        load->has_critical = s_bool (p, node, "load.critical", &load->critical);
    if ((node = s_get (p, map, "seed")))
        load->has_seed = s_int (p, node, "load.seed", INT64_MAX, &load->seed);
}

static bool
s_rate_valid (const char *rate)
{
    if (streq (rate, "off"))
        return true;
    char *end = NULL;
    long long value = strtoll (rate, &end, 10);
    if (end == rate || value <= 0)
        return false;
    return streq (end, "bit") || streq (end, "kbit") || streq (end, "mbit") || streq (end, "gbit");
}

static void
s_parse_bandwidth (parse_t *p, yaml_node_t *map, zsat_fault_t *fault)
{
    if (!s_check_map (p, map, "bandwidth", s_bandwidth_keys))
        return;
    yaml_node_t *host = s_get (p, map, "host");
    yaml_node_t *rate = s_get (p, map, "rate");
    if (!host || !rate) {
        s_error (p, map, "bandwidth needs 'host' and 'rate' ({host: b, rate: 1mbit})");
        return;
    }
    s_name (p, host, "bandwidth.host", fault->target);
    const char *text = s_scalar (rate);
    if (!text || strlen (text) >= sizeof fault->rate || !s_rate_valid (text))
        s_error (p, rate, "bandwidth.rate: '%s' is not a rate (500kbit, 1mbit, 1gbit) or 'off'",
                 text ? text : "?");
    else
        snprintf (fault->rate, sizeof fault->rate, "%s", text);
}

//  Finds the one action key of a fault. Returns its index in s_action_names, or -1.
static int
s_fault_action (parse_t *p, yaml_node_t *map, yaml_node_t **value)
{
    int action = -1;
    for (int i = 0; i <= ZSAT_FAULT_BANDWIDTH; i++) {
        yaml_node_t *node = s_get (p, map, s_action_names[i]);
        if (!node)
            continue;
        if (action >= 0) {
            s_error (p, node, "fault: one action per entry ('%s' and '%s' given)",
                     s_action_names[action], s_action_names[i]);
            return -1;
        }
        action = i;
        *value = node;
    }
    if (action < 0)
        s_error (p, map,
                 "fault: no action (kill, stop, cont, restart, link_down, link_up, "
                 "bandwidth)");
    return action;
}

static void
s_parse_fault (parse_t *p, yaml_node_t *map)
{
    zsat_scenario_t *self = p->self;
    if (!s_check_map (p, map, "fault", s_fault_keys))
        return;
    if (self->fault_count == SCENARIO_FAULTS_MAX) {
        s_error (p, map, "faults: more than %d entries", SCENARIO_FAULTS_MAX);
        return;
    }
    zsat_fault_t *fault = &self->faults[self->fault_count++];
    fault->line = (int)map->start_mark.line + 1;
    fault->col = (int)map->start_mark.column + 1;
    yaml_node_t *at = s_get (p, map, "at");
    if (!at)
        s_error (p, map, "fault: 'at' (when, from the start of the load) is required");
    else
        s_duration (p, at, "fault.at", &fault->at_ms);
    yaml_node_t *value = NULL;
    int action = s_fault_action (p, map, &value);
    if (action < 0)
        return;
    fault->action = (zsat_fault_action_t)action;
    if (fault->action == ZSAT_FAULT_BANDWIDTH)
        s_parse_bandwidth (p, value, fault);
    else
        s_name (p, value, s_action_names[action], fault->target);
    yaml_node_t *host = s_get (p, map, "host");
    if (host && fault->action >= ZSAT_FAULT_LINK_DOWN)
        s_error (p, host, "fault: 'host' only narrows node faults (kill, stop, cont, restart)");
    else if (host)
        s_name (p, host, "fault.host", fault->host);
}

static void
s_parse_faults (parse_t *p, yaml_node_t *list)
{
    if (list->type != YAML_SEQUENCE_NODE) {
        s_error (p, list, "faults must be a list ([{at: 5s, kill: worker}, ...])");
        return;
    }
    for (yaml_node_item_t *item = list->data.sequence.items.start;
         item < list->data.sequence.items.top; item++)
        s_parse_fault (p, s_node (p, *item));
}

static void
s_parse_invariants (parse_t *p, yaml_node_t *map)
{
    zsat_invariants_t *inv = &p->self->invariants;
    if (!s_check_map (p, map, "invariants", s_invariant_keys))
        return;
    yaml_node_t *node;
    if ((node = s_get (p, map, "no_critical_loss")))
        s_bool (p, node, "no_critical_loss", &inv->no_critical_loss);
    if ((node = s_get (p, map, "all_tasks_end")))
        s_bool (p, node, "all_tasks_end", &inv->all_tasks_end);
    if ((node = s_get (p, map, "max_duplicates")))
        s_int (p, node, "max_duplicates", INT32_MAX, &inv->max_duplicates);
    if ((node = s_get (p, map, "p99_latency_max")))
        s_duration (p, node, "p99_latency_max", &inv->p99_latency_max_ms);
    if ((node = s_get (p, map, "recovery_max")))
        s_duration (p, node, "recovery_max", &inv->recovery_max_ms);
    if ((node = s_get (p, map, "min_scale_ups")))
        s_int (p, node, "min_scale_ups", 1024, &inv->min_scale_ups);
    if ((node = s_get (p, map, "min_scale_downs")))
        s_int (p, node, "min_scale_downs", 1024, &inv->min_scale_downs);
    if ((node = s_get (p, map, "max_backlog_at_scale_down")))
        s_int (p, node, "max_backlog_at_scale_down", INT32_MAX, &inv->max_backlog_at_scale_down);
    if ((node = s_get (p, map, "no_false_failures")))
        s_bool (p, node, "no_false_failures", &inv->no_false_failures);
}

static void
s_parse_hosts (parse_t *p, yaml_node_t *node)
{
    const char *text = s_scalar (node);
    if (text && streq (text, "netns"))
        p->self->hosts = ZSAT_HOSTS_NETNS;
    else if (text && streq (text, "loopback"))
        p->self->hosts = ZSAT_HOSTS_LOOPBACK;
    else if (text && streq (text, "auto"))
        p->self->hosts = ZSAT_HOSTS_AUTO;
    else
        s_error (p, node, "hosts: '%s' is not netns, loopback or auto", text ? text : "?");
}

//  Resolves the topology path against the scenario's folder and loads it.
static void
s_load_topology (parse_t *p, yaml_node_t *node)
{
    zsat_scenario_t *self = p->self;
    const char *text = s_scalar (node);
    if (!text || !*text) {
        s_error (p, node, "topology must be a file name");
        return;
    }
    char folder[1024];
    snprintf (folder, sizeof folder, "%s", self->file);
    if (*text == '/')
        snprintf (self->topology_path, sizeof self->topology_path, "%s", text);
    else
        snprintf (self->topology_path, sizeof self->topology_path, "%s/%s", dirname (folder), text);
    if (access (self->topology_path, R_OK) != 0) {
        s_error (p, node, "topology: cannot read '%s': %s", self->topology_path, strerror (errno));
        return;
    }
    zsat_diag_t *inner = zsat_diag_new ();
    self->topology = zsat_topology_load (self->topology_path, inner);
    if (!self->topology) {
        //  One line per problem, at the scenario's `topology:` line, naming the real spot.
        for (size_t i = 0; i < zsat_diag_count (inner); i++)
            s_error (p, node, "topology: %s", zsat_diag_get (inner, i));
        if (zsat_diag_count (inner) == 0)
            s_error (p, node, "topology '%s' is invalid", text);
    }
    zsat_diag_destroy (&inner);
}

static void
s_parse_root (parse_t *p, yaml_node_t *root)
{
    zsat_scenario_t *self = p->self;
    if (!root || !s_check_map (p, root, "scenario", s_top_keys))
        return;
    yaml_node_t *node;
    if ((node = s_get (p, root, "name")))
        s_name (p, node, "name", self->name);
    if ((node = s_get (p, root, "hosts")))
        s_parse_hosts (p, node);
    //  One sample per second is kept for the report: at most an hour of them.
    if ((node = s_get (p, root, "duration")) &&
        s_duration (p, node, "duration", &self->duration_ms) &&
        (self->duration_ms <= 0 || self->duration_ms > 3600000))
        s_error (p, node, "duration must be more than 0 and at most 1h");
    if ((node = s_get (p, root, "startup_timeout")))
        s_duration (p, node, "startup_timeout", &self->startup_timeout_ms);
    if ((node = s_get (p, root, "load")))
        s_parse_load (p, node);
    if ((node = s_get (p, root, "faults")))
        s_parse_faults (p, node);
    if ((node = s_get (p, root, "invariants")))
        s_parse_invariants (p, node);
    node = s_get (p, root, "topology");
    if (!node)
        s_error (p, root, "scenario: 'topology' (the topology file to run) is required");
    else
        s_load_topology (p, node);
}

//  Names every node of the topology, for a did-you-mean.
static size_t
s_node_names (zsat_topology_t *topology, const char **names, size_t max)
{
    size_t count = zsat_topology_node_count (topology);
    for (size_t i = 0; i < count && i < max; i++)
        names[i] = zsat_topology_node (topology, i)->name;
    return count < max ? count : max;
}

static void
s_unknown (parse_t *p, int line, int col, const char *what, const char *name, bool host)
{
    zsat_topology_t *topology = p->self->topology;
    const char *names[256 + 1] = {NULL};
    size_t count = 0;
    if (host) {
        for (; count < zsat_topology_host_count (topology) && count < 256; count++)
            names[count] = zsat_topology_host (topology, count)->name;
    }
    else
        count = s_node_names (topology, names, 256);
    const char *near = s_closest (name, names, count);
    zsat_diag_add (p->diag, p->self->file, line, col, "%s: no %s '%s' in the topology%s%s%s", what,
                   host ? "host" : "node", name, near ? " (did you mean '" : "", near ? near : "",
                   near ? "'?)" : "");
    p->errors++;
}

//  Checks a fault's names against the topology and its time against the duration.
static void
s_check_fault (parse_t *p, zsat_fault_t *fault)
{
    zsat_scenario_t *self = p->self;
    const char *what = s_action_names[fault->action];
    bool on_host = fault->action >= ZSAT_FAULT_LINK_DOWN;
    if (!*fault->target)
        return;  //  already reported
    if (on_host && !zsat_topology_host_find (self->topology, fault->target))
        s_unknown (p, fault->line, fault->col, what, fault->target, true);
    else if (!on_host && !zsat_topology_node_find (self->topology, fault->target))
        s_unknown (p, fault->line, fault->col, what, fault->target, false);
    else if (*fault->host && !zsat_topology_host_find (self->topology, fault->host))
        s_unknown (p, fault->line, fault->col, what, fault->host, true);
    if (on_host && self->hosts == ZSAT_HOSTS_LOOPBACK) {
        zsat_diag_add (p->diag, self->file, fault->line, fault->col,
                       "%s: hosts: loopback has no links to cut or cap (use hosts: netns)", what);
        p->errors++;
    }
    if (fault->at_ms >= self->duration_ms) {
        zsat_diag_add (p->diag, self->file, fault->line, fault->col,
                       "%s at %" PRId64 "ms: after the end of the run (duration %" PRId64 "ms)",
                       what, fault->at_ms, self->duration_ms);
        p->errors++;
    }
}

//  Cross-checks the load and faults against the topology.
static void
s_check_names (parse_t *p)
{
    zsat_scenario_t *self = p->self;
    if (*self->load.node) {
        const zsat_node_t *node = zsat_topology_node_find (self->topology, self->load.node);
        if (!node)
            s_unknown (p, self->load_line, self->load_col, "load", self->load.node, false);
        else if (streq (node->kind, "scheduler")) {
            const zsat_load_t *load = &self->load;
            if (load->has_rate || load->has_size || load->has_critical || load->has_seed) {
                zsat_diag_add (p->diag, self->file, self->load_line, self->load_col,
                               "load: node '%s' is the scheduler: its load is the topology's "
                               "schedules (only 'node' may be given)",
                               node->name);
                p->errors++;
            }
        }
        else if (!streq (node->kind, "gen")) {
            zsat_diag_add (p->diag, self->file, self->load_line, self->load_col,
                           "load: node '%s' is of kind '%s', not gen or scheduler", node->name,
                           node->kind);
            p->errors++;
        }
    }
    for (size_t i = 0; i < self->fault_count; i++)
        s_check_fault (p, &self->faults[i]);
}

static void
s_defaults (zsat_scenario_t *self, const char *filename)
{
    snprintf (self->file, sizeof self->file, "%s", filename);
    char base[1024];
    snprintf (base, sizeof base, "%s", filename);
    char *name = basename (base);
    char *dot = strrchr (name, '.');
    if (dot && (streq (dot, ".yaml") || streq (dot, ".yml")))
        *dot = 0;
    snprintf (self->name, sizeof self->name, "%s", zsat_name_valid (name) ? name : "scenario");
    self->hosts = ZSAT_HOSTS_AUTO;
    self->duration_ms = 30000;
    self->startup_timeout_ms = 20000;
    self->invariants.max_duplicates = -1;
    self->invariants.p99_latency_max_ms = -1;
    self->invariants.recovery_max_ms = -1;
    self->invariants.min_scale_ups = -1;
    self->invariants.min_scale_downs = -1;
    self->invariants.max_backlog_at_scale_down = -1;
}

//  Loads the YAML document; reports a syntax error with its position. Returns 0 or -1.
static int
s_load_document (parse_t *p, const char *text, size_t size)
{
    yaml_parser_t parser;
    yaml_parser_initialize (&parser);
    yaml_parser_set_input_string (&parser, (const unsigned char *)text, size);
    int rc = 0;
    if (!yaml_parser_load (&parser, p->doc)) {
        zsat_diag_add (p->diag, p->self->file, (int)parser.problem_mark.line + 1,
                       (int)parser.problem_mark.column + 1, "YAML: %s",
                       parser.problem ? parser.problem : "cannot parse");
        p->errors++;
        rc = -1;
    }
    yaml_parser_delete (&parser);
    return rc;
}

zsat_scenario_t *
zsat_scenario_parse (const char *text, size_t size, const char *filename, zsat_diag_t *diag)
{
    zsat_scenario_t *self = (zsat_scenario_t *)zmalloc (sizeof (zsat_scenario_t));
    if (!self)
        return NULL;
    s_defaults (self, filename ? filename : "<scenario>");
    yaml_document_t doc;
    parse_t p = {self, &doc, diag, 0};
    if (s_load_document (&p, text, size) == 0) {
        yaml_node_t *root = yaml_document_get_root_node (&doc);
        if (!root)
            s_error (&p, NULL, "empty scenario");
        s_parse_root (&p, root);
        yaml_document_delete (&doc);
    }
    if (p.errors == 0 && self->topology)
        s_check_names (&p);
    if (p.errors > 0 || !self->topology)
        zsat_scenario_destroy (&self);
    return self;
}

zsat_scenario_t *
zsat_scenario_load (const char *path, zsat_diag_t *diag)
{
    FILE *file = fopen (path, "rb");
    if (!file) {
        zsat_diag_add (diag, path, 0, 0, "cannot open: %s", strerror (errno));
        return NULL;
    }
    char *text = (char *)malloc (SCENARIO_FILE_MAX);
    size_t size = text ? fread (text, 1, SCENARIO_FILE_MAX, file) : 0;
    bool too_big = text && size == SCENARIO_FILE_MAX;
    fclose (file);
    zsat_scenario_t *self = NULL;
    if (!text)
        zsat_diag_add (diag, path, 0, 0, "out of memory");
    else if (too_big)
        zsat_diag_add (diag, path, 0, 0, "larger than %d bytes", SCENARIO_FILE_MAX);
    else
        self = zsat_scenario_parse (text, size, path, diag);
    free (text);
    return self;
}

void
zsat_scenario_destroy (zsat_scenario_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    zsat_topology_destroy (&(*self_p)->topology);
    free (*self_p);
    *self_p = NULL;
}

const char *
zsat_scenario_name (zsat_scenario_t *self)
{
    return self->name;
}

const char *
zsat_scenario_file (zsat_scenario_t *self)
{
    return self->file;
}

const char *
zsat_scenario_topology_path (zsat_scenario_t *self)
{
    return self->topology_path;
}

zsat_topology_t *
zsat_scenario_topology (zsat_scenario_t *self)
{
    return self->topology;
}

zsat_hosts_mode_t
zsat_scenario_hosts (zsat_scenario_t *self)
{
    return self->hosts;
}

int64_t
zsat_scenario_duration (zsat_scenario_t *self)
{
    return self->duration_ms;
}

void
zsat_scenario_set_duration (zsat_scenario_t *self, int64_t duration_ms)
{
    if (duration_ms <= 0 || self->duration_ms <= 0)
        return;
    if (duration_ms > 3600000)
        duration_ms = 3600000;
    for (size_t i = 0; i < self->fault_count; i++)
        self->faults[i].at_ms = self->faults[i].at_ms * duration_ms / self->duration_ms;
    self->duration_ms = duration_ms;
}

int
zsat_scenario_set_hosts (zsat_scenario_t *self, zsat_hosts_mode_t mode)
{
    for (size_t i = 0; mode == ZSAT_HOSTS_LOOPBACK && i < self->fault_count; i++)
        if (self->faults[i].action >= ZSAT_FAULT_LINK_DOWN)
            return -1;
    self->hosts = mode;
    return 0;
}

int64_t
zsat_scenario_startup_timeout (zsat_scenario_t *self)
{
    return self->startup_timeout_ms;
}

const zsat_load_t *
zsat_scenario_load_options (zsat_scenario_t *self)
{
    return &self->load;
}

size_t
zsat_scenario_fault_count (zsat_scenario_t *self)
{
    return self->fault_count;
}

const zsat_fault_t *
zsat_scenario_fault (zsat_scenario_t *self, size_t index)
{
    return index < self->fault_count ? &self->faults[index] : NULL;
}

const zsat_invariants_t *
zsat_scenario_invariants (zsat_scenario_t *self)
{
    return &self->invariants;
}

const char *
zsat_fault_action_name (zsat_fault_action_t action)
{
    return action <= ZSAT_FAULT_BANDWIDTH ? s_action_names[action] : "?";
}

void
zsat_fault_describe (const zsat_fault_t *fault, char *buf, size_t cap)
{
    if (fault->action == ZSAT_FAULT_BANDWIDTH)
        snprintf (buf, cap, "bandwidth %s %s", fault->target, fault->rate);
    else if (*fault->host)
        snprintf (buf, cap, "%s %s@%s", s_action_names[fault->action], fault->target, fault->host);
    else
        snprintf (buf, cap, "%s %s", s_action_names[fault->action], fault->target);
}

//  --------------------------------------------------------------------------
//  Selftest

static const char *s_test_topology = "name: t\n"
                                     "hosts: {a: 198.18.0.1, b: 198.18.0.2}\n"
                                     "nodes:\n"
                                     "  gen: {kind: gen, host: a}\n"
                                     "  worker: {kind: fault, hosts: all}\n"
                                     "  csv: {kind: csv, host: a}\n"
                                     "links:\n"
                                     "  - {from: gen, to: worker, bind: from}\n"
                                     "  - worker -> csv\n";

typedef struct {
    const char *text;
    const char *expect;  //  "line:col: message" after the file name
} broken_t;

static const broken_t s_broken[] = {
    {"topology: t.yaml\nduraton: 5s\n",
     "2:1: scenario: unknown key 'duraton' (did you mean 'duration'?)"},
    {"duration: 5s\n", "1:1: scenario: 'topology' (the topology file to run) is required"},
    {"topology: missing.yaml\n", "1:11: topology: cannot read"},
    {"topology: t.yaml\nduration: 5\n", "2:11: duration: '5' is not a duration"},
    {"topology: t.yaml\nduration: 2h\n", "2:11: duration must be more than 0 and at most 1h"},
    {"topology: t.yaml\nhosts: vm\n", "2:8: hosts: 'vm' is not netns, loopback or auto"},
    {"topology: t.yaml\nload: {node: worker}\n", "2:7: load: node 'worker' is of kind 'fault'"},
    {"topology: t.yaml\nload: {node: scheduler, rate: 5}\n",
     "2:7: load: node 'scheduler' is the scheduler: its load is the topology's schedules"},
    {"topology: t.yaml\nload: {node: gne}\n",
     "2:7: load: no node 'gne' in the topology (did you mean 'gen'?)"},
    {"topology: t.yaml\nload: {node: gen, rate: -3}\n", "2:25: load.rate: '-3' is not a rate"},
    {"topology: t.yaml\nfaults:\n  - {kill: worker}\n",
     "3:5: fault: 'at' (when, from the start of the load) is required"},
    {"topology: t.yaml\nfaults:\n  - {at: 1s, kill: worker, stop: worker}\n",
     "3:34: fault: one action per entry ('kill' and 'stop' given)"},
    {"topology: t.yaml\nfaults:\n  - {at: 1s, kil: worker}\n",
     "3:14: fault: unknown key 'kil' (did you mean 'kill'?)"},
    {"topology: t.yaml\nfaults:\n  - {at: 1s, kill: wroker}\n",
     "3:5: kill: no node 'wroker' in the topology (did you mean 'worker'?)"},
    {"topology: t.yaml\nfaults:\n  - {at: 1s, link_down: c}\n",
     "3:5: link_down: no host 'c' in the topology"},
    {"topology: t.yaml\nduration: 10s\nfaults:\n  - {at: 12s, kill: worker}\n",
     "4:5: kill at 12000ms: after the end of the run (duration 10000ms)"},
    {"topology: t.yaml\nfaults:\n  - {at: 1s, bandwidth: {host: b, rate: fast}}\n",
     "3:41: bandwidth.rate: 'fast' is not a rate"},
    {"topology: t.yaml\nhosts: loopback\nfaults:\n  - {at: 1s, link_down: b}\n",
     "4:5: link_down: hosts: loopback has no links to cut or cap"},
    {"topology: t.yaml\ninvariants: {max_duplicate: 3}\n",
     "2:14: invariants: unknown key 'max_duplicate' (did you mean 'max_duplicates'?)"},
    {"topology: t.yaml\ninvariants: {no_critical_loss: maybe}\n",
     "2:32: no_critical_loss: 'maybe' is not a boolean"},
    {"topology: t.yaml\nfaults: {at: 1s}\n", "2:9: faults must be a list"},
    {"topology: t.yaml\nfaults:\n  - {at: 1s, link_up: b, host: a}\n",
     "3:32: fault: 'host' only narrows node faults"},
    {"topology: t.yaml\nname: [x\n", "3:1: YAML: did not find expected ',' or ']'"},
    {"topology: bad.yaml\n", "1:11: topology: "},
};

static void
s_write (const char *path, const char *text)
{
    FILE *file = fopen (path, "w");
    assert (file);
    fputs (text, file);
    fclose (file);
}

static void
s_test_valid (const char *dir)
{
    char path[1024];
    snprintf (path, sizeof path, "%s/good.yaml", dir);
    const char *text = "name: crash\ntopology: t.yaml\nhosts: netns\nduration: 20s\n"
                       "load: {node: gen, rate: 2000, size: 100, critical: true, seed: 7}\n"
                       "faults:\n  - {at: 5s, kill: worker, host: b}\n"
                       "  - {at: 8s, link_down: b}\n  - {at: 10s, link_up: b}\n"
                       "  - {at: 12s, bandwidth: {host: b, rate: 1mbit}}\n"
                       "invariants: {no_critical_loss: true, all_tasks_end: yes, "
                       "max_duplicates: 10, p99_latency_max: 50ms, recovery_max: 5s}\n";
    s_write (path, text);
    zsat_diag_t *diag = zsat_diag_new ();
    zsat_scenario_t *self = zsat_scenario_load (path, diag);
    if (!self)
        zsat_diag_print (diag, stderr);
    assert (self && zsat_diag_count (diag) == 0);
    assert (streq (zsat_scenario_name (self), "crash"));
    assert (zsat_scenario_hosts (self) == ZSAT_HOSTS_NETNS);
    assert (zsat_scenario_duration (self) == 20000);
    const zsat_load_t *load = zsat_scenario_load_options (self);
    assert (streq (load->node, "gen") && load->rate == 2000 && load->size == 100);
    assert (load->critical && load->has_critical && load->seed == 7);
    assert (zsat_scenario_fault_count (self) == 4);
    const zsat_fault_t *fault = zsat_scenario_fault (self, 0);
    assert (fault->action == ZSAT_FAULT_KILL && streq (fault->target, "worker"));
    assert (streq (fault->host, "b") && fault->at_ms == 5000 && fault->line == 7);
    fault = zsat_scenario_fault (self, 3);
    assert (fault->action == ZSAT_FAULT_BANDWIDTH && streq (fault->rate, "1mbit"));
    char line[128];
    zsat_fault_describe (fault, line, sizeof line);
    assert (streq (line, "bandwidth b 1mbit"));
    const zsat_invariants_t *inv = zsat_scenario_invariants (self);
    assert (inv->no_critical_loss && inv->all_tasks_end && inv->max_duplicates == 10);
    assert (inv->p99_latency_max_ms == 50 && inv->recovery_max_ms == 5000);
    assert (inv->min_scale_ups == -1);
    zsat_scenario_set_duration (self, 10000);
    assert (zsat_scenario_fault (self, 0)->at_ms == 2500);
    assert (zsat_scenario_set_hosts (self, ZSAT_HOSTS_LOOPBACK) == -1);  //  link faults
    assert (zsat_scenario_hosts (self) == ZSAT_HOSTS_NETNS);
    assert (zsat_scenario_set_hosts (self, ZSAT_HOSTS_AUTO) == 0);
    assert (zsat_topology_node_find (zsat_scenario_topology (self), "csv"));
    zsat_scenario_destroy (&self);
    zsat_scenario_destroy (&self);
    zsat_diag_destroy (&diag);
}

static void
s_test_broken (const char *dir, bool verbose)
{
    char path[1024];
    snprintf (path, sizeof path, "%s/s.yaml", dir);
    for (size_t i = 0; i < sizeof s_broken / sizeof s_broken[0]; i++) {
        zsat_diag_t *diag = zsat_diag_new ();
        zsat_scenario_t *self =
            zsat_scenario_parse (s_broken[i].text, strlen (s_broken[i].text), path, diag);
        char want[1600];
        snprintf (want, sizeof want, "%s:%s", path, s_broken[i].expect);
        bool found = zsat_diag_contains (diag, want);
        if (verbose || self || !found) {
            fprintf (stderr, "case %zu: want '%s'\n", i, want);
            zsat_diag_print (diag, stderr);
        }
        assert (!self && found);
        zsat_diag_destroy (&diag);
    }
}

//  Every shipped scenario loads (they are the project's own end-to-end tests).
static void
s_test_shipped (void)
{
    static const char *names[] = {"steady", "worker-crash", "partition", "slow-stage",
                                  "critical-loss"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        char path[1024], relative[256];
        snprintf (relative, sizeof relative, "harness/scenarios/%s.yaml", names[i]);
        assert (zsat_datadir_path (path, sizeof path, relative));
        zsat_diag_t *diag = zsat_diag_new ();
        zsat_scenario_t *self = zsat_scenario_load (path, diag);
        if (!self)
            zsat_diag_print (diag, stderr);
        assert (self && streq (zsat_scenario_name (self), names[i]));
        assert (streq (zsat_scenario_load_options (self)->node, "gen"));
        zsat_scenario_destroy (&self);
        zsat_diag_destroy (&diag);
    }
}

void
zsat_scenario_test (bool verbose)
{
    printf (" * zsat_scenario: ");
    if (verbose)
        printf ("\n");
    char dir[] = "/tmp/zsat-scenario-test-XXXXXX";
    assert (mkdtemp (dir));
    char path[1024];
    snprintf (path, sizeof path, "%s/t.yaml", dir);
    s_write (path, s_test_topology);
    snprintf (path, sizeof path, "%s/bad.yaml", dir);
    s_write (path, "nodez: {}\n");
    s_test_valid (dir);
    s_test_broken (dir, verbose);
    s_test_shipped ();
    zsat_diag_t *diag = zsat_diag_new ();
    assert (!zsat_scenario_load ("/nonexistent/x.yaml", diag));
    assert (zsat_diag_contains (diag, "/nonexistent/x.yaml: cannot open"));
    zsat_diag_destroy (&diag);
    const char *files[] = {"t.yaml", "bad.yaml", "good.yaml"};
    for (size_t i = 0; i < 3; i++) {
        snprintf (path, sizeof path, "%s/%s", dir, files[i]);
        unlink (path);
    }
    rmdir (dir);
    printf ("OK\n");
}
