#!/usr/bin/env bash
# SPDX-License-Identifier: MPL-2.0
# The Debian package: cpack builds zsat_<version>-1_<arch>.deb from this build; lintian
# reports no error; `dpkg -c` lists the binary, library, header, pc file, man pages,
# completion, unit and the /etc topology (a conffile); Depends come from dpkg-shlibdeps;
# the postinst creates the zsat system user; the packaged unit, seen where the package puts
# it (its /usr laid over this machine's in a private mount namespace), passes
# `systemd-analyze verify` and rates at most 3.0.
set -u
BUILD=${ZSAT_BUILD:?ZSAT_BUILD not set}
SRC=${ZSAT_SRC:-$(cd "$(dirname "$0")/../.." && pwd)}
. "$SRC/tests/lib/units.sh"
TMP=$(mktemp -d /tmp/zsat-package-deb.XXXXXX)
trap 'rm -rf "$TMP"' EXIT
fail () { echo "FAIL: $*"; exit 1; }
for tool in cpack dpkg-deb lintian systemd-analyze; do
    command -v $tool >/dev/null || fail "$tool is missing: run scripts/setup"
done

cpack --config "$BUILD/CPackConfig.cmake" -B "$TMP/pkg" >"$TMP/cpack.out" 2>&1 \
    || fail "cpack: $(tail -5 "$TMP/cpack.out")"
version=$("$BUILD/zsat" --version | awk '{print $2}')
deb=$TMP/pkg/zsat_${version}-1_$(dpkg --print-architecture).deb
[ -f "$deb" ] || fail "no $deb: $(ls "$TMP/pkg")"

dpkg-deb -c "$deb" | awk '{print $6}' | sed 's|^\./|/|' >"$TMP/list"
for f in /usr/bin/zsat /usr/lib/libzsat.so.0 /usr/include/zsat.h /usr/lib/pkgconfig/zsat.pc \
         /usr/share/man/man1/zsat.1.gz /usr/share/man/man1/zsat-launch.1.gz \
         /usr/share/bash-completion/completions/zsat /lib/systemd/system/zsat@.service \
         /etc/zsat/topology.yaml /usr/share/doc/zsat/copyright /usr/share/zsat/topologies/default.yaml; do
    grep -qxF "$f" "$TMP/list" || fail "dpkg -c does not list $f"
done
echo "ok: dpkg -c lists binary, library, header, pc, man pages, completion, unit, topology"

depends=$(dpkg-deb -f "$deb" Depends)
for d in adduser libczmq4 libzmq5 libmsgpackc2 libyaml-0-2 libc6; do
    echo "$depends" | grep -q "$d" || fail "Depends lacks $d: $depends"
done
dpkg-deb -e "$deb" "$TMP/control"
grep -qxF /etc/zsat/topology.yaml "$TMP/control/conffiles" || fail "topology.yaml is not a conffile"
grep -q "adduser --system" "$TMP/control/postinst" || fail "postinst does not create the zsat user"
sh -n "$TMP/control/postinst" && sh -n "$TMP/control/postrm" || fail "maintainer script syntax"
grep -q "^libzsat 0 zsat" "$TMP/control/shlibs" || fail "no shlibs entry for libzsat.so.0"
echo "ok: Depends: $depends"

lintian --no-tag-display-limit "$deb" >"$TMP/lintian.out" 2>&1
errors=$(grep -c "^E:" "$TMP/lintian.out")
grep "^[EW]:" "$TMP/lintian.out" | head -20
[ "$errors" -eq 0 ] || fail "lintian: $errors errors"
echo "ok: lintian: 0 errors, $(grep -c "^W:" "$TMP/lintian.out") warnings"

dpkg-deb -x "$deb" "$TMP/root"
unit=$TMP/root/lib/systemd/system/zsat@.service
grep -qxF 'ExecStart=/usr/bin/zsat launch --host %i ${ZSAT_TOPOLOGY}' "$unit" || fail "packaged ExecStart: $(grep ExecStart "$unit")"
grep -qxF "Environment=ZSAT_TOPOLOGY=/etc/zsat/topology.yaml" "$unit" || fail "packaged unit topology"
if [ "$(id -u)" -eq 0 ] && command -v unshare >/dev/null; then
    # The package's /usr over ours, read-only, in a private mount namespace: /usr/bin/zsat
    # and the man pages exist there as after `dpkg -i`, and nothing changes on this machine.
    unshare --mount --propagation private bash -c '
        mount -t overlay overlay -o "lowerdir=$1/root/usr:/usr" /usr || exit 3
        . "$2/tests/lib/units.sh"
        unit_check "$1/root/lib/systemd/system/zsat@.service" zsat@local.service || exit 1
        echo "$UNIT_EXPOSURE" >"$1/exposure"
        /usr/bin/zsat --version >/dev/null || exit 4' _ "$TMP" "$SRC" || fail "packaged unit check (rc $?)"
    echo "ok: packaged zsat@.service: verify clean, exposure $(cat "$TMP/exposure")"
else
    echo "note: not root: packaged unit checked by security only"
    ( cd "$TMP" && systemd-analyze security --offline=yes "$unit" ) | tail -1
fi
echo PASS
