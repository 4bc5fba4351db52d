/*  zsat_buffer - the durable store of one critical channel: <dir>/<channel>/ holds the
    write-ahead log segments (zsat_wal), the HDF5 archives of finished segments
    (zsat_archive) and the consumers' cursors (zsat_cursors). Appends are refused, never
    dropped, once the channel's files reach the disk limit. Garbage collection deletes whole
    segments and whole archives whose every record each consumer acknowledged. Records are
    read by seq from the archives or the log alike. Owns files, no sockets.
*/
#ifndef ZSAT_BUFFER_H_INCLUDED
#define ZSAT_BUFFER_H_INCLUDED
#include "zsat.h"
#include "zsat_wal.h"
#include "zsat_cursors.h"
#include "zsat_archive.h"

typedef struct {
    zsat_wal_opts_t wal;
    int64_t disk_limit;      //  bytes of segments + archives; 0 = no limit (1 GiB)
    int64_t cursor_save_ms;  //  cursors are written at most this often, and on close (100)
} zsat_buffer_opts_t;

typedef struct {
    zsat_wal_report_t wal;
    size_t archives;
    size_t temp_removed;        //  half-written archives (*.tmp) deleted
    size_t quarantined;         //  damaged archives renamed *.damaged (or that would be)
    uint64_t quarantined_last;  //  highest seq of any quarantined archive
    uint64_t seq_jump;          //  next seq when it had to move above the log's tail, else 0
    char seq_note[200];
    char quarantine[600];  //  what was quarantined and salvaged
    char message[1600];
} zsat_buffer_report_t;

typedef struct {
    uint64_t first_seq, last_seq;
    int64_t size;
    char path[4096];
} zsat_buffer_file_t;

typedef struct zsat_buffer_t zsat_buffer_t;

//  Reading position of one reader (a consumer's replay, an export). Owned by its caller.
typedef struct {
    zsat_wal_pos_t wal;
    zsat_archive_t *archive;
    uint64_t archive_first;
} zsat_buffer_pos_t;

void zsat_buffer_opts_init (zsat_buffer_opts_t *opts);
//  Fills opts from a topology channel (durability, max delay, disk limit). Returns 0 or -1.
int zsat_buffer_opts_from_channel (zsat_buffer_opts_t *opts, const zsat_channel_t *channel,
                                   zsat_error_t *err);

//  Opens the store of channel under dir (creating it unless opts->wal.read_only), repairing
//  the log; report (may be NULL) says what was repaired. Returns it, or NULL with err.
zsat_buffer_t *zsat_buffer_open (const char *dir, const char *channel,
                                 const zsat_buffer_opts_t *opts, zsat_buffer_report_t *report,
                                 zsat_error_t *err);
//  Commits pending records, saves cursors, closes files.
void zsat_buffer_destroy (zsat_buffer_t **self_p);
const char *zsat_buffer_channel (zsat_buffer_t *self);
const char *zsat_buffer_path (zsat_buffer_t *self);

//  Appends rec (seq set). Returns 0, or -1 with err: ZSAT_E_SIZE "disk limit reached ..."
//  when the channel is full (nothing is written), ZSAT_E_IO when the disk failed.
int zsat_buffer_append (zsat_buffer_t *self, zsat_wal_record_t *rec, zsat_error_t *err);
//  Highest seq that may be acknowledged to its sender (per the durability mode).
uint64_t zsat_buffer_durable_seq (zsat_buffer_t *self);
//  Group commit when due (or forced), and cursors saved at their rate. Returns 0 or -1.
int zsat_buffer_commit (zsat_buffer_t *self, bool force, zsat_error_t *err);
//  Milliseconds until zsat_buffer_commit has work (-1 when nothing pends).
int64_t zsat_buffer_commit_due (zsat_buffer_t *self);

//  Registers a consumer; a new one starts before the oldest stored record (it gets them all).
int zsat_buffer_consumer_add (zsat_buffer_t *self, const char *name, zsat_error_t *err);
//  Acknowledges seq for a consumer (out of order allowed). Returns 1 cursor moved, 0 not, -1.
int zsat_buffer_ack (zsat_buffer_t *self, const char *name, uint64_t seq, zsat_error_t *err);
zsat_cursors_t *zsat_buffer_cursors (zsat_buffer_t *self);

//  Reads record seq. Returns 1, 0 when it is not stored (collected, cut, or not yet
//  written), -1 with err. rec's frames stay valid until the next read with pos.
int zsat_buffer_read (zsat_buffer_t *self, zsat_buffer_pos_t *pos, uint64_t seq,
                      zsat_wal_record_t *rec, zsat_error_t *err);
//  What a read had to quarantine (a damaged archive), once, then NULL until the next one.
const char *zsat_buffer_notice (zsat_buffer_t *self);
void zsat_buffer_pos_init (zsat_buffer_pos_t *pos);
void zsat_buffer_pos_close (zsat_buffer_pos_t *pos);
//  First stored seq whose timestamp is at or after time_us (next seq when none).
uint64_t zsat_buffer_seq_since (zsat_buffer_t *self, int64_t time_us);

uint64_t zsat_buffer_first_seq (zsat_buffer_t *self);  //  0 when nothing is stored
uint64_t zsat_buffer_last_seq (zsat_buffer_t *self);   //  0 when nothing is stored
int64_t zsat_buffer_disk_size (zsat_buffer_t *self);
int64_t zsat_buffer_disk_limit (zsat_buffer_t *self);
zsat_wal_t *zsat_buffer_wal (zsat_buffer_t *self);
size_t zsat_buffer_archive_count (zsat_buffer_t *self);
const zsat_buffer_file_t *zsat_buffer_archive (zsat_buffer_t *self, size_t index);

//  Compacts every finished segment into an archive and deletes the segment. With rotate,
//  first finishes the active segment. Returns the number compacted, or -1 with err.
int zsat_buffer_compact (zsat_buffer_t *self, bool rotate, zsat_error_t *err);
//  Compacts the oldest finished segment only (bounded work per call). Returns 1 when it
//  compacted one, 0 when none is left, -1 with err.
int zsat_buffer_compact_step (zsat_buffer_t *self, zsat_error_t *err);
//  Deletes whole segments and archives at or below the lowest cursor. Returns how many
//  files were deleted, or -1 with err.
int zsat_buffer_gc (zsat_buffer_t *self, zsat_error_t *err);

//  Lists the channel names (subdirectories holding a log) of a buffer dir. Caller destroys.
zlist_t *zsat_buffer_channels (const char *dir);

void zsat_buffer_test (bool verbose);

#endif
