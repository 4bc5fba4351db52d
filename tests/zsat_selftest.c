/*  zsat_selftest - runs every class's selftest, or one with -t NAME. The table is generated
    by the build from the zsat_<class>.c file names (cmake/registries.cmake).
*/
#include "zsat.h"

typedef struct {
    const char *name;
    void (*test) (bool verbose);
} zsat_selftest_t;

#include "zsat_selftests.inc"

int
main (int argc, char **argv)
{
    bool verbose = false;
    const char *only = NULL;
    for (int i = 1; i < argc; i++) {
        if (streq (argv[i], "-v"))
            verbose = true;
        else if (streq (argv[i], "-t") && i + 1 < argc)
            only = argv[++i];
        else if (streq (argv[i], "-l")) {
            for (const zsat_selftest_t *t = zsat_selftests; t->name; t++)
                puts (t->name);
            return 0;
        }
        else {
            fprintf (stderr, "usage: zsat_selftest [-v] [-l] [-t CLASS]\n");
            return 2;
        }
    }
    int ran = 0;
    for (const zsat_selftest_t *t = zsat_selftests; t->name; t++)
        if (!only || streq (only, t->name)) {
            t->test (verbose);
            ran++;
        }
    if (ran == 0) {
        fprintf (stderr, "zsat_selftest: no class named '%s'\n", only);
        return 1;
    }
    zsys_shutdown ();
    return 0;
}
