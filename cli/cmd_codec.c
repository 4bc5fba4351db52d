/*  zsat codec - debug the wire: `decode` pulls messages and prints each as one JSON line (or
    an error line for bad input), `encode` reads JSON lines and pushes them as vectors (or
    DSAT legacy frames). Used by the interop test and by anyone writing a peer in another
    language. Owns one socket: a PULL (decode) or a PUSH (encode).
*/
#include "zsat.h"
#include "zsat_json.h"
#include "zsat_vjson.h"

static void
s_usage (FILE *out)
{
    fprintf (out,
             "usage: zsat codec decode (--bind EP | --connect EP) [--count N] [--timeout MS]\n"
             "       zsat codec encode (--bind EP | --connect EP) [--legacy] [--timeout MS]\n\n"
             "decode  PULLs messages and prints one JSON line per message: the vector's fields,\n"
             "        or {\"error\": CODE, \"message\": TEXT} for bad input. A zsat.record\n"
             "        payload is shown as \"record\": {...} (beside \"payload_hex\" when the\n"
             "        object alone would not give the same bytes back). Stops after N\n"
             "        messages or when none came for MS milliseconds; counts on stderr.\n"
             "encode  reads one JSON object per line on stdin (keys as decode prints them) and\n"
             "        PUSHes each as a vector (three frames) or, with --legacy, as a DSAT frame.\n"
             "        `decode | encode` gives every valid vector back byte for byte.\n"
             "        MS bounds each send and the drain at exit (default 5000).\n"
             "EP is a ZeroMQ endpoint, e.g. tcp://127.0.0.1:7000 or ipc:///tmp/x.ipc.\n");
}

typedef struct {
    const char *mode;
    const char *bind;
    const char *connect;
    long count;
    long timeout;
    bool legacy;
} s_args_t;

//  Parses argv into a; returns 0, 1 for --help, or 2 after printing a usage error.
static int
s_parse (int argc, char **argv, s_args_t *a)
{
    *a = (s_args_t){.count = 0, .timeout = -1};
    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i];
        bool has_value = i + 1 < argc;
        if (streq (arg, "--help") || streq (arg, "-h"))
            return 1;
        if (streq (arg, "--legacy"))
            a->legacy = true;
        else if (streq (arg, "--bind") && has_value)
            a->bind = argv[++i];
        else if (streq (arg, "--connect") && has_value)
            a->connect = argv[++i];
        else if (streq (arg, "--count") && has_value)
            a->count = strtol (argv[++i], NULL, 10);
        else if (streq (arg, "--timeout") && has_value)
            a->timeout = strtol (argv[++i], NULL, 10);
        else if (!a->mode && (streq (arg, "decode") || streq (arg, "encode")))
            a->mode = arg;
        else {
            fprintf (stderr, "zsat codec: unexpected argument '%s'\n", arg);
            return 2;
        }
    }
    if (!a->mode || !a->bind == !a->connect || a->count < 0 ||
        (a->legacy && streq (a->mode, "decode"))) {
        fprintf (stderr,
                 "zsat codec: give decode or encode, and exactly one of --bind/--connect\n");
        return 2;
    }
    return 0;
}

static zsock_t *
s_socket (int type, const s_args_t *a)
{
    zsock_t *sock = zsock_new (type);
    if (!sock)
        return NULL;
    int ms = a->timeout < 0 ? 5000 : (int)a->timeout;
    if (type == ZMQ_PUSH) {
        //  Options before the connect, where libzmq reads them.
        zsock_set_sndtimeo (sock, ms);  //  no peer: fail the line rather than hang
        zsock_set_linger (sock, ms);    //  drain what is queued before exiting
        zsock_set_immediate (sock, 1);  //  queue only to a connected peer
    }
    else  //  bigger messages are refused by libzmq before they reach us: a bound on memory
        zsock_set_maxmsgsize (sock, ZSAT_PAYLOAD_MAX + 64 * 1024);
    int rc = a->bind ? zsock_bind (sock, "%s", a->bind) : zsock_connect (sock, "%s", a->connect);
    if (rc < 0) {
        fprintf (stderr, "zsat codec: cannot %s %s: %s\n", a->bind ? "bind" : "connect",
                 a->bind ? a->bind : a->connect, zmq_strerror (errno));
        zsock_destroy (&sock);
    }
    return sock;
}

//  Prints one received message as a JSON line; returns 0, or -1 when it was bad input.
static int
s_print_message (zsat_frames_t *f)
{
    zsat_vector_t v;
    zsat_error_t err;
    if (zsat_vector_decode_frames (&v, f, &err) < 0) {
        char msg[600];
        zsat_json_out_t o;
        zsat_json_out_init (&o, msg, sizeof msg);
        zsat_json_printf (&o, "{\"error\": %d, \"frames\": %d, \"message\": ", err.code,
                          f->received);
        zsat_json_message (&o, err.text, strlen (err.text));
        zsat_json_raw (&o, "}", 1);
        printf ("%s\n", zsat_json_finish (&o) < 0 ? "{\"error\": 0}" : msg);
        return -1;
    }
    size_t cap = zsat_vector_json_size (&v);
    char *json = malloc (cap);
    int len = json ? zsat_vector_to_json_decoded (&v, json, cap) : -1;
    if (len > 0)
        printf ("%s\n", json);
    else
        fprintf (stderr, "zsat codec: out of memory for a %zu-byte payload\n", v.payload_size);
    free (json);
    return len > 0 ? 0 : -1;
}

static int
s_decode (const s_args_t *a)
{
    zsock_t *pull = s_socket (ZMQ_PULL, a);
    if (!pull)
        return 1;
    void *sock = zsock_resolve (pull);
    long messages = 0, errors = 0;
    zsat_frames_t f;
    zsat_frames_init (&f);
    while (a->count == 0 || messages < a->count) {
        zmq_pollitem_t item = {sock, 0, ZMQ_POLLIN, 0};
        int rc = zmq_poll (&item, 1, a->timeout);
        if (rc <= 0)
            break;  //  quiet for --timeout, or interrupted
        if (zsat_frames_recv (&f, sock, ZMQ_DONTWAIT) < 0)
            continue;
        messages++;
        errors += s_print_message (&f) < 0;
        fflush (stdout);
    }
    zsat_frames_close (&f);
    fprintf (stderr, "zsat codec: %ld messages, %ld errors\n", messages, errors);
    zsock_destroy (&pull);
    return 0;
}

//  Sends one JSON line as a vector or a legacy frame. Returns 0 or -1 (message printed).
static int
s_send_line (void *sock, const char *line, size_t len, uint8_t *payload, bool legacy, long n)
{
    zsat_vector_t v;
    zsat_error_t err;
    if (zsat_vector_from_json (&v, line, len, payload, ZSAT_VJSON_BUF_MAX, &err) == 0) {
        if (!legacy && zsat_vector_send (&v, sock, 0, &err) == 0)
            return 0;
        if (legacy) {
            size_t cap = v.payload_size + 1024;
            uint8_t *frame = malloc (cap);
            int size = frame ? zsat_dsat_encode (&v, frame, cap, &err) : -1;
            int rc = size < 0 ? -1 : zmq_send (sock, frame, (size_t)size, 0);
            if (size >= 0 && rc < 0)
                zsat_fail (&err, ZSAT_E_IO, "send: %s", zmq_strerror (errno));
            free (frame);
            if (rc >= 0)
                return 0;
        }
    }
    fprintf (stderr, "zsat codec: line %ld: %s\n", n, err.text);
    return -1;
}

static int
s_encode (const s_args_t *a)
{
    zsock_t *push = s_socket (ZMQ_PUSH, a);
    uint8_t *payload = malloc (ZSAT_VJSON_BUF_MAX);
    if (!push || !payload) {
        zsock_destroy (&push);
        free (payload);
        return 1;
    }
    char *line = NULL;
    size_t cap = 0;
    ssize_t len;
    long n = 0, sent = 0, failed = 0;
    while ((len = getline (&line, &cap, stdin)) >= 0) {
        n++;
        while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r'))
            len--;
        if (len == 0)
            continue;
        if (s_send_line (zsock_resolve (push), line, (size_t)len, payload, a->legacy, n) == 0)
            sent++;
        else
            failed++;
    }
    free (line);
    free (payload);
    fprintf (stderr, "zsat codec: %ld sent, %ld failed\n", sent, failed);
    zsock_destroy (&push);
    return failed ? 1 : 0;
}

static int
s_run (int argc, char **argv)
{
    s_args_t a;
    int rc = s_parse (argc, argv, &a);
    if (rc == 1) {
        s_usage (stdout);
        return 0;
    }
    if (rc) {
        s_usage (stderr);
        return 2;
    }
    return streq (a.mode, "decode") ? s_decode (&a) : s_encode (&a);
}

const zsat_command_t zsat_cmd_codec = {
    "codec", "decode/encode vectors as JSON lines (wire debugging)", s_run};
