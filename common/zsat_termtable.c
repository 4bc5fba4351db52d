// SPDX-License-Identifier: MPL-2.0
/*  zsat_termtable - tables fitted to a terminal's width and frames that redraw cleanly.
*/
#include "zsat_termtable.h"
#include <sys/ioctl.h>

#define S_RED   "\033[31m"
#define S_BOLD  "\033[1m"
#define S_RESET "\033[0m"

typedef struct {
    char **cells;
    uint32_t alarm;
} s_row_t;

struct zsat_termtable_t {
    const zsat_termcol_t *cols;
    size_t col_count;
    s_row_t *rows;
    size_t row_count, row_cap;
};

zsat_termtable_t *
zsat_termtable_new (const zsat_termcol_t *cols, size_t count)
{
    if (count == 0 || count > ZSAT_TERMTABLE_COLS)
        return NULL;
    zsat_termtable_t *self = (zsat_termtable_t *)calloc (1, sizeof *self);
    if (self) {
        self->cols = cols;
        self->col_count = count;
    }
    return self;
}

void
zsat_termtable_destroy (zsat_termtable_t **self_p)
{
    zsat_termtable_t *self = *self_p;
    if (!self)
        return;
    for (size_t r = 0; r < self->row_count; r++) {
        for (size_t c = 0; c < self->col_count; c++)
            free (self->rows[r].cells[c]);
        free (self->rows[r].cells);
    }
    free (self->rows);
    free (self);
    *self_p = NULL;
}

void
zsat_termtable_add (zsat_termtable_t *self, const char *const *cells, uint32_t alarm)
{
    if (self->row_count == self->row_cap) {
        size_t cap = self->row_cap ? self->row_cap * 2 : 16;
        s_row_t *rows = (s_row_t *)realloc (self->rows, cap * sizeof *rows);
        if (!rows)
            return;
        self->rows = rows;
        self->row_cap = cap;
    }
    s_row_t *row = &self->rows[self->row_count];
    row->cells = (char **)calloc (self->col_count, sizeof (char *));
    if (!row->cells)
        return;
    for (size_t c = 0; c < self->col_count; c++) {
        row->cells[c] = strdup (cells[c] ? cells[c] : "-");
        //  names come from the wire too: no control character reaches the terminal
        for (char *at = row->cells[c]; at && *at; at++)
            if ((unsigned char)*at < 0x20 || *at == 0x7f)
                *at = '?';
    }
    row->alarm = alarm;
    self->row_count++;
}

size_t
zsat_term_visible (const char *text)
{
    size_t visible = 0;
    for (const char *at = text; *at && *at != '\n'; at++) {
        if (*at == '\033') {  //  CSI: ESC [ parameters final-byte
            if (at[1] == '[')
                for (at += 2; *at && !(*at >= '@' && *at <= '~'); at++)
                    ;
            if (!*at)
                break;
            continue;
        }
        if (((unsigned char)*at & 0xC0) != 0x80)
            visible++;
    }
    return visible;
}

//  Natural widths: the widest cell of each column, header included.
static void
s_widths (zsat_termtable_t *self, int *width)
{
    for (size_t c = 0; c < self->col_count; c++) {
        width[c] = (int)strlen (self->cols[c].name);
        for (size_t r = 0; r < self->row_count; r++) {
            int len = (int)zsat_term_visible (self->rows[r].cells[c]);
            width[c] = len > width[c] ? len : width[c];
        }
    }
}

static int
s_total (const int *width, const bool *shown, size_t count)
{
    int total = 0, columns = 0;
    for (size_t c = 0; c < count; c++)
        if (shown[c]) {
            total += width[c];
            columns++;
        }
    return total + (columns > 1 ? columns - 1 : 0);
}

#define S_ROOMY 12

//  Abbreviates the widest abbreviable column by one while the table is wider than limit,
//  down to floor or the column's min.
static void
s_shrink (zsat_termtable_t *self, int *width, bool *shown, int limit, int floor)
{
    while (limit > 0 && s_total (width, shown, self->col_count) > limit) {
        int widest = -1;
        for (size_t c = 0; c < self->col_count; c++) {
            int least = self->cols[c].min > floor ? self->cols[c].min : floor;
            if (shown[c] && self->cols[c].min > 0 && width[c] > least &&
                (widest < 0 || width[c] > width[widest]))
                widest = (int)c;
        }
        if (widest < 0)
            return;  //  the line is cut at the limit when drawn
        width[widest]--;
    }
}

//  Fits the table to limit: drops the most dispensable column (rightmost of the highest
//  priority) while too wide, then abbreviates the widest abbreviable one.
static void
s_fit (zsat_termtable_t *self, int *width, bool *shown, int limit)
{
    //  names longer than S_ROOMY are abbreviated before any column goes
    s_shrink (self, width, shown, limit, S_ROOMY);
    while (limit > 0 && s_total (width, shown, self->col_count) > limit) {
        int drop = -1;
        for (size_t c = 0; c < self->col_count; c++)
            if (shown[c] && self->cols[c].priority > 0 &&
                (drop < 0 || self->cols[c].priority >= self->cols[drop].priority))
                drop = (int)c;
        if (drop < 0)
            break;
        shown[drop] = false;
    }
    s_shrink (self, width, shown, limit, 0);
}

//  Writes cell into a field of width w: abbreviated with '~' when longer.
static void
s_cell (FILE *out, const char *cell, int w, bool right, bool red)
{
    int len = (int)zsat_term_visible (cell);
    int pad = len < w ? w - len : 0;
    if (right)
        fprintf (out, "%*s", pad, "");
    if (red)
        fputs (S_RED, out);
    if (len > w)
        fprintf (out, "%.*s~", w > 1 ? w - 1 : 0, cell);
    else
        fputs (cell, out);
    if (red)
        fputs (S_RESET, out);
    if (!right)
        fprintf (out, "%*s", pad, "");
}

static void
s_line (FILE *out, zsat_termtable_t *self, const char *const *cells, uint32_t alarm,
        const int *width, const bool *shown, bool colour, bool header)
{
    bool first = true;
    size_t last = 0;
    for (size_t c = 0; c < self->col_count; c++)
        if (shown[c])
            last = c;
    if (header && colour)
        fputs (S_BOLD, out);
    for (size_t c = 0; c < self->col_count; c++) {
        if (!shown[c])
            continue;
        if (!first)
            fputc (' ', out);
        first = false;
        //  the last left-aligned column is not padded: no trailing blanks
        int w = c == last && !self->cols[c].right && (int)zsat_term_visible (cells[c]) < width[c]
                    ? (int)zsat_term_visible (cells[c])
                    : width[c];
        s_cell (out, cells[c], w, self->cols[c].right, colour && (alarm >> c & 1));
    }
    if (header && colour)
        fputs (S_RESET, out);
    fputc ('\n', out);
}

char *
zsat_termtable_render (zsat_termtable_t *self, int width, bool colour)
{
    int widths[ZSAT_TERMTABLE_COLS];
    bool shown[ZSAT_TERMTABLE_COLS];
    for (size_t c = 0; c < self->col_count; c++)
        shown[c] = true;
    s_widths (self, widths);
    s_fit (self, widths, shown, width);
    char *text = NULL;
    size_t size = 0;
    FILE *out = open_memstream (&text, &size);
    if (!out)
        return NULL;
    const char *names[ZSAT_TERMTABLE_COLS];
    for (size_t c = 0; c < self->col_count; c++)
        names[c] = self->cols[c].name;
    s_line (out, self, names, 0, widths, shown, colour, true);
    for (size_t r = 0; r < self->row_count; r++)
        s_line (out, self, (const char *const *)self->rows[r].cells, self->rows[r].alarm, widths,
                shown, colour, false);
    fclose (out);
    return text;
}

void
zsat_termtable_words (FILE *out, const char *prefix, const zsat_termword_t *words, size_t count,
                      int width, bool colour)
{
    int indent = (int)strlen (prefix) + (*prefix ? 1 : 0);
    int used = fprintf (out, "%s", prefix);
    for (size_t w = 0; w < count; w++) {
        char word[128];
        int len = snprintf (word, sizeof word, "%s=%" PRIu64, words[w].key, words[w].value);
        if (width > 0 && used > indent && used + 1 + len > width)
            used = fprintf (out, "\n%*s", indent, "") - 1;
        else if (used > 0)
            used += fprintf (out, " ");
        bool red = colour && words[w].alarm && words[w].value;
        fprintf (out, "%s%s%s", red ? S_RED : "", word, red ? S_RESET : "");
        used += len;
    }
    fputc ('\n', out);
}

int
zsat_term_width (int fd)
{
    struct winsize size;
    if (isatty (fd) && ioctl (fd, TIOCGWINSZ, &size) == 0 && size.ws_col > 0)
        return size.ws_col;
    const char *columns = getenv ("COLUMNS");
    int n = columns ? atoi (columns) : 0;
    return n > 0 ? n : 0;
}

int
zsat_term_height (int fd)
{
    struct winsize size;
    if (isatty (fd) && ioctl (fd, TIOCGWINSZ, &size) == 0 && size.ws_row > 0)
        return size.ws_row;
    const char *lines = getenv ("LINES");
    int n = lines ? atoi (lines) : 0;
    return n > 0 ? n : 0;
}

bool
zsat_term_colour (int fd)
{
    const char *no_colour = getenv ("NO_COLOR");
    return isatty (fd) && !(no_colour && *no_colour);
}

//  Writes the first line of text cut to width visible characters (escapes kept, colour
//  reset when cut). Returns the start of the next line, or NULL.
static const char *
s_put_line (FILE *out, const char *text, int width)
{
    size_t visible = 0;
    bool cut = false;
    const char *at = text;
    for (; *at && *at != '\n'; at++) {
        if (*at == '\033' && at[1] == '[') {
            const char *start = at;
            for (at += 2; *at && !(*at >= '@' && *at <= '~'); at++)
                ;
            fwrite (start, 1, (size_t)(at - start) + (*at ? 1 : 0), out);
            if (!*at)
                break;
            continue;
        }
        bool starts = ((unsigned char)*at & 0xC0) != 0x80;
        if (starts && width > 0 && visible == (size_t)width) {
            cut = true;
            continue;  //  skip the rest, but keep its escapes (colour resets)
        }
        visible += starts;
        fputc (*at, out);
    }
    (void)cut;
    return *at == '\n' ? at + 1 : NULL;
}

static size_t
s_line_count (const char *text)
{
    size_t lines = 0;
    for (const char *at = text; at && *at; lines++) {
        at = strchr (at, '\n');
        at = at ? at + 1 : NULL;
    }
    return lines;
}

void
zsat_term_frame (FILE *out, const char *text, int width, int height, bool ansi)
{
    size_t lines = s_line_count (text);
    size_t room = ansi && height > 0 ? (size_t)height : lines;
    size_t drawn = lines > room ? room - 1 : lines;
    const char *at = text;
    for (size_t row = 0; row < drawn && at && *at; row++) {
        if (ansi)
            fprintf (out, "\033[%zu;1H\033[2K", row + 1);
        at = s_put_line (out, at, width);
        if (!ansi)
            fputc ('\n', out);
    }
    if (drawn < lines) {
        char more[96];
        snprintf (more, sizeof more, "(%zu more lines; a taller terminal shows them)\n",
                  lines - drawn);
        if (ansi)
            fprintf (out, "\033[%zu;1H\033[2K", drawn + 1);
        s_put_line (out, more, width);
        if (!ansi)
            fputc ('\n', out);
    }
    //  below the frame: nothing of the previous one stays
    if (ansi && lines < room)
        fprintf (out, "\033[%zu;1H\033[J", lines + 1);
    fflush (out);
}

//  --- selftest ---

static char *
s_frame (const char *text, int width, int height, bool ansi)
{
    char *frame = NULL;
    size_t size = 0;
    FILE *out = open_memstream (&frame, &size);
    assert (out);
    zsat_term_frame (out, text, width, height, ansi);
    fclose (out);
    return frame;
}

static void
s_test_fit (bool verbose)
{
    static const zsat_termcol_t cols[] = {
        {"NAME", 0, false, 4}, {"RATE", 0, true, 0}, {"EXTRA", 2, true, 0}, {"MORE", 1, true, 0}};
    zsat_termtable_t *table = zsat_termtable_new (cols, 4);
    assert (table);
    const char *row1[] = {"a-rather-long-name", "12.5", "7", "1"};
    const char *row2[] = {"b", NULL, "8", "200"};
    const char *row3[] = {"\033[2Jx\ty", "1", "1", "1"};
    zsat_termtable_add (table, row1, 0);
    zsat_termtable_add (table, row2, 1u << 3);
    char *text = NULL;
    {
        zsat_termtable_t *hostile = zsat_termtable_new (cols, 4);
        zsat_termtable_add (hostile, row3, 0);
        text = zsat_termtable_render (hostile, 0, false);
        assert (strstr (text, "?[2Jx?y") && !strchr (text, '\033') && !strchr (text, '\t'));
        free (text);
        zsat_termtable_destroy (&hostile);
    }
    text = zsat_termtable_render (table, 0, false);
    if (verbose)
        printf ("\n%s", text);
    assert (strstr (text, "NAME               RATE EXTRA MORE\n"));
    assert (strstr (text, "a-rather-long-name 12.5     7    1\n"));
    assert (strstr (text, "b                     -     8  200\n"));
    free (text);
    //  names are abbreviated to 12 first, then EXTRA (priority 2) goes, then MORE
    text = zsat_termtable_render (table, 28, false);
    assert (strstr (text, "a-rather-lo~ 12.5     7    1\n"));
    free (text);
    text = zsat_termtable_render (table, 23, false);
    assert (strstr (text, "a-rather-lo~ 12.5    1\n") && !strstr (text, "EXTRA"));
    free (text);
    text = zsat_termtable_render (table, 12, false);
    if (verbose)
        printf ("%s", text);
    assert (strstr (text, "NAME    RATE\n") && strstr (text, "a-rathe~ 12.5\n") == NULL);
    assert (strstr (text, "a-rath~ 12.5\n"));
    for (const char *line = text; *line; line = strchr (line, '\n') + 1)
        assert (zsat_term_visible (line) <= 12);
    free (text);
    //  colour: only alarms are red, and the visible width is unchanged
    text = zsat_termtable_render (table, 0, true);
    assert (strstr (text, S_RED "200" S_RESET));
    assert (!strstr (text, S_RED "1" S_RESET));
    free (text);
    zsat_termtable_destroy (&table);
    assert (!table);
}

static void
s_test_frame (void)
{
    assert (zsat_term_visible ("ab\033[31mcd\033[0m\nxyz") == 4);
    assert (zsat_term_visible ("\xc3\xa9t\xc3\xa9") == 3);
    char *frame = s_frame ("0123456789\nab\n", 4, 0, false);
    assert (streq (frame, "0123\nab\n"));
    free (frame);
    //  ansi: every line at its row, cleared first; the rest of the screen cleared
    frame = s_frame ("title\nline\n", 80, 24, true);
    assert (streq (frame, "\033[1;1H\033[2Ktitle\033[2;1H\033[2Kline\033[3;1H\033[J"));
    free (frame);
    //  taller than the screen: the last row says what is not shown
    frame = s_frame ("a\nb\nc\nd\n", 80, 3, true);
    assert (strstr (frame, "\033[1;1H\033[2Ka\033[2;1H\033[2Kb\033[3;1H\033[2K(2 more lines"));
    assert (!strstr (frame, "\033[J"));
    free (frame);
    //  a cut inside a colour keeps the reset
    frame = s_frame ("\033[31mabcdef\033[0m\n", 3, 0, false);
    assert (streq (frame, "\033[31mabc\033[0m\n"));
    free (frame);
    char *words = NULL;
    size_t size = 0;
    FILE *out = open_memstream (&words, &size);
    zsat_termword_t list[] = {{"late", 3, false}, {"bad", 1, true}, {"records", 12345, false}};
    zsat_termtable_words (out, "info:", list, 3, 16, true);
    fclose (out);
    assert (streq (words, "info: late=3\n      " S_RED "bad=1" S_RESET "\n      records=12345\n"));
    free (words);
}

void
zsat_termtable_test (bool verbose)
{
    printf (" * zsat_termtable: ");
    s_test_fit (verbose);
    s_test_frame ();
    printf ("OK\n");
}
