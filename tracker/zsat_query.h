/*  zsat_query - the client side of the tracker's query socket (REQ -> REP "tracker.query"),
    for `zsat status`, `zsat watch` and `zsat trace`: finds the endpoint from a topology and
    asks one question with a bounded wait. Opens one short-lived REQ socket per question.
*/
#ifndef ZSAT_QUERY_H_INCLUDED
#define ZSAT_QUERY_H_INCLUDED
#include "zsat.h"

#define ZSAT_QUERY_TIMEOUT_MS 2000

//  Puts the tracker's query endpoint in buf: `endpoint` when not NULL, else the one the
//  topology file (NULL: the default topology, zsat_datadir.h) gives a client on from_host (NULL: the
//  tracker's own host). A topology file given with an endpoint still sets this process's
//  CURVE keys (zsat_curve_use_cli). Returns 0, or -1 with err (file problems listed in err's text).
int zsat_query_endpoint (const char *topology_file, const char *from_host, const char *endpoint,
                         char *buf, size_t cap, zsat_error_t *err);
//  Sends request and waits up to timeout_ms for the one-frame reply. Returns the reply
//  (caller frees with free), or NULL with err when nothing answered in time.
char *zsat_query_ask (const char *endpoint, const char *request, int timeout_ms, zsat_error_t *err);

//  The options `zsat status`, `watch` and `trace` share.
typedef struct {
    const char *topology;  //  --topology FILE
    const char *host;      //  --host H: ask from this host of the topology
    const char *endpoint;  //  --endpoint EP: overrides the topology
    int timeout_ms;        //  --timeout MS
    bool json;             //  --json
    bool help;             //  --help / -h
    long count;            //  --count N (watch), 0 = until Ctrl-C
    const char *argument;  //  the one positional argument (trace's TASK_ID), or NULL
} zsat_query_opts_t;

//  Parses argv[1..] into opts (defaults first). allow_count: accept --count; want_argument:
//  one positional argument is required. Returns 0, or -1 with err saying what is wrong.
int zsat_query_parse (int argc, char **argv, bool allow_count, bool want_argument,
                      zsat_query_opts_t *opts, zsat_error_t *err);

void zsat_query_test (bool verbose);

#endif
