#!/usr/bin/env python3
# SPDX-License-Identifier: MPL-2.0
"""tracker_fanout - a failing branch does not duplicate rows in a healthy one. `zsat up` of
`cpu -> csv` plus `cpu -> bad`, `bad` an `exec` running `exit 3`, 100 jobs for cpu sent with
`zsat send`: the tracker re-sends only the failed edge (cpu runs again but forwards to bad
alone), so csv holds each task id exactly once; every task ends FAILED (a branch failed for
good), as `zsat trace` and STATUS say.
"""
import csv
import glob
import os
import shutil
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from zsatup import Up, need  # noqa: E402

TASKS = 100

TOPOLOGY = """nodes:
  cpu: {kind: cpu, host: a}
  csv: {kind: csv, host: a, options: {flush: every}}
  bad: {kind: exec, host: a, options: {command: "exit 3"}}
links:
  - cpu -> csv
  - cpu -> bad
routes:
  cpu: cpu
tracker:
  max_retry: 2
  backoff: 50ms
  timeout: 30s
"""


def rows(run):
    files = glob.glob(os.path.join(run, "**", "*.csv"), recursive=True)
    assert files, "no csv file under " + run
    ids = []
    for name in files:
        with open(name) as f:
            for row in csv.reader(f):
                if len(row) > 3 and row[3].isdigit():
                    ids.append(int(row[3]))  # cut -d, -f4
    return ids


def main():
    need(["up", "--help"], ["send", "--help"], ["trace", "--help"], ["help", "exec"])
    tmp = tempfile.mkdtemp(prefix="zsat-fanout-")
    up = None
    try:
        up = Up(tmp, "fanout", TOPOLOGY)
        up.wait(lambda: all(len(up.stage(n)) and up.stage(n)[0]["instances"] == 1
                            for n in ("cpu", "csv", "bad")), 30, "cpu, csv and bad alive")
        up.send("cpu", TASKS)
        # every task ends: bad fails each one for good (max_retry 2: 3 runs of the branch)
        up.wait(lambda: up.counter("failures") + up.counter("happy_ends") >= TASKS
                and up.status()["tracker"]["live"] == 0, 240, f"{TASKS} tasks ended")
        counters = up.status()["counters"]
        ids = rows(up.run)
        dup = sorted({i for i in ids if ids.count(i) > 1})
        assert not dup, f"{len(dup)} task ids duplicated in csv (of {len(set(ids))}): {dup[:10]}"
        assert len(set(ids)) == TASKS, (len(set(ids)), counters)
        assert counters["failures"] == TASKS and counters["happy_ends"] == 0, counters
        assert counters["resends"] == 2 * TASKS, counters
        for task_id in sorted(set(ids))[:: TASKS // 10]:
            trace = up.trace(task_id)
            assert trace["state"] == "FAILED", trace
        failures = up.topics("FAILURE")
        assert all("ERROR at bad@a" in f["reason"] for f in failures), failures[:3]
        print(f"fanout: {len(ids)} rows, {len(set(ids))} task ids, 0 duplicates, "
              f"{counters['failures']} FAILED, {counters['resends']} resends")
    finally:
        if up:
            up.stop()
        shutil.rmtree(tmp, ignore_errors=True)
    print("tracker_fanout: OK")


if __name__ == "__main__":
    main()
