#!/usr/bin/env bash
# Builds the VM test's initramfs: busybox, the guest test binary (static),
# xdpkv.ko, and the 6.1 modules the guest needs (veth, sch_ingress, cls_bpf).
#
#   tests/vm/mkinitramfs.sh OUT_DIR GUEST_BINARY KFUNCS_DIR
#
# KFUNCS_DIR is kfuncs/build-module.sh's output (xdpkv.ko, kernel-version,
# kernel-ABI/vmlinux). Writes OUT_DIR/initramfs.cpio.gz and OUT_DIR/vm.env.
set -euo pipefail

out=$1 guest=$2 kf=$3
die() { echo "mkinitramfs: $*" >&2; exit 1; }
kver=$(cat "$kf/kernel-version") || die "$kf/kernel-version missing: build xdpkv_module first"
vmlinux=$kf/kernel-$kver/vmlinux
[[ -s $kf/xdpkv.ko ]] || die "$kf/xdpkv.ko missing"
[[ -s $vmlinux ]] || die "$vmlinux missing"
[[ -x $guest ]] || die "$guest missing"
busybox=$(command -v busybox || true)
[[ -n $busybox ]] && file -L "$busybox" 2>/dev/null | grep -q 'statically linked' || busybox=/bin/busybox
[[ -x $busybox ]] || die "busybox missing (busybox-static)"
ldd "$guest" >/dev/null 2>&1 && die "$guest is dynamically linked: the initramfs has no libraries"

root=$out/root
rm -rf "$root"
mkdir -p "$root"/{bin,dev,proc,sys,tmp,lib/modules}
cp "$busybox" "$root/bin/busybox"
cp "$guest" "$root/xdpkv-vm-guest"
cp "$kf/xdpkv.ko" "$root/xdpkv.ko"
for m in drivers/net/veth net/sched/sch_ingress net/sched/cls_bpf; do
  src=/lib/modules/$kver/kernel/$m.ko
  if [[ -e $src ]]; then
    cp "$src" "$root/lib/modules/"
  elif [[ -e $src.xz ]]; then
    xz -dc "$src.xz" >"$root/lib/modules/$(basename "$m").ko"
  elif [[ -e $src.zst ]]; then
    zstd -qdc "$src.zst" >"$root/lib/modules/$(basename "$m").ko"
  else
    die "$src missing: install linux-image-$kver"
  fi
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
for m in veth sch_ingress cls_bpf; do
  insmod /lib/modules/$m.ko || echo "xdpkv-vm: insmod $m failed"
done
# Test parameters from the kernel command line: xdpkv.env=NAME=VALUE,NAME=VALUE
for a in $(cat /proc/cmdline); do
  case $a in
    xdpkv.env=*) for kv in $(echo "${a#xdpkv.env=}" | tr ',' ' '); do export "$kv"; done ;;
  esac
done
start=$(cut -d' ' -f1 /proc/uptime)
/xdpkv-vm-guest --gtest_color=no
rc=$?
end=$(cut -d' ' -f1 /proc/uptime)
echo "xdpkv-vm: guest test exit $rc, uptime $start s -> $end s"
sync
poweroff -f
INIT
chmod +x "$root/init"

(cd "$root" && find . -print0 | cpio --null -o -H newc --quiet) | gzip -1 >"$out/initramfs.cpio.gz.tmp"
mv "$out/initramfs.cpio.gz.tmp" "$out/initramfs.cpio.gz"
printf 'KVER=%s\nVMLINUX=%s\nINITRD=%s\n' "$kver" "$vmlinux" "$out/initramfs.cpio.gz" >"$out/vm.env"
echo "mkinitramfs: $out/initramfs.cpio.gz ($(du -h "$out/initramfs.cpio.gz" | cut -f1), kernel $kver)"
