// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * xdpkv_set_many / xdpkv_get_many of the kfunc backend (multi_run.bpf.h) on a
 * starting area of any size: the area travels in the packet after the
 * operation and is installed below data first (vm_area.bpf.h).
 *
 * packet: struct xdpkv_test_multi | __u32 area_len | __u32 0 | area bytes
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <xdpkv/xdpkv.bpf.h>
#include "multi_run.bpf.h"

#define VM_AREA_OP struct xdpkv_test_multi
#include "vm_area.bpf.h"

SEC("xdp")
int xdpkv_vm_multi(struct xdp_md *ctx)
{
	if (vm_area_take(ctx))
		return XDP_ABORTED;
	return xdpkv_test_run_multi(ctx);
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
