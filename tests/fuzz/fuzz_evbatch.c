/*  fuzz_evbatch - libFuzzer target for tracker event batches. Decode must give a count or
    -1; when the whole batch is valid, re-encoding its records must decode to the same.
*/
#include "zsat.h"

typedef struct {
    zsat_event_rec_t rec[ZSAT_EVBATCH_MAX_RECORDS];
    int count;
} s_list_t;

static int
s_keep (const zsat_event_rec_t *rec, void *arg)
{
    s_list_t *l = (s_list_t *)arg;
    if (l->count >= ZSAT_EVBATCH_MAX_RECORDS)
        abort ();
    l->rec[l->count++] = *rec;
    return 0;
}

static void
s_same (const zsat_event_rec_t *a, const zsat_event_rec_t *b)
{
    if (a->event != b->event || a->task_id != b->task_id || a->job_id != b->job_id ||
        strcmp (a->type, b->type) || a->retry != b->retry || a->seq != b->seq ||
        a->timestamp != b->timestamp || a->flags != b->flags || strcmp (a->detail, b->detail))
        abort ();
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
    static s_list_t first, second;
    zsat_event_source_t source, source2;
    zsat_error_t err;
    first.count = 0;
    int n = zsat_evbatch_decode (data, size, &source, s_keep, &first, &err);
    if (n < 0)
        return 0;
    if (n != first.count)
        abort ();
    zsat_evbatch_t *b = zsat_evbatch_new (&source, ZSAT_EVBATCH_MAX_RECORDS);
    if (!b)
        abort ();
    for (int i = 0; i < n; i++)
        if (zsat_evbatch_add (b, &first.rec[i]) != i + 1)
            abort ();
    size_t body_size;
    const uint8_t *body = zsat_evbatch_body (b, &body_size);
    second.count = 0;
    if (zsat_evbatch_decode (body, body_size, &source2, s_keep, &second, &err) != n)
        abort ();
    if (strcmp (source.host, source2.host) || strcmp (source.node, source2.node) ||
        source.wid != source2.wid || source.pid != source2.pid ||
        strcmp (source.version, source2.version))
        abort ();
    for (int i = 0; i < n; i++)
        s_same (&first.rec[i], &second.rec[i]);
    zsat_evbatch_destroy (&b);
    return 0;
}
