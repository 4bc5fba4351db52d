#!/usr/bin/env bash
# zsat node, launch, up and systemd: usage, exit codes, clear refusals, and the systemd unit
# written for a host of the two-hosts topology. Needs no kinds: runs on every build.
set -u
BIN=${ZSAT_BIN:?ZSAT_BIN not set}
SRC=${ZSAT_SRC:-$(cd "$(dirname "$0")/../.." && pwd)}
TMP=$(mktemp -d /tmp/zsat-launcher-cli.XXXXXX)
trap 'rm -rf "$TMP"' EXIT
export ZSAT_RUN_DIR=$TMP/run
fail () { echo "FAIL: $*"; exit 1; }

for cmd in node launch up systemd; do
    "$BIN" $cmd --help >"$TMP/out" 2>&1 || fail "$cmd --help exits non-zero"
    grep -q "^usage: zsat $cmd" "$TMP/out" || fail "$cmd --help prints no usage"
    "$BIN" $cmd --no-such-option >"$TMP/out" 2>"$TMP/err"
    [ $? -eq 2 ] || fail "$cmd with a bad option does not exit 2"
    grep -q "usage: zsat $cmd" "$TMP/err" || fail "$cmd bad usage prints no usage on stderr"
done
"$BIN" launch "$SRC/topologies/two-hosts.yaml" 2>/dev/null; [ $? -eq 2 ] || fail "launch without --host"
"$BIN" node --node cpu 2>/dev/null; [ $? -eq 2 ] || fail "node without --topology"

# The rest loads a topology: with the kinds checker in the build, every kind of it must be
# in the build too (the kinds land from several branches).
if ! "$BIN" check "$SRC/topologies/two-hosts.yaml" >"$TMP/check" 2>&1; then
    echo "SKIP (usage checks passed): two-hosts.yaml does not load in this build: $(head -n 3 "$TMP/check")"
    exit 77
fi

# A host the topology does not have: refused with the reason, exit 1.
"$BIN" launch --host nowhere "$SRC/topologies/two-hosts.yaml" 2>"$TMP/err"
[ $? -eq 1 ] || fail "launch on an unknown host does not exit 1"
grep -q "nowhere" "$TMP/err" || fail "launch on an unknown host does not say why: $(cat "$TMP/err")"
"$BIN" node --topology "$SRC/topologies/two-hosts.yaml" --node nosuch --host a 2>"$TMP/err"
[ $? -eq 1 ] || fail "node with an unknown node does not exit 1"
grep -q "no node nosuch" "$TMP/err" || fail "node: no reason given: $(cat "$TMP/err")"
"$BIN" node --topology "$SRC/topologies/two-hosts.yaml" --node csv --host b 2>"$TMP/err"
[ $? -eq 1 ] || fail "node on a host it does not run on does not exit 1"
"$BIN" up "$TMP/missing.yaml" --duration 1 --no-status >/dev/null 2>"$TMP/err"
[ $? -eq 1 ] || fail "up with a missing file does not exit 1"

# The systemd unit.
mkdir -p "$TMP/units"
"$BIN" systemd --host b "$SRC/topologies/two-hosts.yaml" -o "$TMP/units" >"$TMP/out" \
    || fail "systemd failed: $(cat "$TMP/out")"
unit=$TMP/units/zsat-two-hosts-b.service
[ -f "$unit" ] || fail "no unit file written"
for line in "ExecStart=$(readlink -f "$BIN") launch --host b $(readlink -f "$SRC/topologies/two-hosts.yaml")" \
            "Restart=on-failure" "KillMode=mixed" "RuntimeDirectory=zsat-two-hosts-b" "User=zsat" \
            "RuntimeDirectoryMode=0700" "Environment=ZSAT_RUN_DIR=/run/zsat-two-hosts-b" \
            "WantedBy=multi-user.target"; do
    grep -qxF "$line" "$unit" || fail "unit lacks '$line'"
done
grep -q "^TimeoutStopSec=[0-9]" "$unit" || fail "unit lacks TimeoutStopSec"
grep -q "systemctl enable --now zsat-two-hosts-b.service" "$TMP/out" || fail "no install hint"
if command -v systemd-analyze >/dev/null 2>&1; then
    systemd-analyze verify "$unit" >"$TMP/verify" 2>&1 || echo "note: systemd-analyze: $(cat "$TMP/verify")"
fi
"$BIN" systemd --host zz "$SRC/topologies/two-hosts.yaml" -o "$TMP/units" 2>/dev/null
[ $? -eq 1 ] || fail "systemd on an unknown host does not exit 1"
echo "launcher_cli: OK"
