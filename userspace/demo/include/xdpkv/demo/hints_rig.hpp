// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
// NIC hints across the client -> lb -> backend topology: xdpkv_capture is
// the first XDP program on lbin (device-bound: the driver's kfuncs, where the
// kernel has them) and redirects through its devmap (to lbout, with a devmap
// program) or its cpumap; the consumers of xdp/progs/hints_consumers.bpf.c
// read the hints back on the way (devmap/cpumap programs, XDP on be, TC on
// be or lbin, before and after xdpkv_restore, a tp_btf/kfree_skb tracer,
// AF_XDP). Used by `xdpkv demo` (its hints section) and tests/hints.
// Everything attached is detached when the Rig is destroyed.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <xdpkv/demo/hints_consumers.h>
#include <xdpkv/bpf_util.hpp>
#include <xdpkv/hints.hpp>
#include <xdpkv/tc.hpp>
#include <xdpkv/topology.hpp>
#include <xdpkv/traffic.hpp>

struct xdpkv_hints_consumers;
struct ring_buffer;
struct bpf_link;

namespace xdpkv::hints {

constexpr uint16_t kRigDport = 7777;
constexpr uint16_t kRigSportBase = 20000;
constexpr int kRigFlows = 8;

struct RigOptions {
  CaptureOptions capture;      // key_seq and events: set by the rig
  uint32_t key_seq = 5;        // the capture's sequence number goes under this key
  bool backend = false;        // hc_backend on be (device-bound)
  bool backend_tc = false;     // hc_tc on be
  bool lbin_tc = false;        // hc_tc on lbin (priority 10: after the restore program)
  bool lbin_tc_pre = false;    // hc_tc_pre on lbin (priority 1: put restore at 2 or later)
  bool xsk = false;            // backend hands frames to AF_XDP
  bool vlan_sender = false;    // cli tags UDP to vlan_dport
  uint16_t vlan_tci = 0x2064;  // PCP 1, VID 100
  uint16_t vlan_dport = kRigDport;
  bool trace = false;                     // hc_trace (tp_btf/kfree_skb)
  std::optional<RestoreOptions> restore;  // on lbin
  bool restore_cpumap = false;  // cpumap entry program: xdpkv_restore_cpumap (not hc_cpumap)
};

class Rig {
 public:
  // On a topology of its own, or on topo (which must outlive the Rig). The
  // capture program redirects every frame it sees: the rig keeps everything
  // but the datagrams sent off lbin (static neighbours, no IPv6).
  static Result<std::unique_ptr<Rig>> create(const RigOptions& o);
  static Result<std::unique_ptr<Rig>> create(net::Topology& topo, const RigOptions& o);
  Rig(const Rig&) = delete;
  Rig& operator=(const Rig&) = delete;
  ~Rig();

  // A burst to the VIP: kRigDport, kRigFlows flows from kRigSportBase.
  net::UdpBurst burst(int count, int gap_us = 100) const;
  // Sends b and waits until b.count packets more were captured and each has
  // a record from every consumer, or 15 s, or until net::interrupted().
  // Returns how many datagrams were sent.
  Result<int> send_and_wait(const net::UdpBurst& b, const std::vector<uint32_t>& consumers);
  void poll(int ms);
  uint64_t lost() const;  // records the consumers could not submit

 private:
  explicit Rig(std::optional<net::Topology> own, net::Topology* ext);
  Status setup(const RigOptions& o);  // the steps below, in this order
  Status load_consumers(const RigOptions& o);
  Status attach_capture(const RigOptions& o);
  Status attach_consumers(const RigOptions& o);
  static int on_rec(void* self, void* data, size_t size);
  class Xsk;
  std::optional<net::Topology> own_;

 public:
  net::Topology& topo;
  bpf::Skeleton<xdpkv_hints_consumers> cons{nullptr, nullptr};
  std::optional<Capture> capture;
  std::optional<Restore> restore;
  std::map<uint64_t, std::map<uint32_t, hc_rec>> seen;  // seq -> consumer -> record
  std::map<uint64_t, CaptureEvent> events;              // seq -> what lbin captured
  uint64_t t_start = 0, t_end = 0;                      // CLOCK_MONOTONIC around the last send

 private:
  std::unique_ptr<Xsk> xsk_;
  std::vector<bpf::TcFilter> tc_;  // detached in their namespaces, before the topology goes
  ring_buffer* rb_ = nullptr;
  bpf_link* trace_ = nullptr;
  bool backend_attached_ = false;
  uint32_t key_seq_ = 5;
};

const char* consumer_name(uint32_t c);  // "devmap-prog", "tc", ...

// Which of the hints h a consumer's record r did not read back exactly
// ("hash, vlan"); "" when r has h's values, and -ENODATA where h has none.
std::string mismatch(const hc_rec& r, const Hints& h);

// The software (Toeplitz) hash of a datagram client -> VIP.
uint32_t expected_sw_hash(const net::Topology& t, uint16_t sport, uint16_t dport = kRigDport);

}  // namespace xdpkv::hints
