/*  zsat_launcher - the per-host supervisor actor. Starts every program of a spec (a node of
    the topology placed on this host, `instances` times), restarts a child that ended with
    exponential backoff, stops restarting a flapping one, scales a program within its bounds,
    and stops gracefully stage by stage (sources, orchester, workers, sinks, tracker: SIGTERM,
    bounded wait, SIGKILL), leaving no child behind.

    Sockets: the actor pipe; optionally a REP control socket ("STATUS", "SCALE <node> <+1|-1>",
    "STOP") and a SUB on the tracker's state feed (topic "SCALE.<host>", JSON {"node","delta"}).
    Pipe commands: "STATUS" -> one frame JSON; "SCALE" node delta -> "OK <instances>" or
    "ERROR <reason>"; "STOP" -> "STOPPED" after the graceful stop; "STOPSTAGE" n -> "OK"
    after stopping one stage (so `zsat up` stops every host's sources before any sink);
    "$TERM" stops and ends.
    After a "STOP" from the control socket the actor sends "STOPPED" on its pipe by itself.
*/
#ifndef ZSAT_LAUNCHER_H_INCLUDED
#define ZSAT_LAUNCHER_H_INCLUDED
#include "zsat.h"

#define ZSAT_LAUNCHER_PROGRAMS_MAX  64
#define ZSAT_LAUNCHER_ARGS_MAX      32
#define ZSAT_LAUNCHER_INSTANCES_MAX 64
//  An argument exactly equal to this is replaced by the instance number at each start.
#define ZSAT_LAUNCHER_INSTANCE_ARG "{instance}"

//  Stop order: lower stages stop first.
typedef enum {
    ZSAT_STAGE_SOURCE = 0,     //  sources and the scheduler: no new work
    ZSAT_STAGE_ORCHESTER = 1,  //  no more routing
    ZSAT_STAGE_WORKER = 2,     //  in-flight work drains into the sinks
    ZSAT_STAGE_SINK = 3,       //  sinks (and the buffer) flush
    ZSAT_STAGE_TRACKER = 4,    //  last, so it sees everybody's final events
    ZSAT_STAGE_COUNT
} zsat_stage_t;

typedef struct {
    char name[ZSAT_NAME_MAX];
    int stage;                                     //  zsat_stage_t
    const char *argv[ZSAT_LAUNCHER_ARGS_MAX + 1];  //  NULL-terminated, argv[0] a path
    int instances, min_instances, max_instances;
} zsat_launcher_program_t;

//  What the actor is started with (zactor_new (zsat_launcher_actor, spec)). Everything is
//  copied before the actor signals, so the spec may be freed once zactor_new returns.
typedef struct {
    const char *host;
    const char *log_dir;        //  <node>.<instance>.log files; NULL: inherit stdout/stderr
    const char *control;        //  REP endpoint (zsock_attach syntax) or NULL
    const char *tracker_state;  //  SUB endpoint of the tracker's state feed or NULL
    int64_t backoff_min_ms;     //  first restart delay (default 100)
    int64_t backoff_max_ms;     //  cap of the doubling (default 10000)
    int64_t stable_ms;          //  a child up this long starts over at the first delay (10000)
    int flap_count;             //  more than this many exits ...
    int64_t flap_window_ms;     //  ... within this window: "flapping", no more restarts
    int64_t stop_timeout_ms;    //  per stage, between SIGTERM and SIGKILL (default 5000)
    bool quiet;                 //  no log lines at all (selftests)
    const char *log_file;       //  the launcher's own log lines go here (appended), not stderr
    size_t program_count;
    zsat_launcher_program_t programs[ZSAT_LAUNCHER_PROGRAMS_MAX];
} zsat_launcher_spec_t;

//  Fills spec with the defaults above and no program.
void zsat_launcher_spec_init (zsat_launcher_spec_t *spec, const char *host);
//  Adds a program; argv is copied as pointers (the strings must live until zactor_new
//  returns). Returns 0, or -1 with err set (full table, bad bounds, too many arguments).
int zsat_launcher_spec_add (zsat_launcher_spec_t *spec, const char *name, int stage,
                            const char *const *argv, int instances, int min_instances,
                            int max_instances, zsat_error_t *err);
//  Adds one program per node the topology places on host, each running
//  `exe node --topology file --node N --host H --instance I`. Strings point into topology,
//  exe and file. Returns the number added, or -1 with err set (unknown host, unknown kind).
int zsat_launcher_spec_from_topology (zsat_launcher_spec_t *spec, zsat_topology_t *topology,
                                      const char *host, const char *exe, const char *file,
                                      zsat_error_t *err);
//  Stop stage of a kind: from its role, and by name for the system kinds.
int zsat_launcher_stage_of (const zsat_kind_t *kind);
//  Converts a client endpoint (">ipc://..,>tcp://..") into the binding one ("@..").
void zsat_launcher_bind_endpoint (const char *client, char *buf, size_t cap);

//  Everything `zsat launch` and `zsat up` need to start one host's launcher, with the
//  storage its spec points into. Big: allocate it.
typedef struct {
    zsat_launcher_spec_t spec;
    char host[ZSAT_NAME_MAX];
    char exe[1024];     //  the zsat binary the children run
    char source[1024];  //  absolute path of the topology file given (re-read on SIGHUP)
    //  The copy of it the children run: <host_dir>/running/<name>. A node restarted later
    //  reads what the launcher started with, even after the file was edited.
    char file[2200];
    char host_dir[1024], log_dir[1100];
    char control[1024], tracker_state[1024];
} zsat_launcher_plan_t;

//  Fills plan for host: the programs (zsat_launcher_spec_from_topology), the run directory
//  <run_dir>/<host> (created, mode 0700) and logs/ in it, the control endpoint to bind and
//  the tracker feed to follow. Returns 0, or -1 with err set.
int zsat_launcher_plan_init (zsat_launcher_plan_t *plan, zsat_topology_t *topology,
                             const char *file, const char *host, zsat_error_t *err);
//  Creates path and its parents with mode (existing directories are kept). Returns 0 or -1.
int zsat_launcher_mkdirs (const char *path, mode_t mode);

void zsat_launcher_actor (zsock_t *pipe, void *args);

void zsat_launcher_test (bool verbose);

#endif
