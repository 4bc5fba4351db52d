/*  runtime_buffer - how the satellite runtime sends on a link into a `buffer` node: a
    zsat_bufproducer (one DEALER to the buffer's `in`) plus, per vector awaiting STORED, what
    the runtime needs to report its answer (task, job, type). A vector counts as sent only
    once STORED; a REFUSED one comes back with the buffer's reason. Not thread-safe.
*/
#ifndef SAT_RUNTIME_BUFFER_H_INCLUDED
#define SAT_RUNTIME_BUFFER_H_INCLUDED
#include "zsat.h"
#include "zsat_bufclient.h"

typedef struct sat_bufout_t sat_bufout_t;

typedef struct {
    bool stored;  //  false: REFUSED for reason
    uint64_t task_id, job_id;
    char type[ZSAT_NAME_MAX];
    char reason[256];
    void *token;  //  the caller's, as given to sat_bufout_send
} sat_bufanswer_t;

//  Connects to endpoint (">ipc://..." or bare, zsock_attach syntax of one connect). Returns it,
//  or NULL with err.
sat_bufout_t *sat_bufout_new (const char *endpoint, zsat_error_t *err);
void sat_bufout_destroy (sat_bufout_t **self_p);
//  Encodes v and hands it to the producer (copied); token (may be NULL, not owned) comes
//  back with its answer. Returns 0 when queued, 1 when the window stayed full for
//  timeout_ms (try again after polling answers), -1 with err otherwise.
int sat_bufout_send (sat_bufout_t *self, const zsat_vector_t *v, void *token, int timeout_ms,
                     zsat_error_t *err);
//  Takes one answer without waiting longer than timeout_ms. Returns 1 with answer filled,
//  0 when none, -1 on a socket error. Unanswered vectors are re-sent meanwhile.
int sat_bufout_poll (sat_bufout_t *self, int timeout_ms, sat_bufanswer_t *answer);
//  Vectors sent and not yet answered.
size_t sat_bufout_pending (sat_bufout_t *self);

#endif
