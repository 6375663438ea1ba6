// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * `xdpkv trace`: follows packets by the value of one store key (PACKET_ID)
 * through the stack. Each skb tracepoint copies the skb's metadata area
 * (head + mac_header - shinfo->meta_len) into a buffer and decodes the key
 * with xdpkv_buf_get; packets without the key are not traced, unless
 * `follow` and the skb address was seen with it before (the map is cleared
 * when the skb is freed). Every program exists twice, as tp_btf and raw_tp:
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
#include <bpf/bpf_tracing.h>
#include <xdpkv/xdpkv.bpf.h>
#include <xdpkv/trace.h>

const volatile __u32 key_id;
const volatile __u64 value_lo;
const volatile __u64 value_hi = ~0ULL;
const volatile __u32 filter_netns;   /* netns inode; 0: any */
const volatile __u32 filter_ifindex; /* 0: any */
const volatile __u32 follow;
const volatile __u16 prog_slot; /* per-target loads: the tracer's index of the target */

__u64 emitted;
__u64 lost;

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 1 << 22); /* the loader sets the size */
} events SEC(".maps");

/* skb address -> id, for --follow. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 65536);
	__type(key, __u64);
	__type(value, __u64);
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

/*
 * An event in the ring buffer with the fields every point fills, or NULL
 * (counted in `lost`) when the ring buffer is full. The caller adds the frame.
 */
static __always_inline struct xdpkv_trace_event *new_event(__u64 skb_addr, __u64 id, __u32 flags,
							   __u32 netns, __u32 ifindex, __u32 len,
							   __u32 reason, __u16 point, __u16 func_id,
							   __u32 m, struct meta_buf *buf,
							   struct net_device *dev)
{
	struct xdpkv_trace_event *e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);

	if (!e) {
		__sync_fetch_and_add(&lost, 1);
		return NULL;
	}
	e->time_ns = bpf_ktime_get_ns();
	e->skb = skb_addr;
	e->id = id;
	e->flags = flags;
	e->cpu = bpf_get_smp_processor_id();
	e->netns = netns;
	e->ifindex = ifindex;
	e->len = len;
	e->reason = reason;
	e->point = point;
	e->func_id = func_id;
	e->meta_len = m;
	if (m)
		__builtin_memcpy(e->meta, buf->b, sizeof(e->meta));
	if (dev)
		bpf_probe_read_kernel_str(e->ifname, sizeof(e->ifname), dev->name);
	else
		e->ifname[0] = 0;
	return e;
}

static __noinline int handle(struct sk_buff *skb, __u16 point, __u16 func_id,
			     struct net_device *dev, __u32 reason)
{
	__u32 zero = 0, m = 0, netns, ifindex, iif, flags = 0;
	unsigned char *head, *start, *data;
	__u16 mac, nh;
	struct meta_buf *buf;
	struct xdpkv_trace_event *e;
	__u64 id = 0, skb_addr = (__u64)skb, *fid;
	__u32 frame_len, tail, cap, end;
	__u8 meta_len;
	int ret;

	if (!skb)
		return 0;
	if (!dev)
		dev = BPF_CORE_READ(skb, dev);
	if (dev) {
		netns = dev_netns(dev);
		ifindex = BPF_CORE_READ(dev, ifindex);
	} else {
		/* In a socket's queue skb->dev is gone: the socket names the netns. */
		netns = BPF_CORE_READ(skb, sk, __sk_common.skc_net.net, ns.inum);
		ifindex = 0;
	}
	iif = BPF_CORE_READ(skb, skb_iif);
	if (filter_netns && netns != filter_netns)
		return 0;
	if (filter_ifindex && ifindex != filter_ifindex && iif != filter_ifindex)
		return 0;

	head = BPF_CORE_READ(skb, head);
	mac = BPF_CORE_READ(skb, mac_header);
	end = BPF_CORE_READ(skb, end);
	meta_len = BPF_CORE_READ((struct skb_shared_info *)(head + end), meta_len);
	buf = bpf_map_lookup_elem(&scratch, &zero);
	if (!buf)
		return 0;
	if (meta_len && mac != (__u16)~0U && meta_len <= XDPKV_META_MAX) {
		m = meta_len;
		if (bpf_probe_read_kernel(buf->b, m, head + mac - m))
			m = 0;
	}
	if (m) {
		ret = xdpkv_buf_get(buf->b, m, key_id, &id, sizeof(id));
		if (ret > 0) {
			flags |= XDPKV_TEV_ID;
			if (follow)
				bpf_map_update_elem(&followed, &skb_addr, &id, BPF_ANY);
		}
	}
	if (!(flags & XDPKV_TEV_ID) && follow) {
		fid = bpf_map_lookup_elem(&followed, &skb_addr);
		if (fid) {
			id = *fid;
			flags |= XDPKV_TEV_FOLLOWED;
		}
	}
	if (follow && (point == XDPKV_TP_KFREE_SKB || point == XDPKV_TP_CONSUME_SKB))
		bpf_map_delete_elem(&followed, &skb_addr);
	if (!flags || id < value_lo || id > value_hi)
		return 0;

	e = new_event(skb_addr, id, flags, netns, ifindex ? ifindex : iif, BPF_CORE_READ(skb, len),
		      reason, point, func_id, m, buf, dev);
	if (!e)
		return 0;

	/* The frame from the MAC header if it is set, else from the network header. */
	data = BPF_CORE_READ(skb, data);
	tail = BPF_CORE_READ(skb, tail);
	nh = BPF_CORE_READ(skb, network_header);
	e->l2 = mac != (__u16)~0U;
	start = e->l2 ? head + mac : head + nh;
	e->cap_len = 0;
	e->frame_len = 0;
	if ((e->l2 || nh != (__u16)~0U) && data >= start && head + tail > start) {
		frame_len = e->len + (__u32)(data - start);
		cap = (__u32)(head + tail - start);
		if (cap > frame_len)
			cap = frame_len;
		if (cap > XDPKV_TRACE_SNAPLEN)
			cap = XDPKV_TRACE_SNAPLEN;
		e->frame_len = frame_len;
		if (cap && !bpf_probe_read_kernel(e->data, cap, start))
			e->cap_len = cap;
	}
	__sync_fetch_and_add(&emitted, 1);
	bpf_ringbuf_submit(e, 0);
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

/* ---- xdp tracepoints: counters ------------------------------------------- */

static __always_inline void count(__u32 point, struct bpf_prog *prog, struct net_device *dev,
				  __u32 action)
{
	struct xdpkv_xdp_count_key k = {};
	__u64 one = 1, *v;

	k.point = point;
	k.prog_id = prog ? BPF_CORE_READ(prog, aux, id) : 0;
	k.ifindex = dev ? BPF_CORE_READ(dev, ifindex) : 0;
	k.action = action;
	if (filter_netns && dev && dev_netns(dev) != filter_netns)
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
	__u32 zero = 0, m = 0, netns = 0, ifindex = 0, flags = 0, len, cap;
	unsigned char *meta, *data, *end;
	struct net_device *dev;
	struct meta_buf *buf;
	struct xdpkv_trace_event *e;
	__u64 id = 0;

	if (!xdp)
		return 0;
	dev = BPF_CORE_READ(xdp, rxq, dev);
	if (dev) {
		netns = dev_netns(dev);
		ifindex = BPF_CORE_READ(dev, ifindex);
	}
	if (filter_netns && netns != filter_netns)
		return 0;
	if (filter_ifindex && ifindex != filter_ifindex)
		return 0;
	meta = BPF_CORE_READ(xdp, data_meta);
	data = BPF_CORE_READ(xdp, data);
	end = BPF_CORE_READ(xdp, data_end);
	buf = bpf_map_lookup_elem(&scratch, &zero);
	if (!buf)
		return 0;
	if (meta < data && data - meta <= XDPKV_META_MAX) {
		m = (__u32)(data - meta) & 0xff;
		if (bpf_probe_read_kernel(buf->b, m, meta))
			m = 0;
	}
	if (m && xdpkv_buf_get(buf->b, m, key_id, &id, sizeof(id)) > 0)
		flags |= XDPKV_TEV_ID;
	if (!flags || id < value_lo || id > value_hi)
		return 0;

	len = end > data ? (__u32)(end - data) : 0;
	/* skb 0: there is no skb yet */
	e = new_event(0, id, flags, netns, ifindex, len, ret, point, prog_slot, m, buf, dev);
	if (!e)
		return 0;
	e->l2 = 1;
	e->frame_len = len;
	cap = len < XDPKV_TRACE_SNAPLEN ? len : XDPKV_TRACE_SNAPLEN;
	e->cap_len = 0;
	if (cap && !bpf_probe_read_kernel(e->data, cap, data))
		e->cap_len = cap;
	__sync_fetch_and_add(&emitted, 1);
	bpf_ringbuf_submit(e, 0);
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

#define XDPKV_FENTRY(fn, idx)                            \
	SEC("fentry/" #fn)                               \
	int BPF_PROG(fe_##fn, struct sk_buff *skb)       \
	{                                                \
		handle(skb, XDPKV_TP_FENTRY, idx, 0, 0); \
		return 0;                                \
	}

/* Indexes into the tracer's function table (userspace/trace). */
XDPKV_FENTRY(ip_rcv, 0)
XDPKV_FENTRY(ip_local_deliver, 1)
XDPKV_FENTRY(udp_rcv, 2)
XDPKV_FENTRY(tcp_v4_rcv, 3)

char LICENSE[] SEC("license") = "GPL";
