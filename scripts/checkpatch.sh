#!/bin/sh
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# Fails (exit 1) if the kernel-side C is not checkpatch-clean: every BPF
# program and header (*.bpf.c, *.bpf.h), the public kernel-side headers
# (xdp/include/xdpkv/*.h) and the module (kfuncs/*.c, kfuncs/*.h).
#
#   scripts/checkpatch.sh            every such tracked file
#   scripts/checkpatch.sh FILE...    those files
#   CHECKPATCH=/path/to/checkpatch.pl scripts/checkpatch.sh
#
# checkpatch.pl is the kernel's (scripts/checkpatch.pl). Without CHECKPATCH,
# it is taken from Debian's linux-source-6.1 (a dependency of the module's
# build, scripts/deps.sh) and kept in $XDPKV_BUILD_DIR/checkpatch (default:
# build/checkpatch). All errors and warnings count, with the kernel's 100
# column limit, except the findings of the table below: a (file pattern,
# type, pattern of the source line) that checkpatch cannot tell apart from
# a defect, each with its reason. A finding not in the table fails.
set -eu
top=$(git -C "$(dirname "$0")" rev-parse --show-toplevel)
build=${XDPKV_BUILD_DIR:-$top/build}
case "$build" in /*) ;; *) build="$top/$build" ;; esac

cp=${CHECKPATCH:-}
if [ -z "$cp" ]; then
	cp="$build/checkpatch/scripts/checkpatch.pl"
	if [ ! -f "$cp" ]; then
		src=$(ls /usr/src/linux-source-6.1.tar.* 2>/dev/null | head -n 1)
		if [ -z "$src" ]; then
			echo "checkpatch: no checkpatch.pl: install linux-source-6.1 (scripts/deps.sh) or set CHECKPATCH" >&2
			exit 2
		fi
		tmp="$build/checkpatch.tmp.$$"
		rm -rf "$tmp"
		mkdir -p "$tmp"
		tar -xf "$src" -C "$tmp" --strip-components=1 --wildcards \
			'*/scripts/checkpatch.pl' '*/scripts/spelling.txt' '*/scripts/const_structs.checkpatch'
		rm -rf "$build/checkpatch"
		mv "$tmp" "$build/checkpatch"
	fi
fi
command -v perl > /dev/null || { echo "checkpatch: perl not found" >&2; exit 2; }

list=$(mktemp)
out=$(mktemp)
trap 'rm -f "$list" "$out"' EXIT
if [ $# -gt 0 ]; then
	for f in "$@"; do
		realpath "$f"
	done > "$list"
else
	git -C "$top" ls-files -z -- '*.bpf.c' '*.bpf.h' 'xdp/include/xdpkv/*.h' 'kfuncs/*.c' \
		'kfuncs/*.h' | xargs -0 -I{} printf '%s\n' "$top/{}" > "$list"
fi

# The X-macro list of the NIC hint kinds (hints.h XDPKV_HINT_KINDS), and the
# enumerators and fields made of its rows (XDPKV__HINT_*): a list of rows
# cannot be put in parentheses, nor can `A = 1,` or `int a;` for an enum or
# a struct; the kernel's own lists (DEFINE_DROP_REASON) are the same.
hint_xmacro() { # type line
	case "$1" in COMPLEX_MACRO | TRAILING_SEMICOLON) ;; *) return 1 ;; esac
	printf '%s\n' "$2" | grep -Eq '^#define (XDPKV_HINT_KINDS|XDPKV__HINT_[A-Z_]+)\('
}

# The exceptions, by file and type and (but for BPF volatile) source line, each
# with its reason. 0 if checkpatch's finding TYPE on LINE of FILE is one.
allowed() { # file type line
	case "$1" in */xdp/include/xdpkv/hints.h | */xdp/include/xdpkv/xdpkv_hints.bpf.h)
		hint_xmacro "$2" "$3" && return 0 ;;
	esac
	case "$1" in
	*.bpf.c | *.bpf.h)
		# libbpf's read-only globals are `const volatile` (set by the
		# loader, constants to the verifier), and a volatile load keeps
		# clang from deriving a second context access from the first.
		[ "$2" = VOLATILE ] && return 0 ;;
	*/xdp/include/xdpkv/format.h)
		# The definition of __always_inline itself, for user space.
		case "$2" in COMPLEX_MACRO | PREFER_DEFINED_ATTRIBUTE_MACRO)
			printf '%s\n' "$3" | grep -Eq '^#define __always_inline ' && return 0 ;;
		esac ;;
	*/xdp/include/xdpkv/trace.h)
		# X-macros, as the kernel's DEFINE_DROP_REASON: one list of
		# points that each user expands into an enum or a table; the
		# body is a list of X(...) uses, no expression to parenthesize.
		[ "$2" = COMPLEX_MACRO ] && printf '%s\n' "$3" | grep -Eq '^#define XDPKV_[A-Z_]+\(X\)' &&
			return 0 ;;
	*/kfuncs/compat.h)
		# An out-of-tree module built for every kernel from 6.1 on
		# selects by version; and it reproduces upstream's own
		# definitions of __bpf_kfunc (6.4) and __bpf_kfunc_start_defs
		# (6.7) for the kernels before them.
		case "$2" in
		LINUX_VERSION_CODE | CONSTANT_COMPARISON)
			printf '%s\n' "$3" | grep -Eq '^#if LINUX_VERSION_CODE ' && return 0 ;;
		COMPLEX_MACRO)
			printf '%s\n' "$3" | grep -Eq '^#define __bpf_kfunc ' && return 0 ;;
		MULTISTATEMENT_MACRO_USE_DO_WHILE)
			printf '%s\n' "$3" | grep -Eq '^#define __bpf_kfunc_start_defs\(\)' && return 0 ;;
		esac ;;
	esac
	return 1
}

bad=0
total=0
while IFS= read -r f; do
	total=$((total + 1))
	perl "$cp" --no-tree -f --terse --show-types --max-line-length=100 "$f" > "$out" 2>&1 || true
	# file:line: ERROR|WARNING|CHECK:TYPE: message
	while IFS= read -r finding; do
		case "$finding" in total:*) continue ;; esac
		line=$(printf '%s\n' "$finding" | sed -n 's/^[^:]*:\([0-9]*\): .*/\1/p')
		type=$(printf '%s\n' "$finding" | sed -n 's/^[^:]*:[0-9]*: [A-Z]*:\([A-Z0-9_]*\):.*/\1/p')
		if [ -z "$line" ] || [ -z "$type" ]; then
			echo "checkpatch: ${f#"$top"/}: $finding"
			bad=$((bad + 1))
			continue
		fi
		src=$(sed -n "${line}p" "$f")
		allowed "$f" "$type" "$src" && continue
		echo "${f#"$top"/}:${finding#*:}"
		bad=$((bad + 1))
	done < "$out"
done < "$list"

if [ "$bad" -ne 0 ]; then
	echo "checkpatch: $bad finding(s) in $total file(s) (run: perl $cp --no-tree -f FILE)"
	exit 1
fi
echo "checkpatch: $total files clean"
