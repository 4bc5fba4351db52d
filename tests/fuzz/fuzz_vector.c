/*  fuzz_vector - libFuzzer target for the envelope decoder. Input: 2 bytes routing length,
    2 bytes envelope length (little-endian), then routing, envelope, payload (the rest).
    Decode must give 0 or -1; on 0 the canonical re-encoding must decode to the same fields,
    and peek must read them back.
*/
#include "zsat.h"

static void
s_same (const zsat_vector_t *a, const zsat_vector_t *b)
{
    if (a->event != b->event || a->flags != b->flags || a->seq != b->seq || a->retry != b->retry ||
        a->wid != b->wid || a->pid != b->pid || a->checksum != b->checksum ||
        a->task_id != b->task_id || a->job_id != b->job_id || a->timestamp != b->timestamp ||
        strcmp (a->where, b->where) || strcmp (a->step, b->step) || strcmp (a->next, b->next) ||
        strcmp (a->emitter, b->emitter) || strcmp (a->type, b->type) ||
        strcmp (a->channel, b->channel) || strcmp (a->serialization, b->serialization) ||
        a->payload_size != b->payload_size)
        abort ();
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
    if (size < 4)
        return 0;
    size_t rlen = data[0] | (size_t)data[1] << 8;
    size_t elen = data[2] | (size_t)data[3] << 8;
    data += 4;
    size -= 4;
    if (rlen > size || elen > size - rlen)
        return 0;
    zsat_vector_t v, back;
    zsat_error_t err;
    int rc = zsat_vector_decode (&v, data, rlen, data + rlen, elen, data + rlen + elen,
                                 size - rlen - elen, &err);
    if (rc == -1)
        return (err.code > ZSAT_E_OK && err.code <= ZSAT_E_CONFIG) ? 0 : (abort (), 0);
    if (rc != 0)
        abort ();
    char routing[ZSAT_ROUTING_MAX];
    uint8_t env[ZSAT_ENVELOPE_MAX];
    int r2 = zsat_vector_encode_routing (&v, routing, sizeof routing, &err);
    int e2 = zsat_vector_encode_envelope (&v, env, sizeof env, &err);
    if (r2 < 0 || e2 < 0)
        abort ();
    if (zsat_vector_decode (&back, (uint8_t *)routing, (size_t)r2, env, (size_t)e2, v.payload,
                            v.payload_size, &err) != 0)
        abort ();
    s_same (&v, &back);
    uint64_t value;
    if (zsat_vector_peek (env, (size_t)e2, ZSAT_FIELD_SEQ, &value) || value != v.seq ||
        zsat_vector_peek (env, (size_t)e2, ZSAT_FIELD_EVENT, &value) || value != v.event)
        abort ();
    return 0;
}
