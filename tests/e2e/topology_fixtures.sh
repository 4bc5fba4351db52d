#!/usr/bin/env bash
# Topology validation end to end: every broken fixture fails `zsat check` with exit 1 and
# the `file:line:col: message` written on its first line; every shipped topology passes;
# `zsat show` and `zsat dot` print the resolved sockets and the graph.
set -u
ZSAT_BIN=${ZSAT_BIN:?ZSAT_BIN must name the zsat binary}
ZSAT_SRC=${ZSAT_SRC:-$(cd "$(dirname "$0")/../.." && pwd)}
unset ZSAT_RUN_DIR  # the run_dir fixtures test the file's own run_dir
cd "$ZSAT_SRC" || exit 1
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
failures=0
fail () { echo "FAIL: $*"; failures=$((failures + 1)); }

count=0
for fixture in tests/topologies/broken-*.yaml; do
    expect=$(head -1 "$fixture" | sed -n 's/^# expect: //p')
    [ -n "$expect" ] || { fail "$fixture: no '# expect:' on line 1"; continue; }
    "$ZSAT_BIN" check "$fixture" >"$tmp/out" 2>"$tmp/err"
    status=$?
    [ "$status" -eq 1 ] || fail "$fixture: exit $status, expected 1"
    grep -qF -- "$fixture:$expect" "$tmp/err" || { fail "$fixture: missing '$fixture:$expect'"; cat "$tmp/err"; }
    count=$((count + 1))
done
[ "$count" -ge 25 ] || fail "only $count broken fixtures"
echo "broken fixtures: $count"

# Every kind of this build has a fixture with a bad option that check refuses (file:line:col),
# and a kind this build lacks is refused with the list of its kinds.
kinds=$("$ZSAT_BIN" help | awk '/^Run / {started = 0} started && NF > 1 {print $1} /^KIND +ROLE/ {started = 1}')
[ -n "$kinds" ] || fail "zsat help lists no kind"
for kind in $kinds; do
    [ -f "tests/topologies/broken-kind-$kind.yaml" ] || fail "kind $kind has no tests/topologies/broken-kind-$kind.yaml"
done
"$ZSAT_BIN" check tests/topologies/broken-kind-unknown.yaml 2>&1 | grep -q "kinds of this build: .*cpu .*exec" \
    || fail "unknown kind: the kinds of this build are not listed"

# 100k nested '[' (200 KB): refused for its depth at the first level too deep (no timing)
python3 -c "import sys; n = 100000; sys.stdout.write('name: deep\nnodes: ' + '[' * n + ']' * n + '\n')" >"$tmp/deep.yaml"
timeout 120 "$ZSAT_BIN" check "$tmp/deep.yaml" >"$tmp/out" 2>"$tmp/err"; status=$?
[ "$status" -eq 1 ] || fail "deep nesting: exit $status, expected 1"
grep -qF "$tmp/deep.yaml:2:39: nesting deeper than 32 levels" "$tmp/err" || { fail "deep nesting: no depth error"; cat "$tmp/err"; }
python3 -c "import sys; sys.stdout.write('{\"cnx\": ' + '[' * 100 + '1' + ']' * 100 + '}\n')" >"$tmp/deep.json"
printf '[watcher:cpu]\nnumprocesses = 1\n' >"$tmp/deep.ini"
"$ZSAT_BIN" import-dsat "$tmp/deep.json" "$tmp/deep.ini" >/dev/null 2>"$tmp/err"; status=$?
[ "$status" -eq 1 ] && grep -qF "$tmp/deep.json:1:40: nesting deeper than 32 levels" "$tmp/err" \
    || { fail "import-dsat deep nesting: exit $status"; cat "$tmp/err"; }

# An explicit ipc endpoint naming an existing regular file: check warns (and passes); the
# node that binds it refuses to start and the file survives (ZeroMQ would unlink it).
echo "precious" >"$tmp/precious"
cat >"$tmp/ipc-file.yaml" <<EOF
name: ipcfile
nodes:
  gen: {kind: gen, options: {rate: 5}}
  log: {kind: log, options: {file: $tmp/log.txt}}
links:
  - {from: gen, to: log, endpoint: "ipc://$tmp/precious"}
EOF
"$ZSAT_BIN" check "$tmp/ipc-file.yaml" >"$tmp/out" 2>"$tmp/err" || { fail "ipc file: check failed"; cat "$tmp/err"; }
grep -qF "$tmp/ipc-file.yaml:6:36: warning: link 'gen->log': endpoint 'ipc://$tmp/precious' names an existing regular file" "$tmp/err" \
    || { fail "ipc file: no warning at file:line:col"; cat "$tmp/err"; }
ZSAT_RUN_DIR="$tmp/run" timeout 60 "$ZSAT_BIN" node --topology "$tmp/ipc-file.yaml" --node log --host local >"$tmp/node.out" 2>&1
status=$?
[ "$status" -ne 0 ] || fail "ipc file: zsat node bound over a regular file"
grep -q "exists and is a regular file: refusing to bind" "$tmp/node.out" || { fail "ipc file: no clear error"; cat "$tmp/node.out"; }
[ "$(cat "$tmp/precious" 2>/dev/null)" = "precious" ] || fail "ipc file: the file was deleted"

for topology in topologies/*.yaml; do
    "$ZSAT_BIN" check "$topology" >"$tmp/out" 2>&1 || { fail "$topology does not pass check"; cat "$tmp/out"; }
    grep -q "^$topology: ok (" "$tmp/out" || fail "$topology: no ok line"
done
"$ZSAT_BIN" check --quiet topologies/default.yaml >"$tmp/out" 2>&1 && [ ! -s "$tmp/out" ] \
    || fail "check --quiet printed something"
"$ZSAT_BIN" check >/dev/null 2>&1; [ $? -eq 2 ] || fail "check without files: exit not 2"
"$ZSAT_BIN" check --bogus x >/dev/null 2>&1; [ $? -eq 2 ] || fail "check --bogus: exit not 2"
"$ZSAT_BIN" check --help | grep -q "usage: zsat check" || fail "check --help"
"$ZSAT_BIN" check topologies/default.yaml tests/topologies/broken-syntax.yaml >/dev/null 2>&1
[ $? -eq 1 ] || fail "one bad file among good ones: exit not 1"

# show: resolved sockets of host b of two-hosts
ZSAT_RUN_DIR=/tmp/zt "$ZSAT_BIN" show topologies/two-hosts.yaml --host b >"$tmp/show" 2>&1 || fail "show failed"
grep -q "node cpu (kind cpu, 1 instance" "$tmp/show" || fail "show: no cpu node"
grep -qE "connect +PUSH +out:cpu->csv +>tcp://198.18.0.1:7114" "$tmp/show" || fail "show: cpu->csv"
grep -qE "connect +SUB +jobs +>tcp://198.18.0.1:7103 .*topic=\"b/\"" "$tmp/show" || fail "show: jobs"
grep -qE "bind +PUSH +route:cpu +@ipc:///tmp/zt/b/7111.ipc" "$tmp/show" || fail "show: route"
grep -q "node csv" "$tmp/show" && fail "show: csv is not on b"
"$ZSAT_BIN" show topologies/two-hosts.yaml --host nowhere >/dev/null 2>&1; [ $? -eq 1 ] || fail "show unknown host"
"$ZSAT_BIN" show >/dev/null 2>&1; [ $? -eq 2 ] || fail "show without file: exit not 2"

# dot: boxes per instance, pattern labels, dashed system flows
"$ZSAT_BIN" dot topologies/two-hosts.yaml >"$tmp/dot" || fail "dot failed"
grep -qF 'subgraph "cluster_b" {' "$tmp/dot" || fail "dot: no cluster b"
grep -qF '"b/cpu/0" -> "a/csv/0" [label="push", style=solid];' "$tmp/dot" || fail "dot: link edge"
grep -qF '"a/scheduler/0" -> "b/orchester/0" [label="jobs", style=dashed];' "$tmp/dot" || fail "dot: jobs"
"$ZSAT_BIN" dot topologies/default.yaml -o "$tmp/g.dot" && grep -q '^digraph "default"' "$tmp/g.dot" \
    || fail "dot -o g.dot"
if command -v dot >/dev/null; then
    "$ZSAT_BIN" dot topologies/default.yaml -o "$tmp/g.svg" && grep -q "<svg" "$tmp/g.svg" || fail "dot -o svg"
fi
"$ZSAT_BIN" dot topologies/default.yaml --fsm >/dev/null 2>&1; [ $? -eq 2 ] || fail "dot: unknown flag accepted"
"$ZSAT_BIN" dot --fsm | cmp -s - docs/tracker-fsm.dot || fail "dot --fsm differs from docs/tracker-fsm.dot"

# import-dsat: DSAT's example converts into a topology that passes check
dsat="$ZSAT_SRC/../shared/dsat"
[ -d "$dsat" ] || dsat="$ZSAT_SRC/../../shared/dsat"  # a worktree sits one level deeper
if [ -f "$dsat/example-vertex.json" ] && "$ZSAT_BIN" import-dsat --help >/dev/null 2>&1; then
    "$ZSAT_BIN" import-dsat "$dsat/example-vertex.json" "$dsat/example-edge.ini" -o "$tmp/dsat.yaml" \
        || fail "import-dsat failed"
    "$ZSAT_BIN" check "$tmp/dsat.yaml" || fail "imported topology does not pass check"
else
    echo "no $dsat: import of the DSAT example not tested here"
fi

"$ZSAT_BIN" import-dsat only-one.json >/dev/null 2>&1; [ $? -eq 2 ] || fail "import-dsat usage: exit not 2"
"$ZSAT_BIN" import-dsat "$tmp/none.json" "$tmp/none.ini" >/dev/null 2>&1; [ $? -eq 1 ] \
    || fail "import-dsat of missing files: exit not 1"

[ "$failures" -eq 0 ] || { echo "$failures failure(s)"; exit 1; }
echo "ok"
