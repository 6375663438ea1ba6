// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * The multi-key operation at the start of the packet (multi_run.bpf.h), on
 * the inline backend; built twice, with and without XDPKV_FAST_LAYOUT.
 * Driven by tests/bpf/test_multi.cpp.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <xdpkv/xdpkv.bpf.h>
#include "multi_run.bpf.h"

SEC("xdp")
int xdpkv_multi(struct xdp_md *ctx)
{
	return xdpkv_test_run_multi(ctx);
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
