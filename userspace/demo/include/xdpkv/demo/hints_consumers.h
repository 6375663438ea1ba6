/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * ABI of xdp/progs/hints_consumers.bpf.c: the consumers of the NIC hints on
 * the client -> lb -> backend topology (the hints section of `xdpkv demo`
 * and tests/hints). Each reads the hints of a packet captured by
 * xdpkv_capture, with the capture's sequence number, and sends one record.
 */
#ifndef XDPKV_HINTS_CONSUMERS_H
#define XDPKV_HINTS_CONSUMERS_H

#include <xdpkv/hints.h>

/* Where a record was made. */
enum hc_consumer {
	HC_DEVMAP = 1,	/* devmap entry program (lbin -> lbout) */
	HC_CPUMAP = 2,	/* cpumap entry program */
	HC_BACKEND = 3, /* XDP on be (device-bound: also asks the driver) */
	HC_TC = 4,	/* TC ingress reader (after the restore program) */
	HC_TRACE = 5,	/* tp_btf/kfree_skb: the skb after the stack */
	HC_XSK = 6,	/* AF_XDP, in user space */
	HC_TC_PRE = 7,	/* TC ingress reader before the restore program */
};

struct hc_rec {
	__u64 seq; /* the capture's sequence number (key key_seq) */
	__u32 consumer;
	__s32 seq_rc;  /* reading the sequence key */
	__s32 hash_rc; /* xdpkv_hint_hash* */
	__u32 hash;
	__u32 hash_type;
	__u32 flags;
	__s32 vlan_rc;
	__u16 vlan_proto;
	__u16 vlan_tci;
	__s32 ts_rc;
	__u64 ts;
	__s32 drv_rc[XDPKV_HI_N]; /* HC_BACKEND: the driver kfuncs, by XDPKV_HI_* */
	__u32 skb_hash;		  /* HC_TC, HC_TRACE */
	__u8 l4_hash;
	__u8 sw_hash;
	__u8 vlan_present;
	__u8 drop; /* HC_TRACE: 1 no socket, 2 other host (e.g. VLAN not ours), 3 other */
	__u16 skb_vlan_tci;
	__u16 skb_vlan_proto; /* network order */
	__u32 ifindex;	      /* skb->dev (HC_TRACE), ingress ifindex otherwise */
	__u32 reason;	      /* HC_TRACE: drop reason (this kernel's enum skb_drop_reason) */
	__u32 meta_len;
	__u32 sport; /* UDP source port (host order) when parsed, else 0 */
};

#endif
