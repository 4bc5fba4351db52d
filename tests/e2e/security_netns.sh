#!/usr/bin/env bash
# SPDX-License-Identifier: MPL-2.0
# Issue 14 as a user meets it: two hosts as network namespaces (198.18.7.1, .2), keys made
# with `zsat keys init`, named in the topology (CURVE by default with two hosts). Data from
# b reaches a's CSV sink over CURVE tcp; `zsat status` works with the operator key from a
# third namespace (.3) and fails with a stranger's. From that namespace a plain ZeroMQ peer
# and a CURVE peer with an unknown key (pyzmq) each try every tcp port the hosts listen on:
# PUSH a valid vector (marked task_id), SUB with an empty prefix, REQ control commands
# (STOP, ROUTE DEL, STATUS, NODES). A listed key of the wrong host is refused as the
# buffer consumer (HELLO/ACK sink) and on another host's control sockets (STOP, ROUTE DEL). Nothing is routed (no marked row), subscribed, answered
# or stopped; the refusals are counted in the node logs; `ss -tln` in each host shows only
# its own address. Everything created is removed in a trap.
set -u
BIN=${ZSAT_BIN:?ZSAT_BIN not set}
SRC=${ZSAT_SRC:-$(cd "$(dirname "$0")/../.." && pwd)}
PY=/usr/bin/python3
skip () { echo "SKIP: $*"; exit 77; }
[ "$(id -u)" -eq 0 ] || skip "needs root for network namespaces"
command -v ip >/dev/null && ip netns list >/dev/null 2>&1 || skip "ip netns is not available"
command -v ss >/dev/null || skip "ss is not available"
"$PY" -c "import zmq; assert zmq.has('curve')" 2>/dev/null || skip "pyzmq without CURVE"

P=zsec$$                                # interface names <= 15 bytes
TMP=$(mktemp -d /tmp/zsat-security-netns.XXXXXX)
export ZSAT_RUN_DIR=$TMP/run
TOPO=$TMP/topo.yaml
MARK=7340033                            # task_id of every intruder vector
LA= LB=

sweep_stale () {
    for ns in $(ip netns list 2>/dev/null | awk '{print $1}' | grep -E '^zsec[0-9]+[abc]$'); do
        pid=${ns#zsec}; pid=${pid%?}
        kill -0 "$pid" 2>/dev/null || ip netns del "$ns" 2>/dev/null
    done
    for link in $(ip -o link show 2>/dev/null | awk -F': ' '{print $2}' | cut -d@ -f1 \
                  | grep -E '^zsec[0-9]+(br|v[abc])$'); do
        pid=${link#zsec}; pid=${pid%br}; pid=${pid%v?}
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
    for h in a b c; do ip netns del ${P}$h 2>/dev/null; ip link del ${P}v$h 2>/dev/null; done
    ip link del ${P}br 2>/dev/null
    rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 1' INT TERM
fail () {
    echo "FAIL: $*"
    for f in "$TMP"/*.log $(find "$ZSAT_RUN_DIR" -path '*/logs/*.log' 2>/dev/null); do
        echo "== $f"; tail -n 12 "$f"
    done
    exit 1
}

sweep_stale
ip link add ${P}br type bridge && ip link set ${P}br up || fail "cannot create a bridge"
n=1
for h in a b c; do
    ip netns add ${P}$h || fail "ip netns add"
    ip link add ${P}v$h type veth peer name ${P}p$h || fail "veth"
    ip link set ${P}p$h netns ${P}$h
    ip link set ${P}v$h master ${P}br
    ip link set ${P}v$h up
    ip netns exec ${P}$h ip addr add 198.18.7.$n/24 dev ${P}p$h
    ip netns exec ${P}$h ip link set ${P}p$h up
    ip netns exec ${P}$h ip link set lo up
    n=$((n + 1))
done

# The topology, first without keys: `zsat check` refuses it and names the fix.
write_topology () {  # $1: the hosts' extra keys (a, then b)
    cat >"$TOPO" <<EOF
name: sec
base_port: 7600
hosts:
  a: {address: 198.18.7.1$1}
  b: {address: 198.18.7.2$2}
$3
nodes:
  scheduler: {kind: scheduler, host: a}
  tracker:   {kind: tracker, host: a}
  orchester: {kind: orchester, hosts: all}
  cpu:       {kind: cpu, hosts: all}
  mem:       {kind: mem, hosts: all}
  csv:       {kind: csv, host: a}
  gen:       {kind: gen, host: a, options: {rate: 50, size: 40, type: load, critical: true,
              channel: crit}}
  vault:     {kind: buffer, host: a, options: {channel: crit, ack_timeout: 2s}}
  sink:      {kind: csv, host: b, options: {dir: "$TMP/sink", flush: every}}
links:
  - cpu -> csv
  - mem -> csv
  - gen -> vault
  - vault -> sink
channels:
  crit: {critical: true, durability: batch, consumers: [sink]}
schedules:
  - {type: cpu, every: 500ms}
  - {type: mem, every: 500ms}
EOF
}
write_topology "" "" ""
"$BIN" check "$TOPO" >/dev/null 2>"$TMP/check.err" && fail "check passed a two-host topology without keys"
grep -qF "$TOPO:4:3: host 'a' has no curve_key" "$TMP/check.err" \
    && grep -qF "zsat keys init --host b $TOPO" "$TMP/check.err" \
    || { cat "$TMP/check.err"; fail "check did not name the host and the fix"; }

# Keys: one per host (made in its own namespace, as on a real host), one operator, a stranger.
for h in a b; do
    ip netns exec ${P}$h "$BIN" keys init --host $h "$TOPO" >"$TMP/key.$h" 2>"$TMP/keys.log" \
        || fail "keys init --host $h"
done
"$BIN" keys init --operator op --dir "$TMP/ops" >/dev/null 2>>"$TMP/keys.log" || fail "operator key"
"$BIN" keys init --operator stranger --dir "$TMP/strangers" >/dev/null 2>>"$TMP/keys.log" || fail "stranger key"
write_topology ", curve_key: run/a/curve.cert" ", curve_key: \"$(cat "$TMP/key.b")\"" \
    "operators:
  - {name: op, key: ops/op.cert}"
"$BIN" check "$TOPO" >/dev/null 2>"$TMP/check.err" || { cat "$TMP/check.err"; fail "check refused the keyed topology"; }

ip netns exec ${P}a "$BIN" launch --host a "$TOPO" >"$TMP/launch.a.log" 2>&1 &
LA=$!
ip netns exec ${P}b "$BIN" launch --host b "$TOPO" >"$TMP/launch.b.log" 2>&1 &
LB=$!

rows () {  # prints "a=N b=M marked=K" from a's CSV files
    "$PY" - "$ZSAT_RUN_DIR" "$MARK" <<'PYEOF'
import csv, glob, os, sys
hosts, marked = {}, 0
for path in glob.glob(os.path.join(sys.argv[1], "a", "**", "*.csv"), recursive=True):
    with open(path, newline="") as handle:
        for row in csv.DictReader(handle):
            hosts[row.get("host")] = hosts.get(row.get("host"), 0) + 1
            marked += row.get("task_id") == sys.argv[2]
print("a=%d b=%d marked=%d" % (hosts.get("a", 0), hosts.get("b", 0), marked))
PYEOF
}
count_of () { echo "$1" | tr ' ' '\n' | sed -n "s/^$2=//p"; }
ok=
for _ in $(seq 1 120); do
    kill -0 $LA 2>/dev/null && kill -0 $LB 2>/dev/null || fail "a launcher ended early"
    counts=$(rows)
    [ "$(count_of "$counts" a)" -ge 3 ] && [ "$(count_of "$counts" b)" -ge 3 ] && { ok=1; break; }
    sleep 0.5
done
[ -n "$ok" ] || fail "rows from both hosts did not arrive over CURVE in 60 s ($counts)"
echo "over CURVE: $counts"
sink_rows () { cat "$TMP"/sink/*.csv 2>/dev/null | grep -vc "^time" ; }
for _ in $(seq 1 120); do [ "$(sink_rows)" -ge 3 ] && break; sleep 0.5; done
[ "$(sink_rows)" -ge 3 ] || fail "the buffer's records did not reach b's sink over CURVE"
echo "critical channel a -> b: $(sink_rows) rows"

# The operator key works from the third namespace; a stranger's key does not.
ZSAT_CERT=$TMP/ops/op.cert ip netns exec ${P}c "$BIN" status --topology "$TOPO" --host b \
    --timeout 5000 >"$TMP/status.out" 2>&1 || { cat "$TMP/status.out"; fail "status with the operator key"; }
grep -q "cpu" "$TMP/status.out" || { cat "$TMP/status.out"; fail "status printed no stage"; }
ZSAT_CERT=$TMP/ops/op.cert ip netns exec ${P}c "$BIN" status --topology "$TOPO" \
    --endpoint tcp://198.18.7.1:7602 --timeout 5000 >"$TMP/status.out" 2>&1 \
    || { cat "$TMP/status.out"; fail "status --endpoint with the operator key"; }
ZSAT_CERT=$TMP/strangers/stranger.cert ip netns exec ${P}c "$BIN" status --topology "$TOPO" \
    --host b --timeout 2000 >"$TMP/status.bad" 2>&1 && fail "status answered a stranger's key"
echo "status: operator answered, stranger refused"

# Only the topology's addresses listen: no 0.0.0.0, no [::].
ports=
for h in a b; do
    address=198.18.7.$([ $h = a ] && echo 1 || echo 2)
    listening=$(ip netns exec ${P}$h ss -tlnH | awk '{print $4}')
    [ -n "$listening" ] || fail "host $h listens on nothing"
    echo "$h listens on:" $listening
    for l in $listening; do
        [ "${l%:*}" = "$address" ] || fail "host $h listens on $l, not on its address $address"
        ports="$ports $l"
    done
done

before=$(rows)
ip netns exec ${P}c "$PY" - "$MARK" "$(cat "$TMP/key.a")" "$(cat "$TMP/key.b")" $ports \
    >"$TMP/intruder.log" 2>&1 <<'PYEOF' || { cat "$TMP/intruder.log"; fail "an intruder got in"; }
import sys, time, zlib, msgpack, zmq
mark, key_a, key_b, ports = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4:]
ctx = zmq.Context()
def vector(where, kind):
    fields = [1, 1, 0, 0, 0, 0, 0, 0, mark, mark, int(time.time() * 1e6), where, "intruder",
              "", "intruder", kind, "", "str"]
    payload = b"forged"
    fields[7] = zlib.crc32(payload)
    return [f"{where}/{kind}".encode(), msgpack.packb(fields), payload]
def sock(kind, endpoint, curve):
    s = ctx.socket(kind)
    s.setsockopt(zmq.LINGER, 0)
    if curve:
        public, secret = zmq.curve_keypair()
        s.curve_publickey, s.curve_secretkey = public, secret
        s.curve_serverkey = (key_a if endpoint.startswith("198.18.7.1") else key_b).encode()
    s.connect("tcp://" + endpoint)
    return s
got = []
for curve in (False, True):
    socks = []
    for endpoint in ports:
        push = sock(zmq.PUSH, endpoint, curve)
        for where, kind in (("a", "cpu"), ("b", "cpu"), ("a", "mem")):
            try:
                push.send_multipart(vector(where, kind), zmq.NOBLOCK)
            except zmq.Again:
                pass  # nobody took it: the handshake never completed
        sub = sock(zmq.SUB, endpoint, curve)
        sub.setsockopt(zmq.SUBSCRIBE, b"")
        reqs = []
        for command in ("STOP", "ROUTE DEL mem mem", "STATUS", "NODES", "STATS"):
            req = sock(zmq.REQ, endpoint, curve)
            try:
                req.send_string(command, zmq.NOBLOCK)
            except zmq.Again:
                pass
            reqs.append((command, req))
        socks.append((endpoint, push, sub, reqs))
    poller = zmq.Poller()
    for endpoint, push, sub, reqs in socks:
        poller.register(sub, zmq.POLLIN)
        for command, req in reqs:
            poller.register(req, zmq.POLLIN)
    end = time.monotonic() + 4
    while time.monotonic() < end:
        for s, _ in poller.poll(200):
            for endpoint, push, sub, reqs in socks:
                for command, req in reqs:
                    if req is s:
                        got.append(f"{endpoint} answered {command!r}: {req.recv()!r}")
                if sub is s:
                    got.append(f"{endpoint} fed a subscriber: {sub.recv_multipart()!r}")
            poller.unregister(s)
    for endpoint, push, sub, reqs in socks:
        for s in [push, sub] + [r for _, r in reqs]:
            s.close()
    print("curve" if curve else "plain", "peer tried", len(ports), "ports")
for line in got:
    print("GOT IN:", line)
sys.exit(1 if got else 0)
PYEOF
cat "$TMP/intruder.log"

# A listed key of the wrong host (a's) says HELLO and ACKs for the consumer sink (on b) at
# the buffer's out ROUTER: no WELCOME, nothing taken from sink, refused and logged.
out=$("$BIN" show "$TOPO" --host a | awk '$2 == "ROUTER" && $3 == "out" {print $4}' | grep -o 'tcp://[0-9.:]*')
[ -n "$out" ] || fail "the vault's out ROUTER is not on tcp"
ip netns exec ${P}c "$PY" - "$out" "$ZSAT_RUN_DIR/a/curve.cert_secret" >"$TMP/impostor.log" 2>&1 <<'PYEOF' \
    || { cat "$TMP/impostor.log"; fail "the impostor was welcomed"; }
import sys, zmq, zmq.auth
endpoint, cert = sys.argv[1], sys.argv[2]
public, secret = zmq.auth.load_certificate(cert)
dealer = zmq.Context().socket(zmq.DEALER)
dealer.setsockopt(zmq.LINGER, 0)
dealer.curve_publickey, dealer.curve_secretkey, dealer.curve_serverkey = public, secret, public
dealer.connect(endpoint)
dealer.send_string("HELLO sink")
for seq in range(1, 2000):
    dealer.send_string(f"ACK sink {seq}")
got = dealer.poll(4000)
print("impostor got:", dealer.recv_string() if got else "nothing")
sys.exit(1 if got else 0)
PYEOF
cat "$TMP/impostor.log"
grep -h "refused HELLO/ACK for consumer sink from host key a" $(find "$ZSAT_RUN_DIR" -path '*/logs/*.log') \
    | head -1 | grep -q . || fail "the buffer did not log the impostor"
sink_before=$(sink_rows)

# Control sockets take operators and their own host only: host b's key may not STOP a's
# launcher nor ROUTE DEL on a's orchester; the operator's key may ask a's orchester.
ip netns exec ${P}c "$PY" - "$ZSAT_RUN_DIR/b/curve.cert_secret" "$TMP/ops/op.cert_secret" \
    "$(cat "$TMP/key.a")" >"$TMP/control.log" 2>&1 <<'PYEOF' || { cat "$TMP/control.log"; fail "control sockets"; }
import sys, zmq, zmq.auth
host_b, operator, key_a = sys.argv[1], sys.argv[2], sys.argv[3].encode()
ctx = zmq.Context()
def ask(cert, port, command, wait):
    public, secret = zmq.auth.load_certificate(cert)
    req = ctx.socket(zmq.REQ)
    req.setsockopt(zmq.LINGER, 0)
    req.curve_publickey, req.curve_secretkey, req.curve_serverkey = public, secret, key_a
    req.connect(f"tcp://198.18.7.1:{port}")
    req.send_string(command)
    reply = req.recv_string() if req.poll(wait) else None
    req.close()
    return reply
bad = []
for port, command in ((7606, "STOP"), (7605, "ROUTE DEL mem mem")):
    reply = ask(host_b, port, command, 3000)
    print(f"host b's key, {command!r} on {port}: {reply!r}")
    if reply is not None:
        bad.append(command)
reply = ask(operator, 7605, "STATS", 10000)
print(f"operator's key, 'STATS' on 7605: {(reply or '')[:60]!r}")
sys.exit(1 if bad or not reply else 0)
PYEOF
cat "$TMP/control.log"

# The hosts kept running (nobody was stopped), the routes kept routing, nothing marked.
sleep 3
after=$(rows)
kill -0 $LA 2>/dev/null && kill -0 $LB 2>/dev/null || fail "a launcher stopped after the intrusion"
[ "$(count_of "$after" marked)" -eq 0 ] || fail "an intruder's vector was routed ($after)"
[ "$(count_of "$after" b)" -gt "$(count_of "$before" b)" ] || fail "b's rows stopped ($before -> $after)"
echo "after the intruders: $after (before: $before)"
[ "$(sink_rows)" -gt "$sink_before" ] || fail "sink got no records after the impostor ($sink_before)"
echo "sink after the impostor: $(sink_rows) rows (before: $sink_before)"
# Every port's owner logged a refusal naming the intruder's address (one line per peer and
# socket every 10 s; auth_refused counts them all).
cat $(find "$ZSAT_RUN_DIR" -path '*/logs/*.log') "$TMP"/launch.*.log 2>/dev/null | grep "refused a" \
    | grep "from 198.18.7.3 " >"$TMP/refusals" || true
for l in $ports; do
    grep -q "on [^ ]*tcp://$l\b" "$TMP/refusals" || { cat "$TMP/refusals"; fail "no refusal logged for $l"; }
done
# The tracker's own count is in `zsat status` (its query, events and state ports were tried).
ZSAT_CERT=$TMP/ops/op.cert ip netns exec ${P}c "$BIN" status --topology "$TOPO" --host b \
    --timeout 5000 >"$TMP/status.out" 2>&1 || fail "status after the intrusion"
refused=$(sed -n 's/^security: curve, auth_refused=\([0-9]*\).*/\1/p' "$TMP/status.out")
[ "${refused:-0}" -ge 6 ] || { cat "$TMP/status.out"; fail "zsat status shows auth_refused=${refused:-none}, expected >= 6"; }
echo "zsat status: auth_refused=$refused on the tracker"
echo "refusals logged for all $(echo $ports | wc -w) ports, e.g.: $(head -1 "$TMP/refusals")"

kill -TERM $LB $LA
for pid in $LB $LA; do
    for _ in $(seq 1 240); do kill -0 $pid 2>/dev/null || break; sleep 0.5; done
    kill -0 $pid 2>/dev/null && fail "launcher $pid did not stop within 120 s"
done
LA= LB=
echo "security_netns: OK"
