/*  runtime_buffer - the satellite runtime's producer side of a buffer link (see the header).
    Owns one zsat_bufproducer_t (its DEALER) and a table id -> task of the vectors in flight.
*/
#include "runtime_buffer.h"
#include "zsat_vector.h"

//  A window of 256 vectors keeps a few milliseconds of a fast source in flight; a re-send
//  after 1 s without an answer covers a buffer killed with -9 (it restarts in about that).
#define SAT_BUFOUT_WINDOW    256
#define SAT_BUFOUT_RESEND_MS 1000

struct sat_bufout_t {
    zsat_bufproducer_t *producer;
    zhashx_t *tasks;  //  "id" -> sat_bufanswer_t (task, job, type) until answered
};

static void
s_task_free (void **item)
{
    free (*item);
    *item = NULL;
}

sat_bufout_t *
sat_bufout_new (const char *endpoint, zsat_error_t *err)
{
    sat_bufout_t *self = (sat_bufout_t *)calloc (1, sizeof *self);
    if (!self) {
        zsat_fail (err, ZSAT_E_IO, "out of memory");
        return NULL;
    }
    self->producer = zsat_bufproducer_new (endpoint + (*endpoint == '>'), SAT_BUFOUT_WINDOW,
                                           SAT_BUFOUT_RESEND_MS, err);
    self->tasks = zhashx_new ();
    if (!self->producer || !self->tasks) {
        sat_bufout_destroy (&self);
        return NULL;
    }
    zhashx_set_destructor (self->tasks, s_task_free);
    return self;
}

void
sat_bufout_destroy (sat_bufout_t **self_p)
{
    sat_bufout_t *self = *self_p;
    if (!self)
        return;
    zsat_bufproducer_destroy (&self->producer);
    zhashx_destroy (&self->tasks);
    free (self);
    *self_p = NULL;
}

int
sat_bufout_send (sat_bufout_t *self, const zsat_vector_t *v, void *token, int timeout_ms,
                 zsat_error_t *err)
{
    char routing[ZSAT_ROUTING_MAX];
    uint8_t envelope[ZSAT_ENVELOPE_MAX];
    int rlen = zsat_vector_encode_routing (v, routing, sizeof routing, err);
    int elen = rlen < 0 ? -1 : zsat_vector_encode_envelope (v, envelope, sizeof envelope, err);
    if (elen < 0)
        return -1;
    sat_bufanswer_t *task = (sat_bufanswer_t *)calloc (1, sizeof *task);
    if (!task)
        return zsat_fail (err, ZSAT_E_IO, "out of memory");
    task->token = token;
    task->task_id = v->task_id;
    task->job_id = v->job_id;
    snprintf (task->type, sizeof task->type, "%s", v->type);
    const void *payload = v->payload ? (const void *)v->payload : "";
    int64_t id = zsat_bufproducer_send (self->producer, routing, (size_t)rlen, envelope,
                                        (size_t)elen, payload, v->payload_size, timeout_ms, err);
    if (id <= 0) {
        free (task);
        return id == 0 ? 1 : -1;
    }
    char key[24];
    snprintf (key, sizeof key, "%" PRId64, id);
    zhashx_update (self->tasks, key, task);
    return 0;
}

int
sat_bufout_poll (sat_bufout_t *self, int timeout_ms, sat_bufanswer_t *answer)
{
    zsat_bufreply_t reply;
    int rc = zsat_bufproducer_poll (self->producer, timeout_ms, &reply);
    if (rc != 1)
        return rc;
    char key[24];
    snprintf (key, sizeof key, "%" PRIu64, reply.id);
    sat_bufanswer_t *task = (sat_bufanswer_t *)zhashx_lookup (self->tasks, key);
    memset (answer, 0, sizeof *answer);
    if (task)
        *answer = *task;
    zhashx_delete (self->tasks, key);
    answer->stored = reply.stored;
    snprintf (answer->reason, sizeof answer->reason, "%s", reply.reason);
    return 1;
}

size_t
sat_bufout_pending (sat_bufout_t *self)
{
    return zsat_bufproducer_pending (self->producer);
}
