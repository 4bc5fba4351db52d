// SPDX-License-Identifier: MPL-2.0
/*  control_client - host endpoints for the CLI's orchester clients (contract in the header).
*/
#include "control_client.h"
#include "zsat_curve.h"
#include <sys/stat.h>

//  True when endpoint is ipc://PATH and PATH is a socket file on this machine.
static bool
s_ipc_here (const char *endpoint)
{
    struct stat st;
    return strncmp (endpoint, "ipc://", 6) == 0 && stat (endpoint + 6, &st) == 0 &&
           S_ISSOCK (st.st_mode);
}

//  The name of some host of the topology other than host, or NULL when it has one host.
static const char *
s_other_host (zsat_topology_t *topology, const char *host)
{
    for (size_t h = 0; h < zsat_topology_host_count (topology); h++)
        if (!streq (zsat_topology_host (topology, h)->name, host))
            return zsat_topology_host (topology, h)->name;
    return NULL;
}

static int
s_resolve (zsat_topology_t *topology, const char *host, const char *from, const char *what,
           char *buf, size_t cap)
{
    char endpoint[512];
    if (zsat_topology_endpoint (topology, what, host, from ? from : host, endpoint,
                                sizeof endpoint))
        return -1;
    const char *other = from ? NULL : s_other_host (topology, host);
    //  Not known where we run: ipc when this machine runs that host, else its tcp endpoint.
    if (other && !s_ipc_here (endpoint + 1) &&
        zsat_topology_endpoint (topology, what, host, other, endpoint, sizeof endpoint))
        return -1;
    snprintf (buf, cap, "%s", endpoint + 1);  //  without zsock_attach's '>'
    return 0;
}

//  The CLI presents its operator key ($ZSAT_CERT) on tcp when the topology is CURVE.
static int
s_curve (const char *who, zsat_topology_t *topology, const char *host)
{
    zsat_error_t err;
    if (zsat_curve_use_cli (topology, host, &err) == 0)
        return 0;
    fprintf (stderr, "%s: %s\n", who, err.text);
    return -1;
}

int
control_client_endpoint (const char *who, const char *path, const char *host, const char *from,
                         const char *what, char *host_out, char *buf, size_t cap)
{
    if (!path) {
        fprintf (stderr, "%s: give --topology FILE (or $ZSAT_TOPOLOGY)\n", who);
        return 1;
    }
    zsat_diag_t *diag = zsat_diag_new ();
    zsat_topology_t *topology = zsat_topology_load (path, diag);
    int rc = 1;
    if (!topology)
        zsat_diag_print (diag, stderr);
    else {
        if (!host && zsat_topology_host_count (topology))
            host = zsat_topology_host (topology, 0)->name;
        snprintf (host_out, ZSAT_NAME_MAX, "%s", host ? host : "");
        if (from && !zsat_topology_host_find (topology, from))
            fprintf (stderr, "%s: --from %s: no such host in %s\n", who, from, path);
        else if (!host || s_resolve (topology, host, from, what, buf, cap))
            fprintf (stderr, "%s: no orchester on host '%s' in %s\n", who, host ? host : "?", path);
        else if (s_curve (who, topology, host) == 0)
            rc = 0;
    }
    zsat_topology_destroy (&topology);
    zsat_diag_destroy (&diag);
    return rc;
}

zsock_t *
control_client_req (const char *endpoint, int timeout_ms)
{
    zsock_t *req = zsock_new (ZMQ_REQ);
    if (!req)
        return NULL;
    //  Nothing is queued for a peer that is not connected: a send to an endpoint where nothing
    //  listens fails after the timeout, so "nothing listens" is known, not guessed.
    zsock_set_immediate (req, 1);
    //  A REQ whose peer is gone must not keep the command alive: drop on close, bounded waits.
    zsock_set_linger (req, 0);
    zsock_set_sndtimeo (req, timeout_ms);
    zsock_set_rcvtimeo (req, timeout_ms);
    zsock_set_maxmsgsize (req, 1024 * 1024);
    if (zsat_curve_apply (req, NULL, endpoint, ZSAT_CURVE_CLIENT) != 0 ||
        zsock_connect (req, "%s", endpoint) != 0)
        zsock_destroy (&req);
    return req;
}
