// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
// The live-frames generator (BPF_PROG_RUN, BPF_F_TEST_XDP_LIVE_FRAMES) at
// full speed through the LB: out of `cli` (XDP_TX) into `lbin` (lb_ingress),
// redirected to the backend.
//
// What is checked, and how: the LB's stats array is exact at any rate (a
// per-CPU-safe atomic per event), so the counts are checked there: frames
// tagged == frames sent == frames veth accepted, and lb_backend (the backend
// XDP consumer) decapsulated every one of them. The ring buffer (4 MiB, ~40k
// records of 104 bytes, 4 records per packet) cannot hold 100k packets'
// records, so a second thread drains it while the frames are sent; every
// record is then accounted for (records read + records the BPF side could
// not reserve == 4 per tagged packet), and every packet whose four records
// all arrived must show the same store at every consumer.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <map>
#include <thread>

#include <xdpkv/codec.hpp>
#include <xdpkv/live.hpp>

#include <xdpkv/lb.hpp>
#include "common.hpp"

namespace xdpkv::traffic {
namespace {

using namespace test;

constexpr uint64_t kFrames = 100000;

TEST(LiveFrames, FullSpeedThroughTheLb) {
  auto topo = net::Topology::create();
  ASSERT_TRUE(topo) << topo.error().message;
  auto dep = lb::Deployment::create(*topo, {});
  ASSERT_TRUE(dep) << dep.error().message;

  // Drain the ring buffer on another thread while sending (bounded: stops
  // when told, or after 60 s).
  std::atomic<bool> stop{false};
  std::atomic<uint64_t> records{0};
  std::thread drain([&] {
    auto end = std::chrono::steady_clock::now() + std::chrono::seconds(60);
    while (!stop.load() && std::chrono::steady_clock::now() < end) {
      int n = dep->poll(5);
      if (n > 0) records += static_cast<uint64_t>(n);
    }
  });

  LiveOptions opt;
  opt.max_repeat = 4096;  // flows take turns every 4096 frames
  auto st = send_live_frames(topo->client, topo->cli.ifindex, lb_spec(*topo, Proto::udp, 8),
                             kFrames, opt);

  // Everything is processed in the sender's softirq context on veth; wait
  // (bounded) for the counters to settle and the drain to catch up.
  const uint64_t want_records = 4 * (st ? st->sent : 0);
  for (int i = 0; i < 200; i++) {
    const uint64_t tagged = dep->stat(kTagged);
    if (dep->stat(kDecap) >= tagged && records.load() + dep->stat(kRecLost) >= 4 * tagged &&
        tagged >= (st ? st->sent : 0))
      break;
    std::this_thread::sleep_for(std::chrono::milliseconds(25));
  }
  stop = true;
  drain.join();
  for (int i = 0, n; i < 10000 && (n = dep->poll(0)) > 0; i++) records += static_cast<uint64_t>(n);
  ASSERT_TRUE(st) << st.error().message;

  const uint64_t tagged = dep->stat(kTagged), decap = dep->stat(kDecap);
  const uint64_t lost = dep->stat(kRecLost);
  std::printf(
      "live: %llu frames in %.3f s (%.0f pps, %llu runs); veth xdp_xmit %llu errors %llu; "
      "tagged %llu decap %llu; records read %llu lost %llu\n",
      static_cast<unsigned long long>(st->sent), st->seconds, st->pps,
      static_cast<unsigned long long>(st->runs), static_cast<unsigned long long>(st->xmit),
      static_cast<unsigned long long>(st->xmit_errors), static_cast<unsigned long long>(tagged),
      static_cast<unsigned long long>(decap), static_cast<unsigned long long>(records.load()),
      static_cast<unsigned long long>(lost));
  EXPECT_EQ(st->sent, kFrames);
  if (st->have_xmit_stats) {
    EXPECT_EQ(st->xmit, kFrames) << "frames veth handed to lbin";
    EXPECT_EQ(st->xmit_errors, 0u);
  }
  EXPECT_EQ(tagged, st->sent) << "the LB tagged every frame sent";
  EXPECT_EQ(decap, tagged) << "the backend XDP consumer saw every tagged frame";
  EXPECT_EQ(dep->stat(kTagErr), 0u);
  EXPECT_EQ(dep->stat(kEncapErr), 0u);

  // Records: all accounted for; complete packets carry identical stores.
  uint64_t read = 0, complete = 0, mismatched = 0;
  std::map<uint32_t, uint64_t> per_consumer;
  for (auto& [id, s] : dep->seen()) {
    read += s.at.size();
    for (auto& [c, r] : s.at) per_consumer[c]++;
    if (s.at.size() != 4) continue;
    complete++;
    const auto ref = to_hex(lb::store_bytes(s.at.at(LB_AT_INGRESS)));
    for (auto& [c, r] : s.at)
      if (r.err || to_hex(lb::store_bytes(r)) != ref || r.packet_id != id) mismatched++;
  }
  EXPECT_EQ(read, records.load());
  EXPECT_EQ(read + lost, want_records) << "records read + records lost == 4 per packet";
  EXPECT_EQ(mismatched, 0u);
  EXPECT_GT(complete, 0u);
  EXPECT_LE(dep->seen().size(), tagged);
  std::printf("live records:");
  for (auto& [c, n] : per_consumer)
    std::printf(" %s=%llu", lb::consumer_name(c), static_cast<unsigned long long>(n));
  std::printf("; %llu packets complete\n", static_cast<unsigned long long>(complete));
}

TEST(LiveFrames, RefusesBadOptions) {
  auto topo = net::Topology::create();
  ASSERT_TRUE(topo) << topo.error().message;
  auto s = lb_spec(*topo, Proto::udp, 1);
  LiveOptions opt;
  opt.batch_size = 257;
  EXPECT_FALSE(send_live_frames(topo->client, topo->cli.ifindex, s, 10, opt));
  s.flows = 0;
  EXPECT_FALSE(send_live_frames(topo->client, topo->cli.ifindex, s, 10));
  s.flows = 1;
  EXPECT_FALSE(send_live_frames(topo->client, 100000, s, 10)) << "no such interface";
  auto zero = send_live_frames(topo->client, topo->cli.ifindex, s, 0);
  ASSERT_TRUE(zero) << zero.error().message;
  EXPECT_EQ(zero->sent, 0u);
}

}  // namespace
}  // namespace xdpkv::traffic
