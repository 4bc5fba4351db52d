/*  zsat_proc - one supervised child process: fork+exec of an argv list in its own process
    group, output to a log file, parent-death signal, explicit non-blocking reaping.
    Owns no sockets.
*/
#define _GNU_SOURCE  //  strerrordesc_np: an error text that is safe between fork and exec
#include "zsat_proc.h"
#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#define PROC_ARGS_MAX 64

struct _zsat_proc_t {
    char *argv[PROC_ARGS_MAX + 1];
    char *log_path;
    bool journal;  //  the child's stderr is the journal (no log file): "<3>" prefixes
    pid_t pid;
    int status;
    int64_t started;
};

zsat_proc_t *
zsat_proc_new (char *const *argv, const char *log_path)
{
    if (!argv || !argv[0])
        return NULL;
    zsat_proc_t *self = (zsat_proc_t *)calloc (1, sizeof (zsat_proc_t));
    if (!self)
        return NULL;
    self->status = -1;
    bool ok = true;
    size_t i;
    for (i = 0; argv[i] && i < PROC_ARGS_MAX; i++)
        ok = ok && (self->argv[i] = strdup (argv[i])) != NULL;
    ok = ok && argv[i] == NULL;
    if (log_path)
        ok = ok && (self->log_path = strdup (log_path)) != NULL;
    if (!ok)
        zsat_proc_destroy (&self);
    return self;
}

void
zsat_proc_destroy (zsat_proc_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    zsat_proc_t *self = *self_p;
    if (self->pid > 0)
        zsat_proc_stop (self, SIGKILL, 1000);
    for (size_t i = 0; self->argv[i]; i++)
        free (self->argv[i]);
    free (self->log_path);
    free (self);
    *self_p = NULL;
}

//  Runs in the forked child of a multi-threaded parent: only async-signal-safe calls until
//  exec. parent is the pid the child must outlive no longer.
static void
s_child (zsat_proc_t *self, int log_fd, pid_t parent)
{
    setpgid (0, 0);
    //  Dies with the launcher thread even when the launcher gets kill -9; the getppid check
    //  closes the race where the parent died before prctl ran.
    prctl (PR_SET_PDEATHSIG, SIGTERM);
    if (getppid () != parent)
        _exit (126);
    sigset_t all;
    sigemptyset (&all);
    sigprocmask (SIG_SETMASK, &all, NULL);
    for (int sig = 1; sig < 32; sig++)
        if (sig != SIGKILL && sig != SIGSTOP)
            signal (sig, SIG_DFL);
    int null_fd = open ("/dev/null", O_RDONLY);
    if (null_fd >= 0)
        dup2 (null_fd, 0);
    if (log_fd >= 0) {
        dup2 (log_fd, 1);
        dup2 (log_fd, 2);
    }
    //  Sockets and files of the parent (zmq fds are CLOEXEC, others may not be) stay behind.
    syscall (SYS_close_range, 3, ~0U, 0);
    execv (self->argv[0], self->argv);
    //  One clear line in the node's log. strerrordesc_np is async-signal-safe (no locale).
    const char *parts[] = {self->journal ? "<3>" : "",
                           "zsat: cannot exec ",
                           self->argv[0],
                           ": ",
                           strerrordesc_np (errno),
                           "\n"};
    for (size_t i = 0; i < sizeof parts / sizeof parts[0]; i++)
        if (parts[i] && write (2, parts[i], strlen (parts[i])) < 0)
            break;
    _exit (127);
}

int
zsat_proc_start (zsat_proc_t *self)
{
    if (self->pid > 0)
        return -1;
    int log_fd = -1;
    if (self->log_path) {
        log_fd = open (self->log_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
        if (log_fd < 0)
            return -1;
    }
    self->journal = log_fd < 0 && zsat_log_journal ();
    pid_t parent = getpid ();
    pid_t pid = fork ();
    if (pid == 0)
        s_child (self, log_fd, parent);
    if (log_fd >= 0)
        close (log_fd);
    if (pid < 0)
        return -1;
    //  Also set the group from the parent side, so a signal sent right after start reaches
    //  the group even if the child has not run yet.
    setpgid (pid, pid);
    self->pid = pid;
    self->started = zclock_mono ();
    return 0;
}

int
zsat_proc_pid (zsat_proc_t *self)
{
    return self->pid > 0 ? (int)self->pid : 0;
}

bool
zsat_proc_running (zsat_proc_t *self)
{
    return self->pid > 0;
}

int
zsat_proc_signal (zsat_proc_t *self, int sig)
{
    if (self->pid <= 0)
        return -1;
    if (kill (-self->pid, sig) == 0)
        return 0;
    //  The group may not exist yet or any more; signal the process itself.
    return kill (self->pid, sig);
}

bool
zsat_proc_reap (zsat_proc_t *self)
{
    if (self->pid <= 0)
        return false;
    int status = 0;
    pid_t rc = waitpid (self->pid, &status, WNOHANG);
    if (rc == self->pid || (rc < 0 && errno == ECHILD)) {
        self->status = rc == self->pid ? status : -1;
        //  Sweep what the child left in its group (a shell's children): no orphans. The pid
        //  was freed a moment ago; pids cycle through pid_max, so it is not reused yet.
        kill (-self->pid, SIGKILL);
        self->pid = 0;
        return true;
    }
    return false;
}

bool
zsat_proc_wait (zsat_proc_t *self, int timeout_ms)
{
    int64_t deadline = zclock_mono () + timeout_ms;
    while (self->pid > 0) {
        if (zsat_proc_reap (self))
            return true;
        if (zclock_mono () >= deadline)
            return false;
        zclock_sleep (5);
    }
    return true;
}

bool
zsat_proc_stop (zsat_proc_t *self, int sig, int timeout_ms)
{
    if (self->pid <= 0)
        return true;
    zsat_proc_signal (self, sig);
    if (zsat_proc_wait (self, timeout_ms))
        return true;
    zsat_proc_signal (self, SIGKILL);
    //  SIGKILL cannot be refused: this wait ends unless the kernel is stuck in D state.
    zsat_proc_wait (self, 5000);
    return false;
}

int
zsat_proc_status (zsat_proc_t *self)
{
    return self->status;
}

const char *
zsat_proc_describe (int status, char *buf, size_t cap)
{
    if (status == -1)
        snprintf (buf, cap, "none");
    else if (WIFEXITED (status))
        snprintf (buf, cap, "exit %d", WEXITSTATUS (status));
    else if (WIFSIGNALED (status))
        snprintf (buf, cap, "signal %d", WTERMSIG (status));
    else
        snprintf (buf, cap, "status %d", status);
    return buf;
}

int64_t
zsat_proc_started (zsat_proc_t *self)
{
    return self->started;
}

bool
zsat_proc_alive (int pid)
{
    if (pid <= 0)
        return false;
    char path[64];
    snprintf (path, sizeof path, "/proc/%d/stat", pid);
    FILE *file = fopen (path, "r");
    if (!file)
        return false;
    char line[512] = "";
    bool got = fgets (line, sizeof line, file) != NULL;
    fclose (file);
    //  The state letter follows the parenthesised command name; Z is a zombie.
    const char *paren = strrchr (line, ')');
    return got && !(paren && paren[1] == ' ' && (paren[2] == 'Z' || paren[2] == 'X'));
}

void
zsat_proc_test (bool verbose)
{
    printf (" * zsat_proc: ");
    char dir[] = "/tmp/zsat-proc-XXXXXX";
    assert (mkdtemp (dir));
    char log_path[128];
    snprintf (log_path, sizeof log_path, "%s/child.log", dir);

    //  Exit status and output go where they should.
    char *echo_argv[] = {"/bin/sh", "-c", "echo hello; echo oops >&2; exit 3", NULL};
    zsat_proc_t *proc = zsat_proc_new (echo_argv, log_path);
    assert (proc);
    assert (zsat_proc_status (proc) == -1);
    assert (zsat_proc_start (proc) == 0);
    assert (zsat_proc_start (proc) == -1);
    assert (zsat_proc_pid (proc) > 0);
    assert (zsat_proc_wait (proc, 10000));
    assert (!zsat_proc_running (proc));
    char text[32];
    assert (streq (zsat_proc_describe (zsat_proc_status (proc), text, sizeof text), "exit 3"));
    FILE *log = fopen (log_path, "r");
    assert (log);
    char line[64];
    assert (fgets (line, sizeof line, log) && streq (line, "hello\n"));
    assert (fgets (line, sizeof line, log) && streq (line, "oops\n"));
    fclose (log);
    zsat_proc_destroy (&proc);
    assert (proc == NULL);

    //  A long child stops on SIGTERM, its process group with it; a stubborn one is killed.
    char *sleep_argv[] = {"/bin/sleep", "30", NULL};
    proc = zsat_proc_new (sleep_argv, NULL);
    assert (zsat_proc_start (proc) == 0);
    int pid = zsat_proc_pid (proc);
    assert (zsat_proc_alive (pid));
    assert (!zsat_proc_reap (proc));
    assert (zsat_proc_stop (proc, SIGTERM, 10000));
    assert (!zsat_proc_alive (pid));
    assert (streq (zsat_proc_describe (zsat_proc_status (proc), text, sizeof text), "signal 15"));
    zsat_proc_destroy (&proc);

    char *stubborn_argv[] = {"/bin/sh", "-c", "trap '' TERM; sleep 30 & wait; wait", NULL};
    proc = zsat_proc_new (stubborn_argv, NULL);
    assert (zsat_proc_start (proc) == 0);
    pid = zsat_proc_pid (proc);
    zclock_sleep (100);  //  let the shell install its trap (correct either way)
    zsat_proc_stop (proc, SIGTERM, 300);
    assert (!zsat_proc_alive (pid));
    zsat_proc_destroy (&proc);

    //  destroy of a running child leaves no process behind; exec failure is exit 127.
    proc = zsat_proc_new (sleep_argv, NULL);
    assert (zsat_proc_start (proc) == 0);
    pid = zsat_proc_pid (proc);
    zsat_proc_destroy (&proc);
    assert (!zsat_proc_alive (pid));
    char *missing_argv[] = {"/nonexistent/zsat-program", NULL};
    unlink (log_path);
    proc = zsat_proc_new (missing_argv, log_path);
    assert (zsat_proc_start (proc) == 0);
    assert (zsat_proc_wait (proc, 10000));
    assert (streq (zsat_proc_describe (zsat_proc_status (proc), text, sizeof text), "exit 127"));
    zsat_proc_destroy (&proc);
    //  ... and leaves one line saying what could not be run and why.
    FILE *exec_log = fopen (log_path, "r");
    char exec_line[256] = "";
    assert (exec_log && fgets (exec_line, sizeof exec_line, exec_log));
    fclose (exec_log);
    assert (streq (exec_line,
                   "zsat: cannot exec /nonexistent/zsat-program: No such file or directory\n"));
    assert (zsat_proc_new (NULL, NULL) == NULL);

    unlink (log_path);
    rmdir (dir);
    printf ("OK\n");
}
