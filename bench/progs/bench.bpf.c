// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Benchmark programs for BPF_PROG_TEST_RUN with a large repeat
 * (bench/xdpkv_bench.cpp). The kernel reuses one buffer for all repetitions,
 * so every program leaves the metadata area exactly as it found it (size and
 * bytes): reads read, overwrites write the value already stored, inserts are
 * undone by a delete in the same run and vice versa.
 *
 * Every program publishes what it did (op return code, value read) in .bss
 * and returns XDP_PASS only if the result is the expected one, so neither
 * the compiler nor the verifier can drop the work, and the runner can check
 * each program before timing it.
 *
 * Keys and values come from .rodata (const volatile, set by the runner
 * before load): clang cannot fold them, as in a production program whose
 * key ids are resolved by name at load time. kv_get_const uses a literal key.
 *
 * Built twice: plain, and with XDPKV_FAST_LAYOUT (only the *_fast programs,
 * whose store header matches the layout the runner fills in).
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <xdpkv/xdpkv.bpf.h>
#include "bench.h"

/* Set by the runner before load. */
const volatile __u64 key = 32;	   /* present key, in the middle of the store */
const volatile __u64 new_key = 33; /* absent key: insert + delete */
const volatile __u32 expect;	   /* key's value (u32); also the fixed field's */
const volatile __u32 new_val;	   /* value inserted under new_key */

/* What the last repetition did: for the runner's checks. */
__s64 out_ret;
__s64 out_ret2;
__u64 out_val;

static __always_inline int verdict(int ok)
{
	return ok ? XDP_PASS : BENCH_BAD;
}

#ifndef XDPKV_FAST_LAYOUT

/* ---- baselines ----------------------------------------------------------- */

/* The floor: program call + BPF_PROG_TEST_RUN loop overhead. */
SEC("xdp")
int bench_empty(struct xdp_md *ctx)
{
	return XDP_PASS;
}

struct bench_fixed {
	__u32 f[BENCH_FIXED_WORDS];
};

/* A fixed layout agreed in advance: one bounds check, one load. */
SEC("xdp")
int fixed_get(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	struct bench_fixed *s = (void *)(long)ctx->data_meta;
	__u32 v;

	if ((void *)(s + 1) > data)
		return XDP_ABORTED;
	v = s->f[BENCH_FIXED_FIELD];
	out_ret = 4;
	out_val = v;
	return verdict(v == expect);
}

/* Same, one store (of the value already there). */
SEC("xdp")
int fixed_set(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	struct bench_fixed *s = (void *)(long)ctx->data_meta;

	if ((void *)(s + 1) > data)
		return XDP_ABORTED;
	s->f[BENCH_FIXED_FIELD] = expect;
	out_ret = 0;
	out_val = expect;
	return XDP_PASS;
}

/*
 * TLV walk from data_meta, as production users of data_meta do: entries
 * {u8 type, u8 len, value}, first match of type key + 1 wins.
 */
SEC("xdp")
int tlv_get(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *meta = (void *)(long)ctx->data_meta;
	__u8 want = (__u8)(key + 1);
	__u32 off = 0, v = 0;
	int ret = -ENOENT;

	for (int i = 0; i < BENCH_TLV_MAX; i++) {
		__u8 *p = (__u8 *)meta + off;

		if ((void *)(p + 2) > data)
			break;
		if (p[0] == want) {
			if (p[1] != sizeof(__u32) || (void *)(p + 2 + sizeof(__u32)) > data) {
				ret = -EBADMSG;
				break;
			}
			v = *(__u32 *)(p + 2);
			ret = sizeof(__u32);
			break;
		}
		off += 2 + p[1];
		if (off > XDPKV_META_MAX)
			break;
	}
	out_ret = ret;
	out_val = v;
	return verdict(ret == 4 && v == expect);
}

/* A per-CPU array map, the usual way to hand state between programs: one lookup, one load. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u32);
} bench_percpu SEC(".maps");

SEC("xdp")
int percpu_get(struct xdp_md *ctx)
{
	__u32 zero = 0, *p = bpf_map_lookup_elem(&bench_percpu, &zero);
	__u32 v;

	if (!p)
		return XDP_ABORTED;
	v = *p;
	out_ret = 4;
	out_val = v;
	return verdict(v == expect);
}

/* ---- xdpkv, general path only --------------------------------------------- */

/* Key 32 as a literal: what clang can do when the id is a compile-time constant. */
SEC("xdp")
int kv_get_const(struct xdp_md *ctx)
{
	__u32 v = 0;
	int ret = xdpkv_get_u32(ctx, 32, &v);

	out_ret = ret;
	out_val = v;
	return verdict(ret == 4 && v == expect);
}

/*
 * Insert an absent key (4 bytes, in the middle of the store: the keys above
 * it move down 4 bytes, the area grows), then delete it (they move back).
 * Measures one insert + one delete.
 */
SEC("xdp")
int kv_ins_del(struct xdp_md *ctx)
{
	int r1 = xdpkv_set_u32(ctx, new_key, new_val, 0);
	int r2 = xdpkv_del(ctx, new_key);

	out_ret = r1;
	out_ret2 = r2;
	out_val = new_val;
	return verdict(r1 == 0 && r2 == 0);
}

/*
 * Delete a present key (4 bytes, middle of the store), then set it back.
 * Measures one delete + one insert, the same moves in the other order.
 */
SEC("xdp")
int kv_del_ins(struct xdp_md *ctx)
{
	int r1 = xdpkv_del(ctx, key);
	int r2 = xdpkv_set_u32(ctx, key, expect, 0);

	out_ret = r1;
	out_ret2 = r2;
	out_val = expect;
	return verdict(r1 == 0 && r2 == 0);
}

#endif /* !XDPKV_FAST_LAYOUT */

/*
 * ---- hand-off: n values written once, read later (issue 22) -----------------
 * In the plain object (general path) and in the hand-off fast object
 * (BENCH_HO_FAST: its layout is the 3-value store's header).
 */
#if !defined(XDPKV_FAST_LAYOUT) || defined(BENCH_HO_FAST)

/* Set by the runner: key ids (BENCH_HO_KEY), values, sum of the first 1, 3, 8. */
const volatile __u64 ho_key[BENCH_HO_MAX];
const volatile __u64 ho_val[BENCH_HO_MAX];
const volatile __u64 ho_sum[3];

static __always_inline __u64 ho_expect(const int n)
{
	return ho_sum[n == 1 ? 0 : n == 3 ? 1 : 2];
}

/* Value i, truncated to its size. */
static __always_inline __u64 ho_value(int i)
{
	return BENCH_HO_LEN(i) == 8 ? ho_val[i] : (__u32)ho_val[i];
}

/* Field i of the fixed struct at p: store value i, or add it to *sum. */
static __always_inline void ho_field(__u8 *p, const int i, const int store, __u64 *sum)
{
	p += BENCH_HO_SIZE(i);
	if (BENCH_HO_LEN(i) == 8 && store)
		*(__u64 *)p = ho_val[i];
	else if (store)
		*(__u32 *)p = ho_val[i];
	else if (BENCH_HO_LEN(i) == 8)
		*sum += *(__u64 *)p;
	else
		*sum += *(__u32 *)p;
}

/*
 * The fixed struct's n fields at meta (checked against data): stores or
 * loads, written out (clang 14 keeps a loop over i % 3 otherwise).
 */
static __always_inline int ho_fixed(void *meta, void *data, const int n, const int store,
				    __u64 *sum)
{
	__u8 *p = meta;

	if ((void *)(p + BENCH_HO_SIZE(n)) > data)
		return -EBADMSG;
	ho_field(p, 0, store, sum);
	if (n == 1)
		return 0;
	ho_field(p, 1, store, sum);
	ho_field(p, 2, store, sum);
	if (n == 3)
		return 0;
	ho_field(p, 3, store, sum);
	ho_field(p, 4, store, sum);
	ho_field(p, 5, store, sum);
	ho_field(p, 6, store, sum);
	ho_field(p, 7, store, sum);
	return 0;
}

/* kv[slot] = hand-off value i. */
static __always_inline void ho_kv_put(struct xdpkv_kv *kv, const int slot, const int i)
{
	kv[slot].key = ho_key[i];
	kv[slot].val = ho_val[i];
	kv[slot].len = BENCH_HO_LEN(i);
	kv[slot].pad = 0;
}

static __always_inline void ho_kv_at(struct xdpkv_kv *kv, const int i)
{
	ho_kv_put(kv, i, i);
}

/* kv[0..n) from .rodata, written out as ho_fixed is. */
static __always_inline void ho_fill(struct xdpkv_kv *kv, const int n)
{
	ho_kv_at(kv, 0);
	if (n == 1)
		return;
	ho_kv_at(kv, 1);
	ho_kv_at(kv, 2);
	if (n == 3)
		return;
	ho_kv_at(kv, 3);
	ho_kv_at(kv, 4);
	ho_kv_at(kv, 5);
	ho_kv_at(kv, 6);
	ho_kv_at(kv, 7);
}

/* Metadata back to empty (create rows: every repetition starts from none). */
static __always_inline long ho_undo(struct xdp_md *ctx)
{
	long m = (long)ctx->data - (long)ctx->data_meta;

	if (bpf_xdp_adjust_meta(ctx, (int)m))
		return -1;
	return m;
}

/* Grow the metadata by the struct, write it, undo. */
static __always_inline int ho_fixed_create(struct xdp_md *ctx, const int n)
{
	__u64 sum = 0;
	int ret = bpf_xdp_adjust_meta(ctx, -BENCH_HO_SIZE(n));

	if (!ret)
		ret = ho_fixed((void *)(long)ctx->data_meta, (void *)(long)ctx->data, n, 1, &sum);
	out_ret = ret;
	out_ret2 = ho_undo(ctx);
	out_val = 0;
	return verdict(ret == 0);
}

/* set_many into an empty area (a new store), undo. */
static __always_inline int ho_kv_create(struct xdp_md *ctx, const int n)
{
	struct xdpkv_kv kv[BENCH_HO_MAX];
	int ret;

	ho_fill(kv, n);
	ret = xdpkv_set_many(ctx, kv, n, 0);
	out_ret = ret;
	out_ret2 = ho_undo(ctx);
	out_val = 0;
	return verdict(ret == 0);
}

static __always_inline int ho_fixed_read(struct xdp_md *ctx, const int n)
{
	__u64 sum = 0;
	int ret = ho_fixed((void *)(long)ctx->data_meta, (void *)(long)ctx->data, n, 0, &sum);

	out_ret = ret ? ret : n;
	out_val = sum;
	return verdict(!ret && sum == ho_expect(n));
}

/* Sum of kv[0..n).val, written out as ho_fill is. */
static __always_inline __u64 ho_kv_sum(const struct xdpkv_kv *kv, const int n)
{
	__u64 sum = kv[0].val;

	if (n == 1)
		return sum;
	sum += kv[1].val + kv[2].val;
	if (n == 3)
		return sum;
	return sum + kv[3].val + kv[4].val + kv[5].val + kv[6].val + kv[7].val;
}

static __always_inline int ho_kv_read(struct xdp_md *ctx, const int n)
{
	struct xdpkv_kv kv[BENCH_HO_MAX];
	__u64 sum;
	int ret;

	ho_fill(kv, n); /* keys; the values are overwritten by what is read */
	ret = xdpkv_get_many(ctx, kv, n);
	sum = ho_kv_sum(kv, n);
	out_ret = ret;
	out_val = sum;
	return verdict(ret == n && sum == ho_expect(n));
}

static __always_inline int ho_fixed_ow(struct xdp_md *ctx, const int n)
{
	__u64 sum = 0;
	int ret = ho_fixed((void *)(long)ctx->data_meta, (void *)(long)ctx->data, n, 1, &sum);

	out_ret = ret;
	out_val = 0;
	return verdict(ret == 0);
}

static __always_inline int ho_kv_ow(struct xdp_md *ctx, const int n)
{
	struct xdpkv_kv kv[BENCH_HO_MAX];
	int ret;

	ho_fill(kv, n);
	ret = xdpkv_set_many(ctx, kv, n, 0);
	out_ret = ret;
	out_val = 0;
	return verdict(ret == 0);
}

/* The programs: one per operation and n, so that n is a constant. */
#define HO_PROG(op, n)                     \
	SEC("xdp")                         \
	int ho_##op##n(struct xdp_md *ctx) \
	{                                  \
		return ho_##op(ctx, n);    \
	}

HO_PROG(fixed_create, 1)
HO_PROG(fixed_create, 3)
HO_PROG(fixed_create, 8)
HO_PROG(kv_create, 1)
HO_PROG(kv_create, 3)
HO_PROG(kv_create, 8)
HO_PROG(fixed_read, 1)
HO_PROG(fixed_read, 3)
HO_PROG(fixed_read, 8)
HO_PROG(kv_read, 1)
HO_PROG(kv_read, 3)
HO_PROG(kv_read, 8)
HO_PROG(fixed_ow, 1)
HO_PROG(fixed_ow, 3)
HO_PROG(fixed_ow, 8)
HO_PROG(kv_ow, 1)
HO_PROG(kv_ow, 3)
HO_PROG(kv_ow, 8)

/*
 * The three keys asked for in descending order: not the hand-off's shape
 * (xdpkv.bpf.h), so the general path: what a reader pays that asks for keys
 * out of order, or for keys that are not the store's lowest.
 */
static __always_inline void ho_fill_reversed(struct xdpkv_kv *kv)
{
	ho_kv_put(kv, 0, 2);
	ho_kv_put(kv, 1, 1);
	ho_kv_put(kv, 2, 0);
}

SEC("xdp")
int ho_kv_read3_general(struct xdp_md *ctx)
{
	struct xdpkv_kv kv[BENCH_HO_MAX];
	__u64 sum;
	int ret;

	ho_fill_reversed(kv);
	ret = xdpkv_get_many(ctx, kv, 3);
	sum = ho_kv_sum(kv, 3);
	out_ret = ret;
	out_val = sum;
	return verdict(ret == 3 && sum == ho_expect(3));
}

SEC("xdp")
int ho_kv_ow3_general(struct xdp_md *ctx)
{
	struct xdpkv_kv kv[BENCH_HO_MAX];
	int ret;

	ho_fill_reversed(kv);
	ret = xdpkv_set_many(ctx, kv, 3, 0);
	out_ret = ret;
	out_val = 0;
	return verdict(ret == 0);
}

/* Before the multi-key calls: three single gets, three single sets (inserts). */
SEC("xdp")
int ho_kv_read3_single(struct xdp_md *ctx)
{
	__u64 id = 0;
	__u32 a = 0, b = 0;
	int ret = xdpkv_get_u64(ctx, ho_key[0], &id);

	if (ret == 8)
		ret = xdpkv_get_u32(ctx, ho_key[1], &a);
	if (ret == 4)
		ret = xdpkv_get_u32(ctx, ho_key[2], &b);
	out_ret = ret == 4 ? 3 : ret;
	out_val = id + a + b;
	return verdict(ret == 4 && out_val == ho_expect(3));
}

SEC("xdp")
int ho_kv_create3_single(struct xdp_md *ctx)
{
	int ret = xdpkv_set_u64(ctx, ho_key[0], ho_val[0], 0);

	if (!ret)
		ret = xdpkv_set_u32(ctx, ho_key[1], ho_val[1], 0);
	if (!ret)
		ret = xdpkv_set_u32(ctx, ho_key[2], ho_val[2], 0);
	out_ret = ret;
	out_ret2 = ho_undo(ctx);
	out_val = 0;
	return verdict(ret == 0);
}

#endif /* hand-off */

#ifndef BENCH_HO_FAST
/*
 * Built in every object: the general path in the plain one, the fast path
 * (the store's header equals xdpkv_fast_layout) in the fast one, the
 * registry check in the strict one.
 */
SEC("xdp")
int kv_get(struct xdp_md *ctx)
{
	__u32 v = 0;
	int ret = xdpkv_get_u32(ctx, key, &v);

	out_ret = ret;
	out_val = v;
	return verdict(ret == 4 && v == expect);
}

SEC("xdp")
int kv_has(struct xdp_md *ctx)
{
	int ret = xdpkv_has(ctx, key);

	out_ret = ret;
	out_val = 0;
	return verdict(ret == 1);
}

/* Overwrite a present key with a value of the same size (the value it has). */
SEC("xdp")
int kv_set_ow(struct xdp_md *ctx)
{
	int ret = xdpkv_set_u32(ctx, key, expect, 0);

	out_ret = ret;
	out_val = expect;
	return verdict(ret == 0);
}

#endif /* !BENCH_HO_FAST */

char LICENSE[] SEC("license") = "Dual BSD/GPL";
