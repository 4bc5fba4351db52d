// SPDX-License-Identifier: MPL-2.0
/*  zsat_datadir - finds the shipped data from the running binary's own path
    (/proc/self/exe) or $ZSAT_DATA_DIR. Resolved on every call: tests change the variable.
*/
#include "zsat.h"
#include "zsat_datadir.h"
#include <sys/stat.h>

static bool
s_is_dir (const char *path)
{
    struct stat st;
    return stat (path, &st) == 0 && S_ISDIR (st.st_mode);
}

//  The directory holding the running binary, or "" when /proc is not mounted.
static void
s_exe_dir (char *buf, size_t cap)
{
    ssize_t size = readlink ("/proc/self/exe", buf, cap - 1);
    buf[size > 0 ? size : 0] = 0;
    char *slash = strrchr (buf, '/');
    if (slash)
        *slash = 0;
}

const char *
zsat_datadir (void)
{
    static __thread char dir[1100];
    const char *env = getenv ("ZSAT_DATA_DIR");
    if (env && *env) {
        snprintf (dir, sizeof dir, "%s", env);
        return s_is_dir (dir) ? dir : NULL;
    }
    char exe[1024];
    s_exe_dir (exe, sizeof exe);
    if (!*exe)
        return NULL;
    snprintf (dir, sizeof dir, "%s/../share/zsat", exe);
    if (s_is_dir (dir))
        return dir;
    snprintf (dir, sizeof dir, "%s/share/zsat", exe);
    return s_is_dir (dir) ? dir : NULL;
}

const char *
zsat_datadir_path (char *buf, size_t cap, const char *relative)
{
    const char *dir = zsat_datadir ();
    if (!dir || (size_t)snprintf (buf, cap, "%s/%s", dir, relative) >= cap) {
        if (cap)
            buf[0] = 0;
        return NULL;
    }
    return buf;
}

const char *
zsat_datadir_default_topology (char *buf, size_t cap)
{
    if (zsat_datadir_path (buf, cap, "topologies/default.yaml"))
        return buf;
    snprintf (buf, cap, "topologies/default.yaml");
    return buf;
}

void
zsat_datadir_test (bool verbose)
{
    printf (" * zsat_datadir: ");
    char *saved = getenv ("ZSAT_DATA_DIR") ? strdup (getenv ("ZSAT_DATA_DIR")) : NULL;
    char dir[] = "/tmp/zsat-datadir-test-XXXXXX";
    assert (mkdtemp (dir));
    setenv ("ZSAT_DATA_DIR", dir, 1);
    char path[1024];
    assert (streq (zsat_datadir (), dir));
    assert (zsat_datadir_path (path, sizeof path, "docs/x.md"));
    assert (strncmp (path, dir, strlen (dir)) == 0 && streq (path + strlen (dir), "/docs/x.md"));
    assert (!zsat_datadir_path (path, 8, "docs/x.md") && path[0] == 0);
    rmdir (dir);
    //  A variable naming a missing directory is not silently replaced by another one.
    assert (zsat_datadir () == NULL);
    assert (streq (zsat_datadir_default_topology (path, sizeof path), "topologies/default.yaml"));
    unsetenv ("ZSAT_DATA_DIR");
    //  The selftest runs from the build tree, which links share/zsat to the sources.
    const char *found = zsat_datadir ();
    assert (found);
    assert (zsys_file_exists (zsat_datadir_default_topology (path, sizeof path)));
    if (verbose)
        printf ("%s ", found);
    if (saved)
        setenv ("ZSAT_DATA_DIR", saved, 1);
    free (saved);
    printf ("OK\n");
}
