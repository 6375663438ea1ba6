/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * xdpkv packet hints: RX hash, VLAN tag and timestamp of a packet, and
 * where each came from. One struct for every producer and consumer: the
 * kernel module's hint block (kfuncs bpf_xdpkv_hints_store/load, see
 * docs/KFUNCS.md), BPF programs, software capture, user space.
 *
 * The kernel module keeps a copy of this struct, 32 bytes, in the XDP
 * headroom just after struct xdp_frame, where it travels with the frame
 * through XDP_REDIRECT. The copy is trusted only while the packet's own
 * metadata carries the matching validity token (reserved store key
 * XDPKV_KEY_HINT_TOKEN, below), so a recycled buffer never yields the
 * hints of the packet that used it before.
 */
#ifndef XDPKV_HINTS_H
#define XDPKV_HINTS_H

#include <xdpkv/format.h>

/* flags: which hints are present ... */
#define XDPKV_HINT_HASH		(1U << 0)	/* hash, hash_type */
#define XDPKV_HINT_VLAN		(1U << 1)	/* vlan_proto, vlan_tci */
#define XDPKV_HINT_TIMESTAMP	(1U << 2)	/* timestamp */
/* ... and, for a present hint, that software computed it (else: the NIC). */
#define XDPKV_HINT_HASH_SW	(1U << 8)	/* e.g. a Toeplitz hash over the headers */
#define XDPKV_HINT_VLAN_SW	(1U << 9)	/* parsed from the packet's VLAN header */
#define XDPKV_HINT_TIMESTAMP_SW	(1U << 10)	/* a software clock (bpf_ktime_get_*) */
#define XDPKV_HINT_PRESENT_MASK	(XDPKV_HINT_HASH | XDPKV_HINT_VLAN | XDPKV_HINT_TIMESTAMP)
#define XDPKV_HINT_SW_MASK	(XDPKV_HINT_HASH_SW | XDPKV_HINT_VLAN_SW | XDPKV_HINT_TIMESTAMP_SW)
#define XDPKV_HINT_MASK		(XDPKV_HINT_PRESENT_MASK | XDPKV_HINT_SW_MASK)

struct xdpkv_hints {
	__u32 mark;		/* load: the packet's validity token; store ignores it */
	__u32 flags;		/* XDPKV_HINT_* */
	__u32 hash;		/* RX hash */
	__u32 hash_type;	/* enum xdp_rss_hash_type bits (Linux >= 6.3 values), 0 if unknown */
	__u16 vlan_proto;	/* network byte order: 0x8100 / 0x88a8 as on the wire */
	__u16 vlan_tci;		/* host byte order: PCP, DEI, VID */
	__u32 check;		/* kernel-owned: store ignores it, load returns 0 */
	__u64 timestamp;	/* nanoseconds (NIC clock, or the software clock when _SW) */
};

#define XDPKV_HINTS_SIZE	32

/*
 * The store key that carries the validity token of a packet's hint block
 * (4-byte value). Reserved: programs must not set or delete it themselves;
 * deleting it invalidates the packet's hints. Registry allocations start
 * below it.
 */
#define XDPKV_KEY_HINT_TOKEN	63

#ifdef __cplusplus
static_assert(sizeof(struct xdpkv_hints) == XDPKV_HINTS_SIZE, "xdpkv_hints is 32 bytes");
#else
_Static_assert(sizeof(struct xdpkv_hints) == XDPKV_HINTS_SIZE, "xdpkv_hints is 32 bytes");
#endif

#endif /* XDPKV_HINTS_H */
