// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Programs of the registry tests, built three times: plain, with
 * XDPKV_STRICT (set checks the key registry) and with
 * XDPKV_NO_INLINE_OVERWRITE (every set through the global xdpkv__set, the
 * path strict mode takes), for the strict-mode cost.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <xdpkv/xdpkv.bpf.h>
#include "reg_test.h"

/* Key ids resolved by name before load (xdpkv::resolve_keys). */
const volatile __u32 key_packet_id = 63;
const volatile __u32 key_flow_hash = 63;
const volatile __u32 key_bench = 63;

/* One set with runtime key, value and length taken from the packet. */
SEC("xdp")
int reg_op(struct xdp_md *ctx)
{
	struct reg_test_op *op = (void *)(long)ctx->data;
	__u64 key, val;
	__u32 len;
	int ret;

	if ((void *)(op + 1) > (void *)(long)ctx->data_end)
		return XDP_ABORTED;
	key = op->key;
	val = op->val;
	len = op->len;
	ret = xdpkv_set(ctx, key, &val, len, 0);
	op = (void *)(long)ctx->data;
	if ((void *)(op + 1) > (void *)(long)ctx->data_end)
		return XDP_ABORTED;
	op->ret = ret;
	return XDP_PASS;
}

/* Constant keys from read-only config: packet_id (u64), flow_hash (u32). */
SEC("xdp")
int reg_tag(struct xdp_md *ctx)
{
	int a = xdpkv_set_u64(ctx, key_packet_id, 0x1122334455667788ULL, 0);
	int b = xdpkv_set_u32(ctx, key_flow_hash, 0xaabbccdd, 0);

	return (a || b) ? XDP_ABORTED : XDP_PASS;
}

/* The measured operation: overwrite of a present u64 under a constant key. */
SEC("xdp")
int reg_bench(struct xdp_md *ctx)
{
	return xdpkv_set_u64(ctx, key_bench, 0x0102030405060708ULL, 0) ? XDP_ABORTED : XDP_PASS;
}

SEC("xdp")
int reg_empty(struct xdp_md *ctx)
{
	return XDP_PASS;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
