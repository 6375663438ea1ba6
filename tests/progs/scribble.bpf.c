// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * For the live-frames generator's test: rewrites a payload byte of every
 * frame in place and drops it, so that its page goes back to the test run's
 * page pool rewritten. A frame that arrives already rewritten was built on
 * such a page and not restored.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

/* Ethernet, IPv4, UDP, then the 8-byte sequence number: payload byte 8. */
#define SCRIBBLE_AT (14 + 20 + 8 + 8)
#define TEST_PORT   7777 /* the test's frames; the kernel's own (IPv6 ND) pass */
#define SCRIBBLE    0xee

__u64 frames, arrived_rewritten;

SEC("xdp")
int scribble_drop(struct xdp_md *ctx)
{
	__u8 *data = (void *)(long)ctx->data, *end = (void *)(long)ctx->data_end;

	if (data + SCRIBBLE_AT + 1 > end || data[12] != 0x08 || data[13] != 0x00 ||
	    data[23] != 17 || data[36] != TEST_PORT >> 8 || data[37] != (TEST_PORT & 0xff))
		return XDP_PASS;
	__sync_fetch_and_add(&frames, 1);
	if (data[SCRIBBLE_AT] == SCRIBBLE)
		__sync_fetch_and_add(&arrived_rewritten, 1);
	data[SCRIBBLE_AT] = SCRIBBLE;
	return XDP_DROP;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
