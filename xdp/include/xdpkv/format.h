/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * xdpkv store format: the one source of truth for constants and layout
 * arithmetic, included by BPF programs, the kernel module and user space.
 * docs/FORMAT.md is the normative description; this file implements it.
 *
 * Layout (M = data - data_meta bytes of metadata):
 *   [data - 16, data)  header: __le64 hi, then __le64 lo
 *   key k owns bit k of hi and lo: (hi,lo) = 00 absent, 01 2 B, 10 4 B, 11 8 B
 *   values below the header, smallest key nearest to it:
 *   key k at [H - P(k) - len(k), H - P(k)), H = data - 16,
 *   P(k) = sum of len of present keys < k
 *   store extent align4(S), S = 16 + sum of all len, ending at data,
 *   0 or 2 bytes of zero padding at its low end; bytes below it are foreign.
 */
#ifndef XDPKV_FORMAT_H
#define XDPKV_FORMAT_H

#if defined(__KERNEL__)
#include <linux/types.h>
#include <linux/errno.h>
#elif defined(__bpf__)
#ifndef __VMLINUX_H__
#include <linux/types.h>
#endif
/* BPF programs have no errno.h; Linux values, identical on every arch we run. */
#ifndef ENOENT
#define ENOENT 2
#endif
#ifndef EEXIST
#define EEXIST 17
#endif
#ifndef EINVAL
#define EINVAL 22
#endif
#ifndef ENOSPC
#define ENOSPC 28
#endif
#ifndef EBADMSG
#define EBADMSG 74
#endif
#ifndef EOPNOTSUPP
#define EOPNOTSUPP 95
#endif
#else
#include <linux/types.h>
#include <errno.h>
/*
 * User space: the compiler's popcount (the module uses hweight64). On plain
 * x86-64 that is a libgcc call; the codec compiles its hot paths a second
 * time for the popcnt instruction and picks one at run time (codec.cpp).
 */
#ifndef XDPKV_POPCOUNT64
#define XDPKV_POPCOUNT64(v) ((__u64)__builtin_popcountll(v))
#endif
#endif

#ifndef __always_inline
#define __always_inline inline __attribute__((always_inline))
#endif

#define XDPKV_FORMAT_VERSION	1
#define XDPKV_NKEYS		64
#define XDPKV_MAX_KEY		63
#define XDPKV_HDR_SIZE		16
#define XDPKV_MAX_VAL		8
/*
 * Reserved key ids 59-63 (docs/FORMAT.md "Reserved keys"): the host's origin
 * mark (59), the NIC hints of the inline backend (60-62, layout in hints.h)
 * and the kernel module's hint mark (63). The registry never hands them out;
 * ids 0..58 are assignable.
 */
#define XDPKV_KEY_ORIGIN	59
#define XDPKV_ORIGIN_SIZE	4
#define XDPKV_KEY_HINT_INFO	60
#define XDPKV_KEY_HINT_VLAN	61
#define XDPKV_KEY_HINT_TS	62
#define XDPKV_KEY_HINT_MARK	63
#define XDPKV_KEY_HINT_FIRST	XDPKV_KEY_HINT_INFO
#define XDPKV_KEY_HINT_LAST	XDPKV_KEY_HINT_MARK
#define XDPKV_RESERVED_FIRST	XDPKV_KEY_ORIGIN
#define XDPKV_RESERVED_MASK	(~0ULL << XDPKV_RESERVED_FIRST)
#define XDPKV_ASSIGNABLE	XDPKV_RESERVED_FIRST /* ids 0..58 */
/* Largest store: header plus 64 eight-byte values. */
#define XDPKV_MAX_STORE		(XDPKV_HDR_SIZE + XDPKV_NKEYS * XDPKV_MAX_VAL)
/*
 * Largest metadata area the kernel can hand a program: skb_shared_info's
 * meta_len is a u8 and the area is 4-byte aligned (Linux >= 6.8; older
 * kernels cap BPF-written metadata at XDPKV_META_MAX_OLD).
 */
#define XDPKV_META_MAX		252
#define XDPKV_META_MAX_OLD	32
/* 256 B XDP headroom minus struct xdp_frame (40 B). */
#define XDPKV_META_MAX_HEADROOM 216

/* set flags */
#define XDPKV_F_NOEXIST (1ULL << 0) /* -EEXIST if present */
#define XDPKV_F_EXIST	(1ULL << 1) /* -ENOENT if absent */
#define XDPKV_F_MASK	(XDPKV_F_NOEXIST | XDPKV_F_EXIST)

/*
 * Size code (hi bit, lo bit) -> value length: 0 absent, 1 -> 2, 2 -> 4, 3 -> 8.
 * Without a branch: a BPF verifier then follows one path per key, not four.
 */
static __always_inline __u32 xdpkv_code_len(__u32 code)
{
	return (1u << code) & ~1u;
}

/* Value length -> size code; 0 for a length the format cannot store. */
static __always_inline __u32 xdpkv_len_code(__u64 len)
{
	return len == 2 ? 1 : len == 4 ? 2 : len == 8 ? 3 : 0;
}

/* The one rule for a value's size, for every checker: 2, 4 or 8 bytes. */
#define XDPKV_VALUE_SIZES "2, 4 or 8"
static __always_inline int xdpkv_value_size_ok(__u64 len)
{
	return xdpkv_len_code(len) != 0;
}

/* Length of key k's value (0 if absent). k must be <= 63. */
static __always_inline __u32 xdpkv_key_len(__u64 hi, __u64 lo, __u32 k)
{
	return xdpkv_code_len((__u32)(((hi >> k) & 1) << 1 | ((lo >> k) & 1)));
}

/* SWAR population count (BPF has no popcount instruction). */
static __always_inline __u64 xdpkv_swar_popcount(__u64 v)
{
	v = v - ((v >> 1) & 0x5555555555555555ULL);
	v = (v & 0x3333333333333333ULL) + ((v >> 2) & 0x3333333333333333ULL);
	v = (v + (v >> 4)) & 0x0f0f0f0f0f0f0f0fULL;
	return (v * 0x0101010101010101ULL) >> 56;
}

/* Each nibble of the result: the number of set bits in that nibble of v (0..4). */
static __always_inline __u64 xdpkv_nibble_counts(__u64 v)
{
	v -= (v >> 1) & 0x5555555555555555ULL;
	return (v & 0x3333333333333333ULL) + ((v >> 2) & 0x3333333333333333ULL);
}

/*
 * Value units (2 bytes each) per header byte, in one SWAR pass over the three
 * words a size is made of (lo counts 1, hi 2, hi & lo 1: 01 -> 1, 10 -> 2,
 * 11 -> 4): byte i of the result holds the units of keys 8i..8i+7 (0..32).
 * Multiplied by XDPKV_RUNNING_SUM, byte i holds the units of keys 0..8i+7:
 * exact for bytes 0..6 (<= 224), the top byte (the whole store) modulo 256,
 * which only wraps when all 64 keys hold 8 bytes (hi & lo == ~0).
 */
static __always_inline __u64 xdpkv_byte_units(__u64 hi, __u64 lo)
{
	__u64 a = xdpkv_nibble_counts(lo) + xdpkv_nibble_counts(hi & lo); /* <= 8 */
	__u64 b = xdpkv_nibble_counts(hi);				  /* <= 4 */

	a = (a & 0x0f0f0f0f0f0f0f0fULL) + ((a >> 4) & 0x0f0f0f0f0f0f0f0fULL);
	b = (b + (b >> 4)) & 0x0f0f0f0f0f0f0f0fULL;
	return a + 2 * b;
}

#define XDPKV_RUNNING_SUM 0x0101010101010101ULL

/*
 * Bytes of the values whose keys are set in @mask: 01 counts 2, 10 counts 4,
 * 11 counts 8, i.e. 2*|lo| + 4*|hi| + 2*|hi&lo|. With a hardware popcount
 * (XDPKV_POPCOUNT64: the module and user space), three
 * popcounts; without (BPF), one weighted SWAR pass and one multiply.
 */
static __always_inline __u32 xdpkv_bytes_in(__u64 hi, __u64 lo, __u64 mask)
{
	hi &= mask;
	lo &= mask;
#ifdef XDPKV_POPCOUNT64
	return (__u32)(2 * XDPKV_POPCOUNT64(lo) + 4 * XDPKV_POPCOUNT64(hi) +
		       2 * XDPKV_POPCOUNT64(hi & lo));
#else
	return 2 * (__u32)((xdpkv_byte_units(hi, lo) * XDPKV_RUNNING_SUM) >> 56) +
	       ((hi & lo) == ~0ULL ? 512 : 0);
#endif
}

/* P(k): bytes of the present keys below k (k <= 63). */
static __always_inline __u32 xdpkv_prefix(__u64 hi, __u64 lo, __u32 k)
{
	return xdpkv_bytes_in(hi, lo, (1ULL << k) - 1);
}

/* S: header plus all values. */
static __always_inline __u32 xdpkv_store_size(__u64 hi, __u64 lo)
{
	return XDPKV_HDR_SIZE + xdpkv_bytes_in(hi, lo, ~0ULL);
}

static __always_inline __u32 xdpkv_align4(__u32 n)
{
	return (n + 3) & ~3u;
}

/* Header bits for key k with a value of @len bytes (len 0: absent). */
static __always_inline void xdpkv_hdr_put(__u64 *hi, __u64 *lo, __u32 k, __u32 len)
{
	__u64 bit = 1ULL << k;
	__u32 code = xdpkv_len_code(len);

	*hi = (*hi & ~bit) | ((__u64)(code >> 1) << k);
	*lo = (*lo & ~bit) | ((__u64)(code & 1) << k);
}

/*
 * A store layout known in advance (the header a producer writes), for the
 * fast path: a store whose header equals (hi, lo) and whose area holds
 * `extent` bytes has key k's value start end[k] = 16 + P(k) + len(k) bytes
 * below data, found without popcounts (for an absent key, where an insert
 * would put it).
 */
struct xdpkv_layout {
	__u64 hi;
	__u64 lo;
	__u32 extent;
	__u8 end[XDPKV_NKEYS];
	__u8 len[XDPKV_NKEYS]; /* len(k): a table load, not a pass over the header */
};

static __always_inline void xdpkv_layout_fill(struct xdpkv_layout *l, __u64 hi, __u64 lo)
{
	__u32 k;

	l->hi = hi;
	l->lo = lo;
	l->extent = xdpkv_align4(xdpkv_store_size(hi, lo));
	for (k = 0; k < XDPKV_NKEYS; k++) {
		__u32 end = XDPKV_HDR_SIZE + xdpkv_prefix(hi, lo, k) + xdpkv_key_len(hi, lo, k);

		/* Larger than any area: never the fast path (extent > 252). */
		l->end[k] = end > 255 ? 255 : (__u8)end;
		l->len[k] = (__u8)xdpkv_key_len(hi, lo, k);
	}
}

/*
 * One key of xdpkv_set_many / xdpkv_get_many (both backends; the module's
 * bpf_xdpkv_set_many takes an array of them). The value travels in val, in
 * its low len bytes (little-endian, as the store keeps it): no pointer, so
 * an array of them is plain stack memory the verifier tracks slot by slot.
 */
struct xdpkv_kv {
	__u64 key;
	__u64 val; /* set: the value; get: the value, zero-extended (absent: untouched) */
	__u32 len; /* set: 2, 4 or 8; get: set to the value's length, 0 if absent */
	__u32 pad;
};

/* Keys per multi-key call: n is a constant, so the calls are straight code. */
#define XDPKV_MANY_MAX 8

/* Argument checks shared by every backend's set; 0 or -EINVAL. */
static __always_inline int xdpkv_check_set_args(__u64 key, __u64 len, __u64 flags)
{
	if (key > XDPKV_MAX_KEY || !xdpkv_len_code(len) || (flags & ~XDPKV_F_MASK) ||
	    (flags & XDPKV_F_MASK) == XDPKV_F_MASK)
		return -EINVAL;
	return 0;
}

/* Presence checks of set; 0, -ENOENT or -EEXIST. */
static __always_inline int xdpkv_check_set_presence(__u32 cur_len, __u64 flags)
{
	if ((flags & XDPKV_F_EXIST) && !cur_len)
		return -ENOENT;
	if ((flags & XDPKV_F_NOEXIST) && cur_len)
		return -EEXIST;
	return 0;
}

#endif /* XDPKV_FORMAT_H */
