#!/usr/bin/env bash
# SPDX-License-Identifier: MPL-2.0
# Local use goes through ipc, guarded by the run directory (docs/security.md): another local
# user (nobody, via setpriv) can neither connect to a host's ipc sockets (launcher STOP,
# orchester ROUTE DEL, tracker STATUS) nor read the host's CURVE secret key, while the
# owner can. The parent of the run directory is world-traversable here, so only zsat's own
# modes (0700 directories, 0600 secret) stand in the way.
set -u
BIN=${ZSAT_BIN:?ZSAT_BIN not set}
PY=/usr/bin/python3
skip () { echo "SKIP: $*"; exit 77; }
[ "$(id -u)" -eq 0 ] || skip "needs root to act as another user"
command -v setpriv >/dev/null || skip "setpriv is not available"
id nobody >/dev/null 2>&1 || skip "no user nobody"
TMP=$(mktemp -d /tmp/zsat-security-local.XXXXXX)
chmod 0755 "$TMP"
export ZSAT_RUN_DIR=$TMP/run
LA=
cleanup () { [ -n "$LA" ] && kill -9 $LA 2>/dev/null; wait 2>/dev/null; rm -rf "$TMP"; }
trap cleanup EXIT
trap 'exit 1' INT TERM
fail () { echo "FAIL: $*"; tail -n 10 "$TMP"/launch.log; exit 1; }
as_nobody () { setpriv --reuid=nobody --regid=nogroup --clear-groups "$@"; }

cat >"$TMP/t.yaml" <<EOF
name: local
base_port: $((20000 + $$ % 20000))
security: curve
hosts:
  a: {address: 127.0.0.1}
nodes:
  cpu: {kind: cpu, host: a}
  csv: {kind: csv, host: a}
links:
  - cpu -> csv
schedules:
  - {type: cpu, every: 500ms}
EOF
"$BIN" keys init --host a "$TMP/t.yaml" >/dev/null 2>&1 || fail "keys init"
sed -i "s|  a: {address: 127.0.0.1}|  a: {address: 127.0.0.1, curve_key: run/a/curve.cert}|" "$TMP/t.yaml"
"$BIN" check "$TMP/t.yaml" >/dev/null || fail "check"
"$BIN" launch --host a "$TMP/t.yaml" >"$TMP/launch.log" 2>&1 &
LA=$!
for _ in $(seq 1 120); do
    ls "$ZSAT_RUN_DIR"/a/*.ipc >/dev/null 2>&1 && "$BIN" status --topology "$TMP/t.yaml" \
        --timeout 1000 >/dev/null 2>&1 && break
    sleep 0.5
done
"$BIN" status --topology "$TMP/t.yaml" --timeout 5000 >/dev/null || fail "the owner cannot ask the tracker"
[ "$(stat -c %a "$ZSAT_RUN_DIR/a")" = 700 ] || fail "host dir mode $(stat -c %a "$ZSAT_RUN_DIR/a")"

as_nobody cat "$ZSAT_RUN_DIR/a/curve.cert_secret" >/dev/null 2>&1 && fail "nobody read the secret key"
sockets=$(ls "$ZSAT_RUN_DIR"/a/*.ipc)
as_nobody "$PY" - $sockets >"$TMP/nobody.log" 2>&1 <<'PYEOF' || { cat "$TMP/nobody.log"; fail "nobody got in over ipc"; }
import sys, zmq
ctx = zmq.Context()
got = []
for path in sys.argv[1:]:
    for command in ("STOP", "ROUTE DEL cpu cpu", "STATUS"):
        req = ctx.socket(zmq.REQ)
        req.setsockopt(zmq.LINGER, 0)
        try:
            req.connect("ipc://" + path)
            req.send_string(command, zmq.NOBLOCK)
        except zmq.ZMQError:
            req.close()
            continue
        if req.poll(500):
            got.append(f"{path} answered {command}: {req.recv()!r}")
        req.close()
print(len(sys.argv) - 1, "ipc sockets tried")
for line in got:
    print("GOT IN:", line)
sys.exit(1 if got else 0)
PYEOF
cat "$TMP/nobody.log"
kill -0 $LA 2>/dev/null || fail "the launcher stopped"
"$BIN" status --topology "$TMP/t.yaml" --timeout 5000 >/dev/null || fail "the tracker stopped answering its owner"
kill -TERM $LA
for _ in $(seq 1 240); do kill -0 $LA 2>/dev/null || break; sleep 0.5; done
kill -0 $LA 2>/dev/null && fail "the launcher did not stop"
LA=
echo "security_local: OK"
