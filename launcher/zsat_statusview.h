/*  zsat_statusview - the one-screen live status of `zsat up`, as a pure function of data:
    rows (one per node instance: host, state, pid, restarts, rates, errors) in, text out.
    Also the small JSON readers the launcher and `zsat up` need for the flat objects of the
    launcher's STATUS, the tracker's NODES reply and the SCALE feed. Owns no sockets.
*/
#ifndef ZSAT_STATUSVIEW_H_INCLUDED
#define ZSAT_STATUSVIEW_H_INCLUDED
#include "zsat.h"

typedef struct {
    char host[ZSAT_NAME_MAX];
    char node[ZSAT_NAME_MAX];
    int instance;
    char state[16];  //  running, backoff, flapping, stopping, stopped
    int pid;
    int restarts;
    double uptime_s;
    char last_exit[24];
    bool has_stats;            //  the tracker reported this instance
    double in_rate, out_rate;  //  vectors per second since the previous refresh
    uint64_t in, out, errors;  //  cumulative, from the last heartbeat
} zsat_status_row_t;

//  Renders rows as a table with a title line and a footer (tracker state, elapsed time)
//  into a new string (caller frees), the table fitted to width (0: no limit; the least
//  important columns go first), faults red when colour. Draw it with zsat_term_frame.
char *zsat_statusview_render (const zsat_status_row_t *rows, size_t count, const char *title,
                              const char *footer, int width, bool colour);

//  Copies the string value of "key" in a flat JSON object into buf. Returns true when found.
bool zsat_statusview_json_string (const char *json, const char *key, char *buf, size_t cap);
//  Reads the number value of "key". Returns true when found.
bool zsat_statusview_json_number (const char *json, const char *key, double *value);
//  Finds the next innermost object ({...} holding no other object) at or after json.
//  Returns its start and sets *end past its closing brace, or NULL when there is none.
const char *zsat_statusview_json_object (const char *json, const char **end);
//  Finds the next object at or after json (the first '{'), whole: the objects it holds
//  (e.g. a stage's "dead_by") stay inside it. Returns its start and sets *end past its
//  closing brace, or NULL. For the elements of an array.
const char *zsat_statusview_json_element (const char *json, const char **end);

//  Fills rows[] from the launcher's STATUS JSON (host taken from it). Returns the count.
size_t zsat_statusview_rows_from_status (const char *json, zsat_status_row_t *rows, size_t max);
//  Merges the tracker's NODES JSON into rows: counters from each node's heartbeat detail
//  (`in=.. out=.. errors=..`), rates from the difference with the previous values over
//  elapsed_s. Returns how many rows got stats.
size_t zsat_statusview_merge_nodes (const char *json, zsat_status_row_t *rows, size_t count,
                                    const zsat_status_row_t *previous, size_t previous_count,
                                    double elapsed_s);

//  Gives the tracker's own row (the instance named like the tracker in the STATUS json's
//  "tracker" object) its figures: records in per second, messages published (resends and
//  failures) out per second, bad messages as errors. Returns true when a row matched.
bool zsat_statusview_merge_tracker (const char *json, zsat_status_row_t *rows, size_t count,
                                    const zsat_status_row_t *previous, size_t previous_count,
                                    double elapsed_s);

void zsat_statusview_test (bool verbose);

#endif
