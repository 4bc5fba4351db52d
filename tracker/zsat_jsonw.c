/*  zsat_jsonw - a small JSON writer: one growing buffer, a stack of "a value came before"
    bits for the commas. Owns no socket.
*/
#include "zsat_jsonw.h"
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>

#define JSONW_DEPTH 32

struct zsat_jsonw_t {
    char *data;
    size_t size;
    size_t cap;
    bool failed;  //  out of memory: text becomes ""
    int depth;
    bool has_value[JSONW_DEPTH + 1];
    char closer[JSONW_DEPTH + 1];  //  what closes each open level
};

zsat_jsonw_t *
zsat_jsonw_new (void)
{
    zsat_jsonw_t *self = (zsat_jsonw_t *)calloc (1, sizeof *self);
    if (!self)
        return NULL;
    self->cap = 1024;
    self->data = (char *)malloc (self->cap);
    if (!self->data) {
        free (self);
        return NULL;
    }
    self->data[0] = 0;
    return self;
}

void
zsat_jsonw_destroy (zsat_jsonw_t **self_p)
{
    if (self_p && *self_p) {
        free ((*self_p)->data);
        free (*self_p);
        *self_p = NULL;
    }
}

void
zsat_jsonw_reset (zsat_jsonw_t *self)
{
    self->size = 0;
    self->data[0] = 0;
    self->failed = false;
    self->depth = 0;
    self->has_value[0] = false;
}

static void
s_put (zsat_jsonw_t *self, const char *bytes, size_t len)
{
    if (self->failed)
        return;
    if (self->size + len + 1 > self->cap) {
        size_t cap = self->cap;
        while (self->size + len + 1 > cap)
            cap *= 2;
        char *data = (char *)realloc (self->data, cap);
        if (!data) {
            self->failed = true;
            return;
        }
        self->data = data;
        self->cap = cap;
    }
    memcpy (self->data + self->size, bytes, len);
    self->size += len;
    self->data[self->size] = 0;
}

static void
s_put_string (zsat_jsonw_t *self, const char *text)
{
    s_put (self, "\"", 1);
    for (const unsigned char *c = (const unsigned char *)(text ? text : ""); *c; c++) {
        if (*c == '"' || *c == '\\') {
            char esc[2] = {'\\', (char)*c};
            s_put (self, esc, 2);
        }
        else if (*c < 0x20 || *c >= 0x7f) {
            char esc[8];
            snprintf (esc, sizeof esc, "\\u%04x", *c);
            s_put (self, esc, 6);
        }
        else
            s_put (self, (const char *)c, 1);
    }
    s_put (self, "\"", 1);
}

//  Writes the comma and the key that come before any value.
static void
s_prefix (zsat_jsonw_t *self, const char *key)
{
    if (self->has_value[self->depth])
        s_put (self, ",", 1);
    self->has_value[self->depth] = true;
    if (key) {
        s_put_string (self, key);
        s_put (self, ":", 1);
    }
}

static void
s_open (zsat_jsonw_t *self, const char *key, const char *bracket)
{
    s_prefix (self, key);
    s_put (self, bracket, 1);
    if (self->depth < JSONW_DEPTH)
        self->depth++;
    else
        self->failed = true;
    self->has_value[self->depth] = false;
    self->closer[self->depth] = *bracket == '{' ? '}' : ']';
}

void
zsat_jsonw_object (zsat_jsonw_t *self, const char *key)
{
    s_open (self, key, "{");
}

void
zsat_jsonw_array (zsat_jsonw_t *self, const char *key)
{
    s_open (self, key, "[");
}

void
zsat_jsonw_end (zsat_jsonw_t *self)
{
    if (self->depth > 0) {
        s_put (self, &self->closer[self->depth], 1);
        self->depth--;
    }
}

void
zsat_jsonw_str (zsat_jsonw_t *self, const char *key, const char *value)
{
    s_prefix (self, key);
    s_put_string (self, value);
}

static void s_put_number (zsat_jsonw_t *self, const char *key, const char *format, ...)
    __attribute__ ((format (printf, 3, 4)));

static void
s_put_number (zsat_jsonw_t *self, const char *key, const char *format, ...)
{
    s_prefix (self, key);
    char text[64];
    va_list args;
    va_start (args, format);
    int len = vsnprintf (text, sizeof text, format, args);
    va_end (args);
    s_put (self, text, len > 0 ? (size_t)len : 0);
}

void
zsat_jsonw_int (zsat_jsonw_t *self, const char *key, int64_t value)
{
    s_put_number (self, key, "%" PRId64, value);
}

void
zsat_jsonw_uint (zsat_jsonw_t *self, const char *key, uint64_t value)
{
    s_put_number (self, key, "%" PRIu64, value);
}

void
zsat_jsonw_double (zsat_jsonw_t *self, const char *key, double value)
{
    //  JSON has no NaN or infinity
    if (value != value || value > 1e300 || value < -1e300)
        value = 0;
    s_put_number (self, key, "%.6g", value);
}

void
zsat_jsonw_bool (zsat_jsonw_t *self, const char *key, bool value)
{
    s_prefix (self, key);
    s_put (self, value ? "true" : "false", value ? 4 : 5);
}

const char *
zsat_jsonw_text (zsat_jsonw_t *self)
{
    return self->failed ? "" : self->data;
}

size_t
zsat_jsonw_size (zsat_jsonw_t *self)
{
    return self->failed ? 0 : self->size;
}

void
zsat_jsonw_test (bool verbose)
{
    printf (" * zsat_jsonw: ");
    zsat_jsonw_t *j = zsat_jsonw_new ();
    assert (j);
    zsat_jsonw_object (j, NULL);
    zsat_jsonw_str (j, "a", "q\"\\\n\xff");
    zsat_jsonw_int (j, "n", -3);
    zsat_jsonw_array (j, "list");
    zsat_jsonw_uint (j, NULL, 1);
    zsat_jsonw_object (j, NULL);
    zsat_jsonw_end (j);
    zsat_jsonw_bool (j, NULL, true);
    zsat_jsonw_double (j, NULL, NAN);
    zsat_jsonw_end (j);
    zsat_jsonw_end (j);
    zsat_jsonw_end (j);  //  one too many: ignored
    const char *expect = "{\"a\":\"q\\\"\\\\\\u000a\\u00ff\",\"n\":-3,\"list\":[1,{},true,0]}";
    assert (streq (zsat_jsonw_text (j), expect));
    assert (zsat_jsonw_size (j) == strlen (expect));
    zsat_jsonw_reset (j);
    zsat_jsonw_array (j, NULL);
    for (int i = 0; i < 10000; i++)
        zsat_jsonw_str (j, NULL, "grow");
    zsat_jsonw_end (j);
    assert (zsat_jsonw_size (j) == 2 + 10000 * 7 - 1);
    zsat_jsonw_destroy (&j);
    zsat_jsonw_destroy (&j);
    printf ("OK\n");
}
