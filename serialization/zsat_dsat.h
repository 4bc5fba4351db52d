/*  zsat_dsat - DSAT's legacy single-frame format, so DSAT satellites can join:
      where:step:wid:pid:next NUL emitter:type:channel:task_id:event:seq NUL serialization NUL payload
    event is DSAT's event name (INIT, ACK, ...). Fields holding ':' or NUL are refused.
*/
#ifndef ZSAT_DSAT_H_INCLUDED
#define ZSAT_DSAT_H_INCLUDED
#include "zsat.h"

//  Decodes one legacy frame into v (payload borrowed from frame). Returns 0 or -1 with err.
int zsat_dsat_decode (zsat_vector_t *v, const uint8_t *frame, size_t size, zsat_error_t *err);

//  Encodes v as one legacy frame into buf. Returns the length, or -1 with err when a field
//  contains ':' or NUL, a field DSAT lacks cannot be expressed, or cap is too small.
int zsat_dsat_encode (const zsat_vector_t *v, uint8_t *buf, size_t cap, zsat_error_t *err);

#endif
