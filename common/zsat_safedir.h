// SPDX-License-Identifier: MPL-2.0
/*  zsat_safedir - creates a directory path that no other local user controls. A run
    directory holds ipc sockets, pid files and logs: if another user could create or own one
    of its directories (a squatted /tmp/zsat-<uid>), they could read, replace or rename what
    zsat puts there. Every component must be owned by us and not writable by group or
    others, or owned by root and either not writable by others or sticky (/tmp).
*/
#ifndef ZSAT_SAFEDIR_H_INCLUDED
#define ZSAT_SAFEDIR_H_INCLUDED
#include <stdbool.h>
#include <stddef.h>

//  Creates path and its missing parents with mode 0700, then checks every component.
//  Returns 0, or -1 with errno set and a one-line reason (naming the directory, its owner
//  and mode, and what to do) in reason.
int zsat_safedir_make (const char *path, char *reason, size_t cap);
//  Checks one existing directory (symlinks followed, the link's owner checked too).
//  Returns 0, or -1 with errno and reason.
int zsat_safedir_check (const char *path, char *reason, size_t cap);
//  True when path is a directory owned by us with mode 0700 ($XDG_RUNTIME_DIR's rule).
bool zsat_safedir_private (const char *path);

#endif
