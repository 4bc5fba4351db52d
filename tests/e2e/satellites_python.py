#!/usr/bin/python3
"""satellites_python - satellites written in Python (Debian's python3-zmq + python3-msgpack),
following only docs/protocol.md, exchange vectors with a running zsat node.

Topology: pyfeed (this script, PUSH) -> work (a zsat node of kind `exec`, whose command is a
Python one-liner: a satellite in another language through exec) -> pysink (this script, PULL).
The feeder sends zsat.record vectors, one DSAT legacy single frame (a DSAT satellite joining)
and malformed messages; the sink checks every forwarded vector byte by byte per the protocol:
checksum, step/next/seq, and the record the exec command computed. The node must survive the
malformed input and stop cleanly on SIGTERM.

The node runs with `zsat node` when this zsat has it; otherwise with a tiny runner compiled
here against libzsat (the satellite runtime actor, as `zsat node` would start it).
Exit 0 pass, 77 skip, 1 fail.
"""
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import zlib

try:
    import msgpack
    import zmq
except ImportError as e:  # Debian's python3-zmq / python3-msgpack missing
    print(f"skip: {e}")
    sys.exit(77)

ZSAT_BIN = os.environ.get("ZSAT_BIN", "zsat")
BUILD = os.environ.get("ZSAT_BUILD", "build")
SRC = os.environ.get("ZSAT_SRC", os.path.join(os.path.dirname(__file__), "..", ".."))

EVENTS = {"INIT": 1, "PROPAGATE": 8}
RUNNER_C = r"""
#include "zsat.h"
#include "zsat_satellite.h"
#include <signal.h>
int main (int argc, char **argv)
{
    zsys_handler_set (NULL);
    sigset_t set;
    sigemptyset (&set);
    sigaddset (&set, SIGTERM);
    sigaddset (&set, SIGINT);
    pthread_sigmask (SIG_BLOCK, &set, NULL);  /* actor threads inherit the mask */
    zsat_topology_t *topology = zsat_topology_load (argv[1], NULL);
    if (!topology)
        return 1;
    zsat_node_args_t args = {topology, argv[2], argv[3], 0};
    zactor_t *actor = zactor_new (zsat_satellite_actor, &args);
    char *status = zstr_recv (actor);
    fprintf (stderr, "runner: %s\n", status);
    int ready = status && streq (status, "READY");
    zstr_free (&status);
    int sig = 0;
    if (ready)
        sigwait (&set, &sig);
    zactor_destroy (&actor);
    zsat_topology_destroy (&topology);
    zsys_shutdown ();
    return ready ? 0 : 1;
}
"""


def fail(message):
    print(f"FAIL: {message}")
    sys.exit(1)


def have_zsat_node():
    try:
        r = subprocess.run([ZSAT_BIN, "node", "--help"], capture_output=True, timeout=10)
        return r.returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


def cmake_cache(key):
    try:
        with open(os.path.join(BUILD, "CMakeCache.txt")) as cache:
            for line in cache:
                if line.startswith(key + ":"):
                    return line.split("=", 1)[1].strip()
    except OSError:
        pass
    return None


def build_runner(tmp):
    """Compiles the tiny runner against libzsat.a; returns its path or None."""
    lib = os.path.join(BUILD, "libzsat.a")
    hl = cmake_cache("HDF5_HL_LIB")
    cc = shutil.which("cc")
    if not (os.path.exists(lib) and hl and cc):
        return None
    source = os.path.join(tmp, "runner.c")
    with open(source, "w") as f:
        f.write(RUNNER_C)
    pc = subprocess.run(["pkg-config", "--cflags", "--libs", "libczmq", "libzmq", "msgpack",
                         "yaml-0.1", "hdf5"], capture_output=True, text=True)
    if pc.returncode != 0:
        return None
    includes = [f"-I{os.path.join(SRC, d)}" for d in
                ("include", "common", "serialization", "topologies", "satellites")]
    exe = os.path.join(tmp, "runner")
    sanitize = ["-fsanitize=address,undefined"] if cmake_cache("ZSAT_SANITIZE") == "ON" else []
    cmd = [cc, "-std=gnu11", "-O1", *sanitize, *includes, f"-I{os.path.join(BUILD, 'generated')}", source,
           "-o", exe, lib, *pc.stdout.split(), hl, "-lm", "-lpthread"]
    r = subprocess.run(cmd, capture_output=True, text=True)
    if r.returncode != 0:
        print("runner build failed:", r.stderr[-2000:])
        return None
    return exe


# --- the protocol, from docs/protocol.md only ---

def envelope(event, seq, task_id, where, step, next_, emitter, type_, channel, serialization,
             payload, flags=0, retry=0, job_id=0):
    """Section 2: an array of 18 elements, version first; minimal msgpack is accepted."""
    return msgpack.packb([1, event, flags, seq, retry, 0, os.getpid(), zlib.crc32(payload),
                          task_id, job_id, int(time.time() * 1e6), where, step, next_, emitter,
                          type_, channel, serialization])


def send_vector(sock, task_id, record, seq=3):
    payload = msgpack.packb(record)  # section 6: a map of name -> number
    env = envelope(EVENTS["INIT"], seq, task_id, "local", "pyfeed", "work", "pyfeed", "load",
                   "", "zsat.record", payload)
    sock.send_multipart([b"local/load", env, payload])


def send_legacy(sock, task_id, payload):
    """Section 8: DSAT's single frame; event by name."""
    head = f"local:dsat:0:{os.getpid()}:work".encode()
    mid = f"dsat:load::{task_id}:INIT:5".encode()
    sock.send(head + b"\0" + mid + b"\0json\0" + payload)


def decode(frames):
    if len(frames) != 3:
        fail(f"forwarded message has {len(frames)} frames")
    routing, env, payload = frames
    fields = msgpack.unpackb(env)
    if len(fields) != 18 or fields[0] != 1:
        fail(f"bad envelope {fields!r}")
    names = ["version", "event", "flags", "seq", "retry", "wid", "pid", "checksum", "task_id",
             "job_id", "timestamp", "where", "step", "next", "emitter", "type", "channel",
             "serialization"]
    v = dict(zip(names, fields))
    if routing != f"{v['where']}/{v['type']}".encode():
        fail(f"routing frame {routing!r} disagrees with {v['where']}/{v['type']}")
    if v["checksum"] != zlib.crc32(payload):
        fail("checksum mismatch")
    v["payload"] = payload
    return v


def main():
    tmp = tempfile.mkdtemp(prefix="zsat-satpy-")
    node = None
    ctx = zmq.Context()
    try:
        if have_zsat_node():
            command = [ZSAT_BIN, "node", "--topology"]
            tail = ["--node", "work", "--host", "local", "--instance", "0"]
            how = "zsat node"
        else:
            runner = build_runner(tmp)
            if not runner:
                print("skip: no `zsat node` in this zsat and no compiler to build a runner")
                sys.exit(77)
            command = [runner]
            tail = ["work", "local"]
            how = "runner"
        feed_ep = f"ipc://{tmp}/work-in.ipc"
        sink_ep = f"ipc://{tmp}/sink.ipc"
        script = ("import json,sys; d=json.load(sys.stdin); "
                  "print(json.dumps({'n': d['n'], 'double': d['n'] * 2, 'lang': 'python'}))")
        topo = os.path.join(tmp, "py.yaml")
        with open(topo, "w") as f:
            f.write(f"""name: satpy
run_dir: {tmp}/run
nodes:
  pyfeed: {{kind: fault}}
  work: {{kind: exec, options: {{command: "/usr/bin/python3 -c \\"{script}\\"", timeout: 20s}}}}
  pysink: {{kind: fault}}
links:
  - {{from: pyfeed, to: work, endpoint: "{feed_ep}"}}
  - {{from: work, to: pysink, endpoint: "{sink_ep}"}}
""")
        sink = ctx.socket(zmq.PULL)
        sink.bind(sink_ep)
        log = open(os.path.join(tmp, "node.log"), "w")
        node = subprocess.Popen(command + [topo] + tail, stderr=log)
        feed = ctx.socket(zmq.PUSH)
        feed.setsockopt(zmq.LINGER, 2000)
        feed.connect(feed_ep)
        count = 5
        for i in range(1, count + 1):
            send_vector(feed, 1000 + i, {"n": i})
        feed.send_multipart([b"garbage", b"not msgpack"])  # 2 frames: refused, counted
        feed.send_multipart([b"local/load", b"\xdc\x00\x12\x02", b""])  # version 2: refused
        send_legacy(feed, 2000, b'{"n": 100}')
        send_vector(feed, 1006, {"n": 6})
        got = {}
        poller = zmq.Poller()
        poller.register(sink, zmq.POLLIN)
        deadline = time.monotonic() + 60
        while len(got) < count + 2 and time.monotonic() < deadline:
            if node.poll() is not None:
                fail(f"node exited with {node.returncode}")
            if poller.poll(200):
                v = decode(sink.recv_multipart())
                got[v["task_id"]] = v
        if len(got) != count + 2:
            fail(f"received {len(got)} of {count + 2} vectors: {sorted(got)}")
        for task_id, v in got.items():
            record = msgpack.unpackb(v["payload"])
            if v["serialization"] != "zsat.record" or record.get("lang") != "python":
                fail(f"task {task_id}: payload {record!r}")
            if record["double"] != 2 * record["n"]:
                fail(f"task {task_id}: {record!r}")
            if v["step"] != "work" or v["next"] != "pysink":
                fail(f"task {task_id}: step {v['step']} next {v['next']}")
            want_seq = 6 if task_id == 2000 else 4  # +1 at every send
            if v["seq"] != want_seq:
                fail(f"task {task_id}: seq {v['seq']}, want {want_seq}")
        if got[2000]["payload"] and msgpack.unpackb(got[2000]["payload"])["n"] != 100:
            fail("legacy vector payload")
        node.send_signal(signal.SIGTERM)
        try:
            rc = node.wait(timeout=20)
        except subprocess.TimeoutExpired:
            fail("node did not stop within 20 s of SIGTERM")
        if rc != 0:
            fail(f"node exit status {rc} after SIGTERM")
        node = None
        print(f"ok: {count + 2} vectors through a zsat exec node ({how}), "
              "1 legacy frame, 2 malformed messages refused")
    finally:
        if node and node.poll() is None:
            node.kill()
            node.wait()
        ctx.destroy(linger=0)
        if os.environ.get("ZSAT_KEEP_TMP"):
            print("kept", tmp)
        else:
            shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
