/*  tracker_metrics - the tracker's statistics as measurements, for the carbon sink (or any
    sink): every TRACKER_METRICS_US, one vector of type "tracker.stats" per stage (step = the
    stage's node, where = its host) and one for the tracker itself, each with a zsat.record
    payload, sent on every output with ZMQ_DONTWAIT. The outputs are the tracker's
    out:<link> sockets (links from the tracker in the topology, `tracker -> carbon`); this
    class borrows them and owns no socket.
*/
#ifndef TRACKER_METRICS_H_INCLUDED
#define TRACKER_METRICS_H_INCLUDED
#include "zsat.h"
#include "zsat_stats.h"

#define TRACKER_METRICS_US      10000000  //  interval between two sends, and the least
#define TRACKER_METRICS_TYPE    "tracker.stats"
#define TRACKER_METRICS_OUTPUTS 8

typedef struct tracker_metrics_t tracker_metrics_t;

//  Creates the sender for the tracker `node` on `host`; the first send is due an interval
//  after now_us. Returns NULL when memory is short.
tracker_metrics_t *tracker_metrics_new (const char *host, const char *node, int64_t now_us);
void tracker_metrics_destroy (tracker_metrics_t **self_p);

//  Adds an output: a raw libzmq socket (borrowed: it must outlive self) and the node at its
//  other end. Returns 0, or -1 when TRACKER_METRICS_OUTPUTS are already there.
int tracker_metrics_add_output (tracker_metrics_t *self, void *socket, const char *peer);
size_t tracker_metrics_outputs (tracker_metrics_t *self);

//  True when there is an output and a whole interval passed since the last send.
bool tracker_metrics_due (tracker_metrics_t *self, int64_t now_us);

//  Sends one vector per stage of stats and one global vector (tasks_in_flight and the
//  tracker counters) to every output, without waiting; the next send is due an interval
//  after now_us (the tracker's clock, as for stats). wall_us (µs since the epoch) stamps
//  the vectors: carbon files a point under that time. Returns the vectors the sockets
//  accepted; refused ones count as dropped.
int tracker_metrics_send (tracker_metrics_t *self, zsat_stats_t *stats, uint64_t tasks_in_flight,
                          int64_t now_us, int64_t wall_us);

//  Vectors accepted / refused (full socket, bad name) since creation.
uint64_t tracker_metrics_sent (tracker_metrics_t *self);
uint64_t tracker_metrics_dropped (tracker_metrics_t *self);

//  Selftest (real inproc PUSH/PULL sockets, simulated clock); zsat_tracker_test runs it.
void tracker_metrics_test (bool verbose);

#endif
