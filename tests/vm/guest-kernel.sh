#!/usr/bin/env bash
# One guest of the kernel matrix (a ctest of label vm): gets the kernel,
# builds xdpkv.ko against it, builds the initramfs and boots it.
#
#   tests/vm/guest-kernel.sh NAME SUITE SERIES MODULE BUILD_DIR GUEST MATRIX
#
#   SUITE   host: the host's installed Debian 6.1 packages (kernel-version.sh);
#           else a suite of the host's archive, fetched by kfuncs/fetch-kernel.sh
#   SERIES  version prefix within SUITE ("" = newest)
#   MODULE  required: a module build failure fails the guest; optional: the
#           guest runs without the module suite and prints why
# A kernel that cannot be fetched fails the test with the reason.
set -uo pipefail

name=$1 suite=$2 series=$3 module=$4 build=$5 guest=$6 matrix=$7
src=$(cd "$(dirname "$0")/../.." && pwd)
die() { echo "guest-kernel: $name: FAIL: $*" >&2; exit 1; }
kf=$build/kfuncs/$name
kenv=""
export XDPKV_LINUX_SOURCE_DIR=$build/kfuncs/linux-source-6.1
if [[ $suite != host ]]; then
  kdir=$build/guest-kernels/$suite${series:+-$series}
  "$src/kfuncs/fetch-kernel.sh" "$suite" "$kdir" $series >/dev/null ||
    die "kernel from $suite${series:+ (series $series)} cannot be fetched (see above)"
  kenv=$kdir/kernel.env
fi
rm -f "$kf/no-module"
if ! "$src/kfuncs/build-module.sh" "$kf" $kenv >"$build/kfuncs/$name.log" 2>&1; then
  reason=$(grep -E 'error|Error|unrecognized|not found|missing|build-module:' "$build/kfuncs/$name.log" |
    grep -v '^make' | tail -n 3 | tr '\n' ' ')
  cat "$build/kfuncs/$name.log" >&2
  [[ $module == optional ]] || die "xdpkv.ko does not build against it: $reason"
  [[ -s $kf/kernel-version ]] || die "no vmlinux for it: $reason"
  echo "$reason" >"$kf/no-module"
  echo "guest-kernel: $name: running without the module: $reason"
fi
img=$build/tests/vm/image-$name
"$src/tests/vm/mkinitramfs.sh" "$img" "$guest" "$kf" "$matrix" $kenv || die "initramfs build failed"
exec "$src/tests/vm/run-vm.sh" "$img"
