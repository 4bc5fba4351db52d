/*  zsat check - loads and validates topology files, listing every problem as
    `file:line:col: message` on stderr. Exit 0 when all are good, 1 on problems, 2 on usage.
*/
#include "zsat.h"
#include "zsat_curve.h"

static const char *s_usage_text =
    "usage: zsat check [--quiet] FILE...\n\n"
    "Validates topology files. Every problem is printed on stderr as file:line:col: message.\n"
    "  -q, --quiet   print nothing for good files\n"
    "Exit status: 0 all good, 1 problems found, 2 bad usage.";

static int
s_check (const char *path, bool quiet)
{
    zsat_diag_t *diag = zsat_diag_new ();
    zsat_topology_t *topology = zsat_topology_load (path, diag);
    //  Keys are checked here and where a process starts, not by the loader: a topology
    //  can be shown, drawn and resolved before its hosts have keys.
    size_t key_errors = zsat_curve_check (topology, diag);
    if (topology && !quiet && !key_errors)
        printf ("%s: ok (%zu nodes, %zu links, %zu hosts)\n", path,
                zsat_topology_node_count (topology), zsat_topology_link_count (topology),
                zsat_topology_host_count (topology));
    if (!topology && zsat_diag_count (diag) == 0)
        fprintf (stderr, "%s: invalid topology\n", path);
    zsat_diag_print (diag, stderr);
    int status = topology && !key_errors ? 0 : 1;
    zsat_topology_destroy (&topology);
    zsat_diag_destroy (&diag);
    return status;
}

static int
s_run (int argc, char **argv)
{
    bool quiet = false;
    int files = 0;
    for (int i = 1; i < argc; i++) {
        if (streq (argv[i], "--help") || streq (argv[i], "-h")) {
            puts (s_usage_text);
            return 0;
        }
        if (streq (argv[i], "--quiet") || streq (argv[i], "-q"))
            quiet = true;
        else if (argv[i][0] == '-' && argv[i][1]) {
            fprintf (stderr, "zsat check: unknown option '%s'\n%s\n", argv[i], s_usage_text);
            return 2;
        }
        else
            files++;
    }
    if (files == 0) {
        fprintf (stderr, "zsat check: no file given\n%s\n", s_usage_text);
        return 2;
    }
    int status = 0;
    for (int i = 1; i < argc; i++)
        if (argv[i][0] != '-' || !argv[i][1])
            status |= s_check (argv[i], quiet);
    return status;
}

const zsat_command_t zsat_cmd_check = {"check", "validate topology files (every problem listed)",
                                       s_run};
