/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Toeplitz RSS hash in software: the hash a NIC computes for Receive Side
 * Scaling, for the packets whose driver gives no RX hash. One copy for BPF
 * (xdpkv_hints.bpf.h, bounded loops, no tables, no helpers) and for C/C++
 * (tests against the published verification vectors, tools).
 *
 * Input (Microsoft "RSS hashing functions", the NIC datasheets): the fields
 * in packet order and network byte order:
 *   IPv4 with ports  src addr, dst addr, src port, dst port   12 bytes
 *   IPv4             src addr, dst addr                        8 bytes
 *   IPv6 with ports  src addr, dst addr, src port, dst port   36 bytes
 *   IPv6             src addr, dst addr                       32 bytes
 * The hash: for every input bit b, from the most significant bit of
 * input[0] on, if b is 1 the result is XORed with the 32 key bits that start
 * at b's position; the key must be 4 bytes longer than the input (40 bytes
 * cover 36).
 */
#ifndef XDPKV_TOEPLITZ_H
#define XDPKV_TOEPLITZ_H

/* The types and __always_inline, as every side of xdpkv has them. */
#include <xdpkv/format.h>

#define XDPKV_RSS_KEY_SIZE	 40
#define XDPKV_TOEPLITZ_MAX_INPUT 36 /* IPv6 with ports */
#define XDPKV_TOEPLITZ_V4_L3	 8
#define XDPKV_TOEPLITZ_V4_L4	 12
#define XDPKV_TOEPLITZ_V6_L3	 32
#define XDPKV_TOEPLITZ_V6_L4	 36

/*
 * The standard 40-byte key: Microsoft's verification key, the default of
 * many drivers (ixgbe, i40e, mlx, DPDK's rss_intel_key) and of
 * `ethtool -X hkey` examples.
 */
#define XDPKV_RSS_KEY_DEFAULT_INIT                                                              \
	{                                                                                       \
		0x6d, 0x5a, 0x56, 0xda, 0x25, 0x5b, 0x0e, 0xc2, 0x41, 0x67, 0x25, 0x3d, 0x43,   \
			0xa3, 0x8f, 0xb0, 0xd0, 0xca, 0x2b, 0xcb, 0xae, 0x7b, 0x30, 0xb4, 0x77, \
			0xcb, 0x2d, 0xa3, 0x80, 0x30, 0xf2, 0x0c, 0x6a, 0x42, 0xb7, 0x3b, 0xbe, \
			0xac, 0x01, 0xfa                                                        \
	}

/*
 * Toeplitz hash of in[0 .. len) (len <= XDPKV_TOEPLITZ_MAX_INPUT, larger
 * is truncated) under a XDPKV_RSS_KEY_SIZE-byte key.
 *
 * A 40-bit window holds key bits [8i, 8i + 40) while byte i is consumed, so
 * bit j of that byte (MSB first) selects window bits [8i + j, 8i + j + 32):
 * (win >> (8 - j)). Branch-free per bit (a multiply by the bit, not a mask
 * -(bit) & window: Linux 6.18's verifier forks its state on an AND with a
 * 0/-1 value, 256 states per byte); one bounded loop over the bytes;
 * key and input are read with constant bounds, so the verifier accepts it
 * for a key in .rodata and an input on the stack.
 */
static __always_inline __u32 xdpkv_toeplitz(const __u8 *key, const __u8 *in, __u32 len)
{
	__u64 win = (__u64)key[0] << 32 | (__u64)key[1] << 24 | (__u64)key[2] << 16 |
		    (__u64)key[3] << 8 | (__u64)key[4];
	__u32 hash = 0;
	__u32 i;

	for (i = 0; i < XDPKV_TOEPLITZ_MAX_INPUT; i++) {
		__u32 b;
		int j;

		if (i >= len)
			break;
		b = in[i];
#if defined(__clang__)
#pragma unroll
#endif
		for (j = 0; j < 8; j++)
			hash ^= (__u32)(win >> (8 - j)) * ((b >> (7 - j)) & 1);
		win = (win << 8) & 0xffffffffffull;
		if (i + 5 < XDPKV_RSS_KEY_SIZE)
			win |= key[i + 5];
	}
	return hash;
}

#endif /* XDPKV_TOEPLITZ_H */
