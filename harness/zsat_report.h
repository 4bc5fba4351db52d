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
//  Sets sample's p50, p99 and max to the exact (nearest-rank) percentiles of the count task
//  latencies of its interval (sorted in place); all three -1 when count is 0. The figures
//  and results.json carry these: each interval its own, never a running maximum.
void zsat_report_interval (int64_t *latencies_us, size_t count, zsat_sample_t *sample);
//  The nearest-rank percentile pct (0..100] of sorted[0..count), -1 when count is 0.
int64_t zsat_report_percentile (const int64_t *sorted, size_t count, double pct);

void zsat_report_test (bool verbose);

#endif
