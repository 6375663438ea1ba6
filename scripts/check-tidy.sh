#!/bin/sh
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# Fails (exit 1) if clang-tidy reports anything on the project's C++: every
# *.cpp of BUILD_DIR/compile_commands.json below userspace/, registry/,
# drivers/, tests/, bench/ and xdp/examples/, with the checks of the root
# .clang-tidy (and the headers its HeaderFilterRegex names), two files at a
# time. Prints each finding once.
#
#   scripts/check-tidy.sh [BUILD_DIR]       default: build
#   CLANG_TIDY=clang-tidy-15 RUN_CLANG_TIDY=run-clang-tidy-15 scripts/check-tidy.sh
set -eu
top=$(git -C "$(dirname "$0")" rev-parse --show-toplevel)
build=${1:-$top/build}
tidy=${CLANG_TIDY:-clang-tidy-14}
runner=${RUN_CLANG_TIDY:-run-clang-tidy-14}
for t in "$tidy" "$runner"; do
	command -v "$t" > /dev/null || { echo "check-tidy: $t not found (Debian: clang-tidy-14)" >&2; exit 2; }
done
[ -f "$build/compile_commands.json" ] || {
	echo "check-tidy: no $build/compile_commands.json (configure the build first)" >&2
	exit 2
}

# The project's C++ (not generated or third-party files).
files_re="$top/(userspace|registry|drivers|tests|bench|xdp/examples)/[^\"]*\\.cpp"
out=$(mktemp)
trap 'rm -f "$out"' EXIT
# run-clang-tidy exits 0 on warnings; its own failure (a file that does not
# compile) is an error here too.
rc=0
"$runner" -clang-tidy-binary "$(command -v "$tidy")" -p "$build" -j 2 -quiet \
	"^$files_re\$" > "$out" 2>&1 || rc=$?
findings=$(sed 's/\x1b\[[0-9;]*m//g' "$out" | grep -E '^/.*: (warning|error): ' | sort -u)
if [ -n "$findings" ]; then
	printf '%s\n' "$findings" | sed "s|^$top/||"
	echo "check-tidy: $(printf '%s\n' "$findings" | wc -l) finding(s)"
	exit 1
fi
if [ "$rc" -ne 0 ]; then
	sed 's/\x1b\[[0-9;]*m//g' "$out" | tail -n 40
	echo "check-tidy: clang-tidy failed (exit $rc)"
	exit 1
fi
files=$(grep -oE "\"file\": \"$files_re\"" "$build/compile_commands.json" | sort -u | wc -l)
echo "check-tidy: $files C++ files, no findings"
