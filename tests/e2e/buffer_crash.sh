#!/usr/bin/env bash
# Crash test of the durable buffer: a writer appends under load and prints "K SEQ" only
# after each store call returned (per its durability mode); it is kill -9'ed at a random
# moment, restarted from its last acknowledged K, and after every kill the store is reopened
# (repairing torn tails) and every acknowledged record is checked byte for byte. Some rounds
# also kill a compaction (log segments -> HDF5) midway. Rounds: ZSAT_CRASH_ROUNDS (10).
# Operator and disk faults too: every round a second writer tries the same channel while the
# first runs (it must refuse, naming the owner); every 3rd round the active segment is cut
# back as a power loss would leave it (mode none: what was cut was never promised), and every
# 5th a byte in it is flipped and `buffer repair` cuts there. After each cut, new records
# must get seqs above every seq ever acknowledged (a reused seq shadows a consumer's cursor),
# and every acknowledged record still on disk is verified.
set -u
Z=${ZSAT_BIN:?ZSAT_BIN is not set}
ROUNDS=${ZSAT_CRASH_ROUNDS:-10}
T=$(mktemp -d /tmp/zsat_buffer_crash.XXXXXX)
trap 'rm -rf "$T"' EXIT
modes=(none batch always)
repaired=0; compactions=0; refused=0; cuts=0
declare -A maxseq

# Byte offset of the first record with seq > SEQ in a segment whose first seq is FIRST.
offset_after () {  # segment first seq
    /usr/bin/python3 - "$1" "$2" "$3" <<'PY'
import struct, sys
data = open(sys.argv[1], "rb").read()
first, seq, at = int(sys.argv[2]), int(sys.argv[3]), 0
while at + 8 <= len(data) and first <= seq:
    magic, body = struct.unpack_from("<II", data, at)
    if magic != 0x5A575231 or at + 40 + body > len(data):
        break
    at += 40 + body
    first += 1
print(at)
PY
}
# Cuts the active segment of channel $1 to a random record boundary (a power loss), or
# flips a byte inside it and repairs (a bad disk block); drops the acknowledgements of what
# was cut. $2: power|flip.
damage () {
    local ch=$1 how=$2 seg first tail keep off
    seg=$(ls "$T/buf/$ch"/seg-*.log 2>/dev/null | tail -n 1)
    [ -n "$seg" ] && [ -s "$seg" ] || return 0
    first=$(basename "$seg" | sed -E 's/seg-0*([0-9]+)\.log/\1/')
    tail=$(awk -v f="$first" '$2 >= f' "$T/$ch.acked" | tail -n 1 | cut -d' ' -f2)
    [ -n "$tail" ] && [ "$tail" -gt "$first" ] || return 0
    keep=$(( first + RANDOM % (tail - first) ))
    off=$(offset_after "$seg" "$first" "$keep")
    if [ "$how" = power ]; then
        truncate -s "$off" "$seg"
    else
        printf '\xff' | dd of="$seg" bs=1 seek=$((off + 20)) conv=notrunc status=none
        "$Z" buffer repair --dir "$T/buf" --channel "$ch" > "$T/repair.out" ||
            { echo "FAIL: repair"; exit 1; }
        grep -q "cut" "$T/repair.out" || { echo "FAIL: repair cut nothing"; exit 1; }
    fi
    awk -v k="$keep" '$2 <= k' "$T/$ch.acked" > "$T/$ch.kept"
    mv "$T/$ch.kept" "$T/$ch.acked"
    cuts=$((cuts + 1))
}
declare -A dups
for round in $(seq 1 "$ROUNDS"); do
    mode=${modes[$((round % 3))]}
    # A fresh channel every 10 rounds bounds disk use and verification time.
    ch=crit$(( (round - 1) / 10 ))
    ACKED=$T/$ch.acked
    touch "$ACKED"
    last=$(tail -n 1 "$ACKED" | cut -d' ' -f1)
    start=$(( ${last:-0} + 1 ))
    "$Z" buffer write --dir "$T/buf" --channel "$ch" --durability "$mode" --start "$start" \
        --count 100000000 --size 200 --segment-size 262144 --consumer sink \
        >> "$ACKED" 2> "$T/writer.err" &
    pid=$!
    sleep "0.$(printf %03d $(( RANDOM % 400 + 50 )))"
    # A second writer on the same channel: refused while the first runs, the owner named.
    "$Z" buffer write --dir "$T/buf" --channel "$ch" --start 900000000 --count 1000 \
        > "$T/second.out" 2> "$T/second.err"
    second=$?
    if kill -0 "$pid" 2>/dev/null; then
        [ "$second" -ne 0 ] && [ ! -s "$T/second.out" ] ||
            { echo "FAIL: a second writer ran beside the first (round $round)"; exit 1; }
        grep -q "in use by process $pid" "$T/second.err" ||
            { echo "FAIL: the second writer did not name the owner $pid"; cat "$T/second.err"; exit 1; }
        refused=$((refused + 1))
    fi
    kill -9 "$pid" 2>/dev/null
    wait "$pid" 2>/dev/null
    # Seqs acknowledged so far, before any cut: every later one must be above them all.
    new_from=${maxseq[$ch]:-0}
    first_new=$(awk -v s="$start" '$1 >= s { print $2; exit }' "$ACKED")
    if [ -n "$first_new" ] && [ "$first_new" -le "$new_from" ]; then
        echo "FAIL: seq $first_new reused (seqs up to $new_from were acknowledged before)"; exit 1
    fi
    m=$(cut -d' ' -f2 "$ACKED" | sort -n | tail -n 1)
    [ -n "$m" ] && [ "$m" -gt "$new_from" ] && maxseq[$ch]=$m
    if (( round % 5 == 0 )); then damage "$ch" flip
    elif (( round % 3 == 0 )) && [ "$mode" = none ]; then damage "$ch" power
    fi
    if (( round % 4 == 0 )); then
        # A compaction killed at a random moment leaves a .tmp archive or an archived
        # segment not yet deleted: the next open must clean both up.
        "$Z" buffer compact --dir "$T/buf" --channel "$ch" > /dev/null 2>&1 &
        cpid=$!
        sleep "0.$(printf %03d $(( RANDOM % 300 )))"
        kill -9 "$cpid" 2>/dev/null
        wait "$cpid" 2>/dev/null
        compactions=$((compactions + 1))
    fi
    out=$("$Z" buffer verify --dir "$T/buf" --channel "$ch" --acked "$ACKED" --size 200)
    rc=$?
    echo "round $round ($mode): $out"
    if [ $rc -ne 0 ]; then
        echo "FAIL: acknowledged records missing after kill -9 (round $round)"
        cat "$T/writer.err"
        exit 1
    fi
    r=$(sed -n 's/.*repaired=\([0-9]*\).*/\1/p' <<< "$out")
    repaired=$((repaired + r))
    dups[$ch]=$(sed -n 's/.*duplicates=\([0-9]*\).*/\1/p' <<< "$out")
done
acked=$(cat "$T"/*.acked | wc -l)
total_dups=0
for d in "${dups[@]}"; do total_dups=$((total_dups + d)); done
[ "$acked" -gt 0 ] || { echo "FAIL: nothing was acknowledged"; exit 1; }
dupseq=0
for f in "$T"/*.acked; do dupseq=$((dupseq + $(cut -d' ' -f2 "$f" | sort | uniq -d | wc -l))); done
[ "$dupseq" -eq 0 ] || { echo "FAIL: $dupseq seqs acknowledged twice"; exit 1; }
echo "buffer_crash: $ROUNDS kills, $acked acknowledged records all present," \
     "$repaired torn tails repaired, $total_dups duplicates (stored, not acknowledged, re-sent)," \
     "$compactions compactions killed, $refused second writers refused, $cuts cuts (power loss, flipped byte)"
