#!/usr/bin/env bash
# SPDX-License-Identifier: MPL-2.0
# The harness's overload scenario (docs/harness.md): 4 jobs/s for a worker that takes 0.9 s
# per vector, three emulated hosts, the tracker's default deadlines. It must pass: no
# duplicate row, no FAILURE for a task a sink wrote, two scale-ups while the queue grows, a
# scale-down only once it drained. About 90 s. Needs network namespaces (root): skips (77)
# without them.
set -u
ZSAT_BIN=${ZSAT_BIN:?ZSAT_BIN must name the zsat binary}
ZSAT_SRC=${ZSAT_SRC:-$(cd "$(dirname "$0")/../.." && pwd)}
cd "$ZSAT_SRC" || exit 1
tmp=$(mktemp -d /tmp/zsat-harness-overload-XXXXXX)
trap 'rm -rf "$tmp"' EXIT
fail () { echo "FAIL: $*"; failures=$((failures + 1)); }
failures=0
scenario=harness/scenarios/overload.yaml

"$ZSAT_BIN" harness check $scenario || { echo "FAIL: the scenario does not validate"; exit 1; }
probe=zsat-ovl-probe-$$
if [ "$(id -u)" != 0 ] || ! ip netns add $probe 2>/dev/null; then
    echo "SKIP: network namespaces unavailable here (the scenario validates)"
    exit 77
fi
ip netns del $probe

"$ZSAT_BIN" harness run $scenario -o "$tmp/run" --quiet >"$tmp/out" 2>"$tmp/err"
status=$?
cat "$tmp/out"
[ $status -eq 0 ] || { fail "overload: exit $status, expected 0"; tail -n 20 "$tmp/err"; }
results=$tmp/run/results.json
num () { sed -n "s/.*\"$1\": \(-\?[0-9]*\).*/\1/p" "$results" | head -n 1; }
[ "$(num duplicates)" = 0 ] || fail "duplicates: $(num duplicates)"
[ "$(num false_failures)" = 0 ] || fail "FAILUREs of delivered tasks: $(num false_failures)"
[ "$(num scale_ups)" -ge 2 ] || fail "scale-ups: $(num scale_ups)"
[ "$(num scale_downs)" -ge 1 ] || fail "scale-downs: $(num scale_downs)"
[ "$(num rows)" -gt 100 ] || fail "rows at the sink: $(num rows)"
if [ $failures -ne 0 ]; then
    grep -h "scale\|FAILURE" "$tmp"/run/run/a/logs/tracker*.log 2>/dev/null | tail -n 20
fi
echo "harness overload: $failures failures"
[ $failures -eq 0 ]
