# SPDX-License-Identifier: MPL-2.0
"""zsathttp - what the HTTP tests share: a free loopback port, a GET with an optional bearer
token, the topology they run (a gen source through a worker to a csv sink, and a scheduled
cpu probe), and a parser of the Prometheus text format."""
import re
import socket
import time
import urllib.error
import urllib.request

TOPOLOGY = """nodes:
  gen: {kind: gen, host: a, options: {rate: 20, type: load}}
  work: {kind: fault, host: a, options: {delay: 1ms}}
  cpu: {kind: cpu, host: a}
  csv: {kind: csv, host: a}
links:
  - gen -> work
  - work -> csv
  - cpu -> csv
schedules:
  - {type: cpu, every: 1s}
"""

DECLARED = ["gen", "work", "cpu", "csv", "tracker", "scheduler", "orchester"]


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def get(url, token=None, method="GET", timeout=10):
    """(status, headers, body text); never raises for an HTTP error status."""
    request = urllib.request.Request(url, method=method)
    if token:
        request.add_header("Authorization", "Bearer " + token)
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, dict(response.headers), response.read().decode()
    except urllib.error.HTTPError as err:
        return err.code, dict(err.headers), err.read().decode()


def wait_http(url, seconds, token=None):
    until = time.time() + seconds
    while time.time() < until:
        try:
            status, _, body = get(url, token, timeout=2)
            if status == 200:
                return body
        except OSError:
            pass
        time.sleep(0.3)
    raise AssertionError(f"{url} did not answer 200 within {seconds} s")


SAMPLE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})? (\S+)$')
LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"')


def samples(text):
    """[(name, {label: value}, float)] of every sample line."""
    out = []
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        m = SAMPLE.match(line)
        assert m, "not a sample line: " + line
        out.append((m.group(1), dict(LABEL.findall(m.group(3) or "")), float(m.group(4))))
    return out


def value(text, name, **labels):
    """The one sample of name whose labels include labels; None when there is none."""
    found = [v for n, l, v in samples(text)
             if n == name and all(l.get(k) == w for k, w in labels.items())]
    assert len(found) <= 1, (name, labels, found)
    return found[0] if found else None
