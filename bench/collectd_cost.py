#!/usr/bin/python3
# SPDX-License-Identifier: MPL-2.0
"""The default job side by side with collectd: `zsat up` of topologies/default.yaml as
shipped (cpu, mem, net, proc every 1 s -> csv and hdf5) against collectd 5.12 (Debian's
collectd-core: plugins cpu, memory, interface, processes -> csv, Interval 1 s), in rounds
A B A B (zsat, then collectd), so both see the same machine.

    bench/collectd_cost.py [--zsat build/zsat] [--rounds 3] [--warmup S] [--window S] [--quick]

Each side runs in a fresh temporary directory; after the warm-up, for the window: CPU % of one
core (utime+stime of the process tree, /proc/<pid>/stat, ppid links), PSS summed over the tree
(/proc/<pid>/smaps_rollup, mean of 1 s samples), and values written per second: the numeric
cells of the csv rows timed inside the window (zsat: every column after time, host, node,
task_id; collectd: every column after epoch), read after a grace for the 1 s flushes.
Prints one JSON line per round:
  {"figure": "collectd_cost", "round": i, "zsat_cpu_percent", "collectd_cpu_percent",
   "zsat_pss_mib", "collectd_pss_mib", "zsat_values_per_s", "collectd_values_per_s",
   "zsat_processes", "collectd_processes"}
Exit 3 (and a message) when collectd is not installed (`bash scripts/setup`). Standard
library only; uses e2e_cost.py's process-tree helpers.
"""
import argparse
import glob
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import e2e_cost  # noqa: E402

ROOT = e2e_cost.ROOT
COLLECTD = "/usr/sbin/collectd"
PLUGIN_DIR = "/usr/lib/collectd"
TYPES_DB = "/usr/share/collectd/types.db"
GRACE_S = 2.5


def log(msg):
    print(f"collectd_cost: {msg}", file=sys.stderr, flush=True)


def collectd_conf(tmp):
    data = os.path.join(tmp, "csv")
    return f"""Hostname "local"
FQDNLookup false
BaseDir "{tmp}"
PIDFile "{tmp}/collectd.pid"
PluginDir "{PLUGIN_DIR}"
TypesDB "{TYPES_DB}"
Interval 1
LoadPlugin cpu
LoadPlugin memory
LoadPlugin interface
LoadPlugin processes
LoadPlugin csv
<Plugin csv>
  DataDir "{data}"
  StoreRates true
</Plugin>
"""


def sizes(files):
    out = {}
    for path in files:
        try:
            out[path] = os.path.getsize(path)
        except OSError:
            pass
    return out


def values_between(start, end, in_window, skip):
    """Numeric cells (after `skip` leading columns) of the whole lines appended between two
    size snapshots whose first column satisfies in_window."""
    n = 0
    for path, size in end.items():
        first = start.get(path, 0)
        with open(path, "rb") as f:
            f.seek(first)
            lines = f.read(size - first).split(b"\n")[:-1]
        for line in lines:
            cells = line.split(b",")
            if len(cells) <= skip or not in_window(cells[0].decode(errors="replace")):
                continue  # a header, or a row of another second
            for cell in cells[skip:]:
                try:
                    float(cell)
                    n += 1
                except ValueError:
                    pass
    return n


class Side:
    """One process tree (zsat up, or collectd) measured over a window."""

    def __init__(self, name, argv, env, files, in_window, skip):
        self.name, self.files, self.in_window, self.skip = name, files, in_window, skip
        self.proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                     stderr=subprocess.DEVNULL, env=env, start_new_session=True,
                                     preexec_fn=e2e_cost.child_setup)

    def measure(self, warmup, window):
        time.sleep(warmup)
        if self.proc.poll() is not None:
            raise RuntimeError(f"{self.name} exited ({self.proc.returncode}) in the warm-up")
        base = {(p, st[1]): st[2] for p, st in e2e_cost.descendants(self.proc.pid).items()}
        last, pss, counts = dict(base), [], []
        size0, wall0, t0 = sizes(self.files()), time.time(), time.monotonic()
        while time.monotonic() < t0 + window:
            time.sleep(min(1.0, t0 + window - time.monotonic()))
            if self.proc.poll() is not None:
                raise RuntimeError(f"{self.name} exited ({self.proc.returncode}) in the window")
            procs = e2e_cost.descendants(self.proc.pid)
            for pid, st in procs.items():
                last[(pid, st[1])] = st[2]
                base.setdefault((pid, st[1]), 0)
            pss.append(sum(e2e_cost.status_kib(p, "smaps_rollup", "Pss:") for p in procs))
            counts.append(len(procs))
        seconds = time.monotonic() - t0
        ticks = sum(max(0, end - base[k]) for k, end in last.items())
        time.sleep(GRACE_S)
        values = values_between(size0, sizes(self.files()),
                                lambda t: self.in_window(t, wall0, wall0 + seconds), self.skip)
        return {"cpu_percent": 100.0 * ticks / e2e_cost.TICKS / seconds,
                "pss_mib": sum(pss) / max(1, len(pss)) / 1024,
                "values_per_s": values / seconds, "processes": counts[-1] if counts else 0}

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT if self.name == "zsat" else signal.SIGTERM)
            try:
                self.proc.wait(timeout=e2e_cost.STOP_WAIT_S)
            except subprocess.TimeoutExpired:
                log(f"{self.name} did not stop: killing its process group")
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=10)


def zsat_side(zsat, tmp):
    run = os.path.join(tmp, "run")
    env = dict(os.environ, ZSAT_RUN_DIR=run)
    argv = [zsat, "up", os.path.join(ROOT, "topologies/default.yaml"), "--no-status",
            "--duration", "3600"]
    iso = e2e_cost.iso_utc
    return Side("zsat", argv, env, lambda: glob.glob(os.path.join(run, "*", "csv", "*.csv")),
                lambda t, a, b: iso(a) <= t < iso(b), 4)


def collectd_side(tmp):
    conf = os.path.join(tmp, "collectd.conf")
    with open(conf, "w") as f:
        f.write(collectd_conf(tmp))

    def in_window(t, a, b):
        try:
            return a <= float(t) < b
        except ValueError:
            return False

    return Side("collectd", [COLLECTD, "-f", "-C", conf], dict(os.environ),
                lambda: glob.glob(os.path.join(tmp, "csv", "*", "*", "*")), in_window, 1)


def one(make, warmup, window):
    tmp = tempfile.mkdtemp(prefix="zsat-cd-", dir="/tmp")  # short: ipc paths < 100 bytes
    side = None
    try:
        side = make(tmp)
        return side.measure(warmup, window)
    finally:
        if side:
            side.stop()
        e2e_cost.s_reap()
        shutil.rmtree(tmp, ignore_errors=True)


def main():
    ap = argparse.ArgumentParser(description="zsat's default job against collectd (A B A B).")
    ap.add_argument("--zsat", default=os.path.join(ROOT, "build/zsat"))
    ap.add_argument("--rounds", type=int, default=0, help="A B rounds (default 3, quick 1)")
    ap.add_argument("--warmup", type=float, default=0, help="seconds (default 5, quick 2)")
    ap.add_argument("--window", type=float, default=0, help="seconds (default 40, quick 4)")
    ap.add_argument("--quick", action="store_true", help="one short round (a smoke run)")
    args = ap.parse_args()
    rounds = args.rounds or (1 if args.quick else 3)
    warmup = args.warmup or (2 if args.quick else 5)
    window = args.window or (4 if args.quick else 40)
    if not os.access(COLLECTD, os.X_OK) or not os.path.isfile(f"{PLUGIN_DIR}/csv.so"):
        log(f"{COLLECTD} is not installed: bash scripts/setup (collectd-core)")
        return 3
    zsat = os.path.abspath(args.zsat)
    if not os.access(zsat, os.X_OK):
        ap.error(f"{zsat} is not an executable")
    import ctypes
    ctypes.CDLL(None, use_errno=True).prctl(e2e_cost.PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)
    for r in range(rounds):
        log(f"round {r + 1}/{rounds}: zsat then collectd, warm-up {warmup:g} s, window {window:g} s")
        z = one(lambda tmp: zsat_side(zsat, tmp), warmup, window)
        c = one(collectd_side, warmup, window)
        row = {"figure": "collectd_cost", "round": r}
        for who, m in (("zsat", z), ("collectd", c)):
            for k, v in m.items():
                row[f"{who}_{k}"] = round(v, 3) if isinstance(v, float) else v
        print(json.dumps(row), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
