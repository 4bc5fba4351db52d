#!/usr/bin/env bash
# SPDX-License-Identifier: MPL-2.0
# A 20 s outage of the buffer node under a gen source (gen -> vault -> csv, real `zsat node`
# processes): the vault is frozen with SIGSTOP (its sockets stay open, nothing answers, the
# producer's heartbeat gives up after 5 s), then resumed. Each task id must reach the CSV
# at most twice (at-least-once allows one extra copy), and none may be lost. On main the
# producer re-sent every unanswered vector each second into the stalled pipe and the
# buffer stored each of them: up to 21 copies per vector.
set -u
Z=${ZSAT_BIN:?ZSAT_BIN is not set}
OUTAGE=${ZSAT_OUTAGE_S:-20}
COUNT=${ZSAT_OUTAGE_COUNT:-600}
T=$(mktemp -d /tmp/zsat_buffer_outage.XXXXXX)
export ZSAT_RUN_DIR="$T/run"
pids=()
cleanup () {
    for p in "${pids[@]}"; do kill -CONT "$p" 2>/dev/null; kill -9 "$p" 2>/dev/null; done
    wait 2>/dev/null
    rm -rf "$T"
}
trap cleanup EXIT
fail () { echo "FAIL: $*"; tail -n 5 "$T"/*.log; exit 1; }

# gen sends COUNT vectors at 20/s: the outage falls in the middle of them.
cat > "$T/topo.yaml" <<YAML
name: bufoutage
hosts:
  a: {address: 127.0.0.1}
nodes:
  gen:   {kind: gen, host: a, options: {rate: 20, count: $COUNT, size: 40, type: load,
          critical: true, channel: crit}}
  vault: {kind: buffer, host: a, options: {channel: crit, dir: "$T/buf", ack_timeout: 2s}}
  csv:   {kind: csv, host: a, options: {dir: "$T/csv", flush: every}}
links:
  - gen -> vault
  - vault -> csv
channels:
  crit: {critical: true, durability: batch, consumers: [csv]}
YAML
declare -A pid
start () {
    "$Z" node --topology "$T/topo.yaml" --node "$1" --host a 2>> "$T/$1.log" &
    pid[$1]=$!
    pids+=("$!")
}
rows () { cat "$T"/csv/*.csv 2> /dev/null | grep -v '^time,' | cut -d, -f4; }

start vault
start csv
start gen
for _ in $(seq 1 100); do [ "$(rows | wc -l)" -ge 60 ] && break; sleep 0.1; done
[ "$(rows | wc -l)" -ge 1 ] || fail "nothing reached the CSV before the outage"
kill -STOP "${pid[vault]}"
sleep "$OUTAGE"
kill -CONT "${pid[vault]}"
# Bounded: gen needs COUNT/20 s in all; give the backlog generous time after that.
for _ in $(seq 1 $((COUNT / 20 + 90))); do
    [ "$(rows | sort -u | wc -l)" -ge "$COUNT" ] && break
    sleep 1
done
sleep 2
got=$(rows | sort -u | wc -l)
total=$(rows | wc -l)
worst=$(rows | sort | uniq -c | sort -rn | head -n 1 | awk '{print $1}')
over=$(rows | sort | uniq -c | awk '$1 > 2' | wc -l)
echo "outage ${OUTAGE}s: $got of $COUNT task ids in the CSV, $total rows, at most $worst copies of one," \
     "$over with more than 2; $(grep -o '"duplicates":[0-9]*' "$T/vault.log" | tail -n 1)"
[ "$got" -eq "$COUNT" ] || fail "$((COUNT - got)) task ids lost"
[ "$over" -eq 0 ] || fail "$over task ids stored more than twice (worst $worst)"
for n in gen csv vault; do kill -TERM "${pid[$n]}"; wait "${pid[$n]}"; done
echo "buffer_outage: a ${OUTAGE}s outage of the buffer node, every vector delivered, at most 2 copies each"
