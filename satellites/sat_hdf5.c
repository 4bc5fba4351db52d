/*  sat_hdf5 - sink kind "hdf5": appends measurements to one HDF5 packet table (H5PT, hdf5_hl)
    per vector type in one file.

    Table /<type> has a compound type: timestamp (int64 µs), task_id (uint64), host and node
    (64-byte strings), then one float64 per numeric record key and a 128-byte string per text
    key (a key equal to a fixed column's name gets a '_' suffix). A record with a key the table
    lacks, or whose value class changed, goes to a new table /<type>.2, /<type>.3, ... with the
    old columns plus the new ones; missing numbers are NaN, missing texts empty. A record in
    long format ("zsat.rows", zsat_sinks.h) is stored as its rows, one packet each.
    Records are buffered per table and appended in batches (on `batch` records, every
    flush_interval, at exit); the file is H5Fflush'ed at most every flush_interval and fsync'ed
    at exit. Default file format on purpose: SWMR / LIBVER_LATEST files do not reopen after a
    kill -9 without h5clear (FACTS.md). Owns the HDF5 file, no sockets.
*/
#include "zsat.h"
#include "zsat_sinks.h"
#include <errno.h>
#include <fcntl.h>
#include <hdf5.h>
#include <hdf5_hl.h>
#include <math.h>
#include <sys/file.h>
#include <unistd.h>

#define H5S_PATH_MAX   1024
#define H5S_HOST_SIZE  64
#define H5S_TEXT_SIZE  ZSAT_RECORD_STR_MAX
#define H5S_FIXED_SIZE (16 + 2 * H5S_HOST_SIZE)
#define H5S_PARTS_MAX  1000
#define H5S_NAME_MAX   (ZSAT_NAME_MAX + 16)

typedef struct {
    char file[H5S_PATH_MAX];
    int64_t batch;
    int64_t flush_interval;  //  ms
} h5s_config_t;

typedef struct {
    char key[ZSAT_RECORD_KEY_MAX];         //  record key
    char member[ZSAT_RECORD_KEY_MAX + 1];  //  compound member name
    bool is_text;
    size_t offset;
} h5s_column_t;

typedef struct {
    char type[ZSAT_NAME_MAX];
    char name[H5S_NAME_MAX];  //  "/cpu", "/cpu.2"
    int part;
    hid_t table;
    size_t record_size;
    size_t column_count;
    h5s_column_t *column;
    uint8_t *batch;
    size_t batch_count;
} h5s_table_t;

typedef struct {
    char path[H5S_PATH_MAX];
    hid_t file;
    size_t batch_max;
    int64_t interval_ms;
    int64_t last_flush_ms;
    bool dirty;  //  appended since the last H5Fflush
    h5s_table_t **table;
    size_t table_count, table_cap;
    zsat_record_t record;
    zsat_sinks_rows_t rows;
    zsat_record_t row, columns;
    zsat_sinks_limiter_t limiter;     //  skipped and malformed vectors
    zsat_sinks_limiter_t io_limiter;  //  I/O trouble, so it is never hidden by the former
} h5s_t;

static const char *s_fixed[] = {"timestamp", "task_id", "host", "node"};

static herr_t
s_walk (unsigned n, const H5E_error2_t *e, void *client)
{
    if (n == 0)
        snprintf ((char *)client, 256, "%s: %s", e->func_name ? e->func_name : "?",
                  e->desc ? e->desc : "?");
    return 0;
}

//  Writes the innermost message of HDF5's error stack into buf and clears the stack.
static const char *
s_error (char *buf)
{
    snprintf (buf, 256, "unknown HDF5 error");
    H5Ewalk2 (H5E_DEFAULT, H5E_WALK_UPWARD, s_walk, buf);
    H5Eclear2 (H5E_DEFAULT);
    return buf;
}

//  HDF5 would print its error stack on stderr: errors are logged as one line instead. The
//  setting is per thread in a thread-safe HDF5, hence set at every entry point.
static void
s_quiet (void)
{
    H5Eset_auto2 (H5E_DEFAULT, NULL, NULL);
}

static void
s_member_name (const char *key, char *member, size_t cap)
{
    for (size_t i = 0; i < 4; i++)
        if (streq (key, s_fixed[i])) {
            snprintf (member, cap, "%s_", key);
            return;
        }
    snprintf (member, cap, "%s", key);
}

//  Undoes s_member_name for a column read back from a file.
static void
s_key_of_member (h5s_column_t *c)
{
    size_t len = strlen (c->member);
    for (size_t i = 0; i < 4 && len > 1; i++)
        if (c->member[len - 1] == '_' && strlen (s_fixed[i]) == len - 1 &&
            memcmp (c->member, s_fixed[i], len - 1) == 0)
            c->key[len - 1] = 0;
}

static void
s_layout (h5s_table_t *t)
{
    size_t offset = H5S_FIXED_SIZE;
    for (size_t i = 0; i < t->column_count; i++) {
        t->column[i].offset = offset;
        offset += t->column[i].is_text ? H5S_TEXT_SIZE : sizeof (double);
    }
    t->record_size = offset;
}

static h5s_column_t *
s_column (h5s_table_t *t, const char *member)
{
    for (size_t i = 0; i < t->column_count; i++)
        if (streq (t->column[i].member, member))
            return &t->column[i];
    return NULL;
}

//  True when every field of r has a column of its class in t.
static bool
s_covers (h5s_table_t *t, const zsat_record_t *r)
{
    char member[ZSAT_RECORD_KEY_MAX + 1];
    for (size_t i = 0; i < r->count; i++) {
        s_member_name (r->field[i].key, member, sizeof member);
        h5s_column_t *c = s_column (t, member);
        if (!c || c->is_text == r->field[i].is_number)
            return false;
    }
    return true;
}

//  Adds r's keys to t's columns (a changed class follows r), then lays them out again.
static void
s_merge (h5s_table_t *t, const zsat_record_t *r)
{
    for (size_t i = 0; i < r->count; i++) {
        char member[ZSAT_RECORD_KEY_MAX + 1];
        s_member_name (r->field[i].key, member, sizeof member);
        h5s_column_t *c = s_column (t, member);
        if (!c && t->column_count < ZSAT_RECORD_FIELDS_MAX) {
            c = &t->column[t->column_count++];
            snprintf (c->key, sizeof c->key, "%s", r->field[i].key);
            snprintf (c->member, sizeof c->member, "%s", member);
        }
        if (c)
            c->is_text = !r->field[i].is_number;
    }
    s_layout (t);
}

//  Builds the compound type of t. Returns it (caller closes), or -1.
static hid_t
s_make_type (h5s_table_t *t)
{
    hid_t type = -1, host = -1, text = -1, result = -1;
    if ((type = H5Tcreate (H5T_COMPOUND, t->record_size)) < 0 || (host = H5Tcopy (H5T_C_S1)) < 0 ||
        H5Tset_size (host, H5S_HOST_SIZE) < 0 || H5Tset_strpad (host, H5T_STR_NULLTERM) < 0 ||
        (text = H5Tcopy (host)) < 0 || H5Tset_size (text, H5S_TEXT_SIZE) < 0)
        goto out;
    if (H5Tinsert (type, "timestamp", 0, H5T_NATIVE_INT64) < 0 ||
        H5Tinsert (type, "task_id", 8, H5T_NATIVE_UINT64) < 0 ||
        H5Tinsert (type, "host", 16, host) < 0 ||
        H5Tinsert (type, "node", 16 + H5S_HOST_SIZE, host) < 0)
        goto out;
    for (size_t i = 0; i < t->column_count; i++)
        if (H5Tinsert (type, t->column[i].member, t->column[i].offset,
                       t->column[i].is_text ? text : H5T_NATIVE_DOUBLE) < 0)
            goto out;
    result = type;
    type = -1;
out:
    if (type >= 0)
        H5Tclose (type);
    if (host >= 0)
        H5Tclose (host);
    if (text >= 0)
        H5Tclose (text);
    return result;
}

//  Reads the columns of an open table from its in-memory type. Returns 0 when the table is
//  one of ours (fixed columns where we put them, float64 or 128-byte string fields), else -1.
static int
s_read_columns (h5s_table_t *t)
{
    hid_t stored = -1, native = -1;
    int rc = -1;
    hid_t dataset = H5PTget_dataset (t->table);
    if (dataset < 0 || (stored = H5Dget_type (dataset)) < 0 ||
        (native = H5Tget_native_type (stored, H5T_DIR_DEFAULT)) < 0 ||
        H5Tget_class (native) != H5T_COMPOUND)
        goto out;
    int members = H5Tget_nmembers (native);
    if (members < 4 || members - 4 > ZSAT_RECORD_FIELDS_MAX)
        goto out;
    size_t expected[4] = {0, 8, 16, 16 + H5S_HOST_SIZE};
    t->column_count = 0;
    for (int i = 0; i < members; i++) {
        char *name = H5Tget_member_name (native, (unsigned)i);
        hid_t member = H5Tget_member_type (native, (unsigned)i);
        size_t offset = H5Tget_member_offset (native, (unsigned)i);
        H5T_class_t class = member >= 0 ? H5Tget_class (member) : H5T_NO_CLASS;
        size_t size = member >= 0 ? H5Tget_size (member) : 0;
        bool ok = name != NULL && strlen (name) <= ZSAT_RECORD_KEY_MAX;
        if (ok && i < 4)
            ok = streq (name, s_fixed[i]) && offset == expected[i];
        else if (ok) {
            h5s_column_t *c = &t->column[t->column_count++];
            snprintf (c->member, sizeof c->member, "%s", name);
            snprintf (c->key, sizeof c->key, "%s", name);
            s_key_of_member (c);
            c->is_text = class == H5T_STRING;
            c->offset = offset;
            ok =
                (class == H5T_FLOAT && size == 8) || (class == H5T_STRING && size == H5S_TEXT_SIZE);
        }
        if (member >= 0)
            H5Tclose (member);
        H5free_memory (name);
        if (!ok)
            goto out;
    }
    t->record_size = H5Tget_size (native);
    rc = 0;
out:
    if (native >= 0)
        H5Tclose (native);
    if (stored >= 0)
        H5Tclose (stored);
    return rc;
}

static void
s_table_name (h5s_table_t *t, int part)
{
    if (part == 1)
        snprintf (t->name, sizeof t->name, "/%s", t->type);
    else
        snprintf (t->name, sizeof t->name, "/%s.%d", t->type, part);
}

//  Creates table part t->part (or the next free one) with t's columns. Returns 0 or -1.
static int
s_create_table (h5s_t *self, h5s_table_t *t)
{
    for (; t->part <= H5S_PARTS_MAX; t->part++) {
        s_table_name (t, t->part);
        if (H5Lexists (self->file, t->name, H5P_DEFAULT) == 0)
            break;
    }
    hid_t type = s_make_type (t);
    if (type < 0)
        return -1;
    //  About 1 MiB chunks: large enough for batched appends, small enough for a sparse type.
    hsize_t chunk = (1 << 20) / t->record_size;
    chunk = chunk < 16 ? 16 : chunk > 4096 ? 4096 : chunk;
    t->table = H5PTcreate (self->file, t->name, type, chunk, H5P_DEFAULT);
    H5Tclose (type);
    return t->table < 0 ? -1 : 0;
}

//  Opens the table of a type new to this run: appends to its highest part when it covers r,
//  else creates the next part with the union of columns. Returns 0 or -1.
static int
s_open_type (h5s_t *self, h5s_table_t *t, const zsat_record_t *r)
{
    int last = 0;
    for (int part = 1; part <= H5S_PARTS_MAX; part++) {
        s_table_name (t, part);
        if (H5Lexists (self->file, t->name, H5P_DEFAULT) <= 0)
            break;
        last = part;
    }
    t->part = last + 1;
    if (last > 0) {
        s_table_name (t, last);
        t->table = H5PTopen (self->file, t->name);
        bool ours = t->table >= 0 && s_read_columns (t) == 0;
        if (ours && s_covers (t, r)) {
            t->part = last;
            return 0;
        }
        if (t->table >= 0)
            H5PTclose (t->table);
        t->table = -1;
        if (!ours)
            t->column_count = 0;
        H5Eclear2 (H5E_DEFAULT);
    }
    s_merge (t, r);
    return s_create_table (self, t);
}

static void
s_table_free (h5s_table_t *t)
{
    if (t->table >= 0)
        H5PTclose (t->table);
    free (t->column);
    free (t->batch);
    free (t);
}

//  Appends t's buffered records. Returns 0, or -1 (the batch is kept for a retry).
static int
s_append (h5s_t *self, h5s_table_t *t)
{
    if (t->batch_count == 0)
        return 0;
    if (H5PTappend (t->table, t->batch_count, t->batch) < 0)
        return -1;
    t->batch_count = 0;
    self->dirty = true;
    return 0;
}

//  Room for a full batch plus the rows of one more record (long format: up to one per field).
static int
s_alloc_batch (h5s_t *self, h5s_table_t *t)
{
    free (t->batch);
    t->batch = (uint8_t *)malloc ((self->batch_max + ZSAT_RECORD_FIELDS_MAX) * t->record_size);
    return t->batch ? 0 : -1;
}

//  Moves a type to its next table part with r's new columns. Returns 0 or -1.
static int
s_next_part (h5s_t *self, h5s_table_t *t, const zsat_record_t *r, zsat_ctx_t *ctx)
{
    if (s_append (self, t) != 0)
        return -1;
    H5PTclose (t->table);
    t->table = -1;
    s_merge (t, r);
    t->part++;
    if (s_create_table (self, t) != 0 || s_alloc_batch (self, t) != 0)
        return -1;
    zsat_ctx_count (ctx, "hdf5_tables", 1);
    zsat_ctx_log (ctx, ZSAT_LOG_INFO, "hdf5: new keys for type %s: continuing in table %s", t->type,
                  t->name);
    return 0;
}

static h5s_table_t *
s_table_for (h5s_t *self, const char *type, const zsat_record_t *r)
{
    char name[ZSAT_NAME_MAX];
    zsat_sinks_sanitize (*type ? type : "untyped", name, sizeof name, true);
    for (size_t i = 0; i < self->table_count; i++)
        if (streq (self->table[i]->type, name))
            return self->table[i];
    if (self->table_count == self->table_cap) {
        size_t cap = self->table_cap ? self->table_cap * 2 : 8;
        h5s_table_t **grown = (h5s_table_t **)realloc (self->table, cap * sizeof (void *));
        if (!grown)
            return NULL;
        self->table = grown;
        self->table_cap = cap;
    }
    h5s_table_t *t = (h5s_table_t *)calloc (1, sizeof (h5s_table_t));
    if (!t)
        return NULL;
    t->table = -1;
    snprintf (t->type, sizeof t->type, "%s", name);
    t->column = (h5s_column_t *)calloc (ZSAT_RECORD_FIELDS_MAX, sizeof (h5s_column_t));
    if (!t->column || s_open_type (self, t, r) != 0 || s_alloc_batch (self, t) != 0) {
        s_table_free (t);
        return NULL;
    }
    self->table[self->table_count++] = t;
    return t;
}

static void
s_fill (h5s_table_t *t, uint8_t *row, const zsat_vector_t *v, const zsat_record_t *r)
{
    memset (row, 0, t->record_size);
    memcpy (row, &v->timestamp, 8);
    memcpy (row + 8, &v->task_id, 8);
    snprintf ((char *)row + 16, H5S_HOST_SIZE, "%s", v->where);
    snprintf ((char *)row + 16 + H5S_HOST_SIZE, H5S_HOST_SIZE, "%s", v->step);
    for (size_t i = 0; i < t->column_count; i++) {
        const h5s_column_t *c = &t->column[i];
        const zsat_field_value_t *f = zsat_record_find (r, c->key);
        if (c->is_text && f && f->is_number)  //  rows of one record may differ in class
            zsat_sinks_number (f->number, (char *)row + c->offset, H5S_TEXT_SIZE);
        else if (c->is_text)
            snprintf ((char *)row + c->offset, H5S_TEXT_SIZE, "%s", f ? f->text : "");
        else {
            double number = f && f->is_number ? f->number : NAN;
            memcpy (row + c->offset, &number, sizeof number);
        }
    }
}

//  Appends every table's batch and H5Fflushes the file when the interval is due (or force).
static int
s_flush_due (h5s_t *self, bool force)
{
    int64_t now = zsat_sinks_now_ms ();
    if (!force && now - self->last_flush_ms < self->interval_ms)
        return 0;
    self->last_flush_ms = now;
    int rc = 0;
    for (size_t i = 0; i < self->table_count; i++)
        if (s_append (self, self->table[i]) != 0)
            rc = -1;
    if (self->dirty && H5Fflush (self->file, H5F_SCOPE_GLOBAL) >= 0)
        self->dirty = false;
    return rc == 0 && !self->dirty ? 0 : -1;
}

//  True when another process has the file open for writing: HDF5 1.10 holds an flock on
//  it, and such a file must not be mistaken for a broken one.
static bool
s_in_use (const char *path)
{
    int fd = open (path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return false;
    bool busy = flock (fd, LOCK_SH | LOCK_NB) != 0 && errno == EWOULDBLOCK;
    close (fd);
    return busy;
}

//  Opens the file, or creates it; a file that does not open (never flushed before a crash)
//  is renamed aside so measurements keep flowing into a fresh one. Returns the file, or -1.
static hid_t
s_open_file (zsat_ctx_t *ctx, const char *path)
{
    char message[256];
    if (access (path, F_OK) == 0) {
        hid_t file = H5Fopen (path, H5F_ACC_RDWR, H5P_DEFAULT);
        if (file >= 0)
            return file;
        s_error (message);
        if (s_in_use (path) || access (path, W_OK) != 0) {
            zsat_ctx_log (ctx, ZSAT_LOG_ERROR, "hdf5: cannot open %s (in use or read-only): %s",
                          path, message);
            return -1;
        }
        char aside[H5S_PATH_MAX + 32];
        snprintf (aside, sizeof aside, "%s.broken-%ld", path, (long)time (NULL));
        zsat_ctx_log (ctx, ZSAT_LOG_ERROR, "hdf5: cannot open %s (%s): moved to %s", path, message,
                      aside);
        if (rename (path, aside) != 0)
            return -1;
    }
    hid_t file = H5Fcreate (path, H5F_ACC_EXCL, H5P_DEFAULT, H5P_DEFAULT);
    if (file < 0)
        zsat_ctx_log (ctx, ZSAT_LOG_ERROR, "hdf5: cannot create %s: %s", path, s_error (message));
    return file;
}

//  The default file, <run_dir>/<host>/measurements.h5; a second instance of the sink, which
//  finds it in use, writes measurements.<instance>.h5 beside it.
static void
s_default_path (zsat_ctx_t *ctx, char *path, size_t cap)
{
    snprintf (path, cap, "%s/%s/measurements.h5", zsat_ctx_run_dir (ctx), zsat_ctx_host (ctx));
    if (s_in_use (path)) {
        snprintf (path, cap, "%s/%s/measurements.%d.h5", zsat_ctx_run_dir (ctx),
                  zsat_ctx_host (ctx), zsat_ctx_instance (ctx));
        zsat_ctx_log (ctx, ZSAT_LOG_INFO, "hdf5: measurements.h5 is in use: writing %s", path);
    }
}

static int
s_hdf5_init (zsat_ctx_t *ctx, const void *config, void **state_p)
{
    const h5s_config_t *cfg = (const h5s_config_t *)config;
    s_quiet ();
    h5s_t *self = (h5s_t *)calloc (1, sizeof (h5s_t));
    if (!self)
        return -1;
    if (*cfg->file)
        snprintf (self->path, sizeof self->path, "%s", cfg->file);
    else
        s_default_path (ctx, self->path, sizeof self->path);
    self->batch_max = cfg->batch > 0 && cfg->batch <= 100000 ? (size_t)cfg->batch : 256;
    self->interval_ms = cfg->flush_interval > 0 ? cfg->flush_interval : 1000;
    self->last_flush_ms = zsat_sinks_now_ms ();
    char dir[H5S_PATH_MAX];
    snprintf (dir, sizeof dir, "%s", self->path);
    char *slash = strrchr (dir, '/');
    if (slash && slash != dir)
        *slash = 0;
    if (slash && slash != dir && zsat_sinks_mkdirs (dir) != 0)
        zsat_ctx_log (ctx, ZSAT_LOG_ERROR, "hdf5: cannot create %s: %s", dir, strerror (errno));
    self->file = s_open_file (ctx, self->path);
    if (self->file < 0) {
        free (self);
        return -1;
    }
    zsat_ctx_set_tick (ctx, self->interval_ms * 1000);
    *state_p = self;
    return 0;
}

static zsat_result_t
s_hdf5_handle (zsat_ctx_t *ctx, void *state, zsat_vector_t *v)
{
    h5s_t *self = (h5s_t *)state;
    char message[256];
    s_quiet ();
    int rc = zsat_sinks_record (ctx, &self->limiter, v, &self->record);
    if (rc != 0)
        return rc > 0 ? ZSAT_SKIP : ZSAT_ERROR;
    size_t rows = zsat_sinks_rows_split (&self->rows, &self->record);
    const zsat_record_t *columns = zsat_sinks_rows_columns (&self->rows, &self->columns);
    h5s_table_t *t = s_table_for (self, v->type, columns);
    int ready = t ? 0 : -1;
    if (t && !s_covers (t, columns))
        ready = s_next_part (self, t, columns, ctx);
    else if (t && t->table < 0)  //  a table that failed to open before
        ready = s_create_table (self, t) == 0 ? s_alloc_batch (self, t) : -1;
    if (ready != 0) {
        zsat_sinks_complain (ctx, &self->io_limiter, ZSAT_LOG_ERROR,
                             "hdf5: cannot open the table of type %s in %s: %s", v->type,
                             self->path, s_error (message));
        return ZSAT_ERROR;
    }
    if (t->batch_count >= self->batch_max && s_append (self, t) != 0) {
        zsat_sinks_complain (ctx, &self->io_limiter, ZSAT_LOG_ERROR, "hdf5: append to %s: %s",
                             t->name, s_error (message));
        return ZSAT_RETRY;
    }
    for (size_t i = 0; i < rows; i++)
        s_fill (t, t->batch + t->batch_count++ * t->record_size, v,
                zsat_sinks_rows_get (&self->rows, i, &self->row));
    zsat_ctx_count (ctx, "rows", rows);
    if ((t->batch_count >= self->batch_max && s_append (self, t) != 0) ||
        s_flush_due (self, false) != 0)
        zsat_sinks_complain (ctx, &self->io_limiter, ZSAT_LOG_WARN, "hdf5: flush of %s delayed: %s",
                             self->path, s_error (message));
    return ZSAT_OK;
}

//  Not a source: the runtime's tick (when it ticks sinks) appends and flushes due batches.
static zsat_result_t
s_hdf5_tick (zsat_ctx_t *ctx, void *state, zsat_vector_t *v)
{
    s_quiet ();
    s_flush_due ((h5s_t *)state, false);
    return ZSAT_SKIP;
}

static void
s_hdf5_exit (zsat_ctx_t *ctx, void *state)
{
    h5s_t *self = (h5s_t *)state;
    if (!self)
        return;
    char message[256];
    s_quiet ();
    if (s_flush_due (self, true) != 0)
        zsat_ctx_log (ctx, ZSAT_LOG_ERROR, "hdf5: final flush of %s failed: %s", self->path,
                      s_error (message));
    for (size_t i = 0; i < self->table_count; i++)
        s_table_free (self->table[i]);
    free (self->table);
    if (H5Fclose (self->file) < 0)
        zsat_ctx_log (ctx, ZSAT_LOG_ERROR, "hdf5: close %s: %s", self->path, s_error (message));
    //  H5Fflush/H5Fclose issue no fsync: make what exit stored survive a power loss too.
    int fd = open (self->path, O_RDONLY | O_CLOEXEC);
    if (fd >= 0) {
        if (fsync (fd) != 0)
            zsat_ctx_log (ctx, ZSAT_LOG_WARN, "hdf5: fsync %s: %s", self->path, strerror (errno));
        close (fd);
    }
    free (self);
}

static const zsat_option_t s_hdf5_options[] = {
    {"file", ZSAT_OPT_STRING, "", "HDF5 file (default <run_dir>/<host>/measurements.h5)",
     offsetof (h5s_config_t, file), sizeof (((h5s_config_t *)0)->file)},
    {"batch", ZSAT_OPT_INT, "256", "records buffered per table before one append",
     offsetof (h5s_config_t, batch), 0, ZSAT_RANGE (1, 100000)},
    {"flush_interval", ZSAT_OPT_DURATION, "1s",
     "buffered records are appended and the file H5Fflush'ed at most this often",
     offsetof (h5s_config_t, flush_interval), 0, ZSAT_ABOVE (0)},
    ZSAT_OPTIONS_END};

const zsat_kind_t zsat_kind_hdf5 = {
    .name = "hdf5",
    .description = "sink: appends records to one HDF5 packet table per vector type",
    .role = ZSAT_ROLE_SINK,
    .options = s_hdf5_options,
    .config_size = sizeof (h5s_config_t),
    .init = s_hdf5_init,
    .handle = s_hdf5_handle,
    .tick = s_hdf5_tick,
    .exit = s_hdf5_exit,
};
