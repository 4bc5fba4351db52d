// SPDX-License-Identifier: MPL-2.0
/*  zsat_logrotate - copy-and-truncate rotation of the per-node log files. */
#include "zsat.h"
#include "zsat_logrotate.h"
#include <fcntl.h>
#include <sys/sendfile.h>
#include <sys/stat.h>

static int
s_copy (const char *from, const char *to)
{
    int in = open (from, O_RDONLY | O_CLOEXEC);
    int out = in < 0 ? -1 : open (to, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    struct stat st;
    int rc = in >= 0 && out >= 0 && fstat (in, &st) == 0 ? 0 : -1;
    off_t offset = 0;
    while (rc == 0 && offset < st.st_size) {
        ssize_t sent = sendfile (out, in, &offset, (size_t)(st.st_size - offset));
        if (sent <= 0)
            rc = -1;
    }
    if (in >= 0)
        close (in);
    if (out >= 0 && close (out) != 0)
        rc = -1;
    return rc;
}

int
zsat_logrotate_check (const char *path, int64_t max_bytes, int keep)
{
    struct stat st;
    if (stat (path, &st) != 0 || st.st_size <= max_bytes)
        return 0;
    char older[1100], newer[1100];
    for (int i = keep; i > 1; i--) {
        snprintf (older, sizeof older, "%s.%d", path, i);
        snprintf (newer, sizeof newer, "%s.%d", path, i - 1);
        if (rename (newer, older) != 0 && errno != ENOENT)
            return -1;
    }
    snprintf (newer, sizeof newer, "%s.1", path);
    if (s_copy (path, newer) != 0 || truncate (path, 0) != 0)
        return -1;
    return 1;
}

int64_t
zsat_logrotate_max (void)
{
    const char *text = getenv ("ZSAT_LOG_MAX");
    char *end = NULL;
    double value = text ? strtod (text, &end) : 0;
    if (!text || end == text || value <= 0)
        return ZSAT_LOGROTATE_MAX_DEFAULT;
    int64_t scale = *end == 'k' || *end == 'K' ? 1024
                    : *end == 'M'              ? 1024 * 1024
                    : *end == 'G'              ? 1024 * 1024 * 1024
                                               : 1;
    return (int64_t)(value * (double)scale);
}

void
zsat_logrotate_test (bool verbose)
{
    printf (" * zsat_logrotate: ");
    char dir[] = "/tmp/zsat-logrotate-test-XXXXXX", path[256], copy[300];
    assert (mkdtemp (dir));
    snprintf (path, sizeof path, "%s/n.0.log", dir);
    //  A writer with O_APPEND, as the node has: after the truncation it writes at offset 0.
    int fd = open (path, O_WRONLY | O_CREAT | O_APPEND, 0600);
    assert (fd >= 0);
    for (int round = 0; round < 5; round++) {
        char line[64];
        int n = snprintf (line, sizeof line, "round %d: %040d\n", round, 0);
        for (int i = 0; i < 20; i++)
            assert (write (fd, line, (size_t)n) == n);
        assert (zsat_logrotate_check (path, 500, 3) == 1);
        struct stat st;
        assert (stat (path, &st) == 0 && st.st_size == 0);
    }
    assert (write (fd, "after\n", 6) == 6);
    close (fd);
    assert (zsat_logrotate_check (path, 500, 3) == 0);  //  small: left alone
    snprintf (copy, sizeof copy, "%s.1", path);
    FILE *file = fopen (copy, "r");
    char line[128];
    assert (file && fgets (line, sizeof line, file) && strncmp (line, "round 4:", 8) == 0);
    fclose (file);
    snprintf (copy, sizeof copy, "%s.3", path);
    file = fopen (copy, "r");
    assert (file && fgets (line, sizeof line, file) && strncmp (line, "round 2:", 8) == 0);
    fclose (file);
    snprintf (copy, sizeof copy, "%s.4", path);
    assert (access (copy, F_OK) != 0);  //  only `keep` copies
    file = fopen (path, "r");
    assert (file && fgets (line, sizeof line, file) && streq (line, "after\n"));
    fclose (file);
    setenv ("ZSAT_LOG_MAX", "2k", 1);
    assert (zsat_logrotate_max () == 2048);
    unsetenv ("ZSAT_LOG_MAX");
    assert (zsat_logrotate_max () == ZSAT_LOGROTATE_MAX_DEFAULT);
    char command[300];
    snprintf (command, sizeof command, "rm -rf '%s'", dir);
    assert (system (command) == 0);
    printf ("OK\n");
}
