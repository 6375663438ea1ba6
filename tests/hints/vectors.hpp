// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
// The RSS verification suite (Microsoft, "Verifying the RSS Hash
// Calculation"; also the Intel 82599 datasheet, 7.1.2.8.3): hashes under the
// standard 40-byte key of the IPv4/IPv6 address pair (l3) and of the
// address pair plus TCP ports (l4). UDP uses the same input.
#pragma once

#include <cstdint>

namespace xdpkv::hintvec {

struct Vec {
  const char* dst;
  uint16_t dport;
  const char* src;
  uint16_t sport;
  uint32_t l3, l4;
};

inline constexpr Vec kIpv4[] = {
    {"161.142.100.80", 1766, "66.9.149.187", 2794, 0x323e8fc2, 0x51ccc178},
    {"65.69.140.83", 4739, "199.92.111.2", 14230, 0xd718262a, 0xc626b0ea},
    {"12.22.207.184", 38024, "24.19.198.95", 12898, 0xd2d0a5de, 0x5c2b394a},
    {"209.142.163.6", 2217, "38.27.205.30", 48228, 0x82989176, 0xafc7327f},
    {"202.188.127.2", 1303, "153.39.163.191", 44251, 0x5d1809c5, 0x10e828a2},
};

inline constexpr Vec kIpv6[] = {
    {"3ffe:2501:200:3::1", 1766, "3ffe:2501:200:1fff::7", 2794, 0x2cc18cd5, 0x40207d3d},
    {"ff02::1", 4739, "3ffe:501:8::260:97ff:fe40:efab", 14230, 0x0f0c461c, 0xdde51bbf},
    {"fe80::200:f8ff:fe21:67cf", 38024, "3ffe:1900:4545:3:200:f8ff:fe21:67cf", 44251, 0x4b61e985,
     0x02d1feef},
};

}  // namespace xdpkv::hintvec
