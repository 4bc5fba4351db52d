#!/usr/bin/env bash
# satellites_cli - `zsat help` lists every satellite kind and prints a kind's options table;
# `zsat check` (when this zsat has it) rejects unknown kinds and options with file:line:col
# and a suggestion, via the checker satellites/zsat_options.c installs.
set -u
ZSAT=${ZSAT_BIN:-zsat}
tmp=$(mktemp -d /tmp/zsat-satcli-XXXXXX)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*"; exit 1; }

"$ZSAT" help >"$tmp/list" || fail "zsat help exit $?"
for kind in cpu mem net disk proc gen exec fault; do
    grep -Eq "^$kind +(worker|source) " "$tmp/list" || fail "zsat help does not list $kind"
done
"$ZSAT" help gen >"$tmp/gen" || fail "zsat help gen exit $?"
grep -Eq '^  rate +double +10 ' "$tmp/gen" || fail "gen options table: $(cat "$tmp/gen")"
grep -Eq '^  duration +duration +0 ' "$tmp/gen" || fail "gen duration option"
"$ZSAT" help --help >/dev/null || fail "zsat help --help"
"$ZSAT" help gne 2>"$tmp/err" && fail "unknown kind accepted"
[ $? -eq 2 ] || fail "unknown kind: exit status not 2"
grep -q "did you mean 'gen'" "$tmp/err" || fail "no suggestion: $(cat "$tmp/err")"

if ! "$ZSAT" check --help >/dev/null 2>&1; then
    echo "ok: zsat help (zsat check not in this build: its part skipped)"
    exit 0
fi
cat >"$tmp/bad.yaml" <<'YAML'
name: bad
run_dir: /tmp/zsat-satcli-run
nodes:
  g: {kind: gen, options: {rat: 5, count: lots}}
  c: {kind: cpuu}
  w: {kind: exec, options: {command: "cat", timeout: soon}}
links:
  - g -> w
YAML
"$ZSAT" check "$tmp/bad.yaml" >"$tmp/out" 2>&1 && fail "zsat check accepted bad options"
# positions are the topology loader's (line:col of the option); messages are the checker's
for want in "bad\.yaml:4:[0-9]+: unknown option 'rat' for kind 'gen' \(did you mean 'rate'\?\)" \
            "bad\.yaml:4:[0-9]+: option 'count': 'lots' is not an integer" \
            "bad\.yaml:5:3: node 'c': kind 'cpuu' is not in this build \(did you mean 'cpu'\? kinds of this build: " \
            "bad\.yaml:6:[0-9]+: option 'timeout': 'soon' is not a duration"; do
    grep -Eq "$want" "$tmp/out" || fail "zsat check output lacks: $want
$(cat "$tmp/out")"
done
sed -i 's/rat: 5, count: lots/rate: 5, count: 3/; s/cpuu/cpu/; s/timeout: soon/timeout: 2s/' "$tmp/bad.yaml"
"$ZSAT" check "$tmp/bad.yaml" >"$tmp/out" 2>&1 || fail "zsat check refused a good file: $(cat "$tmp/out")"
echo "ok: zsat help and zsat check with kind options"
