// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Tags every packet with a unique PACKET_ID (u64), a FLOW_HASH (u32 over the
 * IPv4/IPv6 addresses and ports) and the INGRESS ifindex (u16), then reads
 * them back. Key ids come from read-only config so that a loader can resolve
 * them by name. Used by `xdpkv demo`.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>
#include <xdpkv/xdpkv.bpf.h>

const volatile __u32 key_packet_id;
const volatile __u32 key_flow_hash = 1;
const volatile __u32 key_ingress = 2;
/* Upper 16 bits of every PACKET_ID: distinguishes taggers (e.g. per host). */
const volatile __u64 id_base;

__u64 next_id;
__u64 tagged;
__u64 failed;
int last_err;

static __always_inline __u32 mix(__u32 h, __u32 v)
{
	h ^= v;
	h *= 0x9e3779b1;
	return h ^ (h >> 15);
}

/* A flow hash over L3/L4 addresses (not Toeplitz: the hints code has that). */
static __always_inline __u32 flow_hash(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;
	__u32 h = 0x12345678;
	__u16 proto;
	__u8 l4 = 0;
	void *l4p = 0;

	if ((void *)(eth + 1) > end)
		return h;
	proto = eth->h_proto;
	if (proto == bpf_htons(0x0800)) {
		struct iphdr *ip = (void *)(eth + 1);

		if ((void *)(ip + 1) > end)
			return h;
		h = mix(mix(h, ip->saddr), ip->daddr);
		l4 = ip->protocol;
		l4p = (void *)ip + ip->ihl * 4;
	} else if (proto == bpf_htons(0x86dd)) {
		struct ipv6hdr *ip6 = (void *)(eth + 1);

		if ((void *)(ip6 + 1) > end)
			return h;
		for (int i = 0; i < 4; i++)
			h = mix(mix(h, ip6->saddr.in6_u.u6_addr32[i]),
				ip6->daddr.in6_u.u6_addr32[i]);
		l4 = ip6->nexthdr;
		l4p = ip6 + 1;
	}
	if ((l4 == 6 || l4 == 17) && l4p && l4p + 4 <= end)
		h = mix(h, *(__u32 *)l4p);
	return mix(h, l4);
}

SEC("xdp")
int xdpkv_tag(struct xdp_md *ctx)
{
	__u64 id = id_base | __sync_fetch_and_add(&next_id, 1);
	__u32 hash = flow_hash(ctx);
	__u64 back = 0;
	int err;

	err = xdpkv_set_u64(ctx, key_packet_id, id, 0);
	if (!err)
		err = xdpkv_set_u32(ctx, key_flow_hash, hash, 0);
	if (!err)
		err = xdpkv_set_u16(ctx, key_ingress, (__u16)ctx->ingress_ifindex, 0);
	/* Read back what we wrote: the path every consumer takes. */
	if (!err && xdpkv_get_u64(ctx, key_packet_id, &back) == 8 && back != id)
		err = -EBADMSG;
	if (err) {
		__sync_fetch_and_add(&failed, 1);
		last_err = err;
		return XDP_PASS; /* never drop a packet for a tag */
	}
	__sync_fetch_and_add(&tagged, 1);
	return XDP_PASS;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
