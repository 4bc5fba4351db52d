// SPDX-License-Identifier: MPL-2.0
/*  zsat_pidlock - an flock'ed pid file held for a process's life (see zsat_pidlock.h). */
#include "zsat.h"
#include "zsat_pidlock.h"
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>

static int
s_read_pid (int fd)
{
    char text[32] = "";
    ssize_t n = pread (fd, text, sizeof text - 1, 0);
    if (n <= 0)
        return 0;
    text[n] = 0;
    int pid = atoi (text);
    return pid > 0 ? pid : 0;
}

//  True when fd is still the file at path: a holder that released (and unlinked) it between
//  our open and our lock leaves us a lock on a deleted file, which guards nothing.
static bool
s_same_file (int fd, const char *path)
{
    struct stat a, b;
    return fstat (fd, &a) == 0 && stat (path, &b) == 0 && a.st_dev == b.st_dev &&
           a.st_ino == b.st_ino;
}

int
zsat_pidlock_acquire (const char *path, int *holder)
{
    *holder = 0;
    for (int attempt = 0; attempt < 10; attempt++) {
        int fd = open (path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
        if (fd < 0)
            return -1;
        if (flock (fd, LOCK_EX | LOCK_NB) != 0) {
            int error = errno;
            *holder = error == EWOULDBLOCK ? s_read_pid (fd) : 0;
            close (fd);
            errno = error;
            return -1;
        }
        if (!s_same_file (fd, path)) {
            close (fd);
            continue;
        }
        char text[32];
        int n = snprintf (text, sizeof text, "%d\n", (int)getpid ());
        if (ftruncate (fd, 0) != 0 || pwrite (fd, text, (size_t)n, 0) != n) {
            int error = errno;
            close (fd);
            errno = error;
            return -1;
        }
        return fd;
    }
    errno = EAGAIN;
    return -1;
}

void
zsat_pidlock_release (int fd, const char *path)
{
    if (fd < 0)
        return;
    if (path && s_same_file (fd, path))
        unlink (path);  //  while still locked: the next holder creates a fresh file
    close (fd);
}

void
zsat_pidlock_test (bool verbose)
{
    printf (" * zsat_pidlock: ");
    char dir[] = "/tmp/zsat-pidlock-test-XXXXXX";
    assert (mkdtemp (dir));
    char path[256];
    snprintf (path, sizeof path, "%s/launcher.pid", dir);
    int holder = -1;
    int fd = zsat_pidlock_acquire (path, &holder);
    assert (fd >= 0 && holder == 0);
    //  another process is refused and told our pid
    pid_t child = fork ();
    if (child == 0) {
        int other = 0;
        _exit (zsat_pidlock_acquire (path, &other) < 0 && other == getppid () ? 0 : 1);
    }
    int status = 0;
    assert (waitpid (child, &status, 0) == child && WIFEXITED (status) && !WEXITSTATUS (status));
    zsat_pidlock_release (fd, path);
    assert (access (path, F_OK) != 0);
    //  a stale file (its writer died) does not block
    FILE *stale = fopen (path, "w");
    assert (stale && fprintf (stale, "999999\n") > 0 && fclose (stale) == 0);
    fd = zsat_pidlock_acquire (path, &holder);
    assert (fd >= 0);
    zsat_pidlock_release (fd, path);
    rmdir (dir);
    printf ("OK\n");
}
