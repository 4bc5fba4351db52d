// SPDX-License-Identifier: MPL-2.0
/*  zsat_ipcguard - ZeroMQ unlinks an ipc path before binding it, whatever the path is: a
    typo'd `endpoint: ipc:///etc/passwd` would delete the file. Before any bind, every ipc
    path zsat is about to bind is checked with lstat: absent or a socket is fine, anything
    else (a regular file, a directory, a symlink) is refused with a clear error.
*/
#ifndef ZSAT_IPCGUARD_H_INCLUDED
#define ZSAT_IPCGUARD_H_INCLUDED
#include <stdbool.h>
#include <stddef.h>

//  Checks the ipc paths that attach (czmq zsock_attach syntax: "@a,>b,c") binds: parts with
//  '@', and parts without a prefix when bind_default. Returns 0, or -1 with a one-line
//  reason in err.
int zsat_ipcguard_check (const char *attach, bool bind_default, char *err, size_t cap);

void zsat_ipcguard_test (bool verbose);

#endif
