#include "zsat.h"
void zsat_report_test (bool verbose);
void
zsat_report_test (bool verbose)
{
    printf (" * zsat_report: OK\n");
}
