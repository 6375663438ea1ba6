// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Giving the hints back to the skb.
 *
 * xdpkv_restore (TC ingress): when the skb carries stored hints, restore
 * skb->hash with bpf_set_hash (marked as an L4 software hash: RPS, RFS, GRO
 * flow steering and skb_get_hash() then use it instead of dissecting the
 * packet) and, when restore_vlan is set, push the stored VLAN tag with
 * bpf_skb_vlan_push (as a hardware-accelerated tag, so the stack delivers
 * the packet to the VLAN device as if the NIC had stripped it). It returns
 * TC_ACT_UNSPEC: the next TC filter runs, or the default action applies.
 *
 * This is the mechanism for frames that become skbs after a redirect: a
 * cpumap builds the skb (__xdp_build_skb_from_frame) from the xdp_frame
 * alone, which carries no hash and no VLAN, and then hands it to
 * netif_receive_skb on the original receive device, so TC ingress of that
 * device sees it with the metadata (and so the store) intact.
 *
 * xdpkv_restore_cpumap (cpumap entry program): an XDP program cannot set
 * the hash or VLAN of the skb that cpumap is about to build (no helper or
 * kfunc exists for it in Linux 6.18; the proposed bpf_xdp_store_rx_hash /
 * _vlan were not merged). It checks and counts the stored hints, keeps the
 * store in the frame's metadata for TC, and passes.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <xdpkv/xdpkv.bpf.h>
#ifndef XDPKV_HINTS_SOFTWARE_ONLY
#define XDPKV_HINTS_SOFTWARE_ONLY	/* reads only: no driver kfunc */
#endif
#include <xdpkv/xdpkv_hints.bpf.h>
#include <xdpkv/capture.h>

#define TC_ACT_UNSPEC_ (-1)

const volatile __u32 restore_hash = 1;
const volatile __u32 restore_vlan = 0;

struct xdpkv_restore_stats rstats = {};

static __always_inline void add(__u64 *c)
{
	__sync_fetch_and_add(c, 1);
}

SEC("tc")
int xdpkv_restore(struct __sk_buff *skb)
{
	__u32 hash = 0, type = 0, flags = 0;
	__u16 proto = 0, tci = 0;
	int ret, vret = -ENODATA;

	add(&rstats.skbs);
	ret = xdpkv_hint_hash_skb(skb, &hash, &type, &flags);
	if (restore_vlan)
		vret = xdpkv_hint_vlan_skb(skb, &proto, &tci, 0);
	if (ret && ret != -ENODATA && ret != -EOPNOTSUPP)
		add(&rstats.errors);	/* someone else's metadata: leave the skb alone */
	if (ret && vret)
		return TC_ACT_UNSPEC_;
	add(&rstats.with_hints);
	if (!ret && restore_hash) {
		bpf_set_hash(skb, hash);
		add(&rstats.hash_set);
	}
	if (!vret) {
		if (skb->vlan_present) {
			add(&rstats.vlan_kept);
		} else if (bpf_skb_vlan_push(skb, proto, tci)) {
			add(&rstats.errors);
		} else {
			add(&rstats.vlan_pushed);
		}
	}
	return TC_ACT_UNSPEC_;
}

SEC("xdp/cpumap")
int xdpkv_restore_cpumap(struct xdp_md *ctx)
{
	struct xdpkv_hints h;

	add(&rstats.cpumap_frames);
	if (!xdpkv_hints_load(ctx, &h))
		add(&rstats.cpumap_with_hints);
	return XDP_PASS;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
