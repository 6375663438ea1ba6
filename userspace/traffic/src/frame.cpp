// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#include <xdpkv/frame.hpp>

#include <arpa/inet.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

namespace xdpkv::traffic {

namespace {

void put16(uint8_t* p, uint16_t v) {
  p[0] = static_cast<uint8_t>(v >> 8);
  p[1] = static_cast<uint8_t>(v);
}

void put32(uint8_t* p, uint32_t v) {
  for (int i = 0; i < 4; i++) p[i] = static_cast<uint8_t>(v >> (24 - 8 * i));
}

uint16_t get16(const uint8_t* p) { return static_cast<uint16_t>(p[0] << 8 | p[1]); }

size_t l4_header(Proto p) { return p == Proto::tcp ? kTcpLen : kUdpLen; }

// Sum of the IPv4 pseudo-header: addresses (as stored), protocol, L4 length.
uint32_t pseudo_sum(const uint8_t* ip, Proto proto, size_t l4_len) {
  uint32_t sum = csum_add(0, {ip + 12, 8});
  sum += static_cast<uint8_t>(proto);
  sum += static_cast<uint32_t>(l4_len);
  return sum;
}

}  // namespace

uint32_t csum_add(uint32_t sum, std::span<const uint8_t> b) {
  uint64_t s = sum;
  size_t i = 0;
  for (; i + 1 < b.size(); i += 2) s += static_cast<uint32_t>(b[i] << 8 | b[i + 1]);
  if (i < b.size()) s += static_cast<uint32_t>(b[i] << 8);
  while (s >> 32) s = (s & 0xffffffffu) + (s >> 32);
  return static_cast<uint32_t>(s);
}

uint16_t csum_fold(uint32_t sum) {
  sum = (sum & 0xffff) + (sum >> 16);
  sum = (sum & 0xffff) + (sum >> 16);
  return static_cast<uint16_t>(~sum);
}

Status validate(const FrameSpec& s) {
  if (s.flows < 1) return make_error(EINVAL, "flows must be >= 1");
  if (static_cast<uint32_t>(s.sport_base) + s.flows - 1 > 0xffff)
    return make_error(EINVAL, "sport_base + flows - 1 exceeds 65535");
  if (s.payload_size < kSeqLen)
    return make_error(EINVAL, "payload size must be >= 8 (the sequence number)");
  if (s.proto != Proto::udp && s.proto != Proto::tcp)
    return make_error(EINVAL, "protocol must be udp or tcp");
  if (s.vlan_tci && (*s.vlan_tci & 0x0fff) == 0x0fff)
    return make_error(EINVAL, "VLAN id 4095 is reserved");
  if (kIpLen + l4_header(s.proto) + s.payload_size > kMtu) {
    return make_error(EINVAL, "an IPv4 packet of " +
                                  std::to_string(kIpLen + l4_header(s.proto) + s.payload_size) +
                                  " bytes exceeds the " + std::to_string(kMtu) + "-byte MTU");
  }
  return {};
}

size_t packet_size(const PacketSpec& p) {
  const size_t l4 = p.l4_proto == 6 ? kTcpLen : p.l4_proto == 17 ? kUdpLen : kOtherL4Len;
  return kEthLen + p.ntags * kVlanLen + (p.ipv6 ? kIp6Len : kIpLen) + l4 + p.payload_size;
}

namespace {

// The L4 checksum over the IPv4 or IPv6 pseudo-header and the segment.
uint16_t l4_csum(const PacketSpec& p, const uint8_t* l4, size_t l4_len) {
  uint32_t sum = p.ipv6 ? csum_add(csum_add(0, p.src_ip6), p.dst_ip6)
                        : csum_add(csum_add(0, {reinterpret_cast<const uint8_t*>(&p.src_ip), 4}),
                                   {reinterpret_cast<const uint8_t*>(&p.dst_ip), 4});
  sum += p.l4_proto;
  sum += static_cast<uint32_t>(l4_len);
  return csum_fold(csum_add(sum, {l4, l4_len}));
}

uint8_t* put_ip(const PacketSpec& p, uint8_t* ip, size_t l4_len) {
  if (p.ipv6) {
    ip[0] = 0x60;  // version 6, no traffic class or flow label
    std::memset(ip + 1, 0, 3);
    put16(ip + 4, static_cast<uint16_t>(l4_len));
    ip[6] = p.l4_proto;
    ip[7] = 64;  // hop limit
    std::memcpy(ip + 8, p.src_ip6.data(), 16);
    std::memcpy(ip + 24, p.dst_ip6.data(), 16);
    return ip + kIp6Len;
  }
  ip[0] = 0x45;  // version 4, IHL 5
  ip[1] = 0;     // DSCP/ECN
  put16(ip + 2, static_cast<uint16_t>(kIpLen + l4_len));
  put16(ip + 4, 0);                                   // id
  put16(ip + 6, p.more_fragments ? 0x2000 : 0x4000);  // MF, or DF
  ip[8] = 64;                                         // TTL
  ip[9] = p.l4_proto;
  put16(ip + 10, 0);
  std::memcpy(ip + 12, &p.src_ip, 4);
  std::memcpy(ip + 16, &p.dst_ip, 4);
  put16(ip + 10, csum_fold(csum_add(0, {ip, kIpLen})));
  return ip + kIpLen;
}

// Writes the L4 header (checksum last) and returns where the payload starts.
uint8_t* put_l4(const PacketSpec& p, uint8_t* l4, size_t l4_len) {
  put16(l4, p.sport);
  put16(l4 + 2, p.dport);
  if (p.l4_proto == 17) {
    put16(l4 + 4, static_cast<uint16_t>(l4_len));
    put16(l4 + 6, 0);
    return l4 + kUdpLen;
  }
  if (p.l4_proto == 6) {
    put32(l4 + 4, static_cast<uint32_t>(p.seq));  // sequence number
    put32(l4 + 8, 1);                             // acknowledgment number
    l4[12] = 5 << 4;                              // data offset: 5 words
    l4[13] = 0x18;                                // PSH | ACK
    put16(l4 + 14, 0xffff);                       // window
    put16(l4 + 16, 0);                            // checksum
    put16(l4 + 18, 0);                            // urgent pointer
    return l4 + kTcpLen;
  }
  std::memset(l4 + 4, 0, kOtherL4Len - 4);
  return l4 + kOtherL4Len;
}

}  // namespace

size_t build_packet(const PacketSpec& p, std::span<uint8_t> out) {
  const size_t len = packet_size(p);
  if (out.size() < len || p.ntags > p.tags.size()) return 0;
  uint8_t* f = out.data();
  std::memcpy(f, p.dst_mac.data(), 6);
  std::memcpy(f + 6, p.src_mac.data(), 6);
  uint8_t* at = f + 12;
  for (uint8_t i = 0; i < p.ntags; i++, at += kVlanLen) {
    put16(at, p.tags[i].tpid);
    put16(at + 2, p.tags[i].tci);
  }
  put16(at, p.ipv6 ? 0x86dd : 0x0800);
  uint8_t* ip = at + 2;
  const size_t l4_len = len - static_cast<size_t>(ip - f) - (p.ipv6 ? kIp6Len : kIpLen);
  uint8_t* l4 = put_ip(p, ip, l4_len);
  uint8_t* payload = put_l4(p, l4, l4_len);
  size_t i = 0;
  if (p.payload_size >= kSeqLen)
    for (; i < kSeqLen; i++) payload[i] = static_cast<uint8_t>(p.seq >> (56 - 8 * i));
  for (; i < p.payload_size; i++) payload[i] = static_cast<uint8_t>(i);
  if (p.l4_proto == 17 || p.l4_proto == 6) {
    uint16_t c = l4_csum(p, l4, l4_len);
    if (p.l4_proto == 17 && c == 0) c = 0xffff;  // 0 means "no checksum" in UDP
    put16(l4 + (p.l4_proto == 17 ? 6 : 16), c);
  }
  return len;
}

std::vector<uint8_t> build_packet(const PacketSpec& p) {
  std::vector<uint8_t> f(packet_size(p));
  f.resize(build_packet(p, f));
  return f;
}

Status set_addresses(PacketSpec& p, const std::string& src, const std::string& dst) {
  if (inet_pton(AF_INET, src.c_str(), &p.src_ip) == 1 &&
      inet_pton(AF_INET, dst.c_str(), &p.dst_ip) == 1) {
    p.ipv6 = false;
    return {};
  }
  if (inet_pton(AF_INET6, src.c_str(), p.src_ip6.data()) == 1 &&
      inet_pton(AF_INET6, dst.c_str(), p.dst_ip6.data()) == 1) {
    p.ipv6 = true;
    return {};
  }
  return make_error(EINVAL, "'" + src + "' and '" + dst + "' are not two addresses of one family");
}

std::vector<uint8_t> build_arp_request(const Mac& src, uint32_t sip, uint32_t tip) {
  std::vector<uint8_t> f(kEthLen + 28, 0);
  std::memset(f.data(), 0xff, 6);
  std::memcpy(&f[6], src.data(), 6);
  put16(&f[12], 0x0806);
  uint8_t* a = &f[kEthLen];
  put16(a, 1);           // Ethernet
  put16(a + 2, 0x0800);  // IPv4
  a[4] = 6;
  a[5] = 4;
  put16(a + 6, 1);  // request
  std::memcpy(a + 8, src.data(), 6);
  std::memcpy(a + 14, &sip, 4);
  std::memcpy(a + 24, &tip, 4);
  return f;
}

namespace {
PacketSpec packet_of(const FrameSpec& s, uint32_t flow, uint64_t seq) {
  PacketSpec p;
  p.src_mac = s.src_mac;
  p.dst_mac = s.dst_mac;
  if (s.vlan_tci) {
    p.tags[0] = VlanTag{0x8100, *s.vlan_tci};
    p.ntags = 1;
  }
  p.src_ip = s.src_ip;
  p.dst_ip = s.dst_ip;
  p.l4_proto = static_cast<uint8_t>(s.proto);
  p.sport = static_cast<uint16_t>(s.sport_base + flow);
  p.dport = s.dport;
  p.seq = seq;
  p.payload_size = s.payload_size;
  return p;
}
}  // namespace

size_t frame_size(const FrameSpec& s) { return packet_size(packet_of(s, 0, 0)); }

size_t build_frame(const FrameSpec& s, uint32_t flow, uint64_t seq, std::span<uint8_t> out) {
  if (flow >= s.flows) return 0;
  return build_packet(packet_of(s, flow, seq), out);
}

std::vector<uint8_t> build_frame(const FrameSpec& s, uint32_t flow, uint64_t seq) {
  std::vector<uint8_t> f(frame_size(s));
  f.resize(build_frame(s, flow, seq, f));
  return f;
}

Result<ParsedFrame> parse_frame(std::span<const uint8_t> f) {
  ParsedFrame r;
  size_t off = 12;
  if (f.size() < kEthLen) return make_error(EBADMSG, "shorter than an Ethernet header");
  uint16_t type = get16(&f[off]);
  if (type == 0x8100) {
    if (f.size() < kEthLen + kVlanLen) return make_error(EBADMSG, "truncated 802.1Q tag");
    r.vlan_tci = get16(&f[off + 2]);
    off += 4;
    type = get16(&f[off]);
  }
  off += 2;
  if (type != 0x0800) return make_error(EBADMSG, "not IPv4");
  if (f.size() < off + kIpLen) return make_error(EBADMSG, "truncated IPv4 header");
  const uint8_t* ip = &f[off];
  if (ip[0] != 0x45) return make_error(EBADMSG, "not a 20-byte IPv4 header");
  const size_t tot = get16(ip + 2);
  if (tot < kIpLen || off + tot > f.size()) return make_error(EBADMSG, "bad IPv4 total length");
  r.ip_csum_ok = csum_fold(csum_add(0, {ip, kIpLen})) == 0;
  std::memcpy(&r.src_ip, ip + 12, 4);
  std::memcpy(&r.dst_ip, ip + 16, 4);
  if (ip[9] != 6 && ip[9] != 17) return make_error(EBADMSG, "neither UDP nor TCP");
  r.proto = static_cast<Proto>(ip[9]);
  const size_t l4_len = tot - kIpLen;
  const size_t hdr = l4_header(r.proto);
  if (l4_len < hdr + kSeqLen) return make_error(EBADMSG, "L4 segment too short");
  const uint8_t* l4 = ip + kIpLen;
  if (r.proto == Proto::udp && get16(l4 + 4) != l4_len)
    return make_error(EBADMSG, "UDP length disagrees with IPv4");
  if (r.proto == Proto::tcp && (l4[12] >> 4) != 5)
    return make_error(EBADMSG, "TCP header with options");
  r.sport = get16(l4);
  r.dport = get16(l4 + 2);
  r.l4_csum_ok = csum_fold(csum_add(pseudo_sum(ip, r.proto, l4_len), {l4, l4_len})) == 0;
  r.payload_size = l4_len - hdr;
  for (int i = 0; i < 8; i++) r.seq = r.seq << 8 | l4[hdr + i];
  return r;
}

std::optional<Mac> parse_mac(const std::string& s) {
  Mac m{};
  unsigned v[6];
  char tail;
  if (std::sscanf(s.c_str(), "%2x:%2x:%2x:%2x:%2x:%2x%c", &v[0], &v[1], &v[2], &v[3], &v[4], &v[5],
                  &tail) != 6)
    return std::nullopt;
  for (int i = 0; i < 6; i++) m[i] = static_cast<uint8_t>(v[i]);
  return m;
}

std::string mac_str(const Mac& m) {
  char b[18];
  std::snprintf(b, sizeof(b), "%02x:%02x:%02x:%02x:%02x:%02x", m[0], m[1], m[2], m[3], m[4], m[5]);
  return b;
}

}  // namespace xdpkv::traffic
