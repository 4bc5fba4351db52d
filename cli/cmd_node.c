/*  zsat node - runs one node of a topology in this process: the kind's actor for system
    kinds (orchester, tracker, scheduler, buffer), the satellite runtime for the others.
    The launcher spawns one of these per node instance; it is also handy by hand.
*/
#include "zsat.h"
#include "zsat_curve.h"
#include "zsat_satellite.h"
#include <signal.h>

#define NODE_READY_TIMEOUT_MS 30000  //  setup (binds, file opens) longer than this is a fault
#define NODE_STOP_TIMEOUT_S   10     //  drain and flush; the launcher's SIGKILL comes later

static volatile sig_atomic_t s_signalled;

static void
s_on_signal (int sig)
{
    s_signalled = sig;
}

//  A node that does not finish its drain in time must still end: the alarm exits for it.
static void
s_on_alarm (int sig)
{
    static const char msg[] = "zsat node: drain did not finish in time, exiting\n";
    if (write (2, msg, sizeof msg - 1) < 0)
        _exit (3);
    _exit (3);
}

static void
s_usage (FILE *out)
{
    fprintf (out, "usage: zsat node --topology FILE --node NAME --host HOST [--instance N]\n\n"
                  "Runs one node of the topology in the foreground until SIGTERM or Ctrl-C.\n"
                  "Logs go to stderr. Exit status: 0 after a clean stop, 1 when the node cannot\n"
                  "start (the reason is logged), 2 on bad usage.\n");
}

typedef struct {
    const char *file, *node, *host;
    int instance;
} options_t;

static int
s_parse (int argc, char **argv, options_t *opts)
{
    for (int i = 1; i < argc; i += 2) {
        const char *value = i + 1 < argc ? argv[i + 1] : NULL;
        if (streq (argv[i], "--help") || streq (argv[i], "-h"))
            return 1;
        if (!value) {
            fprintf (stderr, "zsat node: %s needs a value\n", argv[i]);
            return -1;
        }
        if (streq (argv[i], "--topology"))
            opts->file = value;
        else if (streq (argv[i], "--node"))
            opts->node = value;
        else if (streq (argv[i], "--host"))
            opts->host = value;
        else if (streq (argv[i], "--instance")) {
            char *end = NULL;
            long number = strtol (value, &end, 10);
            if (*end || number < 0 || number > 100000) {
                fprintf (stderr, "zsat node: bad --instance '%s'\n", value);
                return -1;
            }
            opts->instance = (int)number;
        }
        else {
            fprintf (stderr, "zsat node: unknown argument '%s'\n", argv[i]);
            return -1;
        }
    }
    if (!opts->file || !opts->node || !opts->host) {
        fprintf (stderr, "zsat node: --topology, --node and --host are required\n");
        return -1;
    }
    return 0;
}

//  Picks the actor that runs node. Returns it, or NULL with the reason logged.
static zactor_fn *
s_actor_for (const zsat_node_t *node, const char *who)
{
    const zsat_kind_t *kind = zsat_kind_find (node->kind);
    if (!kind) {
        zsat_log_line (stderr, ZSAT_LOG_ERROR, who, "kind %s is not available in this build",
                       node->kind);
        return NULL;
    }
    if (kind->role == ZSAT_ROLE_EXTERNAL) {
        zsat_log_line (stderr, ZSAT_LOG_ERROR, who,
                       "kind external: zsat never starts this node; run your program, which "
                       "joins with the endpoints of `zsat show --json` (docs/satellites.md)");
        return NULL;
    }
    return kind->role == ZSAT_ROLE_SYSTEM ? kind->actor : zsat_satellite_actor;
}

//  Waits for "READY" or "FAILED <reason>" (or a signal). Returns 0 when ready.
static int
s_wait_ready (zactor_t *actor, const char *who)
{
    zpoller_t *poller = zpoller_new (actor, NULL);
    int64_t deadline = zclock_mono () + NODE_READY_TIMEOUT_MS;
    char *reply = NULL;
    while (!reply && !s_signalled && zclock_mono () < deadline)
        if (zpoller_wait (poller, 100) == actor)
            reply = zstr_recv (actor);
    zpoller_destroy (&poller);
    int rc = reply && streq (reply, "READY") ? 0 : -1;
    if (rc != 0)
        zsat_log_line (stderr, ZSAT_LOG_ERROR, who, "did not start: %s",
                       reply         ? reply
                       : s_signalled ? "stopped by a signal during setup"
                                     : "no READY within the setup timeout");
    free (reply);
    return rc;
}

//  Runs the node until a signal, or until its actor ends on its own.
static int
s_run_node (zsat_topology_t *topology, const zsat_node_t *node, options_t *opts, const char *who)
{
    zactor_fn *fn = s_actor_for (node, who);
    if (!fn)
        return 1;
    zsat_node_args_t args = {topology, node->name, opts->host, opts->instance};
    zactor_t *actor = zactor_new (fn, &args);
    if (!actor)
        return 1;
    int rc = s_wait_ready (actor, who);
    if (rc == 0)
        zsat_log_line (stderr, ZSAT_LOG_INFO, who, "running (kind %s, pid %d)", node->kind,
                       (int)getpid ());
    zpoller_t *poller = zpoller_new (actor, NULL);
    while (rc == 0 && !s_signalled) {
        //  The actor never talks after READY unless it ended by itself (a fatal error). The
        //  message is left unread: zactor_destroy skips it on its way to the end signal.
        if (zpoller_wait (poller, 200) == actor) {
            zsat_log_line (stderr, ZSAT_LOG_ERROR, who, "node ended by itself (see above)");
            rc = 1;
        }
    }
    zpoller_destroy (&poller);
    if (s_signalled)
        zsat_log_line (stderr, ZSAT_LOG_INFO, who, "signal %d: draining", (int)s_signalled);
    signal (SIGALRM, s_on_alarm);
    alarm (NODE_STOP_TIMEOUT_S);
    zactor_destroy (&actor);
    alarm (0);
    zsat_log_line (stderr, ZSAT_LOG_INFO, who, "stopped");
    return rc;
}

static int
s_run (int argc, char **argv)
{
    options_t opts = {NULL, NULL, NULL, 0};
    int parsed = s_parse (argc, argv, &opts);
    if (parsed != 0) {
        s_usage (parsed > 0 ? stdout : stderr);
        return parsed > 0 ? 0 : 2;
    }
    char who[2 * ZSAT_NAME_MAX + 16];
    snprintf (who, sizeof who, "%s.%s.%d", opts.host, opts.node, opts.instance);
    signal (SIGTERM, s_on_signal);
    signal (SIGINT, s_on_signal);
    signal (SIGHUP, s_on_signal);  //  a closed terminal stops in order too
    zsat_diag_t *diag = zsat_diag_new ();
    zsat_topology_t *topology = zsat_topology_load (opts.file, diag);
    int rc = 1;
    zsat_error_t err = {0, ""};
    const zsat_node_t *node = topology ? zsat_topology_node_find (topology, opts.node) : NULL;
    if (!topology)
        zsat_diag_print (diag, stderr);
    else if (!node)
        zsat_log_line (stderr, ZSAT_LOG_ERROR, who, "no node %s in %s", opts.node, opts.file);
    else if (!zsat_topology_node_on_host (node, opts.host))
        zsat_log_line (stderr, ZSAT_LOG_ERROR, who, "node %s does not run on host %s", opts.node,
                       opts.host);
    else if (zsat_curve_use (topology, opts.host, &err) != 0)
        zsat_log_line (stderr, ZSAT_LOG_ERROR, who, "%s", err.text);
    else
        rc = s_run_node (topology, node, &opts, who);
    zsat_topology_destroy (&topology);
    zsat_diag_destroy (&diag);
    return rc;
}

const zsat_command_t zsat_cmd_node = {"node", "run one node of a topology (the launcher's child)",
                                      s_run};
