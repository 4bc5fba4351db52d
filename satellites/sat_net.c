/*  sat_net - probe: per network interface, received/sent bytes and packets (/proc/net/dev)
    and their rates per second since the previous measurement. Option `interfaces` keeps a
    comma-separated subset. Record keys: <if>.rx_bytes <if>.tx_bytes <if>.rx_packets
    <if>.tx_packets <if>.rx_errors <if>.tx_errors and <if>.rx_bytes_s ... (per second), and
    "zsat.rows" = "iface": tabular sinks store one row per interface with an iface column, so
    interfaces that come and go never change a table's columns (docs/sinks.md "Rows").
*/
#include "zsat.h"
#include "zsat_probes.h"
#include "zsat_sinks.h"

#define NET_IF_MAX 24  //  8 keys each: 24 interfaces fit a record of 256 fields

typedef struct {
    char interfaces[256];
} s_config_t;

typedef struct {
    char name[32];
    uint64_t rx_bytes, rx_packets, rx_errors, tx_bytes, tx_packets, tx_errors;
} s_counters_t;

typedef struct {
    s_config_t config;
    s_counters_t last[NET_IF_MAX];
    size_t last_count;
    int64_t last_us;
    s_counters_t now[NET_IF_MAX];
    zsat_record_t record;
    char text[16384];
} s_state_t;

//  Parses /proc/net/dev into out[] (selected interfaces only). Returns the count or -1.
static int
s_read (s_state_t *self, s_counters_t *out, zsat_ctx_t *ctx)
{
    if (zsat_probe_read ("/proc/net/dev", self->text, sizeof self->text) < 0)
        return -1;
    int count = 0;
    char *save = NULL;
    for (char *line = strtok_r (self->text, "\n", &save); line;
         line = strtok_r (NULL, "\n", &save)) {
        char *colon = strchr (line, ':');
        if (!colon)
            continue;  //  the two header lines
        *colon = 0;
        while (*line == ' ')
            line++;
        if (!*line || strlen (line) >= sizeof out->name ||
            !zsat_probe_selected (self->config.interfaces, line))
            continue;
        if (count == NET_IF_MAX) {
            if (ctx)
                zsat_ctx_count (ctx, "interfaces_skipped", 1);
            continue;
        }
        s_counters_t *c = &out[count];
        uint64_t skip;
        if (sscanf (colon + 1,
                    "%" SCNu64 " %" SCNu64 " %" SCNu64 " %" SCNu64 " %" SCNu64 " %" SCNu64
                    " %" SCNu64 " %" SCNu64 " %" SCNu64 " %" SCNu64 " %" SCNu64,
                    &c->rx_bytes, &c->rx_packets, &c->rx_errors, &skip, &skip, &skip, &skip, &skip,
                    &c->tx_bytes, &c->tx_packets, &c->tx_errors) != 11)
            continue;
        snprintf (c->name, sizeof c->name, "%s", line);
        count++;
    }
    return count;
}

static int
s_init (zsat_ctx_t *ctx, const void *config, void **state_p)
{
    s_state_t *self = (s_state_t *)calloc (1, sizeof (s_state_t));
    if (!self)
        return -1;
    if (config)
        self->config = *(const s_config_t *)config;
    int count = s_read (self, self->last, ctx);
    if (count < 0) {
        zsat_ctx_log (ctx, ZSAT_LOG_ERROR, "net: cannot read /proc/net/dev");
        free (self);
        return -1;
    }
    self->last_count = (size_t)count;
    self->last_us = zsat_probe_now_us ();
    *state_p = self;
    return 0;
}

static const s_counters_t *
s_previous (s_state_t *self, const char *name)
{
    for (size_t i = 0; i < self->last_count; i++)
        if (streq (self->last[i].name, name))
            return &self->last[i];
    return NULL;
}

static void
s_add (zsat_record_t *r, const char *name, const char *what, double value)
{
    char key[ZSAT_RECORD_KEY_MAX];
    snprintf (key, sizeof key, "%s.%s", name, what);
    zsat_record_add_number (r, key, value);
}

static void
s_add_interface (zsat_record_t *r, const s_counters_t *c, const s_counters_t *p, int64_t us)
{
    s_add (r, c->name, "rx_bytes", (double)c->rx_bytes);
    s_add (r, c->name, "tx_bytes", (double)c->tx_bytes);
    s_add (r, c->name, "rx_packets", (double)c->rx_packets);
    s_add (r, c->name, "tx_packets", (double)c->tx_packets);
    s_add (r, c->name, "rx_errors", (double)c->rx_errors);
    s_add (r, c->name, "tx_errors", (double)c->tx_errors);
    //  An interface that appeared since the last call has no rate yet: 0.
    s_add (r, c->name, "rx_bytes_s", p ? zsat_probe_rate (p->rx_bytes, c->rx_bytes, us) : 0);
    s_add (r, c->name, "tx_bytes_s", p ? zsat_probe_rate (p->tx_bytes, c->tx_bytes, us) : 0);
    s_add (r, c->name, "rx_packets_s", p ? zsat_probe_rate (p->rx_packets, c->rx_packets, us) : 0);
    s_add (r, c->name, "tx_packets_s", p ? zsat_probe_rate (p->tx_packets, c->tx_packets, us) : 0);
}

static zsat_result_t
s_handle (zsat_ctx_t *ctx, void *state, zsat_vector_t *v)
{
    s_state_t *self = (s_state_t *)state;
    int count = s_read (self, self->now, ctx);
    if (count < 0)
        return ZSAT_RETRY;
    int64_t now_us = zsat_probe_now_us ();
    zsat_record_t *r = &self->record;
    zsat_record_reset (r);
    for (int i = 0; i < count; i++)
        s_add_interface (r, &self->now[i], s_previous (self, self->now[i].name),
                         now_us - self->last_us);
    zsat_record_add_number (r, "interfaces", count);
    zsat_record_add_text (r, ZSAT_SINKS_ROWS_KEY, "iface");
    memcpy (self->last, self->now, sizeof (s_counters_t) * (size_t)count);
    self->last_count = (size_t)count;
    self->last_us = now_us;
    return zsat_probe_emit (ctx, v, r);
}

static void
s_exit (zsat_ctx_t *ctx, void *state)
{
    free (state);
}

static const zsat_option_t s_options[] = {
    {"interfaces", ZSAT_OPT_STRING, "",
     "comma-separated interfaces to measure (e.g. \"eth0,lo\"); empty: every interface",
     offsetof (s_config_t, interfaces), sizeof ((s_config_t *)0)->interfaces},
    ZSAT_OPTIONS_END};

const zsat_kind_t zsat_kind_net = {
    "net",
    "probe: per-interface bytes, packets and errors received/sent, with rates per second, "
    "from /proc/net/dev",
    ZSAT_ROLE_WORKER,
    s_options,
    sizeof (s_config_t),
    s_init,
    s_handle,
    NULL,
    s_exit,
    NULL};
