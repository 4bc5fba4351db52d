#!/usr/bin/python3
# SPDX-License-Identifier: MPL-2.0
"""codec_identity - `zsat codec decode | zsat codec encode` is the identity on valid vectors.

1000 random valid vectors (seeded: ZSAT_SEED, default 12345; the seed is printed) written
from docs/protocol.md alone, in the canonical envelope layout of section 2: every envelope
field over its whole range with its edges, names of 1..63 bytes (fixstr/str8 boundary at
31/32), serialization of 1..15 bytes, payloads empty, binary, UTF-8 text with NULs, quotes,
backslashes and control characters, zsat.record maps (canonical ones, and ones that are not:
float32, wide integers, bools, nil, NaN), a zsat.record serialization whose payload is not a
record, edge sizes (31/32/255/256/65535/65536), and one payload of exactly 16 MiB. They go
into `codec decode`, through a shell pipe into `codec encode`, and back to this script: every
frame must come back byte for byte, in order, with no error on either side.
Exit 0 pass, 77 skip, 1 fail.
"""
import os
import random
import shutil
import signal
import struct
import subprocess
import sys
import tempfile
import zlib

try:
    import msgpack
    import zmq
except ImportError as e:
    print("skip:", e)
    sys.exit(77)

ZSAT = os.environ.get("ZSAT_BIN", "zsat")
SEED = int(os.environ.get("ZSAT_SEED", "12345"))
COUNT = 1000
NAME_CHARS = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.-"
U32 = [0, 1, 127, 128, 255, 256, 65535, 65536, 2**31, 2**32 - 1]
U64 = [0, 1, 2**32 - 1, 2**32, 2**53, 2**63, 2**64 - 1]
I64 = [0, 1, -1, -2**63, 2**63 - 1, 1700000000000000]
SIZES = [0, 1, 2, 31, 32, 255, 256, 65535, 65536]


def pick(rng, edges, lo, hi):
    return rng.choice(edges) if rng.random() < 0.4 else rng.randint(lo, hi)


def name(rng, empty_ok=False, max_len=63):
    if empty_ok and rng.random() < 0.3:
        return ""
    n = rng.choice([1, 31, 32, max_len]) if rng.random() < 0.3 else rng.randint(1, max_len)
    n = min(n, max_len)
    return "".join(rng.choice(NAME_CHARS) for _ in range(n))


def text_payload(rng):
    """Valid UTF-8 with the characters JSON has to escape, NUL included."""
    alphabet = ["a", "Z", "0", " ", '"', "\\", "/", "\n", "\r", "\t", "\x00", "\x01", "\x1f",
                "\x7f", "é", "€", "😀", ":", "{", "}"]
    n = rng.choice(SIZES) if rng.random() < 0.3 else rng.randint(1, 300)
    s = "".join(rng.choice(alphabet) for _ in range(n))
    return s.encode()


def record_key(rng, used):
    while True:
        k = name(rng)
        if k not in used:
            used.add(k)
            return k


def record_payload(rng):
    """A zsat.record map (section 6); canonical or not, always valid."""
    used, pairs = set(), []
    for _ in range(rng.choice([0, 1, 15, 16, rng.randint(1, 40)])):
        k = record_key(rng, used)
        r = rng.random()
        if r < 0.25:
            v = msgpack.packb(rng.randint(-2**53 + 1, 2**53 - 1))
        elif r < 0.45:
            v = msgpack.packb(rng.uniform(-1e9, 1e9))
        elif r < 0.6:
            v = msgpack.packb("".join(rng.choice("ab\"\\\n é😀") for _ in range(rng.randint(0, 30))))
        elif r < 0.65:
            v = b"\xca" + struct.pack(">f", rng.uniform(-100, 100))  # float32
        elif r < 0.7:
            v = b"\xcf" + struct.pack(">Q", rng.randint(0, 2**64 - 1))  # wide integer
        elif r < 0.75:
            v = rng.choice([b"\xc2", b"\xc3", b"\xc0"])  # false, true, nil
        elif r < 0.8:
            v = b"\xcb" + struct.pack(">d", rng.choice([float("nan"), float("inf"), -0.0]))
        else:
            v = msgpack.packb(rng.randint(0, 100))
        pairs.append(msgpack.packb(k) + v)
    n = len(pairs)
    head = bytes([0x80 | n]) if n < 16 else b"\xde" + struct.pack(">H", n)
    return head + b"".join(pairs)


def payload_for(rng, i):
    """(serialization, payload) for vector i."""
    if i == COUNT // 2:
        return "raw", rng.randbytes(16 * 1024 * 1024)  # the protocol's maximum
    r = rng.random()
    if r < 0.3:
        return "zsat.record", record_payload(rng)
    if r < 0.35:
        return "zsat.record", rng.randbytes(rng.randint(0, 40))  # not a record
    if r < 0.6:
        return name(rng, max_len=15), text_payload(rng)
    n = rng.choice(SIZES) if rng.random() < 0.5 else rng.randint(0, 2000)
    return name(rng, max_len=15), rng.randbytes(n)


def pstr(s):
    b = s.encode()
    return (bytes([0xA0 | len(b)]) if len(b) < 32 else bytes([0xD9, len(b)])) + b


def vector(rng, i):
    """The three frames of a valid vector, the envelope canonical (protocol.md section 2)."""
    serialization, payload = payload_for(rng, i)
    where, type_ = name(rng), name(rng)
    env = b"\xdc\x00\x12\x01" + struct.pack(">BB", 0xCC, rng.randint(0, 17))
    for _ in range(5):  # flags seq retry wid pid
        env += struct.pack(">BI", 0xCE, pick(rng, U32, 0, 2**32 - 1))
    env += struct.pack(">BI", 0xCE, zlib.crc32(payload))
    env += struct.pack(">BQ", 0xCF, i)  # task_id: the index, to report a mismatch
    env += struct.pack(">BQ", 0xCF, pick(rng, U64, 0, 2**64 - 1))
    env += struct.pack(">Bq", 0xD3, pick(rng, I64, -2**63, 2**63 - 1))
    for s in [where, name(rng, True), name(rng, True), name(rng, True), type_,
              name(rng, True), serialization]:
        env += pstr(s)
    return [f"{where}/{type_}".encode(), env, payload]


def describe(frames):
    env = msgpack.unpackb(frames[1])
    return f"task {env[8]} serialization {env[17]} payload {len(frames[2])} bytes"


def main():
    print(f"codec_identity: seed {SEED}")
    rng = random.Random(SEED)
    vectors = [vector(rng, i) for i in range(COUNT)]
    tmp = tempfile.mkdtemp(prefix=f"zsat-codec-identity-{os.getpid()}-")
    ctx = zmq.Context()
    pipe = None
    try:
        into, back = f"ipc://{tmp}/decode.ipc", f"ipc://{tmp}/encode.ipc"
        pull = ctx.socket(zmq.PULL)
        pull.setsockopt(zmq.RCVHWM, 0)
        pull.setsockopt(zmq.LINGER, 0)
        pull.bind(back)
        err = open(os.path.join(tmp, "stderr"), "w+")
        cmd = (f"'{ZSAT}' codec decode --bind {into} --count {COUNT} --timeout 120000 | "
               f"'{ZSAT}' codec encode --connect {back} --timeout 120000")
        pipe = subprocess.Popen(["bash", "-o", "pipefail", "-c", cmd], stderr=err,
                                start_new_session=True)
        push = ctx.socket(zmq.PUSH)
        push.setsockopt(zmq.SNDHWM, 0)
        push.setsockopt(zmq.LINGER, 5000)
        push.connect(into)
        for frames in vectors:
            push.send_multipart(frames)
        got = []
        while len(got) < COUNT and pull.poll(60000):  # bounded: a minute without a message
            got.append(pull.recv_multipart())
        rc = pipe.wait(timeout=300)
        pipe = None
        err.seek(0)
        log = err.read()
        bad = [i for i in range(len(got)) if got[i] != vectors[i]]
        for i in bad[:10]:
            print(f"FAIL: vector {i} ({describe(vectors[i])}) came back different:",
                  f"{[len(f) for f in got[i]]} vs {[len(f) for f in vectors[i]]}")
        if bad or len(got) != COUNT or rc != 0:
            print(f"FAIL: {len(got)} of {COUNT} came back, {len(bad)} differ, pipe exit {rc}")
            print(log[-3000:])
            sys.exit(1)
        if f"{COUNT} messages, 0 errors" not in log or f"{COUNT} sent, 0 failed" not in log:
            print(f"FAIL: codec counts: {log}")
            sys.exit(1)
        records = sum(1 for v in vectors if v[1].endswith(b"\xabzsat.record"))
        print(f"ok: {COUNT} vectors ({records} zsat.record, one of 16 MiB) byte-identical "
              "through decode | encode")
    finally:
        if pipe and pipe.poll() is None:
            os.killpg(pipe.pid, signal.SIGKILL)  # the shell and both codec processes
            pipe.wait()
        ctx.destroy(linger=0)
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
