/*  zsat watch - a live view of the tracker's table, redrawn in place every second (ANSI),
    until Ctrl-C or --count refreshes. A tracker that does not answer (stopped, restarting)
    is shown as such and asked again at the next refresh.
*/
#include "zsat.h"
#include "zsat_query.h"
#include <signal.h>

static const char *s_usage =
    "usage: zsat watch [--count N] [--topology FILE] [--host H] [--endpoint EP]\n"
    "                  [--timeout MS]\n"
    "\n"
    "Shows `zsat status` refreshed every second in place; Ctrl-C quits.\n"
    "\n"
    "  --count N       stop after N refreshes (exit 1 if the last one got no answer)\n"
    "  --topology FILE where the tracker is (default: the shipped default.yaml)\n"
    "  --host H        ask from host H of the topology (default: the tracker's host)\n"
    "  --endpoint EP   ask this endpoint instead\n"
    "  --timeout MS    how long to wait for each answer (default 2000)\n";

static volatile sig_atomic_t s_interrupted;

static void
s_on_signal (int signal_number)
{
    s_interrupted = 1;
}

//  Draws one frame: home the cursor, print, clear what the last frame left below.
static bool
s_refresh (const char *endpoint, int timeout_ms, bool tty)
{
    zsat_error_t err;
    char *reply = zsat_query_ask (endpoint, "STATUS TEXT", timeout_ms, &err);
    if (tty)
        fputs ("\033[H", stdout);
    char stamp[32];
    time_t now = time (NULL);
    strftime (stamp, sizeof stamp, "%H:%M:%S", localtime (&now));
    printf ("zsat watch  %s  %s  (Ctrl-C quits)%s\n\n", stamp, endpoint, tty ? "\033[K" : "");
    if (reply)
        fputs (reply, stdout);
    else
        printf ("%s; retrying every second\n", err.text);
    if (tty)
        fputs ("\033[J", stdout);
    fflush (stdout);
    free (reply);
    return reply != NULL;
}

static int
s_run (int argc, char **argv)
{
    zsat_query_opts_t opts;
    zsat_error_t err;
    if (zsat_query_parse (argc, argv, true, false, &opts, &err) != 0 || opts.json) {
        fprintf (stderr, "zsat watch: %s\n%s", opts.json ? "--json is for zsat status" : err.text,
                 s_usage);
        return 2;
    }
    if (opts.help) {
        fputs (s_usage, stdout);
        return 0;
    }
    char endpoint[512];
    if (zsat_query_endpoint (opts.topology, opts.host, opts.endpoint, endpoint, sizeof endpoint,
                             &err) != 0) {
        fprintf (stderr, "zsat watch: %s\n", err.text);
        return 1;
    }
    struct sigaction action = {.sa_handler = s_on_signal};
    sigaction (SIGINT, &action, NULL);
    sigaction (SIGTERM, &action, NULL);
    bool tty = isatty (STDOUT_FILENO);
    if (tty)
        fputs ("\033[2J", stdout);
    bool answered = false;
    for (long n = 0; !s_interrupted && (opts.count == 0 || n < opts.count); n++) {
        answered = s_refresh (endpoint, opts.timeout_ms, tty);
        //  sleep a second in small steps, so Ctrl-C ends the view at once
        for (int step = 0; step < 10 && !s_interrupted && (opts.count == 0 || n + 1 < opts.count);
             step++)
            zclock_sleep (100);
    }
    if (tty)
        fputs ("\n", stdout);
    return opts.count && !answered ? 1 : 0;
}

const zsat_command_t zsat_cmd_watch = {"watch",
                                       "live view of the tracker's table (refreshes "
                                       "in place)",
                                       s_run};
