/*  zsat_stats - the tracker's live numbers: per stage (a node on a host, an "origin"),
    per host (sums of its stages) and per node instance (heartbeats: pid, version, the
    node's own counters). Rates over 1 s and 1 min, latency percentiles from log-bucket
    histograms (no per-sample storage). Fixed-size tables; names beyond them fall into one
    overflow origin "?" and are counted. The clock is passed in. No sockets.
*/
#ifndef ZSAT_STATS_H_INCLUDED
#define ZSAT_STATS_H_INCLUDED
#include "zsat.h"
#include "zsat_jsonw.h"

#define ZSAT_STATS_ORIGINS      1024     //  stage@host pairs (origin 0 is the overflow "?")
#define ZSAT_STATS_NODES        4096     //  node instances (host, node, wid) the topology declares
#define ZSAT_STATS_SIDE_NODES   256      //  instances of undeclared nodes (least recently seen out)
#define ZSAT_STATS_SIDE_ORIGINS 128      //  stages of undeclared nodes
#define ZSAT_STATS_TYPES        4096     //  job types (type 0 is "?")
#define ZSAT_HEARTBEAT_STALE    3000000  //  us without heartbeat before an instance is not counted
#define ZSAT_STATS_UTIL_S       5        //  seconds the utilization is averaged over
#define ZSAT_STATS_QUEUE_STALE  60000000  //  us a queue count may stand still before it is dropped
#define ZSAT_STATS_RECENT       65536     //  task latencies kept one by one for LATENCIES

//  Per-stage counters.
typedef enum {
    ZSAT_STAT_EVENTS,        //  every record from the stage
    ZSAT_STAT_BEGINS,        //  BEGIN
    ZSAT_STAT_ENDS,          //  END or HAPPY_END: vectors done at this stage
    ZSAT_STAT_ERRORS,        //  ERROR reported
    ZSAT_STAT_TIMEOUTS,      //  TIMEOUT reported, or deadline passed (tracker)
    ZSAT_STAT_RETRIES,       //  RETRY reported, or RESEND decided (tracker)
    ZSAT_STAT_FAILURES,      //  FAILURE decided (tracker)
    ZSAT_STAT_DEAD_LETTERS,  //  DEAD_LETTER reported
    ZSAT_STAT_COUNT
} zsat_stat_t;

//  Tracker-wide counters.
typedef enum {
    ZSAT_GLOBAL_BATCHES,             //  event messages received
    ZSAT_GLOBAL_RECORDS,             //  records in them
    ZSAT_GLOBAL_BAD_MESSAGES,        //  malformed messages or requests, dropped
    ZSAT_GLOBAL_UNTRACKED,           //  events for a task the table does not hold
    ZSAT_GLOBAL_LATE,                //  events for a task already finished
    ZSAT_GLOBAL_UNEXPECTED,          //  events no FSM row expects in the task's state
    ZSAT_GLOBAL_EVICTED,             //  tasks evicted because the table was full
    ZSAT_GLOBAL_REFUSED,             //  new tasks refused because the table was full
    ZSAT_GLOBAL_RESENDS,             //  RESEND published
    ZSAT_GLOBAL_FAILURES,            //  FAILURE published
    ZSAT_GLOBAL_HAPPY_ENDS,          //  tasks ended well
    ZSAT_GLOBAL_OVERFLOW,            //  names that did not fit the tables
    ZSAT_GLOBAL_UNDECLARED_EVICTED,  //  side-table rows of undeclared nodes given to newer ones
    ZSAT_GLOBAL_OVERTAKEN,           //  an earlier hop's report that arrived after the task ended
    ZSAT_GLOBAL_COUNT
} zsat_global_t;

//  Latencies kept per stage.
typedef enum {
    ZSAT_LATENCY_STAGE,  //  BEGIN -> END at the stage (one emitter's clock)
    ZSAT_LATENCY_TASK,   //  first event -> HAPPY_END, recorded at the last stage
    ZSAT_LATENCY_COUNT
} zsat_latency_t;

typedef struct zsat_stats_t zsat_stats_t;

//  Creates empty stats. Returns NULL when memory is short.
zsat_stats_t *zsat_stats_new (void);
void zsat_stats_destroy (zsat_stats_t **self_p);

//  Says whether the topology declares node on host. Instances of undeclared nodes are kept
//  in a side table of ZSAT_STATS_SIDE_NODES rows (the least recently seen is evicted for a
//  new one) and their stages are at most ZSAT_STATS_SIDE_ORIGINS, so they can never take
//  the rows of real instances. Without a predicate every node counts as declared.
typedef bool (zsat_stats_declared_fn) (const char *host, const char *node, void *arg);
void zsat_stats_set_declared (zsat_stats_t *self, zsat_stats_declared_fn *fn, void *arg);
//  Notes a batch from source: returns the source's origin id (0 when the table is full) and
//  sets *node_id (the instance's row, or UINT32_MAX when that table is full).
uint16_t zsat_stats_source (zsat_stats_t *self, const zsat_event_source_t *source, int64_t now_us,
                            uint32_t *node_id);
//  Counts one record reported by a node (busy, rates, errors, heartbeats...).
void zsat_stats_on_record (zsat_stats_t *self, uint16_t origin, uint32_t node_id,
                           const zsat_event_rec_t *rec, int64_t now_us);
//  Adds n to a stage counter (the tracker's own decisions: timeouts, retries, failures).
void zsat_stats_add (zsat_stats_t *self, uint16_t origin, zsat_stat_t which, uint64_t n);
void zsat_stats_global_add (zsat_stats_t *self, zsat_global_t which, uint64_t n);
uint64_t zsat_stats_global (zsat_stats_t *self, zsat_global_t which);
//  The counter's name in STATUS ("batches", "records", ...), "?" when out of range.
const char *zsat_stats_global_name (int which);
uint64_t zsat_stats_counter (zsat_stats_t *self, uint16_t origin, zsat_stat_t which);
//  Records one latency sample (microseconds; negative ones, from clock skew, count as 0).
void zsat_stats_latency (zsat_stats_t *self, uint16_t origin, zsat_latency_t which,
                         int64_t latency_us, int64_t now_us);
//  Percentile (0..100) of the last one to two minutes of samples, or -1 when none.
int64_t zsat_stats_percentile (zsat_stats_t *self, uint16_t origin, zsat_latency_t which,
                               double pct, int64_t now_us);

//  Interns a job type; returns its id (0 = "?" when the table is full or type is empty).
uint16_t zsat_stats_type (zsat_stats_t *self, const char *type);
const char *zsat_stats_type_name (zsat_stats_t *self, uint16_t type);
//  Origins: ids 0..count-1, names ("?" for 0).
size_t zsat_stats_origin_count (zsat_stats_t *self);
const char *zsat_stats_origin_host (zsat_stats_t *self, uint16_t origin);
const char *zsat_stats_origin_node (zsat_stats_t *self, uint16_t origin);
//  Looks up an origin without creating it; returns 0 when unknown.
uint16_t zsat_stats_origin_find (zsat_stats_t *self, const char *host, const char *node);

//  BEGIN not yet matched by END/HAPPY_END/ERROR at the stage.
int64_t zsat_stats_busy (zsat_stats_t *self, uint16_t origin);
//  Instances of the stage that sent a heartbeat in the last ZSAT_HEARTBEAT_STALE.
int zsat_stats_instances (zsat_stats_t *self, uint16_t origin, int64_t now_us);
//  Busy workers on average over the last ZSAT_STATS_UTIL_S full seconds: the sum of the
//  BEGIN->END spans (per instance, of any attempt) that ended then, per second. Unlike `busy` it sees a worker that is
//  always busy even when its node sends BEGIN and END in the same event batch.
double zsat_stats_utilization (zsat_stats_t *self, uint16_t origin, int64_t now_us);
//  Vectors an orchester sent to the stage (SEND naming it) that the stage has not taken
//  (ACK) yet: its queue. Dropped to 0 when it moved neither way for ZSAT_STATS_QUEUE_STALE;
//  an instance restarted takes its share with it.
int64_t zsat_stats_queued (zsat_stats_t *self, uint16_t origin, int64_t now_us);
//  Vectors per second the queue grew by over the last ZSAT_STATS_UTIL_S full seconds
//  (arrivals - takes; negative while it drains).
double zsat_stats_queue_growth (zsat_stats_t *self, uint16_t origin, int64_t now_us);
//  Mean BEGIN->END time per vector at the stage over the last minute, -1 when none ended.
int64_t zsat_stats_service_us (zsat_stats_t *self, uint16_t origin, int64_t now_us);
//  How long the last vector of the queue waits: queued x service time / instances (0 when
//  either is unknown).
int64_t zsat_stats_queue_wait_us (zsat_stats_t *self, uint16_t origin, int64_t now_us);
//  Idle workers: instances - max (busy, utilization), rounded, never below 0.
int64_t zsat_stats_idle (zsat_stats_t *self, uint16_t origin, int64_t now_us);
//  Vectors done per second: over the last full second (window_s 1) or minute (60).
double zsat_stats_rate (zsat_stats_t *self, uint16_t origin, int window_s, int64_t now_us);

//  When an instance of the stage last came back with a new pid (a restart), 0 = never.
int64_t zsat_stats_restarted_us (zsat_stats_t *self, uint16_t origin);
//  Vectors per second over the last window_s full seconds that an orchester sent to the
//  stage (arrivals, true) or that the stage took (ACK, false).
double zsat_stats_flow_rate (zsat_stats_t *self, uint16_t origin, bool arrivals, int window_s,
                             int64_t now_us);

//  Latency since the tracker started, for Prometheus histograms: counts per fixed bucket
//  (upper bounds zsat_stats_bucket_bounds, the last one +Inf), their sum in µs.
#define ZSAT_STATS_BUCKETS 14  //  bounds; one more bucket (+Inf) counts the rest
const int64_t *zsat_stats_bucket_bounds (void);
void zsat_stats_cumulative (zsat_stats_t *self, uint16_t origin, zsat_latency_t which,
                            uint64_t buckets[ZSAT_STATS_BUCKETS + 1], uint64_t *count,
                            uint64_t *sum_us);

//  Dead letters by reason: the orchester's reasons (its DEAD_LETTER detail), "other" for
//  any other detail (a satellite's undecodable input names its port and error).
#define ZSAT_STATS_DEAD_REASONS 10
const char *zsat_stats_dead_reason (int reason);
uint64_t zsat_stats_dead_by (zsat_stats_t *self, uint16_t origin, int reason);
//  Dead letters of the stage in the last 60 s, the current second included.
uint64_t zsat_stats_dead_recent (zsat_stats_t *self, uint16_t origin, int64_t now_us);

//  Writes "stages", "hosts" and "tracker" members into an open JSON object.
void zsat_stats_write (zsat_stats_t *self, zsat_jsonw_t *json, int64_t now_us);
//  Writes a "nodes" member (heartbeat info of every instance) into an open JSON object.
void zsat_stats_write_nodes (zsat_stats_t *self, zsat_jsonw_t *json, int64_t now_us);
//  Writes "from", "next", "lost" and "us" (the task latencies recorded since sequence number
//  from, oldest first; "lost" were overwritten before they were asked for) into an open
//  object: a client asking with the last "next" gets each sample once, for exact
//  percentiles of its own intervals.
void zsat_stats_write_recent (zsat_stats_t *self, zsat_jsonw_t *json, uint64_t from);
//  Returns the status table as text for a terminal (caller frees), NULL when out of memory.
char *zsat_stats_table (zsat_stats_t *self, int64_t now_us);

void zsat_stats_test (bool verbose);

#endif
