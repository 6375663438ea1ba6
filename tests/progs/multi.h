/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* One multi-key operation carried in a test packet (tests/progs/multi.bpf.c). */
#ifndef XDPKV_TEST_MULTI_H
#define XDPKV_TEST_MULTI_H

#include <xdpkv/format.h>

enum xdpkv_test_multi_kind {
	XDPKV_OP_SET_MANY = 0,
	XDPKV_OP_GET_MANY = 1,
};

struct xdpkv_test_multi {
	__u32 kind; /* enum xdpkv_test_multi_kind */
	__u32 n;    /* 1..8 */
	__u64 flags;
	struct xdpkv_kv kv[XDPKV_MANY_MAX]; /* get: written back */
	__s64 ret;			    /* written by the program */
};

#endif
