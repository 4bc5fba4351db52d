// SPDX-License-Identifier: MPL-2.0
/*  zsat_logrotate - keeps a node's log file within a size without stopping the node. The
    node writes to the file with O_APPEND through its own descriptor, so the file is copied
    to <log>.1 (older copies shifted to .2 ... .<keep>) and then truncated in place: the
    node's next line lands at the start of the now empty file. Lines written between the
    copy and the truncation (microseconds) are lost; the rest is kept.
*/
#ifndef ZSAT_LOGROTATE_H_INCLUDED
#define ZSAT_LOGROTATE_H_INCLUDED
#include <stdint.h>

#define ZSAT_LOGROTATE_MAX_DEFAULT (10 * 1024 * 1024)
#define ZSAT_LOGROTATE_KEEP        3

//  Rotates path when it is larger than max_bytes, keeping `keep` old copies. Returns 1 when
//  rotated, 0 when not needed (or no file), -1 on an I/O error (errno set).
int zsat_logrotate_check (const char *path, int64_t max_bytes, int keep);
//  The size limit: ZSAT_LOG_MAX (bytes, k/M/G suffixes as in topologies) or the default.
int64_t zsat_logrotate_max (void);

#endif
