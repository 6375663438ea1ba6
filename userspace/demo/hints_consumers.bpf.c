// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
// The consumers of the NIC hints on the namespace topology (`xdpkv demo`'s
// hints section and tests/hints; loaded by userspace/demo/src/hints_rig.cpp):
// each reads the hints (and the capture's sequence number) of every packet
// and sends a record to the ring buffer. Plus the sender's VLAN tagger.
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>
#include <xdpkv/xdpkv.bpf.h>
#include <xdpkv/xdpkv_hints.bpf.h>
#include <xdpkv/demo/hints_consumers.h>

const volatile __u32 key_seq = 5;
const volatile __u32 to_xsk;
const volatile __u8 dst_mac[6] = {}; /* devmap program: rewrite to these */
const volatile __u8 src_mac[6] = {};
const volatile __u16 vlan_proto_be; /* sender: push this tag ... */
const volatile __u16 vlan_tci;
const volatile __u16 vlan_dport = 7777; /* ... on UDP to this port */
/* The tracepoint sees every namespace: only skbs of these (the rig's) count. */
const volatile __u32 netns_ino[3] = {};

__u64 lost;
__u64 traced;

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 1 << 23);
} records SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_XSKMAP);
	__uint(max_entries, 64);
	__type(key, __u32);
	__type(value, __u32);
} xsks SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u8[256]);
} metabuf SEC(".maps");

static __always_inline struct hc_rec *rec_new(__u32 consumer)
{
	struct hc_rec *r = bpf_ringbuf_reserve(&records, sizeof(*r), 0);

	if (!r) {
		__sync_fetch_and_add(&lost, 1);
		return 0;
	}
	__builtin_memset(r, 0, sizeof(*r));
	r->consumer = consumer;
	for (int i = 0; i < XDPKV_HI_N; i++)
		r->drv_rc[i] = XDPKV_HINT_RC_NOT_TRIED;
	return r;
}

/* The UDP source port of an IPv4 frame (host order), 0 if none. */
static __always_inline __u32 udp_sport(void *data, void *end)
{
	struct ethhdr *eth = data;
	struct iphdr *ip = (void *)(eth + 1);
	struct udphdr *udp = (void *)(ip + 1);

	if ((void *)(udp + 1) > end || eth->h_proto != bpf_htons(0x0800) || ip->ihl != 5 ||
	    ip->protocol != IPPROTO_UDP)
		return 0;
	return bpf_ntohs(udp->source);
}

static __always_inline int xdp_record(struct xdp_md *ctx, __u32 consumer, const int *drv)
{
	struct hc_rec *r;
	__u64 seq = 0;
	int seq_rc = xdpkv_get_u64(ctx, key_seq, &seq);

	if (seq_rc == -ENOENT)
		return 0; /* not a captured packet (ARP, ...) */
	r = rec_new(consumer);
	if (!r)
		return 0;
	r->seq = seq;
	r->seq_rc = seq_rc;
	r->hash_rc = xdpkv_hint_hash(ctx, &r->hash, &r->hash_type, &r->flags);
	r->vlan_rc = xdpkv_hint_vlan(ctx, &r->vlan_proto, &r->vlan_tci, 0);
	r->ts_rc = xdpkv_hint_timestamp(ctx, &r->ts, 0);
	if (drv)
		__builtin_memcpy(r->drv_rc, drv, sizeof(r->drv_rc));
	r->ifindex = ctx->ingress_ifindex;
	{
		void *meta = (void *)(long)ctx->data_meta, *data = (void *)(long)ctx->data;
		long m = xdpkv__meta_len(meta, data);

		r->meta_len = m < 0 ? 0 : m;
		r->sport = udp_sport(data, (void *)(long)ctx->data_end);
	}
	bpf_ringbuf_submit(r, 0);
	return 0;
}

SEC("xdp/devmap")
int hc_devmap(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data, *end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;

	xdp_record(ctx, HC_DEVMAP, 0);
	data = (void *)(long)ctx->data;
	end = (void *)(long)ctx->data_end;
	eth = data;
	if ((void *)(eth + 1) <= end && (dst_mac[0] | dst_mac[1] | dst_mac[5])) {
		__builtin_memcpy(eth->h_dest, (const void *)dst_mac, 6);
		__builtin_memcpy(eth->h_source, (const void *)src_mac, 6);
	}
	return XDP_PASS;
}

SEC("xdp/cpumap")
int hc_cpumap(struct xdp_md *ctx)
{
	xdp_record(ctx, HC_CPUMAP, 0);
	return XDP_PASS;
}

/* On the redirect target, device-bound: the driver has nothing for redirected frames. */
SEC("xdp")
int hc_backend(struct xdp_md *ctx)
{
	struct xdpkv_hints drv = {};
	struct xdpkv_hints_rc rc;

	xdpkv_hints_driver(ctx, &drv, XDPKV_HINT_PRESENT_MASK, &rc);
	xdp_record(ctx, HC_BACKEND, rc.all);
	if (to_xsk)
		return bpf_redirect_map(&xsks, ctx->rx_queue_index, XDP_PASS);
	return XDP_PASS;
}

static __always_inline int tc_record(struct __sk_buff *skb, __u32 consumer)
{
	struct hc_rec *r;
	__u64 seq = 0;
	int seq_rc = xdpkv_skb_get(skb, key_seq, &seq, sizeof(seq));

	if (seq_rc == -ENOENT || seq_rc == -EOPNOTSUPP)
		return -1; /* TC_ACT_UNSPEC */
	r = rec_new(consumer);
	if (!r)
		return -1;
	r->seq = seq;
	r->seq_rc = seq_rc < 0 ? seq_rc : 0;
	r->hash_rc = xdpkv_hint_hash_skb(skb, &r->hash, &r->hash_type, &r->flags);
	r->vlan_rc = xdpkv_hint_vlan_skb(skb, &r->vlan_proto, &r->vlan_tci, 0);
	r->ts_rc = xdpkv_hint_timestamp_skb(skb, &r->ts, 0);
	r->skb_hash = skb->hash;
	r->vlan_present = skb->vlan_present;
	r->skb_vlan_tci = skb->vlan_tci;
	r->skb_vlan_proto = skb->vlan_proto;
	r->ifindex = skb->ingress_ifindex;
	r->sport = udp_sport((void *)(long)skb->data, (void *)(long)skb->data_end);
	bpf_ringbuf_submit(r, 0);
	return -1;
}

SEC("tc")
int hc_tc(struct __sk_buff *skb)
{
	return tc_record(skb, HC_TC);
}

/* The same, attached before xdpkv_restore: the skb as it was built. */
SEC("tc")
int hc_tc_pre(struct __sk_buff *skb)
{
	return tc_record(skb, HC_TC_PRE);
}

/* The sender's egress: tag UDP to vlan_dport (the test's VLAN traffic). */
SEC("tc")
int hc_vlan_push(struct __sk_buff *skb)
{
	void *data = (void *)(long)skb->data, *end = (void *)(long)skb->data_end;
	struct ethhdr *eth = data;
	struct iphdr *ip = (void *)(eth + 1);
	struct udphdr *udp = (void *)(ip + 1);

	if ((void *)(udp + 1) > end || eth->h_proto != bpf_htons(0x0800) || ip->ihl != 5 ||
	    ip->protocol != IPPROTO_UDP || udp->dest != bpf_htons(vlan_dport))
		return 0; /* TC_ACT_OK */
	bpf_skb_vlan_push(skb, vlan_proto_be, vlan_tci);
	return 0;
}

/*
 * The skb after the stack: freed with a drop reason (here: no socket on the
 * port). Reads skb->hash and its l4_hash/sw_hash bits, and the store from a
 * copy of the metadata area (head + mac_header - meta_len).
 */
SEC("tp_btf/kfree_skb")
int BPF_PROG(hc_trace, struct sk_buff *skb, void *location, enum skb_drop_reason reason)
{
	unsigned char *head = skb->head;
	__u32 end = skb->end;
	__u16 mac = skb->mac_header;
	struct skb_shared_info *shinfo = (void *)(head + end);
	__u8 meta_len = 0;
	__u32 zero = 0;
	struct hc_rec *r;
	__u64 seq = 0;
	__u8 *buf;
	int seq_rc;

	__u32 ino = BPF_CORE_READ(skb, dev, nd_net.net, ns.inum);

	if (ino != netns_ino[0] && ino != netns_ino[1] && ino != netns_ino[2])
		return 0;
	if (bpf_probe_read_kernel(&meta_len, 1, &shinfo->meta_len) || meta_len < XDPKV_HDR_SIZE ||
	    mac == (__u16)~0U)
		return 0;
	buf = bpf_map_lookup_elem(&metabuf, &zero);
	if (!buf)
		return 0;
	if (meta_len > XDPKV_META_MAX)
		return 0;
	if (bpf_probe_read_kernel(buf, meta_len, head + mac - meta_len))
		return 0;
	seq_rc = xdpkv_buf_get(buf, meta_len, key_seq, &seq, sizeof(seq));
	if (seq_rc != 8)
		return 0;
	__sync_fetch_and_add(&traced, 1);
	r = rec_new(HC_TRACE);
	if (!r)
		return 0;
	r->seq = seq;
	r->hash_rc = xdpkv_hint_hash_buf(buf, meta_len, &r->hash, &r->hash_type, &r->flags);
	r->vlan_rc = xdpkv_hint_vlan_buf(buf, meta_len, &r->vlan_proto, &r->vlan_tci, 0);
	r->ts_rc = xdpkv_hint_timestamp_buf(buf, meta_len, &r->ts, 0);
	r->skb_hash = skb->hash;
	r->l4_hash = BPF_CORE_READ_BITFIELD(skb, l4_hash);
	r->sw_hash = BPF_CORE_READ_BITFIELD(skb, sw_hash);
	r->skb_vlan_tci = skb->vlan_tci;
	r->skb_vlan_proto = skb->vlan_proto;
	r->ifindex = skb->dev ? skb->dev->ifindex : 0;
	r->reason = reason;
	r->drop = reason == SKB_DROP_REASON_NO_SOCKET ? 1 :
		  reason == SKB_DROP_REASON_OTHERHOST ? 2 :
							3;
	r->meta_len = meta_len;
	bpf_ringbuf_submit(r, 0);
	return 0;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
