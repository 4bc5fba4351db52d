#!/usr/bin/env python3
# SPDX-License-Identifier: MPL-2.0
"""http_metrics - `GET /metrics` of a running topology (zsat up; the topology's
`tracker: {http: 127.0.0.1:<free port>}`), read as Prometheus would:

  - `promtool check metrics` (Debian's prometheus package) finds nothing to say;
  - every declared stage has its series with the labels topology, host, node, stage;
  - a counter (vectors out of the worker) grows between two scrapes;
  - a vector of a type nobody routes (`zsat send --type nosuch`) is dead-lettered by the
    orchester and shows up in zsat_stage_dead_letters_total{stage="orchester@a",
    reason="unknown type"}, and nowhere else;
  - histograms: buckets never decrease, +Inf equals _count;
  - wrong topology values are refused with a line number; a non-loopback address without a
    token file is refused;
  - an HTTP port already taken leaves the tracker running, logged, and the endpoint comes up
    once the port is free.
"""
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from zsatup import Up, need, skip, ZSAT  # noqa: E402
from zsathttp import TOPOLOGY, DECLARED, free_port, get, wait_http, samples, value  # noqa: E402


def promtool_clean(text):
    out = subprocess.run(["promtool", "check", "metrics"], input=text, capture_output=True,
                         text=True, timeout=60)
    assert out.returncode == 0 and not out.stdout.strip() and not out.stderr.strip(), \
        (out.returncode, out.stdout, out.stderr)


def check_histograms(text):
    for family in ("zsat_stage_latency_seconds", "zsat_task_latency_seconds"):
        series = {}
        for name, labels, v in samples(text):
            if name.startswith(family):
                key = labels.get("stage")
                series.setdefault(key, {"buckets": []})
                if name.endswith("_bucket"):
                    series[key]["buckets"].append(v)
                else:
                    series[key][name[len(family):]] = v
        assert set(series) >= {"work@a", "csv@a"}, series.keys()
        for stage, s in series.items():
            b = s["buckets"]
            assert b == sorted(b) and b[-1] == s["_count"], (family, stage, s)
    assert value(text, "zsat_stage_latency_seconds_count", stage="work@a") > 0


def refused_topologies(tmp):
    cases = [("  http: 127.0.0.1:99999\n", ":9:9: 'http':"),
             ("  http: 0.0.0.0:9188\n", "not loopback: give 'http_token_file'"),
             ("  htp: 127.0.0.1:9188\n", "htp")]
    for i, (tracker, want) in enumerate(cases):
        path = os.path.join(tmp, f"bad{i}.yaml")
        with open(path, "w") as f:
            f.write("name: bad\nhosts:\n  a: {address: 127.0.0.1}\nnodes:\n  cpu: {kind: cpu}\n"
                    "links: []\nschedules: []\ntracker:\n" + tracker)
        out = subprocess.run([ZSAT, "check", path], capture_output=True, text=True, timeout=30)
        assert out.returncode != 0 and want in out.stderr + out.stdout, (tracker, out)
    out = subprocess.run([ZSAT, "up", os.path.join(tmp, "bad0.yaml"), "--http", "127.0.0.1:0"],
                         capture_output=True, text=True, timeout=30)
    assert out.returncode == 2 and "--http" in out.stderr, out


def port_taken(tmp):
    """The HTTP port is taken: the tracker runs anyway, says why, and listens once it is free."""
    blocker = socket.socket()
    blocker.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    blocker.bind(("127.0.0.1", 0))
    blocker.listen(1)
    port = blocker.getsockname()[1]
    up = Up(tmp, f"httpt{os.getpid()}", TOPOLOGY + f"tracker:\n  http: \"127.0.0.1:{port}\"\n")
    try:
        log = os.path.join(up.run, "a", "logs", "tracker.0.log")
        until = time.time() + 30
        while not (os.path.exists(log) and "no http endpoint: cannot listen" in open(log).read()):
            assert time.time() < until, up.tail()
            time.sleep(0.2)
        assert up.status()["tracker"]["pid"] > 0  # the tracker itself answers
        blocker.close()
        wait_http(f"http://127.0.0.1:{port}/metrics", 60)  # tried again every 10 s
    finally:
        blocker.close()
        up.stop()


def main():
    need()
    if not shutil.which("promtool"):
        skip("promtool is not installed (bash scripts/setup)")
    tmp = tempfile.mkdtemp(prefix=f"http_metrics{os.getpid()}.")
    up = None
    try:
        refused_topologies(tmp)
        port_taken(tmp)
        port = free_port()
        up = Up(tmp, f"httpm{os.getpid()}", TOPOLOGY + f"tracker:\n  http: \"127.0.0.1:{port}\"\n")
        url = f"http://127.0.0.1:{port}/metrics"
        first = wait_http(url, 60)
        status, headers, _ = get(url)
        assert headers["Content-Type"].startswith("text/plain; version=0.0.4"), headers
        promtool_clean(first)
        topology = up.file and os.path.basename(up.file)[:-5]

        def scrape_until(check, seconds, what):
            until = time.time() + seconds
            while time.time() < until:
                text = get(url)[2]
                if check(text):
                    return text
                time.sleep(0.5)
            raise AssertionError(what + "\n" + up.tail())

        text = scrape_until(lambda t: (value(t, "zsat_stage_vectors_out_total", node="work")
                                       or 0) > 0, 60, "work reports vectors")

        def every_stage(t):  # each node's batches come on its own clock: wait for all
            return all(value(t, "zsat_stage_events_total", topology=topology, host="a",
                             node=node, stage=node + "@a") is not None
                       for node in ("gen", "work", "cpu", "csv", "orchester"))
        text = scrape_until(every_stage, 60, "a zsat_stage_events_total series for every stage")
        before = value(text, "zsat_stage_vectors_out_total", node="work")
        later = scrape_until(lambda t: value(t, "zsat_stage_vectors_out_total", node="work")
                             > before, 60, "the counter grows")
        print("vectors out of work:", before, "->",
              value(later, "zsat_stage_vectors_out_total", node="work"))
        dead_before = value(later, "zsat_stage_dead_letters_total", stage="orchester@a",
                            reason="unknown type")
        assert dead_before == 0, dead_before
        out = subprocess.run([ZSAT, "send", "--topology", up.file, "--type", "nosuch"],
                             capture_output=True, text=True, timeout=60)
        assert out.returncode == 1 and "dead letter: unknown type" in out.stderr + out.stdout, out
        text = scrape_until(lambda t: value(t, "zsat_stage_dead_letters_total",
                                            stage="orchester@a", reason="unknown type") == 1,
                            30, "the dead letter is counted")
        others = [(l, v) for n, l, v in samples(text) if n == "zsat_stage_dead_letters_total"
                  and v and (l["stage"], l["reason"]) != ("orchester@a", "unknown type")]
        assert not others, others
        breakers = {l["node"]: l["state"] for n, l, v in samples(text)
                    if n == "zsat_breaker_state" and v == 1}
        assert breakers == {"gen": "closed", "work": "closed", "cpu": "closed",
                            "csv": "closed"}, breakers
        assert value(text, "zsat_stage_instances", node="work") == 1
        check_histograms(text)
        promtool_clean(text)
        print("promtool clean on", len(text.splitlines()), "lines; dead letter counted")
    finally:
        if up:
            up.stop()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
