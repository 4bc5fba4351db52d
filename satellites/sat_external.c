// SPDX-License-Identifier: MPL-2.0
/*  sat_external - a node that is a program outside zsat (a wire worker in Python, say):
    zsat routes to it, tracks it and shows it, but never starts it. The launcher and `zsat up`
    skip it, `zsat node` refuses it, and its endpoints resolve as for any worker
    (`zsat show FILE --json`). The program speaks docs/protocol.md as docs/satellites.md
    "over the wire" says. No options, no callbacks: nothing of it runs inside zsat.
*/
#include "zsat.h"

const zsat_kind_t zsat_kind_external = {
    "external",
    "a program outside zsat that joins over the wire: routed, tracked and shown, never "
    "started (see docs/satellites.md)",
    ZSAT_ROLE_EXTERNAL,
    NULL,
    0,
    NULL,
    NULL,
    NULL,
    NULL,
    NULL};
