#!/usr/bin/env python3
"""tracker_node - a real tracker process (`zsat node ... --node tracker`) fed by a real PUSH
socket with zsat.ev batches encoded here (msgpack): the happy path, ERROR -> RESEND ->
FAILURE, hostile messages counted, `zsat status/trace/watch` against it, then kill -9 and a
restart that the same connected PUSH socket finds again (heartbeats rebuild the node table).
Skips (77) while `zsat node` is not built. Every wait is bounded; asserts on counts/orders.
"""
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time

import msgpack
import zmq

ZSAT = os.environ.get("ZSAT_BIN")
EV = {"INIT": 1, "ACK": 3, "SEND": 4, "BEGIN": 5, "END": 6, "HAPPY_END": 7, "ERROR": 9,
      "HEARTBEAT": 13}


def skip(why):
    print("skip:", why)
    sys.exit(77)


def batch(node, records, wid=1):
    """One zsat.ev message: [version, host, node, wid, pid, zsat_version, [records]]."""
    now = int(time.time() * 1e6)
    recs = [[EV[e], tid, 7, "cpu", retry, seq, now, 0, detail]
            for (e, tid, retry, seq, detail) in records]
    return [b"zsat.ev", msgpack.packb([1, "a", node, wid, 4242, "0.1.0", recs],
                                      use_bin_type=True)]


class Rig:
    def __init__(self, tmp):
        self.tmp = tmp
        self.run = os.path.join(tmp, "run")
        self.topology = os.path.join(tmp, "trk.yaml")
        with open(self.topology, "w") as f:
            f.write(f"""name: trk
run_dir: {self.run}
hosts:
  a: {{address: 127.0.0.1}}
nodes:
  cpu: {{kind: cpu, host: a}}
  csv: {{kind: csv, host: a}}
links:
  - cpu -> csv
tracker:
  timeout: 5s
  max_retry: 1
  backoff: 10ms
""")
        self.proc = None
        self.ctx = zmq.Context()
        self.push = self.ctx.socket(zmq.PUSH)
        self.push.setsockopt(zmq.LINGER, 0)
        self.push.setsockopt(zmq.SNDTIMEO, 5000)
        self.sub = self.ctx.socket(zmq.SUB)
        self.sub.setsockopt(zmq.LINGER, 0)
        self.sub.setsockopt(zmq.SUBSCRIBE, b"")

    def endpoint(self, what):
        # the singletons' ports are base_port + 0 (events), 1 (state), 2 (query)
        port = {"events": 7100, "state": 7101, "query": 7102}[what]
        return f"ipc://{self.run}/a/{port}.ipc"

    def start(self):
        log = open(os.path.join(self.tmp, "tracker.log"), "a")
        self.proc = subprocess.Popen([ZSAT, "node", "--topology", self.topology, "--node",
                                      "tracker", "--host", "a"], stdout=log, stderr=log)
        for _ in range(100):
            if self.ask("STATUS", timeout=200) is not None:
                return
            assert self.proc.poll() is None, "tracker exited: see tracker.log"
        raise AssertionError("tracker never answered")

    def ask(self, request, timeout=2000):
        req = self.ctx.socket(zmq.REQ)
        req.setsockopt(zmq.LINGER, 0)
        req.setsockopt(zmq.RCVTIMEO, timeout)
        req.connect(self.endpoint("query"))
        try:
            req.send_string(request)
            return req.recv_string()
        except zmq.Again:
            return None
        finally:
            req.close()

    def status(self):
        return json.loads(self.ask("STATUS"))

    def wait_topic(self, prefix, seconds=10):
        until = time.time() + seconds
        while time.time() < until:
            if self.sub.poll(200):
                topic, body = self.sub.recv_multipart()
                if topic.decode().startswith(prefix):
                    return topic.decode(), json.loads(body)
        raise AssertionError(f"no {prefix} on the feed")

    def wait_counter(self, name, value, seconds=10):
        until = time.time() + seconds
        while time.time() < until:
            if self.status()["counters"][name] >= value:
                return
            time.sleep(0.05)
        raise AssertionError(f"counter {name} never reached {value}")

    def zsat(self, *args):
        return subprocess.run([ZSAT, *args, "--topology", self.topology, "--timeout", "2000"],
                              capture_output=True, text=True, timeout=60)


def scenario(rig):
    rig.start()
    rig.push.connect(rig.endpoint("events"))
    rig.sub.connect(rig.endpoint("state"))
    rig.wait_topic("stats")  # the SUB has joined: nothing later is lost to a slow join

    # happy path over three stages
    rig.push.send_multipart(batch("orchester", [("INIT", 1, 0, 0, ""), ("ACK", 1, 0, 1, ""),
                                                ("SEND", 1, 0, 1, "")]))
    rig.push.send_multipart(batch("cpu", [("ACK", 1, 0, 2, ""), ("BEGIN", 1, 0, 2, ""),
                                          ("END", 1, 0, 2, ""),
                                          ("HEARTBEAT", 0, 0, 0,
                                           "in=1 out=1 errors=0 retries=0 dropped=0 dead=0")]))
    rig.push.send_multipart(batch("csv", [("ACK", 1, 0, 3, ""), ("BEGIN", 1, 0, 3, ""),
                                          ("HAPPY_END", 1, 0, 3, "")]))
    rig.wait_counter("happy_ends", 1)
    trace = json.loads(rig.ask("TRACE 1"))
    assert trace["state"] == "DONE" and trace["events"] == 9, trace

    # ERROR: RESEND to host a with retry 1; ERROR again: FAILURE (max_retry 1)
    rig.push.send_multipart(batch("orchester", [("SEND", 2, 0, 1, "")]))
    rig.push.send_multipart(batch("cpu", [("BEGIN", 2, 0, 2, ""), ("ERROR", 2, 0, 2, "boom")]))
    topic, body = rig.wait_topic("RESEND.")
    assert topic == "RESEND.a" and body["task_id"] == 2 and body["retry"] == 1, body
    rig.push.send_multipart(batch("cpu", [("BEGIN", 2, 1, 2, ""), ("ERROR", 2, 1, 2, "boom")]))
    topic, body = rig.wait_topic("FAILURE")
    assert body["task_id"] == 2 and "retries exhausted (1): ERROR at cpu@a: boom" in \
        body["reason"], body
    assert body["history"] and body["history"][-1]["event"] == "ERROR"

    # hostile messages: counted, the tracker goes on
    bad_before = rig.status()["counters"]["bad_messages"]
    rig.push.send_multipart([b"zsat.ev"])
    rig.push.send_multipart([b"zsat.ev", b"\xc1\xc1\xc1"])
    rig.push.send_multipart([b"other", b"x"])
    rig.push.send_multipart([b"zsat.ev", msgpack.packb([1, "a", "cpu", 1, 1, "v", [[1, 2]]])])
    rig.wait_counter("bad_messages", bad_before + 4)
    assert rig.ask("NONSENSE").startswith('{"error":')

    # the CLI against the live tracker
    out = rig.zsat("status")
    assert out.returncode == 0 and "cpu" in out.stdout and "csv" in out.stdout, out
    out = rig.zsat("status", "--json")
    assert out.returncode == 0 and json.loads(out.stdout)["counters"]["happy_ends"] == 1
    out = rig.zsat("trace", "1")
    assert out.returncode == 0 and "state DONE" in out.stdout and "HAPPY_END" in out.stdout, out
    out = rig.zsat("trace", "999")
    assert out.returncode == 1 and "not retained" in out.stdout, out
    out = rig.zsat("watch", "--count", "2")
    assert out.returncode == 0 and out.stdout.count("zsat watch") == 2, out

    # kill -9: the CLI says nobody answers; a restarted tracker is found by the same PUSH
    rig.proc.send_signal(signal.SIGKILL)
    rig.proc.wait(timeout=10)
    out = rig.zsat("status")
    assert out.returncode == 1 and "no tracker answered" in out.stderr, out
    rig.start()
    hb = ("HEARTBEAT", 0, 0, 0, "in=5 out=5 errors=0 retries=0 dropped=0 dead=0")
    for _ in range(100):
        rig.push.send_multipart(batch("cpu", [hb]))
        nodes = json.loads(rig.ask("NODES"))["nodes"]
        if any(n["node"] == "cpu" and n["in"] == 5 for n in nodes):
            break
        time.sleep(0.1)
    else:
        raise AssertionError("the restarted tracker never saw the node again")

    rig.proc.send_signal(signal.SIGTERM)
    assert rig.proc.wait(timeout=15) == 0


def main():
    if not ZSAT:
        skip("ZSAT_BIN not set")
    probe = subprocess.run([ZSAT, "node", "--help"], capture_output=True)
    if probe.returncode != 0:
        skip("zsat node is not built yet")
    tmp = tempfile.mkdtemp(prefix="zsat-tracker-e2e-")
    rig = Rig(tmp)
    try:
        scenario(rig)
    except BaseException:
        log = os.path.join(tmp, "tracker.log")
        if os.path.exists(log):
            sys.stderr.write(open(log).read()[-4000:])
        raise
    finally:
        if rig.proc and rig.proc.poll() is None:
            rig.proc.kill()
            rig.proc.wait()
        rig.ctx.destroy(linger=0)
        shutil.rmtree(tmp, ignore_errors=True)
    print("tracker_node: OK")


if __name__ == "__main__":
    main()
