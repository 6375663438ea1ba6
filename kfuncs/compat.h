/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The differences between the kernels xdpkv.ko builds against, in one place.
 *
 *   kfunc definitions   6.1-6.3: plain global functions, marked noinline and
 *                       __used by hand, -Wmissing-prototypes silenced with
 *                       __diag; 6.4+: __bpf_kfunc; 6.7+: __bpf_kfunc_start_defs()
 *                       / __bpf_kfunc_end_defs()
 *   kfunc id sets       6.0-6.8: BTF_SET8_START / BTF_SET8_END;
 *                       6.9+: BTF_KFUNCS_START / BTF_KFUNCS_END (which also mark
 *                       the set as kfuncs for resolve_btfids)
 *   driver hints        6.3+: net_device->xdp_metadata_ops with xmo_rx_timestamp
 *                       and xmo_rx_hash (with rss type); 6.8+: xmo_rx_vlan_tag
 *   metadata cap        < 6.8: bpf_xdp_adjust_meta refuses metadata > 32 bytes;
 *                       the module is not bound by it (the kernel's own data path
 *                       carries up to 255: xdp_frame.metasize and skb meta_len are
 *                       8 bits), see docs/KFUNCS.md
 */
#ifndef XDPKV_KFUNCS_COMPAT_H
#define XDPKV_KFUNCS_COMPAT_H

#include <linux/version.h>
#include <linux/compiler.h>
#include <linux/btf.h>
#include <linux/btf_ids.h>

/* 6.12 moved the unaligned accessors out of asm/. */
#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 12, 0)
#include <linux/unaligned.h>
#else
#include <asm/unaligned.h>
#endif

#ifndef __bpf_kfunc
/* 6.4 added __bpf_kfunc: keep the function and its BTF prototype intact. */
#define __bpf_kfunc __used noinline
#endif

#ifndef __bpf_kfunc_start_defs
/* 6.7 added these; before them each kfunc file silenced the warning itself. */
#define __bpf_kfunc_start_defs()                  \
	__diag_push();                            \
	__diag_ignore_all("-Wmissing-prototypes", \
			  "Global kfuncs as their definitions will be in BTF")
#define __bpf_kfunc_end_defs() __diag_pop()
#endif

#ifndef BTF_KFUNCS_START
/* 6.9 added BTF_KFUNCS_START (a set8 flagged as kfuncs); 6.0-6.8 use set8. */
#define BTF_KFUNCS_START(name) BTF_SET8_START(name)
#define BTF_KFUNCS_END(name)   BTF_SET8_END(name)
#endif

/* Driver RX metadata ops (the upstream device-bound kfuncs' backend). */
#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 3, 0)
#define XDPKV_HAVE_XMO 1
#else
#define XDPKV_HAVE_XMO 0
#endif
#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 8, 0)
#define XDPKV_HAVE_XMO_VLAN 1
#else
#define XDPKV_HAVE_XMO_VLAN 0
#endif

/* net/core/xdp.c keeps these private; the values have not changed since 4.16. */
#define XDPKV_REG_STATE_REGISTERED 0x1

#endif /* XDPKV_KFUNCS_COMPAT_H */
