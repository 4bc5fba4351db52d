// SPDX-License-Identifier: MPL-2.0
/*  zsat send - injects vectors into a running topology: builds them from arguments (or one
    JSON object on stdin) and hands each to a host's orchester over its control socket
    ("orchester.control", request SEND), which routes it as if it came on "any" and answers
    with its verdict: routed (to which nodes) or dead-lettered (why). With --endpoint, a
    plain PUSH instead, whose delivery nobody confirms (and the command says so).
*/
#include "zsat.h"
#include "zsat_curve.h"
#include "zsat_vjson.h"
#include "control_client.h"
#include <time.h>

#define S_STDIN_MAX (ZSAT_PAYLOAD_MAX + 64 * 1024)

typedef struct {
    const char *path, *host, *from, *endpoint, *control, *type, *payload, *event;
    bool json, critical, quiet;
    long count;
    int timeout;
} s_args_t;

static void
s_usage (FILE *out)
{
    fprintf (out,
             "usage: zsat send --type T [--payload TEXT | --json] [OPTIONS]\n\n"
             "Builds a vector and hands it to the orchester of a host, which routes it by type\n"
             "and answers with its verdict: routed (to which nodes) or dead-lettered (why).\n"
             "With --json, one JSON object is read from stdin (keys: where, type, event, seq,\n"
             "task_id, payload, payload_hex, ...); --type and --host fill what it leaves out.\n\n"
             "exit status: 0 every vector routed; 1 nothing listens, or a vector was\n"
             "dead-lettered (the reason is printed); 3 delivery unconfirmed (the orchester\n"
             "took a vector but gave no verdict within --timeout); 2 usage error.\n\n"
             "options:\n"
             "  --topology FILE   topology (default: $ZSAT_TOPOLOGY)\n"
             "  --host H          host the vector is for (default: the first host)\n"
             "  --from H          host this command runs on: H's orchester over ipc, another\n"
             "                    host's over tcp (default: ipc when this machine runs the\n"
             "                    host, i.e. its socket file exists here, else tcp)\n"
             "  --control EP      the orchester's control endpoint (instead of the topology's)\n"
             "  --endpoint EP     PUSH to this endpoint instead (e.g. any PULL): no verdict, so\n"
             "                    delivery is unconfirmed; fails when nothing is connected\n"
             "  --type T          job type (the routing key)\n"
             "  --payload TEXT    payload bytes (serialization \"str\")\n"
             "  --json            read the vector as JSON from stdin\n"
             "  --event NAME      INIT (default) or BOUNCE, ...\n"
             "  --critical        set the critical flag (kept by the replay buffer)\n"
             "  --count N         send N vectors, each its own task (default 1)\n"
             "  --timeout MS      wait at most this long for a connection, and for each\n"
             "                    verdict (default 5000)\n"
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
        else if (streq (o, "--control") && v)
            a->control = argv[++i];
        else if (streq (o, "--from") && v)
            a->from = argv[++i];
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
    if (a->endpoint && a->control)
        return s_bad ("--endpoint and --control exclude each other");
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

//  --endpoint: a plain PUSH. Nothing answers a PUSH, so the command says delivery is
//  unconfirmed; IMMEDIATE makes a send to an endpoint where nothing is connected fail.
static int
s_push_all (const s_args_t *a, zsat_vector_t *v, const char *endpoint)
{
    zsock_t *push = zsock_new (ZMQ_PUSH);
    zsock_set_immediate (push, 1);
    //  Handed to the network before exit: close waits up to the timeout for queued vectors.
    zsock_set_linger (push, a->timeout);
    zsock_set_sndtimeo (push, a->timeout);
    zsock_set_sndhwm (push, 10000);
    if (zsat_curve_apply (push, NULL, endpoint, ZSAT_CURVE_CLIENT) ||
        zsock_attach (push, endpoint, false)) {
        fprintf (stderr, "zsat send: bad endpoint '%s'\n", endpoint);
        zsock_destroy (&push);
        return 1;
    }
    long sent = 0;
    int rc = 0;
    for (long i = 0; i < a->count && rc == 0; i++, v->task_id++) {
        zsat_error_t err;
        if (zsat_vector_send (v, zsock_resolve (push), 0, &err)) {
            fprintf (stderr, "zsat send: vector %ld not sent to %s: %s\n", i + 1, endpoint,
                     zmq_errno () == EAGAIN ? "nothing listens there (or it is full)" : err.text);
            rc = 1;
            continue;
        }
        sent++;
        if (!a->quiet && i < 10) {
            char line[1024];
            zsat_vector_describe (v, line, sizeof line);
            printf ("pushed %s\n", line);
        }
    }
    zsock_destroy (&push);
    printf ("%ld vector%s pushed to %s; delivery unconfirmed (a PUSH gets no verdict)\n", sent,
            sent == 1 ? "" : "s", endpoint);
    return rc;
}

//  Sends one vector as a SEND request: the frames are encoded first, so a vector that does
//  not encode never leaves half a request in the socket. Returns 0, or -1 (reason in err).
static int
s_request (void *req, const zsat_vector_t *v, zsat_error_t *err)
{
    char routing[ZSAT_ROUTING_MAX];
    uint8_t envelope[ZSAT_ENVELOPE_MAX];
    int rs = zsat_vector_encode_routing (v, routing, sizeof routing, err);
    int es = rs < 0 ? -1 : zsat_vector_encode_envelope (v, envelope, sizeof envelope, err);
    if (rs < 0 || es < 0)
        return -1;
    if (zmq_send (req, "SEND", 4, ZMQ_SNDMORE) < 0)
        return zsat_fail (err, ZSAT_E_IO, "nothing listens");
    //  libzmq takes the rest of a message once its first frame is in.
    zmq_send (req, routing, (size_t)rs, ZMQ_SNDMORE);
    zmq_send (req, envelope, (size_t)es, ZMQ_SNDMORE);
    zmq_send (req, v->payload, v->payload_size, 0);
    return 0;
}

typedef struct {
    long routed, dead, unconfirmed;
} s_tally_t;

//  Sends vector i and reads its verdict. Returns 0 to go on, 1 to stop (exit status set).
static int
s_confirm_one (const s_args_t *a, const zsat_vector_t *v, long i, void *req, const char *endpoint,
               s_tally_t *t, int *rc)
{
    zsat_error_t err = {0, ""};
    if (s_request (req, v, &err)) {
        if (err.code == ZSAT_E_IO)
            fprintf (stderr,
                     "zsat send: nothing listens on %s (no orchester connected within %d "
                     "ms): vector %ld not sent\n",
                     endpoint, a->timeout, i + 1);
        else
            fprintf (stderr, "zsat send: vector %ld: %s\n", i + 1, err.text);
        *rc = 1;
        return 1;
    }
    char *reply = zstr_recv (req);
    if (!reply) {
        fprintf (stderr,
                 "zsat send: vector %ld (task %" PRIu64 ") handed to %s, but no verdict "
                 "within %d ms: delivery unconfirmed\n",
                 i + 1, v->task_id, endpoint, a->timeout);
        t->unconfirmed = a->count - i;
        *rc = 3;
        return 1;
    }
    bool ok = strncmp (reply, "OK", 2) == 0;
    if (ok)
        t->routed++;
    else {
        t->dead++;
        *rc = 1;
    }
    if (!ok && t->dead <= 10)
        fprintf (stderr, "zsat send: vector %ld (task %" PRIu64 ", type %s) %s\n", i + 1,
                 v->task_id, v->type, strncmp (reply, "ERROR ", 6) == 0 ? reply + 6 : reply);
    else if (ok && !a->quiet && i < 10) {
        char line[1024];
        zsat_vector_describe (v, line, sizeof line);
        printf ("%s: %s\n", reply + 3, line);
    }
    zstr_free (&reply);
    return 0;
}

//  Hands each vector to the orchester's control socket and waits for its verdict.
static int
s_confirm_all (const s_args_t *a, zsat_vector_t *v, const char *endpoint)
{
    zsock_t *req = control_client_req (endpoint, a->timeout);
    if (!req) {
        fprintf (stderr, "zsat send: bad endpoint '%s'\n", endpoint);
        return 1;
    }
    s_tally_t t = {0, 0, 0};
    int rc = 0;
    for (long i = 0; i < a->count; i++, v->task_id++)
        if (s_confirm_one (a, v, i, zsock_resolve (req), endpoint, &t, &rc))
            break;
    zsock_destroy (&req);
    printf ("%ld vector%s routed by the orchester at %s", t.routed, t.routed == 1 ? "" : "s",
            endpoint);
    if (t.dead)
        printf (", %ld dead-lettered", t.dead);
    if (t.unconfirmed)
        printf (", %ld unconfirmed", t.unconfirmed);
    if (t.routed + t.dead + t.unconfirmed < a->count)
        printf (", %ld not sent", a->count - t.routed - t.dead - t.unconfirmed);
    printf ("\n");
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
    const char *given = a.endpoint ? a.endpoint : a.control;
    if (given) {
        snprintf (host, sizeof host, "%s", a.host ? a.host : "localhost");
        snprintf (endpoint, sizeof endpoint, "%s", given);
    }
    else if (control_client_endpoint ("zsat send", a.path, a.host, a.from, "orchester.control",
                                      host, endpoint, sizeof endpoint))
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
        if (!v.task_id)
            v.task_id = (uint64_t)s_now_us () << 12;
        if (!v.job_id)
            v.job_id = v.task_id;  //  one job for the whole batch of tasks
        rc = a.endpoint ? s_push_all (&a, &v, endpoint) : s_confirm_all (&a, &v, endpoint);
    }
    free (buf);
    return rc;
}

const zsat_command_t zsat_cmd_send = {
    "send", "inject vectors into a host's orchester, with its verdict", s_run};
