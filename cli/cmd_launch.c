/*  zsat launch - the per-host supervisor as a command: runs the launcher actor for one host
    of a topology until SIGTERM, Ctrl-C or a "STOP" on its control socket, then stops the
    host's nodes stage by stage. Writes <run_dir>/<host>/launcher.pid and launcher.control.
*/
#include "zsat.h"
#include "zsat_curve.h"
#include "zsat_launcher.h"
#include "zsat_pidlock.h"
#include "zsat_query.h"
#include "zsat_reload.h"
#include <signal.h>

static volatile sig_atomic_t s_signalled;
static volatile sig_atomic_t s_reload;

static void
s_on_hup (int sig)
{
    s_reload = 1;
}

static void
s_on_signal (int sig)
{
    s_signalled = sig;
}

static void
s_usage (FILE *out)
{
    fprintf (
        out,
        "usage: zsat launch --host HOST FILE\n\n"
        "Starts every node the topology FILE places on HOST (one `zsat node` process per\n"
        "instance), restarts crashed ones with backoff, stops restarting a flapping one,\n"
        "applies scale requests, and on SIGTERM/Ctrl-C stops them in order: sources,\n"
        "orchester, workers, sinks, tracker. Logs: <run_dir>/<host>/logs/<node>.<i>.log\n"
        "(rotated past ZSAT_LOG_MAX, default 10M), or the journal under systemd.\n"
        "SIGHUP re-reads FILE: checked first (a broken file is refused and logged), route\n"
        "changes are applied live through the orchester (no node restarts); any other\n"
        "change is refused with the reason, and the running topology stays. Nodes always\n"
        "run the copy in <run_dir>/<host>/running/ made at start.\n"
        "Control socket (launcher.control, its address in <run_dir>/<host>/launcher.control):\n"
        "STATUS, SCALE <node> <+1|-1>, STOP.\n"
        "The run directory is the topology's (override with ZSAT_RUN_DIR).\n");
}

//  Refuses to run twice for one host (or beside a `zsat up` of it): the pid file is locked
//  for the launcher's life. Returns the lock's descriptor, or -1 after saying why.
static int
s_pid_file_lock (const char *path)
{
    int holder = 0;
    int fd = zsat_pidlock_acquire (path, &holder);
    if (fd < 0 && holder > 0)
        fprintf (stderr, "zsat launch: a launcher (pid %d) already runs; see %s\n", holder, path);
    else if (fd < 0)
        fprintf (stderr, "zsat launch: cannot lock %s: %s\n", path, strerror (errno));
    return fd;
}

//  Writes where local tools reach the control socket: <run_dir>/<host>/launcher.control.
static void
s_control_file_write (zsat_topology_t *topology, zsat_launcher_plan_t *plan)
{
    char endpoint[1024], path[1200];
    if (zsat_topology_endpoint (topology, "launcher.control", plan->host, plan->host, endpoint,
                                sizeof endpoint) != 0)
        return;
    snprintf (path, sizeof path, "%s/launcher.control", plan->host_dir);
    FILE *file = fopen (path, "w");
    if (file) {
        //  Without the '>' prefix: the plain address zmq clients connect to.
        fprintf (file, "%s\n", endpoint[0] == '>' ? endpoint + 1 : endpoint);
        fclose (file);
    }
}

//  Sends the reload's route requests to this host's orchester. Returns how many failed.
static int
s_apply_routes (zsat_topology_t *running, const char *host, const zsat_reload_t *reload,
                const char *who)
{
    char endpoint[1024];
    if (zsat_topology_endpoint (running, "orchester.control", host, host, endpoint,
                                sizeof endpoint) != 0) {
        zsat_log_line (stderr, ZSAT_LOG_ERROR, who, "reload: no orchester on host %s", host);
        return (int)reload->count;
    }
    int failed = 0;
    for (size_t i = 0; i < reload->count; i++) {
        zsat_error_t err;
        char *reply = zsat_query_ask (endpoint, reload->requests[i], ZSAT_QUERY_TIMEOUT_MS, &err);
        bool ok = reply && strncmp (reply, "OK", 2) == 0;
        failed += !ok;
        zsat_log_line (stderr, ok ? ZSAT_LOG_INFO : ZSAT_LOG_ERROR, who, "reload: %s: %s",
                       reload->requests[i], reply ? reply : err.text);
        free (reply);
    }
    return failed;
}

//  SIGHUP: the file is checked as `zsat check` does, compared with the running topology,
//  and applied when only routes changed; otherwise refused with the reason. The running
//  topology, and the copy restarted nodes read, stay as they are either way.
static void
s_reload_topology (zsat_launcher_plan_t *plan, zsat_topology_t *running, const char *who)
{
    zsat_diag_t *diag = zsat_diag_new ();
    zsat_topology_t *next = zsat_topology_load (plan->source, diag);
    if (!next) {
        for (size_t i = 0; i < zsat_diag_count (diag); i++)
            zsat_log_line (stderr, ZSAT_LOG_ERROR, who,
                           "reload refused, the topology keeps "
                           "running: %s",
                           zsat_diag_get (diag, i));
        zsat_diag_destroy (&diag);
        return;
    }
    zsat_reload_t reload;
    zsat_error_t err;
    if (zsat_reload_plan (running, next, plan->host, &reload, &err) != 0)
        zsat_log_line (stderr, ZSAT_LOG_ERROR, who,
                       "reload refused, the topology keeps running: %s", err.text);
    else if (reload.count == 0)
        zsat_log_line (stderr, ZSAT_LOG_INFO, who, "reload: %s: nothing changed", plan->source);
    else {
        int failed = s_apply_routes (running, plan->host, &reload, who);
        zsat_log_line (stderr, failed ? ZSAT_LOG_ERROR : ZSAT_LOG_INFO, who,
                       "reload: %zu route change%s applied live, %d failed; no node restarted "
                       "(a restarted orchester starts from the routes it was started with)",
                       reload.count - (size_t)failed, reload.count == 1 ? "" : "s", failed);
    }
    zsat_topology_destroy (&next);
    zsat_diag_destroy (&diag);
}

static int
s_supervise (zsat_launcher_plan_t *plan, zsat_topology_t *topology, const char *who)
{
    zactor_t *actor = zactor_new (zsat_launcher_actor, &plan->spec);
    char *ready = actor ? zstr_recv (actor) : NULL;
    int rc = ready && streq (ready, "READY") ? 0 : 1;
    zsat_log_line (stderr, rc ? ZSAT_LOG_ERROR : ZSAT_LOG_INFO, who, "%s (%zu nodes, control %s)",
                   ready ? ready : "FAILED", plan->spec.program_count,
                   plan->spec.control ? plan->spec.control : "none");
    free (ready);
    zpoller_t *poller = actor ? zpoller_new (actor, NULL) : NULL;
    while (rc == 0 && !s_signalled) {
        if (s_reload) {
            s_reload = 0;
            s_reload_topology (plan, topology, who);
        }
        if (zpoller_wait (poller, 200) == actor) {
            char *event = zstr_recv (actor);
            bool stopped = !event || streq (event, "STOPPED");
            free (event);
            if (stopped)
                break;
        }
    }
    zpoller_destroy (&poller);
    zactor_destroy (&actor);  //  "$TERM": the staged stop, bounded per stage
    return rc;
}

static int
s_run (int argc, char **argv)
{
    const char *host = NULL, *file = NULL;
    for (int i = 1; i < argc; i++) {
        if (streq (argv[i], "--help") || streq (argv[i], "-h")) {
            s_usage (stdout);
            return 0;
        }
        if (streq (argv[i], "--host") && i + 1 < argc)
            host = argv[++i];
        else if (argv[i][0] != '-' && !file)
            file = argv[i];
        else {
            fprintf (stderr, "zsat launch: unexpected argument '%s'\n", argv[i]);
            s_usage (stderr);
            return 2;
        }
    }
    if (!host || !file) {
        fprintf (stderr, "zsat launch: --host HOST and FILE are required\n");
        s_usage (stderr);
        return 2;
    }
    signal (SIGTERM, s_on_signal);
    signal (SIGINT, s_on_signal);
    signal (SIGHUP, s_on_hup);  //  re-read the topology (systemctl reload)
    signal (SIGPIPE, SIG_IGN);
    zsat_diag_t *diag = zsat_diag_new ();
    zsat_topology_t *topology = zsat_topology_load (file, diag);
    zsat_launcher_plan_t *plan = (zsat_launcher_plan_t *)calloc (1, sizeof *plan);
    zsat_error_t err = {0, ""};
    char who[ZSAT_NAME_MAX + 16], pid_path[1200];
    snprintf (who, sizeof who, "launch.%s", host);
    int rc = 1;
    if (!topology)
        zsat_diag_print (diag, stderr);
    else if (!plan || zsat_curve_use (topology, host, &err) != 0 ||
             zsat_launcher_plan_init (plan, topology, file, host, &err) != 0)
        fprintf (stderr, "zsat launch: %s\n", err.text);
    else {
        snprintf (pid_path, sizeof pid_path, "%s/launcher.pid", plan->host_dir);
        int lock = s_pid_file_lock (pid_path);
        if (lock >= 0) {
            s_control_file_write (topology, plan);
            rc = s_supervise (plan, topology, who);
            char control[1200];
            snprintf (control, sizeof control, "%s/launcher.control", plan->host_dir);
            unlink (control);
            zsat_pidlock_release (lock, pid_path);
        }
    }
    free (plan);
    zsat_topology_destroy (&topology);
    zsat_diag_destroy (&diag);
    return rc;
}

const zsat_command_t zsat_cmd_launch = {"launch", "supervise the nodes of one host of a topology",
                                        s_run};
