// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Arguments that point into the metadata area itself, which a set or a
 * hint store moves. Built twice from this one source, for the inline and the
 * kfunc backend (-DXDPKV_BACKEND_KFUNC); the guest compares the two areas
 * byte for byte.
 *
 * xdpkv_vm_alias_set: keys 5 and 6 (u32), then key 3 set from a pointer to
 * key 6's value in data_meta. Inserting key 3 moves keys 5 and 6 down by 4,
 * so a backend that reads val after the move stores key 5's value instead.
 *
 * xdpkv_vm_alias_hints (kfunc): a struct xdpkv_hints in foreign bytes at
 * data_meta, below an empty store, passed to hints_store. Adding the mark
 * moves those bytes down by 4: the block must hold the struct as it was.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>
#include <xdpkv/xdpkv.bpf.h>

#define K_LOW 3
#define K_A   5
#define K_B   6
#define V_A   0x11223344
#define V_B   0x55667788

__s32 set_ret = 1;  /* out: the aliasing set */
__s32 hint_ret = 1; /* out: hints_store, then hints_load */
__s32 hint_bad;	    /* out: first field of the loaded hints that differs (1-based) */

SEC("xdp")
int xdpkv_vm_alias_set(struct xdp_md *ctx)
{
	__u8 *meta, *data;

	if (xdpkv_set_u32(ctx, K_A, V_A, 0) || xdpkv_set_u32(ctx, K_B, V_B, 0))
		return XDP_ABORTED;
	meta = (void *)(long)ctx->data_meta;
	data = (void *)(long)ctx->data;
	/* header 16 + key 5 + key 6: key 6, the highest, lies at data_meta */
	if (ctx->data - ctx->data_meta != 24 || (void *)(meta + 24) > (void *)data)
		return XDP_ABORTED;
	set_ret = xdpkv_set(ctx, K_LOW, meta, 4, 0);
	return XDP_PASS;
}

#ifdef XDPKV_BACKEND_KFUNC_ACTIVE
SEC("xdp")
int xdpkv_vm_alias_hints(struct xdp_md *ctx)
{
	struct xdpkv_hints want = {
		.flags = XDPKV_HINT_HASH | XDPKV_HINT_VLAN | XDPKV_HINT_TIMESTAMP |
			 XDPKV_HINT_HASH_SW,
		.hash = 0xa1b2c3d4,
		.hash_type = 0x6,
		.vlan_proto = bpf_htons(0x88a8),
		.vlan_tci = 0x2064,
		.timestamp = 0x0102030405060708ULL,
	}, got = {};
	__u8 *meta, *data;

	/* 32 foreign bytes (the struct) below an empty 16-byte store */
	if (xdpkv_adjust_meta(ctx, -48))
		return XDP_ABORTED;
	meta = (void *)(long)ctx->data_meta;
	data = (void *)(long)ctx->data;
	if ((void *)(meta + 48) > (void *)data)
		return XDP_ABORTED;
	__builtin_memcpy(meta, &want, sizeof(want));
	__builtin_memset(meta + 32, 0, 16);
	hint_ret = xdpkv_hints_store(ctx, (const struct xdpkv_hints *)meta);
	if (hint_ret)
		return XDP_PASS;
	hint_ret = xdpkv_hints_load(ctx, &got);
	if (hint_ret)
		return XDP_PASS;
	if (got.flags != want.flags)
		hint_bad = 1;
	else if (got.hash != want.hash)
		hint_bad = 2;
	else if (got.hash_type != want.hash_type)
		hint_bad = 3;
	else if (got.vlan_proto != want.vlan_proto || got.vlan_tci != want.vlan_tci)
		hint_bad = 4;
	else if (got.timestamp != want.timestamp)
		hint_bad = 5;
	return XDP_PASS;
}
#endif

char LICENSE[] SEC("license") = "Dual BSD/GPL";
