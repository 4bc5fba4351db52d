# SPDX-License-Identifier: MPL-2.0
"""send_verdict - `zsat send` reports what the orchester did (docs/sockets.md, `zsat send
--help`): nothing listening is exit 1 with "nothing listens", a type no route knows is exit
1 with the dead-letter reason, a routed vector is exit 0, an orchester that takes the
vector but never answers is exit 3 "unconfirmed". Then two hosts (both on 127.0.0.1, tcp
ports picked free at run time): `send --host b` from a machine that does not run b (another
run directory) and `route list --host b --from a` reach b's orchester over tcp."""
import fcntl
import glob
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

import zmq

BIN = os.environ.get("ZSAT_BIN", "build/zsat")
ONE = """name: send-verdict
base_port: 7750
hosts:
  local: {address: 127.0.0.1}
nodes:
  cpu: {kind: cpu}
  csv: {kind: csv}
links:
  - cpu -> csv
routes:
  cpu: cpu
"""
TWO = """name: send-verdict-two
base_port: %d
# Plain tcp: this test is about verdicts and routes; CURVE is tested by security_netns.
security: none
hosts:
  a: {address: 127.0.0.1}
  b: {address: 127.0.0.1}
nodes:
  cpu: {kind: cpu, hosts: all}
  far: {kind: cpu, host: b}
  csv: {kind: csv, host: a, options: {flush: every}}
links:
  - cpu -> csv
  - far -> csv
routes:
  cpu: cpu
"""


def zsat(args, env, timeout=60):
    return subprocess.run([BIN] + args, capture_output=True, text=True, env=env,
                          timeout=timeout, stdin=subprocess.DEVNULL)


def wait_for(what, predicate, timeout=120.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError("timed out (%.0f s) waiting for %s" % (timeout, what))


def check(cond, what, r=None):
    if not cond:
        detail = "" if r is None else " (rc %s)\nstdout: %s\nstderr: %s" % (
            r.returncode, r.stdout, r.stderr)
        raise AssertionError(what + detail)


def start(tmp, name, text, env):
    path = os.path.join(tmp, name + ".yaml")
    with open(path, "w") as handle:
        handle.write(text)
    log = open(os.path.join(tmp, name + ".log"), "w")
    up = subprocess.Popen([BIN, "up", path, "--no-status", "--duration", "600"], env=env,
                          stdout=log, stderr=log)
    return path, up, log


def stop(up, log):
    if up.poll() is None:
        up.send_signal(signal.SIGINT)
        try:
            up.wait(timeout=120)
        except subprocess.TimeoutExpired:
            up.kill()
            up.wait()
    log.close()


def one_host(tmp):
    env = dict(os.environ, ZSAT_RUN_DIR=os.path.join(tmp, "run1"))
    path = os.path.join(tmp, "one.yaml")
    with open(path, "w") as handle:
        handle.write(ONE)
    r = zsat(["send", "--topology", path, "--type", "cpu", "--timeout", "1000"], env)
    check(r.returncode == 1 and "nothing listens" in r.stderr,
          "no orchester running: exit 1 and 'nothing listens'", r)
    r = zsat(["route", "list", "--topology", path, "--timeout", "1000"], env)
    check(r.returncode == 1 and "nothing listens" in r.stderr, "route, nothing listens", r)
    path, up, log = start(tmp, "one", ONE, env)
    try:
        wait_for("the orchester", lambda: zsat(["route", "list", "--topology", path,
                                                "--timeout", "1000"], env).returncode == 0)
        r = zsat(["send", "--topology", path, "--type", "nosuch", "--count", "2"], env)
        check(r.returncode == 1 and "unknown type" in r.stderr and "nosuch" in r.stderr,
              "unknown type: exit 1 with the dead-letter reason", r)
        check("2 dead-lettered" in r.stdout, "summary counts the dead letters", r)
        r = zsat(["send", "--topology", path, "--type", "cpu", "--count", "3",
                  "--payload", "x"], env)
        check(r.returncode == 0 and "3 vectors routed" in r.stdout and "routed to cpu" in
              r.stdout, "good type: exit 0, routed to cpu", r)
        stats = zsat(["route", "stats", "--topology", path], env)
        check(stats.returncode == 0 and '"unknown type":2' in stats.stdout,
              "the orchester counted the two dead letters", stats)
    finally:
        stop(up, log)
    # an orchester that takes the vector and never answers
    ctx = zmq.Context.instance()
    mute = ctx.socket(zmq.REP)
    endpoint = "ipc://%s/mute.ipc" % tmp
    mute.bind(endpoint)
    r = zsat(["send", "--control", endpoint, "--type", "cpu", "--timeout", "1000"], env)
    mute.close(linger=0)
    check(r.returncode == 3 and "unconfirmed" in r.stderr, "no verdict: exit 3, unconfirmed", r)
    r = zsat(["send", "--endpoint", "ipc://%s/nobody.ipc" % tmp, "--type", "cpu",
              "--timeout", "500"], env)
    check(r.returncode == 1 and "nothing listens" in r.stderr,
          "--endpoint with nothing connected: exit 1", r)
    print("one host: exit codes 1 (nothing listens), 1 (unknown type), 0, 3 (unconfirmed)")


def free_base(count=40):
    """A base port whose next `count` tcp ports are free on every interface now."""
    for _ in range(200):
        base = random.randrange(20000, 60000 - count)
        held = []
        try:
            for port in range(base, base + count):
                s = socket.socket()
                s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                s.bind(("0.0.0.0", port))
                held.append(s)
            return base
        except OSError:
            continue
        finally:
            for s in held:
                s.close()
    raise AssertionError("no free port range")


def two_hosts(tmp):
    env = dict(os.environ, ZSAT_RUN_DIR=os.path.join(tmp, "run2"))
    elsewhere = dict(os.environ, ZSAT_RUN_DIR=os.path.join(tmp, "elsewhere"))
    base = free_base()
    path, up, log = start(tmp, "two", TWO % base, env)
    try:
        wait_for("b's orchester", lambda: zsat(["route", "list", "--topology", path, "--host",
                                                "b", "--timeout", "1000"], env).returncode == 0)
        r = zsat(["route", "list", "--topology", path, "--host", "b", "--from", "a"], env)
        check(r.returncode == 0 and r.stdout.strip() == "cpu cpu",
              "route list --host b --from a over tcp", r)
        r = zsat(["send", "--topology", path, "--host", "b", "--type", "cpu", "--count", "2"],
                 elsewhere)
        check(r.returncode == 0 and "2 vectors routed" in r.stdout and
              "tcp://127.0.0.1:%d" % (base + 8) in r.stdout,
              "send --host b from elsewhere: routed by b's orchester over tcp", r)
        r = zsat(["send", "--topology", path, "--host", "a", "--from", "b", "--type", "cpu"],
                 env)
        check(r.returncode == 0 and "tcp://127.0.0.1:%d" % (base + 5) in r.stdout,
              "send --host a --from b uses a's tcp control endpoint", r)
        r = zsat(["send", "--topology", path, "--host", "b", "--from", "nohost", "--type",
                  "cpu"], env)
        check(r.returncode == 1 and "no such host" in r.stderr, "--from of an unknown host", r)
        # a route on a's orchester to a node that runs on b only (docs/orchester.md)
        r = zsat(["route", "add", "farjob", "far", "--topology", path, "--host", "a"], env)
        check(r.returncode == 0 and r.stdout.strip() == "OK", "route add to b's node on a", r)
        r = zsat(["send", "--topology", path, "--host", "a", "--type", "farjob", "--count",
                  "5"], env)
        check(r.returncode == 0 and "5 vectors routed" in r.stdout and "routed to far" in
              r.stdout, "a's orchester routes farjob to far on b", r)
        wait_for("far's rows in a's csv sink", lambda: far_rows(env["ZSAT_RUN_DIR"]) >= 5)
    finally:
        stop(up, log)
    print("two hosts: --host b over tcp from elsewhere, --from a, a route from a to b's node")


def far_rows(run_dir):
    count = 0
    for path in glob.glob(os.path.join(run_dir, "**", "*.csv"), recursive=True):
        with open(path, errors="replace") as handle:
            count += sum(1 for line in handle if ",far," in line)
    return count


def main():
    if zsat(["help", "cpu"], os.environ).returncode != 0:
        print("SKIP: this build has no cpu kind")
        return 77
    tmp = tempfile.mkdtemp(prefix="zsat-send-verdict.%d." % os.getpid())
    try:
        one_host(tmp)
        # fixed tcp ports outside a namespace: one such test at a time on this machine
        with open("/tmp/zsat-heavy.lock", "a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            two_hosts(tmp)
    except BaseException:
        for path in glob.glob(os.path.join(tmp, "*.log")) + glob.glob(
                os.path.join(tmp, "run*", "*", "logs", "*.log")):
            with open(path, errors="replace") as handle:
                print("==", path, "\n" + "".join(handle.readlines()[-10:]))
        raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    print("send_verdict: OK")
    return 0


if __name__ == "__main__":
    sys.exit(main())
