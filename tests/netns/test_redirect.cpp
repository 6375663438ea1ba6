// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
// Across XDP_REDIRECT: the LB example tags every packet, encapsulates and
// redirects it; every consumer on the way must see a byte-identical store,
// for every packet, and nothing may be lost at this rate.
#include <gtest/gtest.h>
#include <gtest/gtest-spi.h>

#include <arpa/inet.h>
#include <signal.h>
#include <sys/wait.h>

#include <chrono>
#include <cstring>
#include <thread>

#include <xdpkv/codec.hpp>
#include <xdpkv/traffic.hpp>

#include <xdpkv/lb.hpp>
#include "lb_check.hpp"

namespace xdpkv {
namespace {

constexpr int kPackets = 300;

// Sends kPackets datagrams to the VIP, then waits (bounded) for every
// consumer's record and checks them (lb_check.hpp).
lbcheck::Outcome run_and_check(net::Topology& topo, lb::Deployment& dep,
                               std::vector<uint32_t> consumers, int receiver_fd,
                               lb::XskReader* xsk = nullptr) {
  net::UdpBurst b;
  b.dst = topo.vip;
  b.count = kPackets;
  auto sent = net::send_udp(topo.client, b);
  EXPECT_TRUE(sent) << (sent ? "" : sent.error().message);
  EXPECT_EQ(sent.value_or(0), kPackets);
  return lbcheck::wait_and_check(dep, kPackets, consumers, receiver_fd, xsk, "redirect");
}

TEST(Redirect, DevmapEveryConsumerSeesTheSameStore) {
  auto topo = net::Topology::create();
  ASSERT_TRUE(topo) << topo.error().message;
  // The backend owns the VIP too, so decapsulated packets are delivered.
  ASSERT_TRUE(topo->backend.ip({"addr", "add", std::string(net::Topology::kVip) + "/32", "dev", "lo"}));
  auto rx = net::udp_socket_in(topo->backend, topo->vip, 7777);
  ASSERT_TRUE(rx) << rx.error().message;
  auto dep = lb::Deployment::create(*topo, {});
  ASSERT_TRUE(dep) << dep.error().message;
  auto o = run_and_check(*topo, *dep, {LB_AT_INGRESS, LB_AT_DEVMAP, LB_AT_BACKEND, LB_AT_TC},
                         rx->get());
  EXPECT_EQ(o.complete, kPackets);
  if (o.received != kPackets) {
    auto st = topo->backend.exec({"nstat", "-az"});
    std::printf("%s\n", st ? st->c_str() : st.error().message.c_str());
  }
  EXPECT_EQ(o.received, kPackets) << "datagrams delivered to the backend socket";
  EXPECT_EQ(dep->stat(2), 0u) << "tag errors";
  EXPECT_EQ(dep->stat(4), 0u) << "ring buffer records lost";
}

TEST(Redirect, CpumapEntryProgramAndSkbSeeTheStore) {
  auto topo = net::Topology::create();
  ASSERT_TRUE(topo) << topo.error().message;
  lb::Options opt;
  opt.cpumap = true;
  auto dep = lb::Deployment::create(*topo, opt);
  ASSERT_TRUE(dep) << dep.error().message;
  auto o = run_and_check(*topo, *dep, {LB_AT_INGRESS, LB_AT_CPUMAP, LB_AT_TC}, -1);
  EXPECT_EQ(o.complete, kPackets);
}

TEST(Redirect, AfXdpReaderDecodesTheSameStore) {
  auto topo = net::Topology::create();
  ASSERT_TRUE(topo) << topo.error().message;
  lb::Options opt;
  opt.xsk = true;
  auto dep = lb::Deployment::create(*topo, opt);
  ASSERT_TRUE(dep) << dep.error().message;
  auto xsk = lb::XskReader::create(*topo, *dep, opt.keys);
  ASSERT_TRUE(xsk) << xsk.error().message;
  auto o = run_and_check(*topo, *dep, {LB_AT_INGRESS, LB_AT_DEVMAP, LB_AT_BACKEND, LB_AT_XSK},
                         -1, &*xsk);
  EXPECT_EQ(o.complete, kPackets);
  EXPECT_EQ(dep->stat(6), static_cast<uint64_t>(kPackets)) << "redirected to the AF_XDP socket";
  EXPECT_EQ(dep->stat(7), 0u) << "no AF_XDP socket on the frame's queue";
}

TEST(Redirect, ForeignBytesBelowTheStoreSurviveToTc) {
  auto topo = net::Topology::create();
  ASSERT_TRUE(topo) << topo.error().message;
  lb::Options opt;
  opt.grow_foreign = true;
  auto dep = lb::Deployment::create(*topo, opt);
  ASSERT_TRUE(dep) << dep.error().message;
  auto o = run_and_check(*topo, *dep, {LB_AT_INGRESS, LB_AT_BACKEND, LB_AT_TC}, -1);
  EXPECT_EQ(o.complete, kPackets);
  int checked = 0;
  for (auto& [id, s] : dep->seen()) {
    auto it = s.at.find(LB_AT_TC);
    if (it == s.at.end()) continue;
    const lb_rec& r = it->second;
    const size_t store = lb::store_bytes(r).size();
    ASSERT_EQ(r.meta_len, store + 8) << "TC should see the store plus 8 foreign bytes";
    uint32_t mine[2];
    std::memcpy(mine, r.store + LB_REC_STORE - store - 8, 8);
    EXPECT_EQ(mine[0], LB_FOREIGN_MAGIC);
    EXPECT_EQ(mine[1], static_cast<uint32_t>(id));
    checked++;
  }
  EXPECT_EQ(checked, kPackets);
}

TEST(Redirect, TargetWithoutXdpStillDeliversTheStoreWithGro) {
  // veth: a frame redirected into a device whose peer runs no XDP program is
  // dropped unless GRO is on there; with GRO (the Topology default) it
  // becomes an skb that keeps its metadata.
  auto topo = net::Topology::create();
  ASSERT_TRUE(topo) << topo.error().message;
  lb::Options opt;
  opt.backend_xdp = false;
  auto dep = lb::Deployment::create(*topo, opt);
  ASSERT_TRUE(dep) << dep.error().message;
  auto o = run_and_check(*topo, *dep, {LB_AT_INGRESS, LB_AT_DEVMAP, LB_AT_TC}, -1);
  EXPECT_EQ(o.complete, kPackets);
}

std::string netns_list() {
  auto l = net::run({"ip", "netns", "list"});
  return l ? *l : std::string();
}

TEST(Cleanup, NamespacesGoneAfterAFailingTestBody) {
  std::vector<std::string> names;
  {
    auto topo = net::Topology::create();
    ASSERT_TRUE(topo) << topo.error().message;
    auto dep = lb::Deployment::create(*topo, {});
    ASSERT_TRUE(dep) << dep.error().message;
    names = {topo->client.name(), topo->lb.name(), topo->backend.name()};
    for (auto& n : names) EXPECT_NE(netns_list().find(n), std::string::npos);
    // A failing assertion in the middle of the body unwinds like any other.
    EXPECT_NONFATAL_FAILURE(ADD_FAILURE() << "simulated failure", "simulated failure");
  }
  const std::string after = netns_list();
  for (auto& n : names) EXPECT_EQ(after.find(n), std::string::npos) << n << " left behind";
}

TEST(Cleanup, LeftoversOfAKilledProcessAreRemoved) {
  pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    auto topo = net::Topology::create();
    raise(SIGKILL);  // no destructor runs
    _exit(1);
  }
  int status = 0;
  ASSERT_EQ(waitpid(pid, &status, 0), pid);
  ASSERT_TRUE(WIFSIGNALED(status));
  const std::string prefix = "xkv" + std::to_string(pid) + "-";
  ASSERT_NE(netns_list().find(prefix), std::string::npos) << "the child made no namespace";
  EXPECT_GE(net::remove_stale_namespaces(), 3);
  EXPECT_EQ(netns_list().find(prefix), std::string::npos);
}

}  // namespace
}  // namespace xdpkv
