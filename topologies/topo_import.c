/*  topo_import - DSAT's vertex.json + circus .ini -> zsat topology YAML text.

    vertex.json is read with libyaml (JSON is YAML flow syntax here). Mapping, kept item by
    item with a comment saying where each came from:
    - [watcher:NAME] -> node NAME (numprocesses -> instances); master -> kind scheduler,
      orchester/tracker -> their system kinds; csvw -> kind csv; other names keep their name
      as kind (a comment says there is no zsat kind of that name unless one is registered).
    - cnx PATTERN_source_destination -> a link with that pattern and the endpoint, %(var)s
      substituted from vertex.json's top-level keys; PUSH_orchester_T -> route T -> T;
      links to or from `any`, and master -> orchester, are zsat's system sockets (a comment).
    - bounce_to types -> routes and schedules (DSAT re-scheduled them by bouncing);
      max_retry, timeout (seconds), check_delay (scale window) -> tracker policy.
*/
#include "topo_internal.h"
#include <stdarg.h>
#include <yaml.h>

#define TOPO_INI_LINE_MAX 4096
#define TOPO_IMPORT_MAX   256  //  watchers / links / variables kept

typedef struct {
    char *data;
    size_t size, cap;
    bool failed;
} text_t;

static void s_put (text_t *text, const char *format, ...) __attribute__ ((format (printf, 2, 3)));

static void
s_put (text_t *text, const char *format, ...)
{
    va_list args;
    va_start (args, format);
    char line[2048];
    int n = vsnprintf (line, sizeof line, format, args);
    va_end (args);
    if (n < 0 || text->failed)
        return;
    size_t size = (size_t)n < sizeof line ? (size_t)n : sizeof line - 1;
    if (text->size + size + 1 > text->cap) {
        size_t cap = (text->cap + size + 1) * 2;
        char *grown = (char *)realloc (text->data, cap);
        if (!grown) {
            text->failed = true;
            return;
        }
        text->data = grown;
        text->cap = cap;
    }
    memcpy (text->data + text->size, line, size);
    text->size += size;
    text->data[text->size] = 0;
}

typedef struct {
    char name[ZSAT_NAME_MAX];
    int instances;
    bool singleton;
    char priority[16];
    char cmd[256];
    char args[256];
} watcher_t;

typedef struct {
    char name[ZSAT_NAME_MAX];
    char value[256];
} variable_t;

typedef struct {
    zsat_diag_t *diag;
    const char *json_name, *ini_name;  //  file names in messages
    yaml_document_t doc;
    yaml_node_t *root;
    watcher_t watchers[TOPO_IMPORT_MAX];
    size_t watcher_count;
    variable_t variables[TOPO_IMPORT_MAX];
    size_t variable_count;
    char dropped_watcher[512];   //  watcher keys zsat has no use for, each named once
    char dropped_sections[512];  //  other .ini sections ([circus]: circus' own settings)
    text_t out;
} import_t;

static void
s_trim (char *text)
{
    char *start = text;
    while (*start == ' ' || *start == '\t')
        start++;
    memmove (text, start, strlen (start) + 1);
    size_t n = strlen (text);
    while (n > 0 && strchr (" \t\r\n", text[n - 1]))
        text[--n] = 0;
}

static watcher_t *
s_watcher (import_t *imp, const char *name)
{
    for (size_t i = 0; i < imp->watcher_count; i++)
        if (streq (imp->watchers[i].name, name))
            return &imp->watchers[i];
    return NULL;
}

//  Appends name to a space-separated list unless it is there already.
static void
s_note_once (char *list, size_t cap, const char *name)
{
    size_t length = strlen (name);
    for (const char *at = strstr (list, name); at; at = strstr (at + 1, name))
        if ((at == list || at[-1] == ' ') && (at[length] == ' ' || at[length] == 0))
            return;
    size_t used = strlen (list);
    if (used + length + 2 < cap)
        snprintf (list + used, cap - used, "%s%s", used ? " " : "", name);
}

static void
s_ini_key (import_t *imp, watcher_t *w, const char *key, const char *value, int line)
{
    if (streq (key, "numprocesses")) {
        char *end;
        long n = strtol (value, &end, 10);
        if (*end || n < 0 || n > 1024)
            zsat_diag_add (imp->diag, imp->ini_name, line, 0, "numprocesses '%s' is not a count",
                           value);
        else
            w->instances = (int)n;
    }
    else if (streq (key, "singleton"))
        w->singleton = streq (value, "True") || streq (value, "true") || streq (value, "1");
    else if (streq (key, "cmd"))
        snprintf (w->cmd, sizeof w->cmd, "%s", value);
    else if (streq (key, "args"))
        snprintf (w->args, sizeof w->args, "%s", value);
    else if (streq (key, "priority")) {
        snprintf (w->priority, sizeof w->priority, "%s", value);
        s_note_once (imp->dropped_watcher, sizeof imp->dropped_watcher, key);
    }
    else
        s_note_once (imp->dropped_watcher, sizeof imp->dropped_watcher, key);
}

//  Reads every [watcher:NAME] section; other sections ([circus]) are circus' own settings.
static void
s_parse_ini (import_t *imp, const char *ini)
{
    watcher_t *current = NULL;
    int line_number = 0;
    for (const char *c = ini; c && *c;) {
        size_t n = strcspn (c, "\n");
        char line[TOPO_INI_LINE_MAX];
        snprintf (line, sizeof line, "%.*s", (int)(n < sizeof line ? n : sizeof line - 1), c);
        c += n + (c[n] == '\n');
        line_number++;
        s_trim (line);
        if (!*line || *line == '#' || *line == ';')
            continue;
        if (*line == '[') {
            current = NULL;
            char name[ZSAT_NAME_MAX + 16] = "";
            if (sscanf (line, "[watcher:%79[^]]]", name) != 1) {
                s_note_once (imp->dropped_sections, sizeof imp->dropped_sections, line);
                continue;
            }
            s_trim (name);
            if (!zsat_name_valid (name) || s_watcher (imp, name) ||
                imp->watcher_count == TOPO_IMPORT_MAX)
                zsat_diag_add (imp->diag, imp->ini_name, line_number, 0,
                               "watcher '%s' skipped (bad or repeated name)", name);
            else {
                current = &imp->watchers[imp->watcher_count++];
                snprintf (current->name, sizeof current->name, "%.*s", ZSAT_NAME_MAX - 1, name);
                current->instances = 1;
            }
            continue;
        }
        char *equal = strchr (line, '=');
        if (!current || !equal)
            continue;
        *equal = 0;
        s_trim (line);
        s_trim (equal + 1);
        s_ini_key (imp, current, line, equal + 1, line_number);
    }
}

static const char *
s_scalar (yaml_node_t *node)
{
    return node && node->type == YAML_SCALAR_NODE ? (const char *)node->data.scalar.value : NULL;
}

//  The value of key in map: the LAST one when the key is repeated, as Python's json module
//  (which DSAT read vertex.json with) keeps it.
static yaml_node_t *
s_get (import_t *imp, yaml_node_t *map, const char *key)
{
    if (!map || map->type != YAML_MAPPING_NODE)
        return NULL;
    yaml_node_t *found = NULL;
    for (yaml_node_pair_t *p = map->data.mapping.pairs.start; p < map->data.mapping.pairs.top;
         p++) {
        yaml_node_t *k = yaml_document_get_node (&imp->doc, p->key);
        if (k->type == YAML_SCALAR_NODE && streq ((char *)k->data.scalar.value, key))
            found = yaml_document_get_node (&imp->doc, p->value);
    }
    return found;
}

//  Warns about every repeated key of every object, at the repetition that wins.
static void
s_warn_duplicates (import_t *imp)
{
    for (yaml_node_t *map = imp->doc.nodes.start; map < imp->doc.nodes.top; map++) {
        if (map->type != YAML_MAPPING_NODE)
            continue;
        yaml_node_pair_t *start = map->data.mapping.pairs.start, *top = map->data.mapping.pairs.top;
        if (top - start > TOPO_IMPORT_MAX * 4)
            continue;  //  no DSAT object is this big; the pairwise test would be slow
        for (yaml_node_pair_t *p = start; p < top; p++) {
            yaml_node_t *key = yaml_document_get_node (&imp->doc, p->key);
            const char *name = s_scalar (key);
            yaml_node_t *first = NULL;
            for (yaml_node_pair_t *q = start; q < p && name && !first; q++) {
                yaml_node_t *other = yaml_document_get_node (&imp->doc, q->key);
                if (s_scalar (other) && streq (s_scalar (other), name))
                    first = other;
            }
            if (first)
                zsat_diag_add (imp->diag, imp->json_name, (int)key->start_mark.line + 1,
                               (int)key->start_mark.column + 1,
                               "warning: duplicate key '%s' (also at line %d): the last one is "
                               "used, as DSAT's Python json did",
                               name, (int)first->start_mark.line + 1);
        }
    }
}

static void
s_collect_variables (import_t *imp)
{
    yaml_node_t *root = imp->root;
    for (yaml_node_pair_t *p = root->data.mapping.pairs.start; p < root->data.mapping.pairs.top;
         p++) {
        const char *key = s_scalar (yaml_document_get_node (&imp->doc, p->key));
        const char *value = s_scalar (yaml_document_get_node (&imp->doc, p->value));
        variable_t *v = NULL;
        for (size_t i = 0; key && i < imp->variable_count && !v; i++)
            if (streq (imp->variables[i].name, key))
                v = &imp->variables[i];  //  repeated: the last one wins
        if (key && value && !v && imp->variable_count < TOPO_IMPORT_MAX)
            v = &imp->variables[imp->variable_count++];
        if (key && value && v) {
            snprintf (v->name, sizeof v->name, "%s", key);
            snprintf (v->value, sizeof v->value, "%s", value);
        }
    }
}

//  Python's "%(name)s" from vertex.json's own keys. Returns false on an unknown name.
static bool
s_substitute (import_t *imp, const char *in, char *out, size_t cap)
{
    size_t used = 0;
    out[0] = 0;
    while (*in && used + 1 < cap) {
        const char *close = strncmp (in, "%(", 2) == 0 ? strstr (in, ")s") : NULL;
        if (!close) {
            out[used++] = *in++;
            out[used] = 0;
            continue;
        }
        char name[ZSAT_NAME_MAX];
        snprintf (name, sizeof name, "%.*s", (int)(close - in - 2), in + 2);
        const variable_t *v = NULL;
        for (size_t i = 0; i < imp->variable_count && !v; i++)
            if (streq (imp->variables[i].name, name))
                v = &imp->variables[i];
        if (!v) {
            zsat_diag_add (imp->diag, imp->json_name, 0, 0, "endpoint '%s': unknown variable '%s'",
                           in, name);
            return false;
        }
        used += (size_t)snprintf (out + used, cap - used, "%s", v->value);
        used = used < cap ? used : cap - 1;
        in = close + 2;
    }
    return true;
}

static const char *
s_kind_of (const char *name, const char **note)
{
    static const char *known[] = {"cpu",    "mem",  "net",  "disk",      "proc",
                                  "gen",    "exec", "csv",  "rrd",       "hdf5",
                                  "carbon", "log",  "ping", "orchester", "tracker"};
    *note = NULL;
    if (streq (name, "ping"))
        return *note = "zsat's ping kind: ICMP echo round trips to options.targets "
                       "(default 127.0.0.1)",
               "ping";
    if (streq (name, "rrd"))
        return *note = "zsat's rrd kind: one .rrd file per host, type and record key in "
                       "<run_dir>/<host>/rrd (DSAT's rrd.json is not read)",
               "rrd";
    if (streq (name, "master"))
        return *note = "DSAT's master: zsat's scheduler", "scheduler";
    if (streq (name, "csvw"))
        return *note = "DSAT's CSV writer", "csv";
    for (size_t i = 0; i < sizeof known / sizeof known[0]; i++)
        if (streq (name, known[i]))
            return name;
    if (!zsat_kind_find (name))
        *note = "no zsat kind of this name yet: write one (or use exec)";
    return name;
}

//  One cnx entry split into pattern, sender, receiver (zsat's direction).
typedef struct {
    const char *key;
    char from[ZSAT_NAME_MAX], to[ZSAT_NAME_MAX];
    const char *pattern;
    char endpoint[512];
    bool system;  //  jobs, events, state, any: zsat's own sockets
    bool route;   //  PUSH_orchester_T
} cnx_t;

static bool
s_split_cnx (import_t *imp, const char *key, cnx_t *cnx)
{
    static const struct {
        const char *dsat, *zsat;
        bool reversed;  //  the receiver is named first (SUB_a_b: a subscribes to b)
    } patterns[] = {
        {"PUSH", "push", false}, {"PULL", "push", true},      {"PUB", "pub", false},
        {"SUB", "pub", true},    {"REQ", "req", false},       {"REP", "req", true},
        {"PAIR", "pair", false}, {"DEALER", "dealer", false}, {"ROUTER", "dealer", true}};
    char a[ZSAT_NAME_MAX] = "", b[ZSAT_NAME_MAX] = "", p[16] = "";
    if (sscanf (key, "%15[^_]_%63[^_]_%63s", p, a, b) != 3 || !zsat_name_valid (a) ||
        !zsat_name_valid (b)) {
        zsat_diag_add (imp->diag, imp->json_name, 0, 0,
                       "cnx '%s' is not PATTERN_source_destination", key);
        return false;
    }
    for (size_t i = 0; i < sizeof patterns / sizeof patterns[0]; i++)
        if (streq (p, patterns[i].dsat)) {
            cnx->key = key;
            cnx->pattern = patterns[i].zsat;
            snprintf (cnx->from, sizeof cnx->from, "%s", patterns[i].reversed ? b : a);
            snprintf (cnx->to, sizeof cnx->to, "%s", patterns[i].reversed ? a : b);
            cnx->system = streq (a, "any") || streq (b, "any") ||
                          (streq (cnx->from, "master") && streq (cnx->to, "orchester"));
            cnx->route = !cnx->system && streq (cnx->from, "orchester") && streq (p, "PUSH");
            return true;
        }
    zsat_diag_add (imp->diag, imp->json_name, 0, 0, "cnx '%s': unknown pattern '%s'", key, p);
    return false;
}

//  A double-quoted YAML scalar; a `$` a topology would read as `${` or `$$` is doubled.
static const char *
s_quote (const char *in, char *out, size_t cap)
{
    size_t used = 0;
    out[used++] = '"';
    for (; *in && used + 3 < cap; in++) {
        if (*in == '"' || *in == '\\')
            out[used++] = '\\';
        if (*in == '$' && (in[1] == '{' || in[1] == '$'))
            out[used++] = '$';
        out[used++] = (*in == '\n' || *in == '\r') ? ' ' : *in;
    }
    out[used++] = '"';
    out[used] = 0;
    return out;
}

static bool
s_is_system_name (const char *name)
{
    return streq (name, "any") || streq (name, "master") || streq (name, "orchester") ||
           streq (name, "tracker");
}

//  True when name (side of cnx[index]) is a watcher or was met earlier among the cnx nodes.
static bool
s_known_before (import_t *imp, cnx_t *cnx, size_t index, int side)
{
    const char *name = side ? cnx[index].to : cnx[index].from;
    if (s_watcher (imp, name) || (side == 1 && streq (cnx[index].from, name)))
        return true;
    for (size_t j = 0; j < index; j++)
        if (!cnx[j].system && (streq (cnx[j].from, name) || streq (cnx[j].to, name)))
            return true;
    return false;
}

static void
s_emit_nodes (import_t *imp, cnx_t *cnx, size_t cnx_count)
{
    s_put (&imp->out, "nodes:\n");
    for (size_t i = 0; i < imp->watcher_count; i++) {
        const watcher_t *w = &imp->watchers[i];
        const char *note, *kind = s_kind_of (w->name, &note);
        s_put (&imp->out, "  # [watcher:%s] numprocesses = %d%s%s%s; cmd: %s %s%s%s\n", w->name,
               w->instances, w->singleton ? ", singleton" : "", *w->priority ? ", priority " : "",
               w->priority, w->cmd, w->args, note ? "\n  # " : "", note ? note : "");
        //  A circus singleton never runs twice: the scaler must not add an instance either.
        if (w->singleton && w->instances <= 1)
            s_put (&imp->out, "  %s: {kind: %s, instances: %d, max: 1}\n", w->name, kind,
                   w->instances);
        else
            s_put (&imp->out, "  %s: {kind: %s, instances: %d}\n", w->name, kind, w->instances);
    }
    for (size_t i = 0; i < cnx_count; i++) {
        const char *sides[] = {cnx[i].from, cnx[i].to};
        for (int side = 0; side < 2 && !cnx[i].system; side++) {
            if (s_is_system_name (sides[side]) || s_known_before (imp, cnx, i, side))
                continue;
            const char *note, *kind = s_kind_of (sides[side], &note);
            s_put (&imp->out, "  # from cnx %s: no circus watcher runs it\n", cnx[i].key);
            s_put (&imp->out, "  %s: {kind: %s}\n", sides[side], kind);
        }
    }
}

static void
s_emit_links (import_t *imp, cnx_t *cnx, size_t cnx_count)
{
    bool any = false;
    for (size_t i = 0; i < cnx_count; i++) {
        if (cnx[i].system || cnx[i].route)
            continue;
        if (!any)
            s_put (&imp->out, "\nlinks:\n");
        any = true;
        char quoted[600];
        s_put (&imp->out, "  # cnx %s\n", cnx[i].key);
        s_put (&imp->out, "  - {from: %s, to: %s, pattern: %s, endpoint: %s}\n", cnx[i].from,
               cnx[i].to, cnx[i].pattern, s_quote (cnx[i].endpoint, quoted, sizeof quoted));
    }
}

//  The types DSAT's workers bounced back to the orchester (bounce_to: {cpu: [{type: cpu}]}).
static size_t
s_bounce_types (import_t *imp, const char **types, const char **wheres, size_t max)
{
    yaml_node_t *bounce = s_get (imp, imp->root, "bounce_to");
    size_t count = 0;
    if (!bounce || bounce->type != YAML_MAPPING_NODE)
        return 0;
    for (yaml_node_pair_t *p = bounce->data.mapping.pairs.start; p < bounce->data.mapping.pairs.top;
         p++) {
        yaml_node_t *list = yaml_document_get_node (&imp->doc, p->value);
        if (!list || list->type != YAML_SEQUENCE_NODE)
            continue;
        for (yaml_node_item_t *item = list->data.sequence.items.start;
             item < list->data.sequence.items.top && count < max; item++) {
            yaml_node_t *entry = yaml_document_get_node (&imp->doc, *item);
            const char *type = s_scalar (s_get (imp, entry, "type"));
            if (type && zsat_name_valid (type)) {
                wheres[count] = s_scalar (s_get (imp, entry, "where"));
                types[count++] = type;
            }
        }
    }
    return count;
}

static bool
s_node_exists (import_t *imp, cnx_t *cnx, size_t cnx_count, const char *name)
{
    if (s_watcher (imp, name))
        return true;
    for (size_t i = 0; i < cnx_count; i++)
        if (!cnx[i].system && (streq (cnx[i].from, name) || streq (cnx[i].to, name)))
            return true;
    return false;
}

static void
s_emit_routes (import_t *imp, cnx_t *cnx, size_t cnx_count, const char **types, size_t types_count)
{
    bool any = false;
    for (size_t i = 0; i < cnx_count; i++)
        if (cnx[i].route) {
            if (!any)
                s_put (&imp->out, "\nroutes:\n");
            any = true;
            s_put (&imp->out,
                   "  # cnx %s = %s (zsat derives the orchester's route endpoint)\n"
                   "  %s: %s\n",
                   cnx[i].key, cnx[i].endpoint, cnx[i].to, cnx[i].to);
        }
    for (size_t t = 0; t < types_count; t++) {
        bool routed = false;
        for (size_t i = 0; i < cnx_count && !routed; i++)
            routed = cnx[i].route && streq (cnx[i].to, types[t]);
        for (size_t u = 0; u < t && !routed; u++)
            routed = streq (types[u], types[t]);
        if (routed || !s_node_exists (imp, cnx, cnx_count, types[t]))
            continue;
        if (!any)
            s_put (&imp->out, "\nroutes:\n");
        any = true;
        s_put (&imp->out, "  # bounce_to type %s\n  %s: %s\n", types[t], types[t], types[t]);
    }
}

//  DSAT re-scheduled bounced types itself; zsat's scheduler emits them every polling_time_ms.
static void
s_emit_schedules (import_t *imp, cnx_t *cnx, size_t cnx_count, const char **types,
                  const char **wheres, size_t count)
{
    const char *polling = s_scalar (s_get (imp, imp->root, "polling_time_ms"));
    long every = polling ? strtol (polling, NULL, 10) : 0;
    every = every > 0 ? every : 1000;
    bool any = false;
    for (size_t t = 0; t < count; t++) {
        bool seen = false;
        for (size_t u = 0; u < t && !seen; u++)
            seen = streq (types[u], types[t]);
        if (seen || !s_node_exists (imp, cnx, cnx_count, types[t]))
            continue;
        if (!any)
            s_put (&imp->out, "\nschedules:   # bounce_to types, every polling_time_ms (%s)\n",
                   polling ? polling : "absent: 1000");
        any = true;
        s_put (&imp->out, "  - {type: %s, every: %ldms}   # bounce_to %s: where %s\n", types[t],
               every, types[t], wheres[t] ? wheres[t] : "(not set)");
    }
}

static void
s_emit_tracker (import_t *imp)
{
    const char *max_retry = s_scalar (s_get (imp, imp->root, "max_retry"));
    const char *timeout = s_scalar (s_get (imp, imp->root, "timeout"));
    const char *check_delay = s_scalar (s_get (imp, imp->root, "check_delay"));
    char *end;
    s_put (&imp->out, "\ntracker:\n");
    if (max_retry && strtol (max_retry, &end, 10) >= 0 && !*end)
        s_put (&imp->out, "  max_retry: %s          # vertex.json max_retry\n", max_retry);
    if (timeout && strtol (timeout, &end, 10) > 0 && !*end)
        s_put (&imp->out, "  timeout: %ss          # vertex.json timeout (seconds)\n", timeout);
    if (check_delay && strtol (check_delay, &end, 10) > 0 && !*end)
        s_put (&imp->out,
               "  scale: {window: %ss}   # vertex.json check_delay: the worker watcher's period\n",
               check_delay);
    s_put (&imp->out,
           "  max_seq: 50           # DSAT's tracker dropped vectors bounced more often\n");
}

static void
s_emit_system_notes (import_t *imp, cnx_t *cnx, size_t cnx_count)
{
    s_put (&imp->out,
           "\n# DSAT's system links: zsat derives these sockets itself (docs/topology.md):\n");
    for (size_t i = 0; i < cnx_count; i++) {
        if (!cnx[i].system)
            continue;
        const char *what = streq (cnx[i].to, "tracker")     ? "tracker.events"
                           : streq (cnx[i].from, "tracker") ? "tracker.state"
                           : streq (cnx[i].to, "orchester") && streq (cnx[i].from, "any")
                               ? "orchester.any"
                           : streq (cnx[i].from, "master") ? "scheduler.jobs"
                                                           : "a system socket";
        s_put (&imp->out, "#   cnx %s = %s -> %s\n", cnx[i].key, cnx[i].endpoint, what);
    }
}

//  vertex.json keys that carry no zsat meaning; scalars are kept as %(var)s values.
static void
s_dropped_json (import_t *imp, char *list, size_t cap)
{
    static const char *used[] = {
        "cnx", "bounce_to", "polling_time_ms", "max_retry", "timeout", "check_delay", NULL};
    for (yaml_node_pair_t *p = imp->root->data.mapping.pairs.start;
         p < imp->root->data.mapping.pairs.top; p++) {
        const char *key = s_scalar (yaml_document_get_node (&imp->doc, p->key));
        bool scalar = s_scalar (yaml_document_get_node (&imp->doc, p->value)) != NULL;
        bool known = false;
        for (size_t i = 0; key && used[i] && !known; i++)
            known = streq (key, used[i]);
        bool dropped = key && !known &&
                       (!scalar || streq (key, "debug_integrity") || streq (key, "circus_cfg"));
        if (dropped)
            s_note_once (list, cap, key);
    }
}

//  Says what has no equivalent here: in the output, and once on stderr.
static void
s_emit_dropped (import_t *imp)
{
    char json[512] = "";
    s_dropped_json (imp, json, sizeof json);
    s_put (&imp->out, "\n# Not carried over (no zsat equivalent):\n");
    if (*json)
        s_put (&imp->out,
               "#   %s: %s (zsat logs per node in <run_dir>/<host>/logs; no state keeper; the "
               "launcher reads this file, not circus')\n",
               imp->json_name, json);
    if (*imp->dropped_watcher)
        s_put (&imp->out,
               "#   %s watcher keys: %s (zsat starts nodes by stage: sources, orchester, "
               "workers, sinks, tracker; it copies no environment)\n",
               imp->ini_name, imp->dropped_watcher);
    if (*imp->dropped_sections)
        s_put (&imp->out, "#   %s sections: %s (circus' own settings)\n", imp->ini_name,
               imp->dropped_sections);
    if (*json || *imp->dropped_watcher || *imp->dropped_sections)
        zsat_diag_add (imp->diag, "import-dsat", 0, 0,
                       "warning: not carried over: %s%s%s%s%s%s (see the end of the output)", json,
                       *json && *imp->dropped_watcher ? "; " : "",
                       *imp->dropped_watcher ? "watcher keys " : "", imp->dropped_watcher,
                       (*json || *imp->dropped_watcher) && *imp->dropped_sections ? "; " : "",
                       imp->dropped_sections);
}

static size_t
s_read_cnx (import_t *imp, cnx_t *cnx)
{
    yaml_node_t *map = s_get (imp, imp->root, "cnx");
    size_t count = 0;
    if (!map || map->type != YAML_MAPPING_NODE) {
        zsat_diag_add (imp->diag, imp->json_name, 0, 0, "no 'cnx' object");
        return 0;
    }
    for (yaml_node_pair_t *p = map->data.mapping.pairs.start; p < map->data.mapping.pairs.top;
         p++) {
        const char *key = s_scalar (yaml_document_get_node (&imp->doc, p->key));
        const char *value = s_scalar (yaml_document_get_node (&imp->doc, p->value));
        if (!key || !value || count == TOPO_IMPORT_MAX) {
            zsat_diag_add (imp->diag, imp->json_name, 0, 0, "cnx entry skipped: not a string");
            continue;
        }
        size_t slot = count;
        for (size_t i = 0; i < count; i++)
            if (streq (cnx[i].key, key))
                slot = i;  //  repeated: the last one wins
        cnx_t entry;
        memset (&entry, 0, sizeof entry);
        if (s_split_cnx (imp, key, &entry) &&
            s_substitute (imp, value, entry.endpoint, sizeof entry.endpoint)) {
            cnx[slot] = entry;
            count += slot == count;
        }
    }
    return count;
}

static bool
s_load_json (import_t *imp, const char *json)
{
    if (topo_check_depth (json, strlen (json), imp->json_name, imp->diag))
        return false;
    yaml_parser_t parser;
    if (!yaml_parser_initialize (&parser))
        return false;
    yaml_parser_set_input_string (&parser, (const unsigned char *)json, strlen (json));
    bool ok = yaml_parser_load (&parser, &imp->doc);
    if (!ok)
        zsat_diag_add (imp->diag, imp->json_name, (int)parser.problem_mark.line + 1,
                       (int)parser.problem_mark.column + 1, "JSON syntax error: %s",
                       parser.problem ? parser.problem : "unknown");
    yaml_parser_delete (&parser);
    if (!ok)
        return false;
    imp->root = yaml_document_get_root_node (&imp->doc);
    if (!imp->root || imp->root->type != YAML_MAPPING_NODE) {
        zsat_diag_add (imp->diag, imp->json_name, 0, 0, "the top level must be an object");
        yaml_document_delete (&imp->doc);
        return false;
    }
    return true;
}

static char *
s_convert (import_t *imp, cnx_t *cnx)
{
    s_warn_duplicates (imp);
    s_collect_variables (imp);
    size_t cnx_count = s_read_cnx (imp, cnx);
    const char *types[TOPO_IMPORT_MAX], *wheres[TOPO_IMPORT_MAX];
    size_t type_count = s_bounce_types (imp, types, wheres, TOPO_IMPORT_MAX);
    s_put (&imp->out,
           "# Converted by `zsat import-dsat` from DSAT's vertex.json and circus .ini.\n"
           "# Every node, link, pattern, endpoint and instance count is kept; comments\n"
           "# say where each came from. DSAT ran on one host: so does this topology.\n\n");
    s_emit_nodes (imp, cnx, cnx_count);
    s_emit_links (imp, cnx, cnx_count);
    s_emit_routes (imp, cnx, cnx_count, types, type_count);
    s_emit_schedules (imp, cnx, cnx_count, types, wheres, type_count);
    s_emit_tracker (imp);
    s_emit_system_notes (imp, cnx, cnx_count);
    s_emit_dropped (imp);
    if (imp->out.failed) {
        zsat_diag_add (imp->diag, "import", 0, 0, "out of memory");
        free (imp->out.data);
        return NULL;
    }
    return imp->out.data;
}

char *
zsat_topology_import_dsat (const char *vertex_json, const char *circus_ini, zsat_diag_t *diag)
{
    return zsat_topology_import_dsat_named (vertex_json, circus_ini, "vertex.json", "edge.ini",
                                            diag);
}

char *
zsat_topology_import_dsat_named (const char *vertex_json, const char *circus_ini,
                                 const char *json_name, const char *ini_name, zsat_diag_t *diag)
{
    if (!vertex_json || !circus_ini)
        return NULL;
    import_t *imp = (import_t *)calloc (1, sizeof (import_t));
    cnx_t *cnx = (cnx_t *)calloc (TOPO_IMPORT_MAX, sizeof (cnx_t));
    char *yaml = NULL;
    if (imp && cnx) {
        imp->diag = diag;
        imp->json_name = json_name ? json_name : "vertex.json";
        imp->ini_name = ini_name ? ini_name : "edge.ini";
        s_parse_ini (imp, circus_ini);
        if (s_load_json (imp, vertex_json)) {
            yaml = s_convert (imp, cnx);
            yaml_document_delete (&imp->doc);
        }
    }
    free (cnx);
    free (imp);
    return yaml;
}
