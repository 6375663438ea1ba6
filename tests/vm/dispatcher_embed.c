// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * xdpkv's dispatcher (xdp/progs/xdp_dispatcher.bpf.c) under the symbols
 * through which a static libxdp finds its embedded "xdp-dispatcher.o"
 * (LIBXDP_STATIC: embedded objects come before LIBXDP_OBJECT_PATH). libxdp.a
 * defines them in a member of their own (xdp-dispatcher.embed.o), which the
 * linker then leaves out: the guest's matrix binary loads this object.
 */
#ifndef XDPKV_DISPATCHER_OBJ
#error "XDPKV_DISPATCHER_OBJ: path of xdpkv_dispatcher.bpf.o"
#endif

__asm__(".section .rodata\n"
	".global _binary_xdp_dispatcher_o_start\n"
	".global _binary_xdp_dispatcher_o_end\n"
	".balign 8\n"
	"_binary_xdp_dispatcher_o_start:\n"
	".incbin \"" XDPKV_DISPATCHER_OBJ "\"\n"
	"_binary_xdp_dispatcher_o_end:\n"
	".previous\n");
