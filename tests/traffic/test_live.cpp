// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
// The live-frames generator (BPF_PROG_RUN, BPF_F_TEST_XDP_LIVE_FRAMES) at
// full speed through the LB: out of `cli` (XDP_TX) into `lbin` (lb_ingress),
// redirected to the backend.
//
// What is checked, and how: at full speed a veth ring (256 frames) can fill,
// and the kernel then drops frames at ndo_xdp_xmit and counts them (ethtool
// tx_queue_N_xdp_xmit_errors of the device redirected into). So every frame
// is accounted for, exactly, at any rate: the LB's stats array (one atomic
// per event) and the two veths' xmit counters give
//   sent == taken by lbin's ring + refused by it,
//   tagged == taken by lbin's ring (lb_ingress ran on each, all for the VIP),
//   decap == taken by be's ring (lb_backend decapsulated each),
//   tagged == taken by be's ring + refused by it.
// (tagged == taken also means no frame went out rewritten: a page that came
// back rewritten by the LB is not sent again as it is, live.bpf.c; not-vip
// counts the kernel's own packets, e.g. IPv6 neighbour discovery.) The ring buffer (4 MiB,
// ~40k records of 104 bytes) cannot hold 100k packets' records, so a second
// thread drains it while the frames are sent; every record is then accounted
// for (records read + records the BPF side could not reserve == 2 per tagged
// packet (ingress, devmap) + 2 per decapsulated one (backend XDP, TC)), and
// every packet whose four records all arrived must show the same store at
// every consumer.
#include <gtest/gtest.h>

#include <bpf/libbpf.h>
#include <linux/if_link.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <map>
#include <thread>

#include <xdpkv/codec.hpp>
#include <xdpkv/live.hpp>

#include <xdpkv/demo/lb.hpp>
#include "common.hpp"
#include "lb_path.hpp"
#include "xdpkv_test_scribble.skel.h"

namespace xdpkv::traffic {
namespace {

using namespace test;

constexpr uint64_t kFrames = 100000;

TEST(LiveFrames, FullSpeedThroughTheLb) {
  lbpath::Path path;
  ASSERT_TRUE(path.start());
  auto& topo = path.topo();
  auto& dep = path.dep();

  // Drain the ring buffer on another thread while sending (bounded: stops
  // when told, or after 60 s).
  std::atomic<bool> stop{false};
  std::atomic<uint64_t> records{0};
  std::thread drain([&] {
    auto end = std::chrono::steady_clock::now() + std::chrono::seconds(60);
    while (!stop.load() && std::chrono::steady_clock::now() < end) {
      int n = dep.poll(5);
      if (n > 0) records += static_cast<uint64_t>(n);
    }
  });

  auto lbout_xmit = [&] {
    auto scope = net::NsScope::enter(topo.lb);
    return scope ? xdp_xmit_counters(topo.lbout.ifname.c_str()) : XmitCounters{};
  };
  const XmitCounters be_before = lbout_xmit();
  ASSERT_TRUE(be_before.have) << "veth reports tx_queue_N_xdp_xmit";

  LiveOptions opt;
  opt.max_repeat = 4096;  // flows take turns every 4096 frames
  auto st =
      send_live_frames(topo.client, topo.cli.ifindex, lb_spec(topo, Proto::udp, 8), kFrames, opt);

  // Everything is processed in the sender's softirq context on veth; wait
  // (bounded) for the counters to settle and the drain to catch up.
  const uint64_t into_lbin = st ? st->xmit : 0;
  for (int i = 0; i < 200; i++) {
    const uint64_t tagged = dep.stat(kTagged), decap = dep.stat(kDecap);
    const XmitCounters be = lbout_xmit();
    if (tagged >= into_lbin && decap >= be.ok - be_before.ok &&
        records.load() + dep.stat(kRecLost) >= 2 * tagged + 2 * decap)
      break;
    std::this_thread::sleep_for(std::chrono::milliseconds(25));
  }
  stop = true;
  drain.join();
  for (int i = 0, n; i < 10000 && (n = dep.poll(0)) > 0; i++) records += static_cast<uint64_t>(n);
  ASSERT_TRUE(st) << st.error().message;

  const uint64_t tagged = dep.stat(kTagged), decap = dep.stat(kDecap);
  const uint64_t lost = dep.stat(kRecLost);
  const XmitCounters be_after = lbout_xmit();
  const uint64_t into_be = be_after.ok - be_before.ok, refused_be = be_after.err - be_before.err;
  const uint64_t want_records = 2 * tagged + 2 * decap;
  std::printf(
      "live: %llu frames in %.3f s (%.0f pps, %llu runs); into lbin %llu refused %llu; "
      "tagged %llu not-vip %llu; into be %llu refused %llu; decap %llu; records read %llu "
      "lost %llu\n",
      static_cast<unsigned long long>(st->sent), st->seconds, st->pps,
      static_cast<unsigned long long>(st->runs), static_cast<unsigned long long>(st->xmit),
      static_cast<unsigned long long>(st->xmit_errors), static_cast<unsigned long long>(tagged),
      static_cast<unsigned long long>(dep.stat(kNotVip)), static_cast<unsigned long long>(into_be),
      static_cast<unsigned long long>(refused_be), static_cast<unsigned long long>(decap),
      static_cast<unsigned long long>(records.load()), static_cast<unsigned long long>(lost));
  EXPECT_EQ(st->sent, kFrames);
  ASSERT_TRUE(st->have_xmit_stats) << "veth reports tx_queue_N_xdp_xmit";
  EXPECT_EQ(st->xmit + st->xmit_errors, st->sent)
      << "every frame sent reached lbin's ring or was refused";
  EXPECT_EQ(tagged, st->xmit) << "the LB tagged every frame lbin's ring took";
  EXPECT_EQ(into_be + refused_be, tagged) << "every tagged frame reached be's ring or was refused";
  EXPECT_EQ(decap, into_be) << "the backend XDP consumer decapsulated every frame be's ring took";
  EXPECT_EQ(dep.stat(kTagErr), 0u);
  EXPECT_EQ(dep.stat(kEncapErr), 0u);

  // Records: all accounted for; complete packets carry identical stores.
  uint64_t read = 0, complete = 0, mismatched = 0;
  std::map<uint32_t, uint64_t> per_consumer;
  for (auto& [id, s] : dep.seen()) {
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
  EXPECT_LE(dep.seen().size(), tagged);
  std::printf("live records:");
  for (auto& [c, n] : per_consumer)
    std::printf(" %s=%llu", lb::consumer_name(c), static_cast<unsigned long long>(n));
  std::printf("; %llu packets complete\n", static_cast<unsigned long long>(complete));
}

// The test run's page pool initialises a page once and, on recycling, resets
// only the frame's pointers: a receiver that rewrites a frame and drops it
// returns its page rewritten. Every frame must still leave as built.
TEST(LiveFrames, RecycledPagesLeaveAsBuilt) {
  auto topo = net::Topology::create();
  ASSERT_TRUE(topo) << topo.error().message;
  auto skel = bpf::open_skeleton(xdpkv_test_scribble__open, xdpkv_test_scribble__destroy,
                                 "xdpkv_test_scribble");
  ASSERT_TRUE(skel) << skel.error().message;
  ASSERT_TRUE(bpf::load_skeleton(*skel, xdpkv_test_scribble__load, "xdpkv_test_scribble"));
  {
    auto scope = net::NsScope::enter(topo->lb);
    ASSERT_TRUE(scope) << scope.error().message;
    ASSERT_EQ(bpf_xdp_attach(topo->lbin.ifindex, bpf_program__fd((*skel)->progs.scribble_drop),
                             XDP_FLAGS_DRV_MODE, nullptr),
              0);
  }
  auto spec = lb_spec(*topo, Proto::udp, 1);
  spec.payload_size = 16;
  constexpr uint64_t kN = 20000;
  auto st = send_live_frames(topo->client, topo->cli.ifindex, spec, kN);
  ASSERT_TRUE(st) << st.error().message;
  const auto* bss = (*skel)->bss;
  for (int i = 0; i < 200 && bss->frames < st->xmit; i++)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  std::printf("live: %llu frames sent, %llu into lbin, %llu seen, %llu arrived rewritten\n",
              static_cast<unsigned long long>(st->sent), static_cast<unsigned long long>(st->xmit),
              static_cast<unsigned long long>(bss->frames),
              static_cast<unsigned long long>(bss->arrived_rewritten));
  EXPECT_EQ(st->sent, kN);
  EXPECT_EQ(bss->frames, st->xmit);
  EXPECT_GT(bss->frames, 0u);
  EXPECT_EQ(bss->arrived_rewritten, 0u) << "frames built on a recycled, rewritten page";
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
