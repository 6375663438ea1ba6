#!/usr/bin/env bash
# Boots a guest kernel in QEMU (TCG: no KVM needed) with the initramfs of
# mkinitramfs.sh, lets the guest run its tests, and reports their result.
#
#   tests/vm/run-vm.sh IMAGE_DIR
#
# The kernel is the ELF vmlinux extracted from the bzImage, which QEMU boots
# directly through its PVH entry point. The guest prints "xdpkv-vm: ..."
# lines and ends with "XDPKV-VM-RESULT: PASS|FAIL <uname -r>" on the serial console. Fails on a
# FAIL, a missing result (crash, panic, hang) or a timeout
# ($XDPKV_VM_TIMEOUT seconds, default 900). $XDPKV_VM_ENV passes test
# parameters (NAME=VALUE,NAME=VALUE) to the guest.
set -uo pipefail

dir=${1:?usage: run-vm.sh IMAGE_DIR}
[[ -r $dir/vm.env ]] || { echo "run-vm: $dir/vm.env missing: build the xdpkv_vm_image target" >&2; exit 1; }
# shellcheck disable=SC1091
source "$dir/vm.env"
command -v qemu-system-x86_64 >/dev/null || { echo "run-vm: qemu-system-x86_64 missing (qemu-system-x86)" >&2; exit 1; }
log=$dir/console.log
limit=${XDPKV_VM_TIMEOUT:-900}
append="console=ttyS0 panic=-1 quiet loglevel=4"

echo "run-vm: booting $KVER ($VMLINUX) under qemu-system-x86_64 -accel tcg, limit ${limit}s"
start=$(date +%s)
# Two virtio-net NICs joined by a bridge in a network namespace of this run
# (no host network is touched), on taps with virtio-net headers: QEMU offers
# VIRTIO_NET_F_HASH_REPORT only on such a backend. The device computes a
# Toeplitz RSS hash in software and reports it in the header
# (rss=on,hash=on), the real driver hint tests/vm/verify_checks.cpp holds
# against xdpkv's own hash. Where taps or bridges cannot be made, the NICs
# share a QEMU hub instead, without hash reports, and the guest is told.
ns=xkvvm-$$-$RANDOM
mac() { echo "52:54:00:78:6b:0$1"; }
netns_up() {
  ip netns add "$ns" || return 1
  ip netns exec "$ns" sysctl -qw net.ipv6.conf.default.disable_ipv6=1 \
    net.ipv6.conf.all.disable_ipv6=1 || return 1
  ip -n "$ns" link add br0 type bridge || return 1
  ip -n "$ns" link set br0 up || return 1
  for i in 1 2; do
    ip -n "$ns" tuntap add "tap$i" mode tap vnet_hdr || return 1
    ip -n "$ns" link set "tap$i" master br0 up || return 1
  done
}
trap 'ip netns del "$ns" 2>/dev/null' EXIT
nics=() runner=()
if netns_up 2>"$dir/netns.err"; then
  runner=(ip netns exec "$ns")
  for i in 1 2; do
    nics+=(-netdev "tap,id=n$i,ifname=tap$i,script=no,downscript=no,vhost=off,vnet_hdr=on"
      -device "virtio-net-pci,netdev=n$i,rss=on,hash=on,mac=$(mac $i)")
  done
  nicenv=xdpkv_nic=tap
else
  echo "run-vm: no tap bridge here ($(tr '\n' ' ' <"$dir/netns.err")): virtio-net on a QEMU hub, without hash reports"
  for i in 1 2; do
    nics+=(-netdev "hubport,id=n$i,hubid=0" -device "virtio-net-pci,netdev=n$i,rss=on,hash=on,mac=$(mac $i)")
  done
  nicenv=xdpkv_nic=hub
fi
append+=" xdpkv.env=${XDPKV_VM_ENV:+$XDPKV_VM_ENV,}$nicenv"
timeout -k 10 "$limit" "${runner[@]}" qemu-system-x86_64 -accel tcg -cpu max -m 1G -smp 1 -nographic -no-reboot \
  -nic none "${nics[@]}" -kernel "$VMLINUX" -initrd "$INITRD" -append "$append" </dev/null 2>&1 |
  tr -d '\r' >"$log"
rc=${PIPESTATUS[0]}
secs=$(($(date +%s) - start))

# The gtest failures of the guest: each failed test's name, then its
# failure messages ("file:line: Failure" up to the next gtest or summary line).
failures() {
  awk '
    /^\[ RUN      \] / { test = $4 }
    /^\[  FAILED  \] .*\(/ { if (!(test in seen)) { seen[test] = 1; names = names " " test } }
    /: Failure$/ { grab = 12; out = out "run-vm: " test ": " $0 "\n"; next }
    /^\[|^xdpkv-vm:|^XDPKV-VM-RESULT/ { grab = 0 }
    grab > 0 { grab--; out = out "run-vm:   " $0 "\n" }
    END { print "run-vm: failed tests:" (names == "" ? " none reported" : names); printf "%s", out }
  ' "$log" | head -n 80
}
result=$(grep '^XDPKV-VM-RESULT: ' "$log" | tail -n1)
# A failure's cause first: a CI log cut in the middle still shows it.
if [[ $result != "XDPKV-VM-RESULT: PASS $KVER" ]]; then
  echo "run-vm: $KVER: ${result:-no XDPKV-VM-RESULT line}"
  failures
fi
grep -E '^(xdpkv-vm:|\[  FAILED  \]|XDPKV-VM-RESULT)' "$log" || true
if ((rc == 124 || rc == 137)); then
  echo "run-vm: FAIL: the VM did not finish within ${limit}s; console tail:" >&2
  tail -40 "$log" >&2
  exit 1
fi
# Kernel trouble on the console (the guest's own summary lines excluded).
trouble=$(grep -v '^xdpkv-vm:' "$log" | grep -E 'Kernel panic|BUG:|Oops:|WARNING:|Call Trace' || true)
if [[ $result == "XDPKV-VM-RESULT: PASS $KVER" && -z $trouble ]]; then
  echo "run-vm: PASS in ${secs}s (qemu exit $rc); console log: $log"
  exit 0
fi
echo "run-vm: FAIL after ${secs}s (qemu exit $rc)${trouble:+; kernel trouble: $trouble}; console tail:" >&2
grep -E 'Failure|Expected|Which is|actual|error|FAILED|Kernel panic|BUG:|WARNING:' "$log" | head -60 >&2
tail -60 "$log" >&2
failures | head -n 1 >&2
exit 1
