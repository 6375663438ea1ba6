// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
// Shared by the traffic tests: the LB's statistics slots, a spec from the
// topology, and small probes of the namespaces.
#pragma once

#include <bpf/libbpf.h>

#include <cstdint>
#include <cstdlib>
#include <sstream>
#include <string>

#include <xdpkv/frame.hpp>
#include <xdpkv/topology.hpp>
#include <xdpkv/traffic.hpp>
#include <xdpkv/trafficgen.hpp>

namespace xdpkv::traffic::test {

// A test's own deadlines (never a speed assertion) times XDPKV_TIME_SCALE:
// scripts/guest.sh sets it for a guest under QEMU/TCG, which runs several
// times slower than the host.
inline int time_scale() {
  const char* s = std::getenv("XDPKV_TIME_SCALE");
  const int v = s ? std::atoi(s) : 1;
  return v >= 1 && v <= 100 ? v : 1;
}

// lb.bpf.c's stats[] slots.
enum LbStat { kTagged = 0, kNotVip = 1, kTagErr = 2, kEncapErr = 3, kRecLost = 4, kDecap = 5 };

// client_to_vip with a protocol and a VLAN tag.
inline FrameSpec lb_spec(const net::Topology& t, Proto p, uint32_t flows,
                         std::optional<uint16_t> vlan = std::nullopt) {
  FrameSpec s = client_to_vip(t, flows);
  s.proto = p;
  s.vlan_tci = vlan;
  return s;
}

// The id of the XDP program attached to ifindex in ns (0: none).
inline uint32_t xdp_prog_on(const net::Netns& ns, int ifindex) {
  auto scope = net::NsScope::enter(ns);
  uint32_t id = 0;
  if (!scope || bpf_xdp_query_id(ifindex, 0, &id)) return 0;
  return id;
}

// A counter of /proc/net/snmp in ns, e.g. ("Tcp", "OutRsts"); -1 if absent.
inline int64_t snmp(const net::Netns& ns, const std::string& group, const std::string& field) {
  auto v = net::net_counter(ns, "snmp", group, field);
  return v ? static_cast<int64_t>(*v) : -1;
}

}  // namespace xdpkv::traffic::test
