// SPDX-License-Identifier: MPL-2.0
/*  zsat_ipcguard - refuses to bind an ipc path that is not a socket (see zsat_ipcguard.h). */
#include "zsat.h"
#include "zsat_ipcguard.h"
#include <sys/stat.h>

//  One ipc path: 0 when absent or a socket, -1 (err) otherwise.
static int
s_check_path (const char *path, char *err, size_t cap)
{
    struct stat info;
    if (lstat (path, &info) != 0)
        return 0;  //  absent (or unreachable: the bind says why)
    if (S_ISSOCK (info.st_mode))
        return 0;  //  a socket left by an earlier run: ZeroMQ replaces it
    const char *what = S_ISREG (info.st_mode)   ? "a regular file"
                       : S_ISDIR (info.st_mode) ? "a directory"
                       : S_ISLNK (info.st_mode) ? "a symbolic link"
                                                : "not a socket";
    snprintf (err, cap,
              "ipc endpoint path %s exists and is %s: refusing to bind there (binding would "
              "delete it); choose another endpoint",
              path, what);
    return -1;
}

int
zsat_ipcguard_check (const char *attach, bool bind_default, char *err, size_t cap)
{
    for (const char *part = attach; part && *part;) {
        size_t n = strcspn (part, ",");
        bool bind = *part == '@' || (bind_default && *part != '>');
        const char *text = *part == '@' || *part == '>' ? part + 1 : part;
        size_t length = n - (size_t)(text - part);
        if (bind && length > 6 && strncmp (text, "ipc://", 6) == 0) {
            char path[512];
            snprintf (path, sizeof path, "%.*s", (int)(length - 6), text + 6);
            if (s_check_path (path, err, cap))
                return -1;
        }
        part += n + (part[n] == ',');
    }
    return 0;
}

void
zsat_ipcguard_test (bool verbose)
{
    printf (" * zsat_ipcguard: ");
    char dir[] = "/tmp/zsat-ipcguard-test-XXXXXX";
    assert (mkdtemp (dir));
    char file[256], attach[600], err[512];
    snprintf (file, sizeof file, "%s/precious", dir);
    FILE *f = fopen (file, "w");
    assert (f && fputs ("keep me\n", f) >= 0 && fclose (f) == 0);
    snprintf (attach, sizeof attach, "@tcp://127.0.0.1:5555,@ipc://%s", file);
    assert (zsat_ipcguard_check (attach, false, err, sizeof err) == -1);
    assert (strstr (err, "is a regular file"));
    snprintf (attach, sizeof attach, ">ipc://%s", file);  //  connecting deletes nothing
    assert (zsat_ipcguard_check (attach, true, err, sizeof err) == 0);
    snprintf (attach, sizeof attach, "ipc://%s", file);
    assert (zsat_ipcguard_check (attach, true, err, sizeof err) == -1);
    assert (zsat_ipcguard_check (attach, false, err, sizeof err) == 0);
    snprintf (attach, sizeof attach, "@ipc://%s/absent.ipc", dir);
    assert (zsat_ipcguard_check (attach, false, err, sizeof err) == 0);
    snprintf (attach, sizeof attach, "@ipc://%s", dir);
    assert (zsat_ipcguard_check (attach, false, err, sizeof err) == -1);
    //  a socket left by an earlier bind is fine
    zsock_t *sock = zsock_new (ZMQ_PULL);
    snprintf (attach, sizeof attach, "@ipc://%s/s.ipc", dir);
    assert (sock && zsock_attach (sock, attach, true) == 0);
    zsock_destroy (&sock);
    assert (zsat_ipcguard_check (attach, false, err, sizeof err) == 0);
    char path[300];
    snprintf (path, sizeof path, "%s/s.ipc", dir);
    unlink (path);
    unlink (file);
    rmdir (dir);
    printf ("OK\n");
}
