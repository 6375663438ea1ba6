#!/usr/bin/env bash
# xdpkv features: the table, --json, --need, and a simulated refusal
# (XDPKV_REFUSE) that reads as refused in every form. Needs root (label bpf).
#   tests/unit/cli_features.sh XDPKV_BINARY
set -uo pipefail
x=${1:?usage: cli_features.sh XDPKV_BINARY}
fail() { echo "cli_features: FAIL: $*"; exit 1; }
names="grow_meta meta_252 live_frames rx_hash rx_timestamp rx_vlan_tag fentry_prog fentry_kernel freplace dynptr_skb_meta modules xdpkv_module tracefs bpffs"

json=$("$x" features --json) || fail "features --json exit $?"
got=$(python3 -c 'import json,sys; j=json.loads(sys.argv[1]); print(" ".join(f["name"] for f in j["features"]));
assert j["kernel"]; assert all(isinstance(f["available"], bool) and f["kernel_said"] and f["since"] and f["without"] for f in j["features"])' "$json") ||
  fail "features --json is not the documented object: $json"
[[ $got == "$names" ]] || fail "features --json names: $got"
echo "cli_features: --json lists the 14 capabilities"

# --need: exit 0 and nothing printed, or exit 1 and one line per missing one.
for n in $names; do
  out=$("$x" features --need "$n")
  rc=$?
  avail=$(python3 -c 'import json,sys; print([f["available"] for f in json.loads(sys.argv[1])["features"] if f["name"]==sys.argv[2]][0])' "$json" "$n")
  if [[ $avail == True ]]; then
    [[ $rc -eq 0 && -z $out ]] || fail "--need $n: available, yet exit $rc: $out"
  else
    [[ $rc -eq 1 && $(wc -l <<<"$out") -eq 1 && $out == "$n: xdpkv needs "* ]] || fail "--need $n: exit $rc: $out"
  fi
done
echo "cli_features: --need agrees with --json for each"
out=$("$x" features --need grow_meta,nosuch 2>&1)
[[ $? -eq 2 && $out == *"unknown capability 'nosuch'"* ]] || fail "--need nosuch: $out"

# A simulated refusal: the same in the table, the JSON and --need.
out=$(XDPKV_REFUSE=grow_meta,tracefs "$x" features --need grow_meta,tracefs)
[[ $? -eq 1 && $(wc -l <<<"$out") -eq 2 ]] || fail "XDPKV_REFUSE: --need: $out"
grep -q '^grow_meta: .*bpf_xdp_adjust_meta.*XDPKV_REFUSE' <<<"$out" || fail "XDPKV_REFUSE: $out"
XDPKV_REFUSE=grow_meta "$x" features --json | python3 -c 'import json,sys
f=[f for f in json.load(sys.stdin)["features"] if f["name"]=="grow_meta"][0]
assert f["available"] is False and "XDPKV_REFUSE" in f["kernel_said"], f' || fail "XDPKV_REFUSE: --json"
XDPKV_REFUSE=grow_meta "$x" features | grep -A1 '^  grow_meta ' | grep ' no ' >/dev/null || fail "XDPKV_REFUSE: the table"
echo "cli_features: ok"
