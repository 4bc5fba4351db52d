/*  zsat_buffer - the durable store of one critical channel (zsat_buffer.h). Ties the log,
    the archives and the cursors: appends under a disk limit, reads by seq wherever the
    record lives now, compacts finished segments and collects what every consumer acked.
*/
#include "zsat_buffer.h"
#include "zsat_chanlock.h"
#include <dirent.h>
#include <errno.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

struct zsat_buffer_t {
    char *channel, *path;
    zsat_buffer_opts_t opts;
    zsat_wal_t *wal;
    zsat_cursors_t *cursors;
    zsat_buffer_file_t *arc;  //  sorted by first_seq
    size_t arc_count, arc_cap;
    int64_t arc_size;
    zsat_chanlock_t *lock;  //  held while open for writing: one writer per channel
    uint64_t high_saved;    //  the high-water mark on disk: every seq handed out is below
    char notice[800];       //  a quarantine done while reading, for the owner to log once
};

//  Seqs reserved per write of the high-water mark: the cursors file is written once per
//  this many appends, and a crash leaves a gap of at most this many seqs.
#define SEQ_RESERVE 65536

void
zsat_buffer_opts_init (zsat_buffer_opts_t *opts)
{
    memset (opts, 0, sizeof *opts);
    zsat_wal_opts_init (&opts->wal);
    opts->disk_limit = (int64_t)1 << 30;
    opts->cursor_save_ms = 100;
}

int
zsat_buffer_opts_from_channel (zsat_buffer_opts_t *opts, const zsat_channel_t *channel,
                               zsat_error_t *err)
{
    if (channel->durability && zsat_durability_parse (channel->durability, &opts->wal.durability))
        return zsat_fail (err, ZSAT_E_CONFIG,
                          "channel %s: durability '%s' is not none, batch "
                          "or always",
                          channel->name, channel->durability);
    if (channel->max_delay_ms > 0)
        opts->wal.max_delay_ms = channel->max_delay_ms;
    if (channel->disk_limit > 0)
        opts->disk_limit = channel->disk_limit;
    return 0;
}

static int
s_arc_compare (const void *a, const void *b)
{
    uint64_t x = ((const zsat_buffer_file_t *)a)->first_seq;
    uint64_t y = ((const zsat_buffer_file_t *)b)->first_seq;
    return x < y ? -1 : x > y;
}

static int
s_arc_add (zsat_buffer_t *self, uint64_t first, uint64_t last, const char *path)
{
    if (self->arc_count == self->arc_cap) {
        size_t cap = self->arc_cap ? self->arc_cap * 2 : 16;
        zsat_buffer_file_t *arc = realloc (self->arc, cap * sizeof *arc);
        if (!arc)
            return -1;
        self->arc = arc;
        self->arc_cap = cap;
    }
    zsat_buffer_file_t *f = &self->arc[self->arc_count++];
    f->first_seq = first;
    f->last_seq = last;
    snprintf (f->path, sizeof f->path, "%s", path);
    struct stat st;
    f->size = stat (path, &st) == 0 ? st.st_size : 0;
    self->arc_size += f->size;
    return 0;
}

static void
s_arc_remove (zsat_buffer_t *self, size_t i)
{
    self->arc_size -= self->arc[i].size;
    memmove (&self->arc[i], &self->arc[i + 1], (self->arc_count - i - 1) * sizeof *self->arc);
    self->arc_count--;
}

//  A damaged archive is renamed *.damaged, its whole records salvaged into a new archive,
//  and the channel goes on without the rest (a hole, delivered around like a cut log).
//  Read-only, it is only reported and left out. Writes one line into note.
static void
s_quarantine (zsat_buffer_t *self, size_t i, const char *why, char *note, size_t cap)
{
    zsat_buffer_file_t f = self->arc[i];
    s_arc_remove (self, i);
    uint64_t n = f.last_seq - f.first_seq + 1;
    if (self->opts.wal.read_only) {
        snprintf (note, cap, "would quarantine %s (%s)", f.path, why);
        return;
    }
    char damaged[4200], out[4200];
    snprintf (damaged, sizeof damaged, "%s.damaged", f.path);
    zsat_error_t err;
    uint64_t last = 0;
    int64_t got = -1;
    if (rename (f.path, damaged) == 0)
        got = zsat_archive_salvage (damaged, self->channel, f.first_seq, self->path, out,
                                    sizeof out, &last, &err);
    else
        zsat_fail (&err, ZSAT_E_IO, "cannot rename %s: %s", f.path, strerror (errno));
    if (got > 0 && s_arc_add (self, f.first_seq, last, out) == 0 && self->arc_count > 1)
        qsort (self->arc, self->arc_count, sizeof *self->arc, s_arc_compare);
    snprintf (note, cap,
              "quarantined %s (%s) as *.damaged; salvaged %" PRId64 " of %" PRIu64 " records%s%s",
              f.path, why, got > 0 ? got : 0, n, got < 0 ? ": " : "", got < 0 ? err.text : "");
}

//  Returns 0 when archive i reads back, else quarantines it (it leaves the list) and -1.
static int
s_check_archive (zsat_buffer_t *self, size_t i, zsat_buffer_report_t *report)
{
    zsat_error_t err;
    zsat_buffer_file_t *f = &self->arc[i];
    if (zsat_archive_check (f->path, self->channel, f->first_seq, f->last_seq, &err) == 0)
        return 0;
    if (f->last_seq > report->quarantined_last)
        report->quarantined_last = f->last_seq;
    report->quarantined++;
    char note[700];
    s_quarantine (self, i, err.text, note, sizeof note);
    size_t len = strlen (report->quarantine);
    if (len + 3 < sizeof report->quarantine)
        snprintf (report->quarantine + len, sizeof report->quarantine - len, "%s%s",
                  len ? "; " : "", note);
    return -1;
}

//  Finds the archives; deletes half-written ones (*.tmp: a crash during compaction).
static int
s_scan_archives (zsat_buffer_t *self, zsat_buffer_report_t *report, zsat_error_t *err)
{
    DIR *d = opendir (self->path);
    if (!d)
        return errno == ENOENT && self->opts.wal.read_only
                   ? zsat_fail (err, ZSAT_E_IO, "no channel store at %s", self->path)
                   : zsat_fail (err, ZSAT_E_IO, "cannot open %s: %s", self->path, strerror (errno));
    struct dirent *e;
    int rc = 0;
    while (rc == 0 && (e = readdir (d))) {
        uint64_t first, last;
        char tail[16], path[4400];
        snprintf (path, sizeof path, "%s/%s", self->path, e->d_name);
        int fields = sscanf (e->d_name, "arc-%20" SCNu64 "-%20" SCNu64 "%15s", &first, &last, tail);
        if (fields == 3 && streq (tail, ".h5"))
            rc = s_arc_add (self, first, last, path);
        else if (fields == 3 && streq (tail, ".h5.damaged") && last > report->quarantined_last)
            report->quarantined_last = last;  //  its seqs were handed out: never again
        else if (fields == 3 && streq (tail, ".h5.tmp") && !self->opts.wal.read_only) {
            unlink (path);
            report->temp_removed++;
        }
    }
    closedir (d);
    if (rc)
        return zsat_fail (err, ZSAT_E_IO, "out of memory");
    if (self->arc_count > 1)
        qsort (self->arc, self->arc_count, sizeof *self->arc, s_arc_compare);
    for (size_t i = 0; i < self->arc_count;)
        i += s_check_archive (self, i, report) ? 0 : 1;
    report->archives = self->arc_count;
    return 0;
}

//  A crash between writing an archive and deleting its segment leaves both: drop the segment.
static void
s_drop_archived_segments (zsat_buffer_t *self)
{
    for (size_t i = 0; i + 1 < zsat_wal_segment_count (self->wal);) {
        const zsat_wal_segment_t *seg = zsat_wal_segment (self->wal, i);
        bool archived = false;
        for (size_t a = 0; a < self->arc_count; a++)
            archived |=
                self->arc[a].first_seq == seg->first_seq && self->arc[a].last_seq == seg->last_seq;
        if (!archived || zsat_wal_drop_segment (self->wal, i, NULL))
            i++;
    }
}

//  Seqs are never reused: the next one is above the log's tail, every archive, every cursor
//  and the high-water mark, whatever a repair, a power loss or an operator cut away.
static int
s_seq_floor (zsat_buffer_t *self, zsat_buffer_report_t *report, zsat_error_t *err)
{
    zsat_wal_t *wal = self->wal;
    uint64_t tail = zsat_wal_next_seq (wal) - 1, floor = tail;
    uint64_t arc_last = self->arc_count ? self->arc[self->arc_count - 1].last_seq : 0;
    uint64_t cursor = zsat_cursors_max (self->cursors), high = zsat_cursors_high (self->cursors);
    floor = arc_last > floor ? arc_last : floor;
    floor = report->quarantined_last > floor ? report->quarantined_last : floor;
    floor = cursor > floor ? cursor : floor;
    floor = high > floor ? high : floor;
    self->high_saved = high;
    if (floor == tail)
        return 0;
    report->seq_jump = floor + 1;
    if (cursor > tail && cursor > arc_last)
        snprintf (report->seq_note, sizeof report->seq_note,
                  "a cursor is at %" PRIu64 " but the log ends at %" PRIu64
                  ", records lost to a cut or a power loss",
                  cursor, tail);
    //  A segment's seqs have no gap: the next seq starts a segment of its own.
    if (zsat_wal_rotate (wal, err) || zsat_wal_set_next_seq (wal, floor + 1, err))
        return -1;
    return 0;
}

//  mkdir -p where a parent another process creates at the same moment is no failure: czmq's
//  zsys_dir_create tests, then creates, so two buffer nodes sharing a new `dir` raced on it.
static int
s_make_dirs (const char *path)
{
    char partial[1024];
    size_t size = strlen (path);
    if (size == 0 || size >= sizeof partial) {
        errno = ENAMETOOLONG;
        return -1;
    }
    for (size_t i = 1; i <= size; i++) {
        if (path[i] != '/' && path[i] != 0)
            continue;
        memcpy (partial, path, i);
        partial[i] = 0;
        if (mkdir (partial, 0775) != 0 && errno != EEXIST)
            return -1;
    }
    struct stat st;
    if (stat (path, &st) != 0)
        return -1;
    if (!S_ISDIR (st.st_mode)) {
        errno = ENOTDIR;
        return -1;
    }
    return 0;
}

static int
s_open_parts (zsat_buffer_t *self, zsat_buffer_report_t *report, zsat_error_t *err)
{
    if (!self->opts.wal.read_only && s_make_dirs (self->path) != 0)
        return zsat_fail (err, ZSAT_E_IO, "cannot create %s: %s", self->path, strerror (errno));
    //  The lock comes before any repair: a second writer must not cut a live segment.
    if (!self->opts.wal.read_only && !(self->lock = zsat_chanlock_take (self->path, err)))
        return -1;
    if (s_scan_archives (self, report, err))
        return -1;
    self->wal = zsat_wal_open (self->path, &self->opts.wal, &report->wal, err);
    if (!self->wal)
        return -1;
    char path[4400];
    snprintf (path, sizeof path, "%s/cursors", self->path);
    int64_t interval = self->opts.wal.read_only ? -1 : self->opts.cursor_save_ms;
    self->cursors = zsat_cursors_open (path, interval, err);
    if (!self->cursors)
        return -1;
    if (self->opts.wal.read_only)
        return 0;
    s_drop_archived_segments (self);
    return s_seq_floor (self, report, err);
}

zsat_buffer_t *
zsat_buffer_open (const char *dir, const char *channel, const zsat_buffer_opts_t *opts,
                  zsat_buffer_report_t *report, zsat_error_t *err)
{
    zsat_buffer_report_t scratch;
    if (!report)
        report = &scratch;
    memset (report, 0, sizeof *report);
    if (!zsat_name_valid (channel)) {
        zsat_fail (err, ZSAT_E_FIELD, "invalid channel name '%.64s'", channel);
        return NULL;
    }
    zsat_buffer_t *self = calloc (1, sizeof *self);
    if (!self)
        return NULL;
    self->channel = strdup (channel);
    self->path = zsys_sprintf ("%s/%s", dir, channel);
    self->opts = *opts;
    //  Only whole finished segments can be collected: several must fit under the limit.
    int64_t quarter = opts->disk_limit / 4 > 4096 ? opts->disk_limit / 4 : 4096;
    if (opts->disk_limit > 0 && self->opts.wal.segment_size > quarter)
        self->opts.wal.segment_size = quarter;
    if (s_open_parts (self, report, err)) {
        zsat_buffer_destroy (&self);
        return NULL;
    }
    char jump[300] = "";
    if (report->seq_jump)
        snprintf (jump, sizeof jump, "; next seq %" PRIu64 ", above every seq handed out%s%s",
                  report->seq_jump, report->seq_note[0] ? ": " : "", report->seq_note);
    snprintf (report->message, sizeof report->message, "%s: %s; %zu archives%s%s%s", channel,
              report->wal.message, report->archives,
              report->temp_removed ? "; removed half-written archives" : "",
              report->quarantine[0] ? "; " : "", report->quarantine);
    size_t len = strlen (report->message);
    snprintf (report->message + len, sizeof report->message - len, "%s", jump);
    return self;
}

void
zsat_buffer_destroy (zsat_buffer_t **self_p)
{
    zsat_buffer_t *self = *self_p;
    if (!self)
        return;
    //  A clean close leaves the exact high-water mark: the next open needs no gap.
    if (self->wal && self->cursors && self->lock)
        zsat_cursors_set_high (self->cursors, zsat_wal_next_seq (self->wal) - 1);
    zsat_wal_destroy (&self->wal);
    zsat_cursors_destroy (&self->cursors);
    zsat_chanlock_release (&self->lock);
    free (self->arc);
    free (self->channel);
    zstr_free (&self->path);
    free (self);
    *self_p = NULL;
}

const char *
zsat_buffer_channel (zsat_buffer_t *self)
{
    return self->channel;
}

const char *
zsat_buffer_path (zsat_buffer_t *self)
{
    return self->path;
}

//  --- Appending ---

int
zsat_buffer_append (zsat_buffer_t *self, zsat_wal_record_t *rec, zsat_error_t *err)
{
    int64_t size = ZSAT_WAL_HEADER_SIZE + 4 * ZSAT_WAL_FRAMES;
    for (int i = 0; i < ZSAT_WAL_FRAMES; i++)
        size += (int64_t)rec->frame_size[i];
    int64_t limit = self->opts.disk_limit;
    if (limit > 0 && zsat_buffer_disk_size (self) + size > limit)
        zsat_buffer_gc (self, NULL);
    if (limit > 0 && zsat_buffer_disk_size (self) + size > limit)
        return zsat_fail (err, ZSAT_E_SIZE,
                          "disk limit reached: channel %s holds %" PRId64 " of %" PRId64
                          " bytes; refusing new records until consumers acknowledge",
                          self->channel, zsat_buffer_disk_size (self), limit);
    //  The high-water mark is on disk before a seq above it exists, in reserves.
    uint64_t seq = zsat_wal_next_seq (self->wal);
    if (seq > self->high_saved) {
        zsat_cursors_set_high (self->cursors, seq + SEQ_RESERVE - 1);
        if (zsat_cursors_save (self->cursors, true, err))
            return -1;
        self->high_saved = seq + SEQ_RESERVE - 1;
    }
    return zsat_wal_append (self->wal, rec, err);
}

uint64_t
zsat_buffer_durable_seq (zsat_buffer_t *self)
{
    return zsat_wal_durable_seq (self->wal);
}

int
zsat_buffer_commit (zsat_buffer_t *self, bool force, zsat_error_t *err)
{
    if (zsat_wal_commit (self->wal, force, err))
        return -1;
    return self->opts.wal.read_only ? 0 : zsat_cursors_save (self->cursors, force, err);
}

int64_t
zsat_buffer_commit_due (zsat_buffer_t *self)
{
    return zsat_wal_commit_due (self->wal);
}

//  --- Consumers ---

int
zsat_buffer_consumer_add (zsat_buffer_t *self, const char *name, zsat_error_t *err)
{
    uint64_t first = zsat_buffer_first_seq (self);
    uint64_t start = first ? first - 1 : zsat_wal_next_seq (self->wal) - 1;
    return zsat_cursors_add (self->cursors, name, start, err);
}

int
zsat_buffer_ack (zsat_buffer_t *self, const char *name, uint64_t seq, zsat_error_t *err)
{
    if (seq >= zsat_wal_next_seq (self->wal))
        return zsat_fail (err, ZSAT_E_FIELD, "ack of %s for seq %" PRIu64 " never stored", name,
                          seq);
    return zsat_cursors_ack (self->cursors, name, seq, err);
}

zsat_cursors_t *
zsat_buffer_cursors (zsat_buffer_t *self)
{
    return self->cursors;
}

//  --- Reading ---

void
zsat_buffer_pos_init (zsat_buffer_pos_t *pos)
{
    memset (pos, 0, sizeof *pos);
    zsat_wal_pos_init (&pos->wal);
}

void
zsat_buffer_pos_close (zsat_buffer_pos_t *pos)
{
    zsat_wal_pos_close (&pos->wal);
    zsat_archive_destroy (&pos->archive);
    zsat_buffer_pos_init (pos);
}

static const zsat_buffer_file_t *
s_arc_find (zsat_buffer_t *self, uint64_t seq)
{
    for (size_t i = 0; i < self->arc_count; i++)
        if (self->arc[i].first_seq <= seq && seq <= self->arc[i].last_seq)
            return &self->arc[i];
    return NULL;
}

//  An archive that fails while being read (damaged after the open checked it): a writer
//  quarantines it once and reads on (salvaged, or a hole: 0); a reader reports the error.
static int
s_read_failed (zsat_buffer_t *self, zsat_buffer_pos_t *pos, const zsat_buffer_file_t *arc,
               uint64_t seq, zsat_wal_record_t *rec, zsat_error_t *err)
{
    zsat_archive_destroy (&pos->archive);
    if (self->opts.wal.read_only)
        return -1;
    size_t i = (size_t)(arc - self->arc);
    char why[600];
    snprintf (why, sizeof why, "%s", err ? err->text : "unreadable");
    s_quarantine (self, i, why, self->notice, sizeof self->notice);
    //  Others may hold the damaged file open under the same first seq: never reuse it.
    pos->archive_first = 0;
    const zsat_buffer_file_t *again = s_arc_find (self, seq);
    if (!again)
        return zsat_wal_read (self->wal, &pos->wal, seq, rec, err);
    pos->archive = zsat_archive_open (again->path, self->channel, err);
    pos->archive_first = pos->archive ? again->first_seq : 0;
    int64_t index = pos->archive ? zsat_archive_find (pos->archive, seq) : -1;
    return index >= 0 && zsat_archive_get (pos->archive, (size_t)index, rec) == 0 ? 1 : -1;
}

int
zsat_buffer_read (zsat_buffer_t *self, zsat_buffer_pos_t *pos, uint64_t seq, zsat_wal_record_t *rec,
                  zsat_error_t *err)
{
    const zsat_buffer_file_t *arc = s_arc_find (self, seq);
    if (!arc)
        return zsat_wal_read (self->wal, &pos->wal, seq, rec, err);
    if (!pos->archive || pos->archive_first != arc->first_seq) {
        zsat_archive_destroy (&pos->archive);
        pos->archive = zsat_archive_open (arc->path, self->channel, err);
        if (!pos->archive)
            return s_read_failed (self, pos, arc, seq, rec, err);
        pos->archive_first = arc->first_seq;
    }
    int64_t index = zsat_archive_find (pos->archive, seq);
    if (index < 0 || zsat_archive_get (pos->archive, (size_t)index, rec) != 0) {
        zsat_fail (err, ZSAT_E_IO, "cannot read seq %" PRIu64 " from HDF5 archive %s", seq,
                   arc->path);
        return s_read_failed (self, pos, arc, seq, rec, err);
    }
    return 1;
}

const char *
zsat_buffer_notice (zsat_buffer_t *self)
{
    static __thread char taken[sizeof self->notice];
    if (!self->notice[0])
        return NULL;
    snprintf (taken, sizeof taken, "%s", self->notice);
    self->notice[0] = 0;
    return taken;
}

uint64_t
zsat_buffer_seq_since (zsat_buffer_t *self, int64_t time_us)
{
    zsat_buffer_pos_t pos;
    zsat_buffer_pos_init (&pos);
    uint64_t seq = zsat_buffer_first_seq (self), last = zsat_buffer_last_seq (self);
    zsat_wal_t *wal = self->wal;
    for (size_t i = 0; i < zsat_wal_segment_count (wal); i++) {
        const zsat_wal_segment_t *seg = zsat_wal_segment (wal, i);
        //  Whole segments older than time_us are skipped without reading them.
        if (seg->last_seq >= seg->first_seq && seg->last_time < time_us && seq <= seg->last_seq)
            seq = seg->last_seq + 1;
    }
    zsat_wal_record_t rec;
    while (seq && seq <= last) {
        int rc = zsat_buffer_read (self, &pos, seq, &rec, NULL);
        if (rc == 1 && rec.timestamp >= time_us)
            break;
        seq++;
    }
    zsat_buffer_pos_close (&pos);
    return seq && seq <= last ? seq : zsat_wal_next_seq (wal);
}

//  --- Index ---

uint64_t
zsat_buffer_first_seq (zsat_buffer_t *self)
{
    if (self->arc_count)
        return self->arc[0].first_seq;
    return zsat_wal_first_seq (self->wal);
}

uint64_t
zsat_buffer_last_seq (zsat_buffer_t *self)
{
    uint64_t last = zsat_wal_last_seq (self->wal);
    if (!last && self->arc_count)
        last = self->arc[self->arc_count - 1].last_seq;
    return last;
}

int64_t
zsat_buffer_disk_size (zsat_buffer_t *self)
{
    return zsat_wal_disk_size (self->wal) + self->arc_size;
}

int64_t
zsat_buffer_disk_limit (zsat_buffer_t *self)
{
    return self->opts.disk_limit;
}

zsat_wal_t *
zsat_buffer_wal (zsat_buffer_t *self)
{
    return self->wal;
}

size_t
zsat_buffer_archive_count (zsat_buffer_t *self)
{
    return self->arc_count;
}

const zsat_buffer_file_t *
zsat_buffer_archive (zsat_buffer_t *self, size_t index)
{
    return index < self->arc_count ? &self->arc[index] : NULL;
}

//  --- Compaction and collection ---

int
zsat_buffer_compact_step (zsat_buffer_t *self, zsat_error_t *err)
{
    if (self->opts.wal.read_only)
        return zsat_fail (err, ZSAT_E_IO, "%s is open read-only", self->path);
    while (zsat_wal_segment_count (self->wal) > 1) {
        const zsat_wal_segment_t *seg = zsat_wal_segment (self->wal, 0);
        bool empty = seg->last_seq < seg->first_seq;
        if (!empty) {
            char path[4400];
            snprintf (path, sizeof path, "%s/arc-%020" PRIu64 "-%020" PRIu64 ".h5", self->path,
                      seg->first_seq, seg->last_seq);
            if (zsat_archive_write (path, self->channel, self->wal, 0, self->cursors, err) < 0 ||
                s_arc_add (self, seg->first_seq, seg->last_seq, path))
                return -1;
        }
        //  The archive is renamed and synced: only now may the segment go.
        if (zsat_wal_drop_segment (self->wal, 0, err))
            return -1;
        if (!empty)
            return 1;
    }
    return 0;
}

int
zsat_buffer_compact (zsat_buffer_t *self, bool rotate, zsat_error_t *err)
{
    if (self->opts.wal.read_only)
        return zsat_fail (err, ZSAT_E_IO, "%s is open read-only", self->path);
    const zsat_wal_segment_t *last =
        zsat_wal_segment (self->wal, zsat_wal_segment_count (self->wal) - 1);
    if (rotate && last->last_seq >= last->first_seq && zsat_wal_rotate (self->wal, err))
        return -1;
    int done = 0, rc;
    while ((rc = zsat_buffer_compact_step (self, err)) == 1)
        done++;
    return rc < 0 ? -1 : done;
}

int
zsat_buffer_gc (zsat_buffer_t *self, zsat_error_t *err)
{
    if (self->opts.wal.read_only)
        return zsat_fail (err, ZSAT_E_IO, "%s is open read-only", self->path);
    uint64_t below = zsat_cursors_min (self->cursors);
    //  The active segment is never deleted: once all of it is acknowledged, finish it, or a
    //  channel at its disk limit could stay full with nothing left to deliver.
    uint64_t last = zsat_wal_last_seq (self->wal);
    size_t active = zsat_wal_segment_count (self->wal) - 1;
    if (last && last <= below && zsat_wal_segment (self->wal, active)->last_seq == last &&
        zsat_wal_rotate (self->wal, err))
        return -1;
    int deleted = 0;
    while (self->arc_count && self->arc[0].last_seq <= below) {
        if (unlink (self->arc[0].path) != 0 && errno != ENOENT)
            return zsat_fail (err, ZSAT_E_IO, "cannot delete %s: %s", self->arc[0].path,
                              strerror (errno));
        self->arc_size -= self->arc[0].size;
        memmove (&self->arc[0], &self->arc[1], --self->arc_count * sizeof *self->arc);
        deleted++;
    }
    while (zsat_wal_segment_count (self->wal) > 1 &&
           zsat_wal_segment (self->wal, 0)->last_seq <= below) {
        if (zsat_wal_drop_segment (self->wal, 0, err))
            return -1;
        deleted++;
    }
    return deleted;
}

zlist_t *
zsat_buffer_channels (const char *dir)
{
    zlist_t *list = zlist_new ();
    zlist_autofree (list);
    DIR *d = opendir (dir);
    struct dirent *e;
    while (d && (e = readdir (d))) {
        char path[4400];
        snprintf (path, sizeof path, "%s/%s", dir, e->d_name);
        struct stat st;
        if (e->d_name[0] != '.' && zsat_name_valid (e->d_name) && stat (path, &st) == 0 &&
            S_ISDIR (st.st_mode))
            zlist_append (list, e->d_name);
    }
    if (d)
        closedir (d);
    zlist_sort (list, NULL);
    return list;
}

//  --- Selftest ---

static void
s_append_n (zsat_buffer_t *buf, int n)
{
    char payload[32];
    for (int i = 0; i < n; i++) {
        zsat_wal_record_t rec = {.timestamp = zclock_time () * 1000, .task_id = 7};
        snprintf (payload, sizeof payload, "p%" PRIu64, zsat_wal_next_seq (buf->wal));
        rec.frame[2] = (uint8_t *)payload, rec.frame_size[2] = strlen (payload);
        assert (zsat_buffer_append (buf, &rec, NULL) == 0);
    }
}

static void
s_check_readable (zsat_buffer_t *buf, uint64_t from, uint64_t to)
{
    zsat_buffer_pos_t pos;
    zsat_buffer_pos_init (&pos);
    zsat_wal_record_t rec;
    char payload[32];
    for (uint64_t s = from; s <= to; s++) {
        assert (zsat_buffer_read (buf, &pos, s, &rec, NULL) == 1 && rec.seq == s);
        snprintf (payload, sizeof payload, "p%" PRIu64, s);
        assert (rec.frame_size[2] == strlen (payload));
        assert (memcmp (rec.frame[2], payload, rec.frame_size[2]) == 0);
    }
    zsat_buffer_pos_close (&pos);
}

//  Eight processes create the same new nested directories at once (two buffer nodes of one
//  topology sharing a `dir`): every one succeeds. A file in the way is an error.
static void
s_test_make_dirs (void)
{
    char dir[] = "/tmp/zsat_mkdirs_test.XXXXXX", deep[300];
    assert (mkdtemp (dir));
    int gate[2];
    assert (pipe (gate) == 0);
    for (int round = 0; round < 20; round++) {
        snprintf (deep, sizeof deep, "%s/race%d/a/b/c/ch%d", dir, round, round);
        pid_t kids[8];
        for (int k = 0; k < 8; k++) {
            kids[k] = fork ();
            assert (kids[k] >= 0);
            if (kids[k] == 0) {
                char go;
                _exit (read (gate[0], &go, 1) == 1 && s_make_dirs (deep) == 0 ? 0 : 1);
            }
        }
        assert (write (gate[1], "gggggggg", 8) == 8);
        for (int k = 0; k < 8; k++) {
            int status;
            assert (waitpid (kids[k], &status, 0) == kids[k]);
            assert (WIFEXITED (status) && WEXITSTATUS (status) == 0);
        }
    }
    close (gate[0]);
    close (gate[1]);
    assert (s_make_dirs (deep) == 0);  //  existing: fine
    snprintf (deep, sizeof deep, "%s/race0/file", dir);
    FILE *f = fopen (deep, "w");
    assert (f && fclose (f) == 0);
    assert (s_make_dirs (deep) == -1 && errno == ENOTDIR);
    snprintf (deep, sizeof deep, "%s/race0/file/below", dir);
    assert (s_make_dirs (deep) == -1);
    snprintf (deep, sizeof deep, "rm -rf '%s'", dir);
    assert (system (deep) == 0);
}

void
zsat_buffer_test (bool verbose)
{
    printf (" * zsat_buffer: ");
    char dir[] = "/tmp/zsat_buffer_test.XXXXXX", cmd[200];
    assert (mkdtemp (dir));
    s_test_make_dirs ();
    zsat_buffer_opts_t opts;
    zsat_buffer_opts_init (&opts);
    opts.wal.segment_size = 2000;
    opts.disk_limit = 0;
    zsat_error_t err;
    zsat_buffer_t *buf = zsat_buffer_open (dir, "crit", &opts, NULL, &err);
    assert (buf);
    assert (zsat_buffer_consumer_add (buf, "fast", &err) == 0);
    assert (zsat_buffer_consumer_add (buf, "slow", &err) == 0);
    s_append_n (buf, 300);
    assert (zsat_buffer_compact (buf, true, &err) > 3);
    s_append_n (buf, 100);  //  seqs 301..400 in the log, 1..300 archived
    s_check_readable (buf, 1, 400);
    //  Two consumers at different speeds: nothing is collected until both acknowledged.
    for (uint64_t s = 1; s <= 400; s++)
        assert (zsat_buffer_ack (buf, "fast", s, &err) >= 0);
    assert (zsat_buffer_gc (buf, &err) == 0);
    for (uint64_t s = 1; s <= 150; s++)
        assert (zsat_buffer_ack (buf, "slow", s, &err) >= 0);
    int deleted = zsat_buffer_gc (buf, &err);
    assert (deleted > 0);
    assert (zsat_buffer_first_seq (buf) <= 151);  //  nothing above the lowest cursor went
    s_check_readable (buf, 151, 400);
    assert (zsat_buffer_ack (buf, "slow", 401, &err) == -1);  //  never stored
    zsat_buffer_destroy (&buf);

    //  Reopen: cursors persisted, seqs go on after the archives, nothing to repair.
    zsat_buffer_report_t report;
    buf = zsat_buffer_open (dir, "crit", &opts, &report, &err);
    assert (buf && report.wal.repaired == 0 && report.archives > 0);
    //  One writer: a second open for writing is refused while this one holds the channel.
    assert (zsat_buffer_open (dir, "crit", &opts, NULL, &err) == NULL);
    assert (strstr (err.text, "in use by process"));
    opts.wal.read_only = true;
    zsat_buffer_t *reader = zsat_buffer_open (dir, "crit", &opts, NULL, &err);
    assert (reader);
    zsat_buffer_destroy (&reader);
    opts.wal.read_only = false;
    uint64_t cursor;
    assert (zsat_cursors_get (zsat_buffer_cursors (buf), "slow", &cursor) && cursor == 150);
    assert (zsat_buffer_compact (buf, true, &err) >= 1);
    s_append_n (buf, 1);
    assert (zsat_buffer_last_seq (buf) == 401);
    s_check_readable (buf, 151, 401);
    assert (zsat_buffer_seq_since (buf, 0) == zsat_buffer_first_seq (buf));
    assert (zsat_buffer_seq_since (buf, INT64_MAX) == 402);

    //  Disk limit: refused with a clear error, nothing stored is lost.
    zsat_buffer_destroy (&buf);
    opts.disk_limit = 1;
    buf = zsat_buffer_open (dir, "crit", &opts, NULL, &err);
    zsat_wal_record_t rec = {.timestamp = 1};
    assert (zsat_buffer_append (buf, &rec, &err) == -1 && err.code == ZSAT_E_SIZE);
    assert (strstr (err.text, "disk limit reached"));
    s_check_readable (buf, 151, 401);
    zsat_buffer_destroy (&buf);
    //  Once everything is acknowledged the store empties (active segment included) and
    //  takes records again.
    opts.disk_limit = 2000;
    buf = zsat_buffer_open (dir, "crit", &opts, NULL, &err);
    assert (zsat_buffer_append (buf, &rec, &err) == -1 && err.code == ZSAT_E_SIZE);
    for (uint64_t s = 151; s <= 401; s++)
        assert (zsat_buffer_ack (buf, "slow", s, &err) >= 0);
    for (uint64_t s = 401; s <= 401; s++)
        assert (zsat_buffer_ack (buf, "fast", s, &err) >= 0);
    assert (zsat_buffer_append (buf, &rec, &err) == 0 && rec.seq == 402);
    zsat_buffer_destroy (&buf);
    //  A crash after seqs were handed out, then the log cut below them (a power loss in
    //  mode none): the next seq comes after the reserved high-water mark, never below it.
    buf = zsat_buffer_open (dir, "hwm", &opts, NULL, &err);
    s_append_n (buf, 10);
    snprintf (cmd, sizeof cmd, "cp %s/hwm/cursors %s/hwm.crash", dir, dir);
    assert (system (cmd) == 0);
    zsat_buffer_destroy (&buf);
    snprintf (cmd, sizeof cmd, "mv %s/hwm.crash %s/hwm/cursors; truncate -s 0 %s/hwm/seg-*", dir,
              dir, dir);
    assert (system (cmd) == 0);
    zsat_buffer_report_t rep;
    buf = zsat_buffer_open (dir, "hwm", &opts, &rep, &err);
    assert (buf && rep.seq_jump == SEQ_RESERVE + 1 && strstr (rep.message, "next seq"));
    rec.timestamp = 1;
    assert (zsat_buffer_append (buf, &rec, &err) == 0 && rec.seq == SEQ_RESERVE + 1);
    zsat_buffer_destroy (&buf);
    //  A clean close leaves the exact mark: no gap at the next open.
    buf = zsat_buffer_open (dir, "hwm", &opts, &rep, &err);
    assert (buf && rep.seq_jump == 0 && zsat_wal_next_seq (buf->wal) == SEQ_RESERVE + 2);
    zsat_buffer_destroy (&buf);
    zlist_t *channels = zsat_buffer_channels (dir);
    assert (zlist_size (channels) == 2 && streq (zlist_first (channels), "crit"));
    zlist_destroy (&channels);
    snprintf (cmd, sizeof cmd, "rm -rf %s", dir);
    assert (system (cmd) == 0);
    if (verbose)
        printf ("(compaction, gc below the lowest cursor, disk limit) ");
    printf ("OK\n");
}
