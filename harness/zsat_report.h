/*  zsat_report - the report folder of a harness run: report.md (scenario, invariants with
    PASS/FAIL and their numbers, totals, faults and recoveries, stages), results.json (stable
    keys, for machines) and gnuplot SVG figures (throughput and latency over time with the
    faults marked, per-stage bars). Also the side-by-side comparison of two runs.
*/
#ifndef ZSAT_REPORT_H_INCLUDED
#define ZSAT_REPORT_H_INCLUDED
#include "zsat_harness.h"

//  Writes report.md, results.json and SVG figures (gnuplot) into dir. Returns 0, or -1 with
//  err set when a file cannot be written (a missing gnuplot is noted in report.md, not -1).
int zsat_report_write (const zsat_results_t *results, const char *dir, zsat_error_t *err);
//  Writes a side-by-side compare.md and overlaid figures of two runs into dir.
int zsat_report_compare (const zsat_results_t *a, const zsat_results_t *b, const char *dir,
                         zsat_error_t *err);

#endif
