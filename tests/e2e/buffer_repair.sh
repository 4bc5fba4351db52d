#!/usr/bin/env bash
# Corrupt bytes written into a segment: repair cuts at the first bad record and reports it;
# every record before it stays readable; appends go on after it.
set -u
Z=${ZSAT_BIN:?ZSAT_BIN is not set}
T=$(mktemp -d /tmp/zsat_buffer_repair.XXXXXX)
trap 'rm -rf "$T"' EXIT
fail () { echo "FAIL: $*"; exit 1; }
"$Z" buffer write --dir "$T" --channel c --count 1000 --size 60 --durability none > "$T/acked" \
    2>/dev/null || fail "write"
seg=$(ls "$T"/c/seg-*.log)
size=$(stat -c %s "$seg")
rec=$((40 + 12 + 10 + 60))   # header + 3 frame sizes + routing "host/crash" + payload
[ "$size" -eq $((rec * 1000)) ] || fail "segment is $size bytes, expected $((rec * 1000))"
for bad in 500 731 999; do
    cp "$seg" "$T/orig"
    off=$(( (bad - 1) * rec + RANDOM % rec ))
    printf '\xff' | dd of="$seg" bs=1 seek="$off" conv=notrunc status=none
    stat_out=$("$Z" buffer stat --dir "$T" --channel c)
    grep -q "would repair" <<< "$stat_out" || fail "stat did not notice the byte at $off"
    out=$("$Z" buffer repair --dir "$T" --channel c)
    echo "$out"
    grep -q "cut $(( (1000 - bad + 1) * rec )) bytes at offset $(( (bad - 1) * rec ))" <<< "$out" \
        || fail "repair did not cut at record $bad"
    n=$("$Z" buffer export --dir "$T" --channel c --format csv | tail -n +2 | wc -l)
    [ "$n" -eq $((bad - 1)) ] || fail "$n records left, expected $((bad - 1))"
    head -n $((bad - 1)) "$T/acked" > "$T/kept"
    "$Z" buffer verify --dir "$T" --channel c --acked "$T/kept" --size 60 > /dev/null \
        || fail "records before the bad one were lost"
    cp "$T/orig" "$seg"
done
# Garbage appended after valid records (a torn tail) is cut too, and appends go on.
head -c 77 /dev/urandom >> "$seg"
"$Z" buffer repair --dir "$T" --channel c | grep -q "cut 77 bytes" || fail "torn tail not cut"
"$Z" buffer write --dir "$T" --channel c --start 1001 --count 5 --size 60 >> "$T/acked" 2>/dev/null
"$Z" buffer verify --dir "$T" --channel c --acked "$T/acked" --size 60 || fail "verify after repair"
echo "buffer_repair: corrupt bytes cut at the first bad record, earlier records intact"
