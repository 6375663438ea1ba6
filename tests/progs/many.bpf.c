// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Calls every operation many times with constant keys: the program size and
 * verifier cost of a realistic user, and the constant-key code paths. The
 * results (return codes and values read) go to res[] in .bss.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <xdpkv/xdpkv.bpf.h>

#define NRES 48

/* Results go to .bss (read by the test through the skeleton), not the stack. */
__s64 res[NRES];

SEC("xdp")
int xdpkv_many(struct xdp_md *ctx)
{
	__u64 v64 = 0;
	__u32 v32 = 0;
	__u16 v16 = 0;
	int i = 0;

	res[i++] = xdpkv_set_u64(ctx, 0, 0x0102030405060708ULL, 0);
	res[i++] = xdpkv_set_u32(ctx, 1, 0x11121314, 0);
	res[i++] = xdpkv_set_u16(ctx, 2, 0x2122, 0);
	res[i++] = xdpkv_set_u64(ctx, 5, 0x3132333435363738ULL, XDPKV_F_NOEXIST);
	res[i++] = xdpkv_set_u32(ctx, 9, 0x41424344, 0);
	res[i++] = xdpkv_set_u16(ctx, 17, 0x5152, 0);
	res[i++] = xdpkv_set_u64(ctx, 33, 0x6162636465666768ULL, 0);
	res[i++] = xdpkv_set_u32(ctx, 63, 0x71727374, 0);
	res[i++] = xdpkv_set_u32(ctx, 63, 0x7a7b7c7d, XDPKV_F_NOEXIST); /* -EEXIST */
	res[i++] = xdpkv_set_u16(ctx, 40, 1, XDPKV_F_EXIST);		/* -ENOENT */
	res[i++] = xdpkv_get_u64(ctx, 0, &v64);
	res[i++] = v64;
	res[i++] = xdpkv_get_u32(ctx, 1, &v32);
	res[i++] = v32;
	res[i++] = xdpkv_get_u16(ctx, 2, &v16);
	res[i++] = v16;
	res[i++] = xdpkv_get_u64(ctx, 5, &v64);
	res[i++] = v64;
	res[i++] = xdpkv_get_u32(ctx, 9, &v32);
	res[i++] = v32;
	res[i++] = xdpkv_get_u64(ctx, 17, &v64); /* 2-byte value, zero-extended */
	res[i++] = v64;
	res[i++] = xdpkv_get_u16(ctx, 33, &v16); /* -ENOSPC: buffer too small */
	res[i++] = v16;
	res[i++] = xdpkv_has(ctx, 63);
	res[i++] = xdpkv_has(ctx, 62);
	res[i++] = xdpkv_del(ctx, 1);
	res[i++] = xdpkv_del(ctx, 1);						/* -ENOENT */
	res[i++] = xdpkv_set_u64(ctx, 2, 0x8182838485868788ULL, XDPKV_F_EXIST); /* grow 2 -> 8 */
	res[i++] = xdpkv_set_u16(ctx, 0, 0x9192, 0);				/* shrink 8 -> 2 */
	res[i++] = xdpkv_set_u32(ctx, 33, 0xa1a2a3a4, 0);			/* shrink 8 -> 4 */
	res[i++] = xdpkv_del(ctx, 63);
	res[i++] = xdpkv_get_u64(ctx, 2, &v64);
	res[i++] = v64;
	res[i++] = xdpkv_get_u64(ctx, 33, &v64);
	res[i++] = v64;
	res[i++] = xdpkv_get_u64(ctx, 64, &v64);	       /* -EINVAL */
	res[i++] = xdpkv_set_u16(ctx, (1ULL << 32) + 1, 1, 0); /* -EINVAL, not key 1 */
	res[i++] = xdpkv_has(ctx, 1);

	return XDP_PASS;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
