// SPDX-License-Identifier: MPL-2.0
/*  zsat_curve - CURVE on every tcp link of a topology with `security: curve` (the default
    with more than one host). A process calls zsat_curve_use once with its topology and
    host; every socket site then calls zsat_curve_apply before bind/connect (decisions.md
    D35, docs/security.md).

    Servers (binders with a tcp endpoint) get the host's secret key, ZAP domain "zsat" with
    ZMQ_ZAP_ENFORCE_DOMAIN, and the process's one ZAP handler admits exactly the public keys
    the topology lists (hosts' `curve_key`, `operators:`), each named (ZAP user id and
    metadata "name"); a control socket (ZSAT_CURVE_CONTROL) only operators and its host.
    Clients get their own keypair (the host's, or for the CLI the operator certificate in
    ZSAT_CERT) and the public key of the host that binds the endpoint. ipc-only sockets stay
    plain: the 0700 run directory guards them. Refused handshakes are counted and logged.
*/
#ifndef ZSAT_CURVE_H_INCLUDED
#define ZSAT_CURVE_H_INCLUDED
#include "zsat.h"
#include "zsat_topology.h"

#define ZSAT_CURVE_SERVER 1
#define ZSAT_CURVE_CLIENT 2
//  With SERVER: a control socket (launcher, orchester): operator keys and the host's own.
#define ZSAT_CURVE_CONTROL 4
#define ZSAT_CURVE_KEY_LEN 40  //  Z85 text of a 32-byte key

//  The host's certificate file (its secret half is path + "_secret", mode 0600):
//  <run_dir>/<host>/curve.cert.
int zsat_curve_cert_path (zsat_topology_t *topology, const char *host, char *buf, size_t cap);

//  A key as a topology writes it: 40 characters of Z85, or a certificate file (relative to
//  the topology file's directory, base_dir). Returns 0 and fills key (41 bytes), or -1 with
//  a reason in why.
int zsat_curve_key_parse (const char *text, const char *base_dir, char *key, char *why, size_t cap);

//  `zsat check`'s security checks: with CURVE (explicit, or several hosts), every host needs
//  a curve_key that parses, every operator key parses; `security: none` with several hosts
//  is a warning. Problems go to diag as `file:line:col: message` naming the command that
//  fixes them; warnings start with "warning:". Returns the number of errors.
size_t zsat_curve_check (zsat_topology_t *topology, zsat_diag_t *diag);

//  Makes this process (a node, a launcher, `zsat up`) use the topology's security as host
//  (NULL: each apply names its host). Copies what it needs. Returns 0, or -1 with err set
//  when a key of the topology does not parse.
int zsat_curve_use (zsat_topology_t *topology, const char *host, zsat_error_t *err);
//  The same for a CLI command acting from host: its identity is the operator certificate
//  named by ZSAT_CERT when set, else host's own certificate.
int zsat_curve_use_cli (zsat_topology_t *topology, const char *host, zsat_error_t *err);
//  True when this process secures tcp sockets (zsat_curve_use with `security: curve`).
bool zsat_curve_active (void);

//  Secures sock for endpoint (zsock_attach syntax) as role, for host (NULL: the process's
//  host). Does nothing for ipc-only sockets, `security: none`, or without zsat_curve_use.
//  Returns 0, or -1 (logged, errno EACCES) when the socket cannot be secured: the caller
//  must not attach it.
int zsat_curve_apply (zsock_t *sock, const char *host, const char *endpoint, int role);

//  Name of the authenticated peer that sent frame (the topology's host or operator name of
//  its key), or NULL (plain/ipc). For control handlers: `zsat_curve_peer_name (first)`.
const char *zsat_curve_peer_name (zframe_t *frame);

//  For control handlers: true when frame's sender may control host's sockets: an operator
//  key of the topology, host's own key, or no key at all (ipc: the run directory guards
//  it; `security: none`). A control request from another host's key returns false.
bool zsat_curve_peer_may_control (zframe_t *frame, const char *host);

//  True when frame's sender may speak for node: its key is the key of a host node runs on,
//  or it has no key (ipc, `security: none`). The buffer checks a consumer's HELLO and ACK.
bool zsat_curve_peer_may_be (zframe_t *frame, const char *node);
//  The same from the peer's name (zmq_msg_gets (msg, "name") of a received zmq_msg_t, for
//  code that receives zmq_msg_t and not zframe_t; NULL: no key).
bool zsat_curve_name_may_be (const char *name, const char *node);

//  Handshakes refused by this process's CURVE servers so far.
uint64_t zsat_curve_refused (void);

//  Writes a new certificate for name at path (public) and path_secret (mode 0600), refusing
//  to overwrite unless force. Returns 0 or -1 with err.
int zsat_curve_cert_write (const char *path, const char *name, bool force, zsat_error_t *err);

void zsat_curve_test (bool verbose);

#endif
