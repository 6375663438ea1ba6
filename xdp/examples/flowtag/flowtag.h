/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * flowtag: what flowtag.bpf.c and flowtag.cpp share. Include after vmlinux.h
 * (BPF) or <linux/types.h> (user space).
 */
#ifndef FLOWTAG_H
#define FLOWTAG_H

/* The key, by name in the registry: the same as `xdpkv demo`'s FLOW_HASH. */
#define FLOWTAG_KEY_NAME  "flow_hash"
#define FLOWTAG_KEY_SIZE  4
/* Distinct flows the TC program keeps a count for (LRU). */
#define FLOWTAG_MAX_FLOWS 1024

struct flowtag_counters {
	__u64 xdp_tagged;  /* XDP stored the flow hash */
	__u64 xdp_failed;  /* XDP could not (no headroom, foreign metadata) */
	__u64 tc_seen;	   /* TC found the key */
	__u64 tc_untagged; /* TC found no key: the packet did not come through XDP */
	__u64 tc_mismatch; /* TC found a hash that is not the packet's */
};

#endif /* FLOWTAG_H */
