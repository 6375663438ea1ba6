#!/usr/bin/env bash
# Builds a VM test's initramfs: busybox, the static guest binaries, xdpkv.ko,
# the kernel modules the guest needs (veth, sch_ingress, cls_bpf, virtio_net) and
# libxdp's objects. One builder for every guest kernel.
#
#   tests/vm/mkinitramfs.sh OUT_DIR GUEST_BINARY KFUNCS_DIR [MATRIX_BINARY [KERNEL_ENV]]
#
# KFUNCS_DIR is kfuncs/build-module.sh's output (kernel-version,
# kernel-ABI/vmlinux, and xdpkv.ko, or `no-module` with the reason it could
# not be built: the guest then runs without the module suite and says why).
# KERNEL_ENV is kfuncs/fetch-kernel.sh's kernel.env for a fetched kernel
# (its MODULES directory); without it the host's /lib/modules/ABI is used.
# Writes OUT_DIR/initramfs.cpio.gz and OUT_DIR/vm.env.
set -euo pipefail

out=$1 guest=$2 kf=$3 matrix=${4:-} kenv=${5:-}
die() { echo "mkinitramfs: $*" >&2; exit 1; }
mkdir -p "$out"
kver=$(cat "$kf/kernel-version") || die "$kf/kernel-version missing: build xdpkv_module first"
vmlinux=$kf/kernel-$kver/vmlinux
modules=/lib/modules/$kver
if [[ -n $kenv ]]; then
  modules=$(. "$kenv" && echo "$MODULES")
fi
[[ -s $kf/xdpkv.ko || -s $kf/no-module ]] || die "$kf/xdpkv.ko missing"
[[ -s $vmlinux ]] || die "$vmlinux missing"
for b in "$guest" $matrix; do
  [[ -x $b ]] || die "$b missing"
  ldd "$b" >/dev/null 2>&1 && die "$b is dynamically linked: the initramfs has no libraries"
done
busybox=$(command -v busybox || true)
[[ -n $busybox && $(file -L "$busybox" 2>/dev/null) == *'statically linked'* ]] || busybox=/bin/busybox
[[ -x $busybox ]] || die "busybox missing (busybox-static)"
# libxdp's object directory. The static matrix binary uses the objects
# embedded in it (its dispatcher is xdpkv's: dispatcher_embed.c); these
# files serve a dynamically linked tool run by hand in the guest.
xdpobj=/usr/lib/x86_64-linux-gnu/bpf

root=$out/root
rm -rf "$root"
mkdir -p "$root"/{bin,dev,proc,sys,tmp,lib/modules} "$root$xdpobj"
cp "$busybox" "$root/bin/busybox"
cp "$guest" "$root/xdpkv-vm-guest"
[[ -n $matrix ]] && cp "$matrix" "$root/xdpkv-vm-matrix"
if [[ -s $kf/xdpkv.ko ]]; then
  cp "$kf/xdpkv.ko" "$root/xdpkv.ko"
else
  cp "$kf/no-module" "$root/no-module"
fi
for o in xdp-dispatcher.o xsk_def_xdp_prog.o xsk_def_xdp_prog_5.3.o; do
  [[ -r $xdpobj/$o ]] || die "$xdpobj/$o missing (libxdp1)"
  cp "$xdpobj/$o" "$root$xdpobj/"
done
# In load order (dependencies first); /lib/modules/order tells init which.
# The virtio stack is built in from 6.12 on, a module in 6.1.
for m in drivers/net/veth net/sched/sch_ingress net/sched/cls_bpf drivers/virtio/virtio_ring \
  drivers/virtio/virtio drivers/virtio/virtio_pci_legacy_dev \
  drivers/virtio/virtio_pci_modern_dev drivers/virtio/virtio_pci net/core/failover \
  drivers/net/net_failover drivers/net/virtio_net; do
  src=$modules/kernel/$m.ko name=$(basename "$m")
  if [[ -e $src ]]; then
    cp "$src" "$root/lib/modules/"
  elif [[ -e $src.xz ]]; then
    xz -dc "$src.xz" >"$root/lib/modules/$name.ko"
  elif [[ -e $src.zst ]]; then
    zstd -qdc "$src.zst" >"$root/lib/modules/$name.ko"
  elif grep -qs "kernel/$m.ko" "$modules/modules.builtin"; then
    continue
  else
    die "$src missing: install linux-image-$kver"
  fi
  echo "$name" >>"$root/lib/modules/order"
done

cat >"$root/init" <<'INIT'
#!/bin/busybox sh
/bin/busybox --install -s /bin
export PATH=/bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
echo "xdpkv-vm: guest up, kernel $(uname -r)"
echo 1 >/proc/sys/net/ipv6/conf/default/disable_ipv6 2>/dev/null
for m in $(cat /lib/modules/order 2>/dev/null); do
  insmod /lib/modules/$m.ko || echo "xdpkv-vm: insmod $m failed"
done
mkdir -p /sys/fs/bpf
mount -t bpf bpf /sys/fs/bpf
# Test parameters from the kernel command line: xdpkv.env=NAME=VALUE,NAME=VALUE
for a in $(cat /proc/cmdline); do
  case $a in
    xdpkv.env=*) for kv in $(echo "${a#xdpkv.env=}" | tr ',' ' '); do export "$kv"; done ;;
  esac
done
set -o pipefail
start=$(cut -d' ' -f1 /proc/uptime)
result=PASS
if [ -e /xdpkv.ko ]; then
  # The module suite's own result line becomes a summary line: the guest's
  # one result line is the last one, below.
  /xdpkv-vm-guest --gtest_color=no 2>&1 |
    awk '{ sub(/^XDPKV-VM-RESULT: /, "xdpkv-vm: module suite: "); print; fflush() }'
  rc=$?
  echo "xdpkv-vm: module suite exit $rc"
  [ $rc -eq 0 ] || result=FAIL
else
  echo "xdpkv-vm: module: not built for this kernel: $(cat /no-module)"
fi
if [ -x /xdpkv-vm-matrix ]; then
  /xdpkv-vm-matrix --gtest_color=no
  rc=$?
  echo "xdpkv-vm: matrix checks exit $rc"
  [ $rc -eq 0 ] || result=FAIL
fi
end=$(cut -d' ' -f1 /proc/uptime)
echo "xdpkv-vm: uptime $start s -> $end s"
echo "XDPKV-VM-RESULT: $result $(uname -r)"
sync
poweroff -f
INIT
chmod +x "$root/init"

(cd "$root" && find . -print0 | cpio --null -o -H newc --quiet) | gzip -1 >"$out/initramfs.cpio.gz.tmp"
mv "$out/initramfs.cpio.gz.tmp" "$out/initramfs.cpio.gz"
printf 'KVER=%s\nVMLINUX=%s\nINITRD=%s\n' "$kver" "$vmlinux" "$out/initramfs.cpio.gz" >"$out/vm.env"
echo "mkinitramfs: $out/initramfs.cpio.gz ($(du -h "$out/initramfs.cpio.gz" | cut -f1), kernel $kver)"
