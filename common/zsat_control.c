// SPDX-License-Identifier: MPL-2.0
/*  zsat_control - non-blocking, whole-message request reading for REP control sockets
    (contract in zsat_control.h). Used by the orchester, the launcher and the tracker.
*/
#include "zsat_control.h"

void
zsat_control_options (zsock_t *sock, int64_t max_frame)
{
    //  An oversize frame is refused by libzmq before it costs memory.
    zsock_set_maxmsgsize (sock, max_frame);
    //  Requests wait in a short queue per peer (a REQ has one in flight): a flood of them
    //  costs bounded memory, at most 64 messages of ZSAT_CONTROL_FRAMES-ish frames per peer.
    zsock_set_rcvhwm (sock, 64);
    zsock_set_sndhwm (sock, 64);
    //  A reply to a client that is gone is not worth holding the node's exit.
    zsock_set_linger (sock, 100);
}

void
zsat_control_init (zsat_control_t *self)
{
    memset (self, 0, sizeof *self);
}

void
zsat_control_close (zsat_control_t *self)
{
    if (self->open)
        for (int i = 0; i < self->count; i++)
            zmq_msg_close (&self->frame[i]);
    self->count = self->received = 0;
    self->bytes = 0;
    self->open = false;
}

//  Reads the remaining frames of a message whose first frame is in: they are already
//  there (libzmq delivers a message whole), so no read here can wait. Returns 0 or -1.
static int
s_recv_rest (zsat_control_t *self, void *socket, bool more)
{
    zmq_msg_t spare;
    zmq_msg_init (&spare);
    int rc = 0;
    while (more && rc == 0) {
        bool keep = self->count < ZSAT_CONTROL_FRAMES;
        zmq_msg_t *m = keep ? &self->frame[self->count] : &spare;
        if (keep)
            zmq_msg_init (m);
        if (zmq_msg_recv (m, socket, ZMQ_DONTWAIT) < 0) {
            if (keep)
                zmq_msg_close (m);
            rc = -1;
            break;
        }
        self->received++;
        more = zmq_msg_more (m);
        if (keep) {
            self->count++;
            self->bytes += zmq_msg_size (m);
        }
    }
    zmq_msg_close (&spare);
    return rc;
}

int
zsat_control_recv (zsat_control_t *self, void *socket)
{
    zsat_control_close (self);
    self->open = true;
    zmq_msg_init (&self->frame[0]);
    if (zmq_msg_recv (&self->frame[0], socket, ZMQ_DONTWAIT) < 0) {
        //  The poller said readable and nothing whole came: libzmq discarded a message
        //  without the REP delimiter. Counted, never answered (REP has nobody to answer).
        zmq_msg_close (&self->frame[0]);
        self->open = false;
        if (zmq_errno () == EAGAIN)
            self->dropped++;
        return 0;
    }
    self->count = self->received = 1;
    self->bytes = zmq_msg_size (&self->frame[0]);
    if (s_recv_rest (self, socket, zmq_msg_more (&self->frame[0])) != 0) {
        //  Cannot happen with libzmq's atomic delivery; still, answer it as a bad request.
        self->received = ZSAT_CONTROL_FRAMES + 1;
    }
    return self->received;
}

char *
zsat_control_text (zsat_control_t *self, size_t max_len)
{
    if (!self->open || self->received != 1 || self->count != 1)
        return NULL;
    size_t size = zmq_msg_size (&self->frame[0]);
    const char *data = (const char *)zmq_msg_data (&self->frame[0]);
    if (size > max_len || memchr (data, 0, size))
        return NULL;
    char *text = (char *)malloc (size + 1);
    if (text) {
        memcpy (text, data, size);
        text[size] = 0;
    }
    return text;
}

zmq_msg_t *
zsat_control_frame (zsat_control_t *self, int i)
{
    return self->open && i >= 0 && i < self->count ? &self->frame[i] : NULL;
}

void
zsat_control_bad (zsat_control_t *self)
{
    self->bad++;
}

int
zsat_control_reply (void *socket, const char *text)
{
    //  A REP reply goes to a ROUTER pipe that drops rather than blocks; DONTWAIT makes sure.
    return zmq_send (socket, text, strlen (text), ZMQ_DONTWAIT) < 0 ? -1 : 0;
}

//  ---------------------------------------------------------------------------------------
//  Selftest: a real REP over inproc, hostile DEALERs, a well-behaved REQ.

static bool
s_readable (zsock_t *sock, int timeout_ms)
{
    zmq_pollitem_t item = {zsock_resolve (sock), 0, ZMQ_POLLIN, 0};
    return zmq_poll (&item, 1, timeout_ms) == 1;
}

void
zsat_control_test (bool verbose)
{
    printf (" * zsat_control: ");
    zsock_t *rep = zsock_new (ZMQ_REP);
    assert (rep);
    zsat_control_options (rep, 256);
    assert (zsock_bind (rep, "inproc://zsat-control-test") == 0);
    void *handle = zsock_resolve (rep);
    zsat_control_t c;
    zsat_control_init (&c);
    //  a DEALER's single frame without the delimiter: readable, dropped, no wait at all
    zsock_t *dealer = zsock_new_dealer (">inproc://zsat-control-test");
    zstr_send (dealer, "STATS");
    assert (s_readable (rep, 1000));
    int64_t start = zclock_mono ();
    assert (zsat_control_recv (&c, handle) == 0);
    assert (c.dropped == 1 && c.count == 0);
    //  a burst of garbage, then one good request: the good one is read, the rest dropped
    for (int i = 0; i < 20; i++)
        zstr_sendx (dealer, "x", "y", NULL);
    zsock_t *req = zsock_new_req (">inproc://zsat-control-test");
    zstr_send (req, "HELLO");
    int got = 0;
    for (int i = 0; i < 100 && !got; i++)
        if (s_readable (rep, 100))
            got = zsat_control_recv (&c, handle);
    assert (got == 1 && zclock_mono () - start < 10000);
    char *text = zsat_control_text (&c, 64);
    assert (text && streq (text, "HELLO"));
    free (text);
    assert (zsat_control_text (&c, 3) == NULL);  //  too long
    assert (zsat_control_reply (handle, "WORLD") == 0);
    char *answer = zstr_recv (req);
    assert (answer && streq (answer, "WORLD"));
    zstr_free (&answer);
    assert (c.dropped >= 1);
    //  too many frames: four kept, every frame counted, still answerable
    zmsg_t *many = zmsg_new ();
    for (int i = 0; i < 9; i++)
        zmsg_addstr (many, "f");
    zmsg_send (&many, req);
    assert (s_readable (rep, 5000));
    assert (zsat_control_recv (&c, handle) == 9);
    assert (c.count == ZSAT_CONTROL_FRAMES && zsat_control_text (&c, 64) == NULL);
    assert (zsat_control_frame (&c, 3) && !zsat_control_frame (&c, 4));
    zsat_control_bad (&c);
    assert (zsat_control_reply (handle, "ERROR") == 0);
    answer = zstr_recv (req);
    assert (answer && streq (answer, "ERROR"));
    zstr_free (&answer);
    //  a frame with a NUL inside is not text
    zmq_send (zsock_resolve (req), "A\0B", 3, 0);
    assert (s_readable (rep, 5000) && zsat_control_recv (&c, handle) == 1);
    assert (zsat_control_text (&c, 64) == NULL && c.bad == 1);
    zsat_control_reply (handle, "ERROR");
    zstr_free (&answer);
    answer = zstr_recv (req);
    zstr_free (&answer);
    //  nothing there: 0 at once
    assert (zsat_control_recv (&c, handle) == 0);
    zsat_control_close (&c);
    zsat_control_close (&c);
    if (verbose)
        printf ("(dropped %" PRIu64 ") ", c.dropped);
    zsock_destroy (&req);
    zsock_destroy (&dealer);
    zsock_destroy (&rep);
    printf ("OK\n");
}
