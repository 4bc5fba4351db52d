# SPDX-License-Identifier: MPL-2.0
# Shared checks of a systemd unit file, for tests/e2e/systemd_units.sh and package_deb.sh.
# unit_check FILE NAME: `systemd-analyze verify` reports nothing about the unit and
# `systemd-analyze security --offline=yes` rates it 3.0 or less. NAME is the unit's name
# (zsat@local.service for the template). Lines about other units on the machine are not
# the unit's problems and are left out. Needs MANPATH to find the man pages it cites.
unit_check () {
    local file=$1 name=$2 dir
    dir=$(mktemp -d /tmp/zsat-unit-check.XXXXXX)
    cp "$file" "$dir/$name"
    ( cd "$dir" && systemd-analyze verify "$dir/$name" ) >"$dir/verify.out" 2>&1
    local rc=$?
    grep -F "$name" "$dir/verify.out" >"$dir/ours" || true
    if [ $rc -ne 0 ] || [ -s "$dir/ours" ]; then
        echo "systemd-analyze verify $name (rc $rc):"; cat "$dir/verify.out"; rm -rf "$dir"; return 1
    fi
    ( cd "$dir" && systemd-analyze security --offline=yes "$dir/$name" ) >"$dir/sec.out" 2>&1
    UNIT_EXPOSURE=$(sed -n 's/.*Overall exposure level for [^:]*: \([0-9.]*\) .*/\1/p' "$dir/sec.out")
    rm -rf "$dir"
    [ -n "$UNIT_EXPOSURE" ] || { echo "no exposure level for $name"; return 1; }
    awk -v e="$UNIT_EXPOSURE" 'BEGIN { exit !(e <= 3.0) }' \
        || { echo "$name: exposure $UNIT_EXPOSURE > 3.0"; return 1; }
    return 0
}
