// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Reads every key (and a few invalid ones) of whatever metadata the packet
 * carries, twice: from the packet with xdpkv_get, and from a byte copy with
 * xdpkv_buf_get (the tracing path). For each key the packet receives
 * struct read_res { __s64 ret; __u64 val; } in both halves. With
 * XDPKV_FAST_LAYOUT the packet reads take the fast path when the header
 * matches the layout the test configured.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <xdpkv/xdpkv.bpf.h>

#define NKEYS_READ 68 /* 0..63 and four invalid keys */

struct read_res {
	__s64 ret;
	__u64 val;
};

struct meta_copy {
	__u8 b[XDPKV_META_MAX];
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct meta_copy);
} copy SEC(".maps");

static __always_inline __u64 read_key(__u32 i)
{
	return i < 64  ? (__u64)i :
	       i == 64 ? 64 :
	       i == 65 ? (1ULL << 32) + 1 :
	       i == 66 ? ~0ULL :
			 1ULL << 63;
}

static __always_inline int put(struct xdp_md *ctx, __u32 slot, __s64 ret, __u64 v)
{
	struct read_res *out;

	if (slot >= 2 * NKEYS_READ)
		return -1;
	out = (struct read_res *)(long)ctx->data + slot;
	if ((void *)(out + 1) > (void *)(long)ctx->data_end)
		return -1;
	out->ret = ret;
	out->val = v;
	return 0;
}

/*
 * One read per call, as global functions: the verifier checks each once for
 * any key instead of once per loop iteration.
 */
__noinline int read_pkt(struct xdp_md *ctx, __u32 i)
{
	__u64 v = 0x5a5a5a5a5a5a5a5aULL;
	__s64 ret = xdpkv_get(ctx, read_key(i), &v, sizeof(v));

	return put(ctx, i, ret, v);
}

__noinline int read_buf(struct xdp_md *ctx, struct meta_copy *c, __u32 m, __u32 i)
{
	__u64 v = 0x5a5a5a5a5a5a5a5aULL;
	__s64 ret;

	if (!c)
		return -1;
	ret = xdpkv_buf_get(c->b, m, read_key(i), &v, sizeof(v));
	return put(ctx, NKEYS_READ + i, ret, v);
}

SEC("xdp")
int xdpkv_read(struct xdp_md *ctx)
{
	__u32 zero = 0, m, j;
	struct meta_copy *c = bpf_map_lookup_elem(&copy, &zero);
	void *data, *meta;

	if (!c)
		return XDP_ABORTED;
	for (__u32 i = 0; i < NKEYS_READ; i++)
		if (read_pkt(ctx, i))
			return XDP_ABORTED;

	/* Copy the area into the buffer, as a tracer would. */
	data = (void *)(long)ctx->data;
	meta = (void *)(long)ctx->data_meta;
	if (meta > data)
		return XDP_ABORTED;
	m = (long)data - (long)meta;
	for (int i = 0; i < XDPKV_META_MAX / 4; i++) {
		__u32 *p;

		j = i * 4;
		if (j >= m)
			break;
		p = meta + j;
		if ((void *)(p + 1) > data)
			break;
		barrier_var(j);
		if (j > XDPKV_META_MAX - 4)
			break;
		*(__u32 *)(c->b + j) = *p;
	}
	for (__u32 i = 0; i < NKEYS_READ; i++)
		if (read_buf(ctx, c, m, i))
			return XDP_ABORTED;
	return XDP_PASS;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
