"""codec_interop: a peer written from docs/protocol.md alone (Debian's pyzmq + msgpack +
zlib) talks to `zsat codec`. Python -> zsat: canonical and minimal envelopes, a DSAT legacy
frame and hostile messages (each counted as an error, the process survives). zsat -> Python:
every field, the canonical offsets, the CRC, the routing frame, the legacy frame.
Nothing is imported from zsat; every wait is bounded."""
import json
import os
import struct
import subprocess
import sys
import zlib

try:
    import msgpack
    import zmq
except ImportError as e:  # not Debian's python: skip, do not fail
    print("skip:", e)
    sys.exit(77)

ZSAT = os.environ.get("ZSAT_BIN", "zsat")
EVENTS = ["NONE", "INIT", "BOUNCE", "ACK", "SEND", "BEGIN", "END", "HAPPY_END", "PROPAGATE",
          "ERROR", "TIMEOUT", "O_TIMEOUT", "FAILURE", "HEARTBEAT", "DEAD_LETTER", "RETRY",
          "ALERT", "SCALE"]
NUMS = ["event", "flags", "seq", "retry", "wid", "pid", "checksum", "task_id", "job_id",
        "timestamp"]
STRS = ["where", "step", "next", "emitter", "type", "channel", "serialization"]
failures = []


def check(cond, what):
    if not cond:
        failures.append(what)
        print("FAIL:", what)


def pstr(s):
    b = s.encode()
    return (bytes([0xA0 | len(b)]) if len(b) < 32 else bytes([0xD9, len(b)])) + b


def canonical(v):
    """Envelope in the canonical layout of protocol.md section 2, packed by hand."""
    out = b"\xdc\x00\x12\x01" + struct.pack(">BB", 0xCC, v["event"])
    for k in ["flags", "seq", "retry", "wid", "pid", "checksum"]:
        out += struct.pack(">BI", 0xCE, v[k])
    out += struct.pack(">BQ", 0xCF, v["task_id"]) + struct.pack(">BQ", 0xCF, v["job_id"])
    out += struct.pack(">Bq", 0xD3, v["timestamp"])
    for k in STRS:
        out += pstr(v[k])
    return out


def minimal(v):
    return msgpack.packb([1] + [v[k] for k in NUMS] + [v[k] for k in STRS])


def vector(i, payload):
    return {"event": i % 18, "flags": 1, "seq": i, "retry": 2, "wid": 3, "pid": 40000 + i,
            "checksum": zlib.crc32(payload), "task_id": (1 << 63) + i, "job_id": 7,
            "timestamp": -5 if i % 2 else 1700000000000000, "where": "hostA",
            "step": "orchester", "next": "cpu" if i % 3 else "", "emitter": "e" * 40,
            "type": "cpu", "channel": "", "serialization": "raw", "payload": payload}


def frames(v, env):
    return [(v["where"] + "/" + v["type"]).encode(), env, v["payload"]]


def run_decode(ctx, messages, expect_lines):
    push = ctx.socket(zmq.PUSH)
    push.setsockopt(zmq.LINGER, 2000)
    port = push.bind_to_random_port("tcp://127.0.0.1")
    proc = subprocess.Popen([ZSAT, "codec", "decode", "--connect", "tcp://127.0.0.1:%d" % port,
                             "--count", str(expect_lines), "--timeout", "10000"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    push.setsockopt(zmq.SNDTIMEO, 10000)
    try:
        for m in messages:
            push.send_multipart(m)
    except zmq.Again:
        check(False, "zsat codec decode never connected")
    try:
        out, err = proc.communicate(timeout=30)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, err = proc.communicate()
    push.close(linger=0)  # after the reader is done: nothing queued is lost
    check(proc.returncode == 0, "decode exit code %s: %s" % (proc.returncode, err))
    lines = []
    for line in out.decode().splitlines():
        try:
            lines.append(json.loads(line))
        except ValueError:
            check(False, "not a JSON line: %r" % line)
    return lines, err.decode()


def python_to_zsat(ctx):
    sent = []
    messages = []
    for i in range(6):
        v = vector(i, bytes(range(i * 7 % 256)) if i % 2 else ("m%d é" % i).encode())
        sent.append(v)
        messages.append(frames(v, canonical(v) if i < 3 else minimal(v)))
    good = vector(1, b"x")
    env = canonical(good)
    hostile = [
        ("bad checksum", [b"hostA/cpu", env, b"y"], 8),
        ("version 2", [b"hostA/cpu", env[:3] + b"\x02" + env[4:], b"x"], 2),
        ("routing mismatch", [b"hostB/cpu", env, b"x"], 9),
        ("two frames", [b"hostA/cpu", env], 1),
        ("five frames", [b"a", b"b", b"c", b"d", b"e"], 1),
        ("truncated envelope", [b"hostA/cpu", env[:40], b"x"], 5),
        ("huge array header", [b"hostA/cpu", b"\xdd\xff\xff\xff\xff", b""], 6),
        ("str where int", [b"hostA/cpu", env[:4] + b"\xa1x" + env[6:], b"x"], 3),
        ("17 elements", [b"hostA/cpu", msgpack.packb([1] * 17), b""], 7),
        ("trailing byte", [b"hostA/cpu", env + b"\x00", b"x"], 4),
        ("legacy without separators", [b"hostA:cpu"], 7),
    ]
    for _, m, _ in hostile:
        messages.append(m)
    legacy = b"hostA:orchester:1:4242:cpu\0sched:cpu::7:HAPPY_END:3\0json\0{\"a\": 1}\0\xff"
    messages.append([legacy])
    # protocol.md section 6: a zsat.record payload is a msgpack map; nil is skipped.
    records = []
    for payload in [msgpack.packb({"cpu.user": 12.5, "count": 3, "host": "h1", "ok": True,
                                   "none": None, "neg": -70000}),
                    msgpack.packb([1, 2])]:
        v = dict(vector(1, payload), serialization="zsat.record")
        records.append(v)
        messages.append(frames(v, canonical(v)))
    lines, err = run_decode(ctx, messages, len(messages))
    check(len(lines) == len(messages), "decode printed %d lines for %d messages" %
          (len(lines), len(messages)))
    for v, line in zip(sent, lines):
        check("error" not in line, "valid vector refused: %s" % line)
        for k in NUMS:
            want = EVENTS[v[k]] if k == "event" else v[k]
            check(line.get(k) == want, "field %s: %r != %r" % (k, line.get(k), want))
        for k in STRS:
            check(line.get(k) == v[k], "field %s: %r != %r" % (k, line.get(k), v[k]))
        got = bytes.fromhex(line["payload_hex"]) if "payload_hex" in line else \
            line["payload"].encode()
        check(got == v["payload"], "payload %r != %r" % (got, v["payload"]))
    for (what, _, code), line in zip(hostile, lines[len(sent):]):
        check(line.get("error") == code, "hostile %s: %s (want error %d)" % (what, line, code))
    rec_lines = lines[-2:] if len(lines) == len(messages) else [{}, {}]
    check(rec_lines[0].get("record") == {"cpu.user": 12.5, "count": 3, "host": "h1", "ok": 1,
                                         "neg": -70000}, "record decode: %s" % rec_lines[0])
    check("record_error" in rec_lines[1] and "error" not in rec_lines[1],
          "not a record: %s" % rec_lines[1])
    last = lines[-3] if len(lines) == len(messages) else {}
    check(last.get("event") == "HAPPY_END" and last.get("flags") == 8 and
          last.get("task_id") == 7 and last.get("serialization") == "json" and
          last.get("payload_hex") == b'{"a": 1}\0\xff'.hex(), "legacy decode: %s" % last)
    check("%d errors" % len(hostile) in err, "error count on stderr: %s" % err)


def run_encode(ctx, lines, legacy=False):
    pull = ctx.socket(zmq.PULL)
    pull.setsockopt(zmq.LINGER, 0)
    port = pull.bind_to_random_port("tcp://127.0.0.1")
    cmd = [ZSAT, "codec", "encode", "--connect", "tcp://127.0.0.1:%d" % port,
           "--timeout", "10000"] + (["--legacy"] if legacy else [])
    proc = subprocess.run(cmd, input="\n".join(lines).encode() + b"\n", capture_output=True,
                          timeout=30)
    check(proc.returncode == 0, "encode exit %d: %s" % (proc.returncode, proc.stderr))
    got = []
    poller = zmq.Poller()
    poller.register(pull, zmq.POLLIN)
    for _ in lines:
        if not poller.poll(10000):
            break
        got.append(pull.recv_multipart())
    pull.close()
    check(len(got) == len(lines), "received %d of %d messages" % (len(got), len(lines)))
    return got


def zsat_to_python(ctx):
    vs = [vector(i, ("payload %d" % i).encode()) for i in range(5)]
    vs[4]["payload"] = b""
    lines = []
    for v in vs:
        d = {k: (EVENTS[v[k]] if k == "event" else v[k]) for k in NUMS + STRS if k != "checksum"}
        d["payload"] = v["payload"].decode()
        lines.append(json.dumps(d))
    for v, msg in zip(vs, run_encode(ctx, lines)):
        check(len(msg) == 3, "zsat sent %d frames" % len(msg))
        routing, env, payload = msg[0], msg[1], msg[2]
        check(routing == b"hostA/cpu", "routing %r" % routing)
        check(env[:4] == b"\xdc\x00\x12\x01", "canonical head %r" % env[:4])
        check(env[4] == 0xCC and env[6] == 0xCE and env[11] == 0xCE and env[16] == 0xCE,
              "canonical markers")
        check(struct.unpack(">I", env[12:16])[0] == v["seq"], "seq at offset 11")
        fields = msgpack.unpackb(env)
        check(len(fields) == 18 and fields[0] == 1, "18 elements, version 1")
        got = dict(zip(NUMS + STRS, fields[1:]))
        for k in NUMS + STRS:
            want = zlib.crc32(v["payload"]) if k == "checksum" else v[k]
            check(got[k] == want, "zsat field %s: %r != %r" % (k, got[k], want))
        check(payload == v["payload"], "payload")
        check(zlib.crc32(payload) == got["checksum"], "CRC of the payload")
        check(env == canonical(dict(v, checksum=zlib.crc32(payload))),
              "byte-identical to the documented canonical layout")
    # DSAT legacy, zsat -> Python
    d = {"event": "INIT", "where": "hostA", "step": "", "wid": 3, "pid": 4660, "next": "cpu",
         "emitter": "sched", "type": "cpu", "task_id": 72623859790382856, "seq": 2,
         "serialization": "raw", "payload": "hello", "job_id": 9}
    msg = run_encode(ctx, [json.dumps(d)], legacy=True)
    want = b"hostA::3:4660:cpu\0sched:cpu::72623859790382856:INIT:2\0raw\0hello"
    check(msg and msg[0] == [want], "legacy frame %r" % (msg[0] if msg else None))
    # A line zsat refuses (bad name) is reported, not sent.
    bad = subprocess.run([ZSAT, "codec", "encode", "--connect", "tcp://127.0.0.1:1",
                          "--timeout", "200"], input=b'{"where": "a b", "type": "t"}\n',
                         capture_output=True, timeout=30)
    check(bad.returncode == 1 and b"where" in bad.stderr, "bad line: %r" % bad.stderr)


def main():
    ctx = zmq.Context()
    try:
        python_to_zsat(ctx)
        zsat_to_python(ctx)
    finally:
        ctx.destroy(linger=0)  # never hang on a socket an error left open
    if failures:
        print("%d failures" % len(failures))
        return 1
    print("codec_interop: OK")
    return 0


if __name__ == "__main__":
    sys.exit(main())
