// SPDX-License-Identifier: MPL-2.0
/*  zsat_pidlock - "one process at a time" for a run directory: an exclusive flock on a pid
    file, held for the holder's life (the kernel drops it when the process dies, so a stale
    file never blocks), with the holder's pid written in it for the message of the next one.
    Used by `zsat launch` (per host) and `zsat up` (every host of the topology), on the same
    file <run_dir>/<host>/launcher.pid, so neither starts a host the other runs.
*/
#ifndef ZSAT_PIDLOCK_H_INCLUDED
#define ZSAT_PIDLOCK_H_INCLUDED
#include <stdbool.h>

//  Locks path (created 0600) and writes our pid in it. Returns the open descriptor (keep it
//  until the end; close-on-exec, so children do not hold it), or -1: *holder is the pid of
//  the process holding it (0 when unknown or on another error, errno set).
int zsat_pidlock_acquire (const char *path, int *holder);
//  Removes the file and drops the lock; accepts -1.
void zsat_pidlock_release (int fd, const char *path);

void zsat_pidlock_test (bool verbose);

#endif
