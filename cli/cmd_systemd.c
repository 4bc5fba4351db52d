/*  zsat systemd - writes the systemd unit that runs `zsat launch` for one host of a topology
    on a production machine (or the template unit zsat@.service the Debian package ships),
    and prints how to install it. Both come from one writer, so the package and the command
    give the same hardening.
*/
#include "zsat.h"
#include "zsat_launcher.h"

static void
s_usage (FILE *out)
{
    fprintf (out,
             "usage: zsat systemd --host HOST FILE [-o DIR] [--exec PATH] [--user USER]\n"
             "       zsat systemd --template [-o DIR] [--exec PATH] [--config DIR]\n\n"
             "Writes zsat-<topology>-<host>.service into DIR (default: the current\n"
             "directory): one service running `zsat launch --host HOST FILE` as USER\n"
             "(default zsat, a system user: adduser --system --group zsat), restarted on\n"
             "failure, reloaded with SIGHUP, stopped with SIGTERM to the launcher (which\n"
             "stops the nodes in order) and SIGKILL to what remains after TimeoutStopSec.\n"
             "Sockets and pid file in /run/zsat-<topology>-<host> (RuntimeDirectory, 0700),\n"
             "data of the sinks and the buffer in /var/lib/zsat/<topology>-<host>\n"
             "(StateDirectory), node logs in the journal. The unit is hardened\n"
             "(systemd-analyze security: exposure under 3). Prints the commands that install\n"
             "and start it.\n\n"
             "--template writes zsat@.service instead, the unit of the Debian package: the\n"
             "instance is the host name, the topology is DIR/topology.yaml (--config, default\n"
             "/etc/zsat), or ZSAT_TOPOLOGY in /etc/default/zsat.\n"
             "  --exec PATH   the zsat binary the unit runs (default: this one)\n");
}

//  Stop budget: the launcher waits up to 5 s per stage (5 stages); systemd must wait longer
//  before it SIGKILLs the whole cgroup, or sinks lose their tail.
#define SYSTEMD_STOP_TIMEOUT_S 45

typedef struct {
    const char *written_by;   //  the command line, for the header comment
    const char *description;  //  Description=
    const char *exec_start;   //  ExecStart= (without the binary)
    const char *exe;          //  the zsat binary
    const char *run_name;     //  directory under /run
    const char *state_name;   //  directory under /var/lib/zsat and /var/log/zsat
    const char *user;
    const char *environment;  //  extra lines for [Service], may be ""
} unit_t;

//  Hardening: every line lowers `systemd-analyze security`. What stays open and why:
//  probes read /proc of every process (no ProtectProc/ProcSubset), nodes talk tcp and ipc
//  (AF_INET, AF_INET6, AF_UNIX), and the exec kind runs programs (no NoExecPaths).
static const char *s_hardening =
    "# Hardening (systemd-analyze security: OK). Writable: the three directories above.\n"
    "NoNewPrivileges=yes\n"
    "ProtectSystem=strict\n"
    "ProtectHome=yes\n"
    "PrivateTmp=yes\n"
    "PrivateDevices=yes\n"
    "DevicePolicy=closed\n"
    "ProtectKernelTunables=yes\n"
    "ProtectKernelModules=yes\n"
    "ProtectKernelLogs=yes\n"
    "ProtectControlGroups=yes\n"
    "ProtectClock=yes\n"
    "ProtectHostname=yes\n"
    "RestrictNamespaces=yes\n"
    "RestrictRealtime=yes\n"
    "RestrictSUIDSGID=yes\n"
    "LockPersonality=yes\n"
    "MemoryDenyWriteExecute=yes\n"
    "RemoveIPC=yes\n"
    "KeyringMode=private\n"
    "UMask=0077\n"
    "RestrictAddressFamilies=AF_UNIX AF_INET AF_INET6\n"
    "SystemCallArchitectures=native\n"
    "SystemCallFilter=@system-service\n"
    "SystemCallFilter=~@privileged @resources\n"
    "SystemCallErrorNumber=EPERM\n"
    "# Only what a ping probe may need: ping uses ICMP datagram sockets (ping_group_range)\n"
    "# and needs no capability; add AmbientCapabilities=CAP_NET_RAW in a drop-in for a\n"
    "# ping that opens raw sockets.\n"
    "CapabilityBoundingSet=CAP_NET_RAW\n"
    "AmbientCapabilities=\n";

static int
s_write_unit (FILE *out, const unit_t *u)
{
    return fprintf (
        out,
        "# Written by `%s`.\n"
        "[Unit]\n"
        "Description=%s\n"
        "Documentation=man:zsat-systemd(1) man:zsat-launch(1)\n"
        "After=network-online.target\n"
        "Wants=network-online.target\n\n"
        "[Service]\n"
        "Type=simple\n"
        "User=%s\n"
        "Group=%s\n"
        "ExecStart=%s %s\n"
        "# SIGHUP: the launcher re-reads the topology (zsat check first) and applies it.\n"
        "ExecReload=/bin/kill -HUP $MAINPID\n"
        "# ipc sockets and the pid file: /run/%s/<host>/ (0700, gone at stop).\n"
        "RuntimeDirectory=%s\n"
        "RuntimeDirectoryMode=0700\n"
        "Environment=ZSAT_RUN_DIR=/run/%s\n"
        "# Data of the sinks and the buffer (csv, hdf5, channels): on disk, kept.\n"
        "StateDirectory=zsat/%s\n"
        "StateDirectoryMode=0700\n"
        "Environment=ZSAT_STATE_DIR=/var/lib/zsat/%s\n"
        "# Node logs go to the journal; files written by nodes themselves go here.\n"
        "LogsDirectory=zsat/%s\n"
        "LogsDirectoryMode=0700\n"
        "Environment=ZSAT_LOG_DIR=/var/log/zsat/%s\n"
        "%s"
        "Restart=on-failure\n"
        "RestartSec=2\n"
        "# SIGTERM to the launcher only: it stops its nodes stage by stage; whatever is left\n"
        "# after TimeoutStopSec is killed with the whole cgroup.\n"
        "KillMode=mixed\n"
        "KillSignal=SIGTERM\n"
        "TimeoutStopSec=%d\n"
        "LimitNOFILE=65536\n"
        "%s\n"
        "[Install]\n"
        "WantedBy=multi-user.target\n",
        u->written_by, u->description, u->user, u->user, u->exe, u->exec_start, u->run_name,
        u->run_name, u->run_name, u->state_name, u->state_name, u->state_name, u->state_name,
        u->environment, SYSTEMD_STOP_TIMEOUT_S, s_hardening);
}

static int
s_write_file (const char *path, const unit_t *unit)
{
    FILE *out = fopen (path, "w");
    if (!out || s_write_unit (out, unit) < 0 || fclose (out) != 0) {
        fprintf (stderr, "zsat systemd: cannot write %s: %s\n", path, strerror (errno));
        return 1;
    }
    return 0;
}

static void
s_this_exe (char *exe, size_t cap)
{
    ssize_t size = readlink ("/proc/self/exe", exe, cap - 1);
    exe[size > 0 ? size : 0] = 0;
}

typedef struct {
    const char *host, *file, *dir, *exe, *user, *config;
    bool template_unit;
} args_t;

//  ProtectHome= hides /home, /root and /run/user from the service.
static void
s_warn_hidden (const char *path)
{
    static const char *hidden[] = {"/home/", "/root/", "/run/user/"};
    for (size_t i = 0; i < 3; i++)
        if (strncmp (path, hidden[i], strlen (hidden[i])) == 0)
            fprintf (stderr,
                     "zsat systemd: warning: %s is under %s, which the unit cannot read "
                     "(ProtectHome=yes): copy it to /etc/zsat/\n",
                     path, hidden[i]);
}

static int
s_generate (zsat_topology_t *topology, const args_t *a)
{
    if (!zsat_topology_host_find (topology, a->host)) {
        fprintf (stderr, "zsat systemd: host '%s' is not in %s\n", a->host, a->file);
        return 1;
    }
    char path[1024], unit_path[1200], dir_name[160], description[200], written[1300], exec[1200];
    if (!realpath (a->file, path)) {
        fprintf (stderr, "zsat systemd: %s: %s\n", a->file, strerror (errno));
        return 1;
    }
    s_warn_hidden (path);
    const char *name = zsat_topology_name (topology);
    snprintf (dir_name, sizeof dir_name, "zsat-%s-%s", name, a->host);
    snprintf (description, sizeof description, "zsat topology %s, host %s", name, a->host);
    snprintf (written, sizeof written, "zsat systemd --host %s %s", a->host, path);
    snprintf (exec, sizeof exec, "launch --host %s %s", a->host, path);
    unit_t unit = {written, description, exec, a->exe, dir_name, dir_name + 5, a->user, ""};
    snprintf (unit_path, sizeof unit_path, "%s/%s.service", a->dir, dir_name);
    if (s_write_file (unit_path, &unit))
        return 1;
    printf ("wrote %s\n\nto install and start it on host %s (as root):\n"
            "  getent passwd %s || adduser --system --group --home /var/lib/zsat %s\n"
            "  install -m 0644 %s /etc/systemd/system/\n"
            "  systemctl daemon-reload\n"
            "  systemctl enable --now %s.service\n"
            "status: systemctl status %s; logs: journalctl -u %s; reload: systemctl reload %s\n"
            "data: /var/lib/zsat/%s/%s/\n",
            unit_path, a->host, a->user, a->user, unit_path, dir_name, dir_name, dir_name, dir_name,
            dir_name + 5, a->host);
    return 0;
}

static int
s_template (const args_t *a)
{
    char unit_path[1200], env[1200];
    snprintf (env, sizeof env,
              "Environment=ZSAT_TOPOLOGY=%s/topology.yaml\n"
              "EnvironmentFile=-/etc/default/zsat\n",
              a->config);
    unit_t unit = {"zsat systemd --template",
                   "zsat host %i",
                   "launch --host %i ${ZSAT_TOPOLOGY}",
                   a->exe,
                   "zsat-%i",
                   "%i",
                   a->user,
                   env};
    snprintf (unit_path, sizeof unit_path, "%s/zsat@.service", a->dir);
    if (s_write_file (unit_path, &unit))
        return 1;
    printf ("wrote %s\n", unit_path);
    return 0;
}

static int
s_parse (int argc, char **argv, args_t *a)
{
    for (int i = 1; i < argc; i++) {
        const char *flags[] = {"--host", "-o", "--exec", "--user", "--config"};
        const char **slots[] = {&a->host, &a->dir, &a->exe, &a->user, &a->config};
        size_t f = 0;
        while (f < 5 && !streq (argv[i], flags[f]))
            f++;
        if (f < 5 && i + 1 < argc)
            *slots[f] = argv[++i];
        else if (streq (argv[i], "--template"))
            a->template_unit = true;
        else if (argv[i][0] != '-' && !a->file)
            a->file = argv[i];
        else {
            fprintf (stderr, "zsat systemd: unexpected argument '%s'\n", argv[i]);
            return 2;
        }
    }
    if (!a->template_unit && (!a->host || !a->file)) {
        fprintf (stderr, "zsat systemd: --host HOST and FILE are required\n");
        return 2;
    }
    return 0;
}

static int
s_run (int argc, char **argv)
{
    for (int i = 1; i < argc; i++)
        if (streq (argv[i], "--help") || streq (argv[i], "-h")) {
            s_usage (stdout);
            return 0;
        }
    char exe[1024];
    s_this_exe (exe, sizeof exe);
    args_t a = {NULL, NULL, ".", exe, "zsat", "/etc/zsat", false};
    if (s_parse (argc, argv, &a)) {
        s_usage (stderr);
        return 2;
    }
    if (a.template_unit)
        return s_template (&a);
    zsat_diag_t *diag = zsat_diag_new ();
    zsat_topology_t *topology = zsat_topology_load (a.file, diag);
    int rc = 1;
    if (!topology)
        zsat_diag_print (diag, stderr);
    else
        rc = s_generate (topology, &a);
    zsat_topology_destroy (&topology);
    zsat_diag_destroy (&diag);
    return rc;
}

const zsat_command_t zsat_cmd_systemd = {"systemd", "write systemd unit files for one host", s_run};
