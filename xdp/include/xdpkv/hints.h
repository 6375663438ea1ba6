/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * xdpkv packet hints: RX hash, VLAN tag and timestamp of a packet, and
 * where each came from. One struct for every producer and consumer: the
 * kernel module's hint block (kfuncs bpf_xdpkv_hints_store/load, see
 * docs/KFUNCS.md), BPF programs, software capture, user space.
 *
 * The kernel module keeps a copy of this struct, 32 bytes, in the XDP
 * headroom just after struct xdp_frame, where it travels with the frame
 * through XDP_REDIRECT. The copy is trusted only while the packet's own
 * metadata carries the module's mark (reserved store key XDPKV_KEY_HINT_MARK,
 * format.h), so a recycled buffer never yields the hints of the packet that
 * used it before. The mark is the same on every packet: GRO still merges.
 */
#ifndef XDPKV_HINTS_H
#define XDPKV_HINTS_H

#include <xdpkv/format.h>

#if defined(__bpf__) && !defined(ENODATA)
#define ENODATA 61 /* hints_load: this packet stored no hints */
#endif

/*
 * The hint kinds: one row each, and every enumeration, mask and table of
 * them (BPF, the module, C++) is generated from this list. A row's position
 * is its flag bit, a wire format (key 60's flags, docs/FORMAT.md): append
 * only. Columns:
 *
 *   NAME   XDPKV_HI_<NAME> (its index), XDPKV_HINT_<NAME> (present) and
 *          XDPKV_HINT_<NAME>_SW (software computed it, else the NIC did)
 *   name   printable and JSON name; its field in struct xdpkv_hints_rc; the
 *          kind's xdpkv_hint_<name>_value/_set (below) and <name>_text/_json
 *          (drivers/src/hints.cpp) that the loops over the kinds call
 *   key    the reserved key (format.h) holding its value, and that value's
 *   size   size; the hash lives in key 60 itself (xdpkv_hint_info_pack)
 *   kfunc  the device-bound driver kfunc is bpf_xdp_metadata_<kfunc>, and
 *          `xdpkv features` names its capability <kfunc>
 *   nl     its NETDEV_XDP_RX_METADATA_* bit (netdev netlink family)
 *   sw     where the software capture takes it from (`xdpkv hints probe`),
 *   sws    and the same, short
 *   since  the upstream Linux version that has its kfunc, and what xdpkv
 *   without does where the kernel lacks it (`xdpkv features`)
 *
 * What a hint's value is (struct xdpkv_hints below) and how it is captured,
 * packed and read (xdpkv_hints.bpf.h) stays code of its own for each kind;
 * the module's check and user space compare and copy the struct as a whole.
 */
#define XDPKV_HINT_KINDS(X)                                                                       \
	X(HASH, hash, XDPKV_KEY_HINT_INFO, XDPKV_HINT_INFO_SIZE, rx_hash, 2,                      \
	  "Toeplitz (standard key) over addresses and TCP/UDP ports", "software Toeplitz", "6.3", \
	  "the RX hash is computed in software (Toeplitz, standard key)")                         \
	X(VLAN, vlan, XDPKV_KEY_HINT_VLAN, XDPKV_HINT_VLAN_SIZE, rx_vlan_tag, 4,                  \
	  "the frame's 802.1Q/802.1ad tag", "the frame's tag", "6.8",                             \
	  "the VLAN tag is read from the frame's header")                                         \
	X(TIMESTAMP, timestamp, XDPKV_KEY_HINT_TS, XDPKV_HINT_TS_SIZE, rx_timestamp, 1,           \
	  "bpf_ktime_get_ns()", "bpf_ktime_get_ns()", "6.3",                                      \
	  "the timestamp is taken in software (bpf_ktime_get_ns), marked as such")

/* The name of a kind's driver kfunc, from its kfunc column: "bpf_xdp_metadata_rx_hash". */
#define XDPKV_HINT_KFUNC_NAME(kfunc) "bpf_xdp_metadata_" #kfunc

/* Index of a hint in per-hint arrays, and its flag bit number. */
#define XDPKV__HINT_INDEX(NAME, ...) XDPKV_HI_##NAME,
enum xdpkv_hint_index { XDPKV_HINT_KINDS(XDPKV__HINT_INDEX) XDPKV_HI_N };
#undef XDPKV__HINT_INDEX

/* flags: which hints are present, and, for a present one, that software computed it. */
#define XDPKV_HINT_SW_SHIFT 8
#define XDPKV__HINT_FLAGS(NAME, ...)               \
	XDPKV_HINT_##NAME = 1U << XDPKV_HI_##NAME, \
	XDPKV_HINT_##NAME##_SW = 1U << (XDPKV_HI_##NAME + XDPKV_HINT_SW_SHIFT),
enum xdpkv_hint_flag { XDPKV_HINT_KINDS(XDPKV__HINT_FLAGS) };
#undef XDPKV__HINT_FLAGS
#define XDPKV_HINT_PRESENT_MASK ((1U << XDPKV_HI_N) - 1)
#define XDPKV_HINT_SW_MASK	(XDPKV_HINT_PRESENT_MASK << XDPKV_HINT_SW_SHIFT)
#define XDPKV_HINT_MASK		(XDPKV_HINT_PRESENT_MASK | XDPKV_HINT_SW_MASK)

struct xdpkv_hints {
	__u32 mark;	  /* load: the module's validity mark; store ignores it */
	__u32 flags;	  /* XDPKV_HINT_* */
	__u32 hash;	  /* RX hash */
	__u32 hash_type;  /* enum xdp_rss_hash_type bits (Linux >= 6.3 values), 0 if unknown */
	__u16 vlan_proto; /* network byte order: 0x8100 / 0x88a8 as on the wire */
	__u16 vlan_tci;	  /* host byte order: PCP, DEI, VID */
	__u32 check;	  /* kernel-owned: store ignores it, load returns 0 */
	__u64 timestamp;  /* nanoseconds (NIC clock, or the software clock when _SW) */
};

#define XDPKV_HINTS_SIZE 32

/*
 * A driver kfunc's result where it was not called (not wanted, or not in
 * this kernel); else 0, -ENODATA or -EOPNOTSUPP.
 */
#define XDPKV_HINT_RC_NOT_TRIED 1

/*
 * XDPKV_KEY_HINT_MARK (format.h, key 63) says that the packet stored hints in
 * the module's hint block: a 4-byte per-boot mark, the same on every packet.
 * Programs must not set or delete it themselves; deleting or changing it
 * invalidates the packet's hints.
 */

/*
 * Inline backend (xdpkv.bpf.h + xdpkv_hints.bpf.h): the hints live in the
 * packet's own store, under reserved keys that the registry never hands out
 * (ids 60-63, format.h). docs/FORMAT.md "Reserved keys" and
 * docs/DRIVERS.md give the layout:
 *
 *   key 60  XDPKV_KEY_HINT_INFO  8 bytes  hash (u32) | hash_type (u16) << 32
 *                                          | flags (u16: XDPKV_HINT_*) << 48
 *                                          written whenever any hint is stored
 *   key 61  XDPKV_KEY_HINT_VLAN  4 bytes  vlan_proto (u16, network order as on
 *                                          the wire) | vlan_tci (u16) << 16
 *   key 62  XDPKV_KEY_HINT_TS    8 bytes  timestamp (ns)
 *
 * Values are little-endian like every typed value of the store. A packet
 * whose store has no key 60 has no hints (-ENODATA), whatever else it holds.
 */
#define XDPKV_HINT_INFO_SIZE 8
#define XDPKV_HINT_VLAN_SIZE 4
#define XDPKV_HINT_TS_SIZE   8

/*
 * RSS hash types: the kernel's enum xdp_rss_hash_type (include/net/xdp.h,
 * Linux >= 6.3), repeated here for user space and for programs built
 * without vmlinux.h. The software hash reports the same bits.
 */
#define XDPKV_RSS_L3_IPV4   (1U << 0)
#define XDPKV_RSS_L3_IPV6   (1U << 1)
#define XDPKV_RSS_L3_DYNHDR (1U << 2)
#define XDPKV_RSS_L4	    (1U << 3)
#define XDPKV_RSS_L4_TCP    (1U << 4)
#define XDPKV_RSS_L4_UDP    (1U << 5)
#define XDPKV_RSS_L4_SCTP   (1U << 6)
#define XDPKV_RSS_L4_IPSEC  (1U << 7)
#define XDPKV_RSS_L4_ICMP   (1U << 8)

/* Key 60's value from its parts, and back. */
static __always_inline __u64 xdpkv_hint_info_pack(__u32 hash, __u32 hash_type, __u32 flags)
{
	return (__u64)hash | (__u64)(hash_type & 0xffff) << 32 |
	       (__u64)(flags & XDPKV_HINT_MASK & 0xffff) << 48;
}

static __always_inline __u32 xdpkv_hint_info_hash(__u64 info)
{
	return (__u32)info;
}

static __always_inline __u32 xdpkv_hint_info_type(__u64 info)
{
	return (__u32)(info >> 32) & 0xffff;
}

static __always_inline __u32 xdpkv_hint_info_flags(__u64 info)
{
	return (__u32)(info >> 48) & 0xffff;
}

/* Key 61's value: the protocol as the two bytes on the wire, then the TCI. */
static __always_inline __u32 xdpkv_hint_vlan_pack(__u16 proto_be, __u16 tci)
{
	return (__u32)proto_be | (__u32)tci << 16;
}

static __always_inline __u16 xdpkv_hint_vlan_proto(__u32 v)
{
	return (__u16)v;
}

static __always_inline __u16 xdpkv_hint_vlan_tci(__u32 v)
{
	return (__u16)(v >> 16);
}

/*
 * Each kind's value in its reserved key, from struct xdpkv_hints and back:
 * xdpkv_hint_<name>_value and xdpkv_hint_<name>_set, for code that handles
 * the kinds in a loop (the C++ codec). The hash's is key 60's value without
 * the flags.
 */
static __always_inline __u64 xdpkv_hint_hash_value(const struct xdpkv_hints *h)
{
	return xdpkv_hint_info_pack(h->hash, h->hash_type, 0);
}

static __always_inline void xdpkv_hint_hash_set(struct xdpkv_hints *h, __u64 v)
{
	h->hash = xdpkv_hint_info_hash(v);
	h->hash_type = xdpkv_hint_info_type(v);
}

static __always_inline __u64 xdpkv_hint_vlan_value(const struct xdpkv_hints *h)
{
	return xdpkv_hint_vlan_pack(h->vlan_proto, h->vlan_tci);
}

static __always_inline void xdpkv_hint_vlan_set(struct xdpkv_hints *h, __u64 v)
{
	h->vlan_proto = xdpkv_hint_vlan_proto((__u32)v);
	h->vlan_tci = xdpkv_hint_vlan_tci((__u32)v);
}

static __always_inline __u64 xdpkv_hint_timestamp_value(const struct xdpkv_hints *h)
{
	return h->timestamp;
}

static __always_inline void xdpkv_hint_timestamp_set(struct xdpkv_hints *h, __u64 v)
{
	h->timestamp = v;
}

#ifdef __cplusplus
#define XDPKV__HINTS_ASSERT static_assert
#else
#define XDPKV__HINTS_ASSERT _Static_assert
#endif
XDPKV__HINTS_ASSERT(sizeof(struct xdpkv_hints) == XDPKV_HINTS_SIZE, "xdpkv_hints is 32 bytes");
/* The flag bits are a wire format (docs/FORMAT.md): the list must not move them. */
XDPKV__HINTS_ASSERT(XDPKV_HINT_HASH == 0x1 && XDPKV_HINT_VLAN == 0x2 &&
			    XDPKV_HINT_TIMESTAMP == 0x4 && XDPKV_HINT_HASH_SW == 0x100 &&
			    XDPKV_HINT_VLAN_SW == 0x200 && XDPKV_HINT_TIMESTAMP_SW == 0x400,
		    "hint flag bits");
XDPKV__HINTS_ASSERT(XDPKV_HI_N <= XDPKV_HINT_SW_SHIFT, "hint flags fit key 60's 16 bits");
#undef XDPKV__HINTS_ASSERT

#endif /* XDPKV_HINTS_H */
