/*  zsat tap - watches a running topology without disturbing it: subscribes to the
    scheduler's jobs, the tracker's state feed or a PUB link and prints what passes, one line
    per message, human-readable or as JSON lines. PUSH/PULL links cannot be tapped: a second
    reader would take its share of the vectors away from the real one (round-robin).
*/
#include "zsat.h"
#include "zsat_curve.h"
#include "zsat_vjson.h"

typedef struct {
    const char *path, *link, *host;
    bool tracker, jobs, json;
    long count;
    int timeout;
} s_args_t;

static void
s_usage (FILE *out)
{
    fprintf (
        out,
        "usage: zsat tap (--jobs | --tracker | --link NAME) [OPTIONS]\n\n"
        "Prints what passes on a PUB socket of a running topology: --jobs the scheduler's\n"
        "INIT vectors, --tracker the tracker's state feed (stats, RESEND, SCALE, BREAKER,\n"
        "FAILURE, ALERT), --link NAME a pub/sub link's vectors. A push/pull link cannot be\n"
        "tapped: another reader would steal its messages. PUB/SUB drops for late joiners,\n"
        "so the first messages after tap starts may be missed.\n\n"
        "options:\n"
        "  --topology FILE   topology (default: $ZSAT_TOPOLOGY)\n"
        "  --host H          jobs: only this host's; link: the host to tap it on\n"
        "  --json            one JSON object per line\n"
        "  --count N         stop after N messages\n"
        "  --timeout MS      stop after MS milliseconds (exit 1 if --count was not reached)\n");
}

static int
s_bad (const char *message)
{
    fprintf (stderr, "zsat tap: %s\n\n", message);
    s_usage (stderr);
    return 2;
}

static int
s_parse (int argc, char **argv, s_args_t *a)
{
    for (int i = 1; i < argc; i++) {
        const char *o = argv[i];
        bool v = i + 1 < argc;
        if (streq (o, "--topology") && v)
            a->path = argv[++i];
        else if (streq (o, "--link") && v)
            a->link = argv[++i];
        else if (streq (o, "--host") && v)
            a->host = argv[++i];
        else if (streq (o, "--count") && v)
            a->count = atol (argv[++i]);
        else if (streq (o, "--timeout") && v)
            a->timeout = atoi (argv[++i]);
        else if (streq (o, "--tracker"))
            a->tracker = true;
        else if (streq (o, "--jobs"))
            a->jobs = true;
        else if (streq (o, "--json"))
            a->json = true;
        else
            return s_bad ("unknown option or missing value");
    }
    if ((a->link != NULL) + a->tracker + a->jobs != 1)
        return s_bad ("give exactly one of --jobs, --tracker, --link NAME");
    if (a->count < 0 || a->timeout < 0)
        return s_bad ("--count and --timeout must not be negative");
    if (!a->path)
        return s_bad ("--topology FILE is required (or set ZSAT_TOPOLOGY)");
    return 0;
}

//  Finds the endpoint a subscriber of link connects to. Returns 0, or 1/2 with a message.
static int
s_link_endpoint (zsat_topology_t *topology, const s_args_t *a, char *buf, size_t cap)
{
    const zsat_link_t *link = NULL;
    for (size_t i = 0; i < zsat_topology_link_count (topology) && !link; i++)
        if (streq (zsat_topology_link (topology, i)->name, a->link))
            link = zsat_topology_link (topology, i);
    if (!link) {
        fprintf (stderr, "zsat tap: no link named '%s'\n", a->link);
        return 1;
    }
    if (link->pattern != ZSAT_PATTERN_PUB_SUB) {
        fprintf (stderr,
                 "zsat tap: link '%s' is not pub/sub: a tap would steal its messages from "
                 "'%s'; tap a pub link, --jobs or --tracker\n",
                 a->link, link->to);
        return 2;
    }
    const zsat_node_t *to = zsat_topology_node_find (topology, link->to);
    for (size_t h = 0; to && h < to->host_count; h++) {
        if (a->host && !streq (a->host, to->hosts[h]))
            continue;
        zsat_socket_t list[64];
        char name[160];
        snprintf (name, sizeof name, "in:%s", link->name);
        int n = zsat_topology_sockets (topology, link->to, to->hosts[h], list, 64);
        for (int i = 0; i < n; i++)
            if (streq (list[i].name, name) && !list[i].bind) {
                snprintf (buf, cap, "%s", list[i].endpoint);
                return 0;
            }
    }
    fprintf (stderr, "zsat tap: link '%s' has no publisher endpoint a tap can connect to\n",
             a->link);
    return 1;
}

static void
s_print_vector (zmsg_t *msg, bool json)
{
    zsat_frames_t f;
    zsat_frames_init (&f);
    zframe_t *frame = zmsg_first (msg);
    for (int i = 0; frame && i < ZSAT_FRAMES_MAX; i++, frame = zmsg_next (msg)) {
        zmq_msg_init_size (&f.frame[i], zframe_size (frame));
        memcpy (zmq_msg_data (&f.frame[i]), zframe_data (frame), zframe_size (frame));
        f.count = f.received = i + 1;
    }
    f.open = true;
    zsat_vector_t v;
    zsat_error_t err;
    if (zsat_vector_decode_frames (&v, &f, &err))
        printf (json ? "{\"error\":\"undecodable: %s\"}\n" : "undecodable message: %s\n", err.text);
    else if (json) {
        size_t cap = zsat_vector_json_size (&v);
        char *buf = (char *)malloc (cap);
        if (buf && zsat_vector_to_json (&v, buf, cap) >= 0)
            printf ("%s\n", buf);
        free (buf);
    }
    else {
        char line[1024];
        zsat_vector_describe (&v, line, sizeof line);
        printf ("%s\n", line);
    }
    zsat_frames_close (&f);
}

static void
s_print_state (zmsg_t *msg, bool json)
{
    char *topic = zmsg_popstr (msg);
    char *body = zmsg_popstr (msg);
    if (json)
        printf ("{\"topic\":\"%s\",\"body\":%s}\n", topic ? topic : "",
                body && *body == '{' ? body : "null");
    else
        printf ("%-14s %s\n", topic ? topic : "?", body ? body : "");
    zstr_free (&topic);
    zstr_free (&body);
}

//  Subscribes and prints until count or timeout. Returns the exit code.
static int
s_tap (const s_args_t *a, const char *endpoint, const char *subscription)
{
    zsock_t *sub = zsock_new (ZMQ_SUB);
    //  A tap only reads: drop nothing on close, refuse huge frames, bound its queue.
    zsock_set_linger (sub, 0);
    zsock_set_maxmsgsize (sub, ZSAT_PAYLOAD_MAX);
    zsock_set_rcvhwm (sub, 10000);
    zsock_set_subscribe (sub, subscription);
    if (zsat_curve_apply (sub, NULL, endpoint, ZSAT_CURVE_CLIENT) ||
        zsock_attach (sub, endpoint, false)) {
        fprintf (stderr, "zsat tap: bad endpoint '%s'\n", endpoint);
        zsock_destroy (&sub);
        return 1;
    }
    int64_t end = a->timeout ? zclock_mono () + a->timeout : INT64_MAX;
    long seen = 0;
    while (!zsys_interrupted && (a->count == 0 || seen < a->count)) {
        int64_t left = end - zclock_mono ();
        if (left <= 0)
            break;
        zmq_pollitem_t item = {zsock_resolve (sub), 0, ZMQ_POLLIN, 0};
        if (zmq_poll (&item, 1, left > 1000 ? 1000 : (long)left) < 1)
            continue;
        zmsg_t *msg = zmsg_recv (sub);
        if (!msg)
            break;
        if (a->tracker)
            s_print_state (msg, a->json);
        else
            s_print_vector (msg, a->json);
        fflush (stdout);
        zmsg_destroy (&msg);
        seen++;
    }
    zsock_destroy (&sub);
    return a->count && seen < a->count ? 1 : 0;
}

static int
s_run (int argc, char **argv)
{
    for (int i = 1; i < argc; i++)
        if (streq (argv[i], "--help") || streq (argv[i], "-h")) {
            s_usage (stdout);
            return 0;
        }
    s_args_t a = {.path = getenv ("ZSAT_TOPOLOGY")};
    if (s_parse (argc, argv, &a))
        return 2;
    zsat_diag_t *diag = zsat_diag_new ();
    zsat_topology_t *topology = zsat_topology_load (a.path, diag);
    if (!topology) {
        zsat_diag_print (diag, stderr);
        zsat_diag_destroy (&diag);
        return 1;
    }
    zsat_diag_destroy (&diag);
    char endpoint[512], subscription[ZSAT_NAME_MAX + 2] = "";
    int rc = 0;
    const char *from = a.host ? a.host : zsat_topology_host (topology, 0)->name;
    zsat_error_t err;
    if (zsat_curve_use_cli (topology, from, &err) != 0) {
        fprintf (stderr, "zsat tap: %s\n", err.text);
        zsat_topology_destroy (&topology);
        return 1;
    }
    if (a.link)
        rc = s_link_endpoint (topology, &a, endpoint, sizeof endpoint);
    else if (zsat_topology_endpoint (topology, a.tracker ? "tracker.state" : "scheduler.jobs", NULL,
                                     from, endpoint, sizeof endpoint)) {
        fprintf (stderr, "zsat tap: the topology has no %s\n", a.tracker ? "tracker" : "scheduler");
        rc = 1;
    }
    if (a.jobs && a.host)
        snprintf (subscription, sizeof subscription, "%s/", a.host);
    zsat_topology_destroy (&topology);
    return rc ? rc : s_tap (&a, endpoint, subscription);
}

const zsat_command_t zsat_cmd_tap = {"tap", "print vectors or tracker events as they pass", s_run};
