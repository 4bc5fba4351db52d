// SPDX-License-Identifier: MPL-2.0
/*  sat_ping - probe: ICMP echo round trips to each target per job. It opens the unprivileged
    ICMP datagram socket (SOCK_DGRAM/IPPROTO_ICMP, allowed to the groups in
    net.ipv4.ping_group_range), else a raw socket (needs CAP_NET_RAW); neither: the node does
    not start and says how to allow one. Per job, `count` echoes go to every target, `interval`
    apart; replies are awaited up to `timeout` after the last one. IPv4 targets, resolved at
    start. Record keys per target T: T.sent T.received T.loss (percent) T.rtt_min T.rtt_avg
    T.rtt_max (ms; 0 when no reply came).
*/
#include "zsat.h"
#include "zsat_probes.h"
#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/ip.h>
#include <netinet/ip_icmp.h>
#include <poll.h>
#include <sys/socket.h>

#define PING_TARGETS_MAX 16
#define PING_COUNT_MAX   100
#define PING_PAYLOAD     56

typedef struct {
    char targets[1024];
    int64_t count;
    int64_t interval;
    int64_t timeout;
} s_config_t;

typedef struct {
    char name[ZSAT_NAME_MAX];
    struct sockaddr_in addr;
    int sent, received;
    double rtt_min, rtt_max, rtt_sum;
} s_target_t;

typedef struct {
    s_config_t config;
    int fd;
    bool raw;  //  a raw socket: replies carry the IP header, the id is ours to match
    uint16_t id, seq_base;
    s_target_t targets[PING_TARGETS_MAX];
    size_t target_count;
    int64_t sent_us[PING_TARGETS_MAX * PING_COUNT_MAX];  //  0: not sent or answered
    zsat_record_t record;
} s_state_t;

static int
s_open_socket (zsat_ctx_t *ctx, s_state_t *self)
{
    self->fd = socket (AF_INET, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, IPPROTO_ICMP);
    if (self->fd >= 0)
        return 0;
    int dgram_errno = errno;
    self->fd = socket (AF_INET, SOCK_RAW | SOCK_CLOEXEC | SOCK_NONBLOCK, IPPROTO_ICMP);
    if (self->fd >= 0) {
        self->raw = true;
        return 0;
    }
    char range[64] = "?";
    if (zsat_probe_read ("/proc/sys/net/ipv4/ping_group_range", range, sizeof range) > 0)
        range[strcspn (range, "\n")] = 0;
    for (char *tab = strchr (range, '\t'); tab; tab = strchr (tab, '\t'))
        *tab = ' ';
    zsat_ctx_log (ctx, ZSAT_LOG_ERROR,
                  "ping: no ICMP socket: the unprivileged one is refused (%s; gid %d is not in "
                  "net.ipv4.ping_group_range '%s') and a raw one needs CAP_NET_RAW (%s). Allow "
                  "the group (sysctl -w net.ipv4.ping_group_range='0 2147483647') or grant "
                  "CAP_NET_RAW (setcap cap_net_raw+ep on zsat, or AmbientCapabilities in the unit)",
                  strerror (dgram_errno), (int)getgid (), range, strerror (errno));
    return -1;
}

static int
s_add_target (zsat_ctx_t *ctx, s_state_t *self, const char *name)
{
    if (self->target_count == PING_TARGETS_MAX) {
        zsat_ctx_log (ctx, ZSAT_LOG_ERROR, "ping: more than %d targets", PING_TARGETS_MAX);
        return -1;
    }
    struct addrinfo hints = {0}, *found = NULL;
    hints.ai_family = AF_INET;
    int rc = getaddrinfo (name, NULL, &hints, &found);
    if (rc != 0 || !found) {
        zsat_ctx_log (ctx, ZSAT_LOG_ERROR, "ping: cannot resolve target '%s' (IPv4): %s", name,
                      rc ? gai_strerror (rc) : "no address");
        return -1;
    }
    s_target_t *t = &self->targets[self->target_count++];
    snprintf (t->name, sizeof t->name, "%s", name);
    memcpy (&t->addr, found->ai_addr, sizeof t->addr);
    freeaddrinfo (found);
    return 0;
}

static int
s_parse_targets (zsat_ctx_t *ctx, s_state_t *self)
{
    char list[sizeof self->config.targets];
    snprintf (list, sizeof list, "%s", self->config.targets);
    char *save = NULL;
    for (char *name = strtok_r (list, ", ", &save); name; name = strtok_r (NULL, ", ", &save)) {
        if (strlen (name) >= ZSAT_NAME_MAX) {
            zsat_ctx_log (ctx, ZSAT_LOG_ERROR, "ping: target '%s' is too long", name);
            return -1;
        }
        if (s_add_target (ctx, self, name))
            return -1;
    }
    if (self->target_count == 0) {
        zsat_ctx_log (ctx, ZSAT_LOG_ERROR, "ping: no target");
        return -1;
    }
    return 0;
}

static int
s_init (zsat_ctx_t *ctx, const void *config, void **state_p)
{
    s_state_t *self = (s_state_t *)calloc (1, sizeof (s_state_t));
    if (!self)
        return -1;
    self->config = *(const s_config_t *)config;
    self->fd = -1;
    if (s_parse_targets (ctx, self) || s_open_socket (ctx, self)) {
        if (self->fd >= 0)
            close (self->fd);
        free (self);
        return -1;
    }
    self->id = (uint16_t)(getpid () ^ (zsat_ctx_instance (ctx) << 12));
    *state_p = self;
    return 0;
}

static uint16_t
s_checksum (const void *data, size_t size)
{
    const uint8_t *bytes = (const uint8_t *)data;
    uint32_t sum = 0;
    for (size_t i = 0; i + 1 < size; i += 2)
        sum += (uint32_t)(bytes[i] << 8 | bytes[i + 1]);
    if (size & 1)
        sum += (uint32_t)bytes[size - 1] << 8;
    while (sum >> 16)
        sum = (sum & 0xffff) + (sum >> 16);
    return htons ((uint16_t)~sum);
}

static void
s_send (s_state_t *self, size_t target, size_t slot)
{
    uint8_t packet[sizeof (struct icmphdr) + PING_PAYLOAD] = {0};
    struct icmphdr *h = (struct icmphdr *)packet;
    h->type = ICMP_ECHO;
    h->un.echo.id = htons (self->id);  //  the datagram socket sets its own
    h->un.echo.sequence = htons ((uint16_t)(self->seq_base + slot));
    memcpy (packet + sizeof *h, "zsat ping", 9);
    h->checksum = s_checksum (packet, sizeof packet);
    int64_t now = zsat_probe_now_us ();
    ssize_t n =
        sendto (self->fd, packet, sizeof packet, MSG_DONTWAIT,
                (struct sockaddr *)&self->targets[target].addr, sizeof self->targets[target].addr);
    self->targets[target].sent++;
    self->sent_us[slot] = n == (ssize_t)sizeof packet ? now : 0;  //  a failed send is a loss
}

//  Matches one reply to the echo it answers; counts its round trip.
static void
s_receive_one (s_state_t *self, size_t total)
{
    uint8_t packet[1500];
    struct sockaddr_in from;
    socklen_t from_size = sizeof from;
    ssize_t n = recvfrom (self->fd, packet, sizeof packet, MSG_DONTWAIT, (struct sockaddr *)&from,
                          &from_size);
    int64_t now = zsat_probe_now_us ();
    size_t offset = 0;
    if (n > 0 && self->raw)
        offset = (size_t)(packet[0] & 0x0f) * 4;  //  the IP header's length
    if (n <= 0 || (size_t)n < offset + sizeof (struct icmphdr))
        return;
    const struct icmphdr *h = (const struct icmphdr *)(packet + offset);
    if (h->type != ICMP_ECHOREPLY || (self->raw && ntohs (h->un.echo.id) != self->id))
        return;
    size_t slot = (uint16_t)(ntohs (h->un.echo.sequence) - self->seq_base);
    if (slot >= total || self->sent_us[slot] == 0)
        return;  //  late, duplicate or not ours
    s_target_t *t = &self->targets[slot % self->target_count];
    if (t->addr.sin_addr.s_addr != from.sin_addr.s_addr)
        return;
    double rtt = (double)(now - self->sent_us[slot]) / 1000.0;
    self->sent_us[slot] = 0;
    t->rtt_min = t->received == 0 || rtt < t->rtt_min ? rtt : t->rtt_min;
    t->rtt_max = rtt > t->rtt_max ? rtt : t->rtt_max;
    t->rtt_sum += rtt;
    t->received++;
}

//  Reads replies until deadline_us, or until every echo sent is answered.
static void
s_receive_until (s_state_t *self, size_t total, int64_t deadline_us, bool all_sent)
{
    for (int64_t now = zsat_probe_now_us (); now < deadline_us; now = zsat_probe_now_us ()) {
        bool pending = false;
        for (size_t i = 0; i < total && !pending; i++)
            pending = self->sent_us[i] != 0;
        if (all_sent && !pending)
            return;
        struct pollfd item = {self->fd, POLLIN, 0};
        int wait_ms = (int)((deadline_us - now + 999) / 1000);
        if (poll (&item, 1, wait_ms) > 0)
            s_receive_one (self, total);
    }
}

static void
s_add_fields (zsat_record_t *r, const s_target_t *t)
{
    char key[ZSAT_NAME_MAX + 16];
    double loss = t->sent ? 100.0 * (t->sent - t->received) / t->sent : 100;
    const char *names[] = {"sent", "received", "loss", "rtt_min", "rtt_avg", "rtt_max"};
    double values[] = {t->sent,
                       t->received,
                       loss,
                       t->received ? t->rtt_min : 0,
                       t->received ? t->rtt_sum / t->received : 0,
                       t->received ? t->rtt_max : 0};
    for (size_t i = 0; i < 6; i++) {
        snprintf (key, sizeof key, "%s.%s", t->name, names[i]);
        zsat_record_add_number (r, key, values[i]);
    }
}

static zsat_result_t
s_handle (zsat_ctx_t *ctx, void *state, zsat_vector_t *v)
{
    s_state_t *self = (s_state_t *)state;
    size_t count = (size_t)self->config.count, total = count * self->target_count;
    memset (self->sent_us, 0, sizeof self->sent_us);
    for (size_t t = 0; t < self->target_count; t++) {
        s_target_t *target = &self->targets[t];
        target->sent = target->received = 0;
        target->rtt_min = target->rtt_max = target->rtt_sum = 0;
    }
    for (size_t round = 0; round < count; round++) {
        for (size_t t = 0; t < self->target_count; t++)
            s_send (self, t, round * self->target_count + t);
        if (round + 1 < count)
            s_receive_until (self, total, zsat_probe_now_us () + self->config.interval * 1000,
                             false);
    }
    s_receive_until (self, total, zsat_probe_now_us () + self->config.timeout * 1000, true);
    self->seq_base = (uint16_t)(self->seq_base + total);
    zsat_record_t *r = &self->record;
    zsat_record_reset (r);
    for (size_t t = 0; t < self->target_count; t++)
        s_add_fields (r, &self->targets[t]);
    return zsat_probe_emit (ctx, v, r);
}

static void
s_exit (zsat_ctx_t *ctx, void *state)
{
    s_state_t *self = (s_state_t *)state;
    if (!self)
        return;
    if (self->fd >= 0)
        close (self->fd);
    free (self);
}

static const zsat_option_t s_options[] = {
    {"targets", ZSAT_OPT_STRING, "127.0.0.1",
     "comma-separated IPv4 hosts or addresses (at most 16), resolved at start",
     offsetof (s_config_t, targets), sizeof ((s_config_t *)0)->targets, ZSAT_AT_LEAST (1)},
    {"count", ZSAT_OPT_INT, "3", "echo requests per target per job", offsetof (s_config_t, count),
     0, ZSAT_RANGE (1, PING_COUNT_MAX)},
    {"interval", ZSAT_OPT_DURATION, "100ms", "between two echo requests to a target",
     offsetof (s_config_t, interval), 0, ZSAT_RANGE (1, 10000)},
    {"timeout", ZSAT_OPT_DURATION, "1s", "how long replies are awaited after the last request",
     offsetof (s_config_t, timeout), 0, ZSAT_RANGE (1, 60000)},
    ZSAT_OPTIONS_END};

const zsat_kind_t zsat_kind_ping = {
    "ping",
    "probe: ICMP echo round trips per target (loss, rtt min/avg/max) over the unprivileged "
    "ICMP socket or a raw one",
    ZSAT_ROLE_WORKER,
    s_options,
    sizeof (s_config_t),
    s_init,
    s_handle,
    NULL,
    s_exit,
    NULL};
