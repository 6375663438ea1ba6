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
 * A slot: a global function that libxdp replaces. Its body never runs
 * while a program is attached to it; the volatile return value keeps the
 * compiler from knowing what it returns (XDP_DISPATCHER_RETVAL, a chain
 * action, so an empty slot continues the chain).
 *
 * The bpf_xdp_adjust_tail(ctx, 0) changes nothing, but it marks the
 * function as one that changes packet data, which the verifier requires of
 * a function that an extension changing packet data replaces.
 */
#define XDP_DISPATCHER_SLOT(name)                              \
	__attribute__((noinline)) int name(struct xdp_md *ctx) \
	{                                                      \
		volatile int ret = XDP_DISPATCHER_RETVAL;      \
                                                               \
		if (!ctx)                                      \
			return XDP_ABORTED;                    \
		bpf_xdp_adjust_tail(ctx, 0);                   \
		return ret;                                    \
	}

XDP_DISPATCHER_SLOT(prog0)
XDP_DISPATCHER_SLOT(prog1)
XDP_DISPATCHER_SLOT(prog2)
XDP_DISPATCHER_SLOT(prog3)
XDP_DISPATCHER_SLOT(prog4)
XDP_DISPATCHER_SLOT(prog5)
XDP_DISPATCHER_SLOT(prog6)
XDP_DISPATCHER_SLOT(prog7)
XDP_DISPATCHER_SLOT(prog8)
XDP_DISPATCHER_SLOT(prog9)

/*
 * Named by libxdp's dispatcher source as a spare freplace target for its
 * compatibility probe (1.3.1 probes with xdp_pass); it never runs:
 * num_progs_enabled is at most MAX_DISPATCHER_ACTIONS.
 */
XDP_DISPATCHER_SLOT(compat_test)

/*
 * Slot i runs if more than i programs are enabled; its return value ends
 * the chain unless its bit is set in the slot's chain_call_actions.
 */
#define XDP_DISPATCHER_CALL(i)                                   \
	do {                                                     \
		if (num_progs_enabled < (i) + 1)                 \
			goto out;                                \
		ret = prog##i(ctx);                              \
		if (!((1U << ret) & conf.chain_call_actions[i])) \
			return ret;                              \
	} while (0)

SEC("xdp")
int xdp_dispatcher(struct xdp_md *ctx)
{
	__u8 num_progs_enabled = conf.num_progs_enabled;
	int ret;

	XDP_DISPATCHER_CALL(0);
	XDP_DISPATCHER_CALL(1);
	XDP_DISPATCHER_CALL(2);
	XDP_DISPATCHER_CALL(3);
	XDP_DISPATCHER_CALL(4);
	XDP_DISPATCHER_CALL(5);
	XDP_DISPATCHER_CALL(6);
	XDP_DISPATCHER_CALL(7);
	XDP_DISPATCHER_CALL(8);
	XDP_DISPATCHER_CALL(9);
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
