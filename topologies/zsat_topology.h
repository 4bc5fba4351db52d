/*  zsat_topology - the topology file: YAML (libyaml) -> validated graph -> the sockets each
    node opens on each host -> Graphviz dot. Also imports DSAT's vertex.json + circus .ini.

    Implicit system nodes, added when the file does not declare them: `tracker` and
    `scheduler` on the first host, `orchester` on every host (kinds of the same names).
    Every name is 1..63 bytes of [A-Za-z0-9_.-] (zsat_name_valid).

    Endpoints are derived when not given: ipc inside <run_dir>/<host>/ (mode 0700) between
    nodes of one host, tcp://<host address>:<port> across hosts, with deterministic ports:
    base_port + a fixed index per system socket and per link, unique in the whole topology
    (so several hosts can share one machine, as `zsat up` does). A binding side binds ipc
    and/or tcp as its peers need; endpoint strings use czmq's zsock_attach syntax
    ("@ipc:///run/x/7103.ipc,@tcp://198.18.0.1:7103" or ">tcp://198.18.0.2:7103"; tcp binds
    the host's `bind:` address, by default its `address:`, never all interfaces unless said).
*/
#ifndef ZSAT_TOPOLOGY_H_INCLUDED
#define ZSAT_TOPOLOGY_H_INCLUDED
#include "zsat.h"
#include "zsat_diag.h"

#define ZSAT_DEFAULT_BASE_PORT 7100

typedef enum {
    ZSAT_PATTERN_PUSH_PULL,
    ZSAT_PATTERN_PUB_SUB,
    ZSAT_PATTERN_REQ_REP,
    ZSAT_PATTERN_PAIR,
    ZSAT_PATTERN_ROUTER_DEALER
} zsat_pattern_t;

typedef struct {
    const char *key;
    const char *value;  //  the scalar as written; the kind's options table types it
    int line, col;
} zsat_option_kv_t;

typedef struct {
    const char *name;
    const char *address;    //  ip or name peers on other hosts connect to; default 127.0.0.1
    const char *bind;       //  address its tcp sockets bind (`bind:`), default: address
    const char *curve_key;  //  `curve_key:` as written (Z85 public key or a file), or NULL
    int line, col;
} zsat_host_t;

//  A key allowed to use the CLI (`operators: [{name, key}]`).
typedef struct {
    const char *name;
    const char *key;  //  Z85 public key or a certificate file, as written
    int line, col;
} zsat_operator_t;

typedef struct {
    const char *name;
    const char *kind;   //  cpu, csv, orchester, tracker, scheduler, buffer, ...
    size_t host_count;  //  hosts it runs on (`host: a`, `hosts: [a, b]` or `hosts: all`)
    const char **hosts;
    int instances;      //  per host, default 1
    int min_instances;  //  scaling bounds, default instances..instances
    int max_instances;
    size_t option_count;
    const zsat_option_kv_t *options;
    bool implicit;  //  added by the loader, not written in the file
    int line, col;
} zsat_node_t;

typedef struct {
    const char *name;  //  "from->to" unless named
    zsat_pattern_t pattern;
    const char *from;      //  sender side (push, pub, req, dealer, pair)
    const char *to;        //  receiver side (pull, sub, rep, router, pair)
    const char *endpoint;  //  explicit endpoint or NULL (derived)
    bool bind_from;        //  which side binds (default: to binds, except pub/sub: from)
    const char *when;      //  condition "key OP number" (OP: < <= > >= == !=) or NULL
    const char *topic;     //  SUB subscription prefix, "" by default
    int line, col;
} zsat_link_t;

typedef struct {
    const char *type;   //  job type the orchester routes
    size_t node_count;  //  each node receives (fan-out); instances share (load balance)
    const char **nodes;
    const char *alternate;  //  node used while the circuit breaker is open, or NULL
    int line, col;
} zsat_route_t;

typedef struct {
    const char *type;
    size_t host_count;  //  hosts the jobs are for (default: every host routing the type)
    const char **hosts;
    int64_t every_ms;
    int line, col;
} zsat_schedule_t;

typedef struct {
    int64_t timeout_ms;          //  default deadline per stage (5000)
    size_t stage_timeout_count;  //  per-stage overrides (`timeouts: {cpu: 2s}`)
    const char **stage_timeout_names;
    const int64_t *stage_timeout_ms;
    int max_retry;                //  3
    int64_t backoff_ms;           //  first retry delay, doubled each time (100)
    int64_t backoff_max_ms;       //  10000
    int max_seq;                  //  bounces/hops before FAILURE (50)
    int64_t max_tasks;            //  tasks in flight kept (1000000)
    bool refuse_when_full;        //  false: evict the oldest
    int scale_low;                //  ask for one more instance when idle workers < low (1)
    int scale_high;               //  one fewer when idle workers > high (3)
    int64_t scale_window_ms;      //  how long a mark must hold (3000)
    int64_t scale_cooldown_ms;    //  between two decisions of one stage (10000)
    double breaker_threshold;     //  failure ratio opening the breaker (0.5)
    int breaker_min_tasks;        //  tasks in the window before it can open (20)
    int64_t breaker_window_ms;    //  (30000)
    int64_t breaker_cooldown_ms;  //  before the half-open probe (10000)
    const char *http;             //  "ADDR:PORT" of the tracker's HTTP endpoint, or NULL (off)
    const char *http_token_file;  //  bearer token file; required when http is not loopback
    int line, col;
} zsat_tracker_policy_t;

//  Checks an HTTP listen address "A.B.C.D:PORT" (IPv4, port 1..65535). Returns 0 and fills
//  ip (cap >= 16) and *port, or -1 with a reason in why. *loopback: 127.0.0.0/8.
int zsat_topology_http_address (const char *text, char *ip, int *port, bool *loopback, char *why,
                                size_t why_cap);

typedef struct {
    const char *name;
    bool critical;
    const char *durability;  //  "always", "batch" (default), "none"
    int64_t max_delay_ms;    //  batch mode: fsync at least this often (10)
    int64_t disk_limit;      //  bytes (1 GiB)
    int64_t retention_ms;    //  how long the tracker waits for a STORED task's consumer (1h)
    size_t consumer_count;
    const char **consumers;  //  node names
    int line, col;
} zsat_channel_t;

//  One socket a node opens on a host, after resolution.
typedef struct {
    char name[128];   //  "events", "state", "query", "jobs", "any", "control",
                      //  "route:<node>", "in:<link>", "out:<link>"
    int socket_type;  //  ZMQ_PUSH, ZMQ_PULL, ZMQ_SUB, ...
    bool bind;
    char endpoint[512];  //  zsock_attach syntax, prefixes included
    const char *peer;    //  node at the other end, or NULL for "any"
    const char *when;    //  forward condition for out:<link>, or NULL
    const char *topic;   //  subscription for SUB sockets, or NULL
} zsat_socket_t;

typedef struct zsat_topology_t zsat_topology_t;

//  Loads and validates a file. Returns the topology, or NULL when there is any problem; every
//  problem is appended to diag as `file:line:col: message` (diag may be NULL).
zsat_topology_t *zsat_topology_load (const char *path, zsat_diag_t *diag);
//  Same from text in memory; filename is used in messages.
//  Writes the file as the parser reads it, as YAML: `${VAR}` substituted, aliases and `<<:`
//  merges copied out, included files joined, `name:` added when the file gives none, and a
//  `$` that would read as a variable written `$$`. Returns 0, or -1 with the problems in diag.
int zsat_topology_expand (const char *path, FILE *out, zsat_diag_t *diag);
zsat_topology_t *zsat_topology_parse (const char *text, size_t size, const char *filename,
                                      zsat_diag_t *diag);
void zsat_topology_destroy (zsat_topology_t **self_p);

const char *zsat_topology_name (zsat_topology_t *self);
const char *zsat_topology_file (zsat_topology_t *self);
//  The run directory (ipc sockets, logs, pid files). Overridden by ZSAT_RUN_DIR when set;
//  default $XDG_RUNTIME_DIR/zsat/<name> (a private one), else /tmp/zsat-<uid>/<name>.
const char *zsat_topology_run_dir (zsat_topology_t *self);
//  Where sinks and the buffer keep data by default: ZSAT_STATE_DIR, else the run directory.
const char *zsat_topology_state_dir (zsat_topology_t *self);
int zsat_topology_base_port (zsat_topology_t *self);
//  Creates <run_dir>/<host>/logs/ and <state_dir>/<host>/ (and missing parents) with mode
//  0700, so ipc sockets can be bound there, and refuses any directory on those paths that
//  another user owns or may write (zsat_safedir.h). Existing good directories are kept.
//  Returns 0, or -1 with errno set (host unknown: EINVAL; refused: EPERM) and err's text.
int zsat_topology_prepare_host (zsat_topology_t *self, const char *host, zsat_error_t *err);
//  zsat_topology_prepare_host without the reason.
int zsat_topology_make_run_dir (zsat_topology_t *self, const char *host);

size_t zsat_topology_host_count (zsat_topology_t *self);
const zsat_host_t *zsat_topology_host (zsat_topology_t *self, size_t index);
const zsat_host_t *zsat_topology_host_find (zsat_topology_t *self, const char *name);

//  True when tcp links use CURVE: `security: curve`, or no `security:` and several hosts.
bool zsat_topology_curve (zsat_topology_t *self);
//  `security:` as written ("curve", "none"), or NULL when the default applies.
const char *zsat_topology_security (zsat_topology_t *self);
//  Where a string of the model was written (0, 0 for strings the loader made up).
void zsat_topology_mark (const char *text, int *line, int *col);
size_t zsat_topology_operator_count (zsat_topology_t *self);
const zsat_operator_t *zsat_topology_operator (zsat_topology_t *self, size_t index);
//  Index of the host whose node binds derived port `port` (ipc and/or tcp), or -1 (not a
//  derived port, or a route port); *tcp (may be NULL) tells whether that binder also binds
//  tcp, so a local client over ipc knows the socket speaks CURVE.
int zsat_topology_port_host (zsat_topology_t *self, int port, bool *tcp);

size_t zsat_topology_node_count (zsat_topology_t *self);
const zsat_node_t *zsat_topology_node (zsat_topology_t *self, size_t index);
const zsat_node_t *zsat_topology_node_find (zsat_topology_t *self, const char *name);
//  Returns true when node runs on host.
bool zsat_topology_node_on_host (const zsat_node_t *node, const char *host);
//  Returns the option's value, or NULL when the node does not set it.
const char *zsat_topology_node_option (const zsat_node_t *node, const char *key);

size_t zsat_topology_link_count (zsat_topology_t *self);
const zsat_link_t *zsat_topology_link (zsat_topology_t *self, size_t index);
//  True when a path of links leads from node `from` to node `to` (at least one link; the
//  walk is bounded by the link count, so a cycle cannot loop it).
bool zsat_topology_reaches (zsat_topology_t *self, const char *from, const char *to);
size_t zsat_topology_route_count (zsat_topology_t *self);
const zsat_route_t *zsat_topology_route (zsat_topology_t *self, size_t index);
const zsat_route_t *zsat_topology_route_find (zsat_topology_t *self, const char *type);
size_t zsat_topology_schedule_count (zsat_topology_t *self);
const zsat_schedule_t *zsat_topology_schedule (zsat_topology_t *self, size_t index);
size_t zsat_topology_channel_count (zsat_topology_t *self);
const zsat_channel_t *zsat_topology_channel (zsat_topology_t *self, size_t index);
const zsat_channel_t *zsat_topology_channel_find (zsat_topology_t *self, const char *name);
const zsat_tracker_policy_t *zsat_topology_policy (zsat_topology_t *self);
//  Deadline of a stage: its override or the default timeout.
int64_t zsat_topology_stage_timeout (zsat_topology_t *self, const char *stage);

//  Fills out[] with the sockets `node` opens on `host`: system sockets (events to the
//  tracker; jobs/any/control/route:<n> for an orchester; events/state/query for the tracker;
//  jobs for the scheduler; "in:route" for a routed node) then one per link. Returns the count,
//  or -1 when max is too small or the node does not run on host.
int zsat_topology_sockets (zsat_topology_t *self, const char *node, const char *host,
                           zsat_socket_t *out, int max);
//  Endpoint (zsock_attach syntax) a client on `from_host` uses to reach a system socket:
//  "tracker.events", "tracker.state", "tracker.query", "scheduler.jobs", "launcher.control"
//  (of `host`), "orchester.any" (of `host`), "orchester.control" (of `host`). host may be
//  NULL for the singletons. Returns 0, or -1 when unknown.
int zsat_topology_endpoint (zsat_topology_t *self, const char *what, const char *host,
                            const char *from_host, char *buf, size_t cap);

//  Endpoint (zsock_attach syntax) the owner of a system socket binds, same names as above:
//  "@ipc://<run_dir>/<host>/<port>.ipc", plus ",@tcp://<host bind>:<port>" when the topology has
//  several hosts. For the launcher, which is not a node. Returns 0, or -1 when unknown.
int zsat_topology_bind_endpoint (zsat_topology_t *self, const char *what, const char *host,
                                 char *buf, size_t cap);

//  Endpoint (zsock_attach syntax) of a `buffer` node's ROUTER, side "in" (producers) or
//  "out" (consumers): with from_host NULL what the buffer binds ("@ipc://...", plus
//  ",@tcp://<host bind>:<port>" when peers run on other hosts), else what a DEALER on from_host
//  connects. A node option `in`/`out` is used as written instead. Returns 0, or -1 when
//  buffer is not a buffer node or side/from_host is unknown.
int zsat_topology_buffer_endpoint (zsat_topology_t *self, const char *buffer, const char *side,
                                   const char *from_host, char *buf, size_t cap);

//  Writes Graphviz dot of the whole topology: nodes coloured by role, one box per instance,
//  edges labelled by pattern. Returns 0 or -1 on write error.
int zsat_topology_dot (zsat_topology_t *self, FILE *out);

//  Converts DSAT's vertex.json + circus .ini into YAML text (caller frees). Both arguments
//  are the files' contents (NUL-terminated text), not paths. Every node, link, pattern,
//  endpoint and instance count is kept; problems go to diag. NULL on failure.
char *zsat_topology_import_dsat (const char *vertex_json, const char *circus_ini,
                                 zsat_diag_t *diag);
//  The same, naming the two files in messages (file:line:col). Repeated JSON keys keep the
//  last value, as DSAT's Python json did, each with a warning; what has no zsat equivalent
//  is listed at the end of the output and in one warning. Warnings start with "warning:".
char *zsat_topology_import_dsat_named (const char *vertex_json, const char *circus_ini,
                                       const char *json_name, const char *ini_name,
                                       zsat_diag_t *diag);

//  Duration syntax of topology files: an integer and a unit, ms s m h ("250ms", "2s").
//  A bare number is refused (ambiguous). Returns 0 and sets *ms, or -1.
int zsat_topology_parse_duration (const char *text, int64_t *ms);
//  Size syntax: bare bytes, or an integer and k/K/kB/KiB, M/MB/MiB, G/GB/GiB, T/TiB (all
//  binary: 1k = 1024). Returns 0 and sets *bytes, or -1.
int zsat_topology_parse_size (const char *text, int64_t *bytes);

//  Option checker: the satellites registry validates node options against each kind's
//  table; topologies calls it when set (it is set by zsat_kinds at start-up).
typedef void (zsat_topology_checker_fn) (zsat_topology_t *self, zsat_diag_t *diag);
void zsat_topology_set_checker (zsat_topology_checker_fn *fn);

#endif
