#!/usr/bin/python3
# SPDX-License-Identifier: MPL-2.0
"""hostile_frames - ZMQ_MAXMSGSIZE bounds one frame, not one message (issue 11.6): messages
of 400 frames of 1 MiB each, sent by a foreign client to every data socket of a running
topology (tests/topologies/frames.yaml under `zsat up`): orchester.any, the worker's and the
sink's inputs, the tracker's events socket, the buffer node's two ROUTERs.

Asserts: every process's RSS (/proc/PID/status VmRSS) comes back within 2x its baseline
after the barrage, every message was counted as bad (a dead letter), every process is alive
with the same pid, and good data keeps flowing afterwards (new rows from both sources, and a
vector sent to each socket arrives). Bounded waits only; nothing about speed.
Exit 0 pass, 77 skip, 1 fail.
"""
import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
try:
    import zmq
    import zsat_wire as w
except ImportError as e:
    print("skip: %s" % e)
    sys.exit(77)

MIB = 1 << 20
MESSAGES = 2  # per socket, each 400 frames of 1 MiB
HOSTILE = [b"h" * MIB] * 400


def rss_all(topo):
    return {node: topo.rss_kib(pid) for node, (pid, _) in topo.pids.items()}


def baseline(topo):
    """The largest of a few samples while data flows: the processes' working size."""
    worst = {}
    for _ in range(5):
        for node, kib in rss_all(topo).items():
            worst[node] = max(worst.get(node, 0), kib or 0)
        time.sleep(0.5)
    return worst


def counters(topo):
    nodes = {n["node"]: n.get("dead", 0) for n in topo.nodes()}
    nodes["orchester.malformed"] = topo.orchester_stats()["dead_letters"]["malformed"]
    nodes["tracker.bad"] = topo.tracker_status()["counters"]["bad_messages"]
    return nodes


def barrage(topo):
    targets = [("orchester", "any", zmq.PUSH, "orchester.malformed"),
               ("work", "in:gen->work", zmq.PUSH, "work"),
               ("csv", "in:work->csv", zmq.PUSH, "csv"),
               ("tracker", "events", zmq.PUSH, "tracker.bad"),
               ("vault", "in", zmq.DEALER, "vault"),
               ("vault", "out", zmq.DEALER, "vault")]
    before = w.wait_for("counters", lambda: counters(topo))
    want = {}
    for node, sock, kind, counter in targets:
        topo.push(topo.eps[(node, sock)], [HOSTILE] * MESSAGES, kind=kind)
        want[counter] = want.get(counter, 0) + MESSAGES
        print("sent %d x 400 x 1 MiB to %s.%s" % (MESSAGES, node, sock))
    got = w.wait_for("every hostile message counted", lambda: (lambda now: now if all(
        now.get(c, 0) - before.get(c, 0) >= n for c, n in want.items()) else None)(
        counters(topo)), timeout=120, step=0.5)
    for counter, n in want.items():
        assert got[counter] - before[counter] == n, "%s counted %d, want %d" % (
            counter, got[counter] - before[counter], n)
    print("every hostile message counted as bad: %s" % want)


def run(topo):
    topo.start()
    w.wait_for("rows from both sources", lambda: len(topo.csv_rows()) >= 10, timeout=120)
    base = baseline(topo)
    print("baseline RSS KiB: %s" % base)
    barrage(topo)

    def settled():
        now = rss_all(topo)
        return now if all(now[n] is not None and now[n] <= 2 * base[n] for n in base) else None
    try:
        after = w.wait_for("RSS back within 2x of the baseline", settled, timeout=60, step=0.5)
    except AssertionError:
        raise AssertionError("RSS KiB after the barrage %s, baseline %s" % (rss_all(topo), base))
    print("RSS KiB after: %s" % after)
    rows = len(topo.csv_rows())
    w.wait_for("new rows after the barrage", lambda: len(topo.csv_rows()) >= rows + 5,
               timeout=60)
    for i, (node, sock) in enumerate((("orchester", "any"), ("work", "in:gen->work"),
                                      ("csv", "in:work->csv"))):
        tid = 7000 + i
        topo.push(topo.eps[(node, sock)], [w.vector(tid)])
        w.wait_for("a vector through %s after the barrage" % node,
                   lambda: topo.csv_rows().get(tid, 0) == 1, timeout=60)
    topo.assert_alive()
    print("good data flows, every process alive with its pid, 0 restarts")


def main():
    if not os.environ.get("ZSAT_BIN"):
        print("ZSAT_BIN not set")
        return 1
    topo = w.Topology("hostile-frames", asan_quarantine_mb=8)
    try:
        run(topo)
    except BaseException:
        topo.stop()
        topo.dump_logs()
        topo.cleanup()
        raise
    topo.stop()
    topo.cleanup()
    print("hostile_frames: OK")
    return 0


if __name__ == "__main__":
    sys.exit(main())
