#!/usr/bin/env bash
# Runs a test where the kernel capabilities it needs are (ctest wraps every
# test that needs one: tests/CMakeLists.txt, xdpkv_needs()). On this host when
# its kernel allows them all; otherwise in the guest kernel that the ctest
# fixture guest_up started (scripts/guest.sh --serve), or in a guest of its
# own when none is up. Never a skip: a test that can run nowhere fails.
#
#   scripts/run-where.sh BUILD_DIR CAPS -- COMMAND...   run COMMAND
#   scripts/run-where.sh BUILD_DIR CAPS --up            start the fixture's guest
#                                                       if this host refuses CAPS
#   scripts/run-where.sh BUILD_DIR CAPS --down          stop it
#
# CAPS: names of `xdpkv features`, comma-separated. The guest kernel is
# $XDPKV_GUEST_KERNEL (default 6.12, see scripts/guest.sh --kernel).
set -uo pipefail
src=$(cd "$(dirname "$0")/.." && pwd)
build=${1:?usage: run-where.sh BUILD_DIR CAPS -- COMMAND...} caps=${2:?CAPS missing}
shift 2
gk=${XDPKV_GUEST_KERNEL:-6.12}
serve=${XDPKV_GUEST_SERVE:-$build/guest-serve}
guest=("$src/scripts/guest.sh" --kernel "$gk")

# gtest discovery (at build time) lists the tests; it runs none of them.
for a; do [[ $a == --gtest_list_tests ]] && { shift; exec "$@"; }; done

# Inside the guest (a test that runs ctest itself): everything runs there.
if [[ -n ${XDPKV_IN_GUEST:-} ]]; then
  [[ ${1:-} == -- ]] && shift
  [[ ${1:-} == --up || ${1:-} == --down ]] && exit 0
  exec "$@"
fi
# The fixture's guest belongs to the ctest run that started it (its pid, the
# parent of guest_up and guest_down): another run in the same build tree uses
# it but leaves it up.
serving() { [[ -e $serve/ready ]] && kill -0 "$(cat "$serve/pid" 2>/dev/null)" 2>/dev/null; }
if [[ ${1:-} == --down ]]; then
  owner=$(cat "$serve/owner" 2>/dev/null)
  if [[ -n $owner && $owner != "$PPID" ]] && kill -0 "$owner" 2>/dev/null; then
    echo "run-where: the guest serving $serve belongs to another test run (pid $owner): left up"
    exit 0
  fi
  exec "${guest[@]}" --stop "$serve"
fi
missing=$("$build/userspace/cli/xdpkv" features --need "$caps" 2>&1)
case $? in
  0) where=host ;;
  1) where=guest ;;
  *) echo "run-where: cannot ask this kernel what it allows: $missing" >&2; exit 1 ;;
esac

if [[ ${1:-} == --up ]]; then
  if [[ $where == host ]]; then
    echo "run-where: this kernel (Linux $(uname -r)) allows $caps: the tests run on the host, no guest"
    exit 0
  fi
  echo "$missing" | sed 's/^/run-where: /'
  if serving; then
    echo "run-where: the tests that need $caps run in the guest already serving $serve"
    exit 0
  fi
  echo "run-where: the tests that need $caps run in a guest kernel ($gk) that stays up for them"
  "${guest[@]}" --serve "$serve" || exit
  echo "$PPID" >"$serve/owner"
  exit 0
fi
[[ ${1:-} == -- ]] && shift
(($#)) || { echo "run-where: no command" >&2; exit 2; }
if [[ $where == host ]]; then
  echo "run-where: on the host, Linux $(uname -r) (allows $caps)"
  exec "$@"
fi
echo "$missing" | sed 's/^/run-where: /'
echo "run-where: in a guest kernel ($gk), QEMU TCG: same binary, same assertions"
exec "${guest[@]}" --via "$serve" -- "$@"
