// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Capacity: fills the store with 8-byte values, then one 4- or 2-byte value,
 * until a set fails, and reports the metadata length it reached. Built twice
 * from this one source, for the inline and the kfunc backend (the switch is
 * -DXDPKV_BACKEND_KFUNC). Optionally stores the hint block first (kfunc).
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <xdpkv/xdpkv.bpf.h>

__u32 with_hints;  /* in: store the hint block first (kfunc backend) */
__u32 result_m;	   /* out: data - data_meta after filling */
__s32 result_err;  /* out: the error that stopped the 8-byte fill */
__u32 result_keys; /* out: 8-byte values stored */
__s32 hint_ret;	   /* out: hints_store, then hints_load after the fill */
__s32 hint_ret_after;

SEC("xdp")
int xdpkv_vm_fill(struct xdp_md *ctx)
{
	__u32 n = 0;
	int ret = 0;

#ifdef XDPKV_BACKEND_KFUNC_ACTIVE
	struct xdpkv_hints h = {
		.flags = XDPKV_HINT_HASH | XDPKV_HINT_TIMESTAMP | XDPKV_HINT_TIMESTAMP_SW,
		.hash = 0x12345678,
		.timestamp = 42,
	};

	if (with_hints)
		hint_ret = xdpkv_hints_store(ctx, &h);
#endif
	for (__u32 k = 0; k < 60; k++) {
		__u64 v = k * 0x0101010101010101ULL;

		ret = xdpkv_set(ctx, k, &v, 8, 0);
		if (ret)
			break;
		n++;
	}
	result_err = ret;
	result_keys = n;
	{
		__u32 v4 = 0xaabbccdd;
		__u16 v2 = 0xeeff;

		if (xdpkv_set(ctx, 61, &v4, 4, 0))
			xdpkv_set(ctx, 61, &v2, 2, 0);
	}
	result_m = (__u32)(ctx->data - ctx->data_meta);
#ifdef XDPKV_BACKEND_KFUNC_ACTIVE
	if (with_hints) {
		struct xdpkv_hints g = {};

		hint_ret_after = xdpkv_hints_load(ctx, &g);
		if (!hint_ret_after && (g.hash != h.hash || g.timestamp != h.timestamp))
			hint_ret_after = -1000;
	}
#endif
	return XDP_PASS;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
