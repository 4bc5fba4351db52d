#!/usr/bin/env bash
# SPDX-License-Identifier: MPL-2.0
# Interfaces that come and go do not split storage (issue 12.5): `zsat up` runs net and disk
# -> csv + hdf5 inside a private network namespace while veth pairs are created and deleted
# in it, several times. Afterwards there is exactly one CSV file and one HDF5 table for net
# (and for disk), one row per interface per measurement with an `iface` column, and rows for
# every interface that existed for a while. The namespace keeps the host's interfaces alone;
# the test still takes /tmp/zsat-heavy.lock since it creates a namespace and links.
set -u
BIN=${ZSAT_BIN:?ZSAT_BIN not set}
PY=/usr/bin/python3
if [ "$(id -u)" != 0 ] || ! command -v ip >/dev/null; then
    echo "SKIP: needs root and iproute2 (network namespace and veth pairs)"
    exit 77
fi
if ! "$PY" -c 'import h5py' 2>/dev/null; then
    echo "SKIP: $PY has no h5py (apt-get install python3-h5py)"
    exit 77
fi
if [ -z "${ZSAT_NET_ROWS_LOCKED:-}" ]; then
    ZSAT_NET_ROWS_LOCKED=1 exec flock /tmp/zsat-heavy.lock bash "$0" "$@"
fi
NS=zsatnr$$
PREFIX=zsatnt$$
TMP=$(mktemp -d /tmp/zsat-net-rows.XXXXXX)
export ZSAT_RUN_DIR=$TMP/run
cleanup () {
    [ -n "${UP_PID:-}" ] && kill -9 "$UP_PID" 2>/dev/null
    for env in /proc/[0-9]*/environ; do
        if { tr '\0' '\n' <"$env"; } 2>/dev/null | grep -qxF "ZSAT_RUN_DIR=$ZSAT_RUN_DIR"; then
            pid=${env#/proc/}; pid=${pid%/environ}
            [ "$pid" != $$ ] && kill -9 "$pid" 2>/dev/null
        fi
    done
    ip netns del "$NS" 2>/dev/null  # deletes every link left in it
    rm -rf "$TMP"
}
trap cleanup EXIT
fail () {
    echo "FAIL: $*"
    for f in "$TMP"/up.err $(find "$ZSAT_RUN_DIR" -name '*.log' 2>/dev/null); do
        echo "== $f"; tail -n 15 "$f"
    done
    exit 1
}
ip netns add "$NS" || fail "cannot create network namespace $NS"
ip netns exec "$NS" ip link set lo up

cat >"$TMP/t.yaml" <<YAML
name: netrows
nodes:
  net:  {kind: net}
  disk: {kind: disk}
  csv:  {kind: csv, options: {flush: every}}
  hdf5: {kind: hdf5, options: {flush_interval: 200ms}}
links:
  - net -> csv
  - net -> hdf5
  - disk -> csv
  - disk -> hdf5
schedules:
  - {type: net, every: 250ms}
  - {type: disk, every: 1s}
YAML
"$BIN" check "$TMP/t.yaml" >/dev/null || fail "zsat check refuses the topology"
ip netns exec "$NS" "$BIN" up "$TMP/t.yaml" --duration 300 --no-status \
    >"$TMP/up.out" 2>"$TMP/up.err" &
UP_PID=$!
CSV_DIR=$ZSAT_RUN_DIR/local/csv

# True when net's CSV files name $1 (as a row's iface, or, in the wide format of old
# builds, in a column name): the probe has measured it.
known () { cat "$CSV_DIR"/net*.csv 2>/dev/null | grep -q "$1"; }

for _ in $(seq 300); do known lo && break; sleep 0.2; done
known lo || fail "no net measurement of lo within 60 s"
created=""
for i in 1 2 3 4; do
    link=$PREFIX$i
    ip netns exec "$NS" ip link add "$link" type veth peer name "${link}p" \
        || fail "ip link add $link type veth failed"
    ip netns exec "$NS" ip link set "$link" up
    ip netns exec "$NS" ip link set "${link}p" up
    created="$created $link ${link}p"
    for _ in $(seq 300); do known "$link" && break; sleep 0.2; done
    known "$link" || fail "no net measurement names $link within 60 s"
    sleep 0.6  # a few more measurements with it
    ip netns exec "$NS" ip link del "$link" || fail "ip link del $link failed"  # and its peer
done
sleep 1  # measurements without them
kill -TERM "$UP_PID"
for _ in $(seq 600); do kill -0 "$UP_PID" 2>/dev/null || break; sleep 0.1; done
kill -0 "$UP_PID" 2>/dev/null && fail "zsat up did not stop within 60 s of SIGTERM"
wait "$UP_PID"
rc=$?
UP_PID=
[ $rc -eq 0 ] || fail "zsat up exited $rc"

"$PY" - "$ZSAT_RUN_DIR/local" $created <<'PYEOF' || fail "storage check failed"
import csv, glob, os, sys
import h5py
host, links = sys.argv[1], sys.argv[2:]
for kind, column in (("net", "iface"), ("disk", "device")):
    files = sorted(os.path.basename(f) for f in glob.glob(os.path.join(host, "csv", "*.csv"))
                   if os.path.basename(f).split(".")[0] == kind)
    assert files == [kind + ".csv"], "%s: CSV files %s, want exactly one" % (kind, files)
    with open(os.path.join(host, "csv", kind + ".csv"), newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert rows, "%s.csv has no rows" % kind
    assert column in rows[0], "%s.csv has no %s column: %s" % (kind, column, list(rows[0]))
    assert all(None not in r and None not in r.values() for r in rows), "ragged rows"
    names = {r[column] for r in rows}
    print("%s.csv: %d rows, %s: %s" % (kind, len(rows), column, sorted(names)))
    if kind == "net":
        missing = [name for name in ["lo"] + links if name not in names]
        assert not missing, "net.csv has no rows for %s" % missing
        for r in rows:
            float(r["rx_bytes"]), float(r["tx_packets_s"]), float(r["interfaces"])
        per_task = {}
        for r in rows:
            per_task.setdefault(r["task_id"], []).append(r[column])
        assert all(len(v) == len(set(v)) for v in per_task.values()), "an iface twice in a task"
        assert any(len(v) >= 3 for v in per_task.values()), "no measurement with a veth pair"
files = glob.glob(os.path.join(host, "*.h5"))
assert len(files) == 1, "HDF5 files: %s" % files
with h5py.File(files[0], "r") as f:
    tables = sorted(f)
    print("hdf5 tables:", tables)
    for kind, column in (("net", "iface"), ("disk", "device")):
        mine = [t for t in tables if t.split(".")[0] == kind]
        assert mine == [kind], "%s: tables %s, want exactly one" % (kind, mine)
    net = f["net"][:]
    assert "iface" in net.dtype.names, net.dtype.names
    names = {x.decode() for x in net["iface"]}
    missing = [name for name in ["lo"] + links if name not in names]
    assert not missing, "/net has no rows for %s" % missing
    assert len(net) >= 2 * len(links), "/net: only %d rows" % len(net)
    print("hdf5 /net: %d rows, ifaces %s; %d bytes" % (len(net), sorted(names),
                                                      os.path.getsize(files[0])))
PYEOF
echo "sinks_net_rows: OK"
