/*  sat_scheduler - the scheduler kind: a system node (one per topology) that publishes INIT
    jobs per the topology's schedules, run by its own actor (scheduler/zsat_scheduler.c).
*/
#include "zsat.h"
#include "zsat_scheduler.h"

const zsat_kind_t zsat_kind_scheduler = {
    .name = "scheduler",
    .description = "publishes INIT jobs per the topology's schedules, aligned without drift",
    .role = ZSAT_ROLE_SYSTEM,
    .options = NULL,
    .config_size = 0,
    .actor = zsat_scheduler_actor};
