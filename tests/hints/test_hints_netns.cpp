// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
// NIC hints across the namespace topology (client -> lb -> backend):
// captured by xdpkv_capture on lbin (device-bound: veth's driver kfuncs),
// carried through devmap and cpumap redirects, read by devmap/cpumap
// programs, by XDP on the redirect target, by TC, by a tracer after the
// stack and by AF_XDP, and given back to the skb by xdpkv_restore.
#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <fcntl.h>
#include <linux/if_link.h>
#include <linux/if_tun.h>
#include <net/if.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <map>
#include <optional>

#include <xdpkv/codec.hpp>
#include <xdpkv/hints.hpp>
#include <xdpkv/tc.hpp>
#include <xdpkv/topology.hpp>
#include <xdpkv/traffic.hpp>
#include <xdpkv/xsk.hpp>

#include <xdpkv/capture.h>
#include "packets.hpp"
#include "progs/hints_test.h"
#include "vectors.hpp"
#include "xdpkv_hints_consumers.skel.h"

#ifndef BPF_F_XDP_DEV_BOUND_ONLY
#define BPF_F_XDP_DEV_BOUND_ONLY (1U << 6)
#endif

namespace xdpkv {
namespace {

constexpr uint32_t kKeySeq = 5;
constexpr uint16_t kDport = 7777;
constexpr uint16_t kSportBase = 20000;
constexpr int kFlows = 8;

uint64_t mono_ns() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return uint64_t(ts.tv_sec) * 1000000000ull + uint64_t(ts.tv_nsec);
}

const char* consumer_name(uint32_t c) {
  switch (c) {
    case HC_DEVMAP: return "devmap-prog";
    case HC_CPUMAP: return "cpumap-prog";
    case HC_BACKEND: return "backend-xdp";
    case HC_TC: return "tc";
    case HC_TRACE: return "tracepoint";
    case HC_XSK: return "af_xdp";
    default: return "?";
  }
}

Status tc_attach(std::vector<bpf::TcFilter>& keep, const std::string& ns, int ifindex, int fd,
                 uint32_t prio, bool egress) {
  return hints::in_netns(ns, [&]() -> Status {
    auto f = bpf::TcFilter::attach(ifindex, fd,
                                   egress ? bpf::TcHook::kEgress : bpf::TcHook::kIngress, prio);
    if (!f) return f.error();
    keep.push_back(std::move(*f));
    return {};
  });
}

// The AF_XDP consumer: copy mode on the backend's queue 0; reads the hint
// keys of each frame's store with the codec (data - 16, bounded by the headroom).
class Xsk {
 public:
  Status create(const net::Topology& t, int xsks_fd) {
    return hints::in_netns(t.backend.name(), [&]() -> Status {
      auto s = bpf::XskSocket::create(t.be.ifname, 0, xsks_fd);
      if (!s) return s.error();
      sock_.emplace(std::move(*s));
      return {};
    });
  }
  // Frames waiting: one record each (HC_XSK) into out.
  void poll(std::vector<hc_rec>& out) {
    sock_->poll([&](const bpf::XskFrame& f) {
      View all(f.below);
      hc_rec r{};
      r.consumer = HC_XSK;
      if (all.validate()) return;
      // The store's own extent (bytes further down belong to the previous use of the buffer).
      View v(f.below.last(all.store_size()));
      uint8_t b[8] = {};
      if (v.get(kKeySeq, b) != 8) return;
      std::memcpy(&r.seq, b, 8);
      hints::Hints h;
      int rc = hints::read(v, h);
      r.hash_rc = rc;
      if (!rc) {
        r.hash_rc = h.has(XDPKV_HINT_HASH) ? 0 : -ENODATA;
        r.vlan_rc = h.has(XDPKV_HINT_VLAN) ? 0 : -ENODATA;
        r.ts_rc = h.has(XDPKV_HINT_TIMESTAMP) ? 0 : -ENODATA;
        r.hash = h.hash;
        r.hash_type = h.hash_type;
        r.flags = h.flags;
        r.vlan_proto = h.vlan_proto;
        r.vlan_tci = h.vlan_tci;
        r.ts = h.timestamp;
      } else {
        r.vlan_rc = r.ts_rc = rc;
      }
      r.meta_len = static_cast<uint32_t>(v.store_size());
      out.push_back(r);
    });
  }

 private:
  std::optional<bpf::XskSocket> sock_;
};

struct RigOptions {
  hints::CaptureOptions capture;
  bool backend = false;        // hc_backend on be (device-bound)
  bool backend_tc = false;     // hc_tc on be
  bool lbin_tc = false;        // hc_tc on lbin (after the restore program)
  bool xsk = false;            // backend hands frames to AF_XDP
  bool vlan_sender = false;    // cli tags UDP to kDport
  uint16_t vlan_tci = 0x2064;  // PCP 1, VID 100
  bool trace = false;
  std::optional<hints::RestoreOptions> restore;  // on lbin
  bool restore_cpumap = false;  // cpumap entry program: xdpkv_restore_cpumap (not hc_cpumap)
};

// The topology with the capture program on lbin and the test's consumers.
struct Rig {
  net::Topology topo;
  bpf::Skeleton<xdpkv_hints_consumers> cons{nullptr, nullptr};
  std::optional<hints::Capture> capture;
  std::optional<hints::Restore> restore;
  std::unique_ptr<Xsk> xsk;
  std::vector<bpf::TcFilter> tc;  // destroyed before topo: detached in their namespaces
  ring_buffer* rb = nullptr;
  bpf_link* trace = nullptr;
  std::map<uint64_t, std::map<uint32_t, hc_rec>> seen;  // seq -> consumer -> record
  std::map<uint64_t, hints::CaptureEvent> events;       // seq -> what lbin captured
  uint64_t t_start = 0, t_end = 0;

  explicit Rig(net::Topology t) : topo(std::move(t)) {}
  ~Rig() {
    if (trace) bpf_link__destroy(trace);
    if (rb) ring_buffer__free(rb);
  }

  static int on_rec(void* self, void* data, size_t size) {
    if (size < sizeof(hc_rec)) return 0;
    hc_rec r;
    std::memcpy(&r, data, sizeof(r));
    static_cast<Rig*>(self)->seen[r.seq][r.consumer] = r;
    return 0;
  }

  void poll(int ms) {
    ring_buffer__poll(rb, ms);
    capture->poll_events(0, [&](const hints::CaptureEvent& e) { events[e.seq] = e; });
    if (xsk) {
      std::vector<hc_rec> v;
      xsk->poll(v);
      for (auto& r : v) seen[r.seq][HC_XSK] = r;
    }
  }

  // Sends count datagrams to the VIP and waits until every captured packet
  // has a record from each consumer (or the timeout).
  int send_and_wait(int count, const std::vector<uint32_t>& consumers, int gap_us = 100,
                    bool only_captured = false) {
    net::UdpBurst b;
    b.dst = topo.vip;
    b.dport = kDport;
    b.sport_base = kSportBase;
    b.flows = kFlows;
    b.count = count;
    b.gap = std::chrono::microseconds(gap_us);
    t_start = mono_ns();
    auto sent = net::send_udp(topo.client, b);
    EXPECT_TRUE(sent) << (sent ? "" : sent.error().message);
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(15);
    while (std::chrono::steady_clock::now() < deadline) {
      poll(20);
      int done = 0;
      for (auto& [seq, ev] : events) {
        if (only_captured && !(ev.hints.flags & XDPKV_HINT_PRESENT_MASK)) continue;
        auto it = seen.find(seq);
        bool all = it != seen.end();
        for (auto c : consumers) all = all && it->second.count(c);
        done += all;
      }
      if (events.size() >= static_cast<size_t>(count) && done >= count) break;
      if (only_captured && events.size() >= static_cast<size_t>(count) && done >= count / 2) break;
    }
    poll(50);
    t_end = mono_ns();
    return sent.value_or(0);
  }
};

std::string mac_str(const std::array<uint8_t, 6>& m) {
  char b[20];
  std::snprintf(b, sizeof(b), "%02x:%02x:%02x:%02x:%02x:%02x", m[0], m[1], m[2], m[3], m[4], m[5]);
  return b;
}

Status quiet(net::Topology& t) {
  for (const net::Netns* ns : {&t.client, &t.lb, &t.backend})
    if (auto r = ns->exec({"sysctl", "-qw", "net.ipv6.conf.all.disable_ipv6=1"}); !r)
      return r.error();
  if (auto r = t.client.ip({"neigh", "replace", "10.77.1.2", "lladdr", mac_str(t.lbin.mac), "dev",
                            "cli", "nud", "permanent"});
      !r)
    return r.error();
  if (auto r = t.lb.ip({"neigh", "replace", "10.77.1.1", "lladdr", mac_str(t.cli.mac), "dev",
                        "lbin", "nud", "permanent"});
      !r)
    return r.error();
  return {};
}

std::unique_ptr<Rig> make_rig(const RigOptions& o) {
  auto t = net::Topology::create();
  EXPECT_TRUE(t) << (t ? "" : t.error().message);
  if (!t) return nullptr;
  auto rig = std::make_unique<Rig>(std::move(*t));
  net::Topology& topo = rig->topo;
  bpf::init_libbpf();
  // The capture program redirects every frame it sees: keep everything but
  // the test's datagrams off lbin (static neighbours, no IPv6).
  EXPECT_TRUE(quiet(topo));

  // Consumers: hc_backend is device-bound to be, so the object loads in be's namespace.
  auto s = bpf::open_skeleton(xdpkv_hints_consumers__open, xdpkv_hints_consumers__destroy,
                              "hints_consumers");
  EXPECT_TRUE(s) << (s ? "" : s.error().message);
  if (!s) return nullptr;
  rig->cons = std::move(*s);
  auto* ro = rig->cons->rodata;
  ro->key_seq = kKeySeq;
  ro->to_xsk = o.xsk;
  std::memcpy(const_cast<uint8_t*>(ro->dst_mac), topo.be.mac.data(), 6);
  std::memcpy(const_cast<uint8_t*>(ro->src_mac), topo.lbout.mac.data(), 6);
  ro->vlan_proto_be = htons(0x8100);
  ro->vlan_tci = o.vlan_tci;
  ro->vlan_dport = kDport;
  // Concurrent tests drop packets with stores of their own: trace only ours.
  const net::Netns* nss[3] = {&topo.client, &topo.lb, &topo.backend};
  for (int i = 0; i < 3; i++) {
    struct stat sb {};
    EXPECT_EQ(stat(("/var/run/netns/" + nss[i]->name()).c_str(), &sb), 0) << nss[i]->name();
    const_cast<uint32_t*>(ro->netns_ino)[i] = static_cast<uint32_t>(sb.st_ino);
  }
  bpf_program__set_autoattach(rig->cons->progs.hc_trace, o.trace);
  bpf_program__set_ifindex(rig->cons->progs.hc_backend, static_cast<uint32_t>(topo.be.ifindex));
  bpf_program__set_flags(rig->cons->progs.hc_backend, BPF_F_XDP_DEV_BOUND_ONLY);
  Status st = hints::in_netns(topo.backend.name(), [&]() -> Status {
    return bpf::load_skeleton(rig->cons, xdpkv_hints_consumers__load, "hints_consumers");
  });
  EXPECT_TRUE(st) << (st ? "" : st.error().message);
  if (!st) return nullptr;
  rig->rb =
      ring_buffer__new(bpf_map__fd(rig->cons->maps.records), &Rig::on_rec, rig.get(), nullptr);
  if (o.trace) {
    rig->trace = bpf_program__attach(rig->cons->progs.hc_trace);
    EXPECT_TRUE(rig->trace) << "attach tp_btf/kfree_skb";
  }

  // The capture program, first on lbin.
  hints::CaptureOptions co = o.capture;
  co.key_seq = kKeySeq;
  co.events = true;
  auto cap = hints::Capture::attach(topo.lb.name(), topo.lbin.ifname, co);
  EXPECT_TRUE(cap) << (cap ? "" : cap.error().message);
  if (!cap) return nullptr;
  rig->capture.emplace(std::move(*cap));

  if (o.restore) {
    auto r = hints::Restore::attach(topo.lb.name(), topo.lbin.ifname, *o.restore);
    EXPECT_TRUE(r) << (r ? "" : r.error().message);
    if (!r) return nullptr;
    rig->restore.emplace(std::move(*r));
  }
  st = hints::in_netns(topo.lb.name(), [&]() -> Status {
    uint32_t zero = 0;
    bpf_devmap_val dv{};
    dv.ifindex = static_cast<uint32_t>(topo.lbout.ifindex);
    dv.bpf_prog.fd = bpf_program__fd(rig->cons->progs.hc_devmap);
    if (bpf_map_update_elem(rig->capture->devmap_fd(), &zero, &dv, 0))
      return bpf::errno_error(errno, "devmap entry");
    bpf_cpumap_val cv{};
    cv.qsize = 4096;
    cv.bpf_prog.fd = o.restore_cpumap && rig->restore ? rig->restore->cpumap_prog_fd()
                                                      : bpf_program__fd(rig->cons->progs.hc_cpumap);
    if (bpf_map_update_elem(rig->capture->cpumap_fd(), &zero, &cv, 0))
      return bpf::errno_error(errno, "cpumap entry");
    return {};
  });
  EXPECT_TRUE(st) << (st ? "" : st.error().message);
  if (o.lbin_tc) {
    st = tc_attach(rig->tc, topo.lb.name(), topo.lbin.ifindex,
                   bpf_program__fd(rig->cons->progs.hc_tc), 10, false);
    EXPECT_TRUE(st) << (st ? "" : st.error().message);
  }
  if (o.backend) {
    st = hints::in_netns(topo.backend.name(), [&]() -> Status {
      if (int e = bpf_xdp_attach(topo.be.ifindex, bpf_program__fd(rig->cons->progs.hc_backend),
                                 XDP_FLAGS_DRV_MODE, nullptr))
        return bpf::errno_error(e, "attach hc_backend");
      return {};
    });
    EXPECT_TRUE(st) << (st ? "" : st.error().message);
  }
  if (o.backend_tc) {
    st = tc_attach(rig->tc, topo.backend.name(), topo.be.ifindex,
                   bpf_program__fd(rig->cons->progs.hc_tc), 10, false);
    EXPECT_TRUE(st) << (st ? "" : st.error().message);
  }
  if (o.vlan_sender) {
    st = tc_attach(rig->tc, topo.client.name(), topo.cli.ifindex,
                   bpf_program__fd(rig->cons->progs.hc_vlan_push), 1, true);
    EXPECT_TRUE(st) << (st ? "" : st.error().message);
  }
  if (o.xsk) {
    rig->xsk = std::make_unique<Xsk>();
    st = rig->xsk->create(topo, bpf_map__fd(rig->cons->maps.xsks));
    EXPECT_TRUE(st) << (st ? "" : st.error().message);
  }
  return rig;
}

// The software hash of a test datagram (client -> VIP:kDport).
uint32_t expected_sw_hash(const net::Topology& t, uint16_t sport) {
  uint32_t s = t.cli.ip4, d = t.vip;
  return hints::software_hash({reinterpret_cast<const uint8_t*>(&s), 4},
                              {reinterpret_cast<const uint8_t*>(&d), 4}, htons(sport),
                              htons(kDport), true);
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
  rig->send_and_wait(kN, {HC_DEVMAP, HC_BACKEND, HC_TC});
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
  o.restore = hints::RestoreOptions{.hash = true, .vlan = true, .priority = 1};
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
  rig->send_and_wait(kN, {HC_CPUMAP, HC_TC, HC_TRACE});
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
  if (vlan_ifindex)
    EXPECT_EQ(on_vlan_dev, kN) << "and the stack delivers them on the VLAN device";
  else
    EXPECT_EQ(otherhost, kN) << "and the stack drops them as another VLAN's (no 802.1Q here)";
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
  if (o.restore_cpumap)
    rig->send_and_wait(kN, {HC_TRACE});
  else
    rig->send_and_wait(kN, {HC_CPUMAP, HC_TRACE});
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
  ASSERT_TRUE(hints::in_netns(ns->name(), [&]() -> Status {
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
  rig->send_and_wait(kN, {HC_DEVMAP, HC_BACKEND});
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
  rig->send_and_wait(kN, {HC_DEVMAP, HC_BACKEND, HC_XSK});
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
  rig->send_and_wait(kN, {HC_DEVMAP, HC_BACKEND, HC_TC}, 20);
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

}  // namespace
}  // namespace xdpkv
