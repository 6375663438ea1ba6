#!/usr/bin/env bash
# A guest kernel survives live code patching while its other CPU runs the
# patched code: x86 writes an int3 over each site first, and under QEMU TCG
# with a thread per vCPU a CPU can trap on an int3 already written over, and
# the guest oopses ("Oops: int3", seen once in CI at boot, when sched_clock's
# static key flips). Every guest test patches code this way (attaching XDP
# flips static keys, fentry writes trampolines); scripts/guest.sh runs the
# vCPUs on one TCG thread so it cannot happen. This toggles two scheduler
# tracepoints (each toggle patches every call site) while the other CPU
# context-switches.
#   tests/guest/check-code-patching.sh [TOGGLES]
set -uo pipefail
n=${1:-100}
src=$(cd "$(dirname "$0")/../.." && pwd)
tmp=$(mktemp -d /tmp/xdpkv-guest-patch.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "check-code-patching: FAIL: $*"; exit 1; }

"$src/scripts/guest.sh" --kernel 6.12 -- sh -c '
  t=/sys/kernel/tracing
  [ -d $t/events ] || mount -t tracefs none $t || exit 90
  # The other CPU: a process that sleeps and wakes, 1000 times at most.
  ( i=0; while [ $i -lt 1000 ]; do sleep 0.001; i=$((i + 1)); done ) &
  n=0
  while [ $n -lt "$1" ]; do
    for e in sched_switch sched_wakeup; do
      echo 1 >$t/events/sched/$e/enable && echo 0 >$t/events/sched/$e/enable || exit 91
    done
    n=$((n + 1))
  done
  kill $! 2>/dev/null
  echo "toggled $n"' sh "$n" >"$tmp/out" 2>"$tmp/err"
rc=$?
echo "check-code-patching: guest.sh exit $rc; stdout: $(cat "$tmp/out"); stderr:"
sed 's/^/  /' "$tmp/err"
((rc != 90)) || fail "no tracefs in the guest"
((rc != 91)) || fail "could not toggle a sched tracepoint in the guest"
grep -q 'the guest kernel reported' "$tmp/err" && fail "the guest kernel oopsed while patching its code"
((rc == 0)) || fail "expected exit status 0, got $rc"
grep -qx "toggled $n" "$tmp/out" || fail "the guest did not toggle the tracepoints $n times"
echo "check-code-patching: ok: $((n * 4)) code patches of the scheduler's tracepoints, no oops"
