#!/usr/bin/env python3
# SPDX-License-Identifier: MPL-2.0
"""tracker_routed_race - a worker's ERROR that reaches the tracker before the orchester's
SEND (their event batches race) is still re-sent within the retry budget.

`zsat up` runs a route `job -> fake`, where `fake` is `kind: external`: this script is the
worker (pyzmq/msgpack, the wire of docs/satellites.md section 3). For a job it receives, it
SIGSTOPs the orchester at once, so the orchester's ACK and SEND stay in its unflushed batch,
and reports the task's INIT (as the scheduler would: the task began at a source) and its own
ACK, BEGIN and ERROR. The tracker must publish RESEND.a (the vector's
ROUTED flag says an orchester holds it), not FAILURE "not re-sendable"; after SIGCONT the
orchester re-sends the task with retry 1 and the worker ends it (HAPPY_END): DONE.
An attempt where the orchester's events reached the tracker before the stop is not the race:
the script sends bursts of 20 jobs (the orchester holds events up to 5 ms after a flush),
at most 10 (a skip, exit 77, when none raced). Every wait is bounded.
"""
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from zsatup import ZSAT, Up, need  # noqa: E402

import msgpack  # noqa: E402
import zmq  # noqa: E402

BODY = """nodes:
  fake: {kind: external, host: a}
routes:
  job: fake
tracker:
  max_retry: 1
  backoff: 10ms
  timeout: 60s
  breaker: {threshold: 1, min_tasks: 1000000}
"""


class Fake:
    """The worker's sockets, from `zsat show --json`."""

    def __init__(self, up):
        shown = json.loads(subprocess.run([ZSAT, "show", up.file, "--json"], check=True,
                                          capture_output=True, text=True).stdout)
        me = [n for n in shown["hosts"][0]["nodes"] if n["name"] == "fake"][0]
        self.events = self.inlet = None
        for s in me["sockets"]:
            sock = up.ctx.socket({"PUSH": zmq.PUSH, "PULL": zmq.PULL}[s["type"]])
            sock.setsockopt(zmq.LINGER, 0)
            for part in s["endpoint"].split(","):
                (sock.bind if part[0] == "@" else sock.connect)(part[1:])
            if s["name"] == "events":
                self.events = sock
            elif s["name"] == "in:route":
                self.inlet = sock
        assert self.events and self.inlet, me["sockets"]

    def recv(self, seconds=60):
        assert self.inlet.poll(seconds * 1000), "no vector from the orchester"
        return msgpack.unpackb(self.inlet.recv_multipart()[1])

    def report(self, v, *events, node="fake"):
        """events: (number, detail); v: the envelope array (protocol.md section 2)."""
        now = int(time.time() * 1e6)
        seq = v[3] - 1 if node == "scheduler" else v[3]
        recs = [[n, v[8], v[9], v[15], v[4], seq, now, v[2], d] for n, d in events]
        self.events.send_multipart([b"zsat.ev", msgpack.packb([1, "a", node, 0, os.getpid(),
                                                               "race-test", recs])])


def decision(up, task):
    """RESEND or FAILURE of task on the feed, or None."""
    for topic, body in up.seen:
        if body.get("task_id") == task and (topic.startswith("RESEND") or topic == "FAILURE"):
            return topic, body
    return None


def orchester_pid(up):
    """From the tracker's node table (NODES), filled by heartbeats."""
    def pids():
        reply = up.ask("NODES")
        nodes = json.loads(reply).get("nodes", []) if reply else []
        return [n["pid"] for n in nodes if n["node"] == "orchester" and n["pid"]]
    up.wait(pids, 60, "the orchester's heartbeat")
    return pids()[0]


def attempt(up, fake, pid):
    """A burst of jobs; the orchester is stopped as soon as the first arrives, so the events of
    those it routed within its 5 ms batch delay stay unflushed. Returns the raced tasks (no
    orchester event at the tracker when it decided) with the tracker's decision."""
    up.send("job", 20)
    vectors = [fake.recv()]
    os.kill(pid, signal.SIGSTOP)
    try:
        while fake.inlet.poll(300):
            vectors.append(msgpack.unpackb(fake.inlet.recv_multipart()[1]))
        fresh = [v for v in vectors if v[4] == 0]
        for v in fresh:  # the task began at a source, as a scheduled job does: its INIT first
            fake.report(v, (1, ""), node="scheduler")
            fake.report(v, (3, ""), (5, ""), (9, "boom"))  # ACK, BEGIN, ERROR
        for v in fresh:
            up.wait(lambda: decision(up, v[8]), 60, f"RESEND or FAILURE of task {v[8]}")
        raced = {}
        for v in fresh:
            stages = [e.get("stage") for e in up.trace(v[8]).get("history", [])]
            if "orchester" not in stages:
                raced[v[8]] = decision(up, v[8])
        return raced
    finally:
        os.kill(pid, signal.SIGCONT)


def main():
    need(["--version"])
    tmp = tempfile.mkdtemp(prefix=f"zsat-routed-race-{os.getpid()}-")
    up = None
    try:
        up = Up(tmp, "race", BODY)
        fake = Fake(up)
        pid = orchester_pid(up)
        raced = {}
        for _ in range(10):
            raced = attempt(up, fake, pid)
            if raced:
                break
        if not raced:  # this script was always slower than the orchester's 5 ms: no race
            print("skip: the orchester's events always arrived first (10 bursts)")
            sys.exit(77)
        for task, (topic, body) in raced.items():
            assert topic == "RESEND.a", f"task {task}: {topic} {body}"
        open_tasks = set(raced)
        until = time.monotonic() + 120
        while open_tasks and time.monotonic() < until:  # re-sent from the retry cache
            if not fake.inlet.poll(1000):
                continue
            v = msgpack.unpackb(fake.inlet.recv_multipart()[1])
            fake.report(v, (3, ""), (5, ""), (7, ""))  # ACK, BEGIN, HAPPY_END
            if v[8] in open_tasks:
                assert v[4] == 1, f"task {v[8]} re-sent with retry {v[4]}"
                open_tasks.discard(v[8])
        assert not open_tasks, f"not re-sent: {sorted(open_tasks)}"
        for task in raced:
            up.wait(lambda: up.trace(task).get("state") == "DONE", 60, f"task {task} DONE")
        print(f"ok: {len(raced)} tasks whose ERROR came before the orchester's SEND: re-sent "
              "(retry 1) and DONE")
    finally:
        if up:
            up.stop()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
