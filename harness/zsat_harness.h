/*  zsat_harness - one run of a scenario: emulated hosts, a launcher per host, load, faults on
    a timeline, the tracker's figures every second, what the sinks wrote, the invariants.
    Owns a REQ socket to the tracker's query endpoint and a SUB socket to its state feed.
*/
#ifndef ZSAT_HARNESS_H_INCLUDED
#define ZSAT_HARNESS_H_INCLUDED
#include "zsat.h"
#include "zsat_scenario.h"

#define ZSAT_HARNESS_SAMPLES_MAX 3600
#define ZSAT_HARNESS_STAGES_MAX  64

//  One second of the run, from the sinks' files and the tracker's STATUS.
typedef struct {
    double t_s;                      //  seconds since the load started
    double throughput;               //  rows the sinks wrote in that second
    int64_t p50_us, p99_us, max_us;  //  tracker's task latency (-1: none reported)
    uint64_t happy_ends, failures;   //  tracker's cumulative counters
    bool tracker_up;                 //  the tracker answered STATUS
} zsat_sample_t;

typedef struct {
    char name[ZSAT_NAME_MAX];
    char host[ZSAT_NAME_MAX];
    uint64_t ends, errors, timeouts, retries, failures, dead_letters;
    int64_t p50_us, p99_us, max_us;
} zsat_stage_t;

typedef struct {
    zsat_fault_t fault;
    double applied_s;    //  when it was applied, seconds since the load started
    char error[256];     //  "" when applied
    bool recovers;       //  a blow or a heal (kill, restart, cont, link_up, bandwidth off)
    double recovery_s;   //  -1: not recovered by the end of the run, or not a recovering fault
    double before_rate;  //  sink throughput over the 5 s before the disturbance began
} zsat_fault_result_t;

typedef enum { ZSAT_VERDICT_PASS, ZSAT_VERDICT_FAIL, ZSAT_VERDICT_UNMEASURED } zsat_verdict_t;

typedef struct {
    const char *name;  //  as in the scenario's invariants
    zsat_verdict_t verdict;
    char detail[256];  //  the numbers behind it
} zsat_invariant_result_t;

typedef struct {
    char scenario[ZSAT_NAME_MAX];
    char scenario_file[1024];
    char topology_file[1024];
    char hosts_mode[16];  //  "netns" or "loopback"
    char error[2400];     //  why the run could not complete; "" when it did
    double duration_s;
    //  Load and what arrived.
    double rate;
    bool critical;
    int64_t sent;                            //  gen's out counters (-1: unknown)
    int64_t rows, unique, duplicates, lost;  //  from the sinks' files (lost -1: unknown)
    //  Tracker counters at the end (-1: unknown).
    int64_t happy_ends, failures, errors, retries, timeouts, dead_letters, live;
    int64_t p50_us, p99_us, max_us;  //  worst per-second task latency seen
    int64_t restarts;                //  new pids seen for a node instance
    int64_t scale_ups, scale_downs;  //  SCALE decisions on the tracker feed
    int64_t backlog_at_scale_down;   //  most vectors sent, not at a sink, at a -1 (-1: none)
    int64_t false_failures;          //  FAILUREs of tasks a sink wrote (-1: unknown)
    int64_t feed_messages;           //  messages read from the tracker's state feed
    double mean_throughput;
    zsat_sample_t samples[ZSAT_HARNESS_SAMPLES_MAX];
    size_t sample_count;
    zsat_stage_t stages[ZSAT_HARNESS_STAGES_MAX];
    size_t stage_count;
    zsat_fault_result_t faults[256];
    size_t fault_count;
    zsat_invariant_result_t invariants[12];
    size_t invariant_count;
    bool passed;  //  every invariant PASS and no error
} zsat_results_t;

//  What the progress callback sees once a second (the CLI prints it).
typedef struct {
    const char *phase;  //  "hosts", "starting", "load", "draining", "stopping", "cleanup"
    double elapsed_s, total_s;
    double throughput;
    size_t faults_applied;
} zsat_progress_t;
typedef void (zsat_progress_fn) (void *arg, const zsat_progress_t *progress);

typedef struct zsat_harness_t zsat_harness_t;

//  Prepares a run of scenario (borrowed; must outlive the harness) writing into out_dir.
//  binary is the zsat executable the launchers run. Returns NULL when out of memory.
zsat_harness_t *zsat_harness_new (zsat_scenario_t *scenario, const char *out_dir,
                                  const char *binary);
//  Stops what runs, deletes namespaces and links; safe twice, accepts NULL.
void zsat_harness_destroy (zsat_harness_t **self_p);
void zsat_harness_set_progress (zsat_harness_t *self, zsat_progress_fn *fn, void *arg);
//  Runs the scenario to its end (or until zsat_harness_interrupt) and cleans up. Returns 0
//  when the run completed (results filled, invariants judged), -1 when it could not (the
//  reason in results.error; still cleaned up).
int zsat_harness_run (zsat_harness_t *self);
const zsat_results_t *zsat_harness_results (zsat_harness_t *self);
//  Asks every running harness to stop and clean up; async-signal-safe (SIGINT handlers).
void zsat_harness_interrupt (void);
bool zsat_harness_interrupted (void);

//  Judges the scenario's invariants over results (fills invariants and passed). Pure.
void zsat_harness_judge (zsat_scenario_t *scenario, zsat_results_t *results);
//  Counts rows and distinct task ids of the CSV files in dir (recursively, *.csv, column
//  "task_id"). Returns 0, or -1 when dir cannot be read.
int zsat_harness_count_rows (const char *dir, int64_t *rows, int64_t *unique);

#endif
