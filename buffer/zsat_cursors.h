/*  zsat_cursors - the consumers of one channel and their cursors. A cursor is the highest
    sequence below which a consumer acknowledged everything; acknowledgements may arrive out
    of order, so a window of ZSAT_CURSOR_WINDOW bits above the cursor remembers the others.
    Persisted atomically (temp file, fsync, rename, fsync of the directory) as text:
        zsat-cursors 2
        high-water <seq>
        <consumer> <cursor>
    The high-water mark is the channel's: no seq above it was ever handed out, so a store
    reopened after a cut log starts above it (version 1 files, without it, still load).
    A persisted cursor may lag the real one: after a crash some records are delivered again
    (at least once), never fewer. Owns no sockets.
*/
#ifndef ZSAT_CURSORS_H_INCLUDED
#define ZSAT_CURSORS_H_INCLUDED
#include "zsat.h"

#define ZSAT_CURSOR_WINDOW 4096

typedef struct zsat_cursors_t zsat_cursors_t;

//  Loads path when it exists (else starts empty). save_interval_ms bounds how often
//  zsat_cursors_save writes; a negative interval never writes (read-only). Returns the set, or NULL with err when the file is invalid.
zsat_cursors_t *zsat_cursors_open (const char *path, int64_t save_interval_ms, zsat_error_t *err);
//  Saves when dirty, then frees.
void zsat_cursors_destroy (zsat_cursors_t **self_p);
//  Registers a consumer (kept when it exists) with cursor start. Returns 0, or -1 on a bad name.
int zsat_cursors_add (zsat_cursors_t *self, const char *name, uint64_t start, zsat_error_t *err);
//  Records that name acknowledged seq. Returns 1 when the cursor moved, 0 when not (out of
//  order, or a duplicate), -1 with err for an unknown consumer or a seq beyond the window.
int zsat_cursors_ack (zsat_cursors_t *self, const char *name, uint64_t seq, zsat_error_t *err);
//  Sets a consumer's cursor (replay from an older point, or skip). Returns 0 or -1.
int zsat_cursors_set (zsat_cursors_t *self, const char *name, uint64_t cursor, zsat_error_t *err);
//  Returns true and sets *cursor when name is registered.
bool zsat_cursors_get (zsat_cursors_t *self, const char *name, uint64_t *cursor);
//  True when name acknowledged seq (at or below its cursor, or in its window).
bool zsat_cursors_acked (zsat_cursors_t *self, const char *name, uint64_t seq);
//  Lowest cursor of every consumer; 0 when there is none (nothing may be collected).
uint64_t zsat_cursors_min (zsat_cursors_t *self);
//  Highest cursor of every consumer; 0 when there is none.
uint64_t zsat_cursors_max (zsat_cursors_t *self);
//  The seq high-water mark persisted with the cursors (0 when never set).
uint64_t zsat_cursors_high (zsat_cursors_t *self);
void zsat_cursors_set_high (zsat_cursors_t *self, uint64_t high);
size_t zsat_cursors_count (zsat_cursors_t *self);
//  Name of consumer i (and its cursor), or NULL past the end.
const char *zsat_cursors_at (zsat_cursors_t *self, size_t index, uint64_t *cursor);
//  Writes the file when dirty and (force or the interval passed). Returns 0, or -1 with err.
int zsat_cursors_save (zsat_cursors_t *self, bool force, zsat_error_t *err);

void zsat_cursors_test (bool verbose);

#endif
