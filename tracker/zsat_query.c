/*  zsat_query - the client side of the tracker's query socket. A fresh REQ socket per
    question: after a timeout a REQ socket is stuck waiting for its reply, so it is thrown
    away with linger 0 rather than reused.
*/
#include "zsat_query.h"
#include "zsat_datadir.h"
#include "zsat_curve.h"

int
zsat_query_endpoint (const char *topology_file, const char *from_host, const char *endpoint,
                     char *buf, size_t cap, zsat_error_t *err)
{
    if (endpoint) {
        if (!*endpoint || strlen (endpoint) >= cap)
            return zsat_fail (err, ZSAT_E_CONFIG, "bad endpoint '%s'", endpoint);
        snprintf (buf, cap, "%s", endpoint);
        if (!topology_file)
            return 0;  //  a bare endpoint: plain (no topology, no keys)
    }
    char fallback[1024];
    const char *file =
        topology_file ? topology_file : zsat_datadir_default_topology (fallback, sizeof fallback);
    zsat_diag_t *diag = zsat_diag_new ();
    zsat_topology_t *topology = zsat_topology_load (file, diag);
    int rc = 0;
    if (!topology)
        rc = zsat_fail (err, ZSAT_E_CONFIG, "cannot load %s: %s", file,
                        diag && zsat_diag_count (diag) ? zsat_diag_get (diag, 0) : "?");
    else if (zsat_curve_use_cli (topology, from_host, err) != 0)
        rc = -1;
    else if (!endpoint &&  //  with an endpoint, the topology only gives the keys
             zsat_topology_endpoint (topology, "tracker.query", NULL, from_host, buf, cap) != 0)
        rc = zsat_fail (err, ZSAT_E_CONFIG, "%s: no tracker query endpoint%s%s", file,
                        from_host ? " from host " : "", from_host ? from_host : "");
    zsat_topology_destroy (&topology);
    zsat_diag_destroy (&diag);
    return rc;
}

char *
zsat_query_ask (const char *endpoint, const char *request, int timeout_ms, zsat_error_t *err)
{
    zsock_t *req = zsock_new (ZMQ_REQ);
    if (!req) {
        zsat_fail (err, ZSAT_E_IO, "cannot create a socket");
        return NULL;
    }
    zsock_set_linger (req, 0);  //  an unanswered request must not hold the process at exit
    zsock_set_sndtimeo (req, timeout_ms);
    zsock_set_rcvtimeo (req, timeout_ms);
    zsock_set_maxmsgsize (req, 64 * 1024 * 1024);  //  a STATUS of many stages and nodes
    char *reply = NULL;
    if (zsat_curve_apply (req, NULL, endpoint, ZSAT_CURVE_CLIENT) != 0)
        zsat_fail (err, ZSAT_E_CONFIG, "cannot secure %s (see docs/security.md)", endpoint);
    else if (zsock_attach (req, endpoint, false) != 0)
        zsat_fail (err, ZSAT_E_CONFIG, "cannot connect to %s", endpoint);
    else if (zstr_send (req, request) != 0 || !(reply = zstr_recv (req)))
        zsat_fail (err, ZSAT_E_IO, "no tracker answered on %s within %d ms", endpoint, timeout_ms);
    zsock_destroy (&req);
    //  zstr_recv's string is malloc'ed: the caller frees it with free
    return reply;
}

//  Reads a positive integer option value; returns false when it is not one.
static bool
s_positive (const char *text, long max, long *value)
{
    char *end;
    long number = text ? strtol (text, &end, 10) : 0;
    if (!text || !*text || *end || number <= 0 || number > max)
        return false;
    *value = number;
    return true;
}

int
zsat_query_parse (int argc, char **argv, bool allow_count, bool want_argument,
                  zsat_query_opts_t *opts, zsat_error_t *err)
{
    *opts = (zsat_query_opts_t){.timeout_ms = ZSAT_QUERY_TIMEOUT_MS};
    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i];
        const char *value = i + 1 < argc ? argv[i + 1] : NULL;
        long number;
        if (streq (arg, "--help") || streq (arg, "-h"))
            opts->help = true;
        else if (streq (arg, "--json"))
            opts->json = true;
        else if (streq (arg, "--topology") || streq (arg, "--host") || streq (arg, "--endpoint")) {
            if (!value)
                return zsat_fail (err, ZSAT_E_CONFIG, "%s needs a value", arg);
            *(streq (arg, "--topology") ? &opts->topology
              : streq (arg, "--host")   ? &opts->host
                                        : &opts->endpoint) = value;
            i++;
        }
        else if (streq (arg, "--timeout") || (allow_count && streq (arg, "--count"))) {
            if (!s_positive (value, streq (arg, "--timeout") ? 3600000 : 1000000000, &number))
                return zsat_fail (err, ZSAT_E_CONFIG, "%s needs a positive number", arg);
            if (streq (arg, "--timeout"))
                opts->timeout_ms = (int)number;
            else
                opts->count = number;
            i++;
        }
        else if (arg[0] == '-' && arg[1])
            return zsat_fail (err, ZSAT_E_CONFIG, "unknown option '%s'", arg);
        else if (want_argument && !opts->argument)
            opts->argument = arg;
        else
            return zsat_fail (err, ZSAT_E_CONFIG, "unexpected argument '%s'", arg);
    }
    if (want_argument && !opts->argument && !opts->help)
        return zsat_fail (err, ZSAT_E_CONFIG, "missing argument");
    return 0;
}

//  Test peer: a REP on an ephemeral tcp port that echoes each request; sends its endpoint.
static void
s_echo_actor (zsock_t *pipe, void *args)
{
    zsock_t *rep = zsock_new_rep ("@tcp://127.0.0.1:*");
    assert (rep);
    zsock_signal (pipe, 0);
    char *endpoint = zsock_last_endpoint (rep);
    zstr_send (pipe, endpoint);
    zstr_free (&endpoint);
    zpoller_t *poller = zpoller_new (pipe, rep, NULL);
    for (int i = 0; i < 100; i++) {
        void *which = zpoller_wait (poller, 100);
        if (which == pipe || zpoller_terminated (poller))
            break;
        if (which == rep) {
            char *request = zstr_recv (rep);
            zstr_sendf (rep, "echo %s", request ? request : "");
            zstr_free (&request);
        }
    }
    zpoller_destroy (&poller);
    zsock_destroy (&rep);
}

void
zsat_query_test (bool verbose)
{
    printf (" * zsat_query: ");
    zsat_error_t err;
    char endpoint[256];
    assert (zsat_query_endpoint (NULL, NULL, "tcp://127.0.0.1:9", endpoint, sizeof endpoint,
                                 &err) == 0);
    assert (streq (endpoint, "tcp://127.0.0.1:9"));
    assert (zsat_query_endpoint ("/nonexistent/topo.yaml", NULL, NULL, endpoint, sizeof endpoint,
                                 &err) == -1);
    assert (strstr (err.text, "cannot load /nonexistent/topo.yaml"));
    //  the shipped default topology names the tracker's query endpoint
    assert (zsat_query_endpoint (NULL, NULL, NULL, endpoint, sizeof endpoint, &err) == 0);
    assert (strstr (endpoint, "ipc://") || strstr (endpoint, "tcp://"));
    //  nobody there: a bounded wait and a clear message
    assert (zsat_query_ask ("ipc:///tmp/zsat-query-test-nobody.ipc", "STATUS", 100, &err) == NULL);
    assert (strstr (err.text, "no tracker answered on ipc:///tmp/zsat-query-test-nobody.ipc"));
    //  options
    zsat_query_opts_t opts;
    char *good[] = {"trace", "--json", "--timeout", "50", "42", "--endpoint", "tcp://x:1"};
    assert (zsat_query_parse (7, good, false, true, &opts, &err) == 0);
    assert (opts.json && opts.timeout_ms == 50 && streq (opts.argument, "42"));
    assert (streq (opts.endpoint, "tcp://x:1") && !opts.topology && opts.count == 0);
    char *count[] = {"watch", "--count", "3"};
    assert (zsat_query_parse (3, count, true, false, &opts, &err) == 0 && opts.count == 3);
    assert (zsat_query_parse (3, count, false, false, &opts, &err) == -1);
    char *bad_count[] = {"watch", "--count", "0"};
    assert (zsat_query_parse (3, bad_count, true, false, &opts, &err) == -1);
    char *missing[] = {"trace", "--json"};
    assert (zsat_query_parse (2, missing, false, true, &opts, &err) == -1);
    assert (strstr (err.text, "missing argument"));
    char *dangling[] = {"status", "--topology"};
    assert (zsat_query_parse (2, dangling, false, false, &opts, &err) == -1);
    char *extra[] = {"status", "x"};
    assert (zsat_query_parse (2, extra, false, false, &opts, &err) == -1);
    char *help[] = {"trace", "-h"};
    assert (zsat_query_parse (2, help, false, true, &opts, &err) == 0 && opts.help);
    //  a real REP peer, in its own thread, answering
    zactor_t *server = zactor_new (s_echo_actor, NULL);
    char *bound = zstr_recv (server);
    assert (bound);
    char *reply = zsat_query_ask (bound, "STATUS", 5000, &err);
    assert (reply && streq (reply, "echo STATUS"));
    free (reply);
    zstr_free (&bound);
    zactor_destroy (&server);
    printf ("OK\n");
}
