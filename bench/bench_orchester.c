/*  bench_orchester - the orchester's hop against the raw libzmq hop (bench_rawhop), same
    frames, same sizes, same transport (ipc), alternating A B A B for --rounds rounds.
    B runs the real orchester actor in-process with full tracking on: ACK and SEND for every
    vector, batched to a real PULL that decodes and counts them, and the retry cache filled.
    Prints one JSON line per round and a summary line with both medians and their ratio.

    With --rate, both producers pace to that many vectors/s and the lines give latency
    percentiles (microseconds); the summary compares the median p99s.

    Without --rate each round also runs `bench_rawhop --single 1`: the plain single-frame
    forwarding hop (one 100-byte frame, sender, PULL -> PUSH loop and sink in three processes),
    the ceiling of any hop; the summary adds "rawhop_single_msgs_per_s" and "single_ratio".

    usage: bench_orchester [--count N] [--size BYTES] [--rounds R] [--rate PER_S]
                           [--only-orchester]
*/
#include "zsat.h"
#include "zsat_orchester.h"
#include <pthread.h>

typedef struct {
    long count;
    size_t size;
    char run_dir[64];
    zsat_topology_t *topology;
    char any[512], route[512], events[512];
    uint8_t envelope[ZSAT_ENVELOPE_MAX];
    int envelope_size;
    long rate;         //  vectors/s the producer paces to, 0 = as fast as possible
    int64_t *latency;  //  per vector, microseconds (rate > 0)
    volatile bool stop;
    uint64_t events_counted;
} s_bench_t;

static void
s_endpoint (s_bench_t *b, const char *node, const char *name, char *out, size_t cap)
{
    zsat_socket_t list[32];
    int n = zsat_topology_sockets (b->topology, node, "h1", list, 32);
    for (int i = 0; i < n; i++)
        if (streq (list[i].name, name))
            snprintf (out, cap, "%s", list[i].endpoint);
}

static void *
s_producer (void *arg)
{
    s_bench_t *b = (s_bench_t *)arg;
    zsock_t *sock = zsock_new (ZMQ_PUSH);
    zsock_set_sndhwm (sock, 10000);
    //  czmq's default linger 0 would drop the tail still queued at close
    zsock_set_linger (sock, -1);
    assert (zsock_attach (sock, b->any, false) == 0);
    void *push = zsock_resolve (sock);
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
        uint64_t task = 1000000 + (uint64_t)i;
        for (int k = 0; k < 8; k++)
            envelope[37 + k] = (uint8_t)(task >> (56 - 8 * k));
        zmq_send (push, "h1/cpu", 6, ZMQ_SNDMORE);
        zmq_send (push, envelope, (size_t)b->envelope_size, ZMQ_SNDMORE);
        zmq_send (push, payload, b->size, 0);
    }
    free (payload);
    zsock_destroy (&sock);
    return NULL;
}

static int
s_count (const zsat_event_rec_t *rec, void *arg)
{
    (*(uint64_t *)arg)++;
    return 0;
}

//  The tracker's place: decode every batch and count its records.
static void *
s_tracker (void *arg)
{
    s_bench_t *b = (s_bench_t *)arg;
    zsock_t *sock = zsock_new (ZMQ_PULL);
    zsock_set_rcvhwm (sock, 10000);
    assert (zsock_attach (sock, b->events, true) == 0);
    zmq_pollitem_t item = {zsock_resolve (sock), 0, ZMQ_POLLIN, 0};
    while (!b->stop) {
        if (zmq_poll (&item, 1, 50) != 1)
            continue;
        zmsg_t *msg = zmsg_recv (sock);
        zframe_t *body = zmsg_last (msg);
        zsat_event_source_t source;
        zsat_evbatch_decode (zframe_data (body), zframe_size (body), &source, s_count,
                             &b->events_counted, NULL);
        zmsg_destroy (&msg);
    }
    zsock_destroy (&sock);
    return NULL;
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
s_orchester_round (s_bench_t *b, int round)
{
    snprintf (b->run_dir, sizeof b->run_dir, "/tmp/zsat-bo-%d-%d", (int)getpid (), round);
    char text[512];
    snprintf (text, sizeof text,
              "name: bench\nrun_dir: %s\nhosts:\n  h1: {address: 127.0.0.1}\n"
              "nodes:\n  cpu: {kind: cpu}\nroutes:\n  cpu: cpu\n",
              b->run_dir);
    b->topology = zsat_topology_parse (text, strlen (text), "bench.yaml", NULL);
    assert (b->topology);
    s_endpoint (b, "orchester", "any", b->any, sizeof b->any);
    b->any[0] = '>';
    s_endpoint (b, "cpu", "in:route", b->route, sizeof b->route);
    s_endpoint (b, "tracker", "events", b->events, sizeof b->events);
    zsys_dir_create ("%s/h1", b->run_dir);
    b->stop = false;
    b->events_counted = 0;
    pthread_t tracker, producer;
    pthread_create (&tracker, NULL, s_tracker, b);
    zsat_node_args_t args = {b->topology, "orchester", "h1", 0};
    zactor_t *actor = zactor_new (zsat_orchester_actor, &args);
    char *ready = zstr_recv (actor);
    assert (ready && streq (ready, "READY"));
    zstr_free (&ready);
    zsock_t *sock = zsock_new (ZMQ_PULL);
    zsock_set_rcvhwm (sock, 10000);
    assert (zsock_attach (sock, b->route, false) == 0);
    zclock_sleep (50);
    pthread_create (&producer, NULL, s_producer, b);
    void *pull = zsock_resolve (sock);
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
    //  every ACK and SEND must reach the tracker's place (bounded wait)
    for (int i = 0; i < 200 && b->events_counted < 2 * (uint64_t)b->count; i++)
        zclock_sleep (10);
    b->stop = true;
    pthread_join (tracker, NULL);
    zactor_destroy (&actor);
    zsock_destroy (&sock);
    zsat_topology_destroy (&b->topology);
    char command[128];
    snprintf (command, sizeof command, "rm -rf %s", b->run_dir);
    if (system (command) != 0)
        fprintf (stderr, "bench_orchester: could not remove %s\n", b->run_dir);
    return seconds;
}

//  Runs bench_rawhop (next to this program) for one round; returns its msgs/s, or 0.
static double
s_rawhop_round (const char *self_path, s_bench_t *b, double *p99, bool single)
{
    char dir[512], command[1024];
    snprintf (dir, sizeof dir, "%s", self_path);
    char *slash = strrchr (dir, '/');
    if (slash)
        *slash = 0;
    else
        snprintf (dir, sizeof dir, ".");
    snprintf (command, sizeof command, "%s/bench_rawhop --count %ld --size %zu --rounds 1 %s %ld",
              dir, b->count, b->size, single ? "--single" : "--rate", single ? 1 : b->rate);
    FILE *pipe = popen (command, "r");
    char line[512] = "";
    double rate = 0;
    if (pipe && fgets (line, sizeof line, pipe)) {
        char *p = strstr (line, "\"msgs_per_s\":");
        rate = p ? atof (p + 13) : 0;
        p = strstr (line, "\"p99_us\":");
        *p99 = p ? atof (p + 9) : 0;
        printf ("%s", line);
    }
    if (pipe)
        pclose (pipe);
    return rate;
}

static int
s_compare (const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double
s_median (double *values, int n)
{
    qsort (values, (size_t)n, sizeof (double), s_compare);
    return n % 2 ? values[n / 2] : (values[n / 2 - 1] + values[n / 2]) / 2;
}

int
main (int argc, char **argv)
{
    //  czmq initialises itself lazily on first use: do it once here, before the bench's
    //  threads race to it (zsys_init is not thread-safe).
    zsys_init ();
    s_bench_t b = {.count = 500000, .size = 100};
    int rounds = 5;
    bool only = false;
    for (int i = 1; i < argc; i++) {
        if (streq (argv[i], "--count") && i + 1 < argc)
            b.count = atol (argv[++i]);
        else if (streq (argv[i], "--size") && i + 1 < argc)
            b.size = (size_t)atol (argv[++i]);
        else if (streq (argv[i], "--rounds") && i + 1 < argc)
            rounds = atoi (argv[++i]);
        else if (streq (argv[i], "--rate") && i + 1 < argc)
            b.rate = atol (argv[++i]);
        else if (streq (argv[i], "--only-orchester"))
            only = true;
        else {
            fprintf (stderr, "usage: bench_orchester [--count N] [--size BYTES] [--rounds R] "
                             "[--rate PER_S] [--only-orchester]\n");
            return 2;
        }
    }
    if (b.count < 2 || rounds < 1 || rounds > 100)
        return 2;
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
    double raw[100], orch[100], raw_p99[100] = {0}, orch_p99[100] = {0}, single[100] = {0};
    bool with_single = !only && b.rate == 0;
    for (int r = 0; r < rounds; r++) {
        double unused;
        single[r] = with_single ? s_rawhop_round (argv[0], &b, &unused, true) : 0;
        raw[r] = only ? 0 : s_rawhop_round (argv[0], &b, &raw_p99[r], false);
        double seconds = s_orchester_round (&b, r);
        orch[r] = (double)(b.count - 1) / seconds;
        printf ("{\"bench\":\"orchester\",\"round\":%d,\"msgs\":%ld,\"size\":%zu,\"seconds\":%.4f,"
                "\"msgs_per_s\":%.0f,\"tracker_events\":%" PRIu64,
                r, b.count, b.size, seconds, orch[r], b.events_counted);
        if (b.rate > 0) {
            int64_t p50 = s_percentile (&b, 50);
            orch_p99[r] = (double)s_percentile (&b, 99);
            printf (",\"rate\":%ld,\"p50_us\":%" PRId64 ",\"p99_us\":%.0f", b.rate, p50,
                    orch_p99[r]);
        }
        printf ("}\n");
        fflush (stdout);
    }
    double raw_median = only ? 0 : s_median (raw, rounds);
    double orch_median = s_median (orch, rounds);
    printf ("{\"bench\":\"orchester_vs_rawhop\",\"rounds\":%d,\"msgs\":%ld,\"size\":%zu,"
            "\"rawhop_msgs_per_s\":%.0f,\"orchester_msgs_per_s\":%.0f,\"ratio\":%.3f",
            rounds, b.count, b.size, raw_median, orch_median,
            raw_median > 0 ? orch_median / raw_median : 0);
    if (with_single) {
        double single_median = s_median (single, rounds);
        printf (",\"rawhop_single_msgs_per_s\":%.0f,\"single_ratio\":%.3f", single_median,
                single_median > 0 ? orch_median / single_median : 0);
    }
    printf ("}\n");
    if (b.rate > 0) {
        double rp = only ? 0 : s_median (raw_p99, rounds), op = s_median (orch_p99, rounds);
        printf ("{\"bench\":\"orchester_vs_rawhop_latency\",\"rounds\":%d,\"rate\":%ld,"
                "\"rawhop_p99_us\":%.0f,\"orchester_p99_us\":%.0f,\"p99_ratio\":%.3f}\n",
                rounds, b.rate, rp, op, rp > 0 ? op / rp : 0);
    }
    free (b.latency);
    zsys_shutdown ();
    return 0;
}
