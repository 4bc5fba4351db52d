#!/usr/bin/env bash
# The tree is formatted with the committed .clang-format (czmq-like style).
cd "${ZSAT_SRC:-$(dirname "$0")/../..}" || exit 1
files=$(git ls-files '*.c' '*.h' 2>/dev/null || find . -name '*.[ch]' -not -path './build*')
[ -n "$files" ] || { echo "no sources found"; exit 1; }
clang-format --dry-run --Werror $files
