/*  zsat help - lists every satellite kind compiled into this zsat (name, role, description),
    or prints one kind's description and options table: name, type, default, description.
*/
#include "zsat.h"
#include "zsat_options.h"

static const char *
s_role_name (zsat_role_t role)
{
    switch (role) {
        case ZSAT_ROLE_SOURCE:
            return "source";
        case ZSAT_ROLE_WORKER:
            return "worker";
        case ZSAT_ROLE_SINK:
            return "sink";
        case ZSAT_ROLE_SYSTEM:
            return "system";
        case ZSAT_ROLE_EXTERNAL:
            return "external";
    }
    return "?";
}

static void
s_usage (FILE *out)
{
    fprintf (out, "usage: zsat help [KIND]\n\n"
                  "Without KIND, lists every satellite kind of this zsat with its role.\n"
                  "With KIND, prints its description and its options (set them in a topology\n"
                  "node's `options:`; `zsat check` rejects unknown ones).\n");
}

static void
s_list (void)
{
    printf ("%-12s %-7s %s\n", "KIND", "ROLE", "DESCRIPTION");
    for (const zsat_kind_t *const *k = zsat_kinds_all (); *k; k++)
        printf ("%-12s %-7s %s\n", (*k)->name, s_role_name ((*k)->role), (*k)->description);
    printf ("\nRun `zsat help KIND` for a kind's options.\n");
}

//  The table's constraints of one option, as `zsat check` and the kind's start apply them.
static void
s_constraints (const zsat_option_t *o)
{
    char text[512] = "";
    size_t used = 0;
    const char *unit = o->type == ZSAT_OPT_DURATION ? " ms"
                       : o->type == ZSAT_OPT_SIZE   ? " bytes"
                       : o->type == ZSAT_OPT_STRING ? " bytes long"
                                                    : "";
    if (o->flags & ZSAT_OPT_REQUIRED)
        used += (size_t)snprintf (text + used, sizeof text - used, "; required");
    if ((o->flags & ZSAT_OPT_MIN) && (o->flags & ZSAT_OPT_MAX))
        used += (size_t)snprintf (text + used, sizeof text - used, "; %s %.15g, <= %.15g%s",
                                  o->flags & ZSAT_OPT_ABOVE ? ">" : ">=", o->min, o->max, unit);
    else if (o->flags & ZSAT_OPT_MIN)
        used += (size_t)snprintf (text + used, sizeof text - used, "; %s %.15g%s",
                                  o->flags & ZSAT_OPT_ABOVE ? ">" : ">=", o->min, unit);
    else if (o->flags & ZSAT_OPT_MAX)
        used += (size_t)snprintf (text + used, sizeof text - used, "; <= %.15g%s", o->max, unit);
    if (o->flags & ZSAT_OPT_NAMED)
        used += (size_t)snprintf (text + used, sizeof text - used, "; a name");
    if (o->choices && used < sizeof text)
        snprintf (text + used, sizeof text - used, "; one of %s", o->choices);
    if (*text)
        printf ("  %-14s %-9s %-10s (%s)\n", "", "", "", text + 2);
}

//  What a kind's one-line description cannot say: where the data goes, what to allow.
static const struct {
    const char *kind, *text;
} s_notes[] = {
    {"ping", "A worker: each job sends `count` ICMP echo requests to every target, `interval`\n"
             "apart, and waits up to `timeout` for the replies. Record keys per target T:\n"
             "T.sent T.received T.loss (percent) T.rtt_min T.rtt_avg T.rtt_max (ms; 0 when no\n"
             "reply came). It opens the unprivileged ICMP socket, allowed to the groups in\n"
             "net.ipv4.ping_group_range (sysctl -w net.ipv4.ping_group_range='0 2147483647'),\n"
             "else a raw socket (CAP_NET_RAW); with neither it does not start and says so.\n"
             "IPv4 only; targets are resolved at start."},
    {"rrd", "A sink: every numeric record key of a vector of type T from host H is one update\n"
            "of <dir>/H/T.<key>.rrd (created at its first value: one data source `value` of\n"
            "ds_type; archives AVERAGE of 1 step and AVERAGE, MIN, MAX of 10 steps, `rows` rows\n"
            "each), at the vector's timestamp. A value not newer than the file's last update is\n"
            "skipped and counted `stale` (round-robin databases cannot go back). Text keys are\n"
            "not stored. Read with `rrdtool fetch FILE AVERAGE` or `rrdtool info FILE`. Built\n"
            "when librrd is found (cmake -DZSAT_WITH_RRD=ON, the default)."},
};

static void
s_describe (const zsat_kind_t *kind)
{
    printf ("%s (%s)\n\n  %s\n\n", kind->name, s_role_name (kind->role), kind->description);
    if (!kind->options || !kind->options->name) {
        printf ("options: none\n");
        return;
    }
    printf ("options:\n  %-14s %-9s %-10s %s\n", "NAME", "TYPE", "DEFAULT", "DESCRIPTION");
    for (const zsat_option_t *o = kind->options; o->name; o++) {
        printf ("  %-14s %-9s %-10s %s\n", o->name, zsat_options_type_name (o->type),
                *o->default_value ? o->default_value : "\"\"", o->description);
        s_constraints (o);
    }
    printf ("\nDurations: 250ms, 2s, 1m, 1h (a unit is required, except for 0). Sizes: 512, 64k, "
            "16MiB, 1G (powers of 1024).\n");
    for (size_t i = 0; i < sizeof s_notes / sizeof s_notes[0]; i++)
        if (streq (s_notes[i].kind, kind->name))
            printf ("\n%s\n", s_notes[i].text);
}

static int
s_run (int argc, char **argv)
{
    if (argc > 1 && (streq (argv[1], "--help") || streq (argv[1], "-h"))) {
        s_usage (stdout);
        return 0;
    }
    if (argc > 2 || (argc == 2 && argv[1][0] == '-')) {
        fprintf (stderr, "zsat help: %s\n", argc > 2 ? "too many arguments" : "unknown option");
        s_usage (stderr);
        return 2;
    }
    if (argc == 1) {
        s_list ();
        return 0;
    }
    const zsat_kind_t *kind = zsat_kind_find (argv[1]);
    if (!kind) {
        const char *names[128];
        size_t count = 0;
        for (const zsat_kind_t *const *k = zsat_kinds_all (); *k && count < 127; k++)
            names[count++] = (*k)->name;
        names[count] = NULL;
        const char *near = zsat_options_suggest (argv[1], names);
        fprintf (stderr, "zsat help: unknown kind '%s'%s%s%s (see `zsat help`)\n", argv[1],
                 near ? " (did you mean '" : "", near ? near : "", near ? "'?)" : "");
        return 2;
    }
    s_describe (kind);
    return 0;
}

const zsat_command_t zsat_cmd_help = {"help", "list satellite kinds, or show one kind's options",
                                      s_run};
