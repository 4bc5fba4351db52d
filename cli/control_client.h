// SPDX-License-Identifier: MPL-2.0
/*  control_client - what `zsat send` and `zsat route` share: finding a host's orchester
    endpoint from wherever the command runs, and one bounded request on a fresh REQ.
*/
#ifndef ZSAT_CONTROL_CLIENT_H_INCLUDED
#define ZSAT_CONTROL_CLIENT_H_INCLUDED
#include "zsat.h"

//  Resolves `what` ("orchester.control", "orchester.any") of host (NULL: the first host) as a
//  client reaches it from the host `from` (NULL: guessed). A command on host H reaches H's
//  sockets over ipc and any other host's over tcp; without `from`, the ipc path is used when
//  its socket file exists here (this machine runs that host), else the host's tcp endpoint.
//  Writes the endpoint (without '>') into buf and the host's name into host_out. Returns 0,
//  or 1 after printing why to stderr (prefixed by `who`).
int control_client_endpoint (const char *who, const char *path, const char *host, const char *from,
                             const char *what, char *host_out, char *buf, size_t cap);

//  A REQ that refuses to queue for a peer that is not there (ZMQ_IMMEDIATE), with send and
//  receive timeouts of timeout_ms and no linger. Returns NULL when the endpoint is bad.
zsock_t *control_client_req (const char *endpoint, int timeout_ms);

#endif
