/*  zsat_probes - helpers the probe kinds (sat_cpu, sat_mem, sat_net, sat_disk, sat_proc)
    share, and the selftest that drives each probe's callbacks directly with a real context
    and checks its records: expected keys, plausible ranges, rates on the second call.
*/
#include "zsat.h"
#include "zsat_probes.h"
#include "zsat_options.h"
#include <fcntl.h>
#include <stdarg.h>
#include <math.h>

ssize_t
zsat_probe_read (const char *path, char *buf, size_t cap)
{
    int fd = open (path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    size_t size = 0;
    //  /proc files are generated per read () call: loop until EOF or the buffer is full.
    while (size + 1 < cap) {
        ssize_t n = read (fd, buf + size, cap - 1 - size);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        size += (size_t)n;
    }
    close (fd);
    buf[size] = 0;
    return (ssize_t)size;
}

int64_t
zsat_probe_now_us (void)
{
    struct timespec ts;
    clock_gettime (CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

zsat_result_t
zsat_probe_emit (zsat_ctx_t *ctx, zsat_vector_t *v, const zsat_record_t *record)
{
    size_t cap = 0;
    uint8_t *buffer = zsat_ctx_buffer (ctx, &cap);
    int size = zsat_record_encode (record, buffer, cap);
    if (size < 0) {
        zsat_ctx_log (ctx, ZSAT_LOG_ERROR, "record of %zu fields does not fit %zu bytes",
                      record->count, cap);
        return ZSAT_ERROR;
    }
    zsat_vector_set_payload (v, buffer, (size_t)size);
    snprintf (v->serialization, sizeof v->serialization, "%s", ZSAT_RECORD_SERIALIZATION);
    return ZSAT_OK;
}

double
zsat_probe_rate (uint64_t before, uint64_t after, int64_t elapsed_us)
{
    if (after < before || elapsed_us <= 0)
        return 0;
    return (double)(after - before) * 1e6 / (double)elapsed_us;
}

bool
zsat_probe_selected (const char *list, const char *name)
{
    if (!list || !*list)
        return true;
    size_t len = strlen (name);
    for (const char *at = list; *at;) {
        while (*at == ' ' || *at == ',')
            at++;
        size_t span = strcspn (at, ", ");
        if (span == len && strncmp (at, name, len) == 0)
            return true;
        at += span;
    }
    return false;
}

static __thread char s_detail[ZSAT_EVENT_DETAIL_MAX];

void
zsat_kind_detail_set (const char *format, ...)
{
    va_list args;
    va_start (args, format);
    vsnprintf (s_detail, sizeof s_detail, format, args);
    va_end (args);
}

const char *
zsat_kind_detail (void)
{
    return s_detail;
}

void
zsat_kind_detail_clear (void)
{
    s_detail[0] = 0;
}

//  --- selftest ---

//  Runs kind on a fresh job vector and decodes the record it produced into r.
static void
s_measure (const zsat_kind_t *kind, zsat_ctx_t *ctx, void *state, zsat_record_t *r)
{
    zsat_vector_t v;
    zsat_vector_init (&v);
    snprintf (v.type, sizeof v.type, "%s", kind->name);
    assert (kind->handle (ctx, state, &v) == ZSAT_OK);
    assert (streq (v.serialization, ZSAT_RECORD_SERIALIZATION));
    assert (v.payload && v.payload_size > 0);
    assert (v.checksum == zsat_crc32 (0, v.payload, v.payload_size));
    zsat_error_t err;
    assert (zsat_record_decode (r, v.payload, v.payload_size, &err) == 0);
}

static double
s_number (const zsat_record_t *r, const char *key)
{
    const zsat_field_value_t *f = zsat_record_find (r, key);
    if (!f || !f->is_number)
        fprintf (stderr, "missing numeric key '%s'\n", key);
    assert (f && f->is_number && isfinite (f->number));
    return f->number;
}

static void
s_percent (const zsat_record_t *r, const char *key)
{
    double v = s_number (r, key);
    assert (v >= 0 && v <= 100);
}

//  Every key ending in suffix holds a value >= 0; returns how many there were.
static int
s_non_negative (const zsat_record_t *r, const char *suffix)
{
    int count = 0;
    size_t len = strlen (suffix);
    for (size_t i = 0; i < r->count; i++) {
        size_t klen = strlen (r->field[i].key);
        if (klen >= len && streq (r->field[i].key + klen - len, suffix)) {
            assert (r->field[i].is_number && r->field[i].number >= 0);
            count++;
        }
    }
    return count;
}

static void
s_check (const char *name, const zsat_record_t *r, int call)
{
    if (streq (name, "cpu")) {
        assert (s_number (r, "ncpu") >= 1);
        assert (s_number (r, "load1") >= 0 && s_number (r, "load15") >= 0);
        s_percent (r, "user"), s_percent (r, "system"), s_percent (r, "idle");
        s_percent (r, "iowait");
    }
    else if (streq (name, "mem")) {
        assert (s_number (r, "total") > 0 && s_number (r, "available") > 0);
        assert (s_number (r, "available") <= s_number (r, "total"));
        s_percent (r, "used_pct"), s_percent (r, "swap_used_pct");
    }
    else if (streq (name, "net")) {
        assert (s_number (r, "interfaces") >= 1);  //  lo at least
        assert (s_number (r, "lo.rx_bytes") >= 0 && s_number (r, "lo.tx_packets") >= 0);
        assert (s_non_negative (r, "_s") == 4 * (int)s_number (r, "interfaces"));
    }
    else if (streq (name, "disk")) {
        s_percent (r, "fs_root.used_pct");
        assert (s_number (r, "fs_root.total_bytes") > 0);
        s_non_negative (r, "_s");
    }
    else if (streq (name, "proc")) {
        assert (s_number (r, "processes") >= 1 && s_number (r, "threads") >= 1);
        assert (s_number (r, "open_files") > 0 && s_number (r, "ctxt") > 0);
        assert (s_number (r, "ctxt_s") >= 0);
        //  this selftest is itself a zsat process
        assert (s_number (r, "zsat.count") >= 1 && s_number (r, "zsat.rss_bytes") > 0);
        s_percent (r, "zsat.cpu_pct"), s_percent (r, "others.cpu_pct");
    }
}

static void
s_test_kind (const char *name, const zsat_option_kv_t *options, size_t count, bool verbose)
{
    const zsat_kind_t *kind = zsat_kind_find (name);
    assert (kind && kind->role == ZSAT_ROLE_WORKER);
    zsat_ctx_t *ctx = zsat_ctx_new ("test", "local", name, 0, "/tmp");
    assert (ctx);
    void *config = kind->config_size ? calloc (1, kind->config_size) : NULL;
    assert (zsat_options_parse (kind, options, count, config, "test", NULL) == 0);
    void *state = NULL;
    assert (kind->init (ctx, config, &state) == 0);
    zsat_record_t *r = (zsat_record_t *)malloc (sizeof (zsat_record_t));
    for (int call = 0; call < 2; call++) {
        s_measure (kind, ctx, state, r);
        s_check (name, r, call);
        if (verbose && call == 1)
            printf ("%s: %zu fields ", name, r->count);
    }
    free (r);
    kind->exit (ctx, state);
    free (config);
    zsat_ctx_destroy (&ctx);
}

//  Starts kind with options; returns its state (config kept in *config_p).
static void *
s_start (const char *name, zsat_ctx_t *ctx, const zsat_option_kv_t *options, size_t count,
         void **config_p)
{
    const zsat_kind_t *kind = zsat_kind_find (name);
    assert (kind);
    *config_p = calloc (1, kind->config_size);
    assert (zsat_options_parse (kind, options, count, *config_p, "test", NULL) == 0);
    void *state = NULL;
    assert (kind->init (ctx, *config_p, &state) == 0);
    return state;
}

static void
s_test_gen (zsat_ctx_t *ctx)
{
    const zsat_kind_t *kind = zsat_kind_find ("gen");
    zsat_option_kv_t options[] = {{"rate", "200", 1, 1},   {"count", "3", 1, 1},
                                  {"format", "raw", 1, 1}, {"size", "20", 1, 1},
                                  {"type", "load", 1, 1},  {"critical", "yes", 1, 1},
                                  {"seed", "7", 1, 1}};
    void *config;
    void *state = s_start ("gen", ctx, options, 7, &config);
    assert (zsat_ctx_tick (ctx) == 5000);
    uint8_t first[20];
    uint64_t last_id = 0;
    for (int i = 0; i < 3; i++) {
        zsat_vector_t v;
        zsat_vector_init (&v);
        assert (kind->tick (ctx, state, &v) == ZSAT_OK);
        assert (streq (v.type, "load") && (v.flags & ZSAT_FLAG_CRITICAL));
        assert (v.payload_size == 20 && v.task_id > last_id);
        last_id = v.task_id;
        uint64_t seq;
        memcpy (&seq, v.payload, 8);
        assert (seq == (uint64_t)i);
        if (i == 0)
            memcpy (first, v.payload, 20);
    }
    zsat_vector_t v;
    zsat_vector_init (&v);
    assert (kind->tick (ctx, state, &v) == ZSAT_SKIP);  //  count reached
    assert (zsat_ctx_tick (ctx) == 0);
    kind->exit (ctx, state);
    free (config);
    //  same seed, same bytes
    state = s_start ("gen", ctx, options, 7, &config);
    zsat_vector_init (&v);
    assert (kind->tick (ctx, state, &v) == ZSAT_OK);
    assert (memcmp (v.payload, first, 20) == 0);
    kind->exit (ctx, state);
    free (config);
}

static zsat_result_t
s_exec_once (const char *command, const char *json, zsat_record_t *out, const char *timeout)
{
    const zsat_kind_t *kind = zsat_kind_find ("exec");
    zsat_ctx_t *ctx = zsat_ctx_new ("test", "local", "exec", 0, "/tmp");
    zsat_option_kv_t options[] = {{"command", command, 1, 1}, {"timeout", timeout, 1, 1}};
    void *config;
    void *state = s_start ("exec", ctx, options, 2, &config);
    zsat_vector_t v;
    zsat_vector_init (&v);
    snprintf (v.type, sizeof v.type, "cpu");
    snprintf (v.serialization, sizeof v.serialization, "json");
    zsat_vector_set_payload (&v, json, strlen (json));
    zsat_kind_detail_clear ();
    zsat_result_t result = kind->handle (ctx, state, &v);
    if (result == ZSAT_OK) {
        assert (streq (v.serialization, ZSAT_RECORD_SERIALIZATION));
        zsat_error_t err;
        assert (zsat_record_decode (out, v.payload, v.payload_size, &err) == 0);
    }
    kind->exit (ctx, state);
    free (config);
    zsat_ctx_destroy (&ctx);
    return result;
}

static void
s_test_exec (void)
{
    zsat_record_t *r = (zsat_record_t *)malloc (sizeof (zsat_record_t));
    //  stdin arrives whole; stdout becomes the payload; ZSAT_* variables are set
    assert (
        s_exec_once ("read line; echo \"{\\\"got\\\": ${#line}, \\\"t\\\": \\\"$ZSAT_TYPE\\\"}\"",
                     "{\"a\": 1}", r, "10s") == ZSAT_OK);
    assert (zsat_record_find (r, "got")->number == 8);
    assert (streq (zsat_record_find (r, "t")->text, "cpu"));
    assert (s_exec_once ("cat >/dev/null; echo broken >&2; exit 3", "{}", r, "10s") == ZSAT_ERROR);
    assert (streq (zsat_kind_detail (), "exec: exit 3: broken"));
    assert (s_exec_once ("exit 75", "{}", r, "10s") == ZSAT_RETRY);
    assert (s_exec_once ("cat >/dev/null", "{}", r, "10s") == ZSAT_SKIP);
    assert (s_exec_once ("echo not json", "{}", r, "10s") == ZSAT_ERROR);
    assert (strstr (zsat_kind_detail (), "not a flat JSON object"));
    //  a child that never ends is killed at the timeout, also its own children
    assert (s_exec_once ("sleep 30 & sleep 30", "{}", r, "300ms") == ZSAT_ERROR);
    assert (strstr (zsat_kind_detail (), "timeout after 300 ms"));
    free (r);
}

static void
s_test_fault (zsat_ctx_t *ctx)
{
    const zsat_kind_t *kind = zsat_kind_find ("fault");
    zsat_option_kv_t options[] = {{"fail_first", "2", 1, 1}, {"mode", "retry", 1, 1}};
    void *config;
    void *state = s_start ("fault", ctx, options, 2, &config);
    zsat_vector_t v;
    zsat_vector_init (&v);
    v.task_id = 42;
    assert (kind->handle (ctx, state, &v) == ZSAT_RETRY);
    assert (kind->handle (ctx, state, &v) == ZSAT_RETRY);
    assert (kind->handle (ctx, state, &v) == ZSAT_OK);
    v.task_id = 43;  //  a new task fails its first two attempts again
    assert (kind->handle (ctx, state, &v) == ZSAT_RETRY);
    kind->exit (ctx, state);
    free (config);

    zsat_option_kv_t ratio[] = {
        {"fail_ratio", "0.5", 1, 1}, {"mode", "error", 1, 1}, {"seed", "3", 1, 1}};
    int failures[2] = {0, 0};
    for (int run = 0; run < 2; run++) {
        state = s_start ("fault", ctx, ratio, 3, &config);
        for (uint64_t task = 0; task < 200; task++) {
            v.task_id = task;
            failures[run] += kind->handle (ctx, state, &v) == ZSAT_ERROR;
        }
        kind->exit (ctx, state);
        free (config);
    }
    assert (failures[0] == failures[1] && failures[0] > 50 && failures[0] < 150);
}

void
zsat_probes_test (bool verbose)
{
    printf (" * zsat_probes: ");
    assert (zsat_probe_selected ("", "eth0"));
    assert (zsat_probe_selected ("lo, eth0", "eth0"));
    assert (!zsat_probe_selected ("lo,eth01", "eth0"));
    assert (zsat_probe_rate (10, 5, 1000) == 0);
    assert (zsat_probe_rate (0, 10, 1000000) == 10);
    char buf[16];
    assert (zsat_probe_read ("/no/such/file", buf, sizeof buf) == -1);
    assert (zsat_probe_read ("/proc/loadavg", buf, sizeof buf) == 15 && strlen (buf) == 15);
    const char *kinds[] = {"cpu", "mem", "net", "disk", "proc"};
    for (size_t i = 0; i < sizeof kinds / sizeof kinds[0]; i++)
        s_test_kind (kinds[i], NULL, 0, verbose);
    //  options: one interface only; two paths
    zsat_option_kv_t only_lo = {"interfaces", "lo", 1, 1};
    s_test_kind ("net", &only_lo, 1, verbose);
    zsat_option_kv_t paths = {"paths", "/,/tmp", 1, 1};
    s_test_kind ("disk", &paths, 1, verbose);
    zsat_ctx_t *ctx = zsat_ctx_new ("test", "local", "gen", 0, "/tmp");
    s_test_gen (ctx);
    s_test_fault (ctx);
    zsat_ctx_destroy (&ctx);
    s_test_exec ();
    printf ("OK\n");
}
