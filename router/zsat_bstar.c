/*  zsat_bstar - the binary star state machine and its actor (contract in zsat_bstar.h).

    The machine is one table; the interpreter takes the first row matching (state, event)
    whose guard holds. The actor owns one PUB (its state, every heartbeat) and one SUB (the
    peer's state); heartbeats are those state messages, so no other timer is needed.
*/
#include "zsat_bstar.h"
#include "zsat_curve.h"

typedef enum { ANY = 0, PEER_SILENT } guard_t;

typedef struct {
    zsat_bstar_state_t state;
    zsat_bstar_event_t event;
    guard_t guard;
    zsat_bstar_state_t next;
    zsat_bstar_result_t result;
} row_t;

#define P_PRIMARY ZSAT_BSTAR_PEER_PRIMARY
#define P_BACKUP  ZSAT_BSTAR_PEER_BACKUP
#define P_ACTIVE  ZSAT_BSTAR_PEER_ACTIVE
#define P_PASSIVE ZSAT_BSTAR_PEER_PASSIVE
#define CLIENT    ZSAT_BSTAR_CLIENT_REQUEST
#define PRIMARY   ZSAT_BSTAR_PRIMARY
#define BACKUP    ZSAT_BSTAR_BACKUP
#define ACTIVE    ZSAT_BSTAR_ACTIVE
#define PASSIVE   ZSAT_BSTAR_PASSIVE
#define OK        ZSAT_BSTAR_OK
#define REJECT    ZSAT_BSTAR_REJECT
#define CONFLICT  ZSAT_BSTAR_CONFLICT

//  Every (state, event) pair has a row; a guarded row comes before its fallback.
static const row_t s_table[] = {
    //  A starting primary: the peer decides, or a client after the peer stayed silent.
    {PRIMARY, P_PRIMARY, ANY, PRIMARY, CONFLICT},  //  two primaries configured
    {PRIMARY, P_BACKUP, ANY, ACTIVE, OK},          //  backup is up and waiting: serve
    {PRIMARY, P_ACTIVE, ANY, PASSIVE, OK},         //  backup took over while we were away
    {PRIMARY, P_PASSIVE, ANY, PRIMARY, OK},        //  it goes active on our PRIMARY: wait
    {PRIMARY, CLIENT, PEER_SILENT, ACTIVE, OK},    //  started alone: serve after 2 beats
    {PRIMARY, CLIENT, ANY, PRIMARY, REJECT},
    //  A starting backup never serves until it has seen an active peer and then lost it.
    {BACKUP, P_PRIMARY, ANY, BACKUP, OK},
    {BACKUP, P_BACKUP, ANY, BACKUP, CONFLICT},  //  two backups configured
    {BACKUP, P_ACTIVE, ANY, PASSIVE, OK},
    {BACKUP, P_PASSIVE, ANY, BACKUP, OK},
    {BACKUP, CLIENT, ANY, BACKUP, REJECT},
    {ACTIVE, P_PRIMARY, ANY, ACTIVE, OK},  //  the peer restarted: it will go passive
    {ACTIVE, P_BACKUP, ANY, ACTIVE, OK},
    {ACTIVE, P_ACTIVE, ANY, ACTIVE, CONFLICT},  //  split brain: both active
    {ACTIVE, P_PASSIVE, ANY, ACTIVE, OK},
    {ACTIVE, CLIENT, ANY, ACTIVE, OK},
    //  Passive: a restarting peer means it lost its state, so this one becomes active.
    {PASSIVE, P_PRIMARY, ANY, ACTIVE, OK},
    {PASSIVE, P_BACKUP, ANY, ACTIVE, OK},
    {PASSIVE, P_ACTIVE, ANY, PASSIVE, OK},
    {PASSIVE, P_PASSIVE, ANY, PASSIVE, CONFLICT},  //  both passive: nobody serves
    {PASSIVE, CLIENT, PEER_SILENT, ACTIVE, OK},    //  failover
    {PASSIVE, CLIENT, ANY, PASSIVE, REJECT},
};
#define TABLE_ROWS (sizeof s_table / sizeof s_table[0])

struct zsat_bstar_t {
    zsat_bstar_state_t state;
    int64_t heartbeat_ms;
    int64_t peer_expiry;  //  the peer counts as silent from this time on
};

zsat_bstar_t *
zsat_bstar_new (bool primary, int64_t heartbeat_ms, int64_t now_ms)
{
    if (heartbeat_ms <= 0)
        return NULL;
    zsat_bstar_t *self = (zsat_bstar_t *)zmalloc (sizeof (zsat_bstar_t));
    if (!self)
        return NULL;
    self->state = primary ? PRIMARY : BACKUP;
    self->heartbeat_ms = heartbeat_ms;
    self->peer_expiry = now_ms + 2 * heartbeat_ms;
    return self;
}

void
zsat_bstar_destroy (zsat_bstar_t **self_p)
{
    if (self_p && *self_p) {
        free (*self_p);
        *self_p = NULL;
    }
}

int
zsat_bstar_event (zsat_bstar_t *self, zsat_bstar_event_t event, int64_t now_ms)
{
    //  Every peer message is a heartbeat: 2 missed ones make the peer silent.
    if (event != CLIENT)
        self->peer_expiry = now_ms + 2 * self->heartbeat_ms;
    for (size_t i = 0; i < TABLE_ROWS; i++) {
        const row_t *row = &s_table[i];
        if (row->state != self->state || row->event != event)
            continue;
        if (row->guard == PEER_SILENT && now_ms < self->peer_expiry)
            continue;
        self->state = row->next;
        return row->result;
    }
    return event == CLIENT ? REJECT : OK;  //  an event value outside the enum
}

zsat_bstar_state_t
zsat_bstar_state (zsat_bstar_t *self)
{
    return self->state;
}

static const char *s_names[] = {"?", "PRIMARY", "BACKUP", "ACTIVE", "PASSIVE"};

const char *
zsat_bstar_state_name (int state)
{
    return state >= PRIMARY && state <= PASSIVE ? s_names[state] : "?";
}

zsat_bstar_event_t
zsat_bstar_peer_event (const char *state_name)
{
    //  Peer events have the same order as states, so the name maps to both.
    for (int s = PRIMARY; s <= PASSIVE; s++)
        if (state_name && streq (state_name, s_names[s]))
            return (zsat_bstar_event_t)(P_PRIMARY + (s - PRIMARY));
    return (zsat_bstar_event_t)0;
}

//  --- The actor ---

typedef struct {
    zsock_t *pipe, *pub, *sub;
    zsat_bstar_t *fsm;
    int64_t heartbeat_ms, publish_at;
    bool terminated;
    uint64_t peer_messages, accepted, rejected, conflicts, changes;
} self_t;

static void
s_publish (self_t *self)
{
    //  PUB never blocks: at HWM it drops, and the next beat repeats the state anyway.
    zstr_send (self->pub, zsat_bstar_state_name (zsat_bstar_state (self->fsm)));
    self->publish_at = zclock_mono () + self->heartbeat_ms;
}

//  Applies an event, counts its outcome, and tells the peer at once when the state changed.
static int
s_apply (self_t *self, zsat_bstar_event_t event)
{
    zsat_bstar_state_t before = zsat_bstar_state (self->fsm);
    int result = zsat_bstar_event (self->fsm, event, zclock_mono ());
    self->conflicts += result == ZSAT_BSTAR_CONFLICT;
    if (zsat_bstar_state (self->fsm) != before) {
        self->changes++;
        s_publish (self);
    }
    return result;
}

static void
s_peer (self_t *self)
{
    char *name = zstr_recv (self->sub);
    zsat_bstar_event_t event = zsat_bstar_peer_event (name);
    freen (name);
    if (!event)
        return;  //  not a state name: ignored (it is no heartbeat either)
    self->peer_messages++;
    s_apply (self, event);
}

static void
s_command (self_t *self)
{
    char *command = zstr_recv (self->pipe);
    const char *state;
    if (!command || streq (command, "$TERM"))
        self->terminated = true;
    else if (streq (command, "REQUEST")) {
        bool ok = s_apply (self, ZSAT_BSTAR_CLIENT_REQUEST) == ZSAT_BSTAR_OK;
        self->accepted += ok;
        self->rejected += !ok;
        state = zsat_bstar_state_name (zsat_bstar_state (self->fsm));
        zstr_sendf (self->pipe, "%s %s", ok ? "ACCEPT" : "REJECT", state);
    }
    else if (streq (command, "STATE"))
        zstr_send (self->pipe, zsat_bstar_state_name (zsat_bstar_state (self->fsm)));
    else if (streq (command, "STATS"))
        zstr_sendf (self->pipe,
                    "{\"state\":\"%s\",\"peer_messages\":%" PRIu64 ",\"accepted\":%" PRIu64
                    ",\"rejected\":%" PRIu64 ",\"conflicts\":%" PRIu64 ",\"changes\":%" PRIu64 "}",
                    zsat_bstar_state_name (zsat_bstar_state (self->fsm)), self->peer_messages,
                    self->accepted, self->rejected, self->conflicts, self->changes);
    freen (command);
}

static int
s_open (self_t *self, zsat_bstar_args_t *a, char *why, size_t why_size)
{
    self->heartbeat_ms = a->heartbeat_ms > 0 ? a->heartbeat_ms : 1000;
    self->fsm = zsat_bstar_new (a->primary, self->heartbeat_ms, zclock_mono ());
    self->pub = zsock_new (ZMQ_PUB);
    self->sub = zsock_new (ZMQ_SUB);
    if (!self->fsm || !self->pub || !self->sub) {
        snprintf (why, why_size, "cannot allocate");
        return -1;
    }
    //  Only the latest state matters and it repeats: a short queue, nothing kept at close.
    zsock_set_sndhwm (self->pub, 10);
    zsock_set_linger (self->pub, 0);
    zsock_set_rcvhwm (self->sub, 100);
    //  A state name is a few bytes: anything bigger is not our peer.
    zsock_set_maxmsgsize (self->sub, 256);
    zsock_set_subscribe (self->sub, "");
    const char *endpoints[2] = {a->local, a->peer};
    zsock_t *socks[2] = {self->pub, self->sub};
    for (int i = 0; i < 2; i++)
        if (!endpoints[i] ||
            zsat_curve_apply (socks[i], NULL, endpoints[i],
                              i == 0 ? ZSAT_CURVE_SERVER : ZSAT_CURVE_CLIENT) ||
            zsock_attach (socks[i], endpoints[i], i == 0) < 0) {
            snprintf (why, why_size, "cannot attach %s: %s", endpoints[i] ? endpoints[i] : "(null)",
                      zmq_strerror (zmq_errno ()));
            return -1;
        }
    return 0;
}

void
zsat_bstar_actor (zsock_t *pipe, void *args)
{
    self_t self = {.pipe = pipe};
    char why[256] = "no arguments";
    int rc = args ? s_open (&self, (zsat_bstar_args_t *)args, why, sizeof why) : -1;
    zsock_signal (pipe, 0);
    if (rc)
        zstr_sendf (pipe, "FAILED %s", why);
    else {
        zstr_send (pipe, "READY");
        zpoller_t *poller = zpoller_new (pipe, self.sub, NULL);
        s_publish (&self);
        while (!self.terminated) {
            int64_t wait = self.publish_at - zclock_mono ();
            void *which = zpoller_wait (poller, wait > 0 ? (int)wait : 0);
            if (which == pipe)
                s_command (&self);
            else if (which == self.sub)
                s_peer (&self);
            else if (zpoller_terminated (poller))
                break;
            if (zclock_mono () >= self.publish_at)
                s_publish (&self);
        }
        zpoller_destroy (&poller);
    }
    zsock_destroy (&self.sub);
    zsock_destroy (&self.pub);
    zsat_bstar_destroy (&self.fsm);
}

//  --- Selftest ---

static void
s_test_table (void)
{
    //  Every (state, event) pair ends in a row without a guard: no event is ever unhandled.
    for (int st = PRIMARY; st <= PASSIVE; st++)
        for (int ev = P_PRIMARY; ev <= CLIENT; ev++) {
            bool found = false;
            for (size_t i = 0; i < TABLE_ROWS; i++)
                found |= (int)s_table[i].state == st && (int)s_table[i].event == ev &&
                         s_table[i].guard == ANY;
            assert (found);
        }
    //  Each row, from its state: a guarded row with the peer silent (t = expiry), any other
    //  row with the peer just heard (t < expiry), so the guarded rows' fallbacks are reached.
    for (size_t i = 0; i < TABLE_ROWS; i++) {
        const row_t *row = &s_table[i];
        zsat_bstar_t *fsm = zsat_bstar_new (true, 100, 0);
        assert (fsm);
        fsm->state = row->state;
        int64_t now = row->guard == PEER_SILENT ? 200 : 199;
        assert (zsat_bstar_event (fsm, row->event, now) == (int)row->result);
        assert (zsat_bstar_state (fsm) == row->next);
        zsat_bstar_destroy (&fsm);
    }
}

static void
s_test_scenarios (void)
{
    //  Backup: passive once the primary is active, then a failover needs both rules.
    zsat_bstar_t *fsm = zsat_bstar_new (false, 100, 0);
    assert (zsat_bstar_event (fsm, CLIENT, 1000) == REJECT);  //  a backup never starts serving
    assert (zsat_bstar_event (fsm, P_ACTIVE, 1000) == OK && zsat_bstar_state (fsm) == PASSIVE);
    //  The peer is silent from 1200 on; before that a request is refused.
    assert (zsat_bstar_event (fsm, CLIENT, 1199) == REJECT && zsat_bstar_state (fsm) == PASSIVE);
    //  Silence alone changes nothing (no event); a peer message restarts the count.
    assert (zsat_bstar_event (fsm, P_ACTIVE, 1150) == OK);
    assert (zsat_bstar_event (fsm, CLIENT, 1300) == REJECT);
    assert (zsat_bstar_event (fsm, CLIENT, 1350) == OK && zsat_bstar_state (fsm) == ACTIVE);
    //  The old primary comes back: it is told ACTIVE and goes passive; we stay active.
    assert (zsat_bstar_event (fsm, P_PRIMARY, 2000) == OK && zsat_bstar_state (fsm) == ACTIVE);
    assert (zsat_bstar_event (fsm, P_PASSIVE, 2100) == OK && zsat_bstar_state (fsm) == ACTIVE);
    assert (zsat_bstar_event (fsm, P_ACTIVE, 2200) == CONFLICT);
    zsat_bstar_destroy (&fsm);
    zsat_bstar_destroy (&fsm);  //  safe twice

    //  A primary started alone serves after 2 silent heartbeats and a client request.
    fsm = zsat_bstar_new (true, 100, 0);
    assert (zsat_bstar_event (fsm, CLIENT, 199) == REJECT && zsat_bstar_state (fsm) == PRIMARY);
    assert (zsat_bstar_event (fsm, CLIENT, 200) == OK && zsat_bstar_state (fsm) == ACTIVE);
    zsat_bstar_destroy (&fsm);
    //  A restarted primary that hears an active backup goes passive without serving.
    fsm = zsat_bstar_new (true, 100, 0);
    assert (zsat_bstar_event (fsm, P_ACTIVE, 10) == OK && zsat_bstar_state (fsm) == PASSIVE);
    zsat_bstar_destroy (&fsm);

    assert (zsat_bstar_new (true, 0, 0) == NULL);
    assert (zsat_bstar_peer_event ("ACTIVE") == P_ACTIVE);
    assert (zsat_bstar_peer_event ("PASSIVE") == P_PASSIVE);
    assert (zsat_bstar_peer_event ("active") == 0 && zsat_bstar_peer_event (NULL) == 0);
    assert (streq (zsat_bstar_state_name (0), "?") && streq (zsat_bstar_state_name (9), "?"));
}

static char *
s_ask (zactor_t *actor, const char *command)
{
    zstr_send (actor, command);
    char *reply = zstr_recv (actor);
    assert (reply);
    return reply;
}

//  Waits (bounded) until the actor reports state; returns true when it did.
static bool
s_wait_state (zactor_t *actor, const char *state)
{
    for (int i = 0; i < 500; i++) {
        char *now = s_ask (actor, "STATE");
        bool same = streq (now, state);
        freen (now);
        if (same)
            return true;
        zclock_sleep (20);
    }
    return false;
}

static zactor_t *
s_start (zsat_bstar_args_t *args)
{
    zactor_t *actor = zactor_new (zsat_bstar_actor, args);
    assert (actor);
    char *ready = zstr_recv (actor);
    assert (ready && streq (ready, "READY"));
    freen (ready);
    return actor;
}

static void
s_test_failover (bool verbose)
{
    char dir[256], p_bind[320], p_conn[320], b_bind[320], b_conn[320];
    snprintf (dir, sizeof dir, "/tmp/zsat-bstar-test-%d", (int)getpid ());
    assert (zsys_dir_create ("%s", dir) == 0);
    snprintf (p_bind, sizeof p_bind, "@ipc://%s/primary.ipc", dir);
    snprintf (p_conn, sizeof p_conn, ">ipc://%s/primary.ipc", dir);
    snprintf (b_bind, sizeof b_bind, "@ipc://%s/backup.ipc", dir);
    snprintf (b_conn, sizeof b_conn, ">ipc://%s/backup.ipc", dir);
    zsat_bstar_args_t pa = {true, p_bind, b_conn, 100};
    zsat_bstar_args_t ba = {false, b_bind, p_conn, 100};
    zactor_t *primary = s_start (&pa);
    zactor_t *backup = s_start (&ba);
    assert (s_wait_state (primary, "ACTIVE"));
    assert (s_wait_state (backup, "PASSIVE"));
    char *reply = s_ask (primary, "REQUEST");
    assert (streq (reply, "ACCEPT ACTIVE"));
    freen (reply);

    //  Kill the active one: the passive takes over on a client request after the silence.
    zactor_destroy (&primary);
    bool took_over = false;
    for (int i = 0; i < 500 && !took_over; i++) {
        reply = s_ask (backup, "REQUEST");
        took_over = streq (reply, "ACCEPT ACTIVE");
        if (!took_over)
            assert (streq (reply, "REJECT PASSIVE"));
        freen (reply);
        if (!took_over)
            zclock_sleep (20);
    }
    assert (took_over);

    //  The primary restarts, hears an active backup and stands by: still one active.
    primary = s_start (&pa);
    assert (s_wait_state (primary, "PASSIVE"));
    assert (s_wait_state (backup, "ACTIVE"));
    reply = s_ask (backup, "STATS");
    if (verbose)
        printf ("   backup %s\n", reply);
    assert (strstr (reply, "\"conflicts\":0"));
    freen (reply);
    zactor_destroy (&primary);
    zactor_destroy (&backup);
    //  libzmq may leave a bound ipc file behind: remove what we made.
    char path[320];
    snprintf (path, sizeof path, "%s/primary.ipc", dir);
    zsys_file_delete (path);
    snprintf (path, sizeof path, "%s/backup.ipc", dir);
    zsys_file_delete (path);
    assert (zsys_dir_delete ("%s", dir) == 0);
}

void
zsat_bstar_test (bool verbose)
{
    printf (" * zsat_bstar: ");
    if (verbose)
        printf ("\n");
    s_test_table ();
    s_test_scenarios ();
    s_test_failover (verbose);

    zsat_bstar_args_t bad = {true, "@nosuch://x", ">inproc://zsat-bstar-nobody", 100};
    zactor_t *actor = zactor_new (zsat_bstar_actor, &bad);
    char *reply = zstr_recv (actor);
    assert (reply && strncmp (reply, "FAILED ", 7) == 0);
    freen (reply);
    zactor_destroy (&actor);
    printf ("OK\n");
}
