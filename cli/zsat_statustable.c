// SPDX-License-Identifier: MPL-2.0
/*  zsat_statustable - the tracker's STATUS JSON as a table for a terminal of any width.
    The JSON is the tracker's own flat shape (objects in arrays, no nesting below them), read
    with the statusview's flat readers.
*/
#include "zsat_statustable.h"
#include "zsat_statusview.h"
#include "zsat_termtable.h"

//  Columns, most important with priority 0; the rest go highest first when too wide.
enum {
    C_HOST,
    C_STAGE,
    C_INST,
    C_BUSY,
    C_IDLE,
    C_QUEUE,
    C_RATE,
    C_RATE1M,
    C_ERR,
    C_RETRY,
    C_TMOUT,
    C_FAIL,
    C_DEAD,
    C_P50,
    C_P99,
    C_MAX,
    C_COUNT
};
static const zsat_termcol_t s_cols[C_COUNT] = {
    [C_HOST] = {"HOST", 3, false, 4},  [C_STAGE] = {"STAGE", 0, false, 6},
    [C_INST] = {"INST", 6, true, 0},   [C_BUSY] = {"BUSY", 5, true, 0},
    [C_IDLE] = {"IDLE", 8, true, 0},   [C_QUEUE] = {"QUEUE", 2, true, 0},
    [C_RATE] = {"VEC/S", 0, true, 0},  [C_RATE1M] = {"VEC/S1M", 7, true, 0},
    [C_ERR] = {"ERR", 1, true, 0},     [C_RETRY] = {"RETRY", 4, true, 0},
    [C_TMOUT] = {"TMOUT", 2, true, 0}, [C_FAIL] = {"FAIL", 1, true, 0},
    [C_DEAD] = {"DEAD", 2, true, 0},   [C_P50] = {"P50", 5, true, 0},
    [C_P99] = {"P99", 1, true, 0},     [C_MAX] = {"MAX", 6, true, 0},
};

//  Finds the array "key":[ ... ] in json: sets [*start, *end) to its inside.
static bool
s_array (const char *json, const char *key, const char **start, const char **end)
{
    char quoted[64];
    snprintf (quoted, sizeof quoted, "\"%s\":[", key);
    const char *at = strstr (json, quoted);
    if (!at)
        return false;
    at += strlen (quoted);
    *start = at;
    int depth = 1;
    bool in_string = false;
    for (; *at && depth > 0; at++) {
        if (in_string) {
            if (*at == '\\' && at[1])
                at++;
            else if (*at == '"')
                in_string = false;
        }
        else if (*at == '"')
            in_string = true;
        else if (*at == '[' || *at == '{')
            depth++;
        else if (*at == ']' || *at == '}')
            depth--;
    }
    *end = at;
    return depth == 0;
}

//  Copies the object "key":{...} (flat) into buf; "" when absent.
static void
s_object (const char *json, const char *key, char *buf, size_t cap)
{
    char quoted[64];
    snprintf (quoted, sizeof quoted, "\"%s\":{", key);
    const char *at = strstr (json, quoted);
    const char *close = at ? strchr (at, '}') : NULL;
    buf[0] = 0;
    if (at && close) {
        size_t size = (size_t)(close - at + 1) < cap - 1 ? (size_t)(close - at + 1) : cap - 1;
        memcpy (buf, at + strlen (quoted) - 1, size - strlen (quoted) + 1);
        buf[size - strlen (quoted) + 1] = 0;
    }
}

static double
s_num (const char *object, const char *key)
{
    double value = -1;
    zsat_statusview_json_number (object, key, &value);
    return value;
}

//  Replaces control characters (a hostile answer's escape sequences) with '?'.
static void
s_clean (char *text)
{
    for (; *text; text++)
        if ((unsigned char)*text < 0x20 || *text == 0x7f)
            *text = '?';
}

//  A number cell of 32 bytes: "-" when the tracker did not say.
static void
s_number (char *cell, const char *object, const char *key, int decimals)
{
    double value = 0;
    if (zsat_statusview_json_number (object, key, &value))
        snprintf (cell, 32, "%.*f", decimals, value);
    else
        snprintf (cell, 32, "-");
}

//  Latency for a terminal: "850us", "12.5ms", "3.2s", "-" when no sample.
static void
s_fmt_us (char *buf, size_t cap, double us)
{
    if (us < 0)
        snprintf (buf, cap, "-");
    else if (us < 1000)
        snprintf (buf, cap, "%.0fus", us);
    else if (us < 1000000)
        snprintf (buf, cap, "%.1fms", us / 1000.0);
    else
        snprintf (buf, cap, "%.1fs", us / 1000000.0);
}

//  Writes text word-wrapped to width (0: one line), the lines after the first indented.
static void
s_wrap (FILE *out, const char *text, int width, int indent)
{
    int used = 0;
    for (const char *at = text; *at;) {
        size_t len = strcspn (at, " ");
        if (used > indent && width > 0 && used + 1 + (int)len > width)
            used = fprintf (out, "\n%*s", indent, "") - 1;
        else if (used > 0)
            used += fprintf (out, " ");
        used += fprintf (out, "%.*s", (int)len, at);
        at += len;
        at += strspn (at, " ");
    }
    fputc ('\n', out);
}

//  One stage row. Counters that mean something went wrong are alarms when not zero. A
//  stage that began no vector (the scheduler) times out only tasks nobody took: those are
//  not its own failures, and a note says what they are.
static void
s_stage_row (zsat_termtable_t *table, const char *object, FILE *notes, int width)
{
    char cells[C_COUNT][32], host[ZSAT_NAME_MAX] = "?", node[ZSAT_NAME_MAX] = "?";
    zsat_statusview_json_string (object, "host", host, sizeof host);
    zsat_statusview_json_string (object, "node", node, sizeof node);
    s_clean (host);
    s_clean (node);
    double busy = s_num (object, "busy"), util = s_num (object, "utilization");
    s_number (cells[C_INST], object, "instances", 0);
    snprintf (cells[C_BUSY], 32, "%.1f", busy > util ? busy : util > 0 ? util : 0);
    s_number (cells[C_IDLE], object, "idle", 0);
    s_number (cells[C_QUEUE], object, "queued", 0);
    s_number (cells[C_RATE], object, "rate_1s", 1);
    s_number (cells[C_RATE1M], object, "rate_1m", 1);
    static const struct {
        int col;
        const char *key;
    } counters[] = {{C_ERR, "errors"},
                    {C_RETRY, "retries"},
                    {C_TMOUT, "timeouts"},
                    {C_FAIL, "failures"},
                    {C_DEAD, "dead_letters"}};
    uint32_t alarm = 0;
    for (size_t i = 0; i < sizeof counters / sizeof counters[0]; i++) {
        double value = s_num (object, counters[i].key);
        snprintf (cells[counters[i].col], 32, "%.0f", value < 0 ? 0 : value);
        if (value > 0)
            alarm |= 1u << counters[i].col;
    }
    bool source = s_num (object, "begins") <= 0 && s_num (object, "ends") <= 0;
    double lost = s_num (object, "timeouts");
    if (source && lost > 0) {
        alarm &= ~(1u << C_TMOUT | 1u << C_FAIL);
        char note[512];
        snprintf (note, sizeof note,
                  "note: %.0f %s of %s@%s never taken by any node (published before the "
                  "orchesters subscribed: PUB slow joiner, docs/limitations.md)",
                  lost, lost == 1 ? "job" : "jobs", node, host);
        s_wrap (notes, note, width, 6);
    }
    s_fmt_us (cells[C_P50], 32, s_num (object, "p50_us"));
    s_fmt_us (cells[C_P99], 32, s_num (object, "p99_us"));
    s_fmt_us (cells[C_MAX], 32, s_num (object, "max_us"));
    const char *row[C_COUNT];
    for (int c = 0; c < C_COUNT; c++)
        row[c] = cells[c];
    row[C_HOST] = host;
    row[C_STAGE] = node;
    zsat_termtable_add (table, row, alarm);
}

//  The tracker's counters: faults first (red when not zero), then what only informs.
//  `late` (events for a task already ended: another attempt's stragglers, duplicates) and
//  `overtaken` (an earlier hop's report that arrived after the end) are no faults.
static void
s_counters (FILE *out, const char *json, int width, bool colour)
{
    static const char *faults[] = {"bad_messages", "untracked", "unexpected", "evicted",
                                   "refused",      "failures",  "overflow",   "undeclared_evicted"};
    static const char *info[] = {"batches", "records", "happy_ends",
                                 "resends", "late",    "overtaken"};
    char counters[2048];
    s_object (json, "counters", counters, sizeof counters);
    zsat_termword_t words[16];
    size_t count = 0;
    for (size_t i = 0; i < sizeof faults / sizeof faults[0]; i++) {
        double value = s_num (counters, faults[i]);
        if (value > 0)
            words[count++] = (zsat_termword_t){faults[i], (uint64_t)value, true};
    }
    if (count)
        zsat_termtable_words (out, "faults:", words, count, width, colour);
    else
        fputs ("faults: none\n", out);
    count = 0;
    for (size_t i = 0; i < sizeof info / sizeof info[0]; i++) {
        double value = s_num (counters, info[i]);
        words[count++] = (zsat_termword_t){info[i], value < 0 ? 0 : (uint64_t)value, false};
    }
    zsat_termtable_words (out, "info:  ", words, count, width, false);
}

//  With CURVE on: the handshakes the tracker's sockets refused (docs/security.md).
static void
s_security (FILE *out, const char *json)
{
    char tracker[1024], security[16] = "";
    s_object (json, "tracker", tracker, sizeof tracker);
    zsat_statusview_json_string (tracker, "security", security, sizeof security);
    if (streq (security, "curve"))
        fprintf (out, "security: curve, auth_refused=%.0f on the tracker's sockets\n",
                 s_num (tracker, "auth_refused"));
}

//  Breakers not closed, one line each.
static void
s_breakers (FILE *out, const char *json)
{
    char breakers[4096];
    s_object (json, "breakers", breakers, sizeof breakers);
    for (const char *at = strchr (breakers, '"'); at; at = strchr (at, '"')) {
        const char *name_end = strchr (at + 1, '"');
        if (!name_end || name_end[1] != ':' || name_end[2] != '"')
            break;
        const char *state = name_end + 3, *state_end = strchr (state, '"');
        if (!state_end)
            break;
        if (strncmp (state, "closed", 6) != 0)
            fprintf (out, "breaker %.*s: %.*s\n", (int)(name_end - at - 1), at + 1,
                     (int)(state_end - state), state);
        at = state_end + 1;
    }
}

//  The title: as many of its parts as the width takes, most important first.
static void
s_title (FILE *out, const char *json, int width)
{
    char tracker[1024], host[ZSAT_NAME_MAX] = "?", node[ZSAT_NAME_MAX] = "?", version[32] = "?";
    s_object (json, "tracker", tracker, sizeof tracker);
    zsat_statusview_json_string (tracker, "host", host, sizeof host);
    zsat_statusview_json_string (tracker, "node", node, sizeof node);
    zsat_statusview_json_string (tracker, "version", version, sizeof version);
    s_clean (host);
    s_clean (node);
    s_clean (version);
    double tasks = s_num (tracker, "tasks"), live = s_num (tracker, "live");
    char parts[4][160];
    snprintf (parts[0], sizeof parts[0], "tracker %s@%s", node, host);
    snprintf (parts[1], sizeof parts[1], "  up %.0fs", s_num (tracker, "uptime_s"));
    snprintf (parts[2], sizeof parts[2], "  tasks %.0f live, %.0f retained", live, tasks - live);
    snprintf (parts[3], sizeof parts[3], "  zsat %s", version);
    int used = 0;
    for (int p = 0; p < 4; p++) {
        int len = (int)strlen (parts[p]);
        if (p > 0 && width > 0 && used + len > width)
            break;
        used += fprintf (out, "%s", parts[p]);
    }
    fputc ('\n', out);
}

//  Cuts every line of text to width (names longer than any abbreviation allows).
static char *
s_cut (char *text, int width)
{
    char *cut = NULL;
    size_t size = 0;
    FILE *out = text && width > 0 ? open_memstream (&cut, &size) : NULL;
    if (!out)
        return text;
    zsat_term_frame (out, text, width, 0, false);
    fclose (out);
    free (text);
    return cut;
}

char *
zsat_statustable_render (const char *json, int width, bool colour)
{
    const char *start, *end;
    if (!json || !s_array (json, "stages", &start, &end) || !strstr (json, "\"tracker\":{"))
        return NULL;
    zsat_termtable_t *table = zsat_termtable_new (s_cols, C_COUNT);
    char *text = NULL, *rows = NULL;
    size_t size = 0;
    FILE *out = table ? open_memstream (&text, &size) : NULL;
    if (!out) {
        zsat_termtable_destroy (&table);
        return NULL;
    }
    char object[2048];
    const char *close = NULL;
    size_t stages = 0;
    char *notes_text = NULL;
    size_t notes_size = 0;
    FILE *notes = open_memstream (&notes_text, &notes_size);
    for (const char *at = zsat_statusview_json_element (start, &close); at && at < end;
         at = zsat_statusview_json_element (close, &close), stages++) {
        size_t len =
            (size_t)(close - at) < sizeof object - 1 ? (size_t)(close - at) : sizeof object - 1;
        memcpy (object, at, len);
        object[len] = 0;
        s_stage_row (table, object, notes ? notes : stderr, width);
    }
    s_title (out, json, width);
    rows = zsat_termtable_render (table, width, colour);
    fputs (stages ? (rows ? rows : "") : "(no stage has reported yet)\n", out);
    s_counters (out, json, width, colour);
    s_security (out, json);
    if (notes)
        fclose (notes);
    fputs (notes_text ? notes_text : "", out);
    free (notes_text);
    s_breakers (out, json);
    fclose (out);
    free (rows);
    zsat_termtable_destroy (&table);
    return s_cut (text, width);
}

//  --- selftest ---

void
zsat_statustable_test (bool verbose)
{
    printf (" * zsat_statustable: ");
    const char *json =
        "{\"tracker\":{\"host\":\"local\",\"node\":\"tracker\",\"version\":\"0.1.0\","
        "\"uptime_s\":6,\"tasks\":7,\"live\":1},\"stages\":["
        "{\"host\":\"local\",\"node\":\"cpu\",\"instances\":1,\"busy\":0,\"utilization\":0.25,"
        "\"idle\":1,\"queued\":1,\"rate_1s\":1,\"rate_1m\":0.1,\"errors\":0,\"timeouts\":0,"
        "\"retries\":0,\"failures\":0,\"dead_letters\":0,\"p50_us\":95,\"p99_us\":1500,"
        "\"max_us\":2500000,\"dead_by\":{\"unknown type\":0}},"
        "{\"host\":\"a-very-long-host-name\",\"node\":\"a-very-long-stage-name\",\"instances\":2,"
        "\"busy\":1,\"utilization\":0,\"idle\":1,\"queued\":0,\"rate_1s\":0,\"rate_1m\":0,"
        "\"errors\":3,\"timeouts\":0,\"retries\":0,\"failures\":0,\"dead_letters\":0,"
        "\"p50_us\":-1,\"p99_us\":-1,\"max_us\":-1,\"begins\":4,\"ends\":1},"
        "{\"host\":\"local\",\"node\":\"scheduler\",\"instances\":1,\"begins\":0,\"ends\":0,"
        "\"timeouts\":2,\"failures\":2,\"errors\":0,\"retries\":0,\"dead_letters\":0}],"
        "\"hosts\":[{\"host\":\"local\",\"instances\":1}],"
        "\"counters\":{\"batches\":63,\"records\":108,\"bad_messages\":2,\"late\":5},"
        "\"breakers\":{\"cpu\":\"closed\",\"csv\":\"open\"},\"metrics\":{\"outputs\":0}}";
    for (int width = 40; width <= 200; width += 40) {
        char *text = zsat_statustable_render (json, width, false);
        assert (text);
        if (verbose)
            printf ("\n%s", text);
        for (const char *line = text; *line; line = strchr (line, '\n') + 1)
            assert ((int)zsat_term_visible (line) <= width);
        assert (strstr (text, "tracker tracker@local"));
        assert (strstr (text, "faults: bad_messages=2"));
        assert (strstr (text, "late=5") && !strstr (text, "faults: late"));
        assert (strstr (text, "breaker csv: open\n") && !strstr (text, "breaker cpu"));
        assert (strstr (text, "VEC/S") && strstr (text, "cpu"));
        free (text);
    }
    char *text = zsat_statustable_render (json, 0, false);
    assert (strstr (text, "1.5ms") && strstr (text, "2.5s") && strstr (text, "95us"));
    assert (strstr (text, "a-very-long-stage-name"));
    assert (!strstr (text, "?    ?"));  //  an object inside a stage (dead_by) keeps the stage whole
    free (text);
    text = zsat_statustable_render (json, 0, true);
    assert (strstr (text, "\033[31m3\033[0m"));  //  errors are red
    //  the scheduler's tasks nobody took are explained, not red
    const char *scheduler = strstr (text, "scheduler");
    assert (scheduler && !memchr (scheduler, '\033', strcspn (scheduler, "\n")));
    assert (strstr (text, "note: 2 jobs of scheduler@local never taken by any node"));
    free (text);
    assert (!zsat_statustable_render ("{\"error\":\"x\"}", 80, false));
    assert (!zsat_statustable_render (NULL, 80, false));
    text = zsat_statustable_render ("{\"tracker\":{},\"stages\":[]}", 80, false);
    assert (text && strstr (text, "no stage has reported yet"));
    free (text);
    printf ("OK\n");
}
