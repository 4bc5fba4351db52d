/*  sat_fault - worker for tests and the harness: passes vectors through unchanged, but fails
    on purpose. The first `fail_first` attempts of each task, a `fail_ratio` of attempts, or
    every attempt (`always_fail`) return RETRY or ERROR (`mode`); `delay` slows every vector,
    `hang` holds each vector that long then fails it (a stuck worker, bounded), `crash_after`
    exits the process after that many vectors. Same seed, same failures.
*/
#include "zsat.h"
#include "zsat_probes.h"

#define FAULT_TASKS 1024  //  attempts are remembered for the most recent tasks only

typedef struct {
    char mode[16];
    int64_t fail_first;
    double fail_ratio;
    bool always_fail;
    int64_t hang;
    int64_t delay;
    int64_t crash_after;
    int64_t seed;
} s_config_t;

typedef struct {
    s_config_t config;
    zsat_result_t failure;
    uint64_t rng;
    uint64_t handled;
    uint64_t task[FAULT_TASKS];
    uint32_t attempts[FAULT_TASKS];
} s_state_t;

static int
s_init (zsat_ctx_t *ctx, const void *config, void **state_p)
{
    const s_config_t *c = (const s_config_t *)config;
    //  mode, fail_first, fail_ratio and crash_after are checked by the option table.
    bool retry = streq (c->mode, "retry");
    s_state_t *self = (s_state_t *)calloc (1, sizeof (s_state_t));
    self->config = *c;
    self->failure = retry ? ZSAT_RETRY : ZSAT_ERROR;
    self->rng = (uint64_t)c->seed * 0x9E3779B97F4A7C15ull + 1;
    *state_p = self;
    return 0;
}

//  Counts this attempt of v's task; returns how many attempts came before it.
static uint32_t
s_attempt (s_state_t *self, const zsat_vector_t *v)
{
    size_t slot = (size_t)((v->task_id * 0x9E3779B97F4A7C15ull) >> 54) % FAULT_TASKS;
    if (self->task[slot] != v->task_id) {
        self->task[slot] = v->task_id;
        self->attempts[slot] = 0;
    }
    return self->attempts[slot]++;
}

static double
s_random (s_state_t *self)
{
    //  xorshift64*: deterministic from the seed
    self->rng ^= self->rng >> 12;
    self->rng ^= self->rng << 25;
    self->rng ^= self->rng >> 27;
    return (double)((self->rng * 0x2545F4914F6CDD1Dull) >> 11) / 9007199254740992.0;
}

static zsat_result_t
s_handle (zsat_ctx_t *ctx, void *state, zsat_vector_t *v)
{
    s_state_t *self = (s_state_t *)state;
    const s_config_t *c = &self->config;
    if (c->crash_after > 0 && self->handled >= (uint64_t)c->crash_after) {
        zsat_ctx_log (ctx, ZSAT_LOG_WARN, "fault: crash_after %" PRId64 ": exiting",
                      c->crash_after);
        //  A crash, not a shutdown: no atexit handlers (czmq's would wait for sockets).
        _exit (1);
    }
    self->handled++;
    if (c->delay > 0)
        usleep ((useconds_t)(c->delay * 1000));
    if (c->hang > 0) {
        usleep ((useconds_t)(c->hang * 1000));
        zsat_kind_detail_set ("fault: hung for %" PRId64 " ms", c->hang);
        zsat_ctx_count (ctx, "hung", 1);
        return ZSAT_ERROR;
    }
    uint32_t attempt = s_attempt (self, v);
    const char *why = NULL;
    if (c->always_fail)
        why = "always_fail";
    else if (attempt < (uint64_t)c->fail_first)
        why = "fail_first";
    else if (c->fail_ratio > 0 && s_random (self) < c->fail_ratio)
        why = "fail_ratio";
    if (why) {
        zsat_kind_detail_set ("fault: %s (attempt %u)", why, attempt + 1);
        zsat_ctx_count (ctx, "injected", 1);
        return self->failure;
    }
    return ZSAT_OK;
}

static void
s_exit (zsat_ctx_t *ctx, void *state)
{
    free (state);
}

#define S_OPT(name, type, def, desc, field, ...)                                                   \
    {                                                                                              \
        name, type, def, desc, offsetof (s_config_t, field), sizeof ((s_config_t *)0)->field,      \
            __VA_ARGS__                                                                            \
    }

static const zsat_option_t s_options[] = {
    S_OPT ("mode", ZSAT_OPT_STRING, "retry", "what an injected failure returns: retry or error",
           mode, .choices = "retry|error"),
    S_OPT ("fail_first", ZSAT_OPT_INT, "0", "fail the first N attempts of each task", fail_first,
           ZSAT_AT_LEAST (0)),
    S_OPT ("fail_ratio", ZSAT_OPT_DOUBLE, "0", "fail this fraction of attempts (0..1, seeded)",
           fail_ratio, ZSAT_RANGE (0, 1)),
    S_OPT ("always_fail", ZSAT_OPT_BOOL, "false", "fail every attempt", always_fail),
    S_OPT ("hang", ZSAT_OPT_DURATION, "0",
           "hold each vector this long, then ERROR (a stuck "
           "worker); 0: off",
           hang),
    S_OPT ("delay", ZSAT_OPT_DURATION, "0", "delay every vector this long (a slow stage)", delay),
    S_OPT ("crash_after", ZSAT_OPT_INT, "0",
           "_exit(1) when a vector arrives after N were handled; "
           "0: never",
           crash_after, ZSAT_AT_LEAST (0)),
    S_OPT ("seed", ZSAT_OPT_INT, "0", "seed of fail_ratio's choices", seed),
    ZSAT_OPTIONS_END};

const zsat_kind_t zsat_kind_fault = {
    "fault",
    "worker for tests: passes vectors through, failing (RETRY/ERROR), slowing, hanging or "
    "crashing on purpose, deterministically",
    ZSAT_ROLE_WORKER,
    s_options,
    sizeof (s_config_t),
    s_init,
    s_handle,
    NULL,
    s_exit,
    NULL};
