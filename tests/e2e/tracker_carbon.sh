#!/usr/bin/env bash
# The tracker's statistics reach a real Graphite carbon-cache: `zsat up` runs a topology with
# one probe (cpu, every 1 s), a carbon node pointing at a private carbon-cache on loopback and
# a link `tracker -> carbon`, for 15 s (the tracker sends every 10 s). whisper-fetch must then
# read zsat.<topology>.<host>.cpu.vectors_per_s_1m (> 0) and the tracker's own happy_ends.
set -u
command -v carbon-cache >/dev/null && command -v whisper-fetch >/dev/null || {
    echo "carbon-cache or whisper-fetch not installed (graphite-carbon): skipped"; exit 77; }
BIN=${ZSAT_BIN:?ZSAT_BIN not set}
"$BIN" help carbon >/dev/null 2>&1 || { echo "FAIL: this build has no carbon kind"; exit 1; }
TMP=$(mktemp -d /tmp/zsat-tracker-carbon-XXXXXX)
export ZSAT_RUN_DIR=$TMP/run
. "$(dirname "$0")/../lib/carbon.sh"
cleanup() {
    carbon_stop
    # every process of this zsat run inherited ZSAT_RUN_DIR: none may outlive the test
    for env in /proc/[0-9]*/environ; do
        if { tr '\0' '\n' <"$env"; } 2>/dev/null | grep -qxF "ZSAT_RUN_DIR=$ZSAT_RUN_DIR"; then
            pid=${env#/proc/}; pid=${pid%/environ}
            [ "$pid" != $$ ] && kill -9 "$pid" 2>/dev/null
        fi
    done
    rm -rf "$TMP"
}
trap cleanup EXIT
fail() {
    echo "FAIL: $*"
    for f in "$TMP/up.out" "$TMP/up.err" "$TMP/log/stdout" $(find "$ZSAT_RUN_DIR" -name '*.log' 2>/dev/null); do
        echo "== $f"; tail -n 15 "$f"
    done
    ls -R "$TMP/storage/whisper" 2>/dev/null | head -40
    exit 1
}

carbon_start "$TMP" || fail "carbon-cache did not start"

cat > "$TMP/trkcarbon.yaml" <<YAML
name: trkcarbon
hosts:
  h1: {address: 127.0.0.1}
nodes:
  cpu: {kind: cpu}
  carbon: {kind: carbon, options: {port: $line_port}}
links:
  - tracker -> carbon
schedules:
  - {type: cpu, every: 1s}
YAML
since=$(( $(date +%s) - 5 ))
timeout -s KILL 90 "$BIN" up "$TMP/trkcarbon.yaml" --duration 15 --no-status \
    >"$TMP/up.out" 2>"$TMP/up.err"
rc=$?
[ $rc -eq 0 ] || fail "zsat up exited $rc"

# carbon writes a point within about a second of receiving it; wait for it, bounded in
# time (whisper-fetch alone takes a second on a loaded machine)
dir="$TMP/storage/whisper/zsat/trkcarbon/h1"
rate="" happy=""
deadline=$((SECONDS + 30))
while [ $SECONDS -lt $deadline ]; do
    [ -f "$dir/cpu/vectors_per_s_1m.wsp" ] &&
        rate=$(whisper-fetch --from="$since" "$dir/cpu/vectors_per_s_1m.wsp" | awk '$2 != "None" {v = $2} END {print v}')
    [ -f "$dir/tracker/happy_ends.wsp" ] &&
        happy=$(whisper-fetch --from="$since" "$dir/tracker/happy_ends.wsp" | awk '$2 != "None" {v = $2} END {print v}')
    [ -n "$rate" ] && [ -n "$happy" ] && break
    sleep 0.5
done
[ -n "$rate" ] || fail "no point in $dir/cpu/vectors_per_s_1m.wsp"
[ -n "$happy" ] || fail "no point in $dir/tracker/happy_ends.wsp"
awk -v r="$rate" -v h="$happy" 'BEGIN {exit !(r > 0 && h > 0)}' ||
    fail "expected positive values, got vectors_per_s_1m=$rate happy_ends=$happy"
for key in vectors_per_s_1s busy idle errors retries timeouts failures dead_letters; do
    [ -f "$dir/cpu/$key.wsp" ] || fail "no metric zsat.trkcarbon.h1.cpu.$key"
done
echo "carbon: zsat.trkcarbon.h1.cpu.vectors_per_s_1m=$rate zsat.trkcarbon.h1.tracker.happy_ends=$happy"
exit 0
