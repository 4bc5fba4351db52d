/*  sat_exec - worker: runs a command per vector, so a satellite can be written in any
    language. The command (/bin/sh -c) gets the payload as one JSON object on stdin (a
    zsat.record converted; a "json" payload as is) and the vector's fields in ZSAT_* variables;
    it prints one JSON object on stdout, which becomes the new payload (a zsat.record). Exit 0
    with an empty stdout forwards nothing (a filter); exit `retry_code` (75, EX_TEMPFAIL) asks
    for a retry; any other exit, a signal, too much output or the timeout is an ERROR whose
    detail holds the tail of stderr. The process group is killed on timeout.
*/
#define _GNU_SOURCE  //  pipe2
#include "zsat.h"
#include "zsat_probes.h"
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>

extern char **environ;

typedef struct {
    char command[1024];
    int64_t timeout;
    int64_t max_output;
    int64_t retry_code;
} s_config_t;

typedef struct {
    s_config_t config;
    char *input;  //  JSON sent on stdin
    size_t input_cap;
    char *output;  //  stdout, up to max_output
    size_t output_size;
    char error_tail[256];  //  last bytes of stderr
    size_t error_size;
    char vars[4][160];  //  ZSAT_TYPE, ZSAT_TASK_ID, ZSAT_HOST, ZSAT_NODE
    zsat_record_t record;
} s_state_t;

static int
s_init (zsat_ctx_t *ctx, const void *config, void **state_p)
{
    //  command, timeout and max_output are checked by the option table (s_options): at
    //  start by the runtime and by `zsat check`, from the same rows.
    const s_config_t *c = (const s_config_t *)config;
    s_state_t *self = (s_state_t *)calloc (1, sizeof (s_state_t));
    self->config = *c;
    self->input_cap = 256 * 1024;
    self->input = (char *)malloc (self->input_cap);
    self->output = (char *)malloc ((size_t)c->max_output + 1);
    *state_p = self;
    return 0;
}

//  Writes the vector's payload as JSON into self->input. Returns its length or -1.
static int
s_input (s_state_t *self, const zsat_vector_t *v)
{
    if (streq (v->serialization, ZSAT_RECORD_SERIALIZATION)) {
        zsat_error_t err;
        if (zsat_record_decode (&self->record, v->payload, v->payload_size, &err)) {
            zsat_kind_detail_set ("exec: bad zsat.record payload: %s", err.text);
            return -1;
        }
        int n = zsat_record_to_json (&self->record, self->input, self->input_cap);
        if (n < 0)
            zsat_kind_detail_set ("exec: record too big for JSON input");
        return n;
    }
    if (streq (v->serialization, "json")) {
        if (v->payload_size >= self->input_cap) {
            zsat_kind_detail_set ("exec: json payload of %zu bytes over %zu", v->payload_size,
                                  self->input_cap);
            return -1;
        }
        memcpy (self->input, v->payload, v->payload_size);
        return (int)v->payload_size;
    }
    if (v->payload_size == 0)
        return snprintf (self->input, self->input_cap, "{}");
    zsat_kind_detail_set ("exec: payload '%s' is neither zsat.record nor json", v->serialization);
    return -1;
}

//  Environment of the child: ours plus the vector's fields. Built before fork: the child may
//  only call async-signal-safe functions.
static char **
s_environment (s_state_t *self, zsat_ctx_t *ctx, const zsat_vector_t *v)
{
    size_t count = 0;
    while (environ && environ[count])
        count++;
    char **env = (char **)calloc (count + 5, sizeof (char *));
    if (!env)
        return NULL;
    memcpy (env, environ, count * sizeof (char *));
    snprintf (self->vars[0], sizeof self->vars[0], "ZSAT_TYPE=%s", v->type);
    snprintf (self->vars[1], sizeof self->vars[1], "ZSAT_TASK_ID=%" PRIu64, v->task_id);
    snprintf (self->vars[2], sizeof self->vars[2], "ZSAT_HOST=%s", zsat_ctx_host (ctx));
    snprintf (self->vars[3], sizeof self->vars[3], "ZSAT_NODE=%s", zsat_ctx_node (ctx));
    for (size_t i = 0; i < 4; i++)
        env[count + i] = self->vars[i];
    return env;
}

static pid_t
s_spawn (s_state_t *self, char **env, int fds[3])
{
    int in[2], out[2], err[2];
    //  stdin is a socket pair so a write to an exited child is EPIPE (MSG_NOSIGNAL), not a
    //  SIGPIPE that would kill the whole node.
    if (socketpair (AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, in))
        return -1;
    if (pipe2 (out, O_CLOEXEC)) {
        close (in[0]), close (in[1]);
        return -1;
    }
    if (pipe2 (err, O_CLOEXEC)) {
        close (in[0]), close (in[1]), close (out[0]), close (out[1]);
        return -1;
    }
    pid_t pid = fork ();
    if (pid == 0) {
        setpgid (0, 0);
        dup2 (in[1], 0), dup2 (out[1], 1), dup2 (err[1], 2);
        char *argv[] = {(char *)"sh", (char *)"-c", self->config.command, NULL};
        execve ("/bin/sh", argv, env);
        _exit (127);
    }
    close (in[1]), close (out[1]), close (err[1]);
    if (pid < 0) {
        close (in[0]), close (out[0]), close (err[0]);
        return -1;
    }
    fds[0] = in[0], fds[1] = out[0], fds[2] = err[0];
    for (int i = 0; i < 3; i++)
        fcntl (fds[i], F_SETFL, fcntl (fds[i], F_GETFL) | O_NONBLOCK);
    return pid;
}

//  Keeps the last bytes of stderr: the end of an error message says the most.
static void
s_keep_tail (s_state_t *self, const char *data, size_t n)
{
    size_t cap = sizeof self->error_tail - 1;
    if (n >= cap) {
        memcpy (self->error_tail, data + n - cap, cap);
        self->error_size = cap;
    }
    else {
        size_t keep = self->error_size + n > cap ? cap - n : self->error_size;
        memmove (self->error_tail, self->error_tail + self->error_size - keep, keep);
        memcpy (self->error_tail + keep, data, n);
        self->error_size = keep + n;
    }
    self->error_tail[self->error_size] = 0;
    //  a detail is one line: the last newline of a message goes
    while (self->error_size > 0 && isspace ((unsigned char)self->error_tail[self->error_size - 1]))
        self->error_tail[--self->error_size] = 0;
}

//  One poll round over the child's pipes. Returns 1 while running, 0 when both outputs
//  closed, -1 when the output is over max_output.
static int
s_pump (s_state_t *self, int fds[3], const char *input, size_t size, size_t *sent, int wait_ms)
{
    struct pollfd items[3] = {{fds[0], POLLOUT, 0}, {fds[1], POLLIN, 0}, {fds[2], POLLIN, 0}};
    if (poll (items, 3, wait_ms) <= 0)
        return 1;
    if (fds[0] >= 0 && items[0].revents) {
        ssize_t n = send (fds[0], input + *sent, size - *sent, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (n > 0)
            *sent += (size_t)n;
        if (n < 0 || *sent == size) {
            close (fds[0]);  //  EOF for the child, or it stopped reading
            fds[0] = -1;
        }
    }
    char chunk[4096];
    for (int i = 1; i < 3; i++) {
        if (fds[i] < 0 || !items[i].revents)
            continue;
        ssize_t n = read (fds[i], chunk, sizeof chunk);
        if (n <= 0 && !(n < 0 && errno == EAGAIN)) {
            close (fds[i]);
            fds[i] = -1;
        }
        else if (n > 0 && i == 2)
            s_keep_tail (self, chunk, (size_t)n);
        else if (n > 0) {
            if (self->output_size + (size_t)n > (size_t)self->config.max_output)
                return -1;
            memcpy (self->output + self->output_size, chunk, (size_t)n);
            self->output_size += (size_t)n;
        }
    }
    return fds[1] >= 0 || fds[2] >= 0 ? 1 : 0;
}

//  Runs the command to its end or its deadline. Returns the wait status, or -1 with detail.
static int
s_run (s_state_t *self, zsat_ctx_t *ctx, const zsat_vector_t *v, size_t input_size)
{
    char **env = s_environment (self, ctx, v);
    int fds[3] = {-1, -1, -1};
    pid_t pid = env ? s_spawn (self, env, fds) : -1;
    free (env);
    if (pid < 0) {
        zsat_kind_detail_set ("exec: cannot start: %s", strerror (errno));
        return -1;
    }
    self->output_size = self->error_size = 0;
    self->error_tail[0] = 0;
    int64_t deadline = zsat_probe_now_us () + self->config.timeout * 1000;
    size_t sent = 0;
    int running = 1, status = 0;
    while (running == 1 && zsat_probe_now_us () < deadline)
        running = s_pump (self, fds, self->input, input_size, &sent, 50);
    //  Outputs closed: the child is exiting; give it until the same deadline to do so.
    while (running == 0 && waitpid (pid, &status, WNOHANG) == 0) {
        if (zsat_probe_now_us () >= deadline) {
            running = 1;
            break;
        }
        usleep (1000);
    }
    for (int i = 0; i < 3; i++)
        if (fds[i] >= 0)
            close (fds[i]);
    if (running != 0) {
        kill (-pid, SIGKILL);
        kill (pid, SIGKILL);
        waitpid (pid, &status, 0);
        if (running < 0)
            zsat_kind_detail_set ("exec: output over %" PRId64 " bytes", self->config.max_output);
        else
            zsat_kind_detail_set ("exec: timeout after %" PRId64 " ms", self->config.timeout);
        return -1;
    }
    return status;
}

static bool
s_blank (const char *text, size_t size)
{
    for (size_t i = 0; i < size; i++)
        if (!isspace ((unsigned char)text[i]))
            return false;
    return true;
}

static zsat_result_t
s_result (s_state_t *self, zsat_ctx_t *ctx, zsat_vector_t *v, int status)
{
    if (WIFSIGNALED (status)) {
        zsat_kind_detail_set ("exec: killed by signal %d: %s", WTERMSIG (status), self->error_tail);
        return ZSAT_ERROR;
    }
    int code = WEXITSTATUS (status);
    if (code != 0) {
        zsat_kind_detail_set ("exec: exit %d: %s", code, self->error_tail);
        return code == self->config.retry_code ? ZSAT_RETRY : ZSAT_ERROR;
    }
    if (s_blank (self->output, self->output_size))
        return ZSAT_SKIP;
    zsat_error_t err;
    if (zsat_record_from_json (&self->record, self->output, self->output_size, &err)) {
        zsat_kind_detail_set ("exec: stdout is not a flat JSON object: %s", err.text);
        return ZSAT_ERROR;
    }
    return zsat_probe_emit (ctx, v, &self->record);
}

static zsat_result_t
s_handle (zsat_ctx_t *ctx, void *state, zsat_vector_t *v)
{
    s_state_t *self = (s_state_t *)state;
    int size = s_input (self, v);
    if (size < 0)
        return ZSAT_ERROR;
    int status = s_run (self, ctx, v, (size_t)size);
    if (status == -1)
        return ZSAT_ERROR;
    return s_result (self, ctx, v, status);
}

static void
s_exit (zsat_ctx_t *ctx, void *state)
{
    s_state_t *self = (s_state_t *)state;
    if (!self)
        return;
    free (self->input);
    free (self->output);
    free (self);
}

static const zsat_option_t s_options[] = {
    {"command", ZSAT_OPT_STRING, "", "shell command run per vector (/bin/sh -c)",
     offsetof (s_config_t, command), sizeof ((s_config_t *)0)->command, .flags = ZSAT_OPT_REQUIRED},
    {"timeout", ZSAT_OPT_DURATION, "10s",
     "the command is killed (and the vector is an ERROR) "
     "after this long",
     offsetof (s_config_t, timeout), 0, ZSAT_ABOVE (0)},
    {"max_output", ZSAT_OPT_SIZE, "1MiB", "most stdout bytes accepted",
     offsetof (s_config_t, max_output), 0, ZSAT_RANGE (1, ZSAT_PAYLOAD_MAX)},
    {"retry_code", ZSAT_OPT_INT, "75", "exit code that asks for a RETRY (75: EX_TEMPFAIL)",
     offsetof (s_config_t, retry_code), 0, ZSAT_RANGE (1, 255)},
    ZSAT_OPTIONS_END};

const zsat_kind_t zsat_kind_exec = {
    "exec",
    "worker: runs a command per vector, payload as JSON on stdin, new payload from the JSON "
    "object it prints (satellites in any language)",
    ZSAT_ROLE_WORKER,
    s_options,
    sizeof (s_config_t),
    s_init,
    s_handle,
    NULL,
    s_exit,
    NULL};
