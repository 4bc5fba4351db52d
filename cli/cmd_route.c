/*  zsat route - changes or lists an orchester's routes at run time, over its REP control
    socket ("orchester.control" of a host), with a bounded wait for the answer.
*/
#include "zsat.h"
#include "control_client.h"
#include "zsat_curve.h"

static void
s_usage (FILE *out)
{
    fprintf (out,
             "usage: zsat route add|del TYPE NODE [OPTIONS]\n"
             "       zsat route move TYPE FROM TO [OPTIONS]\n"
             "       zsat route list|stats [OPTIONS]\n\n"
             "Changes the routes of a running orchester without a restart: vectors of TYPE go\n"
             "to NODE (add; several nodes of one type each get a copy) or stop going there\n"
             "(del; what is queued for NODE still drains). move hands TYPE from node FROM to\n"
             "node TO in one step: no vector goes to both, none to neither (add then del\n"
             "duplicates what arrives in between, del then add dead-letters it). list prints\n"
             "the table, stats the orchester's counters as JSON. Exit 0 on OK, 1 on an ERROR\n"
             "answer or no answer, 2 on a usage error.\n\n"
             "options:\n"
             "  --topology FILE   topology that places the orchester (default: $ZSAT_TOPOLOGY)\n"
             "  --host H          host whose orchester to talk to (default: the first host)\n"
             "  --from H          host this command runs on: H's own orchester over ipc, any\n"
             "                    other over tcp (default: ipc when this machine runs the\n"
             "                    host, i.e. its socket file exists here, else tcp)\n"
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

//  Sends one request and prints the answer. Returns the exit code.
static int
s_ask (const char *endpoint, const char *request, int timeout)
{
    zsock_t *req = control_client_req (endpoint, timeout);
    int rc = 1;
    if (!req)
        fprintf (stderr, "zsat route: bad endpoint '%s'\n", endpoint);
    else if (zstr_send (req, request))
        fprintf (stderr,
                 "zsat route: nothing listens on %s (no connection within %d ms): not sent\n",
                 endpoint, timeout);
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
    const char *path = getenv ("ZSAT_TOPOLOGY"), *host = NULL, *endpoint = NULL, *from = NULL;
    const char *words[5] = {NULL};
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
        else if (streq (a, "--from") && has_value)
            from = argv[++i];
        else if (streq (a, "--endpoint") && has_value)
            endpoint = argv[++i];
        else if (streq (a, "--timeout") && has_value)
            timeout = atoi (argv[++i]);
        else if (a[0] == '-')
            return s_bad ("unknown option or missing value");
        else if (nwords < 4)
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
    else if (nwords == 4 && streq (words[0], "move")) {
        if (!zsat_name_valid (words[1]) || !zsat_name_valid (words[2]) ||
            !zsat_name_valid (words[3]))
            return s_bad ("TYPE, FROM and TO are 1..63 characters of [A-Za-z0-9_.-]");
        snprintf (request, sizeof request, "ROUTE MOVE %s %s %s", words[1], words[2], words[3]);
    }
    else if (nwords == 1 && streq (words[0], "list"))
        snprintf (request, sizeof request, "ROUTE LIST");
    else if (nwords == 1 && streq (words[0], "stats"))
        snprintf (request, sizeof request, "STATS");
    else
        return s_bad ("expected add TYPE NODE, del TYPE NODE, move TYPE FROM TO, list or stats");
    if (timeout <= 0)
        return s_bad ("--timeout must be a positive number of milliseconds");
    char resolved[512], name[ZSAT_NAME_MAX];
    if (!endpoint) {
        if (control_client_endpoint ("zsat route", path, host, from, "orchester.control", name,
                                     resolved, sizeof resolved))
            return 1;
        endpoint = resolved;
    }
    return s_ask (endpoint, request, timeout);
}

const zsat_command_t zsat_cmd_route = {
    "route", "add, delete, move or list an orchester's routes live", s_run};
