#!/usr/bin/python3
# SPDX-License-Identifier: MPL-2.0
"""python_worker - the Python satellite library (python/zsat) inside a running topology.

`zsat up` runs a topology whose worker `pyw` is `kind: external` (zsat routes jobs to it,
tracks it, never starts it) linked to a csv sink; this script starts the library's workers
itself, one after another:
1. a normal worker: it receives the scheduled jobs and its rows reach the csv file;
2. a worker whose function raises: `zsat trace` shows the task's ERROR, then its FAILURE
   once the retry budget (max_retry 1) is spent;
3. a worker that hangs inside a task and is killed with SIGKILL, then a fresh one: the
   tracker's deadline re-sends the in-flight task (retry 1) and its row reaches the csv.
Every wait is bounded. Exit 0 pass, 77 skip, 1 fail.
"""
import csv
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time

try:
    import msgpack  # noqa: F401  (the library's dependencies)
    import zmq  # noqa: F401
except ImportError as e:
    print("skip:", e)
    sys.exit(77)

ZSAT = os.environ.get("ZSAT_BIN", "zsat")
SRC = os.environ.get("ZSAT_SRC", os.path.join(os.path.dirname(__file__), "..", ".."))
WORKER = r"""
import os, sys, time
import zsat

MODE, OUT = sys.argv[1], sys.argv[2]


def work(record):
    task = zsat.current["task_id"]
    if MODE == "fail":
        with open(OUT, "a") as f:
            f.write(f"{task}\n")
        raise RuntimeError("boom from python")
    if MODE == "hang":
        with open(OUT, "a") as f:
            f.write(f"{task}\n")
        time.sleep(600)
    return {"pid": os.getpid(), "retry": zsat.current["retry"], "lang": "python"}


zsat.worker(work, argv=sys.argv[3:]).run()
"""


def fail(message):
    print("FAIL:", message)
    sys.exit(1)


def wait_for(what, predicate, seconds=90):
    """Polls predicate until it returns a true value (bounded); fails naming `what`."""
    until = time.monotonic() + seconds
    while time.monotonic() < until:
        value = predicate()
        if value:
            return value
        time.sleep(0.2)
    fail(f"timed out waiting for {what}")


class Rig:
    def __init__(self, tmp):
        self.tmp = tmp
        self.topology = os.path.join(tmp, "pyw.yaml")
        with open(self.topology, "w") as f:
            f.write(f"""name: pyw{os.getpid()}
run_dir: {tmp}/run
nodes:
  pyw: {{kind: external}}
  csv: {{kind: csv, options: {{dir: {tmp}/csv, flush: every}}}}
links:
  - pyw -> csv
schedules:
  - {{type: pyw, every: 300ms}}
tracker:
  timeout: 3s
  max_retry: 1
  backoff: 10ms
""")
        self.script = os.path.join(tmp, "worker.py")
        with open(self.script, "w") as f:
            f.write(WORKER)
        self.up = None
        self.workers = []

    def start_up(self):
        log = open(os.path.join(self.tmp, "up.log"), "w")
        self.up = subprocess.Popen([ZSAT, "up", self.topology, "--no-status", "--duration",
                                    "400"], stdout=log, stderr=log, start_new_session=True)

    def worker(self, mode):
        out = os.path.join(self.tmp, f"{mode}.tasks")
        env = dict(os.environ, PYTHONPATH=os.path.join(SRC, "python"), ZSAT_BIN=ZSAT)
        log = open(os.path.join(self.tmp, f"worker-{mode}.log"), "a")
        p = subprocess.Popen(["/usr/bin/python3", self.script, mode, out, "--topology",
                              self.topology, "--node", "pyw"], env=env, stdout=log, stderr=log)
        self.workers.append(p)
        return p, out

    def feed(self):
        """A SUB to the tracker's state feed, endpoints from `zsat show --json`."""
        shown = json.loads(subprocess.run([ZSAT, "show", self.topology, "--json"],
                                          capture_output=True, text=True, check=True).stdout)
        node = [n for n in shown["hosts"][0]["nodes"] if n["name"] == "tracker"][0]
        state = [s for s in node["sockets"] if s["name"] == "state"][0]
        self.ctx = zmq.Context()
        sub = self.ctx.socket(zmq.SUB)
        sub.setsockopt(zmq.LINGER, 0)
        sub.setsockopt(zmq.SUBSCRIBE, b"FAILURE")
        sub.connect(state["endpoint"].lstrip("@>"))
        time.sleep(0.5)  # slow joiner: let the subscription reach the tracker
        return sub

    def rows(self):
        path = os.path.join(self.tmp, "csv", "pyw.csv")
        if not os.path.exists(path):
            return []
        with open(path) as f:
            return list(csv.DictReader(f))

    def trace(self, task):
        r = subprocess.run([ZSAT, "trace", str(task), "--json", "--topology", self.topology],
                           capture_output=True, text=True, timeout=60)
        return json.loads(r.stdout) if r.returncode == 0 and r.stdout.strip() else None

    def trace_text(self, task):
        r = subprocess.run([ZSAT, "trace", str(task), "--topology", self.topology],
                           capture_output=True, text=True, timeout=60)
        return r.stdout

    def stop(self, p, sig=signal.SIGTERM):
        p.send_signal(sig)
        try:
            return p.wait(timeout=30)
        except subprocess.TimeoutExpired:
            fail("a worker did not stop within 30 s")


def first_task(path):
    try:
        with open(path) as f:
            lines = f.read().split()
        return int(lines[0]) if lines else None
    except OSError:
        return None


def scenario(rig):
    rig.start_up()
    # 1. jobs in, rows out
    w1, _ = rig.worker("ok")
    rows = wait_for("rows from the Python worker in the csv sink",
                    lambda: [r for r in rig.rows() if r["pid"] == str(w1.pid)][:3])
    if rows[0]["lang"] != "python" or rows[0]["node"] != "pyw":
        fail(f"row {rows[0]}")
    if rig.stop(w1) != 0:
        fail("worker exit status after SIGTERM")
    # 2. an exception: ERROR, then FAILURE when the retry budget is spent
    feed = rig.feed()
    w2, fails = rig.worker("fail")
    task = wait_for("a task the failing worker took", lambda: first_task(fails))

    def failed():
        t = rig.trace(task)
        return t if t and t.get("state") == "FAILED" else None
    wait_for(f"task {task} FAILED in zsat trace", failed)
    text = rig.trace_text(task)
    if "state FAILED" not in text or "ERROR         pyw@local  retry 1" not in text:
        fail(f"zsat trace {task}:\n{text}")

    def failure():  # the FAILURE on the tracker's feed carries the exception's text
        while feed.poll(100):
            topic, body = feed.recv_multipart()
            body = json.loads(body)
            if topic == b"FAILURE" and body.get("task_id") == task:
                return body
    body = wait_for(f"FAILURE of task {task} on the tracker feed", failure)
    if "ERROR at pyw@local: RuntimeError: boom from python" not in body["reason"]:
        fail(f"FAILURE reason {body['reason']!r}")
    rig.stop(w2)
    # 3. a worker killed inside a task: the task is re-sent and its row reaches the sink
    w3, hangs = rig.worker("hang")
    hung = wait_for("a task the hanging worker took", lambda: first_task(hangs))
    w3.send_signal(signal.SIGKILL)
    w3.wait(timeout=30)
    w4, _ = rig.worker("ok")
    row = wait_for(f"the row of re-sent task {hung}",
                   lambda: [r for r in rig.rows() if r["task_id"] == str(hung)])
    if row[0]["pid"] != str(w4.pid) or row[0]["retry"] != "1":
        fail(f"re-sent row {row[0]} (want pid {w4.pid}, retry 1)")
    wait_for(f"task {hung} DONE", lambda: (rig.trace(hung) or {}).get("state") == "DONE")
    rig.stop(w4)
    print(f"ok: rows from the library's worker; task {task} ERROR then FAILURE; "
          f"task {hung} re-sent after SIGKILL and stored")


def main():
    tmp = tempfile.mkdtemp(prefix=f"zsat-pyworker-{os.getpid()}-")
    rig = Rig(tmp)
    ok = False
    try:
        scenario(rig)
        ok = True
    finally:
        for p in rig.workers:
            if p.poll() is None:
                p.kill()
                p.wait()
        if rig.up and rig.up.poll() is None:
            rig.up.send_signal(signal.SIGTERM)
            try:
                rig.up.wait(timeout=60)
            except subprocess.TimeoutExpired:
                os.killpg(rig.up.pid, signal.SIGKILL)
                rig.up.wait()
        if not ok:
            for name in sorted(os.listdir(tmp)):
                if name.endswith(".log"):
                    print(f"--- {name}\n" + open(os.path.join(tmp, name)).read()[-3000:])
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
