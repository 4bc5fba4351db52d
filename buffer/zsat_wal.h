/*  zsat_wal - the write-ahead log of one channel: append-only segment files
    <dir>/seg-<firstseq, 20 digits>.log, each a sequence of records

        offset size  field (little-endian)
             0    4  magic 0x5A575231 ("1RWZ" on disk)
             4    4  body size in bytes
             8    8  seq (1, 2, 3, ... without gaps inside a segment)
            16    8  timestamp, microseconds since the epoch (when stored)
            24    8  task_id
            32    4  flags (ZSAT_FLAG_*)
            36    4  CRC-32 (zsat_crc32) of bytes 0..35 then of the body
            40    -  body: 3 frames (routing, envelope, payload), each u32 size + bytes,
                     then optionally a 4th, the origin ("<producer> <id>", for de-duplication)

    A record is acknowledged after write() returned (mode none), or after the fdatasync that
    covers it (always: one per record; batch: group commit every max_records records or
    max_delay_ms). Opening scans every segment, truncates at the first record that is torn
    or fails its CRC, and says so in a repair report. Owns file descriptors, no sockets.
*/
#ifndef ZSAT_WAL_H_INCLUDED
#define ZSAT_WAL_H_INCLUDED
#include "zsat.h"

#define ZSAT_WAL_MAGIC       0x5A575231u
#define ZSAT_WAL_HEADER_SIZE 40
#define ZSAT_WAL_FRAMES      3
//  Largest body accepted: a full payload plus generous routing and envelope.
#define ZSAT_WAL_BODY_MAX (ZSAT_PAYLOAD_MAX + 64 * 1024)

typedef enum { ZSAT_DURABLE_NONE, ZSAT_DURABLE_BATCH, ZSAT_DURABLE_ALWAYS } zsat_durability_t;

typedef struct {
    zsat_durability_t durability;
    int64_t max_delay_ms;  //  batch: fsync at least this often once something is pending (10)
    int max_records;       //  batch: fsync once this many are pending (64)
    int64_t segment_size;  //  rotate when a segment reaches this many bytes (64 MiB)
    bool read_only;        //  scan and report, never truncate nor create
} zsat_wal_opts_t;

typedef struct {
    uint64_t seq;
    int64_t timestamp;
    uint64_t task_id;
    uint32_t flags;
    const uint8_t *frame[ZSAT_WAL_FRAMES];  //  routing, envelope, payload
    size_t frame_size[ZSAT_WAL_FRAMES];
    const uint8_t *origin;  //  "<producer> <id>" of a PUT, or NULL (not archived)
    size_t origin_size;
} zsat_wal_record_t;

typedef struct {
    size_t segments;     //  segment files found
    uint64_t records;    //  valid records kept
    size_t repaired;     //  segments cut at a bad record
    uint64_t bytes_cut;  //  bytes removed (or that would be, read-only)
    char message[512];   //  one line per repaired segment, '; '-separated
} zsat_wal_report_t;

typedef struct {
    uint64_t first_seq, last_seq;  //  last < first when empty
    int64_t size;
    int64_t first_time, last_time;
} zsat_wal_segment_t;

typedef struct zsat_wal_t zsat_wal_t;

//  Fills opts with defaults (batch, 10 ms, 64 records, 64 MiB).
void zsat_wal_opts_init (zsat_wal_opts_t *opts);
//  Parses "none" / "batch" / "always". Returns 0, or -1 when unknown.
int zsat_durability_parse (const char *text, zsat_durability_t *mode);
const char *zsat_durability_name (zsat_durability_t mode);

//  Opens (creating dir unless read-only) the log in dir, scanning and repairing every
//  segment; report (may be NULL) says what was cut. Returns the log, or NULL with err.
zsat_wal_t *zsat_wal_open (const char *dir, const zsat_wal_opts_t *opts, zsat_wal_report_t *report,
                           zsat_error_t *err);
//  Syncs what is pending (unless read-only) and closes every file.
void zsat_wal_destroy (zsat_wal_t **self_p);

//  Appends rec (its seq is set to the next sequence). Returns 0 once the record is written
//  (and synced in mode always), or -1 with err; a failed append leaves no partial record.
int zsat_wal_append (zsat_wal_t *self, zsat_wal_record_t *rec, zsat_error_t *err);
//  Highest seq that is acknowledged-safe for the durability mode (written or synced).
uint64_t zsat_wal_durable_seq (zsat_wal_t *self);
//  Batch mode: syncs when the group is due (max_delay_ms passed or max_records pending); any
//  mode when force. Returns 0, or -1 with err. Call it from the owner's timer.
int zsat_wal_commit (zsat_wal_t *self, bool force, zsat_error_t *err);
//  Milliseconds until the pending group is due (-1 when nothing is pending).
int64_t zsat_wal_commit_due (zsat_wal_t *self);

uint64_t zsat_wal_first_seq (zsat_wal_t *self);  //  0 when empty
uint64_t zsat_wal_last_seq (zsat_wal_t *self);   //  0 when empty
uint64_t zsat_wal_next_seq (zsat_wal_t *self);
int64_t zsat_wal_disk_size (zsat_wal_t *self);
size_t zsat_wal_segment_count (zsat_wal_t *self);
//  Segment i (0 = oldest); the last one is the active segment.
const zsat_wal_segment_t *zsat_wal_segment (zsat_wal_t *self, size_t index);
//  Closes the active segment (synced) and starts a new one, so it can be compacted.
int zsat_wal_rotate (zsat_wal_t *self, zsat_error_t *err);
//  Removes segment i (not the active one) from the log and deletes its file. Returns 0 or -1.
int zsat_wal_drop_segment (zsat_wal_t *self, size_t index, zsat_error_t *err);
//  Path of the file of the segment starting at first_seq, into buf.
void zsat_wal_segment_path (zsat_wal_t *self, uint64_t first_seq, char *buf, size_t cap);
//  Makes first_seq the next seq of an empty log (after everything was archived). Returns 0/-1.
int zsat_wal_set_next_seq (zsat_wal_t *self, uint64_t next_seq, zsat_error_t *err);

//  Sequential reading position, owned by its caller; not shared between threads.
typedef struct {
    int fd;
    uint64_t segment_first;  //  segment the fd reads
    uint64_t next_seq;       //  seq of the record at offset
    int64_t offset;          //  file offset of the next record
    int64_t start;           //  file offset of buf[0]
    uint8_t *buf;
    size_t len, cap;
} zsat_wal_pos_t;

void zsat_wal_pos_init (zsat_wal_pos_t *pos);
void zsat_wal_pos_close (zsat_wal_pos_t *pos);
//  Reads the record seq into rec (frames point into pos's buffer until the next read).
//  Returns 1, 0 when seq is not in the log (archived, collected or not yet written), or -1.
int zsat_wal_read (zsat_wal_t *self, zsat_wal_pos_t *pos, uint64_t seq, zsat_wal_record_t *rec,
                   zsat_error_t *err);

//  Decodes one record from bytes (header + body). Returns its total size, 0 when the bytes
//  end inside it, or -1 when it is not a valid record (magic, size or CRC).
int64_t zsat_wal_decode (const uint8_t *data, size_t size, zsat_wal_record_t *rec);

void zsat_wal_test (bool verbose);

#endif
