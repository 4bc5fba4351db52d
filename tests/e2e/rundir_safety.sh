#!/usr/bin/env bash
# SPDX-License-Identifier: MPL-2.0
# Issue 11.8: a run directory another user controls is refused with a clear reason, by
# `zsat up`, `zsat launch` and `zsat node`: a squatted /tmp/zsat-<uid> (0777, owned by
# another user) for a victim running as nobody, a directory chowned to nobody on the path
# of ZSAT_RUN_DIR, a root-owned 0777 one; $XDG_RUNTIME_DIR is preferred when private; the
# ipc sockets of a running topology have no group/other permission bits.
set -u
BIN=${ZSAT_BIN:?ZSAT_BIN not set}
SRC=${ZSAT_SRC:-$(cd "$(dirname "$0")/../.." && pwd)}
[ "$(id -u)" -eq 0 ] || { echo "SKIP: needs root (chown to another user)"; exit 77; }
TOPO=$SRC/topologies/default.yaml
TMP=$(mktemp -d /tmp/zsat-rundir-safety.XXXXXX)
chmod 0755 "$TMP"
VICTIM=65534   # nobody
SQUAT=/tmp/zsat-$VICTIM
made_squat=0
cleanup () {
    for env in /proc/[0-9]*/environ; do
        if { tr '\0' '\n' <"$env"; } 2>/dev/null | grep -q "^ZSAT_RUN_DIR=$TMP"; then
            pid=${env#/proc/}; pid=${pid%/environ}
            [ "$pid" != $$ ] && kill -9 "$pid" 2>/dev/null
        fi
    done
    [ $made_squat -eq 1 ] && rm -rf "$SQUAT"
    rm -rf "$TMP"
}
trap cleanup EXIT
fail () { echo "FAIL: $*"; exit 1; }
unset XDG_RUNTIME_DIR ZSAT_STATE_DIR

# expect_refusal WHAT DIR CMD...: the command fails within bounds, says why, creates nothing.
expect_refusal () {
    local what=$1 dir=$2; shift 2
    timeout -s KILL 60 "$@" >"$TMP/out" 2>"$TMP/err"
    local rc=$?
    [ $rc -ne 0 ] && [ $rc -ne 137 ] || fail "$what: exit $rc, expected a refusal ($(tail -2 "$TMP/err"))"
    grep -q "refusing $dir" "$TMP/err" "$TMP/out" || fail "$what: no clear reason: $(tail -3 "$TMP/err")"
    echo "ok: $what refused: $(grep -ho "refusing [^:]*: [^(]*" "$TMP/err" "$TMP/out" | head -1)"
}

# 1. A directory on ZSAT_RUN_DIR's path owned by another user (root would happily use it).
mkdir "$TMP/squat" && chmod 0777 "$TMP/squat" && chown nobody "$TMP/squat"
export ZSAT_RUN_DIR=$TMP/squat/run
expect_refusal "zsat up in a dir owned by nobody" "$TMP/squat" "$BIN" up "$TOPO" --duration 3 --no-status
grep -q "owned by another user" "$TMP/err" "$TMP/out" || fail "reason does not say 'owned by another user'"
expect_refusal "zsat launch" "$TMP/squat" "$BIN" launch --host local "$TOPO"
expect_refusal "zsat node" "$TMP/squat" "$BIN" node --topology "$TOPO" --node csv --host local
[ ! -e "$TMP/squat/run" ] || fail "zsat created $TMP/squat/run inside the squatted directory"

# 2. Ours but writable by others.
mkdir "$TMP/open" && chmod 0777 "$TMP/open"
export ZSAT_RUN_DIR=$TMP/open/run
expect_refusal "zsat up in a 0777 dir" "$TMP/open" "$BIN" up "$TOPO" --duration 3 --no-status
grep -q "writable by group or others" "$TMP/err" "$TMP/out" || fail "reason does not say 'writable by group or others'"

# 3. The real attack: another user pre-creates /tmp/zsat-<victim uid> (0777) before the
#    victim's first `zsat up` (the default run directory, no ZSAT_RUN_DIR).
unset ZSAT_RUN_DIR
if [ ! -e "$SQUAT" ] && command -v setpriv >/dev/null; then
    made_squat=1
    mkdir "$SQUAT" && chmod 0777 "$SQUAT" && chown daemon "$SQUAT"
    cp "$TOPO" "$TMP/default.yaml" && chmod 0644 "$TMP/default.yaml"
    expect_refusal "victim's zsat up in squatted $SQUAT" "$SQUAT" \
        setpriv --reuid=$VICTIM --regid=$VICTIM --clear-groups "$BIN" up "$TMP/default.yaml" --duration 3 --no-status
    [ -z "$(ls -A "$SQUAT")" ] || fail "the victim's zsat wrote into the squatted $SQUAT: $(ls -A "$SQUAT")"
    rm -rf "$SQUAT"; made_squat=0
else
    echo "note: $SQUAT exists or no setpriv: default-path squat case not run"
fi

# 4. $XDG_RUNTIME_DIR is the default when private (0700, ours), ignored otherwise.
mkdir -m 0700 "$TMP/xdg"
XDG_RUNTIME_DIR=$TMP/xdg "$BIN" show "$TOPO" | head -1 | grep -q "run_dir $TMP/xdg/zsat/default" \
    || fail "XDG_RUNTIME_DIR not used: $(XDG_RUNTIME_DIR=$TMP/xdg "$BIN" show "$TOPO" | head -1)"
chmod 0755 "$TMP/xdg"
XDG_RUNTIME_DIR=$TMP/xdg "$BIN" show "$TOPO" | head -1 | grep -q "run_dir /tmp/zsat-0/default" \
    || fail "a non-private XDG_RUNTIME_DIR was used"
echo "ok: XDG_RUNTIME_DIR preferred when private"

# 5. ipc sockets of a running topology: no access for group or others.
export ZSAT_RUN_DIR=$TMP/good
umask 022
timeout -s KILL 120 "$BIN" up "$TOPO" --duration 8 --no-status >"$TMP/up.out" 2>"$TMP/up.err" &
up=$!
socks=""
for _ in $(seq 1 300); do
    socks=$(find "$ZSAT_RUN_DIR" -type s 2>/dev/null)
    [ "$(echo "$socks" | grep -c .)" -ge 5 ] && break
    sleep 0.1
done
[ -n "$socks" ] || fail "no ipc socket appeared under $ZSAT_RUN_DIR"
bad=$(find "$ZSAT_RUN_DIR" -type s -perm /077 -printf '%m %p\n')
[ -z "$bad" ] || fail "ipc sockets open to group/others: $bad"
files=$(find "$ZSAT_RUN_DIR" -type f -perm /077 -printf '%m %p\n')
wait $up || fail "zsat up failed: $(tail -3 "$TMP/up.err")"
[ -z "$files" ] || fail "files open to group/others: $files"
echo "ok: $(echo "$socks" | grep -c .) ipc sockets, none with group/other bits ($(stat -c %A $(echo "$socks" | head -1)))"
echo PASS
