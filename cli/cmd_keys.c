// SPDX-License-Identifier: MPL-2.0
/*  zsat keys - CURVE certificates of hosts and operators (docs/security.md).
      init --host H [--dir D] [--force] [FILE]   <run_dir>/<H>/curve.cert (+ _secret, 0600)
      init --operator NAME --dir D [--force]     D/NAME.cert (+ _secret)
      export --host H [FILE] | --cert PATH       prints the public key (Z85)
      import --name N --dir D KEY|PATH           D/N.cert: the public key alone
    The topology names the public keys (`hosts.H.curve_key`, `operators:`): it is the
    allowlist. A secret key never leaves the host it was made on.
*/
#include "zsat.h"
#include "zsat_curve.h"
#include "zsat_query.h"
#include <limits.h>
#include <sys/stat.h>

static const char *s_usage_text =
    "usage: zsat keys init --host H [--dir D] [--force] [FILE]\n"
    "       zsat keys init --operator NAME --dir D [--force]\n"
    "       zsat keys export (--host H [FILE] | --cert PATH)\n"
    "       zsat keys import --name N --dir D KEY|PATH\n\n"
    "init writes a CURVE certificate: PATH (public) and PATH_secret (mode 0600), in the\n"
    "host's run directory <run_dir>/<H>/curve.cert, or D/curve.cert (D/NAME.cert for an\n"
    "operator), and prints the public key to put in the topology (hosts.H.curve_key or\n"
    "operators:). export prints a certificate's public key; import stores a public key\n"
    "as D/N.cert for a topology to name. FILE: the topology (default $ZSAT_TOPOLOGY).\n"
    "The CLI presents the operator certificate named by ZSAT_CERT=D/NAME.cert.";

typedef struct {
    const char *verb, *host, *operator_name, *dir, *cert, *name, *file, *key;
    bool force;
} s_args_t;

static int
s_parse (int argc, char **argv, s_args_t *a)
{
    if (argc < 2)
        return -1;
    a->verb = argv[1];
    for (int i = 2; i < argc; i++) {
        const char *arg = argv[i], *value = i + 1 < argc ? argv[i + 1] : NULL;
        const char **slot = streq (arg, "--host")       ? &a->host
                            : streq (arg, "--operator") ? &a->operator_name
                            : streq (arg, "--dir")      ? &a->dir
                            : streq (arg, "--cert")     ? &a->cert
                            : streq (arg, "--name")     ? &a->name
                                                        : NULL;
        if (slot && !value)
            return -1;
        if (slot)
            *slot = argv[++i];
        else if (streq (arg, "--force"))
            a->force = true;
        else if (*arg == '-')
            return -1;
        else if (!a->file)
            a->file = arg;
        else
            return -1;
    }
    return 0;
}

//  The certificate path of host H: D/curve.cert, else the run directory's (made 0700).
static int
s_host_path (const s_args_t *a, char *path, size_t cap)
{
    if (a->dir) {
        snprintf (path, cap, "%s/curve.cert", a->dir);
        return 0;
    }
    const char *file = a->file ? a->file : getenv ("ZSAT_TOPOLOGY");
    if (!file) {
        fprintf (stderr, "zsat keys: give the topology FILE (or --dir D)\n");
        return -1;
    }
    zsat_diag_t *diag = zsat_diag_new ();
    zsat_topology_t *topology = zsat_topology_load (file, diag);
    int rc = -1;
    if (!topology)
        zsat_diag_print (diag, stderr);
    else if (!zsat_topology_host_find (topology, a->host))
        fprintf (stderr, "zsat keys: %s has no host '%s'\n", file, a->host);
    else if (zsat_topology_make_run_dir (topology, a->host) != 0)
        fprintf (stderr, "zsat keys: cannot create the run directory of %s: %s\n", a->host,
                 strerror (errno));
    else
        rc = zsat_curve_cert_path (topology, a->host, path, cap);
    zsat_topology_destroy (&topology);
    zsat_diag_destroy (&diag);
    return rc;
}

//  mkdir -p with mode 0700 for the missing components: a key directory is private.
static void
s_private_dir (const char *dir)
{
    char path[PATH_MAX];
    snprintf (path, sizeof path, "%s", dir);
    for (char *slash = strchr (path + 1, '/'); slash; slash = strchr (slash + 1, '/')) {
        *slash = 0;
        mkdir (path, 0700);
        *slash = '/';
    }
    mkdir (path, 0700);
}

static int
s_print_public (const char *path)
{
    char key[ZSAT_CURVE_KEY_LEN + 1], why[256];
    if (zsat_curve_key_parse (path, NULL, key, why, sizeof why) != 0) {
        fprintf (stderr, "zsat keys: %s: %s\n", path, why);
        return 1;
    }
    printf ("%s\n", key);
    return 0;
}

static int
s_init (const s_args_t *a)
{
    char path[PATH_MAX];
    const char *name = a->host ? a->host : a->operator_name;
    if (!name || (a->host && a->operator_name) || (a->operator_name && !a->dir))
        return fprintf (stderr, "zsat keys init: --host H, or --operator NAME --dir D\n"), 2;
    if (!zsat_name_valid (name))
        return fprintf (stderr, "zsat keys init: bad name '%s'\n", name), 2;
    if (a->host ? s_host_path (a, path, sizeof path) : 0)
        return 1;
    if (a->operator_name)
        snprintf (path, sizeof path, "%s/%s.cert", a->dir, a->operator_name);
    if (a->dir)
        s_private_dir (a->dir);
    zsat_error_t err;
    if (zsat_curve_cert_write (path, name, a->force, &err) != 0)
        return fprintf (stderr, "zsat keys init: %s\n", err.text), 1;
    fprintf (stderr, "wrote %s and %s_secret (mode 0600); public key:\n", path, path);
    return s_print_public (path);
}

static int
s_export (const s_args_t *a)
{
    char path[PATH_MAX];
    if (a->cert)
        return s_print_public (a->cert);
    if (!a->host)
        return fprintf (stderr, "zsat keys export: --host H [FILE] or --cert PATH\n"), 2;
    return s_host_path (a, path, sizeof path) ? 1 : s_print_public (path);
}

static int
s_import (const s_args_t *a)
{
    if (!a->name || !a->dir || !a->file)
        return fprintf (stderr, "zsat keys import: --name N --dir D KEY|PATH\n"), 2;
    char key[ZSAT_CURVE_KEY_LEN + 1], why[256], path[PATH_MAX];
    if (!zsat_name_valid (a->name))
        return fprintf (stderr, "zsat keys import: bad name '%s'\n", a->name), 2;
    if (zsat_curve_key_parse (a->file, NULL, key, why, sizeof why) != 0)
        return fprintf (stderr, "zsat keys import: %s\n", why), 1;
    byte public_key[32], secret[32] = {0};
    zmq_z85_decode (public_key, key);
    zcert_t *cert = zcert_new_from (public_key, secret);
    zcert_set_meta (cert, "name", "%s", a->name);
    zsys_dir_create ("%s", a->dir);
    snprintf (path, sizeof path, "%s/%s.cert", a->dir, a->name);
    int rc = zcert_save_public (cert, path);
    zcert_destroy (&cert);
    if (rc != 0)
        return fprintf (stderr, "zsat keys import: cannot write %s\n", path), 1;
    printf ("%s\n", path);
    return 0;
}

static int
s_run (int argc, char **argv)
{
    s_args_t a = {0};
    if (argc >= 2 && (streq (argv[1], "--help") || streq (argv[1], "-h")))
        return puts (s_usage_text), 0;
    if (s_parse (argc, argv, &a) != 0)
        return fprintf (stderr, "%s\n", s_usage_text), 2;
    if (streq (a.verb, "init"))
        return s_init (&a);
    if (streq (a.verb, "export"))
        return s_export (&a);
    if (streq (a.verb, "import"))
        return s_import (&a);
    fprintf (stderr, "zsat keys: unknown '%s'\n%s\n", a.verb, s_usage_text);
    return 2;
}

const zsat_command_t zsat_cmd_keys = {
    "keys", "CURVE keys of hosts and operators (init, export, import)", s_run};
