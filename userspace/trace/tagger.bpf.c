// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * `xdpkv tag`: gives packets a PACKET_ID for `xdpkv trace`. Ids come from one
 * counter shared by every tagger on the host (a one-element array pinned next
 * to the registry), taken with an atomic fetch-and-add: unique per host and
 * monotonic in the order the taggers take them. A filter (struct
 * xdpkv_tag_filter, set by the loader) selects the packets; of those, one in
 * `sample` gets an id. Optionally the software NIC hints too. Never drops.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>
#define XDPKV_HINTS_SOFTWARE_ONLY
#include <xdpkv/xdpkv.bpf.h>
#include <xdpkv/xdpkv_hints.bpf.h>
#include <xdpkv/trace.h>

const volatile __u32 key_packet_id;
const volatile __u32 key_size = 8;
const volatile __u64 sample = 64; /* the loader's default too (kTagDefaultSample) */
const volatile __u32 with_hints;
const volatile struct xdpkv_tag_filter filter = {};

struct xdpkv_tag_stats stats = {};
int last_err;

/* The host's id counter: the loader reuses the pinned map when it exists. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} xdpkv_tag_ids SEC(".maps");

static __always_inline int port_ok(__u16 want, __u16 have)
{
	return !want || want == have;
}

/* 1 if the packet passes the filter. */
static __always_inline int match(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;
	__u16 sport = 0, dport = 0;
	void *l4p = 0;
	__u8 l4 = 0;

	if ((void *)(eth + 1) > end)
		return 0;
	if (eth->h_proto == bpf_htons(0x0800)) {
		struct iphdr *ip = (void *)(eth + 1);

		if ((void *)(ip + 1) > end)
			return 0;
		if (filter.has_host && ip->saddr != filter.host && ip->daddr != filter.host)
			return 0;
		if (filter.has_src && ip->saddr != filter.src)
			return 0;
		if (filter.has_dst && ip->daddr != filter.dst)
			return 0;
		l4 = ip->protocol;
		l4p = (void *)ip + ip->ihl * 4;
	} else if (eth->h_proto == bpf_htons(0x86dd)) {
		struct ipv6hdr *ip6 = (void *)(eth + 1);

		if (filter.ipv4_only || filter.has_host || filter.has_src || filter.has_dst)
			return 0;
		if ((void *)(ip6 + 1) > end)
			return 0;
		l4 = ip6->nexthdr;
		l4p = ip6 + 1;
	} else {
		/* Not IP: only an empty filter takes it. */
		return !filter.proto && !filter.ipv4_only && !filter.has_host && !filter.has_src &&
		       !filter.has_dst && !filter.has_port && !filter.has_sport &&
		       !filter.has_dport;
	}
	if (filter.proto && l4 != filter.proto)
		return 0;
	if (!filter.has_port && !filter.has_sport && !filter.has_dport)
		return 1;
	if (l4 != 6 && l4 != 17)
		return 0;
	if (!l4p || l4p + 4 > end)
		return 0;
	sport = ((__u16 *)l4p)[0];
	dport = ((__u16 *)l4p)[1];
	if (filter.has_port && sport != filter.port && dport != filter.port)
		return 0;
	return port_ok(filter.has_sport ? filter.sport : 0, sport) &&
	       port_ok(filter.has_dport ? filter.dport : 0, dport);
}

SEC("xdp")
int xdpkv_tagger(struct xdp_md *ctx)
{
	struct xdpkv_hints h;
	__u32 zero = 0;
	__u64 *ctr, n, id;
	int err;

	__sync_fetch_and_add(&stats.seen, 1);
	if (!match(ctx))
		return XDP_PASS;
	n = __sync_fetch_and_add(&stats.matched, 1);
	if (sample > 1 && n % sample)
		return XDP_PASS;
	ctr = bpf_map_lookup_elem(&xdpkv_tag_ids, &zero);
	if (!ctr)
		return XDP_PASS;
	/* Ids start at 1: 0 is never a packet's id. */
	id = __sync_fetch_and_add(ctr, 1) + 1;
	if (key_size == 2)
		err = xdpkv_set_u16(ctx, key_packet_id, (__u16)id, 0);
	else if (key_size == 4)
		err = xdpkv_set_u32(ctx, key_packet_id, (__u32)id, 0);
	else
		err = xdpkv_set_u64(ctx, key_packet_id, id, 0);
	if (!err && with_hints) {
		xdpkv_hints_capture(ctx, &h, XDPKV_HINT_PRESENT_MASK);
		err = xdpkv_hints_store(ctx, &h);
	}
	if (err) {
		__sync_fetch_and_add(&stats.failed, 1);
		last_err = err;
		return XDP_PASS; /* never drop a packet for a tag */
	}
	__sync_fetch_and_add(&stats.tagged, 1);
	return XDP_PASS;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
