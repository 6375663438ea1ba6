/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* Shared by the matrix programs (progs/matrix_*.bpf.c) and matrix_checks.cpp. */
#ifndef XDPKV_VM_MATRIX_H
#define XDPKV_VM_MATRIX_H

#ifndef __bpf__
#include <linux/types.h>
#endif

/* The key the tagging program stores its PACKET_ID under (8 bytes). */
#define MATRIX_KEY_PACKET_ID 7
/* The test frames are IPv4/UDP to this port. */
#define MATRIX_UDP_PORT	     4789

/* What the dev-bound capture saw for one PACKET_ID (matrix_hints.bpf.c). */
struct matrix_hint_rec {
	__u32 flags;
	__u32 hash;
	__u16 vlan_tci;
	__u16 pad;
};

#ifndef ETH_P_IP
#define ETH_P_IP 0x0800
#endif

#ifdef __bpf__
#include <bpf/bpf_endian.h>

/* IPv4/UDP to MATRIX_UDP_PORT: the frames matrix_checks.cpp sends. */
static __always_inline int is_test_frame(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data, *end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;
	struct iphdr *ip = (void *)(eth + 1);
	struct udphdr *udp = (void *)(ip + 1);

	if ((void *)(udp + 1) > end)
		return 0;
	return eth->h_proto == bpf_htons(ETH_P_IP) && ip->protocol == IPPROTO_UDP &&
	       udp->dest == bpf_htons(MATRIX_UDP_PORT);
}
#endif

#endif
