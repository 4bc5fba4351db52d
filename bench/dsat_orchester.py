#!/usr/bin/python3
"""Baseline: an orchester hop in DSAT's design, written here from DSAT's documented behaviour
(../shared/dsat/FACTS.md), run with Debian's python3-zmq.

DSAT's orchester received single-frame vectors
    where:step:wid:pid:next NUL emitter:type:channel:task_id:event:seq NUL serialization NUL payload
ignored vectors for other hosts, and for INIT/BOUNCE sent ACK to the tracker, rewrote the
vector (step=orchester, event=INIT, next=type, task_id+1, retry=0), pushed it to the socket
of its type, then sent SEND to the tracker: two tracker messages per vector.

Usage: dsat_orchester.py [--count N] [--payload BYTES] [--rounds R]
Prints one JSON line per round: {"figure": "dsat_orchester", "msgs_per_s": ...}.
A sender, the orchester and a receiver+tracker sink run as three processes over ipc.
"""
import argparse
import json
import multiprocessing as mp
import os
import tempfile
import time

import zmq


def frame(task_id, payload):
    head = b"localhost:master:0:%d:orchester" % os.getpid()
    body = b"master:cpu:default:%d:INIT:0" % task_id
    return head + b"\0" + body + b"\0str\0" + payload


def sender(endpoint, count, payload, ready):
    ctx = zmq.Context()
    sock = ctx.socket(zmq.PUSH)
    sock.setsockopt(zmq.SNDHWM, 100000)
    sock.setsockopt(zmq.LINGER, -1)
    sock.connect(endpoint)
    ready.wait()
    msgs = [frame(i, payload) for i in range(1024)]
    for i in range(count):
        sock.send(msgs[i & 1023])
    sock.close()
    ctx.term()


HEAD = (b"where", b"step", b"wid", b"pid", b"next")
BODY = (b"emitter", b"type", b"channel", b"task_id", b"event", b"seq")
FMT = (b"%(where)s:%(step)s:%(wid)s:%(pid)s:%(next)s\0"
       b"%(emitter)s:%(type)s:%(channel)s:%(task_id)s:%(event)s:%(seq)s\0"
       b"%(serialization)s\0%(arg)s")


def parse(msg):
    """DSAT's vector: one dict per message, every field a bytes value."""
    head, body, serialization, arg = msg.split(b"\0", 3)
    vector = dict(zip(HEAD, head.split(b":")))
    vector.update(zip(BODY, body.split(b":")))
    vector[b"serialization"] = serialization
    vector[b"arg"] = arg
    return vector


def dump(vector):
    return FMT % vector


def orchester(in_ep, out_ep, tracker_ep, count, ready):
    ctx = zmq.Context()
    pull = ctx.socket(zmq.PULL)
    pull.setsockopt(zmq.RCVHWM, 100000)
    pull.bind(in_ep)
    out = ctx.socket(zmq.PUSH)
    out.setsockopt(zmq.SNDHWM, 100000)
    out.connect(out_ep)
    tracker = ctx.socket(zmq.PUSH)
    tracker.setsockopt(zmq.SNDHWM, 100000)
    tracker.connect(tracker_ep)
    ready.set()
    me = b"localhost"
    for _ in range(count):
        vector = parse(pull.recv())
        if vector[b"where"] != me or vector[b"event"] not in (b"INIT", b"BOUNCE"):
            continue
        # As DSAT: the tracker receives the whole vector with its event set, before and
        # after the forward; the forwarded vector is rewritten and re-serialized.
        vector[b"seq"] = b"%d" % (int(vector[b"seq"]) + 1)
        tracker.send(dump({**vector, b"event": b"ACK", b"step": b"orchester"}))
        vector.update({b"step": b"orchester", b"event": b"INIT", b"next": vector[b"type"],
                       b"task_id": b"%d" % (int(vector[b"task_id"]) + 1)})
        out.send(dump(vector))
        tracker.send(dump({**vector, b"event": b"SEND"}))
    for s in (pull, out, tracker):
        s.close(linger=1000)
    ctx.term()


def receiver(out_ep, tracker_ep, count, result):
    ctx = zmq.Context()
    pull = ctx.socket(zmq.PULL)
    pull.setsockopt(zmq.RCVHWM, 100000)
    pull.bind(out_ep)
    events = ctx.socket(zmq.PULL)
    events.setsockopt(zmq.RCVHWM, 100000)
    events.bind(tracker_ep)
    poller = zmq.Poller()
    poller.register(pull, zmq.POLLIN)
    poller.register(events, zmq.POLLIN)
    got = ev = 0
    start = None
    deadline = time.monotonic() + 120
    while got < count and time.monotonic() < deadline:
        for sock, _ in poller.poll(1000):
            if sock is pull:
                pull.recv()
                got += 1
                if start is None:
                    start = time.monotonic()
            else:
                events.recv()
                ev += 1
    elapsed = time.monotonic() - (start or time.monotonic())
    result.put((got, ev, elapsed))
    pull.close()
    events.close()
    ctx.term()


def one_round(count, payload):
    with tempfile.TemporaryDirectory(prefix="zsat-dsat-") as tmp:
        in_ep, out_ep, tr_ep = (f"ipc://{tmp}/{n}" for n in ("in", "out", "tracker"))
        ready, result = mp.Event(), mp.Queue()
        procs = [mp.Process(target=receiver, args=(out_ep, tr_ep, count, result)),
                 mp.Process(target=orchester, args=(in_ep, out_ep, tr_ep, count, ready)),
                 mp.Process(target=sender, args=(in_ep, count, payload, ready))]
        for p in procs:
            p.start()
            time.sleep(0.2)
        got, ev, elapsed = result.get(timeout=150)
        for p in procs:
            p.join(timeout=10)
            if p.is_alive():
                p.kill()
        rate = got / elapsed if elapsed > 0 else 0.0
        return {"figure": "dsat_orchester", "msgs_per_s": round(rate), "received": got,
                "tracker_events": ev, "count": count, "payload": len(payload)}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--count", type=int, default=200000)
    ap.add_argument("--payload", type=int, default=100)
    ap.add_argument("--rounds", type=int, default=1)
    args = ap.parse_args()
    for _ in range(args.rounds):
        print(json.dumps(one_round(args.count, b"x" * args.payload)), flush=True)


if __name__ == "__main__":
    main()
