#!/usr/bin/python3
# SPDX-License-Identifier: MPL-2.0
"""input_classes - every class of input docs/protocol.md calls valid, and a set of invalid
ones, sent by a foreign client (pyzmq + msgpack, encodings written by hand from the doc) to
every data socket a running topology binds: orchester.any, the worker's input, the sink's
input, the buffer node's `in`, the tracker's events socket.

Topology tests/topologies/frames.yaml under `zsat up`. Asserts:
- every process stays alive: same pids, launcher restart count 0 (a minimal envelope or a
  DSAT frame used to abort the orchester: issue 10.1);
- valid input is routed and tracked: each task ends DONE in `zsat trace`, a record lands in
  the csv exactly once, the orchester counts it routed;
- invalid input is dead-lettered and counted by reason: orchester STATS per reason, the
  runtime's `dead` count (tracker NODES) and the reason of each DEAD_LETTER on the tracker's
  FAILURE feed, the tracker's bad_messages for event batches.
Exit 0 pass, 77 skip, 1 fail.
"""
import os
import zlib
import re
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
try:
    import msgpack
    import zmq
    import zsat_wire as w
except ImportError as e:
    print("skip: %s" % e)
    sys.exit(77)

MIB = 1 << 20


def valid_classes():
    """name -> (frames for a task id, writes a csv row)."""
    def packb(tid):  # exactly what protocol.md section 10 shows from Python
        payload = w.record(tid)
        env = msgpack.packb([1, 1, 0, 0, 0, 3, os.getpid(), zlib.crc32(payload), tid, 9,
                             int(time.time() * 1e6), "local", "", "work", "py", "work", "",
                             "zsat.record"])
        return [b"local/work", env, payload]
    return {
        "canonical": (lambda t: w.vector(t, ints="canon", strs="min"), True),
        "msgpack.packb": (packb, True),
        "minimal ints": (lambda t: w.vector(t), True),
        "str8": (lambda t: w.vector(t, strs="8"), True),
        "str16": (lambda t: w.vector(t, strs="16"), True),
        "str32": (lambda t: w.vector(t, strs="32"), True),
        "array32": (lambda t: w.vector(t, array="32"), True),
        "str8 name": (lambda t: w.vector(t, emitter="e" * 40), True),
        "legacy frame": (lambda t: w.legacy(t), True),
        "empty payload": (lambda t: w.vector(t, payload=b"", serialization="raw"), False),
        "16 MiB payload": (lambda t: w.vector(t, payload=b"\x00" * (16 * MIB),
                                              serialization="raw"), False),
    }


def invalid_classes(node):
    """name -> (frames, orchester reason, regex the runtime's dead-letter reason matches)."""
    def truncated():
        v = w.vector(9)
        return [v[0], v[1][:-4], v[2]]
    classes = {
        "truncated envelope": (truncated(), "malformed", r"longer than the input|truncat"),
        "bad CRC": (w.vector(9, crc=12345), "malformed", r"CRC-32"),
        "two frames": ([b"local/work", b"\x90"], "malformed", r"2 frames"),
        "too many frames": ([b"x"] * 5, "malformed", r"5 frames"),
        "400 frames": ([b"y" * 1024] * 400, "malformed", r"400 frames"),
        "oversize message": ([b"r" * MIB, b"e" * MIB, b"p" * (16 * MIB)], "too big",
                             r"bytes over the limit"),
        "unknown event": (w.vector(9, event=99), "malformed", r"unknown event"),
        "version 2": (w.vector(9, version=2), "malformed", r"version 2"),
        "routing mismatch": ([b"local/other"] + w.vector(9)[1:], "malformed", r"routing frame"),
        "garbage frame": ([b"\x93\xc1garbage"], "malformed", r"legacy"),
        "garbage frames": ([b"\xc1", b"\xc1\xc1", b""], "malformed", r"."),
    }
    if node == "orchester":  # a type no route names; a worker or sink takes any type
        classes["unknown type"] = (w.vector(9, type_="nosuch"), "unknown type", None)
    return classes


def check_data_socket(topo, feed, node, sock, base):
    ep = topo.eps[(node, sock)]
    valid = valid_classes()
    invalid = invalid_classes(node)
    tids = {name: base + i for i, name in enumerate(valid)}
    dead_before = topo.node(node).get("dead", 0)
    stats_before = topo.orchester_stats()
    topo.push(ep, [make(tids[name]) for name, (make, _) in valid.items()])
    topo.push(ep, [frames for frames, _, _ in invalid.values()])

    # valid: tracked to DONE, one row for each record
    for name, tid in tids.items():
        state = w.wait_for("%s %s tracked" % (node, name),
                           lambda: (topo.trace(tid) or {}).get("state") == "DONE", timeout=60,
                           step=0.3)
        assert state, (node, name)
    rows = w.wait_for("rows of %s" % node, lambda: (lambda r: r if all(
        r.get(tids[n], 0) >= 1 for n, (_, row) in valid.items() if row) else None)(
        topo.csv_rows()), timeout=60)
    for name, (_, row) in valid.items():
        want = 1 if row else 0
        assert rows.get(tids[name], 0) == want, "%s %s: %d rows, want %d" % (
            node, name, rows.get(tids[name], 0), want)

    # invalid: every message counted, by reason
    want_dead = len(invalid)
    if node == "orchester":
        after = w.wait_for("orchester dead letters", lambda: (lambda s: s if sum(
            s["dead_letters"].values()) - sum(stats_before["dead_letters"].values())
            >= want_dead else None)(topo.orchester_stats()), timeout=60)
        reasons = {}
        for _, reason, _ in invalid.values():
            reasons[reason] = reasons.get(reason, 0) + 1
        for reason, n in reasons.items():
            got = after["dead_letters"][reason] - stats_before["dead_letters"][reason]
            assert got == n, "orchester %s: %d dead letters, want %d" % (reason, got, n)
        routed = after["routed"] - stats_before["routed"]
        assert routed == len(valid), "orchester routed %d of %d valid" % (routed, len(valid))
        print("orchester: %d valid routed and DONE, dead letters %s" % (routed, reasons))
        return
    w.wait_for("%s dead count" % node,
               lambda: topo.node(node).get("dead", 0) - dead_before >= want_dead, timeout=60)
    time.sleep(1.5)  # one more heartbeat: nothing else was counted
    dead = topo.node(node).get("dead", 0) - dead_before
    assert dead == want_dead, "%s: dead %d, want %d" % (node, dead, want_dead)
    reasons = w.wait_for("%s reasons on the feed" % node, lambda: (lambda seen: seen if len(
        seen) >= want_dead else None)([f.get("reason", "") for f in feed.drain()
                                       if f.get("stage") == node and
                                       (sock + ":") in f.get("reason", "")]), timeout=30)
    for name, (_, _, pattern) in invalid.items():
        assert any(re.search(pattern, r) for r in reasons), "%s %s: no reason matches %r in %s" % (
            node, name, pattern, reasons)
    print("%s: %d valid classes DONE, %d invalid dead-lettered with their reasons"
          % (node, len(valid), dead))


def check_buffer_socket(topo):
    """The buffer node's `in` ROUTER (docs/buffer.md): ["PUT <id>", routing, envelope, payload]
    from a DEALER. Valid classes are STORED and reach the csv (its consumer) once; invalid
    ones are REFUSED with their reason; messages over the frame or byte limits have no one to
    answer to (they are dropped as they are read) and are counted in the node's `dead`."""
    valid = {n: c for n, c in valid_classes().items() if n != "legacy frame"}  # PUT wants 3
    invalid = {n: c for n, c in invalid_classes("vault").items()
               if n not in ("400 frames", "oversize message", "garbage frame", "too many frames")}
    invalid["two frames"] = (invalid["two frames"][0], None, r"want \[")  # not a PUT
    dealer = topo.ctx.socket(zmq.DEALER)
    dealer.setsockopt(zmq.LINGER, 60000)
    dealer.setsockopt(zmq.RCVTIMEO, 60000)
    dealer.connect(topo.eps[("vault", "in")])
    dead_before = topo.node("vault").get("dead", 0)
    tids = {name: 6000 + i for i, name in enumerate(valid)}
    for name, (make, _) in valid.items():
        dealer.send_multipart([b"PUT %d" % tids[name]] + make(tids[name]))
    for i, (name, (frames, _, _)) in enumerate(invalid.items()):
        dealer.send_multipart([b"PUT %d" % (6100 + i)] + frames)
    dealer.send_multipart([b"PUT 6200"] + [b"y" * 1024] * 400)
    dealer.send_multipart([b"PUT 6201", b"r" * MIB, b"e" * MIB, b"p" * (16 * MIB)])
    answers = {}
    for _ in range(len(valid) + len(invalid)):
        text = dealer.recv().decode(errors="replace")
        answers[int(text.split()[1])] = text
    for name, tid in tids.items():
        assert answers.get(tid, "").startswith("STORED %d " % tid), (name, answers.get(tid))
    for i, (name, (_, _, pattern)) in enumerate(invalid.items()):
        text = answers.get(6100 + i, "")
        assert text.startswith("REFUSED") and re.search(pattern, text), (name, text)
    assert 6200 not in answers and 6201 not in answers, answers
    dealer.close()
    rows = w.wait_for("buffered rows", lambda: (lambda r: r if all(
        r.get(tids[n], 0) >= 1 for n, (_, row) in valid.items() if row) else None)(
        topo.csv_rows()), timeout=60)
    for name, (_, row) in valid.items():
        assert rows.get(tids[name], 0) == (1 if row else 0), (name, rows.get(tids[name]))
    # `dead` is the node's bad messages: the two over the limits and the one that is no PUT
    w.wait_for("vault dead count", lambda: topo.node("vault").get("dead", 0) - dead_before >= 3,
               timeout=60)
    time.sleep(1.5)
    dead = topo.node("vault").get("dead", 0) - dead_before
    assert dead == 3, "vault: dead %d, want 3 (400 frames, oversize, two frames)" % dead
    print("vault.in: %d valid classes STORED and delivered, %d REFUSED with their reason, "
          "2 over the limits dropped and counted" % (len(valid), len(invalid)))


def check_events_socket(topo):
    ep = topo.eps[("tracker", "events")]
    before = topo.tracker_status()["counters"]["bad_messages"]
    good = [w.batch([{"event": 1, "task_id": 4001, "type": "work"}]),
            w.batch([{"event": 1, "task_id": 4002, "type": "t" * 40}], node="n" * 40),
            w.batch([])]
    body = w.batch([{"event": 1, "task_id": 4003}])[1]
    bad = [[b"zsat.xx", body], [body], [b"zsat.ev", body, b"more"], [b"zsat.ev", body[:-3]],
           w.batch([{"task_id": 4004}], version=2), [b"zsat.ev", b"\xc1" * 50],
           [b"zsat.ev"] + [b"z" * 1024] * 400, [b"zsat.ev", b"b" * (900 * 1024) + body],
           [b"zsat.ev", b"b" * (900 * 1024), b"c" * (900 * 1024)]]
    topo.push(ep, good + bad)
    for tid in (4001, 4002):
        w.wait_for("event batch task %d tracked" % tid, lambda: topo.trace(tid), timeout=60,
                   step=0.3)
    w.wait_for("bad batches counted", lambda: topo.tracker_status()["counters"]["bad_messages"]
               - before >= len(bad), timeout=60)
    time.sleep(1)
    got = topo.tracker_status()["counters"]["bad_messages"] - before
    assert got == len(bad), "tracker: %d bad messages counted, want %d" % (got, len(bad))
    print("tracker events: 3 valid batches applied, %d bad ones counted" % got)


def check_oversize_frames(topo):
    """A frame over ZMQ_MAXMSGSIZE: libzmq drops that peer's connection before the node sees
    anything (nothing to count); the node lives on and takes the next peer's data."""
    for node, sock, size in (("orchester", "any", 16 * MIB + 1),
                             ("work", "in:gen->work", 17 * MIB), ("csv", "in:work->csv", 17 * MIB),
                             ("tracker", "events", 2 * MIB)):
        topo.push(topo.eps[(node, sock)], [[b"local/work", b"x" * size]])
    for i, (node, sock) in enumerate((("orchester", "any"), ("work", "in:gen->work"),
                                      ("csv", "in:work->csv"))):
        tid = 5000 + i
        topo.push(topo.eps[(node, sock)], [w.vector(tid)])
        w.wait_for("%s takes data after an oversize frame" % node,
                   lambda: topo.csv_rows().get(tid, 0) == 1, timeout=60)
    print("oversize frames: every node still takes data")


def run(topo):
    topo.start()
    feed = w.FailureFeed(topo)
    time.sleep(1)  # the feed's subscription reaches the tracker
    check_data_socket(topo, feed, "orchester", "any", 1000)
    check_data_socket(topo, feed, "work", "in:gen->work", 2000)
    check_data_socket(topo, feed, "csv", "in:work->csv", 3000)
    check_buffer_socket(topo)
    check_events_socket(topo)
    check_oversize_frames(topo)
    rows = len(topo.csv_rows())
    w.wait_for("gen rows still flowing", lambda: len(topo.csv_rows()) >= rows + 3, timeout=60)
    topo.assert_alive()
    print("every process alive, same pids, 0 restarts: %s" % sorted(topo.pids))


def main():
    if not os.environ.get("ZSAT_BIN"):
        print("ZSAT_BIN not set")
        return 1
    topo = w.Topology("input-classes")
    try:
        run(topo)
    except BaseException:
        topo.stop()
        topo.dump_logs()
        topo.cleanup()
        raise
    topo.stop()
    topo.cleanup()
    print("input_classes: OK")
    return 0


if __name__ == "__main__":
    sys.exit(main())
