/*  zsat_statusview - renders the live status of `zsat up` from rows of data, and reads the
    flat JSON objects the launcher and the tracker answer with. Pure functions: no sockets,
    no clock, so the screen is testable.
*/
#include "zsat_statusview.h"
#include "zsat_termtable.h"

//  Finds `"key"` followed by ':' in json and returns the first byte of its value.
static const char *
s_json_value (const char *json, const char *key)
{
    char quoted[ZSAT_NAME_MAX + 3];
    snprintf (quoted, sizeof quoted, "\"%s\"", key);
    for (const char *at = strstr (json, quoted); at; at = strstr (at + 1, quoted)) {
        const char *value = at + strlen (quoted);
        while (*value == ' ' || *value == '\t' || *value == '\n' || *value == '\r')
            value++;
        if (*value != ':')
            continue;  //  the text was a value, not a key
        value++;
        while (*value == ' ' || *value == '\t' || *value == '\n' || *value == '\r')
            value++;
        return value;
    }
    return NULL;
}

bool
zsat_statusview_json_string (const char *json, const char *key, char *buf, size_t cap)
{
    const char *value = json && key ? s_json_value (json, key) : NULL;
    if (!value || *value != '"' || cap == 0)
        return false;
    size_t size = 0;
    for (value++; *value && *value != '"'; value++) {
        if (*value == '\\' && value[1])
            value++;  //  keep the escaped character itself; good enough for names and details
        if (size + 1 < cap)
            buf[size++] = *value;
    }
    buf[size] = 0;
    return *value == '"';
}

bool
zsat_statusview_json_number (const char *json, const char *key, double *value)
{
    const char *text = json && key ? s_json_value (json, key) : NULL;
    if (!text)
        return false;
    char *end = NULL;
    double number = strtod (text, &end);
    if (end == text)
        return false;
    *value = number;
    return true;
}

const char *
zsat_statusview_json_object (const char *json, const char **end)
{
    const char *start = NULL;
    bool in_string = false;
    for (const char *at = json; at && *at; at++) {
        if (in_string) {
            if (*at == '\\' && at[1])
                at++;
            else if (*at == '"')
                in_string = false;
        }
        else if (*at == '"')
            in_string = true;
        else if (*at == '{')
            start = at;  //  a later '{' is more inner
        else if (*at == '}' && start) {
            *end = at + 1;
            return start;
        }
    }
    return NULL;
}

const char *
zsat_statusview_json_element (const char *json, const char **end)
{
    const char *start = json ? strchr (json, '{') : NULL;
    int depth = 0;
    bool in_string = false;
    for (const char *at = start; at && *at; at++) {
        if (in_string) {
            if (*at == '\\' && at[1])
                at++;
            else if (*at == '"')
                in_string = false;
        }
        else if (*at == '"')
            in_string = true;
        else if (*at == '{')
            depth++;
        else if (*at == '}' && --depth == 0) {
            *end = at + 1;
            return start;
        }
    }
    return NULL;
}

//  Copies the object [start, end) into buf so the key readers stay inside it.
static const char *
s_object_copy (const char *start, const char *end, char *buf, size_t cap)
{
    size_t size = (size_t)(end - start) < cap - 1 ? (size_t)(end - start) : cap - 1;
    memcpy (buf, start, size);
    buf[size] = 0;
    return buf;
}

size_t
zsat_statusview_rows_from_status (const char *json, zsat_status_row_t *rows, size_t max)
{
    char host[ZSAT_NAME_MAX] = "";
    zsat_statusview_json_string (json, "host", host, sizeof host);
    const char *list = json ? strstr (json, "\"instances\":[") : NULL;
    size_t count = 0;
    const char *end = NULL;
    char object[1024];
    for (const char *at = list ? zsat_statusview_json_object (list, &end) : NULL; at && count < max;
         at = zsat_statusview_json_object (end, &end)) {
        s_object_copy (at, end, object, sizeof object);
        zsat_status_row_t *row = &rows[count];
        memset (row, 0, sizeof *row);
        double number = 0;
        snprintf (row->host, sizeof row->host, "%s", host);
        if (!zsat_statusview_json_string (object, "node", row->node, sizeof row->node))
            continue;
        zsat_statusview_json_string (object, "state", row->state, sizeof row->state);
        zsat_statusview_json_string (object, "last_exit", row->last_exit, sizeof row->last_exit);
        if (zsat_statusview_json_number (object, "instance", &number))
            row->instance = (int)number;
        if (zsat_statusview_json_number (object, "pid", &number))
            row->pid = (int)number;
        if (zsat_statusview_json_number (object, "restarts", &number))
            row->restarts = (int)number;
        zsat_statusview_json_number (object, "uptime", &row->uptime_s);
        count++;
    }
    return count;
}

//  Reads `name=<n>` from a heartbeat detail.
static uint64_t
s_detail_counter (const char *detail, const char *name)
{
    size_t len = strlen (name);
    for (const char *at = strstr (detail, name); at; at = strstr (at + 1, name))
        if ((at == detail || at[-1] == ' ') && at[len] == '=')
            return strtoull (at + len + 1, NULL, 10);
    return 0;
}

//  Reads a node's counters: numbers "in", "out", "errors" (the tracker's NODES), or the
//  heartbeat's text `in=.. out=.. errors=..` in "detail". Returns false when neither is there.
static bool
s_counters (const char *object, zsat_status_row_t *row)
{
    char detail[512];
    double in = 0, out = 0, errors = 0;
    if (zsat_statusview_json_number (object, "in", &in) &&
        zsat_statusview_json_number (object, "out", &out)) {
        zsat_statusview_json_number (object, "errors", &errors);
        row->in = (uint64_t)in;
        row->out = (uint64_t)out;
        row->errors = (uint64_t)errors;
    }
    else if (zsat_statusview_json_string (object, "detail", detail, sizeof detail)) {
        row->in = s_detail_counter (detail, "in");
        row->out = s_detail_counter (detail, "out");
        row->errors = s_detail_counter (detail, "errors");
    }
    else
        return false;
    row->has_stats = true;
    return true;
}

static const zsat_status_row_t *
s_row_find (const zsat_status_row_t *rows, size_t count, const char *host, const char *node,
            int instance)
{
    for (size_t i = 0; i < count; i++)
        if (streq (rows[i].node, node) && rows[i].instance == instance &&
            (!*host || streq (rows[i].host, host)))
            return &rows[i];
    return NULL;
}

size_t
zsat_statusview_merge_nodes (const char *json, zsat_status_row_t *rows, size_t count,
                             const zsat_status_row_t *previous, size_t previous_count,
                             double elapsed_s)
{
    size_t merged = 0;
    const char *end = NULL;
    char object[2048];
    for (const char *at = json ? zsat_statusview_json_object (json, &end) : NULL; at;
         at = zsat_statusview_json_object (end, &end)) {
        s_object_copy (at, end, object, sizeof object);
        char host[ZSAT_NAME_MAX] = "", node[ZSAT_NAME_MAX] = "";
        double instance = 0;
        if (!zsat_statusview_json_string (object, "node", node, sizeof node))
            continue;
        zsat_statusview_json_string (object, "host", host, sizeof host);
        if (!zsat_statusview_json_number (object, "instance", &instance))
            zsat_statusview_json_number (object, "wid", &instance);
        zsat_status_row_t *row =
            (zsat_status_row_t *)s_row_find (rows, count, host, node, (int)instance);
        if (!row || !s_counters (object, row))
            continue;
        const zsat_status_row_t *before =
            s_row_find (previous, previous_count, row->host, node, (int)instance);
        if (before && before->has_stats && elapsed_s > 0 && row->in >= before->in &&
            row->out >= before->out) {
            row->in_rate = (double)(row->in - before->in) / elapsed_s;
            row->out_rate = (double)(row->out - before->out) / elapsed_s;
        }
        merged++;
    }
    return merged;
}

//  Reads the number after "key": inside the object "name":{...} of json (flat).
static double
s_member (const char *json, const char *name, const char *key)
{
    char quoted[64], object[2048];
    snprintf (quoted, sizeof quoted, "\"%s\":{", name);
    const char *at = strstr (json, quoted);
    const char *close = at ? strchr (at, '}') : NULL;
    double value = 0;
    if (!close)
        return 0;
    s_object_copy (at, close + 1, object, sizeof object);
    zsat_statusview_json_number (object, key, &value);
    return value;
}

bool
zsat_statusview_merge_tracker (const char *json, zsat_status_row_t *rows, size_t count,
                               const zsat_status_row_t *previous, size_t previous_count,
                               double elapsed_s)
{
    char tracker[2048], host[ZSAT_NAME_MAX] = "", node[ZSAT_NAME_MAX] = "";
    const char *at = json ? strstr (json, "\"tracker\":{") : NULL;
    const char *close = at ? strchr (at, '}') : NULL;
    if (!close)
        return false;
    s_object_copy (at, close + 1, tracker, sizeof tracker);
    zsat_statusview_json_string (tracker, "host", host, sizeof host);
    zsat_statusview_json_string (tracker, "node", node, sizeof node);
    zsat_status_row_t *row = (zsat_status_row_t *)s_row_find (rows, count, host, node, 0);
    if (!row)
        return false;
    row->in = (uint64_t)s_member (json, "counters", "records");
    row->out = (uint64_t)(s_member (json, "counters", "resends") +
                          s_member (json, "counters", "failures"));
    row->errors = (uint64_t)s_member (json, "counters", "bad_messages");
    row->has_stats = true;
    const zsat_status_row_t *before = s_row_find (previous, previous_count, host, node, 0);
    if (before && before->has_stats && elapsed_s > 0 && row->in >= before->in &&
        row->out >= before->out) {
        row->in_rate = (double)(row->in - before->in) / elapsed_s;
        row->out_rate = (double)(row->out - before->out) / elapsed_s;
    }
    return true;
}

enum { C_HOST, C_NODE, C_STATE, C_PID, C_RESTARTS, C_IN, C_OUT, C_ERRORS, C_COUNT };
static const zsat_termcol_t s_cols[C_COUNT] = {
    [C_HOST] = {"HOST", 3, false, 4},        [C_NODE] = {"NODE", 0, false, 6},
    [C_STATE] = {"STATE", 0, false, 0},      [C_PID] = {"PID", 4, true, 0},
    [C_RESTARTS] = {"RESTARTS", 2, true, 0}, [C_IN] = {"IN/s", 1, true, 0},
    [C_OUT] = {"OUT/s", 1, true, 0},         [C_ERRORS] = {"ERRORS", 0, true, 0},
};

static void
s_render_row (zsat_termtable_t *table, const zsat_status_row_t *row)
{
    char cells[C_COUNT][ZSAT_NAME_MAX + 16];
    snprintf (cells[C_HOST], sizeof cells[0], "%s", row->host);
    snprintf (cells[C_NODE], sizeof cells[0], "%s.%d", row->node, row->instance);
    snprintf (cells[C_STATE], sizeof cells[0], "%s", row->state);
    snprintf (cells[C_PID], sizeof cells[0], "%d", row->pid);
    snprintf (cells[C_RESTARTS], sizeof cells[0], "%d", row->restarts);
    snprintf (cells[C_IN], sizeof cells[0], "%.1f", row->in_rate);
    snprintf (cells[C_OUT], sizeof cells[0], "%.1f", row->out_rate);
    snprintf (cells[C_ERRORS], sizeof cells[0], "%" PRIu64, row->errors);
    const char *line[C_COUNT];
    for (int c = 0; c < C_COUNT; c++)
        line[c] = cells[c];
    if (!row->has_stats)
        line[C_IN] = line[C_OUT] = line[C_ERRORS] = NULL;  //  shown as "-"
    uint32_t alarm = 0;
    if (row->errors)
        alarm |= 1u << C_ERRORS;
    if (row->restarts)
        alarm |= 1u << C_RESTARTS;
    if (!streq (row->state, "running"))
        alarm |= 1u << C_STATE;
    zsat_termtable_add (table, line, alarm);
}

char *
zsat_statusview_render (const zsat_status_row_t *rows, size_t count, const char *title,
                        const char *footer, int width, bool colour)
{
    zsat_termtable_t *table = zsat_termtable_new (s_cols, C_COUNT);
    if (!table)
        return NULL;
    for (size_t i = 0; i < count; i++)
        s_render_row (table, &rows[i]);
    char *body = zsat_termtable_render (table, width, colour);
    zsat_termtable_destroy (&table);
    char *text = NULL;
    size_t size = 0;
    FILE *out = body ? open_memstream (&text, &size) : NULL;
    if (out) {
        fprintf (out, "%s\n%s%s\n", title ? title : "", body, footer ? footer : "");
        fclose (out);
    }
    free (body);
    return text;
}

void
zsat_statusview_test (bool verbose)
{
    printf (" * zsat_statusview: ");
    const char *status =
        "{\"host\":\"a\",\"state\":\"running\",\"nodes\":[{\"node\":\"cpu\",\"stage\":0,"
        "\"instances\":2,\"min\":1,\"max\":4}],\"instances\":["
        "{\"node\":\"cpu\",\"instance\":0,\"stage\":0,\"pid\":101,\"state\":\"running\","
        "\"restarts\":2,\"uptime\":1.5,\"last_exit\":\"signal 9\"},"
        "{\"node\":\"cpu\",\"instance\":1,\"stage\":0,\"pid\":0,\"state\":\"flapping\","
        "\"restarts\":6,\"uptime\":0.0,\"last_exit\":\"exit 3\"}]}";
    zsat_status_row_t rows[8], previous[8];
    size_t count = zsat_statusview_rows_from_status (status, rows, 8);
    assert (count == 2);
    assert (streq (rows[0].host, "a") && streq (rows[0].node, "cpu") && rows[0].pid == 101);
    assert (rows[0].restarts == 2 && streq (rows[0].last_exit, "signal 9"));
    assert (rows[1].instance == 1 && streq (rows[1].state, "flapping"));
    assert (zsat_statusview_rows_from_status ("garbage", rows, 8) == 0);
    assert (zsat_statusview_rows_from_status (NULL, rows, 8) == 0);
    count = zsat_statusview_rows_from_status (status, rows, 8);

    //  Rates come from the difference of two heartbeats' cumulative counters.
    memcpy (previous, rows, sizeof rows);
    const char *nodes1 = "{\"nodes\":[{\"host\":\"a\",\"node\":\"cpu\",\"instance\":0,"
                         "\"detail\":\"in=10 out=8 errors=1 retries=0 dropped=0 dead=0\"}]}";
    assert (zsat_statusview_merge_nodes (nodes1, previous, count, NULL, 0, 1.0) == 1);
    assert (previous[0].has_stats && previous[0].in == 10 && previous[0].errors == 1);
    assert (previous[0].in_rate == 0);
    const char *nodes2 = "{\"nodes\":[{\"host\":\"a\",\"node\":\"cpu\",\"instance\":0,"
                         "\"detail\":\"in=30 out=28 errors=1 retries=0 dropped=0 dead=0\"},"
                         "{\"host\":\"b\",\"node\":\"cpu\",\"instance\":0,\"detail\":\"in=5\"}]}";
    assert (zsat_statusview_merge_nodes (nodes2, rows, count, previous, count, 2.0) == 1);
    assert (rows[0].in_rate == 10.0 && rows[0].out_rate == 10.0 && !rows[1].has_stats);
    //  The tracker's own shape: counters as numbers, the instance as "wid".
    const char *nodes3 = "{\"nodes\":[{\"host\":\"a\",\"node\":\"cpu\",\"wid\":1,\"pid\":7,"
                         "\"alive\":true,\"in\":40,\"out\":39,\"errors\":2,\"dead\":0}]}";
    memcpy (previous, rows, sizeof rows);
    assert (zsat_statusview_merge_nodes (nodes3, rows, count, previous, count, 1.0) == 1);
    assert (rows[1].has_stats && rows[1].in == 40 && rows[1].errors == 2);
    assert (rows[1].in_rate == 0);  //  no earlier value for this instance

    char *text = zsat_statusview_render (rows, count, "zsat up: default", "tracker: ok", 0, false);
    assert (text);
    assert (strstr (text, "zsat up: default\n"));
    assert (strstr (text, "cpu.0") && strstr (text, "10.0") && strstr (text, "flapping"));
    assert (strstr (text, "tracker: ok\n"));
    assert (!strchr (text, '\033'));
    if (verbose)
        printf ("\n%s", text);
    free (text);
    text = zsat_statusview_render (NULL, 0, "t", NULL, 0, false);
    assert (text && streq (text, "t\nHOST NODE STATE PID RESTARTS IN/s OUT/s ERRORS\n\n"));
    free (text);
    //  narrow: PID and RESTARTS go, every line fits
    text = zsat_statusview_render (rows, count, "zsat up: default", "tracker: ok", 40, true);
    assert (text && !strstr (text, "PID") && strstr (text, "NODE") && strstr (text, "ERRORS"));
    assert (strstr (text, "\033[31mflapping"));
    for (const char *line = text; *line; line = strchr (line, '\n') + 1)
        assert (zsat_term_visible (line) <= 40);
    free (text);

    //  The tracker's own row: records in, published out, bad messages as errors.
    zsat_status_row_t trows[1] = {{.host = "a", .node = "tracker", .state = "running"}};
    zsat_status_row_t tprev[1];
    const char *st1 = "{\"tracker\":{\"host\":\"a\",\"node\":\"tracker\",\"pid\":9},"
                      "\"stages\":[],\"counters\":{\"records\":100,\"resends\":1,"
                      "\"failures\":2,\"bad_messages\":4}}";
    assert (zsat_statusview_merge_tracker (st1, trows, 1, NULL, 0, 1.0));
    assert (trows[0].has_stats && trows[0].in == 100 && trows[0].out == 3 && trows[0].errors == 4);
    memcpy (tprev, trows, sizeof trows);
    const char *st2 = "{\"tracker\":{\"host\":\"a\",\"node\":\"tracker\"},"
                      "\"counters\":{\"records\":300,\"resends\":1,\"failures\":2}}";
    assert (zsat_statusview_merge_tracker (st2, trows, 1, tprev, 1, 2.0));
    assert (trows[0].in_rate == 100.0 && trows[0].out_rate == 0 && trows[0].errors == 0);
    assert (!zsat_statusview_merge_tracker ("{\"x\":1}", trows, 1, tprev, 1, 2.0));

    char buf[16];
    double number = 0;
    assert (zsat_statusview_json_string ("{\"a\":\"x\\\"y\"}", "a", buf, sizeof buf));
    assert (streq (buf, "x\"y"));
    assert (!zsat_statusview_json_string ("{\"a\":1}", "a", buf, sizeof buf));
    assert (zsat_statusview_json_number ("{\"k\":\"node\",\"delta\": -1}", "delta", &number));
    assert (number == -1);
    assert (!zsat_statusview_json_number ("{\"delta\":\"x\"}", "delta", &number));
    assert (!zsat_statusview_json_string ("{\"x\":\"node\"}", "node", buf, sizeof buf));
    printf ("OK\n");
}
