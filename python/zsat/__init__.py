# SPDX-License-Identifier: MPL-2.0
"""zsat - write zsat satellites in Python (over Debian's python3-zmq and python3-msgpack).

    import zsat

    def measure(record):              # a record (dict) in, a record (dict) out
        return {"load1": float(open("/proc/loadavg").read().split()[0])}

    zsat.worker(measure).run()        # --topology F --node N [--host H] [--instance I]

`worker(func)` makes a long-lived wire worker of func, for a node of `kind: external`: it
reads its node's endpoints from `zsat show FILE --host H --json`, receives vectors on
`in:route` (jobs from the orchester) and its `in:<link>` sockets, reports ACK and BEGIN,
calls func with the payload as a dict, and forwards the returned dict as a zsat.record to
every `out:<link>` whose `when` holds (PROPAGATE, seq + 1), then reports END, or HAPPY_END
at the last stage. func returning None forwards nothing (HAPPY_END "skipped"). An exception
is an ERROR event with its text (the tracker re-sends the task within its retry budget,
then declares FAILURE); `raise zsat.Retry("why")` retries here first, as a C kind's
ZSAT_RETRY does. A HEARTBEAT with the counters goes every second. SIGTERM or SIGINT stop it
after the vector in hand. The contract it follows: docs/satellites.md "over the wire".
"""
import argparse
import json
import os
import signal
import subprocess
import time
import zlib

import msgpack
import zmq

__all__ = ["worker", "Worker", "Retry", "EVENTS", "current"]
current = {}  # the vector in hand while the function runs (task_id, retry, where, ...)
VERSION = "0.1.0-py"
EVENTS = {"NONE": 0, "INIT": 1, "BOUNCE": 2, "ACK": 3, "SEND": 4, "BEGIN": 5, "END": 6,
          "HAPPY_END": 7, "PROPAGATE": 8, "ERROR": 9, "TIMEOUT": 10, "O_TIMEOUT": 11,
          "FAILURE": 12, "HEARTBEAT": 13, "DEAD_LETTER": 14, "RETRY": 15, "ALERT": 16,
          "SCALE": 17}
FIELDS = ["version", "event", "flags", "seq", "retry", "wid", "pid", "checksum", "task_id",
          "job_id", "timestamp", "where", "step", "next", "emitter", "type", "channel",
          "serialization"]
PAYLOAD_MAX = 16 * 1024 * 1024
OPS = {"<": float.__lt__, "<=": float.__le__, ">": float.__gt__, ">=": float.__ge__,
       "==": float.__eq__, "!=": float.__ne__}


class Retry(Exception):
    """Raise it from the function for a transient failure: the vector is tried again."""


def _now_us():
    return int(time.time() * 1e6)


def _detail(text):
    """A detail is at most 127 bytes of UTF-8 (docs/protocol.md section 7)."""
    return text.encode()[:127].decode(errors="ignore")


def decode(frames):
    """Three frames -> a dict of the envelope's fields plus "payload". Raises ValueError."""
    if len(frames) != 3:
        raise ValueError(f"{len(frames)} frames (a vector has 3)")
    routing, env, payload = frames
    fields = msgpack.unpackb(env, raw=False)
    if not isinstance(fields, list) or len(fields) != 18 or fields[0] != 1:
        raise ValueError("not a version 1 envelope of 18 elements")
    v = dict(zip(FIELDS, fields))
    if v["checksum"] != zlib.crc32(payload):
        raise ValueError("payload does not match the checksum")
    if routing != f"{v['where']}/{v['type']}".encode():
        raise ValueError("routing frame disagrees with where/type")
    v["payload"] = payload
    return v


def encode(v):
    """A dict as decode returns -> the three frames (minimal msgpack is accepted)."""
    payload = v["payload"]
    env = [1] + [v[k] for k in FIELDS[1:7]] + [zlib.crc32(payload)] + \
        [v[k] for k in FIELDS[8:]]
    return [f"{v['where']}/{v['type']}".encode(), msgpack.packb(env), payload]


def record_of(v):
    """The payload as a dict: a zsat.record or json payload, {} when empty."""
    if not v["payload"]:
        return {}
    if v["serialization"] == "zsat.record":
        record = msgpack.unpackb(v["payload"], raw=False)
    elif v["serialization"] == "json":
        record = json.loads(v["payload"])
    else:
        raise ValueError(f"payload of serialization '{v['serialization']}' is not a record")
    if not isinstance(record, dict):
        raise ValueError("payload is not a map")
    return record


def _endpoints(text):
    """'@ipc://a,>tcp://b' -> [(True, 'ipc://a'), (False, 'tcp://b')] (True: bind)."""
    return [(part[0] == "@", part[1:]) for part in text.split(",") if part]


def _when(condition, record):
    """`KEY OP NUMBER` on the record; a missing or non-numeric key never holds."""
    if not condition:
        return True
    key, op, number = condition.split()
    value = record.get(key)
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return False
    return OPS[op](float(value), float(number))


class Worker:
    def __init__(self, func, topology=None, node=None, host=None, instance=None,
                 zsat_bin=None, argv=None):
        args = self._args(argv)
        self.func = func
        self.topology = topology or args.topology or os.environ.get("ZSAT_TOPOLOGY")
        self.node = node or args.node or os.environ.get("ZSAT_NODE")
        self.host = host or args.host or os.environ.get("ZSAT_HOST")
        self.instance = int(instance if instance is not None else
                            args.instance if args.instance is not None else
                            os.environ.get("ZSAT_INSTANCE", "0"))
        self.zsat = zsat_bin or os.environ.get("ZSAT_BIN", "zsat")
        if not self.topology or not self.node:
            raise SystemExit("zsat.worker: give --topology FILE and --node NAME "
                             "(or ZSAT_TOPOLOGY and ZSAT_NODE)")
        self.counters = dict.fromkeys(["in", "out", "errors", "retries", "dropped", "dead"], 0)
        self.pending = []
        self.stopping = False

    @staticmethod
    def _args(argv):
        p = argparse.ArgumentParser(add_help=False)
        for name in ("--topology", "--node", "--host", "--instance"):
            p.add_argument(name)
        return p.parse_known_args(argv)[0]

    # --- setup: the node's sockets, from `zsat show --json` ---

    def _show(self):
        cmd = [self.zsat, "show", self.topology, "--json"] + \
            (["--host", self.host] if self.host else [])
        out = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
        if out.returncode != 0:
            raise SystemExit(f"zsat.worker: {' '.join(cmd)}: {out.stderr.strip()}")
        shown = json.loads(out.stdout)
        for h in shown["hosts"]:
            for n in h["nodes"]:
                if n["name"] == self.node:
                    self.host = h["name"]
                    return shown, n
        raise SystemExit(f"zsat.worker: no node '{self.node}' in {self.topology}")

    def _socket(self, spec):
        kinds = {"PUSH": zmq.PUSH, "PULL": zmq.PULL, "PUB": zmq.PUB, "SUB": zmq.SUB}
        if spec["type"] not in kinds:
            raise SystemExit(f"zsat.worker: socket {spec['name']}: {spec['type']} links are "
                             "not supported (push and pub are)")
        sock = self.ctx.socket(kinds[spec["type"]])
        sock.setsockopt(zmq.LINGER, 2000 if spec["type"] in ("PUSH", "PUB") else 0)
        sock.setsockopt(zmq.MAXMSGSIZE, PAYLOAD_MAX + 1024 + 128)
        if spec["type"] == "SUB":
            sock.setsockopt_string(zmq.SUBSCRIBE, spec["topic"])
        if spec["type"] == "PUSH" and not spec["bind"]:
            sock.setsockopt(zmq.IMMEDIATE, 1)  # queue only to a connected peer
        for bind, url in _endpoints(spec["endpoint"]):
            if bind and url.startswith("ipc://"):
                os.makedirs(os.path.dirname(url[6:]), exist_ok=True)
            (sock.bind if bind else sock.connect)(url)
        return sock

    def _open(self):
        shown, node = self._show()
        self.max_retry = shown["tracker"]["max_retry"]
        self.ctx = zmq.Context()
        self.inputs, self.outputs, self.events = {}, [], None
        for spec in node["sockets"]:
            if spec["name"] == "events":
                self.events = self._socket(spec)
                self.events.setsockopt(zmq.SNDHWM, 10000)
            elif spec["name"].startswith("in:"):
                self.inputs[self._socket(spec)] = spec["name"]
            elif spec["name"].startswith("out:"):
                self.outputs.append((self._socket(spec), spec))

    # --- tracker events (docs/protocol.md section 7) ---

    def event(self, name, v=None, detail=""):
        v = v or {"task_id": 0, "job_id": 0, "type": "", "retry": 0, "seq": 0, "flags": 0}
        self.pending.append([EVENTS[name], v["task_id"], v["job_id"], v["type"], v["retry"],
                             v["seq"], _now_us(), v["flags"], _detail(detail)])

    def flush(self):
        if not self.pending or not self.events:
            return
        batch = [1, self.host, self.node, self.instance, os.getpid(), VERSION, self.pending]
        self.pending = []
        try:  # never block on the tracker: a refused batch is dropped and counted
            self.events.send_multipart([b"zsat.ev", msgpack.packb(batch)], zmq.NOBLOCK)
        except zmq.Again:
            self.counters["dropped"] += 1

    def heartbeat(self):
        self.pending.append([EVENTS["HEARTBEAT"], 0, 0, "external", 0, 0, _now_us(), 0,
                             " ".join(f"{k}={n}" for k, n in self.counters.items())])
        self.flush()

    # --- one vector ---

    def _call(self, v, record):
        """func(record), retrying on Retry. Returns (result, error detail or None)."""
        for attempt in range(self.max_retry + 1):
            try:
                return self.func(record), None
            except Retry as e:
                if attempt == self.max_retry:
                    return None, f"gave up after {attempt} retries: {e}"
                self.counters["retries"] += 1
                self.event("RETRY", v, str(e))
                self.flush()
                time.sleep(min(0.01 * 2 ** attempt, 1.0))
            except Exception as e:  # any failure of the function is this task's ERROR
                return None, f"{type(e).__name__}: {e}"

    def _send(self, sock, spec, frames):
        flags = zmq.NOBLOCK if spec["type"] == "PUB" else 0
        for _ in range(50):  # a blocked PUSH: up to 5 s, still answering signals
            try:
                sock.send_multipart(frames, flags, copy=False)
                return True
            except zmq.Again:
                if flags or self.stopping:
                    break
                sock.poll(100, zmq.POLLOUT)
        self.counters["dropped"] += 1
        return False

    def _forward(self, v, result):
        out = dict(v, event=EVENTS["PROPAGATE"], seq=v["seq"] + 1, step=self.node,
                   wid=self.instance, pid=os.getpid(), timestamp=_now_us(),
                   serialization="zsat.record", payload=msgpack.packb(result))
        matched = sent = 0
        for sock, spec in self.outputs:
            if _when(spec["when"], result):
                matched += 1
                out["next"] = spec["peer"]
                sent += self._send(sock, spec, encode(out))
        self.counters["out"] += sent
        if not self.outputs:
            self.event("HAPPY_END", v)
        elif matched == 0:
            self.event("HAPPY_END", v, "no output condition held")
        elif sent == 0:
            self.counters["errors"] += 1
            self.event("ERROR", v, "not forwarded: every output refused it")
        else:
            self.event("END", v)

    def handle(self, frames, where):
        self.counters["in"] += 1
        try:
            v = decode(frames)
            record = record_of(v)
        except Exception as e:  # bad input is counted and reported, never fatal
            self.counters["dead"] += 1
            self.event("DEAD_LETTER", None, f"{where}: {e}")
            return
        self.event("ACK", v)
        self.event("BEGIN", v)
        self.flush()  # the tracker sees BEGIN even if the function never returns
        current.clear()
        current.update(v)
        result, error = self._call(v, record)
        if error is not None:
            self.counters["errors"] += 1
            self.event("ERROR", v, error)
        elif result is None:
            self.event("HAPPY_END", v, "skipped")
        else:
            try:
                self._forward(v, result)
            except (TypeError, ValueError, OverflowError) as e:
                self.counters["errors"] += 1
                self.event("ERROR", v, f"result is not a record: {e}")

    # --- the loop ---

    def _stop(self, *_):
        self.stopping = True

    def run(self):
        self._open()
        signal.signal(signal.SIGTERM, self._stop)
        signal.signal(signal.SIGINT, self._stop)
        poller = zmq.Poller()
        for sock in self.inputs:
            poller.register(sock, zmq.POLLIN)
        next_beat = 0
        try:
            while not self.stopping:
                if time.monotonic() >= next_beat:
                    self.heartbeat()
                    next_beat = time.monotonic() + 1
                for sock, _ in poller.poll(200):
                    if not self.stopping:
                        self.handle(sock.recv_multipart(), self.inputs[sock])
                self.flush()
            self.heartbeat()
        finally:
            self.ctx.destroy(linger=2000)


def worker(func, **kwargs):
    """A Worker running func; call .run() on it (it returns at SIGTERM or SIGINT)."""
    return Worker(func, **kwargs)
