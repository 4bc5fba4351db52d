/*  zsat route - changes or lists an orchester's routes at run time, over its REP control
    socket ("orchester.control" of a host), with a bounded wait for the answer.
*/
#include "zsat.h"
#include "zsat_curve.h"

static void
s_usage (FILE *out)
{
    fprintf (out,
             "usage: zsat route add|del TYPE NODE [OPTIONS]\n"
             "       zsat route list|stats [OPTIONS]\n\n"
             "Changes the routes of a running orchester without a restart: vectors of TYPE go\n"
             "to NODE (add; several nodes of one type each get a copy) or stop going there\n"
             "(del; what is queued for NODE still drains). list prints the table, stats the\n"
             "orchester's counters as JSON.\n\n"
             "options:\n"
             "  --topology FILE   topology that places the orchester (default: $ZSAT_TOPOLOGY)\n"
             "  --host H          host whose orchester to talk to (default: the first host)\n"
             "  --endpoint EP     talk to this endpoint instead (e.g. tcp://10.0.0.2:7105)\n"
             "  --timeout MS      how long to wait for the answer (default 2000)\n");
}

static int
s_bad (const char *message)
{
    fprintf (stderr, "zsat route: %s\n\n", message);
    s_usage (stderr);
    return 2;
}

//  Resolves the control endpoint of host's orchester into buf. Returns 0, or 1 with a message.
static int
s_endpoint (const char *path, const char *host, char *buf, size_t cap)
{
    if (!path) {
        fprintf (stderr, "zsat route: give --topology FILE or --endpoint EP\n");
        return 1;
    }
    zsat_diag_t *diag = zsat_diag_new ();
    zsat_topology_t *topology = zsat_topology_load (path, diag);
    if (!topology) {
        zsat_diag_print (diag, stderr);
        zsat_diag_destroy (&diag);
        return 1;
    }
    zsat_diag_destroy (&diag);
    if (!host && zsat_topology_host_count (topology))
        host = zsat_topology_host (topology, 0)->name;
    zsat_error_t err;
    int rc = zsat_curve_use_cli (topology, host, &err);
    if (rc)
        fprintf (stderr, "zsat route: %s\n", err.text);
    else
        rc = zsat_topology_endpoint (topology, "orchester.control", host, host, buf, cap);
    if (rc)
        fprintf (stderr, "zsat route: no orchester on host '%s' in %s\n", host ? host : "?", path);
    zsat_topology_destroy (&topology);
    return rc ? 1 : 0;
}

//  Sends one request and prints the answer. Returns the exit code.
static int
s_ask (const char *endpoint, const char *request, int timeout)
{
    zsock_t *req = zsock_new (ZMQ_REQ);
    //  A REQ whose peer is gone must not keep the command alive: drop on close, bounded waits.
    zsock_set_linger (req, 0);
    zsock_set_sndtimeo (req, timeout);
    zsock_set_rcvtimeo (req, timeout);
    zsock_set_maxmsgsize (req, 1024 * 1024);
    int rc = 1;
    if (zsat_curve_apply (req, NULL, endpoint, ZSAT_CURVE_CLIENT) ||
        zsock_attach (req, endpoint, false))
        fprintf (stderr, "zsat route: bad endpoint '%s'\n", endpoint);
    else if (zstr_send (req, request))
        fprintf (stderr, "zsat route: cannot send to %s within %d ms\n", endpoint, timeout);
    else {
        char *reply = zstr_recv (req);
        if (!reply)
            fprintf (stderr,
                     "zsat route: no answer from %s within %d ms (is the orchester running?)\n",
                     endpoint, timeout);
        else {
            bool error = strncmp (reply, "ERROR", 5) == 0;
            fprintf (error ? stderr : stdout, "%s%s", reply,
                     *reply && reply[strlen (reply) - 1] == '\n' ? "" : "\n");
            rc = error ? 1 : 0;
        }
        zstr_free (&reply);
    }
    zsock_destroy (&req);
    return rc;
}

static int
s_run (int argc, char **argv)
{
    const char *path = getenv ("ZSAT_TOPOLOGY"), *host = NULL, *endpoint = NULL;
    const char *words[4] = {NULL};
    int nwords = 0, timeout = 2000;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (streq (a, "--help") || streq (a, "-h")) {
            s_usage (stdout);
            return 0;
        }
        bool has_value = i + 1 < argc;
        if (streq (a, "--topology") && has_value)
            path = argv[++i];
        else if (streq (a, "--host") && has_value)
            host = argv[++i];
        else if (streq (a, "--endpoint") && has_value)
            endpoint = argv[++i];
        else if (streq (a, "--timeout") && has_value)
            timeout = atoi (argv[++i]);
        else if (a[0] == '-')
            return s_bad ("unknown option or missing value");
        else if (nwords < 3)
            words[nwords++] = a;
        else
            return s_bad ("too many arguments");
    }
    char request[256];
    if (nwords == 3 && (streq (words[0], "add") || streq (words[0], "del"))) {
        if (!zsat_name_valid (words[1]) || !zsat_name_valid (words[2]))
            return s_bad ("TYPE and NODE are 1..63 characters of [A-Za-z0-9_.-]");
        snprintf (request, sizeof request, "ROUTE %s %s %s",
                  streq (words[0], "add") ? "ADD" : "DEL", words[1], words[2]);
    }
    else if (nwords == 1 && streq (words[0], "list"))
        snprintf (request, sizeof request, "ROUTE LIST");
    else if (nwords == 1 && streq (words[0], "stats"))
        snprintf (request, sizeof request, "STATS");
    else
        return s_bad ("expected add TYPE NODE, del TYPE NODE, list or stats");
    if (timeout <= 0)
        return s_bad ("--timeout must be a positive number of milliseconds");
    char resolved[512];
    if (!endpoint) {
        if (s_endpoint (path, host, resolved, sizeof resolved))
            return 1;
        endpoint = resolved;
    }
    return s_ask (endpoint, request, timeout);
}

const zsat_command_t zsat_cmd_route = {"route", "add, delete or list an orchester's routes live",
                                       s_run};
