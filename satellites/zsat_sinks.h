/*  zsat_sinks - what the four sink kinds (csv, log, hdf5, carbon) share: reading a vector's
    record (counting the vectors that carry no record), a rate-limited complaint, ISO-8601
    times, shortest round-trip numbers, path sanitising, directory creation, and splitting
    records in long format into rows (csv, hdf5).
    Owns no sockets and no files.
*/
#ifndef ZSAT_SINKS_H_INCLUDED
#define ZSAT_SINKS_H_INCLUDED
#include "zsat.h"

//  A rate-limited log line: the first one is logged, then at most one per interval, each
//  saying how many were suppressed since the previous one.
typedef struct {
    int64_t last_ms;
    uint64_t suppressed;
} zsat_sinks_limiter_t;

//  Decodes the vector's payload into r when its serialization is "zsat.record". Returns 0
//  when r holds the record; 1 when the vector is of another serialization (counted as
//  `skipped`, logged rate-limited); -1 when the record is malformed (counted as `malformed`,
//  logged rate-limited).
int zsat_sinks_record (zsat_ctx_t *ctx, zsat_sinks_limiter_t *limiter, const zsat_vector_t *v,
                       zsat_record_t *r);

//  Logs one line at level unless one was logged less than 10 s ago (then counts it).
void zsat_sinks_complain (zsat_ctx_t *ctx, zsat_sinks_limiter_t *limiter, int level,
                          const char *format, ...) __attribute__ ((format (printf, 4, 5)));

//  Writes the UTC time of a microsecond timestamp as "2026-11-23T13:18:25.123456Z".
void zsat_sinks_iso_time (int64_t usecs, char *buf, size_t cap);

//  Writes value as the shortest decimal that reads back to the same double ("nan", "inf",
//  "-inf" for those). Returns the length.
int zsat_sinks_number (double value, char *buf, size_t cap);

//  Copies src into dst keeping [A-Za-z0-9_-] (and '.' when keep_dot, except a leading one),
//  every other byte becomes '_'; an empty src gives "_".
void zsat_sinks_sanitize (const char *src, char *dst, size_t cap, bool keep_dot);

//  Creates dir and its parents (mode 0755). Returns 0, or -1 with errno.
int zsat_sinks_mkdirs (const char *dir);

//  A record in long format (docs/sinks.md "Rows"): its text field "zsat.rows" names a row
//  column (net: "iface"), and every key "<label>.<field>" (split at the last dot) belongs to
//  the row of that label, stored as <column>=<label>, <field>=value. Keys without a dot are
//  common to every row. Tabular sinks (csv, hdf5) store one row per label, so a type keeps
//  one set of columns however many interfaces come and go. Any other record is one row.
#define ZSAT_SINKS_ROWS_KEY "zsat.rows"

typedef struct {
    const zsat_record_t *record;
    char column[ZSAT_RECORD_KEY_MAX];         //  "" for a plain record
    size_t count;                             //  rows (at least 1)
    uint16_t row_of[ZSAT_RECORD_FIELDS_MAX];  //  per field: row + 1, 0 common, UINT16_MAX skip
    uint8_t split[ZSAT_RECORD_FIELDS_MAX];    //  per field: length of its label
    char label[ZSAT_RECORD_FIELDS_MAX][ZSAT_RECORD_KEY_MAX];
} zsat_sinks_rows_t;

//  Splits r into rows (r must outlive self). Returns the number of rows (>= 1).
size_t zsat_sinks_rows_split (zsat_sinks_rows_t *self, const zsat_record_t *r);
//  Returns row i: the record itself for a plain record, else row filled in and returned.
const zsat_record_t *zsat_sinks_rows_get (const zsat_sinks_rows_t *self, size_t i,
                                          zsat_record_t *row);

//  Returns a record holding every column of the rows, in order (the record itself for a plain
//  record, else out filled in): what a table must have to store them all.
const zsat_record_t *zsat_sinks_rows_columns (const zsat_sinks_rows_t *self, zsat_record_t *out);

//  Milliseconds of the monotonic clock.
int64_t zsat_sinks_now_ms (void);

#endif
