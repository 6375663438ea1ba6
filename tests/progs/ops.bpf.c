// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Runs the one store operation encoded at the start of the packet; the
 * metadata is the store. Driven by BPF_PROG_TEST_RUN from the differential
 * test (inline backend) and from the VM test (built with XDPKV_BACKEND_KFUNC).
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <xdpkv/xdpkv.bpf.h>
#include "ops_run.bpf.h"

SEC("xdp")
int xdpkv_op(struct xdp_md *ctx)
{
	return xdpkv_test_run_op(ctx);
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
