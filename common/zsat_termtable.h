// SPDX-License-Identifier: MPL-2.0
/*  zsat_termtable - tables and live frames for a terminal, for `zsat status`, `watch` and
    `up`: columns fitted to a width (the least important dropped first, then names
    abbreviated), colour only when asked for (a TTY without NO_COLOR), and frames drawn line
    by line with each line cleared first, so a redraw leaves no fragment of the last one at
    any size. Pure text functions plus two that read the terminal.
*/
#ifndef ZSAT_TERMTABLE_H_INCLUDED
#define ZSAT_TERMTABLE_H_INCLUDED
#include "zsat.h"

#define ZSAT_TERMTABLE_COLS 24

typedef struct {
    const char *name;  //  header
    int priority;      //  0: always shown; the highest is dropped first when too wide
    bool right;        //  right-aligned (numbers)
    int min;           //  may be abbreviated down to this width (0: never abbreviated)
} zsat_termcol_t;

typedef struct zsat_termtable_t zsat_termtable_t;

//  A table of count (≤ ZSAT_TERMTABLE_COLS) columns; cols must outlive it. NULL when short
//  of memory.
zsat_termtable_t *zsat_termtable_new (const zsat_termcol_t *cols, size_t count);
void zsat_termtable_destroy (zsat_termtable_t **self_p);
//  Adds a row of count cells (copied; NULL is shown as "-"). alarm: bit c marks cell c as a
//  fault, drawn red when colour is on.
void zsat_termtable_add (zsat_termtable_t *self, const char *const *cells, uint32_t alarm);
//  Renders the header and the rows, each line at most width characters (0: no limit),
//  lines ended by '\n'. Returns a new string (caller frees) or NULL.
char *zsat_termtable_render (zsat_termtable_t *self, int width, bool colour);

//  Appends "key=value" words to out, wrapped to width (0: one line), after a prefix.
//  alarm words are red when colour is on.
typedef struct {
    const char *key;
    uint64_t value;
    bool alarm;
} zsat_termword_t;
void zsat_termtable_words (FILE *out, const char *prefix, const zsat_termword_t *words,
                           size_t count, int width, bool colour);

//  The width of the terminal on fd (TIOCGWINSZ), else $COLUMNS, else 0 (no limit).
int zsat_term_width (int fd);
//  Its height, else $LINES, else 0.
int zsat_term_height (int fd);
//  Colour on fd: a TTY and NO_COLOR unset or empty.
bool zsat_term_colour (int fd);
//  Visible characters of text up to its first '\n' (escape sequences and UTF-8 continuation
//  bytes count nothing).
size_t zsat_term_visible (const char *text);

//  Draws text (lines ended by '\n') as one frame. ansi: each line at its own row, cleared
//  before it is drawn, and the screen below the last line cleared; lines beyond height
//  are replaced by a "(N more lines)" line. Every line is cut to width (0: no limit).
void zsat_term_frame (FILE *out, const char *text, int width, int height, bool ansi);

void zsat_termtable_test (bool verbose);

#endif
