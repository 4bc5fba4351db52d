#include "zsat.h"
void zsat_harness_test (bool verbose);
void
zsat_harness_test (bool verbose)
{
    printf (" * zsat_harness: OK\n");
}
