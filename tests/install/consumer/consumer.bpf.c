// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * A consumer's XDP program: sets a u64 under a key id its loader took from
 * the registry and a u16 under key 9, reads the u64 back, and passes.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <xdpkv/xdpkv.bpf.h>

const volatile __u32 key_id;

__u64 readback;
int err;

SEC("xdp")
int consumer_tag(struct xdp_md *ctx)
{
	err = xdpkv_set_u64(ctx, key_id, 0x1122334455667788ULL, 0);
	if (!err)
		err = xdpkv_set_u16(ctx, 9, 0xbeef, 0);
	if (!err && xdpkv_get_u64(ctx, key_id, &readback) != 8)
		err = -1;
	return err ? XDP_ABORTED : XDP_PASS;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
