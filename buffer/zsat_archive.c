/*  zsat_archive - finished log segments compacted into immutable HDF5 files (layout in
    zsat_archive.h). Every function that holds HDF5 handles starts them invalid, checks each
    call with `goto out` and closes whatever is valid in one place.
*/
#include "zsat_archive.h"
#include <errno.h>
#include <fcntl.h>
#include <hdf5.h>
#include <sys/stat.h>
#include <unistd.h>

#define ARCHIVE_FORMAT "zsat-buffer 1"

//  Records are read a window at a time, so replaying a big archive takes bounded memory.
#define ARCHIVE_WINDOW 4096
#define COLUMNS        7

static const char *s_columns[COLUMNS] = {"seq",     "task_id",  "timestamp", "flags",
                                         "routing", "envelope", "payload"};

struct zsat_archive_t {
    hid_t file, group, set[COLUMNS];
    hid_t vlen_u8, vlen_str, mem_space;  //  mem_space: the loaded window, when loaded
    size_t count;                        //  records in the file
    uint64_t first_seq;
    size_t lo, n;   //  the window holds records lo .. lo+n-1
    size_t window;  //  records loaded at a time (ARCHIVE_WINDOW, 1 for a check)
    uint64_t seq[ARCHIVE_WINDOW], task_id[ARCHIVE_WINDOW];
    int64_t timestamp[ARCHIVE_WINDOW];
    uint32_t flags[ARCHIVE_WINDOW];
    char *routing[ARCHIVE_WINDOW];
    hvl_t envelope[ARCHIVE_WINDOW], payload[ARCHIVE_WINDOW];
};

//  HDF5 prints its error stack on stderr by default; a library must not print.
static void
s_quiet (void)
{
    H5Eset_auto2 (H5E_DEFAULT, NULL, NULL);
}

//  The records of one segment file, decoded in place in one buffer read from disk.
typedef struct {
    uint8_t *data;
    size_t n;
    uint64_t *seq, *task_id;
    int64_t *timestamp;
    uint32_t *flags;
    char **routing;
    char *routing_text;
    hvl_t *envelope, *payload;
} columns_t;

static void
s_columns_free (columns_t *c)
{
    free (c->data);
    free (c->seq);
    free (c->task_id);
    free (c->timestamp);
    free (c->flags);
    free (c->routing);
    free (c->routing_text);
    free (c->envelope);
    free (c->payload);
}

static int
s_read_file (const char *path, int64_t size, uint8_t **data_p, zsat_error_t *err)
{
    uint8_t *data = malloc (size > 0 ? (size_t)size : 1);
    int fd = open (path, O_RDONLY | O_CLOEXEC);
    int64_t got = 0;
    while (data && fd >= 0 && got < size) {
        ssize_t n = pread (fd, data + got, (size_t)(size - got), got);
        if (n <= 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        got += n;
    }
    if (fd >= 0)
        close (fd);
    if (!data || got < size) {
        free (data);
        return zsat_fail (err, ZSAT_E_IO, "cannot read %s: %s", path, strerror (errno));
    }
    *data_p = data;
    return 0;
}

static int
s_columns_load (columns_t *c, zsat_wal_t *wal, size_t index, zsat_error_t *err)
{
    const zsat_wal_segment_t *seg = zsat_wal_segment (wal, index);
    char path[4096];
    zsat_wal_segment_path (wal, seg->first_seq, path, sizeof path);
    memset (c, 0, sizeof *c);
    size_t n = (size_t)(seg->last_seq + 1 - seg->first_seq);
    if (seg->last_seq < seg->first_seq || s_read_file (path, seg->size, &c->data, err))
        return seg->last_seq < seg->first_seq ? zsat_fail (err, ZSAT_E_CONFIG, "empty segment")
                                              : -1;
    c->seq = calloc (n, 8), c->task_id = calloc (n, 8), c->timestamp = calloc (n, 8);
    c->flags = calloc (n, 4), c->routing = calloc (n, sizeof (char *));
    c->envelope = calloc (n, sizeof (hvl_t)), c->payload = calloc (n, sizeof (hvl_t));
    c->routing_text = malloc ((size_t)seg->size + n);
    if (!c->seq || !c->task_id || !c->timestamp || !c->flags || !c->routing || !c->envelope ||
        !c->payload || !c->routing_text)
        return zsat_fail (err, ZSAT_E_IO, "out of memory compacting %s", path);
    size_t at = 0, text = 0;
    for (; c->n < n; c->n++) {
        zsat_wal_record_t rec;
        int64_t size = zsat_wal_decode (c->data + at, (size_t)seg->size - at, &rec);
        if (size <= 0 || rec.seq != seg->first_seq + c->n)
            return zsat_fail (err, ZSAT_E_CHECKSUM, "%s: bad record at offset %zu", path, at);
        at += (size_t)size;
        c->seq[c->n] = rec.seq, c->task_id[c->n] = rec.task_id;
        c->timestamp[c->n] = rec.timestamp, c->flags[c->n] = rec.flags;
        c->routing[c->n] = c->routing_text + text;
        memcpy (c->routing_text + text, rec.frame[0], rec.frame_size[0]);
        text += rec.frame_size[0];
        c->routing_text[text++] = 0;
        c->envelope[c->n] = (hvl_t){rec.frame_size[1], (void *)rec.frame[1]};
        c->payload[c->n] = (hvl_t){rec.frame_size[2], (void *)rec.frame[2]};
    }
    return 0;
}

//  Creates a dataset with its storage allocated now, so its object header and its address
//  are written at the first flush, before any data (see s_write_columns).
static hid_t
s_dataset (hid_t group, const char *name, hid_t type, hid_t space)
{
    hid_t dcpl = H5Pcreate (H5P_DATASET_CREATE);
    if (dcpl < 0)
        return H5I_INVALID_HID;
    H5Pset_alloc_time (dcpl, H5D_ALLOC_TIME_EARLY);
    hid_t set = H5Dcreate2 (group, name, type, space, H5P_DEFAULT, dcpl, H5P_DEFAULT);
    H5Pclose (dcpl);
    return set;
}

static int
s_attribute (hid_t group, const char *name, hid_t type, const void *value)
{
    hid_t scalar = H5Screate (H5S_SCALAR);
    hid_t attr = H5Acreate2 (group, name, type, scalar, H5P_DEFAULT, H5P_DEFAULT);
    herr_t rc = attr >= 0 ? H5Awrite (attr, type, value) : -1;
    if (attr >= 0)
        H5Aclose (attr);
    H5Sclose (scalar);
    return rc < 0 ? -1 : 0;
}

static int
s_attributes (hid_t group, columns_t *c, zsat_cursors_t *cursors)
{
    hid_t str = H5Tcopy (H5T_C_S1);
    H5Tset_size (str, H5T_VARIABLE);
    const char *format = ARCHIVE_FORMAT;
    int rc = s_attribute (group, "format", str, &format);
    H5Tclose (str);
    rc |= s_attribute (group, "first_seq", H5T_STD_U64LE, &c->seq[0]);
    rc |= s_attribute (group, "last_seq", H5T_STD_U64LE, &c->seq[c->n - 1]);
    rc |= s_attribute (group, "first_time", H5T_STD_I64LE, &c->timestamp[0]);
    rc |= s_attribute (group, "last_time", H5T_STD_I64LE, &c->timestamp[c->n - 1]);
    uint64_t cursor;
    const char *name;
    for (size_t i = 0; cursors && (name = zsat_cursors_at (cursors, i, &cursor)); i++) {
        char key[ZSAT_NAME_MAX + 8];
        snprintf (key, sizeof key, "cursor.%s", name);
        rc |= s_attribute (group, key, H5T_STD_U64LE, &cursor);
    }
    return rc;
}

//  Metadata first (groups, attributes, every dataset's header, the fixed columns' storage),
//  flushed, then the data: a file cut short keeps its metadata and its first records
//  readable, so zsat_archive_salvage has something to salvage.
static int
s_write_columns (const char *tmp, const char *channel, columns_t *c, zsat_cursors_t *cursors)
{
    int rc = -1;
    hid_t file = H5I_INVALID_HID, top = H5I_INVALID_HID, group = H5I_INVALID_HID;
    hid_t space = H5I_INVALID_HID, vlen = H5I_INVALID_HID, str = H5I_INVALID_HID;
    hid_t set[COLUMNS];
    for (int i = 0; i < COLUMNS; i++)
        set[i] = H5I_INVALID_HID;
    hsize_t dims[1] = {c->n};
    if ((file = H5Fcreate (tmp, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT)) < 0 ||
        (top = H5Gcreate2 (file, "channels", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT)) < 0 ||
        (group = H5Gcreate2 (top, channel, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT)) < 0 ||
        (space = H5Screate_simple (1, dims, NULL)) < 0 ||
        (vlen = H5Tvlen_create (H5T_STD_U8LE)) < 0 || (str = H5Tcopy (H5T_C_S1)) < 0 ||
        H5Tset_size (str, H5T_VARIABLE) < 0 || s_attributes (group, c, cursors))
        goto out;
    //  Same order as s_columns: seq, task_id, timestamp, flags, routing, envelope, payload.
    hid_t types[COLUMNS] = {H5T_STD_U64LE, H5T_STD_U64LE, H5T_STD_I64LE, H5T_STD_U32LE,
                            str,           vlen,          vlen};
    const void *data[COLUMNS] = {c->seq,     c->task_id,  c->timestamp, c->flags,
                                 c->routing, c->envelope, c->payload};
    for (int i = 0; i < COLUMNS; i++)
        if ((set[i] = s_dataset (group, s_columns[i], types[i], space)) < 0)
            goto out;
    if (H5Fflush (file, H5F_SCOPE_LOCAL) < 0)
        goto out;
    for (int i = 0; i < COLUMNS; i++)
        if (H5Dwrite (set[i], types[i], H5S_ALL, H5S_ALL, H5P_DEFAULT, data[i]) < 0)
            goto out;
    rc = 0;
out:
    for (int i = 0; i < COLUMNS; i++)
        if (set[i] >= 0)
            H5Dclose (set[i]);
    if (str >= 0)
        H5Tclose (str);
    if (vlen >= 0)
        H5Tclose (vlen);
    if (space >= 0)
        H5Sclose (space);
    if (group >= 0)
        H5Gclose (group);
    if (top >= 0)
        H5Gclose (top);
    if (file >= 0 && H5Fclose (file) < 0)
        rc = -1;
    return rc;
}

static int
s_fsync_path (const char *path, bool directory)
{
    int fd = open (path, (directory ? O_RDONLY | O_DIRECTORY : O_RDWR) | O_CLOEXEC);
    if (fd < 0)
        return -1;
    int rc = fsync (fd);
    close (fd);
    return rc;
}

//  Writes c into path under a temp name, synced, then renamed. Returns 0 or -1 with err.
static int
s_commit_columns (const char *path, const char *channel, columns_t *c, zsat_cursors_t *cursors,
                  zsat_error_t *err)
{
    char tmp[4200], dir[4200];
    snprintf (tmp, sizeof tmp, "%s.tmp", path);
    snprintf (dir, sizeof dir, "%s", path);
    char *slash = strrchr (dir, '/');
    if (slash)
        slash[1] = 0;
    else
        snprintf (dir, sizeof dir, ".");
    int rc = s_write_columns (tmp, channel, c, cursors);
    //  Only a closed, synced file gets its final name: a crash leaves a .tmp or a whole file.
    if (rc || s_fsync_path (tmp, false) || rename (tmp, path) || s_fsync_path (dir, true)) {
        unlink (tmp);
        return zsat_fail (err, ZSAT_E_IO, "cannot write HDF5 archive %s%s%s", path, rc ? "" : ": ",
                          rc ? "" : strerror (errno));
    }
    return 0;
}

int64_t
zsat_archive_write (const char *path, const char *channel, zsat_wal_t *wal, size_t index,
                    zsat_cursors_t *cursors, zsat_error_t *err)
{
    s_quiet ();
    columns_t c;
    int rc = s_columns_load (&c, wal, index, err);
    if (rc == 0)
        rc = s_commit_columns (path, channel, &c, cursors, err);
    int64_t n = (int64_t)c.n;
    s_columns_free (&c);
    return rc ? -1 : n;
}

//  --- Reading ---

//  Frees the variable-length data HDF5 allocated for the loaded window.
static void
s_window_free (zsat_archive_t *self)
{
    if (self->mem_space < 0)
        return;
    H5Dvlen_reclaim (self->vlen_str, self->mem_space, H5P_DEFAULT, self->routing);
    H5Dvlen_reclaim (self->vlen_u8, self->mem_space, H5P_DEFAULT, self->envelope);
    H5Dvlen_reclaim (self->vlen_u8, self->mem_space, H5P_DEFAULT, self->payload);
    H5Sclose (self->mem_space);
    self->mem_space = H5I_INVALID_HID;
    self->n = 0;
}

//  Loads the window of records holding index. Returns 0 or -1.
static int
s_window_load (zsat_archive_t *self, size_t index)
{
    s_window_free (self);
    hsize_t start[1] = {index - index % self->window}, n[1] = {self->count - start[0]};
    n[0] = n[0] > self->window ? self->window : n[0];
    self->mem_space = H5Screate_simple (1, n, NULL);
    hid_t types[COLUMNS] = {H5T_NATIVE_UINT64, H5T_NATIVE_UINT64, H5T_NATIVE_INT64,
                            H5T_NATIVE_UINT32, self->vlen_str,    self->vlen_u8,
                            self->vlen_u8};
    void *bufs[COLUMNS] = {self->seq,     self->task_id,  self->timestamp, self->flags,
                           self->routing, self->envelope, self->payload};
    int rc = self->mem_space < 0 ? -1 : 0;
    for (int c = 0; c < COLUMNS && rc == 0; c++) {
        hid_t space = H5Dget_space (self->set[c]);
        rc = space < 0 || H5Sselect_hyperslab (space, H5S_SELECT_SET, start, NULL, n, NULL) < 0 ||
                     H5Dread (self->set[c], types[c], self->mem_space, space, H5P_DEFAULT,
                              bufs[c]) < 0
                 ? -1
                 : 0;
        if (space >= 0)
            H5Sclose (space);
    }
    //  A failed read may leave some columns half-filled: forget the window entirely.
    if (rc) {
        memset (self->routing, 0, sizeof self->routing);
        memset (self->envelope, 0, sizeof self->envelope);
        memset (self->payload, 0, sizeof self->payload);
        s_window_free (self);
        return -1;
    }
    self->lo = (size_t)start[0];
    self->n = (size_t)n[0];
    return 0;
}

void
zsat_archive_destroy (zsat_archive_t **self_p)
{
    zsat_archive_t *self = *self_p;
    if (!self)
        return;
    s_window_free (self);
    for (int c = 0; c < COLUMNS; c++)
        if (self->set[c] >= 0)
            H5Dclose (self->set[c]);
    if (self->group >= 0)
        H5Gclose (self->group);
    if (self->file >= 0)
        H5Fclose (self->file);
    if (self->vlen_u8 >= 0)
        H5Tclose (self->vlen_u8);
    if (self->vlen_str >= 0)
        H5Tclose (self->vlen_str);
    free (self);
    *self_p = NULL;
}

//  Opens every column and checks they have one length. Returns 0 or -1.
static int
s_open_columns (zsat_archive_t *self)
{
    for (int c = 0; c < COLUMNS; c++) {
        self->set[c] = H5Dopen2 (self->group, s_columns[c], H5P_DEFAULT);
        hid_t space = self->set[c] >= 0 ? H5Dget_space (self->set[c]) : H5I_INVALID_HID;
        hssize_t points = space >= 0 ? H5Sget_simple_extent_npoints (space) : -1;
        if (space >= 0)
            H5Sclose (space);
        if (points < 0 || (c > 0 && (size_t)points != self->count))
            return -1;
        self->count = (size_t)points;
    }
    return 0;
}

//  Opens the file, its group and its columns without reading records. Returns it or NULL.
static zsat_archive_t *
s_open_columns_only (const char *path, const char *channel, zsat_error_t *err)
{
    s_quiet ();
    zsat_archive_t *self = calloc (1, sizeof *self);
    if (!self)
        return NULL;
    self->file = self->group = self->mem_space = H5I_INVALID_HID;
    self->window = ARCHIVE_WINDOW;
    for (int c = 0; c < COLUMNS; c++)
        self->set[c] = H5I_INVALID_HID;
    char name[ZSAT_NAME_MAX + 16];
    snprintf (name, sizeof name, "/channels/%s", channel);
    self->vlen_u8 = H5Tvlen_create (H5T_NATIVE_UINT8);
    self->vlen_str = H5Tcopy (H5T_C_S1);
    if (self->vlen_u8 < 0 || self->vlen_str < 0 || H5Tset_size (self->vlen_str, H5T_VARIABLE) < 0 ||
        (self->file = H5Fopen (path, H5F_ACC_RDONLY, H5P_DEFAULT)) < 0 ||
        (self->group = H5Gopen2 (self->file, name, H5P_DEFAULT)) < 0 || s_open_columns (self)) {
        zsat_fail (err, ZSAT_E_IO, "cannot read HDF5 archive %s (group %s)", path, name);
        zsat_archive_destroy (&self);
    }
    return self;
}

zsat_archive_t *
zsat_archive_open (const char *path, const char *channel, zsat_error_t *err)
{
    zsat_archive_t *self = s_open_columns_only (path, channel, err);
    if (self && self->count && s_window_load (self, 0)) {
        zsat_fail (err, ZSAT_E_IO, "cannot read HDF5 archive %s (first records)", path);
        zsat_archive_destroy (&self);
    }
    if (self)
        self->first_seq = self->count ? self->seq[0] : 0;
    return self;
}

int
zsat_archive_check (const char *path, const char *channel, uint64_t first, uint64_t last,
                    zsat_error_t *err)
{
    zsat_archive_t *self = s_open_columns_only (path, channel, err);
    if (!self)
        return -1;
    //  A cut or a lost block shows at the end: the last record is written last.
    self->window = 1;
    int rc = 0;
    if (self->count != last - first + 1)
        rc = zsat_fail (err, ZSAT_E_IO, "HDF5 archive %s holds %zu records, its name says %" PRIu64,
                        path, self->count, last - first + 1);
    else if (s_window_load (self, self->count - 1) || self->seq[0] != last ||
             s_window_load (self, 0) || self->seq[0] != first)
        rc = zsat_fail (err, ZSAT_E_IO, "cannot read HDF5 archive %s (its records)", path);
    zsat_archive_destroy (&self);
    return rc;
}

size_t
zsat_archive_count (zsat_archive_t *self)
{
    return self->count;
}

int
zsat_archive_get (zsat_archive_t *self, size_t index, zsat_wal_record_t *rec)
{
    if (index >= self->count)
        return -1;
    if ((index < self->lo || index >= self->lo + self->n) && s_window_load (self, index))
        return -1;
    size_t i = index - self->lo;
    rec->seq = self->seq[i];
    rec->timestamp = self->timestamp[i];
    rec->task_id = self->task_id[i];
    rec->flags = self->flags[i];
    const char *routing = self->routing[i] ? self->routing[i] : "";
    rec->frame[0] = (const uint8_t *)routing;
    rec->frame_size[0] = strlen (routing);
    rec->frame[1] = self->envelope[i].p;
    rec->frame_size[1] = self->envelope[i].len;
    rec->frame[2] = self->payload[i].p;
    rec->frame_size[2] = self->payload[i].len;
    return 0;
}

int64_t
zsat_archive_find (zsat_archive_t *self, uint64_t seq)
{
    if (self->count == 0 || seq < self->first_seq)
        return -1;
    uint64_t index = seq - self->first_seq;  //  seqs in one archive have no gaps
    zsat_wal_record_t rec;
    if (index >= self->count || zsat_archive_get (self, (size_t)index, &rec) || rec.seq != seq)
        return -1;
    return (int64_t)index;
}

//  --- Salvage: the file's own bytes, never HDF5's reading of damaged data ---

#define HEAP_INDEX_MAX 65536  //  a global heap object index is 16 bits

//  The objects of one global heap collection ("GCOL"), indexed once, looked up many times.
typedef struct {
    const uint8_t *data;
    size_t size;
    uint64_t addr;  //  collection indexed now (0: none)
    uint64_t *off, *len;
} heap_t;

static uint64_t
s_le (const uint8_t *p, int bytes)
{
    uint64_t v = 0;
    for (int i = bytes - 1; i >= 0; i--)
        v = v << 8 | p[i];
    return v;
}

static void
s_heap_index (heap_t *h, uint64_t addr)
{
    h->addr = addr;
    memset (h->off, 0, HEAP_INDEX_MAX * sizeof *h->off);
    if (addr > h->size || h->size - addr < 16 || memcmp (h->data + addr, "GCOL", 4) ||
        h->data[addr + 4] != 1)
        return;
    uint64_t csize = s_le (h->data + addr + 8, 8);
    //  A collection cut short by a truncation: index the whole objects that are left.
    uint64_t end = csize >= 16 && csize <= h->size - addr ? addr + csize : h->size;
    for (uint64_t p = addr + 16; p + 16 <= end;) {
        uint32_t index = (uint32_t)s_le (h->data + p, 2);
        uint64_t size = s_le (h->data + p + 8, 8), at = p + 16;
        if (index == 0 || size > end - at)
            break;  //  free space, or an object the cut went through
        h->off[index] = at;
        h->len[index] = size;
        p = at + ((size + 7) & ~(uint64_t)7);
    }
}

//  Reads the variable-length element at desc (u32 length, u64 collection, u32 index).
//  Returns 0 with *at and *len, or -1 when it is not (wholly) in the file.
static int
s_heap_get (heap_t *h, uint64_t desc, uint64_t *at, uint64_t *len)
{
    if (desc > h->size || h->size - desc < 16)
        return -1;
    uint64_t n = s_le (h->data + desc, 4), addr = s_le (h->data + desc + 4, 8);
    uint32_t index = (uint32_t)s_le (h->data + desc + 12, 4);
    *at = 0, *len = n;
    if (n == 0)
        return 0;
    if (index >= HEAP_INDEX_MAX)
        return -1;
    if (addr != h->addr)
        s_heap_index (h, addr);
    if (!h->off[index] || h->len[index] < n)
        return -1;
    *at = h->off[index];
    return 0;
}

//  Finds where each column's elements start in the file, from the metadata (written first,
//  see s_write_columns), opening a copy extended to the size the superblock records.
static int
s_locate_columns (const char *path, const uint8_t *data, size_t size, const char *channel,
                  uint64_t *offset, size_t *count, zsat_error_t *err)
{
    static const uint8_t signature[8] = {0x89, 'H', 'D', 'F', '\r', '\n', 0x1a, '\n'};
    if (size < 48 || memcmp (data, signature, 8) || data[8] != 0 || data[13] != 8 || data[14] != 8)
        return zsat_fail (err, ZSAT_E_IO, "%s: no HDF5 superblock this version can salvage", path);
    uint64_t eoa = s_le (data + 40, 8);
    char copy[4200];
    snprintf (copy, sizeof copy, "%s.scan.tmp", path);
    int fd = open (copy, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    bool ok = fd >= 0 && write (fd, data, size) == (ssize_t)size &&
              ftruncate (fd, eoa > size ? (off_t)eoa : (off_t)size) == 0;
    if (fd >= 0)
        close (fd);
    zsat_archive_t *self = ok ? s_open_columns_only (copy, channel, err) : NULL;
    int rc = self ? 0 : -1;
    for (int c = 0; self && c < COLUMNS && rc == 0; c++) {
        haddr_t at = H5Dget_offset (self->set[c]);
        rc = at == HADDR_UNDEF ? -1 : 0;
        offset[c] = (uint64_t)at;
    }
    if (self)
        *count = self->count;
    zsat_archive_destroy (&self);
    unlink (copy);
    return rc ? zsat_fail (err, ZSAT_E_IO, "%s: its metadata is unreadable", path) : 0;
}

//  Takes record i from the raw bytes into c (as record c->n). Returns 0, or -1 when any
//  part of it is missing or wrong.
static int
s_salvage_one (columns_t *c, heap_t *heap, const uint64_t *offset, size_t i, uint64_t first,
               size_t *text)
{
    static const int width[4] = {8, 8, 8, 4};
    uint64_t v[4], at[3], len[3];
    for (int k = 0; k < 4; k++) {
        uint64_t pos = offset[k] + (uint64_t)width[k] * i;
        if (pos > heap->size || heap->size - pos < (uint64_t)width[k])
            return -1;
        v[k] = s_le (heap->data + pos, width[k]);
    }
    if (v[0] != first + i)
        return -1;
    for (int k = 0; k < 3; k++)
        if (s_heap_get (&heap[k], offset[4 + k] + 16 * (uint64_t)i, &at[k], &len[k]))
            return -1;
    size_t n = c->n;
    c->seq[n] = v[0], c->task_id[n] = v[1], c->timestamp[n] = (int64_t)v[2];
    c->flags[n] = (uint32_t)v[3];
    c->routing[n] = c->routing_text + *text;
    memcpy (c->routing_text + *text, heap->data + at[0], len[0]);
    *text += len[0];
    c->routing_text[(*text)++] = 0;
    c->envelope[n] = (hvl_t){len[1], (void *)(heap->data + at[1])};
    c->payload[n] = (hvl_t){len[2], (void *)(heap->data + at[2])};
    c->n++;
    return 0;
}

int64_t
zsat_archive_salvage (const char *path, const char *channel, uint64_t first, const char *dir,
                      char *out, size_t out_cap, uint64_t *last, zsat_error_t *err)
{
    s_quiet ();
    struct stat st;
    columns_t c;
    memset (&c, 0, sizeof c);
    if (stat (path, &st) != 0 || s_read_file (path, st.st_size, &c.data, err))
        return zsat_fail (err, ZSAT_E_IO, "cannot read %s: %s", path, strerror (errno));
    size_t size = (size_t)st.st_size, n = 0;
    uint64_t offset[COLUMNS];
    heap_t heap[3];
    int64_t rc = 0;
    if (s_locate_columns (path, c.data, size, channel, offset, &n, err) == 0 && n > 0) {
        c.seq = calloc (n, 8), c.task_id = calloc (n, 8), c.timestamp = calloc (n, 8);
        c.flags = calloc (n, 4), c.routing = calloc (n, sizeof (char *));
        c.envelope = calloc (n, sizeof (hvl_t)), c.payload = calloc (n, sizeof (hvl_t));
        c.routing_text = malloc (size + n);
        for (int k = 0; k < 3; k++)
            heap[k] =
                (heap_t){c.data, size, 0, calloc (HEAP_INDEX_MAX, 8), calloc (HEAP_INDEX_MAX, 8)};
        bool mem = c.seq && c.task_id && c.timestamp && c.flags && c.routing && c.envelope &&
                   c.payload && c.routing_text && heap[0].off && heap[1].off && heap[2].off &&
                   heap[0].len && heap[1].len && heap[2].len;
        size_t text = 0;
        for (size_t i = 0; mem && i < n && s_salvage_one (&c, heap, offset, i, first, &text) == 0;)
            i++;
        rc = mem ? 0 : zsat_fail (err, ZSAT_E_IO, "out of memory salvaging %s", path);
        for (int k = 0; k < 3; k++)
            free (heap[k].off), free (heap[k].len);
    }
    if (rc == 0 && c.n > 0) {
        *last = first + c.n - 1;
        snprintf (out, out_cap, "%s/arc-%020" PRIu64 "-%020" PRIu64 ".h5", dir, first, *last);
        rc = s_commit_columns (out, channel, &c, NULL, err) ? -1 : (int64_t)c.n;
    }
    s_columns_free (&c);
    return rc;
}

void
zsat_archive_test (bool verbose)
{
    printf (" * zsat_archive: ");
    char dir[] = "/tmp/zsat_archive_test.XXXXXX", path[128], cmd[400];
    assert (mkdtemp (dir));
    zsat_wal_opts_t opts;
    zsat_wal_opts_init (&opts);
    opts.durability = ZSAT_DURABLE_NONE;
    zsat_error_t err;
    zsat_wal_t *wal = zsat_wal_open (dir, &opts, NULL, &err);
    assert (wal);
    char routing[32], payload[64];
    for (uint64_t n = 1; n <= 10000; n++) {
        zsat_wal_record_t rec = {.timestamp = (int64_t)n * 10, .task_id = n * 7, .flags = 1};
        snprintf (routing, sizeof routing, "host%" PRIu64 "/cpu", n % 3);
        snprintf (payload, sizeof payload, "payload %" PRIu64, n);
        rec.frame[0] = (uint8_t *)routing, rec.frame_size[0] = strlen (routing);
        rec.frame[1] = (uint8_t *)"\x91\x01", rec.frame_size[1] = n % 2 ? 2 : 0;
        rec.frame[2] = (uint8_t *)payload, rec.frame_size[2] = strlen (payload);
        assert (zsat_wal_append (wal, &rec, &err) == 0);
    }
    assert (zsat_wal_rotate (wal, &err) == 0);
    snprintf (path, sizeof path, "%s/cursors", dir);
    zsat_cursors_t *cursors = zsat_cursors_open (path, 0, &err);
    assert (zsat_cursors_add (cursors, "sink", 42, &err) == 0);
    snprintf (path, sizeof path, "%s/arc.h5", dir);
    assert (zsat_archive_write (path, "critical", wal, 0, cursors, &err) == 10000);
    assert (zsat_archive_write (path, "critical", wal, 1, cursors, &err) == -1);  //  empty
    zsat_archive_t *arc = zsat_archive_open (path, "critical", &err);
    assert (arc && zsat_archive_count (arc) == 10000);
    for (uint64_t k = 0; k < 10000; k++) {
        uint64_t n = k % 2 ? 10000 - k / 2 : k / 2 + 1;  //  both ends: windows reload
        zsat_wal_record_t rec;
        assert (zsat_archive_get (arc, zsat_archive_find (arc, n), &rec) == 0);
        snprintf (routing, sizeof routing, "host%" PRIu64 "/cpu", n % 3);
        snprintf (payload, sizeof payload, "payload %" PRIu64, n);
        assert (rec.seq == n && rec.task_id == n * 7 && rec.timestamp == (int64_t)n * 10);
        assert (rec.flags == 1 && rec.frame_size[1] == (n % 2 ? 2 : 0));
        assert (rec.frame_size[0] == strlen (routing) && !memcmp (rec.frame[0], routing, 5));
        assert (rec.frame_size[2] == strlen (payload));
        assert (memcmp (rec.frame[2], payload, strlen (payload)) == 0);
    }
    assert (zsat_archive_find (arc, 10001) == -1 && zsat_archive_find (arc, 0) == -1);
    zsat_archive_destroy (&arc);
    assert (zsat_archive_check (path, "critical", 1, 10000, &err) == 0);
    assert (zsat_archive_check (path, "critical", 1, 9999, &err) == -1);
    //  Cut short (a truncated copy, a full disk): the check says so, and the whole records
    //  left are salvaged into a new archive, read back field by field.
    struct stat st;
    assert (stat (path, &st) == 0);
    char cut[128], out[4200];
    snprintf (cut, sizeof cut, "%s/cut.h5", dir);
    //  (HDF5 writes vlen strings last element first: a cut inside the routing column's heap
    //  loses record 0's routing, hence everything; cuts in the payloads keep a prefix.)
    for (int tenth = 9; tenth >= 3; tenth -= 3) {
        snprintf (cmd, sizeof cmd, "cp %s %s && truncate -s %lld %s", path, cut,
                  (long long)st.st_size * tenth / 10, cut);
        assert (system (cmd) == 0);
        assert (zsat_archive_check (cut, "critical", 1, 10000, &err) == -1);
        uint64_t last = 0;
        int64_t got = zsat_archive_salvage (cut, "critical", 1, dir, out, sizeof out, &last, &err);
        assert (got >= 0 && got < 10000 && (tenth < 9 || got > 0));
        if (got == 0)
            continue;
        assert (last == (uint64_t)got);
        arc = zsat_archive_open (out, "critical", &err);
        assert (arc && zsat_archive_count (arc) == (size_t)got);
        for (uint64_t n = 1; n <= last; n++) {
            zsat_wal_record_t rec;
            assert (zsat_archive_get (arc, n - 1, &rec) == 0 && rec.seq == n);
            snprintf (payload, sizeof payload, "payload %" PRIu64, n);
            assert (rec.task_id == n * 7 && rec.frame_size[2] == strlen (payload));
            assert (memcmp (rec.frame[2], payload, strlen (payload)) == 0);
            assert (rec.frame_size[1] == (n % 2 ? 2 : 0));
        }
        zsat_archive_destroy (&arc);
        unlink (out);
        if (verbose)
            printf ("(cut at %d0%%: %" PRId64 " salvaged) ", tenth, got);
    }
    //  Nothing HDF5 left at all: nothing salvaged, an error, no crash.
    snprintf (cmd, sizeof cmd, "truncate -s 30 %s", cut);
    assert (system (cmd) == 0);
    uint64_t none = 0;
    assert (zsat_archive_salvage (cut, "critical", 1, dir, out, sizeof out, &none, &err) <= 0);
    assert (zsat_archive_open (path, "other", &err) == NULL);
    snprintf (path, sizeof path, "%s/cursors", dir);  //  not an HDF5 file
    assert (zsat_archive_open (path, "critical", &err) == NULL && err.code == ZSAT_E_IO);
    zsat_cursors_destroy (&cursors);
    zsat_wal_destroy (&wal);
    snprintf (cmd, sizeof cmd, "rm -rf %s", dir);
    assert (system (cmd) == 0);
    if (verbose)
        printf ("(10000 records written and read back field by field) ");
    printf ("OK\n");
}
