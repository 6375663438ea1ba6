// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
// Running xdpkv-trafficgen (the DPDK generator, its own process because the
// EAL initialises once per process) inside a network namespace, from tests
// and the bench: fork, setns into the namespace, exec; bounded by a timeout.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include <xdpkv/frame.hpp>
#include <xdpkv/netns.hpp>
#include <xdpkv/topology.hpp>

namespace xdpkv::traffic {

// Client -> VIP through the LB of a topology: cli's addresses, lbin's MAC,
// the default ports.
inline FrameSpec client_to_vip(const net::Topology& t, uint32_t flows) {
  FrameSpec s;
  s.src_mac = t.cli.mac;
  s.dst_mac = t.lbin.mac;
  s.src_ip = t.cli.ip4;
  s.dst_ip = t.vip;
  s.flows = flows;
  return s;
}

// The executable: $XDPKV_TRAFFICGEN if set, else xdpkv-trafficgen next to this
// executable (an installed prefix), else the one this build made.
std::string trafficgen_path();

// Command-line arguments for a spec (MACs and addresses included).
std::vector<std::string> trafficgen_args(const std::string& iface, const FrameSpec& spec,
                                         uint64_t count, uint64_t rate_pps);

struct TrafficgenRun {
  int pid = 0;           // of the process (its EAL file prefix is "xkvtg<pid>")
  int exit_status = -1;  // of the process; -1 if killed (timeout or signal)
  bool timed_out = false;
  uint64_t sent = 0, requested = 0;  // from the final line
  uint64_t if_dropped = 0;  // the interface's tx_dropped over the run (veth: peer's ring full)
  double seconds = 0, pps = 0;
  std::string driver;      // "af_xdp" or "af_packet" (from the final line; "none" if no port)
  bool fell_back = false;  // af_xdp failed and af_packet was used
  std::string output;      // stdout and stderr, interleaved
};

// Runs trafficgen_path() with args inside ns; kills it (SIGTERM, then
// SIGKILL 2 s later) at the timeout. An error only if it could not be run
// or printed no final line; a non-zero exit status is reported in the result.
Result<TrafficgenRun> run_trafficgen(const net::Netns& ns, const std::vector<std::string>& args,
                                     std::chrono::milliseconds timeout = std::chrono::seconds(60));

}  // namespace xdpkv::traffic
