#!/usr/bin/env bash
# Crash test of the durable buffer: a writer appends under load and prints "K SEQ" only
# after each store call returned (per its durability mode); it is kill -9'ed at a random
# moment, restarted from its last acknowledged K, and after every kill the store is reopened
# (repairing torn tails) and every acknowledged record is checked byte for byte. Some rounds
# also kill a compaction (log segments -> HDF5) midway. Rounds: ZSAT_CRASH_ROUNDS (10).
set -u
Z=${ZSAT_BIN:?ZSAT_BIN is not set}
ROUNDS=${ZSAT_CRASH_ROUNDS:-10}
T=$(mktemp -d /tmp/zsat_buffer_crash.XXXXXX)
trap 'rm -rf "$T"' EXIT
modes=(none batch always)
repaired=0; compactions=0
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
    kill -9 "$pid" 2>/dev/null
    wait "$pid" 2>/dev/null
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
echo "buffer_crash: $ROUNDS kills, $acked acknowledged records all present," \
     "$repaired torn tails repaired, $total_dups duplicates (stored, not acknowledged, re-sent)," \
     "$compactions compactions killed"
