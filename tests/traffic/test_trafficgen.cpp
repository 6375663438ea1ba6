// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
// xdpkv-trafficgen (DPDK, net_af_xdp vdev, no hugepages) sending into the LB
// example: from the client namespace out of `cli` into `lbin`, where
// lb_ingress runs. Every frame must be tagged and seen, with the same store,
// by every consumer; checksums are proven by the backend's stack accepting
// the decapsulated packets.
#include <gtest/gtest.h>

#include <sys/stat.h>

#include <cstdio>
#include <set>
#include <thread>

#include <xdpkv/traffic.hpp>
#include <xdpkv/trafficgen.hpp>

#include <xdpkv/demo/lb.hpp>
#include "common.hpp"
#include "lb_check.hpp"
#include "lb_path.hpp"

namespace xdpkv::traffic {
namespace {

using namespace test;

constexpr int kFrames = 500;
constexpr int kFlows = 8;
constexpr int kRate = 20000;

// Runs the generator in the client namespace; checks what every run must
// hold: exit 0, everything sent through af_xdp, nothing left behind.
TrafficgenRun generate(net::Topology& topo, const FrameSpec& s, uint64_t count, uint64_t rate) {
  auto args = trafficgen_args(topo.cli.ifname, s, count, rate);
  args.push_back("--no-fallback");
  auto r = run_trafficgen(topo.client, args, std::chrono::seconds(60));
  EXPECT_TRUE(r) << r.error().message;
  if (!r) return {};
  std::printf("trafficgen: %s", r->output.c_str());
  EXPECT_EQ(r->exit_status, 0) << r->output;
  EXPECT_EQ(r->sent, count);
  EXPECT_EQ(r->driver, "af_xdp");
  if (rate) {
    EXPECT_EQ(r->if_dropped, 0u) << "paced: nothing dropped by " << topo.cli.ifname;
  }
  EXPECT_EQ(xdp_prog_on(topo.client, topo.cli.ifindex), 0u)
      << "an XDP program stayed on " << topo.cli.ifname << " after the generator exited";
  struct stat st;
  const std::string dir = "/var/run/dpdk/xkvtg" + std::to_string(r->pid);
  EXPECT_NE(stat(dir.c_str(), &st), 0) << dir << " left behind";
  return *r;
}

std::set<uint32_t> flow_hashes(const lb::Deployment& dep) {
  std::set<uint32_t> h;
  for (auto& [id, s] : dep.seen())
    if (auto it = s.at.find(LB_AT_INGRESS); it != s.at.end()) h.insert(it->second.flow_hash);
  return h;
}

TEST(Trafficgen, UdpFlowsThroughTheLbToEveryConsumer) {
  // The backend owns the VIP: decapsulated datagrams reach a socket only if
  // their UDP checksum is right.
  lbpath::Path path;
  ASSERT_TRUE(path.start({.topo = {.backend_owns_vip = true}, .receiver = true}));
  auto& topo = path.topo();
  auto& dep = path.dep();

  auto r = generate(topo, lb_spec(topo, Proto::udp, kFlows), kFrames, kRate);
  // Pacing never exceeds the rate (a token bucket); how close it gets is a
  // benchmark question (a loaded machine sends slower), not a test.
  EXPECT_LT(r.pps, kRate * 1.1) << "pacing";
  auto o =
      lbcheck::wait_and_check(dep, kFrames, {LB_AT_INGRESS, LB_AT_DEVMAP, LB_AT_BACKEND, LB_AT_TC},
                              path.receiver_fd(), nullptr, "trafficgen udp");
  EXPECT_EQ(o.complete, kFrames);
  EXPECT_EQ(o.received, kFrames) << "datagrams delivered to the backend socket";
  EXPECT_EQ(dep.stat(kTagged), static_cast<uint64_t>(kFrames));
  EXPECT_EQ(dep.stat(kDecap), static_cast<uint64_t>(kFrames));
  EXPECT_EQ(dep.stat(kTagErr), 0u);
  EXPECT_EQ(dep.stat(kRecLost), 0u);
  EXPECT_EQ(flow_hashes(dep).size(), static_cast<size_t>(kFlows)) << "one hash per source port";
}

TEST(Trafficgen, TcpFlowsThroughTheLbToEveryConsumer) {
  // The backend owns the VIP and listens on nothing: each segment with a
  // good checksum gets a RST (OutRsts), a bad one counts in InCsumErrors.
  lbpath::Path path;
  ASSERT_TRUE(path.start({.topo = {.backend_owns_vip = true}}));
  auto& topo = path.topo();
  auto& dep = path.dep();
  const int64_t rsts0 = snmp(topo.backend, "Tcp", "OutRsts");
  const int64_t bad0 = snmp(topo.backend, "Tcp", "InCsumErrors");
  ASSERT_GE(rsts0, 0);
  ASSERT_GE(bad0, 0);

  generate(topo, lb_spec(topo, Proto::tcp, kFlows), kFrames, kRate);
  auto o =
      lbcheck::wait_and_check(dep, kFrames, {LB_AT_INGRESS, LB_AT_DEVMAP, LB_AT_BACKEND, LB_AT_TC},
                              -1, nullptr, "trafficgen tcp");
  EXPECT_EQ(o.complete, kFrames);
  EXPECT_EQ(dep.stat(kTagged), static_cast<uint64_t>(kFrames));
  EXPECT_EQ(dep.stat(kDecap), static_cast<uint64_t>(kFrames));
  EXPECT_EQ(dep.stat(kRecLost), 0u);
  EXPECT_EQ(flow_hashes(dep).size(), static_cast<size_t>(kFlows));
  EXPECT_EQ(snmp(topo.backend, "Tcp", "InCsumErrors") - bad0, 0) << "TCP checksum errors";
  EXPECT_EQ(snmp(topo.backend, "Tcp", "OutRsts") - rsts0, kFrames)
      << "every segment reached TCP with a good checksum and was answered with a RST";
}

TEST(Trafficgen, VlanTaggedFramesPassTheLbUntagged) {
  // lb_ingress parses untagged IPv4 only: an 802.1Q frame is not for the
  // VIP, so it is passed to the stack without a tag and counted as NOT_VIP.
  lbpath::Path path;
  ASSERT_TRUE(path.start({.client_ipv6 = false}));
  auto& topo = path.topo();
  auto& dep = path.dep();
  const uint16_t tci = (3 << 13) | 100;  // PCP 3, VID 100
  uint64_t sent = 0;
  for (Proto p : {Proto::udp, Proto::tcp}) {
    const uint64_t before = dep.stat(kNotVip);
    sent += generate(topo, lb_spec(topo, p, kFlows, tci), kFrames, kRate).sent;
    // XDP runs in the sender's context on veth: counted by the time the
    // generator exits; allow the stats a moment anyway (bounded).
    for (int i = 0; i < 100 && dep.stat(kNotVip) - before < kFrames; i++) dep.poll(10);
    EXPECT_EQ(dep.stat(kNotVip) - before, static_cast<uint64_t>(kFrames))
        << (p == Proto::udp ? "udp" : "tcp") << ": passed as not for the VIP";
  }
  EXPECT_EQ(sent, 2u * kFrames);
  dep.poll(100);
  EXPECT_EQ(dep.stat(kTagged), 0u);
  EXPECT_EQ(dep.stat(kTagErr), 0u);
  EXPECT_TRUE(dep.seen().empty()) << "no consumer saw a tagged packet";
  std::printf("vlan: %llu frames sent, not_vip=%llu tagged=%llu\n",
              static_cast<unsigned long long>(sent),
              static_cast<unsigned long long>(dep.stat(kNotVip)),
              static_cast<unsigned long long>(dep.stat(kTagged)));
}

TEST(Trafficgen, FullSpeedIntoTheLbAccountsForEveryFrame) {
  // No pacing. AF_XDP (copy mode on veth) hands every frame to veth_xmit;
  // when lbin's ring is full (its NAPI, in softirq, fell behind) veth drops
  // the frame and counts it in cli's tx_dropped, which the generator reports.
  // Every frame is either tagged by lb_ingress or counted there. Counted with
  // the LB's stats (the ring buffer is not drained fast enough here).
  constexpr uint64_t kMany = 100000;
  lbpath::Path path;
  ASSERT_TRUE(path.start({.client_ipv6 = false}));
  auto& topo = path.topo();
  auto& dep = path.dep();
  auto r = generate(topo, lb_spec(topo, Proto::udp, kFlows), kMany, 0);
  for (int i = 0; i < 200 && dep.stat(kDecap) < dep.stat(kTagged); i++)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  std::printf("trafficgen full speed: %.0f pps; tagged %llu decap %llu, dropped by veth %llu\n",
              r.pps, static_cast<unsigned long long>(dep.stat(kTagged)),
              static_cast<unsigned long long>(dep.stat(kDecap)),
              static_cast<unsigned long long>(r.if_dropped));
  EXPECT_EQ(dep.stat(kTagged) + r.if_dropped, kMany);
  EXPECT_EQ(dep.stat(kDecap), dep.stat(kTagged));
  EXPECT_LT(r.if_dropped, kMany / 2);
}

TEST(Trafficgen, FallsBackToAfPacketAndKeepsAForeignXdpProgram) {
  // With an XDP program already on cli, net_af_xdp would have to replace it
  // (and its PMD removes whatever is attached when it closes): the generator
  // says so, sends through net_af_packet, and leaves that program alone.
  lbpath::Path path;
  ASSERT_TRUE(path.start());
  auto& topo = path.topo();
  auto& dep = path.dep();
  ASSERT_TRUE(topo.client.ip(
      {"link", "set", "dev", "cli", "xdpdrv", "obj", XDPKV_LIVE_BPF_OBJ, "sec", "xdp"}));
  const uint32_t prog = xdp_prog_on(topo.client, topo.cli.ifindex);
  ASSERT_NE(prog, 0u);
  const auto s = lb_spec(topo, Proto::udp, kFlows);

  auto strict = trafficgen_args("cli", s, kFrames, kRate);
  strict.push_back("--no-fallback");
  auto r = run_trafficgen(topo.client, strict, std::chrono::seconds(60));
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_NE(r->exit_status, 0) << "--no-fallback: af_xdp cannot be used here";
  EXPECT_EQ(r->sent, 0u);
  EXPECT_NE(r->output.find("already runs XDP program"), std::string::npos) << r->output;

  r = run_trafficgen(topo.client, trafficgen_args("cli", s, kFrames, kRate),
                     std::chrono::seconds(60));
  ASSERT_TRUE(r) << r.error().message;
  std::printf("trafficgen: %s", r->output.c_str());
  EXPECT_EQ(r->exit_status, 0);
  EXPECT_TRUE(r->fell_back);
  EXPECT_EQ(r->driver, "af_packet");
  EXPECT_EQ(r->sent, static_cast<uint64_t>(kFrames));
  EXPECT_EQ(xdp_prog_on(topo.client, topo.cli.ifindex), prog) << "the foreign program stays";
  auto o = lbcheck::wait_and_check(dep, kFrames, {LB_AT_INGRESS, LB_AT_BACKEND, LB_AT_TC}, -1,
                                   nullptr, "trafficgen af_packet");
  EXPECT_EQ(o.complete, kFrames);
}

TEST(Trafficgen, SigtermStopsItCleanly) {
  // run_trafficgen's deadline sends SIGTERM: the generator stops sending,
  // closes the port (the PMD's XDP program goes) and reports what it sent.
  auto topo = net::Topology::create();
  ASSERT_TRUE(topo) << topo.error().message;
  auto args = trafficgen_args("cli", lb_spec(*topo, Proto::udp, 1), 100000, 200);
  args.push_back("--no-fallback");
  auto r = run_trafficgen(topo->client, args, std::chrono::milliseconds(2500 * time_scale()));
  ASSERT_TRUE(r) << r.error().message;
  std::printf("trafficgen: %s", r->output.c_str());
  EXPECT_TRUE(r->timed_out);
  EXPECT_EQ(r->exit_status, 1) << "stopped before sending everything";
  EXPECT_GT(r->sent, 0u);
  EXPECT_LT(r->sent, 100000u);
  EXPECT_EQ(xdp_prog_on(topo->client, topo->cli.ifindex), 0u);
  struct stat st;
  const std::string dir = "/var/run/dpdk/xkvtg" + std::to_string(r->pid);
  EXPECT_NE(stat(dir.c_str(), &st), 0) << dir << " left behind";
}

TEST(Trafficgen, RefusesBadArgumentsAndReportsItsFinalLine) {
  auto topo = net::Topology::create();
  ASSERT_TRUE(topo) << topo.error().message;
  // No such interface: exit 2 before the EAL starts, no final line.
  auto r = run_trafficgen(topo->client, {"--iface", "nope0", "--dst-ip", "10.77.9.9"},
                          std::chrono::seconds(30));
  EXPECT_FALSE(r);
  // Unknown protocol.
  r = run_trafficgen(topo->client, {"--iface", "cli", "--dst-ip", "10.77.9.9", "--proto", "sctp"},
                     std::chrono::seconds(30));
  EXPECT_FALSE(r);
  // --count 0 sends nothing and succeeds.
  auto s = lb_spec(*topo, Proto::udp, 1);
  auto ok = run_trafficgen(topo->client, trafficgen_args("cli", s, 0, 0), std::chrono::seconds(30));
  ASSERT_TRUE(ok) << ok.error().message;
  EXPECT_EQ(ok->exit_status, 0) << ok->output;
  EXPECT_EQ(ok->sent, 0u);
}

}  // namespace
}  // namespace xdpkv::traffic
