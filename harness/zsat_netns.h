/*  zsat_netns - emulated hosts as Linux network namespaces: one bridge per run, one veth pair
    per host (one end on the bridge, the other in the host's namespace with an address in
    198.18.0.0/15), link down/up and tc tbf bandwidth caps. Every name starts with a per-run
    prefix "zsh<pid in hex>" so a sweep can find and delete what a crashed run left behind.
    The only platform-specific code of zsat; `ip` and `tc` run via fork/exec, bounded in time.
*/
#ifndef ZSAT_NETNS_H_INCLUDED
#define ZSAT_NETNS_H_INCLUDED
#include "zsat.h"

#define ZSAT_NETNS_PREFIX    "zsh"
#define ZSAT_NETNS_HOSTS_MAX 64

typedef struct zsat_netns_t zsat_netns_t;

//  Returns true when this process may create namespaces (root with `ip` on the PATH).
bool zsat_netns_available (void);
//  Creates the run's bridge. Returns NULL with err set when that fails (not root, no `ip`).
zsat_netns_t *zsat_netns_new (zsat_error_t *err);
//  Deletes every namespace, link and qdisc of the run; safe twice, accepts NULL.
void zsat_netns_destroy (zsat_netns_t **self_p);
//  The run's prefix ("zsh0012ab").
const char *zsat_netns_prefix (zsat_netns_t *self);

//  Creates a namespace for host with lo up and a veth to the bridge; its address is written
//  into address ("198.18.0.N"). Returns 0, or -1 with err set.
int zsat_netns_add_host (zsat_netns_t *self, const char *host, char *address, size_t cap,
                         zsat_error_t *err);
//  Namespace name of a host ("zsh0012ab-a"), or NULL when unknown.
const char *zsat_netns_name (zsat_netns_t *self, const char *host);
//  Sets the host's link down (partition) or up. Returns 0, or -1 with err set.
int zsat_netns_link (zsat_netns_t *self, const char *host, bool up, zsat_error_t *err);
//  Caps both directions of the host's link with tc tbf ("1mbit"); "off" removes the cap.
int zsat_netns_bandwidth (zsat_netns_t *self, const char *host, const char *rate,
                          zsat_error_t *err);
//  Moves the calling process into the host's namespace (use in a forked child before exec).
//  Returns 0, or -1 with errno set.
int zsat_netns_enter (zsat_netns_t *self, const char *host);
//  Starts argv (argv[0] a path or a name on PATH) in its own process group with stdout and
//  stderr appended to log_path, inside the host's namespace when self is not NULL. envp
//  entries ("K=V") are added to the environment. Returns the pid, or -1 with err set.
pid_t zsat_netns_spawn (zsat_netns_t *self, const char *host, char *const argv[],
                        const char *const *envp, const char *log_path, zsat_error_t *err);

//  Deletes namespaces and links named ZSAT_NETNS_PREFIX<pid> whose pid no longer runs (all of
//  them when every_run). Returns how many names were deleted, or -1 when listing failed.
int zsat_netns_sweep (bool every_run, zsat_error_t *err);
//  Counts namespaces and links whose name starts with prefix (for tests and checks).
int zsat_netns_count (const char *prefix);

#endif
