#!/usr/bin/python3
# SPDX-License-Identifier: MPL-2.0
"""The Python satellite library's worker (python/zsat, a node of kind external) against the
`exec` kind (a process per vector) and the C runtime (the built-in `fault` kind, passing
vectors through), on one topology shape: gen -> worker -> csv.

    bench/python_worker.py [--zsat build/zsat] [--variants c,python,exec-python,exec-sh]
                           [--warmup S] [--duration S] [--quick]

Each variant is one `zsat up` (ZSAT_RUN_DIR in a fresh temporary directory) of
  gen  {rate: 100000, format: record}   (pushes block when the worker is behind: the rate
                                          measured is the worker's, not the source's)
  w    c: kind fault (no failure)  python: kind external + `zsat.worker(lambda r: r)`
       exec-python: kind exec, /usr/bin/python3 copying the JSON record stdin -> stdout
       exec-sh: kind exec, `cat` (the cost of a process per vector alone)
  csv  {flush: every}                    tracker: timeout 600s, max_retry 0 (no re-sends)
Once rows reach the csv file it waits `warmup`, then for `duration` counts the rows the csv
file gained and the CPU ticks (utime+stime+cutime+cstime, so exec's reaped children count)
of every process of the run (zsat up, its nodes, the Python worker). Prints one JSON line:
  {"figure": "python_worker", "<variant>_vectors_per_s", "<variant>_cpu_us_per_vector" (all
   processes), "<variant>_worker_cpu_us_per_vector" (the worker node alone), ...}
Standard library only (the Python worker itself needs python3-zmq and python3-msgpack).
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

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import e2e_cost  # noqa: E402  (Run: start, sample and stop a `zsat up` without orphans)

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TICKS = os.sysconf("SC_CLK_TCK")
FIRST_ROW_S = 90  # bound on start-up (a loaded machine)
EXEC_PY = ("/usr/bin/python3 -c 'import json, sys; json.dump(json.load(sys.stdin), "
           "sys.stdout)'")
WORKERS = {
    "c": "{kind: fault}",
    "python": "{kind: external}",
    "exec-python": "{kind: exec, options: {command: \"%s\"}}" % EXEC_PY.replace('"', '\\"'),
    "exec-sh": "{kind: exec, options: {command: cat}}",
}
PY_WORKER = """import sys, zsat
zsat.worker(lambda record: record, argv=sys.argv[1:]).run()
"""


def log(msg):
    print(f"python_worker: {msg}", file=sys.stderr, flush=True)


def ticks(pid):
    """utime+stime+cutime+cstime of pid (0 when it is gone)."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            data = f.read()
    except OSError:
        return 0
    fields = data[data.rfind(b")") + 2:].split()
    return sum(int(x) for x in fields[11:15])


def node_of(pid):
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            argv = f.read().split(b"\0")
    except OSError:
        return None
    return argv[argv.index(b"--node") + 1].decode() if b"--node" in argv[:-1] else None


def sample(run, worker):
    """(all ticks, worker ticks): every live process of the run, and the worker's alone.
    A child that exits between two samples moves into its parent's cutime, which is in the
    set, so differences of totals count it once."""
    procs = run.sample()
    total = sum(ticks(pid) for pid in procs)
    mine = sum(ticks(pid) for pid in procs if node_of(pid) == "w")
    if worker:
        total += ticks(worker.pid)
        mine += ticks(worker.pid)
    return total, mine


class Rows:
    """Counts the lines the csv file gained, reading only what was appended."""

    def __init__(self, path):
        self.path, self.offset, self.lines = path, 0, 0

    def count(self):
        try:
            with open(self.path, "rb") as f:
                f.seek(self.offset)
                data = f.read()
        except OSError:
            return 0
        self.offset += len(data)
        self.lines += data.count(b"\n")
        return max(self.lines - 1, 0)  # the header


def topology(tmp, variant):
    return f"""name: pybench{os.getpid()}
nodes:
  gen: {{kind: gen, options: {{rate: 100000, format: record, type: bench}}}}
  w: {WORKERS[variant]}
  csv: {{kind: csv, options: {{dir: {tmp}/csv, flush: every}}}}
links:
  - gen -> w
  - w -> csv
tracker:
  timeout: 600s
  max_retry: 0
"""


def run_variant(args, variant):
    tmp = tempfile.mkdtemp(prefix="zsat-pyw-", dir="/tmp")  # short: ipc paths < 100 bytes
    worker, run = None, None
    try:
        path = os.path.join(tmp, "t.yaml")
        with open(path, "w") as f:
            f.write(topology(tmp, variant))
        check = subprocess.run([args.zsat, "check", path], capture_output=True, text=True,
                               timeout=30)
        if check.returncode != 0:
            raise RuntimeError(f"zsat check: {check.stdout}{check.stderr}")
        run = e2e_cost.Run(args.zsat, path, tmp, FIRST_ROW_S + args.warmup + args.duration + 60)
        if variant == "python":
            with open(os.path.join(tmp, "worker.py"), "w") as f:
                f.write(PY_WORKER)
            env = dict(os.environ, PYTHONPATH=os.path.join(ROOT, "python"), ZSAT_BIN=args.zsat,
                       ZSAT_RUN_DIR=run.run_dir)
            out = open(os.path.join(tmp, "worker.log"), "wb")
            worker = subprocess.Popen(["/usr/bin/python3", os.path.join(tmp, "worker.py"),
                                       "--topology", path, "--node", "w"], env=env,
                                      stdout=out, stderr=subprocess.STDOUT,
                                      preexec_fn=e2e_cost.child_setup)
        rows = Rows(os.path.join(tmp, "csv", "bench.csv"))
        started = time.monotonic()
        until = started + FIRST_ROW_S
        while rows.count() == 0:
            if time.monotonic() > until or run.proc.poll() is not None or \
                    (worker and worker.poll() is not None):
                raise RuntimeError(f"no row reached the csv sink within {FIRST_ROW_S} s")
            time.sleep(0.1)
        log(f"{variant}: first row after {time.monotonic() - started:.1f} s")
        time.sleep(args.warmup)
        n0, (c0, w0), t0 = rows.count(), sample(run, worker), time.monotonic()
        time.sleep(args.duration)
        n1, (c1, w1), t1 = rows.count(), sample(run, worker), time.monotonic()
        n = n1 - n0
        if n <= 0:
            raise RuntimeError(f"no row in the {args.duration:g} s window")
        us = 1e6 / TICKS
        return {"vectors_per_s": round(n / (t1 - t0), 1),
                "cpu_us_per_vector": round((c1 - c0) * us / n, 1),
                "worker_cpu_us_per_vector": round((w1 - w0) * us / n, 1), "rows": n}
    except RuntimeError as exc:
        tail = ""
        for name in ("up.log", "worker.log"):
            try:
                with open(os.path.join(tmp, name), errors="replace") as f:
                    tail += f"\n--- {name} ---\n" + f.read()[-1500:]
            except OSError:
                pass
        raise RuntimeError(f"{variant}: {exc}{tail}")
    finally:
        if worker:
            worker.terminate()
            try:
                worker.wait(timeout=10)
            except subprocess.TimeoutExpired:
                worker.kill()
                worker.wait()
        stopping = time.monotonic()
        if run:
            # The queue behind a slow worker is not drained: stop at once, by pid.
            try:
                os.killpg(run.proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            run.proc.wait(timeout=10)
            # Its nodes (re-parented to us, a subreaper) too, rather than stop()'s 1 s grace.
            for pid in e2e_cost.descendants(os.getpid()):
                if pid != os.getpid():
                    try:
                        os.kill(pid, signal.SIGKILL)
                    except ProcessLookupError:
                        pass
            time.sleep(0.05)
            e2e_cost.s_reap()
            run.stop()
        log(f"{variant}: stopped in {time.monotonic() - stopping:.1f} s")
        shutil.rmtree(tmp, ignore_errors=True)


def main():
    ap = argparse.ArgumentParser(description="Python library worker vs exec vs C runtime.")
    ap.add_argument("--zsat", default=os.path.join(ROOT, "build/zsat"), help="the zsat binary")
    ap.add_argument("--variants", default="", help="comma-separated: " + ",".join(WORKERS) +
                    " (default all; --quick: c,python,exec-python)")
    ap.add_argument("--warmup", type=float, default=0, help="seconds (default 2, quick 0.3)")
    ap.add_argument("--duration", type=float, default=0, help="seconds (default 8, quick 1)")
    ap.add_argument("--quick", action="store_true", help="short windows (a smoke run)")
    args = ap.parse_args()
    args.zsat = os.path.abspath(args.zsat)
    args.warmup = args.warmup or (0.3 if args.quick else 2)
    args.duration = args.duration or (1 if args.quick else 8)
    variants = [v for v in (args.variants or ("c,python,exec-python" if args.quick
                                              else ",".join(WORKERS))).split(",") if v]
    bad = [v for v in variants if v not in WORKERS]
    if bad:
        ap.error(f"unknown variant(s) {bad}: choose among {','.join(WORKERS)}")
    ctypes.CDLL(None, use_errno=True).prctl(e2e_cost.PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)
    row, rc = {"figure": "python_worker", "window_s": args.duration}, 0
    for variant in variants:
        try:
            result = run_variant(args, variant)
        except RuntimeError as exc:
            log(f"failed: {exc}")
            rc = 1
            continue
        log(f"{variant}: {result}")
        key = variant.replace("-", "_")
        row.update({f"{key}_{k}": v for k, v in result.items()})
    print(json.dumps(row), flush=True)
    return rc


if __name__ == "__main__":
    sys.exit(main())
