/*  zsat trace - asks the tracker (REQ to tracker.query) for one task's timeline: every
    retained event with its stage, host, time and retry.
*/
#include "zsat.h"
#include "zsat_query.h"

static const char *s_usage =
    "usage: zsat trace TASK_ID [--json] [--topology FILE] [--host H] [--endpoint EP]\n"
    "                  [--timeout MS]\n"
    "\n"
    "Prints a task's state and its events (the tracker keeps each task's first event and\n"
    "its last 5, and finished tasks for 30 s). Exit status 1 when the tracker no longer\n"
    "holds the task.\n"
    "\n"
    "  --json          print the TRACE reply as JSON\n"
    "  --topology FILE where the tracker is (default: the shipped default.yaml)\n"
    "  --host H        ask from host H of the topology (default: the tracker's host)\n"
    "  --endpoint EP   ask this endpoint instead\n"
    "  --timeout MS    how long to wait for an answer (default 2000)\n";

static int
s_run (int argc, char **argv)
{
    zsat_query_opts_t opts;
    zsat_error_t err;
    if (zsat_query_parse (argc, argv, false, true, &opts, &err) != 0) {
        fprintf (stderr, "zsat trace: %s\n%s", err.text, s_usage);
        return 2;
    }
    if (opts.help) {
        fputs (s_usage, stdout);
        return 0;
    }
    char *end;
    unsigned long long task_id = strtoull (opts.argument, &end, 10);
    if (!isdigit ((unsigned char)opts.argument[0]) || *end) {
        fprintf (stderr, "zsat trace: TASK_ID must be a decimal number, got '%s'\n%s",
                 opts.argument, s_usage);
        return 2;
    }
    char endpoint[512];
    if (zsat_query_endpoint (opts.topology, opts.host, opts.endpoint, endpoint, sizeof endpoint,
                             &err) != 0) {
        fprintf (stderr, "zsat trace: %s\n", err.text);
        return 1;
    }
    char request[64];
    snprintf (request, sizeof request, "TRACE %llu%s", task_id, opts.json ? "" : " TEXT");
    char *reply = zsat_query_ask (endpoint, request, opts.timeout_ms, &err);
    if (!reply) {
        fprintf (stderr, "zsat trace: %s (is the tracker running?)\n", err.text);
        return 1;
    }
    bool retained = !strstr (reply, "not retained");
    fputs (reply, stdout);
    if (opts.json)
        fputc ('\n', stdout);
    free (reply);
    return retained ? 0 : 1;
}

const zsat_command_t zsat_cmd_trace = {"trace", "print a task's timeline from the tracker", s_run};
