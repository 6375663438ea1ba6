// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * GRO with module hints (built with -DXDPKV_BACKEND_KFUNC and
 * -DXDPKV_HINTS_SOFTWARE_ONLY): vm_gro_xdp runs on the receiving veth of a
 * TCP stream and, when with_hints is set, stores software hints in the
 * module's hint block on every packet; vm_gro_tc, TC ingress on the same
 * veth, counts what GRO made of them. The kernel merges only skbs whose
 * metadata is equal (skb_metadata_differs), so anything per packet that the
 * hint block puts into the metadata shows as fewer segments per skb.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <xdpkv/xdpkv.bpf.h>
#include <xdpkv/xdpkv_hints.bpf.h>

__u32 with_hints;
__u64 xdp_packets;
__u64 xdp_errors;
__s64 xdp_first_err;
__u64 skbs;	   /* TC: skbs after GRO */
__u64 segs;	   /* TC: the packets in them (gso_segs, 1 for a plain skb) */
__u64 marked_skbs; /* TC: skbs whose metadata carries the module's mark (key 63) */

SEC("xdp")
int vm_gro_xdp(struct xdp_md *ctx)
{
	struct xdpkv_hints h = {};
	int ret;

	__sync_fetch_and_add(&xdp_packets, 1);
	if (!with_hints)
		return XDP_PASS;
	xdpkv_hints_software(ctx, &h, XDPKV_HINT_PRESENT_MASK);
	ret = xdpkv_hints_store(ctx, &h);
	if (ret && __sync_fetch_and_add(&xdp_errors, 1) == 0)
		xdp_first_err = ret;
	return XDP_PASS;
}

SEC("tc")
int vm_gro_tc(struct __sk_buff *skb)
{
	__u32 n = skb->gso_segs;

	__sync_fetch_and_add(&skbs, 1);
	__sync_fetch_and_add(&segs, n ? n : 1);
	if (xdpkv_skb_has(skb, XDPKV_KEY_HINT_MARK) == 1)
		__sync_fetch_and_add(&marked_skbs, 1);
	return 0; /* TC_ACT_OK */
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
