/*  zsat_cursors - per-consumer cursors of one channel, persisted atomically (zsat_cursors.h).
*/
#include "zsat_cursors.h"
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <unistd.h>

#define CURSORS_MAX  64
#define WINDOW_WORDS (ZSAT_CURSOR_WINDOW / 64)

typedef struct {
    char name[ZSAT_NAME_MAX];
    uint64_t cursor;
    uint64_t bits[WINDOW_WORDS];  //  bit (seq % WINDOW) set: seq acked, for cursor < seq
} consumer_t;

struct zsat_cursors_t {
    char *path;
    int64_t save_interval_ms;
    int64_t saved_at;  //  zclock_mono () of the last write
    bool dirty;
    uint64_t high;  //  seq high-water mark: no seq above it was ever handed out
    size_t count;
    consumer_t consumer[CURSORS_MAX];
};

static consumer_t *
s_find (zsat_cursors_t *self, const char *name)
{
    for (size_t i = 0; i < self->count; i++)
        if (streq (self->consumer[i].name, name))
            return &self->consumer[i];
    return NULL;
}

static int
s_load (zsat_cursors_t *self, zsat_error_t *err)
{
    FILE *file = fopen (self->path, "r");
    if (!file)
        return errno == ENOENT
                   ? 0
                   : zsat_fail (err, ZSAT_E_IO, "cannot read %s: %s", self->path, strerror (errno));
    char line[256], name[256];
    int rc = 0, lineno = 0, version = 0;
    uint64_t cursor;
    while (rc == 0 && fgets (line, sizeof line, file)) {
        lineno++;
        if (lineno == 1)
            rc = sscanf (line, "zsat-cursors %d", &version) == 1 && (version == 1 || version == 2)
                     ? 0
                     : -1;
        else if (lineno == 2 && version == 2)
            rc = sscanf (line, "high-water %" SCNu64, &self->high) == 1 ? 0 : -1;
        else if (sscanf (line, "%255s %" SCNu64, name, &cursor) != 2)
            rc = -1;
        else
            rc = zsat_cursors_add (self, name, cursor, err);
    }
    fclose (file);
    if (rc)
        return zsat_fail (err, ZSAT_E_CONFIG, "%s:%d: not a cursors file line", self->path, lineno);
    self->dirty = false;
    return 0;
}

zsat_cursors_t *
zsat_cursors_open (const char *path, int64_t save_interval_ms, zsat_error_t *err)
{
    zsat_cursors_t *self = calloc (1, sizeof *self);
    if (!self)
        return NULL;
    self->path = strdup (path);
    self->save_interval_ms = save_interval_ms;
    self->saved_at = zclock_mono ();
    if (s_load (self, err)) {
        free (self->path);
        free (self);
        return NULL;
    }
    return self;
}

void
zsat_cursors_destroy (zsat_cursors_t **self_p)
{
    zsat_cursors_t *self = *self_p;
    if (!self)
        return;
    zsat_cursors_save (self, true, NULL);
    free (self->path);
    free (self);
    *self_p = NULL;
}

int
zsat_cursors_add (zsat_cursors_t *self, const char *name, uint64_t start, zsat_error_t *err)
{
    if (!zsat_name_valid (name))
        return zsat_fail (err, ZSAT_E_FIELD, "invalid consumer name '%.64s'", name);
    if (s_find (self, name))
        return 0;
    if (self->count == CURSORS_MAX)
        return zsat_fail (err, ZSAT_E_SIZE, "more than %d consumers", CURSORS_MAX);
    consumer_t *c = &self->consumer[self->count++];
    memset (c, 0, sizeof *c);
    snprintf (c->name, sizeof c->name, "%s", name);
    c->cursor = start;
    self->dirty = true;
    return 0;
}

static bool
s_bit (consumer_t *c, uint64_t seq)
{
    uint64_t i = seq % ZSAT_CURSOR_WINDOW;
    return (c->bits[i / 64] >> (i % 64)) & 1;
}

static void
s_set_bit (consumer_t *c, uint64_t seq, bool on)
{
    uint64_t i = seq % ZSAT_CURSOR_WINDOW;
    if (on)
        c->bits[i / 64] |= (uint64_t)1 << (i % 64);
    else
        c->bits[i / 64] &= ~((uint64_t)1 << (i % 64));
}

int
zsat_cursors_ack (zsat_cursors_t *self, const char *name, uint64_t seq, zsat_error_t *err)
{
    consumer_t *c = s_find (self, name);
    if (!c)
        return zsat_fail (err, ZSAT_E_FIELD, "unknown consumer '%.64s'", name);
    if (seq <= c->cursor)
        return 0;
    if (seq > c->cursor + ZSAT_CURSOR_WINDOW)
        return zsat_fail (err, ZSAT_E_SIZE,
                          "ack %" PRIu64 " of %s is more than %d above its cursor %" PRIu64, seq,
                          name, ZSAT_CURSOR_WINDOW, c->cursor);
    if (seq != c->cursor + 1) {
        s_set_bit (c, seq, true);
        return 0;
    }
    c->cursor++;
    while (s_bit (c, c->cursor + 1)) {
        s_set_bit (c, c->cursor + 1, false);
        c->cursor++;
    }
    self->dirty = true;
    return 1;
}

int
zsat_cursors_set (zsat_cursors_t *self, const char *name, uint64_t cursor, zsat_error_t *err)
{
    consumer_t *c = s_find (self, name);
    if (!c)
        return zsat_fail (err, ZSAT_E_FIELD, "unknown consumer '%.64s'", name);
    c->cursor = cursor;
    memset (c->bits, 0, sizeof c->bits);
    self->dirty = true;
    return 0;
}

bool
zsat_cursors_get (zsat_cursors_t *self, const char *name, uint64_t *cursor)
{
    consumer_t *c = s_find (self, name);
    if (c && cursor)
        *cursor = c->cursor;
    return c != NULL;
}

bool
zsat_cursors_acked (zsat_cursors_t *self, const char *name, uint64_t seq)
{
    consumer_t *c = s_find (self, name);
    if (!c)
        return false;
    return seq <= c->cursor || (seq <= c->cursor + ZSAT_CURSOR_WINDOW && s_bit (c, seq));
}

uint64_t
zsat_cursors_max (zsat_cursors_t *self)
{
    uint64_t max = 0;
    for (size_t i = 0; i < self->count; i++)
        if (self->consumer[i].cursor > max)
            max = self->consumer[i].cursor;
    return max;
}

uint64_t
zsat_cursors_high (zsat_cursors_t *self)
{
    return self->high;
}

void
zsat_cursors_set_high (zsat_cursors_t *self, uint64_t high)
{
    if (high != self->high)
        self->dirty = true;
    self->high = high;
}

uint64_t
zsat_cursors_min (zsat_cursors_t *self)
{
    if (self->count == 0)
        return 0;
    uint64_t min = UINT64_MAX;
    for (size_t i = 0; i < self->count; i++)
        if (self->consumer[i].cursor < min)
            min = self->consumer[i].cursor;
    return min;
}

size_t
zsat_cursors_count (zsat_cursors_t *self)
{
    return self->count;
}

const char *
zsat_cursors_at (zsat_cursors_t *self, size_t index, uint64_t *cursor)
{
    if (index >= self->count)
        return NULL;
    if (cursor)
        *cursor = self->consumer[index].cursor;
    return self->consumer[index].name;
}

static int
s_sync_parent (const char *path)
{
    char *copy = strdup (path);
    int fd = open (dirname (copy), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    free (copy);
    if (fd < 0)
        return -1;
    int rc = fsync (fd);
    close (fd);
    return rc;
}

int
zsat_cursors_save (zsat_cursors_t *self, bool force, zsat_error_t *err)
{
    if (self->save_interval_ms < 0)
        return 0;  //  opened read-only
    if (!self->dirty || (!force && zclock_mono () - self->saved_at < self->save_interval_ms))
        return 0;
    char tmp[4200];
    snprintf (tmp, sizeof tmp, "%s.tmp", self->path);
    FILE *file = fopen (tmp, "w");
    if (!file)
        return zsat_fail (err, ZSAT_E_IO, "cannot write %s: %s", tmp, strerror (errno));
    fprintf (file, "zsat-cursors 2\nhigh-water %" PRIu64 "\n", self->high);
    for (size_t i = 0; i < self->count; i++)
        fprintf (file, "%s %" PRIu64 "\n", self->consumer[i].name, self->consumer[i].cursor);
    //  Rename only a complete, synced file: a crash leaves the old cursors or the new ones.
    bool ok = fflush (file) == 0 && fsync (fileno (file)) == 0;
    ok = (fclose (file) == 0) && ok;
    if (!ok || rename (tmp, self->path) != 0 || s_sync_parent (self->path) != 0) {
        unlink (tmp);
        return zsat_fail (err, ZSAT_E_IO, "cannot save %s: %s", self->path, strerror (errno));
    }
    self->dirty = false;
    self->saved_at = zclock_mono ();
    return 0;
}

void
zsat_cursors_test (bool verbose)
{
    printf (" * zsat_cursors: ");
    char dir[] = "/tmp/zsat_cursors_test.XXXXXX", path[64];
    assert (mkdtemp (dir));
    snprintf (path, sizeof path, "%s/cursors", dir);
    zsat_error_t err;
    zsat_cursors_t *cur = zsat_cursors_open (path, 1000000, &err);
    assert (cur && zsat_cursors_min (cur) == 0);
    assert (zsat_cursors_add (cur, "fast", 0, &err) == 0);
    assert (zsat_cursors_add (cur, "slow", 0, &err) == 0);
    assert (zsat_cursors_add (cur, "bad name", 0, &err) == -1);
    //  Out of order: 3 and 2 before 1, then 1 moves the cursor to 3.
    assert (zsat_cursors_ack (cur, "fast", 3, &err) == 0);
    assert (zsat_cursors_ack (cur, "fast", 2, &err) == 0);
    assert (zsat_cursors_acked (cur, "fast", 2) && !zsat_cursors_acked (cur, "fast", 1));
    assert (zsat_cursors_ack (cur, "fast", 1, &err) == 1);
    uint64_t c;
    assert (zsat_cursors_get (cur, "fast", &c) && c == 3);
    assert (zsat_cursors_ack (cur, "fast", 2, &err) == 0);  //  duplicate
    assert (zsat_cursors_ack (cur, "fast", 3 + ZSAT_CURSOR_WINDOW + 1, &err) == -1);
    assert (zsat_cursors_ack (cur, "nobody", 1, &err) == -1);
    //  A long shuffled run ends at the highest seq.
    for (uint64_t s = 4; s < 4000; s += 2)
        zsat_cursors_ack (cur, "fast", s + 1, NULL);
    for (uint64_t s = 4; s < 4000; s += 2)
        zsat_cursors_ack (cur, "fast", s, NULL);
    assert (zsat_cursors_get (cur, "fast", &c) && c == 3999);
    assert (zsat_cursors_min (cur) == 0);
    assert (zsat_cursors_ack (cur, "slow", 1, &err) == 1);
    assert (zsat_cursors_min (cur) == 1);
    //  Not saved yet (interval not passed): a reopen sees nothing; forced save persists.
    assert (zsat_cursors_save (cur, false, &err) == 0);
    zsat_cursors_t *again = zsat_cursors_open (path, 0, &err);
    assert (again && zsat_cursors_count (again) == 0);
    zsat_cursors_destroy (&again);
    assert (zsat_cursors_save (cur, true, &err) == 0);
    again = zsat_cursors_open (path, 0, &err);
    assert (again && zsat_cursors_count (again) == 2);
    assert (zsat_cursors_get (again, "fast", &c) && c == 3999);
    assert (zsat_cursors_min (again) == 1 && zsat_cursors_max (again) == 3999);
    zsat_cursors_destroy (&again);
    //  The high-water mark is persisted with the cursors; a version 1 file still loads.
    zsat_cursors_set_high (cur, 70000);
    assert (zsat_cursors_save (cur, true, &err) == 0);
    again = zsat_cursors_open (path, 0, &err);
    assert (again && zsat_cursors_high (again) == 70000 && zsat_cursors_count (again) == 2);
    zsat_cursors_destroy (&again);
    FILE *v1 = fopen (path, "w");
    fprintf (v1, "zsat-cursors 1\nsink 12\n");
    fclose (v1);
    again = zsat_cursors_open (path, -1, &err);
    assert (again && zsat_cursors_high (again) == 0 && zsat_cursors_max (again) == 12);
    zsat_cursors_destroy (&again);
    zsat_cursors_destroy (&cur);
    //  A damaged file is an error, not a crash.
    FILE *f = fopen (path, "w");
    fprintf (f, "garbage\n");
    fclose (f);
    assert (zsat_cursors_open (path, 0, &err) == NULL && err.code == ZSAT_E_CONFIG);
    unlink (path);
    rmdir (dir);
    if (verbose)
        printf ("(out-of-order acks, atomic persistence) ");
    printf ("OK\n");
}
