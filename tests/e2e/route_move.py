# SPDX-License-Identifier: MPL-2.0
"""route_move - `zsat route move TYPE FROM TO` under a steady stream (docs/orchester.md,
"Routes at run time"): jobs of type cpu are pushed at a few hundred per second into the
orchester's `any` socket of a topology run by `zsat up`; half-way, the route moves from
probe cpuA to probe cpuB. Every task id sent must appear exactly once in the csv sink that
both probes feed: no duplicate (add-then-del sends the overlap twice) and no missing one
(del-then-add dead-letters the gap). The vectors are canonical, built from protocol.md's
fixed offsets (task_id at 36, job_id at 45) on a template that `zsat send --endpoint`
pushed into this test's own PULL."""
import csv
import glob
import os
import shutil
import signal
import struct
import subprocess
import sys
import tempfile
import threading
import time

import zmq

BIN = os.environ.get("ZSAT_BIN", "build/zsat")
RATE = 300      # vectors per second
COUNT = 1800    # about 6 s of stream; the move comes after a third of it
TOPOLOGY = """name: route-move
base_port: 7700
hosts:
  local: {address: 127.0.0.1}
nodes:
  cpuA: {kind: cpu}
  cpuB: {kind: cpu}
  csv: {kind: csv, options: {flush: every}}
links:
  - cpuA -> csv
  - cpuB -> csv
routes:
  cpu: cpuA
"""


def wait_for(what, predicate, timeout=120.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError("timed out (%.0f s) waiting for %s" % (timeout, what))


def endpoints(env, path):
    out = subprocess.run([BIN, "show", path, "--host", "local"], capture_output=True,
                         text=True, env=env, check=True).stdout
    table, node = {}, None
    for line in out.splitlines():
        words = line.split()
        if words[:1] == ["node"]:
            node = words[1]
        elif words[:1] in (["bind"], ["connect"]):
            table[(node, words[2])] = words[3].lstrip("@>")
    return table


def template(ctx, env, tmp):
    """Three canonical frames of a cpu job for host local, from `zsat send --endpoint`."""
    pull = ctx.socket(zmq.PULL)
    endpoint = "ipc://%s/template.ipc" % tmp
    pull.bind(endpoint)
    pull.RCVTIMEO = 10000
    r = subprocess.run([BIN, "send", "--endpoint", endpoint, "--host", "local", "--type", "cpu",
                        "--quiet"], capture_output=True, text=True, env=env, timeout=60)
    assert r.returncode == 0, r.stderr
    frames = pull.recv_multipart()
    pull.close()
    assert len(frames) == 3 and frames[0] == b"local/cpu", frames
    env_ = frames[1]
    assert env_[36] == 0xcf and env_[45] == 0xcf, "not canonical: %r" % env_[:64]
    return frames


def with_ids(frames, task_id):
    env_ = bytearray(frames[1])
    env_[37:45] = struct.pack(">Q", task_id)
    env_[46:54] = struct.pack(">Q", task_id)
    return [frames[0], bytes(env_), frames[2]]


def task_ids(run_dir):
    """(task_id -> rows, rows per node) over every csv part of the sink."""
    ids, nodes = {}, {}
    for path in glob.glob(os.path.join(run_dir, "**", "csv", "*.csv"), recursive=True):
        with open(path, newline="", errors="replace") as handle:
            reader = csv.reader(handle)
            next(reader, None)
            for row in reader:
                if len(row) >= 4 and row[3].isdigit():
                    ids[int(row[3])] = ids.get(int(row[3]), 0) + 1
                    nodes[row[2]] = nodes.get(row[2], 0) + 1
    return ids, nodes


def stream(ctx, endpoint, frames, base, sent, moved, move):
    push = ctx.socket(zmq.PUSH)
    push.setsockopt(zmq.LINGER, 5000)
    push.connect(endpoint)
    start = time.monotonic()
    mover = threading.Thread(target=lambda: moved.append(move()))
    for i in range(COUNT):
        delay = start + i / RATE - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        push.send_multipart(with_ids(frames, base + i))
        sent.append(base + i)
        if i == COUNT // 3:
            mover.start()  # the stream goes on while the route changes
    mover.join(120)
    push.close()


def run(tmp):
    run_dir = os.path.join(tmp, "run")
    env = dict(os.environ, ZSAT_RUN_DIR=run_dir)
    path = os.path.join(tmp, "topology.yaml")
    with open(path, "w") as handle:
        handle.write(TOPOLOGY)
    eps = endpoints(env, path)
    ctx = zmq.Context.instance()
    frames = template(ctx, env, tmp)
    log = open(os.path.join(tmp, "up.log"), "w")
    up = subprocess.Popen([BIN, "up", path, "--no-status", "--duration", "600"], env=env,
                          stdout=log, stderr=log)
    try:
        # the topology is up when the orchester answers and routes a first job
        def ready():
            r = subprocess.run([BIN, "send", "--topology", path, "--type", "cpu", "--quiet",
                                "--timeout", "1000"], capture_output=True, text=True, env=env)
            return r.returncode == 0 and task_ids(run_dir)[0]
        first = wait_for("the first routed job", ready)
        base = (int(time.time() * 1e6) << 12) + 100000
        sent, moved = [], []

        def move():
            return subprocess.run([BIN, "route", "move", "cpu", "cpuA", "cpuB", "--topology",
                                   path], capture_output=True, text=True, env=env, timeout=60)
        stream(ctx, eps[("orchester", "any")], frames, base, sent, moved, move)
        assert moved and moved[0].returncode == 0 and moved[0].stdout.strip() == "OK", \
            "route move: rc %s %s%s" % (moved[0].returncode, moved[0].stdout, moved[0].stderr)
        want = set(sent)
        wait_for("every task id in the sink",
                 lambda: want <= set(task_ids(run_dir)[0]), timeout=180)
        time.sleep(1.0)  # a duplicate arriving late would show now
        ids, nodes = task_ids(run_dir)
        dup = [t for t in want if ids.get(t, 0) > 1]
        missing = [t for t in want if t not in ids]
        routes = subprocess.run([BIN, "route", "list", "--topology", path], capture_output=True,
                                text=True, env=env, timeout=60).stdout
        print("sent %d, rows %d (warm-up %d), per node %s, duplicates %d, missing %d; routes "
              "now %r" % (len(sent), sum(ids.values()), len(first), nodes, len(dup),
                          len(missing), routes.strip()))
        assert not dup and not missing, "duplicates %d, missing %d" % (len(dup), len(missing))
        assert nodes.get("cpuA", 0) > 0 and nodes.get("cpuB", 0) > 0, nodes
        assert routes.strip() == "cpu cpuB", routes
        up.send_signal(signal.SIGINT)
        assert up.wait(timeout=120) == 0, "zsat up exit status %s" % up.returncode
    finally:
        if up.poll() is None:
            up.kill()
            up.wait()
        log.close()


def main():
    if subprocess.run([BIN, "help", "cpu"], capture_output=True).returncode != 0:
        print("SKIP: this build has no cpu kind")
        return 77
    tmp = tempfile.mkdtemp(prefix="zsat-route-move.%d." % os.getpid())
    try:
        run(tmp)
    except BaseException:
        for path in [os.path.join(tmp, "up.log")] + glob.glob(
                os.path.join(tmp, "run", "*", "logs", "*.log")):
            with open(path, errors="replace") as handle:
                print("==", path, "\n" + "".join(handle.readlines()[-10:]))
        raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    print("route_move: OK")
    return 0


if __name__ == "__main__":
    sys.exit(main())
