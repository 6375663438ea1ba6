// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#include <xdpkv/topology.hpp>
#include <xdpkv/traffic.hpp>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <cstring>
#include <fstream>
#include <sstream>
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

namespace {

Result<bpf::UniqueFd> tcp_socket_in(const Netns& ns) {
  auto scope = NsScope::enter(ns);
  if (!scope) return scope.error();
  const int s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (s < 0) return bpf::errno_error(errno, "TCP socket in " + ns.name());
  return bpf::UniqueFd(s);
}

}  // namespace

Result<TcpConnection> tcp_connect(const Netns& server_ns, const Netns& client_ns, uint32_t ip,
                                  uint16_t port) {
  TcpConnection c;
  auto l = tcp_socket_in(server_ns);
  if (!l) return l.error();
  auto cl = tcp_socket_in(client_ns);
  if (!cl) return cl.error();
  c.listener = std::move(*l);
  c.client = std::move(*cl);
  const int one = 1;
  setsockopt(c.listener.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = ip;
  a.sin_port = htons(port);
  const std::string where = ip4_str(ip) + ":" + std::to_string(port);
  if (bind(c.listener.get(), reinterpret_cast<sockaddr*>(&a), sizeof(a)) ||
      listen(c.listener.get(), 1))
    return bpf::errno_error(errno, "TCP listen on " + where);
  if (connect(c.client.get(), reinterpret_cast<sockaddr*>(&a), sizeof(a)))
    return bpf::errno_error(errno, "TCP connect to " + where);
  c.server = bpf::UniqueFd(accept(c.listener.get(), nullptr, nullptr));
  if (!c.server) return bpf::errno_error(errno, "TCP accept on " + where);
  return c;
}

Result<uint64_t> net_counter(const Netns& ns, const std::string& file, const std::string& group,
                             const std::string& name) {
  std::ifstream f;
  {
    // /proc/thread-self/net: this thread's namespace, while the scope holds.
    auto scope = NsScope::enter(ns);
    if (!scope) return scope.error();
    f.open("/proc/thread-self/net/" + file);
  }
  if (!f) return make_error(ENOENT, "cannot read /proc/net/" + file + " in " + ns.name());
  std::string names, values;
  while (std::getline(f, names) && std::getline(f, values)) {
    if (names.rfind(group + ":", 0) != 0) continue;
    std::istringstream n(names), v(values);
    std::string key, val;
    while (n >> key && v >> val)
      if (key == name) return std::strtoull(val.c_str(), nullptr, 10);
  }
  return make_error(ENOENT, "no " + group + " " + name + " in /proc/net/" + file);
}

}  // namespace xdpkv::net
