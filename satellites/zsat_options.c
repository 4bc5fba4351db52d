/*  zsat_options - parses a node's option strings into its kind's config struct (typed by the
    kind's zsat_option_t table: strings, integers, doubles, booleans, durations, sizes) and
    checks whole topologies for `zsat check`: unknown kinds and option keys get a
    "did you mean" suggestion, bad values a reason, each at the file:line:col they came from.
    Owns no sockets; never prints.
*/
#include "zsat.h"
#include "zsat_options.h"
#include <errno.h>
#include <math.h>
#include <strings.h>

//  Durations and sizes have one syntax in the whole topology file (decision D9): the
//  topology loader's. A bare "0" is still a duration: zero is zero in every unit.
int
zsat_options_duration (const char *text, int64_t *ms)
{
    if (text && streq (text, "0")) {
        *ms = 0;
        return 0;
    }
    return text ? zsat_topology_parse_duration (text, ms) : -1;
}

int
zsat_options_size (const char *text, int64_t *bytes)
{
    return text ? zsat_topology_parse_size (text, bytes) : -1;
}

int
zsat_options_bool (const char *text, bool *value)
{
    static const char *yes[] = {"true", "yes", "on", "1", NULL};
    static const char *no[] = {"false", "no", "off", "0", NULL};
    for (size_t i = 0; text && yes[i]; i++) {
        if (strcasecmp (text, yes[i]) == 0) {
            *value = true;
            return 0;
        }
        if (strcasecmp (text, no[i]) == 0) {
            *value = false;
            return 0;
        }
    }
    return -1;
}

static int
s_integer (const char *text, int64_t *value)
{
    if (!text || !*text || isspace ((unsigned char)*text))
        return -1;
    char *end = NULL;
    errno = 0;
    long long number = strtoll (text, &end, 10);
    if (*end || errno)
        return -1;
    *value = number;
    return 0;
}

static int
s_double (const char *text, double *value)
{
    if (!text || !*text || isspace ((unsigned char)*text))
        return -1;
    char *end = NULL;
    errno = 0;
    double number = strtod (text, &end);
    if (*end || errno || !isfinite (number))
        return -1;
    *value = number;
    return 0;
}

const char *
zsat_options_type_name (zsat_opt_type_t type)
{
    switch (type) {
        case ZSAT_OPT_STRING:
            return "string";
        case ZSAT_OPT_INT:
            return "int";
        case ZSAT_OPT_DOUBLE:
            return "double";
        case ZSAT_OPT_BOOL:
            return "bool";
        case ZSAT_OPT_DURATION:
            return "duration";
        case ZSAT_OPT_SIZE:
            return "size";
    }
    return "?";
}

static const char *
s_expected (zsat_opt_type_t type)
{
    switch (type) {
        case ZSAT_OPT_INT:
            return "an integer";
        case ZSAT_OPT_DOUBLE:
            return "a number";
        case ZSAT_OPT_BOOL:
            return "true or false";
        case ZSAT_OPT_DURATION:
            return "a duration such as 250ms, 2s, 1m";
        case ZSAT_OPT_SIZE:
            return "a size such as 512, 64k, 16MiB";
        default:
            return "a string";
    }
}

int
zsat_options_set (const zsat_option_t *option, const char *text, void *config, char *err,
                  size_t cap)
{
    uint8_t *field = (uint8_t *)config + option->offset;
    int rc = -1;
    switch (option->type) {
        case ZSAT_OPT_STRING:
            if (text && strlen (text) < option->size) {
                memcpy (field, text, strlen (text) + 1);
                return 0;
            }
            snprintf (err, cap, "option '%s' is longer than %zu bytes", option->name,
                      option->size ? option->size - 1 : 0);
            return -1;
        case ZSAT_OPT_INT:
            rc = s_integer (text, (int64_t *)field);
            break;
        case ZSAT_OPT_DOUBLE:
            rc = s_double (text, (double *)field);
            break;
        case ZSAT_OPT_BOOL:
            rc = zsat_options_bool (text, (bool *)field);
            break;
        case ZSAT_OPT_DURATION:
            rc = zsat_options_duration (text, (int64_t *)field);
            break;
        case ZSAT_OPT_SIZE:
            rc = zsat_options_size (text, (int64_t *)field);
            break;
    }
    if (rc)
        snprintf (err, cap, "option '%s': '%s' is not %s", option->name, text ? text : "",
                  s_expected (option->type));
    return rc;
}

//  The parsed value of option in config as a number; a string's is its length.
static double
s_value (const zsat_option_t *option, const void *config)
{
    const uint8_t *field = (const uint8_t *)config + option->offset;
    switch (option->type) {
        case ZSAT_OPT_STRING:
            return (double)strnlen ((const char *)field, option->size);
        case ZSAT_OPT_DOUBLE:
            return *(const double *)field;
        case ZSAT_OPT_BOOL:
            return *(const bool *)field;
        default:
            return (double)*(const int64_t *)field;
    }
}

static bool
s_choice_ok (const char *choices, const char *text)
{
    size_t length = strlen (text);
    for (const char *c = choices; c && *c;) {
        size_t n = strcspn (c, "|");
        if (n == length && strncmp (c, text, n) == 0)
            return true;
        c += n + (c[n] == '|');
    }
    return false;
}

static const char *
s_unit (zsat_opt_type_t type)
{
    return type == ZSAT_OPT_DURATION ? " ms" : type == ZSAT_OPT_SIZE ? " bytes" : "";
}

//  "between 1 and 16777216 bytes", "above 0 ms", "at least 1".
static void
s_bounds_text (const zsat_option_t *o, char *out, size_t cap)
{
    const char *unit = o->type == ZSAT_OPT_STRING ? " bytes long" : s_unit (o->type);
    bool low = o->flags & ZSAT_OPT_MIN, high = o->flags & ZSAT_OPT_MAX;
    bool above = o->flags & ZSAT_OPT_ABOVE;
    if (low && high && !above)
        snprintf (out, cap, "between %.15g and %.15g%s", o->min, o->max, unit);
    else if (low && high)
        snprintf (out, cap, "above %.15g and at most %.15g%s", o->min, o->max, unit);
    else if (low)
        snprintf (out, cap, "%s %.15g%s", above ? "above" : "at least", o->min, unit);
    else
        snprintf (out, cap, "at most %.15g%s", o->max, unit);
}

int
zsat_options_validate (const zsat_option_t *option, const void *config, const char *text, char *err,
                       size_t cap)
{
    const char *shown = text ? text : option->default_value ? option->default_value : "";
    const char *string =
        option->type == ZSAT_OPT_STRING ? (const char *)config + option->offset : NULL;
    if (string && (option->flags & ZSAT_OPT_NAMED) && !zsat_name_valid (string)) {
        snprintf (err, cap, "option '%s' must be a name (1..63 bytes of [A-Za-z0-9_.-]), got '%s'",
                  option->name, string);
        return -1;
    }
    if (string && option->choices && !s_choice_ok (option->choices, string)) {
        char list[256];
        snprintf (list, sizeof list, "%s", option->choices);
        for (char *bar = strchr (list, '|'); bar; bar = strchr (bar, '|'))
            *bar = ',';
        snprintf (err, cap, "option '%s' must be one of %s; got '%s'", option->name, list, string);
        return -1;
    }
    double value = s_value (option, config);
    bool low_ok = !(option->flags & ZSAT_OPT_MIN) ||
                  ((option->flags & ZSAT_OPT_ABOVE) ? value > option->min : value >= option->min);
    bool high_ok = !(option->flags & ZSAT_OPT_MAX) || value <= option->max;
    if (!string && (!low_ok || !high_ok)) {
        char bounds[128];
        s_bounds_text (option, bounds, sizeof bounds);
        snprintf (err, cap, "option '%s' must be %s, got '%s'", option->name, bounds, shown);
        return -1;
    }
    if (string && (!low_ok || !high_ok)) {
        char bounds[128];
        s_bounds_text (option, bounds, sizeof bounds);
        snprintf (err, cap, "option '%s' must be %s, got '%s'", option->name, bounds, string);
        return -1;
    }
    return 0;
}

//  Every constraint of the table on the parsed config; an option the node did not give is
//  reported at the node (a required one as missing, a bad default as the kind's bug).
static int
s_validate_all (const zsat_kind_t *kind, const zsat_option_kv_t *options, size_t count,
                const void *config, const char *file, int line, int col, zsat_diag_t *diag)
{
    int problems = 0;
    char err[256];
    for (const zsat_option_t *o = kind->options; o && o->name; o++) {
        const zsat_option_kv_t *given = NULL;
        for (size_t i = 0; i < count; i++)
            if (streq (options[i].key, o->name))
                given = &options[i];
        bool empty = o->type == ZSAT_OPT_STRING && !*((const char *)config + o->offset);
        if ((o->flags & ZSAT_OPT_REQUIRED) && (!given || empty)) {
            zsat_diag_add (diag, file, given ? given->line : line, given ? given->col : col,
                           "kind '%s' needs option '%s' (%s)", kind->name, o->name,
                           o->description ? o->description : "see `zsat help`");
            problems++;
        }
        else if (zsat_options_validate (o, config, given ? given->value : NULL, err, sizeof err)) {
            zsat_diag_add (diag, file, given ? given->line : line, given ? given->col : col, "%s",
                           err);
            problems++;
        }
    }
    return problems;
}

static size_t
s_distance (const char *a, const char *b)
{
    size_t la = strlen (a), lb = strlen (b);
    if (la > 63 || lb > 63)
        return 99;
    size_t row[64];
    for (size_t j = 0; j <= lb; j++)
        row[j] = j;
    for (size_t i = 1; i <= la; i++) {
        size_t diagonal = row[0];
        row[0] = i;
        for (size_t j = 1; j <= lb; j++) {
            size_t above = row[j];
            size_t cost = tolower ((unsigned char)a[i - 1]) != tolower ((unsigned char)b[j - 1]);
            size_t best = diagonal + cost;
            if (above + 1 < best)
                best = above + 1;
            if (row[j - 1] + 1 < best)
                best = row[j - 1] + 1;
            row[j] = best;
            diagonal = above;
        }
    }
    return row[lb];
}

const char *
zsat_options_suggest (const char *word, const char *const *candidates)
{
    const char *best = NULL;
    size_t best_distance = 99;
    size_t limit = strlen (word) / 3 > 2 ? strlen (word) / 3 : 2;
    for (size_t i = 0; candidates && candidates[i]; i++) {
        size_t d = s_distance (word, candidates[i]);
        if (d < best_distance) {
            best_distance = d;
            best = candidates[i];
        }
    }
    return best_distance <= limit ? best : NULL;
}

static const zsat_option_t *
s_option_find (const zsat_kind_t *kind, const char *name)
{
    for (const zsat_option_t *o = kind->options; o && o->name; o++)
        if (streq (o->name, name))
            return o;
    return NULL;
}

static void
s_unknown_key (const zsat_kind_t *kind, const zsat_option_kv_t *kv, const char *file,
               zsat_diag_t *diag)
{
    const char *names[64];
    size_t count = 0;
    for (const zsat_option_t *o = kind->options; o && o->name && count < 63; o++)
        names[count++] = o->name;
    names[count] = NULL;
    const char *near = zsat_options_suggest (kv->key, names);
    if (near)
        zsat_diag_add (diag, file, kv->line, kv->col,
                       "unknown option '%s' for kind '%s' (did you mean '%s'?)", kv->key,
                       kind->name, near);
    else
        zsat_diag_add (diag, file, kv->line, kv->col,
                       "unknown option '%s' for kind '%s' (see `zsat help %s`)", kv->key,
                       kind->name, kind->name);
}

int
zsat_options_parse (const zsat_kind_t *kind, const zsat_option_kv_t *options, size_t count,
                    void *config, const char *file, zsat_diag_t *diag)
{
    return zsat_options_parse_at (kind, options, count, config, file, 0, 0, diag);
}

int
zsat_options_parse_at (const zsat_kind_t *kind, const zsat_option_kv_t *options, size_t count,
                       void *config, const char *file, int line, int col, zsat_diag_t *diag)
{
    int problems = 0;
    char err[256];
    if (config && kind->config_size)
        memset (config, 0, kind->config_size);
    for (const zsat_option_t *o = kind->options; config && o && o->name; o++)
        if (zsat_options_set (o, o->default_value, config, err, sizeof err)) {
            zsat_diag_add (diag, file, 0, 0, "kind '%s': bad default: %s", kind->name, err);
            problems++;
        }
    for (size_t i = 0; i < count; i++) {
        const zsat_option_t *option = s_option_find (kind, options[i].key);
        if (!option) {
            s_unknown_key (kind, &options[i], file, diag);
            problems++;
            continue;
        }
        //  Checking without a config still validates the value, in a scratch struct.
        uint8_t scratch[4096];
        void *target = config;
        if (!target) {
            if (option->offset + (option->size ? option->size : 8) > sizeof scratch)
                continue;
            target = scratch;
        }
        if (zsat_options_set (option, options[i].value, target, err, sizeof err)) {
            zsat_diag_add (diag, file, options[i].line, options[i].col, "%s", err);
            problems++;
        }
    }
    //  Constraints only on values that parsed: a value that is not a number has one problem.
    if (config && problems == 0)
        problems += s_validate_all (kind, options, count, config, file, line, col, diag);
    return problems ? -1 : 0;
}

//  A kind this build does not have cannot run: refused, with the kinds it has (and the
//  closest one when the name looks like a typo).
static int
s_unknown_kind (const zsat_node_t *node, const char *file, zsat_diag_t *diag)
{
    const char *names[128];
    char list[1024] = "";
    size_t count = 0, used = 0;
    for (const zsat_kind_t *const *k = zsat_kinds_all (); *k && count < 127; k++) {
        names[count++] = (*k)->name;
        used += (size_t)snprintf (list + used, used < sizeof list ? sizeof list - used : 0, "%s%s",
                                  count > 1 ? " " : "", (*k)->name);
    }
    names[count] = NULL;
    const char *near = node->kind ? zsat_options_suggest (node->kind, names) : NULL;
    char hint[128] = "";
    if (near)
        snprintf (hint, sizeof hint, "did you mean '%s'? ", near);
    zsat_diag_add (diag, file, node->line, node->col,
                   "node '%s': kind '%s' is not in this build (%skinds of this build: %s)",
                   node->name, node->kind ? node->kind : "", hint, list);
    return 1;
}

int
zsat_options_check_node (const zsat_node_t *node, const char *file, zsat_diag_t *diag)
{
    const zsat_kind_t *kind = zsat_kind_find (node->kind);
    if (!kind)
        return node->implicit ? 0 : s_unknown_kind (node, file, diag);
    size_t before = diag ? zsat_diag_count (diag) : 0;
    void *config = kind->config_size ? calloc (1, kind->config_size) : NULL;
    int rc = zsat_options_parse_at (kind, node->options, node->option_count, config, file,
                                    node->line, node->col, diag);
    free (config);
    if (!diag)
        return rc ? 1 : 0;
    return (int)(zsat_diag_count (diag) - before);
}

void
zsat_options_check_topology (zsat_topology_t *topology, zsat_diag_t *diag)
{
    const char *file = zsat_topology_file (topology);
    for (size_t i = 0; i < zsat_topology_node_count (topology); i++)
        zsat_options_check_node (zsat_topology_node (topology, i), file, diag);
}

//  Installed before main () so `zsat check` validates kinds and options with no edit
//  elsewhere; the topology loader calls it after its own checks.
__attribute__ ((constructor)) static void
s_install_checker (void)
{
    zsat_topology_set_checker (zsat_options_check_topology);
}

//  --- selftest ---

typedef struct {
    char name[16];
    int64_t count;
    double ratio;
    bool flag;
    int64_t wait;
    int64_t limit;
} s_test_config_t;

static const zsat_option_t s_test_options[] = {
    {"name", ZSAT_OPT_STRING, "abc", "a name", offsetof (s_test_config_t, name), 16},
    {"count", ZSAT_OPT_INT, "3", "a count", offsetof (s_test_config_t, count), 0},
    {"ratio", ZSAT_OPT_DOUBLE, "0.5", "a ratio", offsetof (s_test_config_t, ratio), 0},
    {"flag", ZSAT_OPT_BOOL, "no", "a flag", offsetof (s_test_config_t, flag), 0},
    {"wait", ZSAT_OPT_DURATION, "2s", "a wait", offsetof (s_test_config_t, wait), 0},
    {"limit", ZSAT_OPT_SIZE, "64k", "a limit", offsetof (s_test_config_t, limit), 0},
    ZSAT_OPTIONS_END};

static const zsat_kind_t s_test_kind = {"testkind",
                                        "a kind for the selftest",
                                        ZSAT_ROLE_WORKER,
                                        s_test_options,
                                        sizeof (s_test_config_t),
                                        NULL,
                                        NULL,
                                        NULL,
                                        NULL,
                                        NULL};

static void
s_test_units (void)
{
    int64_t v = 0;
    assert (zsat_options_duration ("250ms", &v) == 0 && v == 250);
    assert (zsat_options_duration ("2s", &v) == 0 && v == 2000);
    assert (zsat_options_duration ("1m", &v) == 0 && v == 60000);
    assert (zsat_options_duration ("1h", &v) == 0 && v == 3600000);
    assert (zsat_options_duration ("40", &v) == -1);  //  a unit is required (D9)
    assert (zsat_options_duration ("0", &v) == 0 && v == 0);
    assert (zsat_options_duration ("-1s", &v) == -1);
    assert (zsat_options_duration ("2 s", &v) == -1);
    assert (zsat_options_duration ("2x", &v) == -1);
    assert (zsat_options_duration ("", &v) == -1);
    assert (zsat_options_duration ("inf", &v) == -1);
    assert (zsat_options_size ("512", &v) == 0 && v == 512);
    assert (zsat_options_size ("64k", &v) == 0 && v == 65536);
    assert (zsat_options_size ("16MiB", &v) == 0 && v == 16 * 1024 * 1024);
    assert (zsat_options_size ("1G", &v) == 0 && v == 1024 * 1024 * 1024);
    assert (zsat_options_size ("2KB", &v) == 0 && v == 2048);
    assert (zsat_options_size ("3q", &v) == -1);
    assert (zsat_options_size ("1kx", &v) == -1);
    assert (zsat_options_size ("0x10", &v) == -1);
    assert (zsat_options_size ("99999999999G", &v) == -1);
    bool b = false;
    assert (zsat_options_bool ("YES", &b) == 0 && b);
    assert (zsat_options_bool ("off", &b) == 0 && !b);
    assert (zsat_options_bool ("maybe", &b) == -1);
}

static void
s_test_parse (void)
{
    s_test_config_t config;
    assert (zsat_options_parse (&s_test_kind, NULL, 0, &config, "t.yaml", NULL) == 0);
    assert (streq (config.name, "abc") && config.count == 3 && config.ratio == 0.5);
    assert (!config.flag && config.wait == 2000 && config.limit == 65536);

    zsat_option_kv_t good[] = {{"name", "xyz", 3, 5},   {"count", "-7", 4, 5},
                               {"flag", "true", 5, 5},  {"wait", "100ms", 6, 5},
                               {"limit", "1MiB", 7, 5}, {"ratio", "1e-3", 8, 5}};
    assert (zsat_options_parse (&s_test_kind, good, 6, &config, "t.yaml", NULL) == 0);
    assert (streq (config.name, "xyz") && config.count == -7 && config.flag);
    assert (config.wait == 100 && config.limit == 1048576 && config.ratio == 0.001);

    zsat_option_kv_t bad[] = {{"cuont", "1", 3, 7},    {"count", "1.5", 4, 7},
                              {"wait", "soon", 5, 7},  {"name", "this name is far too long", 6, 7},
                              {"zzzzzzzz", "1", 7, 7}, {"flag", "perhaps", 8, 7}};
    zsat_diag_t *diag = zsat_diag_new ();
    assert (zsat_options_parse (&s_test_kind, bad, 6, &config, "t.yaml", diag) == -1);
    assert (zsat_diag_count (diag) == 6);
    assert (zsat_diag_contains (diag, "t.yaml:3:7: unknown option 'cuont'"));
    assert (zsat_diag_contains (diag, "did you mean 'count'?"));
    assert (zsat_diag_contains (diag, "t.yaml:4:7: option 'count': '1.5' is not an integer"));
    assert (zsat_diag_contains (diag, "t.yaml:5:7: option 'wait': 'soon' is not a duration"));
    assert (zsat_diag_contains (diag, "t.yaml:6:7: option 'name' is longer than 15 bytes"));
    assert (zsat_diag_contains (diag, "unknown option 'zzzzzzzz' for kind 'testkind' (see"));
    assert (zsat_diag_contains (diag, "t.yaml:8:7: option 'flag'"));
    zsat_diag_destroy (&diag);
}

static void
s_test_constraints (void)
{
    typedef struct {
        char mode[16];
        int64_t timeout;
        int64_t limit;
        double ratio;
        char cmd[32];
    } config_t;
    static const zsat_option_t options[] = {
        {"mode", ZSAT_OPT_STRING, "a", "mode", offsetof (config_t, mode), 16, .choices = "a|bb"},
        {"timeout", ZSAT_OPT_DURATION, "1s", "t", offsetof (config_t, timeout), 0, ZSAT_ABOVE (0)},
        {"limit", ZSAT_OPT_SIZE, "1k", "l", offsetof (config_t, limit), 0, ZSAT_RANGE (1, 16)},
        {"ratio", ZSAT_OPT_DOUBLE, "0", "r", offsetof (config_t, ratio), 0, ZSAT_RANGE (0, 1)},
        {"cmd", ZSAT_OPT_STRING, "", "the command", offsetof (config_t, cmd), 32,
         .flags = ZSAT_OPT_REQUIRED},
        ZSAT_OPTIONS_END};
    zsat_kind_t kind = s_test_kind;
    kind.options = options;
    kind.config_size = sizeof (config_t);
    config_t config;
    zsat_option_kv_t good[] = {{"cmd", "true", 2, 3}, {"limit", "16", 3, 3}};
    assert (zsat_options_parse_at (&kind, good, 2, &config, "c.yaml", 1, 1, NULL) == 0);
    zsat_option_kv_t bad[] = {{"mode", "c", 2, 9},
                              {"timeout", "0s", 3, 9},
                              {"limit", "1k", 4, 9},
                              {"ratio", "1.5", 5, 9}};
    zsat_diag_t *diag = zsat_diag_new ();
    assert (zsat_options_parse_at (&kind, bad, 4, &config, "c.yaml", 1, 3, diag) == -1);
    assert (zsat_diag_count (diag) == 5);
    assert (zsat_diag_contains (diag, "c.yaml:2:9: option 'mode' must be one of a,bb; got 'c'"));
    assert (zsat_diag_contains (diag, "c.yaml:3:9: option 'timeout' must be above 0 ms, got '0s'"));
    assert (zsat_diag_contains (
        diag, "c.yaml:4:9: option 'limit' must be between 1 and 16 bytes, got '1k'"));
    assert (zsat_diag_contains (diag, "c.yaml:5:9: option 'ratio' must be between 0 and 1"));
    assert (zsat_diag_contains (diag, "c.yaml:1:3: kind 'testkind' needs option 'cmd'"));
    zsat_diag_destroy (&diag);
}

static void
s_test_nodes (void)
{
    const char *names[] = {"cpu", "mem", "orchester", NULL};
    assert (streq (zsat_options_suggest ("cpuu", names), "cpu"));
    assert (streq (zsat_options_suggest ("orchestr", names), "orchester"));
    assert (zsat_options_suggest ("hdf5", names) == NULL);

    zsat_diag_t *diag = zsat_diag_new ();
    zsat_node_t node = {0};
    node.name = "n1";
    node.kind = "pingzzq";  //  far from every kind: not in this build, refused with the list
    node.line = 9;
    node.col = 3;
    assert (zsat_options_check_node (&node, "x.yaml", diag) == 1);
    assert (zsat_diag_contains (diag, "x.yaml:9:3: node 'n1': kind 'pingzzq' is not in this "
                                      "build (kinds of this build: "));
    node.kind = "cpuu";  //  a typo of a registered kind
    if (zsat_kind_find ("cpu")) {
        assert (zsat_options_check_node (&node, "x.yaml", diag) == 1);
        assert (zsat_diag_contains (diag, "x.yaml:9:3: node 'n1': kind 'cpuu' is not in this "
                                          "build (did you mean 'cpu'? kinds of this build: "));
    }
    node.implicit = true;
    assert (zsat_options_check_node (&node, "x.yaml", diag) == 0);
    //  every registered kind accepts its own defaults, but for the options it requires
    for (const zsat_kind_t *const *k = zsat_kinds_all (); *k; k++) {
        int required = 0;
        for (const zsat_option_t *o = (*k)->options; o && o->name; o++)
            required += (o->flags & ZSAT_OPT_REQUIRED) != 0;
        node.kind = (*k)->name;
        node.implicit = false;
        assert (zsat_options_check_node (&node, "x.yaml", diag) == required);
    }
    const zsat_kind_t *first = zsat_kinds_all ()[0];
    if (first) {
        zsat_option_kv_t kv = {"no_such_option_here", "1", 11, 8};
        node.kind = first->name;
        node.options = &kv;
        node.option_count = 1;
        assert (zsat_options_check_node (&node, "x.yaml", diag) == 1);
        assert (zsat_diag_contains (diag, "x.yaml:11:8: unknown option 'no_such_option_here'"));
    }
    zsat_diag_destroy (&diag);
}

void
zsat_options_test (bool verbose)
{
    printf (" * zsat_options: ");
    s_test_units ();
    s_test_parse ();
    s_test_constraints ();
    s_test_nodes ();
    printf ("OK\n");
}
