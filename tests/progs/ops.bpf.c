// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Runs the one store operation encoded at the start of the packet with
 * runtime key, length and flags, and writes the result back into the
 * packet; the metadata is the store. Driven by BPF_PROG_TEST_RUN from the
 * differential test.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <xdpkv/xdpkv.bpf.h>
#include "ops.h"

SEC("xdp")
int xdpkv_op(struct xdp_md *ctx)
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

char LICENSE[] SEC("license") = "Dual BSD/GPL";
