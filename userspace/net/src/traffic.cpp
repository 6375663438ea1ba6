// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#include <xdpkv/topology.hpp>
#include <xdpkv/traffic.hpp>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <cstring>
#include <thread>
#include <vector>

namespace xdpkv::net {

Result<bpf::UniqueFd> udp_socket_in(const Netns& ns, uint32_t ip, uint16_t port) {
  auto scope = NsScope::enter(ns);
  if (!scope) return scope.error();
  int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (s < 0) return bpf::errno_error(errno, "socket in " + ns.name());
  bpf::UniqueFd fd(s);
  int one = 1;
  setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  // Room for a whole test burst whatever net.core.rmem_max is (FORCE: root).
  int big = 4 << 20;
  if (setsockopt(s, SOL_SOCKET, SO_RCVBUFFORCE, &big, sizeof(big)))
    setsockopt(s, SOL_SOCKET, SO_RCVBUF, &big, sizeof(big));
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = ip;
  a.sin_port = htons(port);
  if (bind(s, reinterpret_cast<sockaddr*>(&a), sizeof(a)))
    return bpf::errno_error(errno, "bind " + ip4_str(ip) + ":" + std::to_string(port));
  return fd;
}

Result<int> send_udp(const Netns& ns, const UdpBurst& b) {
  std::vector<bpf::UniqueFd> socks;
  for (int f = 0; f < b.flows; f++) {
    auto s = udp_socket_in(ns, INADDR_ANY, static_cast<uint16_t>(b.sport_base + f));
    if (!s) return s.error();
    socks.push_back(std::move(*s));
  }
  sockaddr_in dst{};
  dst.sin_family = AF_INET;
  dst.sin_addr.s_addr = b.dst;
  dst.sin_port = htons(b.dport);
  int sent = 0;
  for (int i = 0; i < b.count && !interrupted(); i++) {
    char payload[32];
    int n = std::snprintf(payload, sizeof(payload), "xdpkv %d", i);
    int fd = socks[i % b.flows].get();
    // A full socket buffer is back-pressure, not loss: retry briefly.
    for (int tries = 0; tries < 100; tries++) {
      if (sendto(fd, payload, n, 0, reinterpret_cast<sockaddr*>(&dst), sizeof(dst)) == n) {
        sent++;
        break;
      }
      if (errno != EAGAIN && errno != ENOBUFS) return bpf::errno_error(errno, "sendto");
      std::this_thread::sleep_for(std::chrono::microseconds(200));
    }
    if (b.gap.count()) std::this_thread::sleep_for(b.gap);
  }
  return sent;
}

int drain(int fd) {
  int n = 0;
  char buf[2048];
  while (recv(fd, buf, sizeof(buf), MSG_DONTWAIT) >= 0) n++;
  return n;
}

}  // namespace xdpkv::net
