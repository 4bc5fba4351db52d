/*  sat_disk - probe: per whole disk, reads/writes and bytes from /proc/diskstats with rates
    per second since the previous measurement; per path of option `paths`, the filesystem's
    size and used percent (statvfs). Record keys: <disk>.reads <disk>.writes
    <disk>.read_bytes <disk>.write_bytes <disk>.reads_s ... and fs<path>.used_pct where the
    path's '/' become '_' ("/" is fs_root, "/var/log" is fs_var_log). "zsat.rows" = "device":
    tabular sinks store one row per disk or path with a device column (docs/sinks.md "Rows").
*/
#include "zsat.h"
#include "zsat_probes.h"
#include "zsat_sinks.h"
#include <sys/statvfs.h>

#define DISK_MAX 16  //  8 keys each, leaving room for 8 paths of 4 keys

typedef struct {
    char paths[256];
    char devices[256];
} s_config_t;

typedef struct {
    char name[32];
    uint64_t reads, read_sectors, writes, write_sectors;
} s_counters_t;

typedef struct {
    s_config_t config;
    s_counters_t last[DISK_MAX], now[DISK_MAX];
    size_t last_count;
    int64_t last_us;
    zsat_record_t record;
    char text[32768];
} s_state_t;

//  Partitions, loop and ram devices would count the same I/O twice or never move.
static bool
s_whole_disk (const char *name)
{
    if (strncmp (name, "loop", 4) == 0 || strncmp (name, "ram", 3) == 0)
        return false;
    char path[96];
    snprintf (path, sizeof path, "/sys/block/%s", name);
    return access (path, F_OK) == 0;
}

static int
s_read (s_state_t *self, s_counters_t *out)
{
    if (zsat_probe_read ("/proc/diskstats", self->text, sizeof self->text) < 0)
        return -1;
    int count = 0;
    char *save = NULL;
    for (char *line = strtok_r (self->text, "\n", &save); line && count < DISK_MAX;
         line = strtok_r (NULL, "\n", &save)) {
        s_counters_t c;
        memset (&c, 0, sizeof c);
        uint64_t merged;
        unsigned major, minor;
        if (sscanf (line,
                    "%u %u %31s %" SCNu64 " %" SCNu64 " %" SCNu64 " %*u %" SCNu64 " %" SCNu64
                    " %" SCNu64,
                    &major, &minor, c.name, &c.reads, &merged, &c.read_sectors, &c.writes, &merged,
                    &c.write_sectors) != 9)
            continue;
        if (*self->config.devices ? !zsat_probe_selected (self->config.devices, c.name)
                                  : !s_whole_disk (c.name))
            continue;
        out[count++] = c;
    }
    return count;
}

static int
s_init (zsat_ctx_t *ctx, const void *config, void **state_p)
{
    s_state_t *self = (s_state_t *)calloc (1, sizeof (s_state_t));
    if (!self)
        return -1;
    snprintf (self->config.paths, sizeof self->config.paths, "/");
    if (config)
        self->config = *(const s_config_t *)config;
    int count = s_read (self, self->last);
    if (count < 0) {
        zsat_ctx_log (ctx, ZSAT_LOG_ERROR, "disk: cannot read /proc/diskstats");
        free (self);
        return -1;
    }
    self->last_count = (size_t)count;
    self->last_us = zsat_probe_now_us ();
    *state_p = self;
    return 0;
}

static void
s_add (zsat_record_t *r, const char *prefix, const char *what, double value)
{
    char key[ZSAT_RECORD_KEY_MAX];
    snprintf (key, sizeof key, "%s.%s", prefix, what);
    zsat_record_add_number (r, key, value);
}

static void
s_add_disk (zsat_record_t *r, const s_counters_t *c, const s_counters_t *p, int64_t us)
{
    s_add (r, c->name, "reads", (double)c->reads);
    s_add (r, c->name, "writes", (double)c->writes);
    s_add (r, c->name, "read_bytes", 512.0 * (double)c->read_sectors);
    s_add (r, c->name, "write_bytes", 512.0 * (double)c->write_sectors);
    s_add (r, c->name, "reads_s", p ? zsat_probe_rate (p->reads, c->reads, us) : 0);
    s_add (r, c->name, "writes_s", p ? zsat_probe_rate (p->writes, c->writes, us) : 0);
    s_add (r, c->name, "read_bytes_s",
           p ? 512.0 * zsat_probe_rate (p->read_sectors, c->read_sectors, us) : 0);
    s_add (r, c->name, "write_bytes_s",
           p ? 512.0 * zsat_probe_rate (p->write_sectors, c->write_sectors, us) : 0);
}

static void
s_add_path (zsat_record_t *r, const char *path, zsat_ctx_t *ctx)
{
    struct statvfs fs;
    if (statvfs (path, &fs)) {
        zsat_ctx_count (ctx, "statvfs_errors", 1);
        return;
    }
    char prefix[48] = "fs";
    size_t at = 2;
    for (const char *c = path; *c && at < sizeof prefix - 1; c++)
        prefix[at++] = *c == '/' ? '_' : *c;
    prefix[at] = 0;
    if (streq (prefix, "fs_"))
        snprintf (prefix, sizeof prefix, "fs_root");
    double total = (double)fs.f_blocks * (double)fs.f_frsize;
    double avail = (double)fs.f_bavail * (double)fs.f_frsize;
    double used = ((double)fs.f_blocks - (double)fs.f_bfree) * (double)fs.f_frsize;
    //  used% as df shows it: of the space a non-root user could have.
    double pct = used + avail > 0 ? 100.0 * used / (used + avail) : 0;
    s_add (r, prefix, "total_bytes", total);
    s_add (r, prefix, "avail_bytes", avail);
    s_add (r, prefix, "used_pct", pct > 100 ? 100 : pct);
}

static const s_counters_t *
s_previous (s_state_t *self, const char *name)
{
    for (size_t i = 0; i < self->last_count; i++)
        if (streq (self->last[i].name, name))
            return &self->last[i];
    return NULL;
}

static zsat_result_t
s_handle (zsat_ctx_t *ctx, void *state, zsat_vector_t *v)
{
    s_state_t *self = (s_state_t *)state;
    int count = s_read (self, self->now);
    if (count < 0)
        return ZSAT_RETRY;
    int64_t now_us = zsat_probe_now_us ();
    zsat_record_t *r = &self->record;
    zsat_record_reset (r);
    for (int i = 0; i < count; i++)
        s_add_disk (r, &self->now[i], s_previous (self, self->now[i].name), now_us - self->last_us);
    memcpy (self->last, self->now, sizeof (s_counters_t) * (size_t)count);
    self->last_count = (size_t)count;
    self->last_us = now_us;
    char paths[sizeof self->config.paths];
    memcpy (paths, self->config.paths, sizeof paths);
    char *save = NULL;
    int path_count = 0;
    for (char *p = strtok_r (paths, ",", &save); p && path_count < 8;
         p = strtok_r (NULL, ",", &save), path_count++)
        s_add_path (r, p, ctx);
    zsat_record_add_text (r, ZSAT_SINKS_ROWS_KEY, "device");
    return zsat_probe_emit (ctx, v, r);
}

static void
s_exit (zsat_ctx_t *ctx, void *state)
{
    free (state);
}

static const zsat_option_t s_options[] = {
    {"paths", ZSAT_OPT_STRING, "/",
     "comma-separated mount points whose size and used percent are measured (at most 8)",
     offsetof (s_config_t, paths), sizeof ((s_config_t *)0)->paths},
    {"devices", ZSAT_OPT_STRING, "",
     "comma-separated block devices (e.g. \"sda,nvme0n1\"); empty: every whole disk except "
     "loop and ram devices",
     offsetof (s_config_t, devices), sizeof ((s_config_t *)0)->devices},
    ZSAT_OPTIONS_END};

const zsat_kind_t zsat_kind_disk = {
    "disk",
    "probe: per-disk reads/writes and bytes with rates per second (/proc/diskstats) and "
    "filesystem used percent (statvfs)",
    ZSAT_ROLE_WORKER,
    s_options,
    sizeof (s_config_t),
    s_init,
    s_handle,
    NULL,
    s_exit,
    NULL};
