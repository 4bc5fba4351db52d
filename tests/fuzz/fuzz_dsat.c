/*  fuzz_dsat - libFuzzer target for DSAT's legacy frame. Decode must give 0 or -1; on 0 the
    re-encoding must be byte-identical to the input (the format's round-trip promise).
*/
#include "zsat.h"

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
    zsat_vector_t v;
    zsat_error_t err;
    int rc = zsat_dsat_decode (&v, data, size, &err);
    if (rc == -1)
        return 0;
    if (rc != 0)
        abort ();
    size_t cap = size + 64;
    uint8_t *buf = malloc (cap);
    int n = zsat_dsat_encode (&v, buf, cap, &err);
    if (n != (int)size || memcmp (buf, data, size) != 0)
        abort ();
    free (buf);
    return 0;
}
