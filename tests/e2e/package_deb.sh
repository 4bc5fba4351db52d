#!/usr/bin/env bash
# SPDX-License-Identifier: MPL-2.0
# The Debian packages: cpack builds zsat_<version>-1_<arch>.deb and
# python3-zsat_<version>-1_all.deb from this build (one per install component); lintian
# reports no error on either; `dpkg -c` of zsat lists the binary, library, header, pc file,
# man pages, completion, unit and the /etc topology (a conffile) and no Python file; its
# Depends come from dpkg-shlibdeps; its postinst creates the zsat system user.
# python3-zsat holds exactly the Python module, its examples and its doc files, is
# Architecture all, depends on python3, python3-zmq, python3-msgpack and zsat of the same
# version, and byte-compiles in its postinst. The packaged unit, seen where the package puts
# it (both packages' /usr laid over this machine's in a private mount namespace), passes
# `systemd-analyze verify` and rates at most 3.0, and /usr/bin/python3 imports zsat there.
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
pydeb=$TMP/pkg/python3-zsat_${version}-1_all.deb
[ -f "$deb" ] || fail "no $deb: $(ls "$TMP/pkg")"
[ -f "$pydeb" ] || fail "no $pydeb: $(ls "$TMP/pkg")"
[ "$(ls "$TMP/pkg"/*.deb | wc -l)" -eq 2 ] || fail "not two packages: $(ls "$TMP/pkg")"

dpkg-deb -c "$deb" | awk '{print $6}' | sed 's|^\./|/|' >"$TMP/list"
for f in /usr/bin/zsat /usr/lib/libzsat.so.0 /usr/include/zsat.h /usr/lib/pkgconfig/zsat.pc \
         /usr/share/man/man1/zsat.1.gz /usr/share/man/man1/zsat-launch.1.gz \
         /usr/share/bash-completion/completions/zsat /lib/systemd/system/zsat@.service \
         /etc/zsat/topology.yaml /usr/share/doc/zsat/copyright /usr/share/zsat/topologies/default.yaml; do
    grep -qxF "$f" "$TMP/list" || fail "dpkg -c does not list $f"
done
! grep -E '(/dist-packages/|/python-examples/|\.py$)' "$TMP/list" || fail "zsat holds Python files"
echo "ok: dpkg -c lists binary, library, header, pc, man pages, completion, unit, topology"

# python3-zsat: the module and the examples of the source tree, its doc files, nothing more.
dpkg-deb -c "$pydeb" | awk '$1 !~ /^d/ {print $6}' | sed 's|^\./|/|' | sort >"$TMP/pylist"
{ for f in "$SRC"/python/zsat/*.py; do echo "/usr/lib/python3/dist-packages/zsat/${f##*/}"; done
  for f in "$SRC"/python/examples/*.py; do echo "/usr/share/zsat/python-examples/${f##*/}"; done
  echo /usr/share/doc/python3-zsat/copyright; echo /usr/share/doc/python3-zsat/changelog.Debian.gz
} | sort >"$TMP/pywant"
diff "$TMP/pywant" "$TMP/pylist" >"$TMP/pydiff" || fail "python3-zsat files (< wanted, > packaged): $(cat "$TMP/pydiff")"
[ "$(dpkg-deb -f "$pydeb" Architecture)" = all ] || fail "python3-zsat: Architecture $(dpkg-deb -f "$pydeb" Architecture)"
pydepends=$(dpkg-deb -f "$pydeb" Depends)
[ "$pydepends" = "python3, python3-zmq, python3-msgpack, zsat (= ${version}-1)" ] \
    || fail "python3-zsat Depends: $pydepends"
[ "$(dpkg-deb -f "$pydeb" Source)" = zsat ] || fail "python3-zsat Source: $(dpkg-deb -f "$pydeb" Source)"
dpkg-deb -e "$pydeb" "$TMP/pycontrol"
[ "$(ls "$TMP/pycontrol" | tr '\n' ' ')" = "control md5sums postinst prerm " ] \
    || fail "python3-zsat control files: $(ls "$TMP/pycontrol")"
grep -q "py3compile -p python3-zsat" "$TMP/pycontrol/postinst" || fail "python3-zsat postinst does not byte-compile"
grep -q "py3clean -p python3-zsat" "$TMP/pycontrol/prerm" || fail "python3-zsat prerm does not clean"
sh -n "$TMP/pycontrol/postinst" && sh -n "$TMP/pycontrol/prerm" || fail "python3-zsat maintainer script syntax"
echo "ok: python3-zsat: $(wc -l <"$TMP/pylist") files, Depends: $pydepends"

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

# One lintian run for both (it starts slowly); every tag line names its package.
lintian --no-tag-display-limit "$deb" "$pydeb" >"$TMP/lintian.out" 2>&1
rc=$?   # 1: tags of severity error; anything above: lintian itself failed
[ $rc -le 1 ] || fail "lintian failed (exit $rc): $(tail -5 "$TMP/lintian.out")"
errors=$(grep -c "^E:" "$TMP/lintian.out")
grep "^[EW]:" "$TMP/lintian.out" | head -20
[ "$errors" -eq 0 ] && [ $rc -eq 0 ] || fail "lintian: $errors errors (exit $rc)"
echo "ok: lintian (zsat, python3-zsat): 0 errors, $(grep -c "^W:" "$TMP/lintian.out") warnings"

dpkg-deb -x "$deb" "$TMP/root"
dpkg-deb -x "$pydeb" "$TMP/pyroot"
unit=$TMP/root/lib/systemd/system/zsat@.service
grep -qxF 'ExecStart=/usr/bin/zsat launch --host %i ${ZSAT_TOPOLOGY}' "$unit" || fail "packaged ExecStart: $(grep ExecStart "$unit")"
grep -qxF "Environment=ZSAT_TOPOLOGY=/etc/zsat/topology.yaml" "$unit" || fail "packaged unit topology"
if [ "$(id -u)" -eq 0 ] && command -v unshare >/dev/null; then
    # The package's /usr over ours, read-only, in a private mount namespace: /usr/bin/zsat
    # and the man pages exist there as after `dpkg -i`, and nothing changes on this machine.
    unshare --mount --propagation private bash -c '
        mount -t overlay overlay -o "lowerdir=$1/root/usr:$1/pyroot/usr:/usr" /usr || exit 3
        . "$2/tests/lib/units.sh"
        unit_check "$1/root/lib/systemd/system/zsat@.service" zsat@local.service || exit 1
        echo "$UNIT_EXPOSURE" >"$1/exposure"
        /usr/bin/zsat --version >/dev/null || exit 4
        cd / && env -i PATH=/usr/bin:/bin PYTHONDONTWRITEBYTECODE=1 /usr/bin/python3 -c \
            "import zsat; assert callable(zsat.worker); print(zsat.__file__)" >"$1/pyfile" || exit 5
        ' _ "$TMP" "$SRC" || fail "packaged unit or module check (rc $?)"
    [ "$(cat "$TMP/pyfile")" = /usr/lib/python3/dist-packages/zsat/__init__.py ] \
        || fail "packaged zsat imported from $(cat "$TMP/pyfile")"
    echo "ok: packaged zsat@.service: verify clean, exposure $(cat "$TMP/exposure")"
    echo "ok: /usr/bin/python3 imports the packaged zsat module (no PYTHONPATH)"
    # python3-zsat's maintainer scripts with Debian's py3compile/py3clean, which read the
    # package's files from /usr/bin/dpkg -L: a stand-in lists the unpacked package instead, and
    # every write goes to an overlay upper dir under $TMP.
    dpkg-deb -c "$pydeb" | awk '{print $6}' | sed 's|^\./|/|; s|/$||' | grep . >"$TMP/pyfiles"
    mkdir -p "$TMP/fake/usr/bin" "$TMP/upper" "$TMP/work"
    printf '#!/bin/sh\n[ "$1 $2" = "-L python3-zsat" ] && exec cat %s/pyfiles\nexit 1\n' "$TMP" \
        >"$TMP/fake/usr/bin/dpkg"
    chmod 755 "$TMP/fake/usr/bin/dpkg"
    unshare --mount --propagation private bash -c '
        mount -t overlay overlay -o "lowerdir=$1/fake/usr:$1/pyroot/usr:/usr,upperdir=$1/upper,workdir=$1/work" /usr || exit 3
        cache=/usr/lib/python3/dist-packages/zsat/__pycache__
        sh "$1/pycontrol/postinst" configure || exit 4
        ls "$cache"/__init__.cpython-3*.pyc >/dev/null 2>&1 || exit 5
        sh "$1/pycontrol/prerm" remove || exit 6
        [ ! -e "$cache" ] || exit 7' _ "$TMP" || fail "python3-zsat postinst/prerm (rc $?: 5 no byte code, 7 left behind)"
    echo "ok: python3-zsat postinst byte-compiles the module, prerm removes the byte code"
else
    echo "note: not root: packaged unit checked by security only"
    ( cd "$TMP" && systemd-analyze security --offline=yes "$unit" ) | tail -1
fi
echo PASS
