/*  zsat_balancer - a ROUTER/DEALER load balancer: clients of a host reach a pool of workers
    through one endpoint; each request goes to the worker that has been ready the longest.

    Clients (REQ, or DEALER sending an empty delimiter frame first) connect to the frontend.
    Workers (DEALER) connect to the backend and speak (docs/router.md):
      worker -> balancer  "READY"            I can take a request (first message, re-join)
                          "HEARTBEAT"        I am alive (at least every heartbeat_ms, busy or not)
                          route.. "" body..  a reply: the request's envelope, then the answer
      balancer -> worker  route.. "" body..  a request
                          "UNKNOWN"          you were removed as dead: send READY again
    A worker silent for liveness x heartbeat_ms is removed; a request it held is counted lost.
*/
#ifndef ZSAT_BALANCER_H_INCLUDED
#define ZSAT_BALANCER_H_INCLUDED
#include "zsat.h"

//  Endpoints in zsock_attach syntax ("@" binds, ">" connects; bare binds).
typedef struct {
    const char *frontend;  //  ROUTER for clients
    const char *backend;   //  ROUTER for workers
    int heartbeat_ms;      //  workers' heartbeat interval (0: 1000)
    int liveness;          //  intervals of silence before a worker is dead (0: 3)
} zsat_balancer_args_t;

//  The balancer actor: zactor_new (zsat_balancer_actor, &args). Follows the node actor
//  contract: it signals, then sends "READY" or "FAILED <reason>"; answers "STATS" with one
//  JSON frame {"workers","ready","requests","replies","lost","dead","late","unroutable",
//  "bad","held"}; ends on "$TERM". args is read only during start-up.
void zsat_balancer_actor (zsock_t *pipe, void *args);

void zsat_balancer_test (bool verbose);

#endif
