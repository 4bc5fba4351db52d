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

static void
s_describe (const zsat_kind_t *kind)
{
    printf ("%s (%s)\n\n  %s\n\n", kind->name, s_role_name (kind->role), kind->description);
    if (!kind->options || !kind->options->name) {
        printf ("options: none\n");
        return;
    }
    printf ("options:\n  %-14s %-9s %-10s %s\n", "NAME", "TYPE", "DEFAULT", "DESCRIPTION");
    for (const zsat_option_t *o = kind->options; o->name; o++)
        printf ("  %-14s %-9s %-10s %s\n", o->name, zsat_options_type_name (o->type),
                *o->default_value ? o->default_value : "\"\"", o->description);
    printf ("\nDurations: 250ms, 2s, 1m, 1h (a unit is required, except for 0). Sizes: 512, 64k, "
            "16MiB, 1G (powers of 1024).\n");
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
