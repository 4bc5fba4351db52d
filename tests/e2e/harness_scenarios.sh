#!/usr/bin/env bash
# The harness end to end: usage and validation; then, as root with a build that has the
# launcher and the kinds, the shipped scenarios shortened (steady must pass, critical-loss
# must FAIL no_critical_loss, the others must complete with a report), Ctrl-C and kill -9
# of the harness (cleanup, `zsat harness clean`), and nothing left with the harness prefix.
# Without root or without the launcher it checks what it can and exits 77 (skip), saying why.
# ZSAT_HARNESS_STRICT=1 also requires worker-crash, partition and slow-stage to pass.
set -u
ZSAT_BIN=${ZSAT_BIN:?ZSAT_BIN must name the zsat binary}
ZSAT_SRC=${ZSAT_SRC:-$(cd "$(dirname "$0")/../.." && pwd)}
DURATION=${ZSAT_HARNESS_DURATION:-12}
cd "$ZSAT_SRC" || exit 1
tmp=$(mktemp -d /tmp/zsat-harness-e2e-XXXXXX)
trap 'rm -rf "$tmp"' EXIT
failures=0
fail () { echo "FAIL: $*"; failures=$((failures + 1)); }
scenarios=harness/scenarios

# --- usage and validation (no hosts needed) ---
"$ZSAT_BIN" harness --help | grep -q "usage: zsat harness run" || fail "harness --help"
"$ZSAT_BIN" harness run --help >/dev/null || fail "harness run --help: exit not 0"
"$ZSAT_BIN" harness >/dev/null 2>&1; [ $? -eq 2 ] || fail "harness without action: exit not 2"
"$ZSAT_BIN" harness fly x >/dev/null 2>&1; [ $? -eq 2 ] || fail "unknown action: exit not 2"
"$ZSAT_BIN" harness run >/dev/null 2>&1; [ $? -eq 2 ] || fail "run without scenario: exit not 2"
"$ZSAT_BIN" harness run $scenarios/steady.yaml --duration x >/dev/null 2>&1
[ $? -eq 2 ] || fail "--duration x: exit not 2"
for s in steady worker-crash partition slow-stage critical-loss; do
    "$ZSAT_BIN" harness check $scenarios/$s.yaml >"$tmp/out" 2>&1 || { fail "check $s"; cat "$tmp/out"; }
    "$ZSAT_BIN" check $scenarios/$(sed -n 's/^topology: *//p' $scenarios/$s.yaml) >/dev/null \
        || fail "zsat check of $s's topology"
done
cat >"$tmp/broken.yaml" <<EOF
topology: $ZSAT_SRC/$scenarios/steady.topology.yaml
faults:
  - {at: 2s, kil: worker}
EOF
"$ZSAT_BIN" harness check "$tmp/broken.yaml" >"$tmp/out" 2>"$tmp/err"
[ $? -eq 2 ] || fail "broken scenario: exit not 2"
grep -qF "$tmp/broken.yaml:3:14: fault: unknown key 'kil' (did you mean 'kill'?)" "$tmp/err" \
    || { fail "broken scenario: message"; cat "$tmp/err"; }
"$ZSAT_BIN" harness run "$tmp/broken.yaml" >/dev/null 2>&1; [ $? -eq 2 ] || fail "run broken: exit not 2"

# Root is not enough in a container without CAP_SYS_ADMIN: try one namespace. Without
# namespaces, steady and critical-loss still run with every host on loopback.
probe=zsat-e2e-probe-$$
if [ "$(id -u)" != 0 ] || ! ip netns add $probe 2>/dev/null; then
    if "$ZSAT_BIN" --help | grep -q "^  launch "; then
        "$ZSAT_BIN" harness run $scenarios/steady.yaml --hosts loopback --duration "$DURATION" \
            -o "$tmp/lo-steady" --quiet >"$tmp/lo.out" 2>&1
        status=$?
        grep -q "hosts: loopback" "$tmp/lo-steady/report.md" || fail "loopback: report"
        if ! grep -q "not available in this build" "$tmp/lo-steady"/launcher.*.log; then
            [ $status -eq 0 ] || { fail "steady on loopback: exit $status"; cat "$tmp/lo.out"; }
            "$ZSAT_BIN" harness run $scenarios/critical-loss.yaml --hosts loopback \
                --duration "$DURATION" -o "$tmp/lo-loss" --quiet >"$tmp/lo.out" 2>&1
            [ $? -eq 1 ] || fail "critical-loss on loopback: exit not 1"
            grep -q "no_critical_loss  FAIL" "$tmp/lo.out" || fail "critical-loss on loopback"
        fi
    fi
    echo "SKIP: network namespaces unavailable here (usage, validation and loopback runs" \
         "checked: $failures failures)"
    [ $failures -eq 0 ] && exit 77 || exit 1
fi
ip netns del $probe

# Names with the harness prefix whose owner (the pid in hex after "zsh") is gone: what a run
# failed to delete. Live runs (a selftest in parallel) are not counted.
leftovers () {
    local n=0 hex
    for hex in $({ ip netns list; ip -o link show; } 2>/dev/null |
                 grep -o "zsh[0-9a-f]\{6\}" | cut -c4-9); do
        [ -d /proc/$((16#$hex)) ] || n=$((n + 1))
    done
    echo $n
}
"$ZSAT_BIN" harness clean >/dev/null || fail "harness clean"

# Every report has its files and results.json its stable keys.
check_report () {
    local dir=$1
    for f in report.md results.json topology.yaml throughput.svg latency.svg stages.svg; do
        [ -s "$dir/$f" ] || fail "$dir/$f missing"
    done
    for key in schema scenario hosts duration_s passed error load totals sent rows unique \
               duplicates lost happy_ends failures restarts scale_ups p99_us invariants faults \
               stages samples; do
        grep -q "\"$key\":" "$dir/results.json" || fail "$dir/results.json: no key $key"
    done
}

# Runs one scenario; prints its verdict lines; sets $status.
run () {
    local name=$1 duration=$2
    "$ZSAT_BIN" harness run $scenarios/$name.yaml -o "$tmp/$name" --duration "$duration" --quiet \
        >"$tmp/$name.out" 2>"$tmp/$name.err"
    status=$?
    sed 's/^/    /' "$tmp/$name.out"
    check_report "$tmp/$name"
}

# --- a build without the launcher or the kinds: the run fails to start, cleanly ---
run steady 3
if grep -q "unknown command 'launch'\|not available in this build" "$tmp/steady.out" "$tmp"/steady/launcher.*.log; then
    [ $status -eq 1 ] || fail "steady without a launcher: exit $status, expected 1"
    grep -q "did not complete" "$tmp/steady/report.md" || fail "report does not say the run failed"
    [ "$(leftovers)" -eq 0 ] || fail "names left after a failed start"
    echo "SKIP: this build cannot run topologies yet (launcher or kinds missing); $failures failures"
    [ $failures -eq 0 ] && exit 77 || exit 1
fi

# --- the shipped scenarios ---
run steady "$DURATION"  # into the same folder: the first run's rows must not count
[ $status -eq 0 ] || fail "steady: exit $status, expected 0"
sent=$(sed -n 's/.*"sent": \([0-9]*\),.*/\1/p' "$tmp/steady/results.json")
grep -q "\"rows\": $sent, \"unique\": $sent, \"duplicates\": 0, \"lost\": 0" \
    "$tmp/steady/results.json" || fail "steady: rows do not match sent ($sent)"
run critical-loss "$DURATION"
[ $status -eq 1 ] || fail "critical-loss: exit $status, expected 1"
grep -q "no_critical_loss  FAIL" "$tmp/critical-loss.out" || fail "critical-loss: no_critical_loss did not FAIL"
# partition runs its full 30 s so the cut lasts the 5 s it is meant to (faults scale with
# --duration); the others are shortened.
for s in worker-crash partition slow-stage; do
    duration=$DURATION
    [ $s = partition ] && duration=30
    run $s "$duration"
    [ $status -le 1 ] || fail "$s: exit $status"
    grep -q '"error": ""' "$tmp/$s/results.json" || fail "$s: the run did not complete"
    if [ "${ZSAT_HARNESS_STRICT:-0}" = 1 ]; then
        [ $status -eq 0 ] || fail "$s: exit $status, expected 0 (strict)"
    fi
done
grep -q "| link_down b | applied |" "$tmp/partition/report.md" || fail "partition: link_down not applied"
grep -q '"restarts": [1-9]' "$tmp/worker-crash/results.json" || fail "worker-crash: no restart seen"

# --- Ctrl-C: the run stops, reports, and deletes its namespaces ---
"$ZSAT_BIN" harness run $scenarios/steady.yaml -o "$tmp/int" --duration 30 --quiet >"$tmp/int.out" 2>&1 &
pid=$!
sleep 6
kill -INT $pid
wait $pid; status=$?
[ $status -eq 1 ] || fail "Ctrl-C: exit $status, expected 1"
grep -q "interrupted" "$tmp/int/report.md" || fail "Ctrl-C: report does not say interrupted"
[ "$(leftovers)" -eq 0 ] || fail "Ctrl-C: names left"

# --- kill -9 of the harness: names stay; `zsat harness clean` removes them and their nodes ---
"$ZSAT_BIN" harness run $scenarios/steady.yaml -o "$tmp/crash" --duration 30 --quiet >/dev/null 2>&1 &
pid=$!
sleep 6
kill -9 $pid; wait $pid 2>/dev/null
[ "$(leftovers)" -gt 0 ] || fail "kill -9: expected stale names"
"$ZSAT_BIN" harness clean | grep -q "deleted [1-9]" || fail "clean deleted nothing"
[ "$(leftovers)" -eq 0 ] || fail "clean: names left"
sleep 1
# Processes of the crashed run, by the run's own topology path on their command line.
# (grep's own command line holds the path too: only pids still there afterwards count.)
left=""
# (Nodes run the launcher's copy under the run directory: match both paths.)
for p in $(grep -lF -e "$tmp/crash/topology.yaml" -e "$tmp/crash/run/" /proc/[0-9]*/cmdline 2>/dev/null | cut -d/ -f3); do
    [ -d /proc/$p ] && left="$left $p"
done
[ -z "$left" ] || { fail "clean: processes of the crashed run left:$left"; kill -9 $left; }

[ "$(leftovers)" -eq 0 ] || fail "names with the harness prefix remain"
echo "harness e2e: $failures failures"
[ $failures -eq 0 ]
