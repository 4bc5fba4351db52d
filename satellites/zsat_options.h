/*  zsat_options - a node's options (the topology's `options:` strings) parsed into a kind's
    config struct per its zsat_option_t table, and the topology checker that `zsat check`
    runs: every node's kind exists and every option key and value is valid for it.
    Owns no sockets; never prints (problems go to a zsat_diag_t as file:line:col: message).
*/
#ifndef ZSAT_OPTIONS_H_INCLUDED
#define ZSAT_OPTIONS_H_INCLUDED
#include "zsat.h"

//  Parses a duration as the topology file writes them ("250ms", "2s", "1m", "1h"; a bare
//  number is refused, except 0: decision D9) into *ms. Returns 0, or -1.
int zsat_options_duration (const char *text, int64_t *ms);
//  Parses a size ("512", "64k", "16MiB", "1G"; k/M/G/T are powers of 1024) into *bytes.
//  Returns 0, or -1 when the text is not a size.
int zsat_options_size (const char *text, int64_t *bytes);
//  Parses true/false/yes/no/on/off/1/0 (case-insensitive). Returns 0 or -1.
int zsat_options_bool (const char *text, bool *value);

//  Sets one option in config from text. Returns 0, or -1 with a one-line reason in err.
int zsat_options_set (const zsat_option_t *option, const char *text, void *config, char *err,
                      size_t cap);

//  Fills config (kind->config_size bytes) with every default, then the node's options.
//  Every problem is appended to diag (may be NULL) as file:line:col; returns 0 or -1.
int zsat_options_parse (const zsat_kind_t *kind, const zsat_option_kv_t *options, size_t count,
                        void *config, const char *file, zsat_diag_t *diag);

//  The same, with the node's position: an option the node must give but did not (the
//  table's ZSAT_OPT_REQUIRED) is reported there. Every constraint of the table (required,
//  bounds, choices, names) is checked on the parsed config: start and `zsat check` share it.
int zsat_options_parse_at (const zsat_kind_t *kind, const zsat_option_kv_t *options, size_t count,
                           void *config, const char *file, int line, int col, zsat_diag_t *diag);
//  Checks option's constraints on its value in config (text: as written, for the message).
//  Returns 0, or -1 with a one-line reason in err.
int zsat_options_validate (const zsat_option_t *option, const void *config, const char *text,
                           char *err, size_t cap);

//  Checks one node: its kind is in this build (else an error listing the build's kinds) and
//  its options parse and meet the table's constraints. Implicit nodes whose kind is not
//  registered are accepted. Returns the number of problems added to diag.
int zsat_options_check_node (const zsat_node_t *node, const char *file, zsat_diag_t *diag);

//  The topology checker (zsat_topology_checker_fn), installed at start-up.
void zsat_options_check_topology (zsat_topology_t *topology, zsat_diag_t *diag);

//  Returns the candidate closest to word (edit distance at most 2, or a third of its
//  length), or NULL. candidates ends with NULL.
const char *zsat_options_suggest (const char *word, const char *const *candidates);

//  Returns "string", "int", "double", "bool", "duration" or "size".
const char *zsat_options_type_name (zsat_opt_type_t type);

#endif
