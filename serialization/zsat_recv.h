/*  zsat_recv - receives one multipart ZeroMQ message within limits, frame by frame.

    ZMQ_MAXMSGSIZE bounds one frame, not one message: a peer can send a message of any
    number of maximal frames. This receive counts frames and bytes while it reads; once the
    message is over the caller's limits it closes what it kept and reads the rest one frame
    at a time into a scratch frame, so the node never holds more than one frame of it, and
    reports the message as refused (the caller counts a dead letter). After a refused message
    of many bytes the memory goes back to the system (malloc_trim: glibc would keep it).

    Every socket that takes data or events from peers receives through here: the orchester's
    inputs (through zsat_frames_recv), the satellite runtime's inputs (idem), the tracker's
    events socket, the buffer node's ROUTER sockets. Control sockets (REQ/REP/ROUTER
    requests) can use it as well: pass the request's frame limit and a small byte limit, and
    answer or count a ZSAT_RECV_FRAMES / ZSAT_RECV_BYTES status as a malformed request. A
    ROUTER socket's identity frame is one frame of the message: count it in max_frames.

    libzmq delivers a message only once all of it has arrived, so the first frame is read
    with the caller's flags and the others with ZMQ_DONTWAIT: the receive never waits inside
    a message.

    Use, e.g. on a REP control socket whose requests are one text frame:

        static const zsat_recv_limit_t limit = {1, 4096};
        zmq_msg_t frame[1];
        zsat_recv_info_t info;
        int n = zsat_recv (zsock_resolve (control), frame, &limit, ZMQ_DONTWAIT, &info);
        if (n < 0)        //  nothing waiting (EAGAIN)
            return;
        if (n == 0)       //  refused: zsat_recv_status_name (info.status), count it;
            ...           //  a REP must still answer (e.g. "ERROR too many frames")
        else {
            ...use zmq_msg_data (&frame[0]), zmq_msg_size (&frame[0])...
            zmq_msg_close (&frame[0]);
        }
*/
#ifndef ZSAT_RECV_H_INCLUDED
#define ZSAT_RECV_H_INCLUDED
#include "zsat.h"

//  A refused message of at least this many bytes gives its memory back (malloc_trim).
#define ZSAT_RECV_TRIM_BYTES (4 * 1024 * 1024)
//  Frames of at least this size are mmapped (zsat_recv_memory_policy).
#define ZSAT_RECV_MMAP_BYTES (128 * 1024)

typedef struct {
    int max_frames;    //  most frames a valid message has (>= 1; frame[] holds this many)
    size_t max_bytes;  //  most bytes all its frames have together
} zsat_recv_limit_t;

typedef enum {
    ZSAT_RECV_OK = 0,  //  within the limits: frames are held
    ZSAT_RECV_FRAMES,  //  more frames than max_frames: discarded
    ZSAT_RECV_BYTES,   //  more bytes than max_bytes: discarded
} zsat_recv_status_t;

//  What one receive saw.
typedef struct {
    zsat_recv_status_t status;
    int frames;    //  frames the message had, kept or discarded
    size_t bytes;  //  bytes the message had
} zsat_recv_info_t;

//  Receives one whole message. frame[] has room for limit->max_frames messages; they need no
//  initialisation. Returns:
//    n > 0  the message is within the limits: frame[0..n-1] are open, the caller closes them
//           (zmq_msg_close) or sends them;
//    0      the message was over a limit and is gone: info->status says which limit, frames
//           and bytes what it had; nothing is left open;
//    -1     nothing received: errno EAGAIN (ZMQ_DONTWAIT and no message), ETERM, EINTR...;
//           nothing is left open. A socket error inside a message also gives -1.
//  info may be NULL.
int zsat_recv (void *socket, zmq_msg_t *frame, const zsat_recv_limit_t *limit, int flags,
               zsat_recv_info_t *info);

//  "too many frames", "message too big" or "ok".
const char *zsat_recv_status_name (zsat_recv_status_t status);

//  Sets the process's allocator so that big frames (from ZSAT_RECV_MMAP_BYTES) are mapped
//  and unmapped one by one: a message of many big frames, good or refused, gives its memory
//  back as soon as it is closed. glibc's default raises that threshold after the first big
//  free and then keeps freed frames in its heaps for good. Call it once, before the first
//  socket (the zsat CLI's main does).
void zsat_recv_memory_policy (void);

//  Selftest.
void zsat_recv_test (bool verbose);

#endif
