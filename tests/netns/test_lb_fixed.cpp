// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
// The LB built on a fixed struct (lb::Options::fixed_struct), the floor the
// end-to-end benchmark compares the xdpkv LB with: it must be the same LB,
// handing over the same values, or the ratio means nothing.
#include <gtest/gtest.h>

#include <sys/socket.h>

#include <cerrno>
#include <vector>

#include <xdpkv/demo/lb.hpp>
#include "lb_path.hpp"

namespace xdpkv {
namespace {

constexpr int kPackets = 200;

TEST(LbFixedStruct, EveryConsumerReadsTheValuesTheIngressWrote) {
  lbpath::Options o;
  o.topo.backend_owns_vip = true;
  o.receiver = true;
  o.lb.fixed_struct = true;
  lbpath::Path path;
  ASSERT_TRUE(path.start(o));
  auto* dep = &path.dep();
  auto sent = path.send_to_vip(kPackets);
  ASSERT_TRUE(sent) << sent.error().message;
  ASSERT_EQ(*sent, kPackets);
  const std::vector<uint32_t> consumers = {LB_AT_DEVMAP, LB_AT_BACKEND, LB_AT_TC};
  auto all_seen = [&] {
    int n = 0;
    for (const auto& [id, seen] : dep->seen()) n += seen.at.size() == consumers.size() + 1;
    return n;
  };
  // Bounded: 10 s for 200 datagrams on a veth path.
  for (int i = 0; i < 1000 && all_seen() < kPackets; i++) dep->poll(10);
  ASSERT_EQ(dep->seen().size(), static_cast<size_t>(kPackets));
  EXPECT_EQ(all_seen(), kPackets);
  // Every consumer read, from the struct, the values the ingress wrote.
  for (const auto& [id, seen] : dep->seen()) {
    auto in = seen.at.find(LB_AT_INGRESS);
    ASSERT_NE(in, seen.at.end()) << "packet " << id;
    for (uint32_t c : consumers) {
      auto r = seen.at.find(c);
      ASSERT_NE(r, seen.at.end()) << "packet " << id << " at " << lb::consumer_name(c);
      EXPECT_EQ(r->second.err, 0) << "packet " << id << " at " << lb::consumer_name(c);
      EXPECT_EQ(r->second.flow_hash, in->second.flow_hash) << "packet " << id;
      EXPECT_EQ(r->second.backend, 0u) << "packet " << id;
      // 16 bytes of struct and no store.
      EXPECT_EQ(r->second.meta_len, 16u) << "packet " << id << " at " << lb::consumer_name(c);
    }
  }
  int received = 0;
  char buf[2048];
  while (received < kPackets && recv(path.receiver_fd(), buf, sizeof(buf), MSG_DONTWAIT) > 0)
    received++;
  EXPECT_EQ(received, kPackets) << "datagrams delivered to the backend socket";
  EXPECT_EQ(dep->stat(LB_ST_TAG_ERR), 0u);
  EXPECT_EQ(dep->stat(LB_ST_DECAP), static_cast<uint64_t>(kPackets));
}

TEST(LbFixedStruct, RecordsOffStillDeliversAndRecordsNothing) {
  for (const bool fixed : {false, true}) {
    lbpath::Options o;
    o.topo.backend_owns_vip = true;
    o.lb.fixed_struct = fixed;
    o.lb.records = false;
    lbpath::Path path;
    ASSERT_TRUE(path.start(o));
    auto* dep = &path.dep();
    auto sent = path.send_to_vip(kPackets);
    ASSERT_TRUE(sent) << sent.error().message;
    // Bounded: 5 s for 200 datagrams on a veth path.
    for (int i = 0; i < 500 && dep->stat(LB_ST_DECAP) < static_cast<uint64_t>(kPackets); i++)
      dep->poll(10);
    EXPECT_EQ(dep->stat(LB_ST_DECAP), static_cast<uint64_t>(kPackets)) << "fixed " << fixed;
    EXPECT_EQ(dep->stat(LB_ST_TAG_ERR), 0u) << "fixed " << fixed;
    EXPECT_TRUE(dep->seen().empty()) << "fixed " << fixed;
    EXPECT_EQ(dep->record_stats().attempted(), 0u) << "fixed " << fixed;
  }
}

TEST(LbFixedStruct, RefusesWhatNeedsAStore) {
  auto topo = net::Topology::create({});
  ASSERT_TRUE(topo) << topo.error().message;
  for (const bool xsk : {true, false}) {
    lb::Options o;
    o.fixed_struct = true;
    o.xsk = xsk;
    o.grow_foreign = !xsk;
    auto dep = lb::Deployment::create(*topo, o);
    ASSERT_FALSE(dep);
    EXPECT_EQ(dep.error().code, EINVAL);
    EXPECT_NE(dep.error().message.find("no xsk or grow_foreign"), std::string::npos)
        << dep.error().message;
  }
}

}  // namespace
}  // namespace xdpkv
