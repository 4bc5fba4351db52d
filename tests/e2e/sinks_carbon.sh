#!/usr/bin/env bash
# The carbon sink against a real Graphite carbon-cache (Debian graphite-carbon) started on
# loopback with a private config: ten points written through the kind (selftest "sinks" with
# ZSAT_CARBON_PORT) are read back from the whisper file with whisper-fetch.
set -u
command -v carbon-cache >/dev/null && command -v whisper-fetch >/dev/null || {
    echo "carbon-cache or whisper-fetch not installed: skipped"; exit 77; }
build=${ZSAT_BUILD:?ZSAT_BUILD not set}
tmp=$(mktemp -d /tmp/zsat-sinks-carbon-XXXXXX)
. "$(dirname "$0")/../lib/carbon.sh"
cleanup() {
    carbon_stop
    rm -rf "$tmp"
}
trap cleanup EXIT

carbon_start "$tmp" || exit 1

since=$(( $(date +%s) - 30 ))
ZSAT_CARBON_PORT=$line_port "$build/zsat_selftest" -t sinks || { echo "selftest failed"; exit 1; }

wsp="$tmp/storage/whisper/zsat/sinkse2e/h1/probe/value.wsp"
for _ in $(seq 200); do
    if [ -f "$wsp" ]; then
        values=$(whisper-fetch --from="$since" "$wsp" | awk '$2 != "None" {print $2}' | sort -n | tr '\n' ' ')
        [ "$values" = "0.000000 1.000000 2.000000 3.000000 4.000000 5.000000 6.000000 7.000000 8.000000 9.000000 " ] && {
            echo "carbon: 10 points read back from $wsp"; exit 0; }
    fi
    sleep 0.1
done
echo "expected points 0..9 in $wsp, got: ${values:-no file}"
ls -R "$tmp/storage/whisper" | head -20
cat "$tmp/log/stdout" | tail -20
exit 1
