/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Shared between drivers/capture.bpf.c, drivers/restore.bpf.c and their
 * loader (drivers/src/hints.cpp): configuration values, statistics and the
 * optional per-packet capture event.
 */
#ifndef XDPKV_CAPTURE_H
#define XDPKV_CAPTURE_H

#include <xdpkv/hints.h>

/* What the capture program does after capturing (rodata `action`). */
#define XDPKV_CAPTURE_PASS   0 /* XDP_PASS */
#define XDPKV_CAPTURE_DEVMAP 1 /* bpf_redirect_map(xdpkv_capture_tx, redirect_key) */
#define XDPKV_CAPTURE_CPUMAP 2 /* bpf_redirect_map(xdpkv_capture_cpus, redirect_key) */

/* Capture mode (writable at run time: .bss `mode`). */
#define XDPKV_CAPTURE_OFF	0 /* store nothing */
#define XDPKV_CAPTURE_ON	1 /* every packet */
#define XDPKV_CAPTURE_ALTERNATE 2 /* packets with an even sequence number only (tests) */

/* rodata `key_seq`: no sequence key. */
#define XDPKV_CAPTURE_NO_KEY 0xffffffffu

/* Per-hint arrays are indexed by XDPKV_HI_* (hints.h). */
struct xdpkv_capture_stats {
	__u64 packets;		   /* seen by the program */
	__u64 captured;		   /* packets whose hints were stored (>= 1 hint) */
	__u64 skipped;		   /* mode off (or alternate, odd sequence) */
	__u64 hw[XDPKV_HI_N];	   /* hint from the driver */
	__u64 sw[XDPKV_HI_N];	   /* hint from software */
	__u64 none[XDPKV_HI_N];	   /* wanted, neither had it */
	__u64 store_err;	   /* xdpkv_hints_store failed (first error in last_store_err) */
	__u64 seq_err;		   /* setting the sequence key failed */
	__s32 last_rc[XDPKV_HI_N]; /* driver kfunc results for the last packet */
	__s32 last_store_err;
};

/* Bytes of the frame an event carries: Ethernet, two VLAN tags, IPv6, ports. */
#define XDPKV_CAPTURE_FRAME 96

/* One captured packet (rodata `emit_events`), through the events ring buffer. */
struct xdpkv_capture_event {
	__u64 seq;
	__u32 ifindex;
	__u32 rx_queue;
	__s32 rc[XDPKV_HI_N];	  /* driver kfunc results (XDPKV_HINT_RC_NOT_TRIED: not called) */
	__s32 store_rc;		  /* xdpkv_hints_store result; 1: capture off for this packet */
	struct xdpkv_hints hints; /* what was captured (flags 0: nothing) */
	__u32 frame_len;	  /* the frame's length at XDP (its linear part) */
	__u16 copied;		  /* bytes of it in frame[] */
	__s16 meta_len;		  /* metadata the driver left (data - data_meta) before capture */
	__u8 frame[XDPKV_CAPTURE_FRAME]; /* for an independent check (`xdpkv hints verify`) */
};

/*
 * `xdpkv hints verify`: the key under which the capture numbers packets for
 * the redirect passes (the tool owns the device while it runs), and what a
 * consumer behind a redirect read (drivers/verify.bpf.c).
 */
#define XDPKV_VERIFY_KEY_SEQ   58
#define XDPKV_VERIFY_SEQ_SIZE  4 /* with the mark and key 60: 32 bytes, the cap of Linux < 6.8 */
#define XDPKV_VERIFY_AT_DEVMAP 1 /* XDP on the veth behind the devmap */
#define XDPKV_VERIFY_AT_TC     2 /* TC ingress after cpumap and xdpkv_restore */

struct xdpkv_verify_event {
	__u64 seq;		  /* the capture's sequence number (XDPKV_VERIFY_KEY_SEQ) */
	__u32 at;		  /* XDPKV_VERIFY_AT_* */
	__s32 load_rc;		  /* xdpkv_hints_load(_skb): 0, -ENODATA, -EBADMSG */
	__s32 seq_rc;		  /* reading the sequence number: its size or -errno */
	__u32 skb_hash;		  /* TC: skb->hash after xdpkv_restore */
	struct xdpkv_hints hints; /* read back from the store */
};

/* Why the restore program refused a hint record (docs/DRIVERS.md "Trust"). */
enum xdpkv_refuse {
	XDPKV_REFUSE_SIZE = 0, /* key 60, 61 or 62 of the wrong size, or missing */
	XDPKV_REFUSE_FLAGS,    /* unknown flag bits, no hint present, or a stray software bit */
	XDPKV_REFUSE_HASH,     /* bad hash type bits, or hash bits set without the hash flag */
	XDPKV_REFUSE_VLAN,     /* protocol not 802.1Q/802.1ad, or the reserved VID 4095 */
	XDPKV_REFUSE_N
};

struct xdpkv_restore_stats {
	__u64 skbs;	     /* seen by the TC program */
	__u64 with_hints;    /* carrying a store with hints */
	__u64 hash_set;	     /* bpf_set_hash called */
	__u64 vlan_pushed;   /* bpf_skb_vlan_push called */
	__u64 vlan_kept;     /* already had a VLAN tag: left alone */
	__u64 errors;	     /* a read or push failed (-EBADMSG, ...) */
	__u64 cpumap_frames; /* seen by the cpumap entry program */
	__u64 cpumap_with_hints;
	/* Key 60 present but not a well-formed hint record: skb left alone. */
	__u64 refused;
	__u64 refused_why[XDPKV_REFUSE_N]; /* by reason, enum xdpkv_refuse */
	/* Key 60 in a store without the host's origin mark: skb left alone. */
	__u64 foreign;
};

#endif
