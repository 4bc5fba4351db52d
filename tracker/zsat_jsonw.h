/*  zsat_jsonw - a small JSON writer into a growing buffer, for the tracker's state feed and
    query replies. It manages commas and escaping; every byte outside printable ASCII is
    written as \u00XX so hostile text (an event's detail) always yields valid JSON.
*/
#ifndef ZSAT_JSONW_H_INCLUDED
#define ZSAT_JSONW_H_INCLUDED
#include "zsat.h"

typedef struct zsat_jsonw_t zsat_jsonw_t;

//  Creates an empty writer. Returns NULL when memory is short.
zsat_jsonw_t *zsat_jsonw_new (void);
void zsat_jsonw_destroy (zsat_jsonw_t **self_p);
//  Empties the writer for reuse (keeps its buffer).
void zsat_jsonw_reset (zsat_jsonw_t *self);
//  Opens an object or array; key is the member name inside an object, NULL elsewhere.
void zsat_jsonw_object (zsat_jsonw_t *self, const char *key);
void zsat_jsonw_array (zsat_jsonw_t *self, const char *key);
//  Closes the innermost object or array.
void zsat_jsonw_end (zsat_jsonw_t *self);
void zsat_jsonw_str (zsat_jsonw_t *self, const char *key, const char *value);
void zsat_jsonw_int (zsat_jsonw_t *self, const char *key, int64_t value);
void zsat_jsonw_uint (zsat_jsonw_t *self, const char *key, uint64_t value);
void zsat_jsonw_double (zsat_jsonw_t *self, const char *key, double value);
void zsat_jsonw_bool (zsat_jsonw_t *self, const char *key, bool value);
//  The text so far (valid until the next call). A writer that ran out of memory returns "".
const char *zsat_jsonw_text (zsat_jsonw_t *self);
size_t zsat_jsonw_size (zsat_jsonw_t *self);

void zsat_jsonw_test (bool verbose);

#endif
