// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
// The frame builder shared by the traffic generators: layout, VLAN tag,
// sequence numbers, flows, and IPv4/UDP/TCP checksums checked against an
// independent computation written here from RFC 791/768/793 and RFC 1071.
#include <gtest/gtest.h>

#include <arpa/inet.h>

#include <cstring>
#include <set>

#include <xdpkv/frame.hpp>

namespace xdpkv::traffic {
namespace {

// --- an independent checksum: 16-bit words summed in a 64-bit accumulator ---

uint16_t word(const std::vector<uint8_t>& b, size_t i) {
  return static_cast<uint16_t>((b[i] << 8) | (i + 1 < b.size() ? b[i + 1] : 0));
}

// The checksum field value for `bytes` whose own checksum field is zero.
uint16_t ref_checksum(const std::vector<uint8_t>& bytes) {
  uint64_t acc = 0;
  for (size_t i = 0; i < bytes.size(); i += 2) acc += word(bytes, i);
  while (acc > 0xffff) acc = (acc & 0xffff) + (acc >> 16);
  return static_cast<uint16_t>(~acc & 0xffff);
}

uint16_t be16(const std::vector<uint8_t>& f, size_t at) {
  return static_cast<uint16_t>(f[at] << 8 | f[at + 1]);
}

FrameSpec spec(Proto p, std::optional<uint16_t> tci = std::nullopt) {
  FrameSpec s;
  s.src_mac = {0x02, 0x00, 0x00, 0x00, 0x00, 0x01};
  s.dst_mac = {0x02, 0x00, 0x00, 0x00, 0x00, 0x02};
  inet_pton(AF_INET, "10.77.1.1", &s.src_ip);
  inet_pton(AF_INET, "10.77.9.9", &s.dst_ip);
  s.sport_base = 20000;
  s.dport = 7777;
  s.flows = 8;
  s.proto = p;
  s.vlan_tci = tci;
  return s;
}

// Recomputes every checksum of a built frame independently and compares.
void expect_checksums(const std::vector<uint8_t>& f, const FrameSpec& s) {
  const size_t ip = kEthLen + (s.vlan_tci ? kVlanLen : 0);
  std::vector<uint8_t> iph(f.begin() + ip, f.begin() + ip + kIpLen);
  const uint16_t ip_sum = be16(iph, 10);
  iph[10] = iph[11] = 0;
  EXPECT_EQ(ip_sum, ref_checksum(iph)) << "IPv4 header checksum";

  const size_t l4 = ip + kIpLen;
  std::vector<uint8_t> seg(f.begin() + l4, f.end());
  const size_t at = s.proto == Proto::udp ? 6 : 16;
  const uint16_t l4_sum = be16(seg, at);
  seg[at] = seg[at + 1] = 0;
  // Pseudo-header: source, destination, zero, protocol, L4 length.
  std::vector<uint8_t> pseudo(f.begin() + ip + 12, f.begin() + ip + 20);
  pseudo.push_back(0);
  pseudo.push_back(static_cast<uint8_t>(s.proto));
  pseudo.push_back(static_cast<uint8_t>(seg.size() >> 8));
  pseudo.push_back(static_cast<uint8_t>(seg.size()));
  pseudo.insert(pseudo.end(), seg.begin(), seg.end());
  uint16_t want = ref_checksum(pseudo);
  if (s.proto == Proto::udp && want == 0) want = 0xffff;
  EXPECT_EQ(l4_sum, want) << (s.proto == Proto::udp ? "UDP" : "TCP") << " checksum";
}

TEST(Frame, KnownAnswerIpv4HeaderChecksum) {
  // The classic example header (checksum field zeroed): checksum 0xb861.
  const uint8_t h[] = {0x45, 0x00, 0x00, 0x73, 0x00, 0x00, 0x40, 0x00, 0x40, 0x11,
                       0x00, 0x00, 0xc0, 0xa8, 0x00, 0x01, 0xc0, 0xa8, 0x00, 0xc7};
  EXPECT_EQ(csum_fold(csum_add(0, h)), 0xb861);
  EXPECT_EQ(ref_checksum({std::begin(h), std::end(h)}), 0xb861);
  // Odd length: the last byte is padded with zero.
  const uint8_t odd[] = {0x01, 0x02, 0x03};
  EXPECT_EQ(csum_fold(csum_add(0, odd)), static_cast<uint16_t>(~(0x0102 + 0x0300)));
}

TEST(Frame, UntaggedUdpLayout) {
  auto s = spec(Proto::udp);
  auto f = build_frame(s, 3, 0x0102030405060708ULL);
  ASSERT_EQ(f.size(), 60u);  // 14 + 20 + 8 + 18: the Ethernet minimum without FCS
  ASSERT_EQ(f.size(), frame_size(s));
  EXPECT_EQ(0, std::memcmp(f.data(), s.dst_mac.data(), 6));
  EXPECT_EQ(0, std::memcmp(f.data() + 6, s.src_mac.data(), 6));
  EXPECT_EQ(be16(f, 12), 0x0800);
  EXPECT_EQ(f[14], 0x45);
  EXPECT_EQ(be16(f, 16), 46);      // IPv4 total length
  EXPECT_EQ(be16(f, 20), 0x4000);  // DF
  EXPECT_EQ(f[22], 64);            // TTL
  EXPECT_EQ(f[23], 17);
  EXPECT_EQ(0, std::memcmp(f.data() + 26, &s.src_ip, 4));
  EXPECT_EQ(0, std::memcmp(f.data() + 30, &s.dst_ip, 4));
  EXPECT_EQ(be16(f, 34), 20003);  // sport_base + flow
  EXPECT_EQ(be16(f, 36), 7777);
  EXPECT_EQ(be16(f, 38), 26);  // UDP length
  const uint8_t seq[] = {1, 2, 3, 4, 5, 6, 7, 8};
  EXPECT_EQ(0, std::memcmp(f.data() + 42, seq, 8)) << "big-endian sequence number";
  for (size_t i = 8; i < 18; i++) EXPECT_EQ(f[42 + i], i) << "filler byte " << i;
  expect_checksums(f, s);
}

TEST(Frame, VlanTagLayout) {
  const uint16_t tci = (5 << 13) | (1 << 12) | 100;  // PCP 5, DEI, VID 100
  for (Proto p : {Proto::udp, Proto::tcp}) {
    auto plain = spec(p), tagged = spec(p, tci);
    auto a = build_frame(plain, 1, 42), b = build_frame(tagged, 1, 42);
    ASSERT_EQ(b.size(), a.size() + 4);
    ASSERT_EQ(b.size(), frame_size(tagged));
    EXPECT_EQ(0, std::memcmp(a.data(), b.data(), 12)) << "MACs";
    EXPECT_EQ(be16(b, 12), 0x8100) << "TPID";
    EXPECT_EQ(be16(b, 14), tci);
    EXPECT_EQ(be16(b, 16), 0x0800) << "inner EtherType";
    // Everything after the tag is the untagged frame's, checksums included.
    EXPECT_TRUE(std::equal(a.begin() + 12, a.end(), b.begin() + 16));
    expect_checksums(b, tagged);
  }
}

TEST(Frame, TcpLayout) {
  auto s = spec(Proto::tcp);
  auto f = build_frame(s, 7, 0x1122334455667788ULL);
  ASSERT_EQ(f.size(), 14u + 20 + 20 + 18);
  EXPECT_EQ(f[23], 6);
  EXPECT_EQ(be16(f, 16), 58);
  EXPECT_EQ(be16(f, 34), 20007);
  EXPECT_EQ(be16(f, 36), 7777);
  EXPECT_EQ(be16(f, 38), 0x5566) << "TCP sequence number: low 32 bits of seq";
  EXPECT_EQ(be16(f, 40), 0x7788);
  EXPECT_EQ(f[46] >> 4, 5) << "data offset";
  EXPECT_EQ(f[47], 0x18) << "PSH|ACK";
  EXPECT_EQ(be16(f, 48), 0xffff) << "window";
  const uint8_t seq[] = {0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88};
  EXPECT_EQ(0, std::memcmp(f.data() + 54, seq, 8));
  expect_checksums(f, s);
}

TEST(Frame, ChecksumsAcrossSizesFlowsAndSequenceNumbers) {
  int frames = 0;
  for (Proto p : {Proto::udp, Proto::tcp}) {
    for (std::optional<uint16_t> tci : {std::optional<uint16_t>{}, std::optional<uint16_t>{7}}) {
      for (uint16_t payload : {8, 9, 18, 31, 64, 1000, 1472}) {
        for (uint64_t seq : {0ULL, 1ULL, 0xffffULL, 0xfffffffffffffff0ULL, 0x8000000000000001ULL}) {
          auto s = spec(p, tci);
          s.payload_size = payload;
          s.src_ip = htonl(0xfffffffe);                      // large words: carries in the sum
          if (p == Proto::tcp && payload == 1472) continue;  // over the 1500-byte MTU
          ASSERT_TRUE(validate(s)) << validate(s).error().message;
          auto f = build_frame(s, static_cast<uint32_t>(seq % s.flows), seq);
          ASSERT_EQ(f.size(), frame_size(s));
          expect_checksums(f, s);
          auto pf = parse_frame(f);
          ASSERT_TRUE(pf) << pf.error().message;
          EXPECT_TRUE(pf->ip_csum_ok);
          EXPECT_TRUE(pf->l4_csum_ok);
          EXPECT_EQ(pf->seq, seq);
          EXPECT_EQ(pf->payload_size, payload);
          EXPECT_EQ(pf->vlan_tci, tci);
          EXPECT_EQ(pf->proto, p);
          EXPECT_EQ(pf->sport, s.sport_base + seq % s.flows);
          frames++;
        }
      }
    }
  }
  EXPECT_EQ(frames, 2 * 2 * 7 * 5 - 2 * 5);
}

TEST(Frame, UdpChecksumZeroIsSentAsAllOnes) {
  // Search the sequence numbers for one whose UDP checksum computes to 0.
  auto s = spec(Proto::udp);
  s.flows = 1;
  bool found = false;
  for (uint64_t seq = 0; seq < 200000 && !found; seq++) {
    auto f = build_frame(s, 0, seq);
    if (be16(f, 40) == 0xffff) {
      found = true;
      expect_checksums(f, s);
      EXPECT_TRUE(parse_frame(f)->l4_csum_ok);
    }
    ASSERT_NE(be16(f, 40), 0) << "UDP checksum 0 means none";
  }
  EXPECT_TRUE(found) << "no sequence number hit the 0xffff case";
}

TEST(Frame, FlowsVaryTheSourcePortOnly) {
  auto s = spec(Proto::udp);
  std::set<uint16_t> ports;
  auto first = build_frame(s, 0, 9);
  for (uint32_t fl = 0; fl < s.flows; fl++) {
    auto f = build_frame(s, fl, 9);
    ports.insert(be16(f, 34));
    // Same bytes except the source port and the UDP checksum.
    for (size_t i = 0; i < f.size(); i++) {
      if (i != 34 && i != 35 && i != 40 && i != 41) {
        EXPECT_EQ(f[i], first[i]) << "byte " << i;
      }
    }
  }
  EXPECT_EQ(ports.size(), s.flows);
  EXPECT_EQ(*ports.begin(), 20000);
  EXPECT_EQ(*ports.rbegin(), 20007);
  std::vector<uint8_t> small(10);
  EXPECT_EQ(build_frame(s, 0, 0, small), 0u) << "buffer too small";
  std::vector<uint8_t> big(100);
  EXPECT_EQ(build_frame(s, s.flows, 0, big), 0u) << "flow out of range";
}

TEST(Frame, ValidateRefusesBadSpecs) {
  auto s = spec(Proto::udp);
  EXPECT_TRUE(validate(s));
  auto bad = s;
  bad.flows = 0;
  EXPECT_FALSE(validate(bad));
  bad = s;
  bad.sport_base = 65530;
  bad.flows = 7;
  EXPECT_FALSE(validate(bad)) << "65530 + 6 > 65535";
  bad.flows = 6;
  EXPECT_TRUE(validate(bad));
  bad = s;
  bad.payload_size = 7;
  EXPECT_FALSE(validate(bad));
  bad = s;
  bad.payload_size = 1473;
  EXPECT_FALSE(validate(bad)) << "a 1501-byte IPv4 packet";
  bad.payload_size = 1472;
  bad.vlan_tci = 1;
  EXPECT_TRUE(validate(bad)) << "1500 bytes, tagged: a 1518-byte frame";
  bad.proto = Proto::tcp;
  EXPECT_FALSE(validate(bad)) << "TCP: 1460 at most";
  bad = s;
  bad.vlan_tci = 0x0fff;
  EXPECT_FALSE(validate(bad)) << "VID 4095";
}

TEST(Frame, ParseRefusesOtherShapes) {
  auto f = build_frame(spec(Proto::udp), 0, 1);
  EXPECT_FALSE(parse_frame(std::span<const uint8_t>(f).first(13)));
  auto g = f;
  g[12] = 0x86;
  g[13] = 0xdd;  // IPv6
  EXPECT_FALSE(parse_frame(g));
  g = f;
  g[50] ^= 1;  // a payload bit: the UDP checksum no longer matches
  auto p = parse_frame(g);
  ASSERT_TRUE(p);
  EXPECT_TRUE(p->ip_csum_ok);
  EXPECT_FALSE(p->l4_csum_ok);
}

TEST(Frame, MacText) {
  auto m = parse_mac("02:aB:00:ff:10:9");
  ASSERT_TRUE(m);
  EXPECT_EQ(mac_str(*m), "02:ab:00:ff:10:09");
  EXPECT_FALSE(parse_mac("02:ab:00:ff:10"));
  EXPECT_FALSE(parse_mac("02:ab:00:ff:10:09:"));
  EXPECT_FALSE(parse_mac("zz:ab:00:ff:10:09"));
}

}  // namespace
}  // namespace xdpkv::traffic
