// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#include <xdpkv/topology.hpp>

#include <arpa/inet.h>
#include <net/if.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstring>

namespace xdpkv::net {

namespace {

Status fill(const Netns& ns, Endpoint& ep, const char* ifname, const char* addr) {
  ep.ifname = ifname;
  inet_pton(AF_INET, addr, &ep.ip4);
  auto scope = NsScope::enter(ns);
  if (!scope) return scope.error();
  ep.ifindex = static_cast<int>(if_nametoindex(ifname));
  if (!ep.ifindex) return bpf::errno_error(errno, std::string("if_nametoindex ") + ifname);
  int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (s < 0) return bpf::errno_error(errno, "socket");
  bpf::UniqueFd fd(s);
  ifreq ifr{};
  std::strncpy(ifr.ifr_name, ifname, IFNAMSIZ - 1);
  if (ioctl(fd.get(), SIOCGIFHWADDR, &ifr)) return bpf::errno_error(errno, "SIOCGIFHWADDR");
  std::memcpy(ep.mac.data(), ifr.ifr_hwaddr.sa_data, 6);
  return {};
}

Status all(std::initializer_list<Result<std::string>> rs) {
  for (const auto& r : rs)
    if (!r) return r.error();
  return {};
}

}  // namespace

std::string ip4_str(uint32_t be) {
  char s[INET_ADDRSTRLEN];
  inet_ntop(AF_INET, &be, s, sizeof(s));
  return s;
}

Result<Topology> Topology::create(const Options& opt) {
  (void)remove_stale_namespaces();
  auto c = Netns::create(unique_name("cli"));
  if (!c) return c.error();
  auto l = Netns::create(unique_name("lb"));
  if (!l) return l.error();
  auto b = Netns::create(unique_name("be"));
  if (!b) return b.error();
  Topology t(std::move(*c), std::move(*l), std::move(*b));
  const std::string q = std::to_string(opt.queues);
  // Each pair is created inside the lb namespace with its peer placed
  // directly in the other one: no name ever exists in the caller's netns.
  if (auto s = all({
          t.lb.ip({"link", "add", "lbin", "numrxqueues", q, "numtxqueues", q, "type", "veth",
                   "peer", "name", "cli", "numrxqueues", q, "numtxqueues", q, "netns",
                   t.client.name()}),
          t.lb.ip({"link", "add", "lbout", "numrxqueues", q, "numtxqueues", q, "type", "veth",
                   "peer", "name", "be", "numrxqueues", q, "numtxqueues", q, "netns",
                   t.backend.name()}),
          t.client.ip({"addr", "add", "10.77.1.1/24", "dev", "cli"}),
          t.lb.ip({"addr", "add", "10.77.1.2/24", "dev", "lbin"}),
          t.lb.ip({"addr", "add", "10.77.2.1/24", "dev", "lbout"}),
          t.lb.ip({"addr", "add", std::string(kVip) + "/32", "dev", "lo"}),
          t.backend.ip({"addr", "add", "10.77.2.2/24", "dev", "be"}),
          t.client.ip({"link", "set", "cli", "up"}),
          t.lb.ip({"link", "set", "lbin", "up"}),
          t.lb.ip({"link", "set", "lbout", "up"}),
          t.backend.ip({"link", "set", "be", "up"}),
          t.client.ip({"route", "add", std::string(kVip) + "/32", "via", "10.77.1.2"}),
          t.backend.ip({"route", "add", "10.77.1.0/24", "via", "10.77.2.1"}),
      });
      !s)
    return s.error();
  if (opt.backend_owns_vip) {
    if (auto r = t.backend.ip({"addr", "add", std::string(kVip) + "/32", "dev", "lo"}); !r)
      return r.error();
  }
  // XDP on veth sees the frame before any checksum is filled in: senders
  // must checksum in software, or redirected frames arrive with partial
  // checksums and the receiving stack drops them.
  if (auto s = all({t.client.exec({"ethtool", "-K", "cli", "tx", "off"}),
                    t.lb.exec({"ethtool", "-K", "lbin", "tx", "off"}),
                    t.lb.exec({"ethtool", "-K", "lbout", "tx", "off"}),
                    t.backend.exec({"ethtool", "-K", "be", "tx", "off"})});
      !s)
    return s.error();
  if (opt.gro) {
    // veth drops frames redirected into it unless its peer runs XDP or has GRO.
    if (auto s = all({t.backend.exec({"ethtool", "-K", "be", "gro", "on"}),
                      t.client.exec({"ethtool", "-K", "cli", "gro", "on"})});
        !s)
      return s.error();
  }
  if (auto s = fill(t.client, t.cli, "cli", "10.77.1.1"); !s) return s.error();
  if (auto s = fill(t.lb, t.lbin, "lbin", "10.77.1.2"); !s) return s.error();
  if (auto s = fill(t.lb, t.lbout, "lbout", "10.77.2.1"); !s) return s.error();
  if (auto s = fill(t.backend, t.be, "be", "10.77.2.2"); !s) return s.error();
  inet_pton(AF_INET, kVip, &t.vip);
  return t;
}

}  // namespace xdpkv::net
