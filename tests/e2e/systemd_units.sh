#!/usr/bin/env bash
# SPDX-License-Identifier: MPL-2.0
# `zsat systemd` writes units fit for production: User=zsat, state/logs/runtime directories,
# data on disk (never /run), restart on failure, after network-online.target, reload by
# SIGHUP, hardening; `systemd-analyze verify` is clean and `systemd-analyze security` rates
# the host unit and the template unit at most 3.0 ("OK"). Bad usage is refused.
set -u
BIN=${ZSAT_BIN:?ZSAT_BIN not set}
BUILD=${ZSAT_BUILD:-$(dirname "$BIN")}
SRC=${ZSAT_SRC:-$(cd "$(dirname "$0")/../.." && pwd)}
command -v systemd-analyze >/dev/null || { echo "SKIP: no systemd-analyze (apt-get install systemd)"; exit 77; }
. "$SRC/tests/lib/units.sh"
TMP=$(mktemp -d /tmp/zsat-systemd-units.XXXXXX)
trap 'rm -rf "$TMP"' EXIT
fail () { echo "FAIL: $*"; exit 1; }
export MANPATH=$BUILD/man:/usr/share/man

"$BIN" systemd --host local "$SRC/topologies/default.yaml" -o "$TMP" >"$TMP/out" 2>&1 || fail "zsat systemd: $(cat "$TMP/out")"
unit=$TMP/zsat-default-local.service
[ -f "$unit" ] || fail "no $unit"
for line in "User=zsat" "Group=zsat" "Restart=on-failure" "After=network-online.target" \
            "Wants=network-online.target" "RuntimeDirectory=zsat-default-local" \
            "RuntimeDirectoryMode=0700" "StateDirectory=zsat/default-local" \
            "LogsDirectory=zsat/default-local" "Environment=ZSAT_STATE_DIR=/var/lib/zsat/default-local" \
            "ProtectSystem=strict" "ProtectHome=yes" "PrivateTmp=yes" "NoNewPrivileges=yes" \
            "CapabilityBoundingSet=CAP_NET_RAW" "SystemCallFilter=@system-service" \
            "ExecReload=/bin/kill -HUP \$MAINPID" "KillMode=mixed"; do
    grep -qxF "$line" "$unit" || fail "unit lacks '$line'"
done
grep -q "ExecStart=$(readlink -f "$BIN") launch --host local $SRC/topologies/default.yaml" "$unit" \
    || fail "ExecStart: $(grep ExecStart "$unit")"
# Data never on tmpfs: the state directory is where sinks write, and it is not under /run.
grep -q "ZSAT_STATE_DIR=/run" "$unit" && fail "data under /run"
grep -qi "file://" "$unit" && fail "the unit points into a checkout: $(grep -i file:// "$unit")"
grep -q "adduser --system" "$TMP/out" || fail "install hint does not say how to create the zsat user"
unit_check "$unit" zsat-default-local.service || fail "host unit"
echo "ok: zsat-default-local.service: verify clean, exposure $UNIT_EXPOSURE"

"$BIN" systemd --template --exec /usr/bin/zsat -o "$TMP" >/dev/null || fail "zsat systemd --template"
grep -qxF 'ExecStart=/usr/bin/zsat launch --host %i ${ZSAT_TOPOLOGY}' "$TMP/zsat@.service" \
    || fail "template ExecStart: $(grep ExecStart "$TMP/zsat@.service")"
grep -qxF "Environment=ZSAT_TOPOLOGY=/etc/zsat/topology.yaml" "$TMP/zsat@.service" || fail "template topology"
# verify needs the ExecStart binary to exist: point the template at this build's binary.
sed "s|/usr/bin/zsat|$(readlink -f "$BIN")|" "$TMP/zsat@.service" >"$TMP/t.service"
unit_check "$TMP/t.service" zsat@local.service || fail "template unit"
echo "ok: zsat@.service: verify clean, exposure $UNIT_EXPOSURE"

"$BIN" systemd --host nosuch "$SRC/topologies/default.yaml" -o "$TMP" >/dev/null 2>"$TMP/err" && fail "unknown host accepted"
grep -q "host 'nosuch' is not in" "$TMP/err" || fail "unknown host: $(cat "$TMP/err")"
"$BIN" systemd --host local >/dev/null 2>&1; [ $? -eq 2 ] || fail "missing FILE is not a usage error"
echo PASS
