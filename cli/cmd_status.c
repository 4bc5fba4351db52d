/*  zsat status - asks the tracker (REQ to tracker.query) for its table of stages, hosts and
    counters, and prints it (or the raw JSON with --json).
*/
#include "zsat.h"
#include "zsat_query.h"
#include "zsat_statustable.h"
#include "zsat_termtable.h"

static const char *s_usage =
    "usage: zsat status [--json] [--topology FILE] [--host H] [--endpoint EP] [--timeout MS]\n"
    "\n"
    "Prints the tracker's live table: per stage and host the instances, busy and idle\n"
    "workers, vectors/s over 1 s and 1 min, errors, retries, timeouts, failures, dead letters\n"
    "and latency p50/p99/max; then the tracker's counters (faults apart from the rest) and\n"
    "open circuit breakers. The table fits the terminal's width ($COLUMNS when not a\n"
    "terminal): the least important columns go first. Colour only on a terminal, never\n"
    "with NO_COLOR set.\n"
    "\n"
    "  --json          print the STATUS reply as JSON\n"
    "  --topology FILE where the tracker is (default: the shipped default.yaml)\n"
    "  --host H        ask from host H of the topology (default: the tracker's host)\n"
    "  --endpoint EP   ask this endpoint instead (e.g. tcp://10.0.0.1:7102)\n"
    "  --timeout MS    how long to wait for an answer (default 2000)\n";

static int
s_run (int argc, char **argv)
{
    zsat_query_opts_t opts;
    zsat_error_t err;
    if (zsat_query_parse (argc, argv, false, false, &opts, &err) != 0) {
        fprintf (stderr, "zsat status: %s\n%s", err.text, s_usage);
        return 2;
    }
    if (opts.help) {
        fputs (s_usage, stdout);
        return 0;
    }
    char endpoint[512];
    if (zsat_query_endpoint (opts.topology, opts.host, opts.endpoint, endpoint, sizeof endpoint,
                             &err) != 0) {
        fprintf (stderr, "zsat status: %s\n", err.text);
        return 1;
    }
    char *reply = zsat_query_ask (endpoint, "STATUS", opts.timeout_ms, &err);
    if (!reply) {
        fprintf (stderr, "zsat status: %s (is the tracker running?)\n", err.text);
        return 1;
    }
    if (opts.json) {
        printf ("%s\n", reply);
        free (reply);
        return 0;
    }
    //  The CLI formats the table, to this terminal's width ($COLUMNS when not a terminal).
    char *text = zsat_statustable_render (reply, zsat_term_width (STDOUT_FILENO),
                                          zsat_term_colour (STDOUT_FILENO));
    if (!text)
        fprintf (stderr, "zsat status: the tracker's answer is no status: %.200s\n", reply);
    else
        fputs (text, stdout);
    free (text);
    free (reply);
    return text ? 0 : 1;
}

const zsat_command_t zsat_cmd_status = {"status", "print the tracker's live table of stages",
                                        s_run};
