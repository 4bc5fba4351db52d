/*  sat_mem - probe: memory and swap from /proc/meminfo, in bytes and percent.
    Record keys: total available free buffers cached used used_pct swap_total swap_free
    swap_used_pct.
*/
#include "zsat.h"
#include "zsat_probes.h"

typedef struct {
    zsat_record_t record;
    char text[8192];
} s_state_t;

static int
s_init (zsat_ctx_t *ctx, const void *config, void **state_p)
{
    s_state_t *self = (s_state_t *)calloc (1, sizeof (s_state_t));
    if (!self)
        return -1;
    if (zsat_probe_read ("/proc/meminfo", self->text, sizeof self->text) <= 0) {
        zsat_ctx_log (ctx, ZSAT_LOG_ERROR, "mem: cannot read /proc/meminfo");
        free (self);
        return -1;
    }
    *state_p = self;
    return 0;
}

//  Returns the value of "Key:   123 kB" in bytes, or 0 when the key is missing.
static double
s_field (const char *text, const char *key)
{
    size_t len = strlen (key);
    for (const char *line = text; line && *line;
         line = strchr (line, '\n'), line = line ? line + 1 : NULL)
        if (strncmp (line, key, len) == 0 && line[len] == ':')
            return 1024.0 * strtod (line + len + 1, NULL);
    return 0;
}

static double
s_percent (double part, double total)
{
    double value = total > 0 ? 100.0 * part / total : 0;
    return value < 0 ? 0 : value > 100 ? 100 : value;
}

static zsat_result_t
s_handle (zsat_ctx_t *ctx, void *state, zsat_vector_t *v)
{
    s_state_t *self = (s_state_t *)state;
    if (zsat_probe_read ("/proc/meminfo", self->text, sizeof self->text) <= 0)
        return ZSAT_RETRY;
    double total = s_field (self->text, "MemTotal");
    double free_ = s_field (self->text, "MemFree");
    double available = s_field (self->text, "MemAvailable");
    if (available == 0)  //  kernels before 3.14 lack MemAvailable
        available = free_ + s_field (self->text, "Buffers") + s_field (self->text, "Cached");
    double swap_total = s_field (self->text, "SwapTotal");
    double swap_free = s_field (self->text, "SwapFree");
    zsat_record_t *r = &self->record;
    zsat_record_reset (r);
    zsat_record_add_number (r, "total", total);
    zsat_record_add_number (r, "available", available);
    zsat_record_add_number (r, "free", free_);
    zsat_record_add_number (r, "buffers", s_field (self->text, "Buffers"));
    zsat_record_add_number (r, "cached", s_field (self->text, "Cached"));
    zsat_record_add_number (r, "used", total > available ? total - available : 0);
    zsat_record_add_number (r, "used_pct", s_percent (total - available, total));
    zsat_record_add_number (r, "swap_total", swap_total);
    zsat_record_add_number (r, "swap_free", swap_free);
    zsat_record_add_number (r, "swap_used_pct", s_percent (swap_total - swap_free, swap_total));
    return zsat_probe_emit (ctx, v, r);
}

static void
s_exit (zsat_ctx_t *ctx, void *state)
{
    free (state);
}

const zsat_kind_t zsat_kind_mem = {
    "mem",
    "probe: memory and swap totals, available bytes and used percent, from "
    "/proc/meminfo",
    ZSAT_ROLE_WORKER,
    NULL,
    0,
    s_init,
    s_handle,
    NULL,
    s_exit,
    NULL};
