/*  zsat_bufnode - the buffer node: a zactor that stores the vectors of one critical channel
    and delivers them to that channel's consumers until each acknowledged them.

    Sockets (both bound by the node; protocol in docs/buffer.md):
      in   ROUTER  producers' DEALERs send  ["PUT <id> [<producer>]", routing, envelope,
                   payload] and get one frame "STORED <id> <seq>" once the append is durable
                   per the channel's mode, or "REFUSED <id> <reason>" (full disk, bad vector,
                   I/O). A (producer, id) already stored is answered with its first seq.
      out  ROUTER  consumers' DEALERs send "HELLO <consumer>" (answered "WELCOME <cursor>")
                   and "ACK <consumer> <seq>"; the node sends them
                   ["REC <seq> <flags>", routing, envelope, payload], at most `window`
                   unacknowledged, replays (flag ZSAT_FLAG_REPLAY, also patched into the
                   envelope) after a reconnect or an ack timeout, at most replay_rate/s.
    Pipe: "$TERM" (commits, saves cursors, ends), "STATS" (one frame of JSON counters),
    "COMPACT" (compacts and collects now; replies "OK <compacted> <deleted>").
*/
#ifndef ZSAT_BUFNODE_H_INCLUDED
#define ZSAT_BUFNODE_H_INCLUDED
#include "zsat.h"
#include "zsat_buffer.h"

typedef struct {
    char channel[ZSAT_NAME_MAX];
    char dir[1024];         //  "" = <run_dir>/<host>/buffer
    char in[512];           //  "" = derived by the topology (zsat_topology_buffer_endpoint)
    char out[512];          //  "" = derived by the topology (zsat_topology_buffer_endpoint)
    int64_t window;         //  unacknowledged records in flight per consumer
    int64_t ack_timeout;    //  ms without acknowledgement progress before a replay
    int64_t replay_rate;    //  records/s per consumer while replaying
    int64_t segment_size;   //  bytes per log segment
    int64_t compact_every;  //  ms between compaction + garbage collection rounds
} zsat_bufnode_config_t;

extern const zsat_option_t zsat_bufnode_options[];

//  Fills config from the defaults of zsat_bufnode_options then the node's options in the
//  topology, and resolves the default dir and endpoints for host. Returns 0, or -1 with err.
int zsat_bufnode_config (zsat_topology_t *topology, const char *node, const char *host,
                         zsat_bufnode_config_t *config, zsat_error_t *err);

//  The actor (zsat_kind_t.actor of kind `buffer`); args is a zsat_node_args_t *.
void zsat_bufnode_actor (zsock_t *pipe, void *args);

void zsat_bufnode_test (bool verbose);

#endif
