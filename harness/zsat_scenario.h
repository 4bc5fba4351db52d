/*  zsat_scenario - a harness scenario file: YAML (libyaml) -> a validated scenario. Names the
    topology (loaded and validated too), how hosts are emulated, the load, a timeline of
    faults and the invariants to check. Every problem is a `file:line:col: message`.
*/
#ifndef ZSAT_SCENARIO_H_INCLUDED
#define ZSAT_SCENARIO_H_INCLUDED
#include "zsat.h"

typedef enum {
    ZSAT_HOSTS_AUTO,     //  netns when root, loopback otherwise
    ZSAT_HOSTS_NETNS,    //  one network namespace per host, veth pairs on a bridge
    ZSAT_HOSTS_LOOPBACK  //  every host on 127.0.0.1: link faults are refused
} zsat_hosts_mode_t;

typedef enum {
    ZSAT_FAULT_KILL,       //  kill -9 one instance of a node
    ZSAT_FAULT_STOP,       //  SIGSTOP every instance of a node
    ZSAT_FAULT_CONT,       //  SIGCONT every instance of a node
    ZSAT_FAULT_RESTART,    //  SIGTERM one instance: the launcher starts it again
    ZSAT_FAULT_LINK_DOWN,  //  a host's link to the bridge down (partition)
    ZSAT_FAULT_LINK_UP,    //  and up again
    ZSAT_FAULT_BANDWIDTH   //  tc tbf cap on a host's link ("off" removes it)
} zsat_fault_action_t;

typedef struct {
    int64_t at_ms;
    zsat_fault_action_t action;
    char target[ZSAT_NAME_MAX];  //  node (kill, stop, cont, restart) or host (link, bandwidth)
    char host[ZSAT_NAME_MAX];    //  node faults: only instances on this host; "" = any
    char rate[32];               //  bandwidth: "1mbit", "off"
    int line, col;
} zsat_fault_t;

typedef struct {
    char node[ZSAT_NAME_MAX];  //  the gen node whose options the load overrides, or the
                               //  scheduler (its schedules are the load: only counted)
    double rate;               //  vectors per second
    int64_t size;              //  payload bytes
    bool critical;
    int64_t seed;
    bool has_rate, has_size, has_critical, has_seed;
} zsat_load_t;

typedef struct {
    bool no_critical_loss;       //  every critical vector gen sent reached a sink
    bool all_tasks_end;          //  every task ended in HAPPY_END or FAILURE
    int64_t max_duplicates;      //  -1: not checked
    int64_t p99_latency_max_ms;  //  -1: not checked
    int64_t recovery_max_ms;     //  -1: not checked
    int64_t min_scale_ups;       //  -1: not checked; else SCALE +1 decisions seen on the feed
    int64_t min_scale_downs;     //  -1: not checked; else SCALE -1 decisions seen on the feed
    int64_t max_backlog_at_scale_down;  //  -1: not checked; sent - at the sinks at every -1
    bool no_false_failures;             //  no FAILURE on the feed for a task that reached a sink
} zsat_invariants_t;

typedef struct zsat_scenario_t zsat_scenario_t;

//  Loads and validates a scenario and its topology. Returns the scenario, or NULL when there
//  is any problem; every problem is appended to diag (may be NULL).
zsat_scenario_t *zsat_scenario_load (const char *path, zsat_diag_t *diag);
//  Same from text; filename names the file in messages and anchors the topology path.
zsat_scenario_t *zsat_scenario_parse (const char *text, size_t size, const char *filename,
                                      zsat_diag_t *diag);
void zsat_scenario_destroy (zsat_scenario_t **self_p);

const char *zsat_scenario_name (zsat_scenario_t *self);
const char *zsat_scenario_file (zsat_scenario_t *self);
//  Path of the topology file, resolved against the scenario's folder.
const char *zsat_scenario_topology_path (zsat_scenario_t *self);
//  The loaded topology (owned by the scenario).
zsat_topology_t *zsat_scenario_topology (zsat_scenario_t *self);
zsat_hosts_mode_t zsat_scenario_hosts (zsat_scenario_t *self);
int64_t zsat_scenario_duration (zsat_scenario_t *self);
//  Shortens or lengthens the run (at most 1h): fault times scale by the same ratio so the
//  timeline keeps its shape. duration_ms must be > 0.
void zsat_scenario_set_duration (zsat_scenario_t *self, int64_t duration_ms);
//  Overrides how hosts are emulated. Returns 0, or -1 when mode is loopback and a fault
//  needs links (link_down, link_up, bandwidth).
int zsat_scenario_set_hosts (zsat_scenario_t *self, zsat_hosts_mode_t mode);
int64_t zsat_scenario_startup_timeout (zsat_scenario_t *self);
const zsat_load_t *zsat_scenario_load_options (zsat_scenario_t *self);
size_t zsat_scenario_fault_count (zsat_scenario_t *self);
const zsat_fault_t *zsat_scenario_fault (zsat_scenario_t *self, size_t index);
const zsat_invariants_t *zsat_scenario_invariants (zsat_scenario_t *self);
//  Returns the action's name as written in scenario files ("kill", "link_down").
const char *zsat_fault_action_name (zsat_fault_action_t action);
//  Writes a fault as one short line ("kill worker", "bandwidth b 1mbit") into buf.
void zsat_fault_describe (const zsat_fault_t *fault, char *buf, size_t cap);

#endif
