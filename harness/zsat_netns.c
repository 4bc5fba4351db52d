/*  zsat_netns - emulated hosts as network namespaces on one bridge (see zsat_netns.h).
    Names: bridge "<prefix>br", host namespace "<prefix>-<host>", veth "<prefix>v<i>" on the
    bridge and "eth0" inside the namespace. Interface names stay under the kernel's 15 bytes
    because the prefix is 9 bytes ("zsh" + 6 hex digits of the owner's pid). Owns no sockets.
*/
#define _GNU_SOURCE  //  setns, pipe2
#include "zsat_netns.h"
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <sys/wait.h>

#define NETNS_COMMAND_MS 10000  //  one `ip`/`tc` call; they take milliseconds when healthy
#define NETNS_OUTPUT_MAX 65536

typedef struct {
    char host[ZSAT_NAME_MAX];
    char ns[96];
    char veth[32];
    bool capped;
} netns_host_t;

struct zsat_netns_t {
    char prefix[16];
    char bridge[32];
    netns_host_t hosts[ZSAT_NETNS_HOSTS_MAX];
    size_t host_count;
};

//  Reads the child's output until it closes or the deadline passes. Returns bytes read.
static size_t
s_drain (int fd, char *out, size_t cap, int64_t deadline)
{
    size_t size = 0;
    char scratch[4096];
    while (zclock_mono () < deadline) {
        struct pollfd item = {fd, POLLIN, 0};
        if (poll (&item, 1, 100) <= 0)
            continue;
        char *into = out && size + 1 < cap ? out + size : scratch;
        size_t room = out && size + 1 < cap ? cap - size - 1 : sizeof scratch;
        ssize_t got = read (fd, into, room);
        if (got <= 0)
            break;
        if (into != scratch)
            size += (size_t)got;
    }
    if (out && cap)
        out[size] = 0;
    return size;
}

//  Waits for pid until deadline, then kills it. Returns its exit status, or -1.
static int
s_reap (pid_t pid, int64_t deadline)
{
    int status = 0;
    while (waitpid (pid, &status, WNOHANG) == 0) {
        if (zclock_mono () >= deadline) {
            kill (pid, SIGKILL);
            waitpid (pid, &status, 0);
            return -1;
        }
        zclock_sleep (5);
    }
    return WIFEXITED (status) ? WEXITSTATUS (status) : -1;
}

//  Runs argv with stdout+stderr captured into out. Returns the exit status, or -1 when it
//  could not start or ran past NETNS_COMMAND_MS (then it is killed).
static int
s_run (char *const argv[], char *out, size_t cap)
{
    int fds[2];
    if (pipe2 (fds, O_CLOEXEC) != 0)
        return -1;
    pid_t pid = fork ();
    if (pid < 0) {
        close (fds[0]);
        close (fds[1]);
        return -1;
    }
    if (pid == 0) {
        dup2 (fds[1], STDOUT_FILENO);
        dup2 (fds[1], STDERR_FILENO);
        execvp (argv[0], argv);
        _exit (127);
    }
    close (fds[1]);
    int64_t deadline = zclock_mono () + NETNS_COMMAND_MS;
    s_drain (fds[0], out, cap, deadline);
    close (fds[0]);
    return s_reap (pid, deadline);
}

//  Runs a command given as words; on failure sets err with the command and its output.
static int
s_cmd (zsat_error_t *err, const char *first, ...)
{
    char *argv[24];
    size_t argc = 0;
    va_list args;
    va_start (args, first);
    for (const char *word = first; word && argc < 23; word = va_arg (args, const char *))
        argv[argc++] = (char *)word;
    va_end (args);
    argv[argc] = NULL;
    char output[512];
    int status = s_run (argv, output, sizeof output);
    if (status == 0)
        return 0;
    char *newline = strchr (output, '\n');
    if (newline)
        *newline = 0;
    return zsat_fail (err, ZSAT_E_IO, "%s %s %s %s: failed (%d): %s", argv[0], argv[1],
                      argc > 2 ? argv[2] : "", argc > 3 ? argv[3] : "", status, output);
}

bool
zsat_netns_available (void)
{
    //  Root is not enough in a container without CAP_SYS_ADMIN: try once, remember.
    static int available = -1;
    if (available < 0) {
        char name[32];
        snprintf (name, sizeof name, ZSAT_NETNS_PREFIX "%06x-probe",
                  (unsigned)getpid () & 0xffffff);
        available = geteuid () == 0 && s_cmd (NULL, "ip", "netns", "add", name, NULL) == 0;
        if (available)
            s_cmd (NULL, "ip", "netns", "del", name, NULL);
    }
    return available == 1;
}

zsat_netns_t *
zsat_netns_new (zsat_error_t *err)
{
    if (geteuid () != 0) {
        zsat_fail (err, ZSAT_E_CONFIG, "network namespaces need root (use hosts: loopback)");
        return NULL;
    }
    zsat_netns_t *self = (zsat_netns_t *)zmalloc (sizeof (zsat_netns_t));
    if (!self)
        return NULL;
    snprintf (self->prefix, sizeof self->prefix, ZSAT_NETNS_PREFIX "%06x",
              (unsigned)getpid () & 0xffffff);
    snprintf (self->bridge, sizeof self->bridge, "%sbr", self->prefix);
    if (s_cmd (err, "ip", "link", "add", self->bridge, "type", "bridge", NULL) != 0 ||
        s_cmd (err, "ip", "link", "set", self->bridge, "up", NULL) != 0)
        zsat_netns_destroy (&self);
    return self;
}

void
zsat_netns_destroy (zsat_netns_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    zsat_netns_t *self = *self_p;
    //  Deleting a namespace deletes the veth end inside it and so its peer on the bridge.
    for (size_t i = 0; i < self->host_count; i++) {
        s_cmd (NULL, "ip", "link", "del", self->hosts[i].veth, NULL);
        s_cmd (NULL, "ip", "netns", "del", self->hosts[i].ns, NULL);
    }
    s_cmd (NULL, "ip", "link", "del", self->bridge, NULL);
    free (self);
    *self_p = NULL;
}

const char *
zsat_netns_prefix (zsat_netns_t *self)
{
    return self->prefix;
}

static netns_host_t *
s_host (zsat_netns_t *self, const char *host)
{
    for (size_t i = 0; i < self->host_count; i++)
        if (streq (self->hosts[i].host, host))
            return &self->hosts[i];
    return NULL;
}

//  Wires the namespace: veth pair, one end renamed eth0 inside with the address, lo up.
static int
s_wire (zsat_netns_t *self, netns_host_t *h, const char *address, zsat_error_t *err)
{
    char peer[48], cidr[32];
    snprintf (peer, sizeof peer, "%sp%zu", self->prefix, self->host_count);
    snprintf (cidr, sizeof cidr, "%s/15", address);
    if (s_cmd (err, "ip", "link", "add", h->veth, "type", "veth", "peer", "name", peer, NULL) ||
        s_cmd (err, "ip", "link", "set", h->veth, "master", self->bridge, NULL) ||
        s_cmd (err, "ip", "link", "set", h->veth, "up", NULL) ||
        s_cmd (err, "ip", "link", "set", peer, "netns", h->ns, NULL) ||
        s_cmd (err, "ip", "-n", h->ns, "link", "set", peer, "name", "eth0", NULL) ||
        s_cmd (err, "ip", "-n", h->ns, "addr", "add", cidr, "dev", "eth0", NULL) ||
        s_cmd (err, "ip", "-n", h->ns, "link", "set", "eth0", "up", NULL) ||
        s_cmd (err, "ip", "-n", h->ns, "link", "set", "lo", "up", NULL))
        return -1;
    return 0;
}

int
zsat_netns_add_host (zsat_netns_t *self, const char *host, char *address, size_t cap,
                     zsat_error_t *err)
{
    if (!zsat_name_valid (host) || s_host (self, host))
        return zsat_fail (err, ZSAT_E_CONFIG, "host '%s': invalid or given twice", host);
    if (self->host_count == ZSAT_NETNS_HOSTS_MAX)
        return zsat_fail (err, ZSAT_E_CONFIG, "more than %d hosts", ZSAT_NETNS_HOSTS_MAX);
    netns_host_t *h = &self->hosts[self->host_count];
    memset (h, 0, sizeof *h);
    char prefix[16];
    memcpy (prefix, self->prefix, sizeof prefix);
    snprintf (h->host, sizeof h->host, "%s", host);
    snprintf (h->ns, sizeof h->ns, "%s-%s", prefix, host);
    snprintf (h->veth, sizeof h->veth, "%sv%zu", prefix, self->host_count);
    snprintf (address, cap, "198.18.%zu.%zu", (self->host_count + 1) / 256,
              (self->host_count + 1) % 256);
    if (s_cmd (err, "ip", "netns", "add", h->ns, NULL) != 0)
        return -1;
    //  Counted before wiring, so destroy removes a half-wired host too.
    self->host_count++;
    return s_wire (self, h, address, err);
}

const char *
zsat_netns_name (zsat_netns_t *self, const char *host)
{
    netns_host_t *h = s_host (self, host);
    return h ? h->ns : NULL;
}

int
zsat_netns_link (zsat_netns_t *self, const char *host, bool up, zsat_error_t *err)
{
    netns_host_t *h = s_host (self, host);
    if (!h)
        return zsat_fail (err, ZSAT_E_CONFIG, "no emulated host '%s'", host);
    return s_cmd (err, "ip", "link", "set", h->veth, up ? "up" : "down", NULL);
}

int
zsat_netns_bandwidth (zsat_netns_t *self, const char *host, const char *rate, zsat_error_t *err)
{
    netns_host_t *h = s_host (self, host);
    if (!h)
        return zsat_fail (err, ZSAT_E_CONFIG, "no emulated host '%s'", host);
    if (streq (rate, "off")) {
        if (!h->capped)
            return 0;
        h->capped = false;
        int rc = s_cmd (err, "tc", "qdisc", "del", "dev", h->veth, "root", NULL);
        return s_cmd (rc ? NULL : err, "ip", "netns", "exec", h->ns, "tc", "qdisc", "del", "dev",
                      "eth0", "root", NULL) ||
               rc;
    }
    //  Both ends: the bridge side shapes traffic to the host, eth0 traffic from it.
    h->capped = true;
    if (s_cmd (err, "tc", "qdisc", "replace", "dev", h->veth, "root", "tbf", "rate", rate, "burst",
               "32kbit", "latency", "400ms", NULL) != 0)
        return -1;
    return s_cmd (err, "ip", "netns", "exec", h->ns, "tc", "qdisc", "replace", "dev", "eth0",
                  "root", "tbf", "rate", rate, "burst", "32kbit", "latency", "400ms", NULL);
}

int
zsat_netns_enter (zsat_netns_t *self, const char *host)
{
    netns_host_t *h = s_host (self, host);
    if (!h) {
        errno = ENOENT;
        return -1;
    }
    char path[128];
    snprintf (path, sizeof path, "/var/run/netns/%s", h->ns);
    int fd = open (path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    int rc = setns (fd, CLONE_NEWNET);
    close (fd);
    return rc;
}

pid_t
zsat_netns_spawn (zsat_netns_t *self, const char *host, char *const argv[], const char *const *envp,
                  const char *log_path, zsat_error_t *err)
{
    int log = open (log_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
    if (log < 0)
        return zsat_fail (err, ZSAT_E_IO, "%s: %s", log_path, strerror (errno));
    pid_t pid = fork ();
    if (pid == 0) {
        //  Own process group: a Ctrl-C on the terminal reaches the harness only, which then
        //  stops the launchers in order instead of every node dying at once.
        setpgid (0, 0);
        dup2 (log, STDOUT_FILENO);
        dup2 (log, STDERR_FILENO);
        for (size_t i = 0; envp && envp[i]; i++)
            putenv ((char *)envp[i]);
        if (self && zsat_netns_enter (self, host) != 0) {
            fprintf (stderr, "zsat harness: cannot enter the namespace of %s: %s\n", host,
                     strerror (errno));
            _exit (126);
        }
        execvp (argv[0], argv);
        fprintf (stderr, "zsat harness: cannot run %s: %s\n", argv[0], strerror (errno));
        _exit (127);
    }
    close (log);
    if (pid < 0)
        return zsat_fail (err, ZSAT_E_IO, "fork: %s", strerror (errno));
    return pid;
}

//  Returns true when name is ours (prefix + 6 hex digits) and its owner pid is gone.
static bool
s_stale (const char *name, bool every_run)
{
    size_t plen = strlen (ZSAT_NETNS_PREFIX);
    if (strncmp (name, ZSAT_NETNS_PREFIX, plen) != 0 || strlen (name) < plen + 6)
        return false;
    char hex[7];
    memcpy (hex, name + plen, 6);
    hex[6] = 0;
    char *end = NULL;
    long pid = strtol (hex, &end, 16);
    if (*end)
        return false;
    return every_run || (kill ((pid_t)pid, 0) != 0 && errno == ESRCH);
}

//  Calls fn on each word that starts a line of `argv`'s output (after `skip` leading fields).
static int
s_each_name (char *const argv[], int field, bool every_run, zsat_error_t *err, char names[][80],
             int max)
{
    char *output = (char *)malloc (NETNS_OUTPUT_MAX);
    if (!output || s_run (argv, output, NETNS_OUTPUT_MAX) != 0) {
        free (output);
        return zsat_fail (err, ZSAT_E_IO, "%s %s: cannot list", argv[0], argv[1]);
    }
    int count = 0;
    char *save = NULL;
    for (char *line = strtok_r (output, "\n", &save); line && count < max;
         line = strtok_r (NULL, "\n", &save)) {
        char name[80] = "";
        if (field == 0)
            sscanf (line, "%79s", name);
        else
            sscanf (line, "%*s %79[^:@ ]", name);
        if (s_stale (name, every_run))
            snprintf (names[count++], 80, "%s", name);
    }
    free (output);
    return count;
}

//  Kills what still runs inside a stale namespace (nodes of a crashed run), or it would
//  outlive the namespace's name.
static void
s_kill_inside (const char *ns)
{
    char output[4096];
    char *argv[] = {"ip", "netns", "pids", (char *)ns, NULL};
    if (s_run (argv, output, sizeof output) != 0)
        return;
    char *save = NULL;
    for (char *word = strtok_r (output, " \n", &save); word; word = strtok_r (NULL, " \n", &save)) {
        pid_t pid = (pid_t)atoi (word);
        if (pid > 1 && pid != getpid ()) {
            kill (pid, SIGCONT);
            kill (pid, SIGKILL);
        }
    }
}

int
zsat_netns_sweep (bool every_run, zsat_error_t *err)
{
    char names[256][80];
    char *ns_argv[] = {"ip", "netns", "list", NULL};
    char *link_argv[] = {"ip", "-o", "link", "show", NULL};
    int deleted = 0;
    int count = s_each_name (ns_argv, 0, every_run, err, names, 256);
    if (count < 0)
        return -1;
    for (int i = 0; i < count; i++) {
        s_kill_inside (names[i]);
        deleted += s_cmd (NULL, "ip", "netns", "del", names[i], NULL) == 0;
    }
    //  Links after namespaces: most veths went with their namespace; bridges remain.
    count = s_each_name (link_argv, 1, every_run, err, names, 256);
    if (count < 0)
        return -1;
    for (int i = 0; i < count; i++)
        deleted += s_cmd (NULL, "ip", "link", "del", names[i], NULL) == 0;
    return deleted;
}

int
zsat_netns_count (const char *prefix)
{
    char *output = (char *)malloc (NETNS_OUTPUT_MAX);
    char *ns_argv[] = {"ip", "netns", "list", NULL};
    char *link_argv[] = {"ip", "-o", "link", "show", NULL};
    int count = 0;
    for (int pass = 0; output && pass < 2; pass++) {
        if (s_run (pass ? link_argv : ns_argv, output, NETNS_OUTPUT_MAX) != 0)
            continue;
        char *save = NULL;
        for (char *line = strtok_r (output, "\n", &save); line;
             line = strtok_r (NULL, "\n", &save)) {
            char name[80] = "";
            if (pass == 0)
                sscanf (line, "%79s", name);
            else
                sscanf (line, "%*s %79[^:@ ]", name);
            count += strncmp (name, prefix, strlen (prefix)) == 0;
        }
    }
    free (output);
    return count;
}

//  --------------------------------------------------------------------------
//  Selftest

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

//  In a child inside host a's namespace: accepts one TCP connection and says "ok".
static void
s_test_server (zsat_netns_t *self)
{
    if (zsat_netns_enter (self, "a") != 0)
        _exit (3);
    int fd = socket (AF_INET, SOCK_STREAM, 0);
    int one = 1;
    setsockopt (fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = htons (7999)};
    inet_pton (AF_INET, "198.18.0.1", &addr.sin_addr);
    if (bind (fd, (struct sockaddr *)&addr, sizeof addr) != 0 || listen (fd, 4) != 0)
        _exit (4);
    for (int i = 0; i < 16; i++) {
        struct pollfd item = {fd, POLLIN, 0};
        if (poll (&item, 1, 5000) <= 0)
            _exit (5);
        int peer = accept (fd, NULL, NULL);
        if (peer >= 0 && write (peer, "ok", 2) == 2)
            close (peer);
    }
    _exit (0);
}

//  In a child inside host b's namespace: connects within 1 s and reads "ok". Exit 0 or 1.
static void
s_test_client (zsat_netns_t *self)
{
    if (zsat_netns_enter (self, "b") != 0)
        _exit (3);
    int fd = socket (AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = htons (7999)};
    inet_pton (AF_INET, "198.18.0.1", &addr.sin_addr);
    connect (fd, (struct sockaddr *)&addr, sizeof addr);
    struct pollfd item = {fd, POLLIN, 0};
    char reply[4] = "";
    if (poll (&item, 1, 1000) == 1 && read (fd, reply, 2) == 2 && memcmp (reply, "ok", 2) == 0)
        _exit (0);
    _exit (1);
}

//  Returns true when b reaches a over TCP within `tries` one-second attempts: a fresh veth
//  on the bridge may need a moment before it forwards.
static bool
s_test_reach (zsat_netns_t *self, int tries)
{
    for (int i = 0; i < tries; i++) {
        pid_t client = fork ();
        if (client == 0)
            s_test_client (self);
        if (s_reap (client, zclock_mono () + 5000) == 0)
            return true;
    }
    return false;
}

static bool
s_test_has_qdisc (zsat_netns_t *self, const char *host)
{
    char output[2048];
    char *argv[] = {"tc", "qdisc", "show", "dev", self->hosts[host[0] - 'a'].veth, NULL};
    return s_run (argv, output, sizeof output) == 0 && strstr (output, "tbf");
}

static void
s_test_crash (void)
{
    //  A run that dies without cleaning up: its names stay until a sweep.
    pid_t child = fork ();
    if (child == 0) {
        zsat_netns_t *self = zsat_netns_new (NULL);
        char address[32];
        _exit (self && zsat_netns_add_host (self, "x", address, sizeof address, NULL) == 0 ? 0 : 1);
    }
    assert (s_reap (child, zclock_mono () + 20000) == 0);
    char prefix[16];
    snprintf (prefix, sizeof prefix, ZSAT_NETNS_PREFIX "%06x", (unsigned)child & 0xffffff);
    assert (zsat_netns_count (prefix) >= 2);
    zsat_error_t err;
    assert (zsat_netns_sweep (false, &err) >= 2);
    assert (zsat_netns_count (prefix) == 0);
}

void
zsat_netns_test (bool verbose)
{
    printf (" * zsat_netns: ");
    if (!zsat_netns_available ()) {
        printf ("skipped (needs root and ip)\n");
        return;
    }
    zsat_error_t err;
    zsat_netns_t *self = zsat_netns_new (&err);
    assert (self);
    char prefix[16], address[32];
    snprintf (prefix, sizeof prefix, "%s", zsat_netns_prefix (self));
    assert (zsat_netns_add_host (self, "a", address, sizeof address, &err) == 0);
    assert (streq (address, "198.18.0.1"));
    assert (zsat_netns_add_host (self, "b", address, sizeof address, &err) == 0);
    assert (streq (address, "198.18.0.2"));
    assert (zsat_netns_add_host (self, "a", address, sizeof address, &err) == -1);
    assert (zsat_netns_count (prefix) == 2 + 3);  //  2 namespaces, bridge and 2 veths
    pid_t server = fork ();
    if (server == 0)
        s_test_server (self);
    zclock_sleep (100);  //  the server binds; the client's 1 s window covers a slow start
    assert (s_test_reach (self, 5));
    assert (zsat_netns_link (self, "b", false, &err) == 0);
    assert (!s_test_reach (self, 1));
    assert (zsat_netns_link (self, "b", true, &err) == 0);
    assert (s_test_reach (self, 5));
    kill (server, SIGKILL);
    waitpid (server, NULL, 0);
    assert (zsat_netns_bandwidth (self, "b", "1mbit", &err) == 0);
    assert (s_test_has_qdisc (self, "b"));
    assert (zsat_netns_bandwidth (self, "b", "off", &err) == 0);
    assert (!s_test_has_qdisc (self, "b"));
    assert (zsat_netns_link (self, "nope", true, &err) == -1);
    zsat_netns_destroy (&self);
    zsat_netns_destroy (&self);
    assert (zsat_netns_count (prefix) == 0);
    s_test_crash ();
    printf ("OK\n");
}
