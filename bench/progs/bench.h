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

/*
 * Hand-off (issue 22): n = 1, 3 or 8 values written once and read by later
 * programs. Value i is 8 bytes when i % 3 == 0, else 4 (3 values: u64 id,
 * u32 backend, u32 hash, a load balancer's hand-off); key ids are
 * BENCH_HO_KEY(i), ascending. The fixed struct holds the same values in the
 * same order at data_meta (offsets: the sum of the sizes before).
 */
#define BENCH_HO_MAX	 8
#define BENCH_HO_LEN(i)	 ((i) % 3 == 0 ? 8 : 4)
#define BENCH_HO_KEY(i)	 (4 * (i) + 1)
/* Bytes of the first n values: the fixed struct's size (a multiple of 4). */
#define BENCH_HO_SIZE(n) (4 * (n) + 4 * (((n) + 2) / 3))

/* Program return values besides XDP_PASS (= 2, "result as expected"). */
#define BENCH_BAD 1 /* XDP_DROP: op failed or value mismatch */

#endif
