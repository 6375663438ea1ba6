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

char LICENSE[] SEC("license") = "Dual BSD/GPL";
