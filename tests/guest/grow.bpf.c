// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Not xdpkv: a plain XDP program that grows the metadata area, as a user
 * would bring one to try on another kernel (tests/guest/check-runner.sh loads
 * it with bpftool inside a guest).
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

SEC("xdp")
int grow(struct xdp_md *ctx)
{
	return bpf_xdp_adjust_meta(ctx, -8) ? XDP_ABORTED : XDP_PASS;
}

char _license[] SEC("license") = "Dual BSD/GPL";
