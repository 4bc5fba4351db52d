/*  zsat_routes - the orchester's routing table: job type -> target nodes, no sockets.
    A flat array scanned by length then bytes: a host routes a handful of types, and a scan
    of a few short strings costs less than hashing the routing frame on every vector.
*/
#include "zsat_routes.h"

struct zsat_routes_t {
    size_t size;
    zsat_route_entry_t entry[ZSAT_ROUTES_MAX];
};

zsat_routes_t *
zsat_routes_new (void)
{
    return (zsat_routes_t *)calloc (1, sizeof (zsat_routes_t));
}

void
zsat_routes_destroy (zsat_routes_t **self_p)
{
    if (self_p && *self_p) {
        free (*self_p);
        *self_p = NULL;
    }
}

zsat_route_entry_t *
zsat_routes_lookup (zsat_routes_t *self, const char *type, size_t len)
{
    for (size_t i = 0; i < self->size; i++) {
        zsat_route_entry_t *e = &self->entry[i];
        if (e->type_len == len && memcmp (e->type, type, len) == 0)
            return e;
    }
    return NULL;
}

static int
s_target_index (const zsat_route_entry_t *e, const char *node)
{
    for (size_t t = 0; t < e->count; t++)
        if (streq (e->nodes[t], node))
            return (int)t;
    return -1;
}

int
zsat_routes_add (zsat_routes_t *self, const char *type, const char *node, int id)
{
    if (!zsat_name_valid (type) || !zsat_name_valid (node))
        return -1;
    zsat_route_entry_t *e = zsat_routes_lookup (self, type, strlen (type));
    if (!e) {
        if (self->size == ZSAT_ROUTES_MAX)
            return -1;
        e = &self->entry[self->size++];
        memset (e, 0, sizeof *e);
        strcpy (e->type, type);
        e->type_len = strlen (type);
    }
    int t = s_target_index (e, node);
    if (t >= 0) {
        e->ids[t] = id;
        return 1;
    }
    if (e->count == ZSAT_ROUTE_TARGETS_MAX)
        return -1;
    strcpy (e->nodes[e->count], node);
    e->ids[e->count++] = id;
    return 0;
}

int
zsat_routes_del (zsat_routes_t *self, const char *type, const char *node)
{
    if (!type || !node)
        return -1;
    zsat_route_entry_t *e = zsat_routes_lookup (self, type, strlen (type));
    int t = e ? s_target_index (e, node) : -1;
    if (t < 0)
        return -1;
    for (size_t i = (size_t)t; i + 1 < e->count; i++) {
        memcpy (e->nodes[i], e->nodes[i + 1], ZSAT_NAME_MAX);
        e->ids[i] = e->ids[i + 1];
    }
    e->count--;
    if (e->count == 0) {
        size_t index = (size_t)(e - self->entry);
        memmove (e, e + 1, (self->size - index - 1) * sizeof *e);
        self->size--;
    }
    return 0;
}

int
zsat_routes_move (zsat_routes_t *self, const char *type, const char *from, const char *to, int id)
{
    if (!type || !from || !to || !zsat_name_valid (to))
        return -1;
    zsat_route_entry_t *e = zsat_routes_lookup (self, type, strlen (type));
    int t = e ? s_target_index (e, from) : -1;
    if (t < 0)
        return -1;
    if (s_target_index (e, to) >= 0)
        return zsat_routes_del (self, type, from) == 0 ? 1 : -1;
    snprintf (e->nodes[t], ZSAT_NAME_MAX, "%s", to);
    e->ids[t] = id;
    return 0;
}

size_t
zsat_routes_size (zsat_routes_t *self)
{
    return self->size;
}

zsat_route_entry_t *
zsat_routes_at (zsat_routes_t *self, size_t index)
{
    return index < self->size ? &self->entry[index] : NULL;
}

bool
zsat_routes_targets_node (zsat_routes_t *self, const char *node)
{
    for (size_t i = 0; i < self->size; i++)
        if (s_target_index (&self->entry[i], node) >= 0)
            return true;
    return false;
}

static int
s_compare_type (const void *a, const void *b)
{
    return strcmp ((*(zsat_route_entry_t *const *)a)->type,
                   (*(zsat_route_entry_t *const *)b)->type);
}

//  Appends text at *len, never past cap - 1; the buffer stays a C string.
static void
s_append (char *buf, size_t cap, size_t *len, const char *text)
{
    while (*text && *len + 1 < cap)
        buf[(*len)++] = *text++;
    buf[*len] = 0;
}

size_t
zsat_routes_list (zsat_routes_t *self, char *buf, size_t cap)
{
    if (cap == 0)
        return 0;
    zsat_route_entry_t *sorted[ZSAT_ROUTES_MAX];
    for (size_t i = 0; i < self->size; i++)
        sorted[i] = &self->entry[i];
    qsort (sorted, self->size, sizeof sorted[0], s_compare_type);
    size_t len = 0;
    buf[0] = 0;
    for (size_t i = 0; i < self->size; i++) {
        s_append (buf, cap, &len, sorted[i]->type);
        for (size_t t = 0; t < sorted[i]->count; t++) {
            s_append (buf, cap, &len, " ");
            s_append (buf, cap, &len, sorted[i]->nodes[t]);
        }
        s_append (buf, cap, &len, "\n");
    }
    return len;
}

void
zsat_routes_test (bool verbose)
{
    printf (" * zsat_routes: ");
    zsat_routes_t *routes = zsat_routes_new ();
    assert (routes);
    assert (zsat_routes_lookup (routes, "cpu", 3) == NULL);
    assert (zsat_routes_add (routes, "cpu", "cpu", 1) == 0);
    assert (zsat_routes_add (routes, "cpu", "cpu", 1) == 1);
    assert (zsat_routes_add (routes, "mem", "mem", 2) == 0);
    //  fan-out: two nodes on one type, each keeps its own handle
    assert (zsat_routes_add (routes, "mem", "mem-archive", 3) == 0);
    assert (zsat_routes_add (routes, "bad/type", "x", 4) == -1);
    assert (zsat_routes_add (routes, "ok", "", 4) == -1);
    assert (zsat_routes_size (routes) == 2);

    //  lookup works on routing-frame bytes that are not NUL-terminated
    const char *frame = "hostA/mem";
    zsat_route_entry_t *e = zsat_routes_lookup (routes, frame + 6, 3);
    assert (e && e->count == 2);
    assert (streq (e->nodes[0], "mem") && e->ids[0] == 2);
    assert (streq (e->nodes[1], "mem-archive") && e->ids[1] == 3);
    assert (zsat_routes_lookup (routes, "me", 2) == NULL);
    assert (zsat_routes_lookup (routes, "memory", 6) == NULL);
    //  unknown type
    assert (zsat_routes_lookup (routes, "disk", 4) == NULL);

    char text[256];
    zsat_routes_list (routes, text, sizeof text);
    assert (streq (text, "cpu cpu\nmem mem mem-archive\n"));
    //  truncated listing stays a C string
    size_t n = zsat_routes_list (routes, text, 6);
    assert (n == 5 && strlen (text) == 5);

    assert (zsat_routes_del (routes, "mem", "mem") == 0);
    assert (zsat_routes_del (routes, "mem", "mem") == -1);
    e = zsat_routes_lookup (routes, "mem", 3);
    assert (e && e->count == 1 && e->ids[0] == 3);
    assert (zsat_routes_targets_node (routes, "mem-archive"));
    assert (!zsat_routes_targets_node (routes, "mem"));
    assert (zsat_routes_del (routes, "mem", "mem-archive") == 0);
    assert (zsat_routes_lookup (routes, "mem", 3) == NULL);
    assert (zsat_routes_size (routes) == 1);
    assert (zsat_routes_del (routes, "nope", "cpu") == -1);
    //  move: one entry changed in place; onto a node already there: just the removal
    assert (zsat_routes_add (routes, "disk", "d1", 7) == 0);
    assert (zsat_routes_move (routes, "disk", "d1", "d2", 8) == 0);
    e = zsat_routes_lookup (routes, "disk", 4);
    assert (e && e->count == 1 && streq (e->nodes[0], "d2") && e->ids[0] == 8);
    assert (zsat_routes_move (routes, "disk", "d1", "d3", 9) == -1);
    assert (zsat_routes_move (routes, "nope", "d2", "d3", 9) == -1);
    assert (zsat_routes_add (routes, "disk", "d3", 9) == 0);
    assert (zsat_routes_move (routes, "disk", "d2", "d3", 9) == 1);
    e = zsat_routes_lookup (routes, "disk", 4);
    assert (e && e->count == 1 && streq (e->nodes[0], "d3"));
    assert (zsat_routes_del (routes, "disk", "d3") == 0);
    zsat_routes_list (routes, text, sizeof text);
    assert (streq (text, "cpu cpu\n"));

    //  the table is bounded
    char type[16];
    for (int i = 0; i < ZSAT_ROUTES_MAX - 1; i++) {
        snprintf (type, sizeof type, "t%d", i);
        assert (zsat_routes_add (routes, type, "n", i) == 0);
    }
    assert (zsat_routes_add (routes, "one-too-many", "n", 0) == -1);
    for (int i = 0; i < ZSAT_ROUTE_TARGETS_MAX - 1; i++) {
        snprintf (type, sizeof type, "n%d", i);
        assert (zsat_routes_add (routes, "cpu", type, i) == 0);
    }
    assert (zsat_routes_add (routes, "cpu", "extra", 0) == -1);

    zsat_routes_destroy (&routes);
    zsat_routes_destroy (&routes);
    assert (routes == NULL);
    if (verbose)
        printf ("(%d types max) ", ZSAT_ROUTES_MAX);
    printf ("OK\n");
}
