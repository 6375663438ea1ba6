// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
// NIC hints across the namespace topology (client -> lb -> backend, the rig
// of xdpkv/demo/hints_rig.hpp, which `xdpkv demo` uses too): captured by
// xdpkv_capture on lbin (device-bound: veth's driver kfuncs), carried through
// devmap and cpumap redirects, read by devmap/cpumap programs, by XDP on the
// redirect target, by TC, by a tracer after the stack and by AF_XDP, and
// given back to the skb by xdpkv_restore.
#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <fcntl.h>
#include <linux/if_tun.h>
#include <net/if.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <map>

#include <xdpkv/demo/hints_rig.hpp>
#include <xdpkv/hints.hpp>
#include <xdpkv/topology.hpp>
#include <xdpkv/traffic.hpp>

#include <xdpkv/capture.h>
#include "packets.hpp"
#include "private_bpffs.hpp"
#include "vectors.hpp"

namespace xdpkv {
namespace {

using hints::consumer_name;
using hints::Rig;
using hints::RigOptions;
constexpr uint16_t kDport = hints::kRigDport;
constexpr uint16_t kSportBase = hints::kRigSportBase;
constexpr int kFlows = hints::kRigFlows;

// The rig (userspace/demo: xdpkv/demo/hints_rig.hpp) on a topology of its own.
std::unique_ptr<Rig> make_rig(const RigOptions& o) {
  auto r = Rig::create(o);
  EXPECT_TRUE(r) << (r ? "" : r.error().message);
  return r ? std::move(*r) : nullptr;
}

// Sends count datagrams to the VIP and waits for every consumer's record.
int send_and_wait(Rig& rig, int count, const std::vector<uint32_t>& consumers, int gap_us = 100) {
  auto sent = rig.send_and_wait(rig.burst(count, gap_us), consumers);
  EXPECT_TRUE(sent) << (sent ? "" : sent.error().message);
  return sent.value_or(0);
}

uint32_t expected_sw_hash(const net::Topology& t, uint16_t sport) {
  return hints::expected_sw_hash(t, sport);
}

// Every consumer in `consumers` read, for every captured packet, exactly
// the hints lbin captured. Returns the number of packets checked.
int check_consumers(Rig& rig, const std::vector<uint32_t>& consumers) {
  int checked = 0;
  std::map<uint32_t, int> per;
  for (auto& [seq, ev] : rig.events) {
    auto it = rig.seen.find(seq);
    if (it == rig.seen.end()) {
      ADD_FAILURE() << "packet " << seq << " seen by no consumer";
      continue;
    }
    const hints::Hints& h = ev.hints;
    for (auto c : consumers) {
      auto r = it->second.find(c);
      if (r == it->second.end()) {
        ADD_FAILURE() << "packet " << seq << " not seen by " << consumer_name(c);
        continue;
      }
      per[c]++;
      const hc_rec& x = r->second;
      SCOPED_TRACE(std::string(consumer_name(c)) + " packet " + std::to_string(seq));
      if (h.has(XDPKV_HINT_HASH)) {
        EXPECT_EQ(x.hash_rc, 0);
        EXPECT_EQ(x.hash, h.hash);
        EXPECT_EQ(x.hash_type, h.hash_type);
        EXPECT_EQ(x.flags, h.flags);
      } else {
        EXPECT_EQ(x.hash_rc, -ENODATA);
      }
      if (h.has(XDPKV_HINT_VLAN)) {
        EXPECT_EQ(x.vlan_rc, 0);
        EXPECT_EQ(x.vlan_proto, h.vlan_proto);
        EXPECT_EQ(x.vlan_tci, h.vlan_tci);
      } else {
        EXPECT_EQ(x.vlan_rc, -ENODATA);
      }
      if (h.has(XDPKV_HINT_TIMESTAMP)) {
        EXPECT_EQ(x.ts_rc, 0);
        EXPECT_EQ(x.ts, h.timestamp);
      } else {
        EXPECT_EQ(x.ts_rc, -ENODATA);
      }
    }
    checked++;
  }
  std::printf("  %d packets captured;", checked);
  for (auto& [c, n] : per) std::printf(" %s=%d", consumer_name(c), n);
  std::printf("\n");
  return checked;
}

TEST(HintsNetns, VethHashCapturedInTheFirstProgramAndReadAfterDevmap) {
  RigOptions o;
  o.capture.action = hints::CaptureOptions::kDevmap;
  o.backend = true;
  o.backend_tc = true;
  auto rig = make_rig(o);
  ASSERT_TRUE(rig);
  ASSERT_TRUE(rig->capture->device_bound());
  constexpr int kN = 200;
  send_and_wait(*rig, kN, {HC_DEVMAP, HC_BACKEND, HC_TC});
  ASSERT_EQ(rig->events.size(), size_t(kN));
  std::map<uint32_t, uint32_t> flow_hash;  // sport -> hash
  for (auto& [seq, ev] : rig->events) {
    SCOPED_TRACE("packet " + std::to_string(seq));
    // veth gives the hash for skb-path packets: hardware (driver) source.
    EXPECT_EQ(ev.rc[hints::kHash], 0);
    EXPECT_EQ(ev.hints.flags & (XDPKV_HINT_HASH | XDPKV_HINT_HASH_SW), uint32_t(XDPKV_HINT_HASH));
    EXPECT_NE(ev.hints.hash, 0u);
    // Untagged: the driver has no VLAN, nor has the frame.
    EXPECT_EQ(ev.rc[hints::kVlan], -ENODATA);
    EXPECT_FALSE(ev.hints.has(XDPKV_HINT_VLAN));
    // veth answers the timestamp kfunc with 0: xdpkv takes a software one.
    EXPECT_EQ(ev.rc[hints::kTimestamp], 0);
    EXPECT_TRUE(ev.hints.software(XDPKV_HINT_TIMESTAMP));
    EXPECT_GE(ev.hints.timestamp, rig->t_start);
    EXPECT_LE(ev.hints.timestamp, rig->t_end);
    auto r = rig->seen[seq].find(HC_DEVMAP);
    if (r != rig->seen[seq].end() && r->second.sport) {
      auto [it, fresh] = flow_hash.emplace(r->second.sport, ev.hints.hash);
      EXPECT_EQ(it->second, ev.hints.hash) << "one flow, one hash";
    }
  }
  EXPECT_EQ(flow_hash.size(), size_t(kFlows));
  EXPECT_EQ(check_consumers(*rig, {HC_DEVMAP, HC_BACKEND, HC_TC}), kN);
  // On the redirect target the driver has nothing: the stored hints are all there is.
  for (auto& [seq, m] : rig->seen) {
    auto b = m.find(HC_BACKEND);
    if (b == m.end()) continue;
    EXPECT_EQ(b->second.drv_rc[0], -ENODATA) << "rx_hash after XDP_REDIRECT, packet " << seq;
    EXPECT_EQ(b->second.drv_rc[1], -ENODATA) << "rx_vlan_tag after XDP_REDIRECT";
    EXPECT_EQ(b->second.drv_rc[2], -ENODATA) << "rx_timestamp after XDP_REDIRECT";
  }
  auto st = rig->capture->stats();
  EXPECT_EQ(st.hw[hints::kHash], uint64_t(kN));
  EXPECT_EQ(st.store_err, 0u);
  std::printf("  capture: hash hw=%llu sw=%llu, vlan none=%llu, timestamp sw=%llu; flows=%zu\n",
              (unsigned long long)st.hw[0], (unsigned long long)st.sw[0],
              (unsigned long long)st.none[1], (unsigned long long)st.sw[2], flow_hash.size());
}

TEST(HintsNetns, TaggedTrafficVlanFromTheDriverAfterCpumapAndInTc) {
  RigOptions o;
  o.capture.action = hints::CaptureOptions::kCpumap;
  o.vlan_sender = true;
  o.lbin_tc = true;
  o.trace = true;
  o.restore = hints::RestoreOptions{.hash = true, .vlan = true, .priority = 1, .origin = {}};
  auto rig = make_rig(o);
  ASSERT_TRUE(rig);
  // With 802.1Q in the kernel, the restored tag delivers the packets to
  // lbin.100 (ICMP errors go back on lbin); without it, the stack still
  // sees the tag: VID 100 is not ours, the packet is for another host.
  int vlan_ifindex = 0;
  if (rig->topo.lb.ip(
          {"link", "add", "link", "lbin", "name", "lbin.100", "type", "vlan", "id", "100"}) &&
      rig->topo.lb.ip({"link", "set", "lbin.100", "up"}))
    vlan_ifindex = net::ifindex_in(rig->topo.lb, "lbin.100");
  constexpr int kN = 200;
  send_and_wait(*rig, kN, {HC_CPUMAP, HC_TC, HC_TRACE});
  ASSERT_EQ(rig->events.size(), size_t(kN));
  for (auto& [seq, ev] : rig->events) {
    SCOPED_TRACE("packet " + std::to_string(seq));
    EXPECT_EQ(ev.rc[hints::kVlan], 0)
        << "the driver (veth) gives the tag pushed on the sender's egress";
    EXPECT_EQ(ev.hints.flags & (XDPKV_HINT_VLAN | XDPKV_HINT_VLAN_SW), uint32_t(XDPKV_HINT_VLAN));
    EXPECT_EQ(ev.hints.proto_host(), 0x8100);
    EXPECT_EQ(ev.hints.vlan_tci, o.vlan_tci);
    EXPECT_EQ(ev.rc[hints::kHash], 0);
  }
  EXPECT_EQ(check_consumers(*rig, {HC_CPUMAP, HC_TC, HC_TRACE}), kN);
  int on_vlan_dev = 0, tagged_in_tc = 0, otherhost = 0;
  for (auto& [seq, m] : rig->seen) {
    if (auto t = m.find(HC_TC); t != m.end()) {
      tagged_in_tc += t->second.vlan_present && t->second.skb_vlan_tci == o.vlan_tci &&
                      t->second.skb_vlan_proto == htons(0x8100);
    }
    if (auto t = m.find(HC_TRACE); t != m.end()) {
      on_vlan_dev += vlan_ifindex && int(t->second.ifindex) == vlan_ifindex && t->second.drop == 1;
      otherhost += t->second.drop == 2;
    }
  }
  EXPECT_EQ(tagged_in_tc, kN) << "skbs built by cpumap carry the restored tag in TC";
  if (vlan_ifindex) {
    EXPECT_EQ(on_vlan_dev, kN) << "and the stack delivers them on the VLAN device";
  } else {
    EXPECT_EQ(otherhost, kN) << "and the stack drops them as another VLAN's (no 802.1Q here)";
  }
  auto rs = rig->restore->stats();
  EXPECT_EQ(rs.vlan_pushed, uint64_t(kN));
  std::printf(
      "  vlan: captured 0x8100/tci 0x%04x from the driver; cpumap skbs tagged in TC %d/%d; %s "
      "%d/%d\n",
      o.vlan_tci, tagged_in_tc, kN,
      vlan_ifindex ? "delivered on lbin.100"
                   : "no 802.1Q in this kernel: dropped by the stack as OTHERHOST (VID 100)",
      vlan_ifindex ? on_vlan_dev : otherhost, kN);
}

struct HashEvidence {
  int packets = 0, equal = 0, zero = 0, l4 = 0, sw = 0;
  uint32_t sample_captured = 0, sample_skb = 0;
};

HashEvidence skb_hash_after_cpumap(bool restore, bool device_bound) {
  RigOptions o;
  o.capture.action = hints::CaptureOptions::kCpumap;
  o.capture.device_bound = device_bound;
  o.trace = true;
  if (restore) o.restore = hints::RestoreOptions{};
  o.restore_cpumap = restore && !device_bound;  // the shipped cpumap entry program, once
  auto rig = make_rig(o);
  HashEvidence e;
  if (!rig) return e;
  constexpr int kN = 100;
  if (o.restore_cpumap) {
    send_and_wait(*rig, kN, {HC_TRACE});
  } else {
    send_and_wait(*rig, kN, {HC_CPUMAP, HC_TRACE});
  }
  for (auto& [seq, ev] : rig->events) {
    auto m = rig->seen.find(seq);
    if (m == rig->seen.end()) continue;
    auto t = m->second.find(HC_TRACE);
    if (t == m->second.end()) continue;
    const hc_rec& r = t->second;
    e.packets++;
    e.equal += r.skb_hash == ev.hints.hash;
    e.zero += r.skb_hash == 0;
    e.l4 += r.l4_hash;
    e.sw += r.sw_hash;
    if (e.packets == 1) {
      e.sample_captured = ev.hints.hash;
      e.sample_skb = r.skb_hash;
    }
    if (!device_bound) {
      bool known = false;
      for (int f = 0; f < kFlows; f++)
        known |= ev.hints.hash == expected_sw_hash(rig->topo, kSportBase + f);
      EXPECT_TRUE(known) << "software Toeplitz of one of the flows' tuples, packet " << seq;
    }
  }
  if (rig->restore) {
    auto rs = rig->restore->stats();
    std::printf(
        "  restore: %llu skbs, %llu with hints, %llu hashes set; cpumap entry program "
        "xdpkv_restore_cpumap: %llu frames, %llu with hints\n",
        (unsigned long long)rs.skbs, (unsigned long long)rs.with_hints,
        (unsigned long long)rs.hash_set, (unsigned long long)rs.cpumap_frames,
        (unsigned long long)rs.cpumap_with_hints);
    if (o.restore_cpumap) {
      EXPECT_EQ(rs.cpumap_with_hints, uint64_t(kN));
    }
    EXPECT_EQ(rs.hash_set, uint64_t(kN));
  }
  std::printf(
      "skb->hash after XDP -> cpumap -> stack (tp_btf/kfree_skb), %s capture, restore %s: "
      "%d packets, skb->hash == captured %d, skb->hash == 0 %d, l4_hash %d, sw_hash %d; "
      "e.g. captured 0x%08x, skb 0x%08x\n",
      device_bound ? "driver" : "software", restore ? "on" : "off", e.packets, e.equal, e.zero,
      e.l4, e.sw, e.sample_captured, e.sample_skb);
  return e;
}

TEST(HintsNetns, SkbHashAfterCpumapWithoutRestoreIsNotSet) {
  HashEvidence e = skb_hash_after_cpumap(false, true);
  EXPECT_EQ(e.packets, 100);
  EXPECT_EQ(e.zero, e.packets) << "cpumap builds skbs without a hash";
  EXPECT_EQ(e.equal, 0);
  EXPECT_EQ(e.sw, 0);
}

TEST(HintsNetns, SkbHashAfterCpumapWithRestoreEqualsTheCapturedHash) {
  HashEvidence e = skb_hash_after_cpumap(true, true);
  EXPECT_EQ(e.packets, 100);
  EXPECT_EQ(e.equal, e.packets);
  EXPECT_EQ(e.l4, e.packets) << "bpf_set_hash marks an L4 hash";
  EXPECT_EQ(e.sw, e.packets);
}

TEST(HintsNetns, SkbHashFromTheSoftwareToeplitzWithRestore) {
  HashEvidence e = skb_hash_after_cpumap(true, false);
  EXPECT_EQ(e.packets, 100);
  EXPECT_EQ(e.equal, e.packets);
}

TEST(HintsNetns, SoftwareFallbackForFramesThatArrivedByRedirect) {
  // lbin only redirects (capture off); be captures: the driver has nothing
  // for redirected frames (ENODATA), so every hint comes from software.
  RigOptions o;
  o.capture.action = hints::CaptureOptions::kDevmap;
  o.capture.mode = XDPKV_CAPTURE_OFF;
  auto rig = make_rig(o);
  ASSERT_TRUE(rig);
  hints::CaptureOptions bo;
  bo.events = true;
  auto be = hints::Capture::attach(rig->topo.backend.name(), rig->topo.be.ifname, bo);
  ASSERT_TRUE(be) << be.error().message;
  ASSERT_TRUE(be->device_bound());
  constexpr int kN = 100;
  net::UdpBurst b;
  b.dst = rig->topo.vip;
  b.dport = kDport;
  b.sport_base = kSportBase;
  b.flows = kFlows;
  b.count = kN;
  ASSERT_TRUE(net::send_udp(rig->topo.client, b));
  std::vector<hints::CaptureEvent> evs;
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (evs.size() < size_t(kN) && std::chrono::steady_clock::now() < deadline)
    be->poll_events(50, [&](const hints::CaptureEvent& e) { evs.push_back(e); });
  ASSERT_EQ(evs.size(), size_t(kN));
  int i = 0;
  for (const auto& e : evs) {
    SCOPED_TRACE("event " + std::to_string(i++));
    EXPECT_EQ(e.rc[hints::kHash], -ENODATA);
    EXPECT_EQ(e.rc[hints::kVlan], -ENODATA);
    EXPECT_EQ(e.rc[hints::kTimestamp], -ENODATA);
    EXPECT_EQ(e.hints.flags, uint32_t(XDPKV_HINT_HASH | XDPKV_HINT_HASH_SW | XDPKV_HINT_TIMESTAMP |
                                      XDPKV_HINT_TIMESTAMP_SW));
    EXPECT_EQ(e.hints.hash_type, uint32_t(XDPKV_RSS_L3_IPV4 | XDPKV_RSS_L4 | XDPKV_RSS_L4_UDP));
    EXPECT_EQ(e.store_rc, 0);
  }
  // The hashes are the Toeplitz hashes of the flows' tuples.
  std::map<uint32_t, int> seen_hash;
  for (const auto& e : evs) seen_hash[e.hints.hash]++;
  int matched = 0;
  for (int f = 0; f < kFlows; f++)
    matched += seen_hash.count(expected_sw_hash(rig->topo, kSportBase + f));
  EXPECT_EQ(matched, kFlows);
  auto st = be->stats();
  EXPECT_EQ(st.sw[hints::kHash], uint64_t(kN));
  EXPECT_EQ(st.hw[hints::kHash], 0u);
  std::printf(
      "  redirected frames at be: hash sw=%llu hw=%llu, kfuncs ENODATA; %d flows' Toeplitz hashes "
      "matched\n",
      (unsigned long long)st.sw[0], (unsigned long long)st.hw[0], matched);
}

TEST(HintsNetns, SoftwareFallbackWhenTheDriverHasNoKfuncs) {
  // tun/tap has native XDP but implements no RX metadata kfunc: every call
  // answers -EOPNOTSUPP and each hint comes from software, VLAN included
  // (the tag is in the frame).
  auto ns = net::Netns::create(net::unique_name("tap"));
  ASSERT_TRUE(ns) << ns.error().message;
  ASSERT_TRUE(ns->ip({"tuntap", "add", "dev", "tap0", "mode", "tap"}));
  ASSERT_TRUE(ns->ip({"link", "set", "tap0", "up"}));
  bpf::UniqueFd tap;
  ASSERT_TRUE(net::in_netns(ns->name(), [&]() -> Status {
    int fd = ::open("/dev/net/tun", O_RDWR | O_CLOEXEC);
    if (fd < 0) return bpf::errno_error(errno, "/dev/net/tun");
    tap = bpf::UniqueFd(fd);
    ifreq ifr{};
    std::strncpy(ifr.ifr_name, "tap0", IFNAMSIZ - 1);
    ifr.ifr_flags = IFF_TAP | IFF_NO_PI;
    if (ioctl(fd, TUNSETIFF, &ifr)) return bpf::errno_error(errno, "TUNSETIFF");
    return {};
  }));
  hints::ProbeOptions po;
  po.netns = ns->name();
  po.live_if_needed = false;
  auto pr = hints::probe("tap0", po);
  ASSERT_TRUE(pr) << pr.error().message;
  std::printf("%s", hints::format(*pr).c_str());
  EXPECT_EQ(pr->netlink_features, 0u);
  for (int i = 0; i < hints::kNumHints; i++) EXPECT_EQ(pr->device[i], hints::Support::kNo);

  hints::CaptureOptions co;
  co.events = true;
  auto cap = hints::Capture::attach(ns->name(), "tap0", co);
  ASSERT_TRUE(cap) << cap.error().message;
  ASSERT_TRUE(cap->device_bound());
  const auto& v = hintvec::kIpv4[0];
  auto f = hintpkt::frame(v.src, v.dst, 17, v.sport, v.dport, {{0x8100, 0x0042}});
  for (int i = 0; i < 10; i++) ASSERT_EQ(::write(tap.get(), f.data(), f.size()), ssize_t(f.size()));
  std::vector<hints::CaptureEvent> evs;
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while (evs.size() < 10 && std::chrono::steady_clock::now() < deadline)
    cap->poll_events(50, [&](const hints::CaptureEvent& e) { evs.push_back(e); });
  ASSERT_EQ(evs.size(), 10u);
  for (const auto& e : evs) {
    EXPECT_EQ(e.rc[hints::kHash], -EOPNOTSUPP);
    EXPECT_EQ(e.rc[hints::kVlan], -EOPNOTSUPP);
    EXPECT_EQ(e.rc[hints::kTimestamp], -EOPNOTSUPP);
    EXPECT_EQ(e.hints.flags, uint32_t(XDPKV_HINT_MASK)) << "all three present, all from software";
    EXPECT_EQ(e.hints.hash, v.l4) << "the published vector";
    EXPECT_EQ(e.hints.proto_host(), 0x8100);
    EXPECT_EQ(e.hints.vlan_tci, 0x0042);
  }
  std::printf("  tap (no kfuncs): %zu frames, kfuncs -EOPNOTSUPP, %s\n", evs.size(),
              hints::describe(evs[0].hints).c_str());
}

TEST(HintsNetns, SoftwareOnlyCaptureReportsSoftwareSources) {
  RigOptions o;
  o.capture.action = hints::CaptureOptions::kDevmap;
  o.capture.device_bound = false;
  o.backend = true;
  auto rig = make_rig(o);
  ASSERT_TRUE(rig);
  EXPECT_FALSE(rig->capture->device_bound());
  constexpr int kN = 50;
  send_and_wait(*rig, kN, {HC_DEVMAP, HC_BACKEND});
  ASSERT_EQ(rig->events.size(), size_t(kN));
  for (auto& [seq, ev] : rig->events) {
    EXPECT_EQ(ev.rc[hints::kHash], XDPKV_HINT_RC_NOT_TRIED);
    EXPECT_TRUE(ev.hints.software(XDPKV_HINT_HASH));
    EXPECT_TRUE(ev.hints.software(XDPKV_HINT_TIMESTAMP));
  }
  EXPECT_EQ(check_consumers(*rig, {HC_DEVMAP, HC_BACKEND}), kN);
}

TEST(HintsNetns, AfXdpReadsTheHintKeys) {
  RigOptions o;
  o.capture.action = hints::CaptureOptions::kDevmap;
  o.backend = true;
  o.xsk = true;
  o.vlan_sender = true;
  auto rig = make_rig(o);
  ASSERT_TRUE(rig);
  constexpr int kN = 100;
  send_and_wait(*rig, kN, {HC_DEVMAP, HC_BACKEND, HC_XSK});
  EXPECT_EQ(check_consumers(*rig, {HC_DEVMAP, HC_BACKEND, HC_XSK}), kN);
  int vlan = 0;
  for (auto& [seq, ev] : rig->events)
    vlan += ev.hints.has(XDPKV_HINT_VLAN) && ev.hints.vlan_tci == o.vlan_tci;
  EXPECT_EQ(vlan, kN);
}

TEST(HintsNetns, StaleHintsNeverReachAPacketWithoutThem) {
  // Capture on even sequence numbers only, over many packets through
  // recycled buffers: no packet without hints may ever report any.
  RigOptions o;
  o.capture.action = hints::CaptureOptions::kDevmap;
  o.capture.mode = XDPKV_CAPTURE_ALTERNATE;
  o.backend = true;
  o.backend_tc = true;
  o.xsk = false;
  auto rig = make_rig(o);
  ASSERT_TRUE(rig);
  constexpr int kN = 10000;
  send_and_wait(*rig, kN, {HC_DEVMAP, HC_BACKEND, HC_TC}, 20);
  int with = 0, without = 0, leaked = 0, missing = 0, records = 0;
  for (auto& [seq, ev] : rig->events) {
    bool want = seq % 2 == 0;
    EXPECT_EQ(bool(ev.hints.flags & XDPKV_HINT_PRESENT_MASK), want) << "capture of packet " << seq;
    auto it = rig->seen.find(seq);
    if (it == rig->seen.end()) continue;
    for (auto& [c, r] : it->second) {
      records++;
      bool has = r.hash_rc == 0 || r.vlan_rc == 0 || r.ts_rc == 0;
      if (!want && has) {
        leaked++;
        ADD_FAILURE() << consumer_name(c) << " found hints on packet " << seq << " which had none";
      }
      if (!want) {
        EXPECT_EQ(r.hash_rc, -ENODATA);
      }
      if (want && !has) missing++;
      if (want && has) {
        EXPECT_EQ(r.hash, ev.hints.hash) << consumer_name(c) << " packet " << seq;
      }
    }
    (want ? with : without)++;
  }
  std::printf(
      "  stale check: %zu packets captured by lbin (%d with hints, %d without), %d consumer "
      "records, "
      "%d leaked, %d missing\n",
      rig->events.size(), with, without, records, leaked, missing);
  EXPECT_GE(rig->events.size(), size_t(kN * 99 / 100));
  EXPECT_EQ(leaked, 0);
  EXPECT_EQ(missing, 0);
  EXPECT_GE(records, int(rig->events.size()) * 3 * 99 / 100);
}

TEST(HintsNetns, ProbeVeth) {
  auto t = net::Topology::create();
  ASSERT_TRUE(t) << t.error().message;
  hints::ProbeOptions po;
  po.netns = t->lb.name();
  po.live = true;
  auto r = hints::probe("lbin", po);
  ASSERT_TRUE(r) << r.error().message;
  std::printf("%s", hints::format(*r).c_str());
  EXPECT_EQ(r->driver, "veth");
  EXPECT_TRUE(r->netlink) << r->netlink_note;
  EXPECT_EQ(r->netlink_features, 7u) << "veth: timestamp, hash, vlan-tag";
  for (int i = 0; i < hints::kNumHints; i++) EXPECT_EQ(r->device[i], hints::Support::kYes) << i;
  EXPECT_GT(r->live_packets, 0) << r->live_note;
  EXPECT_EQ(r->live_rc[hints::kHash], 0);
  EXPECT_EQ(r->live_rc[hints::kVlan], -ENODATA);
}

// `xdpkv hints verify` on veth (hints::verify): veth has no RSS key, so the
// hash is checked by its type bits only; VLAN and timestamp give no data on
// frames sent from the peer; the devmap pass needs the peer to take
// redirected frames (GRO on), and is said not run before that.
TEST(HintsNetns, VerifyVeth) {
  net::Topology::Options to;
  to.gro = false;
  auto t = net::Topology::create(to);
  ASSERT_TRUE(t) << t.error().message;
  hints::VerifyOptions o;
  o.netns = t->lb.name();
  o.count = 24;
  auto r = hints::verify("lbin", o);
  ASSERT_TRUE(r) << r.error().message;
  std::printf("%s", hints::format(*r).c_str());
  EXPECT_TRUE(r->ok());
  EXPECT_EQ(r->driver, "veth");
  EXPECT_TRUE(r->device_bound) << r->capture_note;
  EXPECT_NE(r->traffic.find("cli"), std::string::npos) << r->traffic;
  EXPECT_EQ(r->packets, o.count);
  const hints::HintCheck& h = r->hints[hints::kHash];
  EXPECT_FALSE(r->key_known);
  EXPECT_EQ(h.verdict, hints::Verdict::kUnchecked);
  EXPECT_EQ(h.given, o.count);
  EXPECT_EQ(h.agree, o.count);
  EXPECT_EQ(r->hints[hints::kVlan].verdict, hints::Verdict::kNoData);
  EXPECT_EQ(r->hints[hints::kTimestamp].verdict, hints::Verdict::kNoData);
  EXPECT_FALSE(r->redirects[0].run);
  EXPECT_NE(r->redirects[0].note.find("not run"), std::string::npos);
  EXPECT_TRUE(r->redirects[1].run && r->redirects[1].ok()) << r->redirects[1].first_wrong;
  EXPECT_EQ(r->redirects[1].skb_hash_same, r->redirects[1].arrived);

  // GRO on the peer: the devmap pass runs, every frame's hints read back.
  ASSERT_TRUE(net::run(
      {"ip", "netns", "exec", t->client.name(), "ethtool", "-K", t->cli.ifname, "gro", "on"}));
  o.count = 8;
  auto g = hints::verify("lbin", o);
  ASSERT_TRUE(g) << g.error().message;
  std::printf("%s", hints::format(*g).c_str());
  EXPECT_TRUE(g->ok());
  for (const hints::RedirectCheck& c : g->redirects) {
    EXPECT_TRUE(c.run) << c.name << ": " << c.note;
    EXPECT_GE(c.arrived, o.count) << c.name;
    EXPECT_EQ(c.same, c.arrived) << c.name << ": " << c.first_wrong;
  }

  // A wrong hash type or value fails: checked with a key, veth's hash is not Toeplitz.
  o.key_given = true;
  o.key = hints::default_rss_key();
  o.redirects = false;
  auto w = hints::verify("lbin", o);
  ASSERT_TRUE(w) << w.error().message;
  EXPECT_FALSE(w->ok());
  EXPECT_EQ(w->hints[hints::kHash].verdict, hints::Verdict::kWrong);
  EXPECT_NE(w->hints[hints::kHash].first_wrong.find("expected 0x"), std::string::npos);
}

}  // namespace
}  // namespace xdpkv
