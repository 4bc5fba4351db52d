# SPDX-License-Identifier: MPL-2.0
"""zsatup - `zsat up FILE` in the background for e2e tests: the tracker's feed and query
sockets, `zsat send`, `zsat trace`, bounded waits. One host `a` on 127.0.0.1 with ipc
endpoints under a private run dir, so nothing listens on fixed tcp ports."""
import json
import os
import signal
import subprocess
import time

import zmq

ZSAT = os.environ.get("ZSAT_BIN")


class Up:
    def __init__(self, tmp, name, body, duration=300, args=()):
        self.dir = os.path.join(tmp, name)
        os.makedirs(self.dir)
        self.run = os.path.join(self.dir, "run")
        self.file = os.path.join(self.dir, name + ".yaml")
        with open(self.file, "w") as f:
            f.write(f"name: {name}\nrun_dir: {self.run}\nhosts:\n  a: {{address: 127.0.0.1}}\n")
            f.write(body)
        self.ctx = zmq.Context()
        self.sub = self.ctx.socket(zmq.SUB)
        self.sub.setsockopt(zmq.LINGER, 0)
        self.sub.setsockopt(zmq.SUBSCRIBE, b"")
        self.sub.connect(f"ipc://{self.run}/a/7101.ipc")
        self.seen = []
        self.log = open(os.path.join(self.dir, "up.log"), "w")
        self.proc = subprocess.Popen([ZSAT, "up", self.file, "--duration", str(duration),
                                      "--no-status", *args], stdout=self.log, stderr=self.log)
        for _ in range(100):
            if self.ask("STATUS", 200):
                return
            assert self.proc.poll() is None, "zsat up exited: " + self.tail()
        raise AssertionError("the tracker never answered: " + self.tail())

    def tail(self):
        self.log.flush()
        text = open(os.path.join(self.dir, "up.log")).read()[-3000:]
        logs = os.path.join(self.run, "a", "logs")
        for name in sorted(os.listdir(logs)) if os.path.isdir(logs) else []:
            text += f"\n--- {name}\n" + open(os.path.join(logs, name)).read()[-800:]
        return text

    def ask(self, request, timeout=2000):
        req = self.ctx.socket(zmq.REQ)
        req.setsockopt(zmq.LINGER, 0)
        req.setsockopt(zmq.RCVTIMEO, timeout)
        req.connect(f"ipc://{self.run}/a/7102.ipc")
        try:
            req.send_string(request)
            return req.recv_string()
        except zmq.Again:
            return None
        finally:
            req.close()

    def status(self):
        for _ in range(10):
            reply = self.ask("STATUS")
            if reply:
                return json.loads(reply)
        raise AssertionError("STATUS unanswered")

    def counter(self, name):
        return self.status()["counters"][name]

    def stage(self, node):
        return [s for s in self.status()["stages"] if s["node"] == node]

    def wait(self, check, seconds, what):
        until = time.time() + seconds
        while time.time() < until:
            self.drain()
            if check():
                return
            time.sleep(0.2)
        raise AssertionError(f"{what} within {seconds} s\n" + self.tail())

    def drain(self):
        """Keeps every feed message but `stats` in self.seen."""
        while self.sub.poll(0):
            topic, body = self.sub.recv_multipart()
            if topic != b"stats":
                self.seen.append((topic.decode(), json.loads(body)))

    def topics(self, prefix):
        self.drain()
        return [b for t, b in self.seen if t.startswith(prefix)]

    def send(self, job_type, count, payload="x"):
        out = subprocess.run([ZSAT, "send", "--topology", self.file, "--host", "a", "--type",
                              job_type, "--count", str(count), "--payload", payload, "--quiet"],
                             capture_output=True, text=True, timeout=60)
        assert out.returncode == 0, out.stderr

    def send_json(self, job_type, count, payload='{"x": 1}'):
        """count vectors with a JSON payload (serialization json), as `exec` reads them."""
        vector = json.dumps({"type": job_type, "serialization": "json", "payload": payload})
        for _ in range(count):
            out = subprocess.run([ZSAT, "send", "--topology", self.file, "--host", "a",
                                  "--json", "--quiet"], input=vector + "\n",
                                 capture_output=True, text=True, timeout=60)
            assert out.returncode == 0, out.stderr

    def trace(self, task_id):
        out = subprocess.run([ZSAT, "trace", str(task_id), "--json", "--topology", self.file],
                             capture_output=True, text=True, timeout=30)
        assert out.returncode == 0, (out.returncode, out.stdout, out.stderr)
        return json.loads(out.stdout)

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.ctx.destroy(linger=0)
        self.log.close()


def skip(why):
    print("skip:", why)
    raise SystemExit(77)


def need(*probes):
    if not ZSAT:
        skip("ZSAT_BIN not set")
    for probe in probes:
        if subprocess.run([ZSAT, *probe], capture_output=True).returncode != 0:
            skip("zsat " + " ".join(probe) + " is not available")
