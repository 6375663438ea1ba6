// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * The live-frames generator's program: BPF_PROG_RUN with
 * BPF_F_TEST_XDP_LIVE_FRAMES runs it on every frame, and XDP_TX turns into a
 * transmit out of ctx_in.ingress_ifindex (through its ndo_xdp_xmit: on a veth,
 * into the peer, whose XDP program receives it).
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

SEC("xdp")
int live_tx(struct xdp_md *ctx)
{
	return XDP_TX;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
