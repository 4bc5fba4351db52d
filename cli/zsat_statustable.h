// SPDX-License-Identifier: MPL-2.0
/*  zsat_statustable - `zsat status` and `zsat watch` format the tracker's STATUS JSON
    themselves: a title, one row per stage fitted to the terminal's width, the tracker's own
    row, the counters split into faults and plain information, open breakers.
*/
#ifndef ZSAT_STATUSTABLE_H_INCLUDED
#define ZSAT_STATUSTABLE_H_INCLUDED
#include "zsat.h"

//  Returns the text for json (the tracker's STATUS reply) fitted to width (0: no limit),
//  coloured when colour. NULL when json is not a STATUS reply (caller frees).
char *zsat_statustable_render (const char *json, int width, bool colour);

void zsat_statustable_test (bool verbose);

#endif
