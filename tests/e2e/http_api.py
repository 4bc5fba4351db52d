#!/usr/bin/env python3
# SPDX-License-Identifier: MPL-2.0
"""http_api - the tracker's JSON API as docs/http.md shows it, on `zsat up --http
127.0.0.1:<free port>` with `tracker.http_token_file` in the topology:

  - zsat up prints the dashboard URL;
  - no token, a wrong one, a prefix of the right one: 401; the right one: 200;
  - /api/v1/status and /api/v1/nodes carry what `zsat status --json` does (same producer);
  - /api/v1/topology: every declared node, the edges with observed rates (gen -> work > 0);
  - /api/v1/trace/<id> of a vector sent with `zsat send`: the task `zsat trace --json`
    shows; an unknown id 404, a bad one 400, POST 405, an unknown path 404;
  - hostile clients (garbage, a 100 kB URL, a 200 kB header, a body on a GET, 100 idle
    connections) are refused or closed, and the API answers afterwards.
"""
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from zsatup import Up, need, ZSAT  # noqa: E402
from zsathttp import TOPOLOGY, DECLARED, free_port, get, wait_http  # noqa: E402

TOKEN = "t0k3n-for-the-http-api-test"


def check_auth(base):
    for token in (None, "wrong-token-wrong-token", TOKEN[:-1], TOKEN + "x"):
        status, headers, _ = get(base + "/api/v1/status", token)
        assert status == 401 and headers.get("WWW-Authenticate", "").startswith("Bearer"), \
            (token, status)
    assert get(base + "/metrics")[0] == 401
    assert get(base + "/")[0] == 401


def check_status(up, base):
    status, headers, body = get(base + "/api/v1/status", TOKEN)
    assert status == 200 and headers["Content-Type"] == "application/json", (status, headers)
    web = json.loads(body)
    out = subprocess.run([ZSAT, "status", "--json", "--topology", up.file], capture_output=True,
                         text=True, timeout=30)
    assert out.returncode == 0, out
    cli = json.loads(out.stdout)
    assert set(web) == set(cli) and set(web["tracker"]) == set(cli["tracker"]), (web, cli)
    assert web["tracker"]["pid"] == cli["tracker"]["pid"]
    stages = lambda s: {(x["host"], x["node"]) for x in s["stages"]}  # noqa: E731
    assert stages(web) == stages(cli), (stages(web), stages(cli))
    nodes = json.loads(get(base + "/api/v1/nodes", TOKEN)[2])["nodes"]
    alive = {n["node"] for n in nodes if n["alive"]}
    assert alive >= {"gen", "work", "cpu", "csv", "orchester", "scheduler"}, nodes


def check_topology(up, base):
    until = time.time() + 60
    while True:
        topology = json.loads(get(base + "/api/v1/topology", TOKEN)[2])
        edges = {(e["from"], e["to"]): e for e in topology["edges"]}
        if edges[("gen", "work")]["rate"] > 0 and edges[("orchester", "cpu")]["rate"] > 0 \
                and all(n["state"] == "up" for n in topology["nodes"]):
            break
        assert time.time() < until, ("no rate on the edges", topology, up.tail())
        time.sleep(0.5)
    assert sorted(n["name"] for n in topology["nodes"]) == sorted(DECLARED), topology
    assert set(edges) == {("scheduler", "orchester"), ("orchester", "cpu"), ("gen", "work"),
                          ("work", "csv"), ("cpu", "csv")}, edges
    assert all(n["state"] == "up" for n in topology["nodes"]), topology["nodes"]
    assert topology["undeclared"] == []


def check_trace(up, base):
    out = subprocess.run([ZSAT, "send", "--topology", up.file, "--type", "cpu"],
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out
    task_id = int(re.search(r"task=(\d+)", out.stdout + out.stderr).group(1))
    until = time.time() + 30
    while True:
        status, _, body = get(f"{base}/api/v1/trace/{task_id}", TOKEN)
        web = json.loads(body) if status == 200 else None
        if web and web["state"] == "DONE":
            break
        assert time.time() < until, (status, body)
        time.sleep(0.3)
    assert web["task_id"] == task_id and web["type"] == "cpu" and web["history"], web
    cli = up.trace(task_id)
    for key in ("task_id", "job_id", "type", "state", "created_us", "history"):
        assert web[key] == cli[key], (key, web, cli)
    status, _, body = get(f"{base}/api/v1/trace/{task_id + 1}", TOKEN)
    assert status == 404 and "not retained" in body, (status, body)
    assert get(f"{base}/api/v1/trace/12x", TOKEN)[0] == 400
    assert get(f"{base}/api/v1/trace/", TOKEN)[0] == 400
    assert get(f"{base}/api/v1/status", TOKEN, method="POST")[0] == 405
    assert get(f"{base}/api/v1/nothing", TOKEN)[0] == 404
    assert get(f"{base}/../../etc/passwd", TOKEN)[0] == 404


def raw(port, data, timeout=10):
    chunks = []
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
        try:
            s.sendall(data)
            while True:
                chunk = s.recv(65536)
                if not chunk:
                    break
                chunks.append(chunk)
        except (ConnectionResetError, BrokenPipeError, socket.timeout):
            pass
    return b"".join(chunks)


def check_hostile(port, base):
    """Garbage, a huge URL and header, a body on a GET, 100 idle connections: answered or
    closed, never a crash; the API answers afterwards."""
    raw(port, b"\x00\xff garbage\r\n\r\n")
    raw(port, b"GET /" + b"a" * 100000 + b" HTTP/1.1\r\nHost: x\r\n\r\n")
    raw(port, b"GET / HTTP/1.1\r\nHost: x\r\nX-Big: " + b"b" * 200000 + b"\r\n\r\n")
    answer = raw(port, b"GET /api/v1/status HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
                       b"Authorization: Bearer " + TOKEN.encode() + b"\r\n"
                       b"Content-Length: 5\r\n\r\nhello")
    assert answer.startswith(b"HTTP/1.1 400") or not answer, answer[:200]
    assert get(f"{base}/api/v1/trace/" + "9" * 5000, TOKEN)[0] in (400, 414), "long id"
    idle = [socket.create_connection(("127.0.0.1", port), timeout=10) for _ in range(100)]
    for s in idle:
        s.close()
    assert get(base + "/api/v1/status", TOKEN)[0] == 200


def main():
    need()
    tmp = tempfile.mkdtemp(prefix=f"http_api{os.getpid()}.")
    up = None
    try:
        token_file = os.path.join(tmp, "token")
        with open(token_file, "w") as f:
            f.write(TOKEN + "\n")
        port = free_port()
        up = Up(tmp, f"httpa{os.getpid()}", TOPOLOGY + f"tracker:\n  http_token_file: {token_file}\n",
                args=("--http", f"127.0.0.1:{port}"))
        base = f"http://127.0.0.1:{port}"
        wait_http(base + "/api/v1/status", 60, TOKEN)
        up.log.flush()
        log = open(os.path.join(up.dir, "up.log")).read()
        assert f"dashboard on {base}/" in log, log
        check_auth(base)
        check_topology(up, base)  # waits until the vectors flow
        check_status(up, base)
        check_trace(up, base)
        check_hostile(port, base)
        print("JSON API answered on", base)
    finally:
        if up:
            up.stop()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
