/*  zsat_vjson - a vector as one JSON object, for humans and tools (`zsat codec`, `zsat send`,
    `zsat tap`). Not a wire format: the wire is zsat_vector's three frames.

    Keys: event (name, e.g. "INIT"; from_json also takes the number), flags, seq, retry, wid,
    pid, checksum, task_id, job_id, timestamp (numbers), where, step, next, emitter, type,
    channel, serialization (strings), and the payload as "payload" (a JSON string; used when
    the bytes are valid UTF-8, NULs written as \u0000) or "payload_hex" (lower-case hex), plus
    "payload_size". A zsat.record payload may instead be "record", a nested JSON object
    (zsat_vector_to_json_decoded). Writing then reading is the identity on every valid
    vector, up to the protocol's 16 MiB payload.
*/
#ifndef ZSAT_VJSON_H_INCLUDED
#define ZSAT_VJSON_H_INCLUDED
#include "zsat.h"

//  The largest record in msgpack: 256 fields of a 63-byte key and a 127-byte text.
#define ZSAT_VJSON_RECORD_MAX (3 + 256 * (2 + 63 + 2 + 127))
//  A payload buffer for zsat_vector_from_json that takes any valid vector: the hex form of a
//  16 MiB payload is unescaped in place before it is decoded.
#define ZSAT_VJSON_BUF_MAX (2 * ZSAT_PAYLOAD_MAX + 4096)

//  Bytes zsat_vector_to_json(_decoded) may need for v (an upper bound).
size_t zsat_vector_json_size (const zsat_vector_t *v);

//  Writes v as one JSON object (no newline) into buf. Returns the length, or -1 when cap is
//  too small (see zsat_vector_json_size).
int zsat_vector_to_json (const zsat_vector_t *v, char *buf, size_t cap);

//  As zsat_vector_to_json, but a zsat.record payload is shown as "record": {...} alone when
//  reading that object back gives the payload's very bytes; otherwise the payload is written
//  as usual followed by "record" (a view: NaN shows as null) or "record_error" (why it does
//  not decode). Allocates scratch space for the record (freed before it returns).
int zsat_vector_to_json_decoded (const zsat_vector_t *v, char *buf, size_t cap);

//  Parses one flat JSON object into v, starting from zsat_vector_init's defaults. The payload
//  bytes are written into payload_buf (payload_cap bytes; other strings use its free space
//  while parsing) and v->payload points there; give ZSAT_VJSON_BUF_MAX bytes to take every
//  valid vector. "checksum" when given is kept as is (so a test can send a wrong one), else
//  it is the payload's CRC-32. "record" (a flat object) becomes the payload, encoded as
//  zsat_record_encode does, or, beside "payload"/"payload_hex", must agree with it;
//  "record_error" is ignored. Unknown or repeated keys, wrong types, out-of-range numbers and
//  payloads over ZSAT_PAYLOAD_MAX are refused. Names are not validated here: the encoder
//  does that. Returns 0, or -1 with err.
int zsat_vector_from_json (zsat_vector_t *v, const char *json, size_t size, uint8_t *payload_buf,
                           size_t payload_cap, zsat_error_t *err);

#endif
