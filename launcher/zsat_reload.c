// SPDX-License-Identifier: MPL-2.0
/*  zsat_reload - the diff behind a live reload: everything but the routes' node lists is
    written out as lines (a canonical description), the two descriptions must be equal, and
    the route differences become orchester requests.
*/
#include "zsat_reload.h"
#include <inttypes.h>

static void
s_describe_policy (FILE *out, const zsat_tracker_policy_t *p)
{
    fprintf (
        out,
        "policy timeout=%" PRId64 " retry=%d backoff=%" PRId64 "/%" PRId64 " seq=%d tasks=%" PRId64
        " full=%d scale=%d/%d/%" PRId64 "/%" PRId64 " breaker=%g/%d/%" PRId64 "/%" PRId64 "\n",
        p->timeout_ms, p->max_retry, p->backoff_ms, p->backoff_max_ms, p->max_seq, p->max_tasks,
        p->refuse_when_full, p->scale_low, p->scale_high, p->scale_window_ms, p->scale_cooldown_ms,
        p->breaker_threshold, p->breaker_min_tasks, p->breaker_window_ms, p->breaker_cooldown_ms);
    for (size_t i = 0; i < p->stage_timeout_count; i++)
        fprintf (out, "policy timeout %s=%" PRId64 "\n", p->stage_timeout_names[i],
                 p->stage_timeout_ms[i]);
}

static void
s_describe_node (FILE *out, zsat_topology_t *t, const zsat_node_t *n, const char *host)
{
    fprintf (out, "node %s kind %s instances %d..%d..%d on %s\n", n->name, n->kind,
             n->min_instances, n->instances, n->max_instances, host);
    for (size_t o = 0; o < n->option_count; o++)
        fprintf (out, "node %s option %s=%s\n", n->name, n->options[o].key, n->options[o].value);
    zsat_socket_t sockets[256];
    int count = zsat_topology_sockets (t, n->name, host, sockets, 256);
    for (int s = 0; s < count; s++)
        fprintf (out, "node %s socket %s %d %d peer=%s when=%s topic=%s\n", n->name,
                 sockets[s].name, sockets[s].socket_type, sockets[s].bind,
                 sockets[s].peer ? sockets[s].peer : "", sockets[s].when ? sockets[s].when : "",
                 sockets[s].topic ? sockets[s].topic : "");
}

//  Every setting that needs a restart to change, one per line.
static char *
s_describe (zsat_topology_t *t)
{
    char *text = NULL;
    size_t size = 0;
    FILE *out = open_memstream (&text, &size);
    if (!out)
        return NULL;
    fprintf (out, "topology %s run_dir %s base_port %d\n", zsat_topology_name (t),
             zsat_topology_run_dir (t), zsat_topology_base_port (t));
    for (size_t h = 0; h < zsat_topology_host_count (t); h++) {
        const zsat_host_t *host = zsat_topology_host (t, h);
        fprintf (out, "host %s address %s\n", host->name, host->address ? host->address : "");
        for (size_t n = 0; n < zsat_topology_node_count (t); n++)
            if (zsat_topology_node_on_host (zsat_topology_node (t, n), host->name))
                s_describe_node (out, t, zsat_topology_node (t, n), host->name);
    }
    //  Derived ports depend on the routes (routed nodes' ports come first): the running
    //  nodes keep theirs, so sockets are compared without endpoints, links with the
    //  endpoints written in the file.
    for (size_t l = 0; l < zsat_topology_link_count (t); l++) {
        const zsat_link_t *link = zsat_topology_link (t, l);
        fprintf (out, "link %s %d %s -> %s endpoint %s bind_from %d when %s topic %s\n", link->name,
                 (int)link->pattern, link->from, link->to, link->endpoint ? link->endpoint : "",
                 link->bind_from, link->when ? link->when : "", link->topic ? link->topic : "");
    }
    for (size_t s = 0; s < zsat_topology_schedule_count (t); s++) {
        const zsat_schedule_t *sc = zsat_topology_schedule (t, s);
        fprintf (out, "schedule %s every %" PRId64 " hosts", sc->type, sc->every_ms);
        for (size_t h = 0; h < sc->host_count; h++)
            fprintf (out, " %s", sc->hosts[h]);
        fprintf (out, "\n");
    }
    for (size_t r = 0; r < zsat_topology_route_count (t); r++) {
        const zsat_route_t *route = zsat_topology_route (t, r);
        fprintf (out, "route %s alternate %s\n", route->type,
                 route->alternate ? route->alternate : "");
    }
    s_describe_policy (out, zsat_topology_policy (t));
    fclose (out);
    return text;
}

//  The first line where a and b differ, as "'old' -> 'new'".
static void
s_first_difference (const char *a, const char *b, char *buf, size_t cap)
{
    while (*a && *b) {
        size_t la = strcspn (a, "\n"), lb = strcspn (b, "\n");
        if (la != lb || memcmp (a, b, la) != 0) {
            snprintf (buf, cap, "'%.*s' -> '%.*s'", (int)(la > 160 ? 160 : la), a,
                      (int)(lb > 160 ? 160 : lb), b);
            return;
        }
        a += la + (a[la] == '\n');
        b += lb + (b[lb] == '\n');
    }
    snprintf (buf, cap, *a ? "'%.160s' removed" : "'%.160s' added", *a ? a : b);
    char *newline = strchr (buf, '\n');
    if (newline)
        snprintf (newline, cap - (size_t)(newline - buf), "' ...");
}

static bool
s_has (const zsat_route_t *route, const char *node)
{
    for (size_t i = 0; route && i < route->node_count; i++)
        if (streq (route->nodes[i], node))
            return true;
    return false;
}

//  Requests turning from's node lists into to's: "ROUTE <verb> type node" for each node of
//  a route of `to` that the same type's route in `from` lacks.
static int
s_route_requests (zsat_topology_t *from, zsat_topology_t *to, const char *verb, zsat_reload_t *plan,
                  zsat_error_t *err)
{
    for (size_t r = 0; r < zsat_topology_route_count (to); r++) {
        const zsat_route_t *route = zsat_topology_route (to, r);
        const zsat_route_t *other = zsat_topology_route_find (from, route->type);
        for (size_t i = 0; i < route->node_count; i++) {
            if (s_has (other, route->nodes[i]))
                continue;
            if (plan->count == ZSAT_RELOAD_REQUESTS_MAX)
                return zsat_fail (err, ZSAT_E_CONFIG, "more than %d route changes at once",
                                  ZSAT_RELOAD_REQUESTS_MAX);
            snprintf (plan->requests[plan->count++], sizeof plan->requests[0], "ROUTE %s %s %s",
                      verb, route->type, route->nodes[i]);
        }
    }
    return 0;
}

int
zsat_reload_plan (zsat_topology_t *running, zsat_topology_t *next, const char *host,
                  zsat_reload_t *plan, zsat_error_t *err)
{
    memset (plan, 0, sizeof *plan);
    if (!zsat_topology_host_find (next, host))
        return zsat_fail (err, ZSAT_E_CONFIG, "host '%s' is not in the new topology", host);
    char *was = s_describe (running), *now = s_describe (next);
    int rc = was && now ? 0 : zsat_fail (err, ZSAT_E_IO, "out of memory");
    if (rc == 0 && strcmp (was, now) != 0) {
        char difference[400];
        s_first_difference (was, now, difference, sizeof difference);
        rc = zsat_fail (err, ZSAT_E_CONFIG,
                        "only route changes apply live (a restart of `zsat launch` applies the "
                        "rest); changed: %s",
                        difference);
    }
    free (was);
    free (now);
    if (rc == 0)
        rc = s_route_requests (running, next, "ADD", plan, err);
    if (rc == 0)
        rc = s_route_requests (next, running, "DEL", plan, err);
    return rc;
}

static zsat_topology_t *
s_test_load (const char *text)
{
    zsat_diag_t *diag = zsat_diag_new ();
    zsat_topology_t *self = zsat_topology_parse (text, strlen (text), "reload.yaml", diag);
    if (!self)
        zsat_diag_print (diag, stderr);
    zsat_diag_destroy (&diag);
    assert (self);
    return self;
}

void
zsat_reload_test (bool verbose)
{
    printf (" * zsat_reload: ");
    const char *base = "name: rl\nnodes:\n  cpu: {kind: cpu}\n  spare: {kind: cpu}\n"
                       "  csv: {kind: csv}\nlinks:\n  - cpu -> csv\n  - spare -> csv\n"
                       "schedules:\n  - {type: cpu, every: 1s}\n";
    char text[1024];
    snprintf (text, sizeof text, "%sroutes:\n  cpu: cpu\n", base);
    zsat_topology_t *running = s_test_load (text);
    snprintf (text, sizeof text, "%sroutes:\n  cpu: [cpu, spare]\n", base);
    zsat_topology_t *more = s_test_load (text);
    snprintf (text, sizeof text, "%sroutes:\n  cpu: spare\n", base);
    zsat_topology_t *moved = s_test_load (text);
    zsat_reload_t plan;
    zsat_error_t err;
    assert (zsat_reload_plan (running, running, "local", &plan, &err) == 0 && plan.count == 0);
    assert (zsat_reload_plan (running, more, "local", &plan, &err) == 0 && plan.count == 1);
    assert (streq (plan.requests[0], "ROUTE ADD cpu spare"));
    assert (zsat_reload_plan (running, moved, "local", &plan, &err) == 0 && plan.count == 2);
    assert (streq (plan.requests[0], "ROUTE ADD cpu spare"));
    assert (streq (plan.requests[1], "ROUTE DEL cpu cpu"));
    //  A schedule change is refused, naming it.
    snprintf (text, sizeof text, "%sroutes:\n  cpu: cpu\n", base);
    char *slower = strstr (text, "every: 1s");
    assert (slower);
    memcpy (slower, "every: 2s", 9);
    zsat_topology_t *schedule = s_test_load (text);
    assert (zsat_reload_plan (running, schedule, "local", &plan, &err) == -1);
    assert (strstr (err.text, "only route changes apply live") &&
            strstr (err.text, "schedule cpu"));
    assert (zsat_reload_plan (running, more, "nosuch", &plan, &err) == -1);
    if (verbose)
        printf ("(%s) ", err.text);
    zsat_topology_destroy (&running);
    zsat_topology_destroy (&more);
    zsat_topology_destroy (&moved);
    zsat_topology_destroy (&schedule);
    printf ("OK\n");
}
