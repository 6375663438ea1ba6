// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * The live-frames generator's program: BPF_PROG_RUN with
 * BPF_F_TEST_XDP_LIVE_FRAMES runs it on every frame, and XDP_TX turns into a
 * transmit out of ctx_in.ingress_ifindex (through its ndo_xdp_xmit: on a veth,
 * into the peer, whose XDP program receives it).
 *
 * The test run's page pool initialises a page's bytes once, when the page is
 * first allocated, and on recycling resets only the frame's pointers. A
 * program downstream that rewrites the frame in place (the LB's
 * encapsulation) and then loses it (a full veth ring, XDP_DROP) returns the
 * page with its bytes changed, and every later frame built on that page would
 * go out changed. So every frame is rewritten from the template of this call
 * before it is sent: what leaves is always what the caller asked for.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

#define LIVE_MAX_FRAME 1536

__u8 tmpl[LIVE_MAX_FRAME];
__u32 tmpl_len;
__u64 restore_err;

SEC("xdp")
int live_tx(struct xdp_md *ctx)
{
	__u32 len = tmpl_len;

	if (len == 0 || len > LIVE_MAX_FRAME || bpf_xdp_store_bytes(ctx, 0, tmpl, len)) {
		__sync_fetch_and_add(&restore_err, 1);
		return XDP_DROP;
	}
	return XDP_TX;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
