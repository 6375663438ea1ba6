// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * xdpkv_capture: the first XDP program on a device. It captures the
 * packet's RX hash, VLAN tag and RX timestamp, from the driver (the
 * device-bound kfuncs bpf_xdp_metadata_rx_*) where the device has them and
 * in software otherwise, and stores them under the reserved keys of the
 * packet's store, where every later program reads them: after redirects,
 * in devmap/cpumap programs, in TC (drivers/restore.bpf.c gives the hash
 * and VLAN back to the skb), in AF_XDP and in tracers.
 *
 * Built twice: xdpkv_capture (device-bound: loaded with prog_ifindex and
 * BPF_F_XDP_DEV_BOUND_ONLY in the device's netns, attached only to that
 * device) and xdpkv_capture_sw (XDPKV_HINTS_SOFTWARE_ONLY: every hint from
 * software; an ordinary XDP program, so it can also run behind libxdp's
 * dispatcher, in generic mode or through BPF_PROG_TEST_RUN).
 *
 * A device-bound program cannot be tail-called or extended (freplace), so
 * what comes after capture is either built in (action: pass, or redirect
 * through the object's devmap or cpumap) or a program of your own that
 * calls xdpkv_hints_capture itself (docs/DRIVERS.md).
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <xdpkv/xdpkv.bpf.h>
#include <xdpkv/xdpkv_hints.bpf.h>
#include <xdpkv/capture.h>

const volatile __u32 want = XDPKV_HINT_PRESENT_MASK; /* XDPKV_HINT_* present bits */
const volatile __u32 action = XDPKV_CAPTURE_PASS;
const volatile __u32 redirect_key;
const volatile __u32 key_seq = XDPKV_CAPTURE_NO_KEY; /* store a sequence number under it */
const volatile __u32 key_seq_size = 8;		     /* as a u64, or 4: a u32 */
const volatile __u32 emit_events;

__u32 mode = XDPKV_CAPTURE_ON; /* run-time switch, see capture.h */
__u64 next_seq;
struct xdpkv_capture_stats stats = {};

struct {
	__uint(type, BPF_MAP_TYPE_DEVMAP);
	__uint(max_entries, 64);
	__type(key, __u32);
	__type(value, struct bpf_devmap_val);
} xdpkv_capture_tx SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_CPUMAP);
	__uint(max_entries, 64);
	__type(key, __u32);
	__type(value, struct bpf_cpumap_val);
} xdpkv_capture_cpus SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 1 << 21);
} xdpkv_capture_events SEC(".maps");

static __always_inline void add(__u64 *c)
{
	__sync_fetch_and_add(c, 1);
}

/* Where each wanted hint of this packet came from (hints.h XDPKV_HI_*). */
static __always_inline void count_hints(__u32 flags)
{
	for (int i = 0; i < XDPKV_HI_N; i++) {
		if (!(want & (1U << i)))
			continue;
		if (!(flags & (1U << i)))
			add(&stats.none[i]);
		else if (flags & (1U << (i + XDPKV_HINT_SW_SHIFT)))
			add(&stats.sw[i]);
		else
			add(&stats.hw[i]);
	}
}

/* The frame's first bytes and lengths, for a check outside the program. */
static __always_inline void copy_frame(struct xdp_md *ctx, struct xdpkv_capture_event *e,
				       long meta_len)
{
	long len = (long)ctx->data_end - (long)ctx->data;

	e->frame_len = len > 0 ? len : 0;
	e->meta_len = meta_len;
	e->copied = 0;
	if (len > XDPKV_CAPTURE_FRAME)
		len = XDPKV_CAPTURE_FRAME;
	if (len > 0 && !bpf_xdp_load_bytes(ctx, 0, e->frame, len))
		e->copied = len;
}

SEC("xdp")
int xdpkv_capture(struct xdp_md *ctx)
{
	struct xdpkv_hints_rc rc;
	struct xdpkv_hints h = {};
	__u64 seq = __sync_fetch_and_add(&next_seq, 1);
	__u32 m = mode;
	int store_rc = 1;
	void *meta, *data;
	long meta_len = xdpkv__area(ctx, XDPKV__XDP, &meta, &data);

	for (int i = 0; i < XDPKV_HI_N; i++)
		rc.all[i] = XDPKV_HINT_RC_NOT_TRIED;
	add(&stats.packets);
	if (key_seq <= XDPKV_MAX_KEY &&
	    (key_seq_size == 4 ? xdpkv_set_u32(ctx, key_seq, (__u32)seq, 0) :
				 xdpkv_set_u64(ctx, key_seq, seq, 0)))
		add(&stats.seq_err);
	if (m == XDPKV_CAPTURE_ON || (m == XDPKV_CAPTURE_ALTERNATE && !(seq & 1))) {
		xdpkv_hints_capture_rc(ctx, &h, want, &rc);
		count_hints(h.flags);
		__builtin_memcpy(stats.last_rc, rc.all, sizeof(rc.all));
		store_rc = xdpkv_hints_store(ctx, &h);
		if (store_rc) {
			add(&stats.store_err);
			stats.last_store_err = store_rc;
		} else if (h.flags & XDPKV_HINT_PRESENT_MASK) {
			add(&stats.captured);
		}
	} else {
		add(&stats.skipped);
	}
	if (emit_events) {
		struct xdpkv_capture_event *e;

		e = bpf_ringbuf_reserve(&xdpkv_capture_events, sizeof(*e), 0);
		if (e) {
			e->seq = seq;
			e->ifindex = ctx->ingress_ifindex;
			e->rx_queue = ctx->rx_queue_index;
			__builtin_memcpy(e->rc, rc.all, sizeof(rc.all));
			e->store_rc = store_rc;
			__builtin_memcpy(&e->hints, &h, sizeof(h));
			copy_frame(ctx, e, meta_len);
			bpf_ringbuf_submit(e, 0);
		}
	}
	if (action == XDPKV_CAPTURE_DEVMAP)
		return bpf_redirect_map(&xdpkv_capture_tx, redirect_key, XDP_PASS);
	if (action == XDPKV_CAPTURE_CPUMAP)
		return bpf_redirect_map(&xdpkv_capture_cpus, redirect_key, XDP_PASS);
	return XDP_PASS;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
