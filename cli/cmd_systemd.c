/*  zsat systemd - writes the systemd unit that runs `zsat launch` for one host of a topology
    on a production machine, and prints how to install it.
*/
#include "zsat.h"
#include "zsat_launcher.h"

static void
s_usage (FILE *out)
{
    fprintf (out, "usage: zsat systemd --host HOST FILE [-o DIR]\n\n"
                  "Writes zsat-<topology>-<host>.service into DIR (default: the current\n"
                  "directory): one service running `zsat launch --host HOST FILE`, restarted on\n"
                  "failure, stopped with SIGTERM to the launcher (which stops the nodes in\n"
                  "order) and SIGKILL to what remains after TimeoutStopSec, with its run\n"
                  "directory under /run. Prints the commands that install and start it.\n");
}

//  Stop budget: the launcher waits up to 5 s per stage (5 stages); systemd must wait longer
//  before it SIGKILLs the whole cgroup, or sinks lose their tail.
#define SYSTEMD_STOP_TIMEOUT_S 45

static int
s_write_unit (FILE *out, const char *exe, const char *file, const char *topology, const char *host)
{
    return fprintf (
        out,
        "# Written by `zsat systemd --host %s %s`.\n"
        "[Unit]\n"
        "Description=zsat topology %s, host %s\n"
        "Documentation=file://%s/docs/deploy.md\n"
        "After=network-online.target\n"
        "Wants=network-online.target\n\n"
        "[Service]\n"
        "Type=simple\n"
        "ExecStart=%s launch --host %s %s\n"
        "# ipc sockets, pid file and node logs: /run/zsat-%s/%s/\n"
        "Environment=ZSAT_RUN_DIR=/run/zsat-%s\n"
        "RuntimeDirectory=zsat-%s\n"
        "RuntimeDirectoryMode=0700\n"
        "# Keep the logs after a stop (they are under the run directory).\n"
        "RuntimeDirectoryPreserve=yes\n"
        "Restart=on-failure\n"
        "RestartSec=2\n"
        "# SIGTERM to the launcher only: it stops its nodes stage by stage; whatever is left\n"
        "# after TimeoutStopSec is killed with the whole cgroup.\n"
        "KillMode=mixed\n"
        "KillSignal=SIGTERM\n"
        "TimeoutStopSec=%d\n"
        "LimitNOFILE=65536\n"
        "# User=zsat\n\n"
        "[Install]\n"
        "WantedBy=multi-user.target\n",
        host, file, topology, host, ZSAT_SOURCE_DIR, exe, host, file, topology, host, topology,
        topology, SYSTEMD_STOP_TIMEOUT_S);
}

static int
s_generate (zsat_topology_t *topology, const char *file, const char *host, const char *dir)
{
    if (!zsat_topology_host_find (topology, host)) {
        fprintf (stderr, "zsat systemd: host '%s' is not in %s\n", host, file);
        return 1;
    }
    char exe[1024], path[1024], unit[1200];
    ssize_t size = readlink ("/proc/self/exe", exe, sizeof exe - 1);
    exe[size > 0 ? size : 0] = 0;
    if (!realpath (file, path)) {
        fprintf (stderr, "zsat systemd: %s: %s\n", file, strerror (errno));
        return 1;
    }
    const char *name = zsat_topology_name (topology);
    snprintf (unit, sizeof unit, "%s/zsat-%s-%s.service", dir, name, host);
    FILE *out = fopen (unit, "w");
    if (!out || s_write_unit (out, exe, path, name, host) < 0) {
        fprintf (stderr, "zsat systemd: cannot write %s: %s\n", unit, strerror (errno));
        if (out)
            fclose (out);
        return 1;
    }
    fclose (out);
    printf ("wrote %s\n\nto install and start it on host %s:\n"
            "  sudo install -m 0644 %s /etc/systemd/system/\n"
            "  sudo systemctl daemon-reload\n"
            "  sudo systemctl enable --now zsat-%s-%s.service\n"
            "status: systemctl status zsat-%s-%s; logs: journalctl -u zsat-%s-%s and "
            "/run/zsat-%s/%s/logs/\n",
            unit, host, unit, name, host, name, host, name, host, name, host);
    return 0;
}

static int
s_run (int argc, char **argv)
{
    const char *host = NULL, *file = NULL, *dir = ".";
    for (int i = 1; i < argc; i++) {
        if (streq (argv[i], "--help") || streq (argv[i], "-h")) {
            s_usage (stdout);
            return 0;
        }
        if (streq (argv[i], "--host") && i + 1 < argc)
            host = argv[++i];
        else if (streq (argv[i], "-o") && i + 1 < argc)
            dir = argv[++i];
        else if (argv[i][0] != '-' && !file)
            file = argv[i];
        else {
            fprintf (stderr, "zsat systemd: unexpected argument '%s'\n", argv[i]);
            s_usage (stderr);
            return 2;
        }
    }
    if (!host || !file) {
        fprintf (stderr, "zsat systemd: --host HOST and FILE are required\n");
        s_usage (stderr);
        return 2;
    }
    zsat_diag_t *diag = zsat_diag_new ();
    zsat_topology_t *topology = zsat_topology_load (file, diag);
    int rc = 1;
    if (!topology)
        zsat_diag_print (diag, stderr);
    else
        rc = s_generate (topology, file, host, dir);
    zsat_topology_destroy (&topology);
    zsat_diag_destroy (&diag);
    return rc;
}

const zsat_command_t zsat_cmd_systemd = {"systemd", "write systemd unit files for one host", s_run};
