/*  zsat watch - a live view of the tracker's table, redrawn in place every second (ANSI),
    until Ctrl-C or --count refreshes. A tracker that does not answer (stopped, restarting)
    is shown as such and asked again at the next refresh.
*/
#include "zsat.h"
#include "zsat_query.h"
#include "zsat_statustable.h"
#include "zsat_termtable.h"
#include <signal.h>

static const char *s_usage =
    "usage: zsat watch [--count N] [--topology FILE] [--host H] [--endpoint EP]\n"
    "                  [--timeout MS]\n"
    "\n"
    "Shows `zsat status` refreshed every second in place, fitted to the terminal's width\n"
    "and height (redrawn at once when the terminal is resized); Ctrl-C quits.\n"
    "\n"
    "  --count N       stop after N refreshes (exit 1 if the last one got no answer)\n"
    "  --topology FILE where the tracker is (default: the shipped default.yaml)\n"
    "  --host H        ask from host H of the topology (default: the tracker's host)\n"
    "  --endpoint EP   ask this endpoint instead\n"
    "  --timeout MS    how long to wait for each answer (default 2000)\n";

static volatile sig_atomic_t s_interrupted, s_resized;

static void
s_on_signal (int signal_number)
{
    if (signal_number == SIGWINCH)
        s_resized = 1;
    else
        s_interrupted = 1;
}

//  Draws one frame fitted to the terminal as it is now: title, table, each line cleared
//  before it is drawn and the screen below cleared, so no fragment of a wider or longer
//  frame stays.
static bool
s_refresh (const char *endpoint, int timeout_ms, bool tty)
{
    zsat_error_t err;
    char *reply = zsat_query_ask (endpoint, "STATUS", timeout_ms, &err);
    int width = zsat_term_width (STDOUT_FILENO),
        height = tty ? zsat_term_height (STDOUT_FILENO) : 0;
    char *table =
        reply ? zsat_statustable_render (reply, width, zsat_term_colour (STDOUT_FILENO)) : NULL;
    char stamp[32];
    time_t now = time (NULL);
    strftime (stamp, sizeof stamp, "%H:%M:%S", localtime (&now));
    char *text = NULL;
    size_t size = 0;
    FILE *out = open_memstream (&text, &size);
    if (!out) {
        free (reply);
        free (table);
        return false;
    }
    //  the title's most useful part first: a narrow terminal cuts the endpoint, not the time
    fprintf (out, "zsat watch %s  (Ctrl-C quits)  %s\n", stamp,
             *endpoint == '>' || *endpoint == '@' ? endpoint + 1 : endpoint);
    if (table)
        fputs (table, out);
    else if (reply)
        fprintf (out, "the tracker's answer is no status: %.200s\n", reply);
    else
        fprintf (out, "%s; retrying every second\n", err.text);
    fclose (out);
    zsat_term_frame (stdout, text, width, height, tty);
    if (!tty)
        fputc ('\n', stdout);
    fflush (stdout);
    bool answered = table != NULL;
    free (text);
    free (table);
    free (reply);
    return answered;
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
    sigaction (SIGWINCH, &action, NULL);
    bool tty = isatty (STDOUT_FILENO);
    if (tty)
        fputs ("\033[2J", stdout);
    bool answered = false;
    for (long n = 0; !s_interrupted && (opts.count == 0 || n < opts.count); n++) {
        if (s_resized && tty)
            fputs ("\033[2J", stdout);  //  the terminal may have rewrapped the old frame
        s_resized = 0;
        answered = s_refresh (endpoint, opts.timeout_ms, tty);
        //  sleep a second in small steps, so Ctrl-C ends the view and a resize redraws at once
        for (int step = 0;
             step < 10 && !s_interrupted && !s_resized && (opts.count == 0 || n + 1 < opts.count);
             step++)
            zclock_sleep (100);
        if (s_resized)
            n--;  //  a redraw for a new size is no refresh of --count
    }
    return opts.count && !answered ? 1 : 0;
}

const zsat_command_t zsat_cmd_watch = {"watch",
                                       "live view of the tracker's table (refreshes "
                                       "in place)",
                                       s_run};
