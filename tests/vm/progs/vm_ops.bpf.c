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

#define VM_AREA_OP struct xdpkv_test_op
#include "vm_area.bpf.h"

SEC("xdp")
int xdpkv_vm_op(struct xdp_md *ctx)
{
	if (vm_area_take(ctx))
		return XDP_ABORTED;
	return xdpkv_test_run_op(ctx);
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
