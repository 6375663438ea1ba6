// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * `xdpkv trace`: follows packets by the value of one store key (PACKET_ID)
 * through the stack. Each skb tracepoint copies the skb's metadata area
 * (head + mac_header - shinfo->meta_len) into a buffer and decodes the key
 * with xdpkv_buf_get; packets without the key are not traced, unless
 * `follow` and the skb address was seen with it before, on the same packet
 * (follow_ok). Every program exists twice, as tp_btf and raw_tp:
 * the loader keeps one set (both read through BPF_CORE_READ, which works on
 * the trusted and the raw pointer). fentry programs on a few kernel
 * functions are loaded only where the kernel allows them. The xdp
 * tracepoints carry no packet: they are counted per point, program and
 * device.
 *
 * fentry/fexit on XDP and TC programs (and fentry on any kernel function
 * taking an skb first) are loaded once per target, from this same object,
 * sharing the events and followed maps of the main load: prog_slot names the
 * target. The XDP ones read the store from the xdp_buff (data_meta .. data),
 * before the program (fentry) and after it, with its action (fexit).
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_tracing.h>
#include <xdpkv/xdpkv.bpf.h>
#include <xdpkv/trace.h>

const volatile struct xdpkv_trace_filter filter = { .value_hi = ~0ULL };
const volatile __u16 prog_slot; /* per-target loads: the tracer's index of the target */
/*
 * The host's origin mark (docs/FORMAT.md "Reserved keys"): ids are read only
 * from stores that carry it; 0 (--any-origin): from any store.
 */
const volatile __u32 xdpkv_origin;

__u64 emitted;
__u64 lost;
__u64 foreign; /* sightings whose store had the key but not the mark */

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 1 << 22); /* the loader sets the size */
} events SEC(".maps");

/* What --follow keeps of an skb seen with an id: the id and its packet. */
struct follow {
	__u64 id;
	__u64 packet; /* packet_key() of the skb then */
};

/* skb address -> struct follow. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 65536);
	__type(key, __u64);
	__type(value, struct follow);
} followed SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 4096);
	__type(key, struct xdpkv_xdp_count_key);
	__type(value, __u64);
} xdp_counts SEC(".maps");

/*
 * 256, not XDPKV_META_MAX: any 8-bit length fits, so the copies verify on
 * kernels (6.1, 6.12) whose verifier loses clang's folded "<= 252" range check.
 */
struct meta_buf {
	__u8 b[256];
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct meta_buf);
} scratch SEC(".maps");

static __always_inline __u32 dev_netns(struct net_device *dev)
{
	return BPF_CORE_READ(dev, nd_net.net, ns.inum);
}

/* One sighting of a packet: what every event says besides its buffers. */
struct sighting {
	__u64 skb; /* 0 at an XDP program: no skb yet */
	__u64 id;
	__u32 flags; /* XDPKV_TEV_* */
	__u32 netns;
	__u32 ifindex;
	__u32 len;
	__u32 reason;
	__u32 meta_len; /* bytes of the metadata area copied into the scratch buffer */
	__u16 point;
	__u16 func_id;
};

/* The filter's netns and device tests (a zero one tests nothing). */
static __always_inline int place_ok(__u32 netns, __u32 ifindex, __u32 iif)
{
	if (filter.netns && netns != filter.netns)
		return 0;
	return !filter.ifindex || ifindex == filter.ifindex || iif == filter.ifindex;
}

/*
 * The traced key in the copied metadata: sets s->id and XDPKV_TEV_ID. With
 * origin, only from a store with the host's mark: an skb's area can be
 * outer headers after a decap. An xdp_buff's area is what XDP programs
 * wrote (no decap comes before XDP), and Linux 6.1 refuses the second read
 * in fentry programs on XDP (-EACCES): handle_xdp passes 0.
 */
static __always_inline void read_id(struct sighting *s, struct meta_buf *buf, const int origin)
{
	if (!s->meta_len ||
	    xdpkv_buf_get(buf->b, s->meta_len, filter.key_id, &s->id, sizeof(s->id)) <= 0)
		return;
	if (origin && xdpkv_origin && !xdpkv_buf_origin_ok(buf->b, s->meta_len, xdpkv_origin)) {
		s->id = 0;
		__sync_fetch_and_add(&foreign, 1);
		return;
	}
	s->flags |= XDPKV_TEV_ID;
}

/* A sighting with an id in the traced range. */
static __always_inline int wanted(const struct sighting *s)
{
	return s->flags && s->id >= filter.value_lo && s->id <= filter.value_hi;
}

/*
 * An event in the ring buffer holding the sighting, the metadata area and the
 * device's name, or NULL (counted in `lost`) when the ring buffer is full.
 * The caller adds the frame.
 */
static __always_inline struct xdpkv_trace_event *
new_event(const struct sighting *s, struct meta_buf *buf, struct net_device *dev)
{
	struct xdpkv_trace_event *e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);

	if (!e) {
		__sync_fetch_and_add(&lost, 1);
		return NULL;
	}
	e->time_ns = bpf_ktime_get_ns();
	e->skb = s->skb;
	e->id = s->id;
	e->flags = s->flags;
	e->cpu = bpf_get_smp_processor_id();
	e->netns = s->netns;
	e->ifindex = s->ifindex;
	e->len = s->len;
	e->reason = s->reason;
	e->point = s->point;
	e->func_id = s->func_id;
	e->meta_len = s->meta_len;
	e->segs = 0;
	if (s->meta_len)
		__builtin_memcpy(e->meta, buf->b, sizeof(e->meta));
	if (dev)
		bpf_probe_read_kernel_str(e->ifname, sizeof(e->ifname), dev->name);
	else
		e->ifname[0] = 0;
	return e;
}

/* Copies up to XDPKV_TRACE_SNAPLEN bytes of the frame at start (len bytes) and submits e. */
static __always_inline void submit(struct xdpkv_trace_event *e, const void *start, __u32 len,
				   __u32 avail)
{
	__u32 cap = avail < len ? avail : len;

	if (cap > XDPKV_TRACE_SNAPLEN)
		cap = XDPKV_TRACE_SNAPLEN;
	e->frame_len = len;
	e->cap_len = 0;
	if (cap && !bpf_probe_read_kernel(e->data, cap, start))
		e->cap_len = cap;
	__sync_fetch_and_add(&emitted, 1);
	bpf_ringbuf_submit(e, 0);
}

/* The skb's metadata area (head + mac_header - meta_len) into buf; its length, or 0. */
static __always_inline __u32 skb_meta(struct sk_buff *skb, struct meta_buf *buf)
{
	unsigned char *head = BPF_CORE_READ(skb, head);
	__u16 mac = BPF_CORE_READ(skb, mac_header);
	__u32 end = BPF_CORE_READ(skb, end);
	__u8 meta_len = BPF_CORE_READ((struct skb_shared_info *)(head + end), meta_len);
	__u32 m = 0;

	if (meta_len && mac != (__u16)~0U && meta_len <= XDPKV_META_MAX) {
		m = meta_len;
		if (bpf_probe_read_kernel(buf->b, m, head + mac - m))
			m = 0;
	}
	return m;
}

static __always_inline __u64 mix(__u64 h, __u64 v)
{
	h = (h ^ v) * 0x9e3779b97f4a7c15ULL;
	return h ^ (h >> 29);
}

/*
 * What names a packet along its way, whatever skb or head holds it: a hash
 * of its IP addresses, protocol and IPv4 id, its ports and TCP sequence
 * number (a GRO skb: its first segment's). Forwarding changes none of them
 * (NAT does). 0: not IPv4 or IPv6 (in-band VLAN included), never followed.
 */
static __noinline __u64 packet_key(struct sk_buff *skb)
{
	unsigned char *head = BPF_CORE_READ(skb, head);
	__u16 mac = BPF_CORE_READ(skb, mac_header);
	__u16 nh = BPF_CORE_READ(skb, network_header);
	__be16 proto = BPF_CORE_READ(skb, protocol);
	unsigned char *l3 = head + nh;
	struct ipv6hdr ip6;
	struct iphdr ip;
	__u32 l4[2];
	__u64 h = 0;
	__u8 next;
	int i;

	/* Before the stack sets the network header, it follows Ethernet's. */
	if (mac != (__u16)~0U && nh <= mac)
		l3 = head + mac + 14;
	if (proto == bpf_htons(0x0800)) {
		if (bpf_probe_read_kernel(&ip, sizeof(ip), l3) || ip.version != 4)
			return 0;
		h = mix(mix(ip.saddr, ip.daddr), (__u32)ip.id << 8 | ip.protocol);
		if (ip.frag_off & bpf_htons(0x1fff))
			return h ?: 1; /* a later fragment: no ports */
		next = ip.protocol;
		l3 += ip.ihl * 4;
	} else if (proto == bpf_htons(0x86dd)) {
		if (bpf_probe_read_kernel(&ip6, sizeof(ip6), l3) || ip6.version != 6)
			return 0;
		for (i = 0; i < 4; i++)
			h = mix(mix(h, ip6.saddr.in6_u.u6_addr32[i]), ip6.daddr.in6_u.u6_addr32[i]);
		next = ip6.nexthdr;
		h = mix(h, next);
		l3 += sizeof(ip6);
	} else {
		return 0;
	}
	if (bpf_probe_read_kernel(l4, sizeof(l4), l3))
		return 0;
	h = mix(h, l4[0]);
	if (next == IPPROTO_TCP)
		h = mix(h, l4[1]);
	return h ?: 1;
}

/*
 * May an skb without the id take the one its address had? Not every free of
 * an skb passes kfree_skb or consume_skb (GRO's stolen heads, TCP's
 * coalesced skbs, NAPI's skb cache, deferred frees), so the entry can be
 * an earlier skb's. The skb takes it only if it has been through the stack
 * (a driver's new skb has no network header before __netif_receive_skb_core
 * sets it), has no store of its own, and is the same packet.
 */
static __always_inline int follow_ok(const struct sighting *s, struct sk_buff *skb,
				     const struct follow *f)
{
	return !s->meta_len && BPF_CORE_READ(skb, network_header) && f->packet == packet_key(skb);
}

/* The id of an skb: from its store, else (--follow) from the address it had. */
static __always_inline void skb_id(struct sk_buff *skb, struct sighting *s, struct meta_buf *buf)
{
	struct follow *f, now;

	read_id(s, buf, 1);
	if (!filter.follow)
		return;
	if (s->flags & XDPKV_TEV_ID) {
		now.id = s->id;
		now.packet = packet_key(skb);
		if (now.packet)
			bpf_map_update_elem(&followed, &s->skb, &now, BPF_ANY);
		else
			bpf_map_delete_elem(&followed, &s->skb);
	} else {
		f = bpf_map_lookup_elem(&followed, &s->skb);
		if (f && follow_ok(s, skb, f)) {
			s->id = f->id;
			s->flags |= XDPKV_TEV_FOLLOWED;
		} else if (f) {
			bpf_map_delete_elem(&followed, &s->skb);
		}
	}
	if (s->point == XDPKV_TP_KFREE_SKB || s->point == XDPKV_TP_CONSUME_SKB)
		bpf_map_delete_elem(&followed, &s->skb);
}

static __noinline int handle(struct sk_buff *skb, __u16 point, __u16 func_id,
			     struct net_device *dev, __u32 reason)
{
	struct sighting s = {
		.skb = (__u64)skb, .point = point, .func_id = func_id, .reason = reason
	};
	unsigned char *head, *start, *data;
	struct skb_shared_info *shinfo;
	struct xdpkv_trace_event *e;
	struct meta_buf *buf;
	__u32 zero = 0, iif, tail;
	__u16 mac, nh;

	if (!skb)
		return 0;
	if (!dev)
		dev = BPF_CORE_READ(skb, dev);
	if (dev) {
		s.netns = dev_netns(dev);
		s.ifindex = BPF_CORE_READ(dev, ifindex);
	} else {
		/* In a socket's queue skb->dev is gone: the socket names the netns. */
		s.netns = BPF_CORE_READ(skb, sk, __sk_common.skc_net.net, ns.inum);
	}
	iif = BPF_CORE_READ(skb, skb_iif);
	if (!place_ok(s.netns, s.ifindex, iif))
		return 0;
	buf = bpf_map_lookup_elem(&scratch, &zero);
	if (!buf)
		return 0;
	s.meta_len = skb_meta(skb, buf);
	skb_id(skb, &s, buf);
	if (!wanted(&s))
		return 0;
	if (!s.ifindex)
		s.ifindex = iif;
	s.len = BPF_CORE_READ(skb, len);
	e = new_event(&s, buf, dev);
	if (!e)
		return 0;

	/* The frame from the MAC header if it is set, else from the network header. */
	head = BPF_CORE_READ(skb, head);
	mac = BPF_CORE_READ(skb, mac_header);
	nh = BPF_CORE_READ(skb, network_header);
	data = BPF_CORE_READ(skb, data);
	tail = BPF_CORE_READ(skb, tail);
	e->l2 = mac != (__u16)~0U;
	shinfo = (struct skb_shared_info *)(head + BPF_CORE_READ(skb, end));
	e->segs = BPF_CORE_READ(shinfo, gso_segs);
	start = e->l2 ? head + mac : head + nh;
	if ((e->l2 || nh != (__u16)~0U) && data >= start && head + tail > start)
		submit(e, start, s.len + (__u32)(data - start), (__u32)(head + tail - start));
	else
		submit(e, start, 0, 0);
	return 0;
}

/* One tracepoint as tp_btf (tb_NAME) and as raw_tp (rt_NAME). */
#define XDPKV_TP(name, body, ...)            \
	SEC("tp_btf/" #name)                 \
	int BPF_PROG(tb_##name, __VA_ARGS__) \
	{                                    \
		body;                        \
		return 0;                    \
	}                                    \
	SEC("raw_tp/" #name)                 \
	int BPF_PROG(rt_##name, __VA_ARGS__) \
	{                                    \
		body;                        \
		return 0;                    \
	}

XDPKV_TP(netif_receive_skb, handle(skb, XDPKV_TP_NETIF_RECEIVE_SKB, 0, 0, 0), struct sk_buff *skb)
XDPKV_TP(napi_gro_receive_entry, handle(skb, XDPKV_TP_NAPI_GRO_RECEIVE_ENTRY, 0, 0, 0),
	 struct sk_buff *skb)
XDPKV_TP(net_dev_queue, handle(skb, XDPKV_TP_NET_DEV_QUEUE, 0, 0, 0), struct sk_buff *skb)
XDPKV_TP(net_dev_start_xmit, handle(skb, XDPKV_TP_NET_DEV_START_XMIT, 0, dev, 0),
	 struct sk_buff *skb, struct net_device *dev)
XDPKV_TP(net_dev_xmit, handle(skb, XDPKV_TP_NET_DEV_XMIT, 0, dev, 0), struct sk_buff *skb, int rc,
	 struct net_device *dev)
XDPKV_TP(skb_copy_datagram_iovec, handle(skb, XDPKV_TP_SKB_COPY_DATAGRAM_IOVEC, 0, 0, 0),
	 struct sk_buff *skb, int len)
XDPKV_TP(kfree_skb, handle(skb, XDPKV_TP_KFREE_SKB, 0, 0, (__u32)reason), struct sk_buff *skb,
	 void *location, int reason)
XDPKV_TP(consume_skb, handle(skb, XDPKV_TP_CONSUME_SKB, 0, 0, 0), struct sk_buff *skb)

/*
 * ---- xdp tracepoints: counters -------------------------------------------
 *
 * These tracepoints cannot see the frame, so a program on xdp_redirect or
 * xdp_redirect_map runs on every redirect, traced or not: the loader attaches
 * them only when asked (TraceOptions::redirects, `--redirects`). The others
 * run on an error, an exception or a devmap flush (a batch), not per frame.
 */

static __always_inline void count(__u32 point, struct bpf_prog *prog, struct net_device *dev,
				  __u32 action)
{
	struct xdpkv_xdp_count_key k = {};
	__u64 one = 1, *v;

	k.point = point;
	k.prog_id = prog ? BPF_CORE_READ(prog, aux, id) : 0;
	k.ifindex = dev ? BPF_CORE_READ(dev, ifindex) : 0;
	k.action = action;
	if (filter.netns && dev && dev_netns(dev) != filter.netns)
		return;
	v = bpf_map_lookup_elem(&xdp_counts, &k);
	if (v)
		__sync_fetch_and_add(v, 1);
	else
		bpf_map_update_elem(&xdp_counts, &k, &one, BPF_NOEXIST);
}

XDPKV_TP(xdp_exception, count(XDPKV_XP_EXCEPTION, xdp, dev, act), struct net_device *dev,
	 struct bpf_prog *xdp, __u32 act)
XDPKV_TP(xdp_redirect, count(XDPKV_XP_REDIRECT, xdp, dev, 0), struct net_device *dev,
	 struct bpf_prog *xdp, void *tgt, int err)
XDPKV_TP(xdp_redirect_err, count(XDPKV_XP_REDIRECT_ERR, xdp, dev, (__u32)err),
	 struct net_device *dev, struct bpf_prog *xdp, void *tgt, int err)
XDPKV_TP(xdp_redirect_map, count(XDPKV_XP_REDIRECT_MAP, xdp, dev, 0), struct net_device *dev,
	 struct bpf_prog *xdp, void *tgt, int err)
XDPKV_TP(xdp_redirect_map_err, count(XDPKV_XP_REDIRECT_MAP_ERR, xdp, dev, (__u32)err),
	 struct net_device *dev, struct bpf_prog *xdp, void *tgt, int err)
XDPKV_TP(xdp_devmap_xmit, count(XDPKV_XP_DEVMAP_XMIT, 0, from_dev, (__u32)err),
	 struct net_device *from_dev, struct net_device *to_dev, int sent, int drops, int err)

/* ---- socket delivery ----------------------------------------------------- */

/*
 * No tracepoint sees a UDP datagram reach its socket (copy_linear_skb, and
 * a deferred free without consume_skb): the cgroup/skb ingress hook does,
 * for every skb any socket receives (sk_filter_trim_cap). Always allows.
 */
/* Weak: Linux < 6.2 has no such kfunc, and the loader leaves cg_ingress out there. */
extern void *bpf_cast_to_kern_ctx(void *obj) __ksym __weak;

SEC("cgroup_skb/ingress")
int cg_ingress(struct __sk_buff *ctx)
{
	struct sk_buff *skb = bpf_cast_to_kern_ctx(ctx);

	handle(skb, XDPKV_TP_SOCK_INGRESS, 0, 0, 0);
	return 1;
}

/* ---- fentry/fexit on XDP and TC programs, per target ------------------------ */

/* The store of an xdp_buff: the metadata area is data_meta .. data (data_meta > data: none). */
static __noinline int handle_xdp(struct xdp_buff *xdp, __u16 point, __u32 ret)
{
	/* skb 0: there is no skb yet */
	struct sighting s = { .point = point, .func_id = prog_slot, .reason = ret };
	unsigned char *meta, *data, *end;
	struct xdpkv_trace_event *e;
	struct net_device *dev;
	struct meta_buf *buf;
	__u32 zero = 0;

	if (!xdp)
		return 0;
	dev = BPF_CORE_READ(xdp, rxq, dev);
	if (dev) {
		s.netns = dev_netns(dev);
		s.ifindex = BPF_CORE_READ(dev, ifindex);
	}
	if (!place_ok(s.netns, s.ifindex, s.ifindex))
		return 0;
	meta = BPF_CORE_READ(xdp, data_meta);
	data = BPF_CORE_READ(xdp, data);
	end = BPF_CORE_READ(xdp, data_end);
	buf = bpf_map_lookup_elem(&scratch, &zero);
	if (!buf)
		return 0;
	if (meta < data && data - meta <= XDPKV_META_MAX) {
		s.meta_len = (__u32)(data - meta) & 0xff;
		if (bpf_probe_read_kernel(buf->b, s.meta_len, meta))
			s.meta_len = 0;
	}
	read_id(&s, buf, 0);
	if (!wanted(&s))
		return 0;
	s.len = end > data ? (__u32)(end - data) : 0;
	e = new_event(&s, buf, dev);
	if (!e)
		return 0;
	e->l2 = 1;
	submit(e, data, s.len, s.len);
	return 0;
}

/* The loader sets each one's target (bpf_program__set_attach_target). */
SEC("fentry")
int BPF_PROG(fe_prog_xdp, struct xdp_buff *xdp)
{
	handle_xdp(xdp, XDPKV_TP_PROG_ENTRY, 0);
	return 0;
}

SEC("fexit")
int BPF_PROG(fx_prog_xdp, struct xdp_buff *xdp, int ret)
{
	handle_xdp(xdp, XDPKV_TP_PROG_EXIT, (__u32)ret);
	return 0;
}

/* TC: the context is the skb itself; the store is where the tracepoints read it. */
SEC("fentry")
int BPF_PROG(fe_prog_tc, struct sk_buff *skb)
{
	handle(skb, XDPKV_TP_PROG_ENTRY, prog_slot, 0, 0);
	return 0;
}

SEC("fexit")
int BPF_PROG(fx_prog_tc, struct sk_buff *skb, int ret)
{
	handle(skb, XDPKV_TP_PROG_EXIT, prog_slot, 0, (__u32)ret);
	return 0;
}

/* A kernel function the user names, whose first argument is an skb. */
SEC("fentry")
int BPF_PROG(fe_func, struct sk_buff *skb)
{
	handle(skb, XDPKV_TP_FENTRY, prog_slot, 0, 0);
	return 0;
}

/* ---- fentry on kernel functions (where the kernel allows it) -------------- */

#define XDPKV_FENTRY(fn)                                           \
	SEC("fentry/" #fn)                                         \
	int BPF_PROG(fe_##fn, struct sk_buff *skb)                 \
	{                                                          \
		handle(skb, XDPKV_TP_FENTRY, XDPKV_TF_##fn, 0, 0); \
		return 0;                                          \
	}

/* One program per function of the list in trace.h; func_id is its index there. */
XDPKV_TRACE_FENTRY_FUNCS(XDPKV_FENTRY)

char LICENSE[] SEC("license") = "GPL";
