/*  zsat buffer - inspects and maintains the durable replay buffer of critical channels in a
    buffer directory: ls, stat, replay, export, gc, compact, repair; plus `write` (a load
    generator that prints each acknowledged record) and `verify` (checks that every
    acknowledged record is stored), used by the crash test and the benchmarks.
*/
#define _GNU_SOURCE  //  strptime, timegm
#include "zsat.h"
#include "zsat_buffer.h"
#include "zsat_bufnode.h"
#include "zsat_bufclient.h"
#include "zsat_chanlock.h"
#include "zsat_curve.h"
#include <signal.h>
#include <errno.h>
#include <stdarg.h>
#include <time.h>
#include <unistd.h>

#define USAGE                                                                                      \
    "usage: zsat buffer ACTION --dir DIR [options]\n"                                              \
    "\n"                                                                                           \
    "Inspects and maintains the durable replay buffer of critical channels.\n"                     \
    "\n"                                                                                           \
    "actions:\n"                                                                                   \
    "  ls                          channels with their seqs, files, bytes and cursors\n"           \
    "  stat    --channel C         segments, archives and consumers of one channel\n"              \
    "  replay  --channel C [--consumer X] [--from SEQ|--since TIME] [--to SEQ] [--rate N]\n"       \
    "                              prints records after X's cursor (or from SEQ / since\n"         \
    "                              TIME), flagged REPLAY, at most N records/s (jsonl)\n"           \
    "  export  --channel C --format csv|jsonl [--from SEQ] [--to SEQ] [--output FILE]\n"           \
    "  gc      --channel C         deletes whole files every consumer acknowledged, then\n"        \
    "                              compacts the other finished segments into HDF5\n"               \
    "  compact --channel C         finishes the active segment and compacts every segment\n"       \
    "  repair  [--channel C]       cuts torn or corrupt tails and reports what it cut\n"           \
    "  write   --channel C [--count N] [--start K] [--size B] [--durability M]\n"                  \
    "          [--consumer X]      appends records, printing 'K SEQ' once each is\n"               \
    "                              acknowledged (crash test, benchmarks)\n"                        \
    "  verify  --channel C --acked FILE   checks every 'K SEQ' line of FILE is stored\n"           \
    "\n"                                                                                           \
    "options:\n"                                                                                   \
    "  --dir DIR        buffer directory (a buffer node's `dir`)\n"                                \
    "  --progress       progress bar on stderr even when it is not a terminal\n"                   \
    "  TIME             seconds since the epoch (1700000000.5) or UTC 2026-11-23T13:00:00\n"

typedef struct {
    const char *action, *dir, *channel, *consumer, *format, *output, *acked, *since;
    const char *durability, *topology, *node, *host, *endpoint;
    uint64_t from, to, start, count, instance, delay_us, idle_ms;
    bool has_from, progress;
    double rate;
    size_t size;
    int64_t segment_size;
} args_t;

static int s_usage_error (const char *format, ...) __attribute__ ((format (printf, 1, 2)));

static int
s_usage_error (const char *format, ...)
{
    fprintf (stderr, "zsat buffer: ");
    va_list args;
    va_start (args, format);
    vfprintf (stderr, format, args);
    va_end (args);
    fprintf (stderr, "\n\n%s", USAGE);
    return 2;
}

static int
s_number (const char *text, uint64_t *value)
{
    char *end;
    errno = 0;
    unsigned long long v = strtoull (text, &end, 10);
    if (errno || end == text || *end || text[0] == '-')
        return -1;
    *value = v;
    return 0;
}

static int
s_parse (args_t *a, int argc, char **argv)
{
    memset (a, 0, sizeof *a);
    a->count = 1000, a->start = 1, a->size = 100, a->to = UINT64_MAX, a->format = "jsonl";
    a->segment_size = 64 * 1024 * 1024;
    if (argc < 2)
        return s_usage_error ("%s", "missing ACTION");
    a->action = argv[1];
    for (int i = 2; i < argc; i++) {
        const char *k = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        uint64_t n = 0;
        if (streq (k, "--progress")) {
            a->progress = true;
            continue;
        }
        if (!v)
            return s_usage_error ("%s needs a value", k);
        i++;
        bool num = s_number (v, &n) == 0;
        if (streq (k, "--dir"))
            a->dir = v;
        else if (streq (k, "--channel"))
            a->channel = v;
        else if (streq (k, "--consumer"))
            a->consumer = v;
        else if (streq (k, "--format"))
            a->format = v;
        else if (streq (k, "--output"))
            a->output = v;
        else if (streq (k, "--acked"))
            a->acked = v;
        else if (streq (k, "--since"))
            a->since = v;
        else if (streq (k, "--durability"))
            a->durability = v;
        else if (streq (k, "--topology"))
            a->topology = v;
        else if (streq (k, "--node"))
            a->node = v;
        else if (streq (k, "--host"))
            a->host = v;
        else if (streq (k, "--endpoint"))
            a->endpoint = v;
        else if (!num)
            return s_usage_error ("%s needs a number", k);
        else if (streq (k, "--from"))
            a->from = n, a->has_from = true;
        else if (streq (k, "--to"))
            a->to = n;
        else if (streq (k, "--start"))
            a->start = n;
        else if (streq (k, "--count"))
            a->count = n;
        else if (streq (k, "--size"))
            a->size = (size_t)n;
        else if (streq (k, "--rate"))
            a->rate = (double)n;
        else if (streq (k, "--instance"))
            a->instance = n;
        else if (streq (k, "--delay-us"))
            a->delay_us = n;
        else if (streq (k, "--idle-exit"))
            a->idle_ms = n;
        else if (streq (k, "--segment-size"))
            a->segment_size = (int64_t)n;
        else
            return s_usage_error ("unknown option %s", k);
    }
    bool net =
        streq (a->action, "node") || streq (a->action, "produce") || streq (a->action, "consume");
    if (!a->dir && !net)
        return s_usage_error ("%s", "--dir is required");
    return 0;
}

//  Parses TIME into microseconds since the epoch. Returns 0 or -1.
static int
s_parse_time (const char *text, int64_t *us)
{
    char *end;
    double seconds = strtod (text, &end);
    if (end != text && *end == 0) {
        *us = (int64_t)(seconds * 1e6);
        return 0;
    }
    struct tm tm = {0};
    end = strptime (text, "%Y-%m-%dT%H:%M:%S", &tm);
    if (!end || (*end && !streq (end, "Z")))
        return -1;
    *us = (int64_t)timegm (&tm) * 1000000;
    return 0;
}

//  --- Progress bar (stderr, only on a terminal or with --progress) ---

typedef struct {
    bool on;
    uint64_t total, done;
    int64_t shown_at;
    const char *what;
} progress_t;

static void
s_progress (progress_t *p, uint64_t done, bool last)
{
    p->done = done;
    if (!p->on || (!last && zclock_mono () - p->shown_at < 100))
        return;
    p->shown_at = zclock_mono ();
    int width = 30, fill = p->total ? (int)(width * (double)done / (double)p->total) : width;
    fill = fill > width ? width : fill;
    fprintf (stderr, "\r%s [%.*s%*s] %3d%% %" PRIu64 "/%" PRIu64 "%s", p->what, fill,
             "##############################", width - fill, "",
             p->total ? (int)(100.0 * (double)done / (double)p->total) : 100, done, p->total,
             last ? "\n" : "");
}

//  --- Output of records ---

static void
s_base64 (FILE *out, const uint8_t *data, size_t size)
{
    static const char *abc = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    for (size_t i = 0; i < size; i += 3) {
        uint32_t v = (uint32_t)data[i] << 16;
        if (i + 1 < size)
            v |= (uint32_t)data[i + 1] << 8;
        if (i + 2 < size)
            v |= data[i + 2];
        char q[4] = {abc[v >> 18 & 63], abc[v >> 12 & 63], i + 1 < size ? abc[v >> 6 & 63] : '=',
                     i + 2 < size ? abc[v & 63] : '='};
        fwrite (q, 1, 4, out);
    }
}

static void
s_json_text (FILE *out, const uint8_t *data, size_t size)
{
    fputc ('"', out);
    for (size_t i = 0; i < size; i++) {
        if (data[i] == '"' || data[i] == '\\')
            fprintf (out, "\\%c", data[i]);
        else if (data[i] < 0x20 || data[i] >= 0x7f)
            fprintf (out, "\\u%04x", data[i]);
        else
            fputc (data[i], out);
    }
    fputc ('"', out);
}

static void
s_print_record (FILE *out, const char *format, const zsat_wal_record_t *r, uint32_t extra_flags)
{
    if (streq (format, "csv")) {
        fprintf (out, "%" PRIu64 ",%" PRId64 ",%" PRIu64 ",%" PRIu32 ",", r->seq, r->timestamp,
                 r->task_id, r->flags | extra_flags);
        //  Routing is a name pair ([A-Za-z0-9_.-/]): no quoting needed.
        fwrite (r->frame[0], 1, r->frame_size[0], out);
        fputc (',', out);
        s_base64 (out, r->frame[1], r->frame_size[1]);
        fputc (',', out);
        s_base64 (out, r->frame[2], r->frame_size[2]);
        fputc ('\n', out);
        return;
    }
    fprintf (out,
             "{\"seq\":%" PRIu64 ",\"timestamp\":%" PRId64 ",\"task_id\":%" PRIu64
             ",\"flags\":%" PRIu32 ",\"routing\":",
             r->seq, r->timestamp, r->task_id, r->flags | extra_flags);
    s_json_text (out, r->frame[0], r->frame_size[0]);
    fprintf (out, ",\"envelope\":\"");
    s_base64 (out, r->frame[1], r->frame_size[1]);
    fprintf (out, "\",\"payload\":\"");
    s_base64 (out, r->frame[2], r->frame_size[2]);
    fprintf (out, "\"}\n");
}

static zsat_buffer_t *
s_open (const args_t *a, const char *channel, bool read_only, zsat_buffer_report_t *report)
{
    zsat_buffer_opts_t opts;
    zsat_buffer_opts_init (&opts);
    opts.wal.read_only = read_only;
    opts.disk_limit = 0;  //  maintenance never refuses: the node enforces the limit
    opts.wal.segment_size = a->segment_size;
    if (a->durability && zsat_durability_parse (a->durability, &opts.wal.durability)) {
        fprintf (stderr, "zsat buffer: durability '%s' is not none, batch or always\n",
                 a->durability);
        return NULL;
    }
    zsat_error_t err;
    zsat_buffer_t *buf = zsat_buffer_open (a->dir, channel, &opts, report, &err);
    if (!buf)
        fprintf (stderr, "zsat buffer: %s\n", err.text);
    return buf;
}

//  Copies records lo..hi to out, optionally paced at rate records/s. Returns 0 or 1.
static int
s_dump (const args_t *a, zsat_buffer_t *buf, uint64_t lo, uint64_t hi, FILE *out,
        uint32_t extra_flags)
{
    progress_t bar = {a->progress || isatty (2), hi >= lo ? hi - lo + 1 : 0, 0, 0, a->action};
    zsat_buffer_pos_t pos;
    zsat_buffer_pos_init (&pos);
    zsat_wal_record_t rec;
    zsat_error_t err;
    int64_t began = zclock_usecs ();
    uint64_t missing = 0;
    int rc = 0;
    for (uint64_t s = lo; s <= hi && hi != UINT64_MAX; s++) {
        int got = zsat_buffer_read (buf, &pos, s, &rec, &err);
        if (got < 0) {
            fprintf (stderr, "\nzsat buffer: %s\n", err.text);
            rc = 1;
            break;
        }
        if (got == 0)
            missing++;
        else
            s_print_record (out, a->format, &rec, extra_flags);
        if (a->rate > 0) {
            int64_t due = began + (int64_t)((double)(s - lo + 1) * 1e6 / a->rate);
            if (due > zclock_usecs ())
                zclock_sleep ((int)((due - zclock_usecs ()) / 1000));
        }
        s_progress (&bar, s - lo + 1, false);
    }
    s_progress (&bar, bar.done, true);
    zsat_buffer_pos_close (&pos);
    if (missing)
        fprintf (stderr, "zsat buffer: %" PRIu64 " seqs in the range are not stored\n", missing);
    return rc;
}

//  --- Actions ---

static void
s_print_cursors (zsat_buffer_t *buf, const char *indent)
{
    uint64_t cursor;
    const char *name;
    zsat_cursors_t *cursors = zsat_buffer_cursors (buf);
    for (size_t i = 0; (name = zsat_cursors_at (cursors, i, &cursor)); i++)
        printf ("%sconsumer %s cursor %" PRIu64 "\n", indent, name, cursor);
}

static int
s_ls (const args_t *a)
{
    zlist_t *channels = zsat_buffer_channels (a->dir);
    printf ("%-20s %10s %10s %8s %8s %12s\n", "channel", "first", "last", "segments", "archives",
            "bytes");
    int rc = 0;
    for (const char *c = zlist_first (channels); c; c = zlist_next (channels)) {
        zsat_buffer_t *buf = s_open (a, c, true, NULL);
        if (!buf) {
            rc = 1;
            continue;
        }
        printf ("%-20s %10" PRIu64 " %10" PRIu64 " %8zu %8zu %12" PRId64 "\n", c,
                zsat_buffer_first_seq (buf), zsat_buffer_last_seq (buf),
                zsat_wal_segment_count (zsat_buffer_wal (buf)), zsat_buffer_archive_count (buf),
                zsat_buffer_disk_size (buf));
        s_print_cursors (buf, "    ");
        zsat_buffer_destroy (&buf);
    }
    zlist_destroy (&channels);
    return rc;
}

static int
s_stat (const args_t *a)
{
    zsat_buffer_report_t report;
    zsat_buffer_t *buf = s_open (a, a->channel, true, &report);
    if (!buf)
        return 1;
    printf ("channel %s at %s\nfirst %" PRIu64 " last %" PRIu64 " bytes %" PRId64 "\nscan: %s\n",
            a->channel, zsat_buffer_path (buf), zsat_buffer_first_seq (buf),
            zsat_buffer_last_seq (buf), zsat_buffer_disk_size (buf), report.message);
    for (size_t i = 0; i < zsat_buffer_archive_count (buf); i++) {
        const zsat_buffer_file_t *f = zsat_buffer_archive (buf, i);
        printf ("archive %" PRIu64 "..%" PRIu64 " %" PRId64 " bytes %s\n", f->first_seq,
                f->last_seq, f->size, f->path);
    }
    zsat_wal_t *wal = zsat_buffer_wal (buf);
    for (size_t i = 0; i < zsat_wal_segment_count (wal); i++) {
        const zsat_wal_segment_t *s = zsat_wal_segment (wal, i);
        printf ("segment %" PRIu64 "..%" PRIu64 " %" PRId64 " bytes%s\n", s->first_seq, s->last_seq,
                s->size, i + 1 == zsat_wal_segment_count (wal) ? " (active)" : "");
    }
    s_print_cursors (buf, "");
    int64_t owner = zsat_chanlock_owner (zsat_buffer_path (buf));
    if (owner)
        printf ("owner: in use by process %lld (live: the active segment's tail may be mid-write, "
                "writing actions refuse)\n",
                (long long)owner);
    else
        printf ("owner: none (stopped)\n");
    zsat_buffer_destroy (&buf);
    return 0;
}

static int
s_replay (const args_t *a, bool is_export)
{
    if (!streq (a->format, "jsonl") && !streq (a->format, "csv"))
        return s_usage_error ("format '%s' is not csv or jsonl", a->format);
    zsat_buffer_t *buf = s_open (a, a->channel, true, NULL);
    if (!buf)
        return 1;
    uint64_t lo = zsat_buffer_first_seq (buf), cursor = 0;
    int64_t since = 0;
    int rc = 0;
    if (a->consumer && !zsat_cursors_get (zsat_buffer_cursors (buf), a->consumer, &cursor)) {
        fprintf (stderr, "zsat buffer: no consumer '%s' in channel %s\n", a->consumer, a->channel);
        rc = 1;
    }
    else if (a->since && s_parse_time (a->since, &since)) {
        rc = s_usage_error ("--since '%s' is not a TIME", a->since);
    }
    if (rc == 0) {
        if (a->consumer)
            lo = cursor + 1;
        if (a->has_from)
            lo = a->from;
        if (a->since)
            lo = zsat_buffer_seq_since (buf, since);
        uint64_t hi = zsat_buffer_last_seq (buf) < a->to ? zsat_buffer_last_seq (buf) : a->to;
        FILE *out = a->output ? fopen (a->output, "w") : stdout;
        if (!out) {
            fprintf (stderr, "zsat buffer: cannot write %s: %s\n", a->output, strerror (errno));
            rc = 1;
        }
        else {
            if (streq (a->format, "csv"))
                fprintf (out, "seq,timestamp,task_id,flags,routing,envelope_b64,payload_b64\n");
            if (lo && hi)
                rc = s_dump (a, buf, lo, hi, out, is_export ? 0 : ZSAT_FLAG_REPLAY);
            if (out != stdout && fclose (out) != 0)
                rc = 1;
        }
    }
    zsat_buffer_destroy (&buf);
    return rc;
}

//  Compacts segment by segment with a progress bar. Returns the count, or -1 with err.
static int
s_compact_all (const args_t *a, zsat_buffer_t *buf, bool rotate, zsat_error_t *err)
{
    zsat_wal_t *wal = zsat_buffer_wal (buf);
    const zsat_wal_segment_t *last = zsat_wal_segment (wal, zsat_wal_segment_count (wal) - 1);
    if (rotate && last->last_seq >= last->first_seq && zsat_wal_rotate (wal, err))
        return -1;
    progress_t bar = {a->progress || isatty (2), zsat_wal_segment_count (wal) - 1, 0, 0, "compact"};
    int done = 0, rc;
    while ((rc = zsat_buffer_compact_step (buf, err)) == 1)
        s_progress (&bar, (uint64_t)++done, false);
    s_progress (&bar, bar.done, true);
    return rc < 0 ? -1 : done;
}

static int
s_gc (const args_t *a, bool rotate)
{
    zsat_buffer_t *buf = s_open (a, a->channel, false, NULL);
    if (!buf)
        return 1;
    zsat_error_t err;
    int64_t before = zsat_buffer_disk_size (buf);
    //  Collect first: what every consumer acknowledged is deleted, not converted.
    int deleted = rotate ? 0 : zsat_buffer_gc (buf, &err);
    int compacted = deleted < 0 ? -1 : s_compact_all (a, buf, rotate, &err);
    if (compacted < 0 || deleted < 0)
        fprintf (stderr, "zsat buffer: %s\n", err.text);
    else
        printf ("%s: compacted %d segments into HDF5, deleted %d files, %" PRId64 " -> %" PRId64
                " bytes, lowest cursor %" PRIu64 "\n",
                a->channel, compacted, deleted, before, zsat_buffer_disk_size (buf),
                zsat_cursors_min (zsat_buffer_cursors (buf)));
    zsat_buffer_destroy (&buf);
    return compacted < 0 || deleted < 0;
}

static int
s_repair (const args_t *a)
{
    zlist_t *channels = zsat_buffer_channels (a->dir);
    if (a->channel) {
        zlist_purge (channels);
        zlist_append (channels, (void *)a->channel);
    }
    int rc = 0;
    for (const char *c = zlist_first (channels); c; c = zlist_next (channels)) {
        zsat_buffer_report_t report;
        zsat_buffer_t *buf = s_open (a, c, false, &report);
        if (buf)
            printf ("%s\n", report.message);
        rc |= buf == NULL;
        zsat_buffer_destroy (&buf);
    }
    zlist_destroy (&channels);
    return rc;
}

static int
s_cursor (const args_t *a)
{
    if (!a->consumer || a->to == UINT64_MAX)
        return s_usage_error ("%s", "cursor needs --consumer and --to");
    zsat_buffer_t *buf = s_open (a, a->channel, false, NULL);
    if (!buf)
        return 1;
    zsat_error_t err;
    uint64_t old = 0;
    int rc = zsat_cursors_get (zsat_buffer_cursors (buf), a->consumer, &old)
                 ? zsat_cursors_set (zsat_buffer_cursors (buf), a->consumer, a->to, &err)
                 : zsat_fail (&err, ZSAT_E_FIELD, "no consumer '%s' in channel %s", a->consumer,
                              a->channel);
    if (rc == 0)
        rc = zsat_cursors_save (zsat_buffer_cursors (buf), true, &err);
    if (rc)
        fprintf (stderr, "zsat buffer: %s\n", err.text);
    else
        printf ("%s: consumer %s cursor %" PRIu64 " -> %" PRIu64 "\n", a->channel, a->consumer, old,
                a->to);
    zsat_buffer_destroy (&buf);
    return rc ? 1 : 0;
}

//  Writes the 'K SEQ' acknowledgement line with one write(): once it returns, the line
//  survives a kill -9 of this process, exactly like the record it acknowledges.
static void
s_ack_line (uint64_t k, uint64_t seq)
{
    char line[64];
    int n = snprintf (line, sizeof line, "%" PRIu64 " %" PRIu64 "\n", k, seq);
    if (write (1, line, (size_t)n) != n)
        exit (3);
}

static int64_t
s_now_us (void)
{
    struct timespec ts;
    clock_gettime (CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static void
s_make_payload (uint8_t *payload, size_t size, uint64_t k)
{
    for (size_t i = 0; i < size; i++)
        payload[i] = (uint8_t)('a' + (k + i) % 26);
    int n = snprintf ((char *)payload, size, "msg %" PRIu64 " ", k);
    if (n > 0 && (size_t)n < size)
        payload[n] = ' ';
}

static int
s_write (const args_t *a)
{
    zsat_buffer_report_t report;
    zsat_buffer_t *buf = s_open (a, a->channel, false, &report);
    if (!buf)
        return 1;
    fprintf (stderr, "zsat buffer write: %s\n", report.message);
    zsat_error_t err;
    if (a->consumer && zsat_buffer_consumer_add (buf, a->consumer, &err))
        fprintf (stderr, "zsat buffer: %s\n", err.text);
    uint8_t *payload = malloc (a->size ? a->size : 1);
    uint64_t pend_k[4096], pend_seq[4096];
    size_t pending = 0, done = 0;
    int rc = 0;
    for (uint64_t k = a->start; k < a->start + a->count && rc == 0; k++) {
        s_make_payload (payload, a->size, k);
        zsat_wal_record_t rec = {.timestamp = s_now_us (), .task_id = k};
        rec.frame[0] = (const uint8_t *)"host/crash", rec.frame_size[0] = 10;
        rec.frame[2] = payload, rec.frame_size[2] = a->size;
        if (zsat_buffer_append (buf, &rec, &err) ||
            zsat_buffer_commit (buf, pending == 4096, &err)) {
            fprintf (stderr, "zsat buffer: %s\n", err.text);
            rc = 1;
        }
        pend_k[pending] = k, pend_seq[pending++] = rec.seq;
        //  Acknowledge only what the durability mode covers now.
        uint64_t durable = zsat_buffer_durable_seq (buf);
        for (done = 0; done < pending && pend_seq[done] <= durable; done++)
            s_ack_line (pend_k[done], pend_seq[done]);
        memmove (pend_k, pend_k + done, (pending - done) * 8);
        memmove (pend_seq, pend_seq + done, (pending - done) * 8);
        pending -= done;
    }
    zsat_buffer_commit (buf, true, NULL);
    for (done = 0; done < pending; done++)
        s_ack_line (pend_k[done], pend_seq[done]);
    free (payload);
    zsat_buffer_destroy (&buf);
    return rc;
}

//  Checks every acknowledged record against its stored copy, and counts duplicates.
static int
s_verify (const args_t *a)
{
    if (!a->acked)
        return s_usage_error ("%s", "verify needs --acked FILE");
    zsat_buffer_report_t report;
    zsat_buffer_t *buf = s_open (a, a->channel, false, &report);
    FILE *acked = buf ? fopen (a->acked, "r") : NULL;
    if (!acked) {
        zsat_buffer_destroy (&buf);
        return 1;
    }
    zsat_buffer_pos_t pos;
    zsat_buffer_pos_init (&pos);
    uint64_t k, seq, lines = 0, missing = 0, records = 0, dups = 0, max_k = 0;
    uint8_t *expect = malloc (a->size ? a->size : 1);
    zsat_wal_record_t rec;
    while (fscanf (acked, "%" SCNu64 " %" SCNu64, &k, &seq) == 2) {
        lines++;
        s_make_payload (expect, a->size, k);
        if (zsat_buffer_read (buf, &pos, seq, &rec, NULL) != 1 || rec.task_id != k ||
            rec.frame_size[2] != a->size || memcmp (rec.frame[2], expect, a->size)) {
            if (missing++ < 5)
                fprintf (stderr, "verify: acknowledged %" PRIu64 " (seq %" PRIu64 ") is missing\n",
                         k, seq);
        }
    }
    fclose (acked);
    //  A record stored but killed before its acknowledgement is sent again: a duplicate.
    uint64_t first = zsat_buffer_first_seq (buf), last = zsat_buffer_last_seq (buf);
    for (uint64_t s = first; s && s <= last; s++)
        if (zsat_buffer_read (buf, &pos, s, &rec, NULL) == 1) {
            records++;
            dups += rec.task_id <= max_k;
            max_k = rec.task_id > max_k ? rec.task_id : max_k;
        }
    printf ("verify: acked=%" PRIu64 " missing=%" PRIu64 " records=%" PRIu64 " duplicates=%" PRIu64
            " repaired=%zu cut_bytes=%" PRIu64 " | %s\n",
            lines, missing, records, dups, report.wal.repaired, report.wal.bytes_cut,
            report.message);
    free (expect);
    zsat_buffer_pos_close (&pos);
    zsat_buffer_destroy (&buf);
    return missing ? 1 : 0;
}

//  --- Network clients of a buffer node (tests, demos) ---

static volatile sig_atomic_t s_stop = 0;

static void
s_on_signal (int sig)
{
    s_stop = 1;
}

static int
s_node (const args_t *a)
{
    if (!a->topology || !a->node || !a->host)
        return s_usage_error ("%s", "node needs --topology, --node and --host");
    zsat_diag_t *diag = zsat_diag_new ();
    zsat_topology_t *topology = zsat_topology_load (a->topology, diag);
    if (!topology) {
        zsat_diag_print (diag, stderr);
        zsat_diag_destroy (&diag);
        return 1;
    }
    zsat_diag_destroy (&diag);
    signal (SIGTERM, s_on_signal);
    signal (SIGINT, s_on_signal);
    zsat_error_t err;
    if (zsat_curve_use (topology, a->host, &err) != 0) {
        fprintf (stderr, "zsat buffer node: %s\n", err.text);
        zsat_topology_destroy (&topology);
        return 1;
    }
    zsat_node_args_t args = {topology, a->node, a->host, (int)a->instance};
    zactor_t *actor = zactor_new (zsat_bufnode_actor, &args);
    char *status = zstr_recv (actor);
    int rc = status && streq (status, "READY") ? 0 : 1;
    if (rc)
        fprintf (stderr, "zsat buffer node: %s\n", status ? status : "no answer");
    while (rc == 0 && !s_stop)
        zclock_sleep (50);
    zstr_free (&status);
    zactor_destroy (&actor);
    zsat_topology_destroy (&topology);
    return rc;
}

static void s_line (const char *format, ...) __attribute__ ((format (printf, 1, 2)));

//  One write() per line: once it returned, the line survives a kill -9 of this process.
static void
s_line (const char *format, ...)
{
    char line[128];
    va_list args;
    va_start (args, format);
    int n = vsnprintf (line, sizeof line, format, args);
    va_end (args);
    if (write (1, line, (size_t)n) != n)
        exit (3);
}

static int
s_produce_one (zsat_bufproducer_t *p, uint64_t k, size_t size)
{
    zsat_vector_t v;
    zsat_vector_init (&v);
    strcpy (v.where, "host"), strcpy (v.type, "crash"), strcpy (v.channel, "crit");
    v.task_id = k;
    uint8_t payload[4096], envelope[ZSAT_ENVELOPE_MAX];
    size = size > sizeof payload ? sizeof payload : size;
    s_make_payload (payload, size, k);
    zsat_vector_set_payload (&v, payload, size);
    char routing[ZSAT_ROUTING_MAX];
    int rsize = zsat_vector_encode_routing (&v, routing, sizeof routing, NULL);
    int esize = zsat_vector_encode_envelope (&v, envelope, sizeof envelope, NULL);
    zsat_error_t err;
    int64_t id = zsat_bufproducer_send (p, routing, (size_t)rsize, envelope, (size_t)esize, payload,
                                        size, 60000, &err);
    if (id <= 0)
        fprintf (stderr, "zsat buffer produce: %s\n", err.text);
    return id > 0 ? 0 : -1;
}

static void
s_produce_answer (const zsat_bufreply_t *reply, uint64_t start, int *refused)
{
    uint64_t k = start + reply->id - 1;
    if (reply->stored)
        s_line ("%" PRIu64 " %" PRIu64 "\n", k, reply->seq);
    else if ((*refused)++ < 5)
        fprintf (stderr, "zsat buffer produce: %" PRIu64 " REFUSED %s\n", k, reply->reason);
}

static int
s_produce (const args_t *a)
{
    zsat_error_t err;
    zsat_bufproducer_t *p = zsat_bufproducer_new (a->endpoint, 256, 1000, &err);
    if (!p) {
        fprintf (stderr, "zsat buffer produce: %s\n", err.text);
        return 1;
    }
    zsat_bufreply_t reply;
    int refused = 0, rc = 0;
    for (uint64_t i = 0; i < a->count && rc == 0; i++) {
        rc = s_produce_one (p, a->start + i, a->size);
        while (zsat_bufproducer_poll (p, 0, &reply) == 1)
            s_produce_answer (&reply, a->start, &refused);
    }
    //  Every vector is kept and re-sent until answered: wait (bounded) for the last ones.
    int64_t deadline = zclock_mono () + 120000;
    while (rc == 0 && zsat_bufproducer_pending (p) > 0 && zclock_mono () < deadline)
        if (zsat_bufproducer_poll (p, 1000, &reply) == 1)
            s_produce_answer (&reply, a->start, &refused);
    fprintf (stderr, "zsat buffer produce: %zu unanswered, %d refused, %" PRIu64 " re-sent\n",
             zsat_bufproducer_pending (p), refused, zsat_bufproducer_resent (p));
    rc = rc || zsat_bufproducer_pending (p) > 0 || refused;
    zsat_bufproducer_destroy (&p);
    return rc;
}

static int
s_consume (const args_t *a)
{
    zsat_error_t err;
    if (!a->consumer)
        return s_usage_error ("%s", "consume needs --consumer");
    zsat_bufconsumer_t *c = zsat_bufconsumer_new (a->endpoint, a->consumer, &err);
    if (!c) {
        fprintf (stderr, "zsat buffer consume: %s\n", err.text);
        return 1;
    }
    signal (SIGTERM, s_on_signal);
    int64_t idle = a->idle_ms ? (int64_t)a->idle_ms : INT64_MAX, heard = zclock_mono ();
    zsat_bufrecord_t rec;
    int rc = 0;
    while (!s_stop && zclock_mono () - heard < idle) {
        if (zsat_bufconsumer_recv (c, 100, &rec) != 1) {
            if (zsat_bufconsumer_denied (c)) {
                fprintf (stderr, "zsat buffer consume: denied: %s\n", zsat_bufconsumer_denied (c));
                rc = 1;
                break;
            }
            continue;
        }
        heard = zclock_mono ();
        zsat_vector_t v;
        if (zsat_vector_decode (&v, rec.frame[0], rec.frame_size[0], rec.frame[1],
                                rec.frame_size[1], rec.frame[2], rec.frame_size[2], &err)) {
            fprintf (stderr, "zsat buffer consume: seq %" PRIu64 ": %s\n", rec.seq, err.text);
            continue;
        }
        if (a->delay_us)
            zclock_sleep ((int)(a->delay_us / 1000));
        //  Printed (processed) before acknowledged: a kill between the two means a replay.
        s_line ("%" PRIu64 " %" PRIu64 " %" PRIu32 "\n", rec.seq, v.task_id, rec.flags);
        zsat_bufconsumer_ack (c, rec.seq);
    }
    zsat_bufconsumer_destroy (&c);
    return rc;
}

static int
s_run (int argc, char **argv)
{
    if (argc > 1 && (streq (argv[1], "--help") || streq (argv[1], "-h"))) {
        printf ("%s", USAGE);
        return 0;
    }
    args_t a;
    int rc = s_parse (&a, argc, argv);
    if (rc)
        return rc;
    if (streq (a.action, "node"))
        return s_node (&a);
    if (streq (a.action, "produce"))
        return s_produce (&a);
    if (streq (a.action, "consume"))
        return s_consume (&a);
    bool ls = streq (a.action, "ls") || streq (a.action, "repair");
    if (!ls && !a.channel)
        return s_usage_error ("%s needs --channel", a.action);
    if (streq (a.action, "ls"))
        return s_ls (&a);
    if (streq (a.action, "stat"))
        return s_stat (&a);
    if (streq (a.action, "replay") || streq (a.action, "export"))
        return s_replay (&a, streq (a.action, "export"));
    if (streq (a.action, "gc") || streq (a.action, "compact"))
        return s_gc (&a, streq (a.action, "compact"));
    if (streq (a.action, "repair"))
        return s_repair (&a);
    if (streq (a.action, "write"))
        return s_write (&a);
    if (streq (a.action, "cursor"))
        return s_cursor (&a);
    if (streq (a.action, "verify"))
        return s_verify (&a);
    return s_usage_error ("unknown action '%s'", a.action);
}

const zsat_command_t zsat_cmd_buffer = {
    "buffer", "inspect, replay, export, collect and repair the durable replay buffer", s_run};
