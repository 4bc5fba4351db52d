/*  topo_internal - the topology's private layout, shared by the loader (topo_parse.c), the
    validator (topo_validate.c), the resolver (topo_resolve.c), dot (topo_dot.c) and the
    public class (zsat_topology.c). Not installed, not for other components.

    Every string of the model lives in the topology's arena with its source mark (line, col)
    stored just before it, so any later check can point at the text it complains about.
*/
#ifndef TOPO_INTERNAL_H_INCLUDED
#define TOPO_INTERNAL_H_INCLUDED
#include "zsat.h"

//  ipc paths must fit sockaddr_un.sun_path (108) with room to spare.
#define TOPO_IPC_PATH_MAX 100
//  A topology file larger than this is refused (a bound on work and memory).
#define TOPO_FILE_MAX (4 * 1024 * 1024)
//  Entries of any one mapping or list (nodes, links, hosts, options, ...): keeps every
//  whole-model check, quadratic at worst, within a fraction of a second.
#define TOPO_ITEMS_MAX 4096
//  Fixed port offsets of the singletons, then three per host.
#define TOPO_PORT_TRACKER_EVENTS 0
#define TOPO_PORT_TRACKER_STATE  1
#define TOPO_PORT_TRACKER_QUERY  2
#define TOPO_PORT_SCHEDULER_JOBS 3
#define TOPO_PORT_HOSTS          4
#define TOPO_DEPTH_MAX           32  //  nesting levels of a topology file or DSAT vertex.json
#define TOPO_PORTS_PER_HOST      3   //  orchester.any, orchester.control, launcher.control
//  Bounds of the expanded document (aliases and merges copied out, includes read): a
//  "billion laughs" file passes them fast and is refused.
#define TOPO_EXPAND_NODES_MAX 200000
#define TOPO_EXPAND_BYTES_MAX (16 * 1024 * 1024)
//  Files read for one topology, the top file and every include.
#define TOPO_INCLUDES_MAX 64

//  A file the topology was read from: index 0 is the top file, then each include. Marks
//  carry "virtual lines": the file's own line plus base, bases following each other, so one
//  line number names the file too (topo_where turns it back).
typedef struct {
    const char *file;  //  as named: an include joined to its includer's directory
    const char *real;  //  realpath, for the cycle check (NULL when it has none)
    int base, lines;
    int from;                 //  index of the including file, -1 for the top
    int from_line, from_col;  //  where include: names it (a virtual line of from)
} topo_source_t;

struct yaml_document_s;

typedef struct topo_chunk_t topo_chunk_t;

struct zsat_topology_t {
    topo_chunk_t *arena;
    const char *file;
    const char *name;
    const char *run_dir;
    const char *state_dir;  //  ZSAT_STATE_DIR, or NULL: the run dir
    int base_port;
    int base_port_line, base_port_col;  //  where base_port was written (0: the default)
    zsat_host_t *hosts;
    size_t host_count, host_cap;
    zsat_node_t *nodes;
    size_t node_count, node_cap;
    zsat_link_t *links;
    size_t link_count, link_cap;
    zsat_route_t *routes;
    size_t route_count, route_cap;
    zsat_schedule_t *schedules;
    size_t schedule_count, schedule_cap;
    zsat_channel_t *channels;
    size_t channel_count, channel_cap;
    zsat_tracker_policy_t policy;
    const char *security;  //  `security:` as written, NULL: default
    zsat_operator_t *operators;
    size_t operator_count, operator_cap;
    bool routes_given;  //  `routes:` was written (else derived from schedules)
    //  Resolution, filled by topo_resolve_ports once the model is valid.
    int *link_port;    //  per link; 0 when its endpoint is explicit
    int *route_port;   //  [node * host_count + host]; 0 when the node is not routed there
    int *link_binder;  //  per link: host index of the binding side, -1 if none
    int *remote_port;  //  [node * host_count + host]: tcp route port bound by that host's
                       //  orchester for a node that does not run there; 0 when none
    int buffer_end;    //  one past the last buffer port (the remote route ports follow)
    int next_port;
    const char **host_topics;  //  "<host>/": the jobs subscription of each host's orchester
    topo_source_t *sources;    //  the files read (topo_expand.c)
    size_t source_count, source_cap;
};

//  Arena: memory freed with the topology. Returns NULL when out of memory.
void *topo_alloc (zsat_topology_t *self, size_t size);
//  Copies text into the arena with its mark; n is the length. NULL when out of memory.
char *topo_strndup (zsat_topology_t *self, const char *text, size_t n, int line, int col);
char *topo_strdup (zsat_topology_t *self, const char *text, int line, int col);
//  The mark of an arena string (0, 0 for strings the loader made up).
void topo_mark (const char *text, int *line, int *col);
void topo_arena_free (zsat_topology_t *self);
//  Grows a malloc'd array to hold one more element; returns the new element (zeroed) or NULL.
void *topo_push (void **array, size_t *count, size_t *cap, size_t size);

//  Appends a problem at a string's mark (or at line/col when text has none).
void topo_error_at (zsat_topology_t *self, zsat_diag_t *diag, const char *text, int line, int col,
                    const char *format, ...) __attribute__ ((format (printf, 6, 7)));

//  Edit distance, bounded (for "did you mean").
size_t topo_distance (const char *a, const char *b);
//  Returns the closest candidate within 2 edits, or NULL.
const char *topo_closest (const char *word, const char *const *candidates, size_t count);

//  Parses the YAML text into self; returns the number of problems added.
size_t topo_parse (zsat_topology_t *self, const char *text, size_t size, zsat_diag_t *diag);
//  Refuses text nested deeper than TOPO_DEPTH_MAX (at the first such level), in linear time.
//  Returns 0, or 1 with the problem in diag.
size_t topo_check_depth (const char *text, size_t size, const char *file, zsat_diag_t *diag);
//  The same, its lines reported plus base (a virtual line, see topo_source_t).
size_t topo_check_depth_at (const char *text, size_t size, const char *file, int base,
                            zsat_diag_t *diag);
//  Reads text (self->file) and the files it includes into out, an initialized document
//  the caller deletes: variables substituted, aliases and merge keys copied out, includes
//  joined (docs/topology.md). escape doubles a `$` that a second reading would substitute
//  (for printing). Returns the number of problems added.
size_t topo_expand (zsat_topology_t *self, const char *text, size_t size,
                    struct yaml_document_s *out, bool escape, zsat_diag_t *diag);
//  The file's text (malloc'd, at most TOPO_FILE_MAX bytes), or NULL with the reason.
char *topo_read_file (const char *path, size_t *size, const char **problem);
//  The name a file gives a topology without `name:`: its base name ("two-hosts").
const char *topo_base_name (zsat_topology_t *self, const char *filename);
//  "file:line:col" of a virtual line; with chain, followed by " (included from ...)".
void topo_where (zsat_topology_t *self, int line, int col, char *buf, size_t size, bool chain);
//  Moves the problems of from into to, virtual lines written as file and line.
void topo_diag_move (zsat_topology_t *self, zsat_diag_t *from, zsat_diag_t *to);
//  Adds implicit nodes and routes, then checks the whole model; returns problems added.
size_t topo_validate (zsat_topology_t *self, zsat_diag_t *diag);
//  Assigns ports and binders; returns problems added (ports out of range, long ipc paths).
size_t topo_resolve_ports (zsat_topology_t *self, zsat_diag_t *diag);

//  Lookups by name; -1 when absent.
int topo_host_index (zsat_topology_t *self, const char *name);
int topo_node_index (zsat_topology_t *self, const char *name);
//  The first node of a kind (and on host, when host is not NULL); -1 when none.
int topo_node_of_kind (zsat_topology_t *self, const char *kind, const char *host);
//  Returns true when a route sends some type to node on host.
bool topo_routed_on (zsat_topology_t *self, const char *node, const char *host);
//  Socket types of a link's two sides.
int topo_sender_type (zsat_pattern_t pattern);
int topo_receiver_type (zsat_pattern_t pattern);
const char *topo_pattern_name (zsat_pattern_t pattern);

#endif
