// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * flowtag: XDP stores each packet's flow hash under the registry key
 * "flow_hash"; TC ingress on the same device reads it back from the skb's
 * metadata, checks it against the packet and counts packets per flow.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>
#include <xdpkv/xdpkv.bpf.h>
#include "flowtag.h"

#define ETH_P_IP  0x0800
#define TC_ACT_OK 0

/* Filled by the loader from the registry (xdpkv::resolve_keys). */
const volatile __u32 key_flow;

struct flowtag_counters counters;

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, FLOWTAG_MAX_FLOWS);
	__type(key, __u32);
	__type(value, __u64);
} flows SEC(".maps");

static __always_inline __u32 mix(__u32 h, __u32 v)
{
	h ^= v;
	h *= 0x9e3779b1;
	return h ^ (h >> 15);
}

/* IPv4 addresses, protocol and (TCP/UDP) ports; the EtherType otherwise. */
static __always_inline __u32 flow_hash(void *data, void *end)
{
	struct ethhdr *eth = data;
	struct iphdr *ip = (void *)(eth + 1);
	__u32 *ports;

	if ((void *)(eth + 1) > end)
		return 0;
	if (eth->h_proto != bpf_htons(ETH_P_IP) || (void *)(ip + 1) > end)
		return mix(0x12345678, eth->h_proto);
	__u32 h = mix(mix(mix(0x12345678, ip->saddr), ip->daddr), ip->protocol);

	ports = (void *)ip + ip->ihl * 4;
	if ((ip->protocol == 6 || ip->protocol == 17) && (void *)(ports + 1) <= end)
		h = mix(h, *ports);
	return h;
}

SEC("xdp")
int flowtag_xdp(struct xdp_md *ctx)
{
	struct xdpkv_kv tag = { .key = key_flow, .len = sizeof(__u32) };

	/* set_many: on a packet without a store, one grow and one header write. */
	tag.val = flow_hash((void *)(long)ctx->data, (void *)(long)ctx->data_end);
	if (xdpkv_set_many(ctx, &tag, 1, 0))
		__sync_fetch_and_add(&counters.xdp_failed, 1);
	else
		__sync_fetch_and_add(&counters.xdp_tagged, 1);
	return XDP_PASS;
}

SEC("tc")
int flowtag_tc(struct __sk_buff *skb)
{
	struct xdpkv_kv tag = { .key = key_flow };
	__u64 one = 1, *n;
	__u32 h;

	if (xdpkv_skb_get_many(skb, &tag, 1) != 1 || tag.len != sizeof(h)) {
		__sync_fetch_and_add(&counters.tc_untagged, 1);
		return TC_ACT_OK;
	}
	h = tag.val;
	__sync_fetch_and_add(&counters.tc_seen, 1);
	if (h != flow_hash((void *)(long)skb->data, (void *)(long)skb->data_end))
		__sync_fetch_and_add(&counters.tc_mismatch, 1);
	n = bpf_map_lookup_elem(&flows, &h);
	if (n)
		__sync_fetch_and_add(n, 1);
	else
		bpf_map_update_elem(&flows, &h, &one, BPF_NOEXIST);
	return TC_ACT_OK;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
