#!/usr/bin/env bash
# `zsat up` on the default topology for 8 s: CSV files for cpu, mem, net and proc with
# plausible rows, an HDF5 file readable with h5py, and no process left behind.
set -u
BIN=${ZSAT_BIN:?ZSAT_BIN not set}
SRC=${ZSAT_SRC:-$(cd "$(dirname "$0")/../.." && pwd)}
PY=/usr/bin/python3
if ! "$BIN" help cpu >/dev/null 2>&1; then
    echo "SKIP: this build has no cpu kind yet (\`zsat help cpu\` fails)"
    exit 77
fi
TMP=$(mktemp -d /tmp/zsat-launcher-up.XXXXXX)
export ZSAT_RUN_DIR=$TMP/run
cleanup () {
    # Nothing of this run may survive it: every child inherited ZSAT_RUN_DIR.
    for env in /proc/[0-9]*/environ; do
        if { tr '\0' '\n' <"$env"; } 2>/dev/null | grep -qxF "ZSAT_RUN_DIR=$ZSAT_RUN_DIR"; then
            pid=${env#/proc/}; pid=${pid%/environ}
            [ "$pid" != $$ ] && kill -9 "$pid" 2>/dev/null
        fi
    done
    rm -rf "$TMP"
}
trap cleanup EXIT
fail () { echo "FAIL: $*"; for f in "$TMP"/up.err $(find "$ZSAT_RUN_DIR" -name '*.log' 2>/dev/null); do echo "== $f"; tail -n 20 "$f"; done; exit 1; }

timeout -s KILL 120 "$BIN" up "$SRC/topologies/default.yaml" --duration 8 --no-status \
    >"$TMP/up.out" 2>"$TMP/up.err"
rc=$?
cat "$TMP/up.out"
[ $rc -eq 0 ] || fail "zsat up exited $rc"
grep -q "stopped after" "$TMP/up.out" || fail "no summary line"
grep -q "run directory: $ZSAT_RUN_DIR" "$TMP/up.out" || fail "summary does not say where the run dir is"

# No orphans: no process still carries this run's ZSAT_RUN_DIR.
for env in /proc/[0-9]*/environ; do
    pid=${env#/proc/}; pid=${pid%/environ}
    [ "$pid" = $$ ] && continue
    if { tr '\0' '\n' <"$env"; } 2>/dev/null | grep -qxF "ZSAT_RUN_DIR=$ZSAT_RUN_DIR"; then
        [ "$(awk '{print $3}' /proc/$pid/stat 2>/dev/null)" = Z ] && continue
        fail "process $pid ($(tr '\0' ' ' </proc/$pid/cmdline)) survived zsat up"
    fi
done

"$PY" - "$ZSAT_RUN_DIR" <<'PYEOF' || fail "data check failed"
import csv, glob, math, os, sys
run = sys.argv[1]
files = glob.glob(os.path.join(run, "**", "*.csv"), recursive=True)
print("csv files:", sorted(os.path.relpath(f, run) for f in files))
for kind in ("cpu", "mem", "net", "proc"):
    mine = [f for f in files if os.path.basename(f).split(".")[0] == kind]
    assert mine, "no CSV file for %s" % kind
    rows = []
    for f in mine:
        with open(f, newline="") as handle:
            reader = csv.reader(handle)
            header = next(reader)
            for row in reader:
                assert len(row) == len(header), "%s: ragged row %r" % (f, row)
                rows.append(dict(zip(header, row)))
    assert len(rows) >= 3, "%s: only %d rows in 8 s" % (kind, len(rows))
    numbers = 0
    for row in rows:
        for key, value in row.items():
            if key in ("time", "host", "node", "task_id") or value == "":
                continue
            try:
                number = float(value)
            except ValueError:
                continue
            assert math.isfinite(number), "%s: %s=%s" % (kind, key, value)
            numbers += 1
    assert numbers > 0, "%s: no numeric measurement" % kind
    print("%s: %d rows, %d numeric values" % (kind, len(rows), numbers))
import h5py
h5 = glob.glob(os.path.join(run, "**", "*.h5"), recursive=True) + \
     glob.glob(os.path.join(run, "**", "*.hdf5"), recursive=True)
assert h5, "no HDF5 file"
records = 0
def visit(name, obj):
    global records
    if isinstance(obj, h5py.Dataset) and obj.shape:
        records += obj.shape[0]
with h5py.File(h5[0], "r") as f:
    f.visititems(visit)
assert records >= 4, "HDF5 file %s has %d records" % (h5[0], records)
print("hdf5: %s, %d records" % (os.path.relpath(h5[0], run), records))
PYEOF
ls "$ZSAT_RUN_DIR"/*/logs/*.log >/dev/null 2>&1 || fail "no node logs in <run_dir>/<host>/logs"
echo "launcher_up: OK"
