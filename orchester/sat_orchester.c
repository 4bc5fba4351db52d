/*  sat_orchester - the orchester kind: a system node, one per host, run by its own actor
    (orchester/zsat_orchester.c), not by the satellite runtime.
*/
#include "zsat.h"
#include "zsat_orchester.h"

//  The options the actor reads from the topology (it parses them itself; this table lets
//  `zsat check` accept them and `zsat help orchester` describe them).
typedef struct {
    int64_t hwm;
    int64_t route_timeout;
    int64_t retry_cache;
    int64_t retry_slot;
} s_config_t;

static const zsat_option_t s_options[] = {
    {"hwm", ZSAT_OPT_SIZE, "10000", "send/receive high-water mark of every socket, in messages",
     offsetof (s_config_t, hwm), 0, ZSAT_RANGE (1, 10000000)},
    {"route_timeout", ZSAT_OPT_DURATION, "200ms",
     "how long a vector waits for a full route before it is dead-lettered \"route full\"",
     offsetof (s_config_t, route_timeout), 0, ZSAT_ABOVE (0)},
    {"retry_cache", ZSAT_OPT_SIZE, "8192",
     "vectors kept for the tracker's RESEND (0: none; a RESEND then fails \"not retained\")",
     offsetof (s_config_t, retry_cache), 0},
    {"retry_slot", ZSAT_OPT_SIZE, "1024",
     "bytes per kept vector (routing + envelope + payload); bigger vectors are not kept",
     offsetof (s_config_t, retry_slot), 0, ZSAT_RANGE (64, 16777216)},
    ZSAT_OPTIONS_END};

const zsat_kind_t zsat_kind_orchester = {
    .name = "orchester",
    .description = "per-host router of jobs: routes by type to local nodes, BOUNCE, RESEND, "
                   "circuit breaker, dead letters",
    .role = ZSAT_ROLE_SYSTEM,
    .options = s_options,
    .config_size = sizeof (s_config_t),
    .actor = zsat_orchester_actor};
