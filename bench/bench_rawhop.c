/*  bench_rawhop - the baseline for the orchester's hop: raw libzmq, PUSH -> [PULL -> PUSH] ->
    PULL over ipc, a hand-written recv/send loop forwarding the same three frames a vector
    has (routing, canonical envelope, payload of --size bytes). Prints one JSON line per
    round: {"bench":"rawhop","round":i,"msgs":N,"seconds":s,"msgs_per_s":r}.

    With --rate, the producer paces to that many vectors/s and the line also gives the
    latency percentiles (send to receive, microseconds): "p50_us", "p99_us".

    With --single 1: the plain forwarding hop, one frame of --size bytes per message, sender,
    PULL -> PUSH loop and sink each a process of its own with its own context (the line says
    "bench":"rawhop_single"; no --rate).

    usage: bench_rawhop [--count N] [--size BYTES] [--rounds R] [--hwm H] [--rate PER_S]
                        [--single 1]
*/
#include "zsat.h"
#include <pthread.h>
#include <sys/wait.h>

typedef struct {
    void *ctx;
    char in[256], out[256];
    long count;
    size_t size;
    int hwm;
    uint8_t envelope[ZSAT_ENVELOPE_MAX];
    int envelope_size;
    long rate;         //  vectors/s the producer paces to, 0 = as fast as possible
    int64_t *latency;  //  per vector, microseconds (rate > 0)
} s_bench_t;

static void *
s_socket (s_bench_t *b, int type, const char *endpoint, bool bind)
{
    void *sock = zmq_socket (b->ctx, type);
    zmq_setsockopt (sock, ZMQ_SNDHWM, &b->hwm, sizeof b->hwm);
    zmq_setsockopt (sock, ZMQ_RCVHWM, &b->hwm, sizeof b->hwm);
    int rc = bind ? zmq_bind (sock, endpoint) : zmq_connect (sock, endpoint);
    assert (rc == 0);
    return sock;
}

//  The producer: the same vector frames every time, only task_id changes (as for real).
static void *
s_producer (void *arg)
{
    s_bench_t *b = (s_bench_t *)arg;
    void *push = s_socket (b, ZMQ_PUSH, b->in, false);
    uint8_t *payload = (uint8_t *)calloc (1, b->size + sizeof (int64_t));
    uint8_t envelope[ZSAT_ENVELOPE_MAX];
    memcpy (envelope, b->envelope, (size_t)b->envelope_size);
    int64_t start = zclock_usecs ();
    for (long i = 0; i < b->count; i++) {
        if (b->rate > 0) {
            //  paced on deadlines (no drift); the send time travels in the payload
            int64_t due = start + i * 1000000 / b->rate, now;
            while ((now = zclock_usecs ()) < due)
                if (due - now > 100)
                    usleep ((useconds_t)(due - now - 50));
            memcpy (payload, &now, sizeof now);
        }
        //  task_id is a big-endian uint64 at offset 37 of the canonical envelope
        uint64_t task = 1000000 + (uint64_t)i;
        for (int k = 0; k < 8; k++)
            envelope[37 + k] = (uint8_t)(task >> (56 - 8 * k));
        zmq_send (push, "h1/cpu", 6, ZMQ_SNDMORE);
        zmq_send (push, envelope, (size_t)b->envelope_size, ZMQ_SNDMORE);
        zmq_send (push, payload, b->size, 0);
    }
    free (payload);
    zmq_close (push);
    return NULL;
}

//  The hop: receive three frames, send the same frames on.
static void *
s_forwarder (void *arg)
{
    s_bench_t *b = (s_bench_t *)arg;
    void *pull = s_socket (b, ZMQ_PULL, b->in, true);
    void *push = s_socket (b, ZMQ_PUSH, b->out, false);
    zmq_msg_t part;
    zmq_msg_init (&part);
    for (long i = 0; i < b->count; i++) {
        int more;
        do {
            zmq_msg_recv (&part, pull, 0);
            more = zmq_msg_more (&part);
            zmq_msg_send (&part, push, more ? ZMQ_SNDMORE : 0);
        } while (more);
    }
    zmq_msg_close (&part);
    zmq_close (pull);
    zmq_close (push);
    return NULL;
}

//  --single: one process per role, each its own context, one frame per message.
static void
s_single_forwarder (s_bench_t *b)
{
    b->ctx = zmq_ctx_new ();
    void *pull = s_socket (b, ZMQ_PULL, b->in, true);
    void *push = s_socket (b, ZMQ_PUSH, b->out, false);
    zmq_msg_t msg;
    zmq_msg_init (&msg);
    for (long i = 0; i < b->count && zmq_msg_recv (&msg, pull, 0) >= 0; i++)
        zmq_msg_send (&msg, push, 0);
    zmq_msg_close (&msg);
    zmq_close (pull);
    zmq_close (push);
    zmq_ctx_term (b->ctx);
}

static void
s_single_producer (s_bench_t *b)
{
    b->ctx = zmq_ctx_new ();
    void *push = s_socket (b, ZMQ_PUSH, b->in, false);
    uint8_t *payload = (uint8_t *)calloc (1, b->size);
    for (long i = 0; i < b->count; i++) {
        memcpy (payload, &i, sizeof i < b->size ? sizeof i : b->size);
        zmq_send (push, payload, b->size, 0);
    }
    free (payload);
    zmq_close (push);
    zmq_ctx_term (b->ctx);  //  lingers until the forwarder has everything
}

static double
s_round_single (s_bench_t *b)
{
    fflush (stdout);
    pid_t forwarder = fork ();
    if (forwarder == 0) {
        s_single_forwarder (b);
        _exit (0);
    }
    b->ctx = zmq_ctx_new ();
    void *pull = s_socket (b, ZMQ_PULL, b->out, true);
    zclock_sleep (50);  //  the forwarder binds before the producer connects
    pid_t producer = fork ();
    if (producer == 0) {
        s_single_producer (b);
        _exit (0);
    }
    zmq_msg_t msg;
    zmq_msg_init (&msg);
    int64_t start = 0;
    for (long i = 0; i < b->count && zmq_msg_recv (&msg, pull, 0) >= 0; i++)
        if (i == 0)
            start = zclock_usecs ();
    double seconds = (double)(zclock_usecs () - start) / 1e6;
    zmq_msg_close (&msg);
    zmq_close (pull);
    zmq_ctx_term (b->ctx);
    waitpid (producer, NULL, 0);
    waitpid (forwarder, NULL, 0);
    return seconds;
}

static int
s_compare_i64 (const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return x < y ? -1 : x > y;
}

//  Sorts the latencies and returns the given percentile (0..100), in microseconds.
static int64_t
s_percentile (s_bench_t *b, double pct)
{
    qsort (b->latency, (size_t)b->count, sizeof (int64_t), s_compare_i64);
    long index = (long)((double)(b->count - 1) * pct / 100.0);
    return b->latency[index];
}

static double
s_round (s_bench_t *b)
{
    void *pull = s_socket (b, ZMQ_PULL, b->out, true);
    pthread_t forwarder, producer;
    pthread_create (&forwarder, NULL, s_forwarder, b);
    zclock_sleep (50);  //  the forwarder binds before the producer connects
    pthread_create (&producer, NULL, s_producer, b);
    zmq_msg_t part;
    zmq_msg_init (&part);
    int64_t start = 0;
    for (long i = 0; i < b->count; i++) {
        int more;
        do {
            zmq_msg_recv (&part, pull, 0);
            more = zmq_msg_more (&part);
        } while (more);
        if (b->rate > 0 && zmq_msg_size (&part) >= sizeof (int64_t)) {
            int64_t sent;
            memcpy (&sent, zmq_msg_data (&part), sizeof sent);
            b->latency[i] = zclock_usecs () - sent;
        }
        if (i == 0)
            start = zclock_usecs ();
    }
    double seconds = (double)(zclock_usecs () - start) / 1e6;
    zmq_msg_close (&part);
    pthread_join (producer, NULL);
    pthread_join (forwarder, NULL);
    zmq_close (pull);
    return seconds;
}

int
main (int argc, char **argv)
{
    s_bench_t b = {.count = 1000000, .size = 100, .hwm = 10000};
    int rounds = 1;
    bool single = false;
    for (int i = 1; i + 1 < argc; i += 2) {
        if (streq (argv[i], "--count"))
            b.count = atol (argv[i + 1]);
        else if (streq (argv[i], "--size"))
            b.size = (size_t)atol (argv[i + 1]);
        else if (streq (argv[i], "--rounds"))
            rounds = atoi (argv[i + 1]);
        else if (streq (argv[i], "--rate"))
            b.rate = atol (argv[i + 1]);
        else if (streq (argv[i], "--hwm"))
            b.hwm = atoi (argv[i + 1]);
        else if (streq (argv[i], "--single"))
            single = atoi (argv[i + 1]) != 0;
    }
    if (b.count < 2 || rounds < 1 || argc % 2 == 0 || (single && b.rate > 0)) {
        fprintf (stderr, "usage: bench_rawhop [--count N] [--size BYTES] [--rounds R] [--hwm H] "
                         "[--rate PER_S] [--single 1] (--single has no --rate)\n");
        return 2;
    }
    zsat_vector_t v;
    zsat_vector_init (&v);
    v.event = ZSAT_EV_INIT;
    v.task_id = 1;
    v.job_id = 1;
    snprintf (v.where, sizeof v.where, "h1");
    snprintf (v.type, sizeof v.type, "cpu");
    snprintf (v.emitter, sizeof v.emitter, "bench");
    b.envelope_size = zsat_vector_encode_envelope (&v, b.envelope, sizeof b.envelope, NULL);
    assert (b.envelope_size > 0);
    if (b.size < sizeof (int64_t))
        b.size = sizeof (int64_t);
    b.latency = (int64_t *)calloc ((size_t)b.count, sizeof (int64_t));
    //  --single forks: every process makes its own context after the fork.
    b.ctx = single ? NULL : zmq_ctx_new ();
    char dir[64];
    snprintf (dir, sizeof dir, "/tmp/zsat-rawhop-%d", (int)getpid ());
    mkdir (dir, 0700);
    snprintf (b.in, sizeof b.in, "ipc://%s/in.ipc", dir);
    snprintf (b.out, sizeof b.out, "ipc://%s/out.ipc", dir);
    for (int r = 0; r < rounds; r++) {
        double seconds = single ? s_round_single (&b) : s_round (&b);
        printf ("{\"bench\":\"%s\",\"round\":%d,\"msgs\":%ld,\"size\":%zu,\"seconds\":%.4f,"
                "\"msgs_per_s\":%.0f",
                single ? "rawhop_single" : "rawhop", r, b.count, b.size, seconds,
                (double)(b.count - 1) / seconds);
        if (b.rate > 0)
            printf (",\"rate\":%ld,\"p50_us\":%" PRId64 ",\"p99_us\":%" PRId64, b.rate,
                    s_percentile (&b, 50), s_percentile (&b, 99));
        printf ("}\n");
        fflush (stdout);
    }
    if (b.ctx)
        zmq_ctx_term (b.ctx);
    free (b.latency);
    char path[128];
    snprintf (path, sizeof path, "%s/in.ipc", dir);
    unlink (path);
    snprintf (path, sizeof path, "%s/out.ipc", dir);
    unlink (path);
    rmdir (dir);
    return 0;
}
