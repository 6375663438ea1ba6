// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
// The software RSS hash (drivers/toeplitz.h, built as C++ here) against the
// published verification vectors, and the hint keys' encoding.
#include <gtest/gtest.h>

#include <arpa/inet.h>

#include <cstring>
#include <vector>

#include <xdpkv/codec.hpp>
#include <xdpkv/hints.hpp>

#include "vectors.hpp"

namespace xdpkv {
namespace {

std::vector<uint8_t> addr(int family, const char* s) {
  uint8_t b[16];
  EXPECT_EQ(inet_pton(family, s, b), 1) << s;
  return std::vector<uint8_t>(b, b + (family == AF_INET ? 4 : 16));
}

TEST(Toeplitz, DefaultKeyIsTheStandardKey) {
  const auto& k = hints::default_rss_key();
  EXPECT_EQ(k[0], 0x6d);
  EXPECT_EQ(k[1], 0x5a);
  EXPECT_EQ(k[38], 0x01);
  EXPECT_EQ(k[39], 0xfa);
}

TEST(Toeplitz, MicrosoftVectorsIpv4WithAndWithoutPorts) {
  for (const auto& v : hintvec::kIpv4) {
    auto s = addr(AF_INET, v.src), d = addr(AF_INET, v.dst);
    EXPECT_EQ(hints::software_hash(s, d, 0, 0, false), v.l3) << v.src << " -> " << v.dst;
    EXPECT_EQ(hints::software_hash(s, d, htons(v.sport), htons(v.dport), true), v.l4)
        << v.src << ":" << v.sport << " -> " << v.dst << ":" << v.dport;
  }
}

TEST(Toeplitz, MicrosoftVectorsIpv6WithAndWithoutPorts) {
  for (const auto& v : hintvec::kIpv6) {
    auto s = addr(AF_INET6, v.src), d = addr(AF_INET6, v.dst);
    EXPECT_EQ(hints::software_hash(s, d, 0, 0, false), v.l3) << v.src << " -> " << v.dst;
    EXPECT_EQ(hints::software_hash(s, d, htons(v.sport), htons(v.dport), true), v.l4)
        << v.src << ":" << v.sport << " -> " << v.dst << ":" << v.dport;
  }
}

TEST(Toeplitz, RawInputAndTruncation) {
  // Byte stream form (the same first vector), and inputs longer than 36 bytes.
  const uint8_t in[12] = {66, 9, 149, 187, 161, 142, 100, 80, 0x0a, 0xea, 0x06, 0xe6};
  EXPECT_EQ(hints::toeplitz(in), 0x51ccc178u);
  EXPECT_EQ(hints::toeplitz(std::span<const uint8_t>(in, 8)), 0x323e8fc2u);
  EXPECT_EQ(hints::toeplitz({}), 0u);
  std::vector<uint8_t> big(48, 0xff);
  EXPECT_EQ(hints::toeplitz(big), hints::toeplitz(std::span<const uint8_t>(big.data(), 36)));
}

TEST(HintKeys, InfoAndVlanPacking) {
  uint64_t info =
      xdpkv_hint_info_pack(0xdeadbeef, XDPKV_RSS_L3_IPV4 | XDPKV_RSS_L4 | XDPKV_RSS_L4_UDP,
                           XDPKV_HINT_HASH | XDPKV_HINT_HASH_SW | XDPKV_HINT_VLAN);
  EXPECT_EQ(info, 0x0103'0029'deadbeefull);
  EXPECT_EQ(xdpkv_hint_info_hash(info), 0xdeadbeefu);
  EXPECT_EQ(xdpkv_hint_info_type(info), 0x29u);
  EXPECT_EQ(xdpkv_hint_info_flags(info), 0x103u);
  // The protocol as the two bytes on the wire (81 00), then the TCI.
  uint32_t v = xdpkv_hint_vlan_pack(htons(0x8100), 0x2064);
  uint8_t b[4];
  std::memcpy(b, &v, 4);
  EXPECT_EQ(b[0], 0x81);
  EXPECT_EQ(b[1], 0x00);
  EXPECT_EQ(xdpkv_hint_vlan_tci(v), 0x2064);
}

TEST(HintKeys, WriteThenReadThroughTheCodec) {
  Builder b;
  ASSERT_EQ(b.set_u64(5, 42), 0);  // another key, below
  hints::Hints h;
  h.flags = XDPKV_HINT_HASH | XDPKV_HINT_VLAN | XDPKV_HINT_TIMESTAMP | XDPKV_HINT_TIMESTAMP_SW;
  h.hash = 0x51ccc178;
  h.hash_type = XDPKV_RSS_L3_IPV4 | XDPKV_RSS_L4 | XDPKV_RSS_L4_TCP;
  h.vlan_proto = htons(0x88a8);
  h.vlan_tci = 7;
  h.timestamp = 123456789;
  ASSERT_EQ(hints::write(b, h), 0);
  View v = b.view();
  EXPECT_EQ(v.len(XDPKV_KEY_HINT_INFO), 8);
  EXPECT_EQ(v.len(XDPKV_KEY_HINT_VLAN), 4);
  EXPECT_EQ(v.len(XDPKV_KEY_HINT_TS), 8);
  EXPECT_EQ(v.store_size(), 16u + 8 + 8 + 4 + 8);
  hints::Hints r;
  ASSERT_EQ(hints::read(v, r), 0);
  EXPECT_EQ(r.flags, h.flags);
  EXPECT_EQ(r.hash, h.hash);
  EXPECT_EQ(r.hash_type, h.hash_type);
  EXPECT_EQ(r.proto_host(), 0x88a8);
  EXPECT_EQ(r.vlan_tci, 7);
  EXPECT_EQ(r.timestamp, 123456789u);
  EXPECT_EQ(hints::describe(r),
            "hash 0x51ccc178 (ipv4 tcp, hardware), vlan 0x88a8 vid 7 pcp 0 (hardware), "
            "timestamp 123456789 (software)");
  // Software bits of absent hints are dropped; clearing leaves no hints.
  hints::Hints only;
  only.flags = XDPKV_HINT_HASH | XDPKV_HINT_VLAN_SW;
  only.hash = 1;
  ASSERT_EQ(hints::write(b, only), 0);
  ASSERT_EQ(hints::read(b.view(), r), 0);
  EXPECT_EQ(r.flags, XDPKV_HINT_HASH);
  ASSERT_EQ(hints::write(b, hints::Hints{}), 0);
  EXPECT_EQ(hints::read(b.view(), r), -ENODATA);
}

TEST(HintKeys, FormatMdReservedKeysExample) {
  Builder b;
  hints::Hints h;
  h.flags = XDPKV_HINT_HASH | XDPKV_HINT_HASH_SW | XDPKV_HINT_VLAN | XDPKV_HINT_TIMESTAMP |
            XDPKV_HINT_TIMESTAMP_SW;
  h.hash = 0x51ccc178;
  h.hash_type = XDPKV_RSS_L3_IPV4 | XDPKV_RSS_L4 | XDPKV_RSS_L4_UDP;
  h.vlan_proto = htons(0x8100);
  h.vlan_tci = 0x2064;
  h.timestamp = 1000;
  ASSERT_EQ(hints::write(b, h), 0);
  EXPECT_EQ(to_hex(b.bytes()),
            "e803000000000000"
            "81006420"
            "78c1cc5129000705"
            "0000000000000070"
            "0000000000000050");
}

TEST(HintKeys, NoHintsAndWrongSizes) {
  hints::Hints r;
  EXPECT_EQ(hints::read(View{}, r), -ENODATA);  // M == 0
  Builder b;
  ASSERT_EQ(b.set_u64(1, 7), 0);
  EXPECT_EQ(hints::read(b.view(), r), -ENODATA);
  ASSERT_EQ(b.set_u32(XDPKV_KEY_HINT_INFO, 1), 0);  // key 60 of the wrong size
  EXPECT_EQ(hints::read(b.view(), r), -EBADMSG);
  ASSERT_EQ(b.set_u64(XDPKV_KEY_HINT_INFO, xdpkv_hint_info_pack(0, 0, XDPKV_HINT_VLAN)), 0);
  EXPECT_EQ(hints::read(b.view(), r), -EBADMSG) << "VLAN present but no key 61";
  const uint8_t bad[4] = {1, 2, 3, 4};
  EXPECT_EQ(hints::read(View(bad), r), -EBADMSG);
}

}  // namespace
}  // namespace xdpkv
