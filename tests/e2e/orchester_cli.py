"""orchester_cli - `zsat send`, `zsat route` and `zsat tap` as real processes against real
sockets that this test binds where the orchester, the scheduler and the tracker would be.
When `zsat node` exists, also a real orchester process: routing, run-time routes, malformed
frames to every socket (counted, no crash, good traffic unaffected)."""
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time

import zmq

ZSAT = os.environ.get("ZSAT_BIN", "build/zsat")
TOPOLOGY = """name: e2e
hosts:
  h1: {address: 127.0.0.1}
nodes:
  cpu: {kind: cpu}
  spare: {kind: cpu}
  csv: {kind: csv}
links:
  - cpu -> csv
routes:
  cpu: cpu
  spare: spare
"""


def run(args, stdin=None, timeout=30):
    return subprocess.run([ZSAT] + args, input=stdin, capture_output=True, text=True,
                          timeout=timeout, env=ENV)


def endpoints(path):
    """(node, socket name) -> endpoint, from `zsat show`."""
    out = run(["show", path, "--host", "h1"]).stdout
    table, node = {}, None
    for line in out.splitlines():
        words = line.split()
        if words[:1] == ["node"]:
            node = words[1]
        elif words[:1] in (["bind"], ["connect"]):
            table[(node, words[2])] = words[3].lstrip("@>")
    return table


def check(cond, what):
    if not cond:
        print("FAIL:", what)
        sys.exit(1)


def test_send(ctx, eps, path):
    pull = ctx.socket(zmq.PULL)
    pull.bind(eps[("orchester", "any")])
    pull.RCVTIMEO = 5000
    # --endpoint: a plain PUSH to this PULL (no orchester, no verdict: said so)
    any_ep = eps[("orchester", "any")]
    r = run(["send", "--endpoint", any_ep, "--host", "h1", "--type", "cpu", "--payload", "hello",
             "--count", "3"])
    check(r.returncode == 0 and "3 vectors pushed" in r.stdout and "unconfirmed" in r.stdout,
          "zsat send --endpoint: " + r.stdout + r.stderr)
    frames = [pull.recv_multipart() for _ in range(3)]
    check(all(len(f) == 3 and f[0] == b"h1/cpu" and f[2] == b"hello" for f in frames),
          "three vectors of three frames")
    r = run(["send", "--endpoint", any_ep, "--host", "h1", "--json"],
            stdin='{"type":"cpu","payload":"x","seq":2}')
    check(r.returncode == 0, "zsat send --json: " + r.stderr)
    f = pull.recv_multipart()
    check(f[0] == b"h1/cpu" and f[2] == b"x", "json vector")
    r = run(["send", "--topology", path, "--type", "bad/type"])
    check(r.returncode != 0 and r.stderr, "invalid type refused")
    r = run(["send"])
    check(r.returncode == 2, "usage error exits 2")
    pull.close()
    return frames[0]


def test_route(ctx, eps, path):
    rep = ctx.socket(zmq.REP)
    rep.bind(eps[("orchester", "control")])
    seen = []

    def serve():
        for reply in (b"OK", b"ERROR no such route"):
            seen.append(rep.recv())
            rep.send(reply)

    t = threading.Thread(target=serve)
    t.start()
    r = run(["route", "add", "cpu", "spare", "--topology", path])
    check(r.returncode == 0 and r.stdout.strip() == "OK", "route add: " + r.stderr)
    r = run(["route", "del", "cpu", "nope", "--topology", path])
    check(r.returncode == 1 and "no such route" in r.stderr, "route del error")
    t.join(5)
    check(seen == [b"ROUTE ADD cpu spare", b"ROUTE DEL cpu nope"], "requests %r" % seen)
    rep.close()
    r = run(["route", "list", "--topology", path, "--timeout", "300"])
    check(r.returncode == 1 and "nothing listens" in r.stderr, "no orchester: clear error")


def test_tap(ctx, eps, path, vector):
    pub = ctx.socket(zmq.PUB)
    pub.bind(eps[("scheduler", "jobs")])
    proc = subprocess.Popen([ZSAT, "tap", "--topology", path, "--jobs", "--json", "--count",
                             "2", "--timeout", "10000"], stdout=subprocess.PIPE, text=True,
                            env=ENV)
    # slow joiner: publish until the tap has printed two vectors
    deadline = time.time() + 10
    while proc.poll() is None and time.time() < deadline:
        pub.send_multipart(vector)
        time.sleep(0.02)
    out = proc.communicate(timeout=10)[0]
    lines = [json.loads(x) for x in out.splitlines()]
    check(proc.returncode == 0 and len(lines) == 2 and lines[0]["type"] == "cpu",
          "tap --jobs: %r" % out)
    pub.close()
    state = ctx.socket(zmq.PUB)
    state.bind(eps[("tracker", "state")])
    proc = subprocess.Popen([ZSAT, "tap", "--topology", path, "--tracker", "--count", "1",
                             "--timeout", "10000"], stdout=subprocess.PIPE, text=True, env=ENV)
    deadline = time.time() + 10
    while proc.poll() is None and time.time() < deadline:
        state.send_multipart([b"stats", b'{"tasks":1}'])
        time.sleep(0.02)
    out = proc.communicate(timeout=10)[0]
    check(proc.returncode == 0 and out.startswith("stats"), "tap --tracker: %r" % out)
    state.close()
    r = run(["tap", "--topology", path, "--link", "cpu->csv", "--count", "1"])
    check(r.returncode == 2 and "steal" in r.stderr, "push/pull link refused: " + r.stderr)


def test_real_orchester(ctx, eps, path):
    if run(["node", "--help"]).returncode != 0:
        print("zsat node not available: real-process orchester part skipped")
        return
    events = ctx.socket(zmq.PULL)
    events.bind(eps[("tracker", "events")])
    node = subprocess.Popen([ZSAT, "node", "--topology", path, "--node", "orchester", "--host",
                             "h1", "--instance", "0"], env=ENV)
    try:
        cpu = ctx.socket(zmq.PULL)
        cpu.connect(eps[("cpu", "in:route")])
        cpu.RCVTIMEO = 5000
        time.sleep(0.5)
        any_ = ctx.socket(zmq.PUSH)
        any_.connect(eps[("orchester", "any")])
        for garbage in ([b"x"], [b"a", b"b"], [b"1"] * 5, [b"h1/cpu", b"\xdc", b""]):
            any_.send_multipart(garbage)
        r = run(["send", "--topology", path, "--type", "cpu", "--payload", "p", "--count", "5"])
        check(r.returncode == 0, "send to real orchester")
        got = [cpu.recv_multipart() for _ in range(5)]
        check(all(g[2] == b"p" for g in got), "routed by the real orchester")
        r = run(["route", "stats", "--topology", path])
        stats = json.loads(r.stdout)
        check(stats["dead_letters"]["malformed"] == 4 and stats["routed"] == 5, r.stdout)
        r = run(["route", "list", "--topology", path])
        check("cpu cpu" in r.stdout, "route list")
    finally:
        node.terminate()
        node.wait(10)
    check(node.returncode == 0, "orchester exits cleanly on SIGTERM")


def main():
    global ENV
    tmp = tempfile.mkdtemp(prefix="zsat-e2e-orch-")
    ENV = dict(os.environ, ZSAT_RUN_DIR=tmp)
    os.makedirs(os.path.join(tmp, "h1"), mode=0o700)
    path = os.path.join(tmp, "topo.yaml")
    with open(path, "w") as f:
        f.write(TOPOLOGY)
    ctx = zmq.Context()
    try:
        eps = endpoints(path)
        check(("orchester", "any") in eps, "zsat show gives the orchester's sockets")
        vector = test_send(ctx, eps, path)
        test_route(ctx, eps, path)
        test_tap(ctx, eps, path, vector)
        test_real_orchester(ctx, eps, path)
    finally:
        ctx.destroy(linger=0)
        shutil.rmtree(tmp, ignore_errors=True)
    print("orchester_cli: OK")


if __name__ == "__main__":
    main()
