/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* One store operation carried in a test packet (tests/progs/ops.bpf.c). */
#ifndef XDPKV_TEST_OPS_H
#define XDPKV_TEST_OPS_H

#include <xdpkv/format.h>

enum xdpkv_test_kind {
	XDPKV_OP_GET = 0,
	XDPKV_OP_SET = 1,
	XDPKV_OP_DEL = 2,
	XDPKV_OP_HAS = 3,
};

#define XDPKV_TEST_BUF 16

struct xdpkv_test_op {
	__u32 kind; /* enum xdpkv_test_kind */
	__u32 len;  /* set: value length; get: buffer length (<= 16) */
	__u64 key;
	__u64 flags;
	__u8 val[XDPKV_TEST_BUF]; /* set: the value; get: the buffer, returned */
	__s64 ret;		  /* written by the program */
};

#endif
