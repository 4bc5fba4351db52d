#!/usr/bin/env bash
# SPDX-License-Identifier: MPL-2.0
# The Python library's install rule (cmake/python.cmake): `cmake --install --component
# python` puts python/zsat into Debian's <prefix>/lib/python3/dist-packages/zsat and the
# examples into <prefix>/share/zsat/python-examples, the python3-zsat package's copyright and
# changelog into <prefix>/share/doc/python3-zsat, nothing else and no __pycache__; Debian's
# /usr/bin/python3 imports the installed package from there, and an installed example runs
# far enough to refuse a missing topology.
set -u
BUILD=${ZSAT_BUILD:?ZSAT_BUILD not set}
SRC=${ZSAT_SRC:-$(cd "$(dirname "$0")/../.." && pwd)}
TMP=$(mktemp -d /tmp/zsat-python-install.XXXXXX)
trap 'rm -rf "$TMP"' EXIT
fail () { echo "FAIL: $*"; exit 1; }
PREFIX=$TMP/usr
cmake --install "$BUILD" --prefix "$PREFIX" --component python >"$TMP/install.log" 2>&1 \
    || { cat "$TMP/install.log"; fail "cmake --install --component python failed"; }
SITE=$PREFIX/lib/python3/dist-packages
[ -f "$SITE/zsat/__init__.py" ] || { find "$PREFIX"; fail "no $SITE/zsat/__init__.py"; }
for f in "$SRC"/python/zsat/*.py; do
    cmp -s "$f" "$SITE/zsat/$(basename "$f")" || fail "$(basename "$f") not installed as is"
done
for f in "$SRC"/python/examples/*.py; do
    cmp -s "$f" "$PREFIX/share/zsat/python-examples/$(basename "$f")" \
        || fail "example $(basename "$f") not in share/zsat/python-examples"
done
[ -z "$(find "$PREFIX" -name __pycache__ -o -name '*.pyc')" ] || fail "byte code installed"
for f in copyright changelog.Debian.gz; do   # the python3-zsat package's own doc files
    [ -f "$PREFIX/share/doc/python3-zsat/$f" ] || fail "no share/doc/python3-zsat/$f"
done
extra=$(cd "$PREFIX" && find . -type f | grep -v '^./lib/python3/dist-packages/zsat/' \
        | grep -v '^./share/zsat/python-examples/' \
        | grep -vxF -e ./share/doc/python3-zsat/copyright -e ./share/doc/python3-zsat/changelog.Debian.gz)
[ -z "$extra" ] || fail "component python installs more: $extra"
# Imported from the install, not from the source tree (a clean environment, another cwd).
got=$(cd "$TMP" && env -i PATH=/usr/bin:/bin PYTHONPATH="$SITE" PYTHONDONTWRITEBYTECODE=1 \
      /usr/bin/python3 -c 'import zsat; print(zsat.__file__); print(callable(zsat.worker))')
[ "$got" = "$SITE/zsat/__init__.py
True" ] || fail "import zsat from the install gave: $got"
out=$(cd "$TMP" && env -i PATH=/usr/bin:/bin PYTHONPATH="$SITE" PYTHONDONTWRITEBYTECODE=1 \
      /usr/bin/python3 "$PREFIX/share/zsat/python-examples/cpu.py" 2>&1)
rc=$?
[ $rc -ne 0 ] && echo "$out" | grep -q -- "--topology" \
    || fail "installed cpu.py without a topology: exit $rc, $out"
echo "python_install: OK"
