/*  zsat harness - run a scenario on emulated hosts and write its report; check scenarios;
    compare two scenarios; sweep what a crashed run left behind.
*/
#include "zsat.h"
#include "zsat_harness.h"
#include "zsat_netns.h"
#include "zsat_report.h"
#include <signal.h>
#include <stdarg.h>
#include <sys/stat.h>

static void
s_usage (FILE *out)
{
    fprintf (out,
             "usage: zsat harness run SCENARIO [-o DIR] [--duration D] [--hosts MODE] [--quiet]\n"
             "       zsat harness check SCENARIO...\n"
             "       zsat harness compare A B [-o DIR] [--duration D] [--quiet]\n"
             "       zsat harness clean [--all]\n\n"
             "run      builds the scenario's topology on emulated hosts (network namespaces\n"
             "         when root, else loopback), drives the load, applies the faults on time,\n"
             "         checks the invariants and writes DIR/report.md, results.json and SVG\n"
             "         figures (DIR defaults to ./harness-<scenario>). Exit 0 when every\n"
             "         invariant held, 1 otherwise, 2 for a bad scenario.\n"
             "         --duration shortens (or lengthens) the run; fault times scale with it.\n"
             "         --hosts netns|loopback|auto overrides the scenario's hosts.\n"
             "check    validates scenarios (and their topologies) without running them.\n"
             "compare  runs A then B into DIR/a and DIR/b and writes DIR/compare.md with\n"
             "         overlaid figures (DIR defaults to ./harness-compare).\n"
             "clean    deletes namespaces and links left by harness runs that no longer run\n"
             "         (--all: also those of running ones).\n"
             "Ctrl-C stops a run cleanly: nodes stopped, namespaces and links deleted.\n");
}

static int s_bad (const char *format, ...) __attribute__ ((format (printf, 1, 2)));

//  Prints why the usage is wrong, then the usage, on stderr. Returns 2.
static int
s_bad (const char *format, ...)
{
    va_list args;
    va_start (args, format);
    fprintf (stderr, "zsat harness: ");
    vfprintf (stderr, format, args);
    va_end (args);
    fprintf (stderr, "\n");
    s_usage (stderr);
    return 2;
}

static void
s_on_signal (int sig)
{
    zsat_harness_interrupt ();
}

static void
s_progress (void *arg, const zsat_progress_t *p)
{
    if (*(bool *)arg)
        return;
    fprintf (stderr, "\r[%5.0f/%.0f s] %-9s %8.0f rows/s  faults %zu ", p->elapsed_s, p->total_s,
             p->phase, p->throughput, p->faults_applied);
    if (!isatty (STDERR_FILENO))
        fprintf (stderr, "\n");
}

typedef struct {
    const char *files[2];
    size_t file_count;
    const char *out_dir;
    int64_t duration_ms;
    const char *hosts;
    bool quiet;
    bool all;
} options_t;

//  Parses the options after the action. Returns 0, or 2 after printing why.
static int
s_parse (int argc, char **argv, options_t *opt, size_t want_files)
{
    for (int i = 2; i < argc; i++) {
        const char *arg = argv[i];
        if ((streq (arg, "-o") || streq (arg, "--output")) && i + 1 < argc)
            opt->out_dir = argv[++i];
        else if (streq (arg, "--duration") && i + 1 < argc) {
            const char *text = argv[++i];
            char *end = NULL;
            long seconds = strtol (text, &end, 10);
            if (end != text && !*end && seconds > 0)
                opt->duration_ms = seconds * 1000;
            else if (zsat_topology_parse_duration (text, &opt->duration_ms) != 0 ||
                     opt->duration_ms <= 0)
                return s_bad ("--duration: '%s' is not a duration (20 or 20s)", text);
        }
        else if (streq (arg, "--hosts") && i + 1 < argc) {
            opt->hosts = argv[++i];
            if (!streq (opt->hosts, "netns") && !streq (opt->hosts, "loopback") &&
                !streq (opt->hosts, "auto"))
                return s_bad ("--hosts: '%s' is not netns, loopback or auto", opt->hosts);
        }
        else if (streq (arg, "--quiet") || streq (arg, "-q"))
            opt->quiet = true;
        else if (streq (arg, "--all"))
            opt->all = true;
        else if (arg[0] == '-')
            return s_bad ("unknown option '%s'", arg);
        else if (opt->file_count < want_files)
            opt->files[opt->file_count++] = arg;
        else
            return s_bad ("unexpected argument '%s'", arg);
    }
    if (opt->file_count != want_files)
        return s_bad ("%s", want_files == 1 ? "one SCENARIO file expected"
                                            : "two SCENARIO files expected");
    return 0;
}

//  Loads a scenario and applies the command line's overrides. NULL after printing why.
static zsat_scenario_t *
s_load (const char *path, const options_t *opt)
{
    zsat_diag_t *diag = zsat_diag_new ();
    zsat_scenario_t *scenario = zsat_scenario_load (path, diag);
    zsat_diag_print (diag, stderr);
    zsat_diag_destroy (&diag);
    if (scenario && opt && opt->duration_ms > 0)
        zsat_scenario_set_duration (scenario, opt->duration_ms);
    if (scenario && opt && opt->hosts) {
        zsat_hosts_mode_t mode = streq (opt->hosts, "netns")      ? ZSAT_HOSTS_NETNS
                                 : streq (opt->hosts, "loopback") ? ZSAT_HOSTS_LOOPBACK
                                                                  : ZSAT_HOSTS_AUTO;
        if (zsat_scenario_set_hosts (scenario, mode) != 0) {
            fprintf (stderr, "%s: --hosts loopback: the scenario has link faults\n", path);
            zsat_scenario_destroy (&scenario);
        }
    }
    return scenario;
}

static void
s_print_verdicts (const zsat_results_t *r, const char *dir)
{
    printf ("%s: %s (%s hosts, %.0f s, mean %.0f rows/s)\n", r->scenario,
            r->passed ? "PASS" : "FAIL", r->hosts_mode, r->duration_s, r->mean_throughput);
    if (*r->error)
        printf ("  run error: %s\n", r->error);
    for (size_t i = 0; i < r->invariant_count; i++)
        printf ("  %-17s %-12s %s\n", r->invariants[i].name,
                r->invariants[i].verdict == ZSAT_VERDICT_PASS   ? "PASS"
                : r->invariants[i].verdict == ZSAT_VERDICT_FAIL ? "FAIL"
                                                                : "NOT MEASURED",
                r->invariants[i].detail);
    printf ("  report: %s/report.md\n", dir);
}

//  Runs one scenario into dir and writes its report. Returns 0 when every invariant held,
//  1 otherwise; *results_p gets a copy of the results when not NULL (caller frees).
static int
s_run_one (zsat_scenario_t *scenario, const char *dir, bool quiet, zsat_results_t **results_p)
{
    char binary[1024];
    ssize_t len = readlink ("/proc/self/exe", binary, sizeof binary - 1);
    binary[len > 0 ? len : 0] = 0;
    zsat_harness_t *harness = zsat_harness_new (scenario, dir, binary);
    if (!harness)
        return 1;
    zsat_harness_set_progress (harness, s_progress, &quiet);
    zsat_harness_run (harness);
    if (!quiet)
        fprintf (stderr, "\n");
    const zsat_results_t *r = zsat_harness_results (harness);
    zsat_error_t err;
    int rc = r->passed ? 0 : 1;
    if (zsat_report_write (r, dir, &err) != 0) {
        fprintf (stderr, "zsat harness: report: %s\n", err.text);
        rc = 1;
    }
    s_print_verdicts (r, dir);
    if (results_p) {
        *results_p = (zsat_results_t *)malloc (sizeof (zsat_results_t));
        if (*results_p)
            memcpy (*results_p, r, sizeof (zsat_results_t));
    }
    zsat_harness_destroy (&harness);
    return rc;
}

static int
s_cmd_run (options_t *opt)
{
    zsat_scenario_t *scenario = s_load (opt->files[0], opt);
    if (!scenario)
        return 2;
    char dir[1024];
    if (opt->out_dir)
        snprintf (dir, sizeof dir, "%s", opt->out_dir);
    else
        snprintf (dir, sizeof dir, "harness-%s", zsat_scenario_name (scenario));
    if (zsat_scenario_hosts (scenario) == ZSAT_HOSTS_AUTO && !zsat_netns_available ())
        fprintf (stderr,
                 "zsat harness: no network namespaces (not root?): every host runs on loopback "
                 "(127.0.0.1); "
                 "link faults are not available\n");
    int rc = s_run_one (scenario, dir, opt->quiet, NULL);
    zsat_scenario_destroy (&scenario);
    return rc;
}

//  Returns true when two scenarios drive the same load and the same faults at the same times.
static bool
s_same_drive (zsat_scenario_t *a, zsat_scenario_t *b)
{
    const zsat_load_t *la = zsat_scenario_load_options (a), *lb = zsat_scenario_load_options (b);
    bool same = la->rate == lb->rate && la->size == lb->size && la->critical == lb->critical &&
                zsat_scenario_duration (a) == zsat_scenario_duration (b) &&
                zsat_scenario_fault_count (a) == zsat_scenario_fault_count (b);
    for (size_t i = 0; same && i < zsat_scenario_fault_count (a); i++) {
        char da[160], db[160];
        zsat_fault_describe (zsat_scenario_fault (a, i), da, sizeof da);
        zsat_fault_describe (zsat_scenario_fault (b, i), db, sizeof db);
        same = streq (da, db) &&
               zsat_scenario_fault (a, i)->at_ms == zsat_scenario_fault (b, i)->at_ms;
    }
    return same;
}

static int
s_cmd_compare (options_t *opt)
{
    zsat_scenario_t *a = s_load (opt->files[0], opt);
    zsat_scenario_t *b = a ? s_load (opt->files[1], opt) : NULL;
    if (!a || !b) {
        zsat_scenario_destroy (&a);
        return 2;
    }
    if (!s_same_drive (a, b))
        fprintf (stderr, "zsat harness: A and B differ in load or faults: the comparison "
                         "measures more than their topologies\n");
    const char *base = opt->out_dir ? opt->out_dir : "harness-compare";
    char dir_a[1100], dir_b[1100];
    snprintf (dir_a, sizeof dir_a, "%s/a", base);
    snprintf (dir_b, sizeof dir_b, "%s/b", base);
    zsat_results_t *ra = NULL, *rb = NULL;
    int rc = s_run_one (a, dir_a, opt->quiet, &ra);
    if (!zsat_harness_interrupted ())
        rc |= s_run_one (b, dir_b, opt->quiet, &rb);
    zsat_error_t err;
    if (ra && rb && zsat_report_compare (ra, rb, base, &err) != 0)
        fprintf (stderr, "zsat harness: compare: %s\n", err.text);
    else if (ra && rb)
        printf ("comparison: %s/compare.md\n", base);
    free (ra);
    free (rb);
    zsat_scenario_destroy (&a);
    zsat_scenario_destroy (&b);
    return rc ? 1 : 0;
}

static int
s_cmd_check (int argc, char **argv)
{
    if (argc < 3)
        return s_bad ("%s", "check needs at least one SCENARIO file");
    int rc = 0;
    for (int i = 2; i < argc; i++) {
        if (argv[i][0] == '-')
            return s_bad ("unknown option '%s'", argv[i]);
        zsat_scenario_t *scenario = s_load (argv[i], NULL);
        if (scenario)
            printf ("%s: ok (%zu faults, %.0f s)\n", argv[i], zsat_scenario_fault_count (scenario),
                    zsat_scenario_duration (scenario) / 1000.0);
        else
            rc = 2;
        zsat_scenario_destroy (&scenario);
    }
    return rc;
}

static int
s_cmd_clean (options_t *opt)
{
    if (!zsat_netns_available ()) {
        printf ("nothing to clean: network namespaces need root\n");
        return 0;
    }
    zsat_error_t err;
    int deleted = zsat_netns_sweep (opt->all, &err);
    if (deleted < 0) {
        fprintf (stderr, "zsat harness clean: %s\n", err.text);
        return 1;
    }
    printf ("deleted %d stale namespaces and links (prefix %s)\n", deleted, ZSAT_NETNS_PREFIX);
    return 0;
}

static int
s_harness (int argc, char **argv)
{
    if (argc < 2)
        return s_bad ("%s", "an action is required: run, check, compare or clean");
    const char *action = argv[1];
    if (streq (action, "--help") || streq (action, "-h")) {
        s_usage (stdout);
        return 0;
    }
    for (int i = 2; i < argc; i++)
        if (streq (argv[i], "--help") || streq (argv[i], "-h")) {
            s_usage (stdout);
            return 0;
        }
    if (streq (action, "check"))
        return s_cmd_check (argc, argv);
    options_t opt = {{NULL, NULL}, 0, NULL, 0, NULL, false, false};
    size_t files = streq (action, "compare") ? 2 : streq (action, "clean") ? 0 : 1;
    if (!streq (action, "run") && !streq (action, "compare") && !streq (action, "clean"))
        return s_bad ("unknown action '%s'", action);
    int rc = s_parse (argc, argv, &opt, files);
    if (rc)
        return rc;
    if (streq (action, "clean"))
        return s_cmd_clean (&opt);
    signal (SIGINT, s_on_signal);
    signal (SIGTERM, s_on_signal);
    signal (SIGPIPE, SIG_IGN);
    return streq (action, "run") ? s_cmd_run (&opt) : s_cmd_compare (&opt);
}

const zsat_command_t zsat_cmd_harness = {
    "harness", "run a scenario on emulated hosts: load, faults, invariants, report", s_harness};
