/*  zsat import-dsat - converts DSAT's vertex.json + circus .ini into a zsat topology file. */
#include "zsat.h"

static const char *s_usage_text =
    "usage: zsat import-dsat VERTEX.json CIRCUS.ini [-o OUT.yaml]\n\n"
    "Converts a DSAT topology (vertex.json and the circus .ini that launched it) into zsat\n"
    "YAML, keeping every node, link, pattern, endpoint and instance count, with comments\n"
    "saying where each came from. Writes to stdout unless -o is given. Check the result\n"
    "with `zsat check`.";

//  Reads a whole small file; NULL (and a message) on failure.
static char *
s_read (const char *path)
{
    FILE *file = fopen (path, "rb");
    if (!file) {
        fprintf (stderr, "zsat import-dsat: cannot open %s: %s\n", path, strerror (errno));
        return NULL;
    }
    size_t cap = 1024 * 1024;  //  DSAT files are a few kB
    char *text = (char *)malloc (cap + 1);
    size_t size = text ? fread (text, 1, cap + 1, file) : 0;
    fclose (file);
    if (!text || size > cap) {
        fprintf (stderr, "zsat import-dsat: %s is too large\n", path);
        free (text);
        return NULL;
    }
    text[size] = 0;
    return text;
}

static int
s_run (int argc, char **argv)
{
    const char *files[2] = {NULL, NULL}, *out = NULL;
    int count = 0;
    for (int i = 1; i < argc; i++) {
        if (streq (argv[i], "--help") || streq (argv[i], "-h")) {
            puts (s_usage_text);
            return 0;
        }
        if (streq (argv[i], "-o") && i + 1 < argc)
            out = argv[++i];
        else if (argv[i][0] != '-' && count < 2)
            files[count++] = argv[i];
        else {
            fprintf (stderr, "zsat import-dsat: unexpected argument '%s'\n%s\n", argv[i],
                     s_usage_text);
            return 2;
        }
    }
    if (count != 2) {
        fprintf (stderr, "zsat import-dsat: needs VERTEX.json and CIRCUS.ini\n%s\n", s_usage_text);
        return 2;
    }
    char *json = s_read (files[0]), *ini = s_read (files[1]);
    zsat_diag_t *diag = zsat_diag_new ();
    char *yaml =
        json && ini ? zsat_topology_import_dsat_named (json, ini, files[0], files[1], diag) : NULL;
    zsat_diag_print (diag, stderr);
    int status = yaml ? 0 : 1;
    if (yaml) {
        FILE *file = out ? fopen (out, "w") : stdout;
        if (!file || fputs (yaml, file) < 0 || (out && fclose (file) != 0)) {
            fprintf (stderr, "zsat import-dsat: cannot write %s\n", out ? out : "stdout");
            status = 1;
        }
    }
    free (yaml);
    free (json);
    free (ini);
    zsat_diag_destroy (&diag);
    return status;
}

const zsat_command_t zsat_cmd_import_dsat = {
    "import-dsat", "convert DSAT's vertex.json + circus .ini into a topology", s_run};
