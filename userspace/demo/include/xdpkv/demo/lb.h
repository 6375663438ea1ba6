/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* Shared between lb.bpf.c and its loaders (demo, tests). */
#ifndef XDPKV_LB_H
#define XDPKV_LB_H

#include <xdpkv/format.h>

#define LB_MAX_BACKENDS 16
#define LB_REC_STORE	64 /* store bytes recorded per observation */

/* A backend: where encapsulated packets go. */
struct lb_backend {
	__u32 ifindex;	 /* egress device (devmap key == backend index) */
	__u32 ip;	 /* outer destination, network order */
	__u32 src_ip;	 /* outer source, network order */
	__u8 mac[6];	 /* next-hop MAC */
	__u8 src_mac[6]; /* egress MAC */
};

/* What lb_backend writes below the store when asked to (grow_foreign). */
#define LB_FOREIGN_MAGIC 0x6e677266 /* "frgn" */

/* Who observed a packet. */
enum lb_consumer {
	LB_AT_INGRESS = 0, /* the tagging program itself, after encap */
	LB_AT_DEVMAP = 1,  /* devmap entry program on the way out */
	LB_AT_CPUMAP = 2,  /* cpumap entry program */
	LB_AT_BACKEND = 3, /* XDP on the backend's interface (redirect target) */
	LB_AT_TC = 4,	   /* TC ingress on the backend's skb */
	LB_AT_XSK = 5,	   /* AF_XDP in user space (recorded by user space) */
	LB_NCONSUMERS
};

/* Counters in the program's `stats` array (.bss), read by the loader. */
enum lb_stat {
	LB_ST_TAGGED = 0, /* lb_ingress tagged and encapsulated */
	LB_ST_NOT_VIP,	  /* lb_ingress: not for the VIP, passed */
	LB_ST_TAG_ERR,	  /* lb_ingress: a set failed, passed untagged */
	LB_ST_ENCAP_ERR,
	LB_ST_REC_LOST, /* unused: see struct lb_rec_stats (per CPU) */
	LB_ST_DECAP,
	LB_ST_TO_XSK,	    /* lb_backend: redirected to an AF_XDP socket */
	LB_ST_XSK_MISS,	    /* lb_backend: no socket on the frame's queue */
	LB_ST_XSK_NO_STORE, /* lb_backend: no store possible, not sent to AF_XDP */
	LB_ST_N
};

/*
 * Ring-buffer accounting, one per CPU (map rec_stats): every record a
 * consumer tried to send is either submitted or lost (ring buffer full).
 */
struct lb_rec_stats {
	__u64 submitted;
	__u64 lost;
};

/* One observation, sent through the ring buffer. */
struct lb_rec {
	__u64 packet_id;
	__u32 consumer;	 /* enum lb_consumer */
	__s32 err;	 /* 0, or the error reading the store */
	__u32 meta_len;	 /* M at this consumer */
	__u32 store_len; /* bytes of store copied (extent, <= LB_REC_STORE) */
	__u32 flow_hash;
	__u32 backend;
	__u8 store[LB_REC_STORE]; /* the store's extent, ending at data */
};

#endif
