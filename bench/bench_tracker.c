/*  bench_tracker - the tracker's ingest rate and memory per task in flight.

    1. core: records fed straight to stats + FSM (deadlines live), 9 events per task
       (orchester INIT/ACK/SEND, cpu ACK/BEGIN/END, csv ACK/BEGIN/HAPPY_END), `window`
       tasks in flight, interleaved; a virtual clock advancing 1 us per record.
    2. memory: 1,000,000 tasks in flight (one INIT each): RSS growth per task, and the
       preallocated bytes per task (sizeof-based).
    3. socket: the tracker actor fed by a real PUSH socket (ipc) with batches of 256
       records, until its counters show every record handled.
    4. baseline: decoding the same 256-record batches with nothing done per record.
    Prints one JSON line ({"figure":"tracker",...}, for bench/run). Usage: bench_tracker [tasks_for_core (default 2000000)]
*/
#include "zsat.h"
#include "zsat_fsm.h"
#include "zsat_stats.h"
#include "zsat_tracker.h"

static const struct {
    const char *node;
    int event;
} s_path[] = {{"orchester", ZSAT_EV_INIT}, {"orchester", ZSAT_EV_ACK}, {"orchester", ZSAT_EV_SEND},
              {"cpu", ZSAT_EV_ACK},        {"cpu", ZSAT_EV_BEGIN},     {"cpu", ZSAT_EV_END},
              {"csv", ZSAT_EV_ACK},        {"csv", ZSAT_EV_BEGIN},     {"csv", ZSAT_EV_HAPPY_END}};
#define PATH_LEN 9

static long
s_rss_kb (void)
{
    FILE *file = fopen ("/proc/self/statm", "r");
    long pages = 0, resident = 0;
    if (file) {
        if (fscanf (file, "%ld %ld", &pages, &resident) != 2)
            resident = 0;
        fclose (file);
    }
    return resident * (sysconf (_SC_PAGESIZE) / 1024);
}

static zsat_tracker_policy_t
s_policy (int64_t max_tasks)
{
    return (zsat_tracker_policy_t){.timeout_ms = 5000,
                                   .max_retry = 3,
                                   .backoff_ms = 100,
                                   .backoff_max_ms = 10000,
                                   .max_seq = 50,
                                   .max_tasks = max_tasks};
}

//  Feeds `tasks` tasks through the whole path, `window` at a time. Returns records/s.
static double
s_bench_core (long tasks, long window)
{
    zsat_tracker_policy_t policy = s_policy (window * 2);
    zsat_stats_t *stats = zsat_stats_new ();
    zsat_fsm_t *fsm = zsat_fsm_new (&policy, stats, 1000000000);
    uint16_t origins[PATH_LEN];
    for (int p = 0; p < PATH_LEN; p++) {
        zsat_event_source_t source = {.host = "a", .wid = 1};
        snprintf (source.node, sizeof source.node, "%s", s_path[p].node);
        origins[p] = zsat_stats_source (stats, &source, 1000000000, NULL);
    }
    zsat_event_rec_t rec = {.job_id = 1, .type = "cpu"};
    int64_t now = 1000000000;
    long records = 0;
    int64_t start = zclock_usecs ();
    for (long base = 0; base < tasks; base += window)
        for (int p = 0; p < PATH_LEN; p++)
            for (long t = base; t < base + window && t < tasks; t++) {
                rec.event = (uint8_t)s_path[p].event;
                rec.task_id = (uint64_t)t + 1;
                rec.seq = (uint32_t)p;
                rec.timestamp = now;
                zsat_stats_on_record (stats, origins[p], UINT32_MAX, &rec, now);
                zsat_fsm_on_record (fsm, origins[p], &rec, now);
                records++;
                now++;
                if ((records & 1023) == 0)
                    zsat_fsm_expire (fsm, now);
            }
    int64_t elapsed = zclock_usecs () - start;
    assert (zsat_stats_global (stats, ZSAT_GLOBAL_HAPPY_ENDS) == (uint64_t)tasks);
    zsat_fsm_destroy (&fsm);
    zsat_stats_destroy (&stats);
    return records * 1e6 / (double)(elapsed ? elapsed : 1);
}

//  Holds `tasks` tasks in flight; returns RSS growth per task in bytes.
static double
s_bench_memory (long tasks, size_t *footprint)
{
    long before = s_rss_kb ();
    zsat_tracker_policy_t policy = s_policy (tasks);
    zsat_stats_t *stats = zsat_stats_new ();
    zsat_fsm_t *fsm = zsat_fsm_new (&policy, stats, 1000000000);
    zsat_event_source_t source = {.host = "a", .node = "orchester", .wid = 1};
    uint16_t origin = zsat_stats_source (stats, &source, 0, NULL);
    zsat_event_rec_t rec = {
        .event = ZSAT_EV_INIT, .job_id = 1, .type = "cpu", .timestamp = 1000000000};
    for (long t = 0; t < tasks; t++) {
        rec.task_id = (uint64_t)t * 7919 + 1;
        zsat_fsm_on_record (fsm, origin, &rec, 1000000000);
    }
    assert (zsat_fsm_live (fsm) == (size_t)tasks);
    long after = s_rss_kb ();
    *footprint = zsat_fsm_footprint (fsm);
    zsat_fsm_destroy (&fsm);
    zsat_stats_destroy (&stats);
    return (after - before) * 1024.0 / tasks;
}

//  Pushes `tasks` whole paths through a real socket to the tracker actor. Returns records/s
//  from the first send to the tracker having counted the last record, or -1 on a failure.
static double
s_bench_socket (long tasks)
{
    char run_dir[128];
    snprintf (run_dir, sizeof run_dir, "/tmp/zsat-bench-tracker-%d", (int)getpid ());
    char *text = zsys_sprintf ("name: bench\nrun_dir: %s\nhosts:\n  a: {address: 127.0.0.1}\n"
                               "nodes:\n  cpu: {kind: cpu, host: a}\n  csv: {kind: csv, host: a}\n"
                               "links:\n  - cpu -> csv\ntracker:\n  max_tasks: %ld\n",
                               run_dir, tasks + 1000);
    zsat_topology_t *topology = zsat_topology_parse (text, strlen (text), "bench.yaml", NULL);
    zstr_free (&text);
    if (!topology)
        return -1;
    zsat_node_args_t args = {.topology = topology, .node = "tracker", .host = "a"};
    zactor_t *tracker = zactor_new (zsat_tracker_actor, &args);
    char *status = zstr_recv (tracker);
    bool ready = status && streq (status, "READY");
    zstr_free (&status);
    double rate = -1;
    char endpoint[512];
    zsock_t *push = zsock_new (ZMQ_PUSH);
    if (ready &&
        zsat_topology_endpoint (topology, "tracker.events", NULL, "a", endpoint, 512) == 0 &&
        zsock_attach (push, endpoint, false) == 0) {
        zsat_evbatch_t *batches[PATH_LEN];
        for (int p = 0; p < PATH_LEN; p++) {
            zsat_event_source_t source = {.host = "a", .wid = 1, .version = ZSAT_VERSION};
            snprintf (source.node, sizeof source.node, "%s", s_path[p].node);
            batches[p] = zsat_evbatch_new (&source, 256);
        }
        zsat_event_rec_t rec = {.job_id = 1, .type = "cpu"};
        long records = 0;
        int64_t start = zclock_usecs ();
        for (long base = 0; base < tasks; base += 256)
            for (int p = 0; p < PATH_LEN; p++) {
                for (long t = base; t < base + 256 && t < tasks; t++) {
                    rec.event = (uint8_t)s_path[p].event;
                    rec.task_id = (uint64_t)t + 1;
                    rec.timestamp = zclock_usecs ();
                    zsat_evbatch_add (batches[p], &rec);
                    records++;
                }
                //  blocking send: the bench measures the tracker, not drops
                zsat_evbatch_flush (batches[p], zsock_resolve (push), 0);
            }
        //  the tracker answers STATS between batches: poll until every record is counted
        char want[64], happy[64];
        snprintf (want, sizeof want, "\"records\":%ld,", records);
        snprintf (happy, sizeof happy, "\"happy_ends\":%ld,", tasks);
        for (int i = 0; i < 6000; i++) {
            zstr_send (tracker, "STATS");
            char *reply = zstr_recv (tracker);
            bool done = reply && strstr (reply, want) && strstr (reply, happy);
            zstr_free (&reply);
            if (done) {
                rate = records * 1e6 / (double)(zclock_usecs () - start);
                break;
            }
            zclock_sleep (10);
        }
        for (int p = 0; p < PATH_LEN; p++)
            zsat_evbatch_destroy (&batches[p]);
    }
    zsock_destroy (&push);
    zactor_destroy (&tracker);
    zsat_topology_destroy (&topology);
    char *command = zsys_sprintf ("rm -rf '%s'", run_dir);
    if (system (command) != 0)
        rate = -1;
    zstr_free (&command);
    return rate;
}

static int
s_count_record (const zsat_event_rec_t *rec, void *arg)
{
    (*(long *)arg)++;
    return 0;
}

//  The baseline: decoding the same batches (256 records) with nothing done per record.
static double
s_bench_decode_only (long records_wanted)
{
    zsock_t *pull = zsock_new_pull ("@inproc://bench-tracker-decode");
    zsock_t *push = zsock_new_push (">inproc://bench-tracker-decode");
    zsat_event_source_t source = {.host = "a", .node = "cpu", .wid = 1, .version = ZSAT_VERSION};
    zsat_evbatch_t *batch = zsat_evbatch_new (&source, 256);
    zsat_event_rec_t rec = {.event = ZSAT_EV_END, .job_id = 1, .type = "cpu"};
    for (int i = 0; i < 256; i++) {
        rec.task_id = (uint64_t)i + 1;
        rec.timestamp = zclock_usecs ();
        zsat_evbatch_add (batch, &rec);
    }
    zsat_evbatch_flush (batch, zsock_resolve (push), 0);
    zmsg_t *msg = zmsg_recv (pull);
    zframe_t *body = zmsg_last (msg);
    long records = 0;
    zsat_event_source_t got;
    int64_t start = zclock_usecs ();
    while (records < records_wanted)
        zsat_evbatch_decode (zframe_data (body), zframe_size (body), &got, s_count_record, &records,
                             NULL);
    int64_t elapsed = zclock_usecs () - start;
    zmsg_destroy (&msg);
    zsat_evbatch_destroy (&batch);
    zsock_destroy (&push);
    zsock_destroy (&pull);
    return records * 1e6 / (double)(elapsed ? elapsed : 1);
}

int
main (int argc, char **argv)
{
    long tasks = argc > 1 ? atol (argv[1]) : 2000000;
    if (tasks < 1000)
        tasks = 1000;
    double core = s_bench_core (tasks, 100000);
    size_t footprint = 0;
    long in_flight = 1000000;
    double rss_per_task = s_bench_memory (in_flight, &footprint);
    double socket = s_bench_socket (tasks / 4);
    double decode_only = s_bench_decode_only (tasks * PATH_LEN);
    printf ("{\"figure\":\"tracker\",\"core_records_per_s\":%.0f,"
            "\"socket_records_per_s\":%.0f,\"decode_only_records_per_s\":%.0f,"
            "\"tasks_in_flight\":%ld,\"rss_bytes_per_task\":%.1f,"
            "\"preallocated_bytes_per_task\":%.1f,\"task_record_bytes\":%zu}\n",
            core, socket, decode_only, in_flight, rss_per_task, (double)footprint / in_flight,
            sizeof (zsat_task_t));
    zsys_shutdown ();
    return socket < 0 ? 1 : 0;
}
