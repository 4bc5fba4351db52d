// SPDX-License-Identifier: MPL-2.0
/*  zsat_safedir - mkdir -p that refuses directories another user controls (issue 11.8). */
#include "zsat.h"
#include "zsat_safedir.h"
#include <sys/stat.h>

static bool
s_trusted (const struct stat *st)
{
    uid_t me = geteuid ();
    bool others_write = (st->st_mode & (S_IWGRP | S_IWOTH)) != 0;
    if (st->st_uid == me && !others_write)
        return true;
    return st->st_uid == 0 && (!others_write || (st->st_mode & S_ISVTX));
}

static int
s_refuse (char *reason, size_t cap, const char *path, const struct stat *st, const char *why)
{
    snprintf (reason, cap,
              "refusing %s: %s (owner uid %u, mode %04o; zsat runs as uid %u): another user "
              "could read or replace the sockets and files in it; remove it, or choose another "
              "directory with ZSAT_RUN_DIR",
              path, why, (unsigned)st->st_uid, (unsigned)(st->st_mode & 07777),
              (unsigned)geteuid ());
    errno = EPERM;
    return -1;
}

int
zsat_safedir_check (const char *path, char *reason, size_t cap)
{
    struct stat link, st;
    if (lstat (path, &link) != 0 || stat (path, &st) != 0) {
        snprintf (reason, cap, "cannot use %s: %s", path, strerror (errno));
        return -1;
    }
    if (S_ISLNK (link.st_mode) && link.st_uid != geteuid () && link.st_uid != 0)
        return s_refuse (reason, cap, path, &link, "a symbolic link owned by another user");
    if (!S_ISDIR (st.st_mode)) {
        snprintf (reason, cap, "cannot use %s: not a directory", path);
        errno = ENOTDIR;
        return -1;
    }
    if (!s_trusted (&st))
        return s_refuse (reason, cap, path, &st,
                         st.st_uid != geteuid () && st.st_uid != 0 ? "owned by another user"
                                                                   : "writable by group or others");
    return 0;
}

int
zsat_safedir_make (const char *path, char *reason, size_t cap)
{
    char partial[1024];
    size_t size = strlen (path);
    if (size == 0 || size >= sizeof partial) {
        snprintf (reason, cap, "directory path too long or empty");
        errno = ENAMETOOLONG;
        return -1;
    }
    //  Every component, including the existing ones: a parent another user owns can rename
    //  our directory away (the sticky bit is what stops that in /tmp).
    for (size_t i = 1; i <= size; i++) {
        if (path[i] != '/' && path[i] != 0)
            continue;
        memcpy (partial, path, i);
        partial[i] = 0;
        if (mkdir (partial, 0700) != 0 && errno != EEXIST) {
            snprintf (reason, cap, "cannot create %s: %s", partial, strerror (errno));
            return -1;
        }
        if (zsat_safedir_check (partial, reason, cap) != 0)
            return -1;
    }
    return 0;
}

bool
zsat_safedir_private (const char *path)
{
    struct stat st;
    return path && *path == '/' && stat (path, &st) == 0 && S_ISDIR (st.st_mode) &&
           st.st_uid == geteuid () && (st.st_mode & 0777) == 0700;
}

void
zsat_safedir_test (bool verbose)
{
    printf (" * zsat_safedir: ");
    char base[] = "/tmp/zsat-safedir-test-XXXXXX", path[256], reason[512];
    assert (mkdtemp (base));
    snprintf (path, sizeof path, "%s/a/b", base);
    assert (zsat_safedir_make (path, reason, sizeof reason) == 0);
    assert (zsat_safedir_private (path));
    assert (zsat_safedir_make (path, reason, sizeof reason) == 0);  //  again: kept
    //  A component writable by others (no sticky bit) is refused, with the reason.
    snprintf (path, sizeof path, "%s/a", base);
    assert (chmod (path, 0777) == 0);
    snprintf (path, sizeof path, "%s/a/b", base);
    assert (zsat_safedir_make (path, reason, sizeof reason) == -1 && errno == EPERM);
    assert (strstr (reason, "writable by group or others") && strstr (reason, "ZSAT_RUN_DIR"));
    //  A regular file where a directory should be.
    snprintf (path, sizeof path, "%s/a", base);
    assert (chmod (path, 0700) == 0);
    snprintf (path, sizeof path, "%s/a/file", base);
    FILE *file = fopen (path, "w");
    assert (file);
    fclose (file);
    assert (zsat_safedir_make (path, reason, sizeof reason) == -1 && strstr (reason, "not a dir"));
    //  Another owner (only root can hand a directory to someone else).
    if (geteuid () == 0) {
        snprintf (path, sizeof path, "%s/a/b", base);
        assert (chown (path, 65534, 65534) == 0);
        assert (zsat_safedir_make (path, reason, sizeof reason) == -1);
        assert (strstr (reason, "owned by another user") && strstr (reason, "uid 65534"));
        assert (!zsat_safedir_private (path));
    }
    assert (zsat_safedir_check ("/tmp", reason, sizeof reason) == 0);  //  root, sticky
    assert (!zsat_safedir_private ("/tmp"));
    char command[300];
    snprintf (command, sizeof command, "rm -rf '%s'", base);
    assert (system (command) == 0);
    printf ("OK\n");
}
