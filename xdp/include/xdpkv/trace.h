/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * ABI of the shipped tagger (userspace/trace/tagger.bpf.c, `xdpkv tag`) and
 * tracer (userspace/trace/trace.bpf.c, `xdpkv trace`): the tagger's filter,
 * the tracer's points, filter, ring-buffer event and XDP counters. Shared by
 * BPF and C++.
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

/* Statistics of the tagger, per CPU (struct xdpkv_tag_cpu); --status sums them. */
struct xdpkv_tag_stats {
	__u64 seen;    /* packets the program ran on */
	__u64 matched; /* passed the filter */
	__u64 tagged;  /* got an id */
	__u64 failed;  /* set refused (no headroom, foreign metadata...) */
	__u64 bursts;  /* TCP bursts begun (burst mode) */
	__u64 sampled; /* of them, given an id */
};

/*
 * Burst mode (the default for TCP): every packet of a sampled burst carries
 * the burst's id, and a flow's burst ends with a segment that makes GRO
 * complete the flow's held skb at once (these flags), so the next packet,
 * which may start a burst with another id or none, never meets a held skb
 * whose metadata differs. See docs/TRACE.md, "Tracing TCP without hurting GRO".
 */
#define XDPKV_TAG_BURST_END_FLAGS 0x2f	/* FIN 0x01 SYN 0x02 RST 0x04 PSH 0x08 URG 0x20 */
#define XDPKV_TAG_FLOWS		  16384 /* default flow table size (LRU) */

/* The tagger's flow table (burst mode): key and value. */
struct xdpkv_tag_flow {
	__u32 saddr[4]; /* IPv4: saddr[0] */
	__u32 daddr[4];
	__u16 sport, dport; /* network order */
	__u32 v6;
};

struct xdpkv_tag_burst {
	__u64 id;   /* this burst's id; 0: the burst is not sampled */
	__u64 last; /* the flow's last id: a later burst's id is above it */
	__u32 end;  /* the flow's last packet ended its burst */
	__u32 pad;
};

/*
 * Ids: one counter per host (a pinned one-element array, `tag_ids` beside the
 * registry). Ids are plain numbers >= 1, unique across CPUs, taggers and runs,
 * growing on each CPU and, in burst mode, along each flow.
 *
 * A CPU is busy when it matched XDPKV_TAG_BUSY_PKTS packets within
 * XDPKV_TAG_BUSY_NS (500,000 a second or more). A busy CPU writes nothing
 * shared per packet: it samples with its own counters and takes its ids from
 * a block of XDPKV_TAG_ID_BLOCK that it takes from the host's counter with
 * one atomic add (what is left of a block when the CPU turns quiet or the
 * tagger goes is never used: ids have gaps). A quiet CPU samples with the
 * tagger's counters and takes one id at a time from the host's counter:
 * exact sampling and consecutive ids across CPUs, at a rate where a shared
 * write costs nothing measurable.
 */
#define XDPKV_TAG_ID_BLOCK  256
#define XDPKV_TAG_BUSY_PKTS 64
#define XDPKV_TAG_BUSY_NS   128000

/* The tagger's state of one CPU (the one element of a per-CPU array). */
struct xdpkv_tag_cpu {
	struct xdpkv_tag_stats stats;
	__u64 id_next;	   /* next id of this CPU's block */
	__u64 id_end;	   /* first id past the block (id_next == id_end: none left) */
	__u64 seq_packets; /* busy: this CPU's sampling counters */
	__u64 seq_bursts;
	__u64 window_ns; /* when the current XDPKV_TAG_BUSY_PKTS began */
	__u32 window_pkts;
	__u32 busy;
};

/* ---- tracer -------------------------------------------------------------- */

/*
 * The traced points: X(ENUM, name, own) gives enum xdpkv_trace_point and the
 * names user space prints, lists in its help and matches --points against.
 * own = 0: events of that kind are named by their target instead (a function,
 * "xdp:PROG"). The BPF programs stay code (trace.bpf.c, one per tracepoint).
 */
#define XDPKV_TRACE_POINTS(X)                                    \
	X(NETIF_RECEIVE_SKB, "netif_receive_skb", 1)             \
	X(NAPI_GRO_RECEIVE_ENTRY, "napi_gro_receive_entry", 1)   \
	X(NET_DEV_QUEUE, "net_dev_queue", 1)                     \
	X(NET_DEV_START_XMIT, "net_dev_start_xmit", 1)           \
	X(NET_DEV_XMIT, "net_dev_xmit", 1)                       \
	X(SKB_COPY_DATAGRAM_IOVEC, "skb_copy_datagram_iovec", 1) \
	X(KFREE_SKB, "kfree_skb", 1)                             \
	X(CONSUME_SKB, "consume_skb", 1)                         \
	/* cgroup/skb ingress: an skb a socket receives */       \
	X(SOCK_INGRESS, "cgroup_skb/ingress", 1)                 \
	/* a kernel function (fentry): func_id names it */       \
	X(FENTRY, "fentry", 0)                                   \
	/* fentry on an XDP or TC program: func_id names it */   \
	X(PROG_ENTRY, "prog_entry", 0)                           \
	/* fexit on it: reason is the program's return value */  \
	X(PROG_EXIT, "prog_exit", 0)

/*
 * The kernel functions traced with fentry where the kernel allows it (first
 * argument a struct sk_buff *): their index is the event's func_id; user
 * space appends its --fentry functions after them.
 */
#define XDPKV_TRACE_FENTRY_FUNCS(X) X(ip_rcv) X(ip_local_deliver) X(udp_rcv) X(tcp_v4_rcv)

#define XDPKV_TRACE_ENUM_(e, name, own) XDPKV_TP_##e,
enum xdpkv_trace_point {
	XDPKV_TRACE_POINTS(XDPKV_TRACE_ENUM_) /* XDPKV_TP_NETIF_RECEIVE_SKB, ... */
	XDPKV_TP_NPOINTS,
};
#undef XDPKV_TRACE_ENUM_

#define XDPKV_TRACE_FENTRY_ENUM_(fn) XDPKV_TF_##fn,
enum xdpkv_trace_fentry_func {
	XDPKV_TRACE_FENTRY_FUNCS(XDPKV_TRACE_FENTRY_ENUM_) /* XDPKV_TF_ip_rcv, ... */
	XDPKV_TF_NFUNCS,
};
#undef XDPKV_TRACE_FENTRY_ENUM_

/* Counted, not traced: the xdp tracepoints carry no packet. X(ENUM, name). */
#define XDPKV_XDP_POINTS(X)                         \
	X(EXCEPTION, "xdp_exception")               \
	X(REDIRECT, "xdp_redirect")                 \
	X(REDIRECT_ERR, "xdp_redirect_err")         \
	X(REDIRECT_MAP, "xdp_redirect_map")         \
	X(REDIRECT_MAP_ERR, "xdp_redirect_map_err") \
	X(DEVMAP_XMIT, "xdp_devmap_xmit")

#define XDPKV_XDP_ENUM_(e, name) XDPKV_XP_##e,
enum xdpkv_xdp_point {
	XDPKV_XDP_POINTS(XDPKV_XDP_ENUM_) /* XDPKV_XP_EXCEPTION, ... */
	XDPKV_XP_NPOINTS,
};
#undef XDPKV_XDP_ENUM_

/*
 * What the tracer traces, set by the loader (one read-only global of
 * trace.bpf.c): a zero netns or ifindex tests nothing.
 */
struct xdpkv_trace_filter {
	__u64 value_lo, value_hi; /* ids traced (--value / --range) */
	__u32 key_id;		  /* the key holding the id */
	__u32 netns;		  /* netns inode (--netns) */
	__u32 ifindex;		  /* device, or the skb's input device (--iface) */
	__u32 follow;		  /* --follow: an skb's id by address, for the same packet */
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
	__u8 pad;
	__u16 segs; /* skb: gso_segs (a GRO train: the segments merged); XDP: 0 */
	char ifname[XDPKV_TRACE_IFNAMSIZ];
	__u8 meta[XDPKV_TRACE_META_MAX];
	__u8 data[XDPKV_TRACE_SNAPLEN]; /* the frame; tuple parsed by user space */
};

#endif /* XDPKV_TRACE_H */
