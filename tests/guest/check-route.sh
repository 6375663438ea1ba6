#!/usr/bin/env bash
# The refusing-host flow on any host: with XDPKV_REFUSE=grow_meta the feature
# probe reads bpf_xdp_adjust_meta as refused (the guest is not told so), and
#  1. `xdpkv tag` says so in one line naming bpf_xdp_adjust_meta, exits 1 and
#     leaves nothing registered, pinned or mounted;
#  2. run-where.sh starts a serving guest (--up), runs the offline demo there
#     (same binary: every packet tagged and read back) and passes a command's
#     exit status back, then stops the guest (--down).
#   tests/guest/check-route.sh BUILD_DIR
set -uo pipefail
build=${1:?usage: check-route.sh BUILD_DIR}
src=$(cd "$(dirname "$0")/../.." && pwd)
cli=$build/userspace/cli/xdpkv
tmp=$(mktemp -d /tmp/xdpkv-route-check.XXXXXX)
export XDPKV_REFUSE=grow_meta XDPKV_GUEST_SERVE=$tmp/serve
where=("$src/scripts/run-where.sh" "$build" grow_meta)
cleanup() {
  "${where[@]}" --down >/dev/null 2>&1
  rm -rf "$tmp"
}
trap cleanup EXIT
fail() { echo "check-route: FAIL: $*"; exit 1; }

# 1. The tagger's refusal.
reg=/sys/fs/bpf/xdpkv-route-check-$$
mounts_before=$(grep -c ' /sys/fs/bpf ' /proc/mounts)
"$cli" tag lo --bpffs "$reg" >"$tmp/tag.out" 2>"$tmp/tag.err"
rc=$?
cat "$tmp/tag.out" "$tmp/tag.err"
((rc == 1)) || fail "xdpkv tag: expected exit 1, got $rc"
[[ $(wc -l <"$tmp/tag.err") -eq 1 && ! -s $tmp/tag.out ]] || fail "xdpkv tag: expected one line"
grep -q 'bpf_xdp_adjust_meta' "$tmp/tag.err" || fail "xdpkv tag: the line does not name bpf_xdp_adjust_meta"
[[ ! -e $reg ]] || fail "xdpkv tag left $reg behind"
[[ $(grep -c ' /sys/fs/bpf ' /proc/mounts) -eq $mounts_before ]] || fail "xdpkv tag mounted bpffs"
echo "check-route: xdpkv tag refused in one line, nothing registered: ok"

# 2. The guest route.
"${where[@]}" --up || fail "run-where.sh --up could not start the guest"
[[ -e $tmp/serve/ready ]] || fail "no guest serves $tmp/serve"
"${where[@]}" -- "$cli" demo --offline --packets 40 >"$tmp/demo.out" 2>&1
rc=$?
cat "$tmp/demo.out"
((rc == 0)) || fail "the offline demo failed in the guest (exit $rc)"
grep -q '^run-where: in a guest kernel' "$tmp/demo.out" || fail "run-where did not route to the guest"
grep -q '^guest: running in the guest of' "$tmp/demo.out" || fail "not run by the serving guest"
"${where[@]}" -- sh -c 'test "$(uname -r)" != "$1" && exit 3' sh "$(uname -r)" >/dev/null 2>&1
rc=$?
((rc == 3)) || fail "a command's exit status 3 came back as $rc"
"${where[@]}" --down || fail "run-where.sh --down failed"
[[ ! -e $tmp/serve ]] || fail "--down left $tmp/serve"
echo "check-route: routed to the guest and back: ok"
