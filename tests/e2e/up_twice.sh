#!/usr/bin/env bash
# SPDX-License-Identifier: MPL-2.0
# A second `zsat up` of a running topology is refused, naming the pid that runs it, and
# starts nothing (no second set of nodes on the same ipc sockets); `zsat launch` of one of
# its hosts is refused too. Once the first stops, the topology starts again.
set -u
BIN=${ZSAT_BIN:?ZSAT_BIN not set}
TMP=$(mktemp -d /tmp/zsat-up-twice.XXXXXX)
export ZSAT_RUN_DIR=$TMP/run
cleanup () {
    [ -n "${UP_PID:-}" ] && kill "$UP_PID" 2>/dev/null
    for env in /proc/[0-9]*/environ; do
        if { tr '\0' '\n' <"$env"; } 2>/dev/null | grep -qxF "ZSAT_RUN_DIR=$ZSAT_RUN_DIR"; then
            pid=${env#/proc/}; pid=${pid%/environ}
            [ "$pid" != $$ ] && kill -9 "$pid" 2>/dev/null
        fi
    done
    rm -rf "$TMP"
}
trap cleanup EXIT
failures=0
fail () { echo "FAIL: $*"; failures=$((failures + 1)); }
cat >"$TMP/t.yaml" <<YAML
name: twice
nodes:
  gen: {kind: gen, options: {rate: 5}}
  log: {kind: log, options: {file: $TMP/log.txt}}
links:
  - gen -> log
YAML
"$BIN" up "$TMP/t.yaml" --duration 12 --no-status >"$TMP/up1.out" 2>"$TMP/up1.err" &
UP_PID=$!
for _ in $(seq 150); do [ -s "$TMP/log.txt" ] && break; sleep 0.2; done
[ -s "$TMP/log.txt" ] || fail "the first zsat up wrote nothing"
timeout -s KILL 60 "$BIN" up "$TMP/t.yaml" --duration 3 --no-status >"$TMP/up2.out" 2>"$TMP/up2.err"
rc=$?
[ $rc -ne 0 ] || fail "a second zsat up of a running topology exited 0"
grep -qF "zsat up: twice is already running: host local is run by pid $UP_PID" "$TMP/up2.err" \
    || { fail "the refusal does not name pid $UP_PID"; cat "$TMP/up2.err"; }
grep -q "started pid" "$TMP/up2.err" "$TMP/up2.out" && fail "the second zsat up started nodes"
timeout -s KILL 60 "$BIN" launch "$TMP/t.yaml" --host local >"$TMP/launch.out" 2>&1
rc=$?
[ $rc -ne 0 ] || fail "zsat launch of a host zsat up runs exited 0"
grep -qF "pid $UP_PID" "$TMP/launch.out" || { fail "launch does not name pid $UP_PID"; cat "$TMP/launch.out"; }
wait "$UP_PID"
rc=$?
UP_PID=
[ $rc -eq 0 ] || fail "the first zsat up exited $rc"
[ ! -e "$ZSAT_RUN_DIR/local/launcher.pid" ] || fail "launcher.pid left behind"
timeout -s KILL 60 "$BIN" up "$TMP/t.yaml" --duration 2 --no-status >"$TMP/up3.out" 2>&1 \
    || { fail "zsat up after the first stopped exited $?"; cat "$TMP/up3.out"; }
[ "$failures" -eq 0 ] || { echo "$failures failure(s)"; exit 1; }
echo "ok"
