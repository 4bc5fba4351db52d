/*  sat_tracker - the `tracker` kind: a system node whose actor is zsat_tracker_actor
    (tracker/zsat_tracker.c). It takes no options: its policy is the topology's `tracker:`
    section.
*/
#include "zsat.h"
#include "zsat_tracker.h"

const zsat_kind_t zsat_kind_tracker = {
    .name = "tracker",
    .description = "tracks every task through the FSM (deadlines, retries, failures), keeps "
                   "live stats, decides scaling and circuit breaking; feed on tracker.state, "
                   "queries on tracker.query",
    .role = ZSAT_ROLE_SYSTEM,
    .options = NULL,
    .config_size = 0,
    .actor = zsat_tracker_actor,
};
