#!/usr/bin/env python3
# SPDX-License-Identifier: MPL-2.0
"""http_dashboard - the dashboard in a real browser: Debian's chromium, headless, loads
`GET /` of a running topology (the topology's `tracker.http` on a free loopback port) and
runs its JavaScript for 6 s of virtual time (--virtual-time-budget: the page polls every
second; network answers are real). From the DOM it left:

  - every declared node is drawn, in state up, but one declared with 0 instances, drawn
    dashed (state declared: declared, never seen); every edge has a non-zero rate;
  - #select=work (what a click on the node does) marks the node and its stage row;
  - #task=<id> (what the search box does) draws the task's timeline, for a vector sent with
    `zsat send`;
  - a dead letter (`zsat send --type nosuch`) in the last minute is an alert;
  - a screenshot is saved under the build dir (http_dashboard.png);
  - with chromium-driver and python3-selenium (WebDriver): a real click on a node marks its
    stage row, a real search draws the task's timeline, and after kill -9 of the worker the
    open page turns it red (the time it took is printed, not asserted: a loaded machine);
  - after kill -9 of the worker, a fresh load draws it red (state down) and alerts.
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
# a node declared but never started: the drift view draws it dashed (state "declared")
SPARE = "  spare: {kind: log, host: a, instances: 0, min: 0, max: 1}\n"


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
    assert sorted(nodes) == sorted(DECLARED + ["spare"]), nodes
    assert all(a["data-state"] == "up" for n, a in nodes.items() if n != "spare"), nodes
    assert nodes["spare"]["data-state"] == "declared" and \
        "state-declared" in nodes["spare"]["class"].split(), nodes["spare"]
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


def selenium_session(tmp):
    """A WebDriver session on Debian's chromium and chromium-driver, or None without them."""
    try:
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service
    except ImportError:
        return None
    if not shutil.which("chromedriver"):
        return None
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--window-size=1400,1000",
                f"--user-data-dir={tmp}/webdriver"):
        options.add_argument(arg)
    return webdriver.Chrome(service=Service(shutil.which("chromedriver")), options=options)


def wait_for(check, seconds, what):
    until = time.time() + seconds
    while time.time() < until:
        try:
            if check():
                return
        except Exception:  # an element redrawn between find and read: try again
            pass
        time.sleep(0.1)
    raise AssertionError(what)


def clicks(driver, base, task_id):
    """A real click on the node, a real search: what a user does."""
    from selenium.webdriver.common.by import By
    driver.get(base + "/")
    node = '#graph g.node[data-name="work"]'
    wait_for(lambda: driver.find_elements(By.CSS_SELECTOR, node), 60, "the graph is drawn")
    driver.find_element(By.CSS_SELECTOR, node).click()
    row = '#stages tr[data-node="work"]'
    wait_for(lambda: "selected" in driver.find_element(By.CSS_SELECTOR, row).get_attribute("class"),
             30, "the stage row of the clicked node is marked")
    box = driver.find_element(By.ID, "trace-id")
    box.send_keys(task_id)
    driver.find_element(By.CSS_SELECTOR, "#trace-form button").click()
    wait_for(lambda: len(driver.find_elements(By.CSS_SELECTOR, "#timeline g.mark")) >= 3, 30,
             "the searched task's timeline")
    assert f"task {task_id} · type cpu" in driver.find_element(By.ID, "trace-info").text


def kill_worker(up):
    pids = [n["pid"] for n in json.loads(up.ask("NODES"))["nodes"]
            if n["node"] == "work" and n["alive"]]
    assert len(pids) == 1, pids
    os.kill(pids[0], signal.SIGKILL)
    return time.time()


def main():
    need()
    if not CHROMIUM:
        skip("chromium is not installed (bash scripts/setup)")
    tmp = tempfile.mkdtemp(prefix=f"http_dashboard{os.getpid()}.")
    build = os.environ.get("ZSAT_BUILD", tmp)
    up = None
    try:
        port = free_port()
        body = TOPOLOGY.replace("links:", SPARE + "links:", 1)
        up = Up(tmp, f"httpd{os.getpid()}", body + f"tracker:\n  http: \"127.0.0.1:{port}\"\n")
        base = f"http://127.0.0.1:{port}"
        wait_http(base + "/", 60)
        until = time.time() + 60
        while True:  # the page is checked once the topology runs, not while it starts
            topology = json.loads(get(base + "/api/v1/topology")[2])
            if all(n["state"] == "up" for n in topology["nodes"] if n["name"] != "spare") and \
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
        driver = selenium_session(tmp)
        if driver:
            try:
                clicks(driver, base, task_id)
                print("a click marks the stage row; the search draws the timeline")
                killed = kill_worker(up)
                from selenium.webdriver.common.by import By
                wait_for(lambda: driver.find_element(
                    By.CSS_SELECTOR, '#graph g.node[data-name="work"]').get_attribute(
                        "data-state") == "down", 60, "the open page draws the killed worker red")
                print(f"the open page drew work red {time.time() - killed:.1f} s after kill -9")
            finally:
                driver.quit()
        else:
            print("no chromium-driver/python3-selenium: clicks checked through the URL only")
            killed = kill_worker(up)
        until = time.time() + 60
        while True:
            topology = json.loads(get(base + "/api/v1/topology")[2])
            if [n for n in topology["nodes"] if n["name"] == "work" and n["state"] == "down"]:
                break
            assert time.time() < until, ("work never shown down", topology, up.tail())
            time.sleep(0.2)
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
