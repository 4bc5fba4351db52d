// SPDX-License-Identifier: MPL-2.0
/*  zsat_recv - receives one multipart message within limits, frame by frame; discards an
    oversize one without holding it (see zsat_recv.h). Owns no socket.
*/
#include "zsat_recv.h"
#include <malloc.h>

const char *
zsat_recv_status_name (zsat_recv_status_t status)
{
    switch (status) {
        case ZSAT_RECV_FRAMES:
            return "too many frames";
        case ZSAT_RECV_BYTES:
            return "message too big";
        default:
            return "ok";
    }
}

void
zsat_recv_memory_policy (void)
{
    mallopt (M_MMAP_THRESHOLD, ZSAT_RECV_MMAP_BYTES);
}

static void
s_close_all (zmq_msg_t *frame, int count)
{
    for (int i = 0; i < count; i++)
        zmq_msg_close (&frame[i]);
}

//  Reads what is left of a refused message into one scratch frame, counting it. Returns 0,
//  or -1 on a socket error.
static int
s_discard_rest (void *socket, bool more, zsat_recv_info_t *info)
{
    zmq_msg_t scratch;
    zmq_msg_init (&scratch);
    int rc = 0;
    while (more) {
        //  zmq_msg_recv closes the previous content first: one frame held at a time.
        if (zmq_msg_recv (&scratch, socket, ZMQ_DONTWAIT) < 0) {
            rc = -1;
            break;
        }
        info->frames++;
        info->bytes += zmq_msg_size (&scratch);
        more = zmq_msg_more (&scratch);
    }
    zmq_msg_close (&scratch);
    //  Frames below the mmap threshold were allocated by libzmq's I/O thread in its own
    //  arena, where glibc keeps freed memory: a refused message must not leave the node that
    //  much larger.
    if (info->bytes >= ZSAT_RECV_TRIM_BYTES)
        malloc_trim (0);
    return rc;
}

//  Receives the next frame into frame[i] and counts it. Returns 0 or -1 (socket error; the
//  frame is closed).
static int
s_recv_one (void *socket, zmq_msg_t *m, int flags, zsat_recv_info_t *info)
{
    zmq_msg_init (m);
    if (zmq_msg_recv (m, socket, flags) < 0) {
        int saved = errno;
        zmq_msg_close (m);
        errno = saved;
        return -1;
    }
    info->frames++;
    info->bytes += zmq_msg_size (m);
    return 0;
}

int
zsat_recv (void *socket, zmq_msg_t *frame, const zsat_recv_limit_t *limit, int flags,
           zsat_recv_info_t *info)
{
    zsat_recv_info_t scratch;
    if (!info)
        info = &scratch;
    *info = (zsat_recv_info_t){ZSAT_RECV_OK, 0, 0};
    int held = 0;
    bool more = true;
    while (more) {
        int rc = s_recv_one (socket, &frame[held], held == 0 ? flags : ZMQ_DONTWAIT, info);
        if (rc < 0) {
            int saved = errno;
            s_close_all (frame, held);
            errno = saved;
            return -1;
        }
        held++;
        more = zmq_msg_more (&frame[held - 1]);
        bool too_many = more && held >= limit->max_frames;
        if (too_many || info->bytes > limit->max_bytes) {
            info->status = too_many ? ZSAT_RECV_FRAMES : ZSAT_RECV_BYTES;
            s_close_all (frame, held);
            int saved = errno;
            int lost = s_discard_rest (socket, more, info);
            errno = saved;
            return lost < 0 ? -1 : 0;
        }
    }
    return held;
}

//  --- selftest ---

static void
s_send_frames (zsock_t *push, int frames, size_t size)
{
    void *handle = zsock_resolve (push);
    char *data = (char *)calloc (1, size ? size : 1);
    assert (data);
    for (int i = 0; i < frames; i++)
        assert (zmq_send (handle, data, size, i + 1 < frames ? ZMQ_SNDMORE : 0) == (int)size);
    free (data);
}

static int
s_recv (zsock_t *pull, zmq_msg_t *frame, const zsat_recv_limit_t *limit, zsat_recv_info_t *info)
{
    //  the test's messages are in flight: wait for the first frame, bounded
    zsock_set_rcvtimeo (pull, 5000);
    return zsat_recv (zsock_resolve (pull), frame, limit, 0, info);
}

void
zsat_recv_test (bool verbose)
{
    printf (" * zsat_recv: ");
    zsock_t *pull = zsock_new_pull ("inproc://zsat-recv-test");
    zsock_t *push = zsock_new_push ("inproc://zsat-recv-test");
    assert (pull && push);
    zsat_recv_limit_t limit = {3, 1000};
    zmq_msg_t frame[3];
    zsat_recv_info_t info;

    //  within limits: every frame held
    s_send_frames (push, 3, 10);
    assert (s_recv (pull, frame, &limit, &info) == 3);
    assert (info.status == ZSAT_RECV_OK && info.frames == 3 && info.bytes == 30);
    assert (zmq_msg_size (&frame[2]) == 10 && !zmq_msg_more (&frame[2]));
    s_close_all (frame, 3);

    //  too many frames: discarded whole, counted, the next message starts clean
    s_send_frames (push, 400, 8);
    s_send_frames (push, 1, 0);
    assert (s_recv (pull, frame, &limit, &info) == 0);
    assert (info.status == ZSAT_RECV_FRAMES && info.frames == 400 && info.bytes == 3200);
    assert (streq (zsat_recv_status_name (info.status), "too many frames"));
    assert (s_recv (pull, frame, &limit, &info) == 1 && info.bytes == 0);
    s_close_all (frame, 1);

    //  too many bytes in few frames, also when the last frame goes over
    s_send_frames (push, 2, 600);
    assert (s_recv (pull, frame, &limit, &info) == 0);
    assert (info.status == ZSAT_RECV_BYTES && info.frames == 2 && info.bytes == 1200);
    s_send_frames (push, 3, 400);
    assert (s_recv (pull, frame, &limit, &info) == 0 && info.status == ZSAT_RECV_BYTES);

    //  a big refused message (trimmed afterwards) leaves the socket usable
    s_send_frames (push, 8, 1024 * 1024);
    assert (s_recv (pull, frame, &limit, NULL) == 0);
    s_send_frames (push, 2, 5);
    assert (s_recv (pull, frame, &limit, &info) == 2 && info.frames == 2);
    s_close_all (frame, 2);

    //  nothing waiting: -1 EAGAIN, nothing open
    assert (zsat_recv (zsock_resolve (pull), frame, &limit, ZMQ_DONTWAIT, &info) == -1);
    assert (errno == EAGAIN);
    zsock_destroy (&push);
    zsock_destroy (&pull);
    if (verbose)
        printf ("(frames and bytes bounded) ");
    printf ("OK\n");
}
