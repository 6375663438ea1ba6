/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* The request reg_op reads from the start of the packet (and answers in). */
#ifndef XDPKV_REG_TEST_H
#define XDPKV_REG_TEST_H

struct reg_test_op {
	__u64 key;
	__u64 val;
	__u32 len;
	__s32 ret;
};

#endif
