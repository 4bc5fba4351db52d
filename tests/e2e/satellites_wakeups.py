#!/usr/bin/env python3
# SPDX-License-Identifier: MPL-2.0
"""satellites_wakeups - a node's cost follows its vectors, not a wake-up per vector or per
tick (docs/satellites.md "Sources", "Events"). `zsat up` of gen (1000 vectors/s, 4000 in
all) -> csv: the wake-ups of the gen and csv processes (voluntary context switches summed
over their threads, read from /proc) stay below one per vector over the whole run; each
vector used to cost about three. Then, idle (gen done), the two stay below a generous count
per second of a window, and so does the tracker, whose table still holds the 4000 finished
tasks (kept 30 s for `trace`): it used to turn its deadline wheel every 10 ms for them.
A loaded machine only merges wake-ups, so the bounds hold under load.
"""
import glob
import json
import os
import shutil
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from zsatup import Up, need  # noqa: E402

COUNT = 4000
PER_VECTOR_MAX = 1.0   # measured ~0.2 after the fix, ~3.2 before it (main 9a4e17b)
IDLE_PER_S_MAX = 100   # measured ~16: heartbeats, the csv flush tick, node main loops
TRACKER_IDLE_PER_S_MAX = 60  # measured ~10-20 after the fix, ~110-140 before it

TOPOLOGY = f"""nodes:
  gen: {{kind: gen, host: a, options: {{rate: 1000, count: {COUNT}, type: load}}}}
  csv: {{kind: csv, host: a}}
links:
  - gen -> csv
"""


def switches(pid):
    """Voluntary context switches of every thread of pid (the times it went to sleep)."""
    total = 0
    for status in glob.glob(f"/proc/{pid}/task/*/status"):
        try:
            with open(status) as f:
                for line in f:
                    if line.startswith("voluntary_ctxt_switches:"):
                        total += int(line.split()[1])
        except OSError:
            pass  # a thread that ended in between
    return total


def rows(run):
    n = 0
    for name in glob.glob(os.path.join(run, "**", "csv", "load*.csv"), recursive=True):
        with open(name, "rb") as f:
            n += max(0, f.read().count(b"\n") - 1)  # minus the header
    return n


def tracker_pid(up):
    """The tracker sends no heartbeat of itself (not in NODES): found by its command line."""
    for name in os.listdir("/proc"):
        try:
            with open(f"/proc/{name}/cmdline", "rb") as f:
                argv = f.read().split(b"\0")
        except OSError:
            continue
        # its topology: the file itself, or the copy the launcher keeps in the run dir
        mine = any(a == up.file.encode() or a.startswith(up.run.encode()) for a in argv)
        if b"tracker" in argv and b"--node" in argv and mine:
            return int(name)
    return None


def pids(up):
    nodes = json.loads(up.ask("NODES"))["nodes"]
    out = {n["node"]: n["pid"] for n in nodes if n["node"] in ("gen", "csv") and n["alive"]}
    out["tracker"] = tracker_pid(up)
    return out if len(out) == 3 and out["tracker"] else None


def main():
    need(["up", "--help"], ["help", "gen"], ["help", "csv"])
    tmp = tempfile.mkdtemp(prefix="zsat-wakeups-")
    up = None
    try:
        up = Up(tmp, "wakeups", TOPOLOGY)
        up.wait(lambda: pids(up) is not None, 60, "gen and csv alive")
        procs = pids(up)
        tracker = procs.pop("tracker")
        up.wait(lambda: rows(up.run) >= COUNT, 120, f"{COUNT} rows in the csv")
        assert rows(up.run) == COUNT, f"{rows(up.run)} rows, want {COUNT}"
        spent = {node: switches(pid) for node, pid in procs.items()}
        per_vector = sum(spent.values()) / COUNT
        print(f"wake-ups over the run: {spent}, {per_vector:.2f} per vector")
        assert per_vector <= PER_VECTOR_MAX, \
            f"{per_vector:.2f} wake-ups per vector (gen+csv: {spent}), want <= {PER_VECTOR_MAX}"
        # Idle: nothing to do but heartbeats; no fixed-period polling.
        t0, tracker0 = time.monotonic(), switches(tracker)
        time.sleep(3)
        idle = sum(switches(pid) for pid in procs.values()) - sum(spent.values())
        seconds = time.monotonic() - t0
        per_s, tracker_per_s = idle / seconds, (switches(tracker) - tracker0) / seconds
        print(f"idle: gen+csv {per_s:.1f}/s, tracker {tracker_per_s:.1f}/s")
        assert per_s <= IDLE_PER_S_MAX, f"idle gen+csv wake {per_s:.1f}/s, want <= {IDLE_PER_S_MAX}"
        assert tracker_per_s <= TRACKER_IDLE_PER_S_MAX, \
            f"idle tracker wakes {tracker_per_s:.1f}/s, want <= {TRACKER_IDLE_PER_S_MAX}"
        assert all(switches(pid) > 0 for pid in [*procs.values(), tracker]), "processes gone"
        print("satellites_wakeups: ok")
    finally:
        if up:
            up.stop()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
