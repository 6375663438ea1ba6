// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * tests/progs/ops.bpf.c for areas beyond the 32 bytes BPF_PROG_TEST_RUN
 * takes on Linux < 6.8: the starting area travels in the packet, after the
 * op, and the program installs it below data with bpf_xdpkv_adjust_meta
 * before it runs the op. Kfunc backend only (built with XDPKV_BACKEND_KFUNC).
 *
 * packet: struct xdpkv_test_op | __u32 area_len | __u32 0 | area bytes
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <xdpkv/xdpkv.bpf.h>
#include "ops_run.bpf.h"

#ifndef XDPKV_BACKEND_KFUNC_ACTIVE
#error "vm_ops.bpf.c needs the kfunc backend: build with -DXDPKV_BACKEND_KFUNC"
#endif

#define AREA_MAX XDPKV_META_MAX_HEADROOM

struct vm_op_hdr {
	struct xdpkv_test_op op;
	__u32 area_len;
	__u32 pad;
};

/* Separate, opaque ctx loads: clang must not merge them into a load from a computed ctx offset. */
#define LOAD(ptr, field)                                \
	({                                              \
		void *__p = (void *)(long)(ptr)->field; \
		asm volatile("" : "+r"(__p));           \
		__p;                                    \
	})

/* Install the area carried in the packet below data (a bytes, multiple of 4). */
static __noinline int install_area(struct xdp_md *ctx, __u32 a)
{
	if (a > AREA_MAX || (a & 3))
		return -1;
	if (LOAD(ctx, data_meta) != LOAD(ctx, data))
		return -1;
	if (bpf_xdpkv_adjust_meta(ctx, -(int)a))
		return -1;
	for (__u32 i = 0; i < AREA_MAX / 4; i++) {
		__u8 *data = LOAD(ctx, data);
		__u8 *end = LOAD(ctx, data_end);
		__u8 *meta = LOAD(ctx, data_meta);
		__u8 *src = data + sizeof(struct vm_op_hdr) + i * 4;
		__u8 *dst = meta + i * 4;

		if (i * 4 >= a)
			break;
		if ((void *)(src + 4) > (void *)end || (void *)(dst + 4) > (void *)data)
			return -1;
		__builtin_memcpy(dst, src, 4);
	}
	return 0;
}

SEC("xdp")
int xdpkv_vm_op(struct xdp_md *ctx)
{
	struct vm_op_hdr *h = LOAD(ctx, data);
	__u32 a;

	if ((void *)(h + 1) > LOAD(ctx, data_end))
		return XDP_ABORTED;
	a = h->area_len;
	if (a && install_area(ctx, a))
		return XDP_ABORTED;
	/* The op stays at data: the area went below it. */
	return xdpkv_test_run_op(ctx);
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
