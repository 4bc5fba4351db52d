/*  zsat_proc - one supervised child process: fork+exec of an argv list in its own process
    group, stdout and stderr appended to a log file, stdin from /dev/null, and a parent-death
    signal so the child dies with the thread that started it, even after a kill -9 of the
    launcher. Reaping is explicit and non-blocking (zsat_proc_reap), so no SIGCHLD handler is
    needed and several launchers can share one process. Owns no sockets.
*/
#ifndef ZSAT_PROC_H_INCLUDED
#define ZSAT_PROC_H_INCLUDED
#include "zsat.h"

typedef struct _zsat_proc_t zsat_proc_t;

//  Creates a stopped process description; argv (NULL-terminated, argv[0] a path) and
//  log_path (NULL: the child inherits the parent's stdout/stderr) are copied. NULL on error.
zsat_proc_t *zsat_proc_new (char *const *argv, const char *log_path);
//  Kills (SIGKILL to the group) and reaps a child that still runs, then frees. Safe on NULL.
void zsat_proc_destroy (zsat_proc_t **self_p);

//  Starts the child. Returns 0, or -1 when it already runs or fork/open failed (errno set).
//  An exec failure shows as an exit with status 127 and a line in the log.
int zsat_proc_start (zsat_proc_t *self);
//  Returns the child's pid, or 0 when it does not run.
int zsat_proc_pid (zsat_proc_t *self);
bool zsat_proc_running (zsat_proc_t *self);
//  Sends sig to the child's process group (so grandchildren get it too). Returns 0 or -1.
int zsat_proc_signal (zsat_proc_t *self, int sig);
//  Reaps the child if it ended, without blocking. Returns true when it ended by this call.
bool zsat_proc_reap (zsat_proc_t *self);
//  Waits up to timeout_ms for the child to end (polling waitpid). Returns true when it ended.
bool zsat_proc_wait (zsat_proc_t *self, int timeout_ms);
//  Stops the child: sig, bounded wait, then SIGKILL and reap. Returns true when it ended
//  on the first signal, false when it had to be killed.
bool zsat_proc_stop (zsat_proc_t *self, int sig, int timeout_ms);
//  Raw wait status of the last exit (waitpid), or -1 before the first exit.
int zsat_proc_status (zsat_proc_t *self);
//  Writes the last exit as text ("none", "exit 3", "signal 9") into buf.
const char *zsat_proc_describe (int status, char *buf, size_t cap);
//  Monotonic milliseconds when the child was last started, 0 when never.
int64_t zsat_proc_started (zsat_proc_t *self);
//  Returns true when a process with this pid exists (and is not a zombie).
bool zsat_proc_alive (int pid);

void zsat_proc_test (bool verbose);

#endif
