/*  zsat_routes - the orchester's routing table: job type -> the nodes that receive it.
    No sockets: each target carries an integer the owner maps to its socket. Several nodes
    on one route are a fan-out (each node gets a copy); the instances of one node share its
    socket, so PUSH round-robin load-balances over them.
*/
#ifndef ZSAT_ROUTES_H_INCLUDED
#define ZSAT_ROUTES_H_INCLUDED
#include "zsat.h"

#define ZSAT_ROUTES_MAX        256  //  types
#define ZSAT_ROUTE_TARGETS_MAX 16   //  nodes per type (fan-out)

typedef struct {
    char type[ZSAT_NAME_MAX];
    size_t type_len;
    size_t count;  //  targets
    char nodes[ZSAT_ROUTE_TARGETS_MAX][ZSAT_NAME_MAX];
    int ids[ZSAT_ROUTE_TARGETS_MAX];  //  the owner's handle for each node (a socket slot)
    uint64_t routed;                  //  vectors routed for this type (owner increments)
} zsat_route_entry_t;

typedef struct zsat_routes_t zsat_routes_t;

//  Creates an empty table. Returns NULL when out of memory.
zsat_routes_t *zsat_routes_new (void);
//  Destroys the table; accepts NULL and nulls the caller's pointer.
void zsat_routes_destroy (zsat_routes_t **self_p);

//  Routes type to node (handle id). Returns 0 when added, 1 when it was already there, -1
//  when a name is invalid or the table or the route is full.
int zsat_routes_add (zsat_routes_t *self, const char *type, const char *node, int id);
//  Stops routing type to node. Returns 0, or -1 when there was no such route. A type left
//  without targets is removed.
int zsat_routes_del (zsat_routes_t *self, const char *type, const char *node);
//  Replaces node `from` by `to` (handle id) in the route of type, in one step: no vector
//  routed between two control messages sees both or neither. Returns 0, 1 when `to` was
//  already a target (then `from` is only removed), or -1 when type has no route to `from`
//  or a name is invalid.
int zsat_routes_move (zsat_routes_t *self, const char *type, const char *from, const char *to,
                      int id);
//  Finds the route of a type given as bytes (not NUL-terminated, straight from a routing
//  frame). Returns the entry (owned by the table, valid until the next add/del), or NULL.
zsat_route_entry_t *zsat_routes_lookup (zsat_routes_t *self, const char *type, size_t len);
//  Returns the number of types routed, and entry i of them (NULL past the end).
size_t zsat_routes_size (zsat_routes_t *self);
zsat_route_entry_t *zsat_routes_at (zsat_routes_t *self, size_t index);
//  Returns true when some route still targets node.
bool zsat_routes_targets_node (zsat_routes_t *self, const char *node);
//  Writes the table as text, one line per type "type node node...", sorted by type, into buf.
//  Returns the length written (truncated to cap - 1).
size_t zsat_routes_list (zsat_routes_t *self, char *buf, size_t cap);

#endif
