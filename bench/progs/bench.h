/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* Shared between bench/progs/bench.bpf.c and bench/xdpkv_bench.cpp. */
#ifndef XDPKV_BENCH_H
#define XDPKV_BENCH_H

/* The fixed-offset baseline: a Cilium-style struct at data_meta. */
#define BENCH_FIXED_WORDS 8 /* struct bench_fixed { __u32 f[8]; }: 32 bytes */
#define BENCH_FIXED_FIELD 3 /* the field read/written, byte offset 12 */

/* TLV baseline: entries {u8 type, u8 len, value[len]} from data_meta upward;
 * type 0 is padding (len 0); key k is type k + 1. */
#define BENCH_TLV_MAX 64 /* loop bound: entries examined */

/* Program return values besides XDP_PASS (= 2, "result as expected"). */
#define BENCH_BAD 1 /* XDP_DROP: op failed or value mismatch */

#endif
