#!/usr/bin/env bash
# SPDX-License-Identifier: MPL-2.0
# One owner per channel directory, as an operator meets it: a buffer node runs (`zsat node`);
# a second `zsat node` for the same buffer must refuse to start naming the owner's pid (two
# writers handed out the same seqs and lost records on main); every writing `zsat buffer`
# action (compact, gc, repair, cursor, write) must refuse with a non-zero exit while the node
# runs (compact on a live node made it write into a deleted segment), and the read-only ones
# (stat, ls, export) must work. Then every STORED vector is verified on disk, with unique
# seqs, and delivered to the consumer. Bounded waits; counts only.
set -u
Z=${ZSAT_BIN:?ZSAT_BIN is not set}
T=$(mktemp -d /tmp/zsat_buffer_owner.XXXXXX)
export ZSAT_RUN_DIR="$T/run"
pids=()
cleanup () {
    for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null; done
    wait 2>/dev/null
    rm -rf "$T"
}
trap cleanup EXIT
fail () { echo "FAIL: $*"; tail -n 5 "$T"/*.log; exit 1; }

cat > "$T/topo.yaml" <<YAML
name: bufowner
hosts:
  a: {address: 127.0.0.1}
nodes:
  vault: {kind: buffer, host: a, options: {channel: crit, dir: "$T/buf", in: "ipc://$T/in.ipc",
          out: "ipc://$T/out.ipc", segment_size: 64k, compact_every: 200ms}}
  sink:  {kind: csv, host: a}
channels:
  crit: {critical: true, durability: batch, consumers: [sink]}
YAML

wait_for () {  # file pattern: up to 30 s
    for _ in $(seq 1 300); do grep -q "$2" "$1" 2>/dev/null && return 0; sleep 0.1; done
    return 1
}

"$Z" node --topology "$T/topo.yaml" --node vault --host a 2> "$T/node1.log" &
node1=$!
pids+=("$node1")
wait_for "$T/node1.log" "opened" || fail "the first node did not open its channel"

# A second node on the same channel directory: refused, the owner named, nothing bound.
"$Z" node --topology "$T/topo.yaml" --node vault --host a 2> "$T/node2.log" &
node2=$!
pids+=("$node2")
for _ in $(seq 1 300); do kill -0 "$node2" 2>/dev/null || break; sleep 0.1; done
if kill -0 "$node2" 2>/dev/null; then
    fail "a second buffer node on the same channel is running"
fi
wait "$node2"; rc2=$?
[ "$rc2" -ne 0 ] || fail "the second node exited 0"
grep -q "in use by process $node1" "$T/node2.log" || fail "the second node did not name pid $node1"
echo "second node refused (rc $rc2): $(grep -o 'in use by process [0-9]*' "$T/node2.log" | head -1)"

"$Z" buffer produce --endpoint "ipc://$T/in.ipc" --count 600 --size 100 > "$T/acked" \
    2> "$T/producer.log" &
producer=$!
pids+=("$producer")

# Writing actions on the live channel: each refuses, non-zero, naming the owner.
for action in "compact" "gc" "repair" "cursor --consumer sink --to 1" "write --count 5"; do
    # shellcheck disable=SC2086
    "$Z" buffer $action --dir "$T/buf" --channel crit > "$T/act.out" 2>&1
    rc=$?
    [ "$rc" -ne 0 ] || fail "buffer $action on a live channel returned 0"
    grep -q "in use by process $node1" "$T/act.out" || fail "buffer $action did not name the owner"
done
echo "compact, gc, repair, cursor, write refused while the node runs"
# Read-only actions work on the live channel.
"$Z" buffer stat --dir "$T/buf" --channel crit > "$T/stat.out" 2>&1 || fail "stat on a live channel"
grep -q "in use by process $node1" "$T/stat.out" || fail "stat does not say who owns the channel"
"$Z" buffer ls --dir "$T/buf" > /dev/null 2>&1 || fail "ls on a live channel"
"$Z" buffer export --dir "$T/buf" --channel crit --format csv > /dev/null 2>&1 \
    || fail "export on a live channel"

wait "$producer" || fail "the producer did not get every vector answered"
stored=$(wc -l < "$T/acked")
[ "$stored" -eq 600 ] || fail "$stored of 600 STORED"
dupseq=$(cut -d' ' -f2 "$T/acked" | sort -n | uniq -d | wc -l)
[ "$dupseq" -eq 0 ] || fail "$dupseq seqs handed out twice"
kill -TERM "$node1"; wait "$node1"
"$Z" buffer verify --dir "$T/buf" --channel crit --acked "$T/acked" --size 100 \
    || fail "STORED records lost"
# The lock is free once the owner stopped: an offline compaction now works.
"$Z" buffer compact --dir "$T/buf" --channel crit || fail "compact on a stopped channel"

# Everything reaches the consumer.
"$Z" node --topology "$T/topo.yaml" --node vault --host a 2> "$T/node3.log" &
pids+=("$!")
"$Z" buffer consume --endpoint "ipc://$T/out.ipc" --consumer sink --idle-exit 4000 \
    > "$T/sink.out" 2> "$T/sink.log"
missing=$(comm -23 <(cut -d' ' -f1 "$T/acked" | sort -u) <(cut -d' ' -f2 "$T/sink.out" | sort -u) | wc -l)
[ "$missing" -eq 0 ] || fail "$missing STORED vectors never delivered"
echo "buffer_owner: 600 STORED, unique seqs, 0 lost, all delivered; one owner per channel"
