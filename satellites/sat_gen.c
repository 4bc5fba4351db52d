/*  sat_gen - source: a load generator. Every tick (1/rate s) it creates a new task: a vector
    (above 20/s the runtime runs the ticks due every 50 ms in one burst: docs/satellites.md),
    of option `type` whose payload is a record {seq, time_us, pad} (format "record") or
    exactly `size` deterministic bytes starting with the sequence number (format "raw").
    Stops after `count` vectors or `duration`, whichever comes first (0: never). The same
    seed gives the same payload bytes.
*/
#include "zsat.h"
#include "zsat_probes.h"
#include <sys/time.h>

typedef struct {
    double rate;
    int64_t size;
    int64_t count;
    bool critical;
    char type[ZSAT_NAME_MAX];
    char channel[ZSAT_NAME_MAX];
    int64_t seed;
    int64_t duration;
    char format[16];
} s_config_t;

typedef struct {
    s_config_t config;
    bool raw;
    uint64_t seq;
    uint64_t last_task_id;
    uint64_t salt;
    int64_t started_us;
    uint8_t *buffer;
    size_t buffer_size;
    zsat_record_t record;
} s_state_t;

//  splitmix64: one 64-bit state, good enough for deterministic filler bytes.
static uint64_t
s_next (uint64_t *state)
{
    uint64_t z = (*state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

static int
s_init (zsat_ctx_t *ctx, const void *config, void **state_p)
{
    const s_config_t *c = (const s_config_t *)config;
    //  rate, size, count, format and type are checked by the option table.
    bool raw = streq (c->format, "raw");
    s_state_t *self = (s_state_t *)calloc (1, sizeof (s_state_t));
    self->config = *c;
    self->raw = raw;
    self->buffer_size = raw ? (size_t)c->size : 0;
    self->buffer = raw ? (uint8_t *)malloc (self->buffer_size + 8) : NULL;
    //  Instances started in the same microsecond still make distinct task ids.
    self->salt = ((uint64_t)getpid () * 31u + (uint64_t)zsat_ctx_instance (ctx)) & 0x3f;
    self->started_us = zsat_probe_now_us ();
    zsat_ctx_set_tick (ctx, (int64_t)(1e6 / c->rate + 0.5) ?: 1);
    *state_p = self;
    return 0;
}

static uint64_t
s_task_id (s_state_t *self)
{
    struct timeval tv;
    gettimeofday (&tv, NULL);
    uint64_t now_us = (uint64_t)tv.tv_sec * 1000000u + (uint64_t)tv.tv_usec;
    uint64_t id = (now_us << 12) | (self->salt << 6) | (self->seq & 0x3f);
    //  Never repeat within this process, even when the clock steps back.
    if (id <= self->last_task_id)
        id = self->last_task_id + 1;
    self->last_task_id = id;
    return id;
}

static void
s_fill_raw (s_state_t *self, zsat_vector_t *v)
{
    uint64_t rng = (uint64_t)self->config.seed ^ (self->seq * 0x100000001B3ull);
    for (size_t at = 0; at < self->buffer_size; at += 8) {
        uint64_t word = at == 0 ? self->seq : s_next (&rng);
        size_t n = self->buffer_size - at < 8 ? self->buffer_size - at : 8;
        memcpy (self->buffer + at, &word, n);
    }
    zsat_vector_set_payload (v, self->buffer, self->buffer_size);
    snprintf (v->serialization, sizeof v->serialization, "raw");
}

static zsat_result_t
s_fill_record (zsat_ctx_t *ctx, s_state_t *self, zsat_vector_t *v)
{
    zsat_record_t *r = &self->record;
    zsat_record_reset (r);
    zsat_record_add_number (r, "seq", (double)self->seq);
    zsat_record_add_number (r, "time_us", (double)v->timestamp);
    //  Text fields are bounded: a record pads up to ZSAT_RECORD_STR_MAX - 1 bytes.
    char pad[ZSAT_RECORD_STR_MAX];
    size_t n =
        (size_t)self->config.size < sizeof pad - 1 ? (size_t)self->config.size : sizeof pad - 1;
    uint64_t rng = (uint64_t)self->config.seed ^ self->seq;
    for (size_t i = 0; i < n; i++)
        pad[i] = (char)('a' + s_next (&rng) % 26);
    pad[n] = 0;
    zsat_record_add_text (r, "pad", pad);
    return zsat_probe_emit (ctx, v, r);
}

static zsat_result_t
s_tick (zsat_ctx_t *ctx, void *state, zsat_vector_t *v)
{
    s_state_t *self = (s_state_t *)state;
    const s_config_t *c = &self->config;
    if ((c->count > 0 && self->seq >= (uint64_t)c->count) ||
        (c->duration > 0 && zsat_probe_now_us () - self->started_us >= c->duration * 1000)) {
        zsat_ctx_set_tick (ctx, 0);  //  done: the runtime stops ticking
        return ZSAT_SKIP;
    }
    v->task_id = s_task_id (self);
    v->job_id = self->seq;
    snprintf (v->type, sizeof v->type, "%s", c->type);
    snprintf (v->channel, sizeof v->channel, "%s", c->channel);
    if (c->critical)
        v->flags |= ZSAT_FLAG_CRITICAL;
    zsat_result_t result = ZSAT_OK;
    if (self->raw)
        s_fill_raw (self, v);
    else
        result = s_fill_record (ctx, self, v);
    self->seq++;
    zsat_ctx_count (ctx, "generated", 1);
    return result;
}

static void
s_exit (zsat_ctx_t *ctx, void *state)
{
    s_state_t *self = (s_state_t *)state;
    if (!self)
        return;
    free (self->buffer);
    free (self);
}

#define S_OPT(name, type, def, desc, field, ...)                                                   \
    {                                                                                              \
        name, type, def, desc, offsetof (s_config_t, field), sizeof ((s_config_t *)0)->field,      \
            __VA_ARGS__                                                                            \
    }

static const zsat_option_t s_options[] = {
    S_OPT ("rate", ZSAT_OPT_DOUBLE, "10", "vectors per second (at most 1e6)", rate,
           .flags = ZSAT_OPT_MIN | ZSAT_OPT_ABOVE | ZSAT_OPT_MAX, .min = 0, .max = 1e6),
    S_OPT ("size", ZSAT_OPT_SIZE, "64", "payload bytes (format raw; record pads up to 127)", size,
           ZSAT_RANGE (0, ZSAT_PAYLOAD_MAX)),
    S_OPT ("count", ZSAT_OPT_INT, "0", "vectors to send, then stop; 0: no limit", count,
           ZSAT_AT_LEAST (0)),
    S_OPT ("critical", ZSAT_OPT_BOOL, "false", "flag every vector CRITICAL (replay buffer)",
           critical),
    S_OPT ("type", ZSAT_OPT_STRING, "gen", "job type of the vectors (routing key)", type,
           .flags = ZSAT_OPT_NAMED),
    S_OPT ("channel", ZSAT_OPT_STRING, "", "logical channel of the vectors", channel),
    S_OPT ("seed", ZSAT_OPT_INT, "0", "seed of the payload bytes (same seed, same bytes)", seed),
    S_OPT ("duration", ZSAT_OPT_DURATION, "0", "stop after this long; 0: no limit", duration),
    S_OPT ("format", ZSAT_OPT_STRING, "record",
           "record: a zsat.record {seq, time_us, pad}; raw: size bytes", format,
           .choices = "record|raw"),
    ZSAT_OPTIONS_END};

const zsat_kind_t zsat_kind_gen = {
    "gen",
    "source: load generator, one new task per tick at a given rate, payload size and count",
    ZSAT_ROLE_SOURCE,
    s_options,
    sizeof (s_config_t),
    s_init,
    NULL,
    s_tick,
    s_exit,
    NULL};
