/*  zsat send - injects vectors into a running topology: builds them from arguments (or one
    JSON object on stdin) and PUSHes them to a host's orchester ("orchester.any"), waiting
    (linger) until they are really handed to the network before it exits.
*/
#include "zsat.h"
#include "zsat_curve.h"
#include "zsat_vjson.h"
#include <time.h>

#define S_STDIN_MAX (ZSAT_PAYLOAD_MAX + 64 * 1024)

typedef struct {
    const char *path, *host, *endpoint, *type, *payload, *event;
    bool json, critical, quiet;
    long count;
    int timeout;
} s_args_t;

static void
s_usage (FILE *out)
{
    fprintf (out,
             "usage: zsat send --type T [--payload TEXT | --json] [OPTIONS]\n\n"
             "Builds a vector and PUSHes it to the orchester of a host, which routes it by type.\n"
             "With --json, one JSON object is read from stdin (keys: where, type, event, seq,\n"
             "task_id, payload, payload_hex, ...); --type and --host fill what it leaves out.\n\n"
             "options:\n"
             "  --topology FILE   topology (default: $ZSAT_TOPOLOGY)\n"
             "  --host H          host the vector is for (default: the first host)\n"
             "  --endpoint EP     push here instead of the host's orchester.any\n"
             "  --type T          job type (the routing key)\n"
             "  --payload TEXT    payload bytes (serialization \"str\")\n"
             "  --json            read the vector as JSON from stdin\n"
             "  --event NAME      INIT (default) or BOUNCE, ...\n"
             "  --critical        set the critical flag (kept by the replay buffer)\n"
             "  --count N         send N vectors, each its own task (default 1)\n"
             "  --timeout MS      give up when the orchester does not take them (default 5000)\n"
             "  --quiet           print only the summary line\n");
}

static int
s_bad (const char *message)
{
    fprintf (stderr, "zsat send: %s\n\n", message);
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
        else if (streq (o, "--host") && v)
            a->host = argv[++i];
        else if (streq (o, "--endpoint") && v)
            a->endpoint = argv[++i];
        else if (streq (o, "--type") && v)
            a->type = argv[++i];
        else if (streq (o, "--payload") && v)
            a->payload = argv[++i];
        else if (streq (o, "--event") && v)
            a->event = argv[++i];
        else if (streq (o, "--count") && v)
            a->count = atol (argv[++i]);
        else if (streq (o, "--timeout") && v)
            a->timeout = atoi (argv[++i]);
        else if (streq (o, "--json"))
            a->json = true;
        else if (streq (o, "--critical"))
            a->critical = true;
        else if (streq (o, "--quiet"))
            a->quiet = true;
        else
            return s_bad ("unknown option or missing value");
    }
    if (a->json && a->payload)
        return s_bad ("--payload and --json exclude each other");
    if (!a->json && !a->type)
        return s_bad ("--type is required (or --json with a \"type\")");
    if (a->count < 1 || a->timeout < 1)
        return s_bad ("--count and --timeout must be positive");
    if (a->event && zsat_event_from_name (a->event) == ZSAT_EV_NONE)
        return s_bad ("--event: unknown event name");
    return 0;
}

//  Finds the host (default: first) and its orchester.any endpoint. Returns 0, or 1.
static int
s_resolve (s_args_t *a, char *host, char *endpoint, size_t cap)
{
    if (!a->path) {
        fprintf (stderr, "zsat send: give --topology FILE or --endpoint EP (with --host)\n");
        return 1;
    }
    zsat_diag_t *diag = zsat_diag_new ();
    zsat_topology_t *topology = zsat_topology_load (a->path, diag);
    int rc = 1;
    if (!topology)
        zsat_diag_print (diag, stderr);
    else {
        const char *h = a->host ? a->host
                        : zsat_topology_host_count (topology)
                            ? zsat_topology_host (topology, 0)->name
                            : "";
        snprintf (host, ZSAT_NAME_MAX, "%s", h);
        zsat_error_t err;
        rc = zsat_topology_endpoint (topology, "orchester.any", h, h, endpoint, cap) ? 1 : 0;
        if (rc == 0 && zsat_curve_use_cli (topology, h, &err) != 0) {
            fprintf (stderr, "zsat send: %s\n", err.text);
            rc = 1;
        }
        if (rc)
            fprintf (stderr, "zsat send: no orchester on host '%s' in %s\n", h, a->path);
    }
    zsat_topology_destroy (&topology);
    zsat_diag_destroy (&diag);
    return rc;
}

//  Reads one JSON vector from stdin into v (payload in buf). Returns 0, or 1 with a message.
static int
s_read_json (zsat_vector_t *v, uint8_t *buf, size_t cap)
{
    char *text = (char *)malloc (S_STDIN_MAX + 1);
    size_t size = text ? fread (text, 1, S_STDIN_MAX + 1, stdin) : 0;
    zsat_error_t err = {0, ""};
    int rc = 1;
    if (!text || size > S_STDIN_MAX)
        fprintf (stderr, "zsat send: stdin is over %d bytes\n", S_STDIN_MAX);
    else if (zsat_vector_from_json (v, text, size, buf, cap, &err))
        fprintf (stderr, "zsat send: stdin: %s\n", err.text);
    else
        rc = 0;
    free (text);
    return rc;
}

static int64_t
s_now_us (void)
{
    struct timespec ts;
    clock_gettime (CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

//  Fills what neither the JSON nor the user gave.
static void
s_complete (zsat_vector_t *v, const s_args_t *a, const char *host)
{
    if (!v->where[0])
        snprintf (v->where, sizeof v->where, "%s", host);
    if (a->type && !v->type[0])
        snprintf (v->type, sizeof v->type, "%s", a->type);
    if (a->event)
        v->event = (uint8_t)zsat_event_from_name (a->event);
    if (v->event == ZSAT_EV_NONE)
        v->event = ZSAT_EV_INIT;
    if (!v->emitter[0])
        snprintf (v->emitter, sizeof v->emitter, "zsat-send");
    if (!v->step[0])
        snprintf (v->step, sizeof v->step, "zsat-send");
    if (a->critical)
        v->flags |= ZSAT_FLAG_CRITICAL;
    if (!v->timestamp)
        v->timestamp = s_now_us ();
    v->pid = (uint32_t)getpid ();
}

static int
s_send_all (const s_args_t *a, zsat_vector_t *v, const char *endpoint)
{
    zsock_t *push = zsock_new (ZMQ_PUSH);
    //  Really sent before exit: close waits up to the timeout for queued vectors to leave.
    zsock_set_linger (push, a->timeout);
    //  A send blocks at most this long when the orchester does not take vectors.
    zsock_set_sndtimeo (push, a->timeout);
    zsock_set_sndhwm (push, 10000);
    if (zsat_curve_apply (push, NULL, endpoint, ZSAT_CURVE_CLIENT) ||
        zsock_attach (push, endpoint, false)) {
        fprintf (stderr, "zsat send: bad endpoint '%s'\n", endpoint);
        zsock_destroy (&push);
        return 1;
    }
    uint64_t base_task = v->task_id ? v->task_id : (uint64_t)s_now_us () << 12;
    if (!v->job_id)
        v->job_id = base_task;  //  one job for the whole batch of tasks
    long sent = 0;
    int rc = 0;
    for (long i = 0; i < a->count && rc == 0; i++) {
        v->task_id = base_task + (uint64_t)i;
        zsat_error_t err;
        if (zsat_vector_send (v, zsock_resolve (push), 0, &err)) {
            fprintf (stderr, "zsat send: vector %ld not sent to %s: %s\n", i + 1, endpoint,
                     err.text);
            rc = 1;
            continue;
        }
        sent++;
        if (!a->quiet && i < 10) {
            char line[1024];
            zsat_vector_describe (v, line, sizeof line);
            printf ("sent %s\n", line);
        }
    }
    zsock_destroy (&push);
    printf ("%ld vector%s sent to %s\n", sent, sent == 1 ? "" : "s", endpoint);
    return rc;
}

static int
s_run (int argc, char **argv)
{
    for (int i = 1; i < argc; i++)
        if (streq (argv[i], "--help") || streq (argv[i], "-h")) {
            s_usage (stdout);
            return 0;
        }
    s_args_t a = {.path = getenv ("ZSAT_TOPOLOGY"), .count = 1, .timeout = 5000};
    if (s_parse (argc, argv, &a))
        return 2;
    char host[ZSAT_NAME_MAX] = "", endpoint[512];
    if (a.endpoint) {
        snprintf (host, sizeof host, "%s", a.host ? a.host : "localhost");
        snprintf (endpoint, sizeof endpoint, "%s", a.endpoint);
    }
    else if (s_resolve (&a, host, endpoint, sizeof endpoint))
        return 1;
    zsat_vector_t v;
    zsat_vector_init (&v);
    size_t cap = a.json ? S_STDIN_MAX : 0;
    uint8_t *buf = cap ? (uint8_t *)malloc (cap) : NULL;
    int rc = 0;
    if (a.json && (!buf || s_read_json (&v, buf, cap)))
        rc = 1;
    else if (a.payload) {
        zsat_vector_set_payload (&v, a.payload, strlen (a.payload));
        snprintf (v.serialization, sizeof v.serialization, "str");
    }
    if (rc == 0) {
        s_complete (&v, &a, host);
        rc = s_send_all (&a, &v, endpoint);
    }
    free (buf);
    return rc;
}

const zsat_command_t zsat_cmd_send = {"send", "inject vectors into a host's orchester", s_run};
