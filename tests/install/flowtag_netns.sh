#!/bin/sh
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# ctest flowtag_netns: xdp/examples/flowtag on a veth in a namespace of its
# own. UDP datagrams from a second namespace must reach its TC program with the flow
# hash its XDP program stored (seen > 0, untagged = mismatched = 0), and on exit
# flowtag must leave neither its XDP program nor the clsact qdisc behind.
# usage: flowtag_netns.sh FLOWTAG
set -eu
flowtag=$1
a="xdpkv-fta-$$"
b="xdpkv-ftb-$$"
out=$(mktemp)
bpffs="/sys/fs/bpf/xdpkv-ft-$$"

cleanup() {
	ip netns del "$a" 2> /dev/null || true
	ip netns del "$b" 2> /dev/null || true
	rm -rf "$out" "$bpffs"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

fail() {
	echo "flowtag_netns: FAIL: $*" >&2
	cat "$out" >&2
	exit 1
}

ip netns add "$a"
ip netns add "$b"
ip -n "$a" link add va type veth peer name vb netns "$b"
ip -n "$a" addr add 10.77.0.1/24 dev va
ip -n "$b" addr add 10.77.0.2/24 dev vb
ip -n "$a" link set va up
ip -n "$b" link set vb up

ip netns exec "$b" "$flowtag" vb --bpffs "$bpffs" --seconds 4 > "$out" 2>&1 &
pid=$!
# Until it is attached (it says so), at most 5 s.
i=0
while ! grep -q "^flowtag on vb" "$out"; do
	i=$((i + 1))
	[ "$i" -le 50 ] || fail "flowtag did not attach"
	kill -0 "$pid" 2> /dev/null || fail "flowtag exited early"
	sleep 0.1
done
# Ten UDP datagrams, each from a new socket (bash's /dev/udp), so a new flow.
for i in 1 2 3 4 5; do
	ip netns exec "$a" bash -c 'echo flowtag > /dev/udp/10.77.0.2/9000; echo flowtag > /dev/udp/10.77.0.2/9001' ||
		fail "sending UDP to 10.77.0.2"
	sleep 0.1
done
wait "$pid" || fail "flowtag exited $?"
cat "$out"

last=$(grep "^xdp tagged" "$out" | tail -n 1)
[ -n "$last" ] || fail "no counters printed"
set -- $last
# xdp tagged T failed F | tc seen S untagged U mismatched M | flows N
[ "$3" -ge 10 ] || fail "XDP tagged $3 packets, < 10"
[ "$5" = 0 ] || fail "XDP failed $5 times"
[ "$9" -ge 10 ] || fail "TC saw the key on $9 packets, < 10"
[ "${11}" = 0 ] || fail "TC found no key on ${11} packets"
[ "${13}" = 0 ] || fail "TC found a wrong hash on ${13} packets"
[ "${16}" -ge 2 ] || fail "${16} flows counted, < 2"
grep -q "^flowtag: detached from vb" "$out" || fail "flowtag did not say it detached"
! ip -n "$b" link show vb | grep -q "prog/xdp" || fail "XDP program left on vb"
! tc -n "$b" qdisc show dev vb | grep -q clsact || fail "clsact qdisc left on vb"
echo "flowtag_netns: ok"
