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
carbon_pid=""
cleanup() {
    if [ -n "$carbon_pid" ]; then
        kill "$carbon_pid" 2>/dev/null
        for _ in $(seq 50); do kill -0 "$carbon_pid" 2>/dev/null || break; sleep 0.1; done
        kill -9 "$carbon_pid" 2>/dev/null
    fi
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

# the carbon-cache recipe of tests/e2e/sinks_carbon.sh (FACTS.md): private config, loopback
read -r line_port pickle_port query_port < <(/usr/bin/python3 - <<'PY'
import socket
socks = [socket.socket() for _ in range(3)]
for s in socks:
    s.bind(("127.0.0.1", 0))
print(*[s.getsockname()[1] for s in socks])
PY
)
mkdir -p "$TMP/storage/whisper" "$TMP/log" "$TMP/pid"
cat > "$TMP/carbon.conf" <<CONF
[cache]
STORAGE_DIR = $TMP/storage
LOCAL_DATA_DIR = $TMP/storage/whisper
WHITELISTS_DIR = $TMP/storage/lists
LOG_DIR = $TMP/log
PID_DIR = $TMP/pid
ENABLE_LOGROTATION = False
USER =
LINE_RECEIVER_INTERFACE = 127.0.0.1
LINE_RECEIVER_PORT = $line_port
PICKLE_RECEIVER_INTERFACE = 127.0.0.1
PICKLE_RECEIVER_PORT = $pickle_port
CACHE_QUERY_INTERFACE = 127.0.0.1
CACHE_QUERY_PORT = $query_port
ENABLE_UDP_LISTENER = False
ENABLE_TAGS = False
MAX_CREATES_PER_MINUTE = 5000
MAX_UPDATES_PER_SECOND = 5000
CONF
cat > "$TMP/storage-schemas.conf" <<CONF
[default]
pattern = .*
retentions = 1s:1h
CONF
carbon-cache --config="$TMP/carbon.conf" --nodaemon start >"$TMP/log/stdout" 2>&1 &
carbon_pid=$!
up=0
for _ in $(seq 200); do
    if (exec 3<>"/dev/tcp/127.0.0.1/$line_port") 2>/dev/null; then up=1; break; fi
    kill -0 "$carbon_pid" 2>/dev/null || break
    sleep 0.1
done
[ "$up" = 1 ] || fail "carbon-cache did not start"

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
