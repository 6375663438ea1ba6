/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * xdpkv, kfunc backend: the same API as the inline library, served by the
 * kernel module xdpkv.ko (kfuncs/, docs/KFUNCS.md). Selected by defining
 * XDPKV_BACKEND_KFUNC before including <xdpkv/xdpkv.bpf.h> (or -D on the
 * compiler command line); no other source change:
 *
 *   int xdpkv_get(struct xdp_md *ctx, __u64 key, void *val, __u32 len);
 *   int xdpkv_set(struct xdp_md *ctx, __u64 key, const void *val, __u32 len, __u64 flags);
 *   int xdpkv_del(struct xdp_md *ctx, __u64 key);
 *   int xdpkv_has(struct xdp_md *ctx, __u64 key);
 *   xdpkv_{get,set}_{u16,u32,u64}, xdpkv_skb_get/has (TC), xdpkv_buf_get/has
 *   xdpkv_set_many, xdpkv_get_many, xdpkv_skb_get_many (one kfunc each)
 *
 * Same format, same return codes, same check order. Differences a program
 * can see: the store may grow beyond 32 bytes on Linux < 6.8 (up to the
 * headroom: 216 bytes on a 256-byte-headroom driver), the module must be
 * loaded for the program to load, and value buffers must be writable memory
 * (stack or map value: the verifier checks kfunc memory arguments for
 * reading and writing), initialised, and at least min(len, 8) bytes long.
 *
 * Only here: the hint block after struct xdp_frame (<xdpkv/hints.h>),
 *   int xdpkv_hints_store(struct xdp_md *ctx, const struct xdpkv_hints *h);
 *   int xdpkv_hints_load(struct xdp_md *ctx, struct xdpkv_hints *h);
 *   int xdpkv_adjust_meta(struct xdp_md *ctx, int delta);   (no 32-byte cap)
 * The module only keeps hints: the first program captures them (upstream
 * device-bound kfuncs or software, <xdpkv/xdpkv_hints.bpf.h>) and stores
 * them. Key 63 (XDPKV_KEY_HINT_MARK) is the module's: set/del give -EPERM.
 *
 * Include after vmlinux.h (or <linux/bpf.h>) and <bpf/bpf_helpers.h>.
 */
#ifndef XDPKV_KFUNC_BPF_H
#define XDPKV_KFUNC_BPF_H

#include <xdpkv/format.h>
#include <xdpkv/hints.h>

#ifndef EPERM
#define EPERM 1 /* set/del of the module's mark key (format.h has the others) */
#endif

#ifndef XDPKV_API_VERSION
#define XDPKV_API_VERSION 1
#endif
#define XDPKV_BACKEND_KFUNC_ACTIVE 1

#if __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "xdpkv: the store keeps typed values little-endian; big-endian BPF targets are not supported yet"
#endif

/* ---- the module's kfuncs ---------------------------------------------------- */

extern int bpf_xdpkv_get(struct xdp_md *ctx, __u64 key, void *val, __u32 val__sz) __ksym;
extern int bpf_xdpkv_set(struct xdp_md *ctx, __u64 key, const void *val, __u32 val__sz,
			 __u64 flags) __ksym;
extern int bpf_xdpkv_del(struct xdp_md *ctx, __u64 key) __ksym;
extern int bpf_xdpkv_has(struct xdp_md *ctx, __u64 key) __ksym;
extern int bpf_xdpkv_set_many(struct xdp_md *ctx, const struct xdpkv_kv *kv, __u32 kv__sz,
			      __u64 flags) __ksym;
extern int bpf_xdpkv_get_many(struct xdp_md *ctx, struct xdpkv_kv *kv, __u32 kv__sz) __ksym;
extern int bpf_xdpkv_adjust_meta(struct xdp_md *ctx, int delta) __ksym;
extern int bpf_xdpkv_hints_store(struct xdp_md *ctx, const struct xdpkv_hints *h,
				 __u32 h__sz) __ksym;
extern int bpf_xdpkv_hints_load(struct xdp_md *ctx, struct xdpkv_hints *h, __u32 h__sz) __ksym;
extern int bpf_xdpkv_skb_get(struct __sk_buff *skb, __u64 key, void *val, __u32 val__sz) __ksym;
extern int bpf_xdpkv_skb_has(struct __sk_buff *skb, __u64 key) __ksym;
extern int bpf_xdpkv_skb_get_many(struct __sk_buff *skb, struct xdpkv_kv *kv, __u32 kv__sz) __ksym;

/*
 * A get never writes more than 8 bytes and only fails for a short buffer
 * when len < the value's length, so min(len, 8) gives the same result for
 * every len and keeps the verifier's memory check to 8 bytes.
 */
#define XDPKV__GET_SZ(len) ((len) > XDPKV_MAX_VAL ? XDPKV_MAX_VAL : (len))
/* A set with len > 8 is -EINVAL whatever else: passing 0 keeps that. */
#define XDPKV__SET_SZ(len) ((len) > XDPKV_MAX_VAL ? 0 : (len))

/* ---- XDP ------------------------------------------------------------------ */

/* Value length (2, 4 or 8) copied to val, or -errno; val is untouched on error. */
static __always_inline int xdpkv_get(struct xdp_md *ctx, __u64 key, void *val, __u32 len)
{
	return bpf_xdpkv_get(ctx, key, val, XDPKV__GET_SZ(len));
}

/* 1 if present, 0 if absent, or -errno. */
static __always_inline int xdpkv_has(struct xdp_md *ctx, __u64 key)
{
	return bpf_xdpkv_has(ctx, key);
}

/* 0 or -errno; the value is read from val (len bytes: 2, 4 or 8). */
static __always_inline int xdpkv_set(struct xdp_md *ctx, __u64 key, const void *val, __u32 len,
				     __u64 flags)
{
	return bpf_xdpkv_set(ctx, key, val, XDPKV__SET_SZ(len), flags);
}

/* 0 or -errno. */
static __always_inline int xdpkv_del(struct xdp_md *ctx, __u64 key)
{
	return bpf_xdpkv_del(ctx, key);
}

/*
 * Several keys (struct xdpkv_kv, <xdpkv/format.h>): the inline backend's
 * names and results (FORMAT.md §4.6), one kfunc each: set_many all or
 * nothing (key 63 adds -EPERM), the gets in one header pass.
 */
static __always_inline int xdpkv_get_many(struct xdp_md *ctx, struct xdpkv_kv *kv, const int n)
{
	if (n < 1 || n > XDPKV_MANY_MAX)
		return -EINVAL;
	return bpf_xdpkv_get_many(ctx, kv, n * sizeof(*kv));
}

static __always_inline int xdpkv_set_many(struct xdp_md *ctx, const struct xdpkv_kv *kv,
					  const int n, __u64 flags)
{
	if (n < 1 || n > XDPKV_MANY_MAX)
		return -EINVAL;
	return bpf_xdpkv_set_many(ctx, kv, n * sizeof(*kv), flags);
}

/* Typed access (xdpkv_{get,set}_{u16,u32,u64}): shared with the inline backend, xdpkv.bpf.h. */

/* Hint block (kfunc backend only): 0 / -EINVAL / -EOPNOTSUPP / -EBADMSG / -ENOSPC. */
static __always_inline int xdpkv_hints_store(struct xdp_md *ctx, const struct xdpkv_hints *h)
{
	return bpf_xdpkv_hints_store(ctx, h, sizeof(*h));
}

/* 0 (h filled) / -ENODATA (this packet stored none) / -ENOSPC (metadata grew over them). */
static __always_inline int xdpkv_hints_load(struct xdp_md *ctx, struct xdpkv_hints *h)
{
	return bpf_xdpkv_hints_load(ctx, h, sizeof(*h));
}

/* bpf_xdp_adjust_meta within the module's bounds (no 32-byte cap). */
static __always_inline int xdpkv_adjust_meta(struct xdp_md *ctx, int delta)
{
	return bpf_xdpkv_adjust_meta(ctx, delta);
}

/* ---- TC (read-only) -------------------------------------------------------- */

static __always_inline int xdpkv_skb_get(struct __sk_buff *skb, __u64 key, void *val, __u32 len)
{
	return bpf_xdpkv_skb_get(skb, key, val, XDPKV__GET_SZ(len));
}

static __always_inline int xdpkv_skb_has(struct __sk_buff *skb, __u64 key)
{
	return bpf_xdpkv_skb_has(skb, key);
}

static __always_inline int xdpkv_skb_get_many(struct __sk_buff *skb, struct xdpkv_kv *kv,
					      const int n)
{
	if (n < 1 || n > XDPKV_MANY_MAX)
		return -EINVAL;
	return bpf_xdpkv_skb_get_many(skb, kv, n * sizeof(*kv));
}

/* Copied bytes (xdpkv_buf_get/has, tracing): plain BPF, shared with the inline backend. */

#endif /* XDPKV_KFUNC_BPF_H */
