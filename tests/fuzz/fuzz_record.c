/*  fuzz_record - libFuzzer target for zsat.record: the msgpack decoder and, for inputs that
    start with '{', the flat-JSON parser. Decode must give 0 or -1; on 0 re-encoding (msgpack
    and JSON) must decode to the same fields.
*/
#include "zsat.h"
#include <math.h>

static void
s_same (const zsat_record_t *a, const zsat_record_t *b)
{
    if (a->count != b->count)
        abort ();
    for (size_t i = 0; i < a->count; i++) {
        const zsat_field_value_t *x = &a->field[i], *y = &b->field[i];
        if (strcmp (x->key, y->key) || x->is_number != y->is_number)
            abort ();
        if (x->is_number && !(x->number == y->number || (isnan (x->number) && isnan (y->number))))
            abort ();
        if (!x->is_number && strcmp (x->text, y->text))
            abort ();
    }
}

static bool
s_all_finite (const zsat_record_t *r)
{
    for (size_t i = 0; i < r->count; i++)
        if (r->field[i].is_number && !isfinite (r->field[i].number))
            return false;
    return true;
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
    static zsat_record_t r, back;
    static uint8_t buf[65536];
    static char json[262144];
    zsat_error_t err;
    int rc = size && data[0] == '{' ? zsat_record_from_json (&r, (const char *)data, size, &err)
                                    : zsat_record_decode (&r, data, size, &err);
    if (rc == -1)
        return 0;
    if (rc != 0)
        abort ();
    int n = zsat_record_encode (&r, buf, sizeof buf);
    if (n < 0 || zsat_record_decode (&back, buf, (size_t)n, &err) != 0)
        abort ();
    s_same (&r, &back);
    if (s_all_finite (&r)) {
        int j = zsat_record_to_json (&r, json, sizeof json);
        if (j < 0 || zsat_record_from_json (&back, json, (size_t)j, &err) != 0)
            abort ();
        s_same (&r, &back);
    }
    return 0;
}
