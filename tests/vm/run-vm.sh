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
[[ -n ${XDPKV_VM_ENV:-} ]] && append+=" xdpkv.env=$XDPKV_VM_ENV"

echo "run-vm: booting $KVER ($VMLINUX) under qemu-system-x86_64 -accel tcg, limit ${limit}s"
start=$(date +%s)
timeout -k 10 "$limit" qemu-system-x86_64 -accel tcg -cpu max -m 1G -smp 1 -nographic -no-reboot \
  -nic none -kernel "$VMLINUX" -initrd "$INITRD" -append "$append" </dev/null 2>&1 |
  tr -d '\r' >"$log"
rc=${PIPESTATUS[0]}
secs=$(($(date +%s) - start))

grep -E '^(xdpkv-vm:|\[  FAILED  \]|XDPKV-VM-RESULT)' "$log" || true
if ((rc == 124 || rc == 137)); then
  echo "run-vm: FAIL: the VM did not finish within ${limit}s; console tail:" >&2
  tail -40 "$log" >&2
  exit 1
fi
# Kernel trouble on the console (the guest's own summary lines excluded).
trouble=$(grep -v '^xdpkv-vm:' "$log" | grep -E 'Kernel panic|BUG:|Oops:|WARNING:|Call Trace' || true)
result=$(grep '^XDPKV-VM-RESULT: ' "$log" | tail -n1)
if [[ $result == "XDPKV-VM-RESULT: PASS $KVER" && -z $trouble ]]; then
  echo "run-vm: PASS in ${secs}s (qemu exit $rc); console log: $log"
  exit 0
fi
echo "run-vm: FAIL after ${secs}s (qemu exit $rc)${trouble:+; kernel trouble: $trouble}; console tail:" >&2
grep -E 'Failure|Expected|Which is|actual|error|FAILED|Kernel panic|BUG:|WARNING:' "$log" | head -60 >&2
tail -60 "$log" >&2
exit 1
