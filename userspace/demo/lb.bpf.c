// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * A small Katran-style load balancer built on xdpkv, and the consumers that
 * read its tags further on.
 *
 *   lb_ingress   (XDP, lb's ingress device) packets to the VIP: hash the
 *                flow, pick a backend, tag PACKET_ID / FLOW_HASH / BACKEND_ID,
 *                IPIP-encapsulate (bpf_xdp_adjust_head moves the metadata
 *                with data), redirect through a devmap (or a cpumap).
 *   lb_devmap    (devmap entry program) reads the store on the way out.
 *   lb_cpumap    (cpumap entry program) reads it on the remote CPU.
 *   lb_backend   (XDP, backend's device = the redirect target) reads the
 *                tags, decapsulates, passes (or hands the frame to AF_XDP).
 *   lb_tc        (TC ingress) reads the store from the skb.
 *
 * Every consumer sends one record per packet to a ring buffer: the packet id
 * and the raw bytes of the store, so the test can compare them byte for byte.
 * Key ids are read-only config, resolved by name through the registry.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>
#include <xdpkv/xdpkv.bpf.h>
#include <xdpkv/demo/lb.h>

#define ETH_P_IP_BE   bpf_htons(0x0800)
#define IPPROTO_IPIP_ 4

const volatile __u32 key_packet_id;
const volatile __u32 key_flow_hash = 1;
const volatile __u32 key_backend_id = 2;
const volatile __u32 n_backends = 1;
const volatile __u32 vip;	 /* network order */
const volatile __u32 use_cpumap; /* redirect through cpumap entry cpumap_cpu */
const volatile __u32 cpumap_cpu;
const volatile __u32 to_xsk;	   /* backend: hand frames to AF_XDP (xsks[queue]) */
const volatile __u32 grow_foreign; /* backend: add 8 bytes of its own below the store */
/* Tests only: hand frames to AF_XDP without making sure they carry a store. */
const volatile __u32 xsk_no_guard;
const volatile __u64 id_base;
/* The host's origin mark (FORMAT.md key 59), stored with the tags; 0: none. */
const volatile __u32 xdpkv_origin;
/*
 * Bench only (bench/e2e), the floor this LB is measured against: with
 * fixed_struct the tags go in a struct at data_meta instead of a store (no
 * origin mark); with no_records no consumer sends a record. Both are constant
 * at load, so the verifier removes the path not taken.
 */
const volatile __u32 fixed_struct;
const volatile __u32 no_records;

/* The fixed struct a load balancer without xdpkv would hand over. */
struct lb_fixed {
	__u64 packet_id;
	__u32 flow_hash;
	__u32 backend;
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, LB_MAX_BACKENDS);
	__type(key, __u32);
	__type(value, struct lb_backend);
} backends SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_DEVMAP);
	__uint(max_entries, LB_MAX_BACKENDS);
	__type(key, __u32);
	__type(value, struct bpf_devmap_val);
} tx_port SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_CPUMAP);
	__uint(max_entries, 64);
	__type(key, __u32);
	__type(value, struct bpf_cpumap_val);
} cpus SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_XSKMAP);
	__uint(max_entries, 64);
	__type(key, __u32);
	__type(value, __u32);
} xsks SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 1 << 22); /* loaders may shrink it (lb::Options) */
} records SEC(".maps");

/* Per CPU, so that counting a lost record never contends with the other CPUs. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct lb_rec_stats);
} rec_stats SEC(".maps");

__u64 next_id;
__u64 stats[LB_ST_N]; /* enum lb_stat; read by the loader */
/* Tests, at run time: drop the store before AF_XDP, as a producer whose set failed. */
__u32 xsk_strip;

static __always_inline void count(int i)
{
	if (i >= 0 && i < LB_ST_N)
		__sync_fetch_and_add(&stats[i], 1);
}

/*
 * Send one record: the packet id, the tags, and the last min(M, 64) bytes
 * of the metadata area (the store's extent ends at data).
 */
static __always_inline void record(void *meta, void *data, __u32 consumer, __u64 id, __u32 hash,
				   __u32 backend, int err)
{
	struct lb_rec_stats *rs;
	struct lb_rec *r;
	__u32 zero = 0;
	long m;

	if (no_records)
		return;
	m = xdpkv__meta_len(meta, data); /* bounded for the verifier */
	r = bpf_ringbuf_reserve(&records, sizeof(*r), 0);
	rs = bpf_map_lookup_elem(&rec_stats, &zero);
	if (!r) {
		/* Ring buffer full: never silent, the loader reports the sum. */
		if (rs)
			rs->lost++;
		return;
	}
	if (rs)
		rs->submitted++;
	r->packet_id = id;
	r->consumer = consumer;
	r->err = err;
	r->flow_hash = hash;
	r->backend = backend;
	r->meta_len = m < 0 ? 0 : m;
	r->store_len = 0;
	for (int i = 1; i <= LB_REC_STORE / 4; i++) {
		__u32 *p;

		if (m < 4 * i)
			break;
		p = (__u32 *)xdpkv__at(meta, data, m, 4 * i, 4, 1);
		if (!p)
			break;
		*(__u32 *)&r->store[LB_REC_STORE - 4 * i] = *p;
		r->store_len = 4 * i;
	}
	bpf_ringbuf_submit(r, 0);
}

/*
 * One tag of a get_many as a single get into `size` bytes at out would have
 * left it: 0, -ENOENT (absent), -ENOSPC (larger), -EBADMSG (smaller: the
 * value is copied, but it is not the tag's type).
 */
static __always_inline int take_tag(const struct xdpkv_kv *kv, void *out, const __u32 size)
{
	if (!kv->len)
		return -ENOENT;
	if (kv->len > size)
		return -ENOSPC;
	if (size == 8)
		__builtin_memcpy(out, &kv->val, 8);
	else
		__builtin_memcpy(out, &kv->val, 4);
	return kv->len == size ? 0 : -EBADMSG;
}

/* The fixed struct's tags: 0, or -ENOENT when the metadata cannot hold it. */
static __always_inline int fixed_read(void *meta, void *data, __u64 *id, __u32 *hash, __u32 *be)
{
	struct lb_fixed *f = meta;

	if ((void *)(f + 1) > data)
		return -ENOENT;
	*id = f->packet_id;
	*hash = f->flow_hash;
	*be = f->backend;
	return 0;
}

/*
 * Reads the three tags with one header pass (get_many: xdpkv_get_many or
 * xdpkv_skb_get_many); 0 or the first error, as three single gets would.
 */
#define STORE_TAGS(get_many, ctx, id, hash, be)                          \
	({                                                               \
		struct xdpkv_kv __kv[3] = { { .key = key_packet_id },    \
					    { .key = key_flow_hash },    \
					    { .key = key_backend_id } }; \
		int __e = get_many(ctx, __kv, 3);                        \
		if (__e >= 0)                                            \
			__e = take_tag(&__kv[0], &(id), sizeof(id));     \
		if (!__e)                                                \
			__e = take_tag(&__kv[1], &(hash), sizeof(hash)); \
		if (!__e)                                                \
			__e = take_tag(&__kv[2], &(be), sizeof(be));     \
		__e;                                                     \
	})

/* The tags from the store, or with fixed_struct from the struct at data_meta. */
#define READ_TAGS(get_many, ctx, id, hash, be)                                                \
	(fixed_struct ? fixed_read((void *)(long)(ctx)->data_meta, (void *)(long)(ctx)->data, \
				   &(id), &(hash), &(be)) :                                   \
			STORE_TAGS(get_many, ctx, id, hash, be))

static __always_inline __u32 mix(__u32 h, __u32 v)
{
	h ^= v;
	h *= 0x9e3779b1;
	return h ^ (h >> 16);
}

static __always_inline __u16 csum_fold(__u32 s)
{
	s = (s & 0xffff) + (s >> 16);
	s = (s & 0xffff) + (s >> 16);
	return (__u16)~s;
}

/* The flow's hash: addresses, protocol, and the ports of TCP and UDP. */
static __always_inline __u32 flow_hash(const struct iphdr *ip, void *end)
{
	__u32 ports = 0;

	if ((ip->protocol == 6 || ip->protocol == 17) && (void *)(ip + 1) + 4 <= end)
		ports = *(__u32 *)(ip + 1);
	return mix(mix(mix(mix(0x5eed, ip->saddr), ip->daddr), ports), ip->protocol);
}

/* The bench's floor: one grow, three stores at constant offsets. */
static __always_inline int fixed_write(struct xdp_md *ctx, __u64 id, __u32 hash, __u32 idx)
{
	struct lb_fixed *f;

	if (bpf_xdp_adjust_meta(ctx, -(int)sizeof(*f)))
		return -ENOSPC;
	f = (void *)(long)ctx->data_meta;
	if ((void *)(f + 1) > (void *)(long)ctx->data)
		return -ENOSPC;
	f->packet_id = id;
	f->flow_hash = hash;
	f->backend = idx;
	return 0;
}

/*
 * The hand-off: three tags (and the origin mark, which the tracer requires
 * to report packet_id: last, as 59 is above every assignable id), one grow
 * and one header write on a new store.
 */
static __always_inline int tag_flow(struct xdp_md *ctx, __u64 id, __u32 hash, __u32 idx)
{
	struct xdpkv_kv tags[4];

	if (fixed_struct)
		return fixed_write(ctx, id, hash, idx);
	tags[0] = (struct xdpkv_kv){ .key = key_packet_id, .val = id, .len = sizeof(id) };
	tags[1] = (struct xdpkv_kv){ .key = key_flow_hash, .val = hash, .len = sizeof(hash) };
	tags[2] = (struct xdpkv_kv){ .key = key_backend_id, .val = idx, .len = sizeof(idx) };
	tags[3] = (struct xdpkv_kv)XDPKV_KV_ORIGIN(xdpkv_origin);
	if (xdpkv_origin) {
		int ret = xdpkv_set_many(ctx, tags, 4, 0);

		/* Linux < 6.8 caps metadata at 32 bytes, which the three tags fill. */
		if (ret != -ENOSPC)
			return ret;
	}
	return xdpkv_set_many(ctx, tags, 3, 0);
}

/* The outer IPv4 header toward be (be->src_ip to be->ip); the inner one follows. */
static __always_inline void fill_outer_ip(struct iphdr *ip, const struct lb_backend *be)
{
	__u32 sum = 0;
	__u16 *w;

	ip->version = 4;
	ip->ihl = 5;
	ip->tos = 0;
	ip->tot_len = bpf_htons(bpf_ntohs((ip + 1)->tot_len) + sizeof(struct iphdr));
	ip->id = 0;
	ip->frag_off = 0;
	ip->ttl = 64;
	ip->protocol = IPPROTO_IPIP_;
	ip->check = 0;
	ip->saddr = be->src_ip;
	ip->daddr = be->ip;
	w = (__u16 *)ip;
	for (int i = 0; i < 10; i++)
		sum += w[i];
	ip->check = csum_fold(sum);
}

/*
 * IPIP toward be: 20 more bytes in front; the metadata moves with data.
 * 0, -ENOSPC (the head did not grow) or -EINVAL (cannot happen: the frame
 * only grew, yet is too short for both headers).
 */
static __always_inline int ipip_encap(struct xdp_md *ctx, const struct lb_backend *be)
{
	void *data, *end;
	struct ethhdr *eth;
	struct iphdr *ip;

	if (bpf_xdp_adjust_head(ctx, -(int)sizeof(struct iphdr)))
		return -ENOSPC;
	data = (void *)(long)ctx->data;
	end = (void *)(long)ctx->data_end;
	eth = data;
	ip = (void *)(eth + 1);
	if ((void *)(ip + 2) > end)
		return -EINVAL;
	__builtin_memcpy(eth->h_dest, be->mac, 6);
	__builtin_memcpy(eth->h_source, be->src_mac, 6);
	eth->h_proto = ETH_P_IP_BE;
	fill_outer_ip(ip, be);
	return 0;
}

SEC("xdp")
int lb_ingress(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data, *end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;
	struct iphdr *ip = (void *)(eth + 1);
	struct lb_backend *be;
	__u32 hash, idx;
	__u64 id;
	int err;

	if ((void *)(ip + 1) > end || eth->h_proto != ETH_P_IP_BE || ip->ihl != 5 ||
	    ip->daddr != vip) {
		count(LB_ST_NOT_VIP);
		return XDP_PASS;
	}
	hash = flow_hash(ip, end);
	idx = n_backends ? hash % n_backends : 0;
	be = bpf_map_lookup_elem(&backends, &idx);
	if (!be)
		return XDP_PASS;
	id = id_base | __sync_fetch_and_add(&next_id, 1);

	if (tag_flow(ctx, id, hash, idx)) {
		/* Never drop for a tag: pass untagged, count it. */
		count(LB_ST_TAG_ERR);
		return XDP_PASS;
	}
	err = ipip_encap(ctx, be);
	if (err) {
		count(LB_ST_ENCAP_ERR);
		return err == -ENOSPC ? XDP_PASS : XDP_DROP;
	}
	count(LB_ST_TAGGED);

	record((void *)(long)ctx->data_meta, (void *)(long)ctx->data, LB_AT_INGRESS, id, hash, idx,
	       0);
	if (use_cpumap)
		return bpf_redirect_map(&cpus, cpumap_cpu, XDP_PASS);
	/* No devmap entry: pass (encapsulated) rather than abort. */
	return bpf_redirect_map(&tx_port, idx, XDP_PASS);
}

/* Consumers: each reads the tags through the API and records the store. */

SEC("xdp/devmap")
int lb_devmap(struct xdp_md *ctx)
{
	__u64 id = 0;
	__u32 hash = 0, be = 0;
	int err = READ_TAGS(xdpkv_get_many, ctx, id, hash, be);

	record((void *)(long)ctx->data_meta, (void *)(long)ctx->data, LB_AT_DEVMAP, id, hash, be,
	       err);
	return XDP_PASS;
}

SEC("xdp/cpumap")
int lb_cpumap(struct xdp_md *ctx)
{
	__u64 id = 0;
	__u32 hash = 0, be = 0;
	int err = READ_TAGS(xdpkv_get_many, ctx, id, hash, be);

	record((void *)(long)ctx->data_meta, (void *)(long)ctx->data, LB_AT_CPUMAP, id, hash, be,
	       err);
	return XDP_PASS; /* an skb is built on this CPU, with the metadata */
}

/*
 * An AF_XDP reader finds the header at data - 16 and cannot know M (the RX
 * descriptor has no metadata length); the kernel copies only the M bytes
 * below data into the umem chunk, so with M == 0 the reader would decode
 * whatever the chunk's previous packet left there. Before the redirect,
 * give every frame a valid store, at least an empty 16-byte header
 * (docs/REDIRECT.md "AF_XDP"). 0, or -errno: do not hand the frame over.
 */
static __always_inline int xsk_give_store(struct xdp_md *ctx)
{
	long m = xdpkv__meta_len((void *)(long)ctx->data_meta, (void *)(long)ctx->data);
	__u64 *h;
	int ret;

	if (m < 0)
		return m; /* no metadata support: nothing would be copied */
	if (m) {
		ret = xdpkv_has(ctx, 0); /* -EBADMSG: not a store */
		return ret < 0 ? ret : 0;
	}
	if (bpf_xdp_adjust_meta(ctx, -XDPKV_HDR_SIZE))
		return -ENOSPC;
	h = (void *)(long)ctx->data_meta;
	if ((void *)(h + 2) > (void *)(long)ctx->data)
		return -ENOSPC;
	h[0] = 0;
	h[1] = 0;
	return 0;
}

/* Tests: M back to 0, as if the producer had written no store. */
static __always_inline void strip_store(struct xdp_md *ctx)
{
	long m = xdpkv__meta_len((void *)(long)ctx->data_meta, (void *)(long)ctx->data);

	if (m > 0)
		(void)bpf_xdp_adjust_meta(ctx, (int)m);
}

SEC("xdp")
int lb_backend(struct xdp_md *ctx)
{
	void *data, *end;
	struct ethhdr *eth, old;
	struct iphdr *ip;
	__u64 id = 0;
	__u32 hash = 0, be = 0;
	int err = READ_TAGS(xdpkv_get_many, ctx, id, hash, be);

	if (err == -ENOENT)
		return XDP_PASS; /* not from the LB: not ours to record */
	record((void *)(long)ctx->data_meta, (void *)(long)ctx->data, LB_AT_BACKEND, id, hash, be,
	       err);
	if (grow_foreign && !err) {
		/* Another metadata user: its bytes go below the store (FORMAT.md 2.5). */
		__u32 *mine;

		if (bpf_xdp_adjust_meta(ctx, -8))
			return XDP_PASS;
		mine = (void *)(long)ctx->data_meta;
		if ((void *)(mine + 2) > (void *)(long)ctx->data)
			return XDP_PASS;
		mine[0] = LB_FOREIGN_MAGIC;
		mine[1] = (__u32)id;
	}
	if (to_xsk) {
		long act;

		if (xsk_strip)
			strip_store(ctx);
		if (!xsk_no_guard && xsk_give_store(ctx)) {
			count(LB_ST_XSK_NO_STORE);
			return XDP_PASS;
		}
		act = bpf_redirect_map(&xsks, ctx->rx_queue_index, XDP_PASS);

		count(act == XDP_REDIRECT ? LB_ST_TO_XSK : LB_ST_XSK_MISS);
		return act;
	}

	/* Decapsulate: drop the outer IPv4 header; the metadata moves with data. */
	data = (void *)(long)ctx->data;
	end = (void *)(long)ctx->data_end;
	eth = data;
	ip = (void *)(eth + 1);
	if ((void *)(ip + 1) > end || eth->h_proto != ETH_P_IP_BE || ip->protocol != IPPROTO_IPIP_)
		return XDP_PASS;
	__builtin_memcpy(&old, eth, sizeof(old));
	if (bpf_xdp_adjust_head(ctx, sizeof(struct iphdr)))
		return XDP_PASS;
	data = (void *)(long)ctx->data;
	end = (void *)(long)ctx->data_end;
	eth = data;
	if ((void *)(eth + 1) > end)
		return XDP_DROP;
	__builtin_memcpy(eth, &old, sizeof(old));
	count(LB_ST_DECAP);
	return XDP_PASS;
}

SEC("tc")
int lb_tc(struct __sk_buff *skb)
{
	__u64 id = 0;
	__u32 hash = 0, be = 0;
	int err = READ_TAGS(xdpkv_skb_get_many, skb, id, hash, be);

	if (err == -ENOENT)
		return 0; /* TC_ACT_OK: untagged traffic (ARP, ...) */
	record((void *)(long)skb->data_meta, (void *)(long)skb->data, LB_AT_TC, id, hash, be, err);
	return 0;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
