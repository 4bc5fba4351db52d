#!/usr/bin/python3
# SPDX-License-Identifier: MPL-2.0
"""DSAT's cpu satellite on zsat: load averages and CPU time shares since the last call."""
import zsat

last = None

def cpu(record):
    global last
    load1, load5, load15 = open("/proc/loadavg").read().split()[:3]
    ticks = [int(x) for x in open("/proc/stat").readline().split()[1:]]
    delta = [a - b for a, b in zip(ticks, last or [0] * len(ticks))]
    last, total = ticks, sum(delta) or 1
    return {"load1": float(load1), "load5": float(load5), "load15": float(load15),
            "user": 100.0 * delta[0] / total, "system": 100.0 * delta[2] / total,
            "idle": 100.0 * delta[3] / total, "iowait": 100.0 * delta[4] / total}

if __name__ == "__main__":
    zsat.worker(cpu).run()
