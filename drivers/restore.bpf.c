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
 * Trust (docs/DRIVERS.md): keys 60-62 can be written by any XDP program
 * that saw the packet, so only a well-formed hint record is applied; any
 * other key 60 is refused whole, counted in rstats.refused (by reason in
 * rstats.refused_why) and the skb is left alone. A store without the host's
 * origin mark (xdpkv_origin, set by the loader) is not this host's: after a
 * tunnel decap the bytes below the inner frame are outer headers. Its key 60
 * is counted in rstats.foreign and never applied.
 *
 * xdpkv_restore_cpumap (cpumap entry program): an XDP program cannot set
 * the hash or VLAN of the skb that cpumap is about to build (no helper or
 * kfunc exists for it in Linux 6.18; the proposed bpf_xdp_store_rx_hash /
 * _vlan were not merged). It checks and counts the stored hints, keeps the
 * store in the frame's metadata for TC, and passes.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>
#include <xdpkv/xdpkv.bpf.h>
#ifndef XDPKV_HINTS_SOFTWARE_ONLY
#define XDPKV_HINTS_SOFTWARE_ONLY /* reads only: no driver kfunc */
#endif
#include <xdpkv/xdpkv_hints.bpf.h>
#include <xdpkv/capture.h>

#define TC_ACT_UNSPEC_ (-1)

const volatile __u32 restore_hash = 1;
const volatile __u32 restore_vlan;

struct xdpkv_restore_stats rstats = {};

static __always_inline void add(__u64 *c)
{
	__sync_fetch_and_add(c, 1);
}

/* enum xdp_rss_hash_type: what a hash type may contain. */
#define RSS_MASK 0x1ffU
#define RSS_L3	 (XDPKV_RSS_L3_IPV4 | XDPKV_RSS_L3_IPV6)
#define RSS_L4_KIND                                                                     \
	(XDPKV_RSS_L4_TCP | XDPKV_RSS_L4_UDP | XDPKV_RSS_L4_SCTP | XDPKV_RSS_L4_IPSEC | \
	 XDPKV_RSS_L4_ICMP)
#define VID_RESERVED 0xfff

/* One of a, b, ... set at most: v & (v - 1) clears the lowest set bit. */
static __always_inline int many(__u32 v)
{
	return (v & (v - 1)) != 0;
}

/* A hash type a NIC or the software hash can report (XDP_RSS_TYPE_*). */
static __always_inline int hash_type_ok(__u32 t)
{
	if (t & ~RSS_MASK)
		return 0;
	if (many(t & RSS_L3) || many(t & RSS_L4_KIND))
		return 0;
	if ((t & RSS_L4_KIND) && !(t & XDPKV_RSS_L4))
		return 0;
	/* L4 alone is XDP_RSS_TYPE_L4_ANY (veth); DYNHDR qualifies an L3 family. */
	if ((t & XDPKV_RSS_L3_DYNHDR) && !(t & RSS_L3))
		return 0;
	return 1;
}

/* A stored VLAN tag a NIC can report: 802.1Q or 802.1ad, VID not 4095. */
static __always_inline int vlan_ok(__u32 tag)
{
	__u16 proto = xdpkv_hint_vlan_proto(tag);

	return (proto == bpf_htons(0x8100) || proto == bpf_htons(0x88a8)) &&
	       (xdpkv_hint_vlan_tci(tag) & VID_RESERVED) != VID_RESERVED;
}

static __always_inline int refuse(int why)
{
	add(&rstats.refused);
	if (why >= 0 && why < XDPKV_REFUSE_N)
		add(&rstats.refused_why[why]);
	return 1;
}

/*
 * Read and check the packet's hint record (FORMAT.md "Reserved keys"):
 * 0 and *info / *vlan filled when it is well formed, -ENODATA when there is
 * none (no key 60), another -errno when the store cannot be read, 1 when
 * key 60 is there but the record is not one a capture program writes.
 */
static __always_inline int hint_record(struct __sk_buff *skb, __u64 *info, __u32 *vlan)
{
#define HINT_KEY(NAME, name, k, sz, ...) { .bit = XDPKV_HINT_##NAME, .size = sz, .key = k },
	const struct {
		__u32 bit;
		int size;
		__u64 key;
	} kinds[] = { XDPKV_HINT_KINDS(HINT_KEY) };
#undef HINT_KEY
	__u64 v = 0;
	__u32 f, type, tag = 0;
	int ret;

	ret = xdpkv_skb_get(skb, XDPKV_KEY_HINT_INFO, &v, sizeof(v));
	if (ret == -ENOENT)
		return -ENODATA;
	if (ret < 0)
		return ret;
	/* Not from a writer of this host: e.g. outer headers after a decap. */
	if (xdpkv_origin && !xdpkv_skb_origin_ok(skb, xdpkv_origin)) {
		add(&rstats.foreign);
		return 1;
	}
	if (ret != XDPKV_HINT_INFO_SIZE)
		return refuse(XDPKV_REFUSE_SIZE);
	f = xdpkv_hint_info_flags(v);
	type = xdpkv_hint_info_type(v);
	if ((f & ~XDPKV_HINT_MASK) || !(f & XDPKV_HINT_PRESENT_MASK) ||
	    ((f & XDPKV_HINT_SW_MASK) & ~((f & XDPKV_HINT_PRESENT_MASK) << 8)))
		return refuse(XDPKV_REFUSE_FLAGS);
	if (f & XDPKV_HINT_HASH) {
		if (!hash_type_ok(type))
			return refuse(XDPKV_REFUSE_HASH);
	} else if (xdpkv_hint_info_hash(v) || type) {
		return refuse(XDPKV_REFUSE_HASH);
	}
	/* Each present hint with a key of its own: that key, of its size. */
#pragma unroll
	for (int i = 0; i < XDPKV_HI_N; i++) {
		__u64 val = 0;

		if (!(f & kinds[i].bit) || kinds[i].key == XDPKV_KEY_HINT_INFO)
			continue;
		ret = xdpkv_skb_get(skb, kinds[i].key, &val, kinds[i].size);
		if (ret != kinds[i].size)
			return ret < 0 && ret != -ENOENT ? ret : refuse(XDPKV_REFUSE_SIZE);
		if (kinds[i].bit != XDPKV_HINT_VLAN)
			continue;
		tag = (__u32)val;
		if (!vlan_ok(tag))
			return refuse(XDPKV_REFUSE_VLAN);
	}
	*info = v;
	*vlan = tag;
	return 0;
}

SEC("tc")
int xdpkv_restore(struct __sk_buff *skb)
{
	__u64 info = 0;
	__u32 f, tag = 0;
	int ret;

	add(&rstats.skbs);
	ret = hint_record(skb, &info, &tag);
	if (ret == 1)
		return TC_ACT_UNSPEC_; /* refused (counted): not a record we trust */
	if (ret) {
		if (ret != -ENODATA && ret != -EOPNOTSUPP)
			add(&rstats.errors); /* someone else's metadata */
		return TC_ACT_UNSPEC_;
	}
	f = xdpkv_hint_info_flags(info);
	if (!(f & XDPKV_HINT_HASH) && !(restore_vlan && (f & XDPKV_HINT_VLAN)))
		return TC_ACT_UNSPEC_;
	add(&rstats.with_hints);
	if ((f & XDPKV_HINT_HASH) && restore_hash) {
		bpf_set_hash(skb, xdpkv_hint_info_hash(info));
		add(&rstats.hash_set);
	}
	if (restore_vlan && (f & XDPKV_HINT_VLAN)) {
		if (skb->vlan_present) {
			add(&rstats.vlan_kept);
		} else if (bpf_skb_vlan_push(skb, xdpkv_hint_vlan_proto(tag),
					     xdpkv_hint_vlan_tci(tag))) {
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
