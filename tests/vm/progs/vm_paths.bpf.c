// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * The store and the hint block across XDP_REDIRECT, and stale-hint safety,
 * with the kfunc backend (built with -DXDPKV_BACKEND_KFUNC).
 *
 * vm_tx (BPF_PROG_TEST_RUN, live frames) numbers each packet, writes the
 * number into the packet, sets store keys and the hint block derived from
 * it and redirects: mode 0 straight to a veth, mode 1 through a cpumap
 * program, then a devmap program on the veth. Every later stage (cpumap,
 * devmap, the XDP program on the veth's peer, TC ingress there) checks the
 * store and the hints against the number it finds in the packet.
 *
 * vm_stale runs on recycled live-frame buffers: each packet at random stores
 * hints, stores only keys, stores nothing, or stores hints and then has its
 * mark changed or removed by a plain writer (the module refuses to set or
 * delete it); a load must return exactly the packet's own hints or
 * -ENODATA, also where the buffer's previous packet left a valid block, and
 * the mark must be the same on every packet.
 *
 * vm_live runs as live frames whose rxq is a veth's (ingress_ifindex): the
 * test rxq that once let a module kfunc reach veth's driver metadata ops.
 * It stores hints through the module and reads them back.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>
#include <xdpkv/xdpkv.bpf.h>
#include "vm_paths.h"

#ifndef XDPKV_BACKEND_KFUNC_ACTIVE
#error "vm_paths.bpf.c needs the kfunc backend: build with -DXDPKV_BACKEND_KFUNC"
#endif

#define TC_ACT_SHOT 2
#define SEQ_OFF	    14 /* after the Ethernet header */
#define N_EXTRA	    6  /* extra u64 keys 20..25: the store crosses the redirect at 80 bytes */
#define FILL_FIRST  30 /* keys the veth receiver adds until the headroom is full */

struct stage_stats stats[ST_N];
__u32 mode; /* 0: redirect to target_ifindex; 1: cpumap -> devmap */
__u32 target_ifindex;
__u64 tx_seq;
__u64 stale_seq;
/* vm_stale counters */
__u64 stale_cases[4];	   /* packets per case */
__u64 stale_recycled_mark; /* buffers whose headroom still held another packet's mark */
__u64 stale_over_block;	   /* of those, packets without hints of their own: -ENODATA */
__u32 stale_mark;	   /* the mark hints_load reported first */
__u64 peer_fill_m;	   /* metadata length the veth receiver reached by filling */
__u64 live_seq;
__u32 live_ifindex; /* vm_live: the ingress_ifindex and rxq the program saw */
__u32 live_rxq;
__s64 tc_val_in_pkt = 1; /* vm_tc: skb_get with val in the packet (must be -EINVAL) */

struct {
	__uint(type, BPF_MAP_TYPE_CPUMAP);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct bpf_cpumap_val);
} cpu_map SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_DEVMAP);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct bpf_devmap_val);
} dev_map SEC(".maps");

static __always_inline void expect_hints(__u64 seq, struct xdpkv_hints *h)
{
	h->mark = 0;
	h->flags = XDPKV_HINT_HASH | XDPKV_HINT_VLAN | XDPKV_HINT_TIMESTAMP |
		   XDPKV_HINT_TIMESTAMP_SW;
	h->hash = (__u32)(seq * 0x9e3779b1ULL);
	h->hash_type = 0x6;
	h->vlan_proto = bpf_htons(0x8100);
	h->vlan_tci = seq & 0x0fff;
	h->check = 0;
	h->timestamp = seq * 1000 + 7;
}

static __always_inline void st_fail(int st, __s64 why)
{
	if (__sync_fetch_and_add(&stats[st].bad, 1) == 0)
		stats[st].first_bad = why;
}

static __always_inline void see_m(int st, __u64 m)
{
	if (m > stats[st].max_m)
		stats[st].max_m = m;
}

/* The packet's number, or 0 for a packet that is not ours (IPv6 ND from the stack). */
static __always_inline __u64 pkt_seq(void *data, void *end)
{
	__u64 seq;

	if (data + SEQ_OFF + 8 > end || ((__u8 *)data)[12] != 0x88 || ((__u8 *)data)[13] != 0xb5)
		return 0;
	__builtin_memcpy(&seq, data + SEQ_OFF, 8);
	return seq;
}

static __always_inline int set_store(struct xdp_md *ctx, __u64 seq)
{
	int ret;

	ret = xdpkv_set_u64(ctx, 1, seq, 0);
	ret = ret ?: xdpkv_set_u32(ctx, 2, (__u32)(seq * 2654435761ULL), 0);
	ret = ret ?: xdpkv_set_u16(ctx, 7, (__u16)seq ^ 0x5a5a, 0);
	return ret;
}

/* 0 if the store and hints are those of packet seq, else a reason. */
static __always_inline __s64 check_xdp(struct xdp_md *ctx, __u64 seq, int extra)
{
	struct xdpkv_hints want, got = {};
	__u64 v64 = 0;
	__u32 v32 = 0;
	__u16 v16 = 0;
	int ret;

	if (!seq)
		return 1;
	ret = xdpkv_get_u64(ctx, 1, &v64);
	if (ret != 8)
		return ret < 0 ? ret : 2;
	if (v64 != seq)
		return 3;
	if (xdpkv_get_u32(ctx, 2, &v32) != 4 || v32 != (__u32)(seq * 2654435761ULL))
		return 4;
	if (xdpkv_get_u16(ctx, 7, &v16) != 2 || v16 != ((__u16)seq ^ 0x5a5a))
		return 5;
	for (int i = 0; i < N_EXTRA && extra; i++) {
		if (xdpkv_get_u64(ctx, 20 + i, &v64) != 8 || v64 != (seq ^ (__u64)i))
			return 6;
	}
	ret = xdpkv_hints_load(ctx, &got);
	if (ret)
		return ret;
	expect_hints(seq, &want);
	if (got.flags != want.flags || got.hash != want.hash || got.hash_type != want.hash_type ||
	    got.vlan_proto != want.vlan_proto || got.vlan_tci != want.vlan_tci ||
	    got.timestamp != want.timestamp || got.check != 0)
		return 7;
	return 0;
}

static __always_inline void check_stage(struct xdp_md *ctx, int st)
{
	void *data = (void *)(long)ctx->data;
	void *end = (void *)(long)ctx->data_end;
	__u64 seq = pkt_seq(data, end);
	__s64 why;

	if (!seq)
		return; /* not a test packet */
	__sync_fetch_and_add(&stats[st].seen, 1);
	see_m(st, (__u64)(ctx->data - ctx->data_meta));
	why = check_xdp(ctx, seq, 1);
	if (why)
		st_fail(st, why);
	else
		__sync_fetch_and_add(&stats[st].ok, 1);
}

SEC("xdp")
int vm_tx(struct xdp_md *ctx)
{
	struct xdpkv_hints h;
	void *data = (void *)(long)ctx->data;
	void *end = (void *)(long)ctx->data_end;
	__u64 seq = __sync_fetch_and_add(&tx_seq, 1) + 1;
	int ret;

	__sync_fetch_and_add(&stats[ST_TX].seen, 1);
	if (data + SEQ_OFF + 8 > end) {
		st_fail(ST_TX, 1);
		return XDP_DROP;
	}
	__builtin_memcpy(data + SEQ_OFF, &seq, 8);
	ret = set_store(ctx, seq);
	for (int i = 0; i < N_EXTRA && !ret; i++)
		ret = xdpkv_set_u64(ctx, 20 + i, seq ^ (__u64)i, 0);
	expect_hints(seq, &h);
	h.mark = 0xdeadbeef; /* ignored by store */
	h.check = 0xdeadbeef;
	ret = ret ?: xdpkv_hints_store(ctx, &h);
	if (ret) {
		st_fail(ST_TX, ret);
		return XDP_DROP;
	}
	see_m(ST_TX, (__u64)(ctx->data - ctx->data_meta));
	__sync_fetch_and_add(&stats[ST_TX].ok, 1);
	if (mode == 1)
		return bpf_redirect_map(&cpu_map, 0, 0);
	return bpf_redirect(target_ifindex, 0);
}

SEC("xdp/cpumap")
int vm_cpumap(struct xdp_md *ctx)
{
	check_stage(ctx, ST_CPUMAP);
	return bpf_redirect_map(&dev_map, 0, 0);
}

SEC("xdp/devmap")
int vm_devmap(struct xdp_md *ctx)
{
	check_stage(ctx, ST_DEVMAP);
	return XDP_PASS;
}

/* On the veth peer: check, then grow the store until the headroom is full. */
SEC("xdp")
int vm_peer(struct xdp_md *ctx)
{
	if (!pkt_seq((void *)(long)ctx->data, (void *)(long)ctx->data_end))
		return XDP_PASS;
	check_stage(ctx, ST_PEER);
	for (int k = FILL_FIRST; k < FILL_FIRST + 24; k++) {
		if (xdpkv_set_u64(ctx, k, k, 0))
			break;
	}
	if (check_xdp(ctx, pkt_seq((void *)(long)ctx->data, (void *)(long)ctx->data_end), 1))
		st_fail(ST_PEER, 100); /* the fill must not disturb the keys or the hints */
	if ((__u64)(ctx->data - ctx->data_meta) > peer_fill_m)
		peer_fill_m = (__u64)(ctx->data - ctx->data_meta);
	return XDP_PASS;
}

/*
 * skb_get_many: the keys read above and an absent one (10) in one call,
 * the results of the single gets; then a key > 63 fails the whole call.
 */
static __noinline int tc_get_many(struct __sk_buff *skb, __u64 seq, __u32 v32, __u16 v16)
{
	struct xdpkv_kv kv[4] = {
		{ .key = 7 }, { .key = 10, .val = 0xa5 }, { .key = 1 }, { .key = 2 }
	};

	if (!skb || xdpkv_skb_get_many(skb, kv, 4) != 3)
		return 1;
	if (kv[0].len != 2 || kv[0].val != v16 || kv[1].len != 0 || kv[1].val != 0xa5 ||
	    kv[2].len != 8 || kv[2].val != seq || kv[3].len != 4 || kv[3].val != v32)
		return 1;
	kv[1].key = 64;
	return xdpkv_skb_get_many(skb, kv, 4) != -EINVAL;
}

/* TC ingress on the veth peer: the skb's metadata through the skb kfuncs. */
SEC("tc")
int vm_tc(struct __sk_buff *skb)
{
	void *data = (void *)(long)skb->data;
	void *end = (void *)(long)skb->data_end;
	__u64 seq = pkt_seq(data, end), v64 = 0;
	__u32 v32 = 0;
	__u16 v16 = 0;

	if (!seq)
		return 0; /* TC_ACT_OK: not a test packet */
	__sync_fetch_and_add(&stats[ST_TC].seen, 1);
	see_m(ST_TC, (__u64)(skb->data - skb->data_meta));
	if (xdpkv_skb_get(skb, 1, &v64, 8) != 8 || v64 != seq) {
		st_fail(ST_TC, 2);
		return TC_ACT_SHOT;
	}
	if (xdpkv_skb_get(skb, 2, &v32, 4) != 4 || v32 != (__u32)(seq * 2654435761ULL)) {
		st_fail(ST_TC, 3);
		return TC_ACT_SHOT;
	}
	if (xdpkv_skb_get(skb, 7, &v16, 2) != 2 || v16 != ((__u16)seq ^ 0x5a5a)) {
		st_fail(ST_TC, 4);
		return TC_ACT_SHOT;
	}
	if (xdpkv_skb_has(skb, FILL_FIRST) != 1 || xdpkv_skb_has(skb, 64) != -EINVAL) {
		st_fail(ST_TC, 5);
		return TC_ACT_SHOT;
	}
	if (tc_get_many(skb, seq, v32, v16)) {
		st_fail(ST_TC, 7);
		return TC_ACT_SHOT;
	}
	/* A get into the packet (which clones may share) is refused; it stays as sent. */
	if (data + 8 > end)
		return TC_ACT_SHOT;
	tc_val_in_pkt = xdpkv_skb_get(skb, 1, data, 8);
	data = (void *)(long)skb->data;
	end = (void *)(long)skb->data_end;
	if (data + 8 > end || *(__u32 *)data != 0xffffffff) {
		st_fail(ST_TC, 6);
		return TC_ACT_SHOT;
	}
	__sync_fetch_and_add(&stats[ST_TC].ok, 1);
	return TC_ACT_SHOT;
}

/* Clears key 63 from a 20-byte area (header + mark), as a foreign writer could. */
static __always_inline int drop_mark(struct xdp_md *ctx)
{
	__u8 *meta = (void *)(long)ctx->data_meta;
	__u8 *data = (void *)(long)ctx->data;
	__u64 hi, lo;

	if (ctx->data - ctx->data_meta != 20 || (void *)(meta + 20) > (void *)data)
		return 1;
	__builtin_memcpy(&hi, meta + 4, 8);
	__builtin_memcpy(&lo, meta + 12, 8);
	hi &= ~(1ULL << XDPKV_KEY_HINT_MARK);
	lo &= ~(1ULL << XDPKV_KEY_HINT_MARK);
	__builtin_memcpy(meta + 4, &hi, 8);
	__builtin_memcpy(meta + 12, &lo, 8);
	return 0;
}

/* Flips a bit of the mark's value in a 20-byte area (the value is at data_meta). */
static __always_inline int flip_mark(struct xdp_md *ctx)
{
	__u8 *meta = (void *)(long)ctx->data_meta;
	__u8 *data = (void *)(long)ctx->data;

	if (ctx->data - ctx->data_meta != 20 || (void *)(meta + 20) > (void *)data)
		return 1;
	meta[0] ^= 1;
	return 0;
}

/* 0 if the mark that load reports is the one the first packet reported (one CPU runs them). */
static __always_inline int same_mark(__u32 mark)
{
	if (!stale_mark)
		stale_mark = mark;
	return mark && mark == stale_mark ? 0 : 1;
}

SEC("xdp")
int vm_stale(struct xdp_md *ctx)
{
	__u64 seq = __sync_fetch_and_add(&stale_seq, 1) + 1;
	__u32 c = (__u32)((seq * 0x9e3779b97f4a7c15ULL) >> 62); /* 0..3, at random */
	struct xdpkv_hints h, got;
	__s64 why = 0;
	int recycled = 0;
	int ret;

	__sync_fetch_and_add(&stats[ST_STALE].seen, 1);
	__sync_fetch_and_add(&stale_cases[c], 1);

	/* Evidence of recycling: the header the buffer's previous packet left below data. */
	if (!bpf_xdp_adjust_meta(ctx, -16)) {
		__u8 *meta = (void *)(long)ctx->data_meta;
		__u8 *data = (void *)(long)ctx->data;
		__u64 hi, lo;

		if ((void *)(meta + 16) <= (void *)data) {
			__builtin_memcpy(&hi, meta, 8);
			__builtin_memcpy(&lo, meta + 8, 8);
			/*
			 * The previous packet stored hints (only case 0 leaves key 63
			 * behind), so the block after xdp_frame is still valid for it.
			 */
			recycled = (hi >> XDPKV_KEY_HINT_MARK) & 1 &&
				   !((lo >> XDPKV_KEY_HINT_MARK) & 1);
			if (recycled)
				__sync_fetch_and_add(&stale_recycled_mark, 1);
		}
		if (bpf_xdp_adjust_meta(ctx, 16))
			why = 90;
	}
	if (ctx->data_meta != ctx->data)
		why = 91;

	if (!why) {
		switch (c) {
		case 0: /* hints: load returns exactly them */
			expect_hints(seq, &h);
			ret = set_store(ctx, seq) ?: xdpkv_hints_store(ctx, &h);
			if (!ret)
				ret = xdpkv_hints_load(ctx, &got);
			if (ret)
				why = ret;
			else if (got.hash != h.hash || got.timestamp != h.timestamp ||
				 got.vlan_tci != h.vlan_tci || got.flags != h.flags)
				why = 10;
			else if (same_mark(got.mark))
				why = 11;
			break;
		case 1: /* a store without hints */
			ret = set_store(ctx, seq);
			if (ret) {
				why = ret;
				break;
			}
			ret = xdpkv_hints_load(ctx, &got);
			if (ret != -ENODATA)
				why = 20 + (ret == 0);
			else if (recycled)
				__sync_fetch_and_add(&stale_over_block, 1);
			break;
		case 2: /* no metadata at all */
			ret = xdpkv_hints_load(ctx, &got);
			if (ret != -ENODATA)
				why = 30 + (ret == 0);
			else if (recycled)
				__sync_fetch_and_add(&stale_over_block, 1);
			break;
		default: /* hints, then the mark changed or lost: invalid again */
			expect_hints(seq, &h);
			ret = xdpkv_hints_store(ctx, &h);
			if (ret) {
				why = ret;
				break;
			}
			/* The module keeps its mark: no set, no del. */
			if (xdpkv_del(ctx, XDPKV_KEY_HINT_MARK) != -EPERM ||
			    xdpkv_set_u32(ctx, XDPKV_KEY_HINT_MARK, 1, 0) != -EPERM) {
				why = 42;
				break;
			}
			ret = xdpkv_hints_load(ctx, &got);
			if (ret || same_mark(got.mark)) {
				why = ret ?: 44;
				break;
			}
			/* A wrong mark (a plain write) is no mark; the right one again is. */
			if (flip_mark(ctx)) {
				why = 45;
				break;
			}
			ret = xdpkv_hints_load(ctx, &got);
			if (ret != -ENODATA) {
				why = 46 + (ret == 0);
				break;
			}
			flip_mark(ctx);
			ret = xdpkv_hints_load(ctx, &got);
			if (ret) {
				why = ret;
				break;
			}
			/*
			 * A plain writer can still drop it: the area is the header and
			 * the mark (key 63, lowest in the store); clear key 63's bits and
			 * its 4 bytes remain as foreign bytes below the store.
			 */
			if (drop_mark(ctx)) {
				why = 43;
				break;
			}
			ret = xdpkv_hints_load(ctx, &got);
			if (ret != -ENODATA)
				why = 40 + (ret == 0);
			break;
		}
	}
	if (why)
		st_fail(ST_STALE, why);
	else
		__sync_fetch_and_add(&stats[ST_STALE].ok, 1);
	return XDP_DROP;
}

SEC("xdp")
int vm_live(struct xdp_md *ctx)
{
	__u64 seq = __sync_fetch_and_add(&live_seq, 1) + 1;
	struct xdpkv_hints h, got = {};
	int ret;

	__sync_fetch_and_add(&stats[ST_LIVE].seen, 1);
	live_ifindex = ctx->ingress_ifindex;
	live_rxq = ctx->rx_queue_index;
	expect_hints(seq, &h);
	ret = xdpkv_hints_store(ctx, &h) ?: xdpkv_hints_load(ctx, &got);
	if (ret) {
		st_fail(ST_LIVE, ret);
	} else if (got.flags != h.flags || got.hash != h.hash || got.hash_type != h.hash_type ||
		   got.vlan_proto != h.vlan_proto || got.vlan_tci != h.vlan_tci ||
		   got.timestamp != h.timestamp || got.check != 0) {
		st_fail(ST_LIVE, 1);
	} else {
		__sync_fetch_and_add(&stats[ST_LIVE].ok, 1);
	}
	return XDP_DROP;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
