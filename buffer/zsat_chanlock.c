// SPDX-License-Identifier: MPL-2.0
/*  zsat_chanlock - one writer per channel directory (zsat_chanlock.h). OFD locks rather than
    flock: F_OFD_GETLK lets a reader test the lock without taking it, so `buffer stat` never
    makes a starting node fail. Rather than classic fcntl locks: those are per process and
    dropped when any descriptor of the file is closed.
*/
#define _GNU_SOURCE  //  F_OFD_SETLK, F_OFD_GETLK
#include "zsat_chanlock.h"
#include <errno.h>
#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

struct zsat_chanlock_t {
    int fd;
};

static void
s_path (const char *dir, char *buf, size_t cap)
{
    snprintf (buf, cap, "%s/lock", dir);
}

static int64_t
s_read_pid (int fd)
{
    char text[32] = "";
    ssize_t n = pread (fd, text, sizeof text - 1, 0);
    long long pid = 0;
    if (n <= 0 || sscanf (text, "%lld", &pid) != 1 || pid <= 0)
        return -1;
    return pid;
}

zsat_chanlock_t *
zsat_chanlock_take (const char *dir, zsat_error_t *err)
{
    char path[4200];
    s_path (dir, path, sizeof path);
    int fd = open (path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0) {
        zsat_fail (err, ZSAT_E_IO, "cannot open %s: %s", path, strerror (errno));
        return NULL;
    }
    struct flock lock = {.l_type = F_WRLCK, .l_whence = SEEK_SET};
    if (fcntl (fd, F_OFD_SETLK, &lock) != 0) {
        int saved = errno;
        int64_t pid = s_read_pid (fd);
        close (fd);
        if (saved == EAGAIN || saved == EACCES) {
            char who[48] = "a process whose pid is not written yet";
            if (pid > 0)
                snprintf (who, sizeof who, "process %lld", (long long)pid);
            zsat_fail (err, ZSAT_E_IO,
                       "channel %s is in use by %s (a buffer node or a zsat buffer command "
                       "writing it): stop it first; ls, stat, export and replay work meanwhile",
                       dir, who);
        }
        else
            zsat_fail (err, ZSAT_E_IO, "cannot lock %s: %s", path, strerror (saved));
        return NULL;
    }
    char text[32];
    int n = snprintf (text, sizeof text, "%lld\n", (long long)getpid ());
    if (ftruncate (fd, 0) != 0 || pwrite (fd, text, (size_t)n, 0) != n) {
        //  The lock holds anyway; only the pid in an error message would be missing.
    }
    zsat_chanlock_t *self = calloc (1, sizeof *self);
    if (!self) {
        close (fd);
        return NULL;
    }
    self->fd = fd;
    return self;
}

void
zsat_chanlock_release (zsat_chanlock_t **self_p)
{
    zsat_chanlock_t *self = *self_p;
    if (!self)
        return;
    close (self->fd);  //  the last descriptor of the description: the lock goes with it
    free (self);
    *self_p = NULL;
}

int64_t
zsat_chanlock_owner (const char *dir)
{
    char path[4200];
    s_path (dir, path, sizeof path);
    int fd = open (path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return 0;
    struct flock lock = {.l_type = F_WRLCK, .l_whence = SEEK_SET};
    int64_t pid = 0;
    if (fcntl (fd, F_OFD_GETLK, &lock) == 0 && lock.l_type != F_UNLCK)
        pid = s_read_pid (fd);
    close (fd);
    return pid;
}

void
zsat_chanlock_test (bool verbose)
{
    printf (" * zsat_chanlock: ");
    char dir[] = "/tmp/zsat_chanlock_test.XXXXXX";
    assert (mkdtemp (dir));
    zsat_error_t err;
    assert (zsat_chanlock_owner (dir) == 0);
    zsat_chanlock_t *lock = zsat_chanlock_take (dir, &err);
    assert (lock);
    assert (zsat_chanlock_owner (dir) == getpid ());
    //  A second take fails even in the same process (one owner per open description).
    assert (zsat_chanlock_take (dir, &err) == NULL);
    char pid[32];
    snprintf (pid, sizeof pid, "process %lld", (long long)getpid ());
    assert (strstr (err.text, "in use by") && strstr (err.text, pid));
    //  Another process is refused too, and sees our pid.
    pid_t child = fork ();
    if (child == 0)
        _exit (zsat_chanlock_take (dir, NULL) == NULL && zsat_chanlock_owner (dir) == getppid ()
                   ? 0
                   : 1);
    int status = 0;
    assert (waitpid (child, &status, 0) == child && WIFEXITED (status) &&
            WEXITSTATUS (status) == 0);
    zsat_chanlock_release (&lock);
    assert (zsat_chanlock_owner (dir) == 0);
    //  A holder that dies without releasing (kill -9) leaves the lock free.
    child = fork ();
    if (child == 0) {
        zsat_chanlock_take (dir, NULL);
        _exit (0);
    }
    assert (waitpid (child, &status, 0) == child);
    lock = zsat_chanlock_take (dir, &err);
    assert (lock);
    zsat_chanlock_release (&lock);
    char cmd[80];
    snprintf (cmd, sizeof cmd, "rm -rf %s", dir);
    assert (system (cmd) == 0);
    if (verbose)
        printf ("(one owner, pid reported, released at death) ");
    printf ("OK\n");
}
