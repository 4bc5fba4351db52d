/*  sat_csv - sink kind "csv": one CSV file per vector type in a directory.

    Columns: time (ISO-8601 UTC of the vector's timestamp), host (where), node (step),
    task_id, then the record's keys. The header row is written when a file is created. A
    record with a key the file has no column for starts a new part, <type>.2.csv, ... whose
    columns are the old ones plus the new keys: columns never shift inside a file. Missing
    keys are empty cells. Text is quoted per RFC 4180. A record in long format ("zsat.rows",
    zsat_sinks.h) is written as its rows, one per interface/device, in one write ().
    Rows are whole lines written with one write(): a failed write is truncated away, so a file
    never holds a partial line. flush=every writes each row at once, interval buffers rows and
    writes + fdatasyncs them every flush_interval, none writes when the buffer is full; exit
    writes everything and fsyncs. Owns one file descriptor per type, no sockets.
*/
#include "zsat.h"
#include "zsat_sinks.h"
#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#define CSV_PATH_MAX    1024
#define CSV_LINE_MAX    (160 * 1024)  //  worst row: 256 quoted 127-byte texts, all quotes
#define CSV_ROWS_MAX    (1024 * 1024 + CSV_LINE_MAX)  //  the rows of one record (long format)
#define CSV_PENDING_MAX (256 * 1024)
#define CSV_PARTS_MAX   10000
#define CSV_FIXED       4  //  time, host, node, task_id

typedef enum { CSV_FLUSH_EVERY, CSV_FLUSH_INTERVAL, CSV_FLUSH_NONE } csv_flush_t;

typedef struct {
    char dir[CSV_PATH_MAX];
    char flush[16];
    int64_t flush_interval;  //  ms
} csv_config_t;

typedef struct {
    char type[ZSAT_NAME_MAX];
    int part;
    int fd;
    size_t column_count;
    char (*column)[ZSAT_RECORD_KEY_MAX];  //  record keys (after the fixed columns)
    char *pending;                        //  whole buffered lines (interval, none)
    size_t pending_size;
} csv_file_t;

typedef struct {
    char dir[CSV_PATH_MAX];
    csv_flush_t mode;
    int64_t interval_ms;
    int64_t last_flush_ms;
    csv_file_t **file;
    size_t file_count, file_cap;
    char *line;  //  CSV_ROWS_MAX: the rows of one record, written with one write ()
    zsat_record_t record;
    zsat_sinks_rows_t rows;
    zsat_record_t row, columns;
    zsat_sinks_limiter_t limiter;     //  skipped and malformed vectors
    zsat_sinks_limiter_t io_limiter;  //  I/O trouble, so it is never hidden by the former
} csv_t;

static bool
s_transient (int error)
{
    return error == ENOSPC || error == EIO || error == EINTR || error == EAGAIN ||
           error == EDQUOT || error == EMFILE || error == ENFILE;
}

//  Cuts a partly written buffer off again, so readers and later appends never see a torn
//  row. With O_APPEND the offset is the end of our bytes; another writer (a second instance)
//  that appended after them is left alone.
static void
s_untear (csv_file_t *file, size_t done)
{
    off_t end = lseek (file->fd, 0, SEEK_CUR);
    struct stat st;
    if (done > 0 && end >= (off_t)done && fstat (file->fd, &st) == 0 && st.st_size == end &&
        ftruncate (file->fd, end - (off_t)done) != 0) {
        //  Nothing better to do: the next open sees no final newline and starts a new part.
    }
}

//  Writes all of buf (whole lines) with write () until done. Returns 0, or -1 with errno and
//  nothing of buf left in the file.
static int
s_write_all (csv_file_t *file, const char *buf, size_t size)
{
    size_t done = 0;
    while (done < size) {
        ssize_t rc = write (file->fd, buf + done, size - done);
        if (rc < 0 && errno == EINTR)
            continue;
        if (rc <= 0) {
            int error = rc < 0 ? errno : ENOSPC;
            s_untear (file, done);
            errno = error;
            return -1;
        }
        done += (size_t)rc;
    }
    return 0;
}

//  Appends text to line at *len as one CSV cell, quoted when RFC 4180 needs it.
static void
s_cell (char *line, size_t *len, const char *text, bool first)
{
    if (!first)
        line[(*len)++] = ',';
    bool quote = strpbrk (text, ",\"\r\n") != NULL || (*text == ' ') ||
                 (*text && text[strlen (text) - 1] == ' ');
    if (quote)
        line[(*len)++] = '"';
    for (const char *c = text; *c; c++) {
        if (*c == '"')
            line[(*len)++] = '"';
        line[(*len)++] = *c;
    }
    if (quote)
        line[(*len)++] = '"';
}

static void
s_path (csv_t *self, const char *type, int part, char *path, size_t cap)
{
    if (part == 1)
        snprintf (path, cap, "%s/%s.csv", self->dir, type);
    else
        snprintf (path, cap, "%s/%s.%d.csv", self->dir, type, part);
}

static bool
s_has_column (csv_file_t *file, const char *key)
{
    for (size_t i = 0; i < file->column_count; i++)
        if (streq (file->column[i], key))
            return true;
    return false;
}

//  Adds every key of r the file has no column for; returns how many were added (capped at
//  ZSAT_RECORD_FIELDS_MAX columns).
static size_t
s_add_columns (csv_file_t *file, const zsat_record_t *r)
{
    size_t added = 0;
    for (size_t i = 0; i < r->count; i++) {
        if (s_has_column (file, r->field[i].key))
            continue;
        if (file->column_count == ZSAT_RECORD_FIELDS_MAX)
            break;
        snprintf (file->column[file->column_count++], ZSAT_RECORD_KEY_MAX, "%s", r->field[i].key);
        added++;
    }
    return added;
}

static bool
s_covers (csv_file_t *file, const zsat_record_t *r)
{
    for (size_t i = 0; i < r->count; i++)
        if (!s_has_column (file, r->field[i].key))
            return false;
    return true;
}

//  Parses a header line (CSV, maybe quoted) into the file's columns. Returns 0, or -1 when
//  it is not one of ours (then a new part is started rather than appending to it).
static int
s_parse_header (csv_file_t *file, const char *line)
{
    static const char *fixed[CSV_FIXED] = {"time", "host", "node", "task_id"};
    char cell[ZSAT_RECORD_KEY_MAX * 2 + 4];
    size_t index = 0;
    const char *c = line;
    while (true) {
        size_t len = 0;
        bool quoted = *c == '"';
        if (quoted)
            c++;
        while (*c && len < sizeof cell - 1) {
            if (quoted && *c == '"' && c[1] == '"')
                c++;
            else if (quoted && *c == '"') {
                c++;
                break;
            }
            else if (!quoted && (*c == ',' || *c == '\n'))
                break;
            cell[len++] = *c++;
        }
        cell[len] = 0;
        if (index < CSV_FIXED) {
            if (!streq (cell, fixed[index]))
                return -1;
        }
        else if (file->column_count < ZSAT_RECORD_FIELDS_MAX && len < ZSAT_RECORD_KEY_MAX)
            memcpy (file->column[file->column_count++], cell, len + 1);
        else
            return -1;
        index++;
        if (*c != ',')
            break;
        c++;
    }
    return index >= CSV_FIXED && *c == '\n' ? 0 : -1;
}

//  Reads the header of an existing part; returns 0 when rows may be appended to it (header
//  ours, last byte a newline), else -1.
static int
s_read_existing (csv_t *self, csv_file_t *file, const char *path)
{
    int fd = open (path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    ssize_t got = read (fd, self->line, CSV_LINE_MAX - 1);
    char last = 0;
    off_t end = lseek (fd, 0, SEEK_END);
    bool tail_ok = end > 0 && pread (fd, &last, 1, end - 1) == 1 && last == '\n';
    close (fd);
    if (got <= 0 || !tail_ok)
        return -1;
    self->line[got] = 0;
    file->column_count = 0;
    return strchr (self->line, '\n') ? s_parse_header (file, self->line) : -1;
}

//  Creates part file->part (or the next free one) and writes its header. Returns 0 or -1.
static int
s_create_part (csv_t *self, csv_file_t *file)
{
    char path[CSV_PATH_MAX + 2 * ZSAT_NAME_MAX];
    for (; file->part <= CSV_PARTS_MAX; file->part++) {
        s_path (self, file->type, file->part, path, sizeof path);
        file->fd = open (path, O_WRONLY | O_CREAT | O_EXCL | O_APPEND | O_CLOEXEC, 0644);
        if (file->fd >= 0 || errno != EEXIST)
            break;
    }
    if (file->fd < 0)
        return -1;
    size_t len = 0;
    const char *fixed[CSV_FIXED] = {"time", "host", "node", "task_id"};
    for (size_t i = 0; i < CSV_FIXED; i++)
        s_cell (self->line, &len, fixed[i], i == 0);
    for (size_t i = 0; i < file->column_count; i++)
        s_cell (self->line, &len, file->column[i], false);
    self->line[len++] = '\n';
    return s_write_all (file, self->line, len);
}

//  Opens the file of a type new to this run: appends to its highest part when that part's
//  columns cover the record, else creates the next part with the union of columns.
static int
s_open_type (csv_t *self, csv_file_t *file, const zsat_record_t *r)
{
    char path[CSV_PATH_MAX + 2 * ZSAT_NAME_MAX];
    int last = 0;
    for (int part = 1; part <= CSV_PARTS_MAX; part++) {
        s_path (self, file->type, part, path, sizeof path);
        if (access (path, F_OK) != 0)
            break;
        last = part;
    }
    if (last > 0) {
        s_path (self, file->type, last, path, sizeof path);
        bool ours = s_read_existing (self, file, path) == 0;
        if (ours && s_covers (file, r)) {
            file->part = last;
            file->fd = open (path, O_WRONLY | O_APPEND | O_CLOEXEC);
            if (file->fd < 0)
                return -1;
            return 0;
        }
        if (!ours)
            file->column_count = 0;
    }
    file->part = last + 1;
    s_add_columns (file, r);
    return s_create_part (self, file);
}

static void
s_file_free (csv_file_t *file)
{
    if (file->fd >= 0)
        close (file->fd);
    free (file->column);
    free (file->pending);
    free (file);
}

//  Writes the file's buffered lines. Returns 0, or -1 with errno (the buffer is kept).
static int
s_flush_pending (csv_file_t *file, bool sync)
{
    if (file->pending_size > 0) {
        if (s_write_all (file, file->pending, file->pending_size) != 0)
            return -1;
        file->pending_size = 0;
    }
    if (sync && file->fd >= 0 && fdatasync (file->fd) != 0 && errno != EINVAL)
        return -1;
    return 0;
}

static csv_file_t *
s_file_for (csv_t *self, const char *type, const zsat_record_t *r)
{
    char name[ZSAT_NAME_MAX];
    zsat_sinks_sanitize (*type ? type : "untyped", name, sizeof name, true);
    for (size_t i = 0; i < self->file_count; i++)
        if (streq (self->file[i]->type, name))
            return self->file[i];
    if (self->file_count == self->file_cap) {
        size_t cap = self->file_cap ? self->file_cap * 2 : 8;
        csv_file_t **grown = (csv_file_t **)realloc (self->file, cap * sizeof (csv_file_t *));
        if (!grown)
            return NULL;
        self->file = grown;
        self->file_cap = cap;
    }
    csv_file_t *file = (csv_file_t *)calloc (1, sizeof (csv_file_t));
    if (!file)
        return NULL;
    file->fd = -1;
    snprintf (file->type, sizeof file->type, "%s", name);
    file->column = calloc (ZSAT_RECORD_FIELDS_MAX, ZSAT_RECORD_KEY_MAX);
    if (self->mode != CSV_FLUSH_EVERY)
        file->pending = (char *)malloc (CSV_PENDING_MAX);
    if (!file->column || (self->mode != CSV_FLUSH_EVERY && !file->pending) ||
        s_open_type (self, file, r) != 0) {
        s_file_free (file);
        return NULL;
    }
    self->file[self->file_count++] = file;
    return file;
}

//  Formats the row of r in the file's column order into self->line at len. Returns the new
//  length.
static size_t
s_format_row (csv_t *self, csv_file_t *file, const zsat_vector_t *v, const zsat_record_t *r,
              size_t len)
{
    char cell[ZSAT_RECORD_STR_MAX + 64];
    zsat_sinks_iso_time (v->timestamp, cell, sizeof cell);
    s_cell (self->line, &len, cell, true);
    s_cell (self->line, &len, v->where, false);
    s_cell (self->line, &len, v->step, false);
    snprintf (cell, sizeof cell, "%" PRIu64, v->task_id);
    s_cell (self->line, &len, cell, false);
    for (size_t i = 0; i < file->column_count; i++) {
        const zsat_field_value_t *f = zsat_record_find (r, file->column[i]);
        if (!f)
            cell[0] = 0;
        else if (f->is_number)
            zsat_sinks_number (f->number, cell, sizeof cell);
        else
            snprintf (cell, sizeof cell, "%s", f->text);
        s_cell (self->line, &len, cell, false);
    }
    self->line[len++] = '\n';
    return len;
}

//  Moves a file to a new part whose columns add r's new keys. Returns 0 or -1 with errno.
static int
s_next_part (csv_t *self, csv_file_t *file, const zsat_record_t *r, zsat_ctx_t *ctx)
{
    if (s_flush_pending (file, true) != 0)
        return -1;
    close (file->fd);
    file->fd = -1;
    if (s_add_columns (file, r) == 0) {
        //  The union would pass ZSAT_RECORD_FIELDS_MAX columns: restart from r's keys.
        file->column_count = 0;
        s_add_columns (file, r);
    }
    file->part++;
    if (s_create_part (self, file) != 0)
        return -1;
    zsat_ctx_count (ctx, "csv_parts", 1);
    zsat_ctx_log (ctx, ZSAT_LOG_INFO, "csv: new keys for type %s: continuing in part %d",
                  file->type, file->part);
    return 0;
}

static int
s_store (csv_t *self, csv_file_t *file, const char *line, size_t len)
{
    if (self->mode == CSV_FLUSH_EVERY)
        return s_write_all (file, line, len);
    if (file->pending_size + len > CSV_PENDING_MAX && s_flush_pending (file, false) != 0)
        return -1;
    if (len > CSV_PENDING_MAX)
        return s_write_all (file, line, len);
    memcpy (file->pending + file->pending_size, line, len);
    file->pending_size += len;
    return 0;
}

//  Writes (and for interval, syncs) every file's buffered rows when the interval is due.
static int
s_flush_due (csv_t *self, bool force)
{
    int64_t now = zsat_sinks_now_ms ();
    if (!force &&
        (self->mode != CSV_FLUSH_INTERVAL || now - self->last_flush_ms < self->interval_ms))
        return 0;
    self->last_flush_ms = now;
    int rc = 0;
    for (size_t i = 0; i < self->file_count; i++)
        if (s_flush_pending (self->file[i], self->mode == CSV_FLUSH_INTERVAL || force) != 0)
            rc = -1;
    return rc;
}

static int
s_csv_init (zsat_ctx_t *ctx, const void *config, void **state_p)
{
    const csv_config_t *cfg = (const csv_config_t *)config;
    csv_t *self = (csv_t *)calloc (1, sizeof (csv_t));
    if (!self)
        return -1;
    if (*cfg->dir)
        snprintf (self->dir, sizeof self->dir, "%s", cfg->dir);
    else
        snprintf (self->dir, sizeof self->dir, "%s/%s/csv", zsat_ctx_run_dir (ctx),
                  zsat_ctx_host (ctx));
    self->mode = streq (cfg->flush, "every")      ? CSV_FLUSH_EVERY
                 : streq (cfg->flush, "interval") ? CSV_FLUSH_INTERVAL
                 : streq (cfg->flush, "none")     ? CSV_FLUSH_NONE
                                                  : (csv_flush_t)-1;
    self->interval_ms = cfg->flush_interval > 0 ? cfg->flush_interval : 1000;
    self->last_flush_ms = zsat_sinks_now_ms ();
    self->line = (char *)malloc (CSV_ROWS_MAX);
    if ((int)self->mode < 0)
        zsat_ctx_log (ctx, ZSAT_LOG_ERROR, "csv: flush must be every, interval or none, not '%s'",
                      cfg->flush);
    else if (zsat_sinks_mkdirs (self->dir) != 0)
        zsat_ctx_log (ctx, ZSAT_LOG_ERROR, "csv: cannot create %s: %s", self->dir,
                      strerror (errno));
    if ((int)self->mode < 0 || !self->line || access (self->dir, W_OK) != 0) {
        free (self->line);
        free (self);
        return -1;
    }
    if (self->mode == CSV_FLUSH_INTERVAL)
        zsat_ctx_set_tick (ctx, self->interval_ms * 1000);
    *state_p = self;
    return 0;
}

static zsat_result_t
s_csv_handle (zsat_ctx_t *ctx, void *state, zsat_vector_t *v)
{
    csv_t *self = (csv_t *)state;
    int rc = zsat_sinks_record (ctx, &self->limiter, v, &self->record);
    if (rc != 0)
        return rc > 0 ? ZSAT_SKIP : ZSAT_ERROR;
    size_t rows = zsat_sinks_rows_split (&self->rows, &self->record);
    const zsat_record_t *columns = zsat_sinks_rows_columns (&self->rows, &self->columns);
    csv_file_t *file = s_file_for (self, v->type, columns);
    int ready = file ? 0 : -1;
    if (file && !s_covers (file, columns))
        ready = s_next_part (self, file, columns, ctx);
    else if (file && file->fd < 0)
        ready = s_create_part (self, file);  //  a part that failed to open before
    if (ready != 0) {
        int error = errno;
        zsat_sinks_complain (ctx, &self->io_limiter, ZSAT_LOG_ERROR, "csv: cannot open %s/%s: %s",
                             self->dir, v->type, strerror (error));
        return s_transient (error) ? ZSAT_RETRY : ZSAT_ERROR;
    }
    size_t len = 0;
    for (size_t i = 0; i < rows; i++) {
        if (len + CSV_LINE_MAX > CSV_ROWS_MAX) {
            zsat_sinks_complain (ctx, &self->io_limiter, ZSAT_LOG_ERROR,
                                 "csv: the %zu rows of task %" PRIu64 " pass %d bytes", rows,
                                 v->task_id, CSV_ROWS_MAX - CSV_LINE_MAX);
            return ZSAT_ERROR;
        }
        len = s_format_row (self, file, v, zsat_sinks_rows_get (&self->rows, i, &self->row), len);
    }
    if (s_store (self, file, self->line, len) != 0) {
        int error = errno;
        zsat_sinks_complain (ctx, &self->io_limiter, ZSAT_LOG_ERROR, "csv: write %s: %s",
                             file->type, strerror (error));
        return s_transient (error) ? ZSAT_RETRY : ZSAT_ERROR;
    }
    //  The row is accepted: a failed periodic flush keeps the rows buffered for the next one.
    if (s_flush_due (self, false) != 0)
        zsat_sinks_complain (ctx, &self->io_limiter, ZSAT_LOG_WARN, "csv: flush delayed: %s",
                             strerror (errno));
    zsat_ctx_count (ctx, "rows", rows);
    return ZSAT_OK;
}

//  Not a source: the runtime's tick (when it ticks sinks) writes due buffered rows.
static zsat_result_t
s_csv_tick (zsat_ctx_t *ctx, void *state, zsat_vector_t *v)
{
    s_flush_due ((csv_t *)state, false);
    return ZSAT_SKIP;
}

static void
s_csv_exit (zsat_ctx_t *ctx, void *state)
{
    csv_t *self = (csv_t *)state;
    if (!self)
        return;
    for (size_t i = 0; i < self->file_count; i++) {
        csv_file_t *file = self->file[i];
        if (s_flush_pending (file, false) != 0 || (file->fd >= 0 && fsync (file->fd) != 0))
            zsat_ctx_log (ctx, ZSAT_LOG_ERROR, "csv: %s: %zu bytes not written: %s", file->type,
                          file->pending_size, strerror (errno));
        s_file_free (file);
    }
    free (self->file);
    free (self->line);
    free (self);
}

static const zsat_option_t s_csv_options[] = {
    {"dir", ZSAT_OPT_STRING, "", "directory of the CSV files (default <run_dir>/<host>/csv)",
     offsetof (csv_config_t, dir), sizeof (((csv_config_t *)0)->dir)},
    {"flush", ZSAT_OPT_STRING, "interval",
     "every (write each row), interval (write + fdatasync every flush_interval), none (when "
     "the buffer is full and at exit)",
     offsetof (csv_config_t, flush), sizeof (((csv_config_t *)0)->flush),
     .choices = "every|interval|none"},
    {"flush_interval", ZSAT_OPT_DURATION, "1s", "how often buffered rows are written (interval)",
     offsetof (csv_config_t, flush_interval), 0, ZSAT_ABOVE (0)},
    ZSAT_OPTIONS_END};

const zsat_kind_t zsat_kind_csv = {
    .name = "csv",
    .description = "sink: one CSV file per vector type (time, host, node, task_id, record keys)",
    .role = ZSAT_ROLE_SINK,
    .options = s_csv_options,
    .config_size = sizeof (csv_config_t),
    .init = s_csv_init,
    .handle = s_csv_handle,
    .tick = s_csv_tick,
    .exit = s_csv_exit,
};
