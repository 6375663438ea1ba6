// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * `xdpkv tag`: gives packets a PACKET_ID for `xdpkv trace`. Ids come from
 * one counter shared by every tagger on the host (a one-element array pinned
 * next to the registry): unique per host. Statistics are per CPU; a busy CPU
 * (trace.h, struct xdpkv_tag_cpu) also samples with its own counters and
 * takes ids by blocks, so nothing shared is written per packet and the cost
 * per packet does not grow with the CPUs that run the tagger; what stays
 * shared is the flow table, written at a TCP burst's start.
 * A filter (struct xdpkv_tag_filter, set by the loader) selects the packets.
 * A TCP packet is tagged by burst (trace.h, XDPKV_TAG_BURST_END_FLAGS): one
 * burst in `sample` and every packet of it carries the burst's id, so GRO
 * still merges the flow and never holds a packet back behind later data.
 * Other packets: one in `sample`. Optionally the software NIC hints too.
 * Never drops.
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
const volatile __u32 per_packet; /* 1: sample single TCP packets too (stops GRO) */
const volatile struct xdpkv_tag_filter filter = {};

int last_err; /* written on a failure only */
/* Sampling counters of the quiet CPUs (exact across CPUs). */
__u64 seq_packets;
__u64 seq_bursts;

/* Statistics, sampling counters and the block of ids, per CPU. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct xdpkv_tag_cpu);
} xdpkv_tag_cpu SEC(".maps");

/* The host's id counter: the loader reuses the pinned map when it exists. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} xdpkv_tag_ids SEC(".maps");

/* Burst mode: each TCP flow's current burst (XDPKV_TAG_FLOWS flows, LRU). */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, XDPKV_TAG_FLOWS);
	__type(key, struct xdpkv_tag_flow);
	__type(value, struct xdpkv_tag_burst);
} xdpkv_tag_flows SEC(".maps");

/* What match() learnt of a packet. */
struct pkt {
	struct xdpkv_tag_flow flow;
	__u8 ip; /* IPv4 or IPv6 */
	__u8 l4;
	__u8 tcp_flags;
	__u16 payload; /* TCP payload bytes */
	__u16 ip_len;  /* IPv4 total length or IPv6 payload length */
	__u16 l3_hdr;  /* IPv4 header bytes; IPv6: 0 */
};

static __always_inline int port_ok(__u16 want, __u16 have)
{
	return !want || want == have;
}

static __always_inline int filter_empty(void)
{
	return !filter.proto && !filter.ipv4_only && !filter.has_host && !filter.has_src &&
	       !filter.has_dst && !filter.has_port && !filter.has_sport && !filter.has_dport;
}

/* The L3 part of the filter; fills the addresses, protocol and length. */
static __always_inline int match_l3(void *l3, void *end, __u16 proto, struct pkt *p, void **l4p)
{
	if (proto == bpf_htons(0x0800)) {
		struct iphdr *ip = l3;

		if ((void *)(ip + 1) > end)
			return 0;
		if (filter.has_host && ip->saddr != filter.host && ip->daddr != filter.host)
			return 0;
		if (filter.has_src && ip->saddr != filter.src)
			return 0;
		if (filter.has_dst && ip->daddr != filter.dst)
			return 0;
		p->ip = 1;
		p->flow.saddr[0] = ip->saddr;
		p->flow.daddr[0] = ip->daddr;
		p->l4 = ip->protocol;
		p->ip_len = bpf_ntohs(ip->tot_len);
		p->l3_hdr = ip->ihl * 4;
		/* A later fragment has no L4 header. */
		*l4p = ip->frag_off & bpf_htons(0x1fff) ? 0 : (void *)ip + ip->ihl * 4;
		return 1;
	}
	if (proto == bpf_htons(0x86dd)) {
		struct ipv6hdr *ip6 = l3;

		if (filter.ipv4_only || filter.has_host || filter.has_src || filter.has_dst)
			return 0;
		if ((void *)(ip6 + 1) > end)
			return 0;
		__builtin_memcpy(p->flow.saddr, &ip6->saddr, 16);
		__builtin_memcpy(p->flow.daddr, &ip6->daddr, 16);
		p->ip = 1;
		p->flow.v6 = 1;
		p->l4 = ip6->nexthdr;
		p->ip_len = bpf_ntohs(ip6->payload_len);
		*l4p = ip6 + 1;
		return 1;
	}
	/* Not IP: only an empty filter takes it. */
	return filter_empty();
}

/* 1 if the packet passes the filter; p describes it. */
static __always_inline int match(struct xdp_md *ctx, struct pkt *p)
{
	void *data = (void *)(long)ctx->data;
	void *end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;
	struct tcphdr *th;
	void *l4p = 0;
	__u16 sport, dport, hdr;

	if ((void *)(eth + 1) > end)
		return 0;
	if (!match_l3(eth + 1, end, eth->h_proto, p, &l4p))
		return 0;
	if (!p->ip)
		return 1; /* not IP, empty filter */
	if (filter.proto && p->l4 != filter.proto)
		return 0;
	if ((p->l4 == 6 || p->l4 == 17) && l4p && l4p + 4 <= end) {
		p->flow.sport = ((__u16 *)l4p)[0];
		p->flow.dport = ((__u16 *)l4p)[1];
	}
	if (p->l4 == 6 && l4p && l4p + sizeof(*th) <= end) {
		th = l4p;
		p->tcp_flags = ((__u8 *)th)[13];
		hdr = p->l3_hdr + th->doff * 4;
		p->payload = p->ip_len > hdr ? p->ip_len - hdr : 0;
	}
	if (!filter.has_port && !filter.has_sport && !filter.has_dport)
		return 1;
	if ((p->l4 != 6 && p->l4 != 17) || !l4p || l4p + 4 > end)
		return 0;
	sport = p->flow.sport;
	dport = p->flow.dport;
	if (filter.has_port && sport != filter.port && dport != filter.port)
		return 0;
	return port_ok(filter.has_sport ? filter.sport : 0, sport) &&
	       port_ok(filter.has_dport ? filter.dport : 0, dport);
}

/* Busy or quiet (trace.h): decided again every XDPKV_TAG_BUSY_PKTS matching packets. */
static __always_inline void update_busy(struct xdpkv_tag_cpu *c)
{
	__u64 now;

	if (++c->window_pkts < XDPKV_TAG_BUSY_PKTS)
		return;
	now = bpf_ktime_get_ns();
	c->busy = now - c->window_ns < XDPKV_TAG_BUSY_NS;
	c->window_ns = now;
	c->window_pkts = 0;
}

/* A packet's or a burst's number for sampling: this CPU's if busy, else the tagger's. */
static __always_inline __u64 next_seq(struct xdpkv_tag_cpu *c, __u64 *mine, __u64 *shared)
{
	return c->busy ? (*mine)++ : __sync_fetch_and_add(shared, 1);
}

/*
 * A new id above `after`. Busy: from this CPU's block, and a new block from
 * the host's counter when it is used up or not above `after` (a flow that
 * moved here from a CPU whose block is ahead: the counter is above every id
 * handed out). Quiet: one id from the host's counter. 0 if the counter is
 * missing (never).
 */
static __always_inline __u64 new_id(struct xdpkv_tag_cpu *c, __u64 after)
{
	__u64 *ctr, n = c->busy ? XDPKV_TAG_ID_BLOCK : 1;
	__u32 zero = 0;

	if (c->busy && c->id_next < c->id_end && c->id_next > after)
		return c->id_next++;
	ctr = bpf_map_lookup_elem(&xdpkv_tag_ids, &zero);
	if (!ctr)
		return 0;
	/* Ids start at 1: 0 is never a packet's id. */
	c->id_next = __sync_fetch_and_add(ctr, n) + 1;
	c->id_end = c->id_next + n;
	return c->id_next++;
}

/* One matching packet in `sample` (UDP, ICMP, other, or --per-packet). */
static __always_inline __u64 packet_id(struct xdpkv_tag_cpu *c)
{
	__u64 n = next_seq(c, &c->seq_packets, &seq_packets);

	c->stats.matched++;
	return sample > 1 && n % sample ? 0 : new_id(c, 0);
}

/*
 * Burst mode: the id of the flow's current burst (0: not sampled). A burst
 * begins with a flow's first packet and with the packet after one that made
 * GRO complete the flow's held skb; one burst in `sample` gets an id.
 */
static __always_inline __u64 burst_id(struct xdpkv_tag_cpu *c, const struct pkt *p)
{
	struct xdpkv_tag_burst *b, nb = {};
	__u32 end = (p->tcp_flags & XDPKV_TAG_BURST_END_FLAGS) || !p->payload;
	__u64 n;

	c->stats.matched++;
	b = bpf_map_lookup_elem(&xdpkv_tag_flows, &p->flow);
	if (b && !b->end)
		goto in_burst;
	nb.last = b ? b->last : 0;
	n = next_seq(c, &c->seq_bursts, &seq_bursts);
	c->stats.bursts++;
	if (sample <= 1 || n % sample == 0) {
		nb.id = new_id(c, nb.last);
		nb.last = nb.id ? nb.id : nb.last;
		c->stats.sampled++;
	}
	nb.end = end;
	bpf_map_update_elem(&xdpkv_tag_flows, &p->flow, &nb, BPF_ANY);
	return nb.id;
in_burst:
	/* Written only when the burst ends: one flow, one cache line, rarely. */
	if (end)
		b->end = 1;
	return b->id;
}

/*
 * The id and the host's origin mark (the tracer reports ids only from stores
 * that carry it), in one metadata grow. The id is truncated to key_size.
 */
static __always_inline int put_id(struct xdp_md *ctx, __u64 id)
{
	/* Ascending keys (59 is above every assignable id): the append path. */
	struct xdpkv_kv kv[2] = {
		{ .key = key_packet_id, .val = id, .len = key_size },
		XDPKV_KV_ORIGIN(xdpkv_origin),
	};

	if (!xdpkv_origin)
		return xdpkv_set_many(ctx, kv, 1, 0);
	return xdpkv_set_many(ctx, kv, 2, 0);
}

SEC("xdp")
int xdpkv_tagger(struct xdp_md *ctx)
{
	struct xdpkv_tag_cpu *c;
	struct xdpkv_hints h;
	struct pkt p = {};
	__u32 zero = 0;
	int err, burst;
	__u64 id;

	c = bpf_map_lookup_elem(&xdpkv_tag_cpu, &zero);
	if (!c)
		return XDP_PASS;
	c->stats.seen++;
	if (!match(ctx, &p))
		return XDP_PASS;
	update_busy(c);
	/* Without its TCP header (a later fragment): sampled as a single packet. */
	burst = p.l4 == 6 && p.tcp_flags && !per_packet;
	id = burst ? burst_id(c, &p) : packet_id(c);
	if (!id)
		return XDP_PASS;
	err = put_id(ctx, id);
	if (!err && with_hints) {
		/*
		 * A timestamp differs per packet: within a burst it would make
		 * GRO hold packets back, so TCP bursts carry hash and VLAN only.
		 */
		xdpkv_hints_capture(ctx, &h,
				    burst ? XDPKV_HINT_PRESENT_MASK & ~XDPKV_HINT_TIMESTAMP :
					    XDPKV_HINT_PRESENT_MASK);
		err = xdpkv_hints_store(ctx, &h);
	}
	if (err) {
		c->stats.failed++;
		last_err = err;
		return XDP_PASS; /* never drop a packet for a tag */
	}
	c->stats.tagged++;
	return XDP_PASS;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
