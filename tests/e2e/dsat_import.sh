#!/usr/bin/env bash
# SPDX-License-Identifier: MPL-2.0
# A DSAT user's first steps, with DSAT-shaped fixtures (tests/dsat/: DSAT's example and
# dprobe, vertex.json with repeated keys and %(var)s endpoints, a circus edge.ini with
# numprocesses, singleton, priority): `zsat import-dsat`, `zsat check`, then 10 s of
# `zsat up` of the dprobe import, with rows in every sink (csv, rrd read by rrdtool) and
# ping measuring 127.0.0.1. A second `zsat up` of the running topology is refused.
set -u
BIN=${ZSAT_BIN:?ZSAT_BIN not set}
SRC=${ZSAT_SRC:-$(cd "$(dirname "$0")/../.." && pwd)}
for kind in ping rrd cpu proc csv; do
    "$BIN" help "$kind" >/dev/null 2>&1 || { echo "FAIL: this build has no $kind kind"; exit 1; }
done
command -v rrdtool >/dev/null || { echo "FAIL: rrdtool is not installed (bash scripts/setup)"; exit 1; }
TMP=$(mktemp -d /tmp/zsat-dsat-import.XXXXXX)
export ZSAT_RUN_DIR=$TMP/run
RANGE_FILE=/proc/sys/net/ipv4/ping_group_range
OLD_RANGE=$(cat "$RANGE_FILE")
cleanup () {
    [ -n "${UP_PID:-}" ] && kill "$UP_PID" 2>/dev/null
    for env in /proc/[0-9]*/environ; do
        if { tr '\0' '\n' <"$env"; } 2>/dev/null | grep -qxF "ZSAT_RUN_DIR=$ZSAT_RUN_DIR"; then
            pid=${env#/proc/}; pid=${pid%/environ}
            [ "$pid" != $$ ] && kill -9 "$pid" 2>/dev/null
        fi
    done
    [ "$(cat "$RANGE_FILE")" = "$OLD_RANGE" ] || echo "$OLD_RANGE" >"$RANGE_FILE"
    rm -rf "$TMP"
}
trap cleanup EXIT
failures=0
fail () { echo "FAIL: $*"; failures=$((failures + 1)); }
dump () { for f in "$TMP"/*.err $(find "$ZSAT_RUN_DIR" -name '*.log' 2>/dev/null); do echo "== $f"; tail -n 15 "$f"; done; }

# The fixtures' csvw port is a fixed 9558, as DSAT's: a free one is picked for this run.
PORT=$(/usr/bin/python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
for topo in example dprobe; do
    mkdir -p "$TMP/$topo"
    sed "s/\"9558\"/\"$PORT\"/" "$SRC/tests/dsat/$topo/vertex.json" >"$TMP/$topo/vertex.json"
    cp "$SRC/tests/dsat/$topo/edge.ini" "$TMP/$topo/edge.ini"
done
cd "$TMP" || exit 1

# --- import: dprobe's repeated keys keep the last value (as Python's json), with warnings
"$BIN" import-dsat dprobe/vertex.json dprobe/edge.ini -o dprobe.yaml 2>dprobe.err
rc=$?
[ $rc -eq 0 ] || { fail "import-dsat dprobe exited $rc"; cat dprobe.err; }
[ "$(grep -c 'every:' dprobe.yaml)" -eq 3 ] || fail "dprobe: $(grep -c 'every:' dprobe.yaml) schedules, expected 3 (cpu ping proc)"
grep -qF "dprobe/vertex.json:22:5: warning: duplicate key 'bounce_to' (also at line 21): the last one is used" dprobe.err \
    || { fail "no warning naming the repeated bounce_to and its line"; cat dprobe.err; }
grep -qF "dprobe/vertex.json:20:5: warning: duplicate key 'csvw_port' (also at line 19)" dprobe.err \
    || fail "no warning for the repeated csvw_port"
grep -qF "endpoint: \"tcp://127.0.0.1:$PORT\"" dprobe.yaml || fail "%(csvw_port)s is not the last csvw_port"
grep -q "warning: not carried over: .*logging.*priority" dprobe.err || fail "no warning of what is not carried over"
grep -q "^# Not carried over" dprobe.yaml || fail "the output does not list what is not carried over"
grep -qE "^  ping: \{kind: ping, instances: 1\}" dprobe.yaml || fail "ping is not mapped to the ping kind"
grep -qE "^  rrd: \{kind: rrd, instances: 1, max: 1\}" dprobe.yaml || fail "rrd (singleton) is not kind rrd with max 1"
grep -qE "^  proc: \{kind: proc, instances: 2\}" dprobe.yaml || fail "numprocesses 2 of proc is lost"
grep -q "priority 2" dprobe.yaml || fail "the watcher's priority is not noted"
"$BIN" import-dsat example/vertex.json example/edge.ini -o example.yaml 2>example.err \
    || { fail "import-dsat example failed"; cat example.err; }
grep -q "duplicate key" example.err && fail "example has no repeated key but got a warning"
for topo in example dprobe; do
    "$BIN" check "$topo.yaml" >check.out 2>&1 || { fail "$topo.yaml does not pass check"; cat check.out; }
done

# --- ping needs an ICMP socket: the unprivileged one, allowed here for the run if it is not
if ! /usr/bin/python3 -c 'import socket; socket.socket(socket.AF_INET, socket.SOCK_DGRAM, socket.IPPROTO_ICMP)' 2>/dev/null; then
    echo "0 2147483647" >"$RANGE_FILE" || fail "cannot allow unprivileged ICMP (not root?)"
fi

# --- run the dprobe import 10 s; meanwhile a second `zsat up` of it is refused
timeout -s KILL 120 "$BIN" up dprobe.yaml --duration 10 --no-status >up.out 2>up.err &
UP_PID=$!
for _ in $(seq 100); do [ -f "$ZSAT_RUN_DIR/local/launcher.pid" ] && break; sleep 0.2; done
sleep 1
timeout -s KILL 60 "$BIN" up dprobe.yaml --duration 3 --no-status >up2.out 2>up2.err
rc=$?
[ $rc -ne 0 ] || fail "a second zsat up of the running topology exited 0"
holder=$(cat "$ZSAT_RUN_DIR/local/launcher.pid" 2>/dev/null)
tr '\0' ' ' <"/proc/$holder/cmdline" 2>/dev/null | grep -q " up dprobe.yaml" \
    || fail "launcher.pid ($holder) is not the first zsat up"
grep -qF "zsat up: dprobe is already running: host local is run by pid $holder" up2.err \
    || { fail "the second zsat up does not name the running pid $holder"; cat up2.err; }
wait "$UP_PID"
rc=$?
UP_PID=
[ $rc -eq 0 ] || { fail "zsat up exited $rc"; dump; }
grep -q "0 restarts" up.out || { fail "nodes restarted"; cat up.out; }

# --- rows in every sink: csv (cpu, ping, proc) and rrd (cpu)
CSV=$ZSAT_RUN_DIR/local/csv
for type in cpu ping proc; do
    rows=$(cat "$CSV/$type".csv 2>/dev/null | wc -l)
    [ "$rows" -ge 3 ] || fail "csv: $type.csv has $rows lines (header + rows), expected >= 3"
done
/usr/bin/python3 - "$CSV/ping.csv" <<'EOF' || fail "ping did not measure 127.0.0.1"
import csv, sys
rows = list(csv.DictReader(open(sys.argv[1])))
good = [r for r in rows if float(r["127.0.0.1.received"]) > 0 and float(r["127.0.0.1.loss"]) < 100
        and 0 < float(r["127.0.0.1.rtt_min"]) <= float(r["127.0.0.1.rtt_avg"]) <= float(r["127.0.0.1.rtt_max"])]
print(f"ping: {len(good)} of {len(rows)} rows with replies from 127.0.0.1")
sys.exit(0 if good else 1)
EOF
RRD=$ZSAT_RUN_DIR/local/rrd/local/cpu.load1.rrd
[ -f "$RRD" ] || { fail "no $RRD"; ls -R "$ZSAT_RUN_DIR/local/rrd" 2>&1 | head; }
count=$(ls "$ZSAT_RUN_DIR/local/rrd/local/"cpu.*.rrd 2>/dev/null | wc -l)
[ "$count" -ge 8 ] || fail "rrd: $count cpu files, expected one per cpu key (8)"
info=$(rrdtool info "$RRD" 2>&1)
last=$(echo "$info" | sed -n 's/^last_update = //p')
last_ds=$(echo "$info" | sed -n 's/^ds\[value\].last_ds = "\(.*\)"/\1/p')
[ -n "$last" ] && [ "$last" -gt 0 ] || fail "rrdtool info: no last_update ($info)"
[ -n "$last_ds" ] && [ "$last_ds" != "U" ] || fail "rrdtool info: last value unknown ($last_ds)"
rrdtool lastupdate "$RRD" | grep -qE "^[0-9]+: [0-9.e+-]+$" || fail "rrdtool lastupdate has no value"
echo "rrd: $count cpu files, load1 last_update $last value $last_ds"

[ "$failures" -eq 0 ] || { echo "$failures failure(s)"; exit 1; }
echo "ok"
