/*  zsat_sinks - helpers the sink kinds share (zsat_sinks.h) and the selftest that drives the
    four sink kinds (csv, log, hdf5, carbon) through their callbacks with a real zsat_ctx,
    real files and a real TCP listener, then reads what they stored back.
    Owns no sockets (the selftest opens its own listeners on 127.0.0.1).
*/
#define _GNU_SOURCE  //  nftw, accept4
#include "zsat.h"
#include "zsat_sinks.h"
#include <arpa/inet.h>
#include <errno.h>
#include <ftw.h>
#include <hdf5.h>
#include <hdf5_hl.h>
#include <math.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define SINKS_COMPLAIN_MS 10000

int64_t
zsat_sinks_now_ms (void)
{
    struct timespec ts;
    clock_gettime (CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void
zsat_sinks_complain (zsat_ctx_t *ctx, zsat_sinks_limiter_t *limiter, int level, const char *format,
                     ...)
{
    int64_t now = zsat_sinks_now_ms ();
    if (limiter->last_ms != 0 && now - limiter->last_ms < SINKS_COMPLAIN_MS) {
        limiter->suppressed++;
        return;
    }
    char message[512];
    va_list args;
    va_start (args, format);
    vsnprintf (message, sizeof message, format, args);
    va_end (args);
    if (limiter->suppressed)
        zsat_ctx_log (ctx, level, "%s (and %" PRIu64 " more like it since the last report)",
                      message, limiter->suppressed);
    else
        zsat_ctx_log (ctx, level, "%s", message);
    limiter->last_ms = now ? now : 1;
    limiter->suppressed = 0;
}

int
zsat_sinks_record (zsat_ctx_t *ctx, zsat_sinks_limiter_t *limiter, const zsat_vector_t *v,
                   zsat_record_t *r)
{
    if (!streq (v->serialization, ZSAT_RECORD_SERIALIZATION)) {
        zsat_ctx_count (ctx, "skipped", 1);
        zsat_sinks_complain (ctx, limiter, ZSAT_LOG_WARN,
                             "skipping task %" PRIu64 " of type %s: serialization '%s' is not '%s'",
                             v->task_id, v->type, v->serialization, ZSAT_RECORD_SERIALIZATION);
        return 1;
    }
    zsat_error_t err = {0};
    if (zsat_record_decode (r, v->payload, v->payload_size, &err) != 0) {
        zsat_ctx_count (ctx, "malformed", 1);
        zsat_sinks_complain (ctx, limiter, ZSAT_LOG_ERROR,
                             "malformed record in task %" PRIu64 " of type %s: %s", v->task_id,
                             v->type, err.text);
        return -1;
    }
    return 0;
}

void
zsat_sinks_iso_time (int64_t usecs, char *buf, size_t cap)
{
    time_t secs = (time_t)(usecs / 1000000);
    long micros = (long)(usecs % 1000000);
    if (micros < 0) {
        micros += 1000000;
        secs -= 1;
    }
    struct tm tm;
    gmtime_r (&secs, &tm);
    char date[40];
    strftime (date, sizeof date, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf (buf, cap, "%s.%06ldZ", date, micros);
}

int
zsat_sinks_number (double value, char *buf, size_t cap)
{
    if (isnan (value))
        return snprintf (buf, cap, "nan");
    if (isinf (value))
        return snprintf (buf, cap, value > 0 ? "inf" : "-inf");
    //  Most measurements print short at 15 digits; fall back to 17 only when it loses bits.
    for (int digits = 15; digits <= 17; digits++) {
        int len = snprintf (buf, cap, "%.*g", digits, value);
        if (strtod (buf, NULL) == value)
            return len;
    }
    return (int)strlen (buf);
}

void
zsat_sinks_sanitize (const char *src, char *dst, size_t cap, bool keep_dot)
{
    size_t len = 0;
    for (const char *c = src; *c && len + 1 < cap; c++) {
        bool ok = isalnum ((unsigned char)*c) || *c == '_' || *c == '-' ||
                  (keep_dot && *c == '.' && len > 0);
        dst[len++] = ok ? *c : '_';
    }
    if (len == 0 && cap > 1)
        dst[len++] = '_';
    if (cap > 0)
        dst[len] = 0;
}

int
zsat_sinks_mkdirs (const char *dir)
{
    char path[1024];
    if (snprintf (path, sizeof path, "%s", dir) >= (int)sizeof path) {
        errno = ENAMETOOLONG;
        return -1;
    }
    for (char *slash = path + 1; *slash; slash++) {
        if (*slash != '/')
            continue;
        *slash = 0;
        if (mkdir (path, 0755) != 0 && errno != EEXIST)
            return -1;
        *slash = '/';
    }
    if (mkdir (path, 0755) != 0 && errno != EEXIST)
        return -1;
    return 0;
}

//  The label of a grouped key: its part before the last dot, when both parts are non-empty.
static size_t
s_label_length (const char *key)
{
    const char *dot = strrchr (key, '.');
    return dot && dot > key && dot[1] ? (size_t)(dot - key) : 0;
}

static size_t
s_row_index (zsat_sinks_rows_t *self, const char *key, size_t length)
{
    for (size_t i = 0; i < self->count; i++)
        if (strlen (self->label[i]) == length && memcmp (self->label[i], key, length) == 0)
            return i;
    memcpy (self->label[self->count], key, length);
    self->label[self->count][length] = 0;
    return self->count++;
}

size_t
zsat_sinks_rows_split (zsat_sinks_rows_t *self, const zsat_record_t *r)
{
    self->record = r;
    self->column[0] = 0;
    self->count = 0;
    const zsat_field_value_t *marker = zsat_record_find (r, ZSAT_SINKS_ROWS_KEY);
    if (!marker || marker->is_number || !*marker->text ||
        strlen (marker->text) >= ZSAT_RECORD_KEY_MAX) {
        self->count = 1;  //  a plain record (a bad marker is an ordinary field)
        return 1;
    }
    snprintf (self->column, sizeof self->column, "%s", marker->text);
    for (size_t i = 0; i < r->count; i++) {
        size_t length = s_label_length (r->field[i].key);
        self->split[i] = (uint8_t)length;
        if (&r->field[i] == marker)
            self->row_of[i] = UINT16_MAX;
        else
            self->row_of[i] =
                length ? (uint16_t)(s_row_index (self, r->field[i].key, length) + 1) : 0;
    }
    if (self->count == 0) {
        self->label[0][0] = 0;  //  no labelled key: one row of the common keys
        self->count = 1;
    }
    return self->count;
}

static void
s_row_add (zsat_record_t *row, const char *key, const zsat_field_value_t *f)
{
    if (zsat_record_find (row, key))
        return;  //  the first of two equal keys wins (the row column first of all)
    if (f->is_number)
        zsat_record_add_number (row, key, f->number);
    else
        zsat_record_add_text (row, key, f->text);
}

const zsat_record_t *
zsat_sinks_rows_get (const zsat_sinks_rows_t *self, size_t i, zsat_record_t *row)
{
    if (!*self->column)
        return self->record;
    const zsat_record_t *r = self->record;
    zsat_record_reset (row);
    zsat_record_add_text (row, self->column, self->label[i]);
    for (size_t j = 0; j < r->count; j++) {
        const zsat_field_value_t *f = &r->field[j];
        if (self->row_of[j] == 0)
            s_row_add (row, f->key, f);
        else if (self->row_of[j] == i + 1)
            s_row_add (row, f->key + self->split[j] + 1, f);
    }
    return row;
}

const zsat_record_t *
zsat_sinks_rows_columns (const zsat_sinks_rows_t *self, zsat_record_t *out)
{
    if (!*self->column)
        return self->record;
    const zsat_record_t *r = self->record;
    zsat_record_reset (out);
    zsat_record_add_text (out, self->column, self->label[0]);
    for (size_t j = 0; j < r->count; j++)
        if (self->row_of[j] != UINT16_MAX)
            s_row_add (out, r->field[j].key + (self->row_of[j] ? self->split[j] + 1 : 0),
                       &r->field[j]);
    return out;
}

//  --- Selftest ---

//  A kind's config with its option defaults, then overrides given as "key", "value" pairs
//  ending with NULL. The runtime has its own parser; this covers the values the test uses.
static void *
s_config (const zsat_kind_t *kind, ...)
{
    uint8_t *config = (uint8_t *)calloc (1, kind->config_size);
    assert (config);
    for (const zsat_option_t *o = kind->options; o && o->name; o++) {
        const char *value = o->default_value;
        va_list args;
        va_start (args, kind);
        for (const char *key = va_arg (args, const char *); key;
             key = va_arg (args, const char *)) {
            const char *given = va_arg (args, const char *);
            if (streq (key, o->name))
                value = given;
        }
        va_end (args);
        if (o->type == ZSAT_OPT_STRING) {
            assert (strlen (value) < o->size);
            strcpy ((char *)config + o->offset, value);
            continue;
        }
        char *end;
        int64_t number = strtoll (value, &end, 10);
        if (o->type == ZSAT_OPT_DURATION && streq (end, "s"))
            number *= 1000;
        else
            assert (*end == 0 || (o->type == ZSAT_OPT_DURATION && streq (end, "ms")));
        memcpy (config + o->offset, &number, sizeof number);
    }
    return config;
}

static const zsat_kind_t *
s_start (zsat_ctx_t *ctx, const char *name, void **state, void *config)
{
    const zsat_kind_t *kind = zsat_kind_find (name);
    assert (kind && kind->role == ZSAT_ROLE_SINK);
    assert (kind->init (ctx, config, state) == 0);
    free (config);
    return kind;
}

//  Fills v as a probe's measurement: a zsat.record payload encoded into buf.
static void
s_vector (zsat_vector_t *v, const char *type, const char *step, uint64_t task_id, int64_t timestamp,
          const zsat_record_t *r, uint8_t *buf, size_t cap)
{
    zsat_vector_init (v);
    v->event = ZSAT_EV_END;
    snprintf (v->where, sizeof v->where, "h1");
    snprintf (v->step, sizeof v->step, "%s", step);
    snprintf (v->type, sizeof v->type, "%s", type);
    snprintf (v->serialization, sizeof v->serialization, ZSAT_RECORD_SERIALIZATION);
    v->task_id = task_id;
    v->timestamp = timestamp;
    int size = zsat_record_encode (r, buf, cap);
    assert (size > 0);
    zsat_vector_set_payload (v, buf, (size_t)size);
}

//  A record of the probe "cpu": load, user, state, plus steal when steal >= 0.
static void
s_cpu_record (zsat_record_t *r, int i, double steal)
{
    zsat_record_reset (r);
    zsat_record_add_number (r, "load", i * 0.5);
    zsat_record_add_number (r, "user", 100 + i);
    char state[32];
    snprintf (state, sizeof state, i == 0 ? "a,\"b\"" : "s%d", i);
    zsat_record_add_text (r, "state", state);
    if (steal >= 0)
        zsat_record_add_number (r, "steal", steal);
}

#define SINKS_T0 1700000000000000LL

static zsat_result_t
s_feed_cpu (const zsat_kind_t *kind, zsat_ctx_t *ctx, void *state, int i, double steal)
{
    zsat_record_t *r = (zsat_record_t *)malloc (sizeof (zsat_record_t));
    uint8_t buf[4096];
    zsat_vector_t v;
    s_cpu_record (r, i, steal);
    s_vector (&v, "cpu", "cpu", 1000 + (uint64_t)i, SINKS_T0 + i * 1000000LL, r, buf, sizeof buf);
    zsat_result_t result = kind->handle (ctx, state, &v);
    free (r);
    return result;
}

//  Feeds a vector of another serialization and a malformed record: counted, not stored.
static void
s_feed_bad (const zsat_kind_t *kind, zsat_ctx_t *ctx, void *state)
{
    zsat_vector_t v;
    static const uint8_t junk[] = {0xc1, 0x00, 0xff};
    zsat_vector_init (&v);
    snprintf (v.type, sizeof v.type, "cpu");
    zsat_vector_set_payload (&v, junk, sizeof junk);
    assert (kind->handle (ctx, state, &v) == ZSAT_SKIP);
    snprintf (v.serialization, sizeof v.serialization, ZSAT_RECORD_SERIALIZATION);
    assert (kind->handle (ctx, state, &v) == ZSAT_ERROR);
    assert (zsat_ctx_counter (ctx, "skipped") == 1);
    assert (zsat_ctx_counter (ctx, "malformed") == 1);
}

static char *
s_slurp (const char *path)
{
    FILE *file = fopen (path, "rb");
    assert (file);
    char *text = (char *)calloc (1, 1 << 20);
    assert (text);
    size_t size = fread (text, 1, (1 << 20) - 1, file);
    text[size] = 0;
    fclose (file);
    return text;
}

static bool
s_ends_with (const char *text, const char *suffix)
{
    size_t len = strlen (text), tail = strlen (suffix);
    return len >= tail && streq (text + len - tail, suffix);
}

static int
s_remove (const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    return remove (path);
}

//  A write cut short (file size limit: part of the line written, then EFBIG) leaves no
//  partial line: the sink truncates it away and fails the vector; the next one is stored.
static void
s_test_csv_torn (const zsat_kind_t *csv, zsat_ctx_t *ctx, void *state, const char *path,
                 size_t size)
{
    struct rlimit saved, limit;
    assert (getrlimit (RLIMIT_FSIZE, &saved) == 0);
    limit = saved;
    limit.rlim_cur = size + 10;
    signal (SIGXFSZ, SIG_IGN);
    assert (setrlimit (RLIMIT_FSIZE, &limit) == 0);
    assert (s_feed_cpu (csv, ctx, state, 5, 9) == ZSAT_ERROR);
    assert (setrlimit (RLIMIT_FSIZE, &saved) == 0);
    signal (SIGXFSZ, SIG_DFL);
    char *text = s_slurp (path);
    assert (strlen (text) == size);
    free (text);
    assert (s_feed_cpu (csv, ctx, state, 5, 9) == ZSAT_OK);
    text = s_slurp (path);
    assert (s_ends_with (text, "\n2023-11-14T22:13:25.000000Z,h1,cpu,1005,2.5,105,s5,9\n"));
    free (text);
}

//  flush=interval: rows wait in the buffer until a tick (or vector) after the interval.
static void
s_test_csv_interval (zsat_ctx_t *ctx, const char *dir)
{
    char path[512];
    snprintf (path, sizeof path, "%s/interval", dir);
    void *state;
    const zsat_kind_t *csv = zsat_kind_find ("csv");
    s_start (ctx, "csv", &state,
             s_config (csv, "dir", path, "flush", "interval", "flush_interval", "1ms", NULL));
    assert (zsat_ctx_tick (ctx) == 1000);
    assert (s_feed_cpu (csv, ctx, state, 1, -1) == ZSAT_OK);
    usleep (5 * 1000);
    snprintf (path, sizeof path, "%s/interval/cpu.csv", dir);
    char *text = s_slurp (path);
    assert (!strstr (text, "s1") || strstr (text, "\n2023"));  //  a row only if whole
    free (text);
    csv->tick (ctx, state, NULL);
    text = s_slurp (path);
    assert (s_ends_with (text, "\n2023-11-14T22:13:21.000000Z,h1,cpu,1001,0.5,101,s1\n"));
    free (text);
    csv->exit (ctx, state);
}

static void
s_test_csv (const char *dir)
{
    zsat_ctx_t *ctx = zsat_ctx_new ("topo", "h1", "csvsink", 0, dir);
    zsat_ctx_set_log_level (ctx, -1);  //  the failures provoked here log errors
    void *state;
    //  Default directory <run_dir>/<host>/csv, flush=none: rows reach the file at exit.
    const zsat_kind_t *csv =
        s_start (ctx, "csv", &state, s_config (zsat_kind_find ("csv"), "flush", "none", NULL));
    for (int i = 0; i < 3; i++)
        assert (s_feed_cpu (csv, ctx, state, i, -1) == ZSAT_OK);
    char path[512];
    snprintf (path, sizeof path, "%s/h1/csv/cpu.csv", dir);
    char *text = s_slurp (path);
    assert (streq (text, "time,host,node,task_id,load,user,state\n"));
    free (text);
    assert (s_feed_cpu (csv, ctx, state, 3, 7) == ZSAT_OK);  //  new key: part 2
    s_feed_bad (csv, ctx, state);
    csv->exit (ctx, state);
    assert (zsat_ctx_counter (ctx, "rows") == 4);
    text = s_slurp (path);
    assert (streq (text, "time,host,node,task_id,load,user,state\n"
                         "2023-11-14T22:13:20.000000Z,h1,cpu,1000,0,100,\"a,\"\"b\"\"\"\n"
                         "2023-11-14T22:13:21.000000Z,h1,cpu,1001,0.5,101,s1\n"
                         "2023-11-14T22:13:22.000000Z,h1,cpu,1002,1,102,s2\n"));
    free (text);
    //  A second run with flush=every appends to part 2, whose columns cover the record.
    snprintf (path, sizeof path, "%s/h1/csv", dir);
    csv = s_start (ctx, "csv", &state, s_config (csv, "dir", path, "flush", "every", NULL));
    assert (s_feed_cpu (csv, ctx, state, 4, 8) == ZSAT_OK);
    snprintf (path, sizeof path, "%s/h1/csv/cpu.2.csv", dir);
    text = s_slurp (path);
    assert (streq (text, "time,host,node,task_id,load,user,state,steal\n"
                         "2023-11-14T22:13:23.000000Z,h1,cpu,1003,1.5,103,s3,7\n"
                         "2023-11-14T22:13:24.000000Z,h1,cpu,1004,2,104,s4,8\n"));
    s_test_csv_torn (csv, ctx, state, path, strlen (text));
    free (text);
    csv->exit (ctx, state);
    s_test_csv_interval (ctx, dir);
    zsat_ctx_destroy (&ctx);
}

static void
s_test_log (const char *dir)
{
    zsat_ctx_t *ctx = zsat_ctx_new ("topo", "h1", "logsink", 0, dir);
    char path[512];
    snprintf (path, sizeof path, "%s/sink.log", dir);
    void *state;
    const zsat_kind_t *log =
        s_start (ctx, "log", &state, s_config (zsat_kind_find ("log"), "file", path, NULL));
    assert (s_feed_cpu (log, ctx, state, 0, -1) == ZSAT_OK);
    zsat_vector_t v;
    zsat_vector_init (&v);
    static const uint8_t binary[] = {0x00, 0x01, 0x02, 0xff};
    zsat_vector_set_payload (&v, binary, sizeof binary);
    assert (log->handle (ctx, state, &v) == ZSAT_OK);
    zsat_vector_set_payload (&v, "hello \"you\"\n", 12);
    assert (log->handle (ctx, state, &v) == ZSAT_OK);
    log->exit (ctx, state);
    assert (zsat_ctx_counter (ctx, "rows") == 3);
    char *text = s_slurp (path);
    char *line[4] = {NULL}, *rest = NULL;
    size_t lines = 0;
    for (char *c = strtok_r (text, "\n", &rest); c && lines < 4; c = strtok_r (NULL, "\n", &rest))
        line[lines++] = c;
    assert (lines == 3);
    assert (s_ends_with (line[0], " load=0 user=100 state=\"a,\\\"b\\\"\""));
    assert (strstr (line[0], "1000"));
    assert (s_ends_with (line[1], " hex=000102ff"));
    assert (s_ends_with (line[2], " raw=\"hello \\\"you\\\"\\n\""));
    free (text);
    zsat_ctx_destroy (&ctx);
}

typedef struct {
    int64_t timestamp;
    uint64_t task_id;
    char host[64];
    char node[64];
    double load, user, steal;
    char state[128];
} s_cpu_row_t;

//  The memory type the test reads cpu rows into: fields picked by name, in its own order.
static hid_t
s_cpu_memtype (bool with_steal)
{
    hid_t s64 = H5Tcopy (H5T_C_S1), s128 = H5Tcopy (H5T_C_S1);
    H5Tset_size (s64, 64);
    H5Tset_size (s128, 128);
    hid_t type = H5Tcreate (H5T_COMPOUND, sizeof (s_cpu_row_t));
    assert (type >= 0);
    H5Tinsert (type, "timestamp", HOFFSET (s_cpu_row_t, timestamp), H5T_NATIVE_INT64);
    H5Tinsert (type, "task_id", HOFFSET (s_cpu_row_t, task_id), H5T_NATIVE_UINT64);
    H5Tinsert (type, "host", HOFFSET (s_cpu_row_t, host), s64);
    H5Tinsert (type, "node", HOFFSET (s_cpu_row_t, node), s64);
    H5Tinsert (type, "load", HOFFSET (s_cpu_row_t, load), H5T_NATIVE_DOUBLE);
    H5Tinsert (type, "user", HOFFSET (s_cpu_row_t, user), H5T_NATIVE_DOUBLE);
    H5Tinsert (type, "state", HOFFSET (s_cpu_row_t, state), s128);
    if (with_steal)
        H5Tinsert (type, "steal", HOFFSET (s_cpu_row_t, steal), H5T_NATIVE_DOUBLE);
    H5Tclose (s64);
    H5Tclose (s128);
    return type;
}

//  Reads a whole packet table into rows with memtype. Returns its record count.
static size_t
s_read_table (hid_t file, const char *name, hid_t memtype, void *rows, size_t max)
{
    hid_t table = H5PTopen (file, name);
    assert (table >= 0);
    hsize_t count = 0;
    assert (H5PTget_num_packets (table, &count) >= 0 && count <= max);
    assert (H5Dread (H5PTget_dataset (table), memtype, H5S_ALL, H5S_ALL, H5P_DEFAULT, rows) >= 0);
    H5PTclose (table);
    return (size_t)count;
}

static void
s_check_cpu_row (const s_cpu_row_t *row, int i, double steal)
{
    assert (row->timestamp == SINKS_T0 + i * 1000000LL);
    assert (row->task_id == 1000 + (uint64_t)i);
    assert (streq (row->host, "h1") && streq (row->node, "cpu"));
    assert (row->load == i * 0.5 && row->user == 100 + i);
    char state[32];
    snprintf (state, sizeof state, i == 0 ? "a,\"b\"" : "s%d", i);
    assert (streq (row->state, state));
    assert (steal >= 0 ? row->steal == steal : isnan (row->steal));
}

static void
s_feed_mem (const zsat_kind_t *kind, zsat_ctx_t *ctx, void *state)
{
    zsat_record_t *r = (zsat_record_t *)malloc (sizeof (zsat_record_t));
    zsat_record_reset (r);
    zsat_record_add_number (r, "used", 123);
    zsat_record_add_text (r, "host", "x");  //  clashes with a fixed column: stored as host_
    uint8_t buf[256];
    zsat_vector_t v;
    s_vector (&v, "mem", "mem", 2000, SINKS_T0, r, buf, sizeof buf);
    assert (kind->handle (ctx, state, &v) == ZSAT_OK);
    free (r);
}

//  Two runs of the hdf5 sink on one file: /cpu (10 rows), /cpu.2 (a new key), /mem.
static void
s_write_hdf5 (zsat_ctx_t *ctx, const char *path)
{
    void *state;
    const zsat_kind_t *hdf5 = zsat_kind_find ("hdf5");
    s_start (ctx, "hdf5", &state, s_config (hdf5, "file", path, "batch", "4", NULL));
    for (int i = 0; i < 10; i++)
        assert (s_feed_cpu (hdf5, ctx, state, i, -1) == ZSAT_OK);
    assert (s_feed_cpu (hdf5, ctx, state, 10, 7) == ZSAT_OK);
    s_feed_mem (hdf5, ctx, state);
    s_feed_bad (hdf5, ctx, state);
    hdf5->exit (ctx, state);
    assert (zsat_ctx_counter (ctx, "rows") == 12);
    //  Reopened: /cpu.2 covers a record without steal (stored as NaN) and one with it.
    s_start (ctx, "hdf5", &state, s_config (hdf5, "file", path, NULL));
    assert (s_feed_cpu (hdf5, ctx, state, 11, -1) == ZSAT_OK);
    assert (s_feed_cpu (hdf5, ctx, state, 12, 9) == ZSAT_OK);
    hdf5->exit (ctx, state);
}

static void
s_test_hdf5 (const char *dir)
{
    zsat_ctx_t *ctx = zsat_ctx_new ("topo", "h1", "hdf5sink", 0, dir);
    zsat_ctx_set_log_level (ctx, -1);  //  the failures provoked here log errors
    char path[512];
    const char *keep = getenv ("ZSAT_SINKS_KEEP");
    snprintf (path, sizeof path, "%s", keep ? keep : "");
    if (!keep)
        snprintf (path, sizeof path, "%s/measurements.h5", dir);
    unlink (path);
    s_write_hdf5 (ctx, path);
    hid_t file = H5Fopen (path, H5F_ACC_RDONLY, H5P_DEFAULT);
    assert (file >= 0);
    s_cpu_row_t rows[16];
    for (int i = 0; i < 16; i++)
        rows[i].steal = NAN;  //  /cpu has no steal column: the read leaves it alone
    hid_t memtype = s_cpu_memtype (false);
    assert (s_read_table (file, "/cpu", memtype, rows, 16) == 10);
    for (int i = 0; i < 10; i++)
        s_check_cpu_row (&rows[i], i, -1);
    H5Tclose (memtype);
    memtype = s_cpu_memtype (true);
    assert (s_read_table (file, "/cpu.2", memtype, rows, 16) == 3);
    s_check_cpu_row (&rows[0], 10, 7);
    s_check_cpu_row (&rows[1], 11, -1);
    s_check_cpu_row (&rows[2], 12, 9);
    H5Tclose (memtype);
    assert (H5Lexists (file, "/cpu.3", H5P_DEFAULT) == 0);
    struct {
        double used;
        char host[128];
    } mem;
    hid_t s128 = H5Tcopy (H5T_C_S1);
    H5Tset_size (s128, 128);
    memtype = H5Tcreate (H5T_COMPOUND, sizeof mem);
    H5Tinsert (memtype, "used", 0, H5T_NATIVE_DOUBLE);
    H5Tinsert (memtype, "host_", 8, s128);
    assert (s_read_table (file, "/mem", memtype, &mem, 1) == 1);
    assert (mem.used == 123 && streq (mem.host, "x"));
    H5Tclose (memtype);
    H5Tclose (s128);
    H5Fclose (file);
    zsat_ctx_destroy (&ctx);
}

//  A file that is not HDF5 is moved aside; a second sink finding the default file in use
//  (HDF5 holds an flock on it) writes measurements.<instance>.h5 instead.
static void
s_test_hdf5_files (const char *dir)
{
    zsat_ctx_t *first = zsat_ctx_new ("topo", "h2", "hdf5sink", 0, dir);
    zsat_ctx_t *second = zsat_ctx_new ("topo", "h2", "hdf5sink", 1, dir);
    zsat_ctx_set_log_level (first, -1);
    zsat_ctx_set_log_level (second, -1);
    char path[512];
    snprintf (path, sizeof path, "%s/h2", dir);
    assert (zsat_sinks_mkdirs (path) == 0);
    snprintf (path, sizeof path, "%s/h2/measurements.h5", dir);
    FILE *junk = fopen (path, "w");
    assert (junk && fputs ("not an HDF5 file\n", junk) >= 0);
    fclose (junk);
    void *state_a, *state_b;
    const zsat_kind_t *hdf5 = zsat_kind_find ("hdf5");
    s_start (first, "hdf5", &state_a, s_config (hdf5, NULL));
    s_start (second, "hdf5", &state_b, s_config (hdf5, NULL));
    assert (s_feed_cpu (hdf5, first, state_a, 0, -1) == ZSAT_OK);
    assert (s_feed_cpu (hdf5, second, state_b, 1, -1) == ZSAT_OK);
    hdf5->exit (first, state_a);
    hdf5->exit (second, state_b);
    s_cpu_row_t row;
    row.steal = NAN;
    hid_t memtype = s_cpu_memtype (false);
    hid_t file = H5Fopen (path, H5F_ACC_RDONLY, H5P_DEFAULT);
    assert (file >= 0 && s_read_table (file, "/cpu", memtype, &row, 1) == 1);
    s_check_cpu_row (&row, 0, -1);
    H5Fclose (file);
    snprintf (path, sizeof path, "%s/h2/measurements.1.h5", dir);
    file = H5Fopen (path, H5F_ACC_RDONLY, H5P_DEFAULT);
    assert (file >= 0 && s_read_table (file, "/cpu", memtype, &row, 1) == 1);
    s_check_cpu_row (&row, 1, -1);
    H5Fclose (file);
    H5Tclose (memtype);
    snprintf (path, sizeof path, "%s/h2", dir);
    zdir_t *listing = zdir_new (path, NULL);
    assert (listing && zdir_count (listing) == 3);  //  measurements.h5, .1.h5, .h5.broken-*
    zdir_destroy (&listing);
    zsat_ctx_destroy (&first);
    zsat_ctx_destroy (&second);
}

//  A TCP listener on 127.0.0.1:port (0 = any free port). Returns the fd; sets *port.
static int
s_listen (int *port, bool do_listen)
{
    int fd = socket (AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    assert (fd >= 0);
    int one = 1;
    setsockopt (fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    struct sockaddr_in addr = {0};
    addr.sin_family = AF_INET;
    addr.sin_port = htons ((uint16_t)*port);
    addr.sin_addr.s_addr = htonl (INADDR_LOOPBACK);
    assert (bind (fd, (struct sockaddr *)&addr, sizeof addr) == 0);
    assert (!do_listen || listen (fd, 4) == 0);
    socklen_t size = sizeof addr;
    assert (getsockname (fd, (struct sockaddr *)&addr, &size) == 0);
    *port = ntohs (addr.sin_port);
    return fd;
}

//  Ticks the sink until it connects to listener; returns the accepted fd (bounded: 10 s).
static int
s_accept (const zsat_kind_t *carbon, zsat_ctx_t *ctx, void *state, int listener)
{
    for (int i = 0; i < 1000; i++) {
        carbon->tick (ctx, state, NULL);
        struct pollfd item = {listener, POLLIN, 0};
        if (poll (&item, 1, 10) == 1)
            return accept4 (listener, NULL, NULL, SOCK_CLOEXEC);
    }
    assert (false);
    return -1;
}

//  Ticks the sink and reads from conn until text holds `lines` lines (bounded: 10 s).
static void
s_receive (const zsat_kind_t *carbon, zsat_ctx_t *ctx, void *state, int conn, char *text,
           size_t cap, int lines)
{
    size_t size = strlen (text);
    for (int i = 0; i < 1000; i++) {
        int seen = 0;
        for (const char *c = text; (c = strchr (c, '\n')); c++)
            seen++;
        if (seen >= lines)
            return;
        if (carbon && state)
            carbon->tick (ctx, state, NULL);
        struct pollfd item = {conn, POLLIN, 0};
        if (poll (&item, 1, 10) == 1) {
            ssize_t got = recv (conn, text + size, cap - size - 1, 0);
            assert (got > 0);
            size += (size_t)got;
            text[size] = 0;
        }
    }
    assert (false);
}

static void
s_wait_counter (const zsat_kind_t *carbon, zsat_ctx_t *ctx, void *state, const char *name,
                uint64_t value)
{
    for (int i = 0; i < 1000 && zsat_ctx_counter (ctx, name) < value; i++) {
        carbon->tick (ctx, state, NULL);
        usleep (10 * 1000);
    }
    assert (zsat_ctx_counter (ctx, name) == value);
}

//  Sends, loses the server (listener and connection closed), queues, gets it back.
static void
s_test_carbon_reconnect (zsat_ctx_t *ctx)
{
    int port = 0, listener = s_listen (&port, true);
    char text_port[16];
    snprintf (text_port, sizeof text_port, "%d", port);
    void *state;
    const zsat_kind_t *carbon = zsat_kind_find ("carbon");
    s_start (ctx, "carbon", &state,
             s_config (carbon, "port", text_port, "reconnect_min", "10ms", "reconnect_max", "50ms",
                       NULL));
    assert (s_feed_cpu (carbon, ctx, state, 0, -1) == ZSAT_OK);
    assert (s_feed_cpu (carbon, ctx, state, 1, -1) == ZSAT_OK);
    int conn = s_accept (carbon, ctx, state, listener);
    char text[4096] = "";
    s_receive (carbon, ctx, state, conn, text, sizeof text, 4);
    assert (streq (text, "zsat.topo_x.h1.cpu.load 0 1700000000\n"
                         "zsat.topo_x.h1.cpu.user 100 1700000000\n"
                         "zsat.topo_x.h1.cpu.load 0.5 1700000001\n"
                         "zsat.topo_x.h1.cpu.user 101 1700000001\n"));
    close (conn);
    close (listener);
    s_wait_counter (carbon, ctx, state, "carbon_disconnects", 1);
    assert (s_feed_cpu (carbon, ctx, state, 2, -1) == ZSAT_OK);  //  queued while away
    listener = s_listen (&port, true);
    conn = s_accept (carbon, ctx, state, listener);
    text[0] = 0;
    s_receive (carbon, ctx, state, conn, text, sizeof text, 2);
    assert (streq (text, "zsat.topo_x.h1.cpu.load 1 1700000002\n"
                         "zsat.topo_x.h1.cpu.user 102 1700000002\n"));
    assert (zsat_ctx_counter (ctx, "carbon_connects") == 2);
    //  Exit sends what was accepted last.
    assert (s_feed_cpu (carbon, ctx, state, 3, 5) == ZSAT_OK);
    carbon->exit (ctx, state);
    text[0] = 0;
    s_receive (NULL, ctx, NULL, conn, text, sizeof text, 3);
    assert (strstr (text, "zsat.topo_x.h1.cpu.steal 5 1700000003\n"));
    assert (zsat_ctx_counter (ctx, "carbon_sent") == 9);
    assert (zsat_ctx_counter (ctx, "carbon_dropped") == 0);
    close (conn);
    close (listener);
}

//  No server (a bound port nobody listens on): a queue of 5 lines keeps 5 of 8, exit drops
//  them after its bounded flush. Every drop is counted.
static void
s_test_carbon_full (zsat_ctx_t *ctx)
{
    int port = 0, closed = s_listen (&port, false);
    char text_port[16];
    snprintf (text_port, sizeof text_port, "%d", port);
    void *state;
    const zsat_kind_t *carbon = zsat_kind_find ("carbon");
    s_start (ctx, "carbon", &state,
             s_config (carbon, "port", text_port, "queue", "5", "exit_timeout", "50ms", NULL));
    for (int i = 0; i < 4; i++)
        assert (s_feed_cpu (carbon, ctx, state, i, -1) == ZSAT_OK);
    assert (zsat_ctx_counter (ctx, "carbon_dropped") == 3);
    carbon->exit (ctx, state);
    assert (zsat_ctx_counter (ctx, "carbon_dropped") == 8);
    assert (zsat_ctx_counter (ctx, "carbon_sent") == 0);
    close (closed);
}

//  With ZSAT_CARBON_PORT set (tests/e2e/sinks_carbon.sh): 10 points of
//  zsat.sinkse2e.h1.probe.value = 0..9, one per second ending now, to a real carbon-cache.
static void
s_test_carbon_external (const char *port)
{
    zsat_ctx_t *ctx = zsat_ctx_new ("sinkse2e", "h1", "carbonsink", 0, "/tmp");
    void *state;
    const zsat_kind_t *carbon = zsat_kind_find ("carbon");
    s_start (ctx, "carbon", &state, s_config (carbon, "port", port, "exit_timeout", "10s", NULL));
    int64_t now = (int64_t)time (NULL) * 1000000;
    zsat_record_t *r = (zsat_record_t *)malloc (sizeof (zsat_record_t));
    for (int i = 0; i < 10; i++) {
        zsat_record_reset (r);
        zsat_record_add_number (r, "value", i);
        uint8_t buf[256];
        zsat_vector_t v;
        s_vector (&v, "e2e", "probe", 1 + (uint64_t)i, now - (9 - i) * 1000000LL, r, buf,
                  sizeof buf);
        assert (carbon->handle (ctx, state, &v) == ZSAT_OK);
    }
    free (r);
    carbon->exit (ctx, state);
    assert (zsat_ctx_counter (ctx, "carbon_sent") == 10);
    zsat_ctx_destroy (&ctx);
}

static void
s_test_carbon (const char *dir)
{
    zsat_ctx_t *ctx = zsat_ctx_new ("topo.x", "h1", "carbonsink", 0, dir);
    zsat_ctx_set_log_level (ctx, -1);  //  the failures provoked here log errors
    s_test_carbon_reconnect (ctx);
    zsat_ctx_destroy (&ctx);
    ctx = zsat_ctx_new ("topo", "h1", "carbonsink", 0, dir);
    zsat_ctx_set_log_level (ctx, -1);  //  the failures provoked here log errors
    s_test_carbon_full (ctx);
    zsat_ctx_destroy (&ctx);
    if (getenv ("ZSAT_CARBON_PORT"))
        s_test_carbon_external (getenv ("ZSAT_CARBON_PORT"));
}

//  With ZSAT_SINKS_CRASH=dir (tests/e2e/sinks_kill9.py): csv (flush=every) and hdf5 store
//  20 records, hdf5 flushes, 5 more are accepted, then the process kills itself with SIGKILL
//  (exit never runs). The script checks 25 csv rows and 20 hdf5 records survive.
static void
s_crash (const char *dir)
{
    zsat_ctx_t *ctx = zsat_ctx_new ("topo", "h1", "crash", 0, dir);
    void *csv_state, *hdf5_state;
    const zsat_kind_t *csv = zsat_kind_find ("csv"), *hdf5 = zsat_kind_find ("hdf5");
    s_start (ctx, "csv", &csv_state, s_config (csv, "flush", "every", NULL));
    s_start (ctx, "hdf5", &hdf5_state,
             s_config (hdf5, "batch", "1000", "flush_interval", "1ms", NULL));
    for (int i = 0; i < 20; i++) {
        assert (s_feed_cpu (csv, ctx, csv_state, i, -1) == ZSAT_OK);
        assert (s_feed_cpu (hdf5, ctx, hdf5_state, i, -1) == ZSAT_OK);
    }
    usleep (5 * 1000);
    hdf5->tick (ctx, hdf5_state, NULL);  //  the interval passed: append and H5Fflush
    for (int i = 20; i < 25; i++) {
        assert (s_feed_cpu (csv, ctx, csv_state, i, -1) == ZSAT_OK);
        assert (s_feed_cpu (hdf5, ctx, hdf5_state, i, -1) == ZSAT_OK);
    }
    fflush (stdout);
    raise (SIGKILL);
}

//  A net-like record: interfaces names[0..n) (one with a dot, as a VLAN), "zsat.rows".
static void
s_net_record (zsat_record_t *r, const char *const *names, size_t n, int i)
{
    zsat_record_reset (r);
    for (size_t k = 0; k < n; k++) {
        char key[ZSAT_RECORD_KEY_MAX];
        snprintf (key, sizeof key, "%s.rx_bytes", names[k]);
        zsat_record_add_number (r, key, 100 * i + (double)k);
        snprintf (key, sizeof key, "%s.state", names[k]);
        zsat_record_add_text (r, key, "up");
    }
    zsat_record_add_number (r, "interfaces", (double)n);
    zsat_record_add_text (r, ZSAT_SINKS_ROWS_KEY, "iface");
}

static void
s_test_rows_split (void)
{
    zsat_record_t *r = (zsat_record_t *)malloc (sizeof (zsat_record_t));
    zsat_record_t *row = (zsat_record_t *)malloc (sizeof (zsat_record_t));
    zsat_sinks_rows_t *rows = (zsat_sinks_rows_t *)malloc (sizeof (zsat_sinks_rows_t));
    const char *names[] = {"lo", "eth0.100"};
    s_net_record (r, names, 2, 1);
    zsat_record_add_number (r, "odd.", 1);  //  no field after the dot: common
    assert (zsat_sinks_rows_split (rows, r) == 2);
    const zsat_record_t *got = zsat_sinks_rows_get (rows, 1, row);
    assert (got == row && row->count == 5);
    assert (streq (row->field[0].key, "iface") && streq (row->field[0].text, "eth0.100"));
    assert (streq (row->field[1].key, "rx_bytes") && row->field[1].number == 101);
    assert (streq (row->field[2].key, "state") && streq (row->field[2].text, "up"));
    assert (streq (row->field[3].key, "interfaces") && streq (row->field[4].key, "odd."));
    got = zsat_sinks_rows_columns (rows, row);
    assert (got->count == 5 && streq (got->field[0].text, "lo"));
    //  Without a marker (or with a number as marker) a record is one row: itself.
    s_cpu_record (r, 1, 3);
    assert (zsat_sinks_rows_split (rows, r) == 1 && zsat_sinks_rows_get (rows, 0, row) == r);
    zsat_record_add_number (r, ZSAT_SINKS_ROWS_KEY, 1);
    assert (zsat_sinks_rows_split (rows, r) == 1 && zsat_sinks_rows_columns (rows, row) == r);
    //  A marker and no labelled key: one row of the common keys, the label empty.
    s_net_record (r, names, 0, 1);
    assert (zsat_sinks_rows_split (rows, r) == 1);
    got = zsat_sinks_rows_get (rows, 0, row);
    assert (got->count == 2 && streq (got->field[0].text, "") && got->field[1].number == 0);
    free (rows);
    free (row);
    free (r);
}

//  Interfaces that come and go: csv and hdf5 keep one file / one table for the type.
static void
s_test_rows_sinks (const char *dir)
{
    zsat_ctx_t *ctx = zsat_ctx_new ("topo", "h3", "rowsink", 0, dir);
    char path[512];
    snprintf (path, sizeof path, "%s/rows.h5", dir);
    void *csv_state, *hdf5_state;
    const zsat_kind_t *csv = zsat_kind_find ("csv"), *hdf5 = zsat_kind_find ("hdf5");
    s_start (ctx, "csv", &csv_state, s_config (csv, "flush", "every", NULL));
    s_start (ctx, "hdf5", &hdf5_state, s_config (hdf5, "file", path, "batch", "2", NULL));
    const char *names[] = {"lo", "dummy0", "dummy1"};
    zsat_record_t *r = (zsat_record_t *)malloc (sizeof (zsat_record_t));
    uint8_t buf[4096];
    size_t sets[] = {1, 3, 2, 1};  //  lo; lo dummy0 dummy1; lo dummy0; lo
    for (int i = 0; i < 4; i++) {
        s_net_record (r, names, sets[i], i);
        zsat_vector_t v;
        s_vector (&v, "net", "net", 3000 + (uint64_t)i, SINKS_T0 + i * 1000000LL, r, buf,
                  sizeof buf);
        assert (csv->handle (ctx, csv_state, &v) == ZSAT_OK);
        assert (hdf5->handle (ctx, hdf5_state, &v) == ZSAT_OK);
    }
    free (r);
    csv->exit (ctx, csv_state);
    hdf5->exit (ctx, hdf5_state);
    snprintf (path, sizeof path, "%s/h3/csv/net.csv", dir);
    char *text = s_slurp (path);
    const char *head = "time,host,node,task_id,iface,rx_bytes,state,interfaces\n"
                       "2023-11-14T22:13:20.000000Z,h1,net,3000,lo,0,up,1\n";
    assert (strncmp (text, head, strlen (head)) == 0);
    assert (s_ends_with (text, "3002,dummy0,201,up,2\n"
                               "2023-11-14T22:13:23.000000Z,h1,net,3003,lo,300,up,1\n"));
    free (text);
    snprintf (path, sizeof path, "%s/h3/csv/net.2.csv", dir);
    assert (access (path, F_OK) != 0);
    snprintf (path, sizeof path, "%s/rows.h5", dir);
    hid_t file = H5Fopen (path, H5F_ACC_RDONLY, H5P_DEFAULT);
    assert (file >= 0 && H5Lexists (file, "/net.2", H5P_DEFAULT) == 0);
    hid_t table = H5PTopen (file, "/net");
    hsize_t count = 0;
    assert (table >= 0 && H5PTget_num_packets (table, &count) >= 0 && count == 7);
    H5PTclose (table);
    H5Fclose (file);
    assert (zsat_ctx_counter (ctx, "rows") == 14);
    zsat_ctx_destroy (&ctx);
}

void
zsat_sinks_test (bool verbose)
{
    printf (" * zsat_sinks: ");
    char buf[64];
    zsat_sinks_iso_time (1700000000123456LL, buf, sizeof buf);
    assert (streq (buf, "2023-11-14T22:13:20.123456Z"));
    zsat_sinks_number (0.1, buf, sizeof buf);
    assert (streq (buf, "0.1"));
    zsat_sinks_sanitize ("a.b/c d", buf, sizeof buf, false);
    assert (streq (buf, "a_b_c_d"));
    char dir[] = "/tmp/zsat-sinks-XXXXXX";
    assert (mkdtemp (dir));
    s_test_csv (dir);
    s_test_log (dir);
    s_test_hdf5 (dir);
    s_test_hdf5_files (dir);
    s_test_rows_split ();
    s_test_rows_sinks (dir);
    s_test_carbon (dir);
    nftw (dir, s_remove, 16, FTW_DEPTH | FTW_PHYS);
    printf ("OK\n");
    if (getenv ("ZSAT_SINKS_CRASH"))
        s_crash (getenv ("ZSAT_SINKS_CRASH"));
}
