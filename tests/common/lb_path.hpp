// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
// The client -> LB -> backend path the end-to-end tests start from: a
// net::Topology with the LB example (lb::Deployment) attached, and what some
// tests add to it. Each test says how its path differs from the common one
// (Options); the path is built in one order and torn down in reverse.
#pragma once

#include <gtest/gtest.h>

#include <optional>
#include <string>
#include <utility>

#include <xdpkv/topology.hpp>
#include <xdpkv/traffic.hpp>

#include <xdpkv/demo/lb.hpp>

namespace xdpkv::lbpath {

// The defaults are the common case: the Topology's and the LB's defaults.
// Set lb's fields by name (o.lb.cpumap = true): a designated initializer of
// lb::Options draws -Wmissing-field-initializers (keys) and breaks if its
// fields are reordered.
struct Options {
  net::Topology::Options topo{};
  lb::Options lb{};
  // false: IPv6 off on the client before the LB is attached, so that nothing
  // but the test's frames leaves cli (no router solicitations, no MLD).
  bool client_ipv6 = true;
  // A UDP socket on the backend at the VIP and the default port of UdpBurst
  // and FrameSpec, opened before the LB is attached (it receives only with
  // topo.backend_owns_vip).
  bool receiver = false;
  // An AF_XDP reader on the backend with these options (needs lb.xsk).
  std::optional<lb::XskOptions> xsk_reader{};
};

class Path {
 public:
  Path() = default;
  // The Deployment keeps a pointer to the Topology: the path never moves.
  Path(const Path&) = delete;
  Path& operator=(const Path&) = delete;
  Path(Path&&) = delete;
  Path& operator=(Path&&) = delete;
  ~Path() = default;

  // Builds the path (once); the failure says which step failed. Use it as
  // ASSERT_TRUE(path.start(...)); the accessors need a started path.
  [[nodiscard]] ::testing::AssertionResult start(const Options& o = {}) {
    auto t = net::Topology::create(o.topo);
    if (!t) return failed("topology", t.error());
    topo_.emplace(std::move(*t));
    if (!o.client_ipv6) {
      for (const char* s : {"net.ipv6.conf.all.disable_ipv6=1", "net.ipv6.conf.cli.disable_ipv6=1"})
        if (auto r = topo_->client.exec({"sysctl", "-qw", s}); !r) return failed(s, r.error());
    }
    if (o.receiver) {
      auto rx = net::udp_socket_in(topo_->backend, topo_->vip, net::UdpBurst{}.dport);
      if (!rx) return failed("receiver", rx.error());
      rx_ = std::move(*rx);
    }
    auto d = lb::Deployment::create(*topo_, o.lb);
    if (!d) return failed("deployment", d.error());
    dep_.emplace(std::move(*d));
    if (o.xsk_reader) {
      auto x = lb::XskReader::create(*topo_, *dep_, o.lb.keys, *o.xsk_reader);
      if (!x) return failed("AF_XDP reader", x.error());
      xsk_.emplace(std::move(*x));
    }
    return ::testing::AssertionSuccess();
  }

  net::Topology& topo() { return *topo_; }
  lb::Deployment& dep() { return *dep_; }
  lb::XskReader& xsk() { return *xsk_; }
  // The receiver's socket (Options::receiver), else -1.
  int receiver_fd() const { return rx_.get(); }

  // `count` datagrams from the client to the VIP (UdpBurst's defaults otherwise).
  Result<int> send_to_vip(int count) const {
    net::UdpBurst b;
    b.dst = topo_->vip;
    b.count = count;
    return net::send_udp(topo_->client, b);
  }

 private:
  static ::testing::AssertionResult failed(const std::string& step, const Error& e) {
    return ::testing::AssertionFailure() << step << ": " << e.message;
  }

  // Destroyed in reverse: the reader, the LB, the receiver, the namespaces.
  std::optional<net::Topology> topo_;
  bpf::UniqueFd rx_;
  std::optional<lb::Deployment> dep_;
  std::optional<lb::XskReader> xsk_;
};

}  // namespace xdpkv::lbpath
