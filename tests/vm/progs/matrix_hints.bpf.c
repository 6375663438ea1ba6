// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Device-bound hints (Linux >= 6.3) on a veth, across a devmap redirect:
 * matrix_vlan_push (TC egress of the sender) gives each test frame a VLAN
 * tag in skb->vlan_tci, as a NIC's VLAN offload would; matrix_capture, the
 * first XDP program of the receiving veth, loaded device-bound, reads rx
 * hash, VLAN tag (>= 6.8) and timestamp through the bpf_xdp_metadata_rx_*
 * kfuncs (xdpkv_hints_driver), stores them under the reserved keys with a
 * PACKET_ID, remembers them per id and redirects through a devmap into a
 * second veth, where matrix_hints_read reads them back (xdpkv_hints_load).
 *
 * With via_cpumap set, matrix_capture redirects into a cpumap instead, whose
 * entry program is drivers/restore.bpf.c's xdpkv_restore_cpumap; the skb that
 * cpumap builds (without a hash) reaches TC ingress of the capturing veth,
 * where xdpkv_restore (priority 1) sets skb->hash from the stored hints and
 * matrix_tc_restored (priority 2) compares skb->hash and the stored hint
 * with what the capture saw for the packet's PACKET_ID.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>
#include <xdpkv/xdpkv.bpf.h>
#include <xdpkv/xdpkv_hints.bpf.h>
#include "matrix.h"

#define MATRIX_VLAN_TCI 42

struct {
	__uint(type, BPF_MAP_TYPE_DEVMAP);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u32);
} tx_port SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_CPUMAP);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct bpf_cpumap_val);
} cpu_map SEC(".maps");

__u32 via_cpumap;
__u64 next_id = 5000;
struct matrix_hint_rec captured[256]; /* by id & 255 */
__u64 cap_seen, cap_hash, cap_vlan, cap_store_err, pushed;
__s32 rc_hash, rc_vlan, rc_ts; /* the kfuncs' last return codes */
__u64 rd_seen, rd_ok, rd_bad, rd_vlan_ok, rd_noid;
__u64 tc_seen, tc_noid, tc_hint_ok, tc_hash_ok, tc_hash_zero;

SEC("tc")
int matrix_vlan_push(struct __sk_buff *skb)
{
	if (skb->protocol != bpf_htons(ETH_P_IP))
		return 0; /* TC_ACT_OK */
	if (!bpf_skb_vlan_push(skb, bpf_htons(0x8100), MATRIX_VLAN_TCI))
		__sync_fetch_and_add(&pushed, 1);
	return 0; /* TC_ACT_OK */
}

SEC("xdp")
int matrix_capture(struct xdp_md *ctx)
{
	struct xdpkv_hints h = {};
	struct xdpkv_hints_rc rc;
	__u64 id;

	if (!is_test_frame(ctx))
		return XDP_PASS;
	__sync_fetch_and_add(&cap_seen, 1);
	xdpkv_hints_driver(ctx, &h, XDPKV_HINT_HASH | XDPKV_HINT_VLAN | XDPKV_HINT_TIMESTAMP, &rc);
	rc_hash = rc.hash;
	rc_vlan = rc.vlan;
	rc_ts = rc.timestamp;
	if (h.flags & XDPKV_HINT_HASH)
		__sync_fetch_and_add(&cap_hash, 1);
	if ((h.flags & XDPKV_HINT_VLAN) && h.vlan_tci == MATRIX_VLAN_TCI)
		__sync_fetch_and_add(&cap_vlan, 1);
	id = __sync_fetch_and_add(&next_id, 1);
	captured[id & 255].flags = h.flags;
	captured[id & 255].hash = h.hash;
	captured[id & 255].vlan_tci = h.vlan_tci;
	if (xdpkv_hints_store(ctx, &h) || xdpkv_set(ctx, MATRIX_KEY_PACKET_ID, &id, 8, 0)) {
		__sync_fetch_and_add(&cap_store_err, 1);
		return XDP_DROP;
	}
	if (via_cpumap)
		return bpf_redirect_map(&cpu_map, 0, 0);
	return bpf_redirect_map(&tx_port, 0, 0);
}

SEC("xdp")
int matrix_hints_read(struct xdp_md *ctx)
{
	struct xdpkv_hints h = {};
	struct matrix_hint_rec *c;
	__u64 id = 0;

	if (!is_test_frame(ctx))
		return XDP_PASS;
	__sync_fetch_and_add(&rd_seen, 1);
	if (xdpkv_get(ctx, MATRIX_KEY_PACKET_ID, &id, 8) != 8) {
		__sync_fetch_and_add(&rd_noid, 1);
		return XDP_DROP;
	}
	c = &captured[id & 255];
	if (xdpkv_hints_load(ctx, &h) || !(h.flags & XDPKV_HINT_HASH) || h.hash != c->hash ||
	    (h.flags & XDPKV_HINT_VLAN) != (c->flags & XDPKV_HINT_VLAN)) {
		__sync_fetch_and_add(&rd_bad, 1);
		return XDP_DROP;
	}
	__sync_fetch_and_add(&rd_ok, 1);
	if ((h.flags & XDPKV_HINT_VLAN) && h.vlan_tci == c->vlan_tci)
		__sync_fetch_and_add(&rd_vlan_ok, 1);
	return XDP_DROP;
}

/* TC ingress after xdpkv_restore: the skb cpumap built from a captured frame. */
SEC("tc")
int matrix_tc_restored(struct __sk_buff *skb)
{
	__u32 hash = 0, type = 0, flags = 0, skb_hash;
	struct matrix_hint_rec *c;
	__u64 id = 0;

	if (xdpkv_skb_get(skb, MATRIX_KEY_PACKET_ID, &id, 8) != 8) {
		if (skb->protocol == bpf_htons(ETH_P_IP))
			__sync_fetch_and_add(&tc_noid, 1);
		return 2; /* TC_ACT_SHOT */
	}
	__sync_fetch_and_add(&tc_seen, 1);
	c = &captured[id & 255];
	if (!xdpkv_hint_hash_skb(skb, &hash, &type, &flags) && hash == c->hash)
		__sync_fetch_and_add(&tc_hint_ok, 1);
	/* One context load: clang must not derive a second from a moved ctx pointer. */
	skb_hash = *(volatile __u32 *)&skb->hash;
	if (!skb_hash)
		__sync_fetch_and_add(&tc_hash_zero, 1);
	else if (skb_hash == c->hash)
		__sync_fetch_and_add(&tc_hash_ok, 1);
	return 2; /* TC_ACT_SHOT: the test frames end here */
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
