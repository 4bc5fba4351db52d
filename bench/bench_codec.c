/*  bench_codec - the envelope codec's cost per vector (100-byte payload), against msgpack-c's
    object API doing the same work in the same run: encode = the envelope into a buffer,
    decode = envelope to vector fields plus the payload CRC check. Median of 5 rounds of
    N operations (default 1e6; `bench_codec N` to change). Prints one JSON line.
*/
#include "zsat.h"
#include <msgpack.h>

#define ROUNDS 5

static volatile uint64_t s_sink;  //  keeps results alive so nothing is optimized away

static double
s_now_ns (void)
{
    struct timespec ts;
    clock_gettime (CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e9 + ts.tv_nsec;
}

static int
s_cmp (const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static zsat_vector_t s_vector;
static uint8_t s_payload[100];
static uint8_t s_env[ZSAT_ENVELOPE_MAX];
static int s_env_len;
static msgpack_sbuffer s_sbuf;

static void
s_zsat_encode (void)
{
    s_env_len = zsat_vector_encode_envelope (&s_vector, s_env, sizeof s_env, NULL);
    s_sink += (uint64_t)s_env_len;
}

static void
s_zsat_decode (void)
{
    zsat_vector_t v;
    int rc = zsat_vector_decode (&v, (const uint8_t *)"hostA/cpu", 9, s_env, (size_t)s_env_len,
                                 s_payload, sizeof s_payload, NULL);
    s_sink += (uint64_t)rc + v.seq;
}

//  What the payload check alone costs: part of both decoders' figures.
static void
s_crc (void)
{
    s_sink += zsat_crc32 (0, s_payload, sizeof s_payload);
}

static void
s_pack_str (msgpack_packer *pk, const char *s)
{
    size_t n = strlen (s);
    msgpack_pack_str (pk, n);
    msgpack_pack_str_body (pk, s, n);
}

static void
s_msgpackc_encode (void)
{
    const zsat_vector_t *v = &s_vector;
    msgpack_sbuffer_clear (&s_sbuf);
    msgpack_packer pk;
    msgpack_packer_init (&pk, &s_sbuf, msgpack_sbuffer_write);
    msgpack_pack_array (&pk, 18);
    msgpack_pack_uint8 (&pk, 1);
    msgpack_pack_uint8 (&pk, v->event);
    msgpack_pack_uint32 (&pk, v->flags);
    msgpack_pack_uint32 (&pk, v->seq);
    msgpack_pack_uint32 (&pk, v->retry);
    msgpack_pack_uint32 (&pk, v->wid);
    msgpack_pack_uint32 (&pk, v->pid);
    msgpack_pack_uint32 (&pk, v->checksum);
    msgpack_pack_uint64 (&pk, v->task_id);
    msgpack_pack_uint64 (&pk, v->job_id);
    msgpack_pack_int64 (&pk, v->timestamp);
    s_pack_str (&pk, v->where);
    s_pack_str (&pk, v->step);
    s_pack_str (&pk, v->next);
    s_pack_str (&pk, v->emitter);
    s_pack_str (&pk, v->type);
    s_pack_str (&pk, v->channel);
    s_pack_str (&pk, v->serialization);
    s_sink += s_sbuf.size;
}

static void
s_copy_str (char *dst, size_t cap, const msgpack_object *o)
{
    size_t n = o->type == MSGPACK_OBJECT_STR && o->via.str.size < cap ? o->via.str.size : 0;
    memcpy (dst, n ? o->via.str.ptr : "", n);
    dst[n] = 0;
}

//  The baseline does the same work as zsat's decoder minus its validation: unpack, copy
//  the fields out, check the payload CRC.
static void
s_msgpackc_decode (void)
{
    msgpack_unpacked result;
    msgpack_unpacked_init (&result);
    size_t off = 0;
    zsat_vector_t v;
    if (msgpack_unpack_next (&result, s_sbuf.data, s_sbuf.size, &off) == MSGPACK_UNPACK_SUCCESS &&
        result.data.type == MSGPACK_OBJECT_ARRAY && result.data.via.array.size == 18) {
        msgpack_object *o = result.data.via.array.ptr;
        v.event = (uint8_t)o[1].via.u64;
        v.flags = (uint32_t)o[2].via.u64;
        v.seq = (uint32_t)o[3].via.u64;
        v.retry = (uint32_t)o[4].via.u64;
        v.wid = (uint32_t)o[5].via.u64;
        v.pid = (uint32_t)o[6].via.u64;
        v.checksum = (uint32_t)o[7].via.u64;
        v.task_id = o[8].via.u64;
        v.job_id = o[9].via.u64;
        v.timestamp = o[10].via.i64;
        s_copy_str (v.where, sizeof v.where, &o[11]);
        s_copy_str (v.step, sizeof v.step, &o[12]);
        s_copy_str (v.next, sizeof v.next, &o[13]);
        s_copy_str (v.emitter, sizeof v.emitter, &o[14]);
        s_copy_str (v.type, sizeof v.type, &o[15]);
        s_copy_str (v.channel, sizeof v.channel, &o[16]);
        s_copy_str (v.serialization, sizeof v.serialization, &o[17]);
        s_sink += v.seq + (zsat_crc32 (0, s_payload, sizeof s_payload) == v.checksum);
    }
    msgpack_unpacked_destroy (&result);
}

static double
s_measure (void (*op) (void), long ops)
{
    double ns[ROUNDS];
    for (int r = 0; r < ROUNDS; r++) {
        double start = s_now_ns ();
        for (long i = 0; i < ops; i++)
            op ();
        ns[r] = (s_now_ns () - start) / (double)ops;
    }
    qsort (ns, ROUNDS, sizeof ns[0], s_cmp);
    return ns[ROUNDS / 2];
}

int
main (int argc, char **argv)
{
    long ops = argc > 1 ? strtol (argv[1], NULL, 10) : 1000000;
    if (ops <= 0) {
        fprintf (stderr, "usage: bench_codec [OPS_PER_ROUND]\n");
        return 2;
    }
    zsat_vector_init (&s_vector);
    s_vector.event = ZSAT_EV_INIT;
    s_vector.seq = 3;
    s_vector.task_id = 1234567890123ull;
    s_vector.job_id = 42;
    s_vector.timestamp = 1700000000000000;
    s_vector.wid = 2;
    s_vector.pid = 31337;
    strcpy (s_vector.where, "hostA");
    strcpy (s_vector.step, "orchester");
    strcpy (s_vector.next, "cpu");
    strcpy (s_vector.emitter, "scheduler");
    strcpy (s_vector.type, "cpu");
    strcpy (s_vector.channel, "metrics");
    for (size_t i = 0; i < sizeof s_payload; i++)
        s_payload[i] = (uint8_t)(i * 7);
    zsat_vector_set_payload (&s_vector, s_payload, sizeof s_payload);
    msgpack_sbuffer_init (&s_sbuf);
    s_zsat_encode ();
    s_msgpackc_encode ();
    double enc = s_measure (s_zsat_encode, ops);
    double dec = s_measure (s_zsat_decode, ops);
    double menc = s_measure (s_msgpackc_encode, ops);
    double mdec = s_measure (s_msgpackc_decode, ops);
    double crc = s_measure (s_crc, ops);
    printf ("{\"figure\": \"codec\", \"payload\": 100, \"ops_per_round\": %ld, \"rounds\": %d, "
            "\"encode_ns\": %.1f, \"decode_ns\": %.1f, \"msgpackc_encode_ns\": %.1f, "
            "\"msgpackc_decode_ns\": %.1f, \"crc100_ns\": %.1f}\n",
            ops, ROUNDS, enc, dec, menc, mdec, crc);
    msgpack_sbuffer_destroy (&s_sbuf);
    return s_sink == 0;  //  never 0: the check keeps the sink alive
}
