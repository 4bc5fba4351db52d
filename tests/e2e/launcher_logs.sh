#!/usr/bin/env bash
# SPDX-License-Identifier: MPL-2.0
# Logs as an operator reads them: under systemd (JOURNAL_STREAM names our stderr, as
# systemd sets it) every node writes to that stream with "<N>" syslog level prefixes and its
# name, and no node log file is made; without it, ZSAT_LOG filters by level and the
# launcher's per-node files are rotated by size (ZSAT_LOG_MAX); a crash loop leaves one
# FLAPPING line.
set -u
BIN=${ZSAT_BIN:?ZSAT_BIN not set}
SRC=${ZSAT_SRC:-$(cd "$(dirname "$0")/../.." && pwd)}
TMP=$(mktemp -d /tmp/zsat-launcher-logs.XXXXXX)
cleanup () {
    for env in /proc/[0-9]*/environ; do
        if { tr '\0' '\n' <"$env"; } 2>/dev/null | grep -q "^ZSAT_RUN_DIR=$TMP"; then
            pid=${env#/proc/}; pid=${pid%/environ}
            [ "$pid" != $$ ] && kill -9 "$pid" 2>/dev/null
        fi
    done
    rm -rf "$TMP"
}
trap cleanup EXIT
fail () { echo "FAIL: $*"; exit 1; }
unset ZSAT_LOG ZSAT_LOG_MAX JOURNAL_STREAM ZSAT_STATE_DIR
TOPO=$SRC/topologies/default.yaml

# run_launch NAME SECONDS [ENV=VALUE...]: zsat launch for a while, stderr in $TMP/NAME.err.
run_launch () {
    local name=$1 seconds=$2; shift 2
    export ZSAT_RUN_DIR=$TMP/$name
    : >"$TMP/$name.err"
    env "$@" JOURNAL_STREAM="${JS:-}" "$BIN" launch --host local "$TOPO" 2>>"$TMP/$name.err" &
    local pid=$!
    sleep "$seconds"
    kill -TERM $pid
    for _ in $(seq 1 600); do kill -0 $pid 2>/dev/null || break; sleep 0.1; done
    wait $pid || fail "$name: zsat launch exited $?"
}

# 1. Journal: the stream systemd would name in JOURNAL_STREAM is our stderr file.
: >"$TMP/journal.err"
JS=$(stat -c '%d:%i' "$TMP/journal.err") run_launch journal 4
unset JS
grep -c . "$TMP/journal.err" >/dev/null || fail "journal: nothing logged"
bad=$(grep -v '^<[3467]>' "$TMP/journal.err" | grep -E "(local\.[a-z0-9]+\.[0-9]+|launch(er)?\.local):" | head -3)
[ -z "$bad" ] || fail "journal: lines without a level prefix: $bad"
nodes=$(grep -oE '^<[3467]>local\.[a-z0-9]+\.[0-9]+:' "$TMP/journal.err" | sed 's/^<.>//' | sort -u | wc -l)
[ "$nodes" -ge 3 ] || fail "journal: only $nodes nodes logged to the stream: $(head -5 "$TMP/journal.err")"
grep -q '^<6>launcher.local: ' "$TMP/journal.err" || fail "journal: no launcher info line"
[ -z "$(find "$TMP/journal" -name '*.log' -size +0)" ] || fail "journal: node log files were written: $(find "$TMP/journal" -name '*.log')"
echo "ok: journal: $nodes nodes and the launcher log with <N> prefixes, no log files"

# 2. Levels: ZSAT_LOG=warn hides INFO from the nodes and the launcher; the default shows it.
run_launch info 3
grep -q " INFO " "$TMP/info.err" || fail "default level: no INFO line from the launcher"
grep -lq " INFO " "$TMP"/info/local/logs/*.log || fail "default level: no INFO line in node logs"
run_launch warn 3 ZSAT_LOG=warn
grep -q " INFO " "$TMP/warn.err" && fail "ZSAT_LOG=warn: launcher INFO lines: $(grep -m2 ' INFO ' "$TMP/warn.err")"
cat "$TMP"/warn/local/logs/*.log | grep -q " INFO " && fail "ZSAT_LOG=warn: node INFO lines"
echo "ok: ZSAT_LOG=warn hides INFO, the default shows it"

# 3. Rotation by size: with a 1-byte limit every node file is rotated within seconds.
run_launch rot 5 ZSAT_LOG_MAX=1
rotated=$(ls "$TMP"/rot/local/logs/*.log.1 2>/dev/null | wc -l)
[ "$rotated" -ge 3 ] || fail "rotation: $rotated rotated files: $(ls "$TMP"/rot/local/logs)"
[ -s "$(ls "$TMP"/rot/local/logs/*.log.1 | head -1)" ] || fail "rotation: empty .1 file"
ls "$TMP"/rot/local/logs/*.log.4 >/dev/null 2>&1 && fail "rotation keeps more than 3 copies"
echo "ok: rotation: $rotated node logs rotated (ZSAT_LOG_MAX=1)"

# 4. A crash loop: one FLAPPING line naming the node.
cat >"$TMP/crash.yaml" <<YAML
name: crash
nodes:
  gen:   {kind: gen, options: {rate: 50}}
  crash: {kind: fault, options: {crash_after: 1}}
links:
  - gen -> crash
YAML
export ZSAT_RUN_DIR=$TMP/crash
"$BIN" launch --host local "$TMP/crash.yaml" 2>"$TMP/crash.err" &
pid=$!
for _ in $(seq 1 900); do grep -q FLAPPING "$TMP/crash.err" && break; sleep 0.1; done
kill -TERM $pid; wait $pid
[ "$(grep -c 'crash.0: FLAPPING' "$TMP/crash.err")" -eq 1 ] \
    || fail "crash loop: $(grep -c FLAPPING "$TMP/crash.err") FLAPPING lines: $(tail -5 "$TMP/crash.err")"
grep -q "fault: crash_after 1: exiting" "$TMP"/crash/local/logs/crash.0.log || fail "the crashing node's log does not say why"
echo "ok: crash loop: one line '$(grep -o 'crash.0: FLAPPING[^;]*' "$TMP/crash.err")'"
echo PASS
