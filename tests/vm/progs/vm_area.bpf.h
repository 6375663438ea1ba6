/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * For the guest's programs that take a starting area of any size (Linux <
 * 6.8 gives BPF_PROG_TEST_RUN at most 32 bytes of metadata): the area travels
 * in the packet after the program's operation (VM_AREA_OP, a type) and
 * struct vm_area_tail, and vm_area_take() puts it below data with
 * bpf_xdpkv_adjust_meta; the operation stays at data. Kfunc backend only.
 * Define VM_AREA_OP first.
 */
#ifndef XDPKV_VM_AREA_BPF_H
#define XDPKV_VM_AREA_BPF_H

#ifndef XDPKV_BACKEND_KFUNC_ACTIVE
#error "the area installer needs the kfunc backend: build with -DXDPKV_BACKEND_KFUNC"
#endif

#include "test_ctx.bpf.h"

#define AREA_MAX XDPKV_META_MAX_HEADROOM

/* After the operation (VM_AREA_OP) at data. */
struct vm_area_tail {
	__u32 area_len; /* a multiple of 4, at most AREA_MAX */
	__u32 pad;
};

#define VM_AREA_AFTER (sizeof(VM_AREA_OP) + sizeof(struct vm_area_tail))

/* Install the area carried in the packet below data (a bytes, multiple of 4). */
static __noinline int install_area(struct xdp_md *ctx, __u32 a)
{
	if (a > AREA_MAX || (a & 3))
		return -1;
	if (TEST_CTX(ctx, data_meta) != TEST_CTX(ctx, data))
		return -1;
	if (bpf_xdpkv_adjust_meta(ctx, -(int)a))
		return -1;
	for (__u32 i = 0; i < AREA_MAX / 4; i++) {
		__u8 *data = TEST_CTX(ctx, data);
		__u8 *end = TEST_CTX(ctx, data_end);
		__u8 *meta = TEST_CTX(ctx, data_meta);
		__u8 *src = data + VM_AREA_AFTER + i * 4;
		__u8 *dst = meta + i * 4;

		if (i * 4 >= a)
			break;
		if ((void *)(src + 4) > (void *)end || (void *)(dst + 4) > (void *)data)
			return -1;
		__builtin_memcpy(dst, src, 4);
	}
	return 0;
}

/* The area that follows the operation, installed: 0, or -1 (a malformed packet). */
static __always_inline int vm_area_take(struct xdp_md *ctx)
{
	__u8 *data = TEST_CTX(ctx, data);
	struct vm_area_tail *t = (void *)(data + sizeof(VM_AREA_OP));

	if ((void *)(t + 1) > TEST_CTX(ctx, data_end))
		return -1;
	return t->area_len ? install_area(ctx, t->area_len) : 0;
}

#endif
