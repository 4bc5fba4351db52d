// SPDX-License-Identifier: MPL-2.0
/*  bench_curve - what CURVE costs one tcp hop: PUSH -> PULL over tcp loopback, vectors of
    three frames (routing, envelope, payload of --size bytes), plain and CURVE alternating
    in each round (A B A B). Prints one JSON line per round:
    {"bench":"curve_vs_plain","round":i,"msgs":N,"plain_msgs_per_s":p,"curve_msgs_per_s":c,
     "ratio":c/p}. No batching: this is the price the 0.5x target is read against.
    --frames 1 sends each vector as one frame of the same bytes (CURVE boxes each frame:
    fewer frames, fewer boxes), --batch K packs K vectors into one frame: what batching
    would buy.

    usage: bench_curve [--count N] [--size BYTES] [--rounds R] [--frames 1|3] [--batch K]
*/
#include "zsat.h"
#include <pthread.h>

typedef struct {
    zsock_t *push;
    long count;  //  messages (vectors / batch)
    size_t size;
    int frames;  //  3, or 1: routing, envelope and payload in one frame
    int batch;   //  vectors per frame (frames 1)
} s_sender_t;

static void *
s_send (void *arg)
{
    s_sender_t *s = (s_sender_t *)arg;
    uint8_t envelope[64] = {0};
    size_t one = 6 + sizeof envelope + s->size;
    uint8_t *payload = (uint8_t *)calloc (1, one * (size_t)s->batch);
    void *sock = zsock_resolve (s->push);
    for (long i = 0; payload && i < s->count; i++) {
        if (s->frames == 1)
            zmq_send (sock, payload, one * (size_t)s->batch, 0);
        else {
            zmq_send (sock, "a/load", 6, ZMQ_SNDMORE);
            zmq_send (sock, envelope, sizeof envelope, ZMQ_SNDMORE);
            zmq_send (sock, payload, s->size, 0);
        }
    }
    free (payload);
    return NULL;
}

//  One run: msgs/s received, or -1.
static double
s_run (bool curve, long count, size_t size, int frames, int batch)
{
    long messages = frames == 1 ? (count + batch - 1) / batch : count;
    zsock_t *pull = zsock_new (ZMQ_PULL), *push = zsock_new (ZMQ_PUSH);
    zcert_t *server = curve ? zcert_new () : NULL, *client = curve ? zcert_new () : NULL;
    if (curve) {
        //  No ZAP handler here: the handshake is the same, the cost per message too.
        zcert_apply (server, pull);
        zsock_set_curve_server (pull, 1);
        zcert_apply (client, push);
        zsock_set_curve_serverkey (push, zcert_public_txt (server));
    }
    int hwm = 100000;
    zsock_set_rcvhwm (pull, hwm);
    zsock_set_sndhwm (push, hwm);
    int port = zsock_bind (pull, "tcp://127.0.0.1:*");
    double rate = -1;
    if (port > 0 && zsock_connect (push, "tcp://127.0.0.1:%d", port) == 0) {
        s_sender_t sender = {push, messages, size, frames, frames == 1 ? batch : 1};
        pthread_t thread;
        int64_t start = zclock_usecs ();
        pthread_create (&thread, NULL, s_send, &sender);
        zmq_msg_t msg;
        zmq_msg_init (&msg);
        long got = 0;
        zsock_set_rcvtimeo (pull, 10000);
        long parts = frames == 1 ? messages : messages * 3;
        while (got < parts && zmq_msg_recv (&msg, zsock_resolve (pull), 0) >= 0)
            got++;
        zmq_msg_close (&msg);
        pthread_join (thread, NULL);
        double seconds = (double)(zclock_usecs () - start) / 1e6;
        rate = got == parts ? (double)messages * sender.batch / seconds : -1;
    }
    zcert_destroy (&server);
    zcert_destroy (&client);
    zsock_destroy (&push);
    zsock_destroy (&pull);
    return rate;
}

int
main (int argc, char **argv)
{
    long count = 200000, rounds = 3, frames = 3, batch = 1;
    size_t size = 100;
    for (int i = 1; i + 1 < argc; i += 2) {
        if (streq (argv[i], "--count"))
            count = atol (argv[i + 1]);
        else if (streq (argv[i], "--size"))
            size = (size_t)atol (argv[i + 1]);
        else if (streq (argv[i], "--rounds"))
            rounds = atol (argv[i + 1]);
        else if (streq (argv[i], "--frames"))
            frames = atol (argv[i + 1]);
        else if (streq (argv[i], "--batch"))
            batch = atol (argv[i + 1]);
    }
    if (count < 1 || rounds < 1 || size > ZSAT_PAYLOAD_MAX || (frames != 1 && frames != 3) ||
        batch < 1 || batch > 10000 || (batch > 1 && frames != 1)) {
        fprintf (stderr, "usage: bench_curve [--count N] [--size BYTES] [--rounds R] "
                         "[--frames 1|3] [--batch K (with --frames 1)]\n");
        return 2;
    }
    for (long r = 0; r < rounds; r++) {
        double plain = s_run (false, count, size, (int)frames, (int)batch);
        double curve = s_run (true, count, size, (int)frames, (int)batch);
        printf ("{\"bench\":\"curve_vs_plain\",\"round\":%ld,\"msgs\":%ld,\"size\":%zu,"
                "\"frames\":%ld,\"batch\":%ld,\"plain_msgs_per_s\":%.0f,"
                "\"curve_msgs_per_s\":%.0f,\"ratio\":%.3f}\n",
                r, count, size, frames, batch, plain, curve, plain > 0 ? curve / plain : -1);
        fflush (stdout);
    }
    return 0;
}
