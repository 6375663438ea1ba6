// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#include <xdpkv/frame.hpp>

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
  if (kIpLen + l4_header(s.proto) + s.payload_size > kMtu)
    return make_error(EINVAL, "an IPv4 packet of " +
                                  std::to_string(kIpLen + l4_header(s.proto) + s.payload_size) +
                                  " bytes exceeds the " + std::to_string(kMtu) + "-byte MTU");
  return {};
}

size_t frame_size(const FrameSpec& s) {
  return kEthLen + (s.vlan_tci ? kVlanLen : 0) + kIpLen + l4_header(s.proto) + s.payload_size;
}

size_t build_frame(const FrameSpec& s, uint32_t flow, uint64_t seq, std::span<uint8_t> out) {
  const size_t len = frame_size(s);
  if (out.size() < len || flow >= s.flows) return 0;
  uint8_t* p = out.data();
  std::memcpy(p, s.dst_mac.data(), 6);
  std::memcpy(p + 6, s.src_mac.data(), 6);
  size_t off = 12;
  if (s.vlan_tci) {
    put16(p + off, 0x8100);
    put16(p + off + 2, *s.vlan_tci);
    off += 4;
  }
  put16(p + off, 0x0800);
  off += 2;

  const size_t l4_len = l4_header(s.proto) + s.payload_size;
  uint8_t* ip = p + off;
  ip[0] = 0x45;  // version 4, IHL 5
  ip[1] = 0;     // DSCP/ECN
  put16(ip + 2, static_cast<uint16_t>(kIpLen + l4_len));
  put16(ip + 4, 0);       // id
  put16(ip + 6, 0x4000);  // DF
  ip[8] = 64;             // TTL
  ip[9] = static_cast<uint8_t>(s.proto);
  put16(ip + 10, 0);
  std::memcpy(ip + 12, &s.src_ip, 4);
  std::memcpy(ip + 16, &s.dst_ip, 4);
  put16(ip + 10, csum_fold(csum_add(0, {ip, kIpLen})));

  uint8_t* l4 = ip + kIpLen;
  const uint16_t sport = static_cast<uint16_t>(s.sport_base + flow);
  uint8_t* payload;
  size_t csum_at;
  if (s.proto == Proto::udp) {
    put16(l4, sport);
    put16(l4 + 2, s.dport);
    put16(l4 + 4, static_cast<uint16_t>(l4_len));
    put16(l4 + 6, 0);
    payload = l4 + kUdpLen;
    csum_at = 6;
  } else {
    put16(l4, sport);
    put16(l4 + 2, s.dport);
    put32(l4 + 4, static_cast<uint32_t>(seq));  // sequence number
    put32(l4 + 8, 1);                          // acknowledgment number
    l4[12] = 5 << 4;                           // data offset: 5 words
    l4[13] = 0x18;                             // PSH | ACK
    put16(l4 + 14, 0xffff);                    // window
    put16(l4 + 16, 0);                         // checksum
    put16(l4 + 18, 0);                         // urgent pointer
    payload = l4 + kTcpLen;
    csum_at = 16;
  }
  for (int i = 0; i < 8; i++) payload[i] = static_cast<uint8_t>(seq >> (56 - 8 * i));
  for (size_t i = kSeqLen; i < s.payload_size; i++) payload[i] = static_cast<uint8_t>(i);

  uint16_t c = csum_fold(csum_add(pseudo_sum(ip, s.proto, l4_len), {l4, l4_len}));
  if (s.proto == Proto::udp && c == 0) c = 0xffff;  // 0 means "no checksum" in UDP
  put16(l4 + csum_at, c);
  return len;
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
  if (std::sscanf(s.c_str(), "%2x:%2x:%2x:%2x:%2x:%2x%c", &v[0], &v[1], &v[2], &v[3], &v[4],
                  &v[5], &tail) != 6)
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
