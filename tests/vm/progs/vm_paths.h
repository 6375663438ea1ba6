/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* Shared between vm_paths.bpf.c and the guest test (its skeleton's .bss). */
#ifndef XDPKV_VM_PATHS_H
#define XDPKV_VM_PATHS_H

enum { ST_TX, ST_CPUMAP, ST_DEVMAP, ST_PEER, ST_TC, ST_STALE, ST_LIVE, ST_N };

struct stage_stats {
	__u64 seen;
	__u64 ok;
	__u64 bad;
	__s64 first_bad; /* reason of the first failure: -errno or a check number */
	__u64 max_m;	 /* largest metadata length seen */
};

#endif
