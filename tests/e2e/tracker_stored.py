#!/usr/bin/env python3
# SPDX-License-Identifier: MPL-2.0
"""tracker_stored - a task parked in the replay buffer is not a FAILURE. `zsat up` of
gen -> vault (buffer, critical channel `data`, retention 10m) -> csv, tracker deadline 2 s.
The consumer csv is stopped (SIGSTOP) for 8 s, four deadlines, then resumed: the buffer
reported each task STORED, the tracker waited the channel's retention instead of the stage
deadline, and every task ends HAPPY_END on the consumer's ack: zero FAILURE.
"""
import csv
import glob
import json
import os
import shutil
import signal
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from zsatup import Up, need  # noqa: E402

TOPOLOGY = """nodes:
  gen: {kind: gen, host: a, options: {rate: 20, duration: 14s, type: load, critical: true, channel: data}}
  vault: {kind: buffer, host: a, options: {channel: data}}
  csv: {kind: csv, host: a, options: {flush: every}}
links:
  - gen -> vault
  - vault -> csv
channels:
  data: {critical: true, durability: batch, consumers: [csv], retention: 10m}
tracker:
  timeout: 2s
"""


def pid_of(up, node):
    nodes = json.loads(up.ask("NODES"))["nodes"]
    pids = [n["pid"] for n in nodes if n["node"] == node and n["alive"]]
    assert len(pids) == 1, nodes
    return pids[0]


def csv_ids(run):
    ids = set()
    for name in glob.glob(os.path.join(run, "**", "*.csv"), recursive=True):
        with open(name) as f:
            ids.update(int(r[3]) for r in csv.reader(f) if len(r) > 3 and r[3].isdigit())
    return ids


def main():
    need(["up", "--help"], ["help", "gen"], ["help", "buffer"], ["help", "csv"])
    tmp = tempfile.mkdtemp(prefix="zsat-stored-")
    up = None
    stopped = None
    try:
        up = Up(tmp, "stored", TOPOLOGY)
        up.wait(lambda: all(len(up.stage(n)) and up.stage(n)[0]["instances"] == 1
                            for n in ("gen", "csv")), 30, "gen and csv alive")
        up.wait(lambda: up.counter("happy_ends") >= 10, 30, "rows flowing")
        stopped = pid_of(up, "csv")
        os.kill(stopped, signal.SIGSTOP)
        time.sleep(8)  # the fault: longer than the 2 s deadline, not a threshold asserted on
        parked = up.status()["tracker"]["live"]
        os.kill(stopped, signal.SIGCONT)
        stopped = None
        # gen stops after 14 s; then every task ends
        last = [-1]

        def settled():
            now = up.counter("happy_ends") + up.counter("failures")
            done = up.status()["tracker"]["live"] == 0 and now == last[0]
            last[0] = now
            time.sleep(1)
            return done
        up.wait(settled, 180, "every task ended")
        counters = up.status()["counters"]
        failures = up.topics("FAILURE")
        assert counters["failures"] == 0 and not failures, (counters, failures[:3])
        ids = csv_ids(up.run)
        assert len(ids) == counters["happy_ends"], (len(ids), counters)
        assert parked > 20, f"only {parked} tasks were parked while csv was stopped"
        print(f"stored: {parked} tasks parked while csv was stopped, "
              f"{counters['happy_ends']} HAPPY_END, 0 FAILURE")
    finally:
        if stopped:
            os.kill(stopped, signal.SIGCONT)
        if up:
            up.stop()
        shutil.rmtree(tmp, ignore_errors=True)
    print("tracker_stored: OK")


if __name__ == "__main__":
    main()
