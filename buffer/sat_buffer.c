/*  sat_buffer - the `buffer` kind: a system node storing one critical channel durably and
    delivering it to the channel's consumers until each acknowledged (zsat_bufnode).
*/
#include "zsat.h"
#include "zsat_bufnode.h"

const zsat_kind_t zsat_kind_buffer = {
    .name = "buffer",
    .description = "durable replay buffer of a critical channel (write-ahead log + HDF5)",
    .role = ZSAT_ROLE_SYSTEM,
    .options = zsat_bufnode_options,
    .config_size = sizeof (zsat_bufnode_config_t),
    .actor = zsat_bufnode_actor,
};
