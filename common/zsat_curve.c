// SPDX-License-Identifier: MPL-2.0
/*  zsat_curve - CURVE keys, the ZAP handler and per-socket security (see zsat_curve.h). */
#include "zsat.h"
#include "zsat_curve.h"
#include <limits.h>
#include <stdatomic.h>
#include <pthread.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <arpa/inet.h>

#define CURVE_HOSTS_MAX      256
#define CURVE_ZAP_DOMAIN     "zsat"
#define CURVE_ENFORCE_DOMAIN 93  //  ZMQ_ZAP_ENFORCE_DOMAIN: Debian's czmq compiles its setter out
//  A peer that keeps reconnecting is refused every 100 ms: one line per peer (and socket)
//  every 10 s says how many, the counter has them all.
#define CURVE_LOG_EVERY_MS 10000
#define CURVE_NO_SECRET    "0000000000000000000000000000000000000000"  //  Z85 of 32 zero bytes

typedef struct {
    char name[ZSAT_NAME_MAX];
    char address[256];
    char key[ZSAT_CURVE_KEY_LEN + 1];  //  "" when the topology names none
    char cert_path[PATH_MAX];
    zcert_t *cert;  //  own certificate, loaded at first use
} s_host_t;

typedef struct {
    char name[ZSAT_NAME_MAX];
    char key[ZSAT_CURVE_KEY_LEN + 1];
    bool operator;
} s_allowed_t;

static struct {
    pthread_mutex_t lock;
    bool used, curve;
    char host[ZSAT_NAME_MAX];  //  "" for the CLI
    s_host_t hosts[CURVE_HOSTS_MAX];
    size_t host_count;
    s_allowed_t *allowed;  //  hosts with a key, then operators
    size_t allowed_count;
    s_allowed_t *placed;  //  (node, host) for every host a node runs on: key = host name
    size_t placed_count;
    int base_port;
    int16_t *port_host;  //  [port - base_port]: binder host index or -1
    bool *port_tcp;      //  [port - base_port]: that binder binds tcp too
    size_t port_count;
    zcert_t *operator_cert;  //  ZSAT_CERT, for the CLI
    zactor_t *auth;
    zactor_t *monitor;
    int monitors;
} s = {.lock = PTHREAD_MUTEX_INITIALIZER};
//  Apart from the lock: the monitor counts while a locked apply waits for it.
static _Atomic uint64_t s_refused;

int
zsat_curve_cert_path (zsat_topology_t *topology, const char *host, char *buf, size_t cap)
{
    if (!topology || !host || !zsat_topology_host_find (topology, host))
        return -1;
    int n = snprintf (buf, cap, "%s/%s/curve.cert", zsat_topology_run_dir (topology), host);
    return n > 0 && (size_t)n < cap ? 0 : -1;
}

static bool
s_z85_key (const char *text)
{
    byte raw[32];
    return text && strlen (text) == ZSAT_CURVE_KEY_LEN && zmq_z85_decode (raw, text) != NULL;
}

int
zsat_curve_key_parse (const char *text, const char *base_dir, char *key, char *why, size_t cap)
{
    if (s_z85_key (text)) {
        snprintf (key, ZSAT_CURVE_KEY_LEN + 1, "%s", text);
        return 0;
    }
    char path[PATH_MAX];
    if (!text || !*text)
        return snprintf (why, cap, "empty key"), -1;
    if (*text == '/' || !base_dir || !*base_dir)
        snprintf (path, sizeof path, "%s", text);
    else
        snprintf (path, sizeof path, "%s/%s", base_dir, text);
    zcert_t *cert = zcert_load (path);
    if (!cert || !s_z85_key (zcert_public_txt (cert))) {
        snprintf (why, cap,
                  "key '%.60s' is neither 40 characters of Z85 nor a readable certificate file",
                  text);
        zcert_destroy (&cert);
        return -1;
    }
    snprintf (key, ZSAT_CURVE_KEY_LEN + 1, "%s", zcert_public_txt (cert));
    zcert_destroy (&cert);
    return 0;
}

int
zsat_curve_cert_write (const char *path, const char *name, bool force, zsat_error_t *err)
{
    char secret[PATH_MAX];
    snprintf (secret, sizeof secret, "%s_secret", path);
    struct stat info;
    if (!force && (stat (path, &info) == 0 || stat (secret, &info) == 0))
        return zsat_fail (err, ZSAT_E_CONFIG, "%s exists: keep it, or use --force to replace it",
                          path);
    zcert_t *cert = zcert_new ();
    if (!cert)
        return zsat_fail (err, ZSAT_E_IO, "cannot create a certificate");
    zcert_set_meta (cert, "name", "%s", name);
    //  The secret half is created 0600 before a byte is written, so it is never readable.
    mode_t old = umask (077);
    unlink (secret);
    int rc = zcert_save (cert, path);
    umask (old);
    zcert_destroy (&cert);
    if (rc != 0 || chmod (secret, 0600) != 0)
        return zsat_fail (err, ZSAT_E_IO, "cannot write %s: %s", path, strerror (errno));
    chmod (path, 0644);
    return 0;
}

//  The directory relative key paths are read from: the topology file's, or, for the copy a
//  launcher hands its nodes, the original's ($ZSAT_TOPOLOGY_BASE, set by the launcher).
static char *
s_dirname (const char *file)
{
    const char *base = getenv ("ZSAT_TOPOLOGY_BASE");
    if (base && *base && file && strstr (file, "/running/"))
        return strdup (base);
    char *dir = strdup (file ? file : "");
    char *slash = dir ? strrchr (dir, '/') : NULL;
    if (slash)
        *slash = 0;
    else if (dir)
        *dir = 0;
    return dir;
}

static void
s_at (zsat_topology_t *topology, const char *text, int line, int col, int *l, int *c)
{
    zsat_topology_mark (text, l, c);
    if (*l == 0)
        *l = line, *c = col;
}

static size_t
s_check_host (zsat_topology_t *topology, const zsat_host_t *host, const char *base_dir,
              zsat_diag_t *diag)
{
    const char *file = zsat_topology_file (topology);
    char key[ZSAT_CURVE_KEY_LEN + 1], why[256];
    int line, col;
    if (!host->curve_key) {
        zsat_diag_add (diag, file, host->line ? host->line : 1, host->col ? host->col : 1,
                       "host '%s' has no curve_key, and tcp links between hosts are CURVE: run "
                       "`zsat keys init --host %s %s` on %s and put the key it prints in "
                       "hosts.%s.curve_key (or write `security: none`)",
                       host->name, host->name, file, host->name, host->name);
        return 1;
    }
    if (zsat_curve_key_parse (host->curve_key, base_dir, key, why, sizeof why) == 0)
        return 0;
    s_at (topology, host->curve_key, host->line, host->col, &line, &col);
    zsat_diag_add (diag, file, line, col,
                   "host '%s': curve_key: %s: run `zsat keys init --host %s %s` on %s and "
                   "`zsat keys export --host %s %s` for the key",
                   host->name, why, host->name, file, host->name, host->name, file);
    return 1;
}

size_t
zsat_curve_check (zsat_topology_t *topology, zsat_diag_t *diag)
{
    if (!topology)
        return 0;
    const char *file = zsat_topology_file (topology), *security;
    char *base_dir = s_dirname (file);
    size_t errors = 0;
    int line, col;
    if (!zsat_topology_curve (topology)) {
        security = zsat_topology_security (topology);
        s_at (topology, security, 1, 1, &line, &col);
        if (zsat_topology_host_count (topology) > 1)
            zsat_diag_add (diag, file, line, col,
                           "warning: security: none: tcp links between the %zu hosts are plain: "
                           "anyone who reaches their ports can read, inject and control "
                           "(docs/security.md)",
                           zsat_topology_host_count (topology));
        free (base_dir);
        return 0;
    }
    for (size_t i = 0; i < zsat_topology_host_count (topology); i++)
        errors += s_check_host (topology, zsat_topology_host (topology, i), base_dir, diag);
    for (size_t i = 0; i < zsat_topology_operator_count (topology); i++) {
        const zsat_operator_t *op = zsat_topology_operator (topology, i);
        char key[ZSAT_CURVE_KEY_LEN + 1], why[256];
        if (zsat_curve_key_parse (op->key, base_dir, key, why, sizeof why) == 0)
            continue;
        s_at (topology, op->key, op->line, op->col, &line, &col);
        zsat_diag_add (diag, file, line, col,
                       "operator '%s': %s: run `zsat keys init --operator %s --dir DIR` and "
                       "`zsat keys export --cert DIR/%s.cert` for the key",
                       op->name ? op->name : "?", why, op->name ? op->name : "NAME",
                       op->name ? op->name : "NAME");
        errors++;
    }
    free (base_dir);
    return errors;
}

//  Copies the hosts of the topology with their keys. Returns problems (reason in err).
static int
s_load_hosts (zsat_topology_t *topology, const char *base_dir, zsat_error_t *err)
{
    for (size_t i = 0; i < s.host_count; i++)
        zcert_destroy (&s.hosts[i].cert);  //  a second use replaces the first
    s.host_count = 0;
    for (size_t i = 0; i < zsat_topology_host_count (topology) && i < CURVE_HOSTS_MAX; i++) {
        const zsat_host_t *host = zsat_topology_host (topology, i);
        s_host_t *mine = &s.hosts[s.host_count++];
        memset (mine, 0, sizeof *mine);
        snprintf (mine->name, sizeof mine->name, "%s", host->name);
        snprintf (mine->address, sizeof mine->address, "%s", host->address);
        zsat_curve_cert_path (topology, host->name, mine->cert_path, sizeof mine->cert_path);
        //  A curve_key naming a file with its _secret beside it (`zsat keys init --dir D`)
        //  is where this host's own certificate is.
        char given[PATH_MAX], secret[PATH_MAX + 8];
        struct stat info;
        if (host->curve_key && !s_z85_key (host->curve_key)) {
            if (*host->curve_key == '/' || !*base_dir)
                snprintf (given, sizeof given, "%s", host->curve_key);
            else
                snprintf (given, sizeof given, "%s/%s", base_dir, host->curve_key);
            snprintf (secret, sizeof secret, "%s_secret", given);
            if (stat (secret, &info) == 0)
                snprintf (mine->cert_path, sizeof mine->cert_path, "%s", given);
        }
        char why[256];
        if (host->curve_key &&
            zsat_curve_key_parse (host->curve_key, base_dir, mine->key, why, sizeof why) != 0)
            return zsat_fail (err, ZSAT_E_CONFIG, "host %s: %s", host->name, why);
    }
    return 0;
}

//  The allowlist: every host key and every operator key, by name.
static int
s_load_allowed (zsat_topology_t *topology, const char *base_dir, zsat_error_t *err)
{
    size_t operators = zsat_topology_operator_count (topology);
    free (s.allowed);
    s.allowed = (s_allowed_t *)calloc (s.host_count + operators + 1, sizeof *s.allowed);
    s.allowed_count = 0;
    if (!s.allowed)
        return zsat_fail (err, ZSAT_E_IO, "out of memory");
    for (size_t i = 0; i < s.host_count; i++)
        if (*s.hosts[i].key) {
            s_allowed_t *a = &s.allowed[s.allowed_count++];
            snprintf (a->name, sizeof a->name, "%s", s.hosts[i].name);
            snprintf (a->key, sizeof a->key, "%s", s.hosts[i].key);
        }
    for (size_t i = 0; i < operators; i++) {
        const zsat_operator_t *op = zsat_topology_operator (topology, i);
        s_allowed_t *a = &s.allowed[s.allowed_count];
        char why[256];
        if (!op->name || zsat_curve_key_parse (op->key, base_dir, a->key, why, sizeof why))
            return zsat_fail (err, ZSAT_E_CONFIG, "operator %s: %s", op->name ? op->name : "?",
                              op->name ? why : "no name");
        snprintf (a->name, sizeof a->name, "%s", op->name);
        a->operator= true;
        s.allowed_count++;
    }
    return 0;
}

//  Where each node runs, so a peer claiming to be node X can be checked against X's hosts.
static int
s_load_placement (zsat_topology_t *topology)
{
    size_t count = 0;
    for (size_t n = 0; n < zsat_topology_node_count (topology); n++)
        count += zsat_topology_node (topology, n)->host_count;
    free (s.placed);
    s.placed = (s_allowed_t *)calloc (count + 1, sizeof *s.placed);
    s.placed_count = 0;
    if (!s.placed)
        return -1;
    for (size_t n = 0; n < zsat_topology_node_count (topology); n++) {
        const zsat_node_t *node = zsat_topology_node (topology, n);
        for (size_t h = 0; h < node->host_count; h++) {
            s_allowed_t *p = &s.placed[s.placed_count++];
            snprintf (p->name, sizeof p->name, "%s", node->name);
            snprintf (p->key, sizeof p->key, "%s", node->hosts[h]);
        }
    }
    return 0;
}

//  Which host binds each derived port, and whether that socket speaks tcp (so CURVE).
static int
s_load_ports (zsat_topology_t *topology)
{
    s.base_port = zsat_topology_base_port (topology);
    s.port_count = (size_t)(65536 - s.base_port);
    free (s.port_host);
    free (s.port_tcp);
    s.port_host = (int16_t *)calloc (s.port_count, sizeof *s.port_host);
    s.port_tcp = (bool *)calloc (s.port_count, sizeof *s.port_tcp);
    if (!s.port_host || !s.port_tcp)
        return -1;
    for (size_t i = 0; i < s.port_count; i++)
        s.port_host[i] =
            (int16_t)zsat_topology_port_host (topology, s.base_port + (int)i, &s.port_tcp[i]);
    return 0;
}

static int
s_use (zsat_topology_t *topology, const char *host, bool cli, zsat_error_t *err)
{
    if (!topology)
        return zsat_fail (err, ZSAT_E_CONFIG, "no topology");
    pthread_mutex_lock (&s.lock);
    char *base_dir = s_dirname (zsat_topology_file (topology));
    s.curve = zsat_topology_curve (topology);
    snprintf (s.host, sizeof s.host, "%s", host ? host : "");
    int rc = 0;
    zsat_diag_t *diag = zsat_diag_new ();
    if (zsat_curve_check (topology, diag) > 0) {
        const char *first = NULL;
        for (size_t i = 0; i < zsat_diag_count (diag) && !first; i++)
            if (!strstr (zsat_diag_get (diag, i), ": warning: "))
                first = zsat_diag_get (diag, i);
        rc = zsat_fail (err, ZSAT_E_CONFIG, "%s", first ? first : "bad keys");
    }
    zsat_diag_destroy (&diag);
    if (rc == 0)
        rc = s_load_hosts (topology, base_dir, err);
    if (rc == 0)
        rc = s_load_allowed (topology, base_dir, err);
    if (rc == 0 && (s_load_ports (topology) != 0 || s_load_placement (topology) != 0))
        rc = zsat_fail (err, ZSAT_E_IO, "out of memory");
    const char *cert = getenv ("ZSAT_CERT");
    zcert_destroy (&s.operator_cert);
    if (rc == 0 && cli && cert && *cert && !(s.operator_cert = zcert_load (cert)))
        rc = zsat_fail (err, ZSAT_E_CONFIG, "ZSAT_CERT=%s: not a readable certificate", cert);
    s.used = rc == 0;
    free (base_dir);
    pthread_mutex_unlock (&s.lock);
    return rc;
}

int
zsat_curve_use (zsat_topology_t *topology, const char *host, zsat_error_t *err)
{
    return s_use (topology, host, false, err);
}

int
zsat_curve_use_cli (zsat_topology_t *topology, const char *host, zsat_error_t *err)
{
    return s_use (topology, host, true, err);
}

bool
zsat_curve_active (void)
{
    pthread_mutex_lock (&s.lock);
    bool active = s.used && s.curve;
    pthread_mutex_unlock (&s.lock);
    return active;
}

static int
s_host_index (const char *name)
{
    for (size_t i = 0; name && i < s.host_count; i++)
        if (streq (s.hosts[i].name, name))
            return (int)i;
    return -1;
}

//  The certificate this process presents as host (NULL: the CLI's). Locked.
static zcert_t *
s_own_cert (const char *host, char *why, size_t cap)
{
    if (!host && s.operator_cert)
        return s.operator_cert;
    if (!host && *s.host)
        host = s.host;
    int index = s_host_index (host);
    if (index < 0) {
        snprintf (why, cap, "no certificate: set ZSAT_CERT to an operator certificate");
        return NULL;
    }
    s_host_t *mine = &s.hosts[index];
    if (!mine->cert)
        mine->cert = zcert_load (mine->cert_path);
    //  Loaded from the public file alone (no _secret): no identity to present.
    if (mine->cert && streq (zcert_secret_txt (mine->cert), CURVE_NO_SECRET))
        zcert_destroy (&mine->cert);
    if (!mine->cert)
        snprintf (why, cap, "no secret key %s_secret: run `zsat keys init --host %s TOPOLOGY`",
                  mine->cert_path, mine->name);
    return mine->cert;
}

//  The monitor actor: one PAIR per secured server socket; counts refused handshakes and
//  logs the peer (the address of the connection accepted last on that socket).
typedef struct {
    zsock_t *pair;
    char endpoint[256];
    char peer[64];
    char logged_peer[64];
    int64_t logged_at;  //  zclock_mono of the last warning line, 0: none yet
    uint64_t quiet;     //  refusals since that line
    bool stopped;
} s_watch_t;

//  The peer address of a connection just accepted (fd), or "?" when it is already gone.
static void
s_peer_address (int fd, char *text, size_t cap)
{
    struct sockaddr_storage addr;
    socklen_t size = sizeof addr;
    snprintf (text, cap, "?");
    if (getpeername (fd, (struct sockaddr *)&addr, &size) == 0)
        inet_ntop (addr.ss_family,
                   addr.ss_family == AF_INET6 ? (void *)&((struct sockaddr_in6 *)&addr)->sin6_addr
                                              : (void *)&((struct sockaddr_in *)&addr)->sin_addr,
                   text, (socklen_t)cap);
}

//  A refused non-CURVE handshake: counted, and one line per peer every 10 s.
static void
s_watch_refused (s_watch_t *w)
{
    uint64_t refused = ++s_refused;
    w->quiet++;
    int64_t now = zclock_mono ();
    if (w->logged_at && now - w->logged_at < CURVE_LOG_EVERY_MS && streq (w->logged_peer, w->peer))
        return;
    zsat_log_line (stderr, ZSAT_LOG_WARN, "curve",
                   "refused a non-CURVE handshake from %s on %s (%" PRIu64
                   " since the last line; auth_refused=%" PRIu64 ")",
                   w->peer, w->endpoint, w->quiet, refused);
    w->logged_at = now;
    w->quiet = 0;
    snprintf (w->logged_peer, sizeof w->logged_peer, "%s", w->peer);
}

static void
s_watch_event (s_watch_t *w)
{
    zmsg_t *msg = zmsg_recv (w->pair);
    zframe_t *head = msg ? zmsg_first (msg) : NULL;
    if (!head || zframe_size (head) != 6) {
        zmsg_destroy (&msg);
        return;
    }
    uint16_t event;
    uint32_t value;
    memcpy (&event, zframe_data (head), 2);
    memcpy (&value, zframe_data (head) + 2, 4);
    if (event == ZMQ_EVENT_ACCEPTED)
        s_peer_address ((int)value, w->peer, sizeof w->peer);
    else if (event == ZMQ_EVENT_HANDSHAKE_FAILED_AUTH)
        ++s_refused;  //  the ZAP handler logged it, with the peer's address and key
    else if (event & (ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL | ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL))
        s_watch_refused (w);
    else if (event == ZMQ_EVENT_MONITOR_STOPPED)
        w->stopped = true;  //  the socket was closed: the actor drops this watch
    zmsg_destroy (&msg);
}

#define CURVE_WATCHES_MAX 1024

//  A command on the pipe: "<pair endpoint>" "<socket endpoint>" adds a watch, $TERM ends.
//  Returns false at $TERM.
static bool
s_monitor_command (zsock_t *pipe, zpoller_t *poller, s_watch_t **list, size_t *count)
{
    char *command = NULL, *endpoint = NULL;
    bool go_on = zstr_recvx (pipe, &command, &endpoint, NULL) >= 0 && !streq (command, "$TERM");
    s_watch_t *w = go_on && *count < CURVE_WATCHES_MAX ? (s_watch_t *)zmalloc (sizeof *w) : NULL;
    if (w && (w->pair = zsock_new_pair (command))) {
        snprintf (w->endpoint, sizeof w->endpoint, "%s", endpoint ? endpoint : "?");
        snprintf (w->peer, sizeof w->peer, "?");
        zpoller_add (poller, w->pair);
        list[(*count)++] = w;
    }
    else
        free (w);
    if (go_on)
        zsock_signal (pipe, 0);
    zstr_free (&command);
    zstr_free (&endpoint);
    return go_on;
}

static void
s_monitor_actor (zsock_t *pipe, void *unused)
{
    (void)unused;
    zpoller_t *poller = zpoller_new (pipe, NULL);
    zsock_signal (pipe, 0);
    s_watch_t *list[CURVE_WATCHES_MAX];
    size_t count = 0;
    while (!zsys_interrupted) {
        void *which = zpoller_wait (poller, -1);
        if (which == pipe && !s_monitor_command (pipe, poller, list, &count))
            break;
        for (size_t i = 0; which && which != pipe && i < count; i++)
            if (list[i]->pair == which) {
                s_watch_event (list[i]);
                if (list[i]->stopped) {
                    zpoller_remove (poller, which);
                    zsock_destroy (&list[i]->pair);
                    free (list[i]);
                    list[i] = list[--count];
                }
                break;
            }
        if (!which && zpoller_terminated (poller))
            break;
    }
    for (size_t i = 0; i < count; i++) {
        zsock_destroy (&list[i]->pair);
        free (list[i]);
    }
    zpoller_destroy (&poller);
}

static void
s_release (void)
{
    pthread_mutex_lock (&s.lock);
    zactor_destroy (&s.monitor);
    zactor_destroy (&s.auth);
    pthread_mutex_unlock (&s.lock);
}

//  The ZAP handler (RFC 27 over inproc://zeromq.zap.01, one per process): admits a CURVE key
//  the topology lists; on a control socket (domain "zsat.control.<host>") only an operator
//  key or host's own. Replies with the key's name as user id and as metadata "name". It
//  works on its own copy of the allowlist, so it never waits for the lock.
typedef struct {
    s_allowed_t *allowed;
    size_t count;
} s_zap_args_t;
static _Thread_local const s_zap_args_t *s_zap_self;  //  the actor's, for s_zap_answer

static const s_allowed_t *
s_zap_lookup (const s_zap_args_t *a, const char *key)
{
    for (size_t i = 0; i < a->count; i++)
        if (streq (a->allowed[i].key, key))
            return &a->allowed[i];
    return NULL;
}

//  The verdict on one request: the entry admitted, or NULL.
static const s_allowed_t *
s_zap_judge (const s_zap_args_t *a, const char *domain, const char *mechanism, zframe_t *key)
{
    if (!mechanism || !streq (mechanism, "CURVE") || !key || zframe_size (key) != 32)
        return NULL;
    char text[ZSAT_CURVE_KEY_LEN + 1];
    zmq_z85_encode (text, zframe_data (key), 32);
    const s_allowed_t *who = s_zap_lookup (a, text);
    const char *control = CURVE_ZAP_DOMAIN ".control.";
    if (who && domain && strncmp (domain, control, strlen (control)) == 0 &&
        !who->operator&& !streq (who->name, domain + strlen (control)))
        return NULL;  //  a host key on another host's control socket
    return who;
}

//  One line per peer address every 10 s (a refused peer retries every 100 ms).
static void
s_zap_log (const char *address, const char *domain, zframe_t *key)
{
    static _Thread_local struct {
        char address[64];
        int64_t at;
        uint64_t quiet;
    } seen[16];
    int64_t now = zclock_mono ();
    size_t slot = 0;
    for (size_t i = 0; i < 16; i++)
        if (streq (seen[i].address, address ? address : "?") || seen[i].at < seen[slot].at)
            slot = i;
    if (!streq (seen[slot].address, address ? address : "?"))
        seen[slot].at = 0, seen[slot].quiet = 0;
    seen[slot].quiet++;
    if (seen[slot].at && now - seen[slot].at < CURVE_LOG_EVERY_MS)
        return;
    char text[ZSAT_CURVE_KEY_LEN + 1] = "?";
    if (key && zframe_size (key) == 32)
        zmq_z85_encode (text, zframe_data (key), 32);
    bool control = domain && strstr (domain, ".control.");
    zsat_log_line (stderr, ZSAT_LOG_WARN, "curve",
                   "refused a CURVE key handshake from %s on %s: key %s %s (%" PRIu64
                   " since the last line)",
                   address ? address : "?", domain ? domain : "?", text,
                   control ? "is not an operator's or this host's" : "is not in the topology",
                   seen[slot].quiet);
    snprintf (seen[slot].address, sizeof seen[slot].address, "%s", address ? address : "?");
    seen[slot].at = now;
    seen[slot].quiet = 0;
}

static void
s_zap_answer (zsock_t *handler)
{
    zmsg_t *request = zmsg_recv (handler);
    if (!request)
        return;
    char *version = zmsg_popstr (request), *id = zmsg_popstr (request);
    char *domain = zmsg_popstr (request), *address = zmsg_popstr (request);
    zframe_t *routing = zmsg_pop (request);
    char *mechanism = zmsg_popstr (request);
    zframe_t *key = zmsg_pop (request);
    const s_allowed_t *who =
        version && streq (version, "1.0") ? s_zap_judge (s_zap_self, domain, mechanism, key) : NULL;
    if (!who)
        s_zap_log (address, domain, key);
    //  Metadata: one property "name" (ZMTP encoding: name length, name, 4-byte value length).
    byte meta[8 + ZSAT_NAME_MAX];
    size_t name_len = who ? strlen (who->name) : 0;
    meta[0] = 4;
    memcpy (meta + 1, "name", 4);
    meta[5] = meta[6] = meta[7] = 0;
    meta[8] = (byte)name_len;
    if (who)
        memcpy (meta + 9, who->name, name_len);
    zmsg_t *reply = zmsg_new ();
    zmsg_addstr (reply, "1.0");
    zmsg_addstr (reply, id ? id : "");
    zmsg_addstr (reply, who ? "200" : "400");
    zmsg_addstr (reply, who ? "OK" : "key not in the topology");
    zmsg_addstr (reply, who ? who->name : "");
    zmsg_addmem (reply, who ? meta : NULL, who ? 9 + name_len : 0);
    zmsg_send (&reply, handler);
    zstr_free (&version);
    zstr_free (&id);
    zstr_free (&domain);
    zstr_free (&address);
    zstr_free (&mechanism);
    zframe_destroy (&routing);
    zframe_destroy (&key);
    zmsg_destroy (&request);
}

static void
s_zap_actor (zsock_t *pipe, void *args)
{
    s_zap_args_t *a = (s_zap_args_t *)args;
    zsock_t *handler = zsock_new_rep ("@inproc://zeromq.zap.01");
    zpoller_t *poller = handler ? zpoller_new (pipe, handler, NULL) : NULL;
    zsock_signal (pipe, poller ? 0 : 1);
    while (poller) {
        void *which = zpoller_wait (poller, -1);
        if (which == handler) {
            s_zap_self = a;
            s_zap_answer (handler);
        }
        else if (which == pipe) {
            char *command = zstr_recv (pipe);
            bool term = !command || streq (command, "$TERM");
            zstr_free (&command);
            if (term)
                break;
        }
        else
            break;
    }
    zpoller_destroy (&poller);
    zsock_destroy (&handler);
    free (a->allowed);
    free (a);
}

//  The process's ZAP handler and monitor, started at the first server. Locked.
static int
s_start_actors (void)
{
    if (s.auth)
        return 0;
    s_zap_args_t *a = (s_zap_args_t *)calloc (1, sizeof *a);
    if (a)
        a->allowed = (s_allowed_t *)calloc (s.allowed_count + 1, sizeof *a->allowed);
    if (!a || !a->allowed) {
        free (a);
        return -1;
    }
    memcpy (a->allowed, s.allowed, s.allowed_count * sizeof *a->allowed);
    a->count = s.allowed_count;
    //  NULL and PLAIN peers never reach it: a CURVE server refuses other mechanisms.
    s.auth = zactor_new (s_zap_actor, a);
    s.monitor = s.auth ? zactor_new (s_monitor_actor, NULL) : NULL;
    if (!s.auth || !s.monitor)
        return -1;
    atexit (s_release);
    return 0;
}

//  Watches sock's handshakes. Locked.
static void
s_watch (zsock_t *sock, const char *endpoint)
{
    char inproc[64];
    snprintf (inproc, sizeof inproc, "inproc://zsat-curve-%d", ++s.monitors);
    int events = ZMQ_EVENT_ACCEPTED | ZMQ_EVENT_HANDSHAKE_FAILED_AUTH |
                 ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL | ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL |
                 ZMQ_EVENT_MONITOR_STOPPED;
    if (zmq_socket_monitor (zsock_resolve (sock), inproc, events) == 0) {
        char pair[80];
        snprintf (pair, sizeof pair, ">%s", inproc);
        zstr_sendx (s.monitor, pair, endpoint, NULL);
        zsock_wait (s.monitor);
    }
}

//  One part of an attach string: its port and whether it is tcp (else ipc/other).
static bool
s_part (const char *part, size_t n, bool *tcp, int *port, char *address, size_t cap)
{
    if (*part == '@' || *part == '>')
        part++, n--;
    *tcp = n > 6 && strncmp (part, "tcp://", 6) == 0;
    const char *colon = NULL;
    for (size_t i = 0; i < n; i++)
        if (part[i] == ':')
            colon = part + i;
    const char *dot = NULL;
    for (size_t i = 0; i < n; i++)
        if (part[i] == '/' || part[i] == '.')
            dot = part + i;
    *port = 0;
    if (*tcp && colon && colon > part + 6) {
        *port = atoi (colon + 1);
        snprintf (address, cap, "%.*s", (int)(colon - part - 6), part + 6);
    }
    else if (!*tcp && n > 6 && strncmp (part, "ipc://", 6) == 0 && dot && *dot == '.') {
        //  ipc://<run_dir>/<host>/<port>.ipc
        const char *start = dot;
        while (start > part && start[-1] >= '0' && start[-1] <= '9')
            start--;
        *port = atoi (start);
    }
    return true;
}

//  The server host of a client endpoint: -1 when it needs no CURVE. Locked.
//  The only host with address, -1 when none or several share it (`zsat up` on one machine).
static int
s_host_at (const char *address)
{
    int found = -1;
    for (size_t h = 0; h < s.host_count; h++)
        if (streq (s.hosts[h].address, address)) {
            if (found >= 0)
                return -1;
            found = (int)h;
        }
    return found;
}

//  True when an ipc part is the derived path <run_dir>/<host>/<port>.ipc of that host.
static bool
s_derived_ipc (const char *part, size_t n, int host, int port)
{
    char tail[ZSAT_NAME_MAX + 32];
    int size = snprintf (tail, sizeof tail, "/%s/%d.ipc", s.hosts[host].name, port);
    return size > 0 && (size_t)size <= n &&
           memcmp (part + n - (size_t)size, tail, (size_t)size) == 0;
}

//  The server host of a client endpoint: -1 when it needs no CURVE. Locked.
static int
s_server_of (const char *endpoint, bool *curve)
{
    *curve = false;
    for (const char *part = endpoint; part && *part;) {
        size_t n = strcspn (part, ",");
        bool tcp;
        int port;
        char address[256] = "";
        s_part (part, n, &tcp, &port, address, sizeof address);
        int offset = port - s.base_port;
        int derived =
            port > 0 && offset >= 0 && (size_t)offset < s.port_count ? s.port_host[offset] : -1;
        if (!tcp && derived >= 0 && !s_derived_ipc (part, n, derived, port))
            derived = -1;  //  an explicit ipc path that only looks like a port
        if (tcp || (derived >= 0 && s.port_tcp[offset])) {
            *curve = true;
            //  The address names the host, unless several hosts share it: then the port.
            int by_address = tcp ? s_host_at (address) : -1;
            return by_address >= 0 ? by_address : derived;
        }
        part += n + (part[n] == ',');
    }
    return -1;
}

static bool
s_server_endpoint (const char *endpoint)
{
    for (const char *part = endpoint; part && *part;) {
        size_t n = strcspn (part, ",");
        bool tcp;
        int port, offset;
        char address[256];
        s_part (part, n, &tcp, &port, address, sizeof address);
        offset = port - s.base_port;
        if (tcp || (port > 0 && offset >= 0 && (size_t)offset < s.port_count &&
                    s.port_host[offset] >= 0 && s.port_tcp[offset]))
            return true;
        part += n + (part[n] == ',');
    }
    return false;
}

static int
s_refuse (const char *endpoint, const char *why)
{
    zsat_log_line (stderr, ZSAT_LOG_ERROR, "curve", "%s: %s", endpoint, why);
    errno = EACCES;
    return -1;
}

//  Locked.
static int
s_apply (zsock_t *sock, const char *host, const char *endpoint, int role)
{
    char why[512];
    bool curve = false;
    bool serve = (role & ZSAT_CURVE_SERVER) != 0;
    int server = serve ? -1 : s_server_of (endpoint, &curve);
    if (serve)
        curve = s_server_endpoint (endpoint);
    if (!curve)
        return 0;
    zcert_t *cert = s_own_cert (host, why, sizeof why);
    if (!cert)
        return s_refuse (endpoint, why);
    zcert_apply (cert, sock);
    if (!serve) {
        if (server < 0 || !*s.hosts[server].key)
            return s_refuse (endpoint, server < 0 ? "no host of the topology binds it"
                                                  : "the topology names no curve_key for its "
                                                    "host: run `zsat keys export` there");
        zsock_set_curve_serverkey (sock, s.hosts[server].key);
        return 0;
    }
    if (s_start_actors () != 0)
        return s_refuse (endpoint, "cannot start the ZAP handler");
    zsock_set_curve_server (sock, 1);
    //  A control socket admits operators and its own host only (the ZAP handler's rule).
    const char *mine = host ? host : s.host;
    char domain[ZSAT_NAME_MAX + 32];
    snprintf (domain, sizeof domain, "%s", CURVE_ZAP_DOMAIN);
    if ((role & ZSAT_CURVE_CONTROL) && mine && *mine)
        snprintf (domain, sizeof domain, "%s.control.%s", CURVE_ZAP_DOMAIN, mine);
    zsock_set_zap_domain (sock, domain);
    int one = 1;
    if (zmq_setsockopt (zsock_resolve (sock), CURVE_ENFORCE_DOMAIN, &one, sizeof one) != 0)
        return s_refuse (endpoint, "cannot enforce the ZAP domain");
    s_watch (sock, endpoint);
    return 0;
}

int
zsat_curve_apply (zsock_t *sock, const char *host, const char *endpoint, int role)
{
    if (!sock || !endpoint)
        return errno = EINVAL, -1;
    pthread_mutex_lock (&s.lock);
    int rc = s.used && s.curve ? s_apply (sock, host, endpoint, role) : 0;
    pthread_mutex_unlock (&s.lock);
    return rc;
}

const char *
zsat_curve_peer_name (zframe_t *frame)
{
    return frame ? zframe_meta (frame, "name") : NULL;
}

bool
zsat_curve_peer_may_control (zframe_t *frame, const char *host)
{
    const char *name = zsat_curve_peer_name (frame);
    if (!name)
        return true;  //  ipc or plain: the run directory or `security: none` decided
    pthread_mutex_lock (&s.lock);
    bool may = host && streq (name, host);
    for (size_t i = 0; i < s.allowed_count && !may; i++)
        may = s.allowed[i].operator&& streq (s.allowed[i].name, name);
    pthread_mutex_unlock (&s.lock);
    return may;
}

bool
zsat_curve_peer_may_be (zframe_t *frame, const char *node)
{
    return zsat_curve_name_may_be (zsat_curve_peer_name (frame), node);
}

bool
zsat_curve_name_may_be (const char *name, const char *node)
{
    if (!name)
        return true;  //  ipc or plain: the run directory or `security: none` decided
    pthread_mutex_lock (&s.lock);
    bool may = false;
    for (size_t i = 0; node && i < s.placed_count && !may; i++)
        may = streq (s.placed[i].name, node) && streq (s.placed[i].key, name);
    pthread_mutex_unlock (&s.lock);
    return may;
}

uint64_t
zsat_curve_refused (void)
{
    return s_refused;
}

//  --- selftest ---

static void
s_test_files (const char *dir)
{
    char path[PATH_MAX], secret[PATH_MAX + 8];
    snprintf (path, sizeof path, "%s/op.cert", dir);
    snprintf (secret, sizeof secret, "%s_secret", path);
    zsat_error_t err;
    assert (zsat_curve_cert_write (path, "op", false, &err) == 0);
    struct stat info;
    assert (stat (secret, &info) == 0 && (info.st_mode & 0777) == 0600);
    assert (stat (path, &info) == 0 && (info.st_mode & 0077) == 0044);
    assert (zsat_curve_cert_write (path, "op", false, &err) == -1);  //  never overwritten
    assert (strstr (err.text, "--force"));
    assert (zsat_curve_cert_write (path, "op", true, &err) == 0);
    assert (stat (secret, &info) == 0 && (info.st_mode & 0777) == 0600);
    char key[ZSAT_CURVE_KEY_LEN + 1], why[256];
    assert (zsat_curve_key_parse ("op.cert", dir, key, why, sizeof why) == 0);
    zcert_t *cert = zcert_load (path);
    assert (cert && streq (key, zcert_public_txt (cert)));
    assert (zsat_curve_key_parse (zcert_public_txt (cert), NULL, key, why, sizeof why) == 0);
    zcert_destroy (&cert);
    assert (zsat_curve_key_parse ("not-a-key", dir, key, why, sizeof why) == -1);
    assert (strstr (why, "Z85"));
    assert (zsat_curve_key_parse ("0123456789012345678901234567890123456789\"", NULL, key, why,
                                  sizeof why) == -1);
}

//  Receives within 3 s on sock: the frame or NULL.
static zframe_t *
s_test_recv (zsock_t *sock)
{
    zsock_set_rcvtimeo (sock, 10000);
    return zframe_recv (sock);
}

static void
s_test_refused_grows (uint64_t before)
{
    for (int i = 0; i < 100 && zsat_curve_refused () <= before; i++)
        zclock_sleep (50);
    assert (zsat_curve_refused () > before);
}

//  False when the link's port was taken meanwhile (by another test): try other ports.
static bool
s_test_link (zsat_topology_t *topo)
{
    zsat_socket_t list[8];
    int n = zsat_topology_sockets (topo, "csv", "a", list, 8);
    const zsat_socket_t *in = NULL;
    for (int i = 0; i < n; i++)
        in = streq (list[i].name, "in:cpu->csv") ? &list[i] : in;
    assert (in && strstr (in->endpoint, "@tcp://127.0.0.1:") && !strstr (in->endpoint, "0.0.0.0"));
    zsock_t *server = zsock_new (ZMQ_PULL);
    assert (zsat_curve_apply (server, "a", in->endpoint, ZSAT_CURVE_SERVER) == 0);
    assert (zsock_mechanism (server) == ZMQ_CURVE);
    if (zsock_attach (server, in->endpoint, true) != 0) {
        zsock_destroy (&server);
        return false;
    }
    n = zsat_topology_sockets (topo, "cpu", "b", list, 8);
    const zsat_socket_t *out = NULL;
    for (int i = 0; i < n; i++)
        out = streq (list[i].name, "out:cpu->csv") ? &list[i] : out;
    assert (out);
    //  The host b, known to the topology: accepted, and named.
    zsock_t *client = zsock_new (ZMQ_PUSH);
    assert (zsat_curve_apply (client, "b", out->endpoint, ZSAT_CURVE_CLIENT) == 0);
    assert (zsock_attach (client, out->endpoint, false) == 0);
    zstr_send (client, "from b");
    zframe_t *frame = s_test_recv (server);
    assert (frame && zframe_streq (frame, "from b"));
    assert (streq (zsat_curve_peer_name (frame), "b"));
    assert (zsat_curve_peer_may_control (frame, "b"));   //  the host itself
    assert (!zsat_curve_peer_may_control (frame, "a"));  //  another host: not an operator
    assert (zsat_curve_peer_may_be (frame, "cpu"));      //  cpu runs on b
    assert (!zsat_curve_peer_may_be (frame, "csv"));     //  csv does not
    assert (!zsat_curve_peer_may_be (frame, "nosuch"));
    zframe_destroy (&frame);
    zsock_destroy (&client);
    //  A key the topology does not list, then a plain peer: nothing arrives, both counted.
    for (int plain = 0; plain < 2; plain++) {
        uint64_t before = zsat_curve_refused ();
        zsock_t *intruder = zsock_new (ZMQ_PUSH);
        zcert_t *stranger = zcert_new ();
        if (!plain) {
            zcert_apply (stranger, intruder);
            zsock_set_curve_serverkey (intruder, s.hosts[0].key);
        }
        zcert_destroy (&stranger);
        zsock_set_linger (intruder, 0);
        assert (zsock_attach (intruder, out->endpoint, false) == 0);
        zstr_send (intruder, "forged");
        s_test_refused_grows (before);
        zsock_set_rcvtimeo (server, 300);
        assert (zframe_recv (server) == NULL);
        zsock_destroy (&intruder);
    }
    zsock_destroy (&server);
    return true;
}

//  A control socket of host a: a's own key and the operator pass, host b's key does not.
static void
s_test_control (const char *dir)
{
    zsock_t *server = zsock_new (ZMQ_REP);
    const char *endpoint = "@tcp://127.0.0.1:*";
    assert (zsat_curve_apply (server, "a", endpoint, ZSAT_CURVE_SERVER | ZSAT_CURVE_CONTROL) == 0);
    int port = zsock_bind (server, "tcp://127.0.0.1:*");
    assert (port > 0);
    zsock_set_rcvtimeo (server, 300);
    char path[PATH_MAX];
    snprintf (path, sizeof path, "%s/op.cert", dir);
    zcert_t *op = zcert_load (path);
    zcert_t *as[3] = {s.hosts[0].cert, op, s.hosts[1].cert};  //  a, the operator, b
    assert (as[0] && as[1] && as[2]);
    for (int i = 0; i < 3; i++) {
        zsock_t *req = zsock_new (ZMQ_REQ);
        zsock_set_linger (req, 0);
        zcert_apply (as[i], req);
        zsock_set_curve_serverkey (req, s.hosts[0].key);
        assert (zsock_connect (req, "tcp://127.0.0.1:%d", port) == 0);
        zstr_send (req, "STOP");
        zsock_set_rcvtimeo (server, i == 2 ? 500 : 3000);
        zframe_t *frame = zframe_recv (server);
        assert (i == 2 ? frame == NULL : frame != NULL);
        if (frame) {
            assert (streq (zsat_curve_peer_name (frame), i == 0 ? "a" : "op"));
            zframe_destroy (&frame);
            zstr_send (server, "OK");
        }
        zsock_destroy (&req);
    }
    zcert_destroy (&op);
    zsock_destroy (&server);
}

static zsat_topology_t *
s_test_topology (const char *dir, const char *security, int base)
{
    char path[PATH_MAX], *keys[2];
    for (int h = 0; h < 2; h++) {
        snprintf (path, sizeof path, "%s/%c", dir, 'a' + h);
        zsys_dir_create ("%s", path);
        snprintf (path, sizeof path, "%s/%c/curve.cert", dir, 'a' + h);
        char name[2] = {(char)('a' + h), 0};
        zsat_error_t err;
        zsat_curve_cert_write (path, name, true, &err);
        zcert_t *cert = zcert_load (path);
        assert (cert);
        keys[h] = strdup (zcert_public_txt (cert));
        zcert_destroy (&cert);
    }
    char *text = zsys_sprintf ("name: sec\nrun_dir: %s\nbase_port: %d\n%s"
                               "hosts:\n  a: {address: 127.0.0.1, curve_key: \"%s\"}\n"
                               "  b: {address: 127.0.0.1, curve_key: \"%s\"}\n"
                               "operators:\n  - {name: op, key: op.cert}\n"
                               "nodes:\n  cpu: {kind: cpu, host: b}\n  csv: {kind: csv, host: a}\n"
                               "links:\n  - cpu -> csv\n",
                               dir, base, security, keys[0], keys[1]);
    snprintf (path, sizeof path, "%s/sec.yaml", dir);
    FILE *file = fopen (path, "w");
    assert (file && fputs (text, file) >= 0 && fclose (file) == 0);
    free (text);
    free (keys[0]);
    free (keys[1]);
    zsat_diag_t *diag = zsat_diag_new ();
    zsat_topology_t *topo = zsat_topology_load (path, diag);
    if (!topo)
        for (size_t i = 0; i < zsat_diag_count (diag); i++)
            fprintf (stderr, "%s\n", zsat_diag_get (diag, i));
    zsat_diag_destroy (&diag);
    assert (topo);
    return topo;
}

//  A port from which the test topology's 16 ports are all free now (other tests bind ports
//  beside us: one free port alone is not enough, its neighbours may be taken).
static int
s_test_free_base (void)
{
    for (int attempt = 0; attempt < 50; attempt++) {
        zsock_t *probe[16] = {zsock_new (ZMQ_PULL)};
        int base = zsock_bind (probe[0], "tcp://127.0.0.1:*"), bound = 1;
        while (base > 0 && base < 65000 && bound < 16) {
            probe[bound] = zsock_new (ZMQ_PULL);
            if (zsock_bind (probe[bound], "tcp://127.0.0.1:%d", base + bound) < 0)
                break;
            bound++;
        }
        for (int i = 0; i < 16 && probe[i]; i++)
            zsock_destroy (&probe[i]);
        if (bound == 16)
            return base;
    }
    assert (!"no 16 free ports in a row");
    return -1;
}

void
zsat_curve_test (bool verbose)
{
    printf (" * zsat_curve: ");
    char dir[] = "/tmp/zsat-curve-test-XXXXXX";
    assert (mkdtemp (dir));
    s_test_files (dir);
    int base = 0;
    zsat_topology_t *topo = NULL;
    zsat_error_t err;
    for (int attempt = 0; attempt < 20; attempt++) {
        base = s_test_free_base ();
        topo = s_test_topology (dir, "", base);
        assert (zsat_topology_curve (topo));  //  two hosts: curve by default
        assert (zsat_curve_use (topo, "a", &err) == 0 && zsat_curve_active ());
        if (s_test_link (topo))
            break;
        zsat_topology_destroy (&topo);
    }
    assert (topo);
    s_test_control (dir);
    //  ipc only: plain, whatever the security.
    zsock_t *local = zsock_new (ZMQ_PULL);
    assert (zsat_curve_apply (local, "a", "@ipc:///tmp/x/a/1.ipc", ZSAT_CURVE_SERVER) == 0);
    assert (zsock_mechanism (local) == ZMQ_NULL);
    zsock_destroy (&local);
    //  An explicit ipc path that only ends like a derived one stays plain.
    char look_alike[128];
    snprintf (look_alike, sizeof look_alike, ">ipc:///tmp/elsewhere/%d.ipc", base);
    local = zsock_new (ZMQ_PUSH);
    assert (zsat_curve_apply (local, "b", look_alike, ZSAT_CURVE_CLIENT) == 0);
    assert (zsock_mechanism (local) == ZMQ_NULL);
    zsock_destroy (&local);
    zsat_topology_destroy (&topo);
    //  security: none: nothing is applied.
    topo = s_test_topology (dir, "security: none\n", base);
    assert (!zsat_topology_curve (topo));
    assert (zsat_curve_use (topo, "a", &err) == 0 && !zsat_curve_active ());
    zsock_t *plain = zsock_new (ZMQ_PULL);
    assert (zsat_curve_apply (plain, "a", "@tcp://127.0.0.1:1", ZSAT_CURVE_SERVER) == 0);
    assert (zsock_mechanism (plain) == ZMQ_NULL);
    zsock_destroy (&plain);
    zsat_topology_destroy (&topo);
    s_release ();
    pthread_mutex_lock (&s.lock);
    s.used = false;
    for (size_t i = 0; i < s.host_count; i++)
        zcert_destroy (&s.hosts[i].cert);
    pthread_mutex_unlock (&s.lock);
    zsys_dir_delete ("%s", dir);
    char command[PATH_MAX + 16];
    snprintf (command, sizeof command, "rm -rf '%s'", dir);
    assert (system (command) == 0);
    if (verbose)
        printf ("(refused %" PRIu64 ") ", zsat_curve_refused ());
    printf ("OK\n");
}
