# A private Graphite carbon-cache on loopback for end-to-end tests (recipe in FACTS.md).
# Source this file, then:
#   carbon_start DIR   config, storage and logs under DIR; sets carbon_pid and line_port;
#                      returns 1 (with its log on stdout) when it did not start in 20 s
#   carbon_stop        SIGTERM, bounded wait, then SIGKILL; safe to call twice
carbon_pid=""
line_port=""

carbon_free_ports() {
    /usr/bin/python3 - <<'PY'
import socket
socks = [socket.socket() for _ in range(3)]
for s in socks:
    s.bind(("127.0.0.1", 0))
print(*[s.getsockname()[1] for s in socks])
PY
}

carbon_start() {
    local dir=$1 pickle_port query_port
    read -r line_port pickle_port query_port < <(carbon_free_ports)
    mkdir -p "$dir/storage/whisper" "$dir/log" "$dir/pid"
    cat > "$dir/carbon.conf" <<CONF
[cache]
STORAGE_DIR = $dir/storage
LOCAL_DATA_DIR = $dir/storage/whisper
WHITELISTS_DIR = $dir/storage/lists
LOG_DIR = $dir/log
PID_DIR = $dir/pid
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
    cat > "$dir/storage-schemas.conf" <<CONF
[default]
pattern = .*
retentions = 1s:1h
CONF
    carbon-cache --config="$dir/carbon.conf" --nodaemon start >"$dir/log/stdout" 2>&1 &
    carbon_pid=$!
    for _ in $(seq 200); do
        (exec 3<>"/dev/tcp/127.0.0.1/$line_port") 2>/dev/null && return 0
        kill -0 "$carbon_pid" 2>/dev/null || break
        sleep 0.1
    done
    echo "carbon-cache did not start:"
    cat "$dir/log/stdout" "$dir/log"/*/* 2>/dev/null | tail -20
    return 1
}

carbon_stop() {
    [ -n "$carbon_pid" ] || return 0
    kill "$carbon_pid" 2>/dev/null
    for _ in $(seq 50); do kill -0 "$carbon_pid" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$carbon_pid" 2>/dev/null
    carbon_pid=""
}
