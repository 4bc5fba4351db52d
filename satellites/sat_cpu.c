/*  sat_cpu - probe: load averages (/proc/loadavg) and CPU utilisation in percent since the
    previous measurement (/proc/stat, first line), plus the number of online CPUs.
    Record keys: load1 load5 load15 user system idle iowait ncpu.
*/
#include "zsat.h"
#include "zsat_probes.h"

typedef struct {
    uint64_t user, nice, system, idle, iowait, irq, softirq, steal;
} s_jiffies_t;

typedef struct {
    s_jiffies_t last;
    zsat_record_t record;
    char text[4096];
} s_state_t;

static int
s_read_jiffies (char *text, size_t cap, s_jiffies_t *j)
{
    memset (j, 0, sizeof *j);
    if (zsat_probe_read ("/proc/stat", text, cap) < 0)
        return -1;
    int n = sscanf (text,
                    "cpu %" SCNu64 " %" SCNu64 " %" SCNu64 " %" SCNu64 " %" SCNu64 " %" SCNu64
                    " %" SCNu64 " %" SCNu64,
                    &j->user, &j->nice, &j->system, &j->idle, &j->iowait, &j->irq, &j->softirq,
                    &j->steal);
    return n >= 4 ? 0 : -1;
}

static int
s_init (zsat_ctx_t *ctx, const void *config, void **state_p)
{
    s_state_t *self = (s_state_t *)calloc (1, sizeof (s_state_t));
    if (!self)
        return -1;
    if (s_read_jiffies (self->text, sizeof self->text, &self->last)) {
        zsat_ctx_log (ctx, ZSAT_LOG_ERROR, "cpu: cannot read /proc/stat");
        free (self);
        return -1;
    }
    *state_p = self;
    return 0;
}

static double
s_percent (uint64_t part, uint64_t total)
{
    double value = total ? 100.0 * (double)part / (double)total : 0;
    return value < 0 ? 0 : value > 100 ? 100 : value;
}

static void
s_add_usage (zsat_record_t *r, const s_jiffies_t *now, const s_jiffies_t *last)
{
    s_jiffies_t d = *now;
    //  No jiffy elapsed since the last call: report the averages since boot instead of 0/0.
    uint64_t total_now = now->user + now->nice + now->system + now->idle + now->iowait + now->irq +
                         now->softirq + now->steal;
    uint64_t total_last = last->user + last->nice + last->system + last->idle + last->iowait +
                          last->irq + last->softirq + last->steal;
    if (total_now > total_last && now->idle >= last->idle) {
        d.user = now->user - last->user, d.nice = now->nice - last->nice;
        d.system = now->system - last->system, d.idle = now->idle - last->idle;
        d.iowait = now->iowait >= last->iowait ? now->iowait - last->iowait : 0;
        d.irq = now->irq - last->irq, d.softirq = now->softirq - last->softirq;
        d.steal = now->steal - last->steal;
    }
    uint64_t total = d.user + d.nice + d.system + d.idle + d.iowait + d.irq + d.softirq + d.steal;
    zsat_record_add_number (r, "user", s_percent (d.user + d.nice, total));
    zsat_record_add_number (r, "system", s_percent (d.system + d.irq + d.softirq, total));
    zsat_record_add_number (r, "idle", s_percent (d.idle, total));
    zsat_record_add_number (r, "iowait", s_percent (d.iowait, total));
}

static zsat_result_t
s_handle (zsat_ctx_t *ctx, void *state, zsat_vector_t *v)
{
    s_state_t *self = (s_state_t *)state;
    zsat_record_t *r = &self->record;
    zsat_record_reset (r);
    double load[3] = {0, 0, 0};
    if (zsat_probe_read ("/proc/loadavg", self->text, sizeof self->text) < 0 ||
        sscanf (self->text, "%lf %lf %lf", &load[0], &load[1], &load[2]) != 3) {
        zsat_ctx_log (ctx, ZSAT_LOG_WARN, "cpu: cannot read /proc/loadavg");
        return ZSAT_RETRY;
    }
    zsat_record_add_number (r, "load1", load[0]);
    zsat_record_add_number (r, "load5", load[1]);
    zsat_record_add_number (r, "load15", load[2]);
    s_jiffies_t now;
    if (s_read_jiffies (self->text, sizeof self->text, &now))
        return ZSAT_RETRY;
    s_add_usage (r, &now, &self->last);
    self->last = now;
    zsat_record_add_number (r, "ncpu", (double)sysconf (_SC_NPROCESSORS_ONLN));
    return zsat_probe_emit (ctx, v, r);
}

static void
s_exit (zsat_ctx_t *ctx, void *state)
{
    free (state);
}

const zsat_kind_t zsat_kind_cpu = {
    "cpu",
    "probe: load averages and CPU utilisation (user/system/idle/iowait %) since the last "
    "measurement, from /proc",
    ZSAT_ROLE_WORKER,
    NULL,
    0,
    s_init,
    s_handle,
    NULL,
    s_exit,
    NULL};
