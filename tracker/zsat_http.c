// SPDX-License-Identifier: MPL-2.0
/*  zsat_http - the tracker's HTTP endpoint (see zsat_http.h).

    libmicrohttpd runs its own polling thread (a pool of 2, so one slow answer does not hold
    the dashboard's next poll). A handler turns the URL into one query of the tracker
    (STATUS, NODES, TRACE <id>, TOPOLOGY, METRICS), asks it over a fresh REQ socket with a
    bounded wait, and sends the reply as it came: the tracker's thread built it from its own
    tables, so nothing here shares memory with the tracker. Static files are a fixed list
    read from the web directory: a URL never becomes a path.
*/
#include "zsat_http.h"
#include "zsat_datadir.h"
#include "zsat_query.h"
#include <arpa/inet.h>
#include <microhttpd.h>

#define HTTP_CONNECTIONS 64
#define HTTP_IDLE_S      30  //  an idle keep-alive connection is closed after this
#define HTTP_FILE_MAX    (1 << 20)
#define HTTP_TOKEN_MAX   256

struct zsat_http_t {
    struct MHD_Daemon *daemon;
    char query[512];
    char web_dir[1024];
    char token[HTTP_TOKEN_MAX + 1];  //  "" = none
    int timeout_ms;
    int port;
};

static const struct {
    const char *url;
    const char *file;
    const char *type;
} s_files[] = {
    {"/", "index.html", "text/html; charset=utf-8"},
    {"/index.html", "index.html", "text/html; charset=utf-8"},
    {"/app.js", "app.js", "text/javascript; charset=utf-8"},
    {"/style.css", "style.css", "text/css; charset=utf-8"},
};

const char *
zsat_http_web_dir (char *buf, size_t cap)
{
    const char *env = getenv ("ZSAT_WEB_DIR");
    if (env && *env)
        snprintf (buf, cap, "%s", env);
    else if (!zsat_datadir_path (buf, cap, "web"))
        snprintf (buf, cap, "share/zsat/web");  //  none found: the 404 names ZSAT_WEB_DIR
    return buf;
}

//  Sends body (copied) with a status and a content type; the headers every answer gets.
static enum MHD_Result
s_reply (struct MHD_Connection *conn, unsigned int status, const char *type, const char *body,
         size_t size)
{
    struct MHD_Response *response =
        MHD_create_response_from_buffer (size, (void *)body, MHD_RESPMEM_MUST_COPY);
    if (!response)
        return MHD_NO;
    MHD_add_response_header (response, "Content-Type", type);
    MHD_add_response_header (response, "Cache-Control", "no-store");
    MHD_add_response_header (response, "X-Content-Type-Options", "nosniff");
    MHD_add_response_header (response, "Content-Security-Policy",
                             "default-src 'self'; img-src 'self' data:");
    if (status == MHD_HTTP_UNAUTHORIZED)
        MHD_add_response_header (response, "WWW-Authenticate", "Bearer realm=\"zsat\"");
    if (status == MHD_HTTP_METHOD_NOT_ALLOWED)
        MHD_add_response_header (response, "Allow", "GET, HEAD");
    enum MHD_Result rc = MHD_queue_response (conn, status, response);
    MHD_destroy_response (response);
    return rc;
}

static enum MHD_Result
s_error (struct MHD_Connection *conn, unsigned int status, const char *message)
{
    char body[256];
    int size = snprintf (body, sizeof body, "{\"error\":\"%s\"}\n", message);
    return s_reply (conn, status, "application/json", body, (size_t)size);
}

//  Compares without an early exit, so the time taken tells nothing about the token.
static bool
s_token_ok (zsat_http_t *self, struct MHD_Connection *conn)
{
    if (!*self->token)
        return true;
    const char *header = MHD_lookup_connection_value (conn, MHD_HEADER_KIND, "Authorization");
    if (!header || strncmp (header, "Bearer ", 7) != 0)
        return false;
    const char *given = header + 7;
    size_t want = strlen (self->token), got = strnlen (given, HTTP_TOKEN_MAX + 1);
    unsigned char diff = want != got;
    for (size_t i = 0; i < want; i++)
        diff |= (unsigned char)(self->token[i] ^ (i < got ? given[i] : 0));
    return diff == 0;
}

//  Asks the tracker; a reply that is JSON goes out as application/json, METRICS as text.
static enum MHD_Result
s_ask (zsat_http_t *self, struct MHD_Connection *conn, const char *request, const char *type)
{
    zsat_error_t err;
    char *reply = zsat_query_ask (self->query, request, self->timeout_ms, &err);
    if (!reply)
        return s_error (conn, MHD_HTTP_SERVICE_UNAVAILABLE, "the tracker did not answer");
    unsigned int status = MHD_HTTP_OK;
    if (strncmp (request, "TRACE ", 6) == 0 && strstr (reply, "\"error\":\"task not retained"))
        status = MHD_HTTP_NOT_FOUND;
    else if (strncmp (reply, "{\"error\"", 8) == 0)
        status = MHD_HTTP_INTERNAL_SERVER_ERROR;
    enum MHD_Result rc = s_reply (conn, status, type, reply, strlen (reply));
    free (reply);
    return rc;
}

static enum MHD_Result
s_file (zsat_http_t *self, struct MHD_Connection *conn, const char *name, const char *type)
{
    char path[1200];
    snprintf (path, sizeof path, "%s/%s", self->web_dir, name);
    FILE *file = fopen (path, "rb");
    if (!file)
        return s_error (conn, MHD_HTTP_NOT_FOUND, "dashboard file missing (set ZSAT_WEB_DIR)");
    char *data = (char *)malloc (HTTP_FILE_MAX);
    size_t size = data ? fread (data, 1, HTTP_FILE_MAX, file) : 0;
    fclose (file);
    enum MHD_Result rc = data ? s_reply (conn, MHD_HTTP_OK, type, data, size) : MHD_NO;
    free (data);
    return rc;
}

//  "/api/v1/trace/<digits>": the request "TRACE <digits>", false for anything else.
static bool
s_trace_request (const char *url, char *request, size_t cap)
{
    static const char prefix[] = "/api/v1/trace/";
    if (strncmp (url, prefix, sizeof prefix - 1) != 0)
        return false;
    const char *id = url + sizeof prefix - 1;
    size_t len = strspn (id, "0123456789");
    if (len == 0 || len > 20 || id[len])
        return false;
    snprintf (request, cap, "TRACE %s", id);
    return true;
}

static enum MHD_Result
s_route (zsat_http_t *self, struct MHD_Connection *conn, const char *url)
{
    static const struct {
        const char *url;
        const char *request;
    } api[] = {
        {"/api/v1/status", "STATUS"}, {"/api/v1/nodes", "NODES"}, {"/api/v1/topology", "TOPOLOGY"}};
    if (streq (url, "/metrics"))
        return s_ask (self, conn, "METRICS", "text/plain; version=0.0.4; charset=utf-8");
    for (size_t i = 0; i < sizeof api / sizeof api[0]; i++)
        if (streq (url, api[i].url))
            return s_ask (self, conn, api[i].request, "application/json");
    char request[64];
    if (s_trace_request (url, request, sizeof request))
        return s_ask (self, conn, request, "application/json");
    if (strncmp (url, "/api/v1/trace/", 14) == 0)
        return s_error (conn, MHD_HTTP_BAD_REQUEST, "a task id is a decimal number");
    for (size_t i = 0; i < sizeof s_files / sizeof s_files[0]; i++)
        if (streq (url, s_files[i].url))
            return s_file (self, conn, s_files[i].file, s_files[i].type);
    return s_error (conn, MHD_HTTP_NOT_FOUND, "no such page");
}

static enum MHD_Result
s_handle (void *cls, struct MHD_Connection *conn, const char *url, const char *method,
          const char *version, const char *upload_data, size_t *upload_data_size, void **state)
{
    zsat_http_t *self = (zsat_http_t *)cls;
    if (!streq (method, "GET") && !streq (method, "HEAD"))
        return s_error (conn, MHD_HTTP_METHOD_NOT_ALLOWED, "only GET and HEAD");
    //  answered at the first call, with the headers: a body announced there is refused
    const char *length = MHD_lookup_connection_value (conn, MHD_HEADER_KIND, "Content-Length");
    if (*upload_data_size || (length && !streq (length, "0")) ||
        MHD_lookup_connection_value (conn, MHD_HEADER_KIND, "Transfer-Encoding"))
        return s_error (conn, MHD_HTTP_BAD_REQUEST, "a GET has no body");
    if (!s_token_ok (self, conn))
        return s_error (conn, MHD_HTTP_UNAUTHORIZED, "a bearer token is needed");
    return s_route (self, conn, url);
}

//  The token file: one line of at most 256 bytes, trailing whitespace dropped, not empty.
static int
s_read_token (zsat_http_t *self, const char *path, char *reason, size_t cap)
{
    FILE *file = fopen (path, "r");
    if (!file) {
        snprintf (reason, cap, "cannot read the http token file %.200s: %s", path,
                  strerror (errno));
        return -1;
    }
    size_t size = fread (self->token, 1, HTTP_TOKEN_MAX + 1, file);
    fclose (file);
    self->token[size <= HTTP_TOKEN_MAX ? size : HTTP_TOKEN_MAX] = 0;
    size_t len = strcspn (self->token, "\r\n");
    while (len && (self->token[len - 1] == ' ' || self->token[len - 1] == '\t'))
        len--;
    self->token[len] = 0;
    if (size > HTTP_TOKEN_MAX || len < 16 || strlen (self->token) != len) {
        snprintf (reason, cap, "the http token in %.200s must be one line of 16..%d bytes", path,
                  HTTP_TOKEN_MAX);
        return -1;
    }
    return 0;
}

//  "A.B.C.D:PORT" into a socket address; port 0 lets the kernel choose.
static int
s_address (const char *listen, struct sockaddr_in *addr, char *reason, size_t cap)
{
    const char *colon = strrchr (listen, ':');
    char ip[16] = "";
    char *end = NULL;
    long port = colon ? strtol (colon + 1, &end, 10) : -1;
    if (colon && (size_t)(colon - listen) < sizeof ip)
        memcpy (ip, listen, (size_t)(colon - listen));
    memset (addr, 0, sizeof *addr);
    addr->sin_family = AF_INET;
    if (!colon || !colon[1] || *end || port < 0 || port > 65535 ||
        inet_pton (AF_INET, ip, &addr->sin_addr) != 1) {
        snprintf (reason, cap, "bad http address '%.80s' (want A.B.C.D:PORT)", listen);
        return -1;
    }
    addr->sin_port = htons ((uint16_t)port);
    return 0;
}

static int
s_start (zsat_http_t *self, const zsat_http_config_t *config, char *reason, size_t cap)
{
    struct sockaddr_in addr;
    if (s_address (config->listen, &addr, reason, cap) != 0)
        return -1;
    bool loopback = (ntohl (addr.sin_addr.s_addr) >> 24) == 127;
    if (!loopback && !config->token_file) {
        snprintf (reason, cap, "http on %.80s is not loopback: a token file is required",
                  config->listen);
        return -1;
    }
    if (config->token_file && s_read_token (self, config->token_file, reason, cap) != 0)
        return -1;
    self->daemon = MHD_start_daemon (
        MHD_USE_AUTO_INTERNAL_THREAD | MHD_USE_ERROR_LOG, 0, NULL, NULL, s_handle, self,
        MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&addr, MHD_OPTION_THREAD_POOL_SIZE, 2u,
        MHD_OPTION_CONNECTION_LIMIT, (unsigned)HTTP_CONNECTIONS, MHD_OPTION_CONNECTION_TIMEOUT,
        (unsigned)HTTP_IDLE_S, MHD_OPTION_END);
    if (!self->daemon) {
        snprintf (reason, cap, "cannot listen on http %.80s: %s", config->listen, strerror (errno));
        return -1;
    }
    const union MHD_DaemonInfo *info =
        MHD_get_daemon_info (self->daemon, MHD_DAEMON_INFO_BIND_PORT);
    self->port = info ? info->port : ntohs (addr.sin_port);
    return 0;
}

zsat_http_t *
zsat_http_new (const zsat_http_config_t *config, char *reason, size_t cap)
{
    zsat_http_t *self = (zsat_http_t *)calloc (1, sizeof *self);
    if (!self) {
        snprintf (reason, cap, "out of memory");
        return NULL;
    }
    snprintf (self->query, sizeof self->query, "%s", config->query);
    if (config->web_dir)
        snprintf (self->web_dir, sizeof self->web_dir, "%s", config->web_dir);
    else
        zsat_http_web_dir (self->web_dir, sizeof self->web_dir);
    self->timeout_ms = config->timeout_ms > 0 ? config->timeout_ms : 2000;
    if (s_start (self, config, reason, cap) != 0)
        zsat_http_destroy (&self);
    return self;
}

void
zsat_http_destroy (zsat_http_t **self_p)
{
    if (*self_p) {
        zsat_http_t *self = *self_p;
        if (self->daemon)
            MHD_stop_daemon (self->daemon);
        memset (self->token, 0, sizeof self->token);
        free (self);
        *self_p = NULL;
    }
}

int
zsat_http_port (zsat_http_t *self)
{
    return self->port;
}

//  --- selftest: a REP peer standing in for the tracker, a raw TCP client ---

static void
s_fake_tracker (zsock_t *pipe, void *args)
{
    zsock_t *rep = zsock_new_rep ("@inproc://zsat-http-test");
    assert (rep);
    zsock_signal (pipe, 0);
    zpoller_t *poller = zpoller_new (pipe, rep, NULL);
    while (true) {
        void *which = zpoller_wait (poller, -1);
        if (which != rep)
            break;
        char *request = zstr_recv (rep);
        if (request && streq (request, "METRICS"))
            zstr_send (rep, "# HELP zsat_x x\n# TYPE zsat_x gauge\nzsat_x 1\n");
        else if (request && streq (request, "TRACE 7"))
            zstr_send (rep, "{\"task_id\":7,\"state\":\"DONE\"}");
        else if (request && strncmp (request, "TRACE ", 6) == 0)
            zstr_send (rep, "{\"task_id\":8,\"error\":\"task not retained by the tracker\"}");
        else
            zstr_sendf (rep, "{\"asked\":\"%s\"}", request ? request : "");
        zstr_free (&request);
    }
    zpoller_destroy (&poller);
    zsock_destroy (&rep);
}

//  Sends a raw request and returns the whole answer (caller frees).
static char *
s_fetch (int port, const char *request)
{
    int fd = socket (AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = htons ((uint16_t)port)};
    addr.sin_addr.s_addr = htonl (INADDR_LOOPBACK);
    struct timeval tv = {10, 0};
    setsockopt (fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    assert (fd >= 0 && connect (fd, (struct sockaddr *)&addr, sizeof addr) == 0);
    assert (write (fd, request, strlen (request)) == (ssize_t)strlen (request));
    char *answer = (char *)calloc (1, 65536);
    size_t used = 0;
    ssize_t got;
    while (used < 65535 && (got = read (fd, answer + used, 65535 - used)) > 0)
        used += (size_t)got;
    close (fd);
    return answer;
}

static void
s_expect (int port, const char *request, const char *status, const char *body)
{
    char *answer = s_fetch (port, request);
    if (!strstr (answer, status) || (body && !strstr (answer, body)))
        fprintf (stderr, "zsat_http: %s -> %s\n", request, answer);
    assert (strstr (answer, status) && (!body || strstr (answer, body)));
    free (answer);
}

void
zsat_http_test (bool verbose)
{
    printf (" * zsat_http: ");
    zactor_t *tracker = zactor_new (s_fake_tracker, NULL);
    char dir[] = "/tmp/zsat-http-test-XXXXXX";
    assert (mkdtemp (dir));
    char path[128];
    snprintf (path, sizeof path, "%s/index.html", dir);
    FILE *file = fopen (path, "w");
    assert (file);
    fputs ("<html>zsat dashboard</html>", file);
    fclose (file);
    zsat_http_config_t config = {
        .listen = "127.0.0.1:0", .query = "inproc://zsat-http-test", .web_dir = dir};
    char reason[256];
    zsat_http_t *http = zsat_http_new (&config, reason, sizeof reason);
    assert (http && zsat_http_port (http) > 0);
    int port = zsat_http_port (http);
    s_expect (port, "GET /metrics HTTP/1.0\r\n\r\n", "HTTP/1.1 200", "text/plain; version=0.0.4");
    s_expect (port, "GET /api/v1/status HTTP/1.0\r\n\r\n", "200", "{\"asked\":\"STATUS\"}");
    s_expect (port, "GET /api/v1/nodes HTTP/1.0\r\n\r\n", "200", "{\"asked\":\"NODES\"}");
    s_expect (port, "GET /api/v1/topology HTTP/1.0\r\n\r\n", "200", "{\"asked\":\"TOPOLOGY\"}");
    s_expect (port, "GET /api/v1/trace/7 HTTP/1.0\r\n\r\n", "200", "\"state\":\"DONE\"");
    s_expect (port, "GET /api/v1/trace/8 HTTP/1.0\r\n\r\n", "404", "not retained");
    s_expect (port, "GET /api/v1/trace/8x HTTP/1.0\r\n\r\n", "400", "decimal");
    s_expect (port, "GET /api/v1/trace/123456789012345678901 HTTP/1.0\r\n\r\n", "400", NULL);
    s_expect (port, "GET / HTTP/1.0\r\n\r\n", "200", "zsat dashboard");
    s_expect (port, "GET /app.js HTTP/1.0\r\n\r\n", "404", "ZSAT_WEB_DIR");
    s_expect (port, "GET /../../etc/passwd HTTP/1.0\r\n\r\n", "404", NULL);
    s_expect (port, "POST /metrics HTTP/1.0\r\nContent-Length: 1\r\n\r\nx", "405", "Allow: GET");
    s_expect (port, "GET /metrics HTTP/1.0\r\nContent-Length: 2\r\n\r\nxy", "400", "no body");
    s_expect (port, "garbage\r\n\r\n", "", NULL);  //  closed or 400: and it still serves
    s_expect (port, "GET /api/v1/status HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
              "HTTP/1.1 200", "STATUS");
    zsat_http_destroy (&http);
    //  a token: required, compared whole
    snprintf (path, sizeof path, "%s/token", dir);
    file = fopen (path, "w");
    fputs ("0123456789abcdef-token\n", file);
    fclose (file);
    config.token_file = path;
    http = zsat_http_new (&config, reason, sizeof reason);
    assert (http);
    port = zsat_http_port (http);
    s_expect (port, "GET /metrics HTTP/1.0\r\n\r\n", "401", "WWW-Authenticate: Bearer");
    s_expect (port, "GET /metrics HTTP/1.0\r\nAuthorization: Bearer 0123456789abcdef\r\n\r\n",
              "401", NULL);
    s_expect (port, "GET /metrics HTTP/1.0\r\nAuthorization: Bearer 0123456789abcdef-token\r\n\r\n",
              "200", "zsat_x 1");
    zsat_http_destroy (&http);
    //  refused configurations
    config = (zsat_http_config_t){.listen = "0.0.0.0:0", .query = "inproc://x", .web_dir = dir};
    assert (!zsat_http_new (&config, reason, sizeof reason) && strstr (reason, "not loopback"));
    config.listen = "127.0.0.1";
    assert (!zsat_http_new (&config, reason, sizeof reason) && strstr (reason, "bad http"));
    config.listen = "127.0.0.1:0";
    config.token_file = "/nonexistent/token";
    assert (!zsat_http_new (&config, reason, sizeof reason) && strstr (reason, "cannot read"));
    file = fopen (path, "w");
    fputs ("short\n", file);
    fclose (file);
    config.token_file = path;
    assert (!zsat_http_new (&config, reason, sizeof reason) && strstr (reason, "16.."));
    //  the tracker away: 503, not a hang
    config = (zsat_http_config_t){.listen = "127.0.0.1:0",
                                  .query = "inproc://nobody-here",
                                  .web_dir = dir,
                                  .timeout_ms = 200};
    http = zsat_http_new (&config, reason, sizeof reason);
    assert (http);
    s_expect (zsat_http_port (http), "GET /api/v1/status HTTP/1.0\r\n\r\n", "503", NULL);
    zsat_http_destroy (&http);
    zactor_destroy (&tracker);
    char *command = zsys_sprintf ("rm -rf '%s'", dir);
    assert (system (command) == 0);
    zstr_free (&command);
    printf ("OK\n");
}
