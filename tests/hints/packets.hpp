// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
// Ethernet frames for the hint tests, from the frame builder: optional VLAN
// tags, IPv4/IPv6, any L4 protocol with ports.
#pragma once

#include <cstdint>
#include <vector>

#include <arpa/inet.h>

#include <xdpkv/frame.hpp>

namespace xdpkv::hintpkt {

using Tag = traffic::VlanTag;

// An IPv4 or IPv6 frame (family from the addresses) with the given L4
// protocol; for TCP (6) and UDP (17) the ports lead the L4 header.
inline std::vector<uint8_t> frame(const char* src, const char* dst, uint8_t proto, uint16_t sport,
                                  uint16_t dport, const std::vector<Tag>& tags = {},
                                  bool fragment = false) {
  traffic::PacketSpec p;
  p.dst_mac = {0x02, 0, 0, 0, 0, 2};
  p.src_mac = {0x02, 0, 0, 0, 0, 1};
  if (!traffic::set_addresses(p, src, dst) || tags.size() > p.tags.size()) return {};
  for (const Tag& t : tags) p.tags[p.ntags++] = t;
  p.l4_proto = proto;
  p.sport = sport;
  p.dport = dport;
  p.more_fragments = fragment;
  return traffic::build_packet(p);
}

inline std::vector<uint8_t> arp_frame() {
  return traffic::build_arp_request({0x02, 0, 0, 0, 0, 1}, 0, 0);
}

}  // namespace xdpkv::hintpkt
