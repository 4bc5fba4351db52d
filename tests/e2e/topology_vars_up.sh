#!/usr/bin/env bash
# `zsat up` on a topology that takes its run directory and its CSV directory from environment
# variables, a period from a `${VAR:-default}`, its probe from an included file and its
# options through a `<<:` merge: the rows land where the variables say (docs/topology.md).
set -u
BIN=${ZSAT_BIN:?ZSAT_BIN not set}
PY=/usr/bin/python3
"$BIN" help cpu >/dev/null 2>&1 || { echo "SKIP: no cpu kind"; exit 77; }
TMP=$(mktemp -d /tmp/zsat-topovars-up.XXXXXX)
unset ZSAT_RUN_DIR ZSAT_TV_EVERY
export ZSAT_TV_RUN=$TMP/from-variable/run
export ZSAT_TV_CSV=$TMP/from-variable/csv
cleanup () {
    # every child inherited ZSAT_TV_RUN: none may survive
    for env in /proc/[0-9]*/environ; do
        if { tr '\0' '\n' <"$env"; } 2>/dev/null | grep -qxF "ZSAT_TV_RUN=$ZSAT_TV_RUN"; then
            pid=${env#/proc/}; pid=${pid%/environ}
            [ "$pid" != $$ ] && kill -9 "$pid" 2>/dev/null
        fi
    done
    rm -rf "$TMP"
}
trap cleanup EXIT
fail () { echo "FAIL: $*"; for f in "$TMP"/up.out "$TMP"/up.err $(find "$TMP" -name '*.log' 2>/dev/null); do echo "== $f"; tail -n 20 "$f"; done; exit 1; }

mkdir -p "$TMP/conf/parts"
cat >"$TMP/conf/top.yaml" <<'YAML'
name: topovars
run_dir: ${ZSAT_TV_RUN}
include: parts/probes.yaml
x-sink: &sink {kind: csv, options: {flush: every}}
nodes:
  csv: {<<: *sink, options: {flush: every, dir: "${ZSAT_TV_CSV}"}}
links:
  - cpu -> csv
YAML
cat >"$TMP/conf/parts/probes.yaml" <<'YAML'
nodes:
  cpu: {kind: cpu}
schedules:
  - {type: cpu, every: "${ZSAT_TV_EVERY:-500ms}"}
YAML

"$BIN" check "$TMP/conf/top.yaml" || fail "check refused the topology"
timeout -s KILL 120 "$BIN" up "$TMP/conf/top.yaml" --duration 3 --no-status \
    >"$TMP/up.out" 2>"$TMP/up.err"
rc=$?
[ $rc -eq 0 ] || fail "zsat up exited $rc"
grep -q "run directory: $ZSAT_TV_RUN" "$TMP/up.out" || fail "the run directory is not the variable's"
[ -d "$ZSAT_TV_RUN/local/logs" ] || fail "no $ZSAT_TV_RUN/local/logs"
[ -e "$TMP/conf/\${ZSAT_TV_RUN}" ] && fail "a literal \${ZSAT_TV_RUN} directory was made"

"$PY" - "$ZSAT_TV_CSV" <<'PYEOF' || fail "no cpu rows where ZSAT_TV_CSV says"
import csv, glob, os, sys
files = glob.glob(os.path.join(sys.argv[1], "**", "cpu*.csv"), recursive=True)
assert files, "no cpu CSV under %s: %r" % (sys.argv[1], os.listdir(sys.argv[1]) if os.path.isdir(sys.argv[1]) else "missing")
rows = 0
for f in files:
    with open(f, newline="") as handle:
        reader = csv.reader(handle)
        header = next(reader)
        assert "host" in header, header
        rows += sum(1 for row in reader if len(row) == len(header))
print("cpu rows:", rows, "in", files)
assert rows >= 1, "no cpu row"
PYEOF

# the same file with the period's variable set: check reads it (a bad value is refused there)
ZSAT_TV_EVERY=soon "$BIN" check "$TMP/conf/top.yaml" >/dev/null 2>"$TMP/err" && fail "a bad \${ZSAT_TV_EVERY} passed"
grep -qF "$TMP/conf/parts/probes.yaml:4:" "$TMP/err" && grep -qF "(included from $TMP/conf/top.yaml:3:10)" "$TMP/err" \
    || { cat "$TMP/err"; fail "the bad period is not reported in the included file"; }
echo ok
