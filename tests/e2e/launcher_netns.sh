#!/usr/bin/env bash
# Two hosts as network namespaces (a bridge, a veth per host, 198.18.0.1 and .2): a launcher
# in each; scheduler, tracker and CSV sink on a, probes and an orchester on both. Rows from
# both hosts arrive in a's CSV files, tagged by host; SIGTERM stops both launchers cleanly.
# Everything created is removed in a trap, and names left by earlier runs are swept.
set -u
BIN=${ZSAT_BIN:?ZSAT_BIN not set}
SRC=${ZSAT_SRC:-$(cd "$(dirname "$0")/../.." && pwd)}
PY=/usr/bin/python3
skip () { echo "SKIP: $*"; exit 77; }
[ "$(id -u)" -eq 0 ] || skip "needs root for network namespaces"
command -v ip >/dev/null && ip netns list >/dev/null 2>&1 || skip "ip netns is not available"
"$BIN" help cpu >/dev/null 2>&1 || skip "this build has no cpu kind yet (\`zsat help cpu\` fails)"

P=zst$$                               # unique prefix: zst<pid>; interface names <= 15 bytes
TOPO=$SRC/topologies/test-launcher-netns.yaml
TMP=$(mktemp -d /tmp/zsat-launcher-netns.XXXXXX)
export ZSAT_RUN_DIR=$TMP/run
LA= LB=

# Sweep what an earlier run (whose process is gone) left behind.
sweep_stale () {
    for ns in $(ip netns list 2>/dev/null | awk '{print $1}' | grep -E '^zst[0-9]+[ab]$'); do
        pid=${ns#zst}; pid=${pid%?}
        kill -0 "$pid" 2>/dev/null || ip netns del "$ns" 2>/dev/null
    done
    for link in $(ip -o link show 2>/dev/null | awk -F': ' '{print $2}' | cut -d@ -f1 \
                  | grep -E '^zst[0-9]+(br|v[ab])$'); do
        pid=${link#zst}; pid=${pid%br}; pid=${pid%v?}
        kill -0 "$pid" 2>/dev/null || ip link del "$link" 2>/dev/null
    done
}

cleanup () {
    for pid in $LA $LB; do kill -9 "$pid" 2>/dev/null; done
    for env in /proc/[0-9]*/environ; do
        if { tr '\0' '\n' <"$env"; } 2>/dev/null | grep -qxF "ZSAT_RUN_DIR=$ZSAT_RUN_DIR"; then
            pid=${env#/proc/}; pid=${pid%/environ}
            [ "$pid" != $$ ] && kill -9 "$pid" 2>/dev/null
        fi
    done
    ip netns del ${P}a 2>/dev/null; ip netns del ${P}b 2>/dev/null
    ip link del ${P}va 2>/dev/null; ip link del ${P}vb 2>/dev/null; ip link del ${P}br 2>/dev/null
    rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 1' INT TERM
fail () {
    echo "FAIL: $*"
    for f in "$TMP"/launch.*.log $(find "$ZSAT_RUN_DIR" -name '*.log' 2>/dev/null); do
        echo "== $f"; tail -n 15 "$f"
    done
    exit 1
}

sweep_stale
ip link add ${P}br type bridge && ip link set ${P}br up || fail "cannot create a bridge"
n=1
for h in a b; do
    ip netns add ${P}$h || fail "ip netns add"
    ip link add ${P}v$h type veth peer name ${P}p$h || fail "veth"
    ip link set ${P}p$h netns ${P}$h
    ip link set ${P}v$h master ${P}br
    ip link set ${P}v$h up
    ip netns exec ${P}$h ip addr add 198.18.0.$n/24 dev ${P}p$h
    ip netns exec ${P}$h ip link set ${P}p$h up
    ip netns exec ${P}$h ip link set lo up
    n=$((n + 1))
done
ip -n ${P}b addr show ${P}pb | grep -q "198.18.0.2/24" || fail "host b has no address"

ip netns exec ${P}a "$BIN" launch --host a "$TOPO" >"$TMP/launch.a.log" 2>&1 &
LA=$!
ip netns exec ${P}b "$BIN" launch --host b "$TOPO" >"$TMP/launch.b.log" 2>&1 &
LB=$!

# Rows from both hosts in a's CSV files (bounded wait).
check_rows () {
    "$PY" - "$ZSAT_RUN_DIR" <<'PYEOF'
import csv, glob, os, sys
hosts = {}
for path in glob.glob(os.path.join(sys.argv[1], "a", "**", "*.csv"), recursive=True):
    with open(path, newline="") as handle:
        for row in csv.DictReader(handle):
            hosts[row.get("host")] = hosts.get(row.get("host"), 0) + 1
print(" ".join("%s=%d" % item for item in sorted(hosts.items(), key=str)))
sys.exit(0 if hosts.get("a", 0) >= 3 and hosts.get("b", 0) >= 3 else 1)
PYEOF
}
ok=
for _ in $(seq 1 120); do
    kill -0 $LA 2>/dev/null && kill -0 $LB 2>/dev/null || fail "a launcher ended early"
    if counts=$(check_rows); then ok=1; break; fi
    sleep 0.5
done
[ -n "$ok" ] || fail "rows from both hosts did not arrive in 60 s (${counts:-none})"
echo "rows by host: $counts"

# Graceful stop: sources first everywhere, then the sink host.
kill -TERM $LB $LA
for pid in $LB $LA; do
    for _ in $(seq 1 240); do kill -0 $pid 2>/dev/null || break; sleep 0.5; done
    kill -0 $pid 2>/dev/null && fail "launcher $pid did not stop within 120 s"
    wait $pid || fail "launcher $pid exited $?"
done
LA= LB=
for env in /proc/[0-9]*/environ; do
    pid=${env#/proc/}; pid=${pid%/environ}
    [ "$pid" = $$ ] && continue
    { tr '\0' '\n' <"$env"; } 2>/dev/null | grep -qxF "ZSAT_RUN_DIR=$ZSAT_RUN_DIR" \
        && fail "process $pid survived its launcher"
done
check_rows >/dev/null || fail "rows gone after the stop"
echo "launcher_netns: OK"
