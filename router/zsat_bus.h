/*  zsat_bus - a host's event bus: one XSUB endpoint for every local publisher and one XPUB
    endpoint for every local subscriber, with a hand-written forwarding loop.

    Publishers connect PUB sockets to the frontend, subscribers connect SUB sockets to the
    backend; subscriptions flow upstream, messages downstream. PUB/SUB semantics hold end to
    end: at-most-once, a slow or late subscriber loses messages (docs/router.md).
*/
#ifndef ZSAT_BUS_H_INCLUDED
#define ZSAT_BUS_H_INCLUDED
#include "zsat.h"

//  Endpoints in zsock_attach syntax ("@" binds, ">" connects; bare binds).
typedef struct {
    const char *frontend;  //  XSUB: publishers connect here
    const char *backend;   //  XPUB: subscribers connect here
} zsat_bus_args_t;

//  The bus actor: zactor_new (zsat_bus_actor, &args). Follows the node actor contract: it
//  signals, then sends "READY" or "FAILED <reason>"; answers "STATS" with one JSON frame
//  {"in","out","errors","subscribe","unsubscribe","upstream","bytes"}; ends on "$TERM".
//  args is read only during start-up: the caller may free it after "READY".
void zsat_bus_actor (zsock_t *pipe, void *args);

void zsat_bus_test (bool verbose);

#endif
