/*  topo_parse - YAML text -> topology model. Walks the document topo_expand.c makes
    (variables substituted, aliases and merge keys copied out, includes joined): every unknown key, duplicate
    key, wrong type or malformed value becomes a `file:line:col: message` and the walk goes on,
    so one run lists every problem. Cross references are left to topo_validate.c.
*/
#include "topo_internal.h"
#include <stdarg.h>
#include <yaml.h>

typedef struct {
    zsat_topology_t *self;
    yaml_document_t *doc;
    zsat_diag_t *diag;
    size_t errors;
} parse_t;

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

//  `key:` with nothing after it, or `~`/`null`: allowed where an empty mapping is meant.
static bool
s_is_null (yaml_node_t *node)
{
    const char *text = s_scalar (node);
    return text && node->data.scalar.style == YAML_PLAIN_SCALAR_STYLE &&
           (!*text || streq (text, "~") || streq (text, "null"));
}

static char *
s_copy (parse_t *p, yaml_node_t *node)
{
    return topo_strdup (p->self, s_scalar (node), (int)node->start_mark.line + 1,
                        (int)node->start_mark.column + 1);
}

//  Checks a mapping's keys: scalars, known, not repeated. Returns false if not a mapping.
static bool
s_check_map (parse_t *p, yaml_node_t *map, const char *what, const char *const *known)
{
    if (!map || map->type != YAML_MAPPING_NODE) {
        s_error (p, map, "%s must be a mapping", what);
        return false;
    }
    if (map->data.mapping.pairs.top - map->data.mapping.pairs.start > TOPO_ITEMS_MAX) {
        s_error (p, map, "%s has too many entries (limit %d)", what, TOPO_ITEMS_MAX);
        return false;
    }
    size_t known_count = 0;
    while (known && known[known_count])
        known_count++;
    for (yaml_node_pair_t *pair = map->data.mapping.pairs.start; pair < map->data.mapping.pairs.top;
         pair++) {
        yaml_node_t *key = s_node (p, pair->key);
        const char *name = s_scalar (key);
        if (!name) {
            s_error (p, key, "%s: keys must be plain names", what);
            continue;
        }
        for (yaml_node_pair_t *prev = map->data.mapping.pairs.start; prev < pair; prev++) {
            const char *other = s_scalar (s_node (p, prev->key));
            if (other && streq (other, name)) {
                s_error (p, key, "duplicate key '%s'", name);
                break;
            }
        }
        if (!known)
            continue;
        bool found = false;
        for (size_t i = 0; i < known_count && !found; i++)
            found = streq (known[i], name);
        if (!found) {
            const char *close = topo_closest (name, known, known_count);
            if (close)
                s_error (p, key, "unknown key '%s' (did you mean '%s'?)", name, close);
            else
                s_error (p, key, "unknown key '%s' in %s", name, what);
        }
    }
    return true;
}

//  The value of key in map (the first one), or NULL.
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

static char *
s_string (parse_t *p, yaml_node_t *node, const char *what)
{
    if (!s_scalar (node)) {
        s_error (p, node, "'%s' must be a string", what);
        return NULL;
    }
    return s_copy (p, node);
}

static char *
s_name (parse_t *p, yaml_node_t *node, const char *what)
{
    const char *text = s_scalar (node);
    if (!text) {
        s_error (p, node, "%s must be a name", what);
        return NULL;
    }
    if (!zsat_name_valid (text)) {
        s_error (p, node, "invalid %s '%s' (names are 1..63 bytes of [A-Za-z0-9_.-])", what, text);
        return NULL;
    }
    return s_copy (p, node);
}

static bool
s_int (parse_t *p, yaml_node_t *node, const char *what, int64_t low, int64_t high, int64_t *out)
{
    const char *text = s_scalar (node);
    char *end = NULL;
    errno = 0;
    long long value = text && *text ? strtoll (text, &end, 10) : 0;
    if (!text || !*text || *end || errno) {
        s_error (p, node, "'%s' must be an integer, got '%s'", what,
                 text ? text : "(not a scalar)");
        return false;
    }
    if (value < low || value > high) {
        s_error (p, node, "'%s' must be between %lld and %lld, got %lld", what, (long long)low,
                 (long long)high, value);
        return false;
    }
    *out = value;
    return true;
}

static bool
s_double (parse_t *p, yaml_node_t *node, const char *what, double low, double high, double *out)
{
    const char *text = s_scalar (node);
    char *end = NULL;
    double value = text && *text ? strtod (text, &end) : 0;
    if (!text || !*text || *end || value < low || value > high) {
        s_error (p, node, "'%s' must be a number between %g and %g, got '%s'", what, low, high,
                 text ? text : "(not a scalar)");
        return false;
    }
    *out = value;
    return true;
}

static bool
s_bool (parse_t *p, yaml_node_t *node, const char *what, bool *out)
{
    static const char *yes[] = {"true", "yes", "on", "1"};
    static const char *no[] = {"false", "no", "off", "0"};
    const char *text = s_scalar (node);
    for (int i = 0; text && i < 4; i++)
        if (streq (text, yes[i]) || streq (text, no[i])) {
            *out = streq (text, yes[i]);
            return true;
        }
    s_error (p, node, "'%s' must be true or false, got '%s'", what, text ? text : "(not a scalar)");
    return false;
}

static bool
s_duration (parse_t *p, yaml_node_t *node, const char *what, int64_t *out)
{
    const char *text = s_scalar (node);
    if (!text || zsat_topology_parse_duration (text, out) != 0) {
        s_error (p, node, "'%s' must be a duration with a unit (250ms, 2s, 1m, 1h), got '%s'", what,
                 text ? text : "(not a scalar)");
        return false;
    }
    return true;
}

static bool
s_size (parse_t *p, yaml_node_t *node, const char *what, int64_t *out)
{
    const char *text = s_scalar (node);
    if (!text || zsat_topology_parse_size (text, out) != 0) {
        s_error (p, node, "'%s' must be a size (4096, 64k, 16MiB, 1G), got '%s'", what,
                 text ? text : "(not a scalar)");
        return false;
    }
    return true;
}

//  A name or a list of names. `all` (when allow_all) expands to every host.
static const char **
s_names (parse_t *p, yaml_node_t *node, const char *what, bool allow_all, size_t *count)
{
    *count = 0;
    if (allow_all && s_scalar (node) && streq (s_scalar (node), "all")) {
        const char **names =
            (const char **)topo_alloc (p->self, (p->self->host_count + 1) * sizeof (char *));
        for (size_t i = 0; names && i < p->self->host_count; i++)
            names[(*count)++] = p->self->hosts[i].name;
        return names;
    }
    if (s_scalar (node)) {
        const char **names = (const char **)topo_alloc (p->self, sizeof (char *));
        if (names && (names[0] = s_name (p, node, what)))
            *count = 1;
        return names;
    }
    if (!node || node->type != YAML_SEQUENCE_NODE ||
        node->data.sequence.items.top - node->data.sequence.items.start > TOPO_ITEMS_MAX) {
        s_error (p, node, "%s must be a name or a list of names (at most %d)", what,
                 TOPO_ITEMS_MAX);
        return NULL;
    }
    size_t items = (size_t)(node->data.sequence.items.top - node->data.sequence.items.start);
    const char **names = (const char **)topo_alloc (p->self, (items + 1) * sizeof (char *));
    for (size_t i = 0; names && i < items; i++) {
        const char *name = s_name (p, s_node (p, node->data.sequence.items.start[i]), what);
        if (name)
            names[(*count)++] = name;
    }
    return names;
}

static void
s_parse_hosts (parse_t *p, yaml_node_t *map)
{
    zsat_topology_t *self = p->self;
    if (!s_check_map (p, map, "hosts", NULL))
        return;
    for (yaml_node_pair_t *pair = map->data.mapping.pairs.start; pair < map->data.mapping.pairs.top;
         pair++) {
        yaml_node_t *key = s_node (p, pair->key), *value = s_node (p, pair->value);
        const char *name = s_name (p, key, "host name");
        if (!name || topo_host_index (self, name) >= 0)
            continue;  //  a duplicate was reported by s_check_map
        zsat_host_t *host = (zsat_host_t *)topo_push ((void **)&self->hosts, &self->host_count,
                                                      &self->host_cap, sizeof (zsat_host_t));
        if (!host)
            return;
        host->name = name;
        host->line = (int)key->start_mark.line + 1;
        host->col = (int)key->start_mark.column + 1;
        host->address = topo_strdup (self, "127.0.0.1", 0, 0);
        if (s_is_null (value))
            continue;
        if (s_scalar (value)) {  //  `a: 198.18.0.1` shorthand
            host->address = s_copy (p, value);
            continue;
        }
        static const char *keys[] = {"address", "bind", "curve_key", NULL};
        if (!s_check_map (p, value, "host", keys))
            continue;
        yaml_node_t *address = s_get (p, value, "address"), *more;
        if (address)
            host->address = s_string (p, address, "address");
        if ((more = s_get (p, value, "bind")))
            host->bind = s_string (p, more, "bind");
        if ((more = s_get (p, value, "curve_key")))
            host->curve_key = s_string (p, more, "curve_key");
        if (!host->address)
            host->address = topo_strdup (self, "127.0.0.1", 0, 0);
    }
}

//  `operators: [{name: alice, key: <Z85 or file>}]`: the keys allowed to use the CLI.
static void
s_parse_operators (parse_t *p, yaml_node_t *list)
{
    zsat_topology_t *self = p->self;
    if (list->type != YAML_SEQUENCE_NODE) {
        s_error (p, list, "operators must be a list of {name, key}");
        return;
    }
    static const char *keys[] = {"name", "key", NULL};
    for (yaml_node_item_t *item = list->data.sequence.items.start;
         item < list->data.sequence.items.top && self->operator_count < TOPO_ITEMS_MAX; item++) {
        yaml_node_t *map = s_node (p, *item), *name, *key;
        if (!s_check_map (p, map, "operator", keys))
            continue;
        if (!(name = s_get (p, map, "name")) || !(key = s_get (p, map, "key"))) {
            s_error (p, map, "an operator needs a name and a key");
            continue;
        }
        zsat_operator_t *op = (zsat_operator_t *)topo_push (
            (void **)&self->operators, &self->operator_count, &self->operator_cap, sizeof *op);
        if (!op)
            return;
        op->name = s_name (p, name, "operator name");
        op->key = s_string (p, key, "key");
        op->line = (int)map->start_mark.line + 1;
        op->col = (int)map->start_mark.column + 1;
    }
}

static void
s_parse_options (parse_t *p, zsat_node_t *node, yaml_node_t *map)
{
    if (s_is_null (map) || !s_check_map (p, map, "options", NULL))
        return;
    size_t count = (size_t)(map->data.mapping.pairs.top - map->data.mapping.pairs.start);
    zsat_option_kv_t *options =
        (zsat_option_kv_t *)topo_alloc (p->self, (count + 1) * sizeof (zsat_option_kv_t));
    if (!options)
        return;
    node->options = options;
    for (size_t i = 0; i < count; i++) {
        yaml_node_t *key = s_node (p, map->data.mapping.pairs.start[i].key);
        yaml_node_t *value = s_node (p, map->data.mapping.pairs.start[i].value);
        if (!s_scalar (key))
            continue;
        if (!s_scalar (value)) {
            s_error (p, value, "option '%s' must be a scalar", s_scalar (key));
            continue;
        }
        zsat_option_kv_t *option = &options[node->option_count++];
        option->key = s_copy (p, key);
        option->value = s_copy (p, value);
        option->line = (int)value->start_mark.line + 1;
        option->col = (int)value->start_mark.column + 1;
    }
}

static void
s_parse_node_hosts (parse_t *p, zsat_node_t *node, yaml_node_t *map, yaml_node_t *key)
{
    yaml_node_t *host = s_get (p, map, "host"), *hosts = s_get (p, map, "hosts");
    if (host && hosts)
        s_error (p, hosts, "node '%s': use either 'host' or 'hosts'", node->name);
    if (host || hosts)
        node->hosts = s_names (p, host ? host : hosts, "host", true, &node->host_count);
    else if (p->self->host_count == 1) {
        node->hosts = (const char **)topo_alloc (p->self, sizeof (char *));
        if (node->hosts)
            node->hosts[node->host_count++] = p->self->hosts[0].name;
    }
    else
        s_error (p, key, "node '%s' has no host (the topology has %zu hosts: set host or hosts)",
                 node->name, p->self->host_count);
    for (size_t i = 0; i < node->host_count; i++)
        for (size_t j = 0; j < i; j++)
            if (streq (node->hosts[i], node->hosts[j])) {
                topo_error_at (p->self, p->diag, node->hosts[i], 0, 0,
                               "node '%s': host '%s' listed twice", node->name, node->hosts[i]);
                p->errors++;
                break;
            }
    for (size_t i = 0; i < node->host_count; i++)
        if (topo_host_index (p->self, node->hosts[i]) < 0) {
            const char *names[64];
            size_t n = 0;
            for (size_t h = 0; h < p->self->host_count && n < 64; h++)
                names[n++] = p->self->hosts[h].name;
            const char *close = topo_closest (node->hosts[i], names, n);
            topo_error_at (p->self, p->diag, node->hosts[i], 0, 0,
                           "node '%s': unknown host '%s'%s%s%s", node->name, node->hosts[i],
                           close ? " (did you mean '" : "", close ? close : "", close ? "'?)" : "");
            p->errors++;
        }
}

static void
s_parse_node (parse_t *p, yaml_node_t *key, yaml_node_t *map)
{
    static const char *keys[] = {"kind", "host", "hosts",   "instances",
                                 "min",  "max",  "options", NULL};
    zsat_topology_t *self = p->self;
    const char *name = s_name (p, key, "node name");
    if (!name || topo_node_index (self, name) >= 0)
        return;
    zsat_node_t *node = (zsat_node_t *)topo_push ((void **)&self->nodes, &self->node_count,
                                                  &self->node_cap, sizeof (zsat_node_t));
    if (!node)
        return;
    node->name = name;
    node->kind = name;  //  `cpu: {}` is a node of kind cpu
    node->line = (int)key->start_mark.line + 1;
    node->col = (int)key->start_mark.column + 1;
    node->instances = 1;
    if (!s_is_null (map) && !s_check_map (p, map, "node", keys))
        map = NULL;
    yaml_node_t *value;
    if ((value = s_get (p, map, "kind")))
        node->kind = s_name (p, value, "kind") ?: name;
    int64_t number;
    if ((value = s_get (p, map, "instances")) && s_int (p, value, "instances", 0, 1024, &number))
        node->instances = (int)number;
    node->min_instances = node->max_instances = node->instances;
    if ((value = s_get (p, map, "min")) && s_int (p, value, "min", 0, 1024, &number))
        node->min_instances = (int)number;
    if ((value = s_get (p, map, "max")) && s_int (p, value, "max", 0, 1024, &number))
        node->max_instances = (int)number;
    if (node->min_instances > node->instances || node->max_instances < node->instances)
        s_error (p, key, "node '%s': need min <= instances <= max (%d <= %d <= %d)", name,
                 node->min_instances, node->instances, node->max_instances);
    if ((value = s_get (p, map, "options")))
        s_parse_options (p, node, value);
    s_parse_node_hosts (p, node, map, key);
}

static void
s_parse_nodes (parse_t *p, yaml_node_t *map)
{
    if (!s_check_map (p, map, "nodes", NULL))
        return;
    for (yaml_node_pair_t *pair = map->data.mapping.pairs.start; pair < map->data.mapping.pairs.top;
         pair++)
        s_parse_node (p, s_node (p, pair->key), s_node (p, pair->value));
}

static bool
s_pattern (parse_t *p, yaml_node_t *node, zsat_pattern_t *out)
{
    static const char *names[] = {"push", "pub", "req", "pair", "dealer"};
    const char *text = s_scalar (node);
    for (int i = 0; text && i < 5; i++)
        if (streq (text, names[i])) {
            *out = (zsat_pattern_t)i;
            return true;
        }
    const char *close = text ? topo_closest (text, names, 5) : NULL;
    s_error (p, node, "unknown pattern '%s' (one of push, pub, req, pair, dealer)%s%s%s",
             text ? text : "", close ? "; did you mean '" : "", close ? close : "",
             close ? "'?" : "");
    return false;
}

//  "load1 > 2": a key, an operator, a number.
static bool
s_condition_valid (const char *text)
{
    static const char *ops[] = {"<=", ">=", "==", "!=", "<", ">"};
    const char *c = text;
    while (*c == ' ')
        c++;
    const char *key = c;
    while (isalnum ((unsigned char)*c) || *c == '_' || *c == '.' || *c == '-')
        c++;
    if (c == key)
        return false;
    while (*c == ' ')
        c++;
    size_t i;
    for (i = 0; i < 6; i++)
        if (strncmp (c, ops[i], strlen (ops[i])) == 0)
            break;
    if (i == 6)
        return false;
    c += strlen (ops[i]);
    char *end;
    strtod (c, &end);
    if (end == c)
        return false;
    while (*end == ' ')
        end++;
    return *end == 0;
}

static bool
s_endpoint_valid (const char *text)
{
    return (strncmp (text, "tcp://", 6) == 0 && text[6]) ||
           (strncmp (text, "ipc://", 6) == 0 && text[6]) ||
           (strncmp (text, "inproc://", 9) == 0 && text[9]);
}

//  "cpu -> csv": both names carry the mark of the whole scalar.
static void
s_parse_link_shorthand (parse_t *p, zsat_link_t *link, yaml_node_t *node)
{
    const char *text = s_scalar (node);
    const char *arrow = strstr (text, "->");
    int line = (int)node->start_mark.line + 1, col = (int)node->start_mark.column + 1;
    if (!arrow) {
        s_error (p, node, "link '%s' must be 'FROM -> TO' or a mapping", text);
        return;
    }
    const char *a = text, *a_end = arrow, *b = arrow + 2, *b_end = text + strlen (text);
    while (*a == ' ')
        a++;
    while (a_end > a && a_end[-1] == ' ')
        a_end--;
    while (*b == ' ')
        b++;
    while (b_end > b && b_end[-1] == ' ')
        b_end--;
    char *from = topo_strndup (p->self, a, (size_t)(a_end - a), line, col);
    char *to = topo_strndup (p->self, b, (size_t)(b_end - b), line, col);
    if (!from || !to)
        return;
    if (!zsat_name_valid (from) || !zsat_name_valid (to)) {
        s_error (p, node, "link '%s' must be 'FROM -> TO' with two node names", text);
        return;
    }
    link->from = from;
    link->to = to;
}

static void
s_parse_link_map (parse_t *p, zsat_link_t *link, yaml_node_t *map)
{
    static const char *keys[] = {"from", "to",    "pattern", "endpoint", "bind",
                                 "when", "topic", "name",    NULL};
    if (!s_check_map (p, map, "link", keys))
        return;
    yaml_node_t *value;
    if ((value = s_get (p, map, "from")))
        link->from = s_name (p, value, "node name");
    else
        s_error (p, map, "link: missing 'from'");
    if ((value = s_get (p, map, "to")))
        link->to = s_name (p, value, "node name");
    else
        s_error (p, map, "link: missing 'to'");
    if ((value = s_get (p, map, "pattern")))
        s_pattern (p, value, &link->pattern);
    link->bind_from = link->pattern == ZSAT_PATTERN_PUB_SUB;
    if ((value = s_get (p, map, "bind"))) {
        const char *text = s_scalar (value);
        if (text && (streq (text, "from") || streq (text, "to")))
            link->bind_from = streq (text, "from");
        else
            s_error (p, value, "'bind' must be 'from' or 'to', got '%s'", text ? text : "");
    }
    if ((value = s_get (p, map, "endpoint")) &&
        (link->endpoint = s_string (p, value, "endpoint")) && !s_endpoint_valid (link->endpoint))
        s_error (p, value, "endpoint '%s' must start with tcp://, ipc:// or inproc://",
                 link->endpoint);
    if ((value = s_get (p, map, "when")) && (link->when = s_string (p, value, "when")) &&
        !s_condition_valid (link->when))
        s_error (p, value, "condition '%s' must be 'KEY OP NUMBER' (OP: < <= > >= == !=)",
                 link->when);
    if ((value = s_get (p, map, "topic")))
        link->topic = s_string (p, value, "topic");
    if ((value = s_get (p, map, "name")))
        link->name = s_name (p, value, "link name");
}

static void
s_parse_links (parse_t *p, yaml_node_t *seq)
{
    zsat_topology_t *self = p->self;
    if (!seq || seq->type != YAML_SEQUENCE_NODE) {
        s_error (p, seq, "links must be a list");
        return;
    }
    if (seq->data.sequence.items.top - seq->data.sequence.items.start > TOPO_ITEMS_MAX) {
        s_error (p, seq, "links has too many entries (limit %d)", TOPO_ITEMS_MAX);
        return;
    }
    for (yaml_node_item_t *item = seq->data.sequence.items.start;
         item < seq->data.sequence.items.top; item++) {
        yaml_node_t *node = s_node (p, *item);
        zsat_link_t *link = (zsat_link_t *)topo_push ((void **)&self->links, &self->link_count,
                                                      &self->link_cap, sizeof (zsat_link_t));
        if (!link)
            return;
        link->line = (int)node->start_mark.line + 1;
        link->col = (int)node->start_mark.column + 1;
        if (s_scalar (node))
            s_parse_link_shorthand (p, link, node);
        else
            s_parse_link_map (p, link, node);
        if (!link->from || !link->to) {  //  reported; keep the model consistent
            self->link_count--;
            continue;
        }
        if (!link->topic)
            link->topic = topo_strdup (self, "", 0, 0);
        if (!link->name) {
            char name[2 * ZSAT_NAME_MAX + 4];
            snprintf (name, sizeof name, "%s->%s", link->from, link->to);
            link->name = topo_strdup (self, name, link->line, link->col);
        }
    }
}

static void
s_parse_route (parse_t *p, yaml_node_t *key, yaml_node_t *value)
{
    zsat_topology_t *self = p->self;
    const char *type = s_name (p, key, "type");
    if (!type)
        return;
    zsat_route_t *route = (zsat_route_t *)topo_push ((void **)&self->routes, &self->route_count,
                                                     &self->route_cap, sizeof (zsat_route_t));
    if (!route)
        return;
    route->type = type;
    route->line = (int)key->start_mark.line + 1;
    route->col = (int)key->start_mark.column + 1;
    if (value->type == YAML_MAPPING_NODE) {
        static const char *keys[] = {"to", "alternate", NULL};
        s_check_map (p, value, "route", keys);
        yaml_node_t *to = s_get (p, value, "to"), *alternate = s_get (p, value, "alternate");
        if (to)
            route->nodes = s_names (p, to, "node name", false, &route->node_count);
        else
            s_error (p, value, "route '%s': missing 'to'", type);
        if (alternate)
            route->alternate = s_name (p, alternate, "node name");
    }
    else
        route->nodes = s_names (p, value, "node name", false, &route->node_count);
    if (route->node_count == 0)
        self->route_count--;
}

static void
s_parse_routes (parse_t *p, yaml_node_t *map)
{
    if (!s_check_map (p, map, "routes", NULL))
        return;
    p->self->routes_given = true;
    for (yaml_node_pair_t *pair = map->data.mapping.pairs.start; pair < map->data.mapping.pairs.top;
         pair++)
        s_parse_route (p, s_node (p, pair->key), s_node (p, pair->value));
}

static void
s_parse_schedules (parse_t *p, yaml_node_t *seq)
{
    static const char *keys[] = {"type", "every", "hosts", NULL};
    zsat_topology_t *self = p->self;
    if (!seq || seq->type != YAML_SEQUENCE_NODE) {
        s_error (p, seq, "schedules must be a list");
        return;
    }
    if (seq->data.sequence.items.top - seq->data.sequence.items.start > TOPO_ITEMS_MAX) {
        s_error (p, seq, "schedules has too many entries (limit %d)", TOPO_ITEMS_MAX);
        return;
    }
    for (yaml_node_item_t *item = seq->data.sequence.items.start;
         item < seq->data.sequence.items.top; item++) {
        yaml_node_t *map = s_node (p, *item);
        if (!s_check_map (p, map, "schedule", keys))
            continue;
        zsat_schedule_t sched = {.line = (int)map->start_mark.line + 1,
                                 .col = (int)map->start_mark.column + 1};
        yaml_node_t *value;
        if ((value = s_get (p, map, "type")))
            sched.type = s_name (p, value, "type");
        else
            s_error (p, map, "schedule: missing 'type'");
        if ((value = s_get (p, map, "every"))) {
            if (s_duration (p, value, "every", &sched.every_ms) && sched.every_ms <= 0)
                s_error (p, value, "'every' must be more than 0ms");
        }
        else
            s_error (p, map, "schedule: missing 'every'");
        if ((value = s_get (p, map, "hosts")))
            sched.hosts = s_names (p, value, "host", true, &sched.host_count);
        if (!sched.type || sched.every_ms <= 0)
            continue;
        zsat_schedule_t *slot =
            (zsat_schedule_t *)topo_push ((void **)&self->schedules, &self->schedule_count,
                                          &self->schedule_cap, sizeof (zsat_schedule_t));
        if (slot)
            *slot = sched;
    }
}

static void
s_parse_timeouts (parse_t *p, yaml_node_t *map)
{
    zsat_tracker_policy_t *policy = &p->self->policy;
    if (!s_check_map (p, map, "timeouts", NULL))
        return;
    size_t count = (size_t)(map->data.mapping.pairs.top - map->data.mapping.pairs.start);
    const char **names = (const char **)topo_alloc (p->self, (count + 1) * sizeof (char *));
    int64_t *values = (int64_t *)topo_alloc (p->self, (count + 1) * sizeof (int64_t));
    if (!names || !values)
        return;
    policy->stage_timeout_names = names;
    policy->stage_timeout_ms = values;
    for (size_t i = 0; i < count; i++) {
        yaml_node_t *key = s_node (p, map->data.mapping.pairs.start[i].key);
        yaml_node_t *value = s_node (p, map->data.mapping.pairs.start[i].value);
        const char *stage = s_name (p, key, "stage");
        if (stage && s_duration (p, value, stage, &values[policy->stage_timeout_count]))
            names[policy->stage_timeout_count++] = stage;
    }
}

static void
s_parse_scale (parse_t *p, yaml_node_t *map)
{
    static const char *keys[] = {"low", "high", "window", "cooldown", NULL};
    zsat_tracker_policy_t *policy = &p->self->policy;
    if (!s_check_map (p, map, "scale", keys))
        return;
    yaml_node_t *value;
    int64_t number;
    if ((value = s_get (p, map, "low")) && s_int (p, value, "low", 0, 1024, &number))
        policy->scale_low = (int)number;
    if ((value = s_get (p, map, "high")) && s_int (p, value, "high", 0, 1024, &number))
        policy->scale_high = (int)number;
    if ((value = s_get (p, map, "window")))
        s_duration (p, value, "window", &policy->scale_window_ms);
    if ((value = s_get (p, map, "cooldown")))
        s_duration (p, value, "cooldown", &policy->scale_cooldown_ms);
    if (policy->scale_low > policy->scale_high)
        s_error (p, map, "scale: 'low' (%d) must not exceed 'high' (%d)", policy->scale_low,
                 policy->scale_high);
}

static void
s_parse_breaker (parse_t *p, yaml_node_t *map)
{
    static const char *keys[] = {"threshold", "min_tasks", "window", "cooldown", NULL};
    zsat_tracker_policy_t *policy = &p->self->policy;
    if (!s_check_map (p, map, "breaker", keys))
        return;
    yaml_node_t *value;
    int64_t number;
    if ((value = s_get (p, map, "threshold")))
        s_double (p, value, "threshold", 0.0, 1.0, &policy->breaker_threshold);
    if ((value = s_get (p, map, "min_tasks")) && s_int (p, value, "min_tasks", 1, 1000000, &number))
        policy->breaker_min_tasks = (int)number;
    if ((value = s_get (p, map, "window")))
        s_duration (p, value, "window", &policy->breaker_window_ms);
    if ((value = s_get (p, map, "cooldown")))
        s_duration (p, value, "cooldown", &policy->breaker_cooldown_ms);
}

//  `http: "127.0.0.1:9188"` and `http_token_file: PATH`: a listen address off loopback
//  needs the token file (secure by default: no open dashboard on a routed address).
static void
s_parse_http (parse_t *p, yaml_node_t *map)
{
    zsat_tracker_policy_t *policy = &p->self->policy;
    yaml_node_t *value = s_get (p, map, "http");
    yaml_node_t *token = s_get (p, map, "http_token_file");
    if (token && (policy->http_token_file = s_string (p, token, "http_token_file")) &&
        !*policy->http_token_file)
        s_error (p, token, "'http_token_file' must not be empty");
    if (!value)
        return;
    char ip[16], why[160];
    int port;
    bool loopback;
    const char *text = s_scalar (value);
    if (!text || zsat_topology_http_address (text, ip, &port, &loopback, why, sizeof why) != 0)
        s_error (p, value, "'http': %s", text ? why : "must be a string \"ADDR:PORT\"");
    else if (!loopback && !token)
        s_error (p, value,
                 "'http' listens on %s, not loopback: give 'http_token_file' (a bearer token)", ip);
    else
        policy->http = s_copy (p, value);
}

static void
s_parse_tracker (parse_t *p, yaml_node_t *map)
{
    static const char *keys[] = {
        "timeout",   "timeouts", "max_retry", "backoff", "backoff_max",     "max_seq", "max_tasks",
        "when_full", "scale",    "breaker",   "http",    "http_token_file", NULL};
    zsat_tracker_policy_t *policy = &p->self->policy;
    if (!s_check_map (p, map, "tracker", keys))
        return;
    policy->line = (int)map->start_mark.line + 1;
    policy->col = (int)map->start_mark.column + 1;
    yaml_node_t *value;
    int64_t number;
    if ((value = s_get (p, map, "timeout")))
        s_duration (p, value, "timeout", &policy->timeout_ms);
    if ((value = s_get (p, map, "timeouts")))
        s_parse_timeouts (p, value);
    if ((value = s_get (p, map, "max_retry")) && s_int (p, value, "max_retry", 0, 1000, &number))
        policy->max_retry = (int)number;
    if ((value = s_get (p, map, "backoff")))
        s_duration (p, value, "backoff", &policy->backoff_ms);
    if ((value = s_get (p, map, "backoff_max")))
        s_duration (p, value, "backoff_max", &policy->backoff_max_ms);
    if ((value = s_get (p, map, "max_seq")) && s_int (p, value, "max_seq", 0, 1000000, &number))
        policy->max_seq = (int)number;
    if ((value = s_get (p, map, "max_tasks")))
        s_int (p, value, "max_tasks", 1, 1000000000, &policy->max_tasks);
    if ((value = s_get (p, map, "when_full"))) {
        const char *text = s_scalar (value);
        if (text && (streq (text, "evict_oldest") || streq (text, "refuse")))
            policy->refuse_when_full = streq (text, "refuse");
        else
            s_error (p, value, "'when_full' must be evict_oldest or refuse, got '%s'",
                     text ? text : "");
    }
    if ((value = s_get (p, map, "scale")))
        s_parse_scale (p, value);
    if ((value = s_get (p, map, "breaker")))
        s_parse_breaker (p, value);
    s_parse_http (p, map);
}

static void
s_parse_channel (parse_t *p, yaml_node_t *key, yaml_node_t *map)
{
    static const char *keys[] = {"critical",  "durability", "max_delay", "disk_limit",
                                 "retention", "consumers",  NULL};
    zsat_topology_t *self = p->self;
    const char *name = s_name (p, key, "channel name");
    if (!name || zsat_topology_channel_find (self, name))
        return;
    zsat_channel_t *channel =
        (zsat_channel_t *)topo_push ((void **)&self->channels, &self->channel_count,
                                     &self->channel_cap, sizeof (zsat_channel_t));
    if (!channel)
        return;
    *channel = (zsat_channel_t){.name = name,
                                .durability = topo_strdup (self, "batch", 0, 0),
                                .max_delay_ms = 10,
                                .disk_limit = 1024LL * 1024 * 1024,
                                .retention_ms = 3600000,
                                .line = (int)key->start_mark.line + 1,
                                .col = (int)key->start_mark.column + 1};
    if (s_is_null (map) || !s_check_map (p, map, "channel", keys))
        return;
    yaml_node_t *value;
    if ((value = s_get (p, map, "critical")))
        s_bool (p, value, "critical", &channel->critical);
    if ((value = s_get (p, map, "durability"))) {
        const char *text = s_scalar (value);
        if (text && (streq (text, "always") || streq (text, "batch") || streq (text, "none")))
            channel->durability = s_copy (p, value);
        else
            s_error (p, value, "'durability' must be always, batch or none, got '%s'",
                     text ? text : "");
    }
    if ((value = s_get (p, map, "max_delay")))
        s_duration (p, value, "max_delay", &channel->max_delay_ms);
    if ((value = s_get (p, map, "disk_limit")))
        s_size (p, value, "disk_limit", &channel->disk_limit);
    if ((value = s_get (p, map, "retention")))
        s_duration (p, value, "retention", &channel->retention_ms);
    if ((value = s_get (p, map, "consumers")))
        channel->consumers = s_names (p, value, "node name", false, &channel->consumer_count);
}

static void
s_parse_channels (parse_t *p, yaml_node_t *map)
{
    if (!s_check_map (p, map, "channels", NULL))
        return;
    for (yaml_node_pair_t *pair = map->data.mapping.pairs.start; pair < map->data.mapping.pairs.top;
         pair++)
        s_parse_channel (p, s_node (p, pair->key), s_node (p, pair->value));
}

static void
s_parse_top (parse_t *p, yaml_node_t *root)
{
    static const char *keys[] = {"name",     "description", "run_dir",   "base_port", "hosts",
                                 "nodes",    "links",       "routes",    "schedules", "tracker",
                                 "channels", "security",    "operators", NULL};
    zsat_topology_t *self = p->self;
    if (!root || s_is_null (root)) {
        s_error (p, root, "the topology is empty");
        return;
    }
    if (!s_check_map (p, root, "the topology", keys))
        return;
    yaml_node_t *value;
    if ((value = s_get (p, root, "name")))
        self->name = s_name (p, value, "topology name") ?: self->name;
    if ((value = s_get (p, root, "description")))
        s_string (p, value, "description");
    if ((value = s_get (p, root, "run_dir")) && (self->run_dir = s_string (p, value, "run_dir")) &&
        !*self->run_dir)
        s_error (p, value, "'run_dir' is empty (a variable without a value?)");
    int64_t port;
    if ((value = s_get (p, root, "base_port")) && s_int (p, value, "base_port", 1, 65535, &port)) {
        self->base_port = (int)port;
        self->base_port_line = (int)value->start_mark.line + 1;
        self->base_port_col = (int)value->start_mark.column + 1;
    }
    if ((value = s_get (p, root, "hosts")))
        s_parse_hosts (p, value);
    if ((value = s_get (p, root, "security"))) {
        self->security = s_string (p, value, "security");
        if (self->security && !streq (self->security, "curve") && !streq (self->security, "none"))
            s_error (p, value, "security must be 'curve' or 'none', not '%s'", self->security);
    }
    if ((value = s_get (p, root, "operators")))
        s_parse_operators (p, value);
    if (self->host_count == 0) {
        zsat_host_t *host = (zsat_host_t *)topo_push ((void **)&self->hosts, &self->host_count,
                                                      &self->host_cap, sizeof (zsat_host_t));
        if (host)
            *host = (zsat_host_t){.name = topo_strdup (self, "local", 0, 0),
                                  .address = topo_strdup (self, "127.0.0.1", 0, 0)};
    }
    if ((value = s_get (p, root, "nodes")))
        s_parse_nodes (p, value);
    if ((value = s_get (p, root, "links")))
        s_parse_links (p, value);
    if ((value = s_get (p, root, "routes")))
        s_parse_routes (p, value);
    if ((value = s_get (p, root, "schedules")))
        s_parse_schedules (p, value);
    if ((value = s_get (p, root, "tracker")))
        s_parse_tracker (p, value);
    if ((value = s_get (p, root, "channels")))
        s_parse_channels (p, value);
}

//  libyaml's scanner does work proportional to the nesting depth for every token, so deep
//  nesting costs quadratic time (100k '[' took 38 s) before any check of ours could run. The
//  events are read first, and the file refused at the first level deeper than
//  TOPO_DEPTH_MAX: the scan stays linear. Returns 0, or 1 with the problem in diag.
size_t
topo_check_depth (const char *text, size_t size, const char *file, zsat_diag_t *diag)
{
    return topo_check_depth_at (text, size, file, 0, diag);
}

size_t
topo_check_depth_at (const char *text, size_t size, const char *file, int base, zsat_diag_t *diag)
{
    yaml_parser_t parser;
    if (!yaml_parser_initialize (&parser))
        return zsat_diag_add (diag, file, 0, 0, "out of memory"), 1;
    yaml_parser_set_input_string (&parser, (const unsigned char *)text, size);
    size_t problems = 0;
    int depth = 0;
    for (bool done = false; !done && !problems;) {
        yaml_event_t event;
        if (!yaml_parser_parse (&parser, &event))
            break;  //  a syntax error: the loader reports it with its position
        if (event.type == YAML_SEQUENCE_START_EVENT || event.type == YAML_MAPPING_START_EVENT)
            depth++;
        else if (event.type == YAML_SEQUENCE_END_EVENT || event.type == YAML_MAPPING_END_EVENT)
            depth--;
        done = event.type == YAML_STREAM_END_EVENT;
        if (depth > TOPO_DEPTH_MAX) {
            zsat_diag_add (diag, file, base + (int)event.start_mark.line + 1,
                           (int)event.start_mark.column + 1, "nesting deeper than %d levels",
                           TOPO_DEPTH_MAX);
            problems++;
        }
        yaml_event_delete (&event);
    }
    yaml_parser_delete (&parser);
    return problems;
}

size_t
topo_parse (zsat_topology_t *self, const char *text, size_t size, zsat_diag_t *diag)
{
    parse_t p = {.self = self, .diag = diag};
    yaml_document_t doc;
    p.errors = topo_expand (self, text, size, &doc, false, diag);
    if (p.errors == 0) {
        p.doc = &doc;
        s_parse_top (&p, yaml_document_get_root_node (&doc));
    }
    yaml_document_delete (&doc);
    return p.errors;
}
