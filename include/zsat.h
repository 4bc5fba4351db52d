/*  zsat.h - the one public header of zsat.

    Shared types every component agrees on: task events, the vector (envelope fields plus a
    borrowed payload), the error value the decoders return, the satellite kind API and the
    CLI subcommand type. Class headers from each component folder are included at the end.
*/
#ifndef ZSAT_H_INCLUDED
#define ZSAT_H_INCLUDED

#include <czmq.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#ifndef ZSAT_VERSION
#define ZSAT_VERSION "0.1.0"
#endif

//  Names (hosts, nodes, types, channels, steps) are 1..63 bytes of [A-Za-z0-9_.-].
#define ZSAT_NAME_MAX          64
#define ZSAT_SERIALIZATION_MAX 16
//  Default upper bound of one payload; sockets set ZMQ_MAXMSGSIZE from it.
#define ZSAT_PAYLOAD_MAX (16 * 1024 * 1024)

//  Task events, on the wire as their numeric value. The values are stable: never renumber.
typedef enum {
    ZSAT_EV_NONE = 0,
    ZSAT_EV_INIT = 1,
    ZSAT_EV_BOUNCE = 2,
    ZSAT_EV_ACK = 3,
    ZSAT_EV_SEND = 4,
    ZSAT_EV_BEGIN = 5,
    ZSAT_EV_END = 6,
    ZSAT_EV_HAPPY_END = 7,
    ZSAT_EV_PROPAGATE = 8,
    ZSAT_EV_ERROR = 9,
    ZSAT_EV_TIMEOUT = 10,
    ZSAT_EV_O_TIMEOUT = 11,
    ZSAT_EV_FAILURE = 12,
    ZSAT_EV_HEARTBEAT = 13,
    ZSAT_EV_DEAD_LETTER = 14,
    ZSAT_EV_RETRY = 15,
    ZSAT_EV_ALERT = 16,
    ZSAT_EV_SCALE = 17,
    ZSAT_EV_STORED = 18,  //  a replay buffer stored the vector (tracker: the task is parked)
    ZSAT_EV_COUNT
} zsat_event_t;

//  Vector flags.
#define ZSAT_FLAG_CRITICAL 0x01u  //  kept in the replay buffer until every consumer acked
#define ZSAT_FLAG_REPLAY   0x02u  //  re-sent by the buffer: the consumer may have seen it
#define ZSAT_FLAG_PROBE    0x04u  //  half-open circuit breaker probe
#define ZSAT_FLAG_LEGACY   0x08u  //  arrived in DSAT's single-frame format
#define ZSAT_FLAG_FORKED   0x10u  //  on a branch of a fan-out (a stage sent it to several outputs)
#define ZSAT_FLAG_ROUTED   0x20u  //  an orchester routed it and holds a copy (its retry cache)

//  The vector: an envelope and an opaque payload. The payload is borrowed: it points into a
//  received frame or a buffer its producer owns, and is valid until that is reused.
typedef struct {
    uint8_t event;      //  zsat_event_t
    uint32_t flags;     //  ZSAT_FLAG_*
    uint32_t seq;       //  grows by one at every send along the path
    uint32_t retry;     //  how many times this task was re-sent
    uint32_t wid;       //  worker id: instance number of the emitting node
    uint32_t pid;       //  process id of the emitter
    uint32_t checksum;  //  CRC-32 (IEEE, as zlib) of the payload
    uint64_t task_id;
    uint64_t job_id;
    int64_t timestamp;            //  microseconds since the epoch, emitter's clock
    char where[ZSAT_NAME_MAX];    //  host the vector is for
    char step[ZSAT_NAME_MAX];     //  node that sent it
    char next[ZSAT_NAME_MAX];     //  node it goes to
    char emitter[ZSAT_NAME_MAX];  //  node that created the task
    char type[ZSAT_NAME_MAX];     //  kind of job (routing key)
    char channel[ZSAT_NAME_MAX];  //  logical channel (critical channels are buffered)
    char serialization[ZSAT_SERIALIZATION_MAX];  //  how the payload is encoded
    const uint8_t *payload;
    size_t payload_size;
} zsat_vector_t;

//  Error codes returned by decoders and loaders; never a crash, never an assert.
typedef enum {
    ZSAT_E_OK = 0,
    ZSAT_E_FRAMES,     //  wrong frame count
    ZSAT_E_VERSION,    //  unknown envelope version
    ZSAT_E_TYPE,       //  a field has the wrong msgpack type
    ZSAT_E_SIZE,       //  a field or frame is over its limit
    ZSAT_E_TRUNCATED,  //  input ended inside a value
    ZSAT_E_DEPTH,      //  nesting or count impossible for the bytes left
    ZSAT_E_FIELD,      //  a field's content is invalid (bad name, ':' in legacy, ...)
    ZSAT_E_CHECKSUM,   //  payload does not match its checksum
    ZSAT_E_ROUTING,    //  routing frame disagrees with the envelope
    ZSAT_E_IO,         //  a system call failed
    ZSAT_E_CONFIG      //  invalid configuration
} zsat_errcode_t;

typedef struct {
    int code;        //  zsat_errcode_t
    char text[256];  //  one line, for a human
} zsat_error_t;

//  Sets err (when not NULL) and returns -1, so decoders can `return zsat_fail (...)`.
int zsat_fail (zsat_error_t *err, int code, const char *format, ...)
    __attribute__ ((format (printf, 3, 4)));

//  Returns the event's wire name ("HAPPY_END"), or "?" for an unknown value.
const char *zsat_event_name (int event);
//  Returns the event for a name (case-insensitive), or ZSAT_EV_NONE.
zsat_event_t zsat_event_from_name (const char *name);

//  Returns true when name is 1..63 bytes of [A-Za-z0-9_.-].
bool zsat_name_valid (const char *name);

//  CRC-32 (IEEE 802.3, reflected, as zlib.crc32). Pass 0 as crc to start.
uint32_t zsat_crc32 (uint32_t crc, const void *data, size_t size);

//  --- Satellite kinds: one file satellites/sat_<kind>.c each, one struct of callbacks. ---

//  What a handler returns; the runtime owns retries, forwarding and every tracker event.
typedef enum {
    ZSAT_OK = 0,     //  done: forward the vector to every next step
    ZSAT_RETRY = 1,  //  transient failure: call again after a backoff, up to max_retry
    ZSAT_ERROR = 2,  //  failed: report ERROR, do not forward
    ZSAT_SKIP = 3    //  nothing to forward (a source with nothing new, a filter)
} zsat_result_t;

typedef enum {
    ZSAT_ROLE_SOURCE,   //  produces vectors on ticks (gen)
    ZSAT_ROLE_WORKER,   //  turns a job into a measurement or transforms a vector (cpu, exec)
    ZSAT_ROLE_SINK,     //  consumes vectors (csv, hdf5, carbon, log)
    ZSAT_ROLE_SYSTEM,   //  orchester, tracker, scheduler, buffer: not run by the satellite runtime
    ZSAT_ROLE_EXTERNAL  //  a program outside zsat (kind external): routed, tracked, never started
} zsat_role_t;

typedef enum {
    ZSAT_OPT_STRING,    //  char[size] in the config struct
    ZSAT_OPT_INT,       //  int64_t
    ZSAT_OPT_DOUBLE,    //  double
    ZSAT_OPT_BOOL,      //  bool (true/false/yes/no/on/off/1/0)
    ZSAT_OPT_DURATION,  //  int64_t milliseconds ("250ms", "2s", "1m", "1h"; a unit is required)
    ZSAT_OPT_SIZE       //  int64_t bytes ("512", "64k", "16MiB", "1G")
} zsat_opt_type_t;

//  One option of a kind: parsed from the topology's node options into the kind's config
//  struct at `offset`. Unknown keys are rejected by `zsat check`; `zsat help KIND` prints these.
typedef struct {
    const char *name;
    zsat_opt_type_t type;
    const char *default_value;  //  as it would be written in the topology
    const char *description;
    size_t offset;
    size_t size;  //  ZSAT_OPT_STRING: capacity of the char array
    //  Constraints, checked by `zsat check` and at the node's start from this same table
    //  (satellites/zsat_options.c): ZSAT_OPT_* flags below, inclusive bounds on the parsed
    //  value (ms for durations, bytes for sizes, length for strings) and, for a string, the
    //  values it may take ("every|interval|none").
    unsigned flags;
    double min, max;
    const char *choices;
} zsat_option_t;
#define ZSAT_OPT_REQUIRED 1u   //  must be given (a string: not empty)
#define ZSAT_OPT_MIN      2u   //  value >= min
#define ZSAT_OPT_MAX      4u   //  value <= max
#define ZSAT_OPT_ABOVE    8u   //  value > min (with ZSAT_OPT_MIN: strictly above)
#define ZSAT_OPT_NAMED    16u  //  a string that is a valid name (1..63 bytes of [A-Za-z0-9_.-])
//  Table shorthands: `{"timeout", ZSAT_OPT_DURATION, "10s", "...", off, 0, ZSAT_RANGE (1, 1e9)}`
#define ZSAT_RANGE(lo, hi) .flags = ZSAT_OPT_MIN | ZSAT_OPT_MAX, .min = (lo), .max = (hi)
#define ZSAT_AT_LEAST(lo)  .flags = ZSAT_OPT_MIN, .min = (lo)
#define ZSAT_ABOVE(lo)     .flags = ZSAT_OPT_MIN | ZSAT_OPT_ABOVE, .min = (lo)
#define ZSAT_OPTIONS_END                                                                           \
    {                                                                                              \
        NULL, ZSAT_OPT_STRING, NULL, NULL, 0, 0                                                    \
    }

//  What the runtime tells a kind about where it runs (satellites/zsat_ctx.c).
typedef struct zsat_ctx_t zsat_ctx_t;

typedef struct {
    const char *name;
    const char *description;
    zsat_role_t role;
    const zsat_option_t *options;  //  ends with ZSAT_OPTIONS_END; may be NULL
    size_t config_size;            //  struct the options are parsed into
    //  Prepares state from a parsed config. Returns 0, or -1 (logged via ctx) to fail start.
    int (*init) (zsat_ctx_t *ctx, const void *config, void **state_p);
    //  Handles one vector in place: a worker sets the payload (zsat_vector_set_payload) from
    //  memory it owns or from zsat_ctx_buffer; a sink stores it.
    zsat_result_t (*handle) (zsat_ctx_t *ctx, void *state, zsat_vector_t *vector);
    //  Called every zsat_ctx_set_tick interval. Sources fill a new vector; other kinds (sinks
    //  flushing buffers, carbon reconnecting) do periodic work and return ZSAT_SKIP.
    zsat_result_t (*tick) (zsat_ctx_t *ctx, void *state, zsat_vector_t *vector);
    //  Flushes and frees state: every accepted vector must be stored when it returns.
    void (*exit) (zsat_ctx_t *ctx, void *state);
    //  ZSAT_ROLE_SYSTEM only: the node's actor, started with a zsat_node_args_t * as args.
    zactor_fn *actor;
} zsat_kind_t;

typedef struct zsat_topology_t zsat_topology_t;

//  What every node actor is started with (`zsat node`, the launcher, tests in-process).
//  Actor contract: after setup it signals the pipe, then sends one frame "READY", or
//  "FAILED <reason>" and returns. It ends on "$TERM" after draining and flushing. On "STATS"
//  it replies one frame of JSON counters.
typedef struct {
    zsat_topology_t *topology;
    const char *node;
    const char *host;
    int instance;
} zsat_node_args_t;

//  The kinds registry, generated from every <component>/sat_<kind>.c, each defining
//  `const zsat_kind_t zsat_kind_<kind>`. Returns the kind, or NULL when unknown.
const zsat_kind_t *zsat_kind_find (const char *name);
//  Returns the NULL-terminated list of every kind, sorted by name.
const zsat_kind_t *const *zsat_kinds_all (void);

typedef enum { ZSAT_LOG_ERROR, ZSAT_LOG_WARN, ZSAT_LOG_INFO, ZSAT_LOG_DEBUG } zsat_log_level_t;

//  Creates a context (the runtime does; tests may). Strings are copied. NULL on failure.
zsat_ctx_t *zsat_ctx_new (const char *topology, const char *host, const char *node, int instance,
                          const char *run_dir);
void zsat_ctx_destroy (zsat_ctx_t **self_p);
const char *zsat_ctx_topology (zsat_ctx_t *self);
const char *zsat_ctx_host (zsat_ctx_t *self);
const char *zsat_ctx_node (zsat_ctx_t *self);
int zsat_ctx_instance (zsat_ctx_t *self);
//  Where the kind keeps its data: the topology's state directory (ZSAT_STATE_DIR, else the
//  run directory); sinks write <dir>/<host>/csv, <dir>/<host>/measurements.h5.
const char *zsat_ctx_run_dir (zsat_ctx_t *self);
//  Logs one line to the node's log (stderr; the launcher gives each node its own file).
void zsat_ctx_log (zsat_ctx_t *self, int level, const char *format, ...)
    __attribute__ ((format (printf, 3, 4)));
//  Asks for tick () every interval_us (0 stops ticking); any kind with a tick callback.
void zsat_ctx_set_tick (zsat_ctx_t *self, int64_t interval_us);
int64_t zsat_ctx_tick (zsat_ctx_t *self);
//  A scratch buffer for an output payload, valid until the next call on this context.
uint8_t *zsat_ctx_buffer (zsat_ctx_t *self, size_t *cap);
//  Adds n to a named counter (drops, rows, reconnects) that status and the tracker show.
void zsat_ctx_count (zsat_ctx_t *self, const char *counter, uint64_t n);
uint64_t zsat_ctx_counter (zsat_ctx_t *self, const char *counter);
//  Iterates counters: returns the name of counter i and sets *value, or NULL past the end.
const char *zsat_ctx_counter_at (zsat_ctx_t *self, size_t i, uint64_t *value);
//  Log level threshold (default INFO; ZSAT_LOG=debug|info|warn|error in the environment).
void zsat_ctx_set_log_level (zsat_ctx_t *self, int level);

//  The level ZSAT_LOG asks for (debug, info, warn, error; default info).
int zsat_log_level_env (void);
//  True when stderr is the journal (systemd's JOURNAL_STREAM names it): log lines then carry
//  "<N>" syslog level prefixes instead of a timestamp.
bool zsat_log_journal (void);
//  Logs a line in zsat's format to stream without a context (daemons' own messages), unless
//  its level is above ZSAT_LOG's.
void zsat_log_line (FILE *stream, int level, const char *who, const char *format, ...)
    __attribute__ ((format (printf, 4, 5)));

//  --- CLI subcommands: one file cli/cmd_<name>.c each, found by the build. ---
typedef struct {
    const char *name;                    //  "check"
    const char *summary;                 //  one line for `zsat --help`
    int (*run) (int argc, char **argv);  //  argv[0] is the subcommand; returns exit code
} zsat_command_t;

#ifdef __cplusplus
}
#endif

#include "zsat_diag.h"
#include "zsat_vector.h"
#include "zsat_dsat.h"
#include "zsat_record.h"
#include "zsat_evbatch.h"
#include "zsat_topology.h"

#endif
