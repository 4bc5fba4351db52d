#!/usr/bin/python3
# SPDX-License-Identifier: MPL-2.0
"""DSAT's proc satellite on zsat: processes, threads and their states, from /proc."""
import os
import zsat

def proc(record):
    states, threads = {}, 0
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
        except OSError:
            continue  # the process ended meanwhile
        states[fields[0]] = states.get(fields[0], 0) + 1
        threads += int(fields[17])
    return {"processes": sum(states.values()), "threads": threads,
            "running": states.get("R", 0), "sleeping": states.get("S", 0),
            "blocked": states.get("D", 0), "zombies": states.get("Z", 0)}

if __name__ == "__main__":
    zsat.worker(proc).run()
