/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* Shared by the hint test programs and the tests in tests/hints. */
#ifndef XDPKV_HINTS_TEST_H
#define XDPKV_HINTS_TEST_H

#include <xdpkv/hints.h>

/* hints_run.bpf.c: one BPF_PROG_TEST_RUN = one operation. */
enum hr_op {
	HR_CAPTURE = 0, /* capture (software) + store + read back */
	HR_READ = 1,	/* read back only */
	HR_STORE = 2,	/* store `input` + read back */
};

struct hr_result {
	__s32 capture_n;
	__s32 store_rc;
	struct xdpkv_hints captured;
	__s32 hash_rc;
	__u32 hash;
	__u32 hash_type;
	__u32 hash_flags;
	__s32 vlan_rc;
	__u16 vlan_proto;
	__u16 vlan_tci;
	__s32 ts_rc;
	__u32 pad;
	__u64 ts;
	__s32 load_rc;
	__s32 buf_rc; /* xdpkv_hint_hash_buf on a copy of the area */
	struct xdpkv_hints loaded;
	__u32 buf_hash;
	__u32 meta_len;
};

#endif
