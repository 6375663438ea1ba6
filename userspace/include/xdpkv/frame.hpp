// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
// Test frames shared by the traffic generators (xdpkv-trafficgen on DPDK and
// the BPF_PROG_RUN live-frames sender): Ethernet [+ one 802.1Q tag] + IPv4 +
// UDP or TCP, with correct IPv4 and L4 checksums and a payload that starts
// with a 64-bit big-endian sequence number. N flows differ in the source
// port only: flow f uses sport_base + f.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include <xdpkv/result.hpp>

namespace xdpkv::traffic {

enum class Proto : uint8_t { udp = 17, tcp = 6 };

using Mac = std::array<uint8_t, 6>;

struct FrameSpec {
  Mac src_mac{};
  Mac dst_mac{};
  uint32_t src_ip = 0;          // network byte order
  uint32_t dst_ip = 0;          // network byte order
  uint16_t sport_base = 20000;  // host order; flow f sends from sport_base + f
  uint16_t dport = 7777;        // host order
  uint32_t flows = 1;
  Proto proto = Proto::udp;
  std::optional<uint16_t> vlan_tci;  // one 802.1Q tag (TPID 0x8100) when set
  // L4 payload bytes (>= 8: the sequence number, then bytes i & 0xff).
  // 18 makes a 60-byte untagged UDP frame (the Ethernet minimum without FCS).
  uint16_t payload_size = 18;
};

// Header sizes.
inline constexpr size_t kEthLen = 14, kVlanLen = 4, kIpLen = 20, kIp6Len = 40, kUdpLen = 8,
                        kTcpLen = 20;
// The L4 header written for a protocol other than UDP and TCP: its first four
// bytes are the ports (as SCTP's are), the rest zero.
inline constexpr size_t kOtherL4Len = 8;
inline constexpr size_t kSeqLen = 8;
inline constexpr size_t kMtu = 1500;  // the IPv4 packet of a frame fits a 1500-byte MTU

// Checks the spec: flows >= 1, ports of every flow fit in 16 bits, payload
// size >= 8, IPv4 packet <= kMtu bytes (UDP payload <= 1472, TCP <= 1460),
// VLAN id != 4095 (PCP/DEI bits allowed).
Status validate(const FrameSpec& s);

// Length of every frame built from s.
size_t frame_size(const FrameSpec& s);

// Writes the frame of flow `flow` (0 <= flow < flows) with sequence number
// `seq` into out; returns its length, or 0 if out is too small or flow is out
// of range. The spec must be valid. The TCP header carries seq's low 32 bits
// as its sequence number, flags PSH|ACK, window 65535; IPv4 has DF set, id 0,
// TTL 64.
size_t build_frame(const FrameSpec& s, uint32_t flow, uint64_t seq, std::span<uint8_t> out);
std::vector<uint8_t> build_frame(const FrameSpec& s, uint32_t flow, uint64_t seq);

// Internet checksum (RFC 1071) helpers: the one's-complement sum of the
// bytes as big-endian 16-bit words (odd length padded with a zero byte), and
// its folded complement.
uint32_t csum_add(uint32_t sum, std::span<const uint8_t> bytes);
uint16_t csum_fold(uint32_t sum);  // complemented, host order

// Any single test packet, the general form of FrameSpec: Ethernet, up to two
// VLAN tags (802.1ad/802.1Q, outermost first), IPv4 or IPv6, UDP or TCP with
// checksums or another L4 protocol (kOtherL4Len bytes with the ports first),
// the IPv4 more-fragments flag. The payload starts with seq (big-endian) when
// it has room for it, then bytes i & 0xff.
struct VlanTag {
  uint16_t tpid = 0x8100;  // host order
  uint16_t tci = 0;        // host order
};
struct PacketSpec {
  Mac src_mac{};
  Mac dst_mac{};
  std::array<VlanTag, 2> tags{};
  uint8_t ntags = 0;
  bool ipv6 = false;
  uint32_t src_ip = 0, dst_ip = 0;               // IPv4, network byte order
  std::array<uint8_t, 16> src_ip6{}, dst_ip6{};  // IPv6
  uint8_t l4_proto = 17;
  uint16_t sport = 0, dport = 0;  // host order
  bool more_fragments = false;    // IPv4 only
  uint64_t seq = 0;
  uint16_t payload_size = 8;
};
// Sets ipv6 and the addresses from text ("192.0.2.1", "2001:db8::1"); both of one family.
Status set_addresses(PacketSpec& p, const std::string& src, const std::string& dst);
size_t packet_size(const PacketSpec& p);
// Writes the packet into out; returns its length, 0 if out is too small.
size_t build_packet(const PacketSpec& p, std::span<uint8_t> out);
std::vector<uint8_t> build_packet(const PacketSpec& p);
// An ARP request (who-has tip tell sip) from src, to the broadcast address.
std::vector<uint8_t> build_arp_request(const Mac& src, uint32_t sip, uint32_t tip);

// What a frame says, for tests and for checking received frames.
struct ParsedFrame {
  std::optional<uint16_t> vlan_tci;
  uint32_t src_ip = 0, dst_ip = 0;  // network order
  Proto proto = Proto::udp;
  uint16_t sport = 0, dport = 0;  // host order
  uint64_t seq = 0;
  size_t payload_size = 0;
  bool ip_csum_ok = false;
  bool l4_csum_ok = false;
};
// Parses frames of the shape build_frame writes; error if it is another shape.
Result<ParsedFrame> parse_frame(std::span<const uint8_t> frame);

// "aa:bb:cc:dd:ee:ff" <-> Mac.
std::optional<Mac> parse_mac(const std::string& s);
std::string mac_str(const Mac& m);

}  // namespace xdpkv::traffic
