#!/usr/bin/env bash
# Topology validation end to end: every broken fixture fails `zsat check` with exit 1 and
# the `file:line:col: message` written on its first line; every shipped topology passes;
# `zsat show` and `zsat dot` print the resolved sockets and the graph.
set -u
ZSAT_BIN=${ZSAT_BIN:?ZSAT_BIN must name the zsat binary}
ZSAT_SRC=${ZSAT_SRC:-$(cd "$(dirname "$0")/../.." && pwd)}
unset ZSAT_RUN_DIR  # the run_dir fixtures test the file's own run_dir
unset ZSAT_FIXTURE_UNSET ZSAT_FIXTURE_DIR  # broken-var-*.yaml need them unset
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
    # "@file:line:col: ..." names another file (an include's problem), written out whole
    case $expect in @*) want=${expect#@} ;; *) want="$fixture:$expect" ;; esac
    grep -qF -- "$want" "$tmp/err" || { fail "$fixture: missing '$want'"; cat "$tmp/err"; }
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

# Variables, includes and merges (vars-include.yaml): an unset variable without default is
# refused at its place; set, the values are substituted ($$ is a literal $); `show --expanded`
# prints YAML that reads back to the same topology, and expanding that changes nothing.
vars=tests/topologies/vars-include.yaml
unset ZSAT_FIXTURE_RUN ZSAT_FIXTURE_FLUSH
"$ZSAT_BIN" check "$vars" >/dev/null 2>"$tmp/err" && fail "vars: an unset variable passed"
grep -qF "$vars:11:35: environment variable 'ZSAT_FIXTURE_CSV' is not set" "$tmp/err" || { fail "vars: no unset error"; cat "$tmp/err"; }
export ZSAT_FIXTURE_CSV="$tmp/csv dir"
"$ZSAT_BIN" check "$vars" >"$tmp/out" 2>&1 || { fail "vars: check failed"; cat "$tmp/out"; }
"$ZSAT_BIN" show "$vars" >"$tmp/show1" 2>&1 || fail "vars: show failed"
grep -qxF "    option dir = $tmp/csv dir/csv" "$tmp/show1" || fail "vars: \${ZSAT_FIXTURE_CSV} not substituted"
grep -qxF '    option file = /tmp/cost-$5-${NOT_A_VAR}.log' "$tmp/show1" || fail "vars: \$\$ is not a literal \$"
grep -q "node cpu (kind cpu, 1 instance" "$tmp/show1" || fail "vars: the included node is missing"
grep -q "node mem (kind mem, 1 instance, min 1, max 3)" "$tmp/show1" || fail "vars: merge: explicit key lost"
grep -q "node mem2 (kind mem, 2 instances, min 2, max 3)" "$tmp/show1" || fail "vars: alias not copied"
grep -q "node mem3 (kind mem, 3 instances, min 3, max 3)" "$tmp/show1" || fail "vars: merge of a list"
ZSAT_FIXTURE_FLUSH=none "$ZSAT_BIN" show "$vars" | grep -qxF "    option flush = none" || fail "vars: a set variable does not beat the default"
mkdir -p "$tmp/expanded"
"$ZSAT_BIN" show --expanded "$vars" >"$tmp/expanded/e.yaml" 2>"$tmp/err" || { fail "vars: show --expanded"; cat "$tmp/err"; }
grep -qE "^include:|<<:|^x-probe:" "$tmp/expanded/e.yaml" && fail "vars: --expanded kept include:, <<: or x- keys"
"$ZSAT_BIN" show "$tmp/expanded/e.yaml" >"$tmp/show2" 2>&1 || { fail "vars: the expanded file does not load"; cat "$tmp/show2"; }
cmp -s "$tmp/show1" "$tmp/show2" || { fail "vars: the expanded file is another topology"; diff "$tmp/show1" "$tmp/show2"; }
"$ZSAT_BIN" show --json "$vars" >"$tmp/json1"; "$ZSAT_BIN" show --json "$tmp/expanded/e.yaml" >"$tmp/json2"
cmp -s "$tmp/json1" "$tmp/json2" || fail "vars: show --json differs after expansion"
"$ZSAT_BIN" show --expanded "$tmp/expanded/e.yaml" | cmp -s - "$tmp/expanded/e.yaml" || fail "vars: expanding twice changes the text"
"$ZSAT_BIN" show --expanded tests/topologies/broken-var-unset.yaml >/dev/null 2>"$tmp/err"; status=$?
[ "$status" -eq 1 ] && grep -qF "broken-var-unset.yaml:3:15:" "$tmp/err" || fail "show --expanded of an unset variable: exit $status"
"$ZSAT_BIN" show --expanded --json "$vars" >/dev/null 2>&1; [ $? -eq 2 ] || fail "show --expanded --json: exit not 2"
unset ZSAT_FIXTURE_CSV

# Merge keys mean what YAML says: PyYAML (a foreign reader that implements <<:) reads the
# original and zsat's expansion of it to the same data (x- keys dropped, name: added).
cat >"$tmp/expanded/merges.yaml" <<'YAML'
name: merges
x-base: &base {kind: mem, instances: 2, max: 4}
x-more: &more {min: 1, max: 3, kind: cpu}
nodes:
  a: {<<: *base, instances: 1}
  b: {instances: 3, <<: [*more, *base]}
  c: *base
  d: {<<: *more, options: {flag: "on"}}
YAML
"$ZSAT_BIN" show --expanded "$tmp/expanded/merges.yaml" >"$tmp/expanded/merges.out" 2>"$tmp/err" || { fail "merges: --expanded"; cat "$tmp/err"; }
/usr/bin/python3 - "$tmp/expanded/merges.yaml" "$tmp/expanded/merges.out" <<'PY' || fail "merges: PyYAML reads another topology"
import sys, yaml
original = {k: v for k, v in yaml.safe_load(open(sys.argv[1])).items() if not k.startswith("x-")}
expanded = yaml.safe_load(open(sys.argv[2]))
assert original == expanded, (original, expanded)
assert expanded["nodes"]["b"] == {"instances": 3, "min": 1, "max": 3, "kind": "cpu"}, expanded["nodes"]["b"]
PY

for topology in topologies/*.yaml; do
    "$ZSAT_BIN" check "$topology" >"$tmp/out" 2>&1 || { fail "$topology does not pass check"; cat "$tmp/out"; }
    # its expansion is the same topology (the name comes along: the file's base name differs)
    "$ZSAT_BIN" show --expanded "$topology" >"$tmp/expanded/shipped.yaml" 2>&1 || fail "$topology: show --expanded"
    "$ZSAT_BIN" show --json "$topology" >"$tmp/json1" 2>&1
    "$ZSAT_BIN" show --json "$tmp/expanded/shipped.yaml" >"$tmp/json2" 2>&1
    cmp -s "$tmp/json1" "$tmp/json2" || { fail "$topology: its expansion is another topology"; diff "$tmp/json1" "$tmp/json2" | head; }
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
