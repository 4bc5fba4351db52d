#include "zsat.h"
void zsat_netns_test (bool verbose);
void
zsat_netns_test (bool verbose)
{
    printf (" * zsat_netns: OK\n");
}
