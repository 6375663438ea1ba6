// SPDX-License-Identifier: GPL-2.0-only
/*
 * xdpkv.ko: the xdpkv store as real kfuncs for XDP and TC programs, and the
 * packet hint block after struct xdp_frame.
 *
 * Format and errors: docs/FORMAT.md, implemented once in <xdpkv/format.h>,
 * which this file includes with hweight64 as its popcount. API, hint block
 * and capacity: docs/KFUNCS.md. Kernel-version differences: compat.h.
 *
 * Store kfuncs work on the metadata area [data_meta, data) of the xdp_buff
 * (XDP) or of the sk_buff as TC sees it (read-only). The module moves
 * data_meta itself, within the bounds the kernel enforces for every XDP
 * buffer (struct xdp_frame below it, skb_shared_info.meta_len above it),
 * so the store is not limited by the 32-byte cap of bpf_xdp_adjust_meta on
 * Linux < 6.8.
 *
 * Safety of moving data_meta under a verified program: the verifier lets a
 * program access [data_meta + off, +n) only after it proved that range lies
 * below data, and it never learns where data_meta is. data and data_end do
 * not move here. A pointer the program derived from an older data_meta
 * therefore still points into the same buffer's headroom, below data and
 * above data_hard_start + sizeof(struct xdp_frame): stale, never out of
 * bounds. Programs reload data_meta after a call, as after any helper.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/module.h>
#include <linux/kernel.h>
#include <linux/bpf.h>
#include <linux/bitops.h>
#include <linux/jhash.h>
#include <linux/random.h>
#include <linux/skbuff.h>
#include <linux/netdevice.h>
#include <net/xdp.h>

#include "compat.h"

/* The one format header, with the CPU's popcount. */
#define XDPKV_POPCOUNT64(v) hweight64(v)
#include <xdpkv/format.h>
#include <xdpkv/hints.h>

/* The hint block: the first 8-aligned bytes after struct xdp_frame. */
#define XDPKV_HINTS_OFF ALIGN(sizeof(struct xdp_frame), 8)
#define XDPKV_FRAME_END sizeof(struct xdp_frame)

static_assert(sizeof(struct xdpkv_hints) == XDPKV_HINTS_SIZE);

/*
 * Per-boot secrets, random at load: the key of the hint block's check, and
 * the mark that hints_store writes under key 63. The mark is the same on
 * every packet, so it never makes a flow's metadata differ (GRO compares
 * it); why that still keeps recycled buffers safe: docs/KFUNCS.md.
 */
static u32 xdpkv_secret __read_mostly;
static u32 xdpkv_mark __read_mostly; /* never 0 */

/* ---- the store on a metadata area ------------------------------------------ */

/* A validated header and one key's place in it. */
struct xdpkv_loc {
	u64 hi, lo;
	u32 m;	 /* data - data_meta */
	u32 s;	 /* store size S (16 for an empty area) */
	u32 len; /* the key's length, 0 if absent */
	u32 pos; /* 16 + P(key): the key's value ends pos bytes below data */
};

/*
 * Reads and validates the area [meta, data) and locates key (<= 63).
 * 0: a store; 1: an empty area (M == 0); -EOPNOTSUPP: the driver has no
 * metadata (data_meta > data); -EBADMSG: malformed (FORMAT.md §3).
 */
static int xdpkv_locate(const u8 *meta, const u8 *data, u32 key, struct xdpkv_loc *l)
{
	long m;

	if (meta > data)
		return -EOPNOTSUPP;
	m = data - meta;
	l->m = m;
	if (m == 0) {
		l->hi = l->lo = 0;
		l->s = XDPKV_HDR_SIZE;
		l->len = 0;
		l->pos = XDPKV_HDR_SIZE;
		return 1;
	}
	if (m < XDPKV_HDR_SIZE || m > XDPKV_META_MAX)
		return -EBADMSG;
	l->hi = get_unaligned_le64(data - 16);
	l->lo = get_unaligned_le64(data - 8);
	l->s = xdpkv_store_size(l->hi, l->lo);
	if (xdpkv_align4(l->s) > m)
		return -EBADMSG;
	l->len = xdpkv_key_len(l->hi, l->lo, key);
	l->pos = XDPKV_HDR_SIZE + xdpkv_prefix(l->hi, l->lo, key);
	return 0;
}

/* xdpkv_locate for a caller's key: the full u64 is checked, never truncated. */
static int xdpkv_find(const u8 *meta, const u8 *data, u64 key, struct xdpkv_loc *l)
{
	if (key > XDPKV_MAX_KEY)
		return -EINVAL;
	return xdpkv_locate(meta, data, key, l);
}

static int xdpkv_area_get(const u8 *meta, const u8 *data, u64 key, void *val, u32 sz)
{
	struct xdpkv_loc l;
	int ret = xdpkv_find(meta, data, key, &l);

	if (ret < 0)
		return ret;
	if (!l.len)
		return -ENOENT;
	if (!val || sz < l.len)
		return -ENOSPC;
	/* Only the value's bytes; val may lie in the metadata area itself. */
	memmove(val, data - l.pos - l.len, l.len);
	return l.len;
}

static int xdpkv_area_has(const u8 *meta, const u8 *data, u64 key)
{
	struct xdpkv_loc l;
	int ret = xdpkv_find(meta, data, key, &l);

	return ret < 0 ? ret : l.len != 0;
}

/*
 * get_many on [meta, data) (FORMAT.md §4.6): every key checked first, one
 * header pass, then each key's length (0 if absent) and value into in[],
 * a copy of the caller's array. The number of keys present, or -errno.
 */
static int xdpkv_area_get_many(const u8 *meta, const u8 *data, struct xdpkv_kv *in, u32 n)
{
	struct xdpkv_loc l;
	int ret, found = 0;
	u32 i;

	for (i = 0; i < n; i++)
		if (in[i].key > XDPKV_MAX_KEY)
			return -EINVAL;
	ret = xdpkv_locate(meta, data, 0, &l);
	if (ret < 0)
		return ret;
	for (i = 0; i < n; i++) {
		u32 k = in[i].key, len = xdpkv_key_len(l.hi, l.lo, k);
		__le64 v = 0;

		in[i].len = len;
		if (!len)
			continue; /* an absent key's val stays as the caller left it */
		memcpy(&v, data - XDPKV_HDR_SIZE - xdpkv_prefix(l.hi, l.lo, k) - len, len);
		in[i].val = le64_to_cpu(v);
		found++;
	}
	return found;
}

/*
 * The array of a multi-key call: 1 to XDPKV_MANY_MAX entries, copied to
 * in[] (it may lie in the metadata area). Its length, or 0 when invalid.
 */
static u32 xdpkv_many_take(struct xdpkv_kv *in, const struct xdpkv_kv *kv, u32 sz)
{
	u32 n = sz / sizeof(*kv);

	if (!kv || sz % sizeof(*kv) || n < 1 || n > XDPKV_MANY_MAX)
		return 0;
	memcpy(in, kv, sz);
	return n;
}

/* ---- the hint block ----------------------------------------------------------- */

static inline u8 *xdpkv_block(const struct xdp_buff *xdp)
{
	return (u8 *)xdp->data_hard_start + XDPKV_HINTS_OFF;
}

/*
 * Keyed with the per-boot secret: only the module can write a block that
 * checks. Over the whole block but its check word (zeroed), so every field a
 * hint kind adds is covered; the struct has no padding (XDPKV_HINTS_SIZE).
 */
static u32 xdpkv_hint_check(const struct xdpkv_hints *b)
{
	struct xdpkv_hints w = *b;

	BUILD_BUG_ON(sizeof(w) % sizeof(u32));
	w.check = 0;
	return jhash2((const u32 *)&w, sizeof(w) / sizeof(u32), xdpkv_secret);
}

/* Does the packet's store carry the module's mark (key 63, 4 bytes)? */
static bool xdpkv_has_mark(const u8 *meta, const u8 *data)
{
	struct xdpkv_loc l;

	if (xdpkv_locate(meta, data, XDPKV_KEY_HINT_MARK, &l) || l.len != 4)
		return false;
	return get_unaligned_le32(data - l.pos - 4) == xdpkv_mark;
}

/*
 * The packet's hints: 0 (copied to *out if non-NULL), -ENODATA (this packet
 * stored none, or they were overwritten) or -ENOSPC (the metadata area has
 * grown over the block since they were stored).
 */
static int xdpkv_hints_get(const struct xdp_buff *xdp, struct xdpkv_hints *out)
{
	const u8 *meta = xdp->data_meta, *data = xdp->data;
	const u8 *blk = xdpkv_block(xdp);
	struct xdpkv_hints b;

	if (!xdpkv_has_mark(meta, data))
		return -ENODATA;
	if (meta < blk + XDPKV_HINTS_SIZE)
		return -ENOSPC;
	memcpy(&b, blk, sizeof(b));
	if (b.mark != xdpkv_mark || b.check != xdpkv_hint_check(&b))
		return -ENODATA;
	if (out) {
		*out = b;
		out->check = 0;
	}
	return 0;
}

/*
 * Lowest address data_meta may take: above struct xdp_frame (which
 * xdp_convert_buff_to_frame writes at data_hard_start), and above the
 * packet's valid hint block.
 */
static const u8 *xdpkv_floor(const struct xdp_buff *xdp)
{
	const u8 *floor = (const u8 *)xdp->data_hard_start + XDPKV_FRAME_END;

	if (!xdpkv_hints_get(xdp, NULL))
		floor = xdpkv_block(xdp) + XDPKV_HINTS_SIZE;
	return floor;
}

/* May the area grow to m2 bytes below data? */
static bool xdpkv_room(const struct xdp_buff *xdp, u32 m2)
{
	const u8 *meta2 = (const u8 *)xdp->data - m2;

	if (m2 > XDPKV_META_MAX)
		return false;
	if (meta2 >= (const u8 *)xdp->data_hard_start + XDPKV_HINTS_OFF + XDPKV_HINTS_SIZE)
		return true; /* clear of the hint block: no need to look at it */
	return meta2 >= xdpkv_floor(xdp);
}

/*
 * Insert, resize or delete (len 0) key in the located store l, FORMAT.md
 * §4.4/§4.5: keys below key stay, keys above it move by len - l->len, the
 * foreign bytes stay at data_meta, new padding is zero. -ENOSPC before any
 * change when the area cannot grow.
 */
static int xdpkv_relayout(struct xdp_buff *xdp, const struct xdpkv_loc *l, u32 key, const void *val,
			  u32 len)
{
	u8 *data = xdp->data, *meta = xdp->data_meta;
	u32 e = l->m ? xdpkv_align4(l->s) : 0;
	u32 f = l->m - e; /* foreign bytes */
	u32 s2 = l->s - l->len + len;
	u32 e2 = xdpkv_align4(s2);
	u32 m2 = f + e2;
	u32 t = l->s - l->pos - l->len; /* bytes of the keys above key */
	u8 *meta2 = data - m2;
	u64 hi = l->hi, lo = l->lo;

	if (m2 > l->m && !xdpkv_room(xdp, m2))
		return -ENOSPC;
	if (m2 > l->m) {
		/* growing: everything moves down; lowest block first */
		memmove(meta2, meta, f);
		memmove(data - s2, data - l->s, t);
	} else {
		/* shrinking or same extent: highest block first */
		memmove(data - s2, data - l->s, t);
		memmove(meta2, meta, f);
	}
	if (e2 != s2)
		memset(data - e2, 0, e2 - s2);
	if (len)
		memcpy(data - l->pos - len, val, len);
	xdpkv_hdr_put(&hi, &lo, key, len);
	put_unaligned_le64(hi, data - 16);
	put_unaligned_le64(lo, data - 8);
	xdp->data_meta = meta2;
	return 0;
}

static int xdpkv_xdp_set(struct xdp_buff *xdp, u64 key, const void *val, u32 len, u64 flags)
{
	struct xdpkv_loc l;
	u64 v = 0;
	int ret;

	ret = xdpkv_check_set_args(key, len, flags);
	if (ret)
		return ret;
	if (!val)
		return -EINVAL;
	if (key == XDPKV_KEY_HINT_MARK)
		return -EPERM; /* the hint block's mark: only hints_store writes it */
	/*
	 * val may point into the metadata area, which a relayout moves: take
	 * the value before anything changes (len <= 8 was checked above).
	 */
	memcpy(&v, val, len);
	ret = xdpkv_locate(xdp->data_meta, xdp->data, key, &l);
	if (ret < 0)
		return ret;
	ret = xdpkv_check_set_presence(l.len, flags);
	if (ret)
		return ret;
	if (l.len == len) {
		/* overwrite in place: nothing else changes, padding included */
		memcpy((u8 *)xdp->data - l.pos - len, &v, len);
		return 0;
	}
	return xdpkv_relayout(xdp, &l, key, &v, len);
}

static int xdpkv_xdp_del(struct xdp_buff *xdp, u64 key)
{
	struct xdpkv_loc l;
	int ret;

	if (key > XDPKV_MAX_KEY)
		return -EINVAL;
	if (key == XDPKV_KEY_HINT_MARK)
		return -EPERM;
	ret = xdpkv_locate(xdp->data_meta, xdp->data, key, &l);
	if (ret < 0)
		return ret;
	if (!l.len)
		return -ENOENT;
	return xdpkv_relayout(xdp, &l, key, NULL, 0);
}

/* The argument checks of one single set of kv, and a key given twice: 0 or -errno. */
static int xdpkv_many_arg(const struct xdpkv_kv *kv, u64 flags, u64 *seen)
{
	int ret = xdpkv_check_set_args(kv->key, kv->len, flags);

	if (ret)
		return ret;
	if (kv->key == XDPKV_KEY_HINT_MARK)
		return -EPERM;
	if ((*seen >> kv->key) & 1)
		return -EINVAL;
	*seen |= 1ULL << kv->key;
	return 0;
}

/*
 * Several sets, all or nothing (the inline backend's order, FORMAT.md §4.6):
 * kv[0]'s arguments, the store, then each key's arguments and presence in
 * turn; -ENOSPC last, when the final store does not fit. The final store is
 * built in a buffer from the old values and the new ones, then written
 * once: one move of the foreign bytes, one header write.
 */
static int xdpkv_xdp_set_many(struct xdp_buff *xdp, const struct xdpkv_kv *kv, u32 sz, u64 flags)
{
	struct xdpkv_kv in[XDPKV_MANY_MAX];
	u8 buf[XDPKV_META_MAX - XDPKV_HDR_SIZE];
	u8 *data = xdp->data, *meta = xdp->data_meta, *meta2;
	u32 n = xdpkv_many_take(in, kv, sz), i, e, f, s2, e2, m2;
	u64 seen = 0, hi, lo, set = 0, left;
	struct xdpkv_loc l;
	int ret;

	if (!n)
		return -EINVAL;
	ret = xdpkv_many_arg(&in[0], flags, &seen);
	if (ret)
		return ret;
	ret = xdpkv_locate(meta, data, 0, &l);
	if (ret < 0)
		return ret;
	hi = l.hi;
	lo = l.lo;
	for (i = 0; i < n; i++) {
		ret = i ? xdpkv_many_arg(&in[i], flags, &seen) : 0;
		if (!ret)
			ret = xdpkv_check_set_presence(xdpkv_key_len(l.hi, l.lo, in[i].key), flags);
		if (ret)
			return ret;
		xdpkv_hdr_put(&hi, &lo, in[i].key, in[i].len);
	}
	e = l.m ? xdpkv_align4(l.s) : 0;
	f = l.m - e; /* foreign bytes below the store */
	s2 = xdpkv_store_size(hi, lo);
	e2 = xdpkv_align4(s2);
	m2 = f + e2;
	if (m2 > l.m && !xdpkv_room(xdp, m2))
		return -ENOSPC;
	/*
	 * The values of the final store, buf[j] = the byte s2 - j below data:
	 * each key's from kv if set here, else from the old store. m2 <=
	 * XDPKV_META_MAX (xdpkv_room, or no larger than the validated area), so
	 * s2 - 16 fits buf.
	 */
	for (i = 0; i < n; i++)
		set |= 1ULL << in[i].key;
	for (left = hi | lo; left; left &= left - 1) {
		u32 k = __ffs64(left), len = xdpkv_key_len(hi, lo, k);
		u8 *dst = buf + s2 - XDPKV_HDR_SIZE - xdpkv_prefix(hi, lo, k) - len;

		if (!((set >> k) & 1)) {
			memcpy(dst, data - XDPKV_HDR_SIZE - xdpkv_prefix(l.hi, l.lo, k) - len, len);
			continue;
		}
		for (i = 0; i < n; i++) {
			if (in[i].key == k) {
				__le64 v = cpu_to_le64(in[i].val);

				memcpy(dst, &v, len);
			}
		}
	}
	meta2 = data - m2;
	memmove(meta2, meta, f);
	memcpy(data - s2, buf, s2 - XDPKV_HDR_SIZE);
	/* As the single sets: a relayout zeroes the padding, overwrites keep it. */
	if (e2 != s2 && (hi != l.hi || lo != l.lo))
		memset(data - e2, 0, e2 - s2);
	put_unaligned_le64(hi, data - 16);
	put_unaligned_le64(lo, data - 8);
	xdp->data_meta = meta2;
	return 0;
}

/* ---- kfuncs -------------------------------------------------------------------------- */

__bpf_kfunc_start_defs();

/**
 * bpf_xdpkv_get - copy key's value to val
 * Return: the value's length (2, 4 or 8), written to val[0..len) only on
 * success; -EINVAL, -EOPNOTSUPP, -EBADMSG, -ENOENT, -ENOSPC (val__sz < len).
 */
__bpf_kfunc int bpf_xdpkv_get(struct xdp_md *ctx, u64 key, void *val, u32 val__sz)
{
	struct xdp_buff *xdp = (struct xdp_buff *)ctx;

	return xdpkv_area_get(xdp->data_meta, xdp->data, key, val, val__sz);
}

/**
 * bpf_xdpkv_set - insert or replace key with val__sz bytes (2, 4 or 8)
 * @flags: 0, XDPKV_F_NOEXIST or XDPKV_F_EXIST
 * Return: 0; -EINVAL, -EOPNOTSUPP, -EBADMSG, -ENOENT, -EEXIST, -ENOSPC.
 */
__bpf_kfunc int bpf_xdpkv_set(struct xdp_md *ctx, u64 key, const void *val, u32 val__sz, u64 flags)
{
	return xdpkv_xdp_set((struct xdp_buff *)ctx, key, val, val__sz, flags);
}

/**
 * bpf_xdpkv_del - remove key
 * Return: 0; -EINVAL, -EOPNOTSUPP, -EBADMSG, -ENOENT.
 */
__bpf_kfunc int bpf_xdpkv_del(struct xdp_md *ctx, u64 key)
{
	return xdpkv_xdp_del((struct xdp_buff *)ctx, key);
}

/**
 * bpf_xdpkv_set_many - set kv__sz / sizeof(struct xdpkv_kv) keys (1 to 8), all or nothing
 * @flags: as bpf_xdpkv_set, for every key
 * Return: 0; on error nothing is written: -EINVAL, -EPERM, -EOPNOTSUPP,
 * -EBADMSG, -ENOENT, -EEXIST, -ENOSPC (the final store does not fit).
 */
__bpf_kfunc int bpf_xdpkv_set_many(struct xdp_md *ctx, const struct xdpkv_kv *kv, u32 kv__sz,
				   u64 flags)
{
	return xdpkv_xdp_set_many((struct xdp_buff *)ctx, kv, kv__sz, flags);
}

/**
 * bpf_xdpkv_get_many - read kv__sz / sizeof(struct xdpkv_kv) keys (1 to 8) in one header pass
 * Return: the number of keys present, each kv[i].len set (0 if absent) and
 * kv[i].val set if present; -EINVAL (a key > 63 first), -EOPNOTSUPP,
 * -EBADMSG, with kv untouched.
 */
__bpf_kfunc int bpf_xdpkv_get_many(struct xdp_md *ctx, struct xdpkv_kv *kv, u32 kv__sz)
{
	struct xdp_buff *xdp = (struct xdp_buff *)ctx;
	struct xdpkv_kv in[XDPKV_MANY_MAX];
	u32 n = xdpkv_many_take(in, kv, kv__sz);
	int ret;

	if (!n)
		return -EINVAL;
	ret = xdpkv_area_get_many(xdp->data_meta, xdp->data, in, n);
	if (ret >= 0)
		memcpy(kv, in, kv__sz);
	return ret;
}

/**
 * bpf_xdpkv_has - is key present
 * Return: 1 present, 0 absent; -EINVAL, -EOPNOTSUPP, -EBADMSG.
 */
__bpf_kfunc int bpf_xdpkv_has(struct xdp_md *ctx, u64 key)
{
	struct xdp_buff *xdp = (struct xdp_buff *)ctx;

	return xdpkv_area_has(xdp->data_meta, xdp->data, key);
}

/**
 * bpf_xdpkv_adjust_meta - bpf_xdp_adjust_meta without the < 6.8 32-byte cap
 * @delta: bytes to move data_meta by (negative grows the area)
 *
 * For other metadata users, who add their bytes below the store (FORMAT.md
 * §2.5). Same bounds as the store: the area stays 4-byte aligned, at most
 * 252 bytes, above struct xdp_frame and above a valid hint block. Like the
 * helper, it does not initialise the bytes it adds.
 * Return: 0; -EINVAL (unaligned, or beyond data), -EOPNOTSUPP, -ENOSPC.
 */
__bpf_kfunc int bpf_xdpkv_adjust_meta(struct xdp_md *ctx, int delta)
{
	struct xdp_buff *xdp = (struct xdp_buff *)ctx;
	u8 *meta = xdp->data_meta, *data = xdp->data;
	long m2;

	if (meta > data)
		return -EOPNOTSUPP;
	m2 = (long)(data - meta) - delta;
	if (m2 < 0 || (m2 & 3))
		return -EINVAL;
	if (delta < 0 && !xdpkv_room(xdp, m2))
		return -ENOSPC;
	xdp->data_meta = data - m2;
	return 0;
}

/**
 * bpf_xdpkv_hints_store - keep h in the packet's hint block
 *
 * Writes the block after struct xdp_frame and the module's per-boot mark
 * under the reserved key XDPKV_KEY_HINT_MARK of the packet's store (creating
 * the store if needed). The mark is the same on every packet: the store
 * says "this packet stored hints", the block's keyed check says "the module
 * wrote this block", and a packet's metadata starts empty in every buffer,
 * so a recycled buffer's old block is never read (docs/KFUNCS.md).
 * Return: 0; -EINVAL (h__sz, unknown flags), -EOPNOTSUPP (no metadata
 * support), -EBADMSG (malformed area), -ENOSPC (the metadata area, with the
 * mark, would reach into the block).
 */
__bpf_kfunc int bpf_xdpkv_hints_store(struct xdp_md *ctx, const struct xdpkv_hints *h, u32 h__sz)
{
	struct xdp_buff *xdp = (struct xdp_buff *)ctx;
	u8 *meta = xdp->data_meta, *data = xdp->data;
	u8 *blk = xdpkv_block(xdp);
	__le32 mark = cpu_to_le32(xdpkv_mark);
	struct xdpkv_loc l;
	struct xdpkv_hints b;
	u32 m2;
	int ret;

	if (!h || h__sz != sizeof(*h))
		return -EINVAL;
	/*
	 * h may point into the metadata area, which the mark moves: validate
	 * and keep the copy, never h itself.
	 */
	memcpy(&b, h, sizeof(b));
	if (b.flags & ~XDPKV_HINT_MASK)
		return -EINVAL;
	ret = xdpkv_locate(meta, data, XDPKV_KEY_HINT_MARK, &l);
	if (ret < 0)
		return ret;
	m2 = l.len == 4 ? l.m : l.m - (l.m ? xdpkv_align4(l.s) : 0) + xdpkv_align4(l.s - l.len + 4);
	if (m2 > XDPKV_META_MAX || data - m2 < blk + XDPKV_HINTS_SIZE)
		return -ENOSPC;

	/* The store first: shrinking an 8-byte key may move bytes off the block. */
	if (l.len == 4) {
		memcpy(data - l.pos - 4, &mark, 4);
	} else {
		ret = xdpkv_relayout(xdp, &l, XDPKV_KEY_HINT_MARK, &mark, 4);
		if (ret)
			return ret; /* not reached: space was checked */
	}

	b.mark = xdpkv_mark;
	b.check = xdpkv_hint_check(&b);
	memcpy(blk, &b, sizeof(b));
	return 0;
}

/**
 * bpf_xdpkv_hints_load - the hints this packet stored, wherever it is now
 * Return: 0 (h filled, h->mark = the module's mark); -EINVAL (h__sz);
 * -ENODATA (no hints stored for this packet, or overwritten); -ENOSPC (the
 * metadata area has grown over the block since). h is untouched on error.
 */
__bpf_kfunc int bpf_xdpkv_hints_load(struct xdp_md *ctx, struct xdpkv_hints *h, u32 h__sz)
{
	if (!h || h__sz != sizeof(*h))
		return -EINVAL;
	return xdpkv_hints_get((struct xdp_buff *)ctx, h);
}

/**
 * bpf_xdpkv_skb_get - bpf_xdpkv_get on the metadata an skb carries (TC)
 *
 * Return: as bpf_xdpkv_get, and -EINVAL for a val inside the skb's buffer.
 */
__bpf_kfunc int bpf_xdpkv_skb_get(struct __sk_buff *skb_ctx, u64 key, void *val, u32 val__sz)
{
	struct sk_buff *skb = (struct sk_buff *)skb_ctx;
	const u8 *data = skb->data;

	/*
	 * The verifier lets a packet pointer be val, but does not unclone the
	 * skb for a kfunc's write: never write into a buffer clones may share.
	 */
	if (val && (u8 *)val < skb_end_pointer(skb) && (u8 *)val + val__sz > skb->head)
		return -EINVAL;
	/* The area TC programs see: [data - meta_len, data), as __sk_buff->data_meta. */
	return xdpkv_area_get(data - skb_metadata_len(skb), data, key, val, val__sz);
}

/**
 * bpf_xdpkv_skb_get_many - bpf_xdpkv_get_many on the skb's metadata (TC)
 * Return: as bpf_xdpkv_get_many; -EINVAL for a kv inside the skb's buffer.
 */
__bpf_kfunc int bpf_xdpkv_skb_get_many(struct __sk_buff *skb_ctx, struct xdpkv_kv *kv, u32 kv__sz)
{
	struct sk_buff *skb = (struct sk_buff *)skb_ctx;
	struct xdpkv_kv in[XDPKV_MANY_MAX];
	u32 n = xdpkv_many_take(in, kv, kv__sz);
	const u8 *data = skb->data;
	int ret;

	if (!n)
		return -EINVAL;
	/* As bpf_xdpkv_skb_get: never write into a buffer clones may share. */
	if ((u8 *)kv < skb_end_pointer(skb) && (u8 *)kv + kv__sz > skb->head)
		return -EINVAL;
	ret = xdpkv_area_get_many(data - skb_metadata_len(skb), data, in, n);
	if (ret >= 0)
		memcpy(kv, in, kv__sz);
	return ret;
}

/**
 * bpf_xdpkv_skb_has - bpf_xdpkv_has on the metadata an skb carries (TC)
 */
__bpf_kfunc int bpf_xdpkv_skb_has(struct __sk_buff *skb_ctx, u64 key)
{
	struct sk_buff *skb = (struct sk_buff *)skb_ctx;
	const u8 *data = skb->data;

	return xdpkv_area_has(data - skb_metadata_len(skb), data, key);
}

__bpf_kfunc_end_defs();

BTF_KFUNCS_START(xdpkv_xdp_kfunc_ids)
BTF_ID_FLAGS(func, bpf_xdpkv_get)
BTF_ID_FLAGS(func, bpf_xdpkv_set)
BTF_ID_FLAGS(func, bpf_xdpkv_del)
BTF_ID_FLAGS(func, bpf_xdpkv_set_many)
BTF_ID_FLAGS(func, bpf_xdpkv_get_many)
BTF_ID_FLAGS(func, bpf_xdpkv_has)
BTF_ID_FLAGS(func, bpf_xdpkv_adjust_meta)
BTF_ID_FLAGS(func, bpf_xdpkv_hints_store)
BTF_ID_FLAGS(func, bpf_xdpkv_hints_load)
BTF_KFUNCS_END(xdpkv_xdp_kfunc_ids)

BTF_KFUNCS_START(xdpkv_tc_kfunc_ids)
BTF_ID_FLAGS(func, bpf_xdpkv_skb_get)
BTF_ID_FLAGS(func, bpf_xdpkv_skb_has)
BTF_ID_FLAGS(func, bpf_xdpkv_skb_get_many)
BTF_KFUNCS_END(xdpkv_tc_kfunc_ids)

static const struct btf_kfunc_id_set xdpkv_xdp_kfunc_set = {
	.owner = THIS_MODULE,
	.set = &xdpkv_xdp_kfunc_ids,
};

static const struct btf_kfunc_id_set xdpkv_tc_kfunc_set = {
	.owner = THIS_MODULE,
	.set = &xdpkv_tc_kfunc_ids,
};

static int __init xdpkv_init(void)
{
	int ret;

	xdpkv_secret = get_random_u32();
	do {
		xdpkv_mark = get_random_u32();
	} while (!xdpkv_mark); /* never 0: a zeroed value is no mark */
	ret = register_btf_kfunc_id_set(BPF_PROG_TYPE_XDP, &xdpkv_xdp_kfunc_set);
	if (!ret)
		ret = register_btf_kfunc_id_set(BPF_PROG_TYPE_SCHED_CLS, &xdpkv_tc_kfunc_set);
	if (ret) {
		pr_err("cannot register kfuncs (%d): was the module built with BTF?\n", ret);
		return ret;
	}
	/* No driver capture here: a module cannot tell which driver built an xdp_buff. */
	pr_info("kfuncs registered for XDP and TC; hint block at data_hard_start + %zu\n",
		(size_t)XDPKV_HINTS_OFF);
	return 0;
}

static void __exit xdpkv_exit(void)
{
	/* kfunc sets live in the module's BTF and go away with it */
}

module_init(xdpkv_init);
module_exit(xdpkv_exit);

MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("xdpkv: per-packet key-value store and hint block as XDP/TC kfuncs");
MODULE_VERSION("0.1.0");
