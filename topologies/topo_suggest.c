/*  topo_suggest - "did you mean" for unknown keys and names: a bounded edit distance. */
#include "topo_internal.h"

//  Names are at most 63 bytes and keys shorter, so two rows of 64 suffice; longer words are
//  never close to a candidate anyway.
#define TOPO_WORD_MAX 64

size_t
topo_distance (const char *a, const char *b)
{
    size_t la = strlen (a), lb = strlen (b);
    if (la >= TOPO_WORD_MAX || lb >= TOPO_WORD_MAX)
        return TOPO_WORD_MAX;
    size_t row[TOPO_WORD_MAX + 1], prev[TOPO_WORD_MAX + 1];
    for (size_t j = 0; j <= lb; j++)
        prev[j] = j;
    for (size_t i = 1; i <= la; i++) {
        row[0] = i;
        for (size_t j = 1; j <= lb; j++) {
            size_t cost = a[i - 1] == b[j - 1] ? 0 : 1;
            size_t best = prev[j - 1] + cost;
            if (prev[j] + 1 < best)
                best = prev[j] + 1;
            if (row[j - 1] + 1 < best)
                best = row[j - 1] + 1;
            row[j] = best;
        }
        memcpy (prev, row, (lb + 1) * sizeof (size_t));
    }
    return prev[lb];
}

const char *
topo_closest (const char *word, const char *const *candidates, size_t count)
{
    const char *best = NULL;
    size_t best_distance = 3;  //  more than two edits is a different word
    for (size_t i = 0; i < count; i++) {
        if (!candidates[i])
            continue;
        size_t d = topo_distance (word, candidates[i]);
        if (d < best_distance && d < strlen (candidates[i])) {
            best = candidates[i];
            best_distance = d;
        }
    }
    return best;
}
