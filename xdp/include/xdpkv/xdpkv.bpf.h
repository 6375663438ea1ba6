/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * xdpkv inline BPF library: a per-packet key-value store in the XDP metadata
 * area, implemented directly on data_meta (no kernel module, no maps, no
 * helper calls on the read path). Format: docs/FORMAT.md, arithmetic:
 * <xdpkv/format.h>. API reference: docs/API.md.
 *
 * Include after vmlinux.h (or <linux/bpf.h>) and <bpf/bpf_helpers.h>.
 *
 *   int xdpkv_get(struct xdp_md *ctx, __u64 key, void *val, __u32 len);
 *   int xdpkv_set(struct xdp_md *ctx, __u64 key, const void *val, __u32 len, __u64 flags);
 *   int xdpkv_del(struct xdp_md *ctx, __u64 key);
 *   int xdpkv_has(struct xdp_md *ctx, __u64 key);
 *   int xdpkv_set_many(struct xdp_md *ctx, const struct xdpkv_kv *kv, n, __u64 flags);
 *   int xdpkv_get_many(struct xdp_md *ctx, struct xdpkv_kv *kv, n);
 *   int xdpkv_set_origin(ctx, mark); xdpkv_skb_origin_ok(skb, mark); xdpkv_buf_origin_ok(...)
 *
 * Reading and writing follow the rules of the verifier and of clang 14:
 *  - every access is computed from data_meta plus a bounded offset and
 *    checked against data, because `data - n` accesses are rejected; the
 *    metadata length is hidden from clang (xdpkv__opaque) so that it cannot
 *    fold `meta + (data - meta) - 16` back into `data - 16`;
 *  - set and del are global BPF functions: the verifier checks each once,
 *    whatever the number of call sites, and a program does not grow with
 *    every call; get and has are inline (the hot path);
 *  - values are moved by constant distances (one loop per size delta), so
 *    a source and its destination share one range check.
 * set and del call bpf_xdp_adjust_meta: reload ctx->data / ctx->data_meta
 * after them, as after any helper that changes packet data.
 *
 * Opt-in fast path: define XDPKV_FAST_LAYOUT before including this header
 * and, before load, fill the read-only `xdpkv_fast_layout` with
 * xdpkv_layout_fill(&rodata->xdpkv_fast_layout, hi, lo) for the header a
 * producer writes. A store whose header equals it is read with two compares
 * and a table lookup instead of the SWAR pass; any other store takes the
 * general path, so a wrong guess costs speed, never correctness.
 */
#ifndef XDPKV_BPF_H
#define XDPKV_BPF_H

#include <xdpkv/format.h>

#if __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "xdpkv: the store keeps typed values little-endian; big-endian BPF targets are not supported yet"
#endif

/* A value whose provenance the compiler must forget (see above). */
#define xdpkv__opaque(v) ({ asm volatile("" : "+r"(v)); })

/* Where a store is read from: a constant argument of the shared cores. */
#define XDPKV__BUF 0 /* a copied area (tracing): base = buffer, no end pointer */
#define XDPKV__XDP 1 /* struct xdp_md: data_meta .. data */
#define XDPKV__SKB 2 /* struct __sk_buff: data_meta .. data (TC) */

#if defined(XDPKV_FAST_LAYOUT) && !defined(XDPKV_BACKEND_KFUNC)
/*
 * Filled by the loader with xdpkv_layout_fill() (<xdpkv/format.h>); until
 * then it is the layout of an empty store, which is correct, if of no help.
 */
const volatile struct xdpkv_layout xdpkv_fast_layout = {
	.extent = XDPKV_HDR_SIZE,
	.end = { [0 ... XDPKV_NKEYS - 1] = XDPKV_HDR_SIZE },
};
#endif

/* ---- reading a store (both backends: copied areas; inline: packets) ------- */

/*
 * Points *at to the byte `dist` bytes below data, valid for `range` bytes:
 * 1, or 0 (*at untouched). Derived from base (data_meta, or a buffer of
 * XDPKV_META_MAX bytes) so that the verifier sees a non-negative bounded
 * offset, without a NULL test per access on the fast paths; for packets the
 * range is proven against end (= data). Callers only ask for ranges that
 * the validated store guarantees, so 0 is unreachable at run time.
 */
static __always_inline int xdpkv__at_ok(void *base, void *end, __u64 m, __u64 dist, const int range,
					const int pkt, __u8 **at)
{
	__u64 off = m - dist;
	__u8 *p;

	/*
	 * The bound is tested on the register that is added, after the
	 * barrier: tested before it, clang may spill off, test the register
	 * and add the reloaded copy, whose bounds Linux < 6.x's verifier
	 * does not link to the test ("R5 min value is negative" on 6.1).
	 */
	xdpkv__opaque(off); /* base + off, never (base + m) - dist */
	if (off > XDPKV_META_MAX - range)
		return 0;
	p = (__u8 *)base + off;
	if (pkt) {
		/*
		 * Opaque p: clang must test p + range > end on this very p (one
		 * verifier id), not meta + m > end nor p > end - range.
		 */
		__u8 *q;

		xdpkv__opaque(p);
		q = p + range;
		xdpkv__opaque(q);
		if ((void *)q > end)
			return 0;
	}
	*at = p;
	return 1;
}

/* xdpkv__at_ok as a pointer, NULL when out of range. */
static __always_inline __u8 *xdpkv__at(void *base, void *end, __u64 m, __u64 dist, const int range,
				       const int pkt)
{
	__u8 *p;

	return xdpkv__at_ok(base, end, m, dist, range, pkt, &p) ? p : NULL;
}

/* State of a store after its header has been read and validated. */
struct xdpkv__hdr {
	__u64 hi;
	__u64 lo;
	__u32 end; /* key's value start below data: 16 + P(k) + len(k) */
	__u32 len; /* key's length, 0 if absent */
};

/*
 * Read the header at data - 16 and key's length from it. Returns 0 (h->hi,
 * h->lo, h->len filled), 1 for an empty area (M == 0) or -EBADMSG.
 */
static __always_inline int xdpkv__load(void *base, void *end, __u64 m, __u32 key,
				       struct xdpkv__hdr *h, const int pkt)
{
	__u64 *hp;

	if (m == 0)
		return 1;
	if (m < XDPKV_HDR_SIZE)
		return -EBADMSG;
	hp = (__u64 *)xdpkv__at(base, end, m, XDPKV_HDR_SIZE, XDPKV_HDR_SIZE, pkt);
	if (!hp)
		return -EBADMSG;
	h->hi = hp[0];
	h->lo = hp[1];
	h->len = xdpkv_key_len(h->hi, h->lo, key);
	return 0;
}

/*
 * Units (2 bytes) of the up to 7 keys below key in key's own header byte:
 * their bits spread one to a byte (a multiply), then summed (another).
 */
static __always_inline __u32 xdpkv__units_in_byte(__u64 hi, __u64 lo, __u32 key)
{
	__u32 shift = key & 56;
	__u64 part = (1ULL << (key & 7)) - 1;
	__u64 l = ((lo >> shift) & part) * 0x0002040810204081ULL & XDPKV_RUNNING_SUM;
	__u64 h = ((hi >> shift) & part) * 0x0002040810204081ULL & XDPKV_RUNNING_SUM;

	return (__u32)(((l + 2 * h + (l & h)) * XDPKV_RUNNING_SUM) >> 56);
}

/*
 * Validate a loaded header against m and locate key: h->end. 0 or -EBADMSG.
 * One SWAR pass gives the units of every header byte; their running totals
 * (one multiply) give the store's size (top byte) and the units of the bytes
 * below key's byte; the keys of key's byte below it are added apart. The
 * fast layout, when it matches, replaces all of it by a table load.
 */
/* A header checked against m once, for locating any number of keys in it. */
struct xdpkv__store {
	__u64 hi;
	__u64 lo;
	__u64 r;  /* running unit totals per header byte (general path) */
	int fast; /* the header is xdpkv_fast_layout's: r unused */
};

/* st->fast: (hi, lo) is xdpkv_fast_layout's and the area holds its extent. */
static __always_inline int xdpkv__fast_match(__u64 m, struct xdpkv__store *st)
{
#if defined(XDPKV_FAST_LAYOUT) && !defined(XDPKV_BACKEND_KFUNC)
	st->fast = st->hi == xdpkv_fast_layout.hi && st->lo == xdpkv_fast_layout.lo &&
		   m >= xdpkv_fast_layout.extent;
#else
	st->fast = 0;
#endif
	return st->fast;
}

/* Validate (hi, lo) against m: 0 (st->r or st->fast set) or -EBADMSG. */
static __always_inline int xdpkv__check(__u64 m, struct xdpkv__store *st)
{
	__u32 total;

	if (xdpkv__fast_match(m, st))
		return 0;
	st->r = xdpkv_byte_units(st->hi, st->lo) * XDPKV_RUNNING_SUM;
	total = (__u32)(st->r >> 56); /* 0 for 256 units: all 64 keys 8 bytes */
	if (xdpkv_align4(XDPKV_HDR_SIZE + 2 * total) > m || (st->hi & st->lo) == ~0ULL)
		return -EBADMSG;
	return 0;
}

/* Start of key's value below data (16 + P(key) + len) in a checked store; key <= 63. */
static __always_inline __u32 xdpkv__end(const struct xdpkv__store *st, __u32 key, __u32 len)
{
	__u32 below;

#if defined(XDPKV_FAST_LAYOUT) && !defined(XDPKV_BACKEND_KFUNC)
	if (st->fast)
		return xdpkv_fast_layout.end[key & XDPKV_MAX_KEY];
#endif
	below = (__u32)(((st->r << 8) >> (key & 56)) & 0xff) +
		xdpkv__units_in_byte(st->hi, st->lo, key);
	return XDPKV_HDR_SIZE + 2 * below + len;
}

static __always_inline int xdpkv__locate(__u64 m, __u32 key, struct xdpkv__hdr *h)
{
	struct xdpkv__store st = { .hi = h->hi, .lo = h->lo };

	if (xdpkv__check(m, &st))
		return -EBADMSG;
	h->end = xdpkv__end(&st, key, h->len);
	return 0;
}

/* Load, validate, locate: 0 (h filled), 1 for an empty area or -EBADMSG. */
static __always_inline int xdpkv__find(void *base, void *end, __u64 m, __u32 key,
				       struct xdpkv__hdr *h, const int pkt)
{
	int ret = xdpkv__load(base, end, m, key, h, pkt);

	return ret ? ret : xdpkv__locate(m, key, h);
}

/* The value of `len` (2, 4 or 8) bytes at p, zero-extended. */
static __always_inline __u64 xdpkv__val_load(const __u8 *p, __u32 len)
{
	if (len == 8)
		return *(const __u64 *)p;
	if (len == 4)
		return *(const __u32 *)p;
	return *(const __u16 *)p;
}

/* Store the low `len` (2, 4 or 8; 0: nothing) bytes of val at p. */
static __always_inline void xdpkv__val_store(__u8 *p, __u64 val, __u64 len)
{
	if (len == 8)
		*(__u64 *)p = val;
	else if (len == 4)
		*(__u32 *)p = (__u32)val;
	else if (len == 2)
		*(__u16 *)p = (__u16)val;
}

/* get on any (base, end, m): packet (pkt = 1) or a copied buffer (pkt = 0). */
static __always_inline int xdpkv__get(void *base, void *end, __u64 m, __u64 key, void *val,
				      __u32 len, const int pkt)
{
	struct xdpkv__hdr h;
	__u64 v;
	__u8 *p;
	int ret;

	if (key > XDPKV_MAX_KEY)
		return -EINVAL;
	ret = xdpkv__find(base, end, m, key, &h, pkt);
	if (ret)
		return ret > 0 ? -ENOENT : ret;
	if (!h.len)
		return -ENOENT;
	if (h.len > len)
		return -ENOSPC;
	/* Every value lies at least 18 bytes below data: an 8-byte load fits. */
	p = xdpkv__at(base, end, m, h.end, 8, pkt);
	if (!p)
		return -EBADMSG;
	/* memcpy: the caller's buffer may be any stack slot, of any alignment */
	v = xdpkv__val_load(p, h.len);
	if (h.len == 8)
		__builtin_memcpy(val, &v, 8);
	else if (h.len == 4)
		__builtin_memcpy(val, &v, 4);
	else
		__builtin_memcpy(val, &v, 2);
	return h.len;
}

static __always_inline int xdpkv__has(void *base, void *end, __u64 m, __u64 key, const int pkt)
{
	struct xdpkv__hdr h;
	int ret;

	if (key > XDPKV_MAX_KEY)
		return -EINVAL;
	ret = xdpkv__find(base, end, m, key, &h, pkt);
	if (ret)
		return ret > 0 ? 0 : ret;
	return h.len != 0;
}

/* ---- several keys in one call (hand-off between programs) ------------------ */

/* struct xdpkv_kv and XDPKV_MANY_MAX: <xdpkv/format.h> (the module reads them too). */

/*
 * stmt for i = 0 .. n - 1 (n a constant <= 8), written out: clang 14 leaves
 * some `#pragma unroll` loops of these calls rolled, and a rolled loop reads
 * the kv array at variable stack offsets, about 3 ns per key.
 */
#define XDPKV__ONE(n, k, stmt)             \
	do {                               \
		if ((k) < (n)) {           \
			const int i = (k); \
			stmt;              \
		}                          \
	} while (0)
#define XDPKV__EACH(n, stmt)            \
	do {                            \
		XDPKV__ONE(n, 0, stmt); \
		XDPKV__ONE(n, 1, stmt); \
		XDPKV__ONE(n, 2, stmt); \
		XDPKV__ONE(n, 3, stmt); \
		XDPKV__ONE(n, 4, stmt); \
		XDPKV__ONE(n, 5, stmt); \
		XDPKV__ONE(n, 6, stmt); \
		XDPKV__ONE(n, 7, stmt); \
	} while (0)
/* ret = expr for each i while ret is 0: the first error stops the rest. */
#define XDPKV__EACH_UNTIL(n, ret, expr) XDPKV__EACH(n, (ret) = (ret) ? (ret) : (expr))

/* 0 if n is in 1..XDPKV_MANY_MAX and every key <= 63, else -EINVAL. */
static __always_inline int xdpkv__many_keys_ok(const struct xdpkv_kv *kv, const int n)
{
	int ret = 0;

	if (n < 1 || n > XDPKV_MANY_MAX)
		return -EINVAL;
	XDPKV__EACH_UNTIL(n, ret, kv[i].key > XDPKV_MAX_KEY ? -EINVAL : 0);
	return ret;
}

/* The low `len` (2, 4 or 8) bytes of a u64, without a branch on len. */
static __always_inline __u64 xdpkv__len_mask(__u32 len)
{
	return ~0ULL >> ((64 - 8 * len) & 63);
}

/*
 * The value of `len` (2, 4 or 8) bytes at p, zero-extended: one 8-byte
 * load, masked. Every value lies at least 18 bytes below data, so the load
 * stays in the store.
 */
static __always_inline __u64 xdpkv__val_load_masked(const __u8 *p, __u32 len)
{
	return *(const __u64 *)p & xdpkv__len_mask(len);
}

/* kv's value at `dist` bytes below data, of len (> 0) bytes: 1, or 0 (unreachable). */
static __always_inline int xdpkv__get_at(void *base, void *end, __u64 m, __u32 dist, __u32 len,
					 struct xdpkv_kv *kv, const int pkt)
{
	__u8 *p;

	if (!xdpkv__at_ok(base, end, m, dist, 8, pkt, &p)) { /* unreachable in a checked store */
		kv->len = 0;
		return 0;
	}
	kv->val = xdpkv__val_load_masked(p, len);
	return 1;
}

/* One key of get_many in a checked store: 1 (found, kv filled) or 0 (absent). */
static __always_inline int xdpkv__get_one(void *base, void *end, __u64 m,
					  const struct xdpkv__store *st, struct xdpkv_kv *kv,
					  const int pkt)
{
	__u32 k = kv->key & XDPKV_MAX_KEY, len;

#if defined(XDPKV_FAST_LAYOUT) && !defined(XDPKV_BACKEND_KFUNC)
	/* The header is the layout's: length and place are two table loads. */
	if (st->fast) {
		len = xdpkv_fast_layout.len[k];
		kv->len = len;
		return len ? xdpkv__get_at(base, end, m, xdpkv_fast_layout.end[k], len, kv, pkt) :
			     0;
	}
#endif
	len = xdpkv_key_len(st->hi, st->lo, k);
	kv->len = len;
	return len ? xdpkv__get_at(base, end, m, xdpkv__end(st, k, len), len, kv, pkt) : 0;
}

/* A kv array checked against the hand-off's shape (xdpkv__dense). */
struct xdpkv__dense {
	__u64 want;		   /* the keys asked for */
	__u64 bad;		   /* nonzero: not ascending (set: or not as stored) */
	__u32 len[XDPKV_MANY_MAX]; /* kv[i]'s stored length */
	__u32 at[XDPKV_MANY_MAX];  /* kv[i]'s value start below data, if the shape holds */
	__u32 s;		   /* 16 + the lengths so far */
};

static __always_inline void xdpkv__dense_one(__u64 hi, __u64 lo, const struct xdpkv_kv *kv,
					     const int i, struct xdpkv__dense *d)
{
	__u64 k = kv[i].key & XDPKV_MAX_KEY;

	d->want |= 1ULL << k;
	if (i)
		d->bad |= ~(kv[i - 1].key - k) >> 63;
	d->len[i] = xdpkv_key_len(hi, lo, k);
	d->s += d->len[i];
	d->at[i] = d->s;
}

/*
 * The hand-off's shape: kv's keys ascending and exactly the store's lowest
 * keys (all present; the store may hold more above them). Their places then
 * follow from their own lengths, and the store's size needs a pass only
 * over the keys above (none when the store holds just these). 0 (d filled),
 * the store's error, or 1 when the shape differs (the general path then
 * answers, so both agree on every input).
 */
static __always_inline int xdpkv__dense(__u64 m, __u64 hi, __u64 lo, const struct xdpkv_kv *kv,
					const int n, struct xdpkv__dense *d)
{
	__u64 below = (2ULL << (kv[n - 1].key & XDPKV_MAX_KEY)) - 1; /* keys 0..last (63: all) */

	d->s = XDPKV_HDR_SIZE;
	XDPKV__EACH(n, xdpkv__dense_one(hi, lo, kv, i, d));
	if (d->bad || ((hi | lo) & below) != d->want)
		return 1;
	if ((hi | lo) & ~below)
		d->s += xdpkv_bytes_in(hi, lo, ~below);
	if (xdpkv_align4(d->s) > m || (hi & lo) == ~0ULL)
		return -EBADMSG;
	return 0;
}

/* kv[i] from d->at[i] (inside a checked store): 1, or 0 (unreachable). */
static __always_inline int xdpkv__dense_get(void *base, void *end, __u64 m, struct xdpkv_kv *kv,
					    const int i, const struct xdpkv__dense *d,
					    const int pkt)
{
	kv[i].len = d->len[i];
	return xdpkv__get_at(base, end, m, d->at[i], d->len[i], &kv[i], pkt);
}

/*
 * get_many on any (base, end, m), keys already checked: one header load and
 * one check for all keys. The number of keys found or the store's error.
 */
static __always_inline int xdpkv__get_many(void *base, void *end, __u64 m, struct xdpkv_kv *kv,
					   const int n, const int pkt)
{
	struct xdpkv__store st = {}; /* an empty area has no r: the verifier wants one */
	struct xdpkv__hdr h;
	int ret, found = 0;

	ret = xdpkv__load(base, end, m, 0, &h, pkt);
	if (ret < 0)
		return ret;
	st.hi = ret ? 0 : h.hi; /* an empty area: every key absent */
	st.lo = ret ? 0 : h.lo;
	if (!ret && !xdpkv__fast_match(m, &st)) {
		struct xdpkv__dense d = {};

		ret = xdpkv__dense(m, st.hi, st.lo, kv, n, &d);
		if (ret < 0)
			return ret;
		if (!ret) {
			XDPKV__EACH(n, found += xdpkv__dense_get(base, end, m, kv, i, &d, pkt));
			return found;
		}
		if (xdpkv__check(m, &st))
			return -EBADMSG;
	}
	XDPKV__EACH(n, found += xdpkv__get_one(base, end, m, &st, &kv[i], pkt));
	return found;
}

#ifdef XDPKV_BACKEND_KFUNC
#include <xdpkv/xdpkv_kfunc.bpf.h>
#else

#define XDPKV_API_VERSION 1

#ifdef XDPKV_STRICT
/*
 * Opt-in strict mode (docs/REGISTRY.md): set refuses a key that is not in
 * the key registry (-EPERM) or is registered with another size (-EINVAL),
 * at the cost of one array lookup. Needs a loader that points
 * xdpkv_registry at DIR/registry before load
 * (xdpkv::bind_registry); unbound, the map is empty and every set is refused.
 */
#include <xdpkv/registry.h>

XDPKV_REGISTRY_MAP_DEF;

static __always_inline int xdpkv__strict_check(__u64 key, __u64 len)
{
	__u32 zero = 0;
	struct xdpkv_registry *r = bpf_map_lookup_elem(&xdpkv_registry, &zero);

	if (!r || r->magic != XDPKV_REGISTRY_MAGIC || !((r->used >> key) & 1))
		return -EPERM;
	if (r->keys[key & XDPKV_MAX_KEY].size != len)
		return -EINVAL;
	return 0;
}
#endif

/*
 * Load data_meta and data from an xdp_md or __sk_buff. Opaque, so that clang
 * neither sinks the two loads into a shared block that picks the field
 * offset at run time (the verifier refuses a modified ctx pointer) nor
 * reasons about their difference.
 */
#define XDPKV__AREA(ctx, start, end)                      \
	do {                                              \
		(end) = (void *)(long)(ctx)->data;        \
		(start) = (void *)(long)(ctx)->data_meta; \
		xdpkv__opaque(end);                       \
		xdpkv__opaque(start);                     \
	} while (0)

/*
 * Metadata length from a (meta, data) pair of packet pointers; negative
 * errno when the driver has no metadata support (data_meta > data) or the
 * length is beyond what any kernel allows.
 */
static __always_inline long xdpkv__meta_len(void *meta, void *data)
{
	long m = (long)data - (long)meta;

	if (m < 0)
		return -EOPNOTSUPP;
	if (m > XDPKV_META_MAX)
		return -EBADMSG;
	xdpkv__opaque(m);
	return m;
}

/* data_meta and data of a context of `kind` (XDPKV__XDP or XDPKV__SKB); the length or -errno. */
static __always_inline long xdpkv__area(void *ctx, const int kind, void **meta, void **data)
{
	void *end, *start;

	if (kind == XDPKV__SKB)
		XDPKV__AREA((struct __sk_buff *)ctx, start, end);
	else
		XDPKV__AREA((struct xdp_md *)ctx, start, end);
	*meta = start;
	*data = end;
	return xdpkv__meta_len(start, end);
}

/* get and has on a packet's own metadata: one core for XDP and TC. */
static __always_inline int xdpkv__ctx_get(void *ctx, const int kind, __u64 key, void *val,
					  __u32 len)
{
	void *data, *meta;
	long m = xdpkv__area(ctx, kind, &meta, &data);

	if (key > XDPKV_MAX_KEY)
		return -EINVAL;
	if (m < 0)
		return m;
	return xdpkv__get(meta, data, m, key, val, len, 1);
}

static __always_inline int xdpkv__ctx_has(void *ctx, const int kind, __u64 key)
{
	void *data, *meta;
	long m = xdpkv__area(ctx, kind, &meta, &data);

	if (key > XDPKV_MAX_KEY)
		return -EINVAL;
	if (m < 0)
		return m;
	return xdpkv__has(meta, data, m, key, 1);
}

static __always_inline int xdpkv__ctx_get_many(void *ctx, const int kind, struct xdpkv_kv *kv,
					       const int n)
{
	void *data, *meta;
	long m = xdpkv__area(ctx, kind, &meta, &data);

	int ret = xdpkv__many_keys_ok(kv, n);

	if (ret)
		return ret;
	if (m < 0)
		return m;
	return xdpkv__get_many(meta, data, m, kv, n, 1);
}

/* ---- XDP ---------------------------------------------------------------- */

/* Value length (2, 4 or 8) copied to val, or -errno; val is untouched on error. */
static __always_inline int xdpkv_get(struct xdp_md *ctx, __u64 key, void *val, __u32 len)
{
	return xdpkv__ctx_get(ctx, XDPKV__XDP, key, val, len);
}

/* 1 if present, 0 if absent, or -errno. */
static __always_inline int xdpkv_has(struct xdp_md *ctx, __u64 key)
{
	return xdpkv__ctx_has(ctx, XDPKV__XDP, key);
}

/*
 * Moving values: n bytes starting src bytes above data_meta move by a
 * constant distance d, down (toward data_meta, ascending copy) or up
 * (descending copy). One function per distance keeps source and
 * destination under a single range check. Bounds are rechecked so that
 * every helper is safe for any argument.
 */
#define XDPKV__MAX_CHUNKS (XDPKV_META_MAX / 8 + 1)

/* One w-byte word between lo_off and lo_off + d above data_meta: 0 or -EBADMSG. */
static __always_inline int xdpkv__copy(void *meta, void *data, __u64 lo_off, const int d,
				       const int w, const int down)
{
	__u8 *b, *e, *dst, *src;

	if (lo_off > XDPKV_META_MAX - d - w)
		return -EBADMSG;
	b = (__u8 *)meta + lo_off;
	xdpkv__opaque(b);
	e = b + d + w;
	xdpkv__opaque(e);
	if ((void *)e > data)
		return -EBADMSG;
	dst = down ? b : b + d;
	src = down ? b + d : b;
	if (w == 8)
		*(__u64 *)dst = *(__u64 *)src;
	else if (w == 4)
		*(__u32 *)dst = *(__u32 *)src;
	else
		*(__u16 *)dst = *(__u16 *)src;
	return 0;
}

/* [src, src + n) -> [src - d, src - d + n), the offset walking upward. */
static __always_inline int xdpkv__move_down(void *meta, void *data, __u32 src, __u32 n, const int d)
{
	__u32 o = src - d, left = n;
	int ret;

	for (int i = 0; i < XDPKV__MAX_CHUNKS; i++) {
		if (left < 8)
			break;
		ret = xdpkv__copy(meta, data, o, d, 8, 1);
		if (ret)
			return ret;
		o += 8;
		left -= 8;
	}
	if (left & 4) {
		ret = xdpkv__copy(meta, data, o, d, 4, 1);
		if (ret)
			return ret;
		o += 4;
	}
	if (left & 2)
		return xdpkv__copy(meta, data, o, d, 2, 1);
	return 0;
}

/* [src, src + n) -> [src + d, src + d + n), the offset walking downward from the top. */
static __always_inline int xdpkv__move_up(void *meta, void *data, __u32 src, __u32 n, const int d)
{
	__u32 top = src + n, left = n;
	int ret;

	for (int i = 0; i < XDPKV__MAX_CHUNKS; i++) {
		if (left < 8)
			break;
		top -= 8;
		ret = xdpkv__copy(meta, data, top, d, 8, 0);
		if (ret)
			return ret;
		left -= 8;
	}
	if (left & 4) {
		top -= 4;
		ret = xdpkv__copy(meta, data, top, d, 4, 0);
		if (ret)
			return ret;
	}
	if (left & 2)
		return xdpkv__copy(meta, data, top - 2, d, 2, 0);
	return 0;
}

__noinline int xdpkv__move(struct xdp_md *ctx, __u32 src, __u32 n, int dist)
{
	void *data, *meta;
	long m = xdpkv__area(ctx, XDPKV__XDP, &meta, &data);

	if (m < 0 || n == 0)
		return m < 0 ? m : 0;
	if (src > (__u32)m || n > (__u32)m - src || (n & 1))
		return -EBADMSG;
	switch (dist) {
	case -8:
		return src < 8 ? -EBADMSG : xdpkv__move_down(meta, data, src, n, 8);
	case -6:
		return src < 6 ? -EBADMSG : xdpkv__move_down(meta, data, src, n, 6);
	case -4:
		return src < 4 ? -EBADMSG : xdpkv__move_down(meta, data, src, n, 4);
	case -2:
		return src < 2 ? -EBADMSG : xdpkv__move_down(meta, data, src, n, 2);
	case 2:
		return xdpkv__move_up(meta, data, src, n, 2);
	case 4:
		return xdpkv__move_up(meta, data, src, n, 4);
	case 6:
		return xdpkv__move_up(meta, data, src, n, 6);
	case 8:
		return xdpkv__move_up(meta, data, src, n, 8);
	case 0:
		return 0;
	default:
		return -EINVAL;
	}
}

/*
 * Resize the store for a set or del of key k whose value goes from `old` to
 * `len` bytes (delta = len - old): the store (S bytes, extent e) becomes S2
 * bytes, extent e2. The T bytes of the keys above k, the lowest S bytes below
 * data, shift by delta toward data_meta; the foreign bytes (below the store)
 * stay at data_meta; the new padding is zeroed. Grow first then move, or move
 * first then shrink. Header and value are written by the caller.
 */
static __always_inline int xdpkv__resize(struct xdp_md *ctx, __u32 m, __u32 e, __u32 e2, __u32 s,
					 __u32 s2, __u32 t, int delta)
{
	__u32 f = m - e;
	int grow = (int)e2 - (int)e;
	int ret;

	if (grow > 0) {
		if (bpf_xdp_adjust_meta(ctx, -grow))
			return -ENOSPC;
		m += grow;
		ret = xdpkv__move(ctx, grow, f, -grow);
		if (!ret)
			ret = xdpkv__move(ctx, m - s, t, -delta);
	} else {
		ret = xdpkv__move(ctx, m - s, t, -delta);
		if (!ret && grow < 0) {
			ret = xdpkv__move(ctx, 0, f, -grow);
			if (!ret && bpf_xdp_adjust_meta(ctx, -grow))
				ret = -EBADMSG;
			m += grow;
		}
	}
	if (ret)
		return ret;
	if (e2 != s2) {
		void *data, *meta;
		__u8 *pad;

		xdpkv__area(ctx, XDPKV__XDP, &meta, &data);
		pad = xdpkv__at(meta, data, m, e2, 2, 1);
		if (!pad)
			return -EBADMSG;
		*(__u16 *)pad = 0;
	}
	return 0;
}

/* Write the header and (len > 0) the value whose start lies `end` below data. */
static __always_inline int xdpkv__commit(struct xdp_md *ctx, __u64 hi, __u64 lo, __u32 end,
					 __u64 val, __u64 len)
{
	void *data, *meta;
	long m = xdpkv__area(ctx, XDPKV__XDP, &meta, &data);
	__u64 *hp;
	__u8 *p;

	if (m < 0)
		return -EBADMSG;
	hp = (__u64 *)xdpkv__at(meta, data, m, XDPKV_HDR_SIZE, XDPKV_HDR_SIZE, 1);
	p = xdpkv__at(meta, data, m, end, 8, 1);
	if (!hp || (len && !p))
		return -EBADMSG;
	hp[0] = hi;
	hp[1] = lo;
	xdpkv__val_store(p, val, len);
	return 0;
}

/* set with the value already in the low `len` bytes of val (little-endian). */
__noinline int xdpkv__set(struct xdp_md *ctx, __u64 key, __u64 val, __u64 len, __u64 flags)
{
	void *data, *meta;
	long m = xdpkv__area(ctx, XDPKV__XDP, &meta, &data);
	struct xdpkv__hdr h = {};
	__u32 s, e, s2;
	int ret;

	ret = xdpkv_check_set_args(key, len, flags);
	if (ret)
		return ret;
#ifdef XDPKV_STRICT
	ret = xdpkv__strict_check(key, len);
	if (ret)
		return ret;
#endif
	if (m < 0)
		return m;
	ret = xdpkv__find(meta, data, m, key, &h, 1);
	if (ret < 0)
		return ret;
	if (ret > 0) { /* M == 0: the first set creates the store */
		h.hi = h.lo = 0;
		h.len = 0;
		h.end = XDPKV_HDR_SIZE;
	}
	ret = xdpkv_check_set_presence(h.len, flags);
	if (ret)
		return ret;
	if (h.len == len) /* overwrite in place: nothing moves */
		return xdpkv__commit(ctx, h.hi, h.lo, h.end, val, len);

	s = xdpkv_store_size(h.hi, h.lo);
	e = m ? xdpkv_align4(s) : 0;
	s2 = s - h.len + len;
	ret = xdpkv__resize(ctx, m, e, xdpkv_align4(s2), s, s2, s - h.end, (int)len - (int)h.len);
	if (ret)
		return ret;
	xdpkv_hdr_put(&h.hi, &h.lo, key, len);
	return xdpkv__commit(ctx, h.hi, h.lo, h.end - h.len + len, val, len);
}

__noinline int xdpkv__del(struct xdp_md *ctx, __u64 key)
{
	void *data, *meta;
	long m = xdpkv__area(ctx, XDPKV__XDP, &meta, &data);
	struct xdpkv__hdr h = {};
	__u32 s, s2;
	int ret;

	if (key > XDPKV_MAX_KEY)
		return -EINVAL;
	if (m < 0)
		return m;
	ret = xdpkv__find(meta, data, m, key, &h, 1);
	if (ret)
		return ret > 0 ? -ENOENT : ret;
	if (!h.len)
		return -ENOENT;
	s = xdpkv_store_size(h.hi, h.lo);
	s2 = s - h.len;
	ret = xdpkv__resize(ctx, m, xdpkv_align4(s), xdpkv_align4(s2), s, s2, s - h.end,
			    -(int)h.len);
	if (ret)
		return ret;
	xdpkv_hdr_put(&h.hi, &h.lo, key, 0);
	return xdpkv__commit(ctx, h.hi, h.lo, 0, 0, 0);
}

/*
 * The common write, a same-size overwrite of a present key, inline: it reads
 * the header like get and stores the value, with no call and no header
 * rewrite. Returns 1 when it did not apply (absent, other size, NOEXIST,
 * anything unusual): the global xdpkv__set then decides, from scratch.
 */
static __always_inline int xdpkv__overwrite(struct xdp_md *ctx, __u64 key, __u64 val, __u32 len,
					    __u64 flags)
{
	void *data, *meta;
	long m = xdpkv__area(ctx, XDPKV__XDP, &meta, &data);
	struct xdpkv__hdr h;
	__u8 *p;

	if (xdpkv_check_set_args(key, len, flags) || (flags & XDPKV_F_NOEXIST) || m <= 0)
		return 1;
#ifdef XDPKV_STRICT
	if (xdpkv__strict_check(key, len))
		return 1; /* xdpkv__set reports it */
#endif
	/* Header bits first: an insert costs two loads here, not the SWAR pass. */
	if (xdpkv__load(meta, data, m, key, &h, 1) || h.len != len || xdpkv__locate(m, key, &h))
		return 1;
	p = xdpkv__at(meta, data, m, h.end, 8, 1);
	if (!p)
		return 1;
	xdpkv__val_store(p, val, len);
	return 0;
}

/* 0 or -errno; the value is read from val (len bytes: 2, 4 or 8). */
static __always_inline int xdpkv_set(struct xdp_md *ctx, __u64 key, const void *val, __u32 len,
				     __u64 flags)
{
	__u64 v = 0;

	if (len == 8)
		__builtin_memcpy(&v, val, 8);
	else if (len == 4)
		__builtin_memcpy(&v, val, 4);
	else if (len == 2)
		__builtin_memcpy(&v, val, 2);
#ifndef XDPKV_NO_INLINE_OVERWRITE
	if (!xdpkv__overwrite(ctx, key, v, len, flags))
		return 0;
#endif
	return xdpkv__set(ctx, key, v, len, flags);
}

/* 0 or -errno. */
static __always_inline int xdpkv_del(struct xdp_md *ctx, __u64 key)
{
	return xdpkv__del(ctx, key);
}

/*
 * set_many: check every key first (in order, the checks of n single sets),
 * then write in one of three ways:
 *  - append: no store yet, or keys ascending and all above the store's
 *    highest key, and no foreign bytes below it: one grow, the values and
 *    one header write (nothing moves);
 *  - in place: every key present with the same size: the values only;
 *  - otherwise the single sets, the shrinking ones first, after proving the
 *    final size fits: nothing is written on error in any of the three.
 */
struct xdpkv__plan {
	struct xdpkv__store st;
	__u64 seen;  /* keys checked so far: a repeated key is -EINVAL */
	__s32 delta; /* store size after - size now */
	__s32 m;     /* metadata length now */
	/*
	 * Nonzero when the path does not apply: computed without branches so
	 * that the verifier follows one path per key, whatever the keys.
	 */
	__u64 not_append;   /* a key not above the one before, or a store key above kv[0] */
	__u64 not_in_place; /* a key absent, or of another size */
};

/* The checks of one single set for kv (args, strict; presence with hdr): 0 or -errno. */
static __always_inline int xdpkv__many_arg(const struct xdpkv_kv *kv, __u64 flags,
					   struct xdpkv__plan *pl)
{
	int ret = xdpkv_check_set_args(kv->key, kv->len, flags);

	if (ret)
		return ret;
#ifdef XDPKV_STRICT
	ret = xdpkv__strict_check(kv->key, kv->len);
	if (ret)
		return ret;
#endif
	if ((pl->seen >> kv->key) & 1)
		return -EINVAL;
	pl->seen |= 1ULL << kv->key;
	return 0;
}

/* The checks of kv[i] (kv[0]'s args are checked first, apart): 0 or -errno. */
static __always_inline int xdpkv__plan_one(const struct xdpkv_kv *kv, const int i, __u64 flags,
					   struct xdpkv__plan *pl)
{
	__u32 cur = xdpkv_key_len(pl->st.hi, pl->st.lo, kv[i].key & XDPKV_MAX_KEY);
	int ret = i ? xdpkv__many_arg(&kv[i], flags, pl) : 0;

	if (!ret)
		ret = xdpkv_check_set_presence(cur, flags);
	if (ret)
		return ret;
	pl->delta += (int)kv[i].len - (int)cur;
	pl->not_in_place |= cur ^ kv[i].len;
	if (i) /* keys <= 63: the difference is negative iff ascending */
		pl->not_append |= ~(kv[i - 1].key - kv[i].key) >> 63;
	return 0;
}

/* Every check of set_many, and how to write: 0 (pl filled) or -errno. */
static __always_inline int xdpkv__many_plan(void *meta, void *data, long m,
					    const struct xdpkv_kv *kv, const int n, __u64 flags,
					    struct xdpkv__plan *pl)
{
	struct xdpkv__hdr h;
	int ret;

	if (n < 1 || n > XDPKV_MANY_MAX)
		return -EINVAL;
	ret = xdpkv__many_arg(&kv[0], flags, pl); /* a single set checks its args first */
	if (ret)
		return ret;
	if (m < 0)
		return m;
	ret = xdpkv__load(meta, data, m, 0, &h, 1);
	if (ret < 0)
		return ret;
	pl->st.hi = ret ? 0 : h.hi;
	pl->st.lo = ret ? 0 : h.lo;
	if (!ret && xdpkv__check(m, &pl->st))
		return -EBADMSG;
	pl->not_append = (pl->st.hi | pl->st.lo) >> kv[0].key;
	pl->not_in_place = !m;
	pl->m = m;
	ret = 0;
	XDPKV__EACH_UNTIL(n, ret, xdpkv__plan_one(kv, i, flags, pl));
	return ret;
}

/* Store kv's value `end` bytes below data (a checked position): 0 or -EBADMSG. */
static __always_inline int xdpkv__put_val(void *meta, void *data, long m, __u32 end,
					  const struct xdpkv_kv *kv)
{
	__u8 *p = xdpkv__at(meta, data, m, end, 8, 1);

	if (!p)
		return -EBADMSG;
	xdpkv__val_store(p, kv->val, kv->len);
	return 0;
}

/* Value of kv (the next key up) at *end + len below data, its header bits: 0 or -EBADMSG. */
static __always_inline int xdpkv__append_one(void *meta, void *data, long m, __u32 *end,
					     const struct xdpkv_kv *kv, struct xdpkv__plan *pl)
{
	*end += kv->len;
	xdpkv_hdr_put(&pl->st.hi, &pl->st.lo, kv->key & XDPKV_MAX_KEY, kv->len);
	return xdpkv__put_val(meta, data, m, *end, kv);
}

/*
 * Append path: one grow, the values, the header. 1 (nothing done) when
 * foreign bytes lie below the store: they would move by more than the 8
 * bytes xdpkv__move handles, so the single sets move them.
 */
static __always_inline int xdpkv__many_append(struct xdp_md *ctx, long m, const struct xdpkv_kv *kv,
					      const int n, struct xdpkv__plan *pl)
{
	int ret, fresh = !m;
	__u32 s = fresh ? XDPKV_HDR_SIZE : xdpkv_store_size(pl->st.hi, pl->st.lo);
	__u32 s2 = s + pl->delta, e = fresh ? 0 : xdpkv_align4(s), e2 = xdpkv_align4(s2), end = s;
	void *data, *meta;
	__u64 *hp;

	if (m != e)
		return 1;
	if (fresh)
		ret = bpf_xdp_adjust_meta(ctx, -(int)e2) ? -ENOSPC : 0;
	else
		ret = xdpkv__resize(ctx, m, e, e2, s, s2, 0, pl->delta);
	if (ret)
		return ret;
	m = xdpkv__area(ctx, XDPKV__XDP, &meta, &data);
	XDPKV__EACH_UNTIL(n, ret, xdpkv__append_one(meta, data, m, &end, &kv[i], pl));
	if (ret)
		return ret;
	hp = (__u64 *)xdpkv__at(meta, data, m, XDPKV_HDR_SIZE, XDPKV_HDR_SIZE, 1);
	if (!hp)
		return -EBADMSG;
	hp[0] = pl->st.hi;
	hp[1] = pl->st.lo;
	if (e2 != s2 && fresh) {
		/* An empty area had no padding to reuse: zero the new one. */
		__u8 *pad = xdpkv__at(meta, data, m, e2, 2, 1);

		if (!pad)
			return -EBADMSG;
		*(__u16 *)pad = 0;
	}
	return 0;
}

/* In-place path: every key present with its size; the header stays. */
static __always_inline int xdpkv__many_in_place(struct xdp_md *ctx, const struct xdpkv_kv *kv,
						const int n, const struct xdpkv__plan *pl)
{
	void *data, *meta;
	long m = xdpkv__area(ctx, XDPKV__XDP, &meta, &data);
	int ret = 0;

	XDPKV__EACH_UNTIL(n, ret,
			  xdpkv__put_val(meta, data, m,
					 xdpkv__end(&pl->st, kv[i].key & XDPKV_MAX_KEY, kv[i].len),
					 &kv[i]));
	return ret;
}

/* One single set of the sequence, if kv shrinks (pass 0) or not (pass 1): 0 or -errno. */
static __always_inline int xdpkv__seq_one(struct xdp_md *ctx, const struct xdpkv_kv *kv,
					  const int pass, __u64 flags, const struct xdpkv__plan *pl)
{
	__u32 cur = xdpkv_key_len(pl->st.hi, pl->st.lo, kv->key & XDPKV_MAX_KEY);

	if ((kv->len < cur) != !pass)
		return 0;
	return xdpkv__set(ctx, kv->key, kv->val, kv->len, flags);
}

/*
 * Any other mix: the single sets, shrinking ones first so that no step is
 * larger than the store before or after; the growth is tried (and undone)
 * first, so -ENOSPC comes before anything is written.
 */
static __always_inline int xdpkv__many_seq(struct xdp_md *ctx, const struct xdpkv_kv *kv,
					   const int n, __u64 flags, const struct xdpkv__plan *pl)
{
	__u32 s = xdpkv_store_size(pl->st.hi, pl->st.lo);
	int ret, grow = (int)xdpkv_align4(s + pl->delta) - (int)(pl->m ? xdpkv_align4(s) : 0);

	if (grow > 0) {
		if (bpf_xdp_adjust_meta(ctx, -grow))
			return -ENOSPC;
		if (bpf_xdp_adjust_meta(ctx, grow))
			return -EBADMSG;
	}
	ret = 0;
	XDPKV__EACH_UNTIL(n, ret, xdpkv__seq_one(ctx, &kv[i], 0, flags, pl));
	XDPKV__EACH_UNTIL(n, ret, xdpkv__seq_one(ctx, &kv[i], 1, flags, pl));
	return ret;
}

/* Strict mode: every key registered with its size (else the general path says which). */
static __always_inline int xdpkv__many_strict_ok(const struct xdpkv_kv *kv, const int n)
{
#ifdef XDPKV_STRICT
	int ret = 0;

	XDPKV__EACH_UNTIL(n, ret, xdpkv__strict_check(kv[i].key, kv[i].len));
	return !ret;
#else
	return 1;
#endif
}

/*
 * A new store (empty area), keys ascending, every argument valid: the
 * common producer's call (a load balancer tags a fresh packet). Built from
 * the keys alone: one grow, the values, one header; no header is read and
 * no plan is made. 1 when the call does not qualify: the general path then
 * gives the result, errors included, so both agree on every input.
 */
struct xdpkv__fresh {
	__u64 hi;
	__u64 lo;
	__u32 end[XDPKV_MANY_MAX]; /* kv[i]'s value start below data: 16 + P + len */
	__u64 bad;		   /* nonzero: the call does not qualify */
};

/* kv[i]'s header bits and place; bad |= a reason this call is not for the fresh path. */
static __always_inline void xdpkv__fresh_one(const struct xdpkv_kv *kv, const int i,
					     struct xdpkv__fresh *f)
{
	__u64 k = kv[i].key, len = kv[i].len;

	/*
	 * Without branches (BPF has no set-on-condition): a verifier then
	 * follows one path per key, whatever the keys. len in {2, 4, 8}: bits
	 * 2, 4 and 8 of 0x114; code 01 (2), 10 (4), 11 (8).
	 */
	f->bad |= (k >> 6) | (len >> 4) | (((0x114 >> (len & 15)) & 1) ^ 1);
	if (i) /* strictly ascending: the difference is negative */
		f->bad |= ~(kv[i - 1].key - k) >> 63;
	f->hi |= (((len >> 2) | (len >> 3)) & 1) << (k & XDPKV_MAX_KEY);
	f->lo |= (((len >> 1) | (len >> 3)) & 1) << (k & XDPKV_MAX_KEY);
	f->end[i] = (i ? f->end[i - 1] : XDPKV_HDR_SIZE) + (__u32)(len & 15);
}

/*
 * kv[i]'s value as 8 bytes: the bytes above a shorter value belong to the
 * key below it (or the header) and are written after it, so the values go
 * from the lowest address up and the header last.
 */
static __always_inline int xdpkv__put8(void *meta, void *data, long m, __u32 dist,
				       const struct xdpkv_kv *kv)
{
	__u8 *p;

	if (!xdpkv__at_ok(meta, data, m, dist, 8, 1, &p))
		return -EBADMSG;
	*(__u64 *)p = kv->val & xdpkv__len_mask(kv->len);
	return 0;
}

/* The header at data - 16: 0 or -EBADMSG (unreachable in a checked store). */
static __always_inline int xdpkv__put_hdr(void *meta, void *data, long m, __u64 hi, __u64 lo)
{
	__u8 *p;

	if (!xdpkv__at_ok(meta, data, m, XDPKV_HDR_SIZE, XDPKV_HDR_SIZE, 1, &p))
		return -EBADMSG;
	((__u64 *)p)[0] = hi;
	((__u64 *)p)[1] = lo;
	return 0;
}

static __always_inline int xdpkv__many_fresh(struct xdp_md *ctx, const struct xdpkv_kv *kv,
					     const int n, __u64 flags)
{
	struct xdpkv__fresh f = { .bad = flags & ~XDPKV_F_NOEXIST }; /* F_EXIST: -ENOENT */
	void *data, *meta;
	__u8 *pad;
	__u32 s, e;
	long m;
	int ret = 0;

	if (n < 1 || n > XDPKV_MANY_MAX)
		return 1;
	XDPKV__EACH(n, xdpkv__fresh_one(kv, i, &f));
	if (f.bad || !xdpkv__many_strict_ok(kv, n))
		return 1;
	s = f.end[n - 1];
	e = xdpkv_align4(s);
	if (bpf_xdp_adjust_meta(ctx, -(int)e))
		return -ENOSPC;
	m = xdpkv__area(ctx, XDPKV__XDP, &meta, &data);
	if (e != s) { /* the 2 bytes of padding at the low end */
		if (!xdpkv__at_ok(meta, data, m, e, 2, 1, &pad))
			return -EBADMSG;
		*(__u16 *)pad = 0;
	}
	XDPKV__EACH_UNTIL(n, ret, xdpkv__put8(meta, data, m, f.end[n - 1 - i], &kv[n - 1 - i]));
	return ret ? ret : xdpkv__put_hdr(meta, data, m, f.hi, f.lo);
}

/*
 * Same-size overwrite of a store of the fast layout: every key present in
 * it with that size, each given once; places and sizes from its table.
 * 1 when the call does not qualify.
 */
static __always_inline int xdpkv__many_layout_ow(void *meta, void *data, long m,
						 const struct xdpkv_kv *kv, const int n,
						 __u64 flags)
{
#if defined(XDPKV_FAST_LAYOUT) && !defined(XDPKV_BACKEND_KFUNC)
	__u64 bad = flags & ~XDPKV_F_EXIST, seen = 0;
	int ret = 0;

	XDPKV__EACH(n, {
		__u64 k = kv[i].key & XDPKV_MAX_KEY;

		/* present (len 0: absent in the layout), same size, once */
		bad |= (kv[i].key >> 6) | (kv[i].len ^ xdpkv_fast_layout.len[k]) |
		       (((__u64)kv[i].len - 1) >> 63) | ((seen >> k) & 1);
		seen |= 1ULL << k;
	});
	if (bad || !xdpkv__many_strict_ok(kv, n))
		return 1;
	XDPKV__EACH_UNTIL(n, ret,
			  xdpkv__put_val(meta, data, m,
					 xdpkv_fast_layout.end[kv[i].key & XDPKV_MAX_KEY], &kv[i]));
	return ret;
#else
	return 1;
#endif
}

/*
 * Same-size overwrite of the hand-off's shape (xdpkv__dense): the values
 * only, placed from their own lengths, as 8-byte stores from the lowest
 * address up, then the header again (its bytes, unchanged, under the first
 * key's store). 1 when the call does not qualify: the general path answers.
 */
static __always_inline int xdpkv__many_dense_ow(void *meta, void *data, long m,
						const struct xdpkv_kv *kv, const int n, __u64 flags)
{
	struct xdpkv__dense d = {};
	struct xdpkv__store st = {};
	struct xdpkv__hdr h;
	__u64 bad = flags & ~XDPKV_F_EXIST; /* F_NOEXIST: -EEXIST */
	int ret = 0;

	if (n < 1 || n > XDPKV_MANY_MAX || xdpkv__load(meta, data, m, 0, &h, 1))
		return 1;
	st.hi = h.hi;
	st.lo = h.lo;
	if (xdpkv__fast_match(m, &st))
		return xdpkv__many_layout_ow(meta, data, m, kv, n, flags);
	if (xdpkv__dense(m, h.hi, h.lo, kv, n, &d))
		return 1;
	XDPKV__EACH(n, bad |= (kv[i].key >> 6) | (kv[i].len ^ d.len[i]));
	if (bad || !xdpkv__many_strict_ok(kv, n))
		return 1;
	XDPKV__EACH_UNTIL(n, ret, xdpkv__put8(meta, data, m, d.at[n - 1 - i], &kv[n - 1 - i]));
	return ret ? ret : xdpkv__put_hdr(meta, data, m, h.hi, h.lo);
}

/*
 * Set n (1..8, a constant) keys, as n xdpkv_set calls with the same flags
 * would, in one call: 0 or the -errno of the first of them that would fail;
 * on error nothing is written. A key given twice is -EINVAL.
 */
static __always_inline int xdpkv_set_many(struct xdp_md *ctx, const struct xdpkv_kv *kv,
					  const int n, __u64 flags)
{
	void *data, *meta;
	long m = xdpkv__area(ctx, XDPKV__XDP, &meta, &data);
	struct xdpkv__plan pl = {};
	int ret;

	if (m >= 0) {
		ret = m ? xdpkv__many_dense_ow(meta, data, m, kv, n, flags) :
			  xdpkv__many_fresh(ctx, kv, n, flags);
		if (ret <= 0)
			return ret;
	}
	ret = xdpkv__many_plan(meta, data, m, kv, n, flags, &pl);
	if (ret)
		return ret;
	if (!pl.not_in_place)
		return xdpkv__many_in_place(ctx, kv, n, &pl);
	ret = pl.not_append ? 1 : xdpkv__many_append(ctx, m, kv, n, &pl);
	return ret <= 0 ? ret : xdpkv__many_seq(ctx, kv, n, flags, &pl);
}

/* Read n (1..8, a constant) keys: the number found, or -errno (kv[] then unspecified). */
static __always_inline int xdpkv_get_many(struct xdp_md *ctx, struct xdpkv_kv *kv, const int n)
{
	return xdpkv__ctx_get_many(ctx, XDPKV__XDP, kv, n);
}

/* ---- TC (read-only): the store as the skb carries it ------------------------ */

static __always_inline int xdpkv_skb_get(struct __sk_buff *skb, __u64 key, void *val, __u32 len)
{
	return xdpkv__ctx_get(skb, XDPKV__SKB, key, val, len);
}

static __always_inline int xdpkv_skb_has(struct __sk_buff *skb, __u64 key)
{
	return xdpkv__ctx_has(skb, XDPKV__SKB, key);
}

static __always_inline int xdpkv_skb_get_many(struct __sk_buff *skb, struct xdpkv_kv *kv,
					      const int n)
{
	return xdpkv__ctx_get_many(skb, XDPKV__SKB, kv, n);
}

#endif /* XDPKV_BACKEND_KFUNC */

/* ---- both backends --------------------------------------------------------- */

/*
 * Typed access on top of xdpkv_get/xdpkv_set of either backend. A get
 * zero-extends a shorter value and writes *out only on success.
 */
static __always_inline int xdpkv_get_u16(struct xdp_md *ctx, __u64 key, __u16 *out)
{
	__u16 v = 0;
	int ret = xdpkv_get(ctx, key, &v, sizeof(v));

	if (ret > 0)
		*out = v;
	return ret;
}

static __always_inline int xdpkv_get_u32(struct xdp_md *ctx, __u64 key, __u32 *out)
{
	__u32 v = 0;
	int ret = xdpkv_get(ctx, key, &v, sizeof(v));

	if (ret > 0)
		*out = v;
	return ret;
}

static __always_inline int xdpkv_get_u64(struct xdp_md *ctx, __u64 key, __u64 *out)
{
	__u64 v = 0;
	int ret = xdpkv_get(ctx, key, &v, sizeof(v));

	if (ret > 0)
		*out = v;
	return ret;
}

static __always_inline int xdpkv_set_u16(struct xdp_md *ctx, __u64 key, __u16 v, __u64 flags)
{
	return xdpkv_set(ctx, key, &v, sizeof(v), flags);
}

static __always_inline int xdpkv_set_u32(struct xdp_md *ctx, __u64 key, __u32 v, __u64 flags)
{
	return xdpkv_set(ctx, key, &v, sizeof(v), flags);
}

static __always_inline int xdpkv_set_u64(struct xdp_md *ctx, __u64 key, __u64 v, __u64 flags)
{
	return xdpkv_set(ctx, key, &v, sizeof(v), flags);
}

/*
 * Copied bytes (tracing programs; plain BPF in both backends): buf holds a
 * copy of the metadata area in buf[0..m) and is at least XDPKV_META_MAX
 * bytes long (stack or map value), e.g. filled with bpf_probe_read_kernel
 * from skb->head + mac_header - meta_len.
 */
static __always_inline int xdpkv_buf_get(const void *buf, __u32 m, __u64 key, void *val, __u32 len)
{
	if (key > XDPKV_MAX_KEY)
		return -EINVAL;
	if (m > XDPKV_META_MAX)
		return -EBADMSG;
	xdpkv__opaque(m);
	return xdpkv__get((void *)buf, (void *)0, m, key, val, len, 0);
}

static __always_inline int xdpkv_buf_has(const void *buf, __u32 m, __u64 key)
{
	if (key > XDPKV_MAX_KEY)
		return -EINVAL;
	if (m > XDPKV_META_MAX)
		return -EBADMSG;
	xdpkv__opaque(m);
	return xdpkv__has((void *)buf, (void *)0, m, key, 0);
}

/*
 * The host's origin mark (docs/FORMAT.md "Reserved keys", key 59; user
 * space: xdpkv::host_origin). A writer stores it with its keys
 * (xdpkv_set_origin, or XDPKV_KV_ORIGIN in an xdpkv_set_many). A reader that
 * applies a store to an skb or reports it (hint restore, a tracer) first
 * requires it: after a tunnel decap, the bytes below the inner frame are the
 * outer headers, which a remote sender partly chooses and which can look
 * like a store. The same value on every packet, so GRO still merges.
 * The checks return 1 when the store carries mark, else 0 (absent, another
 * value or size, a malformed area, or mark 0: no mark to compare with).
 */
#define XDPKV_KV_ORIGIN(mark)                                                    \
	{                                                                        \
		.key = XDPKV_KEY_ORIGIN, .val = (mark), .len = XDPKV_ORIGIN_SIZE \
	}

static __always_inline int xdpkv_set_origin(struct xdp_md *ctx, __u32 mark)
{
	return xdpkv_set_u32(ctx, XDPKV_KEY_ORIGIN, mark, 0);
}

static __always_inline int xdpkv__origin_is(int ret, __u32 v, __u32 mark)
{
	return mark && ret == XDPKV_ORIGIN_SIZE && v == mark;
}

static __always_inline int xdpkv_skb_origin_ok(struct __sk_buff *skb, __u32 mark)
{
	__u32 v = 0;

	return xdpkv__origin_is(xdpkv_skb_get(skb, XDPKV_KEY_ORIGIN, &v, sizeof(v)), v, mark);
}

static __always_inline int xdpkv_buf_origin_ok(const void *buf, __u32 m, __u32 mark)
{
	__u32 v = 0;

	return xdpkv__origin_is(xdpkv_buf_get(buf, m, XDPKV_KEY_ORIGIN, &v, sizeof(v)), v, mark);
}

#endif /* XDPKV_BPF_H */
