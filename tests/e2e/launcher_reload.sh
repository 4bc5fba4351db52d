#!/usr/bin/env bash
# SPDX-License-Identifier: MPL-2.0
# SIGHUP to `zsat launch` (what `systemctl reload zsat@HOST` sends): a route added in the
# file moves traffic live (the new node's sink fills) with no node restarted and the old
# path still delivering; a schedule change is refused with the reason; a broken file is
# refused and logged; the launcher keeps running the old topology through all of it.
set -u
BIN=${ZSAT_BIN:?ZSAT_BIN not set}
TMP=$(mktemp -d /tmp/zsat-launcher-reload.XXXXXX)
export ZSAT_RUN_DIR=$TMP/run
cleanup () {
    for env in /proc/[0-9]*/environ; do
        if { tr '\0' '\n' <"$env"; } 2>/dev/null | grep -qxF "ZSAT_RUN_DIR=$ZSAT_RUN_DIR"; then
            pid=${env#/proc/}; pid=${pid%/environ}
            [ "$pid" != $$ ] && kill -9 "$pid" 2>/dev/null
        fi
    done
    rm -rf "$TMP"
}
trap cleanup EXIT
fail () { echo "FAIL: $*"; tail -n 30 "$TMP/launch.err"; exit 1; }
unset JOURNAL_STREAM ZSAT_LOG

write_topology () {  # ROUTE EVERY
    cat >"$TMP/reload.yaml.new" <<YAML
name: reload
nodes:
  cpu:   {kind: cpu}
  spare: {kind: cpu}
  csv:   {kind: csv, options: {dir: $TMP/main, flush: every}}
  csv2:  {kind: csv, options: {dir: $TMP/spare, flush: every}}
links:
  - cpu -> csv
  - spare -> csv2
schedules:
  - {type: cpu, every: $2}
routes:
  cpu: $1
YAML
    mv "$TMP/reload.yaml.new" "$TMP/reload.yaml"
}
rows () {  # data lines of a sink's csv files (each file starts with one header line)
    local n=0 f
    for f in "$TMP/$1"/*.csv; do [ -f "$f" ] && n=$((n + $(wc -l <"$f") - 1)); done
    echo $n
}
wait_for () {  # SECONDS COMMAND...: bounded wait for a condition
    local n=$(($1 * 10)); shift
    for _ in $(seq 1 $n); do "$@" && return 0; sleep 0.1; done
    return 1
}
rows_ge () { [ "$(rows "$1")" -ge "$2" ]; }
started () { grep -c "started pid" "$TMP/launch.err"; }

write_topology cpu 200ms
"$BIN" launch --host local "$TMP/reload.yaml" 2>"$TMP/launch.err" &
launcher=$!
wait_for 60 rows_ge main 3 || fail "no rows from cpu before the reload"
[ "$(rows spare)" -eq 0 ] || fail "spare got jobs before any route named it"
before=$(started)
main_before=$(rows main)

# 1. A route added: cpu jobs also go to spare, live.
write_topology "[cpu, spare]" 200ms
kill -HUP $launcher
wait_for 30 grep -q "reload: 1 route change applied live, 0 failed" "$TMP/launch.err" \
    || fail "route change not applied"
grep -q "reload: ROUTE ADD cpu spare: OK" "$TMP/launch.err" || fail "no ROUTE ADD line"
wait_for 60 rows_ge spare 3 || fail "traffic did not move to spare after the reload"
wait_for 60 rows_ge main $((main_before + 3)) || fail "the old route stopped delivering"
kill -0 $launcher || fail "the launcher stopped on SIGHUP"
[ "$(started)" -eq "$before" ] || fail "nodes were restarted by the reload: $(grep 'started pid' "$TMP/launch.err" | tail -3)"
echo "ok: route added live: spare $(rows spare) rows, main $(rows main) rows, no node restarted"

# 2. A schedule change cannot apply live yet: refused with the reason, nothing restarted.
write_topology "[cpu, spare]" 100ms
kill -HUP $launcher
wait_for 30 grep -q "reload refused, the topology keeps running: only route changes apply live.*schedule cpu every 200" "$TMP/launch.err" \
    || fail "schedule change not refused with its reason"
echo "ok: schedule change refused: $(grep -o 'changed: .*' "$TMP/launch.err" | tail -1)"

# 3. A broken file: refused, logged with file:line, the launcher and the data go on.
printf 'name: reload\nnodes: [\n' >"$TMP/reload.yaml"
kill -HUP $launcher
wait_for 30 grep -q "reload refused, the topology keeps running: $TMP/reload.yaml:[0-9]" "$TMP/launch.err" \
    || fail "broken file not refused with its position"
spare_now=$(rows spare)
wait_for 60 rows_ge spare $((spare_now + 2)) || fail "data stopped after the broken reload"
[ "$(started)" -eq "$before" ] || fail "a node restarted after the refused reloads"
kill -0 $launcher || fail "the launcher died"
echo "ok: broken file refused: $(grep -o "reload refused, the topology keeps running: $TMP/reload.yaml:[^ ]*" "$TMP/launch.err" | head -1)"

kill -TERM $launcher
wait $launcher || fail "zsat launch exited $? after SIGTERM"
echo PASS
