#!/usr/bin/env bash
# Installs what a fresh Debian bookworm machine lacks to build and test xdpkv.
# Idempotent: apt runs only when a package is missing. Needs root.
set -euo pipefail

PKGS=(
  build-essential cmake pkg-config git
  clang-14 libclang-rt-14-dev            # BPF objects (-target bpf), libFuzzer
  libbpf-dev bpftool libxdp-dev libelf-dev zlib1g-dev
  libgtest-dev libgmock-dev libbenchmark-dev
  iproute2 ethtool
)

missing=()
for p in "${PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
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
