/*  zsat version - prints the version of this zsat and of the libraries it runs on. */
#include "zsat.h"
#include <msgpack.h>
#include <yaml.h>
#include <hdf5.h>

static int
s_run (int argc, char **argv)
{
    if (argc > 1 && (streq (argv[1], "--help") || streq (argv[1], "-h"))) {
        puts ("usage: zsat version\n\nPrints zsat's version and its libraries' versions.");
        return 0;
    }
    int major, minor, patch;
    zmq_version (&major, &minor, &patch);
    unsigned hmaj, hmin, hrel;
    H5get_libversion (&hmaj, &hmin, &hrel);
    printf ("zsat %s\nlibzmq %d.%d.%d\nczmq %d.%d.%d\nmsgpack-c %s\nlibyaml %s\nhdf5 %u.%u.%u\n",
            ZSAT_VERSION, major, minor, patch, CZMQ_VERSION_MAJOR, CZMQ_VERSION_MINOR,
            CZMQ_VERSION_PATCH, msgpack_version (), yaml_get_version_string (), hmaj, hmin, hrel);
    return 0;
}

const zsat_command_t zsat_cmd_version = {"version", "print versions of zsat and its libraries",
                                         s_run};
