#!/bin/sh
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# Fault: bpffs is unmounted under a running `xdpkv demo`.
#
# In a private mount namespace, a fresh bpffs is mounted on /sys/fs/bpf and
# the same filesystem is also mounted on a watch directory. When the demo has
# made its registry, /sys/fs/bpf is unmounted (lazily, as `umount -l` does to
# a busy mount). Expected:
#   - the data path is not affected: every path's packets reach every
#     consumer with byte-identical stores (programs hold their maps by fd);
#   - what needs bpffs later (the trace section resolves its key by name)
#     fails with a message that names the missing bpf filesystem;
#   - the demo exits non-zero, and removes everything: its namespaces, and its
#     registry directory on the filesystem (seen through the watch mount: a
#     removal by path would miss it, and the pins would outlive the run).
#
#   demo-bpffs-unmounted.sh XDPKV_BINARY
# Needs root. Exit status 0 when every expectation holds.
set -eu
xdpkv=${1:?usage: $0 XDPKV_BINARY}
watch=$(mktemp -d /tmp/xdpkv-bpffs-watch.XXXXXX)
out=$(mktemp /tmp/xdpkv-bpffs-demo.XXXXXX)
trap 'rm -rf "$watch" "$out"' EXIT

unshare -m --propagation private sh -eu -c '
	xdpkv=$1 watch=$2 out=$3
	while mountpoint -q /sys/fs/bpf; do umount -l /sys/fs/bpf; done
	mount -t bpf -o mode=0700 bpf /sys/fs/bpf
	mount --bind /sys/fs/bpf "$watch"
	set +e
	# The demo is stopped while bpffs goes: its next sections must find it
	# gone however fast they come (a guest under TCG runs this shell slowly).
	fifo=$out.fifo
	mkfifo "$fifo"
	stdbuf -oL "$xdpkv" demo --packets 20 --gen socket >"$fifo" 2>&1 &
	pid=$!
	while IFS= read -r line; do
		printf "%s\n" "$line"
		case $line in
		"key ids from the registry in "*)
			kill -STOP "$pid"
			while mountpoint -q /sys/fs/bpf; do umount -l /sys/fs/bpf; done
			echo "test: unmounted /sys/fs/bpf"
			kill -CONT "$pid"
			;;
		esac
	done <"$fifo" >"$out"
	wait "$pid"
	echo "demo-exit: $?" >>"$out"
	rm -f "$fifo"
	set -e
	cat "$out"
	dir=$(sed -n "s|^key ids from the registry in /sys/fs/bpf/\([^ ]*\) .*|\1|p" "$out")
	[ -n "$dir" ] || { echo "FAIL: the demo printed no registry directory"; exit 1; }
	if [ -e "$watch/$dir" ]; then
		echo "FAIL: the registry directory $dir is left on the bpf filesystem:"
		ls -la "$watch/$dir"
		exit 1
	fi
	echo "test: $dir removed from the bpf filesystem"
	umount "$watch"
' sh "$xdpkv" "$watch" "$out" >"$out.log" 2>&1 || { cat "$out.log"; rm -f "$out.log"; exit 1; }
cat "$out.log"
rm -f "$out.log"

fail=0
grep -q "^test: unmounted /sys/fs/bpf" "$out" || { echo "FAIL: bpffs was never unmounted"; fail=1; }
grep -q "no bpf filesystem is mounted on /sys/fs/bpf" "$out" ||
	{ echo "FAIL: no message names the missing bpf filesystem"; fail=1; }
grep -q "^summary: .*every packet reached every consumer with a byte-identical store; THE TRACE COULD NOT RUN" "$out" ||
	{ echo "FAIL: the summary does not say that the packets arrived and the trace could not run"; fail=1; }
n=$(grep -c "20 sent: 20 tagged, 20 seen by every consumer, 20 byte-identical" "$out" || true)
[ "$n" -eq 3 ] || { echo "FAIL: $n of 3 paths delivered every packet to every consumer"; fail=1; }
code=$(sed -n "s/^demo-exit: //p" "$out")
[ "$code" = 1 ] || { echo "FAIL: demo exit status '$code', expected 1 (a section could not run)"; fail=1; }
for ns in $(sed -n "s/^namespaces \([^,]*\), \([^,]*\), \([^ ]*\) .*/\1 \2 \3/p" "$out"); do
	if ip netns list | grep -qw "$ns"; then
		echo "FAIL: namespace $ns left behind"
		ip netns del "$ns" || true
		fail=1
	fi
done
[ $fail -eq 0 ] && echo "demo-bpffs-unmounted: passed"
exit $fail
