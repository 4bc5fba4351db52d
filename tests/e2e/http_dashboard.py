#!/usr/bin/env python3
# SPDX-License-Identifier: MPL-2.0
"""http_dashboard - the dashboard in a real browser: Debian's chromium, headless, loads
`GET /` of a running topology (the topology's `tracker.http` on a free loopback port) and
runs its JavaScript for 6 s of virtual time (--virtual-time-budget: the page polls every
second; network answers are real). From the DOM it left:

  - every declared node is drawn, in state up; every edge has a non-zero rate;
  - #select=work (what a click on the node does) marks the node and its stage row;
  - #task=<id> (what the search box does) draws the task's timeline, for a vector sent with
    `zsat send`;
  - a dead letter (`zsat send --type nosuch`) in the last minute is an alert;
  - a screenshot is saved under the build dir (http_dashboard.png);
  - after kill -9 of the worker, the page draws it red (state down) and alerts.
"""
import html.parser
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from zsatup import Up, need, skip, ZSAT  # noqa: E402
from zsathttp import TOPOLOGY, DECLARED, free_port, get, wait_http  # noqa: E402

CHROMIUM = shutil.which("chromium")


class Dom(html.parser.HTMLParser):
    """Every element's tag and attributes, and the text of elements with an id."""

    def __init__(self, text):
        super().__init__()
        self.elements, self.text, self.open = [], {}, []
        self.feed(text)

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        self.elements.append((tag, attrs))
        self.open.append(attrs.get("id"))

    def handle_endtag(self, tag):
        if self.open:
            self.open.pop()

    def handle_data(self, data):
        for name in filter(None, self.open):
            self.text[name] = self.text.get(name, "") + data

    def find(self, tag, **want):
        return [a for t, a in self.elements if t == tag and
                all(a.get(k.replace("_", "-")) == v for k, v in want.items())]


def chromium(tmp, url, *extra):
    out = subprocess.run([CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu",
                          "--no-first-run", f"--user-data-dir={tmp}/chromium",
                          "--virtual-time-budget=6000", *extra, url],
                         capture_output=True, text=True, timeout=180,
                         env={**os.environ, "HOME": tmp})
    assert out.returncode == 0, (out.returncode, out.stderr[-2000:])
    return out.stdout


def check_page(dom, task_id):
    nodes = {a["data-name"]: a for a in dom.find("g") if "node" in a.get("class", "").split()}
    assert sorted(nodes) == sorted(DECLARED), nodes
    assert all(a["data-state"] == "up" for a in nodes.values()), nodes
    edges = [a for a in dom.find("g") if "edge" in a.get("class", "").split()]
    assert len(edges) == 5 and all(float(a["data-rate"]) > 0 for a in edges), edges
    assert "selected" in nodes["work"]["class"].split(), nodes["work"]
    rows = dom.find("tr", data_node="work")
    assert rows and "selected" in rows[0].get("class", ""), rows
    info = dom.text.get("trace-info", "")
    assert f"task {task_id} · type cpu" in info, info
    marks = [a["data-event"] for a in dom.find("g", **{"class": "mark"})]
    assert "BEGIN" in marks and len(marks) >= 3, marks
    alerts = dom.text.get("alerts", "")
    assert "dead letters rising at orchester@a" in alerts and "unknown type" in alerts, alerts


def main():
    need()
    if not CHROMIUM:
        skip("chromium is not installed (bash scripts/setup)")
    tmp = tempfile.mkdtemp(prefix=f"http_dashboard{os.getpid()}.")
    build = os.environ.get("ZSAT_BUILD", tmp)
    up = None
    try:
        port = free_port()
        up = Up(tmp, f"httpd{os.getpid()}", TOPOLOGY + f"tracker:\n  http: \"127.0.0.1:{port}\"\n")
        base = f"http://127.0.0.1:{port}"
        wait_http(base + "/", 60)
        until = time.time() + 60
        while True:  # the page is checked once the topology runs, not while it starts
            topology = json.loads(get(base + "/api/v1/topology")[2])
            if all(n["state"] == "up" for n in topology["nodes"]) and \
                    all(e["rate"] > 0 for e in topology["edges"]):
                break
            assert time.time() < until, ("the topology never ran", topology, up.tail())
            time.sleep(0.5)
        out = subprocess.run([ZSAT, "send", "--topology", up.file, "--type", "cpu"],
                             capture_output=True, text=True, timeout=60)
        task_id = re.search(r"task=(\d+)", out.stdout).group(1)
        out = subprocess.run([ZSAT, "send", "--topology", up.file, "--type", "nosuch"],
                             capture_output=True, text=True, timeout=60)
        assert out.returncode == 1, out  # dead-lettered: the alert shows it for a minute
        page = f"{base}/#select=work&task={task_id}"
        check_page(Dom(chromium(tmp, page, "--dump-dom")), task_id)
        shot = os.path.join(build, "http_dashboard.png")
        chromium(tmp, page, "--hide-scrollbars", "--window-size=1400,1000", f"--screenshot={shot}")
        assert os.path.getsize(shot) > 10000, shot
        print("screenshot:", shot)
        pids = [n["pid"] for n in json.loads(up.ask("NODES"))["nodes"]
                if n["node"] == "work" and n["alive"]]
        assert len(pids) == 1, pids
        killed = time.time()
        os.kill(pids[0], signal.SIGKILL)
        until = time.time() + 60
        while True:
            topology = json.loads(get(base + "/api/v1/topology")[2])
            if [n for n in topology["nodes"] if n["name"] == "work" and n["state"] == "down"]:
                break
            assert time.time() < until, ("work never shown down", topology, up.tail())
            time.sleep(0.2)
        print(f"the tracker shows work down {time.time() - killed:.1f} s after kill -9")
        dom = Dom(chromium(tmp, base + "/", "--dump-dom"))
        work = [a for a in dom.find("g") if a.get("data-name") == "work"]
        assert work and work[0]["data-state"] == "down" and \
            "state-down" in work[0]["class"].split(), work
        rows = dom.find("tr", data_node="work")
        assert rows and "down" in rows[0].get("class", "").split(), rows
        alerts = dom.text.get("alerts", "")
        assert "work is down" in alerts or "work@a#0 restarted" in alerts, alerts
        print("the page draws the killed worker red")
    finally:
        if up:
            up.stop()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
