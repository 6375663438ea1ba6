// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * The kernel feature probes of userspace/bpf/src/features.cpp: each probe
 * loads one of these programs alone (the others are not autoloaded) and keeps
 * the kernel's words when it is refused.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

/*
 * Grow the metadata area by 36 bytes: refused at load time where the kernel
 * denies the helper; run, it tells the cap (32 bytes before Linux 6.8).
 */
SEC("xdp")
int probe_grow_meta(struct xdp_md *ctx)
{
	return bpf_xdp_adjust_meta(ctx, -36) ? XDP_DROP : XDP_PASS;
}

/* A frame for BPF_F_TEST_XDP_LIVE_FRAMES: dropped, nothing leaves. */
SEC("xdp")
int probe_drop(struct xdp_md *ctx)
{
	return XDP_DROP;
}

/* The target of the fentry and freplace probes: a global subprogram. */
__noinline int probe_target_sub(struct xdp_md *ctx)
{
	return ctx ? XDP_PASS : XDP_DROP;
}

SEC("xdp")
int probe_target(struct xdp_md *ctx)
{
	return probe_target_sub(ctx);
}

/* Attach targets are set at run time (bpf_program__set_attach_target). */
SEC("fentry/probe_target")
int BPF_PROG(probe_fentry_prog, struct xdp_md *xdp)
{
	return 0;
}

SEC("freplace/probe_target_sub")
int probe_freplace(struct xdp_md *ctx)
{
	return XDP_PASS;
}

/* net/bpf/test_run.c: present wherever BPF_PROG_TEST_RUN is. */
SEC("fentry/bpf_fentry_test1")
int BPF_PROG(probe_fentry_kernel, int a)
{
	return 0;
}

char _license[] SEC("license") = "Dual BSD/GPL";
