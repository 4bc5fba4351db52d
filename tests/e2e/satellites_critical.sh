#!/usr/bin/env bash
# A critical channel through a buffer node, with real `zsat node` processes:
# gen (critical, COUNT vectors) -> vault (buffer) -> csv (flush: every). The csv sink is
# killed -9 mid-stream and restarted, then the buffer node is killed -9 mid-stream and
# restarted. Every one of the COUNT task_ids must end up in the CSV (duplicates allowed,
# counted). Then a buffer over its disk limit: each new vector is either STORED or REFUSED
# and reported by the producer as an ERROR with the reason, never dropped silently. Then a
# worker between two buffers killed -9 twice mid-stream: every task_id reaches the CSV. Also
# the validation of buffer links. Assertions are on counts only; waits are bounded.
set -u
Z=${ZSAT_BIN:?ZSAT_BIN is not set}
COUNT=${ZSAT_CRITICAL_COUNT:-3000}
T=$(mktemp -d /tmp/zsat_sat_critical.XXXXXX)
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
name: satcrit
hosts:
  a: {address: 127.0.0.1}
nodes:
  gen:   {kind: gen, host: a, options: {rate: 500, count: $COUNT, size: 40, type: load,
          critical: true, channel: crit}}
  vault: {kind: buffer, host: a, options: {channel: crit, dir: "$T/buf", ack_timeout: 2s}}
  csv:   {kind: csv, host: a, options: {dir: "$T/csv", flush: every}}
links:
  - gen -> vault
  - vault -> csv
channels:
  crit: {critical: true, durability: batch, consumers: [csv]}
YAML
"$Z" check "$T/topo.yaml" > /dev/null || fail "the topology does not check"

# Validation of buffer links: each problem at its file:line:col.
cat > "$T/bad.yaml" <<'YAML'
name: bad
nodes:
  gen:   {kind: gen}
  vault: {kind: buffer, instances: 2, options: {channel: crit}}
  v2:    {kind: buffer}
  csv:   {kind: csv}
  log:   {kind: log, instances: 2}
links:
  - gen -> vault
  - vault -> csv
  - vault -> log
channels:
  crit: {critical: true, consumers: [log]}
YAML
"$Z" check "$T/bad.yaml" > "$T/check.out" 2>&1 && fail "a bad buffer topology passed check"
for want in "bad.yaml:4:3: node 'vault': a buffer runs once" \
            "bad.yaml:5:3: node 'v2': a buffer needs option channel" \
            "bad.yaml:10:5: link 'vault->csv': 'csv' reads buffer 'vault' but is not in channel 'crit' consumers" \
            "bad.yaml:11:5: link 'vault->log': consumer 'log' of buffer 'vault' must run once"; do
    grep -qF "$want" "$T/check.out" || { cat "$T/check.out"; fail "check did not say: $want"; }
done

declare -A pid
start () {  # node
    "$Z" node --topology "$T/topo.yaml" --node "$1" --host a 2>> "$T/$1.log" &
    pid[$1]=$!
    pids+=("$!")
}
rows () { cat "$T"/csv/*.csv 2> /dev/null | grep -v '^time,' | cut -d, -f4; }
distinct () { rows | sort -u | wc -l; }
# Bounded poll (0.2 s steps, at most 180 s) until the command succeeds.
until_true () {
    for _ in $(seq 1 900); do "$@" && return 0; sleep 0.2; done
    return 1
}
at_least () { [ "$("$1")" -ge "$2" ]; }  # FUNCTION N: FUNCTION prints at least N
stop9 () {  # node: kill -9 and reap it, so its successor finds the channel's lock free
    kill -9 "${pid[$1]}"
    wait "${pid[$1]}" 2> /dev/null
}

start vault
start csv
start gen
# gen needs COUNT/500 s: kill the sink, then the buffer, while it is still producing
# (each once rows show the stream is flowing through it).
until_true at_least distinct $((COUNT / 10)) || fail "no rows before killing csv"
stop9 csv
start csv
until_true at_least distinct $((COUNT / 4)) || fail "no rows after restarting csv"
stop9 vault
start vault
until_true at_least distinct "$COUNT"
got=$(distinct)
total=$(rows | wc -l)
[ "$got" -eq "$COUNT" ] || fail "$got of $COUNT task_ids reached the CSV ($total rows)"
for n in gen csv vault; do
    kill -TERM "${pid[$n]}"
    wait "${pid[$n]}" || fail "node $n did not stop cleanly"
done
echo "satellites_critical: $COUNT task_ids all in the CSV after kill -9 of csv and of the buffer" \
     "($total rows, $((total - got)) duplicates)"

# A full buffer: disk_limit far below what is stored. Each of gen's 20 new vectors is either
# STORED (the limit may free room by collecting acknowledged files) or REFUSED, and then
# reported by gen as an ERROR with the buffer's reason: none may vanish.
last_seq () { "$Z" buffer ls --dir "$T/buf" | awk '$1 == "crit" {print $3}'; }
before=$(last_seq)
sed -i 's/durability: batch,/durability: batch, disk_limit: 4k,/' "$T/topo.yaml"
sed -i "s/count: $COUNT/count: 20/" "$T/topo.yaml"
: > "$T/gen.log"
start vault
start gen
refused_ids () {
    grep -o 'task [0-9]*: out:gen->vault: REFUSED' "$T/gen.log" | cut -d' ' -f2 | tr -d : |
        sort -u
}
# Until each of the 20 is answered: reported refused by gen, or stored (the channel's last
# seq, which `buffer ls` reads while the buffer runs, moved past it).
answered () { local s; s=$(last_seq); echo $(( $(refused_ids | wc -l) + ${s:-$before} - before )); }
until_true at_least answered 20 ||
    fail "only $(answered) of 20 vectors answered ($(refused_ids | wc -l) refused)"
kill -TERM "${pid[gen]}"; wait "${pid[gen]}" || fail "gen did not stop cleanly"
kill -TERM "${pid[vault]}"; wait "${pid[vault]}" || fail "vault did not stop cleanly"
grep -q 'REFUSED: disk limit' "$T/gen.log" || fail "no refusal reported with the buffer's reason"
"$Z" buffer export --dir "$T/buf" --channel crit --format csv --from $((before + 1)) \
    > "$T/export.csv" || fail "export"
stored_ids () { tail -n +2 "$T/export.csv" | cut -d, -f3 | sort -u; }
accounted=$( (refused_ids; stored_ids) | sort -u | wc -l)
[ "$accounted" -eq 20 ] ||
    fail "$accounted of 20 vectors stored or reported refused ($(refused_ids | wc -l) refused)"
echo "satellites_critical: full buffer: $(refused_ids | wc -l) refused (reported as errors)," \
     "$(stored_ids | wc -l) stored, none lost silently"

# A worker between two buffers: gen -> vault -> worker -> results -> csv. The worker
# acknowledges its input only once its output is STORED; killed -9 twice mid-stream, it
# loses nothing.
N2=2000
cat > "$T/chain.yaml" <<YAML
name: satchain
hosts:
  a: {address: 127.0.0.1}
nodes:
  gen:     {kind: gen, host: a, options: {rate: 500, count: $N2, size: 40, type: chain,
            critical: true, channel: data}}
  vault:   {kind: buffer, host: a, options: {channel: data, dir: "$T/buf2", ack_timeout: 2s}}
  worker:  {kind: fault, host: a}
  results: {kind: buffer, host: a, options: {channel: results, dir: "$T/buf2", ack_timeout: 2s}}
  csv:     {kind: csv, host: a, options: {dir: "$T/csv2", flush: every}}
links:
  - gen -> vault
  - vault -> worker
  - worker -> results
  - results -> csv
channels:
  data:    {critical: true, consumers: [worker]}
  results: {critical: true, consumers: [csv]}
YAML
start2 () {  # node
    "$Z" node --topology "$T/chain.yaml" --node "$1" --host a 2>> "$T/chain-$1.log" &
    pid[$1]=$!
    pids+=("$!")
}
rows2 () { cat "$T"/csv2/*.csv 2> /dev/null | grep -v '^time,' | cut -d, -f4; }
for n in vault results csv worker gen; do start2 $n; done
distinct2 () { rows2 | sort -u | wc -l; }
for k in 1 2; do
    until_true at_least distinct2 $((N2 * k / 5)) || fail "chain: no rows before kill $k"
    stop9 worker
    start2 worker
done
until_true at_least distinct2 "$N2"
got=$(rows2 | sort -u | wc -l)
total=$(rows2 | wc -l)
[ "$got" -eq "$N2" ] || fail "chain: $got of $N2 task_ids reached the CSV ($total rows)"
for n in gen worker csv vault results; do
    kill -TERM "${pid[$n]}"
    wait "${pid[$n]}" || fail "chain: node $n did not stop cleanly"
done
echo "satellites_critical: worker between two buffers killed -9 twice: $N2 task_ids all in" \
     "the CSV ($total rows, $((total - got)) duplicates)"
exit 0
