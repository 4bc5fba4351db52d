/*  topo_arena - the topology's memory: one arena freed with it, strings carrying the source
    mark (line, col) they were read at, growable arrays, and problems reported at a mark.
*/
#include "topo_internal.h"
#include <stdarg.h>

struct topo_chunk_t {
    topo_chunk_t *next;
    max_align_t data[];
};

//  Stored before each arena string so a check can point back at the file.
typedef struct {
    int line, col;
} topo_mark_t;

void *
topo_alloc (zsat_topology_t *self, size_t size)
{
    topo_chunk_t *chunk = (topo_chunk_t *)calloc (1, sizeof (topo_chunk_t) + size);
    if (!chunk)
        return NULL;
    chunk->next = self->arena;
    self->arena = chunk;
    return chunk->data;
}

char *
topo_strndup (zsat_topology_t *self, const char *text, size_t n, int line, int col)
{
    topo_mark_t *mark = (topo_mark_t *)topo_alloc (self, sizeof (topo_mark_t) + n + 1);
    if (!mark)
        return NULL;
    mark->line = line;
    mark->col = col;
    char *copy = (char *)(mark + 1);
    memcpy (copy, text, n);
    copy[n] = 0;
    return copy;
}

char *
topo_strdup (zsat_topology_t *self, const char *text, int line, int col)
{
    return topo_strndup (self, text, strlen (text), line, col);
}

void
topo_mark (const char *text, int *line, int *col)
{
    const topo_mark_t *mark = (const topo_mark_t *)text - 1;
    *line = mark->line;
    *col = mark->col;
}

void
topo_arena_free (zsat_topology_t *self)
{
    while (self->arena) {
        topo_chunk_t *next = self->arena->next;
        free (self->arena);
        self->arena = next;
    }
}

void *
topo_push (void **array, size_t *count, size_t *cap, size_t size)
{
    if (*count == *cap) {
        size_t new_cap = *cap ? *cap * 2 : 8;
        void *grown = realloc (*array, new_cap * size);
        if (!grown)
            return NULL;
        *array = grown;
        *cap = new_cap;
    }
    char *slot = (char *)*array + *count * size;
    memset (slot, 0, size);
    (*count)++;
    return slot;
}

void
topo_error_at (zsat_topology_t *self, zsat_diag_t *diag, const char *text, int line, int col,
               const char *format, ...)
{
    if (text) {
        int text_line, text_col;
        topo_mark (text, &text_line, &text_col);
        if (text_line > 0) {
            line = text_line;
            col = text_col;
        }
    }
    char message[1024];
    va_list args;
    va_start (args, format);
    vsnprintf (message, sizeof message, format, args);
    va_end (args);
    zsat_diag_add (diag, self->file, line, col, "%s", message);
}
