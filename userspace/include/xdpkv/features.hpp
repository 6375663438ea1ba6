// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
// What the running kernel allows, probed once per process and cached: the one
// place every tool asks before it loads anything (bpftrace's BPFfeature is the
// model). A refusal keeps the kernel's own words.
//
// For tests, XDPKV_REFUSE=NAME[,NAME...] makes the named capabilities read as
// refused ("simulated by XDPKV_REFUSE"), so that the paths a refusing kernel
// takes can be exercised on one that allows everything.
#pragma once

#include <span>
#include <string>
#include <string_view>

#include <xdpkv/hints.h>

namespace xdpkv::features {

// A hint kind's capability: its device-bound RX metadata kfunc (the kfunc
// column of XDPKV_HINT_KINDS, e.g. rx_hash).
#define XDPKV__HINT_CAP(NAME, name, key, size, kfunc, ...) kfunc,

enum class Cap {
  grow_meta,                         // bpf_xdp_adjust_meta in XDP programs: create or grow a store
  meta_252,                          // metadata beyond 32 bytes (Linux >= 6.8)
  live_frames,                       // BPF_PROG_TEST_RUN with BPF_F_TEST_XDP_LIVE_FRAMES
  XDPKV_HINT_KINDS(XDPKV__HINT_CAP)  // rx_hash, ...: one per hint kind
  fentry_prog,                       // fentry/fexit on XDP and TC programs (BPF trampolines)
  fentry_kernel,                     // fentry on kernel functions
  freplace,                          // extension programs: libxdp's multi-program dispatcher
  dynptr_skb_meta,                   // bpf_dynptr_from_skb_meta in TC
  modules,                           // loading kernel modules
  xdpkv_module,                      // xdpkv.ko loaded, its kfuncs in /sys/kernel/btf/xdpkv
  tracefs,                           // /sys/kernel/tracing mounted (libbpf's legacy tracepoints)
  bpffs,                             // /sys/fs/bpf mounted (the registry, pins)
};

#undef XDPKV__HINT_CAP

struct Feature {
  Cap cap;
  std::string_view name;     // "grow_meta", the name XDPKV_REFUSE and --need take
  std::string_view what;     // what is probed, briefly
  std::string_view since;    // the upstream Linux version that has it
  std::string_view without;  // what xdpkv does where it is missing
  bool ok = false;
  std::string said;  // the kernel's words for a refusal; a detail when ok
};

// Every feature, probed on first use (once per process, thread-safe); the
// hint kinds' capabilities in name order.
std::span<const Feature> all();
// The hint kinds' capability names, as all() lists them: "rx_hash, rx_timestamp, ...".
std::string hint_cap_names();
const Feature& get(Cap cap);
// The feature of that name, or nullptr.
const Feature* find(std::string_view name);

// One line for a tool that cannot go on:
// "NEEDS needs <what> (Linux >= X), which this kernel (R) refuses: <said>; <without>".
std::string refusal(Cap cap, std::string_view needs);

// Why libxdp attached a program alone instead of through its dispatcher, for
// a tool's note: the kernel's refusal of freplace, or, where freplace is
// allowed, the dispatcher libxdp brought (libxdp < 1.5.5 on Linux >= 6.13 and
// 6.12.25, docs/KERNELS.md).
std::string why_no_dispatcher();

// uname -r of the running kernel.
std::string kernel_release();

}  // namespace xdpkv::features
