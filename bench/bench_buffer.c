/*  bench_buffer - stored-and-acknowledged records/s of the durable buffer per durability
    mode, beside a raw append baseline of the same bytes in the same run (raw write; raw
    write + fdatasync per group of the same size; per record), alternated A B A B; then
    compaction, replay from the log and from HDF5, and the whole node (producer -> buffer
    node -> STORED) per mode. Prints one JSON line per measurement.

    usage: bench_buffer [DIR] [RECORDS] [append|replay|node]   (DIR on the disk to measure,
    default /tmp; RECORDS default 200000; one part only, default all)
*/
#include "zsat.h"
#include "zsat_buffer.h"
#include "zsat_bufclient.h"
#include "zsat_bufnode.h"
#include <fcntl.h>
#include <unistd.h>

#define PAYLOAD 100
#define GROUP   64

static uint8_t s_envelope[ZSAT_ENVELOPE_MAX], s_payload[PAYLOAD];
static char s_routing[ZSAT_ROUTING_MAX];
static size_t s_envelope_size, s_routing_size;

static void
s_make_vector (void)
{
    zsat_vector_t v;
    zsat_vector_init (&v);
    strcpy (v.where, "host"), strcpy (v.type, "cpu"), strcpy (v.channel, "crit");
    strcpy (v.step, "probe"), strcpy (v.emitter, "probe");
    v.task_id = 123456789;
    memset (s_payload, 'x', sizeof s_payload);
    zsat_vector_set_payload (&v, s_payload, sizeof s_payload);
    s_routing_size = (size_t)zsat_vector_encode_routing (&v, s_routing, sizeof s_routing, NULL);
    s_envelope_size = (size_t)zsat_vector_encode_envelope (&v, s_envelope, sizeof s_envelope, NULL);
}

static double
s_report (const char *what, const char *mode, const char *impl, int rep, int64_t n, int64_t us,
          int64_t bytes)
{
    printf (
        "{\"bench\":\"buffer\",\"what\":\"%s\",\"mode\":\"%s\",\"impl\":\"%s\",\"rep\":%d,"
        "\"records\":%" PRId64 ",\"seconds\":%.4f,\"records_per_s\":%.0f,\"bytes\":%" PRId64 "}\n",
        what, mode, impl, rep, n, (double)us / 1e6, us ? (double)n * 1e6 / (double)us : 0, bytes);
    fflush (stdout);
    return us ? (double)n * 1e6 / (double)us : 0;
}

//  One row bench/run can read: zsat and its raw baseline side by side.
static void
s_figure (const char *mode, int rep, double wal, double raw)
{
    printf ("{\"figure\":\"buffer_append\",\"mode\":\"%s\",\"rep\":%d,"
            "\"wal_records_per_s\":%.0f,\"raw_records_per_s\":%.0f}\n",
            mode, rep, wal, raw);
    fflush (stdout);
}

//  The raw baseline: the same record bytes with write(), synced per `group` (0: never).
static double
s_raw (const char *dir, const char *mode, int group, int rep, int64_t n)
{
    char path[512];
    snprintf (path, sizeof path, "%s/raw.log", dir);
    int fd = open (path, O_WRONLY | O_CREAT | O_TRUNC | O_APPEND, 0644);
    size_t size = ZSAT_WAL_HEADER_SIZE + 12 + s_routing_size + s_envelope_size + PAYLOAD;
    uint8_t *record = calloc (1, size);
    memcpy (record + ZSAT_WAL_HEADER_SIZE + 12, s_payload, PAYLOAD);
    int64_t start = zclock_usecs ();
    for (int64_t i = 0; i < n; i++) {
        assert (write (fd, record, size) == (ssize_t)size);
        if (group && (i + 1) % group == 0)
            fdatasync (fd);
    }
    if (group)
        fdatasync (fd);
    double rate =
        s_report ("append", mode, "raw", rep, n, zclock_usecs () - start, n * (int64_t)size);
    close (fd);
    unlink (path);
    free (record);
    return rate;
}

static zsat_buffer_t *
s_open (const char *dir, const char *channel, zsat_durability_t mode)
{
    zsat_buffer_opts_t opts;
    zsat_buffer_opts_init (&opts);
    opts.wal.durability = mode;
    opts.wal.max_records = GROUP;
    opts.disk_limit = 0;
    zsat_error_t err;
    zsat_buffer_t *buf = zsat_buffer_open (dir, channel, &opts, NULL, &err);
    if (!buf)
        fprintf (stderr, "bench_buffer: %s\n", err.text);
    assert (buf);
    return buf;
}

//  Appends n records; a record counts as acknowledged once durable_seq covers it.
static double
s_wal (const char *dir, zsat_durability_t mode, int rep, int64_t n)
{
    char channel[32];
    snprintf (channel, sizeof channel, "wal-%s-%d", zsat_durability_name (mode), rep);
    zsat_buffer_t *buf = s_open (dir, channel, mode);
    zsat_wal_record_t rec = {.task_id = 1};
    rec.frame[0] = (uint8_t *)s_routing, rec.frame_size[0] = s_routing_size;
    rec.frame[1] = s_envelope, rec.frame_size[1] = s_envelope_size;
    rec.frame[2] = s_payload, rec.frame_size[2] = PAYLOAD;
    int64_t start = zclock_usecs ();
    for (int64_t i = 0; i < n; i++) {
        rec.timestamp = start + i;
        assert (zsat_buffer_append (buf, &rec, NULL) == 0);
        zsat_buffer_commit (buf, false, NULL);
    }
    zsat_buffer_commit (buf, true, NULL);
    assert (zsat_buffer_durable_seq (buf) == (uint64_t)n);
    double rate = s_report ("append", zsat_durability_name (mode), "wal", rep, n,
                            zclock_usecs () - start, zsat_buffer_disk_size (buf));
    zsat_buffer_destroy (&buf);
    return rate;
}

static void
s_replay (const char *dir, const char *channel, const char *impl, int64_t n)
{
    zsat_buffer_t *buf = s_open (dir, channel, ZSAT_DURABLE_NONE);
    zsat_buffer_pos_t pos;
    zsat_buffer_pos_init (&pos);
    zsat_wal_record_t rec;
    int64_t start = zclock_usecs (), bytes = 0;
    for (uint64_t s = 1; s <= (uint64_t)n; s++) {
        assert (zsat_buffer_read (buf, &pos, s, &rec, NULL) == 1);
        bytes += (int64_t)rec.frame_size[2];
    }
    double rate = s_report ("replay", "-", impl, 1, n, zclock_usecs () - start, bytes);
    printf ("{\"figure\":\"buffer_replay\",\"source\":\"%s\",\"records_per_s\":%.0f}\n", impl,
            rate);
    if (streq (impl, "log")) {
        start = zclock_usecs ();
        assert (zsat_buffer_compact (buf, true, NULL) > 0);
        s_report ("compact", "-", "hdf5", 1, n, zclock_usecs () - start,
                  zsat_buffer_disk_size (buf));
    }
    zsat_buffer_pos_close (&pos);
    zsat_buffer_destroy (&buf);
}

//  The whole path: a producer (window 256) -> ipc -> the buffer node -> STORED.
static void
s_node (const char *dir, const char *mode, int rep, int64_t n)
{
    char *text =
        zsys_sprintf ("name: bench\nhosts:\n  a: {address: 127.0.0.1}\nnodes:\n"
                      "  buf: {kind: buffer, host: a, options: {channel: c%s%d, dir: %s/node,"
                      " in: 'ipc://%s/in.ipc', out: 'ipc://%s/out.ipc', compact_every: 1h}}\n"
                      "channels:\n  c%s%d: {critical: true, durability: %s, max_delay: 10ms}\n",
                      mode, rep, dir, dir, dir, mode, rep, mode);
    zsat_topology_t *topology = zsat_topology_parse (text, strlen (text), "bench.yaml", NULL);
    assert (topology);
    zsat_node_args_t args = {topology, "buf", "a", 0};
    zactor_t *node = zactor_new (zsat_bufnode_actor, &args);
    char *status = zstr_recv (node);
    assert (status && streq (status, "READY"));
    zstr_free (&status);
    char endpoint[600];
    snprintf (endpoint, sizeof endpoint, "ipc://%s/in.ipc", dir);
    zsat_bufproducer_t *p = zsat_bufproducer_new (endpoint, 256, 5000, NULL);
    zsat_bufreply_t reply;
    int64_t stored = 0, start = zclock_usecs ();
    for (int64_t i = 0; i < n; i++) {
        assert (zsat_bufproducer_send (p, s_routing, s_routing_size, s_envelope, s_envelope_size,
                                       s_payload, PAYLOAD, 10000, NULL) > 0);
        while (zsat_bufproducer_poll (p, 0, &reply) == 1)
            stored += reply.stored;
    }
    while (zsat_bufproducer_pending (p) > 0 && zsat_bufproducer_poll (p, 5000, &reply) == 1)
        stored += reply.stored;
    double rate = s_report ("node_stored", mode, "node", rep, stored, zclock_usecs () - start, 0);
    printf ("{\"figure\":\"buffer_node\",\"mode\":\"%s\",\"stored_per_s\":%.0f}\n", mode, rate);
    fflush (stdout);
    zsat_bufproducer_destroy (&p);
    zactor_destroy (&node);
    zsat_topology_destroy (&topology);
    zstr_free (&text);
}

int
main (int argc, char **argv)
{
    const char *base = argc > 1 ? argv[1] : "/tmp";
    int64_t n = argc > 2 ? atoll (argv[2]) : 200000;
    const char *only = argc > 3 ? argv[3] : "all";  //  append, replay, node or all
    char *dir = zsys_sprintf ("%s/zsat_bench_buffer.%d", base, getpid ());
    zsys_dir_create ("%s", dir);
    s_make_vector ();
    //  fdatasync per record is ~100x slower: fewer records keep the run short.
    int64_t n_always = n / 100 > 100 ? n / 100 : 100;
    for (int rep = 1; rep <= 2 && (streq (only, "all") || streq (only, "append")); rep++) {
        double raw = s_raw (dir, "none", 0, rep, n);
        s_figure ("none", rep, s_wal (dir, ZSAT_DURABLE_NONE, rep, n), raw);
        raw = s_raw (dir, "batch", GROUP, rep, n);
        s_figure ("batch", rep, s_wal (dir, ZSAT_DURABLE_BATCH, rep, n), raw);
        raw = s_raw (dir, "always", 1, rep, n_always);
        s_figure ("always", rep, s_wal (dir, ZSAT_DURABLE_ALWAYS, rep, n_always), raw);
    }
    if (streq (only, "all") || streq (only, "replay")) {
        if (!streq (only, "all"))
            s_wal (dir, ZSAT_DURABLE_NONE, 1, n);
        s_replay (dir, "wal-none-1", "log", n);
        s_replay (dir, "wal-none-1", "hdf5", n);
    }
    for (int rep = 1; rep <= 2 && (streq (only, "all") || streq (only, "node")); rep++) {
        s_node (dir, "none", rep, n / 2);
        s_node (dir, "batch", rep, n / 2);
        s_node (dir, "always", rep, n_always);
    }
    char cmd[600];
    snprintf (cmd, sizeof cmd, "rm -rf %s", dir);
    if (system (cmd) != 0)
        fprintf (stderr, "bench_buffer: could not remove %s\n", dir);
    zstr_free (&dir);
    zsys_shutdown ();
    return 0;
}
