// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
// The live-frames generator: BPF_PROG_RUN of an XDP_TX program with
// BPF_F_TEST_XDP_LIVE_FRAMES, so that the kernel transmits `count` copies of
// test frames out of an interface (in-process, no DPDK). On a veth the frames
// go to the peer through ndo_xdp_xmit: the peer must run native XDP (or have
// GRO on), else veth drops them (counted in `xmit_errors`).
#pragma once

#include <cstdint>

#include <xdpkv/frame.hpp>
#include <xdpkv/netns.hpp>

namespace xdpkv::traffic {

struct LiveOptions {
  // Frames per kernel batch (the kernel's default is 64; at most 256).
  uint32_t batch_size = 64;
  // Frames per BPF_PROG_RUN call (<= 2^31-1). Each call repeats one flow's frame; flows
  // take turns call by call, so a smaller value interleaves flows more finely.
  uint64_t max_repeat = 1 << 20;
};

struct LiveStats {
  uint64_t requested = 0;
  uint64_t sent = 0;   // frames the kernel ran the program on (all XDP_TX)
  uint64_t runs = 0;   // BPF_PROG_RUN calls
  double seconds = 0;  // wall time of the calls
  double pps = 0;      // sent / seconds
  // The interface's ndo_xdp_xmit counters over the run (veth: ethtool -S
  // tx_queue_N_xdp_xmit / _errors summed), when the driver reports them.
  bool have_xmit_stats = false;
  uint64_t xmit = 0, xmit_errors = 0;
};

// A driver's ndo_xdp_xmit counters, read with ethtool's statistics in the
// calling thread's netns: veth's tx_queue_N_xdp_xmit / _errors summed. On a
// veth they count the frames redirected into it (XDP_TX of the peer, devmap)
// that its peer's ring took, and those it refused (ring full: dropped).
struct XmitCounters {
  bool have = false;  // the driver reports them
  uint64_t ok = 0, err = 0;
};
XmitCounters xdp_xmit_counters(const char* ifname);

// Sends `count` frames of spec out of interface `ifindex` of namespace ns,
// flows in turn (count / flows each, the first count % flows one more). The
// frame of every call carries, as its sequence number, the number of frames
// sent before the call, and every frame leaves byte for byte as built, even
// on a recycled page that a program downstream rewrote. The calling thread enters ns for the
// duration. Needs root (CAP_BPF, CAP_NET_ADMIN) and Linux >= 5.18.
Result<LiveStats> send_live_frames(const net::Netns& ns, int ifindex, const FrameSpec& spec,
                                   uint64_t count, const LiveOptions& opt = {});

}  // namespace xdpkv::traffic
