/*  zsat dot - writes a topology as Graphviz dot (stdout, or -o FILE). With -o x.svg or
    -o x.png it runs Graphviz's `dot` to render the picture.
*/
#include "zsat.h"
#include "zsat_fsm.h"
#include <sys/wait.h>
#include <unistd.h>

static const char *s_usage_text =
    "usage: zsat dot FILE [-o OUT.dot|OUT.svg|OUT.png]\n"
    "       zsat dot --fsm    the tracker's state machine (docs/tracker-fsm.dot)\n\n"
    "Writes the topology as Graphviz dot: one box per instance, one cluster per host,\n"
    "links labelled by pattern, system flows (jobs, routes, events) dashed. Writes to\n"
    "stdout by default; .svg and .png outputs need Graphviz's `dot` on the PATH.";

static bool
s_dot_installed (void)
{
    const char *path = getenv ("PATH");
    char dir[1024];
    while (path && *path) {
        size_t n = strcspn (path, ":");
        snprintf (dir, sizeof dir, "%.*s/dot", (int)n, path);
        if (access (dir, X_OK) == 0)
            return true;
        path += n + (path[n] == ':');
    }
    return false;
}

//  Pipes the dot text into `dot -T<format> -o out`; returns 0 when it succeeded.
static int
s_render (zsat_topology_t *topology, const char *format, const char *out)
{
    if (!s_dot_installed ()) {
        fprintf (stderr,
                 "zsat dot: Graphviz `dot` is not installed (needed for .%s output; "
                 "write a .dot file instead)\n",
                 format);
        return 1;
    }
    int fds[2];
    if (pipe (fds) != 0)
        return 1;
    char type[16];
    snprintf (type, sizeof type, "-T%s", format);
    pid_t pid = fork ();
    if (pid == 0) {
        dup2 (fds[0], STDIN_FILENO);
        close (fds[0]);
        close (fds[1]);
        execlp ("dot", "dot", type, "-o", out, (char *)NULL);
        _exit (127);
    }
    close (fds[0]);
    FILE *pipe_out = fdopen (fds[1], "w");
    int written = pipe_out ? zsat_topology_dot (topology, pipe_out) : -1;
    if (pipe_out)
        fclose (pipe_out);
    else
        close (fds[1]);
    int status = 0;
    if (pid < 0 || waitpid (pid, &status, 0) < 0 || !WIFEXITED (status) ||
        WEXITSTATUS (status) != 0 || written != 0) {
        fprintf (stderr, "zsat dot: rendering %s failed\n", out);
        return 1;
    }
    return 0;
}

static int
s_write (zsat_topology_t *topology, const char *out)
{
    if (!out)
        return zsat_topology_dot (topology, stdout) == 0 ? 0 : 1;
    const char *ext = strrchr (out, '.');
    if (ext && (streq (ext, ".svg") || streq (ext, ".png")))
        return s_render (topology, ext + 1, out);
    FILE *file = fopen (out, "w");
    if (!file) {
        fprintf (stderr, "zsat dot: cannot write %s: %s\n", out, strerror (errno));
        return 1;
    }
    int status = zsat_topology_dot (topology, file);
    status |= fclose (file);
    return status == 0 ? 0 : 1;
}

static int
s_run (int argc, char **argv)
{
    const char *file = NULL, *out = NULL;
    if (argc == 2 && streq (argv[1], "--fsm"))
        return zsat_fsm_print_dot (stdout) == 0 ? 0 : 1;
    for (int i = 1; i < argc; i++) {
        if (streq (argv[i], "--help") || streq (argv[i], "-h")) {
            puts (s_usage_text);
            return 0;
        }
        if (streq (argv[i], "-o") && i + 1 < argc)
            out = argv[++i];
        else if (argv[i][0] != '-' && !file)
            file = argv[i];
        else {
            fprintf (stderr, "zsat dot: unexpected argument '%s'\n%s\n", argv[i], s_usage_text);
            return 2;
        }
    }
    if (!file) {
        fprintf (stderr, "zsat dot: no file given\n%s\n", s_usage_text);
        return 2;
    }
    zsat_diag_t *diag = zsat_diag_new ();
    zsat_topology_t *topology = zsat_topology_load (file, diag);
    zsat_diag_print (diag, stderr);
    zsat_diag_destroy (&diag);
    if (!topology)
        return 1;
    int status = s_write (topology, out);
    zsat_topology_destroy (&topology);
    return status;
}

const zsat_command_t zsat_cmd_dot = {"dot", "draw a topology as Graphviz dot (or svg/png)", s_run};
