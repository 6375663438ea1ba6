// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
// `xdpkv demo`: its two modes, which print their report on stdout. The CLI
// (userspace/cli/cmd_demo.cpp) parses the options and calls one of them.
#pragma once

#include <span>
#include <string>

#include <xdpkv/bpf_util.hpp>
#include <xdpkv/registry.hpp>
#include <xdpkv/result.hpp>
#include <xdpkv/topology.hpp>

namespace xdpkv::demo {

enum class Gen { dpdk, socket };

struct Options {
  int packets = 300;
  int show = 3;
  bool quiet = false;
  Gen gen = Gen::dpdk;
  std::string bpffs;  // registry directory; empty: this run's own
};

// An error: the demo could not run (the message says why). Else whether
// every check passed; the report names each that failed, and an interrupted
// run (net::interrupted) has not passed.
Result<bool> run_offline(const Options& opt);
Result<bool> run_netns(const Options& opt);

// Takes the key ids from the registry by name (registering them if needed)
// into each binding's slot, and prints them. The registry is opt.bpffs, else
// a directory of this run's own under /sys/fs/bpf, removed with everything in
// it when the guard goes.
class OwnRegistry {
 public:
  OwnRegistry() = default;
  OwnRegistry(const OwnRegistry&) = delete;
  OwnRegistry& operator=(const OwnRegistry&) = delete;
  ~OwnRegistry();
  Status resolve(const Options& opt, std::span<const KeyBinding> keys);
  // The registry directory resolve() used.
  const std::string& dir() const { return dir_; }
  // Its origin mark (xdpkv::host_origin), read or made by resolve().
  uint32_t origin() const { return origin_; }

 private:
  std::string own_;       // the private directory, once made
  bpf::UniqueFd parent_;  // its parent, open: removal by fd (bpffs may go away)
  std::string dir_;
  uint32_t origin_ = 0;
};

// The hints section (hints_section.cpp) on the namespaces of run_netns; the
// capture numbers packets under key key_seq and stores the origin mark
// origin with the hints. An error when a check failed.
Status hints_section(net::Topology& topo, uint32_t key_seq, uint32_t origin, bool quiet);

}  // namespace xdpkv::demo
