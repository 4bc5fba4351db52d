/*  zsat_probes - what the built-in probe kinds (cpu, mem, net, disk, proc) share: reading a
    /proc file into a caller's buffer without allocating, a monotonic clock, and handing a
    measurement record to the runtime as the vector's payload.
*/
#ifndef ZSAT_PROBES_H_INCLUDED
#define ZSAT_PROBES_H_INCLUDED
#include "zsat.h"

//  Reads up to cap-1 bytes of path into buf and NUL-terminates it. Returns the length, or -1
//  when the file cannot be read.
ssize_t zsat_probe_read (const char *path, char *buf, size_t cap);

//  Microseconds of a monotonic clock (rates never jump with the wall clock).
int64_t zsat_probe_now_us (void);

//  Encodes record into the ctx's scratch buffer and makes it v's payload (serialization
//  "zsat.record"). Returns ZSAT_OK, or ZSAT_ERROR (logged) when it does not fit.
zsat_result_t zsat_probe_emit (zsat_ctx_t *ctx, zsat_vector_t *v, const zsat_record_t *record);

//  Rate per second of a counter that went from before to after in elapsed_us; 0 when the
//  counter went backwards (reset, wrap) or no time passed.
double zsat_probe_rate (uint64_t before, uint64_t after, int64_t elapsed_us);

//  Returns true when name is in the comma-separated list, or the list is empty.
bool zsat_probe_selected (const char *list, const char *name);

//  A kind's reason for its last ZSAT_ERROR/ZSAT_RETRY, which the runtime puts in the ERROR
//  or RETRY event's detail. Per thread (each node actor runs its kind in its own thread).
void zsat_kind_detail_set (const char *format, ...) __attribute__ ((format (printf, 1, 2)));
//  Returns the detail set since the last clear ("" when none).
const char *zsat_kind_detail (void);
void zsat_kind_detail_clear (void);

#endif
