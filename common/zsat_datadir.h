// SPDX-License-Identifier: MPL-2.0
/*  zsat_datadir - where zsat's shipped data is (topologies/, harness/scenarios/, docs/):
    found at run time, never compiled in, so an installed or copied zsat reads its own files
    and never a source checkout.
*/
#ifndef ZSAT_DATADIR_H_INCLUDED
#define ZSAT_DATADIR_H_INCLUDED
#include <stddef.h>

//  The data directory: $ZSAT_DATA_DIR when set, else <prefix>/share/zsat for a binary in
//  <prefix>/bin (an installed layout), else <dir>/share/zsat for a binary in <dir> (a build
//  tree: the build links share/zsat/ to the sources). NULL when none of them exists.
const char *zsat_datadir (void);
//  Writes <data dir>/<relative> into buf and returns buf, or NULL (buf "") with no data dir.
const char *zsat_datadir_path (char *buf, size_t cap, const char *relative);
//  The topology `zsat up`, `status`, `watch` and `trace` use when given none:
//  <data dir>/topologies/default.yaml, or "topologies/default.yaml" (relative) without one.
const char *zsat_datadir_default_topology (char *buf, size_t cap);

#endif
