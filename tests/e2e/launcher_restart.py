"""kill -9 of a probe under load: the launcher restarts it (new pid, restart counted in
STATUS) and its rows resume; SIGTERM to the launcher: every child gone, rows whole on disk."""
import csv
import glob
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time

import zmq

BIN = os.environ.get("ZSAT_BIN")
SRC = os.environ.get("ZSAT_SRC", os.path.join(os.path.dirname(__file__), "..", ".."))
TOPOLOGY = os.path.join(SRC, "topologies", "test-launcher-restart.yaml")


def wait_for(what, predicate, timeout=30.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError("timed out waiting for " + what)


def status(endpoint):
    """One STATUS request on a fresh REQ (a lost reply never wedges the test)."""
    with zmq.Context.instance().socket(zmq.REQ) as req:
        req.setsockopt(zmq.LINGER, 0)
        req.setsockopt(zmq.RCVTIMEO, 2000)
        req.connect(endpoint)
        req.send_string("STATUS")
        try:
            return json.loads(req.recv_string())
        except zmq.Again:
            return None


def instance(state, node, index=0):
    for item in (state or {}).get("instances", []):
        if item["node"] == node and item["instance"] == index:
            return item
    return None


def tracker_nodes(endpoint):
    """The tracker's NODES reply, or None when it does not answer."""
    with zmq.Context.instance().socket(zmq.REQ) as req:
        req.setsockopt(zmq.LINGER, 0)
        req.setsockopt(zmq.RCVTIMEO, 2000)
        req.connect(endpoint)
        req.send_string("NODES")
        try:
            return json.loads(req.recv_string())
        except zmq.Again:
            return None


def cpu_rows(run_dir, pattern="cpu*.csv"):
    rows = 0
    for path in glob.glob(os.path.join(run_dir, "**", pattern), recursive=True):
        with open(path, newline="") as handle:
            reader = csv.reader(handle)
            header = next(reader, None)
            for row in reader:
                assert len(row) == len(header), "%s: ragged row %r" % (path, row)
                rows += 1
    return rows


def alive(pid):
    try:
        with open("/proc/%d/stat" % pid) as handle:
            return handle.read().rsplit(")", 1)[1].split()[0] not in ("Z", "X")
    except OSError:
        return False


def run(tmp):
    run_dir = os.path.join(tmp, "run")
    env = dict(os.environ, ZSAT_RUN_DIR=run_dir)
    log = open(os.path.join(tmp, "launch.log"), "w")
    launcher = subprocess.Popen([BIN, "launch", "--host", "local", TOPOLOGY], env=env,
                                stdout=log, stderr=log)
    try:
        control_file = os.path.join(run_dir, "local", "launcher.control")
        wait_for("the control file", lambda: os.path.exists(control_file))
        with open(control_file) as handle:
            endpoint = handle.read().strip()
        wait_for("cpu rows", lambda: cpu_rows(run_dir) >= 3)
        before = instance(status(endpoint), "cpu")
        assert before and before["state"] == "running" and before["pid"] > 0, before
        os.kill(before["pid"], signal.SIGKILL)

        def restarted():
            now = instance(status(endpoint), "cpu")
            ok = now and now["state"] == "running" and now["pid"] not in (0, before["pid"])
            return now if ok and now["restarts"] >= before["restarts"] + 1 else None
        after = wait_for("the restart", restarted)
        assert after["last_exit"] == "signal 9", after
        print("cpu: pid %d killed, restarted as pid %d, restarts %d"
              % (before["pid"], after["pid"], after["restarts"]))
        rows = cpu_rows(run_dir)
        wait_for("rows after the restart", lambda: cpu_rows(run_dir) >= rows + 3)

        final = status(endpoint)
        pids = [item["pid"] for item in final["instances"] if item["pid"] > 0]
        assert len(pids) >= 6, final  # cpu mem csv tracker scheduler orchester
        # What the sink had accepted by its last heartbeat must all be on disk after the stop
        # (tracker.query is base_port + 2, over ipc on the same host).
        nodes = tracker_nodes("ipc://%s/local/7402.ipc" % run_dir)
        accepted = sum(n.get("in", 0) for n in (nodes or {}).get("nodes", [])
                       if n.get("node") == "csv")
        launcher.send_signal(signal.SIGTERM)
        assert launcher.wait(timeout=120) == 0, "launcher exit status %s" % launcher.returncode
        survivors = [pid for pid in pids if alive(pid)]
        assert not survivors, "children survived the launcher: %s" % survivors
        assert not os.path.exists(os.path.join(run_dir, "local", "launcher.pid"))
        on_disk = cpu_rows(run_dir, "*.csv")
        assert nodes is not None, "the tracker did not answer NODES"
        assert on_disk >= accepted > 0, "sink accepted %d rows, %d on disk" % (accepted, on_disk)
        print("stopped: %d children gone; the sink had accepted %d rows, %d on disk"
              % (len(pids), accepted, on_disk))
    finally:
        if launcher.poll() is None:
            launcher.kill()
            launcher.wait()
        log.close()


def main():
    if not BIN:
        print("ZSAT_BIN not set")
        return 1
    if subprocess.run([BIN, "help", "cpu"], capture_output=True).returncode != 0:
        print("SKIP: this build has no cpu kind yet (`zsat help cpu` fails)")
        return 77
    tmp = tempfile.mkdtemp(prefix="zsat-launcher-restart.")
    try:
        run(tmp)
    except BaseException:
        for path in [os.path.join(tmp, "launch.log")] + glob.glob(
                os.path.join(tmp, "run", "*", "logs", "*.log")):
            with open(path, errors="replace") as handle:
                print("==", path, "\n" + "".join(handle.readlines()[-15:]))
        raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    print("launcher_restart: OK")
    return 0


if __name__ == "__main__":
    sys.exit(main())
