/*  zsat_vector - the vector on the wire: three ZeroMQ frames.
      frame 0  routing  ASCII "where/type" (a PUB/SUB topic prefix: subscribe to "host/")
      frame 1  envelope msgpack array, version first (docs/protocol.md, byte by byte)
      frame 2  payload  opaque bytes, CRC-32 in the envelope
    Decoding is strict and bounded: any byte sequence a socket delivers gives 0 or -1 with an
    error value, never a crash, an assert or an allocation proportional to a length field.
    The canonical encoding writes numeric fields with fixed widths so their offsets are
    constant: the orchester patches event/seq/retry/flags in place without re-encoding.
*/
#ifndef ZSAT_VECTOR_H_INCLUDED
#define ZSAT_VECTOR_H_INCLUDED
#include "zsat.h"

#define ZSAT_ENVELOPE_VERSION 1
#define ZSAT_ENVELOPE_MAX     1024  //  a canonical envelope is far smaller; bigger is refused
#define ZSAT_ROUTING_MAX      (2 * ZSAT_NAME_MAX)

//  Fields the orchester may patch in place in a canonical envelope.
typedef enum { ZSAT_FIELD_EVENT, ZSAT_FIELD_FLAGS, ZSAT_FIELD_SEQ, ZSAT_FIELD_RETRY } zsat_field_t;

//  Fills v with defaults: every string empty, serialization "raw", numbers 0, no payload.
void zsat_vector_init (zsat_vector_t *v);

//  Sets the payload (borrowed: not copied) and its checksum.
void zsat_vector_set_payload (zsat_vector_t *v, const void *data, size_t size);

//  Writes the routing frame "where/type" into buf. Returns its length (no NUL counted), or -1
//  with err when where or type is not a valid name or buf is too small.
int zsat_vector_encode_routing (const zsat_vector_t *v, char *buf, size_t cap, zsat_error_t *err);

//  Writes the canonical msgpack envelope of v into buf. Returns its length, or -1 with err
//  when a field is invalid (bad name, over size) or cap is too small. Allocates nothing.
int zsat_vector_encode_envelope (const zsat_vector_t *v, uint8_t *buf, size_t cap,
                                 zsat_error_t *err);

//  Decodes the three frames into v; v->payload points into the payload bytes (borrowed).
//  Checks the version, every type and size, the routing frame against where/type and the
//  payload checksum. Returns 0, or -1 with err (v is then unspecified).
int zsat_vector_decode (zsat_vector_t *v, const uint8_t *routing, size_t routing_size,
                        const uint8_t *envelope, size_t envelope_size, const uint8_t *payload,
                        size_t payload_size, zsat_error_t *err);

//  Patches one numeric field of a canonical envelope in place. Returns 0, or -1 when the
//  envelope is not canonical (then decode, change, re-encode instead).
int zsat_vector_patch (uint8_t *envelope, size_t size, zsat_field_t field, uint64_t value);

//  Reads one numeric field of a canonical envelope without decoding the rest. Returns 0 and
//  sets *value, or -1 when the envelope is not canonical.
int zsat_vector_peek (const uint8_t *envelope, size_t size, zsat_field_t field, uint64_t *value);

//  --- Sockets (raw libzmq handles; use zsock_resolve () on a czmq zsock_t) ---

//  Room for the frames of one message. A vector has 3 frames (1 legacy); zsat_frames_recv
//  keeps at most 3 and refuses a bigger message whole (zsat_recv.h).
#define ZSAT_FRAMES_MAX 4
//  Most bytes the frames of one vector message have together.
#define ZSAT_VECTOR_BYTES_MAX (ZSAT_ROUTING_MAX + ZSAT_ENVELOPE_MAX + ZSAT_PAYLOAD_MAX)

//  A received multipart message. The frames stay valid (and a decoded vector's payload with
//  them) until zsat_frames_close () or the next zsat_frames_recv () on the same struct.
typedef struct {
    zmq_msg_t frame[ZSAT_FRAMES_MAX];
    int count;     //  frames held
    int received;  //  frames the message had (> count when it was refused)
    size_t bytes;  //  bytes the message had
    int refused;   //  a zsat_recv_status_t: ZSAT_RECV_OK, or the limit it broke (nothing held)
    bool open;
} zsat_frames_t;

void zsat_frames_init (zsat_frames_t *f);
void zsat_frames_close (zsat_frames_t *f);
//  Receives one whole multipart message, bounded (zsat_recv): a message of more than 3
//  frames or ZSAT_VECTOR_BYTES_MAX bytes is read frame by frame and dropped, nothing held,
//  f->refused set; decoding it then fails (ZSAT_E_FRAMES / ZSAT_E_SIZE) and the caller
//  dead-letters it. Returns the number of frames held (f->received is how many the message
//  had), 0 for a refused message, or -1 on a socket error (errno as libzmq sets it: EAGAIN
//  with ZMQ_DONTWAIT, ETERM, EINTR).
int zsat_frames_recv (zsat_frames_t *f, void *socket, int flags);
//  Sends the held frames as one message and gives them up (zero-copy). Returns 0 or -1.
int zsat_frames_send (zsat_frames_t *f, void *socket, int flags);
//  Decodes held frames into v: 3 frames = zsat vector, 1 frame = DSAT legacy (flag LEGACY).
//  Returns 0, or -1 with err (wrong frame count is ZSAT_E_FRAMES).
int zsat_vector_decode_frames (zsat_vector_t *v, zsat_frames_t *f, zsat_error_t *err);

//  Encodes and sends v as three frames. Returns 0, or -1 with err (err->code ZSAT_E_IO and
//  errno preserved when the socket refused, e.g. EAGAIN under ZMQ_DONTWAIT).
int zsat_vector_send (const zsat_vector_t *v, void *socket, int flags, zsat_error_t *err);

//  Writes a one-line human-readable form of v (fields, payload size) into buf.
void zsat_vector_describe (const zsat_vector_t *v, char *buf, size_t cap);

#endif
