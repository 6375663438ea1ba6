// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
// Ethernet frames for the hint tests: optional VLAN tags, IPv4/IPv6, any
// L4 protocol with ports.
#pragma once

#include <arpa/inet.h>

#include <cstdint>
#include <cstring>
#include <vector>

namespace xdpkv::hintpkt {

struct Tag {
  uint16_t proto;  // host order: 0x8100, 0x88a8
  uint16_t tci;
};

inline void put16(std::vector<uint8_t>& f, uint16_t v) {
  f.push_back(static_cast<uint8_t>(v >> 8));
  f.push_back(static_cast<uint8_t>(v));
}

// An IPv4 or IPv6 frame (family from the addresses) with the given L4
// protocol; for TCP (6) and UDP (17) the ports lead the L4 header.
inline std::vector<uint8_t> frame(const char* src, const char* dst, uint8_t proto, uint16_t sport,
                                  uint16_t dport, std::vector<Tag> tags = {}, bool fragment = false) {
  std::vector<uint8_t> f = {0x02, 0, 0, 0, 0, 2, 0x02, 0, 0, 0, 0, 1};
  uint8_t s[16], d[16];
  bool v6 = inet_pton(AF_INET6, src, s) == 1;
  if (v6) {
    inet_pton(AF_INET6, dst, d);
  } else {
    inet_pton(AF_INET, src, s);
    inet_pton(AF_INET, dst, d);
  }
  for (const Tag& t : tags) {
    put16(f, t.proto);
    put16(f, t.tci);
  }
  put16(f, v6 ? 0x86dd : 0x0800);
  std::vector<uint8_t> l4;
  put16(l4, sport);
  put16(l4, dport);
  if (proto == 17) {
    put16(l4, 8 + 8);
    put16(l4, 0);
  } else {
    l4.resize(20, 0);
  }
  l4.resize(l4.size() + 8, 0xab);
  if (v6) {
    f.insert(f.end(), {0x60, 0, 0, 0});
    put16(f, static_cast<uint16_t>(l4.size()));
    f.push_back(proto);
    f.push_back(64);
    f.insert(f.end(), s, s + 16);
    f.insert(f.end(), d, d + 16);
  } else {
    f.insert(f.end(), {0x45, 0});
    put16(f, static_cast<uint16_t>(20 + l4.size()));
    put16(f, 1);
    put16(f, fragment ? 0x2000 : 0);  // MF
    f.push_back(64);
    f.push_back(proto);
    put16(f, 0);
    f.insert(f.end(), s, s + 4);
    f.insert(f.end(), d, d + 4);
  }
  f.insert(f.end(), l4.begin(), l4.end());
  return f;
}

inline std::vector<uint8_t> arp_frame() {
  std::vector<uint8_t> f = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02, 0, 0, 0, 0, 1, 0x08, 0x06};
  f.resize(14 + 28, 0);
  return f;
}

}  // namespace xdpkv::hintpkt
