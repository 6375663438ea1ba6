// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
// xdpkv demo: what its two modes (cmd_demo.cpp: --offline, demo_netns.cpp:
// namespaces) share.
#pragma once

#include <span>
#include <string>

#include <xdpkv/bpf_util.hpp>
#include <xdpkv/registry.hpp>
#include <xdpkv/result.hpp>
#include <xdpkv/topology.hpp>

#include "commands.hpp"

namespace xdpkv::cli {

enum class Gen { dpdk, socket };

struct DemoOptions {
  int packets = 300;
  int show = 3;
  bool quiet = false;
  Gen gen = Gen::dpdk;
  std::string bpffs;  // registry directory; empty: this run's own
};

// Takes the key ids from the registry by name (registering them if needed)
// into each binding's slot, and prints them. The registry is opt.bpffs, else
// a directory of this run's own under /sys/fs/bpf, removed with everything in
// it when the returned guard goes.
class DemoRegistry {
 public:
  DemoRegistry() = default;
  DemoRegistry(const DemoRegistry&) = delete;
  DemoRegistry& operator=(const DemoRegistry&) = delete;
  ~DemoRegistry();
  Status resolve(const DemoOptions& opt, std::span<const KeyBinding> keys);
  // The registry directory resolve() used.
  const std::string& dir() const { return dir_; }

 private:
  std::string own_;       // the private directory, once made
  bpf::UniqueFd parent_;  // its parent, open: removal by fd (bpffs may go away)
  std::string dir_;
};

int demo_offline(const Command& self, const DemoOptions& opt);
// The hints section (demo_hints.cpp) on the namespaces of demo_netns; the
// capture numbers packets under key key_seq. An error when a check failed.
Status hints_section(net::Topology& topo, uint32_t key_seq, bool quiet);
int demo_netns(const Command& self, const DemoOptions& opt);

}  // namespace xdpkv::cli
