#!/usr/bin/env bash
# The buffer node under kill -9, with real processes: a producer sends critical vectors and
# records each one answered STORED; two consumers (one slow) print what they receive and
# acknowledge it. The node is kill -9'ed and restarted ZSAT_CRASH_ROUNDS times (10) under
# load, and the slow consumer is kill -9'ed mid-stream once and restarted. At the end every
# STORED vector must have reached both consumers (duplicates allowed, counted).
set -u
Z=${ZSAT_BIN:?ZSAT_BIN is not set}
ROUNDS=${ZSAT_CRASH_ROUNDS:-10}
COUNT=${ZSAT_BUFFER_COUNT:-$((ROUNDS * 6000))}
T=$(mktemp -d /tmp/zsat_buffer_node.XXXXXX)
pids=()
cleanup () {
    for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null; done
    wait 2>/dev/null
    rm -rf "$T"
}
trap cleanup EXIT
fail () { echo "FAIL: $*"; tail -n 5 "$T"/*.log; exit 1; }

cat > "$T/topo.yaml" <<YAML
name: bufe2e
hosts:
  a: {address: 127.0.0.1}
nodes:
  buf: {kind: buffer, host: a, options: {channel: crit, dir: "$T/buf", in: "ipc://$T/in.ipc",
        out: "ipc://$T/out.ipc", ack_timeout: 2s, segment_size: 256k, compact_every: 300ms}}
  c1: {kind: csv, host: a}
  c2: {kind: csv, host: a}
channels:
  crit: {critical: true, durability: batch, max_delay: 5ms, consumers: [c1, c2]}
YAML

start_node () {
    "$Z" buffer node --topology "$T/topo.yaml" --node buf --host a 2>> "$T/node.log" &
    node=$!
    pids+=("$node")
}
start_consumer () {  # name delay
    "$Z" buffer consume --endpoint "ipc://$T/out.ipc" --consumer "$1" --delay-us "$2" \
        --idle-exit 10000 >> "$T/$1.out" 2>> "$T/$1.log" &
    eval "$1=$!"
    pids+=("$!")
}
start_node
start_consumer c1 0
start_consumer c2 20
"$Z" buffer produce --endpoint "ipc://$T/in.ipc" --count "$COUNT" --size 100 \
    > "$T/acked" 2> "$T/producer.log" &
producer=$!
pids+=("$producer")

for round in $(seq 1 "$ROUNDS"); do
    sleep "0.$(printf %03d $(( RANDOM % 400 + 100 )))"
    kill -9 "$node" 2>/dev/null; wait "$node" 2>/dev/null
    if [ "$round" -eq 2 ]; then
        kill -9 "$c2" 2>/dev/null; wait "$c2" 2>/dev/null
        start_consumer c2 20
    fi
    start_node
done
wait "$producer" || fail "the producer did not get every vector answered"
stored=$(wc -l < "$T/acked")
[ "$stored" -eq "$COUNT" ] || fail "$stored of $COUNT answered STORED"
# The consumers exit after 10 s without records: everything was delivered by then.
wait "$c1" "$c2"
kill "$node"; wait "$node"
for c in c1 c2; do
    cut -d' ' -f1 "$T/acked" | sort -n > "$T/want"
    cut -d' ' -f2 "$T/$c.out" | sort -n -u > "$T/got"
    missing=$(comm -23 "$T/want" "$T/got" | wc -l)
    lines=$(wc -l < "$T/$c.out")
    replays=$(awk '$3 % 4 >= 2 { n++ } END { print n + 0 }' "$T/$c.out")
    echo "$c: received $lines records for $(wc -l < "$T/got") tasks, $missing missing," \
         "$((lines - $(wc -l < "$T/got"))) duplicates, $replays flagged replay"
    [ "$missing" -eq 0 ] || fail "$c misses $missing STORED vectors"
done
"$Z" buffer stat --dir "$T/buf" --channel crit | grep -E "^(first|consumer)" || fail "stat"
echo "buffer_node: $ROUNDS kill -9 of the node, $stored vectors STORED, all delivered to both consumers"
