// SPDX-License-Identifier: MPL-2.0
/*  zsat_http - the tracker's HTTP endpoint (libmicrohttpd, its own internal thread).

    GET /metrics (Prometheus text 0.0.4), /api/v1/status, /api/v1/nodes,
    /api/v1/trace/<task_id>, /api/v1/topology (JSON), and the dashboard's static files
    (`/` = index.html). Every answer comes from the tracker's own query socket (REQ, a fresh
    one per request): the HTTP thread never reads the tracker's tables, the tracker's thread
    builds each reply (docs/decisions.md D39). With a token, every request needs
    `Authorization: Bearer <token>`.
*/
#ifndef ZSAT_HTTP_H_INCLUDED
#define ZSAT_HTTP_H_INCLUDED
#include "zsat.h"

typedef struct zsat_http_t zsat_http_t;

typedef struct {
    const char *listen;      //  "A.B.C.D:PORT" (port 0: any free one, for tests)
    const char *token_file;  //  NULL: no token; required off loopback
    const char *query;       //  the tracker's query endpoint (connect syntax)
    const char *web_dir;     //  the dashboard's files; NULL: zsat_http_web_dir ()
    int timeout_ms;          //  for the tracker's answer (0: 2000)
} zsat_http_config_t;

//  Starts listening. Returns NULL with a reason when the address, the token or the bind fails.
zsat_http_t *zsat_http_new (const zsat_http_config_t *config, char *reason, size_t cap);
//  Stops the server; waits for requests in flight (each bounded by timeout_ms).
void zsat_http_destroy (zsat_http_t **self_p);
//  The port it listens on.
int zsat_http_port (zsat_http_t *self);
//  Where the dashboard's files are: $ZSAT_WEB_DIR, else <source>/web (a build tree), else
//  <exe>/../share/zsat/web. Writes the path into buf; returns buf.
const char *zsat_http_web_dir (char *buf, size_t cap);

void zsat_http_test (bool verbose);

#endif
