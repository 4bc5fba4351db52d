# SPDX-License-Identifier: MPL-2.0
"""zsat_wire - what tests/e2e/input_classes.py and hostile_frames.py share: the vector and
event-batch encodings of docs/protocol.md written by hand (any integer and string width,
array16 or array32, DSAT's legacy frame), and a running topology (`zsat up`) with the
queries a user has: launcher STATUS, tracker STATUS/NODES/TRACE, orchester STATS, the
tracker's FAILURE feed, the csv rows, each process's RSS.

Every wait is bounded; nothing measures speed.
"""
import csv
import glob
import json
import os
import re
import shutil
import signal
import struct
import subprocess
import tempfile
import time
import zlib

import msgpack
import zmq

BIN = os.environ.get("ZSAT_BIN", "zsat")
SRC = os.environ.get("ZSAT_SRC", os.path.join(os.path.dirname(__file__), "..", ".."))
TOPOLOGY = os.path.join(SRC, "tests", "topologies", "frames.yaml")
EVENTS = {"INIT": 1, "SEND": 4, "PROPAGATE": 8, "HEARTBEAT": 13}


def wait_for(what, predicate, timeout=60.0, step=0.1):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(step)
    raise AssertionError("timed out waiting for " + what)


# --- msgpack by hand (docs/protocol.md section 2: any width a receiver must accept) ---

def pack_uint(value, width="min"):
    if width == "min":
        return msgpack.packb(value)
    code, fmt = {"8": (0xcc, ">B"), "16": (0xcd, ">H"), "32": (0xce, ">I"),
                 "64": (0xcf, ">Q")}[width]
    return bytes([code]) + struct.pack(fmt, value)


def pack_str(text, width="min"):
    data = text.encode()
    if width == "min":
        return msgpack.packb(text)
    code, fmt = {"8": (0xd9, ">B"), "16": (0xda, ">H"), "32": (0xdb, ">I")}[width]
    return bytes([code]) + struct.pack(fmt, len(data)) + data


def envelope(task_id, payload, where="local", type_="work", event=1, ints="min", strs="min",
             array="16", serialization="zsat.record", version=1, crc=None, emitter="py"):
    """The 18 elements of protocol.md section 2, each integer and string in the width asked:
    ints "min" (what msgpack.packb writes) or "canon" (zsat's fixed widths)."""
    crc = zlib.crc32(payload) if crc is None else crc
    numbers = [version, event, 0, 0, 0, 0, os.getpid(), crc, task_id, 0]
    canon = ["min", "8", "32", "32", "32", "32", "32", "32", "64", "64"]
    out = bytearray(b"\xdc\x00\x12" if array == "16" else b"\xdd\x00\x00\x00\x12")
    for i, value in enumerate(numbers):
        out += pack_uint(value, canon[i] if ints == "canon" else "min")
    now = int(time.time() * 1e6)
    out += b"\xd3" + struct.pack(">q", now) if ints == "canon" else msgpack.packb(now)
    for text in (where, "", "", emitter, type_, "", serialization):
        out += pack_str(text, strs)
    return bytes(out)


def record(task_id):
    return msgpack.packb({"v": float(task_id % 1000), "cls": 1})


def vector(task_id, payload=None, **kw):
    payload = record(task_id) if payload is None else payload
    where = kw.get("where", "local")
    type_ = kw.get("type_", "work")
    return [("%s/%s" % (where, type_)).encode(), envelope(task_id, payload, **kw), payload]


def legacy(task_id, payload=None, where="local", type_="work"):
    """DSAT's single frame (protocol.md section 8)."""
    payload = record(task_id) if payload is None else payload
    head = "%s::0:%d:\0py:%s::%d:INIT:0\0zsat.record\0" % (where, os.getpid(), type_, task_id)
    return [head.encode() + payload]


def batch(records, node="pyprobe", host="local", version=1):
    """A tracker event batch (protocol.md section 7), minimally packed."""
    rows = [[r.get("event", 1), r.get("task_id", 0), 0, r.get("type", ""), 0, 0,
             int(time.time() * 1e6), 0, r.get("detail", "")] for r in records]
    return [b"zsat.ev", msgpack.packb([version, host, node, 7, os.getpid(), "py", rows])]


# --- a running topology ---

class Topology:
    """`zsat up` of tests/topologies/frames.yaml in a private run directory."""

    def __init__(self, name, binary=BIN, asan_quarantine_mb=None):
        self.tmp = tempfile.mkdtemp(prefix="zsat-%s-%d." % (name, os.getpid()))
        self.run_dir = os.path.join(self.tmp, "run")
        self.env = dict(os.environ, ZSAT_RUN_DIR=self.run_dir)
        if asan_quarantine_mb is not None:
            # Under AddressSanitizer freed memory waits in a quarantine (256 MiB by default)
            # before it can return: bound it when a test measures memory. No effect otherwise.
            opts = [o for o in self.env.get("ASAN_OPTIONS", "").split(":") if o]
            opts.append("quarantine_size_mb=%d" % asan_quarantine_mb)
            self.env["ASAN_OPTIONS"] = ":".join(opts)
        self.binary = binary
        self.ctx = zmq.Context()
        self.proc = None
        self.log = None

    def start(self):
        self.eps = self._endpoints()
        self.log = open(os.path.join(self.tmp, "up.log"), "w")
        self.proc = subprocess.Popen([self.binary, "up", TOPOLOGY, "--no-status"], env=self.env,
                                     stdout=self.log, stderr=self.log, start_new_session=True)
        self.launcher_ep = "ipc://%s/local/%d.ipc" % (self.run_dir, 7960 + 6)
        want = {"gen", "work", "csv", "crit", "vault", "tracker", "scheduler", "orchester"}
        wait_for("every node running", lambda: self._running() >= want, timeout=120)
        wait_for("heartbeats of every node",
                 lambda: {n["node"] for n in self.nodes()} >= want - {"tracker"}, timeout=120)
        self.pids = self.pid_map()
        return self

    def _endpoints(self):
        out = subprocess.run([self.binary, "show", TOPOLOGY], env=self.env, capture_output=True,
                             text=True, timeout=60).stdout
        eps, node = {}, None
        for line in out.splitlines():
            m = re.match(r"\s+node (\S+)", line)
            if m:
                node = m.group(1)
            m = re.match(r"\s+bind\s+\S+\s+(\S+)\s+@(\S+)", line)
            if m and node:
                eps[(node, m.group(1))] = m.group(2)
        return eps

    def request(self, endpoint, text, timeout_ms=3000):
        """One request on a fresh REQ: a lost reply never wedges the test."""
        with self.ctx.socket(zmq.REQ) as req:
            req.setsockopt(zmq.LINGER, 0)
            req.setsockopt(zmq.RCVTIMEO, timeout_ms)
            req.connect(endpoint)
            req.send_string(text)
            try:
                return json.loads(req.recv_string())
            except (zmq.Again, ValueError):
                return None

    def status(self):
        return self.request(self.launcher_ep, "STATUS") or {}

    def _running(self):
        return {i["node"] for i in self.status().get("instances", [])
                if i["state"] == "running" and i["pid"] > 0}

    def pid_map(self):
        return {i["node"]: (i["pid"], i["restarts"]) for i in self.status().get("instances", [])}

    def nodes(self):
        reply = self.request(self.eps[("tracker", "query")], "NODES") or {}
        return reply.get("nodes", [])

    def node(self, name):
        return next((n for n in self.nodes() if n["node"] == name), {})

    def tracker_status(self):
        return self.request(self.eps[("tracker", "query")], "STATUS") or {}

    def orchester_stats(self):
        return self.request(self.eps[("orchester", "control")], "STATS") or {}

    def trace(self, task_id):
        r = subprocess.run([self.binary, "trace", str(task_id), "--json", "--topology", TOPOLOGY],
                           env=self.env, capture_output=True, text=True, timeout=60)
        try:
            return json.loads(r.stdout) if r.returncode == 0 else None
        except ValueError:
            return None

    def push(self, endpoint, messages, kind=zmq.PUSH):
        """Sends messages on a fresh socket of its own context and returns once libzmq handed
        all of them over (the context's term waits, bounded by the linger)."""
        ctx = zmq.Context()
        sock = ctx.socket(kind)
        sock.setsockopt(zmq.SNDHWM, 100000)
        sock.connect(endpoint)
        for frames in messages:
            sock.send_multipart(frames)
        sock.close(linger=120000)
        ctx.term()

    def csv_rows(self):
        """{task_id: rows} over every csv file of the run."""
        rows = {}
        for path in glob.glob(os.path.join(self.run_dir, "**", "*.csv"), recursive=True):
            with open(path, newline="") as handle:
                reader = csv.reader(handle)
                header = next(reader, None) or []
                if "task_id" not in header:
                    continue
                col = header.index("task_id")
                for row in reader:
                    if len(row) > col:
                        rows[int(row[col])] = rows.get(int(row[col]), 0) + 1
        return rows

    def rss_kib(self, pid):
        try:
            with open("/proc/%d/status" % pid) as handle:
                for line in handle:
                    if line.startswith("VmRSS:"):
                        return int(line.split()[1])
        except OSError:
            return None
        return None

    def assert_alive(self):
        now = self.pid_map()
        for node, (pid, restarts) in self.pids.items():
            assert now.get(node) == (pid, 0), "%s: was pid %d, now %r" % (node, pid, now.get(node))
            assert self.rss_kib(pid) is not None, "%s (pid %d) is gone" % (node, pid)

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=120)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
        if self.log:
            self.log.close()
        self.ctx.destroy(linger=0)

    def dump_logs(self):
        for path in [os.path.join(self.tmp, "up.log")] + glob.glob(
                os.path.join(self.run_dir, "*", "logs", "*.log")):
            try:
                with open(path, errors="replace") as handle:
                    print("==", path, "\n" + "".join(handle.readlines()[-12:]))
            except OSError:
                pass

    def cleanup(self):
        shutil.rmtree(self.tmp, ignore_errors=True)


class FailureFeed:
    """The tracker's state feed, FAILURE messages only (dead letters carry their reason)."""

    def __init__(self, topo):
        self.sock = topo.ctx.socket(zmq.SUB)
        self.sock.setsockopt(zmq.RCVHWM, 1000000)
        self.sock.setsockopt(zmq.SUBSCRIBE, b"FAILURE")
        self.sock.connect(topo.eps[("tracker", "state")])
        self.seen = []

    def drain(self):
        while True:
            try:
                parts = self.sock.recv_multipart(zmq.NOBLOCK)
            except zmq.Again:
                return self.seen
            try:
                self.seen.append(json.loads(parts[-1]))
            except ValueError:
                pass
