/*  zsat_wal - the write-ahead log of one channel (record layout in zsat_wal.h).

    One active segment is open for appending; older segments are finished and only read,
    compacted into HDF5 or deleted whole. Records are written with one writev so a kill -9
    leaves at worst one torn record at the tail, which the next open cuts off by its CRC.
*/
#include "zsat_wal.h"
#include <dirent.h>
#include <errno.h>
#include <stdarg.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#define WAL_READ_CHUNK (1024 * 1024)

struct zsat_wal_t {
    char *dir;
    zsat_wal_opts_t opts;
    zsat_wal_segment_t *seg;
    size_t seg_count, seg_cap;
    int fd;  //  active segment, -1 when read-only
    uint64_t next_seq;
    uint64_t durable_seq;
    int pending;            //  batch: records written since the last fdatasync
    int64_t pending_since;  //  zclock_mono () of the first pending record
    int64_t disk_size;
};

static void
s_put32 (uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static void
s_put64 (uint8_t *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static uint32_t
s_get32 (const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint64_t
s_get64 (const uint8_t *p)
{
    return (uint64_t)s_get32 (p) | (uint64_t)s_get32 (p + 4) << 32;
}

void
zsat_wal_opts_init (zsat_wal_opts_t *opts)
{
    memset (opts, 0, sizeof *opts);
    opts->durability = ZSAT_DURABLE_BATCH;
    opts->max_delay_ms = 10;
    opts->max_records = 64;
    opts->segment_size = 64 * 1024 * 1024;
}

int
zsat_durability_parse (const char *text, zsat_durability_t *mode)
{
    if (streq (text, "none"))
        *mode = ZSAT_DURABLE_NONE;
    else if (streq (text, "batch"))
        *mode = ZSAT_DURABLE_BATCH;
    else if (streq (text, "always"))
        *mode = ZSAT_DURABLE_ALWAYS;
    else
        return -1;
    return 0;
}

const char *
zsat_durability_name (zsat_durability_t mode)
{
    return mode == ZSAT_DURABLE_NONE ? "none" : mode == ZSAT_DURABLE_ALWAYS ? "always" : "batch";
}

int64_t
zsat_wal_decode (const uint8_t *data, size_t size, zsat_wal_record_t *rec)
{
    if (size < 8)
        return size >= 4 && s_get32 (data) != ZSAT_WAL_MAGIC ? -1 : 0;
    if (s_get32 (data) != ZSAT_WAL_MAGIC)
        return -1;
    uint32_t body = s_get32 (data + 4);
    if (body > ZSAT_WAL_BODY_MAX || body < 4 * ZSAT_WAL_FRAMES)
        return -1;
    if (size < ZSAT_WAL_HEADER_SIZE + (size_t)body)
        return 0;
    uint32_t crc = zsat_crc32 (0, data, 36);
    crc = zsat_crc32 (crc, data + ZSAT_WAL_HEADER_SIZE, body);
    if (crc != s_get32 (data + 36))
        return -1;
    rec->seq = s_get64 (data + 8);
    rec->timestamp = (int64_t)s_get64 (data + 16);
    rec->task_id = s_get64 (data + 24);
    rec->flags = s_get32 (data + 32);
    const uint8_t *p = data + ZSAT_WAL_HEADER_SIZE, *end = p + body;
    for (int i = 0; i < ZSAT_WAL_FRAMES; i++) {
        if (end - p < 4)
            return -1;
        size_t n = s_get32 (p);
        p += 4;
        if ((size_t)(end - p) < n)
            return -1;
        rec->frame[i] = p;
        rec->frame_size[i] = n;
        p += n;
    }
    rec->origin = NULL;
    rec->origin_size = 0;
    if (end - p >= 4 && (size_t)(end - p - 4) == s_get32 (p)) {
        rec->origin = p + 4;
        rec->origin_size = s_get32 (p);
        p = end;
    }
    return p == end ? (int64_t)(ZSAT_WAL_HEADER_SIZE + body) : -1;
}

//  --- Reading positions ---

void
zsat_wal_pos_init (zsat_wal_pos_t *pos)
{
    memset (pos, 0, sizeof *pos);
    pos->fd = -1;
}

void
zsat_wal_pos_close (zsat_wal_pos_t *pos)
{
    if (pos->fd >= 0)
        close (pos->fd);
    free (pos->buf);
    zsat_wal_pos_init (pos);
}

//  Makes at least need bytes from pos->offset available in buf, reading more as needed.
//  Returns the bytes available from offset (less than need at end of file), or -1.
static int64_t
s_fill (zsat_wal_pos_t *pos, size_t need)
{
    size_t at = (size_t)(pos->offset - pos->start);
    if (pos->len - at >= need)
        return (int64_t)(pos->len - at);
    if (pos->buf)
        memmove (pos->buf, pos->buf + at, pos->len - at);
    pos->len -= at;
    pos->start = pos->offset;
    if (pos->cap < need || pos->cap < WAL_READ_CHUNK) {
        size_t cap = need > WAL_READ_CHUNK ? need : WAL_READ_CHUNK;
        uint8_t *buf = realloc (pos->buf, cap);
        if (!buf)
            return -1;
        pos->buf = buf;
        pos->cap = cap;
    }
    while (pos->len < need) {
        ssize_t n = pread (pos->fd, pos->buf + pos->len, pos->cap - pos->len,
                           pos->start + (int64_t)pos->len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return -1;
        if (n == 0)
            break;
        pos->len += (size_t)n;
    }
    return (int64_t)pos->len;
}

//  Reads the record at pos->offset. Returns 1, 0 at a clean end of file, -1 at a torn or
//  corrupt record (pos->offset stays at its start), -2 on a read error.
static int
s_next (zsat_wal_pos_t *pos, zsat_wal_record_t *rec)
{
    int64_t n = s_fill (pos, ZSAT_WAL_HEADER_SIZE);
    if (n < 0)
        return -2;
    if (n == 0)
        return 0;
    const uint8_t *p = pos->buf + (pos->offset - pos->start);
    int64_t size = zsat_wal_decode (p, (size_t)n, rec);
    if (size == 0 && n >= ZSAT_WAL_HEADER_SIZE) {
        n = s_fill (pos, ZSAT_WAL_HEADER_SIZE + s_get32 (p + 4));
        if (n < 0)
            return -2;
        p = pos->buf + (pos->offset - pos->start);
        size = zsat_wal_decode (p, (size_t)n, rec);
    }
    if (size <= 0 || rec->seq != pos->next_seq)
        return -1;
    pos->offset += size;
    pos->next_seq++;
    return 1;
}

static int
s_pos_open (zsat_wal_t *self, zsat_wal_pos_t *pos, uint64_t first_seq)
{
    char path[4096];
    zsat_wal_segment_path (self, first_seq, path, sizeof path);
    if (pos->fd >= 0)
        close (pos->fd);
    pos->fd = open (path, O_RDONLY | O_CLOEXEC);
    pos->segment_first = first_seq;
    pos->next_seq = first_seq;
    pos->offset = pos->start = 0;
    pos->len = 0;
    return pos->fd >= 0 ? 0 : -1;
}

//  --- Opening, scanning and repairing ---

void
zsat_wal_segment_path (zsat_wal_t *self, uint64_t first_seq, char *buf, size_t cap)
{
    snprintf (buf, cap, "%s/seg-%020" PRIu64 ".log", self->dir, first_seq);
}

static int
s_sync_dir (const char *dir)
{
    int fd = open (dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    int rc = fsync (fd);
    close (fd);
    return rc;
}

static int
s_seg_add (zsat_wal_t *self, uint64_t first_seq)
{
    if (self->seg_count == self->seg_cap) {
        size_t cap = self->seg_cap ? self->seg_cap * 2 : 16;
        zsat_wal_segment_t *seg = realloc (self->seg, cap * sizeof *seg);
        if (!seg)
            return -1;
        self->seg = seg;
        self->seg_cap = cap;
    }
    zsat_wal_segment_t *s = &self->seg[self->seg_count++];
    memset (s, 0, sizeof *s);
    s->first_seq = first_seq;
    s->last_seq = first_seq - 1;
    return 0;
}

static int
s_seq_compare (const void *a, const void *b)
{
    uint64_t x = ((const zsat_wal_segment_t *)a)->first_seq;
    uint64_t y = ((const zsat_wal_segment_t *)b)->first_seq;
    return x < y ? -1 : x > y;
}

static int
s_list_segments (zsat_wal_t *self, zsat_error_t *err)
{
    DIR *d = opendir (self->dir);
    if (!d)
        return zsat_fail (err, ZSAT_E_IO, "cannot open %s: %s", self->dir, strerror (errno));
    struct dirent *e;
    int rc = 0;
    while (rc == 0 && (e = readdir (d))) {
        uint64_t first;
        char tail[8];
        if (sscanf (e->d_name, "seg-%20" SCNu64 "%7s", &first, tail) == 2 && streq (tail, ".log") &&
            first > 0)
            rc = s_seg_add (self, first);
    }
    closedir (d);
    if (rc)
        return zsat_fail (err, ZSAT_E_IO, "out of memory listing %s", self->dir);
    if (self->seg_count > 1)
        qsort (self->seg, self->seg_count, sizeof *self->seg, s_seq_compare);
    return 0;
}

static void s_report_add (zsat_wal_report_t *report, const char *format, ...)
    __attribute__ ((format (printf, 2, 3)));

static void
s_report_add (zsat_wal_report_t *report, const char *format, ...)
{
    size_t len = strlen (report->message);
    if (len + 3 >= sizeof report->message)
        return;
    if (len)
        len += (size_t)snprintf (report->message + len, sizeof report->message - len, "; ");
    va_list args;
    va_start (args, format);
    vsnprintf (report->message + len, sizeof report->message - len, format, args);
    va_end (args);
}

//  Scans one segment to its end or its first bad record, which it cuts off (unless
//  read-only) and reports. Returns 0, or -1 when the file cannot be read.
static int
s_scan_segment (zsat_wal_t *self, zsat_wal_segment_t *seg, zsat_wal_report_t *report,
                zsat_error_t *err)
{
    char path[4096];
    zsat_wal_segment_path (self, seg->first_seq, path, sizeof path);
    zsat_wal_pos_t pos;
    zsat_wal_pos_init (&pos);
    if (s_pos_open (self, &pos, seg->first_seq))
        return zsat_fail (err, ZSAT_E_IO, "cannot open %s: %s", path, strerror (errno));
    zsat_wal_record_t rec;
    int rc;
    while ((rc = s_next (&pos, &rec)) == 1) {
        if (seg->last_seq < seg->first_seq)
            seg->first_time = rec.timestamp;
        seg->last_seq = rec.seq;
        seg->last_time = rec.timestamp;
        report->records++;
    }
    struct stat st;
    int64_t end = pos.offset;
    int64_t file_size = fstat (pos.fd, &st) == 0 ? st.st_size : end;
    zsat_wal_pos_close (&pos);
    if (rc == -2)
        return zsat_fail (err, ZSAT_E_IO, "cannot read %s: %s", path, strerror (errno));
    seg->size = end;
    if (rc == -1 && file_size > end) {
        report->repaired++;
        report->bytes_cut += (uint64_t)(file_size - end);
        s_report_add (
            report, "%s%s: cut %" PRId64 " bytes at offset %" PRId64 " after seq %" PRIu64,
            self->opts.read_only ? "would repair " : "", path, file_size - end, end, seg->last_seq);
        if (!self->opts.read_only && truncate (path, end) != 0)
            return zsat_fail (err, ZSAT_E_IO, "cannot truncate %s: %s", path, strerror (errno));
    }
    return 0;
}

static int
s_open_active (zsat_wal_t *self, bool create, zsat_error_t *err)
{
    zsat_wal_segment_t *seg = &self->seg[self->seg_count - 1];
    char path[4096];
    zsat_wal_segment_path (self, seg->first_seq, path, sizeof path);
    int flags = O_WRONLY | O_APPEND | O_CLOEXEC | (create ? O_CREAT | O_EXCL : 0);
    self->fd = open (path, flags, 0644);
    if (self->fd < 0)
        return zsat_fail (err, ZSAT_E_IO, "cannot open %s: %s", path, strerror (errno));
    //  A new file's name must survive a power loss too, or its synced records would vanish.
    if (create && self->opts.durability != ZSAT_DURABLE_NONE && s_sync_dir (self->dir))
        return zsat_fail (err, ZSAT_E_IO, "cannot sync %s: %s", self->dir, strerror (errno));
    return 0;
}

static int
s_scan_all (zsat_wal_t *self, zsat_wal_report_t *report, zsat_error_t *err)
{
    if (s_list_segments (self, err))
        return -1;
    report->segments = self->seg_count;
    self->next_seq = 1;
    for (size_t i = 0; i < self->seg_count; i++) {
        zsat_wal_segment_t *seg = &self->seg[i];
        if (s_scan_segment (self, seg, report, err))
            return -1;
        self->disk_size += seg->size;
        uint64_t next = seg->last_seq + 1;
        if (next > self->next_seq)
            self->next_seq = next;
    }
    self->durable_seq = self->next_seq - 1;
    return 0;
}

zsat_wal_t *
zsat_wal_open (const char *dir, const zsat_wal_opts_t *opts, zsat_wal_report_t *report,
               zsat_error_t *err)
{
    zsat_wal_report_t scratch;
    if (!report)
        report = &scratch;
    memset (report, 0, sizeof *report);
    zsat_wal_t *self = calloc (1, sizeof *self);
    if (!self)
        return NULL;
    self->dir = strdup (dir);
    self->opts = *opts;
    self->fd = -1;
    if (!opts->read_only && zsys_dir_create ("%s", dir) != 0) {
        zsat_fail (err, ZSAT_E_IO, "cannot create %s: %s", dir, strerror (errno));
        goto fail;
    }
    if (s_scan_all (self, report, err))
        goto fail;
    if (!opts->read_only) {
        zsat_wal_segment_t *last = self->seg_count ? &self->seg[self->seg_count - 1] : NULL;
        //  Appends continue the last segment unless its seqs would not follow on.
        bool create = !last || last->last_seq + 1 != self->next_seq;
        if (create && s_seg_add (self, self->next_seq))
            goto fail;
        if (s_open_active (self, create, err))
            goto fail;
    }
    if (!report->message[0])
        snprintf (report->message, sizeof report->message,
                  "%zu segments, %" PRIu64 " records, nothing to repair", report->segments,
                  report->records);
    return self;
fail:
    zsat_wal_destroy (&self);
    return NULL;
}

void
zsat_wal_destroy (zsat_wal_t **self_p)
{
    zsat_wal_t *self = *self_p;
    if (!self)
        return;
    if (self->fd >= 0) {
        zsat_wal_commit (self, true, NULL);
        close (self->fd);
    }
    free (self->seg);
    free (self->dir);
    free (self);
    *self_p = NULL;
}

//  --- Appending ---

static int
s_sync (zsat_wal_t *self, zsat_error_t *err)
{
    if (fdatasync (self->fd) != 0)
        return zsat_fail (err, ZSAT_E_IO, "fdatasync failed in %s: %s", self->dir,
                          strerror (errno));
    self->durable_seq = self->next_seq - 1;
    self->pending = 0;
    return 0;
}

int
zsat_wal_rotate (zsat_wal_t *self, zsat_error_t *err)
{
    if (self->fd < 0)
        return zsat_fail (err, ZSAT_E_IO, "log %s is read-only", self->dir);
    zsat_wal_segment_t *last = &self->seg[self->seg_count - 1];
    if (last->size == 0)
        return 0;
    if (self->opts.durability != ZSAT_DURABLE_NONE && s_sync (self, err))
        return -1;
    close (self->fd);
    self->fd = -1;
    if (s_seg_add (self, self->next_seq))
        return zsat_fail (err, ZSAT_E_IO, "out of memory");
    return s_open_active (self, true, err);
}

//  Writes every iovec, going on after short writes; on failure cuts the file back to size so
//  no partial record stays. Returns 0 or -1 (errno set).
static int
s_write_all (int fd, struct iovec *iov, int count, int64_t size_before)
{
    while (count > 0) {
        ssize_t n = writev (fd, iov, count);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            int saved = errno;
            if (ftruncate (fd, size_before) != 0) {
                //  Nothing more to do: the next open cuts the torn record by its CRC.
            }
            errno = saved;
            return -1;
        }
        while (count > 0 && (size_t)n >= iov->iov_len) {
            n -= (ssize_t)iov->iov_len;
            iov++;
            count--;
        }
        if (count > 0) {
            iov->iov_base = (uint8_t *)iov->iov_base + n;
            iov->iov_len -= (size_t)n;
        }
    }
    return 0;
}

int
zsat_wal_append (zsat_wal_t *self, zsat_wal_record_t *rec, zsat_error_t *err)
{
    if (self->fd < 0)
        return zsat_fail (err, ZSAT_E_IO, "log %s is read-only", self->dir);
    size_t body = 4 * ZSAT_WAL_FRAMES + (rec->origin_size ? 4 + rec->origin_size : 0);
    for (int i = 0; i < ZSAT_WAL_FRAMES; i++)
        body += rec->frame_size[i];
    if (body > ZSAT_WAL_BODY_MAX)
        return zsat_fail (err, ZSAT_E_SIZE, "record of %zu bytes is over the limit %d", body,
                          ZSAT_WAL_BODY_MAX);
    zsat_wal_segment_t *seg = &self->seg[self->seg_count - 1];
    if (seg->size >= self->opts.segment_size && zsat_wal_rotate (self, err))
        return -1;
    seg = &self->seg[self->seg_count - 1];
    rec->seq = self->next_seq;
    uint8_t head[ZSAT_WAL_HEADER_SIZE], sizes[ZSAT_WAL_FRAMES + 1][4];
    s_put32 (head, ZSAT_WAL_MAGIC);
    s_put32 (head + 4, (uint32_t)body);
    s_put64 (head + 8, rec->seq);
    s_put64 (head + 16, (uint64_t)rec->timestamp);
    s_put64 (head + 24, rec->task_id);
    s_put32 (head + 32, rec->flags);
    uint32_t crc = zsat_crc32 (0, head, 36);
    struct iovec iov[1 + 2 * (ZSAT_WAL_FRAMES + 1)] = {{head, sizeof head}};
    int frames = rec->origin_size ? ZSAT_WAL_FRAMES + 1 : ZSAT_WAL_FRAMES;
    for (int i = 0; i < frames; i++) {
        const uint8_t *data = i < ZSAT_WAL_FRAMES ? rec->frame[i] : rec->origin;
        size_t size = i < ZSAT_WAL_FRAMES ? rec->frame_size[i] : rec->origin_size;
        s_put32 (sizes[i], (uint32_t)size);
        crc = zsat_crc32 (crc, sizes[i], 4);
        crc = zsat_crc32 (crc, data, size);
        iov[1 + 2 * i] = (struct iovec){sizes[i], 4};
        iov[2 + 2 * i] = (struct iovec){(void *)data, size};
    }
    s_put32 (head + 36, crc);
    if (s_write_all (self->fd, iov, 1 + 2 * frames, seg->size))
        return zsat_fail (err, ZSAT_E_IO, "cannot append to %s: %s", self->dir, strerror (errno));
    int64_t total = ZSAT_WAL_HEADER_SIZE + (int64_t)body;
    if (seg->last_seq < seg->first_seq)
        seg->first_time = rec->timestamp;
    seg->last_seq = rec->seq;
    seg->last_time = rec->timestamp;
    seg->size += total;
    self->disk_size += total;
    self->next_seq++;
    if (self->opts.durability == ZSAT_DURABLE_NONE)
        self->durable_seq = rec->seq;
    else if (self->opts.durability == ZSAT_DURABLE_ALWAYS)
        return s_sync (self, err);
    else {
        if (self->pending++ == 0)
            self->pending_since = zclock_mono ();
        if (self->pending >= self->opts.max_records)
            return s_sync (self, err);
    }
    return 0;
}

uint64_t
zsat_wal_durable_seq (zsat_wal_t *self)
{
    return self->durable_seq;
}

int64_t
zsat_wal_commit_due (zsat_wal_t *self)
{
    if (self->pending == 0)
        return -1;
    int64_t left = self->pending_since + self->opts.max_delay_ms - zclock_mono ();
    return left > 0 ? left : 0;
}

int
zsat_wal_commit (zsat_wal_t *self, bool force, zsat_error_t *err)
{
    if (self->fd < 0 || self->pending == 0)
        return 0;
    if (force || zsat_wal_commit_due (self) == 0)
        return s_sync (self, err);
    return 0;
}

//  --- Index ---

uint64_t
zsat_wal_first_seq (zsat_wal_t *self)
{
    for (size_t i = 0; i < self->seg_count; i++)
        if (self->seg[i].last_seq >= self->seg[i].first_seq)
            return self->seg[i].first_seq;
    return 0;
}

uint64_t
zsat_wal_last_seq (zsat_wal_t *self)
{
    for (size_t i = self->seg_count; i-- > 0;)
        if (self->seg[i].last_seq >= self->seg[i].first_seq)
            return self->seg[i].last_seq;
    return 0;
}

uint64_t
zsat_wal_next_seq (zsat_wal_t *self)
{
    return self->next_seq;
}

int64_t
zsat_wal_disk_size (zsat_wal_t *self)
{
    return self->disk_size;
}

size_t
zsat_wal_segment_count (zsat_wal_t *self)
{
    return self->seg_count;
}

const zsat_wal_segment_t *
zsat_wal_segment (zsat_wal_t *self, size_t index)
{
    return index < self->seg_count ? &self->seg[index] : NULL;
}

int
zsat_wal_drop_segment (zsat_wal_t *self, size_t index, zsat_error_t *err)
{
    if (index >= self->seg_count || (self->fd >= 0 && index == self->seg_count - 1))
        return zsat_fail (err, ZSAT_E_CONFIG, "segment %zu cannot be dropped", index);
    char path[4096];
    zsat_wal_segment_path (self, self->seg[index].first_seq, path, sizeof path);
    if (unlink (path) != 0 && errno != ENOENT)
        return zsat_fail (err, ZSAT_E_IO, "cannot delete %s: %s", path, strerror (errno));
    self->disk_size -= self->seg[index].size;
    memmove (&self->seg[index], &self->seg[index + 1],
             (self->seg_count - index - 1) * sizeof *self->seg);
    self->seg_count--;
    return 0;
}

int
zsat_wal_set_next_seq (zsat_wal_t *self, uint64_t next_seq, zsat_error_t *err)
{
    zsat_wal_segment_t *last = &self->seg[self->seg_count - 1];
    if (self->fd < 0 || last->size > 0 || next_seq < self->next_seq)
        return zsat_fail (err, ZSAT_E_CONFIG, "next seq can only move forward on an empty log");
    if (next_seq == self->next_seq)
        return 0;
    char path[4096];
    zsat_wal_segment_path (self, last->first_seq, path, sizeof path);
    close (self->fd);
    self->fd = -1;
    unlink (path);
    last->first_seq = next_seq;
    last->last_seq = next_seq - 1;
    self->next_seq = next_seq;
    self->durable_seq = next_seq - 1;
    return s_open_active (self, true, err);
}

//  --- Random and sequential reading ---

int
zsat_wal_read (zsat_wal_t *self, zsat_wal_pos_t *pos, uint64_t seq, zsat_wal_record_t *rec,
               zsat_error_t *err)
{
    //  Binary search: the first segment whose last seq is at or above seq.
    size_t i = 0, hi = self->seg_count;
    while (i < hi) {
        size_t mid = i + (hi - i) / 2;
        if (self->seg[mid].last_seq < seq)
            i = mid + 1;
        else
            hi = mid;
    }
    if (i == self->seg_count || self->seg[i].first_seq > seq)
        return 0;
    if (pos->fd < 0 || pos->segment_first != self->seg[i].first_seq || pos->next_seq > seq)
        if (s_pos_open (self, pos, self->seg[i].first_seq))
            return zsat_fail (err, ZSAT_E_IO, "cannot open segment %" PRIu64 " in %s: %s",
                              self->seg[i].first_seq, self->dir, strerror (errno));
    while (pos->next_seq <= seq) {
        int rc = s_next (pos, rec);
        if (rc != 1)
            return zsat_fail (err, ZSAT_E_IO, "segment %" PRIu64 " in %s: %s at offset %" PRId64,
                              self->seg[i].first_seq, self->dir,
                              rc == -2 ? strerror (errno) : "bad record", pos->offset);
    }
    return 1;
}

//  --- Selftest ---

static void
s_fill_record (zsat_wal_record_t *rec, uint64_t n, uint8_t *payload, size_t size)
{
    memset (rec, 0, sizeof *rec);
    for (size_t i = 0; i < size; i++)
        payload[i] = (uint8_t)(n * 31 + i);
    rec->timestamp = (int64_t)n * 1000;
    rec->task_id = n + 100;
    rec->frame[0] = (const uint8_t *)"host/type";
    rec->frame_size[0] = 9;
    rec->frame[1] = (const uint8_t *)"env";
    rec->frame_size[1] = 3;
    rec->frame[2] = payload;
    rec->frame_size[2] = size;
}

static void
s_check_all (const char *dir, uint64_t expect_last, zsat_wal_report_t *report)
{
    zsat_wal_opts_t opts;
    zsat_wal_opts_init (&opts);
    opts.read_only = true;
    zsat_wal_t *wal = zsat_wal_open (dir, &opts, report, NULL);
    assert (wal);
    assert (zsat_wal_last_seq (wal) == expect_last);
    zsat_wal_pos_t pos;
    zsat_wal_pos_init (&pos);
    zsat_wal_record_t rec;
    uint8_t payload[64];
    for (uint64_t s = zsat_wal_first_seq (wal); s && s <= expect_last; s++) {
        assert (zsat_wal_read (wal, &pos, s, &rec, NULL) == 1);
        assert (rec.seq == s && rec.task_id == s + 100);
        s_fill_record (&(zsat_wal_record_t){0}, s, payload, rec.frame_size[2]);
        assert (memcmp (rec.frame[2], payload, rec.frame_size[2]) == 0);
    }
    zsat_wal_pos_close (&pos);
    zsat_wal_destroy (&wal);
}

void
zsat_wal_test (bool verbose)
{
    printf (" * zsat_wal: ");
    char dir[] = "/tmp/zsat_wal_test.XXXXXX";
    assert (mkdtemp (dir));
    zsat_wal_opts_t opts;
    zsat_wal_opts_init (&opts);
    opts.segment_size = 1000;
    zsat_wal_report_t report;
    zsat_error_t err;
    zsat_wal_t *wal = zsat_wal_open (dir, &opts, &report, &err);
    assert (wal && report.repaired == 0);
    uint8_t payload[64];
    zsat_wal_record_t rec;
    for (uint64_t n = 1; n <= 100; n++) {
        s_fill_record (&rec, n, payload, n % 50);
        assert (zsat_wal_append (wal, &rec, &err) == 0);
        assert (rec.seq == n);
    }
    assert (zsat_wal_segment_count (wal) > 5);  //  rotated by size
    assert (zsat_wal_durable_seq (wal) >= 64);
    assert (zsat_wal_commit (wal, true, &err) == 0 && zsat_wal_durable_seq (wal) == 100);
    zsat_wal_destroy (&wal);
    s_check_all (dir, 100, &report);
    assert (report.repaired == 0 && report.records == 100);

    //  A torn tail (a kill -9 inside writev): cut at every length of the last record.
    char path[4096];
    wal = zsat_wal_open (dir, &opts, &report, &err);
    s_fill_record (&rec, 101, payload, 40);
    assert (zsat_wal_append (wal, &rec, &err) == 0 && rec.seq == 101);
    size_t last = zsat_wal_segment_count (wal) - 1;
    zsat_wal_segment_path (wal, zsat_wal_segment (wal, last)->first_seq, path, sizeof path);
    zsat_wal_destroy (&wal);
    struct stat st;
    assert (stat (path, &st) == 0);
    int64_t full = st.st_size, record = ZSAT_WAL_HEADER_SIZE + 12 + 9 + 3 + 40;
    for (int64_t cut = 1; cut < record; cut += 7) {
        assert (truncate (path, full - cut) == 0);
        wal = zsat_wal_open (dir, &opts, &report, &err);
        assert (wal && report.repaired == 1 && report.bytes_cut == (uint64_t)(record - cut));
        assert (zsat_wal_next_seq (wal) == 101);
        s_fill_record (&rec, 101, payload, 40);
        assert (zsat_wal_append (wal, &rec, &err) == 0 && rec.seq == 101);
        zsat_wal_destroy (&wal);
        assert (stat (path, &st) == 0 && st.st_size == full);
    }
    s_check_all (dir, 101, &report);
    assert (report.repaired == 0);

    //  A flipped byte anywhere in the last record's bytes: cut there, never a crash.
    int fd = open (path, O_RDWR);
    for (int64_t off = full - record; off < full; off += 3) {
        uint8_t b;
        assert (pread (fd, &b, 1, off) == 1);
        b ^= 0x5A;
        assert (pwrite (fd, &b, 1, off) == 1);
        s_check_all (dir, 100, &report);  //  read-only: reports without cutting
        assert (report.repaired == 1 && strstr (report.message, "would repair"));
        b ^= 0x5A;
        assert (pwrite (fd, &b, 1, off) == 1);
    }
    close (fd);
    s_check_all (dir, 101, &report);
    assert (report.repaired == 0);
    char cmd[256];
    snprintf (cmd, sizeof cmd, "rm -rf %s", dir);
    assert (system (cmd) == 0);
    //  The optional origin frame is stored, covered by the CRC and read back.
    assert (mkdtemp (strcpy (dir, "/tmp/zsat_wal_test.XXXXXX")));
    wal = zsat_wal_open (dir, &opts, &report, &err);
    s_fill_record (&rec, 1, payload, 10);
    rec.origin = (const uint8_t *)"p1234 77", rec.origin_size = 8;
    assert (zsat_wal_append (wal, &rec, &err) == 0 && rec.seq == 1);
    s_fill_record (&rec, 2, payload, 10);
    assert (zsat_wal_append (wal, &rec, &err) == 0 && rec.seq == 2);
    zsat_wal_destroy (&wal);
    opts.read_only = true;
    wal = zsat_wal_open (dir, &opts, &report, &err);
    assert (wal && report.repaired == 0 && zsat_wal_last_seq (wal) == 2);
    zsat_wal_pos_t pos;
    zsat_wal_pos_init (&pos);
    assert (zsat_wal_read (wal, &pos, 1, &rec, &err) == 1);
    assert (rec.origin_size == 8 && memcmp (rec.origin, "p1234 77", 8) == 0);
    assert (zsat_wal_read (wal, &pos, 2, &rec, &err) == 1 && rec.origin == NULL);
    zsat_wal_pos_close (&pos);
    zsat_wal_destroy (&wal);
    snprintf (cmd, sizeof cmd, "rm -rf %s", dir);
    assert (system (cmd) == 0);
    if (verbose)
        printf ("(segments rotate, torn tails and flipped bytes repaired, origin kept) ");
    printf ("OK\n");
}
