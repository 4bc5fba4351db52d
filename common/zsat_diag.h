/*  zsat_diag - a list of user-facing problems, each `file:line:col: message`.
    Loaders and validators append to it and go on, so a user sees every problem at once;
    the library never prints, the CLI prints the list.
*/
#ifndef ZSAT_DIAG_H_INCLUDED
#define ZSAT_DIAG_H_INCLUDED
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

typedef struct zsat_diag_t zsat_diag_t;

//  Creates an empty list. Returns NULL when out of memory.
zsat_diag_t *zsat_diag_new (void);
//  Destroys the list; accepts NULL, nulls the caller's pointer.
void zsat_diag_destroy (zsat_diag_t **self_p);
//  Appends "file:line:col: message" (line/col 0 are left out). Messages are copied.
void zsat_diag_add (zsat_diag_t *self, const char *file, int line, int col, const char *format, ...)
    __attribute__ ((format (printf, 5, 6)));
//  Returns how many problems were added.
size_t zsat_diag_count (zsat_diag_t *self);
//  Returns problem i (0-based) as one line, or NULL when out of range. Owned by the list.
const char *zsat_diag_get (zsat_diag_t *self, size_t i);
//  Writes every problem, one per line, to out.
void zsat_diag_print (zsat_diag_t *self, FILE *out);
//  Returns true when some problem contains text (for tests).
bool zsat_diag_contains (zsat_diag_t *self, const char *text);

#endif
