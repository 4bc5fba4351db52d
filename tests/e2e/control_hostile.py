# SPDX-License-Identifier: MPL-2.0
"""control_hostile - a hostile peer on every REP control socket of a topology run by
`zsat up` (orchester control, launcher control, tracker query): single frames without the
REP delimiter from a DEALER, multi-frame and binary garbage, raw bytes on the ipc socket
file. docs/sockets.md: a control socket never blocks its node. So afterwards, before any
valid request reaches them (one would unblock a node that waits for it): new csv rows
arrive, a kill -9'ed probe is restarted by the launcher, and then each control socket still
answers a valid request."""
import glob
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

import zmq

BIN = os.environ.get("ZSAT_BIN", "build/zsat")
TAG = b""
TOPOLOGY = """name: control-hostile
base_port: 7600
hosts:
  local: {address: 127.0.0.1}
nodes:
  cpu: {kind: cpu}
  csv: {kind: csv}
links:
  - cpu -> csv
schedules:
  - {type: cpu, every: 100ms}
"""


def wait_for(what, predicate, timeout=60.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError("timed out (%.0f s) waiting for %s" % (timeout, what))


def rows(run_dir):
    count = 0
    for path in glob.glob(os.path.join(run_dir, "**", "*.csv"), recursive=True):
        with open(path, errors="replace") as handle:
            count += max(0, sum(1 for _ in handle) - 1)
    return count


def node_pids(node, tag):
    """Pids of live `zsat node --node NODE` processes whose command line names tag (this
    run's directory), found in /proc, not by asking anyone."""
    pids = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open("/proc/%s/cmdline" % entry, "rb") as handle:
                argv = handle.read().split(b"\0")
            with open("/proc/%s/stat" % entry) as handle:
                state = handle.read().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        if state in ("Z", "X") or b"node" not in argv or not any(tag in a for a in argv):
            continue
        for i, arg in enumerate(argv[:-1]):
            if arg == b"--node" and argv[i + 1] == node.encode():
                pids.append(int(entry))
    return pids


def endpoints(env, path):
    out = subprocess.run([BIN, "show", path, "--host", "local"], capture_output=True,
                         text=True, env=env, check=True).stdout
    table, node = {}, None
    for line in out.splitlines():
        words = line.split()
        if words[:1] == ["node"]:
            node = words[1]
        elif words[:1] == ["bind"]:
            table[(node, words[2])] = words[3].lstrip("@")
    return table


def barrage(ctx, endpoint):
    """Everything a careless or hostile peer may send; no valid request among it."""
    dealer = ctx.socket(zmq.DEALER)
    dealer.setsockopt(zmq.LINGER, 1000)
    dealer.connect(endpoint)
    time.sleep(0.2)
    for _ in range(20):
        dealer.send(b"STATUS")                     # no delimiter: the case that froze nodes
        dealer.send_multipart([b"ROUTE", b"LIST"])  # no delimiter, two frames
        dealer.send(b"\xff\x00garbage")
    dealer.send_multipart([b"", b"a", b"b", b"c", b"d", b"e", b"f"])  # delimiter, 6 frames
    dealer.send_multipart([b"", b"\x00\x01\x02"])                    # binary request
    dealer.send(b"STATUS")                         # and a last one without a delimiter
    time.sleep(0.3)
    dealer.close()
    # raw bytes straight onto the socket file: not even ZMTP
    path = endpoint[len("ipc://"):]
    raw = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        raw.connect(path)
        raw.sendall(b"\x00" * 64 + os.urandom(256))
    except OSError:
        pass
    raw.close()


def ask(ctx, endpoint, request):
    """One valid request on a fresh REQ, bounded; None when there is no answer."""
    req = ctx.socket(zmq.REQ)
    req.setsockopt(zmq.LINGER, 0)
    req.setsockopt(zmq.RCVTIMEO, 5000)
    req.connect(endpoint)
    req.send_string(request)
    try:
        return req.recv_string()
    except zmq.Again:
        return None
    finally:
        req.close()


def run(tmp):
    global TAG
    TAG = tmp.encode()
    run_dir = os.path.join(tmp, "run")
    env = dict(os.environ, ZSAT_RUN_DIR=run_dir)
    path = os.path.join(tmp, "topology.yaml")
    with open(path, "w") as handle:
        handle.write(TOPOLOGY)
    eps = endpoints(env, path)
    log = open(os.path.join(tmp, "up.log"), "w")
    up = subprocess.Popen([BIN, "up", path, "--no-status", "--duration", "600"], env=env,
                          stdout=log, stderr=log)
    ctx = zmq.Context.instance()
    try:
        # docs/topology.md: launcher.control of host 0 is base_port + 6, ipc on its own host
        launcher = "ipc://%s/local/7606.ipc" % run_dir
        targets = {"orchester control": eps[("orchester", "control")],
                   "tracker query": eps[("tracker", "query")],
                   "launcher control": launcher}
        wait_for("first csv rows", lambda: rows(run_dir) >= 5)
        old = wait_for("the cpu probe's pid", lambda: node_pids("cpu", TAG))
        for name, endpoint in targets.items():
            print("barrage on", name, endpoint)
            barrage(ctx, endpoint)
        before = rows(run_dir)
        wait_for("new csv rows after the barrage (orchester wedged?)",
                 lambda: rows(run_dir) >= before + 10)
        print("rows flow: %d -> %d" % (before, rows(run_dir)))
        os.kill(old[0], signal.SIGKILL)
        new = wait_for("a new cpu process after kill -9 (launcher wedged?)",
                       lambda: [p for p in node_pids("cpu", TAG) if p not in old])
        print("cpu pid %d killed, restarted as %d" % (old[0], new[0]))
        after = rows(run_dir)
        wait_for("rows from the restarted probe", lambda: rows(run_dir) >= after + 5)
        status = json.loads(ask(ctx, launcher, "STATUS") or "null")
        assert status and status["state"] == "running", status
        assert status.get("control_dropped", 0) >= 1, "launcher counted %r" % status
        stats = json.loads(ask(ctx, targets["orchester control"], "STATS") or "null")
        assert stats and stats.get("control_dropped", 0) >= 1, stats
        assert stats.get("bad_control", 0) >= 2, stats
        nodes = ask(ctx, targets["tracker query"], "NODES")
        assert nodes and json.loads(nodes).get("nodes") is not None, nodes
        routes = ask(ctx, targets["orchester control"], "ROUTE LIST")
        assert routes and routes.startswith("cpu"), routes
        print("every control socket answers; orchester dropped %d, bad %d; launcher "
              "dropped %d" % (stats["control_dropped"], stats["bad_control"],
                              status["control_dropped"]))
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
    tmp = tempfile.mkdtemp(prefix="zsat-control-hostile.%d." % os.getpid())
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
    print("control_hostile: OK")
    return 0


if __name__ == "__main__":
    sys.exit(main())
