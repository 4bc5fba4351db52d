#!/usr/bin/env bash
# SPDX-License-Identifier: MPL-2.0
# A truncated HDF5 archive (`truncate -s`, as a full disk or a bad copy leaves it) must not
# stall the channel. Offline: `buffer stat` reports it, `buffer repair` quarantines it
# (renamed *.damaged, the records that survived salvaged into a new archive). Live: an
# archive cut while the node runs is quarantined when delivery meets it, reported once, and
# delivery goes on. Every record outside the damaged ranges, and 50 new ones, must reach the
# consumer (on main: "nothing to repair", then the node logged the error ~460/s and delivered
# nothing).
set -u
Z=${ZSAT_BIN:?ZSAT_BIN is not set}
T=$(mktemp -d /tmp/zsat_buffer_archive.XXXXXX)
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
name: bufarc
hosts:
  a: {address: 127.0.0.1}
nodes:
  vault: {kind: buffer, host: a, options: {channel: crit, dir: "$T/buf", in: "ipc://$T/in.ipc",
          out: "ipc://$T/out.ipc", segment_size: 16k, compact_every: 200ms}}
  sink:  {kind: csv, host: a}
channels:
  crit: {critical: true, durability: batch, consumers: [sink]}
YAML
start_node () {
    "$Z" node --topology "$T/topo.yaml" --node vault --host a 2>> "$T/node.log" &
    node=$!
    pids+=("$node")
}
archives () { ls "$T"/buf/crit/arc-*.h5 2>/dev/null; }

start_node
"$Z" buffer produce --endpoint "ipc://$T/in.ipc" --count 600 --size 100 > "$T/acked" \
    2> "$T/producer.log" || fail "produce"
for _ in $(seq 1 300); do [ "$(archives | wc -l)" -ge 4 ] && break; sleep 0.1; done
[ "$(archives | wc -l)" -ge 4 ] || fail "fewer than 4 archives were written"
kill -TERM "$node"; wait "$node"

# Offline: the first archive loses its last tenth.
a1=$(archives | head -n 1)
truncate -s $(( $(stat -c %s "$a1") * 9 / 10 )) "$a1"
"$Z" buffer stat --dir "$T/buf" --channel crit > "$T/stat.out" 2>&1
grep -q "would quarantine" "$T/stat.out" || { cat "$T/stat.out"; fail "stat does not see the truncated archive"; }
"$Z" buffer repair --dir "$T/buf" --channel crit > "$T/repair.out" 2>&1 || fail "repair failed"
cat "$T/repair.out"
grep -q "quarantined .*salvaged" "$T/repair.out" || fail "repair did not quarantine the archive"
salvaged=$(sed -n 's/.*salvaged \([0-9]*\) of.*/\1/p' "$T/repair.out" | head -n 1)
[ "${salvaged:-0}" -gt 0 ] || fail "nothing salvaged from an archive that lost its last tenth"
[ -e "$a1.damaged" ] || fail "no $a1.damaged"
"$Z" buffer stat --dir "$T/buf" --channel crit | grep -q "would quarantine" \
    && fail "still damaged after repair"

# Live: the node checked the archives at its start; now one is cut under it.
start_node
for _ in $(seq 1 300); do [ "$(grep -c "opened" "$T/node.log")" -ge 2 ] && break; sleep 0.1; done
a2=$(archives | sed -n 2p)
[ -n "$a2" ] || fail "no second archive"
truncate -s $(( $(stat -c %s "$a2") / 2 )) "$a2"
"$Z" buffer produce --endpoint "ipc://$T/in.ipc" --start 601 --count 50 --size 100 \
    >> "$T/acked" 2>> "$T/producer.log" || fail "produce 601..650"
"$Z" buffer consume --endpoint "ipc://$T/out.ipc" --consumer sink --idle-exit 4000 \
    > "$T/sink.out" 2> "$T/sink.log"
sleep 0.5
kill -TERM "$node"; wait "$node"

# Expected: every STORED record whose seq is outside the two damaged archives' ranges.
range () { basename "$1" | sed -E 's/arc-0*([0-9]+)-0*([0-9]+)\.h5/\1 \2/'; }
read -r lo1 hi1 <<< "$(range "$a1")"
read -r lo2 hi2 <<< "$(range "$a2")"
# The salvaged records of the first one are delivered too.
awk -v a="$((lo1 + salvaged))" -v b="$hi1" -v c="$lo2" -v d="$hi2" \
    '!(($2 >= a && $2 <= b) || ($2 >= c && $2 <= d)) { print $1 }' "$T/acked" | sort -u > "$T/want"
cut -d' ' -f2 "$T/sink.out" | sort -u > "$T/got"
missing=$(comm -23 "$T/want" "$T/got" | wc -l)
new=$(awk '$1 > 600' "$T/acked" | wc -l)
new_got=$(awk '$2 > 600' "$T/sink.out" | cut -d' ' -f2 | sort -u | wc -l)
errors=$(grep -c "cannot read" "$T/node.log")
echo "damaged $lo1..$hi1 (offline, $salvaged salvaged) and $lo2..$hi2 (live); $(wc -l < "$T/want") records outside them," \
     "$missing missing; $new_got of $new new delivered; $(wc -l < "$T/got") delivered; $errors error lines"
grep "quarantined" "$T/node.log" | head -n 2
[ "$missing" -eq 0 ] || fail "$missing records outside the damaged archives not delivered"
[ "$new_got" -eq "$new" ] || fail "new records not delivered"
[ "$errors" -le 3 ] || fail "the node logged $errors read errors (reported once expected)"
grep -q "quarantined $a2" "$T/node.log" || fail "the live node did not quarantine $a2"
echo "buffer_archive: truncated archives quarantined offline and live, the channel kept delivering"
