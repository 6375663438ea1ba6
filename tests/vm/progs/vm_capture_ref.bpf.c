// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * A program written for the removed bpf_xdpkv_hints_capture (the module
 * once passed driver metadata ops any xdp_buff, including BPF_PROG_TEST_RUN
 * live frames on a veth's test rxq). The guest checks that it cannot load:
 * the kfunc is in no BTF, so libbpf refuses the extern (-ESRCH).
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <xdpkv/hints.h>

extern int bpf_xdpkv_hints_capture(struct xdp_md *ctx, struct xdpkv_hints *h, __u32 h__sz) __ksym;

__s32 capture_ret;

SEC("xdp")
int vm_capture_ref(struct xdp_md *ctx)
{
	struct xdpkv_hints h = {};

	capture_ret = bpf_xdpkv_hints_capture(ctx, &h, sizeof(h));
	return XDP_DROP;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
