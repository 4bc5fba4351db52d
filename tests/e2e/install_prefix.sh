#!/usr/bin/env bash
# SPDX-License-Identifier: MPL-2.0
# The installed layout, as an operator meets it: `cmake --install` into a prefix, the prefix
# moved elsewhere, the source tree hidden (a tmpfs mounted over it in a private mount
# namespace, as root; else only the `strings` check). Then: no binary carries the source
# path; `zsat up --duration 5` with the installed default topology writes rows; `man -l`
# renders the installed pages; pkg-config finds zsat and a C satellite built outside the
# tree joins a topology and its vectors reach a csv sink; bash completion lists commands,
# flags, hosts and nodes.
set -u
BUILD=${ZSAT_BUILD:?ZSAT_BUILD not set}
SRC=${ZSAT_SRC:-$(cd "$(dirname "$0")/../.." && pwd)}
TMP=$(mktemp -d /tmp/zsat-install-prefix.XXXXXX)
export ZSAT_RUN_DIR=$TMP/run
unset ZSAT_DATA_DIR ZSAT_STATE_DIR
cleanup () {
    for env in /proc/[0-9]*/environ; do
        if { tr '\0' '\n' <"$env"; } 2>/dev/null | grep -qxF "ZSAT_RUN_DIR=$ZSAT_RUN_DIR"; then
            pid=${env#/proc/}; pid=${pid%/environ}
            [ "$pid" != $$ ] && kill -9 "$pid" 2>/dev/null
        fi
    done
    rm -rf "$TMP"
}
trap cleanup EXIT
fail () { echo "FAIL: $*"; for f in "$TMP"/*.err $(find "$ZSAT_RUN_DIR" -name '*.log' 2>/dev/null); do echo "== $f"; tail -n 20 "$f"; done; exit 1; }

cmake --install "$BUILD" --prefix "$TMP/inst" --strip >"$TMP/install.out" 2>"$TMP/install.err" \
    || fail "cmake --install failed"
P=$TMP/moved
mv "$TMP/inst" "$P"   # a prefix that was moved: nothing may point back to where it was built
for f in bin/zsat lib/libzsat.so lib/pkgconfig/zsat.pc include/zsat.h share/man/man1/zsat.1.gz \
         share/man/man1/zsat-up.1.gz share/zsat/topologies/default.yaml \
         share/zsat/harness/scenarios/steady.yaml share/zsat/docs/tracker-fsm.dot \
         share/bash-completion/completions/zsat lib/systemd/system/zsat@.service \
         etc/zsat/topology.yaml; do
    [ -e "$P/$f" ] || fail "not installed: $f"
done
so=$(readlink "$P/lib/libzsat.so")
objdump -p "$P/lib/libzsat.so" | grep -q "SONAME *libzsat.so.0" || fail "libzsat.so has no SONAME libzsat.so.0 ($so)"

# No source path in any installed binary (the checkout, the build tree). Sanitizer builds
# (never shipped) keep source locations in their reports on purpose: not checked there.
if objdump -p "$P/lib/$so" | grep -q "NEEDED.*lib[au]san"; then
    echo "note: sanitizer build: the strings check is for release builds"
else
    for f in "$P/bin/zsat" "$P/lib/$so"; do
        if strings -a "$f" | grep -F -e "$SRC" -e "$BUILD" >"$TMP/strings.err"; then
            fail "$f contains source paths: $(head -3 "$TMP/strings.err")"
        fi
    done
    echo "ok: no source path in bin/zsat and lib/$so"
fi

# Runs a command with the source tree out of reach when we can hide it.
hidden () {
    if [ "$(id -u)" -eq 0 ] && command -v unshare >/dev/null; then
        unshare --mount --propagation private bash -c \
            'mount -t tmpfs -o ro,size=1m none "$0" && [ ! -e "$0/CMakeLists.txt" ] && exec "$@"' \
            "$SRC" "$@"
    else
        "$@"
    fi
}
[ "$(id -u)" -eq 0 ] && { hidden true || fail "cannot hide $SRC in a mount namespace"; }

# The installed default topology, found from the binary's own place; no topologies/ here.
cd "$TMP"
hidden timeout -s KILL 120 flock /tmp/zsat-heavy.lock "$P/bin/zsat" up --duration 5 --no-status \
    >"$TMP/up.out" 2>"$TMP/up.err" || fail "zsat up with the installed default topology failed"
grep -q "topology default" "$TMP/up.out" "$TMP/up.err" || grep -q "default" "$TMP/up.out" \
    || fail "zsat up did not run the default topology"
rows=0
for f in "$ZSAT_RUN_DIR"/local/csv/*.csv; do
    [ -f "$f" ] && rows=$((rows + $(wc -l <"$f") - 1))
done
[ "$rows" -ge 4 ] || fail "the installed default topology wrote $rows csv rows"
echo "ok: zsat up from the moved prefix wrote $rows csv rows"

# Data paths: the selftest-free CLI finds the FSM picture and scenarios in share/zsat.
hidden "$P/bin/zsat" harness check "$P/share/zsat/harness/scenarios/steady.yaml" >"$TMP/hc.out" 2>&1 \
    || fail "harness check of the installed scenario: $(cat "$TMP/hc.out")"

# man pages render.
for page in zsat zsat-up zsat-systemd; do
    MANWIDTH=80 man --warnings -l "$P/share/man/man1/$page.1.gz" >"$TMP/man.out" 2>"$TMP/man.err" \
        || fail "man -l $page failed"
    [ ! -s "$TMP/man.err" ] || fail "man -l $page warns: $(head -3 "$TMP/man.err")"
    grep -q "SYNOPSIS" "$TMP/man.out" || fail "man -l $page: no SYNOPSIS"
done
grep -q "zsat up \[FILE\]" "$TMP/man.out" 2>/dev/null || MANWIDTH=80 man -l "$P/share/man/man1/zsat-up.1.gz" \
    | grep -q "zsat up \[FILE\]" || fail "zsat-up(1) lacks its usage line"
echo "ok: man -l renders zsat(1), zsat-up(1), zsat-systemd(1)"

# pkg-config and a satellite written outside the tree.
export PKG_CONFIG_PATH=$P/lib/pkgconfig
pkg-config --exists zsat || fail "pkg-config does not find zsat"
[ "$(pkg-config --modversion zsat)" = "$("$P/bin/zsat" --version | awk '{print $2}')" ] \
    || fail "zsat.pc version differs from zsat --version"
mkdir -p "$TMP/sat"
cp "$SRC/tests/lib/ext_satellite.c" "$TMP/sat/"
# A sanitizer build's libzsat needs its runtime first: build the satellite the same way.
san=""
objdump -p "$P/lib/$so" | grep -q "NEEDED.*libasan" && san="-fsanitize=address,undefined"
( cd "$TMP/sat" && hidden cc -Wall -Werror $san -o ext_satellite ext_satellite.c $(pkg-config --cflags --libs zsat) ) \
    2>"$TMP/cc.err" || fail "the out-of-tree satellite does not compile: $(head -5 "$TMP/cc.err")"
cat >"$TMP/ext.yaml" <<YAML
name: ext
run_dir: $TMP/extrun
nodes:
  ext: {kind: fault}    # the program built above; declared for its link
  csv: {kind: csv, options: {dir: $TMP/extcsv, flush: every}}
links:
  - {from: ext, to: csv, endpoint: "ipc://$TMP/ext-csv.ipc"}
YAML
hidden "$P/bin/zsat" node --topology "$TMP/ext.yaml" --node csv --host local >"$TMP/node.out" 2>"$TMP/node.err" &
node=$!
LD_LIBRARY_PATH=$P/lib hidden "$TMP/sat/ext_satellite" "$TMP/ext.yaml" ext local 20 >"$TMP/ext.out" 2>"$TMP/ext.err" \
    || fail "ext_satellite failed"
for _ in $(seq 1 200); do
    [ -f "$TMP/extcsv/ext.csv" ] && [ "$(grep -c c-outside "$TMP/extcsv/ext.csv")" -ge 20 ] && break
    sleep 0.1
done
kill -TERM $node; wait $node
got=$(grep -c c-outside "$TMP/extcsv/ext.csv" 2>/dev/null || echo 0)
[ "$got" -eq 20 ] || fail "the csv sink stored $got of 20 vectors from the out-of-tree satellite"
echo "ok: a satellite built with pkg-config outside the tree sent 20 vectors, csv stored 20"

# Bash completion: commands, flags, and the host and node names of a topology.
complete_words () {  # words... : prints COMPREPLY
    PATH=$P/bin:$PATH bash -c 'source "$0"; COMP_WORDS=("${@}"); COMP_CWORD=$(($# - 1)); _zsat; printf "%s\n" "${COMPREPLY[@]}"' \
        "$P/share/bash-completion/completions/zsat" "$@"
}
complete_words zsat sys | grep -qx systemd || fail "completion: no command systemd"
complete_words zsat launch --h | grep -qx -- --host || fail "completion: no flag --host for launch"
two=$P/share/zsat/topologies/two-hosts.yaml
[ "$(complete_words zsat launch "$two" --host "" | sort | tr '\n' ' ')" = "a b " ] \
    || fail "completion: hosts of two-hosts.yaml: $(complete_words zsat launch "$two" --host "")"
complete_words zsat node --topology "$two" --node c | grep -qx cpu || fail "completion: node cpu"
echo "ok: bash completion of commands, flags, hosts and nodes"
echo "PASS"
