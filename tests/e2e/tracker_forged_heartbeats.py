#!/usr/bin/env python3
# SPDX-License-Identifier: MPL-2.0
"""tracker_forged_heartbeats - a hostile peer forges thousands of heartbeats with made-up node
names into the tracker's events socket of a running topology (`zsat up`), encoded here from
docs/protocol.md section 7 (msgpack zsat.ev batches). The tracker's node table has 4096 rows:
before the fix the forgeries took every one (and every stage row), so a real node started
afterwards never showed. Now undeclared nodes live in a bounded side table (least recently
seen out) and a node the topology declares, started after the barrage, shows in `zsat status`
and NODES. Skips (77) while `zsat up` or the kinds are not built. Every wait is bounded.
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
FORGED = 6000  # more than the 4096-row node table and the 1024-row stage table
HEARTBEAT = 13


def skip(why):
    print("skip:", why)
    sys.exit(77)


def forged_batch(i, now_us):
    """One heartbeat of a node no topology declares, as a node would send it."""
    rec = [HEARTBEAT, 0, 0, "", 0, 0, now_us, 0,
           "in=1 out=1 errors=0 retries=0 dropped=0 dead=0"]
    return [b"zsat.ev", msgpack.packb([1, "a", f"ghost{i}", i % 7, 40000 + i, "0.1.0", [rec]],
                                      use_bin_type=True)]


class Rig:
    def __init__(self, tmp):
        self.tmp = tmp
        self.run = os.path.join(tmp, "run")
        self.topology = os.path.join(tmp, "forged.yaml")
        with open(self.topology, "w") as f:
            f.write(f"""name: forged
run_dir: {self.run}
hosts:
  a: {{address: 127.0.0.1}}
nodes:
  cpu:  {{kind: cpu, host: a}}
  late: {{kind: fault, host: a, instances: 0, min: 0, max: 1}}
  csv:  {{kind: csv, host: a}}
links:
  - cpu -> csv
schedules:
  - {{type: cpu, every: 500ms}}
""")
        self.ctx = zmq.Context()
        self.up = None
        self.late = None

    def endpoint(self, port):
        # singletons first: tracker.events 7100, tracker.state 7101, tracker.query 7102
        return f"ipc://{self.run}/a/{port}.ipc"

    def ask(self, request, timeout=2000):
        req = self.ctx.socket(zmq.REQ)
        req.setsockopt(zmq.LINGER, 0)
        req.setsockopt(zmq.RCVTIMEO, timeout)
        req.connect(self.endpoint(7102))
        try:
            req.send_string(request)
            return json.loads(req.recv_string())
        except zmq.Again:
            return None
        finally:
            req.close()

    def wait(self, what, check, seconds):
        until = time.time() + seconds
        while time.time() < until:
            value = check()
            if value:
                return value
            time.sleep(0.2)
        raise AssertionError(f"{what}: not within {seconds} s")

    def alive(self, node):
        nodes = self.ask("NODES")
        return nodes and [n for n in nodes["nodes"] if n["node"] == node and n["alive"]]

    def stage(self, node):
        status = self.ask("STATUS")
        rows = status and [s for s in status["stages"] if s["node"] == node]
        return rows[0] if rows else None

    def zsat(self, *args):
        return subprocess.run([ZSAT, *args, "--topology", self.topology, "--timeout", "3000"],
                              capture_output=True, text=True, timeout=60)


def scenario(rig):
    log = open(os.path.join(rig.tmp, "up.log"), "w")
    rig.up = subprocess.Popen([ZSAT, "up", rig.topology, "--duration", "120", "--no-status"],
                              stdout=log, stderr=log, start_new_session=True)
    rig.wait("the real cpu instance heartbeating", lambda: rig.alive("cpu"), 30)

    push = rig.ctx.socket(zmq.PUSH)
    push.setsockopt(zmq.LINGER, 2000)
    push.setsockopt(zmq.SNDTIMEO, 5000)
    push.connect(rig.endpoint(7100))
    before = rig.ask("STATUS")["counters"]["records"]
    now_us = int(time.time() * 1e6)
    for i in range(FORGED):
        push.send_multipart(forged_batch(i, now_us))
    rig.wait("the tracker read the forged batches",
             lambda: rig.ask("STATUS")["counters"]["records"] >= before + FORGED, 30)
    nodes = rig.ask("NODES")["nodes"]
    ghosts = [n for n in nodes if n["node"].startswith("ghost")]
    print(f"after {FORGED} forged heartbeats: {len(nodes)} node rows, {len(ghosts)} ghosts")
    assert rig.alive("cpu"), "the real cpu instance vanished from NODES"

    # a real node started after the barrage shows, with its instance counted
    rig.late = subprocess.Popen([ZSAT, "node", "--topology", rig.topology, "--node", "late",
                                 "--host", "a", "--instance", "0"],
                                stdout=log, stderr=log, start_new_session=True)
    rig.wait("the late node alive in NODES", lambda: rig.alive("late"), 20)
    stage = rig.wait("the late stage with one instance in STATUS",
                     lambda: (rig.stage("late") or {}).get("instances", 0) >= 1 and
                     rig.stage("late"), 20)
    assert stage["host"] == "a", stage
    out = rig.zsat("status")
    assert out.returncode == 0 and "late" in out.stdout and "cpu" in out.stdout, out
    # the forgeries are bounded: they never hold more than a small share of the rows
    assert len(ghosts) <= 512, len(ghosts)
    counters = rig.ask("STATUS")["counters"]
    print("counters:", {k: counters[k] for k in ("overflow", "undeclared_evicted")})
    assert counters["undeclared_evicted"] > 0, counters
    push.close()


def main():
    if not ZSAT:
        skip("ZSAT_BIN not set")
    if subprocess.run([ZSAT, "help", "fault"], capture_output=True).returncode != 0:
        skip("this build has no fault kind")
    tmp = tempfile.mkdtemp(prefix="zsat-forged-")
    rig = Rig(tmp)
    try:
        scenario(rig)
        print("ok")
    except AssertionError:
        for name in ("up.log",):
            path = os.path.join(tmp, name)
            if os.path.exists(path):
                print(f"== {name}\n" + open(path).read()[-3000:])
        raise
    finally:
        for proc in (rig.late, rig.up):
            if proc and proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
                try:
                    proc.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    os.killpg(proc.pid, signal.SIGKILL)
                    proc.wait()
        rig.ctx.destroy(linger=0)
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
