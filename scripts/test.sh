#!/usr/bin/env bash
# The test command: installs dependencies, builds, runs every ctest label
# (unit, bpf, netns, vm, guest) and says, per label, where the tests ran: a
# test that needs what this host's kernel refuses runs in a guest kernel
# (scripts/run-where.sh). Needs root for the BPF tests.
set -euo pipefail
cd "$(dirname "$0")/.."
src=$PWD
scripts/deps.sh
scripts/build.sh
cd "${XDPKV_BUILD_DIR:-build}"
echo "test: this kernel: $(userspace/cli/xdpkv features --need grow_meta,live_frames >/dev/null 2>&1 &&
  echo "Linux $(uname -r) allows growing metadata and live frames: every test runs on the host" ||
  echo "Linux $(uname -r) refuses what some tests need: those run in a guest kernel")"
# Guest kernels, vmlinux images and initramfs take a few GB here and tens of MB in /tmp.
echo "test: free space: $(df -h --output=avail "$PWD" | tail -1 | tr -d ' ') in $PWD, $(df -h --output=avail /tmp | tail -1 | tr -d ' ') in /tmp"
rc=0
# Tests use directories of their own: none may leave the host's default one behind.
host_dir=/sys/fs/bpf/xdpkv
had_host_dir=0
[[ -e $host_dir ]] && had_host_dir=1
ctest --output-on-failure --timeout 600 --output-junit "$PWD/Testing/junit.xml" "$@" || rc=$?
if [[ $had_host_dir == 0 && -e $host_dir ]]; then
  echo "test: FAILED: a test made the host's default directory $host_dir ($(ls -A $host_dir | tr '\n' ' ')); tests must use their own (--bpffs or XDPKV_BPFFS)" >&2
  rc=1
fi
if [[ -s Testing/junit.xml ]]; then
  python3 "$src/scripts/where-summary.py" . Testing/junit.xml || echo "test: no summary of where the tests ran"
fi
exit "$rc"
