// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * End-to-end benchmark programs. The redirect variants run on the LB's
 * ingress veth and redirect every frame through a devmap to the next veth,
 * whose peer runs e2e_sink; each adds one thing to the baseline, so that the
 * rates measured in one run compare as ratios. The GRO programs run on a
 * TCP receiver's veth (XDP then TC ingress, after GRO).
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>
#include <xdpkv/xdpkv.bpf.h>
#include <xdpkv/xdpkv_hints.bpf.h>
#include "e2e.h"

const volatile __u32 gro_mode = E2E_GRO_NONE;

__u64 next_id = 1;
struct e2e_counts counts = {};
struct e2e_counts sink = {};
struct e2e_gro_counts gro = {};

struct {
	__uint(type, BPF_MAP_TYPE_DEVMAP);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct bpf_devmap_val);
} e2e_tx SEC(".maps");

static __always_inline int redirect(void)
{
	__sync_fetch_and_add(&counts.packets, 1);
	return bpf_redirect_map(&e2e_tx, 0, 0);
}

static __always_inline int set_id(struct xdp_md *ctx)
{
	if (xdpkv_set_u64(ctx, E2E_KEY_ID, __sync_fetch_and_add(&next_id, 1), 0)) {
		__sync_fetch_and_add(&counts.errors, 1);
		return -1;
	}
	return 0;
}

SEC("xdp")
int e2e_redirect(struct xdp_md *ctx)
{
	return redirect();
}

SEC("xdp")
int e2e_id(struct xdp_md *ctx)
{
	set_id(ctx);
	return redirect();
}

SEC("xdp")
int e2e_id_hints(struct xdp_md *ctx)
{
	struct xdpkv_hints h = {};

	set_id(ctx);
	xdpkv_hints_software(ctx, &h, XDPKV_HINT_PRESENT_MASK);
	if (xdpkv_hints_store(ctx, &h))
		__sync_fetch_and_add(&counts.errors, 1);
	return redirect();
}

/* The far end: count and drop (the same for every variant). */
SEC("xdp")
int e2e_sink(struct xdp_md *ctx)
{
	__sync_fetch_and_add(&sink.packets, 1);
	return XDP_DROP;
}

/* GRO receiver, XDP: write what gro_mode says, then pass. */
SEC("xdp")
int e2e_gro_xdp(struct xdp_md *ctx)
{
	struct xdpkv_hints h = {};
	int err = 0;

	__sync_fetch_and_add(&counts.packets, 1);
	switch (gro_mode) {
	case E2E_GRO_FLOW:
		/* One value per flow: the software RSS hash of its 5-tuple. */
		xdpkv_hints_software(ctx, &h, XDPKV_HINT_HASH);
		err = xdpkv_set_u32(ctx, E2E_KEY_FLOW, h.hash, 0);
		break;
	case E2E_GRO_ID:
		err = set_id(ctx);
		break;
	}
	if (err)
		__sync_fetch_and_add(&counts.errors, 1);
	return XDP_PASS;
}

/*
 * An skb whose data starts before data already seen reached TCP late (out of
 * order; a retransmission counts too): what GRO's held packets cause. One
 * flow, one receive queue: plain updates are enough.
 */
static __always_inline void count_late(struct __sk_buff *skb)
{
	void *data = (void *)(long)skb->data, *end = (void *)(long)skb->data_end;
	struct ethhdr *eth = data;
	struct iphdr *ip = (void *)(eth + 1);
	struct tcphdr *th;
	__u32 seq, len;

	if ((void *)(ip + 1) > end || eth->h_proto != bpf_htons(0x0800) || ip->protocol != 6)
		return;
	th = (void *)ip + ip->ihl * 4;
	if ((void *)(th + 1) > end)
		return;
	len = bpf_ntohs(ip->tot_len);
	if (len <= ip->ihl * 4 + th->doff * 4)
		return; /* no payload */
	len -= ip->ihl * 4 + th->doff * 4;
	seq = bpf_ntohl(th->seq);
	if (gro.started && (__s32)(seq - gro.max_end) < 0)
		gro.late++;
	if (!gro.started || (__s32)(seq + len - gro.max_end) > 0)
		gro.max_end = seq + len;
	gro.started = 1;
}

/* GRO receiver, TC ingress: what GRO made of it. */
SEC("tc")
int e2e_gro_tc(struct __sk_buff *skb)
{
	__u32 segs = skb->gso_segs;

	__sync_fetch_and_add(&gro.skbs, 1);
	__sync_fetch_and_add(&gro.segs, segs ? segs : 1);
	__sync_fetch_and_add(&gro.bytes, skb->len);
	count_late(skb);
	return 0; /* TC_ACT_OK */
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
