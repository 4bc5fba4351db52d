/*  zsat up - runs every host of a topology on this machine, one launcher actor per host in
    this process, with a live one-screen status (launcher state of each node instance plus
    rates from the tracker's NODES query). Stops on Ctrl-C or after --duration: sources of
    every host first, sinks and the tracker last.
*/
#include "zsat.h"
#include "zsat_curve.h"
#include "zsat_launcher.h"
#include "zsat_pidlock.h"
#include "zsat_datadir.h"
#include "zsat_statusview.h"
#include "zsat_termtable.h"
#include <signal.h>
#include <sys/ioctl.h>
#include <dirent.h>

#define UP_HOSTS_MAX 32
#define UP_ROWS_MAX  512

static volatile sig_atomic_t s_signalled, s_resized;

static void
s_on_signal (int sig)
{
    s_signalled = sig;
}

static void
s_on_resize (int sig)
{
    s_resized = 1;
}

static void
s_usage (FILE *out)
{
    fprintf (out, "usage: zsat up [FILE] [--duration SECONDS] [--no-status] [--http ADDR:PORT]\n\n"
                  "Runs every host of the topology FILE (default: the shipped default.yaml in\n"
                  "<prefix>/share/zsat/topologies, or $ZSAT_DATA_DIR/topologies) on\n"
                  "this machine and shows a live status refreshed every second: per node\n"
                  "instance its host, state, pid, restarts, vectors in/out per second and\n"
                  "errors. Stops cleanly on Ctrl-C or after --duration, then prints where the\n"
                  "data and the logs are.\n\n"
                  "  --http ADDR:PORT  serve the tracker's HTTP endpoint and dashboard there\n"
                  "                    (overrides the topology's tracker.http; loopback unless\n"
                  "                    the topology gives tracker.http_token_file)\n");
}

typedef struct {
    const char *file;
    const char *http;  //  --http ADDR:PORT, or NULL
    double duration;
    bool status;
    size_t host_count;
    zactor_t *actors[UP_HOSTS_MAX];
    zsat_launcher_plan_t *plans[UP_HOSTS_MAX];
    int locks[UP_HOSTS_MAX];  //  <host_dir>/launcher.pid, held while the host runs
    char lock_paths[UP_HOSTS_MAX][1200];
    char query[1024];  //  tracker.query endpoint, "" when the topology has none
    char url[64];      //  the dashboard's, "" when off
    zsat_status_row_t rows[UP_ROWS_MAX], previous[UP_ROWS_MAX];
    size_t row_count, previous_count;
    int64_t previous_at;
    bool answering;  //  the tracker answered the last refresh
} up_t;

static int
s_parse (int argc, char **argv, up_t *up)
{
    for (int i = 1; i < argc; i++) {
        if (streq (argv[i], "--help") || streq (argv[i], "-h"))
            return 1;
        if (streq (argv[i], "--no-status"))
            up->status = false;
        else if (streq (argv[i], "--http") && i + 1 < argc) {
            char ip[16], why[160];
            int port;
            bool loopback;
            up->http = argv[++i];
            if (zsat_topology_http_address (up->http, ip, &port, &loopback, why, sizeof why)) {
                fprintf (stderr, "zsat up: --http: %s\n", why);
                return -1;
            }
        }
        else if (streq (argv[i], "--duration") && i + 1 < argc) {
            char *end = NULL;
            up->duration = strtod (argv[++i], &end);
            if (*end || up->duration <= 0) {
                fprintf (stderr, "zsat up: bad --duration '%s'\n", argv[i]);
                return -1;
            }
        }
        else if (argv[i][0] != '-' && !up->file)
            up->file = argv[i];
        else {
            fprintf (stderr, "zsat up: unexpected argument '%s'\n", argv[i]);
            return -1;
        }
    }
    return 0;
}

//  Starts one launcher actor per host. Returns 0, or -1 after reporting why.
static int
s_start (up_t *up, zsat_topology_t *topology)
{
    for (size_t h = 0; h < zsat_topology_host_count (topology); h++) {
        const char *host = zsat_topology_host (topology, h)->name;
        if (up->host_count == UP_HOSTS_MAX) {
            fprintf (stderr, "zsat up: more than %d hosts\n", UP_HOSTS_MAX);
            return -1;
        }
        zsat_error_t err = {0, ""};
        zsat_launcher_plan_t *plan = (zsat_launcher_plan_t *)calloc (1, sizeof *plan);
        if (!plan || zsat_launcher_plan_init (plan, topology, up->file, host, &err) != 0) {
            fprintf (stderr, "zsat up: host %s: %s\n", host, err.text);
            free (plan);
            return -1;
        }
        //  A host runs once: another `zsat up` or `zsat launch` of it holds this lock.
        char *lock_path = up->lock_paths[up->host_count];
        snprintf (lock_path, sizeof up->lock_paths[0], "%s/launcher.pid", plan->host_dir);
        int holder = 0;
        up->locks[up->host_count] = zsat_pidlock_acquire (lock_path, &holder);
        if (up->locks[up->host_count] < 0) {
            if (holder > 0)
                fprintf (stderr,
                         "zsat up: %s is already running: host %s is run by pid %d (see %s)\n",
                         zsat_topology_name (topology), host, holder, lock_path);
            else
                fprintf (stderr, "zsat up: cannot lock %s: %s\n", lock_path, strerror (errno));
            free (plan);
            return -1;
        }
        //  The status screen owns the terminal: the launchers log to a file instead.
        char log_file[1200];
        snprintf (log_file, sizeof log_file, "%s/launcher.log", plan->log_dir);
        if (up->status && isatty (STDOUT_FILENO))
            plan->spec.log_file = log_file;
        zactor_t *actor = zactor_new (zsat_launcher_actor, &plan->spec);
        char *ready = actor ? zstr_recv (actor) : NULL;
        bool ok = ready && streq (ready, "READY");
        if (!ok)
            fprintf (stderr, "zsat up: host %s: %s\n", host, ready ? ready : "FAILED");
        free (ready);
        if (!ok) {
            zactor_destroy (&actor);
            zsat_pidlock_release (up->locks[up->host_count], lock_path);
            free (plan);
            return -1;
        }
        up->plans[up->host_count] = plan;
        up->actors[up->host_count++] = actor;
    }
    return 0;
}

//  Sends a request to a launcher and returns its reply, skipping an unsolicited "STOPPED".
static char *
s_request (zactor_t *actor, const char *command, const char *arg)
{
    zstr_sendx (actor, command, arg, NULL);
    char *reply = zstr_recv (actor);
    if (reply && streq (reply, "STOPPED") && !streq (command, "STOPSTAGE")) {
        free (reply);
        reply = zstr_recv (actor);
    }
    return reply;
}

//  Asks the tracker request (NODES, STATUS). Returns the JSON (caller frees) or NULL when it does not
//  answer within 300 ms; a fresh REQ each time, so a lost reply never wedges the socket.
static char *
s_tracker_ask (up_t *up, const char *request)
{
    if (!*up->query)
        return NULL;
    zsock_t *req = zsock_new (ZMQ_REQ);
    if (!req || zsat_curve_apply (req, NULL, up->query, ZSAT_CURVE_CLIENT) ||
        zsock_attach (req, up->query, false) != 0) {
        zsock_destroy (&req);
        return NULL;
    }
    zsock_set_sndtimeo (req, 300);
    zsock_set_rcvtimeo (req, 300);
    char *reply = zstr_send (req, request) == 0 ? zstr_recv (req) : NULL;
    zsock_destroy (&req);
    return reply;
}

//  One frame, fitted to the terminal as it is now; lines that do not fit its height are
//  counted on the last line, not scrolled.
static void
s_draw (up_t *up, bool answering, int64_t elapsed_ms)
{
    bool tty = isatty (STDOUT_FILENO);
    char title[1200], footer[256];
    snprintf (title, sizeof title, "zsat up (Ctrl-C stops)  %s", up->file);
    snprintf (footer, sizeof footer, "elapsed %.0f s  tracker: %s%s%s", elapsed_ms / 1000.0,
              answering ? "answering" : "not answering (process state only)",
              *up->url ? "  dashboard " : "", up->url);
    int width = zsat_term_width (STDOUT_FILENO);
    int height = tty ? zsat_term_height (STDOUT_FILENO) : 0;
    //  title, header and footer stay: instances that do not fit are counted in the footer
    size_t shown = up->row_count;
    if (height > 3 && shown > (size_t)height - 3) {
        shown = (size_t)height - 3;
        size_t used = strlen (footer);
        snprintf (footer + used, sizeof footer - used, "  (%zu more instances not shown)",
                  up->row_count - shown);
    }
    char *text = zsat_statusview_render (up->rows, shown, title, footer, width,
                                         zsat_term_colour (STDOUT_FILENO));
    if (text) {
        if (s_resized && tty)
            fputs ("\033[2J", stdout);  //  the terminal may have rewrapped the old frame
        zsat_term_frame (stdout, text, width, height, tty);
    }
    s_resized = 0;
    fflush (stdout);
    free (text);
}

static void
s_refresh (up_t *up, int64_t started, bool render)
{
    memcpy (up->previous, up->rows, up->row_count * sizeof up->rows[0]);
    up->previous_count = up->row_count;
    up->row_count = 0;
    for (size_t h = 0; h < up->host_count; h++) {
        char *json = s_request (up->actors[h], "STATUS", NULL);
        if (json)
            up->row_count += zsat_statusview_rows_from_status (json, up->rows + up->row_count,
                                                               UP_ROWS_MAX - up->row_count);
        free (json);
    }
    int64_t now = zclock_mono ();
    char *nodes = s_tracker_ask (up, "NODES");
    double elapsed = up->previous_at ? (now - up->previous_at) / 1000.0 : 0;
    if (nodes)
        zsat_statusview_merge_nodes (nodes, up->rows, up->row_count, up->previous,
                                     up->previous_count, elapsed);
    char *status = nodes ? s_tracker_ask (up, "STATUS") : NULL;
    if (status)
        zsat_statusview_merge_tracker (status, up->rows, up->row_count, up->previous,
                                       up->previous_count, elapsed);
    free (status);
    up->answering = nodes != NULL;
    up->previous_at = now;
    if (up->status && render)
        s_draw (up, nodes != NULL, now - started);
    free (nodes);
}

//  Stops stage by stage across every host, so no host's sink stops before another's source.
static void
s_stop (up_t *up)
{
    for (int stage = 0; stage < ZSAT_STAGE_COUNT; stage++) {
        char number[8];
        snprintf (number, sizeof number, "%d", stage);
        for (size_t h = 0; h < up->host_count; h++)
            zstr_sendx (up->actors[h], "STOPSTAGE", number, NULL);
        for (size_t h = 0; h < up->host_count; h++) {
            char *reply = zstr_recv (up->actors[h]);
            if (reply && streq (reply, "STOPPED")) {  //  from an earlier control "STOP"
                free (reply);
                reply = zstr_recv (up->actors[h]);
            }
            free (reply);
        }
    }
}

//  Lists what the nodes wrote in a host's directory: everything but sockets, logs and the
//  launcher's own files.
static void
s_list_data (const char *host_dir)
{
    DIR *dir = opendir (host_dir);
    if (!dir)
        return;
    char line[1024] = "";
    size_t used = 0;
    struct dirent *entry;
    while ((entry = readdir (dir)) && used < sizeof line - 128) {
        const char *name = entry->d_name;
        size_t len = strlen (name);
        if (name[0] == '.' || streq (name, "logs") || strncmp (name, "launcher.", 9) == 0 ||
            (len > 4 && streq (name + len - 4, ".ipc")))
            continue;
        used += (size_t)snprintf (line + used, sizeof line - used, " %s%s", name,
                                  entry->d_type == DT_DIR ? "/" : "");
    }
    closedir (dir);
    if (used)
        printf ("data in %s:%s\n", host_dir, line);
}

static void
s_summary (up_t *up, zsat_topology_t *topology, int64_t started)
{
    s_refresh (up, started, false);
    int restarts = 0;
    for (size_t r = 0; r < up->row_count; r++)
        restarts += up->rows[r].restarts;
    printf ("zsat up: %s stopped after %.1f s: %zu hosts, %zu node instances, %d restarts.\n",
            zsat_topology_name (topology), (zclock_mono () - started) / 1000.0, up->host_count,
            up->row_count, restarts);
    printf ("run directory: %s (logs in <host>/logs/<node>.<instance>.log)\n",
            zsat_topology_run_dir (topology));
    static const char *keys[] = {"dir", "path", "file", "directory", NULL};
    for (size_t n = 0; n < zsat_topology_node_count (topology); n++) {
        const zsat_node_t *node = zsat_topology_node (topology, n);
        const char *value = NULL;
        for (const char **key = keys; *key && !value; key++)
            value = zsat_topology_node_option (node, *key);
        if (value)
            printf ("data of %s (%s): %s\n", node->name, node->kind, value);
    }
    for (size_t h = 0; h < up->host_count; h++)
        s_list_data (up->plans[h]->host_dir);
}

//  --http goes to the tracker through its environment (ZSAT_TRACKER_HTTP, which the
//  launchers' children inherit). Off loopback it needs the topology's token file.
static int
s_http (up_t *up, zsat_topology_t *topology, char *url, size_t cap)
{
    const zsat_tracker_policy_t *policy = zsat_topology_policy (topology);
    const char *listen = up->http ? up->http : policy->http;
    *url = 0;
    if (!listen)
        return 0;
    char ip[16], why[160];
    int port;
    bool loopback;
    zsat_topology_http_address (listen, ip, &port, &loopback, why, sizeof why);
    if (!loopback && !policy->http_token_file) {
        fprintf (stderr,
                 "zsat up: --http %s is not loopback: the topology needs "
                 "tracker.http_token_file\n",
                 listen);
        return -1;
    }
    if (up->http)
        setenv ("ZSAT_TRACKER_HTTP", up->http, 1);
    snprintf (url, cap, "http://%s:%d/", ip, port);
    return 0;
}

static int
s_run_up (up_t *up, zsat_topology_t *topology)
{
    char url[64];
    if (s_http (up, topology, url, sizeof url) != 0)
        return 2;
    const char *first = zsat_topology_host (topology, 0)->name;
    if (zsat_topology_endpoint (topology, "tracker.query", NULL, first, up->query,
                                sizeof up->query) != 0)
        up->query[0] = 0;
    int64_t started = zclock_mono ();
    int rc = s_start (up, topology) == 0 ? 0 : 1;
    if (rc == 0 && !up->status)
        printf ("zsat up: %s running on %zu hosts%s\n", zsat_topology_name (topology),
                up->host_count, up->duration > 0 ? "" : "; Ctrl-C stops");
    if (rc == 0 && *url)
        printf ("zsat up: dashboard on %s (metrics %smetrics)\n", url, url);
    snprintf (up->url, sizeof up->url, "%s", url);
    fflush (stdout);
    int64_t next = started;
    while (rc == 0 && !s_signalled &&
           (up->duration <= 0 || zclock_mono () - started < up->duration * 1000)) {
        if (zclock_mono () >= next) {
            s_refresh (up, started, true);
            next += 1000;
        }
        else if (s_resized && up->status)
            s_draw (up, up->answering, zclock_mono () - started);
        zclock_sleep (50);
    }
    s_stop (up);
    if (rc == 0)
        s_summary (up, topology, started);
    return rc;
}

static int
s_run (int argc, char **argv)
{
    static up_t up;  //  big (rows); one per process
    memset (&up, 0, sizeof up);
    up.status = true;
    int parsed = s_parse (argc, argv, &up);
    if (parsed != 0) {
        s_usage (parsed > 0 ? stdout : stderr);
        return parsed > 0 ? 0 : 2;
    }
    char default_file[1200];
    if (!up.file)
        up.file = zsat_datadir_default_topology (default_file, sizeof default_file);
    signal (SIGTERM, s_on_signal);
    signal (SIGINT, s_on_signal);
    signal (SIGHUP, s_on_signal);  //  a closed terminal stops in order too
    signal (SIGPIPE, SIG_IGN);
    signal (SIGWINCH, s_on_resize);
    zsat_diag_t *diag = zsat_diag_new ();
    zsat_topology_t *topology = zsat_topology_load (up.file, diag);
    zsat_error_t up_err = {0, ""};
    int rc = 1;
    if (!topology)
        zsat_diag_print (diag, stderr);
    else if (zsat_topology_host_count (topology) == 0)
        fprintf (stderr, "zsat up: %s has no host\n", up.file);
    else if (zsat_curve_use_cli (topology, zsat_topology_host (topology, 0)->name, &up_err))
        fprintf (stderr, "zsat up: %s\n", up_err.text);
    else
        rc = s_run_up (&up, topology);
    for (size_t h = 0; h < up.host_count; h++) {
        zactor_destroy (&up.actors[h]);
        zsat_pidlock_release (up.locks[h], up.lock_paths[h]);
        free (up.plans[h]);
    }
    zsat_topology_destroy (&topology);
    zsat_diag_destroy (&diag);
    return rc;
}

const zsat_command_t zsat_cmd_up = {"up", "run every host of a topology here, with live status",
                                    s_run};
