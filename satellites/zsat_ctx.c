/*  zsat_ctx - what a satellite kind knows of where it runs: topology, host, node, instance,
    run directory; plus its log, tick interval, scratch output buffer and named counters.
    Owns no sockets: the runtime keeps those away from kinds.
*/
#include "zsat.h"
#include <stdarg.h>
#include <sys/time.h>
#include <sys/stat.h>

#define CTX_COUNTERS_MAX 32
#define CTX_BUFFER_SIZE  (64 * 1024)

struct zsat_ctx_t {
    char *topology, *host, *node, *run_dir;
    int instance;
    int log_level;
    int64_t tick_us;
    uint8_t *buffer;
    size_t counter_count;
    char counter_name[CTX_COUNTERS_MAX][48];
    uint64_t counter_value[CTX_COUNTERS_MAX];
};

int
zsat_log_level_env (void)
{
    const char *level = getenv ("ZSAT_LOG");
    if (!level)
        return ZSAT_LOG_INFO;
    if (streq (level, "debug"))
        return ZSAT_LOG_DEBUG;
    if (streq (level, "warn"))
        return ZSAT_LOG_WARN;
    if (streq (level, "error"))
        return ZSAT_LOG_ERROR;
    return ZSAT_LOG_INFO;
}

zsat_ctx_t *
zsat_ctx_new (const char *topology, const char *host, const char *node, int instance,
              const char *run_dir)
{
    zsat_ctx_t *self = (zsat_ctx_t *)calloc (1, sizeof (zsat_ctx_t));
    if (!self)
        return NULL;
    self->topology = strdup (topology ? topology : "");
    self->host = strdup (host ? host : "");
    self->node = strdup (node ? node : "");
    self->run_dir = strdup (run_dir ? run_dir : ".");
    self->buffer = (uint8_t *)malloc (CTX_BUFFER_SIZE);
    self->instance = instance;
    self->log_level = zsat_log_level_env ();
    if (!self->topology || !self->host || !self->node || !self->run_dir || !self->buffer)
        zsat_ctx_destroy (&self);
    return self;
}

void
zsat_ctx_destroy (zsat_ctx_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    zsat_ctx_t *self = *self_p;
    free (self->topology);
    free (self->host);
    free (self->node);
    free (self->run_dir);
    free (self->buffer);
    free (self);
    *self_p = NULL;
}

const char *
zsat_ctx_topology (zsat_ctx_t *self)
{
    return self->topology;
}

const char *
zsat_ctx_host (zsat_ctx_t *self)
{
    return self->host;
}

const char *
zsat_ctx_node (zsat_ctx_t *self)
{
    return self->node;
}

int
zsat_ctx_instance (zsat_ctx_t *self)
{
    return self->instance;
}

const char *
zsat_ctx_run_dir (zsat_ctx_t *self)
{
    return self->run_dir;
}

//  systemd sets JOURNAL_STREAM=<device>:<inode> when stdout/stderr go to the journal; it
//  holds for us only if our stderr is that very stream (not redirected to a file since).
bool
zsat_log_journal (void)
{
    const char *stream = getenv ("JOURNAL_STREAM");
    unsigned long long dev = 0, ino = 0;
    struct stat st;
    return stream && sscanf (stream, "%llu:%llu", &dev, &ino) == 2 && fstat (2, &st) == 0 &&
           (unsigned long long)st.st_dev == dev && (unsigned long long)st.st_ino == ino;
}

static void __attribute__ ((format (printf, 4, 0)))
s_vlog (FILE *stream, int level, const char *who, const char *format, va_list args)
{
    static const char *names[] = {"ERROR", "WARN", "INFO", "DEBUG"};
    //  Under journald: the syslog level as a "<N>" prefix journald reads (3 err, 4 warning,
    //  6 info, 7 debug), no timestamp (the journal has its own).
    static const int syslog_levels[] = {3, 4, 6, 7};
    if (stream == stderr && zsat_log_journal ()) {
        char text[1024];
        vsnprintf (text, sizeof text, format, args);
        fprintf (stream, "<%d>%s: %s\n",
                 syslog_levels[level < 0   ? 0
                               : level > 3 ? 3
                                           : level],
                 who, text);
        fflush (stream);
        return;
    }
    struct timeval tv;
    gettimeofday (&tv, NULL);
    struct tm tm;
    gmtime_r (&tv.tv_sec, &tm);
    char when[32];
    strftime (when, sizeof when, "%Y-%m-%dT%H:%M:%S", &tm);
    char message[1024];
    vsnprintf (message, sizeof message, format, args);
    fprintf (stream, "%s.%03ldZ %-5s %s: %s\n", when, (long)tv.tv_usec / 1000,
             names[level < 0   ? 0
                   : level > 3 ? 3
                               : level],
             who, message);
    fflush (stream);
}

void
zsat_log_line (FILE *stream, int level, const char *who, const char *format, ...)
{
    if (level > zsat_log_level_env ())
        return;
    va_list args;
    va_start (args, format);
    s_vlog (stream, level, who, format, args);
    va_end (args);
}

void
zsat_ctx_log (zsat_ctx_t *self, int level, const char *format, ...)
{
    if (level > self->log_level)
        return;
    char who[160];
    snprintf (who, sizeof who, "%s.%d@%s", self->node, self->instance, self->host);
    va_list args;
    va_start (args, format);
    s_vlog (stderr, level, who, format, args);
    va_end (args);
}

void
zsat_ctx_set_log_level (zsat_ctx_t *self, int level)
{
    self->log_level = level;
}

void
zsat_ctx_set_tick (zsat_ctx_t *self, int64_t interval_us)
{
    self->tick_us = interval_us > 0 ? interval_us : 0;
}

int64_t
zsat_ctx_tick (zsat_ctx_t *self)
{
    return self->tick_us;
}

uint8_t *
zsat_ctx_buffer (zsat_ctx_t *self, size_t *cap)
{
    if (cap)
        *cap = CTX_BUFFER_SIZE;
    return self->buffer;
}

void
zsat_ctx_count (zsat_ctx_t *self, const char *counter, uint64_t n)
{
    for (size_t i = 0; i < self->counter_count; i++)
        if (streq (self->counter_name[i], counter)) {
            self->counter_value[i] += n;
            return;
        }
    //  A kind with more than CTX_COUNTERS_MAX counter names loses the extra ones' counts.
    if (self->counter_count == CTX_COUNTERS_MAX)
        return;
    snprintf (self->counter_name[self->counter_count], 48, "%s", counter);
    self->counter_value[self->counter_count++] = n;
}

uint64_t
zsat_ctx_counter (zsat_ctx_t *self, const char *counter)
{
    for (size_t i = 0; i < self->counter_count; i++)
        if (streq (self->counter_name[i], counter))
            return self->counter_value[i];
    return 0;
}

const char *
zsat_ctx_counter_at (zsat_ctx_t *self, size_t i, uint64_t *value)
{
    if (i >= self->counter_count)
        return NULL;
    if (value)
        *value = self->counter_value[i];
    return self->counter_name[i];
}

void
zsat_ctx_test (bool verbose)
{
    printf (" * zsat_ctx: ");
    zsat_ctx_t *ctx = zsat_ctx_new ("default", "local", "cpu", 2, "/tmp");
    assert (ctx);
    assert (streq (zsat_ctx_topology (ctx), "default"));
    assert (streq (zsat_ctx_host (ctx), "local"));
    assert (streq (zsat_ctx_node (ctx), "cpu"));
    assert (zsat_ctx_instance (ctx) == 2);
    zsat_ctx_count (ctx, "drops", 2);
    zsat_ctx_count (ctx, "drops", 3);
    zsat_ctx_count (ctx, "rows", 1);
    assert (zsat_ctx_counter (ctx, "drops") == 5);
    assert (zsat_ctx_counter (ctx, "nothing") == 0);
    uint64_t value = 0;
    assert (streq (zsat_ctx_counter_at (ctx, 1, &value), "rows") && value == 1);
    assert (zsat_ctx_counter_at (ctx, 2, &value) == NULL);
    size_t cap;
    assert (zsat_ctx_buffer (ctx, &cap) && cap >= 4096);
    zsat_ctx_set_tick (ctx, 1000);
    assert (zsat_ctx_tick (ctx) == 1000);
    zsat_ctx_set_log_level (ctx, ZSAT_LOG_ERROR);
    zsat_ctx_log (ctx, ZSAT_LOG_INFO, "not shown %d", 1);
    zsat_ctx_destroy (&ctx);
    zsat_ctx_destroy (&ctx);
    assert (ctx == NULL);
    printf ("OK\n");
}
