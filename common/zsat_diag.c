/*  zsat_diag - a list of `file:line:col: message` problems (see zsat_diag.h). */
#include "zsat.h"
#include <stdarg.h>

struct zsat_diag_t {
    char **lines;
    size_t count;
    size_t cap;
};

zsat_diag_t *
zsat_diag_new (void)
{
    return (zsat_diag_t *)calloc (1, sizeof (zsat_diag_t));
}

void
zsat_diag_destroy (zsat_diag_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    zsat_diag_t *self = *self_p;
    for (size_t i = 0; i < self->count; i++)
        free (self->lines[i]);
    free (self->lines);
    free (self);
    *self_p = NULL;
}

void
zsat_diag_add (zsat_diag_t *self, const char *file, int line, int col, const char *format, ...)
{
    if (!self)
        return;
    if (self->count == self->cap) {
        size_t cap = self->cap ? self->cap * 2 : 8;
        char **lines = (char **)realloc (self->lines, cap * sizeof (char *));
        if (!lines)
            return;
        self->lines = lines;
        self->cap = cap;
    }
    char where[512];
    if (line > 0 && col > 0)
        snprintf (where, sizeof where, "%s:%d:%d: ", file ? file : "-", line, col);
    else if (line > 0)
        snprintf (where, sizeof where, "%s:%d: ", file ? file : "-", line);
    else
        snprintf (where, sizeof where, "%s: ", file ? file : "-");
    char message[1024];
    va_list args;
    va_start (args, format);
    vsnprintf (message, sizeof message, format, args);
    va_end (args);
    size_t size = strlen (where) + strlen (message) + 1;
    char *text = (char *)malloc (size);
    if (!text)
        return;
    snprintf (text, size, "%s%s", where, message);
    self->lines[self->count++] = text;
}

size_t
zsat_diag_count (zsat_diag_t *self)
{
    return self ? self->count : 0;
}

const char *
zsat_diag_get (zsat_diag_t *self, size_t i)
{
    return self && i < self->count ? self->lines[i] : NULL;
}

void
zsat_diag_print (zsat_diag_t *self, FILE *out)
{
    for (size_t i = 0; self && i < self->count; i++)
        fprintf (out, "%s\n", self->lines[i]);
}

bool
zsat_diag_contains (zsat_diag_t *self, const char *text)
{
    for (size_t i = 0; self && i < self->count; i++)
        if (strstr (self->lines[i], text))
            return true;
    return false;
}

void
zsat_diag_test (bool verbose)
{
    printf (" * zsat_diag: ");
    zsat_diag_t *diag = zsat_diag_new ();
    assert (zsat_diag_count (diag) == 0);
    for (int i = 0; i < 20; i++)
        zsat_diag_add (diag, "t.yaml", i + 1, 3, "problem %d", i);
    zsat_diag_add (diag, "t.yaml", 0, 0, "whole file");
    assert (zsat_diag_count (diag) == 21);
    assert (streq (zsat_diag_get (diag, 0), "t.yaml:1:3: problem 0"));
    assert (streq (zsat_diag_get (diag, 20), "t.yaml: whole file"));
    assert (zsat_diag_get (diag, 21) == NULL);
    assert (zsat_diag_contains (diag, "problem 19"));
    assert (!zsat_diag_contains (diag, "problem 20"));
    zsat_diag_destroy (&diag);
    zsat_diag_destroy (&diag);
    assert (diag == NULL);
    printf ("OK\n");
}
