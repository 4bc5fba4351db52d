// SPDX-License-Identifier: MPL-2.0
/*  topo_expand - the topology file before the parser reads it: `${VAR}` substitution in
    scalar values, aliases and `<<:` merge keys copied out, `include:` files merged in. The
    result is one libyaml document that topo_parse.c walks and `zsat show --expanded` prints.

    Every file read gets a range of "virtual lines" (topo_source_t): the top file keeps its own
    numbers, each included file follows the last one, so the one int line of a mark says which
    file it came from; topo_where turns it back into `inc.yaml:3:5 (included from ...)`.

    Copying aliases is what a billion-laughs file attacks: the copy is bounded in nodes and
    bytes (TOPO_EXPAND_NODES_MAX, TOPO_EXPAND_BYTES_MAX) and in nesting (TOPO_DEPTH_MAX counts
    the levels an alias or a merge adds), and refused when it passes a bound.
*/
#include "topo_internal.h"
#include <libgen.h>
#include <stdarg.h>
#include <yaml.h>

typedef struct {
    zsat_topology_t *self;
    zsat_diag_t *diag;
    yaml_document_t *out;
    size_t errors;
    size_t nodes, bytes;  //  what the copy holds so far
    bool over;            //  a bound was passed (reported once); the copy stops
    bool escape;          //  write `$` as `$$` where a reader would substitute it
} expand_t;

typedef struct {
    yaml_document_t *doc;
    int source;  //  index into self->sources
} src_t;

//  The mapping keys that shadow the keys merged into one mapping (the explicit keys win).
typedef struct shadow_t {
    yaml_document_t *doc;
    yaml_node_t *map;
    const struct shadow_t *outer;
} shadow_t;

static int
s_vline (expand_t *x, const src_t *s, const yaml_mark_t *mark)
{
    return x->self->sources[s->source].base + (int)mark->line + 1;
}

static void s_error (expand_t *x, const src_t *s, const yaml_mark_t *mark, int offset,
                     const char *format, ...) __attribute__ ((format (printf, 5, 6)));

static void
s_error (expand_t *x, const src_t *s, const yaml_mark_t *mark, int offset, const char *format, ...)
{
    char message[1024];
    va_list args;
    va_start (args, format);
    vsnprintf (message, sizeof message, format, args);
    va_end (args);
    zsat_diag_add (x->diag, x->self->file, mark ? s_vline (x, s, mark) : 0,
                   mark ? (int)mark->column + 1 + offset : 0, "%s", message);
    x->errors++;
}

//  Counts one more node of `size` bytes against the bounds; false once they are passed.
static bool
s_budget (expand_t *x, const src_t *s, yaml_node_t *node, size_t size)
{
    if (x->over)
        return false;
    x->nodes++;
    x->bytes += size;
    if (x->nodes <= TOPO_EXPAND_NODES_MAX && x->bytes <= TOPO_EXPAND_BYTES_MAX)
        return true;
    s_error (x, s, &node->start_mark, 0,
             "the document expands to more than %d nodes or %d bytes through aliases or "
             "merges (an alias bomb?)",
             TOPO_EXPAND_NODES_MAX, TOPO_EXPAND_BYTES_MAX);
    x->over = true;
    return false;
}

static void
s_set_mark (expand_t *x, const src_t *s, int id, yaml_node_t *from)
{
    yaml_node_t *node = yaml_document_get_node (x->out, id);
    int base = x->self->sources[s->source].base;
    node->start_mark = from->start_mark;
    node->end_mark = from->end_mark;
    node->start_mark.line += (size_t)base;
    node->end_mark.line += (size_t)base;
}

typedef struct {
    char *data;
    size_t size, cap;
} buf_t;

static bool
s_put (buf_t *b, const char *text, size_t n)
{
    if (b->size + n + 1 > b->cap) {
        size_t cap = (b->size + n + 1) * 2;
        char *grown = (char *)realloc (b->data, cap);
        if (!grown)
            return false;
        b->data = grown;
        b->cap = cap;
    }
    memcpy (b->data + b->size, text, n);
    b->size += n;
    b->data[b->size] = 0;
    return true;
}

//  The value written back as YAML: `$` doubled where a second reading would take it for the
//  start of `${` or `$$`, so the text reads back to the same value.
static char *
s_escape (const char *text, size_t n, size_t *size)
{
    buf_t b = {0};
    bool ok = s_put (&b, "", 0);
    for (size_t i = 0; ok && i < n; i++) {
        bool twice = text[i] == '$' && i + 1 < n && (text[i + 1] == '{' || text[i + 1] == '$');
        ok = twice ? s_put (&b, "$$", 2) : s_put (&b, text + i, 1);
    }
    if (!ok) {
        free (b.data);
        return NULL;
    }
    *size = b.size;
    return b.data;
}

static bool
s_var_name_valid (const char *name, size_t n)
{
    if (n == 0 || !(isalpha ((unsigned char)name[0]) || name[0] == '_'))
        return false;
    for (size_t i = 1; i < n; i++)
        if (!(isalnum ((unsigned char)name[i]) || name[i] == '_'))
            return false;
    return true;
}

//  One `${...}` at text (after "${"), inner of length n: its value into b. False on error.
static bool
s_variable (expand_t *x, const src_t *s, yaml_node_t *node, int offset, const char *inner, size_t n,
            buf_t *b)
{
    const char *sep = NULL;
    for (size_t i = 0; i + 1 < n && !sep; i++)
        if (inner[i] == ':' && inner[i + 1] == '-')
            sep = inner + i;
    size_t name_size = sep ? (size_t)(sep - inner) : n;
    char name[256];
    if (!s_var_name_valid (inner, name_size) || name_size >= sizeof name) {
        s_error (x, s, &node->start_mark, offset,
                 "invalid variable '${%.*s}' (a name of [A-Za-z0-9_], optionally ':-DEFAULT'; "
                 "write $$ for a literal $)",
                 (int)n, inner);
        return false;
    }
    memcpy (name, inner, name_size);
    name[name_size] = 0;
    const char *value = getenv (name);
    if (sep && (!value || !*value))
        return s_put (b, sep + 2, n - name_size - 2);
    if (!value) {
        s_error (x, s, &node->start_mark, offset,
                 "environment variable '%s' is not set (set it, or give a default: "
                 "${%s:-VALUE})",
                 name, name);
        return false;
    }
    return s_put (b, value, strlen (value));
}

//  The `${` at inner - 2, up to close (NULL when there is no `}`): its value into b.
static bool
s_reference (expand_t *x, const src_t *s, yaml_node_t *node, int offset, const char *inner,
             const char *close, buf_t *b)
{
    bool nested = false;
    for (const char *c = inner; close && c + 1 < close && !nested; c++)
        nested = c[0] == '$' && c[1] == '{';
    if (!close || nested) {
        s_error (x, s, &node->start_mark, offset,
                 close ? "a '${' inside '${...}' is not supported (write $$ for a literal $)"
                       : "unterminated '${' (write $$ for a literal $)");
        return false;
    }
    return s_variable (x, s, node, offset, inner, (size_t)(close - inner), b);
}

//  `${VAR}`, `${VAR:-default}` and `$$` in a scalar value; any other `$` stays.
static char *
s_substitute (expand_t *x, const src_t *s, yaml_node_t *node, size_t *size)
{
    const char *text = (const char *)node->data.scalar.value;
    size_t n = node->data.scalar.length;
    //  a column within the scalar is exact only for a plain scalar on one line
    bool exact = node->data.scalar.style == YAML_PLAIN_SCALAR_STYLE &&
                 node->start_mark.line == node->end_mark.line;
    buf_t b = {0};
    bool ok = s_put (&b, "", 0);
    for (size_t i = 0; ok && i < n;) {
        if (text[i] == '$' && i + 1 < n && text[i + 1] == '$') {
            ok = s_put (&b, "$", 1);
            i += 2;
            continue;
        }
        if (!(text[i] == '$' && i + 1 < n && text[i + 1] == '{')) {
            ok = s_put (&b, text + i, 1);
            i++;
            continue;
        }
        const char *close = memchr (text + i + 2, '}', n - i - 2);
        ok = s_reference (x, s, node, exact ? (int)i : 0, text + i + 2, close, &b);
        i = close ? (size_t)(close - text) + 1 : n;
    }
    if (!ok) {
        free (b.data);
        return NULL;
    }
    *size = b.size;
    if (!x->escape)
        return b.data;
    char *escaped = s_escape (b.data, b.size, size);
    free (b.data);
    return escaped;
}

static int s_copy (expand_t *x, const src_t *s, yaml_node_t *node, int depth, bool value);

static bool
s_is_merge_key (yaml_node_t *key)
{
    return key && key->type == YAML_SCALAR_NODE &&
           key->data.scalar.style == YAML_PLAIN_SCALAR_STYLE &&
           streq ((const char *)key->data.scalar.value, "<<");
}

static const char *
s_text (yaml_node_t *node)
{
    return node && node->type == YAML_SCALAR_NODE ? (const char *)node->data.scalar.value : NULL;
}

//  True when a mapping of the shadow chain has key as one of its own (not merged) keys.
static bool
s_shadowed (const shadow_t *shadow, const char *key)
{
    for (; shadow; shadow = shadow->outer)
        for (yaml_node_pair_t *pair = shadow->map->data.mapping.pairs.start;
             pair < shadow->map->data.mapping.pairs.top; pair++) {
            const char *name = s_text (yaml_document_get_node (shadow->doc, pair->key));
            if (name && !s_is_merge_key (yaml_document_get_node (shadow->doc, pair->key)) &&
                streq (name, key))
                return true;
        }
    return false;
}

static bool
s_out_has (expand_t *x, int map_id, const char *key)
{
    yaml_node_t *map = yaml_document_get_node (x->out, map_id);
    for (yaml_node_pair_t *pair = map->data.mapping.pairs.start; pair < map->data.mapping.pairs.top;
         pair++) {
        const char *name = s_text (yaml_document_get_node (x->out, pair->key));
        if (name && streq (name, key))
            return true;
    }
    return false;
}

static void s_add_pairs (expand_t *x, const src_t *s, yaml_node_t *map, int out_id,
                         const shadow_t *outer, bool merged, int depth);

//  `<<: *a` or `<<: [*a, *b]`: the keys of a, then of b, that the mapping does not have.
static void
s_merge (expand_t *x, const src_t *s, yaml_node_t *value, int out_id, const shadow_t *here,
         int depth)
{
    if (value->type == YAML_MAPPING_NODE) {
        s_add_pairs (x, s, value, out_id, here, true, depth);
        return;
    }
    bool list = value->type == YAML_SEQUENCE_NODE;
    for (yaml_node_item_t *item = list ? value->data.sequence.items.start : NULL;
         list && item < value->data.sequence.items.top && !x->over; item++)
        list = yaml_document_get_node (s->doc, *item)->type == YAML_MAPPING_NODE;
    if (!list) {
        s_error (x, s, &value->start_mark, 0,
                 "'<<' merges a mapping or a list of mappings (<<: *name or <<: [*a, *b])");
        return;
    }
    for (yaml_node_item_t *item = value->data.sequence.items.start;
         item < value->data.sequence.items.top && !x->over; item++)
        s_add_pairs (x, s, yaml_document_get_node (s->doc, *item), out_id, here, true, depth);
}

static void
s_add_pairs (expand_t *x, const src_t *s, yaml_node_t *map, int out_id, const shadow_t *outer,
             bool merged, int depth)
{
    if (depth > TOPO_DEPTH_MAX) {
        s_error (x, s, &map->start_mark, 0,
                 "nesting deeper than %d levels (counting aliases and merges)", TOPO_DEPTH_MAX);
        x->over = true;
        return;
    }
    shadow_t here = {s->doc, map, outer};
    for (size_t i = 0;
         !x->over && i < (size_t)(map->data.mapping.pairs.top - map->data.mapping.pairs.start);
         i++) {
        //  pointers into the source stay valid: only the output document grows
        yaml_node_pair_t *pair = &map->data.mapping.pairs.start[i];
        yaml_node_t *key = yaml_document_get_node (s->doc, pair->key);
        yaml_node_t *value = yaml_document_get_node (s->doc, pair->value);
        if (s_is_merge_key (key)) {
            s_merge (x, s, value, out_id, &here, depth + 1);
            continue;
        }
        const char *name = s_text (key);
        if (merged && name && (s_shadowed (outer, name) || s_out_has (x, out_id, name)))
            continue;
        yaml_node_t *out_map = yaml_document_get_node (x->out, out_id);
        if (out_map->data.mapping.pairs.top - out_map->data.mapping.pairs.start >= TOPO_ITEMS_MAX) {
            s_error (x, s, &key->start_mark, 0, "a mapping has too many entries (limit %d)",
                     TOPO_ITEMS_MAX);
            x->over = true;
            return;
        }
        int k = s_copy (x, s, key, depth, false);
        int v = k ? s_copy (x, s, value, depth, true) : 0;
        if (k && v)
            yaml_document_append_mapping_pair (x->out, out_id, k, v);
    }
}

static int
s_copy_scalar (expand_t *x, const src_t *s, yaml_node_t *node, bool value)
{
    size_t size = node->data.scalar.length;
    char *text = value ? s_substitute (x, s, node, &size) : NULL;
    if (value && !text)
        return 0;
    const char *from = text ? text : (const char *)node->data.scalar.value;
    int id = s_budget (x, s, node, size)
                 ? yaml_document_add_scalar (x->out, NULL, (const yaml_char_t *)from, (int)size,
                                             node->data.scalar.style)
                 : 0;
    free (text);
    return id;
}

//  A copy of node in the output document (0 on error, reported).
static int
s_copy (expand_t *x, const src_t *s, yaml_node_t *node, int depth, bool value)
{
    int id = 0;
    if (node->type == YAML_SCALAR_NODE)
        id = s_copy_scalar (x, s, node, value);
    else if (depth + 1 > TOPO_DEPTH_MAX) {
        if (!x->over)
            s_error (x, s, &node->start_mark, 0,
                     "nesting deeper than %d levels (counting aliases and merges)", TOPO_DEPTH_MAX);
        x->over = true;
    }
    else if (!s_budget (x, s, node, 0))
        id = 0;
    else if (node->type == YAML_SEQUENCE_NODE) {
        id = yaml_document_add_sequence (x->out, NULL, YAML_ANY_SEQUENCE_STYLE);
        for (size_t i = 0;
             id && !x->over &&
             i < (size_t)(node->data.sequence.items.top - node->data.sequence.items.start);
             i++) {
            int item =
                s_copy (x, s, yaml_document_get_node (s->doc, node->data.sequence.items.start[i]),
                        depth + 1, true);
            if (item)
                yaml_document_append_sequence_item (x->out, id, item);
        }
    }
    else if (node->type == YAML_MAPPING_NODE) {
        id = yaml_document_add_mapping (x->out, NULL, YAML_ANY_MAPPING_STYLE);
        if (id)
            s_add_pairs (x, s, node, id, NULL, false, depth + 1);
    }
    if (id)
        s_set_mark (x, s, id, node);
    return x->over ? 0 : id;
}

char *
topo_read_file (const char *path, size_t *size, const char **problem)
{
    FILE *file = fopen (path, "rb");
    if (!file) {
        *problem = strerror (errno);
        return NULL;
    }
    char *text = (char *)malloc (TOPO_FILE_MAX + 1);
    *size = text ? fread (text, 1, TOPO_FILE_MAX + 1, file) : 0;
    bool failed = !text || ferror (file);
    fclose (file);
    if (failed || *size > TOPO_FILE_MAX) {
        *problem = failed ? "read error" : "file too large (limit 4 MiB)";
        free (text);
        return NULL;
    }
    return text;
}

static int
s_line_count (const char *text, size_t size)
{
    int lines = 1;
    for (const char *c = text; (c = memchr (c, '\n', size - (size_t)(c - text))); c++)
        lines++;
    return lines;
}

//  Registers a file read; returns its index, or -1 when out of memory.
static int
s_add_source (zsat_topology_t *self, const char *file, int lines, int from, int from_line,
              int from_col)
{
    int base = 0;
    if (self->source_count > 0) {
        const topo_source_t *last = &self->sources[self->source_count - 1];
        base = last->base + last->lines;
    }
    topo_source_t *source = (topo_source_t *)topo_push (
        (void **)&self->sources, &self->source_count, &self->source_cap, sizeof (topo_source_t));
    if (!source)
        return -1;
    char real[PATH_MAX];
    *source = (topo_source_t){.file = topo_strdup (self, file, 0, 0),
                              .real = realpath (file, real) ? topo_strdup (self, real, 0, 0) : NULL,
                              .base = base,
                              .lines = lines,
                              .from = from,
                              .from_line = from_line,
                              .from_col = from_col};
    return (int)self->source_count - 1;
}

//  libyaml's error, with a hint when the line holds `${`: inside `{...}` or `[...]` YAML reads
//  `${HOME}` as `$` followed by a mapping, and the message says nothing about variables.
static void
s_syntax_error (expand_t *x, int source, yaml_parser_t *parser, const char *text, size_t size)
{
    yaml_mark_t mark = parser->problem ? parser->problem_mark : parser->context_mark;
    size_t first = parser->context ? parser->context_mark.index : mark.index;
    size_t start = first < size ? first : size, end = mark.index < size ? mark.index : size;
    while (start > 0 && text[start - 1] != '\n')
        start--;
    while (end < size && text[end] != '\n')
        end++;
    bool variable = false;
    for (size_t i = start; i + 1 < end && !variable; i++)
        variable = text[i] == '$' && text[i + 1] == '{';
    zsat_diag_add (x->diag, x->self->file, x->self->sources[source].base + (int)mark.line + 1,
                   (int)mark.column + 1, "YAML syntax error: %s%s%s%s",
                   parser->problem ? parser->problem : "unknown", parser->context ? " " : "",
                   parser->context ? parser->context : "",
                   variable ? " (hint: inside {...} or [...] an unquoted ${VAR} reads as '$' "
                              "and a mapping: quote the value, \"${VAR}\", or use block style)"
                            : "");
    x->errors++;
}

//  Reads one file's text and copies its root into the output; returns the root's id, or 0
//  when the file is empty or has problems (reported).
static int
s_load_root (expand_t *x, int source, const char *text, size_t size)
{
    zsat_topology_t *self = x->self;
    if (topo_check_depth_at (text, size, self->file, self->sources[source].base, x->diag)) {
        x->errors++;
        return 0;
    }
    yaml_parser_t parser;
    yaml_document_t doc;
    if (!yaml_parser_initialize (&parser)) {
        zsat_diag_add (x->diag, self->file, 0, 0, "out of memory");
        x->errors++;
        return 0;
    }
    yaml_parser_set_input_string (&parser, (const unsigned char *)text, size);
    int id = 0;
    if (!yaml_parser_load (&parser, &doc))
        s_syntax_error (x, source, &parser, text, size);
    else {
        yaml_node_t *root = yaml_document_get_root_node (&doc);
        src_t s = {&doc, source};
        id = root ? s_copy (x, &s, root, 0, true) : 0;
        yaml_document_delete (&doc);
    }
    yaml_parser_delete (&parser);
    return id;
}

//  Reports at a node of the output (its mark is a virtual line already).
static void s_error_out (expand_t *x, int id, const char *format, ...)
    __attribute__ ((format (printf, 3, 4)));

static void
s_error_out (expand_t *x, int id, const char *format, ...)
{
    yaml_node_t *node = yaml_document_get_node (x->out, id);
    char message[1024];
    va_list args;
    va_start (args, format);
    vsnprintf (message, sizeof message, format, args);
    va_end (args);
    zsat_diag_add (x->diag, x->self->file, (int)node->start_mark.line + 1,
                   (int)node->start_mark.column + 1, "%s", message);
    x->errors++;
}

typedef struct {
    int key, value, source;
    bool merged;  //  joined an earlier entry of the same key
} entry_t;

typedef struct {
    entry_t *items;
    size_t count, cap;
} entries_t;

static void s_collect (expand_t *x, int source, int root, entries_t *list);

//  A file named by `include:`, relative to the including file's directory.
static void
s_include_one (expand_t *x, int source, int name_id, entries_t *list)
{
    zsat_topology_t *self = x->self;
    yaml_node_t *node = yaml_document_get_node (x->out, name_id);
    const char *name = s_text (node);
    char path[PATH_MAX], real[PATH_MAX];
    const char *includer = self->sources[source].file;
    const char *slash = strrchr (includer, '/');
    if (name[0] == '/' || !slash)
        snprintf (path, sizeof path, "%s", name);
    else
        snprintf (path, sizeof path, "%.*s/%s", (int)(slash - includer), includer, name);
    int line = (int)node->start_mark.line + 1, col = (int)node->start_mark.column + 1;
    for (int s = source; s >= 0 && realpath (path, real); s = self->sources[s].from)
        if (self->sources[s].real && streq (self->sources[s].real, real)) {
            s_error_out (x, name_id, "include cycle: '%s' is already being read", path);
            return;
        }
    if (self->source_count >= TOPO_INCLUDES_MAX) {
        s_error_out (x, name_id, "too many files included (limit %d)", TOPO_INCLUDES_MAX);
        return;
    }
    size_t size = 0;
    const char *problem = NULL;
    char *text = topo_read_file (path, &size, &problem);
    if (!text)
        s_error_out (x, name_id, "include '%s': cannot open: %s", path, problem);
    int index = text ? s_add_source (self, path, s_line_count (text, size), source, line, col) : -1;
    int root = index >= 0 ? s_load_root (x, index, text, size) : 0;
    free (text);
    if (root)
        s_collect (x, index, root, list);
}

static void
s_include (expand_t *x, int source, int value_id, entries_t *list)
{
    yaml_node_t *value = yaml_document_get_node (x->out, value_id);
    if (value->type == YAML_SCALAR_NODE && value->data.scalar.length > 0) {
        s_include_one (x, source, value_id, list);
        return;
    }
    size_t count = value->type == YAML_SEQUENCE_NODE
                       ? (size_t)(value->data.sequence.items.top - value->data.sequence.items.start)
                       : 0;
    bool names = value->type == YAML_SEQUENCE_NODE;
    for (size_t i = 0; names && i < count; i++) {
        yaml_node_t *item = yaml_document_get_node (x->out, value->data.sequence.items.start[i]);
        names = item->type == YAML_SCALAR_NODE && item->data.scalar.length > 0;
    }
    if (!names) {
        s_error_out (x, value_id, "'include' takes a file name or a list of file names");
        return;
    }
    for (size_t i = 0; i < count && !x->over; i++) {
        value = yaml_document_get_node (x->out, value_id);  //  the output grows: look again
        s_include_one (x, source, value->data.sequence.items.start[i], list);
    }
}

//  The top-level pairs of a file, in order, each include: replaced by the included pairs.
static void
s_collect (expand_t *x, int source, int root, entries_t *list)
{
    yaml_node_t *map = yaml_document_get_node (x->out, root);
    if (map->type != YAML_MAPPING_NODE) {
        s_error_out (x, root, "an included file holds top-level keys (a mapping)");
        return;
    }
    size_t count = (size_t)(map->data.mapping.pairs.top - map->data.mapping.pairs.start);
    for (size_t i = 0; i < count && !x->over; i++) {
        yaml_node_pair_t pair = yaml_document_get_node (x->out, root)->data.mapping.pairs.start[i];
        yaml_node_t *key = yaml_document_get_node (x->out, pair.key);
        if (s_text (key) && key->data.scalar.style == YAML_PLAIN_SCALAR_STYLE &&
            streq (s_text (key), "include")) {
            s_include (x, source, pair.value, list);
            continue;
        }
        if (s_text (key) && strncmp (s_text (key), "x-", 2) == 0)
            continue;  //  a place for anchors (as in Compose files): read, not kept
        entry_t *entry = (entry_t *)topo_push ((void **)&list->items, &list->count, &list->cap,
                                               sizeof (entry_t));
        if (entry)
            *entry = (entry_t){.key = pair.key, .value = pair.value, .source = source};
    }
}

static void
s_where_of (expand_t *x, int id, char *buf, size_t size)
{
    yaml_node_t *node = yaml_document_get_node (x->out, id);
    topo_where (x->self, (int)node->start_mark.line + 1, (int)node->start_mark.column + 1, buf,
                size, false);
}

//  A key given in two files: mappings join (a name in both is an error naming both places),
//  lists are appended, anything else is an error.
static void
s_join (expand_t *x, const entry_t *first, const entry_t *entry)
{
    yaml_node_t *into = yaml_document_get_node (x->out, first->value);
    yaml_node_t *from = yaml_document_get_node (x->out, entry->value);
    const char *section = s_text (yaml_document_get_node (x->out, entry->key));
    char where[PATH_MAX + 64];
    if (into->type == YAML_MAPPING_NODE && from->type == YAML_MAPPING_NODE) {
        size_t count = (size_t)(from->data.mapping.pairs.top - from->data.mapping.pairs.start);
        for (size_t i = 0; i < count; i++) {
            yaml_node_pair_t pair =
                yaml_document_get_node (x->out, entry->value)->data.mapping.pairs.start[i];
            yaml_node_t *into_now = yaml_document_get_node (x->out, first->value);
            const char *name = s_text (yaml_document_get_node (x->out, pair.key));
            yaml_node_pair_t *same = NULL;
            for (yaml_node_pair_t *p = into_now->data.mapping.pairs.start;
                 name && !same && p < into_now->data.mapping.pairs.top; p++)
                if (s_text (yaml_document_get_node (x->out, p->key)) &&
                    streq (s_text (yaml_document_get_node (x->out, p->key)), name))
                    same = p;
            if (same) {
                s_where_of (x, same->key, where, sizeof where);
                s_error_out (x, pair.key, "'%s' under '%s' is given twice: here and at %s", name,
                             section, where);
                continue;
            }
            yaml_document_append_mapping_pair (x->out, first->value, pair.key, pair.value);
        }
    }
    else if (into->type == YAML_SEQUENCE_NODE && from->type == YAML_SEQUENCE_NODE) {
        size_t count = (size_t)(from->data.sequence.items.top - from->data.sequence.items.start);
        for (size_t i = 0; i < count; i++)
            yaml_document_append_sequence_item (
                x->out, first->value,
                yaml_document_get_node (x->out, entry->value)->data.sequence.items.start[i]);
    }
    else {
        s_where_of (x, first->key, where, sizeof where);
        s_error_out (x, entry->key, "'%s' is given twice: here and at %s", section, where);
    }
}

//  The pairs collected from every file, joined by key, as one mapping; returns its id.
static int
s_combine (expand_t *x, entries_t *list)
{
    int root = yaml_document_add_mapping (x->out, NULL, YAML_ANY_MAPPING_STYLE);
    for (size_t i = 0; root && i < list->count; i++) {
        entry_t *entry = &list->items[i];
        const char *name = s_text (yaml_document_get_node (x->out, entry->key));
        entry_t *first = NULL;
        for (size_t j = 0; name && j < i && !first; j++)
            if (!list->items[j].merged &&
                s_text (yaml_document_get_node (x->out, list->items[j].key)) &&
                streq (s_text (yaml_document_get_node (x->out, list->items[j].key)), name))
                first = &list->items[j];
        //  the same key twice in one file stays a duplicate key for the parser to report
        if (first && first->source != entry->source) {
            entry->merged = true;
            s_join (x, first, entry);
        }
        else
            yaml_document_append_mapping_pair (x->out, root, entry->key, entry->value);
    }
    return root;
}

size_t
topo_expand (zsat_topology_t *self, const char *text, size_t size, yaml_document_t *out,
             bool escape, zsat_diag_t *diag)
{
    memset (out, 0, sizeof *out);  //  safe to delete whatever happens
    if (!yaml_document_initialize (out, NULL, NULL, NULL, 1, 1))
        return zsat_diag_add (diag, self->file, 0, 0, "out of memory"), 1;
    if (size > TOPO_FILE_MAX) {
        zsat_diag_add (diag, self->file, 0, 0, "file too large (%zu bytes, limit %d)", size,
                       TOPO_FILE_MAX);
        return 1;
    }
    expand_t x = {.self = self, .diag = diag, .out = out, .escape = escape};
    if (s_add_source (self, self->file, s_line_count (text, size), -1, 0, 0) < 0)
        return zsat_diag_add (diag, self->file, 0, 0, "out of memory"), 1;
    int root = s_load_root (&x, 0, text, size);
    if (!root || x.errors || yaml_document_get_node (out, root)->type != YAML_MAPPING_NODE)
        return x.errors;  //  the parser reports an empty file or a root that is no mapping
    entries_t list = {0};
    s_collect (&x, 0, root, &list);
    int combined = x.errors ? 0 : s_combine (&x, &list);
    free (list.items);
    if (combined) {
        //  libyaml's root is the first node: put the joined mapping there
        yaml_node_t swap = out->nodes.start[0];
        out->nodes.start[0] = out->nodes.start[combined - 1];
        out->nodes.start[combined - 1] = swap;
    }
    return x.errors;
}

void
topo_where (zsat_topology_t *self, int line, int col, char *buf, size_t size, bool chain)
{
    size_t used = 0;
    int hops = 0;
    buf[0] = 0;
    for (; hops <= TOPO_INCLUDES_MAX; hops++) {
        int s = (int)self->source_count - 1;
        while (s > 0 && line <= self->sources[s].base)
            s--;
        const char *file = s >= 0 ? self->sources[s].file : self->file;
        int real_line = s >= 0 ? line - self->sources[s].base : line;
        const char *lead = hops == 0 ? "" : hops == 1 ? " (included from " : ", from ";
        int n = col > 0
                    ? snprintf (buf + used, size - used, "%s%s:%d:%d", lead, file, real_line, col)
                    : snprintf (buf + used, size - used, "%s%s:%d", lead, file, real_line);
        if (n < 0 || used + (size_t)n >= size) {
            used = size - 1;
            break;
        }
        used += (size_t)n;
        if (!chain || s <= 0 || self->sources[s].from < 0)
            break;
        //  where include: named the file: a virtual line of the including file
        line = self->sources[s].from_line;
        col = self->sources[s].from_col;
    }
    if (hops > 0 && used + 1 < size) {
        buf[used++] = ')';
        buf[used] = 0;
    }
}

//  Moves every problem of from into to, each `file:LINE:COL` of a virtual line written as
//  the file and line it names, with the chain of includes that read that file.
void
topo_diag_move (zsat_topology_t *self, zsat_diag_t *from, zsat_diag_t *to)
{
    if (!self->file)
        return;
    size_t prefix = strlen (self->file);
    for (size_t i = 0; i < zsat_diag_count (from); i++) {
        const char *text = zsat_diag_get (from, i);
        char *end = NULL;
        long line = strncmp (text, self->file, prefix) == 0 && text[prefix] == ':'
                        ? strtol (text + prefix + 1, &end, 10)
                        : 0;
        long col = 0;
        if (line > 0 && *end == ':' && isdigit ((unsigned char)end[1]))
            col = strtol (end + 1, &end, 10);
        if (line > 0 && line <= INT_MAX && strncmp (end, ": ", 2) == 0 && self->source_count > 1) {
            char where[PATH_MAX + 512];
            topo_where (self, (int)line, (int)col, where, sizeof where, false);
            char chain[PATH_MAX + 512];
            topo_where (self, (int)line, (int)col, chain, sizeof chain, true);
            zsat_diag_add (to, where, 0, 0, "%s%s", end + 2, chain + strlen (where));
            continue;
        }
        const char *split = strstr (text, ": ");  //  re-added as written: "head: tail"
        char head[PATH_MAX + 512];
        snprintf (head, sizeof head, "%.*s", split ? (int)(split - text) : (int)strlen (text),
                  text);
        zsat_diag_add (to, head, 0, 0, "%s", split ? split + 2 : "");
    }
}

//  `name:` first when the file gives none: the base name it came from.
static void
s_add_name (zsat_topology_t *self, yaml_document_t *doc)
{
    yaml_node_t *root = yaml_document_get_root_node (doc);
    for (yaml_node_pair_t *pair = root->data.mapping.pairs.start;
         pair < root->data.mapping.pairs.top; pair++) {
        const char *key = s_text (yaml_document_get_node (doc, pair->key));
        if (key && streq (key, "name"))
            return;
    }
    int key = yaml_document_add_scalar (doc, NULL, (const yaml_char_t *)"name", 4,
                                        YAML_PLAIN_SCALAR_STYLE);
    int value = yaml_document_add_scalar (doc, NULL, (const yaml_char_t *)self->name, -1,
                                          YAML_PLAIN_SCALAR_STYLE);
    if (!key || !value || !yaml_document_append_mapping_pair (doc, 1, key, value))
        return;
    root = yaml_document_get_root_node (doc);
    yaml_node_pair_t last = root->data.mapping.pairs.top[-1];
    memmove (root->data.mapping.pairs.start + 1, root->data.mapping.pairs.start,
             (size_t)(root->data.mapping.pairs.top - root->data.mapping.pairs.start - 1) *
                 sizeof (yaml_node_pair_t));
    root->data.mapping.pairs.start[0] = last;
}

static int
s_write (void *data, unsigned char *buffer, size_t size)
{
    return fwrite (buffer, 1, size, (FILE *)data) == size;
}

//  Writes doc as YAML to out and deletes it; returns the problems added.
static size_t
s_emit (yaml_document_t *doc, FILE *out, const char *path, zsat_diag_t *diag)
{
    yaml_emitter_t emitter;
    if (!yaml_emitter_initialize (&emitter)) {
        yaml_document_delete (doc);
        return zsat_diag_add (diag, path, 0, 0, "out of memory"), 1;
    }
    yaml_emitter_set_output (&emitter, s_write, out);
    yaml_emitter_set_unicode (&emitter, 1);
    yaml_emitter_set_width (&emitter, 100);
    size_t errors = 0;
    if (!yaml_emitter_open (&emitter) || !yaml_emitter_dump (&emitter, doc) ||
        !yaml_emitter_close (&emitter)) {
        zsat_diag_add (diag, path, 0, 0, "cannot write the expanded topology: %s",
                       emitter.problem ? emitter.problem : "write error");
        errors = 1;
    }
    yaml_emitter_delete (&emitter);
    return errors;
}

int
zsat_topology_expand (const char *path, FILE *out, zsat_diag_t *diag)
{
    size_t size = 0;
    const char *problem = NULL;
    char *text = path ? topo_read_file (path, &size, &problem) : NULL;
    if (!text) {
        zsat_diag_add (diag, path ? path : "-", 0, 0, "cannot open: %s",
                       problem ? problem : "no file");
        return -1;
    }
    zsat_topology_t *self = (zsat_topology_t *)calloc (1, sizeof (zsat_topology_t));
    zsat_diag_t *own = zsat_diag_new ();
    yaml_document_t doc;
    size_t errors = 1;
    if (self && own && (self->file = topo_strdup (self, path, 0, 0))) {
        self->name = topo_base_name (self, path);
        errors = topo_expand (self, text, size, &doc, true, own);
        yaml_node_t *root = yaml_document_get_root_node (&doc);
        if (!errors && (!root || root->type != YAML_MAPPING_NODE)) {
            zsat_diag_add (own, path, 0, 0, "the topology is empty or not a mapping");
            errors = 1;
        }
        if (!errors) {
            s_add_name (self, &doc);
            errors = s_emit (&doc, out, path, own);  //  deletes the document
        }
        else
            yaml_document_delete (&doc);
        topo_diag_move (self, own, diag);
    }
    free (text);
    zsat_diag_destroy (&own);
    if (self) {
        free (self->sources);
        topo_arena_free (self);
        free (self);
    }
    return errors ? -1 : 0;
}
