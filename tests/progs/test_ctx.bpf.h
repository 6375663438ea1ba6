/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
#ifndef XDPKV_TEST_CTX_BPF_H
#define XDPKV_TEST_CTX_BPF_H

/*
 * ctx->field as a separate, opaque load: clang otherwise may keep ctx + 4
 * from one load for the next, and the verifier refuses a modified ctx
 * pointer ("dereference of modified ctx ptr").
 */
#define TEST_CTX(ctx, field)                            \
	({                                              \
		void *__p = (void *)(long)(ctx)->field; \
		asm volatile("" : "+r"(__p));           \
		__p;                                    \
	})

#endif
