#!/usr/bin/env bash
# The carbon sink against a real Graphite carbon-cache (Debian graphite-carbon) started on
# loopback with a private config: ten points written through the kind (selftest "sinks" with
# ZSAT_CARBON_PORT) are read back from the whisper file with whisper-fetch.
set -u
command -v carbon-cache >/dev/null && command -v whisper-fetch >/dev/null || {
    echo "carbon-cache or whisper-fetch not installed: skipped"; exit 77; }
build=${ZSAT_BUILD:?ZSAT_BUILD not set}
tmp=$(mktemp -d /tmp/zsat-sinks-carbon-XXXXXX)
pid=""
cleanup() {
    if [ -n "$pid" ]; then
        kill "$pid" 2>/dev/null
        for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
        kill -9 "$pid" 2>/dev/null
    fi
    rm -rf "$tmp"
}
trap cleanup EXIT

read -r line_port pickle_port query_port < <(/usr/bin/python3 - <<'PY'
import socket
socks = [socket.socket() for _ in range(3)]
for s in socks:
    s.bind(("127.0.0.1", 0))
print(*[s.getsockname()[1] for s in socks])
PY
)
mkdir -p "$tmp/storage/whisper" "$tmp/log" "$tmp/run"
cat > "$tmp/carbon.conf" <<CONF
[cache]
STORAGE_DIR = $tmp/storage
LOCAL_DATA_DIR = $tmp/storage/whisper
WHITELISTS_DIR = $tmp/storage/lists
LOG_DIR = $tmp/log
PID_DIR = $tmp/run
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
cat > "$tmp/storage-schemas.conf" <<CONF
[default]
pattern = .*
retentions = 1s:1h
CONF

carbon-cache --config="$tmp/carbon.conf" --nodaemon start >"$tmp/log/stdout" 2>&1 &
pid=$!
up=0
for _ in $(seq 200); do
    if (exec 3<>"/dev/tcp/127.0.0.1/$line_port") 2>/dev/null; then up=1; break; fi
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
done
if [ "$up" != 1 ]; then
    echo "carbon-cache did not start:"; cat "$tmp/log/stdout" "$tmp/log"/*/* 2>/dev/null | tail -20
    exit 1
fi

since=$(( $(date +%s) - 30 ))
ZSAT_CARBON_PORT=$line_port "$build/zsat_selftest" -t sinks || { echo "selftest failed"; exit 1; }

wsp="$tmp/storage/whisper/zsat/sinkse2e/h1/probe/value.wsp"
for _ in $(seq 200); do
    if [ -f "$wsp" ]; then
        values=$(whisper-fetch --from="$since" "$wsp" | awk '$2 != "None" {print $2}' | sort -n | tr '\n' ' ')
        [ "$values" = "0.000000 1.000000 2.000000 3.000000 4.000000 5.000000 6.000000 7.000000 8.000000 9.000000 " ] && {
            echo "carbon: 10 points read back from $wsp"; exit 0; }
    fi
    sleep 0.1
done
echo "expected points 0..9 in $wsp, got: ${values:-no file}"
ls -R "$tmp/storage/whisper" | head -20
cat "$tmp/log/stdout" | tail -20
exit 1
