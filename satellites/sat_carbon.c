/*  sat_carbon - sink kind "carbon": Graphite plaintext protocol over TCP.

    Every numeric record key becomes one line
        zsat.<topology>.<host>.<node>.<key> <value> <unix_time>\n
    (host = the vector's where, node = its step, i.e. the probe that measured; every path
    component keeps [A-Za-z0-9_-], other bytes become '_'). Lines wait in a bounded queue
    (`queue` lines; a full queue drops the new line and counts `carbon_dropped`) and leave on a
    non-blocking socket: connect, send and the check for a closed peer never wait, so the
    node's loop is never held. A lost connection is retried with a backoff from
    reconnect_min doubling to reconnect_max; a partly sent line is sent again whole on the
    next connection. Exit tries a final flush bounded by exit_timeout; what is left is counted
    as dropped. Owns one TCP socket (plain BSD, not ZeroMQ: carbon speaks raw TCP).
*/
#include "zsat.h"
#include "zsat_sinks.h"
#include <errno.h>
#include <math.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#define CARBON_LINE_MAX      512  //  "zsat." + 4 components of <= 63 + value + time
#define CARBON_CONNECT_MS    3000
#define CARBON_SEND_ROUNDS   64
#define CARBON_HOST_MAX      256
#define CARBON_INITIAL_BYTES (64 * 1024)

typedef struct {
    char host[CARBON_HOST_MAX];
    int64_t port;
    int64_t queue;
    int64_t reconnect_min;  //  ms
    int64_t reconnect_max;  //  ms
    int64_t exit_timeout;   //  ms
} carbon_config_t;

typedef enum { CARBON_DOWN, CARBON_CONNECTING, CARBON_UP } carbon_state_t;

typedef struct {
    struct sockaddr_storage addr;
    socklen_t addr_size;
    char target[CARBON_HOST_MAX + 16];
    int fd;
    carbon_state_t state;
    int64_t next_attempt_ms, connect_started_ms;
    int64_t backoff_ms, backoff_min, backoff_max, exit_timeout;
    //  Queue: bytes [head, tail) wait to be sent; line_start is where head's line begins, so
    //  a connection lost mid-line sends that line again whole.
    char *buf;
    size_t cap, max_cap, head, tail, line_start;
    size_t lines, max_lines;
    char topology[ZSAT_NAME_MAX];
    zsat_record_t record;
    zsat_sinks_limiter_t limiter;     //  skipped and malformed vectors
    zsat_sinks_limiter_t io_limiter;  //  I/O trouble, so it is never hidden by the former
} carbon_t;

static void
s_disconnect (zsat_ctx_t *ctx, carbon_t *self, const char *why)
{
    int64_t now = zsat_sinks_now_ms ();
    if (self->state == CARBON_UP) {
        zsat_ctx_count (ctx, "carbon_disconnects", 1);
        zsat_ctx_log (ctx, ZSAT_LOG_WARN, "carbon: lost %s (%s); %zu lines queued", self->target,
                      why, self->lines);
    }
    else
        zsat_sinks_complain (ctx, &self->io_limiter, ZSAT_LOG_WARN,
                             "carbon: cannot connect to %s (%s); retrying in %" PRId64 " ms",
                             self->target, why, self->backoff_ms);
    if (self->fd >= 0)
        close (self->fd);
    self->fd = -1;
    self->state = CARBON_DOWN;
    self->head = self->line_start;
    self->next_attempt_ms = now + self->backoff_ms;
    self->backoff_ms =
        self->backoff_ms * 2 > self->backoff_max ? self->backoff_max : self->backoff_ms * 2;
}

static void
s_connected (zsat_ctx_t *ctx, carbon_t *self)
{
    self->state = CARBON_UP;
    self->backoff_ms = self->backoff_min;
    zsat_ctx_count (ctx, "carbon_connects", 1);
    zsat_ctx_log (ctx, ZSAT_LOG_INFO, "carbon: connected to %s", self->target);
}

static void
s_connect (zsat_ctx_t *ctx, carbon_t *self)
{
    self->fd = socket (self->addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (self->fd < 0) {
        s_disconnect (ctx, self, strerror (errno));
        return;
    }
    self->connect_started_ms = zsat_sinks_now_ms ();
    if (connect (self->fd, (struct sockaddr *)&self->addr, self->addr_size) == 0)
        s_connected (ctx, self);
    else if (errno == EINPROGRESS)
        self->state = CARBON_CONNECTING;
    else
        s_disconnect (ctx, self, strerror (errno));
}

//  Checks a pending connect without waiting.
static void
s_check_connect (zsat_ctx_t *ctx, carbon_t *self)
{
    struct pollfd item = {self->fd, POLLOUT, 0};
    if (poll (&item, 1, 0) <= 0) {
        if (zsat_sinks_now_ms () - self->connect_started_ms > CARBON_CONNECT_MS)
            s_disconnect (ctx, self, "connect timed out");
        return;
    }
    int error = 0;
    socklen_t size = sizeof error;
    if (getsockopt (self->fd, SOL_SOCKET, SO_ERROR, &error, &size) != 0)
        error = errno;
    if (error)
        s_disconnect (ctx, self, strerror (error));
    else
        s_connected (ctx, self);
}

//  Carbon never writes to us: a readable socket means the server closed or reset it. Checked
//  before sending so lines are not written into a connection that is already gone.
static bool
s_peer_gone (carbon_t *self)
{
    struct pollfd item = {self->fd, POLLIN, 0};
    if (poll (&item, 1, 0) <= 0)
        return false;
    char scrap[256];
    ssize_t rc = recv (self->fd, scrap, sizeof scrap, MSG_DONTWAIT);
    return rc == 0 || (rc < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR);
}

static void
s_sent (zsat_ctx_t *ctx, carbon_t *self, size_t size)
{
    uint64_t lines = 0;
    for (size_t i = self->head; i < self->head + size; i++)
        if (self->buf[i] == '\n') {
            lines++;
            self->line_start = i + 1;
        }
    self->head += size;
    self->lines -= lines;
    if (lines)
        zsat_ctx_count (ctx, "carbon_sent", lines);
    if (self->head == self->tail)
        self->head = self->tail = self->line_start = 0;
}

//  Sends what the socket takes now, in at most CARBON_SEND_ROUNDS calls.
static void
s_send (zsat_ctx_t *ctx, carbon_t *self)
{
    for (int round = 0; round < CARBON_SEND_ROUNDS && self->head < self->tail; round++) {
        ssize_t rc = send (self->fd, self->buf + self->head, self->tail - self->head,
                           MSG_DONTWAIT | MSG_NOSIGNAL);
        if (rc > 0)
            s_sent (ctx, self, (size_t)rc);
        else if (rc < 0 && errno == EINTR)
            continue;
        else {
            if (rc < 0 && errno != EAGAIN && errno != EWOULDBLOCK)
                s_disconnect (ctx, self, strerror (errno));
            return;
        }
    }
}

//  Moves the connection along (connect, check, send) without ever blocking.
static void
s_service (zsat_ctx_t *ctx, carbon_t *self)
{
    if (self->state == CARBON_DOWN && zsat_sinks_now_ms () >= self->next_attempt_ms)
        s_connect (ctx, self);
    if (self->state == CARBON_CONNECTING)
        s_check_connect (ctx, self);
    if (self->state == CARBON_UP && s_peer_gone (self))
        s_disconnect (ctx, self, "closed by the server");
    if (self->state == CARBON_UP)
        s_send (ctx, self);
}

//  Queues one line, or drops it (counted) when the queue holds max_lines. Returns 0 or -1.
static int
s_enqueue (zsat_ctx_t *ctx, carbon_t *self, const char *line, size_t len)
{
    if (self->lines >= self->max_lines) {
        zsat_ctx_count (ctx, "carbon_dropped", 1);
        zsat_sinks_complain (ctx, &self->io_limiter, ZSAT_LOG_WARN,
                             "carbon: queue full (%zu lines): dropping metrics", self->lines);
        return -1;
    }
    if (self->tail + len > self->cap && self->line_start > 0) {
        memmove (self->buf, self->buf + self->line_start, self->tail - self->line_start);
        self->head -= self->line_start;
        self->tail -= self->line_start;
        self->line_start = 0;
    }
    while (self->tail + len > self->cap && self->cap < self->max_cap) {
        size_t cap = self->cap * 2 < self->max_cap ? self->cap * 2 : self->max_cap;
        char *grown = (char *)realloc (self->buf, cap);
        if (!grown)
            break;
        self->buf = grown;
        self->cap = cap;
    }
    if (self->tail + len > self->cap) {
        zsat_ctx_count (ctx, "carbon_dropped", 1);
        return -1;
    }
    memcpy (self->buf + self->tail, line, len);
    self->tail += len;
    self->lines++;
    return 0;
}

static int
s_resolve (zsat_ctx_t *ctx, carbon_t *self, const char *host, int64_t port)
{
    char service[16];
    snprintf (service, sizeof service, "%" PRId64, port);
    snprintf (self->target, sizeof self->target, "%s:%s", host, service);
    struct addrinfo hints = {0}, *found = NULL;
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    //  Resolved once, at start: a DNS lookup later would block the node's loop.
    int rc = getaddrinfo (host, service, &hints, &found);
    if (rc != 0 || !found || found->ai_addrlen > sizeof self->addr) {
        zsat_ctx_log (ctx, ZSAT_LOG_ERROR, "carbon: cannot resolve %s: %s", self->target,
                      rc ? gai_strerror (rc) : "no address");
        if (found)
            freeaddrinfo (found);
        return -1;
    }
    memcpy (&self->addr, found->ai_addr, found->ai_addrlen);
    self->addr_size = found->ai_addrlen;
    freeaddrinfo (found);
    return 0;
}

static int
s_carbon_init (zsat_ctx_t *ctx, const void *config, void **state_p)
{
    const carbon_config_t *cfg = (const carbon_config_t *)config;
    //  port and queue are checked by the option table.
    carbon_t *self = (carbon_t *)calloc (1, sizeof (carbon_t));
    if (!self)
        return -1;
    self->fd = -1;
    self->backoff_min = cfg->reconnect_min > 0 ? cfg->reconnect_min : 100;
    self->backoff_max = cfg->reconnect_max >= self->backoff_min ? cfg->reconnect_max : 5000;
    self->backoff_ms = self->backoff_min;
    self->exit_timeout = cfg->exit_timeout >= 0 ? cfg->exit_timeout : 2000;
    self->max_lines = (size_t)cfg->queue;
    self->max_cap = self->max_lines * CARBON_LINE_MAX;
    self->cap = self->max_cap < CARBON_INITIAL_BYTES ? self->max_cap : CARBON_INITIAL_BYTES;
    self->buf = (char *)malloc (self->cap);
    zsat_sinks_sanitize (zsat_ctx_topology (ctx), self->topology, sizeof self->topology, false);
    if (!self->buf || s_resolve (ctx, self, *cfg->host ? cfg->host : "127.0.0.1", cfg->port)) {
        free (self->buf);
        free (self);
        return -1;
    }
    //  Reconnects and draining also need time when no vector arrives.
    zsat_ctx_set_tick (ctx, 100 * 1000);
    *state_p = self;
    s_service (ctx, self);
    return 0;
}

static zsat_result_t
s_carbon_handle (zsat_ctx_t *ctx, void *state, zsat_vector_t *v)
{
    carbon_t *self = (carbon_t *)state;
    int rc = zsat_sinks_record (ctx, &self->limiter, v, &self->record);
    if (rc != 0)
        return rc > 0 ? ZSAT_SKIP : ZSAT_ERROR;
    char host[ZSAT_NAME_MAX], node[ZSAT_NAME_MAX], key[ZSAT_RECORD_KEY_MAX], value[64];
    zsat_sinks_sanitize (v->where, host, sizeof host, false);
    zsat_sinks_sanitize (v->step, node, sizeof node, false);
    int64_t when = v->timestamp > 0 ? v->timestamp / 1000000 : (int64_t)time (NULL);
    char line[CARBON_LINE_MAX];
    for (size_t i = 0; i < self->record.count; i++) {
        const zsat_field_value_t *f = &self->record.field[i];
        if (!f->is_number || !isfinite (f->number))
            continue;
        zsat_sinks_sanitize (f->key, key, sizeof key, false);
        zsat_sinks_number (f->number, value, sizeof value);
        int len = snprintf (line, sizeof line, "zsat.%s.%s.%s.%s %s %" PRId64 "\n", self->topology,
                            host, node, key, value, when);
        if (len > 0 && len < (int)sizeof line)
            s_enqueue (ctx, self, line, (size_t)len);
    }
    zsat_ctx_count (ctx, "rows", 1);
    s_service (ctx, self);
    return ZSAT_OK;
}

//  Not a source: ticks (when the runtime ticks sinks) reconnect and drain the queue.
static zsat_result_t
s_carbon_tick (zsat_ctx_t *ctx, void *state, zsat_vector_t *v)
{
    s_service (ctx, (carbon_t *)state);
    return ZSAT_SKIP;
}

//  Sends what it can until the queue is empty or exit_timeout has passed.
static void
s_final_flush (zsat_ctx_t *ctx, carbon_t *self)
{
    int64_t deadline = zsat_sinks_now_ms () + self->exit_timeout;
    while (self->head < self->tail && zsat_sinks_now_ms () < deadline) {
        if (self->state == CARBON_DOWN && self->next_attempt_ms > deadline)
            break;
        s_service (ctx, self);
        if (self->head == self->tail)
            break;
        int64_t wait = deadline - zsat_sinks_now_ms ();
        wait = wait > 20 ? 20 : wait < 0 ? 0 : wait;
        if (self->fd >= 0) {
            struct pollfd item = {self->fd, POLLOUT, 0};
            poll (&item, 1, (int)wait);
        }
        else
            usleep ((useconds_t)wait * 1000);
    }
}

static void
s_carbon_exit (zsat_ctx_t *ctx, void *state)
{
    carbon_t *self = (carbon_t *)state;
    if (!self)
        return;
    s_final_flush (ctx, self);
    if (self->lines > 0) {
        zsat_ctx_count (ctx, "carbon_dropped", self->lines);
        zsat_ctx_log (ctx, ZSAT_LOG_WARN, "carbon: exit: %zu lines for %s not sent", self->lines,
                      self->target);
    }
    if (self->fd >= 0) {
        //  The kernel still delivers what send () accepted after close ().
        shutdown (self->fd, SHUT_WR);
        close (self->fd);
    }
    free (self->buf);
    free (self);
}

static const zsat_option_t s_carbon_options[] = {
    {"host", ZSAT_OPT_STRING, "127.0.0.1", "carbon-cache line receiver host (resolved at start)",
     offsetof (carbon_config_t, host), sizeof (((carbon_config_t *)0)->host)},
    {"port", ZSAT_OPT_INT, "2003", "carbon-cache line receiver port",
     offsetof (carbon_config_t, port), 0, ZSAT_RANGE (1, 65535)},
    {"queue", ZSAT_OPT_INT, "10000", "lines kept while carbon is slow or away; more are dropped",
     offsetof (carbon_config_t, queue), 0, ZSAT_RANGE (1, 10000000)},
    {"reconnect_min", ZSAT_OPT_DURATION, "100ms", "first reconnect delay (doubles each failure)",
     offsetof (carbon_config_t, reconnect_min), 0, ZSAT_ABOVE (0)},
    {"reconnect_max", ZSAT_OPT_DURATION, "5s", "largest reconnect delay",
     offsetof (carbon_config_t, reconnect_max), 0},
    {"exit_timeout", ZSAT_OPT_DURATION, "2s", "how long exit tries to send the queued lines",
     offsetof (carbon_config_t, exit_timeout), 0},
    ZSAT_OPTIONS_END};

const zsat_kind_t zsat_kind_carbon = {
    .name = "carbon",
    .description = "sink: numeric record keys to Graphite (plaintext protocol over TCP)",
    .role = ZSAT_ROLE_SINK,
    .options = s_carbon_options,
    .config_size = sizeof (carbon_config_t),
    .init = s_carbon_init,
    .handle = s_carbon_handle,
    .tick = s_carbon_tick,
    .exit = s_carbon_exit,
};
