// SPDX-License-Identifier: GPL-2.0-only
/*
 * A libxdp multi-program dispatcher for the installed libxdp's loader
 * (xdp-tools 1.3.x: XDP_DISPATCHER_VERSION 2), whose slots accept
 * extensions that change packet data.
 *
 * libxdp loads "xdp-dispatcher.o" and replaces its slot functions prog0 ..
 * prog9 with the attached programs (freplace). Since Linux 6.13 (and the
 * stable kernels from 6.12.25) the verifier refuses an
 * extension that changes packet data in place of a global function that
 * does not ("Extension program changes packet data, while original does
 * not"). The dispatcher of libxdp < 1.5.5 has such slots, so no program
 * calling bpf_xdp_adjust_meta/head/tail (xdpkv's stores) can be attached
 * through it. xdp-tools 1.5.5 added a no-op bpf_xdp_adjust_tail() to each
 * slot, but also moved to dispatcher version 3, which the 1.3 loader
 * refuses. This object is version 2 by construction: it is compiled
 * against the installed <xdp/prog_dispatcher.h>, so the magic, the version
 * and the layout of the configuration are the loader's own.
 *
 * What the loader relies on, by name: the programs xdp_dispatcher and
 * xdp_pass, the slot functions prog0 .. prog9 and compat_test (the freplace
 * target of its compatibility probe), one map only (the .rodata holding
 * `conf`, which it fills before load) and the dispatcher_version in the
 * xdp_metadata section. docs/KERNELS.md says how to use it.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

/* <xdp/prog_dispatcher.h> wants <linux/types.h>; vmlinux.h has its types. */
#define _LINUX_TYPES_H
#include <xdp/prog_dispatcher.h>

#if MAX_DISPATCHER_ACTIONS != 10
#error "the slots below are prog0 .. prog9: MAX_DISPATCHER_ACTIONS must be 10"
#endif

/*
 * const: in .rodata, frozen at load, so the verifier prunes the unused
 * slots; volatile: the compiler must not fold the all-zero initial value,
 * which libxdp replaces before loading.
 */
static volatile const struct xdp_dispatcher_config conf = {};

/*
 * The body of every slot: a global function that libxdp replaces. It never
 * runs while a program is attached to the slot; the volatile return value
 * keeps the compiler from knowing what it returns (XDP_DISPATCHER_RETVAL, a
 * chain action, so an empty slot continues the chain).
 *
 * The bpf_xdp_adjust_tail(ctx, 0) changes nothing, but it marks the slot as
 * a function that changes packet data, which the verifier requires of a
 * function that an extension changing packet data replaces.
 */
static __always_inline int slot(struct xdp_md *ctx)
{
	volatile int ret = XDP_DISPATCHER_RETVAL;

	if (!ctx)
		return XDP_ABORTED;
	bpf_xdp_adjust_tail(ctx, 0);
	return ret;
}

__noinline int prog0(struct xdp_md *ctx)
{
	return slot(ctx);
}

__noinline int prog1(struct xdp_md *ctx)
{
	return slot(ctx);
}

__noinline int prog2(struct xdp_md *ctx)
{
	return slot(ctx);
}

__noinline int prog3(struct xdp_md *ctx)
{
	return slot(ctx);
}

__noinline int prog4(struct xdp_md *ctx)
{
	return slot(ctx);
}

__noinline int prog5(struct xdp_md *ctx)
{
	return slot(ctx);
}

__noinline int prog6(struct xdp_md *ctx)
{
	return slot(ctx);
}

__noinline int prog7(struct xdp_md *ctx)
{
	return slot(ctx);
}

__noinline int prog8(struct xdp_md *ctx)
{
	return slot(ctx);
}

__noinline int prog9(struct xdp_md *ctx)
{
	return slot(ctx);
}

/*
 * Named by libxdp's dispatcher source as a spare freplace target for its
 * compatibility probe (1.3.1 probes with xdp_pass); it never runs:
 * num_progs_enabled is at most MAX_DISPATCHER_ACTIONS.
 */
__noinline int compat_test(struct xdp_md *ctx)
{
	return slot(ctx);
}

/* Slot i's return value ends the chain unless its bit is set in chain_call_actions[i]. */
static __always_inline int chain_ends(int ret, int i)
{
	return !((1U << ret) & conf.chain_call_actions[i]);
}

/* Slot i runs if more than i programs are enabled. */
SEC("xdp")
int xdp_dispatcher(struct xdp_md *ctx)
{
	__u8 num_progs_enabled = conf.num_progs_enabled;
	int ret;

	if (num_progs_enabled < 1)
		goto out;
	ret = prog0(ctx);
	if (chain_ends(ret, 0))
		return ret;
	if (num_progs_enabled < 2)
		goto out;
	ret = prog1(ctx);
	if (chain_ends(ret, 1))
		return ret;
	if (num_progs_enabled < 3)
		goto out;
	ret = prog2(ctx);
	if (chain_ends(ret, 2))
		return ret;
	if (num_progs_enabled < 4)
		goto out;
	ret = prog3(ctx);
	if (chain_ends(ret, 3))
		return ret;
	if (num_progs_enabled < 5)
		goto out;
	ret = prog4(ctx);
	if (chain_ends(ret, 4))
		return ret;
	if (num_progs_enabled < 6)
		goto out;
	ret = prog5(ctx);
	if (chain_ends(ret, 5))
		return ret;
	if (num_progs_enabled < 7)
		goto out;
	ret = prog6(ctx);
	if (chain_ends(ret, 6))
		return ret;
	if (num_progs_enabled < 8)
		goto out;
	ret = prog7(ctx);
	if (chain_ends(ret, 7))
		return ret;
	if (num_progs_enabled < 9)
		goto out;
	ret = prog8(ctx);
	if (chain_ends(ret, 8))
		return ret;
	if (num_progs_enabled < 10)
		goto out;
	ret = prog9(ctx);
	if (chain_ends(ret, 9))
		return ret;
	/* Referenced, so that compat_test stays in the program's BTF. */
	if (num_progs_enabled < MAX_DISPATCHER_ACTIONS + 1)
		goto out;
	ret = compat_test(ctx);
out:
	return XDP_PASS;
}

/* libxdp's probe program (XDP frags support, freplace target checks). */
SEC("xdp")
int xdp_pass(struct xdp_md *ctx)
{
	return XDP_PASS;
}

char _license[] SEC("license") = "GPL";
__uint(dispatcher_version, XDP_DISPATCHER_VERSION) SEC(XDP_METADATA_SECTION);
