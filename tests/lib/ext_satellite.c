// SPDX-License-Identifier: MPL-2.0
/*  ext_satellite - a satellite built outside zsat's tree against the installed libzsat
    (`cc ext_satellite.c $(pkg-config --cflags --libs zsat)`), used by
    tests/e2e/install_prefix.sh. It joins a topology as node NODE on HOST: finds its output
    socket from the topology, and sends COUNT zsat.record vectors of type NODE.
    Usage: ext_satellite TOPOLOGY NODE HOST COUNT
*/
#include <zsat.h>

static int
s_send (zsock_t *out, const char *node, const char *host, const char *peer, int i)
{
    zsat_record_t record;
    zsat_record_reset (&record);
    zsat_record_add_number (&record, "n", i);
    zsat_record_add_text (&record, "lang", "c-outside");
    uint8_t payload[512];
    int size = zsat_record_encode (&record, payload, sizeof payload);
    if (size < 0)
        return -1;
    zsat_vector_t v;
    zsat_vector_init (&v);
    v.event = ZSAT_EV_INIT;
    v.seq = 1;
    v.task_id = 7000 + (uint64_t)i;
    v.pid = (uint32_t)getpid ();
    v.timestamp = zclock_time () * 1000;
    snprintf (v.where, sizeof v.where, "%s", host);
    snprintf (v.step, sizeof v.step, "%s", node);
    snprintf (v.emitter, sizeof v.emitter, "%s", node);
    snprintf (v.next, sizeof v.next, "%s", peer);
    snprintf (v.type, sizeof v.type, "%s", node);
    snprintf (v.serialization, sizeof v.serialization, "zsat.record");
    zsat_vector_set_payload (&v, payload, (size_t)size);
    zsat_error_t err;
    if (zsat_vector_send (&v, zsock_resolve (out), 0, &err) != 0) {
        fprintf (stderr, "ext_satellite: send: %s\n", err.text);
        return -1;
    }
    return 0;
}

int
main (int argc, char **argv)
{
    if (argc != 5) {
        fprintf (stderr, "usage: ext_satellite TOPOLOGY NODE HOST COUNT\n");
        return 2;
    }
    zsat_diag_t *diag = zsat_diag_new ();
    zsat_topology_t *topology = zsat_topology_load (argv[1], diag);
    if (!topology) {
        zsat_diag_print (diag, stderr);
        return 1;
    }
    zsat_socket_t sockets[32];
    int count = zsat_topology_sockets (topology, argv[2], argv[3], sockets, 32);
    int rc = 1;
    for (int s = 0; s < count; s++) {
        if (strncmp (sockets[s].name, "out:", 4) != 0)
            continue;
        zsock_t *out = zsock_new_push (sockets[s].endpoint);
        zsock_set_linger (out, 5000);
        printf ("ext_satellite: %s -> %s (%s)\n", argv[2], sockets[s].peer, sockets[s].endpoint);
        rc = 0;
        for (int i = 0; i < atoi (argv[4]) && rc == 0; i++)
            rc = s_send (out, argv[2], argv[3], sockets[s].peer, i);
        zsock_destroy (&out);
    }
    if (count <= 0)
        fprintf (stderr, "ext_satellite: node %s has no sockets on %s\n", argv[2], argv[3]);
    zsat_topology_destroy (&topology);
    zsat_diag_destroy (&diag);
    return rc;
}
