// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
// client -> lb -> backend over two veth pairs, each end in its own network
// namespace, every name unique to this process. Removed (with all links) when
// the Topology is destroyed.
//
//   client ns           lb ns                        backend ns
//   [cli] 10.77.1.1 --- [lbin] 10.77.1.2   [lbout] 10.77.2.1 --- [be] 10.77.2.2
//                        VIP 10.77.9.9 (on lo, routed to by the client)
//
// Addresses exist only inside these namespaces; traffic never leaves them.
#pragma once

#include <array>
#include <cstdint>
#include <string>

#include <xdpkv/netns.hpp>

namespace xdpkv::net {

struct Endpoint {
  std::string ifname;
  int ifindex = 0;
  std::array<uint8_t, 6> mac{};
  uint32_t ip4 = 0;  // network byte order
};

class Topology {
 public:
  struct Options {
    // GRO on the redirect targets' peers, so that a redirect into a veth
    // whose peer has no XDP program is not dropped.
    bool gro = true;
    // Receive queues per veth (cpumap tests want > 1).
    int queues = 1;
    // The backend holds the VIP on its lo too, so that the packets the LB
    // decapsulates there are delivered to its sockets.
    bool backend_owns_vip = false;
  };
  static Result<Topology> create(const Options& opt);
  static Result<Topology> create() { return create(Options{}); }

  Netns client, lb, backend;
  Endpoint cli, lbin, lbout, be;
  uint32_t vip = 0;  // network byte order

  static constexpr const char* kVip = "10.77.9.9";

 private:
  Topology(Netns c, Netns l, Netns b)
      : client(std::move(c)), lb(std::move(l)), backend(std::move(b)) {}
};

std::string ip4_str(uint32_t be);

}  // namespace xdpkv::net
