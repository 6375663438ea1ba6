/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Runs the one multi-key operation encoded at data (struct
 * xdpkv_test_multi) and writes the result and the kv array back. n selects
 * one of eight call sites, each with a constant n, as programs use the
 * calls. Shared by tests/progs/multi.bpf.c (either build of the inline
 * backend) and tests/vm/progs/vm_multi.bpf.c (the kfunc backend). Include
 * after <xdpkv/xdpkv.bpf.h>.
 */
#ifndef XDPKV_TEST_MULTI_RUN_BPF_H
#define XDPKV_TEST_MULTI_RUN_BPF_H

#include "multi.h"
#include "test_ctx.bpf.h"

/*
 * Read the operation, run it with a constant n, write the result back.
 * One subprogram per call and n below: each has its own stack frame (one
 * frame with every inlined call site would pass 512 bytes).
 */
static __always_inline int run(struct xdp_md *ctx, struct xdpkv_kv *kv, const int n, const int set)
{
	struct xdpkv_test_multi *op = TEST_CTX(ctx, data);
	__u64 flags;
	__s64 ret;

	if ((void *)(op + 1) > TEST_CTX(ctx, data_end))
		return XDP_ABORTED;
	flags = op->flags;
	__builtin_memcpy(kv, op->kv, n * sizeof(*kv));
	if (set)
		ret = xdpkv_set_many(ctx, kv, n, flags);
	else
		ret = xdpkv_get_many(ctx, kv, n);

	/* set_many may have moved data_meta: reload before writing back. */
	op = TEST_CTX(ctx, data);
	if ((void *)(op + 1) > TEST_CTX(ctx, data_end))
		return XDP_ABORTED;
	__builtin_memcpy(op->kv, kv, n * sizeof(*kv));
	op->ret = ret;
	return XDP_PASS;
}

/*
 * The array lives in .bss, a map value: set_many(8) takes about 300 bytes of
 * stack besides it, and xdpkv__set's frame adds to that (docs/API.md).
 */
static struct xdpkv_kv test_kv[XDPKV_MANY_MAX];

#define RUN_N(n)                                         \
	static __noinline int set##n(struct xdp_md *ctx) \
	{                                                \
		return run(ctx, test_kv, n, 1);          \
	}                                                \
	static __noinline int get##n(struct xdp_md *ctx) \
	{                                                \
		return run(ctx, test_kv, n, 0);          \
	}

RUN_N(1)
RUN_N(2)
RUN_N(3)
RUN_N(4)
RUN_N(5)
RUN_N(6)
RUN_N(7)
RUN_N(8)

static __always_inline int xdpkv_test_run_multi(struct xdp_md *ctx)
{
	struct xdpkv_test_multi *op = TEST_CTX(ctx, data);
	int set;

	if ((void *)(op + 1) > TEST_CTX(ctx, data_end) || op->kind > XDPKV_OP_GET_MANY)
		return XDP_ABORTED;
	set = op->kind == XDPKV_OP_SET_MANY;
	switch (op->n) {
	case 1:
		return set ? set1(ctx) : get1(ctx);
	case 2:
		return set ? set2(ctx) : get2(ctx);
	case 3:
		return set ? set3(ctx) : get3(ctx);
	case 4:
		return set ? set4(ctx) : get4(ctx);
	case 5:
		return set ? set5(ctx) : get5(ctx);
	case 6:
		return set ? set6(ctx) : get6(ctx);
	case 7:
		return set ? set7(ctx) : get7(ctx);
	case 8:
		return set ? set8(ctx) : get8(ctx);
	default:
		return XDP_ABORTED;
	}
}

#endif
