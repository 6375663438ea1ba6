// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * The first of two XDP programs for libxdp's multi-program dispatcher, and
 * the target of the fexit check: stores a fresh PACKET_ID in each test frame
 * with the inline library. Other frames pass untouched.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>
#include <xdpkv/xdpkv.bpf.h>
#include "matrix.h"

__u32 tag_action = XDP_PASS; /* in: what matrix_tag returns */
__u64 next_id = 1000;	     /* PACKET_IDs handed out */
__u64 tagged, tag_err;	     /* out */

SEC("xdp")
int matrix_tag(struct xdp_md *ctx)
{
	__u64 id;

	if (!is_test_frame(ctx))
		return XDP_PASS;
	id = __sync_fetch_and_add(&next_id, 1);
	if (xdpkv_set(ctx, MATRIX_KEY_PACKET_ID, &id, 8, 0))
		__sync_fetch_and_add(&tag_err, 1);
	else
		__sync_fetch_and_add(&tagged, 1);
	return tag_action;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
