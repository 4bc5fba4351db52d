/*  zsat_report - the report folder of a run (see zsat_report.h). Plain stdio; the figures
    are a gnuplot script beside its data files, run once with a bounded wait, so a user can
    edit and re-run the script. Owns no sockets.
*/
#include "zsat_report.h"
#include "zsat_netns.h"
#include <math.h>
#include <sys/wait.h>

#define REPORT_GNUPLOT_MS 20000

static const char *
s_verdict_name (zsat_verdict_t verdict)
{
    return verdict == ZSAT_VERDICT_PASS   ? "PASS"
           : verdict == ZSAT_VERDICT_FAIL ? "FAIL"
                                          : "NOT MEASURED";
}

static void
s_json_string (FILE *out, const char *text)
{
    fputc ('"', out);
    for (const unsigned char *c = (const unsigned char *)text; *c; c++) {
        if (*c == '"' || *c == '\\')
            fprintf (out, "\\%c", *c);
        else if (*c < 0x20)
            fprintf (out, "\\u%04x", *c);
        else
            fputc (*c, out);
    }
    fputc ('"', out);
}

static FILE *
s_open (const char *dir, const char *name, zsat_error_t *err)
{
    char path[1200];
    snprintf (path, sizeof path, "%s/%s", dir, name);
    FILE *out = fopen (path, "w");
    if (!out)
        zsat_fail (err, ZSAT_E_IO, "%s: %s", path, strerror (errno));
    return out;
}

static void
s_json_totals (FILE *out, const zsat_results_t *r)
{
    fprintf (out,
             "  \"totals\": {\"sent\": %" PRId64 ", \"rows\": %" PRId64 ", \"unique\": %" PRId64
             ", \"duplicates\": %" PRId64 ", \"lost\": %" PRId64 ",\n"
             "    \"happy_ends\": %" PRId64 ", \"failures\": %" PRId64 ", \"errors\": %" PRId64
             ", \"retries\": %" PRId64 ", \"timeouts\": %" PRId64 ", \"dead_letters\": %" PRId64
             ", \"live\": %" PRId64 ",\n"
             "    \"restarts\": %" PRId64 ", \"scale_ups\": %" PRId64 ", \"scale_downs\": %" PRId64
             ", \"feed_messages\": %" PRId64 ", \"mean_throughput\": %.1f, \"p50_us\": %" PRId64
             ", \"p99_us\": %" PRId64 ", \"max_us\": %" PRId64 ",\n"
             "    \"backlog_at_scale_down\": %" PRId64 ", \"false_failures\": %" PRId64 "},\n",
             r->sent, r->rows, r->unique, r->duplicates, r->lost, r->happy_ends, r->failures,
             r->errors, r->retries, r->timeouts, r->dead_letters, r->live, r->restarts,
             r->scale_ups, r->scale_downs, r->feed_messages, r->mean_throughput, r->p50_us,
             r->p99_us, r->max_us, r->backlog_at_scale_down, r->false_failures);
}

static void
s_json_lists (FILE *out, const zsat_results_t *r)
{
    fprintf (out, "  \"invariants\": [");
    for (size_t i = 0; i < r->invariant_count; i++) {
        fprintf (out, "%s\n    {\"name\": \"%s\", \"verdict\": \"%s\", \"detail\": ", i ? "," : "",
                 r->invariants[i].name,
                 r->invariants[i].verdict == ZSAT_VERDICT_PASS   ? "PASS"
                 : r->invariants[i].verdict == ZSAT_VERDICT_FAIL ? "FAIL"
                                                                 : "UNMEASURED");
        s_json_string (out, r->invariants[i].detail);
        fprintf (out, "}");
    }
    fprintf (out, "],\n  \"faults\": [");
    for (size_t i = 0; i < r->fault_count; i++) {
        const zsat_fault_result_t *f = &r->faults[i];
        fprintf (out,
                 "%s\n    {\"at_s\": %.3f, \"applied_s\": %.3f, \"action\": \"%s\", "
                 "\"target\": \"%s\", \"host\": \"%s\", \"rate\": \"%s\", \"recovers\": %s, "
                 "\"recovery_s\": %.3f, "
                 "\"before_rate\": %.1f, \"error\": ",
                 i ? "," : "", f->fault.at_ms / 1000.0, f->applied_s,
                 zsat_fault_action_name (f->fault.action), f->fault.target, f->fault.host,
                 f->fault.rate, f->recovers ? "true" : "false", f->recovery_s, f->before_rate);
        s_json_string (out, f->error);
        fprintf (out, "}");
    }
    fprintf (out, "],\n  \"stages\": [");
    for (size_t i = 0; i < r->stage_count; i++) {
        const zsat_stage_t *s = &r->stages[i];
        fprintf (out,
                 "%s\n    {\"host\": \"%s\", \"node\": \"%s\", \"ends\": %" PRIu64
                 ", \"errors\": %" PRIu64 ", \"timeouts\": %" PRIu64 ", \"retries\": %" PRIu64
                 ", \"failures\": %" PRIu64 ", \"dead_letters\": %" PRIu64 ", \"p50_us\": %" PRId64
                 ", \"p99_us\": %" PRId64 ", \"max_us\": %" PRId64 "}",
                 i ? "," : "", s->host, s->name, s->ends, s->errors, s->timeouts, s->retries,
                 s->failures, s->dead_letters, s->p50_us, s->p99_us, s->max_us);
    }
    fprintf (out, "],\n  \"samples\": [");
    for (size_t i = 0; i < r->sample_count; i++) {
        const zsat_sample_t *s = &r->samples[i];
        fprintf (out,
                 "%s\n    {\"t_s\": %.0f, \"throughput\": %.0f, \"p50_us\": %" PRId64
                 ", \"p99_us\": %" PRId64 ", \"max_us\": %" PRId64 ", \"happy_ends\": %" PRIu64
                 ", \"failures\": %" PRIu64 ", \"tracker_up\": %s}",
                 i ? "," : "", s->t_s, s->throughput, s->p50_us, s->p99_us, s->max_us,
                 s->happy_ends, s->failures, s->tracker_up ? "true" : "false");
    }
    fprintf (out, "]\n}\n");
}

//  results.json: every key is always present (-1 = unknown), so scripts can rely on them.
static int
s_write_json (const zsat_results_t *r, const char *dir, zsat_error_t *err)
{
    FILE *out = s_open (dir, "results.json", err);
    if (!out)
        return -1;
    fprintf (out, "{\n  \"schema\": \"zsat.harness.results/1\",\n  \"scenario\": ");
    s_json_string (out, r->scenario);
    fprintf (out, ",\n  \"scenario_file\": ");
    s_json_string (out, r->scenario_file);
    fprintf (out, ",\n  \"topology_file\": ");
    s_json_string (out, r->topology_file);
    fprintf (out, ",\n  \"hosts\": \"%s\",\n  \"duration_s\": %.3f,\n  \"passed\": %s,\n",
             r->hosts_mode, r->duration_s, r->passed ? "true" : "false");
    fprintf (out, "  \"error\": ");
    s_json_string (out, r->error);
    fprintf (out, ",\n  \"load\": {\"rate\": %g, \"critical\": %s},\n", r->rate,
             r->critical ? "true" : "false");
    s_json_totals (out, r);
    s_json_lists (out, r);
    return fclose (out) == 0 ? 0 : zsat_fail (err, ZSAT_E_IO, "results.json: write failed");
}

//  samples.dat: t throughput p50_ms p99_ms max_ms ("NaN" where the tracker gave nothing).
static int
s_write_samples (const zsat_results_t *r, const char *dir, const char *name, zsat_error_t *err)
{
    FILE *out = s_open (dir, name, err);
    if (!out)
        return -1;
    fprintf (out, "# t_s throughput p50_ms p99_ms max_ms\n");
    for (size_t i = 0; i < r->sample_count; i++) {
        const zsat_sample_t *s = &r->samples[i];
        fprintf (out, "%.0f %.0f", s->t_s, s->throughput);
        int64_t values[3] = {s->p50_us, s->p99_us, s->max_us};
        for (int v = 0; v < 3; v++) {
            if (values[v] >= 0)
                fprintf (out, " %.3f", values[v] / 1000.0);
            else
                fprintf (out, " NaN");
        }
        fprintf (out, "\n");
    }
    return fclose (out) == 0 ? 0 : -1;
}

static int
s_compare_us (const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return x < y ? -1 : x > y;
}

int64_t
zsat_report_percentile (const int64_t *sorted, size_t count, double pct)
{
    if (count == 0)
        return -1;
    //  nearest rank: the smallest value with at least pct % of the samples at or below it
    double rank = ceil (pct / 100.0 * (double)count);
    size_t index = rank < 1 ? 0 : (size_t)rank - 1;
    return sorted[index < count ? index : count - 1];
}

void
zsat_report_interval (int64_t *latencies_us, size_t count, zsat_sample_t *sample)
{
    qsort (latencies_us, count, sizeof latencies_us[0], s_compare_us);
    sample->p50_us = zsat_report_percentile (latencies_us, count, 50);
    sample->p99_us = zsat_report_percentile (latencies_us, count, 99);
    sample->max_us = count ? latencies_us[count - 1] : -1;
}

//  Marks each fault as a dashed vertical line with its name.
static void
s_fault_marks (FILE *gp, const zsat_results_t *r)
{
    for (size_t i = 0; i < r->fault_count; i++) {
        char what[160];
        zsat_fault_describe (&r->faults[i].fault, what, sizeof what);
        double x = r->faults[i].applied_s;
        fprintf (gp,
                 "set arrow %zu from %.2f, graph 0 to %.2f, graph 1 nohead dt 2 lc rgb '#c00000'\n"
                 "set label %zu '%s' at %.2f, graph %.2f rotate by 90 left offset -0.6,0 "
                 "font ',9' tc rgb '#c00000'\n",
                 i + 1, x, x, i + 1, what, x, 0.03);
    }
}

//  A figure that says why it is empty, so every figure file exists after every run.
static void
s_placeholder (FILE *gp, const char *why)
{
    fprintf (gp,
             "set label 99 '%s' at graph 0.5, graph 0.5 center\nunset logscale y\n"
             "set yrange [0:1]\nplot 2 notitle\nunset label 99\n",
             why);
}

static void
s_stage_bars (FILE *gp, const zsat_results_t *r, const char *dir)
{
    char path[1200];
    snprintf (path, sizeof path, "%s/stages.dat", dir);
    FILE *data = fopen (path, "w");
    if (!data)
        return;
    fprintf (data, "# stage ends errors retries timeouts\n");
    for (size_t i = 0; i < r->stage_count; i++)
        fprintf (data, "%s@%s %" PRIu64 " %" PRIu64 " %" PRIu64 " %" PRIu64 "\n", r->stages[i].name,
                 r->stages[i].host, r->stages[i].ends, r->stages[i].errors, r->stages[i].retries,
                 r->stages[i].timeouts);
    fclose (data);
    fprintf (gp,
             "unset arrow; unset label; set autoscale x\nset output '%s/stages.svg'\n"
             "set title 'Per stage: tasks ended, errors, retries, timeouts'\n"
             "set style data histograms; set style histogram clustered gap 1\n"
             "set style fill solid 0.8 border -1; set boxwidth 0.9\n"
             "set xtics rotate by -30; set xlabel ''; set ylabel 'count'; unset logscale y\n"
             "set yrange [0:*]; set offsets 0, 0, graph 0.1, 0\n",
             dir);
    if (r->stage_count == 0)
        s_placeholder (gp, "no stage figures: the tracker did not answer");
    else
        //  linear, each bar's count written above it: a series of zeros shows as its 0s
        fprintf (gp,
                 "plot '%s/stages.dat' using 2:xtic(1) title 'ends', '' using 3 title 'errors', "
                 "'' using 4 title 'retries', '' using 5 title 'timeouts', "
                 "'' using ($0-0.3):2:2 with labels offset 0,0.7 font ',8' notitle, "
                 "'' using ($0-0.1):3:3 with labels offset 0,0.7 font ',8' notitle, "
                 "'' using ($0+0.1):4:4 with labels offset 0,0.7 font ',8' notitle, "
                 "'' using ($0+0.3):5:5 with labels offset 0,0.7 font ',8' notitle\n",
                 dir);
}

//  Writes figures.gp and runs gnuplot on it (bounded). Returns 0, or -1 when gnuplot did not
//  produce the figures (not an error of the report: it says so).
static int
s_figures (const zsat_results_t *r, const char *dir)
{
    char path[1200];
    snprintf (path, sizeof path, "%s/figures.gp", dir);
    FILE *gp = fopen (path, "w");
    if (!gp)
        return -1;
    fprintf (gp,
             "# zsat harness figures: gnuplot %s/figures.gp\n"
             "set terminal svg size 900,420 dynamic font 'sans,11' noenhanced\n"
             "set grid; set key below; set xlabel 'seconds since the load started'\n"
             "set xrange [0:%.0f]\n",
             dir, r->duration_s > 1 ? r->duration_s : 1);
    s_fault_marks (gp, r);
    bool latency = false;
    for (size_t i = 0; i < r->sample_count; i++)
        latency = latency || r->samples[i].p99_us >= 0;
    fprintf (gp,
             "set output '%s/throughput.svg'\nset title 'Throughput at the sinks (%s)'\n"
             "set ylabel 'rows per second'; set yrange [0:*]\n",
             dir, r->scenario);
    if (r->sample_count)
        fprintf (gp,
                 "plot '%s/samples.dat' using 1:2 with linespoints pt 7 ps 0.4 lw 2 "
                 "title 'rows/s'\n",
                 dir);
    else
        s_placeholder (gp, "no samples: the load never started");
    fprintf (gp,
             "set output '%s/latency.svg'\n"
             "set title 'Task latency in each 1 s interval: exact p50, p99, max of its tasks'\n"
             "set ylabel 'milliseconds (log scale)'; set logscale y; set yrange [*:*]\n",
             dir);
    //  log scale: a stall of seconds beside a steady few ms leaves both readable; points
    //  show an interval that stands alone between intervals without tasks
    if (latency)
        fprintf (gp,
                 "plot '%s/samples.dat' using 1:3 with linespoints pt 7 ps 0.3 lw 2 "
                 "title 'p50', '' using 1:4 with linespoints pt 7 ps 0.3 lw 2 title 'p99', "
                 "'' using 1:5 with linespoints pt 6 ps 0.3 lw 1 dt 2 title 'max'\n"
                 "unset logscale y\n",
                 dir);
    else
        s_placeholder (gp, "no latency reported by the tracker");
    s_stage_bars (gp, r, dir);
    fclose (gp);
    char log[1200];
    snprintf (log, sizeof log, "%s/figures.log", dir);
    char *argv[] = {"gnuplot", path, NULL};
    pid_t pid = zsat_netns_spawn (NULL, NULL, argv, NULL, log, NULL);
    int status = -1;
    int64_t deadline = zclock_mono () + REPORT_GNUPLOT_MS;
    while (pid > 0 && waitpid (pid, &status, WNOHANG) == 0) {
        if (zclock_mono () > deadline) {
            kill (pid, SIGKILL);
            waitpid (pid, &status, 0);
        }
        zclock_sleep (20);
    }
    return pid > 0 && WIFEXITED (status) && WEXITSTATUS (status) == 0 ? 0 : -1;
}

static void
s_num (char *buf, size_t cap, int64_t value)
{
    if (value < 0)
        snprintf (buf, cap, "unknown");
    else
        snprintf (buf, cap, "%" PRId64, value);
}

static void
s_ms (char *buf, size_t cap, int64_t us)
{
    if (us < 0)
        snprintf (buf, cap, "unknown");
    else
        snprintf (buf, cap, "%.2f ms", us / 1000.0);
}

static void
s_md_totals (FILE *out, const zsat_results_t *r)
{
    struct {
        const char *name;
        int64_t value;
        bool latency;
    } rows[] = {{"sent by the load (gen or scheduler)", r->sent, false},
                {"rows at the sinks", r->rows, false},
                {"distinct tasks at the sinks", r->unique, false},
                {"duplicates", r->duplicates, false},
                {"lost (sent - distinct)", r->lost, false},
                {"happy ends (tracker)", r->happy_ends, false},
                {"failures", r->failures, false},
                {"errors", r->errors, false},
                {"retries", r->retries, false},
                {"timeouts", r->timeouts, false},
                {"dead letters", r->dead_letters, false},
                {"tasks in flight at the end", r->live, false},
                {"restarts", r->restarts, false},
                {"SCALE +1 / -1 on the feed", r->scale_ups, false},
                {"most vectors waiting at a SCALE -1", r->backlog_at_scale_down, false},
                {"FAILUREs of tasks a sink wrote", r->false_failures, false},
                {"latency p50 (worst second)", r->p50_us, true},
                {"latency p99 (worst second)", r->p99_us, true},
                {"latency max", r->max_us, true}};
    fprintf (out, "## Figures\n\n| figure | value |\n|---|---|\n");
    fprintf (out, "| throughput at the sinks (mean rows/s) | %.1f |\n", r->mean_throughput);
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        char value[64];
        if (rows[i].latency)
            s_ms (value, sizeof value, rows[i].value);
        else
            s_num (value, sizeof value, rows[i].value);
        if (i == 13)
            snprintf (value, sizeof value, "%" PRId64 " / %" PRId64, r->scale_ups, r->scale_downs);
        fprintf (out, "| %s | %s |\n", rows[i].name, value);
    }
}

static void
s_md_faults (FILE *out, const zsat_results_t *r)
{
    fprintf (out, "\n## Faults\n\n");
    if (r->fault_count == 0) {
        fprintf (out, "None.\n");
        return;
    }
    fprintf (out, "| planned | applied | fault | result | rows/s before | recovery |\n"
                  "|---|---|---|---|---|---|\n");
    for (size_t i = 0; i < r->fault_count; i++) {
        const zsat_fault_result_t *f = &r->faults[i];
        char what[160], recovery[32];
        zsat_fault_describe (&f->fault, what, sizeof what);
        if (!f->recovers)
            snprintf (recovery, sizeof recovery, "until healed");
        else if (f->recovery_s >= 0)
            snprintf (recovery, sizeof recovery, "%.0f s", f->recovery_s);
        else
            snprintf (recovery, sizeof recovery, "%s",
                      f->before_rate > 0 ? "not within the run" : "n/a (no load before)");
        fprintf (out, "| %.1f s | %.1f s | %s | %s | %.0f | %s |\n", f->fault.at_ms / 1000.0,
                 f->applied_s, what, *f->error ? f->error : "applied", f->before_rate, recovery);
    }
}

static void
s_md_stages (FILE *out, const zsat_results_t *r)
{
    fprintf (out, "\n## Stages (tracker)\n\n");
    if (r->stage_count == 0) {
        fprintf (out, "No stage figures: the tracker did not answer STATUS.\n");
        return;
    }
    fprintf (out, "| stage | host | ends | errors | retries | timeouts | failures | dead | p50 | "
                  "p99 | max |\n|---|---|---|---|---|---|---|---|---|---|---|\n");
    for (size_t i = 0; i < r->stage_count; i++) {
        const zsat_stage_t *s = &r->stages[i];
        char p50[32], p99[32], max[32];
        s_ms (p50, sizeof p50, s->p50_us);
        s_ms (p99, sizeof p99, s->p99_us);
        s_ms (max, sizeof max, s->max_us);
        fprintf (out,
                 "| %s | %s | %" PRIu64 " | %" PRIu64 " | %" PRIu64 " | %" PRIu64 " | %" PRIu64
                 " | %" PRIu64 " | %s | %s | %s |\n",
                 s->name, s->host, s->ends, s->errors, s->retries, s->timeouts, s->failures,
                 s->dead_letters, p50, p99, max);
    }
}

static int
s_write_md (const zsat_results_t *r, const char *dir, bool figures, zsat_error_t *err)
{
    FILE *out = s_open (dir, "report.md", err);
    if (!out)
        return -1;
    fprintf (out, "# Harness report: %s — %s\n\n", r->scenario, r->passed ? "PASS" : "FAIL");
    fprintf (out,
             "- scenario: `%s`\n- topology: `%s` (effective copy: `topology.yaml`)\n"
             "- hosts: %s%s\n- duration: %.1f s, load %g vectors/s%s\n",
             r->scenario_file, r->topology_file, r->hosts_mode,
             streq (r->hosts_mode, "loopback") ? " (every host on 127.0.0.1: no link faults)"
                                               : " (network namespaces on a bridge)",
             r->duration_s, r->rate, r->critical ? ", critical" : "");
    if (*r->error)
        fprintf (out, "\n**The run did not complete:** %s\n", r->error);
    fprintf (out, "\n## Invariants\n\n");
    if (r->invariant_count == 0)
        fprintf (out, "None declared.\n");
    else
        fprintf (out, "| invariant | verdict | numbers |\n|---|---|---|\n");
    for (size_t i = 0; i < r->invariant_count; i++)
        fprintf (out, "| %s | **%s** | %s |\n", r->invariants[i].name,
                 s_verdict_name (r->invariants[i].verdict), r->invariants[i].detail);
    fprintf (out, "\n");
    s_md_totals (out, r);
    s_md_faults (out, r);
    s_md_stages (out, r);
    if (figures)
        fprintf (out, "\n## Over time\n\n![throughput](throughput.svg)\n\n"
                      "![latency](latency.svg)\n\n![stages](stages.svg)\n");
    else
        fprintf (out, "\n## Over time\n\nNo figures: gnuplot did not run (see figures.log); "
                      "the data is in samples.dat and figures.gp.\n");
    fprintf (out, "\nLogs: `launcher.<host>.log` here, node logs under the run directory.\n");
    return fclose (out) == 0 ? 0 : zsat_fail (err, ZSAT_E_IO, "report.md: write failed");
}

int
zsat_report_write (const zsat_results_t *results, const char *dir, zsat_error_t *err)
{
    if (s_write_json (results, dir, err) != 0 ||
        s_write_samples (results, dir, "samples.dat", err) != 0)
        return -1;
    bool figures = s_figures (results, dir) == 0;
    return s_write_md (results, dir, figures, err);
}

//  One row of the comparison; unit "" means a count (no decimals), negative means unknown.
static void
s_compare_row (FILE *out, const char *name, double a, double b, const char *unit)
{
    char text[2][32];
    double values[2] = {a, b};
    for (int i = 0; i < 2; i++) {
        if (values[i] < 0)
            snprintf (text[i], sizeof text[i], "unknown");
        else
            snprintf (text[i], sizeof text[i], "%.*f%s", *unit ? 1 : 0, values[i], unit);
    }
    fprintf (out, "| %s | %s | %s |\n", name, text[0], text[1]);
}

static int
s_compare_figures (const zsat_results_t *a, const zsat_results_t *b, const char *dir)
{
    char path[1200];
    snprintf (path, sizeof path, "%s/compare.gp", dir);
    FILE *gp = fopen (path, "w");
    if (!gp)
        return -1;
    double span = a->duration_s > b->duration_s ? a->duration_s : b->duration_s;
    fprintf (gp,
             "set terminal svg size 900,420 dynamic font 'sans,11' noenhanced\nset grid; set key "
             "top right\n"
             "set xlabel 'seconds since the load started'; set xrange [0:%.0f]\n",
             span > 1 ? span : 1);
    s_fault_marks (gp, a);
    fprintf (gp,
             "set output '%s/compare-throughput.svg'\nset title 'Throughput at the sinks'\n"
             "set ylabel 'rows per second'; set yrange [0:*]\n"
             "plot '%s/a.dat' using 1:2 with lines lw 2 title 'A: %s', "
             "'%s/b.dat' using 1:2 with lines lw 2 title 'B: %s'\n",
             dir, dir, a->scenario, dir, b->scenario);
    fprintf (gp,
             "set output '%s/compare-latency.svg'\n"
             "set title 'Task latency p99 in each 1 s interval (exact)'\n"
             "set ylabel 'milliseconds (log scale)'; set logscale y; set yrange [*:*]\n"
             "plot '%s/a.dat' using 1:4 with lines lw 2 title 'A: %s', "
             "'%s/b.dat' using 1:4 with lines lw 2 title 'B: %s'\n",
             dir, dir, a->scenario, dir, b->scenario);
    fclose (gp);
    char log[1200];
    snprintf (log, sizeof log, "%s/compare.log", dir);
    char *argv[] = {"gnuplot", path, NULL};
    pid_t pid = zsat_netns_spawn (NULL, NULL, argv, NULL, log, NULL);
    int status = -1;
    int64_t deadline = zclock_mono () + REPORT_GNUPLOT_MS;
    while (pid > 0 && waitpid (pid, &status, WNOHANG) == 0 && zclock_mono () < deadline)
        zclock_sleep (20);
    if (pid > 0 && waitpid (pid, &status, WNOHANG) == 0) {
        kill (pid, SIGKILL);
        waitpid (pid, &status, 0);
    }
    return pid > 0 && WIFEXITED (status) && WEXITSTATUS (status) == 0 ? 0 : -1;
}

int
zsat_report_compare (const zsat_results_t *a, const zsat_results_t *b, const char *dir,
                     zsat_error_t *err)
{
    if (s_write_samples (a, dir, "a.dat", err) || s_write_samples (b, dir, "b.dat", err))
        return -1;
    bool figures = s_compare_figures (a, b, dir) == 0;
    FILE *out = s_open (dir, "compare.md", err);
    if (!out)
        return -1;
    fprintf (out, "# Harness comparison\n\n| | A: %s | B: %s |\n|---|---|---|\n", a->scenario,
             b->scenario);
    fprintf (out, "| verdict | %s | %s |\n", a->passed ? "PASS" : "FAIL",
             b->passed ? "PASS" : "FAIL");
    fprintf (out, "| topology | `%s` | `%s` |\n", a->topology_file, b->topology_file);
    s_compare_row (out, "throughput (mean rows/s)", a->mean_throughput, b->mean_throughput,
                   " rows/s");
    s_compare_row (out, "sent", (double)a->sent, (double)b->sent, "");
    s_compare_row (out, "distinct at the sinks", (double)a->unique, (double)b->unique, "");
    s_compare_row (out, "lost", (double)a->lost, (double)b->lost, "");
    s_compare_row (out, "duplicates", (double)a->duplicates, (double)b->duplicates, "");
    s_compare_row (out, "p50 (worst second)", a->p50_us < 0 ? -1 : a->p50_us / 1000.0,
                   b->p50_us < 0 ? -1 : b->p50_us / 1000.0, " ms");
    s_compare_row (out, "p99 (worst second)", a->p99_us < 0 ? -1 : a->p99_us / 1000.0,
                   b->p99_us < 0 ? -1 : b->p99_us / 1000.0, " ms");
    s_compare_row (out, "errors", (double)a->errors, (double)b->errors, "");
    s_compare_row (out, "retries", (double)a->retries, (double)b->retries, "");
    s_compare_row (out, "failures", (double)a->failures, (double)b->failures, "");
    s_compare_row (out, "restarts", (double)a->restarts, (double)b->restarts, "");
    fprintf (out, "\nEach run's own report: `a/report.md`, `b/report.md`.\n");
    if (figures)
        fprintf (out, "\n![throughput](compare-throughput.svg)\n\n"
                      "![latency](compare-latency.svg)\n");
    return fclose (out) == 0 ? 0 : zsat_fail (err, ZSAT_E_IO, "compare.md: write failed");
}

//  --------------------------------------------------------------------------
//  Selftest

static bool
s_test_exists (const char *dir, const char *name)
{
    char path[1200];
    snprintf (path, sizeof path, "%s/%s", dir, name);
    return access (path, R_OK) == 0;
}

//  Known samples per interval: exact percentiles, each interval its own (a quiet interval
//  after a slow one shows a lower max, not the running maximum), and the figures' data file
//  and results.json carry those values.
static void
s_test_intervals (void)
{
    int64_t sorted[] = {1, 2, 3, 4};
    assert (zsat_report_percentile (sorted, 4, 50) == 2);
    assert (zsat_report_percentile (sorted, 4, 99) == 4 &&
            zsat_report_percentile (sorted, 4, 25) == 1);
    assert (zsat_report_percentile (sorted, 0, 50) == -1);
    zsat_results_t *r = (zsat_results_t *)zmalloc (sizeof (zsat_results_t));
    static int64_t samples[1000];
    //  interval 1: 1..1000 ms shuffled (p50 500, p99 990, max 1000: no log bucket edge)
    for (int i = 0; i < 1000; i++)
        samples[i] = (int64_t)((i * 337) % 1000 + 1) * 1000;
    r->samples[0] = (zsat_sample_t){.t_s = 1, .throughput = 1000};
    zsat_report_interval (samples, 1000, &r->samples[0]);
    assert (r->samples[0].p50_us == 500000 && r->samples[0].p99_us == 990000);
    assert (r->samples[0].max_us == 1000000);
    //  interval 2: ten tasks of 2.5 ms and one of 3.1 ms
    for (int i = 0; i < 10; i++)
        samples[i] = 2500;
    samples[10] = 3100;
    r->samples[1] = (zsat_sample_t){.t_s = 2, .throughput = 11};
    zsat_report_interval (samples, 11, &r->samples[1]);
    assert (r->samples[1].p50_us == 2500 && r->samples[1].p99_us == 3100);
    assert (r->samples[1].max_us == 3100);
    //  interval 3: no task ended
    r->samples[2] = (zsat_sample_t){.t_s = 3};
    zsat_report_interval (samples, 0, &r->samples[2]);
    assert (r->samples[2].p50_us == -1 && r->samples[2].max_us == -1);
    r->sample_count = 3;
    r->duration_s = 3;
    char dir[] = "/tmp/zsat-report-intervals-XXXXXX";
    assert (mkdtemp (dir));
    zsat_error_t err;
    assert (s_write_samples (r, dir, "samples.dat", &err) == 0);
    char path[1200], text[512];
    snprintf (path, sizeof path, "%s/samples.dat", dir);
    FILE *file = fopen (path, "r");
    size_t size = fread (text, 1, sizeof text - 1, file);
    text[size] = 0;
    fclose (file);
    assert (strstr (text, "\n1 1000 500.000 990.000 1000.000\n"));
    assert (strstr (text, "\n2 11 2.500 3.100 3.100\n"));
    assert (strstr (text, "\n3 0 NaN NaN NaN\n"));
    unlink (path);
    rmdir (dir);
    free (r);
}

void
zsat_report_test (bool verbose)
{
    printf (" * zsat_report: ");
    s_test_intervals ();
    char dir[] = "/tmp/zsat-report-test-XXXXXX";
    assert (mkdtemp (dir));
    zsat_results_t *r = (zsat_results_t *)zmalloc (sizeof (zsat_results_t));
    snprintf (r->scenario, sizeof r->scenario, "demo");
    snprintf (r->hosts_mode, sizeof r->hosts_mode, "netns");
    r->duration_s = 6;
    r->rate = 100;
    r->sent = 600;
    r->rows = r->unique = 598;
    r->lost = 2;
    r->duplicates = 0;
    r->happy_ends = r->failures = r->errors = r->retries = r->timeouts = 0;
    r->dead_letters = r->live = 0;
    r->p50_us = 800;
    r->p99_us = r->max_us = 4000;
    for (int i = 0; i < 6; i++)
        r->samples[r->sample_count++] =
            (zsat_sample_t){.t_s = i + 1, .throughput = i == 3 ? 0 : 100, .p99_us = -1};
    r->fault_count = 1;
    r->faults[0].fault = (zsat_fault_t){.at_ms = 3000, .action = ZSAT_FAULT_KILL};
    snprintf (r->faults[0].fault.target, sizeof r->faults[0].fault.target, "worker");
    r->faults[0].applied_s = 3.01;
    r->faults[0].recovery_s = 2;
    r->stage_count = 1;
    r->stages[0] = (zsat_stage_t){.name = "worker", .host = "a", .ends = 598};
    r->invariant_count = 1;
    r->invariants[0] = (zsat_invariant_result_t){"no_critical_loss", ZSAT_VERDICT_FAIL, "lost 2"};
    snprintf (r->error, sizeof r->error, "a \"quoted\" reason");
    zsat_error_t err;
    assert (zsat_report_write (r, dir, &err) == 0);
    const char *files[] = {"report.md",      "results.json", "samples.dat",
                           "figures.gp",     "figures.log",  "stages.dat",
                           "throughput.svg", "latency.svg",  "stages.svg"};
    bool gnuplot = access ("/usr/bin/gnuplot", X_OK) == 0;
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++)
        assert (s_test_exists (dir, files[i]) || (!gnuplot && strstr (files[i], ".svg")));
    char path[1200];
    snprintf (path, sizeof path, "%s/results.json", dir);
    FILE *file = fopen (path, "r");
    char json[16384];
    size_t size = fread (json, 1, sizeof json - 1, file);
    json[size] = 0;
    fclose (file);
    assert (strstr (json, "\"schema\": \"zsat.harness.results/1\""));
    assert (strstr (json, "\"lost\": 2,") && strstr (json, "\"verdict\": \"FAIL\""));
    assert (strstr (json, "\"error\": \"a \\\"quoted\\\" reason\""));
    assert (zsat_report_compare (r, r, dir, &err) == 0);
    assert (s_test_exists (dir, "compare.md"));
    const char *more[] = {"compare.md",
                          "compare.gp",
                          "compare.log",
                          "a.dat",
                          "b.dat",
                          "compare-throughput.svg",
                          "compare-latency.svg"};
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
        snprintf (path, sizeof path, "%s/%s", dir, files[i]);
        unlink (path);
    }
    for (size_t i = 0; i < sizeof more / sizeof more[0]; i++) {
        snprintf (path, sizeof path, "%s/%s", dir, more[i]);
        unlink (path);
    }
    assert (rmdir (dir) == 0);
    free (r);
    printf ("OK\n");
}
