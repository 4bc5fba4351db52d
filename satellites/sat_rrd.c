// SPDX-License-Identifier: MPL-2.0
/*  sat_rrd - sink: round-robin databases (Debian's librrd), one file per host, type and
    record key, as DSAT's rrd.py kept one per type: <dir>/<where>/<type>.<key>.rrd, one data
    source `value` of ds_type, created at the first value with `step`, `heartbeat` and four
    archives of `rows` rows (AVERAGE of 1 step; AVERAGE, MIN, MAX of 10 steps). Each numeric
    field of a record is one update at the vector's timestamp; a value not newer than the
    file's last update is skipped (rrd cannot go back; DSAT skipped them too) and counted as
    `stale`. Text fields are not stored. Built when librrd is found (ZSAT_WITH_RRD).
*/
#include "zsat.h"
#include "zsat_sinks.h"
#include <rrd.h>

#define RRD_FILES_MAX 4096  //  files kept open in the table; more are refused, logged

typedef struct {
    char dir[512];
    int64_t step;       //  ms
    int64_t heartbeat;  //  ms; 0: twice the step
    int64_t rows;
    char ds_type[16];
} rrds_config_t;

typedef struct {
    double last;  //  seconds of the last update, fractional
} rrds_file_t;

typedef struct {
    rrds_config_t config;
    char dir[600];
    zhashx_t *files;  //  path -> rrds_file_t
    zsat_record_t record;
    zsat_sinks_limiter_t limiter, io_limiter;
} rrds_t;

static void
s_file_free (void **item)
{
    free (*item);
    *item = NULL;
}

static int
s_rrd_init (zsat_ctx_t *ctx, const void *config, void **state_p)
{
    const rrds_config_t *cfg = (const rrds_config_t *)config;
    rrds_t *self = (rrds_t *)calloc (1, sizeof (rrds_t));
    if (!self)
        return -1;
    self->config = *cfg;
    if (*cfg->dir)
        snprintf (self->dir, sizeof self->dir, "%s", cfg->dir);
    else
        snprintf (self->dir, sizeof self->dir, "%s/%s/rrd", zsat_ctx_run_dir (ctx),
                  zsat_ctx_host (ctx));
    if (zsat_sinks_mkdirs (self->dir) != 0 || access (self->dir, W_OK) != 0) {
        zsat_ctx_log (ctx, ZSAT_LOG_ERROR, "rrd: cannot create %s: %s", self->dir,
                      strerror (errno));
        free (self);
        return -1;
    }
    self->files = zhashx_new ();
    zhashx_set_destructor (self->files, s_file_free);
    *state_p = self;
    return 0;
}

//  Creates path unless it exists (a restart keeps its history). Returns 0 or -1.
static int
s_create (rrds_t *self, const char *path, double first, char *err, size_t cap)
{
    if (access (path, F_OK) == 0)
        return 0;
    const rrds_config_t *c = &self->config;
    unsigned long step = (unsigned long)(c->step / 1000 > 0 ? c->step / 1000 : 1);
    int64_t heartbeat = c->heartbeat > 0 ? c->heartbeat / 1000 : 2 * (int64_t)step;
    char ds[96], rra[4][64];
    snprintf (ds, sizeof ds, "DS:value:%s:%" PRId64 ":U:U", c->ds_type,
              heartbeat > 0 ? heartbeat : 1);
    snprintf (rra[0], sizeof rra[0], "RRA:AVERAGE:0.5:1:%" PRId64, c->rows);
    snprintf (rra[1], sizeof rra[1], "RRA:AVERAGE:0.5:10:%" PRId64, c->rows);
    snprintf (rra[2], sizeof rra[2], "RRA:MIN:0.5:10:%" PRId64, c->rows);
    snprintf (rra[3], sizeof rra[3], "RRA:MAX:0.5:10:%" PRId64, c->rows);
    const char *argv[] = {ds, rra[0], rra[1], rra[2], rra[3]};
    rrd_clear_error ();
    if (rrd_create_r (path, step, (time_t)first - 1, 5, argv) != 0) {
        snprintf (err, cap, "create %s: %s", path, rrd_get_error ());
        return -1;
    }
    return 0;
}

//  The file's entry, created (and the file with it) on first use; NULL on failure.
static rrds_file_t *
s_file (rrds_t *self, const char *path, double when, char *err, size_t cap)
{
    rrds_file_t *file = (rrds_file_t *)zhashx_lookup (self->files, path);
    if (file)
        return file;
    if (zhashx_size (self->files) >= RRD_FILES_MAX) {
        snprintf (err, cap, "more than %d files: %s not written", RRD_FILES_MAX, path);
        return NULL;
    }
    if (s_create (self, path, when, err, cap))
        return NULL;
    file = (rrds_file_t *)calloc (1, sizeof *file);
    if (!file)
        return NULL;
    rrd_clear_error ();
    time_t last = rrd_last_r (path);  //  -1 when unreadable: the first update says why
    file->last = last > 0 ? (double)last : 0;
    zhashx_insert (self->files, path, file);
    return file;
}

//  One update of path. Returns 1 when written, 0 when stale, -1 on error (err set).
static int
s_update (rrds_t *self, const char *path, double when, double value, char *err, size_t cap)
{
    rrds_file_t *file = s_file (self, path, when, err, cap);
    if (!file)
        return -1;
    if (when <= file->last)
        return 0;
    char update[96], number[48];
    if (isfinite (value))
        zsat_sinks_number (value, number, sizeof number);
    else
        snprintf (number, sizeof number, "U");
    snprintf (update, sizeof update, "%.6f:%s", when, number);
    const char *argv[] = {update};
    rrd_clear_error ();
    if (rrd_update_r (path, NULL, 1, argv) != 0) {
        snprintf (err, cap, "update %s: %s", path, rrd_get_error ());
        return -1;
    }
    file->last = when;
    return 1;
}

static zsat_result_t
s_rrd_handle (zsat_ctx_t *ctx, void *state, zsat_vector_t *v)
{
    rrds_t *self = (rrds_t *)state;
    int rc = zsat_sinks_record (ctx, &self->limiter, v, &self->record);
    if (rc != 0)
        return rc > 0 ? ZSAT_SKIP : ZSAT_ERROR;
    char where[ZSAT_NAME_MAX], type[ZSAT_NAME_MAX], key[ZSAT_RECORD_KEY_MAX], path[1024];
    zsat_sinks_sanitize (*v->where ? v->where : "nowhere", where, sizeof where, true);
    zsat_sinks_sanitize (*v->type ? v->type : "untyped", type, sizeof type, true);
    snprintf (path, sizeof path, "%s/%s", self->dir, where);
    if (zsat_sinks_mkdirs (path) != 0) {
        zsat_sinks_complain (ctx, &self->io_limiter, ZSAT_LOG_ERROR, "rrd: cannot create %s: %s",
                             path, strerror (errno));
        return ZSAT_RETRY;
    }
    double when = (double)v->timestamp / 1e6;
    uint64_t written = 0, stale = 0;
    char err[1200] = "";
    for (size_t i = 0; i < self->record.count; i++) {
        const zsat_field_value_t *f = &self->record.field[i];
        if (!f->is_number)
            continue;
        zsat_sinks_sanitize (f->key, key, sizeof key, true);
        snprintf (path, sizeof path, "%s/%s/%s.%s.rrd", self->dir, where, type, key);
        int done = s_update (self, path, when, f->number, err, sizeof err);
        if (done < 0) {
            zsat_sinks_complain (ctx, &self->io_limiter, ZSAT_LOG_ERROR, "rrd: %s", err);
            return written ? ZSAT_OK : ZSAT_ERROR;
        }
        written += (uint64_t)done;
        stale += done == 0;
    }
    zsat_ctx_count (ctx, "rows", written ? 1 : 0);
    zsat_ctx_count (ctx, "stale", stale);
    return ZSAT_OK;
}

static void
s_rrd_exit (zsat_ctx_t *ctx, void *state)
{
    rrds_t *self = (rrds_t *)state;
    if (!self)
        return;
    zhashx_destroy (&self->files);
    free (self);
}

static const zsat_option_t s_rrd_options[] = {
    {"dir", ZSAT_OPT_STRING, "", "directory of the .rrd files (default <run_dir>/<host>/rrd)",
     offsetof (rrds_config_t, dir), sizeof (((rrds_config_t *)0)->dir)},
    {"step", ZSAT_OPT_DURATION, "10s", "base interval of a new file (whole seconds)",
     offsetof (rrds_config_t, step), 0, ZSAT_RANGE (1000, 86400000)},
    {"heartbeat", ZSAT_OPT_DURATION, "0",
     "longest gap between two values before the interval is unknown; 0: twice the step",
     offsetof (rrds_config_t, heartbeat), 0, ZSAT_RANGE (0, 864000000)},
    {"rows", ZSAT_OPT_INT, "8640", "rows of each of the four archives of a new file",
     offsetof (rrds_config_t, rows), 0, ZSAT_RANGE (10, 10000000)},
    {"ds_type", ZSAT_OPT_STRING, "GAUGE", "data source type of a new file",
     offsetof (rrds_config_t, ds_type), sizeof (((rrds_config_t *)0)->ds_type),
     .choices = "GAUGE|COUNTER|DERIVE|ABSOLUTE"},
    ZSAT_OPTIONS_END};

const zsat_kind_t zsat_kind_rrd = {
    .name = "rrd",
    .description = "sink: round-robin databases (librrd), one file per host, type and record key",
    .role = ZSAT_ROLE_SINK,
    .options = s_rrd_options,
    .config_size = sizeof (rrds_config_t),
    .init = s_rrd_init,
    .handle = s_rrd_handle,
    .exit = s_rrd_exit,
};
