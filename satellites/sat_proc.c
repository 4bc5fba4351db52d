/*  sat_proc - probe: processes of this host, as DSAT's proc did. Counts processes (/proc),
    threads (/proc/loadavg), open file handles (/proc/sys/fs/file-nr), context switches and
    their rate (/proc/stat ctxt), and splits resident memory and CPU between zsat's own
    processes (command name or line containing "zsat") and all the others.
    Record keys: processes threads running blocked open_files ctxt ctxt_s zsat.count
    zsat.rss_bytes zsat.cpu_pct others.count others.rss_bytes others.cpu_pct
    (cpu_pct: percent of the whole machine since the previous measurement).
*/
#define _GNU_SOURCE  //  memmem
#include "zsat.h"
#include "zsat_probes.h"
#include <dirent.h>

typedef struct {
    uint64_t count, rss_pages, ticks;
} s_group_t;

typedef struct {
    uint64_t ctxt, last_ctxt;
    uint64_t last_ticks[2];  //  zsat, others
    int64_t last_us;
    long page_size, clock_ticks, ncpu;
    zsat_record_t record;
    char text[65536];  //  /proc/stat's intr line alone can take kilobytes
    char path[300];    //  "/proc/" + a d_name of up to 255 bytes
} s_state_t;

//  Reads comm, CPU ticks and RSS of one process; returns 0, or -1 when it vanished.
static int
s_process (s_state_t *self, const char *pid, bool *is_zsat, uint64_t *ticks, uint64_t *rss)
{
    snprintf (self->path, sizeof self->path, "/proc/%s/stat", pid);
    if (zsat_probe_read (self->path, self->text, sizeof self->text) <= 0)
        return -1;
    //  comm may hold spaces and parentheses: the fields resume after the last ')'.
    char *open = strchr (self->text, '('), *close = strrchr (self->text, ')');
    if (!open || !close || close < open)
        return -1;
    *close = 0;
    *is_zsat = strstr (open + 1, "zsat") != NULL;
    unsigned long utime = 0, stime = 0;
    long rss_pages = 0;
    if (sscanf (close + 2,
                "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu %*d %*d %*d %*d "
                "%*d %*d %*u %*u %ld",
                &utime, &stime, &rss_pages) != 3)
        return -1;
    *ticks = utime + stime;
    *rss = rss_pages > 0 ? (uint64_t)rss_pages : 0;
    if (!*is_zsat) {
        snprintf (self->path, sizeof self->path, "/proc/%s/cmdline", pid);
        ssize_t n = zsat_probe_read (self->path, self->text, 4096);
        *is_zsat = n > 0 && memmem (self->text, (size_t)n, "zsat", 4) != NULL;
    }
    return 0;
}

//  Walks /proc once: groups[0] zsat, groups[1] others. Returns the process count or -1.
static int
s_walk (s_state_t *self, s_group_t groups[2])
{
    memset (groups, 0, 2 * sizeof (s_group_t));
    DIR *dir = opendir ("/proc");
    if (!dir)
        return -1;
    int count = 0;
    struct dirent *entry;
    while ((entry = readdir (dir)) != NULL) {
        if (!isdigit ((unsigned char)entry->d_name[0]))
            continue;
        bool is_zsat = false;
        uint64_t ticks = 0, rss = 0;
        if (s_process (self, entry->d_name, &is_zsat, &ticks, &rss))
            continue;
        s_group_t *g = &groups[is_zsat ? 0 : 1];
        g->count++;
        g->ticks += ticks;
        g->rss_pages += rss;
        count++;
    }
    closedir (dir);
    return count;
}

static void
s_system (s_state_t *self, zsat_record_t *r)
{
    unsigned long running = 0, total = 0;
    if (zsat_probe_read ("/proc/loadavg", self->text, sizeof self->text) > 0)
        sscanf (self->text, "%*f %*f %*f %lu/%lu", &running, &total);
    zsat_record_add_number (r, "threads", (double)total);
    unsigned long files = 0;
    if (zsat_probe_read ("/proc/sys/fs/file-nr", self->text, sizeof self->text) > 0)
        sscanf (self->text, "%lu", &files);
    zsat_record_add_number (r, "open_files", (double)files);
    uint64_t running_now = 0, blocked = 0;
    if (zsat_probe_read ("/proc/stat", self->text, sizeof self->text) > 0) {
        const char *at = strstr (self->text, "\nctxt ");
        if (at)
            sscanf (at + 6, "%" SCNu64, &self->ctxt);
        at = strstr (self->text, "\nprocs_running ");
        if (at)
            sscanf (at + 15, "%" SCNu64, &running_now);
        at = strstr (self->text, "\nprocs_blocked ");
        if (at)
            sscanf (at + 15, "%" SCNu64, &blocked);
    }
    zsat_record_add_number (r, "running", (double)running_now);
    zsat_record_add_number (r, "blocked", (double)blocked);
    zsat_record_add_number (r, "ctxt", (double)self->ctxt);
}

static int
s_init (zsat_ctx_t *ctx, const void *config, void **state_p)
{
    s_state_t *self = (s_state_t *)calloc (1, sizeof (s_state_t));
    if (!self)
        return -1;
    self->page_size = sysconf (_SC_PAGESIZE);
    self->clock_ticks = sysconf (_SC_CLK_TCK);
    self->ncpu = sysconf (_SC_NPROCESSORS_ONLN);
    s_group_t groups[2];
    if (s_walk (self, groups) < 0) {
        zsat_ctx_log (ctx, ZSAT_LOG_ERROR, "proc: cannot read /proc");
        free (self);
        return -1;
    }
    self->last_ticks[0] = groups[0].ticks;
    self->last_ticks[1] = groups[1].ticks;
    s_system (self, &self->record);
    self->last_ctxt = self->ctxt;
    self->last_us = zsat_probe_now_us ();
    *state_p = self;
    return 0;
}

static void
s_add_group (s_state_t *self, const char *name, const s_group_t *g, uint64_t last_ticks, int64_t us)
{
    char key[ZSAT_RECORD_KEY_MAX];
    snprintf (key, sizeof key, "%s.count", name);
    zsat_record_add_number (&self->record, key, (double)g->count);
    snprintf (key, sizeof key, "%s.rss_bytes", name);
    zsat_record_add_number (&self->record, key, (double)g->rss_pages * (double)self->page_size);
    //  Processes that exited take their ticks with them: the rate is then clamped to 0.
    double ticks_s = zsat_probe_rate (last_ticks, g->ticks, us);
    double pct = 100.0 * ticks_s / (double)(self->clock_ticks * (self->ncpu > 0 ? self->ncpu : 1));
    snprintf (key, sizeof key, "%s.cpu_pct", name);
    zsat_record_add_number (&self->record, key, pct > 100 ? 100 : pct);
}

static zsat_result_t
s_handle (zsat_ctx_t *ctx, void *state, zsat_vector_t *v)
{
    s_state_t *self = (s_state_t *)state;
    s_group_t groups[2];
    int processes = s_walk (self, groups);
    if (processes < 0)
        return ZSAT_RETRY;
    int64_t now_us = zsat_probe_now_us ();
    zsat_record_t *r = &self->record;
    zsat_record_reset (r);
    zsat_record_add_number (r, "processes", processes);
    s_system (self, r);
    zsat_record_add_number (r, "ctxt_s",
                            zsat_probe_rate (self->last_ctxt, self->ctxt, now_us - self->last_us));
    s_add_group (self, "zsat", &groups[0], self->last_ticks[0], now_us - self->last_us);
    s_add_group (self, "others", &groups[1], self->last_ticks[1], now_us - self->last_us);
    self->last_ticks[0] = groups[0].ticks;
    self->last_ticks[1] = groups[1].ticks;
    self->last_ctxt = self->ctxt;
    self->last_us = now_us;
    return zsat_probe_emit (ctx, v, r);
}

static void
s_exit (zsat_ctx_t *ctx, void *state)
{
    free (state);
}

const zsat_kind_t zsat_kind_proc = {
    "proc",
    "probe: process and thread counts, open files, context switches, and memory/CPU of "
    "zsat's own processes vs the others, from /proc",
    ZSAT_ROLE_WORKER,
    NULL,
    0,
    s_init,
    s_handle,
    NULL,
    s_exit,
    NULL};
