// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
// Plain-socket test traffic inside the topology's namespaces: bounded in
// count, paced, addressed only to the namespaces' own addresses.
#pragma once

#include <chrono>
#include <cstdint>

#include <xdpkv/netns.hpp>

namespace xdpkv::net {

// A UDP socket created inside ns, bound to ip:port (network-order ip).
Result<bpf::UniqueFd> udp_socket_in(const Netns& ns, uint32_t ip, uint16_t port);

struct UdpBurst {
  uint32_t dst = 0;  // network order
  uint16_t dport = 7777;
  uint16_t sport_base = 20000;
  int flows = 8;  // source ports sport_base .. sport_base + flows - 1
  int count = 100;
  std::chrono::microseconds gap{100};
};

// Sends count datagrams from ns (one socket per flow); stops early if interrupted().
Result<int> send_udp(const Netns& ns, const UdpBurst& b);

// Reads every datagram waiting on fd (non-blocking); returns how many.
int drain(int fd);

// One TCP connection: a listener bound to ip:port in server_ns, a client in
// client_ns connected to it, and the server's end (blocking sockets).
struct TcpConnection {
  bpf::UniqueFd listener, client, server;
};
Result<TcpConnection> tcp_connect(const Netns& server_ns, const Netns& client_ns, uint32_t ip,
                                  uint16_t port);

// A counter of ns's /proc/net/FILE ("snmp", "netstat"): GROUP ("Tcp",
// "TcpExt") and NAME ("RetransSegs", "TCPOFOQueue"). ENOENT if absent.
Result<uint64_t> net_counter(const Netns& ns, const std::string& file, const std::string& group,
                             const std::string& name);

}  // namespace xdpkv::net
