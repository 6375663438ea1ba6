// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * `xdpkv hints verify`: the readers behind the capture's redirects. Each
 * reads the hints back from the packet's store, with the capture's
 * sequence number (key XDPKV_VERIFY_KEY_SEQ), and reports them through the
 * ring buffer; user space compares them with what the capture saw.
 *
 * xdpkv_verify_devmap: the devmap egress program of the capture's devmap
 * entry, which sends the frame back out of the device it came in on; it
 * runs on the xdp_frame, metadata included, before the driver transmits,
 * and drops it: nothing leaves the device.
 *
 * xdpkv_verify_tc: TC ingress of the device after xdpkv_restore (a lower
 * priority number runs first), on the skbs that cpumap built: the stored
 * hints and skb->hash as restored. It lets every skb go on.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <xdpkv/xdpkv.bpf.h>
#ifndef XDPKV_HINTS_SOFTWARE_ONLY
#define XDPKV_HINTS_SOFTWARE_ONLY /* reads only: no driver kfunc */
#endif
#include <xdpkv/xdpkv_hints.bpf.h>
#include <xdpkv/capture.h>

#define TC_ACT_UNSPEC_ (-1)

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 1 << 20);
} xdpkv_verify_events SEC(".maps");

__u64 lost; /* events the ring buffer had no room for */

/* One reading through the ring buffer (counted in `lost` when it is full). */
static __always_inline void report(__u32 at, __u64 seq, int seq_rc, int load_rc, __u32 skb_hash,
				   const struct xdpkv_hints *h)
{
	struct xdpkv_verify_event *e;

	e = bpf_ringbuf_reserve(&xdpkv_verify_events, sizeof(*e), 0);
	if (!e) {
		__sync_fetch_and_add(&lost, 1);
		return;
	}
	e->seq = seq;
	e->at = at;
	e->load_rc = load_rc;
	e->seq_rc = seq_rc;
	e->skb_hash = skb_hash;
	__builtin_memcpy(&e->hints, h, sizeof(*h));
	bpf_ringbuf_submit(e, 0);
}

SEC("xdp/devmap")
int xdpkv_verify_devmap(struct xdp_md *ctx)
{
	struct xdpkv_hints h = {};
	__u64 seq = 0;
	int seq_rc, load_rc;

	seq_rc = xdpkv_get(ctx, XDPKV_VERIFY_KEY_SEQ, &seq, sizeof(seq));
	load_rc = xdpkv_hints_load(ctx, &h);
	report(XDPKV_VERIFY_AT_DEVMAP, seq, seq_rc, load_rc, 0, &h);
	return XDP_DROP;
}

SEC("tc")
int xdpkv_verify_tc(struct __sk_buff *skb)
{
	struct xdpkv_hints h = {};
	__u64 seq = 0;
	int seq_rc, load_rc;
	__u32 skb_hash;

	seq_rc = xdpkv_skb_get(skb, XDPKV_VERIFY_KEY_SEQ, &seq, sizeof(seq));
	if (seq_rc != XDPKV_VERIFY_SEQ_SIZE)
		return TC_ACT_UNSPEC_; /* not a frame the capture numbered */
	load_rc = xdpkv_hints_load_skb(skb, &h);
	/* One context load: clang must not derive a second from a moved ctx pointer. */
	skb_hash = *(volatile __u32 *)&skb->hash;
	report(XDPKV_VERIFY_AT_TC, seq, seq_rc, load_rc, skb_hash, &h);
	return TC_ACT_UNSPEC_;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
