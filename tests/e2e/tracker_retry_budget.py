#!/usr/bin/env python3
# SPDX-License-Identifier: MPL-2.0
"""tracker_retry_budget - one task, one retry budget, one clock per history field, in a real
topology run by `zsat up` (launcher, orchester, tracker, exec satellites):

  budget  an `exec` node whose command appends its task id to a file and exits 75 (RETRY)
          with `tracker: max_retry: 2` runs exactly max_retry + 1 = 3 times (the file holds
          3 lines): the runtime's local retries and the tracker's re-sends draw from the
          vector's `retry`; `zsat trace` says runs 3, state FAILED.
  clocks  an `exec` node sleeping past its stage deadline: the tracker's DEADLINE entries
          (its own clock) are never before the task's first event (INIT) in `zsat trace`
          and in the FAILURE's history.
"""
import os
import shutil
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from zsatup import Up, need  # noqa: E402


def budget_topology(tmp):
    runs = os.path.join(tmp, "runs.txt")
    body = f"""nodes:
  flaky: {{kind: exec, host: a, options: {{command: "echo $ZSAT_TASK_ID >> {runs}; exit 75"}}}}
routes:
  job: flaky
tracker:
  max_retry: 2
  backoff: 50ms
  timeout: 30s
"""
    return runs, body


#  A node reports its events after its handler returns, so the deadline that passes is the
#  orchester's (the task SENT, never heard of again within 1 s).
CLOCKS = """nodes:
  slow: {kind: exec, host: a, options: {command: "sleep 3; cat", timeout: 20s}}
routes:
  nap: slow
tracker:
  max_retry: 1
  backoff: 50ms
  timeout: 1s
"""


def budget(up, runs):
    up.send_json("job", 1)
    up.wait(lambda: any(f["type"] == "job" for f in up.topics("FAILURE")), 120,
            "a FAILURE for the job")
    failure = [f for f in up.topics("FAILURE") if f["type"] == "job"][0]
    # the FAILURE is published after the last run reported its ERROR: every run is in the file
    assert os.path.exists(runs), failure
    lines = [line.strip() for line in open(runs) if line.strip()]
    assert lines == [str(failure["task_id"])] * 3, (lines, failure)
    assert "retries exhausted (2)" in failure["reason"], failure
    trace = up.trace(failure["task_id"])
    assert trace["state"] == "FAILED" and trace["runs"] == 3 and trace["retry"] == 2, trace
    # nothing runs it again afterwards (the tracker has finished the task)
    up.wait(lambda: up.status()["stages"] is not None, 5, "status")
    assert len([line for line in open(runs) if line.strip()]) == 3
    print(f"budget: {len(lines)} runs, {failure['reason']}")


def clocks(up):
    up.send_json("nap", 1)
    up.wait(lambda: any(f["type"] == "nap" for f in up.topics("FAILURE")), 120,
            "a FAILURE for the slow job")
    failure = [f for f in up.topics("FAILURE") if f["type"] == "nap"][0]
    history = failure["history"]
    assert any(h["event"] == "DEADLINE" for h in history), failure
    first = history[0]["time_us"]
    bad = [h for h in history if h["time_us"] < first]
    assert not bad, f"history entries before the first event: {bad} (first {first})"
    trace = up.trace(failure["task_id"])
    assert trace["history"][0]["time_us"] == trace["created_us"], trace
    bad = [h for h in trace["history"] if h["time_us"] < trace["created_us"]]
    assert not bad, f"trace entries before created_us {trace['created_us']}: {bad}"
    # and the times are the time of day (the tracker's clock shown as such), not uptime
    assert abs(trace["created_us"] / 1e6 - time.time()) < 3600, trace
    print(f"clocks: {len(trace['history'])} entries, none before INIT")


def main():
    need(["up", "--help"], ["send", "--help"], ["trace", "--help"], ["help", "exec"])
    tmp = tempfile.mkdtemp(prefix="zsat-retry-budget-")
    up = None
    try:
        runs, body = budget_topology(tmp)
        up = Up(tmp, "budget", body)
        up.wait(lambda: len(up.stage("flaky")) and up.stage("flaky")[0]["instances"] == 1, 30,
                "flaky alive")
        if os.environ.get("ZSAT_ONLY") != "clocks":
            budget(up, runs)
        up.stop()
        up = Up(tmp, "clocks", CLOCKS)
        up.wait(lambda: len(up.stage("slow")) and up.stage("slow")[0]["instances"] == 1, 30,
                "slow alive")
        clocks(up)
    finally:
        if up:
            up.stop()
        shutil.rmtree(tmp, ignore_errors=True)
    print("tracker_retry_budget: OK")


if __name__ == "__main__":
    main()
