/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Runs the one store operation encoded at the start of the packet (struct
 * xdpkv_test_op) with runtime key, length and flags, and writes the result
 * back into the packet. Shared by tests/progs/ops.bpf.c (both backends) and
 * tests/vm/progs/vm_ops.bpf.c. Include after <xdpkv/xdpkv.bpf.h>.
 */
#ifndef XDPKV_TEST_OPS_RUN_H
#define XDPKV_TEST_OPS_RUN_H

#include "ops.h"

static __always_inline int xdpkv_test_run_op(struct xdp_md *ctx)
{
	struct xdpkv_test_op *op = (void *)(long)ctx->data;
	__u8 buf[XDPKV_TEST_BUF];
	__u32 kind, len;
	__u64 key, flags;
	__s64 ret;

	if ((void *)(op + 1) > (void *)(long)ctx->data_end)
		return XDP_ABORTED;
	kind = op->kind;
	len = op->len;
	key = op->key;
	flags = op->flags;
	__builtin_memcpy(buf, op->val, sizeof(buf));

	switch (kind) {
	case XDPKV_OP_GET:
		if (len > XDPKV_TEST_BUF)
			return XDP_ABORTED;
		ret = xdpkv_get(ctx, key, buf, len);
		break;
	case XDPKV_OP_SET:
		ret = xdpkv_set(ctx, key, buf, len, flags);
		break;
	case XDPKV_OP_DEL:
		ret = xdpkv_del(ctx, key);
		break;
	case XDPKV_OP_HAS:
		ret = xdpkv_has(ctx, key);
		break;
	default:
		return XDP_ABORTED;
	}

	/* set/del may have moved data_meta: reload before writing back. */
	op = (void *)(long)ctx->data;
	if ((void *)(op + 1) > (void *)(long)ctx->data_end)
		return XDP_ABORTED;
	__builtin_memcpy(op->val, buf, sizeof(buf));
	op->ret = ret;
	return XDP_PASS;
}

#endif
