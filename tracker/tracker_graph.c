// SPDX-License-Identifier: MPL-2.0
/*  tracker_graph - the declared graph with observed rates and states (tracker_graph.h).

    Node state, worst first: "down" (seen before, now fewer live instances than declared on
    a host, or an instance restarted in the last 30 s), "open" (its breaker is open or
    half-open), "declared" (declared, never seen: the drift view draws it dashed), "up".
    Edge rates: a link's is its sender's vectors done per second (END, HAPPY_END: every
    output gets each vector unless a `when` filters, flagged "filtered"); a route's is the
    vectors its orchester sent to the node (SEND naming it); scheduler -> orchester is the
    jobs the orchester took (ACK).
*/
#include "tracker_graph.h"

typedef struct {
    double rate;  //  vectors done per second, summed over the node's hosts
    double rate_1m;
    double arrivals;  //  sent to it by an orchester, per second
    double takes;     //  taken (ACK), per second
    int live;         //  live instances, summed
    int declared;     //  declared instances, summed over its hosts
    bool seen;        //  some host of it reported events
    bool short_host;  //  a host runs fewer live instances than declared
    bool restarted;   //  an instance restarted recently
} s_obs_t;

static void
s_observe (const tracker_graph_t *in, const zsat_node_t *node, s_obs_t *obs, int64_t now_us)
{
    memset (obs, 0, sizeof *obs);
    for (size_t h = 0; h < node->host_count; h++) {
        int want = node->min_instances;  //  0 for a node that may scale to none
        obs->declared += want;
        uint16_t o = zsat_stats_origin_find (in->stats, node->hosts[h], node->name);
        if (o == 0) {
            obs->short_host = true;
            continue;
        }
        obs->seen = true;
        int live = zsat_stats_instances (in->stats, o, now_us);
        obs->live += live;
        obs->short_host |= live < want;
        int64_t restarted = zsat_stats_restarted_us (in->stats, o);
        obs->restarted |= restarted && now_us - restarted < TRACKER_GRAPH_RESTART_US;
        obs->rate += zsat_stats_rate (in->stats, o, TRACKER_GRAPH_RATE_S, now_us) * 1.0;
        obs->rate_1m += zsat_stats_rate (in->stats, o, 60, now_us);
        obs->arrivals += zsat_stats_flow_rate (in->stats, o, true, TRACKER_GRAPH_RATE_S, now_us);
        obs->takes += zsat_stats_flow_rate (in->stats, o, false, TRACKER_GRAPH_RATE_S, now_us);
    }
}

static const char *
s_state (const tracker_graph_t *in, const zsat_node_t *node, const s_obs_t *obs)
{
    if (in->tracker && streq (node->name, in->tracker))
        return "up";  //  it is answering this very question
    if (!obs->seen)
        return "declared";
    if (obs->short_host || obs->restarted)
        return "down";
    if (in->breaker && zsat_breaker_state (in->breaker, node->name) != ZSAT_BREAKER_CLOSED)
        return "open";
    return "up";
}

static void
s_write_node (const tracker_graph_t *in, zsat_jsonw_t *json, const zsat_node_t *node,
              int64_t now_us)
{
    s_obs_t obs;
    s_observe (in, node, &obs, now_us);
    if (in->tracker && streq (node->name, in->tracker))
        obs.live = obs.declared;  //  it sends no heartbeat to itself, and it is answering
    zsat_jsonw_object (json, NULL);
    zsat_jsonw_str (json, "name", node->name);
    zsat_jsonw_str (json, "kind", node->kind);
    zsat_jsonw_bool (json, "implicit", node->implicit);
    zsat_jsonw_array (json, "hosts");
    for (size_t h = 0; h < node->host_count; h++)
        zsat_jsonw_str (json, NULL, node->hosts[h]);
    zsat_jsonw_end (json);
    zsat_jsonw_str (json, "state", s_state (in, node, &obs));
    zsat_jsonw_int (json, "instances", obs.live);
    zsat_jsonw_int (json, "declared_instances", obs.declared);
    zsat_jsonw_double (json, "rate", obs.rate);
    zsat_jsonw_double (json, "rate_1m", obs.rate_1m);
    zsat_jsonw_str (json, "breaker",
                    in->breaker
                        ? zsat_breaker_state_name (zsat_breaker_state (in->breaker, node->name))
                        : "closed");
    zsat_jsonw_end (json);
}

static void
s_write_edge (zsat_jsonw_t *json, const char *kind, const char *from, const char *to, double rate,
              bool filtered)
{
    zsat_jsonw_object (json, NULL);
    zsat_jsonw_str (json, "from", from);
    zsat_jsonw_str (json, "to", to);
    zsat_jsonw_str (json, "kind", kind);
    zsat_jsonw_double (json, "rate", rate);
    zsat_jsonw_bool (json, "filtered", filtered);
    zsat_jsonw_end (json);
}

static double
s_node_rate (const tracker_graph_t *in, const char *name, int which, int64_t now_us)
{
    const zsat_node_t *node = zsat_topology_node_find (in->topology, name);
    if (!node)
        return 0;
    s_obs_t obs;
    s_observe (in, node, &obs, now_us);
    return which == 0 ? obs.rate : which == 1 ? obs.arrivals : obs.takes;
}

static void
s_write_edges (const tracker_graph_t *in, zsat_jsonw_t *json, int64_t now_us)
{
    zsat_topology_t *t = in->topology;
    zsat_jsonw_array (json, "edges");
    bool scheduler = zsat_topology_node_find (t, "scheduler") != NULL;
    if (scheduler && zsat_topology_node_find (t, "orchester"))
        s_write_edge (json, "jobs", "scheduler", "orchester",
                      s_node_rate (in, "orchester", 2, now_us), false);
    for (size_t r = 0; r < zsat_topology_route_count (t); r++) {
        const zsat_route_t *route = zsat_topology_route (t, r);
        for (size_t n = 0; n < route->node_count; n++)
            s_write_edge (json, "route", "orchester", route->nodes[n],
                          s_node_rate (in, route->nodes[n], 1, now_us), false);
    }
    for (size_t l = 0; l < zsat_topology_link_count (t); l++) {
        const zsat_link_t *link = zsat_topology_link (t, l);
        s_write_edge (json, "link", link->from, link->to, s_node_rate (in, link->from, 0, now_us),
                      link->when != NULL);
    }
    zsat_jsonw_end (json);
}

//  Stages the tracker saw that the topology does not run there: the other half of the drift.
static void
s_write_undeclared (const tracker_graph_t *in, zsat_jsonw_t *json)
{
    zsat_jsonw_array (json, "undeclared");
    for (uint16_t o = 1; o < zsat_stats_origin_count (in->stats); o++) {
        const char *host = zsat_stats_origin_host (in->stats, o);
        const char *name = zsat_stats_origin_node (in->stats, o);
        const zsat_node_t *node = zsat_topology_node_find (in->topology, name);
        if (node && zsat_topology_node_on_host (node, host))
            continue;
        zsat_jsonw_object (json, NULL);
        zsat_jsonw_str (json, "host", host);
        zsat_jsonw_str (json, "node", name);
        zsat_jsonw_end (json);
    }
    zsat_jsonw_end (json);
}

void
tracker_graph_write (const tracker_graph_t *in, zsat_jsonw_t *json, int64_t now_us)
{
    zsat_jsonw_object (json, NULL);
    zsat_jsonw_str (json, "name", zsat_topology_name (in->topology));
    zsat_jsonw_int (json, "rate_window_s", TRACKER_GRAPH_RATE_S);
    zsat_jsonw_array (json, "hosts");
    for (size_t h = 0; h < zsat_topology_host_count (in->topology); h++)
        zsat_jsonw_str (json, NULL, zsat_topology_host (in->topology, h)->name);
    zsat_jsonw_end (json);
    zsat_jsonw_array (json, "nodes");
    for (size_t n = 0; n < zsat_topology_node_count (in->topology); n++)
        s_write_node (in, json, zsat_topology_node (in->topology, n), now_us);
    zsat_jsonw_end (json);
    s_write_edges (in, json, now_us);
    s_write_undeclared (in, json);
    zsat_jsonw_end (json);
}

//  --- selftest ---

static void
s_test_feed (zsat_stats_t *stats, const char *node, uint32_t pid, int event, int count, int64_t now)
{
    zsat_event_source_t source = {.host = "a", .wid = 0, .pid = pid};
    snprintf (source.node, sizeof source.node, "%s", node);
    uint32_t row;
    uint16_t o = zsat_stats_source (stats, &source, now, &row);
    for (int i = 0; i < count; i++) {
        zsat_event_rec_t rec = {.event = (uint8_t)event, .task_id = (uint64_t)i + 1};
        zsat_stats_on_record (stats, o, row, &rec, now);
    }
}

void
tracker_graph_test (bool verbose)
{
    (void)verbose;
    static const char *text = "name: g\nhosts:\n  a: {address: 127.0.0.1}\nnodes:\n"
                              "  cpu: {kind: cpu}\n  csv: {kind: csv}\n  mem: {kind: mem}\n"
                              "links:\n  - cpu -> csv\n  - mem -> csv\n"
                              "schedules:\n  - {type: cpu, every: 1s}\n";
    zsat_topology_t *t = zsat_topology_parse (text, strlen (text), "g.yaml", NULL);
    assert (t);
    zsat_stats_t *stats = zsat_stats_new ();
    int64_t now = 1000000000;
    for (int s = 0; s < 6; s++) {  //  cpu: 2 vectors a second, csv takes them; mem silent
        s_test_feed (stats, "cpu", 10, ZSAT_EV_HEARTBEAT, 1, now + s * 1000000);
        s_test_feed (stats, "cpu", 10, ZSAT_EV_END, 2, now + s * 1000000);
        s_test_feed (stats, "csv", 11, ZSAT_EV_HEARTBEAT, 1, now + s * 1000000);
        s_test_feed (stats, "stray", 12, ZSAT_EV_HEARTBEAT, 1, now + s * 1000000);
    }
    now += 6 * 1000000 - 1;
    tracker_graph_t in = {.topology = t, .stats = stats, .tracker = "tracker"};
    zsat_jsonw_t *json = zsat_jsonw_new ();
    tracker_graph_write (&in, json, now);
    const char *out = zsat_jsonw_text (json);
    assert (strstr (out, "{\"from\":\"cpu\",\"to\":\"csv\",\"kind\":\"link\",\"rate\":2,"));
    assert (strstr (out, "{\"from\":\"mem\",\"to\":\"csv\",\"kind\":\"link\",\"rate\":0,"));
    assert (strstr (out, "\"from\":\"orchester\",\"to\":\"cpu\",\"kind\":\"route\""));
    assert (strstr (out, "\"name\":\"mem\",\"kind\":\"mem\",\"implicit\":false,\"hosts\":[\"a\"],"
                         "\"state\":\"declared\""));
    assert (strstr (out, "\"name\":\"cpu\",\"kind\":\"cpu\",\"implicit\":false,\"hosts\":[\"a\"],"
                         "\"state\":\"up\""));
    assert (strstr (out, "\"name\":\"tracker\",\"kind\":\"tracker\",\"implicit\":true,"
                         "\"hosts\":[\"a\"],\"state\":\"up\""));
    assert (strstr (out, "\"undeclared\":[{\"host\":\"a\",\"node\":\"stray\"}]"));
    //  cpu comes back with a new pid: down (red) for a while
    s_test_feed (stats, "cpu", 20, ZSAT_EV_HEARTBEAT, 1, now);
    zsat_jsonw_reset (json);
    tracker_graph_write (&in, json, now + 1000);
    assert (strstr (zsat_jsonw_text (json), "\"name\":\"cpu\",\"kind\":\"cpu\",\"implicit\":false,"
                                            "\"hosts\":[\"a\"],\"state\":\"down\""));
    //  cpu's breaker opens: orange ("open") once the restart is old news
    zsat_tracker_policy_t policy = {.breaker_threshold = 0.5,
                                    .breaker_min_tasks = 2,
                                    .breaker_window_ms = 60000,
                                    .breaker_cooldown_ms = 600000};
    in.breaker = zsat_breaker_new (&policy, NULL, NULL);
    assert (in.breaker);
    zsat_breaker_outcome (in.breaker, "cpu", false, now);
    zsat_breaker_outcome (in.breaker, "cpu", false, now);
    int64_t later = now + TRACKER_GRAPH_RESTART_US + 1;
    s_test_feed (stats, "cpu", 20, ZSAT_EV_HEARTBEAT, 1, later);
    zsat_jsonw_reset (json);
    tracker_graph_write (&in, json, later);
    assert (strstr (zsat_jsonw_text (json), "\"name\":\"cpu\",\"kind\":\"cpu\",\"implicit\":false,"
                                            "\"hosts\":[\"a\"],\"state\":\"open\""));
    assert (strstr (zsat_jsonw_text (json), "\"breaker\":\"open\""));
    zsat_breaker_destroy (&in.breaker);
    //  csv stops its heartbeats: down once they are stale
    zsat_jsonw_reset (json);
    tracker_graph_write (&in, json, now + TRACKER_GRAPH_RESTART_US + 1);
    assert (strstr (zsat_jsonw_text (json), "\"name\":\"csv\",\"kind\":\"csv\",\"implicit\":false,"
                                            "\"hosts\":[\"a\"],\"state\":\"down\""));
    zsat_jsonw_destroy (&json);
    zsat_stats_destroy (&stats);
    zsat_topology_destroy (&t);
}
