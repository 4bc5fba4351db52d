// SPDX-License-Identifier: MPL-2.0
/*  zsat_chanlock - the owner of one channel directory. A process that writes a channel (the
    buffer node, `zsat buffer compact|gc|repair|cursor|write|verify`) holds an exclusive
    open-file-description lock (fcntl F_OFD_SETLK) on <channel dir>/lock for as long as it
    has the store open, with its pid written in the file. The kernel drops the lock when the
    process dies (kill -9 included), so a crashed owner never blocks its successor. Read-only
    readers take no lock; they can ask who holds it.
*/
#ifndef ZSAT_CHANLOCK_H_INCLUDED
#define ZSAT_CHANLOCK_H_INCLUDED
#include "zsat.h"

typedef struct zsat_chanlock_t zsat_chanlock_t;

//  Takes the lock of channel directory dir (created before). Returns it, or NULL with err
//  (ZSAT_E_IO) naming the pid of the process that holds it.
zsat_chanlock_t *zsat_chanlock_take (const char *dir, zsat_error_t *err);
//  Releases the lock (the lock file stays, it is harmless).
void zsat_chanlock_release (zsat_chanlock_t **self_p);
//  Pid of the process holding dir's lock: 0 when nobody holds it, -1 when it is held but
//  the pid cannot be read.
int64_t zsat_chanlock_owner (const char *dir);

void zsat_chanlock_test (bool verbose);

#endif
