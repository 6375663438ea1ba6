#!/bin/sh
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# Fails (exit 1) if a C or C++ file is not formatted, listing each such file
# with clang-format's diagnostics. The style comes from the file's extension:
# *.c and *.h (BPF, module, kernel-side headers) kernel style, xdp/.clang-format;
# *.cpp and *.hpp Google style, the root .clang-format. The directories'
# .clang-format files say the same for editors, except in the two mixed
# folders (xdp/examples/flowtag, tests/install/consumer), where this script
# is right.
#
#   scripts/check-format.sh            every tracked *.c *.h *.cpp *.hpp
#   scripts/check-format.sh FILE...    those files
#   CLANG_FORMAT=clang-format-15 scripts/check-format.sh
# Fix a file with: clang-format-14 -i --style=file:<its style> FILE
set -eu
top=$(git -C "$(dirname "$0")" rev-parse --show-toplevel)
cf=${CLANG_FORMAT:-clang-format-14}
command -v "$cf" > /dev/null || { echo "check-format: $cf not found (Debian: clang-format-14)" >&2; exit 2; }

list=$(mktemp)
trap 'rm -f "$list"' EXIT
if [ $# -gt 0 ]; then
	for f in "$@"; do
		realpath "$f"
	done > "$list"
else
	git -C "$top" ls-files -z -- '*.c' '*.h' '*.cpp' '*.hpp' | xargs -0 -I{} printf '%s\n' "$top/{}" > "$list"
fi

bad=0
total=0
while IFS= read -r f; do
	case "$f" in
	*.c | *.h) style="$top/xdp/.clang-format" ;;
	*.cpp | *.hpp) style="$top/.clang-format" ;;
	*) echo "check-format: not C or C++: $f" >&2; exit 2 ;;
	esac
	total=$((total + 1))
	if ! "$cf" --dry-run -Werror --ferror-limit=3 --style="file:$style" "$f"; then
		bad=$((bad + 1))
		echo "check-format: not formatted: ${f#"$top"/}" >&2
	fi
done < "$list"
if [ "$bad" -gt 0 ]; then
	echo "check-format: $bad of $total files not formatted" >&2
	exit 1
fi
echo "check-format: $total files formatted"
