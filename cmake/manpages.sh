#!/usr/bin/env bash
# SPDX-License-Identifier: MPL-2.0
# Writes the man pages from the one source of every command's documentation, its --help
# text: zsat(1) from `zsat --help`, zsat-<command>(1) from `zsat <command> --help`.
# Usage: manpages.sh ZSAT_BIN OUT_DIR VERSION. Pages are gzipped (-n: reproducible).
set -eu
bin=$1 out=$2 version=$3
export ASAN_OPTIONS=detect_leaks=0   # a sanitizer build runs the same binary here
mkdir -p "$out/man1"
date=$(date -u -d "@${SOURCE_DATE_EPOCH:-$(date +%s)}" +%Y-%m-%d 2>/dev/null || echo 1970-01-01)

# roff-escape one line: backslashes, and a leading . or ' that roff would take as a request.
esc() { sed -e 's/\\/\\e/g' -e "s/^\([.']\)/\\\\\&\1/" -e 's/-/\\-/g'; }

# Body of --help after the usage line: plain lines are filled paragraphs, indented lines
# (options, tables, examples) are kept as they are.
body() {
    local mode=text line
    while IFS= read -r line; do
        if [ -z "$line" ]; then
            [ $mode = pre ] && echo ".fi"
            echo ".PP"; mode=text
        elif [[ $line == " "* ]]; then
            [ $mode = text ] && echo ".nf"
            mode=pre; printf '%s\n' "$line" | esc
        else
            [ $mode = pre ] && { echo ".fi"; mode=text; }
            printf '%s\n' "$line" | esc
        fi
    done
    [ $mode = pre ] && echo ".fi"
    return 0
}

page() {  # name section-title summary helptext
    local name=$1 summary=$2 help=$3
    {
        echo ".TH \"$(echo "$name" | tr a-z A-Z)\" 1 \"$date\" \"zsat $version\" \"zsat manual\""
        echo ".SH NAME"
        printf '%s \\- %s\n' "$(printf '%s' "$name" | esc)" "$(printf '%s' "$summary" | esc)"
        echo ".SH SYNOPSIS"
        printf '%s\n' "$help" | sed -n '1s/^usage: //p' | esc
        echo ".SH DESCRIPTION"
        printf '%s\n' "$help" | sed '1d' | sed '/./,$!d' | body
        echo ".SH SEE ALSO"
        echo "$4"
    } >"$out/man1/$name.1"
    gzip -9nf "$out/man1/$name.1"
}

main_help=$("$bin" --help)
commands=$(printf '%s\n' "$main_help" | sed -n '/^commands:/,/^$/p' | sed -n 's/^  \([a-z][a-z0-9-]*\)  *\(.*\)$/\1\t\2/p')
page zsat "distributed measurement topologies on ZeroMQ" "$main_help" \
    "$(printf '%s\n' "$commands" | cut -f1 | sed 's/.*/.BR zsat-& (1)/' | sed 's/-/\\-/g')"
while IFS=$'\t' read -r cmd summary; do
    help=$("$bin" "$cmd" --help 2>&1) || true
    case $help in usage:*) ;; *) help="usage: zsat $cmd
$help" ;; esac
    page "zsat-$cmd" "$summary" "$help" ".BR zsat (1)"
done <<<"$commands"
