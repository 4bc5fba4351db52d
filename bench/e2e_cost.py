#!/usr/bin/python3
"""End-to-end cost of zsat on the default topology: the CPU and the memory of all of zsat's
processes (`zsat up` and every process under it), per 1,000 measurements stored per second,
so users can size hosts.

    bench/e2e_cost.py [--zsat build/zsat] [--runs default,1000,5000] [--warmup S]
                      [--duration S] [--quick] [--keep]

Each run starts `zsat up --no-status` with ZSAT_RUN_DIR in a fresh temporary directory on
  default  topologies/default.yaml as shipped (4 probes every 1 s -> csv + hdf5: light load);
  R        (a number) the same file plus a `gen` source at R measurements/s linked to the csv
           and the hdf5 sinks (written into the temporary directory, checked with `zsat check`).
After the warm-up it samples every 1 s for the window: utime+stime (/proc/<pid>/stat) and
VmRSS (/proc/<pid>/status) of the `zsat up` process and all its descendants (ppid links),
and counts the measurements stored: rows appended to the csv files since the window began
whose time (first column) lies in the window, read 2.5 s after it ends (the csv sink writes
every 1 s by default, so counting bytes at the window's edges would be off by up to 1 s).

Prints one JSON line per run:
  {"figure": "e2e_cost", "topology": "default" | "default+gen", "rate_target": R | null,
   "measurements_per_s", "cpu_percent" (of one core, all zsat processes), "rss_mib" (sum of
   VmRSS, mean over the samples), "pss_mib" (proportional: shared pages split between the
   processes), "cpu_percent_per_1k", "rss_mib_per_1k", "processes", "by_node": {...}}
Then stops `zsat up` with SIGINT and waits (bounded) for it; whatever is left of its
processes is killed by pid. Standard library only.
"""
import argparse
import ctypes
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TICKS = os.sysconf("SC_CLK_TCK")
CSV_GRACE_S = 2.5  # the csv sink's flush_interval (1 s) and a margin
STOP_WAIT_S = 40  # zsat up stops in 5 stages of at most 5 s each, plus its own exit
PR_SET_PDEATHSIG, PR_SET_CHILD_SUBREAPER = 1, 36


class Interrupted(Exception):
    pass


def log(msg):
    print(f"e2e_cost: {msg}", file=sys.stderr, flush=True)


def read_stat(pid):
    """(ppid, starttime, utime+stime ticks, state) of pid, or None when it is gone."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            data = f.read()
    except OSError:
        return None
    fields = data[data.rfind(b")") + 2:].split()  # comm may hold spaces and parentheses
    return int(fields[1]), int(fields[19]), int(fields[11]) + int(fields[12]), fields[0]


def descendants(root):
    """{pid: (ppid, starttime, ticks, state)} of root and everything under it (zombies out)."""
    table = {}
    for name in os.listdir("/proc"):
        if name.isdigit():
            st = read_stat(int(name))
            if st and st[3] != b"Z":
                table[int(name)] = st
    children = {}
    for pid, st in table.items():
        children.setdefault(st[0], []).append(pid)
    found, todo = {}, [root]
    while todo:
        pid = todo.pop()
        if pid in table and pid not in found:
            found[pid] = table[pid]
            todo.extend(children.get(pid, []))
    return found


def status_kib(pid, path, key):
    try:
        with open(f"/proc/{pid}/{path}") as f:
            for line in f:
                if line.startswith(key):
                    return int(line.split()[1])
    except (OSError, ValueError, IndexError):
        pass
    return 0


def node_name(pid, up_pid):
    """The node a process runs (`zsat node ... --node N`), "up" for zsat up itself."""
    if pid == up_pid:
        return "up"
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            argv = f.read().split(b"\0")
    except OSError:
        return "?"
    if b"--node" in argv[:-1]:
        return argv[argv.index(b"--node") + 1].decode(errors="replace")
    return os.path.basename(argv[0].decode(errors="replace")) or "?"


def csv_sizes(run_dir):
    """{path: size} of every csv file of every host of the run."""
    sizes = {}
    if not os.path.isdir(run_dir):
        return sizes
    for host in os.listdir(run_dir):
        d = os.path.join(run_dir, host, "csv")
        if os.path.isdir(d):
            for name in os.listdir(d):
                if name.endswith(".csv"):
                    p = os.path.join(d, name)
                    try:
                        sizes[p] = os.path.getsize(p)
                    except OSError:
                        pass
    return sizes


def iso_utc(t):
    """t (epoch seconds) as the csv sink writes times: 2026-11-23T14:36:41.908299Z."""
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(t)) + f".{int(t * 1e6) % 1000000:06d}Z"


def rows_between(start, end, t0, t1):
    """Rows appended between two csv_sizes snapshots whose time (first column) is in [t0, t1):
    the measurements made in the window and stored. Rows without such a time all count."""
    lo, hi, rows = iso_utc(t0), iso_utc(t1), 0
    for path, size in end.items():
        first = start.get(path)
        with open(path, "rb") as f:
            f.seek(first or 0)
            lines = f.read(size - (first or 0)).split(b"\n")[:-1]  # whole lines only
        if first is None:
            lines = lines[1:]  # the header of a file created in the window
        for line in lines:
            t = line[:line.find(b",")].decode(errors="replace")
            if len(t) != len(lo) or not t.endswith("Z") or lo <= t < hi:
                rows += 1
    return rows


def load_topology(default_text, rate):
    """default.yaml's text with a gen source at `rate` linked to its csv and hdf5 sinks."""
    lines = default_text.splitlines()
    try:
        bare = [line.split("#")[0].rstrip() for line in lines]
        ni, li = bare.index("nodes:"), bare.index("links:")
    except ValueError:
        raise RuntimeError("e2e_cost: topologies/default.yaml has no block 'nodes:' / 'links:' "
                         "(its layout changed: update load_topology)")
    out = []
    for i, line in enumerate(lines):
        if line.startswith("name:"):
            line = f"name: e2e-gen-{rate:g}"
        out.append(line)
        if i == ni:
            out.append(f"  gen:  {{kind: gen, options: {{rate: {rate:g}}}}}  # e2e_cost.py load")
        if i == li:
            out += ["  - gen -> csv", "  - gen -> hdf5"]
    return "\n".join(out) + "\n"


def child_setup():
    # zsat up stops in order (SIGTERM) if this script dies without stopping it (a timeout's kill).
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)


class Run:
    """One `zsat up` of one topology, sampled over a window; stop() never leaves processes."""

    def __init__(self, zsat, topology, tmp, limit_s):
        self.run_dir = os.path.join(tmp, "run")
        self.log_path = os.path.join(tmp, "up.log")
        self.seen = {}  # (pid, starttime) of every process of the run ever sampled
        env = dict(os.environ, ZSAT_RUN_DIR=self.run_dir)
        with open(self.log_path, "wb") as out:
            self.proc = subprocess.Popen(
                [zsat, "up", topology, "--no-status", "--duration", str(limit_s)],
                stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT, env=env,
                start_new_session=True, preexec_fn=child_setup)

    def sample(self):
        procs = descendants(self.proc.pid)
        for pid, st in procs.items():
            self.seen[(pid, st[1])] = True
        return procs

    def measure(self, warmup, duration):
        deadline = time.monotonic() + warmup
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"zsat up exited ({self.proc.returncode}) during the warm-up")
            self.sample()
            time.sleep(0.5)
        first, base = self.sample(), {}
        for pid, st in first.items():
            base[(pid, st[1])] = st[2]
        rows0, t0, wall0 = csv_sizes(self.run_dir), time.monotonic(), time.time()
        last, rss, pss, counts = dict(base), [], [], []
        names, by_node = {}, {}
        t_end = t0 + duration
        while True:
            now = time.monotonic()
            if now >= t_end:
                break
            time.sleep(min(1.0, t_end - now))
            if self.proc.poll() is not None:
                raise RuntimeError(f"zsat up exited ({self.proc.returncode}) during the window")
            procs = self.sample()
            rss_sum = pss_sum = 0
            for pid, st in procs.items():
                key = (pid, st[1])
                last[key] = st[2]
                base.setdefault(key, 0)  # started inside the window: all of its time counts
                names.setdefault(key, node_name(pid, self.proc.pid))
                r = status_kib(pid, "status", "VmRSS:")
                rss_sum += r
                pss_sum += status_kib(pid, "smaps_rollup", "Pss:")
                node = by_node.setdefault(names[key], {"rss_kib": 0, "ticks": 0})
                node["rss_kib"] += r
            rss.append(rss_sum)
            pss.append(pss_sum)
            counts.append(len(procs))
        t1 = time.monotonic()
        window = t1 - t0
        # The csv sink writes every flush_interval (1 s): rows of the window's last second
        # reach the files a little later. Counted by their time, after a grace.
        time.sleep(CSV_GRACE_S)
        stored = rows_between(rows0, csv_sizes(self.run_dir), wall0, wall0 + window)
        ticks = 0
        for key, end in last.items():
            d = max(0, end - base[key])
            ticks += d
            if key in names:
                by_node[names[key]]["ticks"] += d
        n = max(1, len(rss))
        return {
            "window_s": round(window, 2), "samples": len(rss), "rows": stored,
            "measurements_per_s": stored / window,
            "cpu_percent": 100.0 * ticks / TICKS / window,
            "rss_mib": sum(rss) / n / 1024, "rss_mib_max": max(rss or [0]) / 1024,
            "pss_mib": sum(pss) / n / 1024,
            "processes": counts[-1] if counts else 0, "pids_seen": len(last),
            "by_node": {k: {"cpu_percent": round(100.0 * v["ticks"] / TICKS / window, 2),
                            "rss_mib": round(v["rss_kib"] / n / 1024, 1)}
                        for k, v in sorted(by_node.items())},
        }

    def stop(self):
        """SIGINT, a bounded wait, then SIGKILL by pid for anything of the run still alive.
        Returns the number of processes that had to be killed."""
        killed = 0
        if self.proc.poll() is None:
            self.sample()
            try:
                os.kill(self.proc.pid, signal.SIGINT)
                self.proc.wait(timeout=STOP_WAIT_S)
            except ProcessLookupError:
                pass
            except subprocess.TimeoutExpired:
                log(f"zsat up did not stop within {STOP_WAIT_S} s: killing its processes")
                self.sample()
                try:
                    os.killpg(self.proc.pid, signal.SIGKILL)  # its own group (new session)
                except ProcessLookupError:
                    pass
                self.proc.wait(timeout=10)
        # Nodes orphaned by zsat up are re-parented to this script (a subreaper): find them
        # by ancestry, and by identity among the processes sampled during the run.
        for attempt in range(20):
            left = [(pid, st) for pid, st in descendants(os.getpid()).items() if pid != os.getpid()]
            left += [(pid, None) for (pid, start) in self.seen
                     if (read_stat(pid) or (0, -1))[1] == start and pid not in dict(left)]
            left = [(p, s) for p, s in left if (read_stat(p) or (0, 0, 0, b"Z"))[3] != b"Z"]
            if not left:
                break
            if attempt >= 10:  # 1 s of grace for a stop already under way, then SIGKILL
                for pid, _ in left:
                    try:
                        os.kill(pid, signal.SIGKILL)
                        killed += 1
                    except ProcessLookupError:
                        pass
            time.sleep(0.1)
            s_reap()
        s_reap()
        return killed


def s_reap():
    while True:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return


def run_one(args, spec, default_text):
    tmp = tempfile.mkdtemp(prefix="zsat-e2e-", dir="/tmp")  # short: ipc paths < 100 bytes
    try:
        if spec == "default":
            topology, rate, name = os.path.join(ROOT, "topologies/default.yaml"), None, "default"
        else:
            rate, name = float(spec), "default+gen"
            topology = os.path.join(tmp, "load.yaml")
            with open(topology, "w") as f:
                f.write(load_topology(default_text, rate))
            check = subprocess.run([args.zsat, "check", topology], capture_output=True,
                                   text=True, timeout=30)
            if check.returncode != 0:
                raise RuntimeError(f"zsat check refused the load topology:\n{check.stdout}"
                                   f"{check.stderr}")
        log(f"run {spec}: warm-up {args.warmup:g} s, window {args.duration:g} s ({tmp})")
        run = Run(args.zsat, topology, tmp, args.warmup + args.duration + 60)
        result, error = None, None
        try:
            result = run.measure(args.warmup, args.duration)
        except RuntimeError as exc:
            error = str(exc)
        finally:
            killed = run.stop()
        if killed:
            log(f"run {spec}: killed {killed} process(es) left after the stop")
        if error:
            with open(run.log_path, errors="replace") as f:
                tail = f.read()[-2000:]
            raise RuntimeError(f"{error}\n--- zsat up output ---\n{tail}")
        if run.proc.returncode != 0:
            log(f"run {spec}: zsat up exited {run.proc.returncode} at the stop")
        per_1k = result["measurements_per_s"] / 1000.0
        row = {"figure": "e2e_cost", "topology": name,
               "rate_target": (int(rate) if rate == int(rate) else rate) if rate else None,
               "measurements_per_s": round(result["measurements_per_s"], 1),
               "cpu_percent": round(result["cpu_percent"], 2),
               "rss_mib": round(result["rss_mib"], 1),
               "cpu_percent_per_1k": round(result["cpu_percent"] / per_1k, 3) if per_1k else None,
               "rss_mib_per_1k": round(result["rss_mib"] / per_1k, 3) if per_1k else None,
               "processes": result["processes"],
               "pss_mib": round(result["pss_mib"], 1),
               "rss_mib_max": round(result["rss_mib_max"], 1),
               "pids_seen": result["pids_seen"], "window_s": result["window_s"],
               "rows": result["rows"], "up_exit": run.proc.returncode,
               "killed_at_stop": killed, "by_node": result["by_node"]}
        # The gen source stands for the user's own sources; what carrying and storing the
        # measurements costs is the rest.
        source = result["by_node"].get("gen", {}).get("cpu_percent", 0.0) if rate else 0.0
        carry = result["cpu_percent"] - source
        row.update({"source_cpu_percent": round(source, 2),
                    "cpu_percent_without_source": round(carry, 2),
                    "cpu_percent_per_1k_without_source":
                        round(carry / per_1k, 3) if per_1k else None})
        print(json.dumps(row), flush=True)
        return 0
    finally:
        if args.keep:
            log(f"kept {tmp}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)


def main():
    ap = argparse.ArgumentParser(description="zsat's own CPU and memory per 1,000 measurements/s "
                                             "on the default topology (end to end).")
    ap.add_argument("--zsat", default=os.path.join(ROOT, "build/zsat"), help="the zsat binary")
    ap.add_argument("--runs", default="", help="comma-separated: 'default' and/or gen rates in "
                    "measurements/s (default: default,1000,5000; --quick: default,1000)")
    ap.add_argument("--warmup", type=float, default=0, help="seconds before the window "
                    "(default 5, --quick 3)")
    ap.add_argument("--duration", type=float, default=0, help="seconds of the window "
                    "(default 20, --quick 6)")
    ap.add_argument("--quick", action="store_true", help="short windows (a smoke run)")
    ap.add_argument("--keep", action="store_true", help="keep the temporary directories")
    args = ap.parse_args()
    args.zsat = os.path.abspath(args.zsat)
    args.warmup = args.warmup or (3 if args.quick else 5)
    args.duration = args.duration or (6 if args.quick else 20)
    runs = [s for s in (args.runs or ("default,1000" if args.quick else "default,1000,5000"))
            .split(",") if s]
    for spec in runs:
        if spec != "default":
            try:
                if not 0 < float(spec) <= 1e6:
                    raise ValueError
            except ValueError:
                ap.error(f"bad run '{spec}': 'default' or a rate in (0, 1e6]")
    if not os.access(args.zsat, os.X_OK):
        ap.error(f"{args.zsat} is not an executable (build first, or give --zsat)")
    with open(os.path.join(ROOT, "topologies/default.yaml")) as f:
        default_text = f.read()
    # Orphans of zsat up come to us (not to init), so stop() can find and reap them.
    ctypes.CDLL(None, use_errno=True).prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)

    def on_signal(sig, _frame):
        raise Interrupted(f"signal {sig}")

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGHUP, on_signal)
    rc = 0
    try:
        for spec in runs:
            try:
                rc |= run_one(args, spec, default_text)
            except RuntimeError as exc:
                log(f"run {spec} failed: {exc}")
                rc = 1
    except (Interrupted, KeyboardInterrupt) as exc:
        log(f"interrupted ({exc or 'SIGINT'}): stopped")
        return 130
    return rc


if __name__ == "__main__":
    sys.exit(main())
