/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * xdpkv NIC hints for BPF programs: capture an RX hash, a VLAN tag and an RX
 * timestamp in the first XDP program (from the driver where it has them, in
 * software otherwise), keep them in the packet's store, and read them back
 * anywhere later: after any number of redirects, in devmap/cpumap programs,
 * in TC, in tracing programs. docs/DRIVERS.md describes the whole design.
 *
 * Include after vmlinux.h, <bpf/bpf_helpers.h> and <xdpkv/xdpkv.bpf.h>.
 *
 *   int xdpkv_hints_capture(struct xdp_md *ctx, struct xdpkv_hints *out, __u32 want);
 *   int xdpkv_hints_store(struct xdp_md *ctx, const struct xdpkv_hints *h);
 *   int xdpkv_hints_load(struct xdp_md *ctx, struct xdpkv_hints *h);
 *   int xdpkv_hint_hash(ctx, __u32 *hash, __u32 *type, __u32 *flags);
 *   int xdpkv_hint_vlan(ctx, __u16 *proto, __u16 *tci, __u32 *flags);
 *   int xdpkv_hint_timestamp(ctx, __u64 *ts, __u32 *flags);
 *   ..._skb(struct __sk_buff *skb, ...)        TC
 *   ..._buf(const void *buf, __u32 m, ...)     a copied metadata area (tracing)
 *
 * Reads return 0 (outputs written), -ENODATA (this packet has no such hint:
 * never stored, or stored without it) or the store's own errors (-EBADMSG,
 * -EOPNOTSUPP, ...); outputs are written only on success, and any of the
 * type/flags outputs may be NULL.
 *
 * Storage (inline backend): reserved keys 60-62 of the packet's store
 * (<xdpkv/hints.h>, docs/FORMAT.md "Reserved keys"). Key 60 is the index: a
 * hint is present only if key 60's flags say so, so a packet whose store was
 * never given hints reports none, whatever its buffer held before. With the
 * kernel-module backend (XDPKV_BACKEND_KFUNC), xdpkv_hints_store/_load are
 * the module's (the hint block after xdp_frame) and the XDP readers use
 * them; the _skb and _buf readers read keys 60-62 in both backends.
 *
 * Capture needs a device-bound program (loaded with prog_ifindex and
 * BPF_F_XDP_DEV_BOUND_ONLY, in the device's network namespace) to call the
 * driver kfuncs; the loader clears bits of xdpkv_hints_kfuncs for kfuncs the
 * kernel lacks (their calls are then dead code, eliminated before the
 * weak, unresolved kfunc could matter). Define XDPKV_HINTS_SOFTWARE_ONLY for
 * a program that is not device-bound: no kfunc is referenced and every hint
 * comes from software.
 */
#ifndef XDPKV_HINTS_BPF_H
#define XDPKV_HINTS_BPF_H

#ifndef XDPKV_BPF_H
#error "include <xdpkv/xdpkv.bpf.h> before <xdpkv/xdpkv_hints.bpf.h>"
#endif

#include <bpf/bpf_endian.h>
#include <xdpkv/hints.h>
#include <xdpkv/toeplitz.h>

#ifndef ENODATA
#define ENODATA 61
#endif

/* ---- configuration (.rodata, set by the loader before load) ------------------ */

/* The Toeplitz key of the software hash (default: the standard key). */
const volatile __u8 xdpkv_rss_key[XDPKV_RSS_KEY_SIZE] = XDPKV_RSS_KEY_DEFAULT_INIT;

/*
 * The host's origin mark (xdpkv::host_origin; 0: none known). When set,
 * xdpkv_hints_store writes it with the hints and every reader reports hints
 * only from a store that carries it (bytes that only look like a store, e.g.
 * outer headers after a decap, have none): xdpkv_*_origin_ok, <xdpkv/xdpkv.bpf.h>.
 */
const volatile __u32 xdpkv_origin;

#ifndef XDPKV_HINTS_SOFTWARE_ONLY
#ifndef __VMLINUX_H__
#error "the device-bound capture needs vmlinux.h (enum xdp_rss_hash_type); or define XDPKV_HINTS_SOFTWARE_ONLY"
#endif
/*
 * XDPKV_HINT_HASH/_VLAN/_TIMESTAMP: the driver kfuncs this kernel has
 * (bpf_xdp_metadata_rx_hash/_timestamp: Linux >= 6.3, _vlan_tag: >= 6.8).
 * A cleared bit makes its call dead code: weak kfuncs that the kernel
 * lacks stay unresolved and are eliminated by the verifier.
 */
const volatile __u32 xdpkv_hints_kfuncs = XDPKV_HINT_PRESENT_MASK;

extern int bpf_xdp_metadata_rx_hash(const struct xdp_md *ctx, __u32 *hash,
				    enum xdp_rss_hash_type *rss_type) __ksym __weak;
extern int bpf_xdp_metadata_rx_timestamp(const struct xdp_md *ctx, __u64 *timestamp) __ksym __weak;
extern int bpf_xdp_metadata_rx_vlan_tag(const struct xdp_md *ctx, __be16 *vlan_proto,
					__u16 *vlan_tci) __ksym __weak;
#endif

/* ---- reading ------------------------------------------------------------------ */

/*
 * One reader core per hint, for every place a store is read from: `src` is
 * an xdp_md (XDPKV__XDP), an __sk_buff (XDPKV__SKB) or a copied area of m
 * bytes (XDPKV__BUF), `kind` a constant, so each public reader below inlines
 * to the code of its own context.
 */
static __always_inline int xdpkv__hint_get(void *src, __u32 m, const int kind, __u64 key, void *val,
					   __u32 len)
{
	if (kind == XDPKV__SKB)
		return xdpkv_skb_get(src, key, val, len);
	if (kind == XDPKV__BUF)
		return xdpkv_buf_get(src, m, key, val, len);
	return xdpkv_get(src, key, val, len);
}

/* Key 60, the index of the hints: 0 (*info), -ENODATA (none) or -errno. */
static __always_inline int xdpkv__hint_info(void *src, __u32 m, const int kind, __u64 *info)
{
	__u64 v = 0;
	__u32 o = 0;
	int ret;

	if (xdpkv_origin) {
		ret = xdpkv__hint_get(src, m, kind, XDPKV_KEY_ORIGIN, &o, sizeof(o));
		if (!xdpkv__origin_is(ret, o, xdpkv_origin))
			return -ENODATA; /* not stored by a writer of this host */
	}
	ret = xdpkv__hint_get(src, m, kind, XDPKV_KEY_HINT_INFO, &v, sizeof(v));
	if (ret == -ENOENT)
		return -ENODATA;
	if (ret < 0)
		return ret;
	if (ret != XDPKV_HINT_INFO_SIZE)
		return -EBADMSG; /* key 60 of another size: not hints */
	*info = v;
	return 0;
}

static __always_inline int xdpkv__hint_hash(void *src, __u32 m, const int kind, __u32 *hash,
					    __u32 *type, __u32 *flags)
{
	__u64 info = 0;
	int ret = xdpkv__hint_info(src, m, kind, &info);

	if (ret)
		return ret;
	if (!(xdpkv_hint_info_flags(info) & XDPKV_HINT_HASH))
		return -ENODATA;
	*hash = xdpkv_hint_info_hash(info);
	if (type)
		*type = xdpkv_hint_info_type(info);
	if (flags)
		*flags = xdpkv_hint_info_flags(info);
	return 0;
}

/*
 * The value of hint `flag`, stored under `key` with `size` bytes, into *v (a
 * u64 or a u32, zeroed by the caller) and the flags of key 60 into *flags: 0,
 * -ENODATA (not stored for this packet) or -errno (-EBADMSG: key 60 says
 * present, the key is missing or has another size).
 */
static __always_inline int xdpkv__hint_value(void *src, __u32 m, const int kind, __u32 flag,
					     __u64 key, void *v, __u32 size, __u32 *flags)
{
	__u64 info = 0;
	int ret = xdpkv__hint_info(src, m, kind, &info);

	if (ret)
		return ret;
	if (!(xdpkv_hint_info_flags(info) & flag))
		return -ENODATA;
	ret = xdpkv__hint_get(src, m, kind, key, v, size);
	if (ret < 0)
		return ret == -ENOENT ? -EBADMSG : ret;
	if (ret != size)
		return -EBADMSG;
	*flags = xdpkv_hint_info_flags(info);
	return 0;
}

static __always_inline int xdpkv__hint_vlan(void *src, __u32 m, const int kind, __u16 *proto,
					    __u16 *tci, __u32 *flags)
{
	__u32 v = 0, f = 0;
	int ret = xdpkv__hint_value(src, m, kind, XDPKV_HINT_VLAN, XDPKV_KEY_HINT_VLAN, &v,
				    XDPKV_HINT_VLAN_SIZE, &f);

	if (ret)
		return ret;
	*proto = xdpkv_hint_vlan_proto(v);
	*tci = xdpkv_hint_vlan_tci(v);
	if (flags)
		*flags = f;
	return 0;
}

static __always_inline int xdpkv__hint_timestamp(void *src, __u32 m, const int kind, __u64 *ts,
						 __u32 *flags)
{
	__u64 v = 0;
	__u32 f = 0;
	int ret = xdpkv__hint_value(src, m, kind, XDPKV_HINT_TIMESTAMP, XDPKV_KEY_HINT_TS, &v,
				    XDPKV_HINT_TS_SIZE, &f);

	if (ret)
		return ret;
	*ts = v;
	if (flags)
		*flags = f;
	return 0;
}

/* All hints into h (h->mark, h->check: 0): 0, -ENODATA (none) or -errno. */
static __always_inline int xdpkv__hints_load(void *src, __u32 m, const int kind,
					     struct xdpkv_hints *h)
{
	struct xdpkv_hints t = {};
	__u64 info = 0;
	__u32 f;
	int ret = xdpkv__hint_info(src, m, kind, &info);

	if (ret)
		return ret;
	f = xdpkv_hint_info_flags(info);
	if (!(f & XDPKV_HINT_PRESENT_MASK))
		return -ENODATA;
	t.flags = f;
	if (f & XDPKV_HINT_HASH) {
		t.hash = xdpkv_hint_info_hash(info);
		t.hash_type = xdpkv_hint_info_type(info);
	}
	if (f & XDPKV_HINT_VLAN) {
		ret = xdpkv__hint_vlan(src, m, kind, &t.vlan_proto, &t.vlan_tci, 0);
		if (ret)
			return ret;
	}
	if (f & XDPKV_HINT_TIMESTAMP) {
		ret = xdpkv__hint_timestamp(src, m, kind, &t.timestamp, 0);
		if (ret)
			return ret;
	}
	__builtin_memcpy(h, &t, sizeof(t));
	return 0;
}

/* TC: the skb's metadata (__sk_buff->data_meta .. data). */
static __always_inline int xdpkv_hint_hash_skb(struct __sk_buff *skb, __u32 *hash, __u32 *type,
					       __u32 *flags)
{
	return xdpkv__hint_hash(skb, 0, XDPKV__SKB, hash, type, flags);
}

static __always_inline int xdpkv_hint_vlan_skb(struct __sk_buff *skb, __u16 *proto, __u16 *tci,
					       __u32 *flags)
{
	return xdpkv__hint_vlan(skb, 0, XDPKV__SKB, proto, tci, flags);
}

static __always_inline int xdpkv_hint_timestamp_skb(struct __sk_buff *skb, __u64 *ts, __u32 *flags)
{
	return xdpkv__hint_timestamp(skb, 0, XDPKV__SKB, ts, flags);
}

static __always_inline int xdpkv_hints_load_skb(struct __sk_buff *skb, struct xdpkv_hints *h)
{
	return xdpkv__hints_load(skb, 0, XDPKV__SKB, h);
}

/* Tracing: a copied area buf[0 .. m), buf at least XDPKV_META_MAX bytes. */
static __always_inline int xdpkv_hint_hash_buf(const void *buf, __u32 m, __u32 *hash, __u32 *type,
					       __u32 *flags)
{
	return xdpkv__hint_hash((void *)buf, m, XDPKV__BUF, hash, type, flags);
}

static __always_inline int xdpkv_hint_vlan_buf(const void *buf, __u32 m, __u16 *proto, __u16 *tci,
					       __u32 *flags)
{
	return xdpkv__hint_vlan((void *)buf, m, XDPKV__BUF, proto, tci, flags);
}

static __always_inline int xdpkv_hint_timestamp_buf(const void *buf, __u32 m, __u64 *ts,
						    __u32 *flags)
{
	return xdpkv__hint_timestamp((void *)buf, m, XDPKV__BUF, ts, flags);
}

static __always_inline int xdpkv_hints_load_buf(const void *buf, __u32 m, struct xdpkv_hints *h)
{
	return xdpkv__hints_load((void *)buf, m, XDPKV__BUF, h);
}

#ifndef XDPKV_BACKEND_KFUNC_ACTIVE
/* XDP, inline backend: the reserved keys of the packet's store. */
static __always_inline int xdpkv_hint_hash(struct xdp_md *ctx, __u32 *hash, __u32 *type,
					   __u32 *flags)
{
	return xdpkv__hint_hash(ctx, 0, XDPKV__XDP, hash, type, flags);
}

static __always_inline int xdpkv_hint_vlan(struct xdp_md *ctx, __u16 *proto, __u16 *tci,
					   __u32 *flags)
{
	return xdpkv__hint_vlan(ctx, 0, XDPKV__XDP, proto, tci, flags);
}

static __always_inline int xdpkv_hint_timestamp(struct xdp_md *ctx, __u64 *ts, __u32 *flags)
{
	return xdpkv__hint_timestamp(ctx, 0, XDPKV__XDP, ts, flags);
}

static __always_inline int xdpkv_hints_load(struct xdp_md *ctx, struct xdpkv_hints *h)
{
	return xdpkv__hints_load(ctx, 0, XDPKV__XDP, h);
}
#else
/* XDP, kernel-module backend: the module's hint block. */
static __always_inline int xdpkv_hint_hash(struct xdp_md *ctx, __u32 *hash, __u32 *type,
					   __u32 *flags)
{
	struct xdpkv_hints h = {};
	int ret = xdpkv_hints_load(ctx, &h);

	if (ret)
		return ret;
	if (!(h.flags & XDPKV_HINT_HASH))
		return -ENODATA;
	*hash = h.hash;
	if (type)
		*type = h.hash_type;
	if (flags)
		*flags = h.flags;
	return 0;
}

static __always_inline int xdpkv_hint_vlan(struct xdp_md *ctx, __u16 *proto, __u16 *tci,
					   __u32 *flags)
{
	struct xdpkv_hints h = {};
	int ret = xdpkv_hints_load(ctx, &h);

	if (ret)
		return ret;
	if (!(h.flags & XDPKV_HINT_VLAN))
		return -ENODATA;
	*proto = h.vlan_proto;
	*tci = h.vlan_tci;
	if (flags)
		*flags = h.flags;
	return 0;
}

static __always_inline int xdpkv_hint_timestamp(struct xdp_md *ctx, __u64 *ts, __u32 *flags)
{
	struct xdpkv_hints h = {};
	int ret = xdpkv_hints_load(ctx, &h);

	if (ret)
		return ret;
	if (!(h.flags & XDPKV_HINT_TIMESTAMP))
		return -ENODATA;
	*ts = h.timestamp;
	if (flags)
		*flags = h.flags;
	return 0;
}
#endif

/* ---- storing (inline backend) --------------------------------------------------- */

/* Keep a software-source bit only for a hint that is present. */
static __always_inline __u32 xdpkv__hint_flags_clean(__u32 f)
{
	__u32 present = f & XDPKV_HINT_PRESENT_MASK;

	return present | (f & XDPKV_HINT_SW_MASK & (present << 8));
}

#ifndef XDPKV_BACKEND_KFUNC_ACTIVE
/*
 * Store h's present hints (h->flags) under keys 61 and 62, then key 60,
 * which says what is present: 0 when every hint of h was stored. Otherwise
 * -errno of the first failed set (-ENOSPC: no room, e.g. the 32-byte cap of
 * Linux < 6.8 holds the origin mark, key 60 and a VLAN tag, no timestamp); key 60
 * then lists exactly the hints that were stored, and none if key 60 itself
 * could not be written (a previous key 60 is then deleted). With no hint
 * present in h, key 60 is deleted: the packet reports none.
 */
__noinline int xdpkv__hints_store(struct xdp_md *ctx, const struct xdpkv_hints *h)
{
	__u32 f;
	int err = 0, ret;

	if (!h)
		return -EINVAL;
	f = xdpkv__hint_flags_clean(h->flags);
	/* The mark first: hints a reader would not trust are not worth the room. */
	if (xdpkv_origin && (f & XDPKV_HINT_PRESENT_MASK)) {
		ret = xdpkv_set_origin(ctx, xdpkv_origin);
		if (ret) {
			if (xdpkv_has(ctx, XDPKV_KEY_HINT_INFO) == 1)
				(void)xdpkv_del(ctx, XDPKV_KEY_HINT_INFO);
			return ret;
		}
	}
	if (f & XDPKV_HINT_VLAN) {
		ret = xdpkv_set_u32(ctx, XDPKV_KEY_HINT_VLAN,
				    xdpkv_hint_vlan_pack(h->vlan_proto, h->vlan_tci), 0);
		if (ret) {
			err = ret;
			f &= ~(XDPKV_HINT_VLAN | XDPKV_HINT_VLAN_SW);
		}
	}
	if (f & XDPKV_HINT_TIMESTAMP) {
		ret = xdpkv_set_u64(ctx, XDPKV_KEY_HINT_TS, h->timestamp, 0);
		if (ret) {
			err = err ? err : ret;
			f &= ~(XDPKV_HINT_TIMESTAMP | XDPKV_HINT_TIMESTAMP_SW);
		}
	}
	if (!(f & XDPKV_HINT_PRESENT_MASK)) {
		if (xdpkv_has(ctx, XDPKV_KEY_HINT_INFO) == 1)
			(void)xdpkv_del(ctx, XDPKV_KEY_HINT_INFO);
		return err;
	}
	ret = xdpkv_set_u64(ctx, XDPKV_KEY_HINT_INFO,
			    xdpkv_hint_info_pack(f & XDPKV_HINT_HASH ? h->hash : 0,
						 f & XDPKV_HINT_HASH ? h->hash_type : 0, f),
			    0);
	if (ret) {
		if (xdpkv_has(ctx, XDPKV_KEY_HINT_INFO) == 1)
			(void)xdpkv_del(ctx, XDPKV_KEY_HINT_INFO);
		return err ? err : ret;
	}
	return err;
}

/* A global function: the verifier checks it once, whatever the call sites. */
static __always_inline int xdpkv_hints_store(struct xdp_md *ctx, const struct xdpkv_hints *h)
{
	return xdpkv__hints_store(ctx, h);
}
#endif

/* ---- capture -------------------------------------------------------------------- */

/*
 * What each driver kfunc returned for a packet: 0, -ENODATA (the device has
 * the hint, not for this packet), -EOPNOTSUPP (the driver does not
 * implement it), or XDPKV_HINT_RC_NOT_TRIED (not asked, or no such kfunc):
 * one field for each hint kind (rc.hash, rc.vlan, ...), or all of them
 * indexed by XDPKV_HI_* (rc.all[i]).
 */
#define XDPKV__HINT_RC_FIELD(NAME, name, ...) int name;
struct xdpkv_hints_rc {
	union {
		struct {
			XDPKV_HINT_KINDS(XDPKV__HINT_RC_FIELD)
		};
		int all[XDPKV_HI_N];
	};
};
#undef XDPKV__HINT_RC_FIELD

/*
 * Driver hints into h (flags without _SW bits) for the hints in want; rc gets
 * the kfuncs' return codes. A zero timestamp counts as none (veth returns
 * 0 with the skb's empty hardware timestamp). Returns the flags it set.
 */
static __always_inline __u32 xdpkv_hints_driver(struct xdp_md *ctx, struct xdpkv_hints *h,
						__u32 want, struct xdpkv_hints_rc *rc)
{
	__u32 got = 0;

	for (int i = 0; i < XDPKV_HI_N; i++)
		rc->all[i] = XDPKV_HINT_RC_NOT_TRIED;
#ifndef XDPKV_HINTS_SOFTWARE_ONLY
	if ((want & XDPKV_HINT_HASH) && (xdpkv_hints_kfuncs & XDPKV_HINT_HASH)) {
		enum xdp_rss_hash_type type = 0;
		__u32 hash = 0;

		rc->hash = bpf_xdp_metadata_rx_hash(ctx, &hash, &type);
		if (!rc->hash) {
			h->hash = hash;
			h->hash_type = type;
			got |= XDPKV_HINT_HASH;
		}
	}
	if ((want & XDPKV_HINT_VLAN) && (xdpkv_hints_kfuncs & XDPKV_HINT_VLAN)) {
		__be16 proto = 0;
		__u16 tci = 0;

		rc->vlan = bpf_xdp_metadata_rx_vlan_tag(ctx, &proto, &tci);
		if (!rc->vlan) {
			h->vlan_proto = proto;
			h->vlan_tci = tci;
			got |= XDPKV_HINT_VLAN;
		}
	}
	if ((want & XDPKV_HINT_TIMESTAMP) && (xdpkv_hints_kfuncs & XDPKV_HINT_TIMESTAMP)) {
		__u64 ts = 0;

		rc->timestamp = bpf_xdp_metadata_rx_timestamp(ctx, &ts);
		if (!rc->timestamp && ts) {
			h->timestamp = ts;
			got |= XDPKV_HINT_TIMESTAMP;
		}
	}
#endif
	h->flags |= got;
	return got;
}

struct xdpkv__vlan_hdr {
	__be16 tci;
	__be16 proto;
};

/* The Toeplitz input of one packet. */
struct xdpkv__tuple {
	__u8 in[XDPKV_TOEPLITZ_MAX_INPUT];
	__u32 len;
};

/*
 * Toeplitz hash with xdpkv_rss_key: a global function, so that its loop is
 * verified once and not once for every way the caller parsed the packet.
 */
__noinline __u32 xdpkv__toeplitz(const struct xdpkv__tuple *t)
{
	if (!t)
		return 0;
	return xdpkv_toeplitz((const __u8 *)xdpkv_rss_key, t->in, t->len);
}

/*
 * The VLAN tags after the Ethernet header (up to two): *off and *proto are
 * moved past them to the next header. The outer tag goes into h when need
 * has XDPKV_HINT_VLAN, and its flags into *got. Returns -1 where a tag runs
 * past end.
 */
static __always_inline int xdpkv__sw_vlan(void *data, void *end, __u32 *off, __be16 *proto,
					  struct xdpkv_hints *h, __u32 need, __u32 *got)
{
#pragma unroll
	for (int i = 0; i < 2; i++) {
		struct xdpkv__vlan_hdr *vh = data + *off;

		if (*proto != bpf_htons(0x8100) && *proto != bpf_htons(0x88a8))
			break;
		if ((void *)(vh + 1) > end)
			return -1;
		if (i == 0 && (need & XDPKV_HINT_VLAN)) {
			h->vlan_proto = *proto;
			h->vlan_tci = bpf_ntohs(vh->tci);
			*got |= XDPKV_HINT_VLAN | XDPKV_HINT_VLAN_SW;
		}
		*proto = vh->proto;
		*off += sizeof(*vh);
	}
	return 0;
}

/*
 * The Toeplitz input of the IPv4 header at ip into t and its RSS type into
 * *type: the addresses and, for TCP and UDP of an unfragmented packet, the
 * ports. Returns -1 where the header runs past end or is malformed.
 */
static __always_inline int xdpkv__tuple_v4(struct iphdr *ip, void *end, struct xdpkv__tuple *t,
					   __u32 *type)
{
	__u32 ihl;

	if ((void *)(ip + 1) > end)
		return -1;
	ihl = ip->ihl * 4;
	if (ihl < sizeof(*ip))
		return -1;
	__builtin_memcpy(t->in, &ip->saddr, 8);
	t->len = XDPKV_TOEPLITZ_V4_L3;
	*type = XDPKV_RSS_L3_IPV4;
	if (!(ip->frag_off & bpf_htons(0x3fff)) &&
	    (ip->protocol == IPPROTO_TCP || ip->protocol == IPPROTO_UDP)) {
		__u8 *l4 = (__u8 *)ip + ihl;

		if ((void *)(l4 + 4) <= end) {
			__builtin_memcpy(t->in + 8, l4, 4);
			t->len = XDPKV_TOEPLITZ_V4_L4;
			*type |= XDPKV_RSS_L4 | (ip->protocol == IPPROTO_TCP ? XDPKV_RSS_L4_TCP :
									       XDPKV_RSS_L4_UDP);
		}
	}
	return 0;
}

/* As xdpkv__tuple_v4, for the IPv6 header at ip6 (the ports of TCP and UDP). */
static __always_inline int xdpkv__tuple_v6(struct ipv6hdr *ip6, void *end, struct xdpkv__tuple *t,
					   __u32 *type)
{
	if ((void *)(ip6 + 1) > end)
		return -1;
	__builtin_memcpy(t->in, &ip6->saddr, 32);
	t->len = XDPKV_TOEPLITZ_V6_L3;
	*type = XDPKV_RSS_L3_IPV6;
	if (ip6->nexthdr == IPPROTO_TCP || ip6->nexthdr == IPPROTO_UDP) {
		__u8 *l4 = (__u8 *)(ip6 + 1);

		if ((void *)(l4 + 4) <= end) {
			__builtin_memcpy(t->in + 32, l4, 4);
			t->len = XDPKV_TOEPLITZ_V6_L4;
			*type |= XDPKV_RSS_L4 | (ip6->nexthdr == IPPROTO_TCP ? XDPKV_RSS_L4_TCP :
									       XDPKV_RSS_L4_UDP);
		}
	}
	return 0;
}

/*
 * Software hints for the hints in want that h does not have yet: the VLAN
 * tag from the frame (outer tag of up to two), a Toeplitz hash with
 * xdpkv_rss_key over the IPv4/IPv6 addresses and, for TCP and UDP of
 * unfragmented packets, the ports, and bpf_ktime_get_ns(). Returns the
 * flags it set (with their _SW bits).
 */
__noinline __u32 xdpkv__hints_software(struct xdp_md *ctx, struct xdpkv_hints *h, __u32 want)
{
	void *data = (void *)(long)ctx->data, *end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;
	__u32 got = 0, off = sizeof(struct ethhdr);
	struct xdpkv__tuple t = {};
	__u32 type = 0, need;
	__be16 proto;
	int err;

	if (!h)
		return 0;
	need = want & ~h->flags & XDPKV_HINT_PRESENT_MASK;

	if (need & XDPKV_HINT_TIMESTAMP) {
		h->timestamp = bpf_ktime_get_ns();
		got |= XDPKV_HINT_TIMESTAMP | XDPKV_HINT_TIMESTAMP_SW;
	}
	if (!(need & (XDPKV_HINT_HASH | XDPKV_HINT_VLAN)) || (void *)(eth + 1) > end)
		goto out;
	proto = eth->h_proto;
	if (xdpkv__sw_vlan(data, end, &off, &proto, h, need, &got))
		goto out;
	if (!(need & XDPKV_HINT_HASH))
		goto out;
	if (proto == bpf_htons(0x0800))
		err = xdpkv__tuple_v4(data + off, end, &t, &type);
	else if (proto == bpf_htons(0x86dd))
		err = xdpkv__tuple_v6(data + off, end, &t, &type);
	else
		goto out; /* not IP: no hash */
	if (err)
		goto out;
	h->hash = xdpkv__toeplitz(&t);
	h->hash_type = type;
	got |= XDPKV_HINT_HASH | XDPKV_HINT_HASH_SW;
out:
	h->flags |= got;
	return got;
}

/* A global function: checked once by the verifier, not once per path of the caller. */
static __always_inline __u32 xdpkv_hints_software(struct xdp_md *ctx, struct xdpkv_hints *h,
						  __u32 want)
{
	return xdpkv__hints_software(ctx, h, want);
}

/*
 * Capture the hints in want (XDPKV_HINT_* bits, e.g. XDPKV_HINT_PRESENT_MASK) into out:
 * from the driver where it has them, from software otherwise; out->flags
 * says which are present and which came from software. rc (may be NULL)
 * gets the driver kfuncs' return codes. Returns the number of hints
 * captured. Store them with xdpkv_hints_store.
 */
static __always_inline int xdpkv_hints_capture_rc(struct xdp_md *ctx, struct xdpkv_hints *out,
						  __u32 want, struct xdpkv_hints_rc *rc)
{
	struct xdpkv_hints_rc r;
	__u32 f;
	int n = 0;

	__builtin_memset(out, 0, sizeof(*out));
	xdpkv_hints_driver(ctx, out, want, &r);
	xdpkv_hints_software(ctx, out, want);
	if (rc)
		*rc = r;
	f = out->flags & XDPKV_HINT_PRESENT_MASK;
	for (int i = 0; i < XDPKV_HI_N; i++)
		n += (f >> i) & 1;
	return n;
}

static __always_inline int xdpkv_hints_capture(struct xdp_md *ctx, struct xdpkv_hints *out,
					       __u32 want)
{
	return xdpkv_hints_capture_rc(ctx, out, want, 0);
}

#endif /* XDPKV_HINTS_BPF_H */
