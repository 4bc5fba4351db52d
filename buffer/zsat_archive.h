/*  zsat_archive - immutable HDF5 files made from finished log segments, and their reading.
    Layout of <channel dir>/arc-<first seq>-<last seq>.h5 (default file format: it reopens
    after any crash, unlike SWMR / LIBVER_LATEST files):
        /channels/<channel>/seq        uint64[n]
        /channels/<channel>/timestamp  int64[n]   microseconds since the epoch, when stored
        /channels/<channel>/task_id    uint64[n]
        /channels/<channel>/flags      uint32[n]
        /channels/<channel>/routing    variable-length string[n]   ("where/type")
        /channels/<channel>/envelope   variable-length uint8[n]    (msgpack envelope)
        /channels/<channel>/payload    variable-length uint8[n]
        attributes of /channels/<channel>: format = "zsat-buffer 1", first_seq, last_seq,
        first_time, last_time, and cursor.<consumer> (uint64) as they were when written.
    A file is written under a temporary name, closed, fsynced and renamed, so a crash leaves
    either no file or a whole one. HDF5's error printing is off: errors come back as err.
*/
#ifndef ZSAT_ARCHIVE_H_INCLUDED
#define ZSAT_ARCHIVE_H_INCLUDED
#include "zsat.h"
#include "zsat_wal.h"
#include "zsat_cursors.h"

typedef struct zsat_archive_t zsat_archive_t;

//  Writes the records of segment index of wal into the HDF5 file path (temp, fsync,
//  rename), with cursors (may be NULL) as attributes. Returns the record count, or -1 with err.
int64_t zsat_archive_write (const char *path, const char *channel, zsat_wal_t *wal, size_t index,
                            zsat_cursors_t *cursors, zsat_error_t *err);
//  Opens an archive for reading (records are loaded 4096 at a time, as they are asked for).
//  Returns it, or NULL with err.
zsat_archive_t *zsat_archive_open (const char *path, const char *channel, zsat_error_t *err);
void zsat_archive_destroy (zsat_archive_t **self_p);
size_t zsat_archive_count (zsat_archive_t *self);
//  Fills rec with record i (frames point into the archive until the next get or find, or
//  its destruction). Returns 0, or -1 past the end or on a read error.
int zsat_archive_get (zsat_archive_t *self, size_t index, zsat_wal_record_t *rec);
//  Index of seq, or -1 when it is not in this archive.
int64_t zsat_archive_find (zsat_archive_t *self, uint64_t seq);

//  Checks that path opens and holds the records first..last (the first and the last read
//  back). Returns 0, or -1 with err (truncated, not HDF5, wrong count).
int zsat_archive_check (const char *path, const char *channel, uint64_t first, uint64_t last,
                        zsat_error_t *err);
//  Salvages the readable records of a damaged archive at path (records first, first+1, ...):
//  reads the file's own bytes (HDF5 refuses a truncated file and may loop on a damaged
//  heap), keeps the longest run of whole records from first, and writes them into a new
//  archive arc-<first>-<last>.h5 in dir (its name into out, *last set). Returns the records
//  salvaged (0: none, no file written), or -1 with err.
int64_t zsat_archive_salvage (const char *path, const char *channel, uint64_t first,
                              const char *dir, char *out, size_t out_cap, uint64_t *last,
                              zsat_error_t *err);

void zsat_archive_test (bool verbose);

#endif
