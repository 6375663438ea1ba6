#!/usr/bin/env bash
# Installs what a fresh Debian bookworm machine lacks to build and test xdpkv.
# Idempotent: apt runs only when a package is missing. Needs root.
#   deps.sh          everything the tests need (CI)
#   deps.sh --demo   what `xdpkv demo` needs: no kernel image, sources or QEMU
#   deps.sh --guest  what scripts/guest.sh needs besides: QEMU, busybox, kmod
#                    (its guest kernel is fetched into the build tree)
set -euo pipefail
for_demo=0 for_guest=0
[[ ${1:-} == --demo ]] && for_demo=1
[[ ${1:-} == --guest ]] && for_demo=1 for_guest=1

PKGS=(
  build-essential cmake pkg-config git
  clang-14 libclang-rt-14-dev            # BPF objects (-target bpf), libFuzzer
  libbpf-dev bpftool libxdp-dev libelf-dev zlib1g-dev
  libgtest-dev libgmock-dev libbenchmark-dev
  libcli11-dev nlohmann-json3-dev         # argument parsing, JSON
  clang-format-14 clang-tidy-14           # scripts/check-format.sh, .clang-tidy
  iproute2 ethtool
  tshark                                 # xdpkv trace --pcap: tests read the pcapng back
  libdpdk-dev                            # xdpkv-trafficgen: DPDK 22.11 EAL + net_af_xdp/net_af_packet PMDs
)

# Kernel-module backend and its VM tests (kfuncs/, tests/vm, ctest label vm):
# Debian's 6.1 kernel image and headers of one ABI, resolved at run time (old
# ABIs leave the archive), linux-source-6.1 for resolve_btfids, pahole, QEMU
# (TCG), busybox for the guest's initramfs, libxdp1's dispatcher objects for
# the guests' libxdp check, debian-archive-keyring for the other suites. The
# 6.12 and newest guest kernels are not installed: kfuncs/fetch-kernel.sh
# downloads them into the build tree at test time (private apt state).
if ((for_guest)); then
  PKGS+=(qemu-system-x86 busybox-static cpio kmod xz-utils zstd debian-archive-keyring)
fi
if ((!for_demo)); then
  # zstd, lz4: decompress newer guest kernels' vmlinuz (7.x: zstd) and modules.
  PKGS+=(linux-source-6.1 dwarves python3 qemu-system-x86 busybox-static cpio kmod xz-utils
         zstd lz4 libxdp1 debian-archive-keyring)
  xdpkv_kver=$("$(dirname "$0")/../kfuncs/kernel-version.sh" --refresh)
  PKGS+=("linux-image-$xdpkv_kver" "linux-headers-$xdpkv_kver")
  # The guest boots the test's own initramfs: skip Debian's mkinitramfs on install.
  export INITRD=No
fi

missing=()
for p in "${PKGS[@]}"; do
  [[ $(dpkg-query -W -f='${Status}' "$p" 2>/dev/null) == *"install ok installed" ]] || missing+=("$p")
done
if ((${#missing[@]})); then
  if [[ $(id -u) -ne 0 ]]; then
    echo "deps: missing packages: ${missing[*]}; run as root (sudo $0)" >&2
    exit 1
  fi
  echo "deps: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# bpftool lives in /usr/sbin, which a non-login PATH may lack.
command -v bpftool >/dev/null || export PATH="$PATH:/usr/sbin:/sbin"
if [[ ! -r /sys/kernel/btf/vmlinux ]]; then
  echo "deps: /sys/kernel/btf/vmlinux is missing: xdpkv needs a kernel with BTF (CONFIG_DEBUG_INFO_BTF=y, Linux >= 5.4)" >&2
  exit 1
fi
