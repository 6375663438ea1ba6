// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * The second program behind libxdp's dispatcher: reads the PACKET_ID that
 * matrix_tag stored (so it can only see one if matrix_tag ran first).
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>
#include <xdpkv/xdpkv.bpf.h>
#include "matrix.h"

__u64 seen, with_id, without_id, bad_id, id_sum; /* out */

SEC("xdp")
int matrix_count(struct xdp_md *ctx)
{
	__u64 id = 0;
	int ret;

	if (!is_test_frame(ctx))
		return XDP_PASS;
	__sync_fetch_and_add(&seen, 1);
	ret = xdpkv_get(ctx, MATRIX_KEY_PACKET_ID, &id, 8);
	if (ret == 8) {
		__sync_fetch_and_add(&with_id, 1);
		__sync_fetch_and_add(&id_sum, id);
	} else if (ret == -ENOENT || ret == 0) {
		__sync_fetch_and_add(&without_id, 1);
	} else {
		__sync_fetch_and_add(&bad_id, 1);
	}
	return XDP_PASS;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
