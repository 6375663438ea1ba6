// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
// Across XDP_REDIRECT: the LB example tags every packet, encapsulates and
// redirects it; every consumer on the way must see a byte-identical store,
// for every packet, and nothing may be lost at this rate.
#include <gtest/gtest-spi.h>
#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <signal.h>
#include <sys/wait.h>

#include <chrono>
#include <cstring>
#include <thread>

#include <xdpkv/codec.hpp>
#include <xdpkv/traffic.hpp>

#include <xdpkv/demo/lb.hpp>
#include "lb_check.hpp"
#include "lb_path.hpp"

namespace xdpkv {
namespace {

constexpr int kPackets = 300;

// Sends kPackets datagrams to the VIP, then waits (bounded) for every
// consumer's record and checks them (lb_check.hpp).
lbcheck::Outcome run_and_check(lbpath::Path& path, const std::vector<uint32_t>& consumers,
                               int receiver_fd, lb::XskReader* xsk = nullptr) {
  auto sent = path.send_to_vip(kPackets);
  EXPECT_TRUE(sent) << (sent ? "" : sent.error().message);
  EXPECT_EQ(sent.value_or(0), kPackets);
  return lbcheck::wait_and_check(path.dep(), kPackets, consumers, receiver_fd, xsk, "redirect");
}

TEST(Redirect, DevmapEveryConsumerSeesTheSameStore) {
  // The backend owns the VIP too, so decapsulated packets are delivered.
  lbpath::Path path;
  ASSERT_TRUE(path.start({.topo = {.backend_owns_vip = true}, .receiver = true}));
  auto o = run_and_check(path, {LB_AT_INGRESS, LB_AT_DEVMAP, LB_AT_BACKEND, LB_AT_TC},
                         path.receiver_fd());
  EXPECT_EQ(o.complete, kPackets);
  if (o.received != kPackets) {
    auto st = path.topo().backend.exec({"nstat", "-az"});
    std::printf("%s\n", st ? st->c_str() : st.error().message.c_str());
  }
  EXPECT_EQ(o.received, kPackets) << "datagrams delivered to the backend socket";
  EXPECT_EQ(path.dep().stat(2), 0u) << "tag errors";
  EXPECT_EQ(path.dep().stat(4), 0u) << "ring buffer records lost";
}

TEST(Redirect, CpumapEntryProgramAndSkbSeeTheStore) {
  lbpath::Path path;
  lbpath::Options opt;
  opt.lb.cpumap = true;
  ASSERT_TRUE(path.start(opt));
  auto o = run_and_check(path, {LB_AT_INGRESS, LB_AT_CPUMAP, LB_AT_TC}, -1);
  EXPECT_EQ(o.complete, kPackets);
}

TEST(Redirect, AfXdpReaderDecodesTheSameStore) {
  lbpath::Path path;
  lbpath::Options opt;
  opt.lb.xsk = true;
  opt.xsk_reader.emplace();
  ASSERT_TRUE(path.start(opt));
  auto o =
      run_and_check(path, {LB_AT_INGRESS, LB_AT_DEVMAP, LB_AT_BACKEND, LB_AT_XSK}, -1, &path.xsk());
  EXPECT_EQ(o.complete, kPackets);
  EXPECT_EQ(path.dep().stat(6), static_cast<uint64_t>(kPackets))
      << "redirected to the AF_XDP socket";
  EXPECT_EQ(path.dep().stat(7), 0u) << "no AF_XDP socket on the frame's queue";
}

TEST(Redirect, ForeignBytesBelowTheStoreSurviveToTc) {
  lbpath::Path path;
  lbpath::Options opt;
  opt.lb.grow_foreign = true;
  ASSERT_TRUE(path.start(opt));
  auto o = run_and_check(path, {LB_AT_INGRESS, LB_AT_BACKEND, LB_AT_TC}, -1);
  EXPECT_EQ(o.complete, kPackets);
  int checked = 0;
  for (auto& [id, s] : path.dep().seen()) {
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
  lbpath::Path path;
  lbpath::Options opt;
  opt.lb.backend_xdp = false;
  ASSERT_TRUE(path.start(opt));
  auto o = run_and_check(path, {LB_AT_INGRESS, LB_AT_DEVMAP, LB_AT_TC}, -1);
  EXPECT_EQ(o.complete, kPackets);
}

// ---- AF_XDP: a frame's store is this packet's, never a recycled chunk's ----------

// Polls the reader (and drains the ring buffer) until it has received
// `frames` frames in total, or about 3 s.
void poll_until(lb::XskReader& xsk, lb::Deployment& dep, uint64_t frames) {
  for (int i = 0; i < 300 && xsk.stats().frames < frames; i++) {
    xsk.poll(dep);
    dep.poll(1);
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
}

// Phase 1 fills every umem chunk with a frame carrying the LB's store; in
// phase 2 lb_backend drops the store before the AF_XDP path (a producer
// whose set failed: M == 0), and the same chunks are reused. Returns the
// reader's counters for phase 2 only.
lb::XskStats stale_store_run(bool producer_guard, bool reader_clears) {
  constexpr uint32_t kChunks = 16;
  lbpath::Path path;
  lbpath::Options opt;
  opt.lb.xsk = true;
  opt.lb.xsk_no_guard = !producer_guard;
  opt.xsk_reader.emplace();
  opt.xsk_reader->frames = kChunks;
  opt.xsk_reader->clear_recycled = reader_clears;
  const auto started = path.start(opt);
  EXPECT_TRUE(started);
  if (!started) return {};
  lb::XskReader& xsk = path.xsk();
  lb::Deployment& dep = path.dep();

  // More than the chunks: every chunk gets a frame.
  EXPECT_TRUE(path.send_to_vip(4 * kChunks));
  poll_until(xsk, dep, kChunks);
  const lb::XskStats p1 = xsk.stats();
  EXPECT_GE(p1.frames, kChunks) << "phase 1 must use every umem chunk";
  EXPECT_EQ(p1.with_id, p1.frames) << "phase 1 frames carry the LB's store";

  EXPECT_TRUE(dep.set_xsk_strip(true));
  EXPECT_TRUE(path.send_to_vip(kChunks));
  poll_until(xsk, dep, p1.frames + kChunks);
  const lb::XskStats p2 = xsk.stats();
  lb::XskStats d;
  d.frames = p2.frames - p1.frames;
  d.with_id = p2.with_id - p1.with_id;
  d.no_id = p2.no_id - p1.no_id;
  d.malformed = p2.malformed - p1.malformed;
  std::printf(
      "AF_XDP, store dropped before the redirect (guard %s, reader clears %s): "
      "%llu frames, %llu with a packet id, %llu empty, %llu malformed\n",
      producer_guard ? "on" : "off", reader_clears ? "on" : "off", (unsigned long long)d.frames,
      (unsigned long long)d.with_id, (unsigned long long)d.no_id, (unsigned long long)d.malformed);
  return d;
}

TEST(AfXdpStaleStore, ProducerGuardGivesEveryFrameItsOwnStore) {
  const lb::XskStats d = stale_store_run(true, false);
  EXPECT_GT(d.frames, 0u);
  EXPECT_EQ(d.with_id, 0u) << "the reader reported a previous packet's store";
  EXPECT_EQ(d.no_id, d.frames) << "every frame carries an empty store";
  EXPECT_EQ(d.malformed, 0u);
}

TEST(AfXdpStaleStore, ReaderClearsRecycledChunks) {
  const lb::XskStats d = stale_store_run(false, true);
  EXPECT_GT(d.frames, 0u);
  EXPECT_EQ(d.with_id, 0u) << "the reader reported a previous packet's store";
  EXPECT_EQ(d.no_id, d.frames);
}

TEST(AfXdpStaleStore, WithoutEitherTheStaleStoreIsSeen) {
  // The hazard both defences remove, on this kernel: the test above would
  // not notice anything if the chunks did not keep the old bytes.
  const lb::XskStats d = stale_store_run(false, false);
  EXPECT_GT(d.frames, 0u);
  EXPECT_EQ(d.with_id, d.frames) << "copy mode leaves the previous packet's bytes below data";
}

// ---- faults: a full ring buffer ---------------------------------------------------

TEST(Faults, FullRingBufferLosesRecordsCountedAndReported) {
  lbpath::Path path;
  lbpath::Options opt;
  opt.lb.ring_bytes = 4096;  // one page: about 39 records of 104 bytes
  ASSERT_TRUE(path.start(opt));
  lb::Deployment& dep = path.dep();
  // Flood without reading: four consumers record each of kPackets packets.
  auto sent = path.send_to_vip(kPackets);
  ASSERT_TRUE(sent) << sent.error().message;
  const std::vector<uint32_t> consumers = {LB_AT_INGRESS, LB_AT_DEVMAP, LB_AT_BACKEND, LB_AT_TC};
  const lb::Tally t =
      lb::wait_and_tally(dep, kPackets, consumers, -1, nullptr, std::chrono::milliseconds(1500));
  const lb::RecordStats& r = t.records;
  std::printf("full ring buffer: %llu records attempted, %llu received, %llu lost\n",
              (unsigned long long)r.attempted(), (unsigned long long)r.received,
              (unsigned long long)r.lost);
  EXPECT_EQ(r.attempted(), consumers.size() * dep.stat(LB_ST_TAGGED))
      << "every consumer tried to record every tagged packet";
  EXPECT_GT(r.lost, 0u);
  EXPECT_EQ(r.lost, r.attempted() - r.received) << "a record went missing uncounted";
  EXPECT_EQ(dep.stat(LB_ST_REC_LOST), r.lost);
  const std::string line = lb::summary(t, false);
  EXPECT_NE(line.find("ring buffer full: " + std::to_string(r.lost) + " of " +
                      std::to_string(r.attempted()) + " records lost"),
            std::string::npos)
      << line;
  ASSERT_FALSE(t.problems.empty());
  EXPECT_EQ(t.problems.front().rfind("ring buffer full", 0), 0u) << t.problems.front();
}

std::string netns_list() {
  auto l = net::run({"ip", "netns", "list"});
  return l ? *l : std::string();
}

TEST(Cleanup, NamespacesGoneAfterAFailingTestBody) {
  std::vector<std::string> names;
  {
    lbpath::Path path;
    ASSERT_TRUE(path.start());
    const net::Topology& topo = path.topo();
    names = {topo.client.name(), topo.lb.name(), topo.backend.name()};
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
