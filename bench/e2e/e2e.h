/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* The end-to-end benchmark's programs and its C++ driver share this. */
#ifndef XDPKV_BENCH_E2E_H
#define XDPKV_BENCH_E2E_H

/* The PACKET_ID key of the bench's stores (a private store: no registry). */
#define E2E_KEY_ID   0
/* A per-flow value (GRO part): the same 4 bytes on every packet of a flow. */
#define E2E_KEY_FLOW 1

/* What the GRO receiver's XDP program writes (rodata gro_mode). */
#define E2E_GRO_NONE 0 /* no store */
#define E2E_GRO_FLOW 1 /* a per-flow value only */
#define E2E_GRO_ID   2 /* a per-packet id */

struct e2e_counts {
	__u64 packets; /* seen by the program */
	__u64 errors;  /* a store operation failed */
};

/* Post-GRO view, from TC ingress on the receiver (one TCP flow). */
struct e2e_gro_counts {
	__u64 skbs;
	__u64 segs; /* sum of max(gso_segs, 1) */
	__u64 bytes;
	__u64 late;    /* data skbs that start before the end of data already seen */
	__u32 max_end; /* highest sequence number + payload seen */
	__u32 started;
};

#endif
