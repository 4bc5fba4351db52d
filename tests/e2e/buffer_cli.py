"""`zsat buffer` on a real buffer directory: ls, stat, replay (--consumer, --from/--to,
--since, --rate), export (csv, jsonl), gc, compact, usage errors.
"""
import json
import os
import subprocess
import sys
import tempfile

ZSAT = os.environ["ZSAT_BIN"]


def run(*args, code=0):
    p = subprocess.run([ZSAT, "buffer", *args], capture_output=True, text=True)
    assert p.returncode == code, (args, p.returncode, p.stdout, p.stderr)
    return p.stdout


def jsonl(text):
    return [json.loads(line) for line in text.splitlines()]


with tempfile.TemporaryDirectory(prefix="zsat_buffer_cli.") as d:
    run("write", "--dir", d, "--channel", "crit", "--count", "2000", "--size", "50",
        "--durability", "none", "--consumer", "sink", "--segment-size", "20000")
    ls = run("ls", "--dir", d)
    assert "crit" in ls and "consumer sink cursor 0" in ls, ls
    stat = run("stat", "--dir", d, "--channel", "crit")
    assert "first 1 last 2000" in stat and "nothing to repair" in stat, stat

    # Replay after the consumer's cursor: everything, flagged REPLAY (2).
    recs = jsonl(run("replay", "--dir", d, "--channel", "crit", "--consumer", "sink"))
    assert [r["seq"] for r in recs] == list(range(1, 2001))
    assert all(r["flags"] & 2 for r in recs)
    part = jsonl(run("replay", "--dir", d, "--channel", "crit", "--from", "1500", "--to", "1600",
                     "--rate", "100000"))
    assert [r["seq"] for r in part] == list(range(1500, 1601))

    # --since TIME: the first record at or after the time.
    since = recs[999]["timestamp"]
    got = jsonl(run("replay", "--dir", d, "--channel", "crit", "--since", "%.6f" % (since / 1e6)))
    first = got[0]["seq"]
    assert recs[first - 1]["timestamp"] >= since and (first == 1 or recs[first - 2]["timestamp"] < since)
    assert got[-1]["seq"] == 2000

    # export: csv with a header, jsonl without the replay flag.
    csv = run("export", "--dir", d, "--channel", "crit", "--format", "csv").splitlines()
    assert csv[0].startswith("seq,timestamp,task_id") and len(csv) == 2001
    exported = jsonl(run("export", "--dir", d, "--channel", "crit", "--format", "jsonl"))
    assert not any(r["flags"] & 2 for r in exported) and len(exported) == 2000

    # gc collects nothing the consumer has not acknowledged; compact moves all to HDF5.
    out = run("gc", "--dir", d, "--channel", "crit")
    assert "deleted 0 files" in out, out
    out = run("compact", "--dir", d, "--channel", "crit")
    assert "compacted" in out
    again = jsonl(run("export", "--dir", d, "--channel", "crit", "--format", "jsonl"))
    assert again == exported

    # cursor: a consumer moved back replays from there.
    out = run("cursor", "--dir", d, "--channel", "crit", "--consumer", "sink", "--to", "1990")
    assert "cursor 0 -> 1990" in out, out
    tail = jsonl(run("replay", "--dir", d, "--channel", "crit", "--consumer", "sink"))
    assert [r["seq"] for r in tail] == list(range(1991, 2001))
    run("cursor", "--dir", d, "--channel", "crit", "--consumer", "nobody", "--to", "1", code=1)

    # Usage errors: exit 2 with a message; --help exit 0.
    assert "usage: zsat buffer" in run("--help")
    run("ls", code=2)
    run("replay", "--dir", d, code=2)
    run("replay", "--dir", d, "--channel", "crit", "--since", "yesterday", code=2)
    run("export", "--dir", d, "--channel", "crit", "--format", "xml", code=2)
    run("replay", "--dir", d, "--channel", "crit", "--consumer", "nobody", code=1)
    run("stat", "--dir", d, "--channel", "missing", code=1)
    print("buffer_cli: ls, stat, replay, export, gc, compact and usage errors behave")
