/*  sat_log - sink kind "log": one human-readable line per vector, for debugging.

    A line is zsat_vector_describe () then the record as key=value (text in double quotes,
    escaped); a payload of another serialization, or a malformed record, is shown raw:
    escaped text when printable, else hex, bounded to LOG_RAW_MAX bytes. Lines go to option
    `file` (appended; default stderr), each with one write(). Owns that file, no sockets.
*/
#include "zsat.h"
#include "zsat_sinks.h"
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <unistd.h>

#define LOG_PATH_MAX 1024
#define LOG_RAW_MAX  256
#define LOG_LINE_MAX                                                                               \
    (ZSAT_RECORD_FIELDS_MAX * (ZSAT_RECORD_KEY_MAX + 4 * ZSAT_RECORD_STR_MAX) + 4096)

typedef struct {
    char file[LOG_PATH_MAX];
} log_config_t;

typedef struct {
    int fd;
    bool own_fd;
    char *line;
    size_t len;
    zsat_record_t record;
    zsat_sinks_limiter_t io_limiter;  //  I/O trouble, so it is never hidden by the former
} log_t;

static void s_append (log_t *self, const char *format, ...) __attribute__ ((format (printf, 2, 3)));

static void
s_append (log_t *self, const char *format, ...)
{
    if (self->len >= LOG_LINE_MAX - 1)
        return;
    va_list args;
    va_start (args, format);
    int n = vsnprintf (self->line + self->len, LOG_LINE_MAX - self->len, format, args);
    va_end (args);
    if (n > 0)
        self->len +=
            (size_t)n < LOG_LINE_MAX - self->len ? (size_t)n : LOG_LINE_MAX - self->len - 1;
}

//  Appends bytes escaped C-style (\n, \", \\, \xNN), so one vector stays on one line.
static void
s_escaped (log_t *self, const uint8_t *data, size_t size)
{
    for (size_t i = 0; i < size; i++) {
        uint8_t c = data[i];
        if (c == '\n')
            s_append (self, "\\n");
        else if (c == '"' || c == '\\')
            s_append (self, "\\%c", c);
        else if (c < 0x20 || c >= 0x7f)
            s_append (self, "\\x%02x", c);
        else
            s_append (self, "%c", c);
    }
}

static void
s_raw (log_t *self, const zsat_vector_t *v)
{
    size_t shown = v->payload_size < LOG_RAW_MAX ? v->payload_size : LOG_RAW_MAX;
    size_t printable = 0;
    for (size_t i = 0; i < shown; i++)
        printable += v->payload[i] >= 0x20 && v->payload[i] < 0x7f;
    if (printable * 10 >= shown * 9) {
        s_append (self, " raw=\"");
        s_escaped (self, v->payload, shown);
        s_append (self, "\"");
    }
    else {
        s_append (self, " hex=");
        for (size_t i = 0; i < shown; i++)
            s_append (self, "%02x", v->payload[i]);
    }
    if (shown < v->payload_size)
        s_append (self, " (+%zu bytes)", v->payload_size - shown);
}

static void
s_record (log_t *self)
{
    char number[64];
    for (size_t i = 0; i < self->record.count; i++) {
        const zsat_field_value_t *f = &self->record.field[i];
        s_append (self, " ");
        s_escaped (self, (const uint8_t *)f->key, strlen (f->key));
        if (f->is_number) {
            zsat_sinks_number (f->number, number, sizeof number);
            s_append (self, "=%s", number);
        }
        else {
            s_append (self, "=\"");
            s_escaped (self, (const uint8_t *)f->text, strlen (f->text));
            s_append (self, "\"");
        }
    }
}

static int
s_log_init (zsat_ctx_t *ctx, const void *config, void **state_p)
{
    const log_config_t *cfg = (const log_config_t *)config;
    log_t *self = (log_t *)calloc (1, sizeof (log_t));
    if (!self)
        return -1;
    self->line = (char *)malloc (LOG_LINE_MAX);
    self->fd = STDERR_FILENO;
    if (*cfg->file && !streq (cfg->file, "-") && !streq (cfg->file, "stderr")) {
        self->fd = open (cfg->file, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
        self->own_fd = true;
    }
    if (self->fd < 0 || !self->line) {
        zsat_ctx_log (ctx, ZSAT_LOG_ERROR, "log: cannot open %s: %s", cfg->file, strerror (errno));
        free (self->line);
        free (self);
        return -1;
    }
    *state_p = self;
    return 0;
}

static zsat_result_t
s_log_handle (zsat_ctx_t *ctx, void *state, zsat_vector_t *v)
{
    log_t *self = (log_t *)state;
    self->len = 0;
    zsat_vector_describe (v, self->line, LOG_LINE_MAX);
    self->len = strlen (self->line);
    zsat_error_t err = {0};
    if (streq (v->serialization, ZSAT_RECORD_SERIALIZATION) &&
        zsat_record_decode (&self->record, v->payload, v->payload_size, &err) == 0)
        s_record (self);
    else {
        if (streq (v->serialization, ZSAT_RECORD_SERIALIZATION))
            s_append (self, " malformed=\"%s\"", err.text);
        s_raw (self, v);
    }
    self->line[self->len++] = '\n';
    ssize_t rc;
    do
        rc = write (self->fd, self->line, self->len);
    while (rc < 0 && errno == EINTR);
    if (rc != (ssize_t)self->len) {
        int error = rc < 0 ? errno : ENOSPC;
        zsat_sinks_complain (ctx, &self->io_limiter, ZSAT_LOG_ERROR, "log: write: %s",
                             strerror (error));
        return error == EBADF || error == EINVAL ? ZSAT_ERROR : ZSAT_RETRY;
    }
    zsat_ctx_count (ctx, "rows", 1);
    return ZSAT_OK;
}

static void
s_log_exit (zsat_ctx_t *ctx, void *state)
{
    log_t *self = (log_t *)state;
    if (!self)
        return;
    if (self->own_fd) {
        if (fsync (self->fd) != 0 && errno != EINVAL)
            zsat_ctx_log (ctx, ZSAT_LOG_WARN, "log: fsync: %s", strerror (errno));
        close (self->fd);
    }
    free (self->line);
    free (self);
}

static const zsat_option_t s_log_options[] = {
    {"file", ZSAT_OPT_STRING, "", "file the lines are appended to (default: stderr)",
     offsetof (log_config_t, file), sizeof (((log_config_t *)0)->file)},
    ZSAT_OPTIONS_END};

const zsat_kind_t zsat_kind_log = {
    .name = "log",
    .description = "sink: one human-readable line per vector (envelope and record), for debugging",
    .role = ZSAT_ROLE_SINK,
    .options = s_log_options,
    .config_size = sizeof (log_config_t),
    .init = s_log_init,
    .handle = s_log_handle,
    .exit = s_log_exit,
};
