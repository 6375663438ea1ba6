#!/usr/bin/env bash
# scripts/guest.sh with a command that is not part of xdpkv: bpftool loads a
# plain XDP program that calls bpf_xdp_adjust_meta (grow.bpf.c) inside the
# guest kernel. Checks the command's exit status, its stdout and stderr apart,
# and a --rw directory's writes on the host.
#   tests/guest/check-runner.sh OBJECT
set -uo pipefail
obj=${1:?usage: check-runner.sh OBJECT}
src=$(cd "$(dirname "$0")/../.." && pwd)
tmp=$(mktemp -d /tmp/xdpkv-guest-check.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "check-runner: FAIL: $*"; exit 1; }

# On the host, for the record: does this kernel load it?
if bpftool prog load "$obj" "/sys/fs/bpf/xdpkv-guest-check-$$" type xdp 2>"$tmp/host.err"; then
  echo "check-runner: the host (Linux $(uname -r)) loads it too"
  rm -f "/sys/fs/bpf/xdpkv-guest-check-$$"
else
  echo "check-runner: the host (Linux $(uname -r)) refuses it: $(grep -v '^$' "$tmp/host.err" | tail -n 2 | tr '\n' ' ')"
fi

"$src/scripts/guest.sh" --rw "$tmp" -- sh -c '
  bpftool prog load "$1" /sys/fs/bpf/grow type xdp || exit 90
  bpftool prog show pinned /sys/fs/bpf/grow >"$2/show"
  uname -r >"$2/uname"
  echo "to stderr" >&2
  echo "to stdout"
  exit 7' sh "$obj" "$tmp" >"$tmp/out" 2>"$tmp/err"
rc=$?
echo "check-runner: guest.sh exit $rc; stdout: $(cat "$tmp/out"); stderr:"
sed 's/^/  /' "$tmp/err"
((rc != 90)) || fail "bpftool could not load grow.bpf.o in the guest"
((rc == 7)) || fail "expected the command's exit status 7, got $rc"
grep -qx 'to stdout' "$tmp/out" || fail "the command's stdout did not come back"
grep -q 'to stderr' "$tmp/err" || fail "the command's stderr did not come back"
grep -q 'to stderr' "$tmp/out" && fail "stderr came back on stdout"
grep -q 'xdp' "$tmp/show" || fail "no bpftool prog show output in the --rw directory"
[[ $(cat "$tmp/uname") != "$(uname -r)" ]] || fail "the command ran in the host's kernel"
echo "check-runner: loaded in Linux $(cat "$tmp/uname"): $(head -n1 "$tmp/show")"
echo "check-runner: ok"
