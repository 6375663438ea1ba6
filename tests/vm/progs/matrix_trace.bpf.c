// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Tracing the store, as a pwru-style tracer would: fexit on an XDP program
 * (matrix_tag, after it wrote the store) reads the metadata of its xdp_buff,
 * fentry on the kernel's ip_route_input_noref (every received IPv4 skb, list
 * path or not) reads the skb's metadata (head + mac_header
 * - meta_len). Both copy it into a buffer with bpf_probe_read_kernel and
 * read the PACKET_ID with the library's buffer reader, xdpkv_buf_get.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>
#include <xdpkv/xdpkv.bpf.h>
#include "matrix.h"

#define META_COPY 256 /* >= any metadata area (meta_len is 8 bits) */

__u64 xdp_hits, xdp_ids, xdp_id_sum, xdp_bad;
__u64 skb_hits, skb_ids, skb_id_sum, skb_bad;
__u8 buf[2][META_COPY];

/* Copies the m metadata bytes ending at end, reads the PACKET_ID. */
static __always_inline int read_id(int slot, const void *end, __u32 m, __u64 *id)
{
	if (m == 0 || m > XDPKV_META_MAX)
		return -ENOENT;
	if (bpf_probe_read_kernel(buf[slot], m, end - m))
		return -EBADMSG; /* unreadable */
	return xdpkv_buf_get(buf[slot], m, MATRIX_KEY_PACKET_ID, id, 8);
}

SEC("fexit/matrix_tag")
int BPF_PROG(matrix_fexit_xdp, struct xdp_buff *xdp, int ret)
{
	void *meta = xdp->data_meta, *data = xdp->data;
	__u64 id = 0;

	__sync_fetch_and_add(&xdp_hits, 1);
	if (data <= meta)
		return 0;
	if (read_id(0, data, (__u32)(data - meta), &id) == 8) {
		__sync_fetch_and_add(&xdp_ids, 1);
		__sync_fetch_and_add(&xdp_id_sum, id);
	} else {
		__sync_fetch_and_add(&xdp_bad, 1);
	}
	return 0;
}

SEC("fentry/ip_route_input_noref")
int BPF_PROG(matrix_fentry_skb, struct sk_buff *skb)
{
	unsigned char *head = skb->head;
	__u16 mac = skb->mac_header;
	__u8 m = 0;
	__u64 id = 0;
	struct skb_shared_info *sh = (void *)(head + skb->end);
	int r;

	if (bpf_probe_read_kernel(&m, 1, &sh->meta_len) || m == 0)
		return 0;
	__sync_fetch_and_add(&skb_hits, 1);
	r = read_id(1, head + mac, m, &id);
	if (r == 8) {
		__sync_fetch_and_add(&skb_ids, 1);
		__sync_fetch_and_add(&skb_id_sum, id);
	} else {
		__sync_fetch_and_add(&skb_bad, 1);
	}
	return 0;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
