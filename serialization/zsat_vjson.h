/*  zsat_vjson - a vector as one JSON object, for humans and tools (`zsat codec`, `zsat send`,
    `zsat tap`). Not a wire format: the wire is zsat_vector's three frames.

    Keys: event (name, e.g. "INIT"; from_json also takes the number), flags, seq, retry, wid,
    pid, checksum, task_id, job_id, timestamp (numbers), where, step, next, emitter, type,
    channel, serialization (strings), and the payload as "payload" (a JSON string; used when
    the bytes are valid UTF-8) or "payload_hex" (lower-case hex), plus "payload_size".
*/
#ifndef ZSAT_VJSON_H_INCLUDED
#define ZSAT_VJSON_H_INCLUDED
#include "zsat.h"

//  Bytes zsat_vector_to_json may need for v (an upper bound).
size_t zsat_vector_json_size (const zsat_vector_t *v);

//  Writes v as one JSON object (no newline) into buf. Returns the length, or -1 when cap is
//  too small (see zsat_vector_json_size).
int zsat_vector_to_json (const zsat_vector_t *v, char *buf, size_t cap);

//  Parses one flat JSON object into v, starting from zsat_vector_init's defaults. The payload
//  bytes are written into payload_buf (payload_cap bytes; other strings use its free space
//  while parsing) and v->payload points there. "checksum" when given is kept as is (so a test
//  can send a wrong one), else it is the payload's CRC-32. Unknown or repeated keys, wrong
//  types and out-of-range numbers are refused. Names are not validated here: the encoder
//  does that. Returns 0, or -1 with err.
int zsat_vector_from_json (zsat_vector_t *v, const char *json, size_t size, uint8_t *payload_buf,
                           size_t payload_cap, zsat_error_t *err);

#endif
