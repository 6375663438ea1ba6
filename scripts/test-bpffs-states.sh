#!/bin/sh
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# Runs the registry tests (ctest -R '^Registry' in BUILD_DIR) with /sys/fs/bpf
# in each state a fresh machine may leave it in: (a) not mounted, (b) mounted
# mode=0700 (systemd, and what xdpkv mounts), (c) mounted with the kernel's
# default mode. Each state lives in a private mount namespace
# (unshare -m --propagation private): the host's mounts are left alone.
# Needs root. Exit status: 0 if every state passed, 1 otherwise.
set -eu

if [ $# -ne 1 ] || [ ! -f "$1/CTestTestfile.cmake" ]; then
	echo "usage: $0 BUILD_DIR   (a configured and built xdpkv build directory)" >&2
	exit 2
fi
build=$(cd "$1" && pwd)
failed=""

for state in unmounted mode0700 default; do
	if unshare -m --propagation private sh -eu -c '
		state=$1 build=$2
		# Whatever the host has, start from nothing (mounts may be stacked).
		while mountpoint -q /sys/fs/bpf; do umount -l /sys/fs/bpf; done
		case $state in
		mode0700) mount -t bpf -o mode=0700 bpf /sys/fs/bpf ;;
		default) mount -t bpf bpf /sys/fs/bpf ;;
		esac
		if mountpoint -q /sys/fs/bpf; then
			how="bpffs, mode $(stat -c %a /sys/fs/bpf)"
		else
			how="not mounted"
		fi
		echo "bpffs-states: $state: /sys/fs/bpf $how"
		cd "$build" && ctest -R "^Registry" --output-on-failure
	' sh "$state" "$build"; then
		echo "bpffs-states: $state: passed"
	else
		echo "bpffs-states: $state: FAILED"
		failed="$failed $state"
	fi
done

if [ -n "$failed" ]; then
	echo "bpffs-states: failed in:$failed"
	exit 1
fi
echo "bpffs-states: all three states passed"
