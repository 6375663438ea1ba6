#!/usr/bin/env bash
# Prints the Debian 6.1 kernel ABI that xdpkv.ko and the VM test use, e.g.
# 6.1.0-56-amd64. Resolved at run time, because Debian removes old ABIs:
#   1. $XDPKV_KVER if set;
#   2. the newest installed linux-headers-6.1.*-amd64 (its image preferred);
#   3. else the newest ABI for which apt has both linux-image and linux-headers
#      (running `apt-get update` first if apt knows none, or with --refresh,
#      as root: scripts/deps.sh asks for that, so that it never picks an ABI
#      that stale lists still show but the archive no longer has).
set -euo pipefail

refresh=0
[[ ${1:-} == --refresh ]] && refresh=1

if [[ -n ${XDPKV_KVER:-} ]]; then
  echo "$XDPKV_KVER"
  exit 0
fi

abi_re='^6\.1\.0-[0-9]+-amd64$'

installed=$(dpkg-query -W -f='${Package} ${Status}\n' 'linux-headers-6.1.*-amd64' 2>/dev/null |
  awk '/install ok installed/ {sub(/^linux-headers-/, "", $1); print $1}' |
  grep -E "$abi_re" | sort -V || true)
if [[ -n $installed ]]; then
  # Prefer a version whose image is installed too.
  for v in $(tac <<<"$installed"); do
    if [[ -e /boot/vmlinuz-$v ]]; then
      echo "$v"
      exit 0
    fi
  done
  tail -n1 <<<"$installed"
  exit 0
fi

available() {
  comm -12 \
    <(apt-cache search --names-only '^linux-image-6\.1\.0-[0-9]+-amd64$' 2>/dev/null |
        awk '{sub(/^linux-image-/, "", $1); print $1}' | sort) \
    <(apt-cache search --names-only '^linux-headers-6\.1\.0-[0-9]+-amd64$' 2>/dev/null |
        awk '{sub(/^linux-headers-/, "", $1); print $1}' | sort) |
    grep -E "$abi_re" | sort -V | tail -n1
}

v=""
((refresh)) || v=$(available || true)
if [[ -z $v && $(id -u) -eq 0 ]]; then
  apt-get update -qq >&2 || true
  v=$(available || true)
fi
if [[ -z $v ]]; then
  echo "kernel-version: no linux-image/linux-headers-6.1.0-*-amd64 pair known to apt (run apt-get update, or set XDPKV_KVER)" >&2
  exit 1
fi
echo "$v"
