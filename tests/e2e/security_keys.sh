#!/usr/bin/env bash
# SPDX-License-Identifier: MPL-2.0
# `zsat keys` and `zsat check` as docs/security.md describes them: init writes a public
# certificate and a 0600 secret (never overwritten without --force), export prints the same
# public key, import stores a public key alone; check refuses a two-host topology without
# keys, a key that does not parse and a missing operator key file (file:line:col and the
# command that fixes it), and warns about `security: none`. No sockets, no namespaces.
set -u
BIN=${ZSAT_BIN:?ZSAT_BIN not set}
TMP=$(mktemp -d /tmp/zsat-security-keys.XXXXXX)
trap 'rm -rf "$TMP"' EXIT
export ZSAT_RUN_DIR=$TMP/run
failures=0
fail () { echo "FAIL: $*"; failures=$((failures + 1)); }
mode () { stat -c %a "$1"; }

topo () {  # $1: extra text of host a, $2: of host b, $3: more top-level lines
    cat >"$TMP/t.yaml" <<EOF
name: keys
hosts:
  a: {address: 198.18.9.1$1}
  b: {address: 198.18.9.2$2}
$3
nodes:
  cpu: {kind: cpu, host: b}
  csv: {kind: csv, host: a}
links:
  - cpu -> csv
EOF
}
topo "" "" ""

# init: public 0644, secret 0600, key on stdout; a second init refuses, --force replaces.
key_a=$("$BIN" keys init --host a "$TMP/t.yaml" 2>"$TMP/err") || fail "keys init a: $(cat "$TMP/err")"
cert=$ZSAT_RUN_DIR/a/curve.cert
[ -f "$cert" ] && [ -f "${cert}_secret" ] || fail "no $cert and ${cert}_secret"
[ "$(mode "${cert}_secret")" = 600 ] || fail "secret mode $(mode "${cert}_secret"), expected 600"
[ "$(mode "$ZSAT_RUN_DIR/a")" = 700 ] || fail "host dir mode $(mode "$ZSAT_RUN_DIR/a"), expected 700"
[ ${#key_a} -eq 40 ] || fail "key '$key_a' is not 40 characters"
grep -q "secret-key" "$cert" && fail "the public file holds the secret key"
"$BIN" keys init --host a "$TMP/t.yaml" >/dev/null 2>"$TMP/err" && fail "init overwrote a key"
grep -q -- "--force" "$TMP/err" || fail "refusal does not name --force: $(cat "$TMP/err")"
[ "$("$BIN" keys export --host a "$TMP/t.yaml")" = "$key_a" ] || fail "export differs from init"
key_a2=$("$BIN" keys init --host a --force "$TMP/t.yaml" 2>/dev/null) || fail "init --force"
[ "$key_a2" != "$key_a" ] && [ "$(mode "${cert}_secret")" = 600 ] || fail "--force kept the key or the mode"
"$BIN" keys init --host nosuch "$TMP/t.yaml" >/dev/null 2>&1 && fail "init for an unknown host"

# An operator and a host key made with --dir; import stores a public key alone.
"$BIN" keys init --operator op --dir "$TMP/ops" >/dev/null 2>&1 || fail "operator init"
[ "$(mode "$TMP/ops/op.cert_secret")" = 600 ] || fail "operator secret mode"
[ "$(mode "$TMP/ops")" = 700 ] || fail "key directory mode $(mode "$TMP/ops"), expected 700"
key_b=$("$BIN" keys init --host b --dir "$TMP/b" 2>/dev/null) || fail "init --dir"
"$BIN" keys import --name b --dir "$TMP/pub" "$key_b" >/dev/null || fail "import"
[ -f "$TMP/pub/b.cert" ] && [ ! -e "$TMP/pub/b.cert_secret" ] || fail "import wrote a secret"
[ "$("$BIN" keys export --cert "$TMP/pub/b.cert")" = "$key_b" ] || fail "import changed the key"
"$BIN" keys import --name b --dir "$TMP/pub" "not-a-key" >/dev/null 2>&1 && fail "imported garbage"

# check: no keys -> both hosts named with the fix; a bad key -> its line:col; fixed -> ok.
"$BIN" check "$TMP/t.yaml" >/dev/null 2>"$TMP/err" && fail "check passed without keys"
grep -qF "$TMP/t.yaml:3:3: host 'a' has no curve_key" "$TMP/err" || fail "no error at a's line: $(cat "$TMP/err")"
grep -qF "zsat keys init --host b $TMP/t.yaml" "$TMP/err" || fail "no fix named for b: $(cat "$TMP/err")"
topo ", curve_key: \"$key_a2\"" ", curve_key: \"tooshort\"" ""
"$BIN" check "$TMP/t.yaml" >/dev/null 2>"$TMP/err" && fail "check passed a bad key"
grep -qF "$TMP/t.yaml:4:39: host 'b': curve_key:" "$TMP/err" || fail "bad key not at 4:39: $(cat "$TMP/err")"
topo ", curve_key: \"$key_a2\"" ", curve_key: pub/b.cert" "operators:
  - {name: op, key: ops/missing.cert}"
"$BIN" check "$TMP/t.yaml" >/dev/null 2>"$TMP/err" && fail "check passed a missing operator key"
grep -qF "$TMP/t.yaml:6:21: operator 'op'" "$TMP/err" || fail "operator key error: $(cat "$TMP/err")"
topo ", curve_key: \"$key_a2\"" ", curve_key: pub/b.cert" "operators:
  - {name: op, key: ops/op.cert}"
"$BIN" check "$TMP/t.yaml" >/dev/null 2>"$TMP/err" || fail "check refused good keys: $(cat "$TMP/err")"
topo "" "" "security: none"
"$BIN" check "$TMP/t.yaml" >/dev/null 2>"$TMP/err" || fail "security: none refused"
grep -qF "$TMP/t.yaml:5:11: warning: security: none" "$TMP/err" || fail "no warning: $(cat "$TMP/err")"
topo "" "" "security: maybe"
"$BIN" check "$TMP/t.yaml" >/dev/null 2>"$TMP/err" && fail "security: maybe accepted"
grep -qF "$TMP/t.yaml:5:11: security must be 'curve' or 'none'" "$TMP/err" || fail "bad security: $(cat "$TMP/err")"

# A node of a keyless two-host topology refuses to start, naming the fix.
topo "" "" ""
timeout 30 "$BIN" node --topology "$TMP/t.yaml" --node csv --host a >/dev/null 2>"$TMP/err" \
    && fail "a node started without keys"
grep -qF "zsat keys init --host a" "$TMP/err" || fail "node refusal names no fix: $(cat "$TMP/err")"

[ $failures -eq 0 ] || exit 1
echo "security_keys: OK"
