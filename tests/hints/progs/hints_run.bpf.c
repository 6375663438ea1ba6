// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
// Hint capture, store and read back through BPF_PROG_TEST_RUN (software
// capture: a test run is not device-bound).
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <xdpkv/xdpkv.bpf.h>
#define XDPKV_HINTS_SOFTWARE_ONLY
#include <xdpkv/xdpkv_hints.bpf.h>
#include "hints_test.h"

__u32 op = HR_CAPTURE;
__u32 want = XDPKV_HINT_PRESENT_MASK;
struct xdpkv_hints input = {};
struct hr_result res = {};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u8[256]);
} copybuf SEC(".maps");

SEC("xdp")
int hints_run(struct xdp_md *ctx)
{
	struct hr_result r = {};
	__u32 zero = 0;
	__u8 *buf;

	if (op == HR_CAPTURE) {
		r.capture_n = xdpkv_hints_capture(ctx, &r.captured, want);
		r.store_rc = xdpkv_hints_store(ctx, &r.captured);
	} else if (op == HR_STORE) {
		r.store_rc = xdpkv_hints_store(ctx, &input);
	}
	r.hash_rc = xdpkv_hint_hash(ctx, &r.hash, &r.hash_type, &r.hash_flags);
	r.vlan_rc = xdpkv_hint_vlan(ctx, &r.vlan_proto, &r.vlan_tci, 0);
	r.ts_rc = xdpkv_hint_timestamp(ctx, &r.ts, 0);
	r.load_rc = xdpkv_hints_load(ctx, &r.loaded);

	/* The tracing read path, on a copy of the area. */
	buf = bpf_map_lookup_elem(&copybuf, &zero);
	if (buf) {
		void *meta = (void *)(long)ctx->data_meta, *data = (void *)(long)ctx->data;
		long m = xdpkv__meta_len(meta, data);

		if (m >= 0) {
			r.meta_len = m;
			bpf_probe_read_kernel(buf, m & 0xff, meta);
			r.buf_rc = xdpkv_hint_hash_buf(buf, m, &r.buf_hash, 0, 0);
		}
	}
	__builtin_memcpy(&res, &r, sizeof(r));
	return XDP_PASS;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
