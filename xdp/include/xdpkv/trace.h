/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * ABI of the shipped tagger (xdp/progs/tagger.bpf.c, `xdpkv tag`) and tracer
 * (xdp/progs/trace.bpf.c, `xdpkv trace`): the tagger's filter, the tracer's
 * points, ring-buffer event and XDP counters. Shared by BPF and C++.
 */
#ifndef XDPKV_TRACE_H
#define XDPKV_TRACE_H

#ifndef __VMLINUX_H__
#include <linux/types.h>
#endif

/* ---- tagger -------------------------------------------------------------- */

/* One conjunction of tests; a zero field tests nothing. Addresses and ports in network order. */
struct xdpkv_tag_filter {
	__u8 proto;	/* IPPROTO_TCP/UDP/ICMP; 0: any */
	__u8 ipv4_only; /* "ip": IPv4 packets only */
	__u8 has_host, has_src, has_dst;
	__u8 has_port, has_sport, has_dport;
	__u32 host, src, dst; /* IPv4 */
	__u16 port, sport, dport;
	__u16 pad;
};

/* Statistics of the tagger (its .bss). */
struct xdpkv_tag_stats {
	__u64 seen;    /* packets the program ran on */
	__u64 matched; /* passed the filter */
	__u64 tagged;  /* got an id */
	__u64 failed;  /* set refused (no headroom, foreign metadata...) */
};

/* ---- tracer -------------------------------------------------------------- */

enum xdpkv_trace_point {
	XDPKV_TP_NETIF_RECEIVE_SKB,
	XDPKV_TP_NAPI_GRO_RECEIVE_ENTRY,
	XDPKV_TP_NET_DEV_QUEUE,
	XDPKV_TP_NET_DEV_START_XMIT,
	XDPKV_TP_NET_DEV_XMIT,
	XDPKV_TP_SKB_COPY_DATAGRAM_IOVEC,
	XDPKV_TP_KFREE_SKB,
	XDPKV_TP_CONSUME_SKB,
	XDPKV_TP_SOCK_INGRESS, /* cgroup/skb ingress: an skb a socket receives */
	XDPKV_TP_FENTRY,       /* a kernel function (fentry): func_id names it */
	XDPKV_TP_PROG_ENTRY,   /* fentry on an XDP or TC program: func_id names it */
	XDPKV_TP_PROG_EXIT,    /* fexit on it: reason is the program's return value */
	XDPKV_TP_NPOINTS,
};

/* Counted, not traced: the xdp tracepoints carry no packet. */
enum xdpkv_xdp_point {
	XDPKV_XP_EXCEPTION,
	XDPKV_XP_REDIRECT,
	XDPKV_XP_REDIRECT_ERR,
	XDPKV_XP_REDIRECT_MAP,
	XDPKV_XP_REDIRECT_MAP_ERR,
	XDPKV_XP_DEVMAP_XMIT,
	XDPKV_XP_NPOINTS,
};

struct xdpkv_xdp_count_key {
	__u32 point; /* enum xdpkv_xdp_point */
	__u32 prog_id;
	__u32 ifindex;
	__u32 action; /* XDP action (exception), or 0; errors: -err */
};

#define XDPKV_TRACE_SNAPLEN  128
#define XDPKV_TRACE_META_MAX 252 /* == XDPKV_META_MAX */
#define XDPKV_TRACE_IFNAMSIZ 16

#define XDPKV_TEV_ID	   (1U << 0) /* id read from the packet's metadata */
#define XDPKV_TEV_FOLLOWED (1U << 1) /* id from the followed-skb map */

struct xdpkv_trace_event {
	__u64 time_ns; /* bpf_ktime_get_ns */
	__u64 skb;
	__u64 id;    /* value of the traced key (zero-extended) */
	__u32 flags; /* XDPKV_TEV_* */
	__u32 cpu;
	__u32 netns; /* inode of the device's netns */
	__u32 ifindex;
	__u32 len;	 /* skb->len */
	__u32 frame_len; /* bytes from the MAC header (or network header) to the end */
	__u32 reason;	 /* enum skb_drop_reason (kfree_skb); the action (PROG_EXIT) */
	__u16 point;	 /* enum xdpkv_trace_point */
	__u16 func_id;	 /* FENTRY, PROG_*: index in the tracer's function/program list */
	__u16 meta_len;	 /* bytes in meta (the whole metadata area) */
	__u16 cap_len;	 /* bytes in data */
	__u8 l2;	 /* data starts at the MAC header (1) or the network header (0) */
	__u8 pad[3];
	char ifname[XDPKV_TRACE_IFNAMSIZ];
	__u8 meta[XDPKV_TRACE_META_MAX];
	__u8 data[XDPKV_TRACE_SNAPLEN]; /* the frame; tuple parsed by user space */
};

#endif /* XDPKV_TRACE_H */
