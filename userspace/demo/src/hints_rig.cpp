// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
// The NIC-hints rig (xdpkv/demo/hints_rig.hpp): xdpkv_capture on lbin and the
// consumers of userspace/demo/hints_consumers.bpf.c on the topology.
#include <xdpkv/demo/hints_rig.hpp>

#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/if_link.h>
#include <sys/stat.h>
#include <time.h>

#include <chrono>
#include <cstdio>
#include <cstring>

#include <xdpkv/codec.hpp>
#include <xdpkv/xsk.hpp>

#include "xdpkv_hints_consumers.skel.h"

#ifndef BPF_F_XDP_DEV_BOUND_ONLY
#define BPF_F_XDP_DEV_BOUND_ONLY (1U << 6)
#endif

namespace xdpkv::hints {

using net::in_netns;

namespace {

uint64_t mono_ns() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return uint64_t(ts.tv_sec) * 1000000000ull + uint64_t(ts.tv_nsec);
}

Status tc_attach(std::vector<bpf::TcFilter>& keep, const std::string& ns, int ifindex, int fd,
                 uint32_t prio, bool egress) {
  return in_netns(ns, [&]() -> Status {
    auto f = bpf::TcFilter::attach(ifindex, fd,
                                   egress ? bpf::TcHook::kEgress : bpf::TcHook::kIngress, prio);
    if (!f) return f.error();
    keep.push_back(std::move(*f));
    return {};
  });
}

std::string mac_str(const std::array<uint8_t, 6>& m) {
  char b[20];
  std::snprintf(b, sizeof(b), "%02x:%02x:%02x:%02x:%02x:%02x", m[0], m[1], m[2], m[3], m[4], m[5]);
  return b;
}

// Only the datagrams sent reach lbin: no IPv6 (router solicitations), and
// static neighbours (no ARP through the capture's redirect).
Status quiet(net::Topology& t) {
  for (const net::Netns* ns : {&t.client, &t.lb, &t.backend}) {
    if (auto r = ns->exec({"sysctl", "-qw", "net.ipv6.conf.all.disable_ipv6=1"}); !r)
      return r.error();
  }
  if (auto r = t.client.ip({"neigh", "replace", net::ip4_str(t.lbin.ip4), "lladdr",
                            mac_str(t.lbin.mac), "dev", t.cli.ifname, "nud", "permanent"});
      !r)
    return r.error();
  if (auto r = t.lb.ip({"neigh", "replace", net::ip4_str(t.cli.ip4), "lladdr", mac_str(t.cli.mac),
                        "dev", t.lbin.ifname, "nud", "permanent"});
      !r)
    return r.error();
  return {};
}

}  // namespace

// The AF_XDP consumer: copy mode on the backend's queue 0; reads the hint
// keys of each frame's store with the codec (data - 16, bounded by the headroom).
class Rig::Xsk {
 public:
  Status create(const net::Topology& t, int xsks_fd) {
    return in_netns(t.backend.name(), [&]() -> Status {
      auto s = bpf::XskSocket::create(t.be.ifname, 0, xsks_fd);
      if (!s) return s.error();
      sock_.emplace(std::move(*s));
      return {};
    });
  }
  // Frames waiting: one record each (HC_XSK) into out.
  void poll(uint32_t key_seq, std::vector<hc_rec>& out) {
    sock_->poll([&](const bpf::XskFrame& f) {
      View all(f.below);
      hc_rec r{};
      r.consumer = HC_XSK;
      if (all.validate()) return;
      // The store's own extent (bytes further down belong to the previous use of the buffer).
      View v(f.below.last(all.store_size()));
      uint8_t b[8] = {};
      if (v.get(key_seq, b) != 8) return;
      std::memcpy(&r.seq, b, 8);
      Hints h;
      int rc = read(v, h);
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

Rig::Rig(std::optional<net::Topology> own, net::Topology* ext)
    : own_(std::move(own)), topo(ext ? *ext : *own_) {}

Rig::~Rig() {
  if (trace_) bpf_link__destroy(trace_);
  if (rb_) ring_buffer__free(rb_);
  if (backend_attached_) {
    (void)in_netns(topo.backend.name(), [&]() -> Status {
      bpf_xdp_detach(topo.be.ifindex, XDP_FLAGS_DRV_MODE, nullptr);
      return {};
    });
  }
}

Result<std::unique_ptr<Rig>> Rig::create(const RigOptions& o) {
  auto t = net::Topology::create();
  if (!t) return t.error();
  std::unique_ptr<Rig> rig(new Rig(std::move(*t), nullptr));
  if (auto s = rig->setup(o); !s) return s.error();
  return rig;
}

Result<std::unique_ptr<Rig>> Rig::create(net::Topology& topo, const RigOptions& o) {
  std::unique_ptr<Rig> rig(new Rig(std::nullopt, &topo));
  if (auto s = rig->setup(o); !s) return s.error();
  return rig;
}

int Rig::on_rec(void* self, void* data, size_t size) {
  if (size < sizeof(hc_rec)) return 0;
  hc_rec r;
  std::memcpy(&r, data, sizeof(r));
  static_cast<Rig*>(self)->seen[r.seq][r.consumer] = r;
  return 0;
}

Status Rig::setup(const RigOptions& o) {
  bpf::init_libbpf();
  if (auto s = quiet(topo); !s) return s.error();
  if (auto s = load_consumers(o); !s) return s;
  if (auto s = attach_capture(o); !s) return s;
  if (auto s = attach_consumers(o); !s) return s;
  key_seq_ = o.key_seq;
  return {};
}

namespace {

// The consumers' read-only config and per-program load options, before the load.
Status configure(xdpkv_hints_consumers& cons, const net::Topology& topo, const RigOptions& o) {
  auto* ro = cons.rodata;
  ro->key_seq = o.key_seq;
  ro->to_xsk = o.xsk;
  std::memcpy(const_cast<uint8_t*>(ro->dst_mac), topo.be.mac.data(), 6);
  std::memcpy(const_cast<uint8_t*>(ro->src_mac), topo.lbout.mac.data(), 6);
  ro->vlan_proto_be = htons(0x8100);
  ro->vlan_tci = o.vlan_tci;
  ro->vlan_dport = o.vlan_dport;
  ro->xdpkv_hints_kfuncs = kernel_kfuncs();  // hc_backend asks only for those the kernel has
  // The tracepoint sees every namespace: only the rig's count.
  const net::Netns* nss[3] = {&topo.client, &topo.lb, &topo.backend};
  for (int i = 0; i < 3; i++) {
    struct stat sb {};
    if (stat(("/var/run/netns/" + nss[i]->name()).c_str(), &sb))
      return bpf::errno_error(errno, "netns " + nss[i]->name());
    const_cast<uint32_t*>(ro->netns_ino)[i] = static_cast<uint32_t>(sb.st_ino);
  }
  bpf_program__set_autoattach(cons.progs.hc_trace, o.trace);
  bpf_program__set_autoload(cons.progs.hc_trace, o.trace);
  if (kernel_kfuncs()) {  // Linux >= 6.3: hc_backend asks be's driver too
    bpf_program__set_ifindex(cons.progs.hc_backend, static_cast<uint32_t>(topo.be.ifindex));
    bpf_program__set_flags(cons.progs.hc_backend, BPF_F_XDP_DEV_BOUND_ONLY);
  }
  return {};
}

}  // namespace

Status Rig::load_consumers(const RigOptions& o) {
  // hc_backend is device-bound to be, so the object loads in be's namespace.
  auto s = bpf::open_skeleton(xdpkv_hints_consumers__open, xdpkv_hints_consumers__destroy,
                              "hints_consumers");
  if (!s) return s.error();
  cons = std::move(*s);
  if (auto c = configure(*cons, topo, o); !c) return c;
  Status st = in_netns(topo.backend.name(), [&]() -> Status {
    return bpf::load_skeleton(cons, xdpkv_hints_consumers__load, "hints_consumers");
  });
  if (!st) return st.error();
  rb_ = ring_buffer__new(bpf_map__fd(cons->maps.records), &Rig::on_rec, this, nullptr);
  if (!rb_) return bpf::errno_error(errno, "hints_consumers records ring buffer");
  if (o.trace) {
    trace_ = bpf_program__attach(cons->progs.hc_trace);
    if (!trace_) return bpf::errno_error(errno, "attach hc_trace (tp_btf/kfree_skb)");
  }
  return {};
}

// The capture program, first on lbin, its restore program, and the entry
// programs of its devmap and cpumap.
Status Rig::attach_capture(const RigOptions& o) {
  CaptureOptions co = o.capture;
  co.key_seq = o.key_seq;
  co.events = true;
  auto cap = Capture::attach(topo.lb.name(), topo.lbin.ifname, co);
  if (!cap) return cap.error();
  capture.emplace(std::move(*cap));

  if (o.restore) {
    auto r = Restore::attach(topo.lb.name(), topo.lbin.ifname, *o.restore);
    if (!r) return r.error();
    restore.emplace(std::move(*r));
  }
  return in_netns(topo.lb.name(), [&]() -> Status {
    uint32_t zero = 0;
    bpf_devmap_val dv{};
    dv.ifindex = static_cast<uint32_t>(topo.lbout.ifindex);
    dv.bpf_prog.fd = bpf_program__fd(cons->progs.hc_devmap);
    if (bpf_map_update_elem(capture->devmap_fd(), &zero, &dv, 0))
      return bpf::errno_error(errno, "devmap entry");
    bpf_cpumap_val cv{};
    cv.qsize = 4096;
    cv.bpf_prog.fd = o.restore_cpumap && restore ? restore->cpumap_prog_fd()
                                                 : bpf_program__fd(cons->progs.hc_cpumap);
    if (bpf_map_update_elem(capture->cpumap_fd(), &zero, &cv, 0))
      return bpf::errno_error(errno, "cpumap entry");
    return {};
  });
}

// The consumers o asks for: TC filters, hc_backend on be, the AF_XDP reader.
Status Rig::attach_consumers(const RigOptions& o) {
  struct Tc {
    bool on;
    const net::Netns& ns;
    int ifindex;
    bpf_program* prog;
    uint32_t prio;
    bool egress;
  };
  const Tc tcs[] = {
      {o.lbin_tc_pre, topo.lb, topo.lbin.ifindex, cons->progs.hc_tc_pre, 1, false},
      {o.lbin_tc, topo.lb, topo.lbin.ifindex, cons->progs.hc_tc, 10, false},
      {o.backend_tc, topo.backend, topo.be.ifindex, cons->progs.hc_tc, 10, false},
      {o.vlan_sender, topo.client, topo.cli.ifindex, cons->progs.hc_vlan_push, 1, true},
  };
  for (const Tc& t : tcs) {
    if (!t.on) continue;
    Status st = tc_attach(tc_, t.ns.name(), t.ifindex, bpf_program__fd(t.prog), t.prio, t.egress);
    if (!st) {
      return make_error(st.error().code,
                        std::string(bpf_program__name(t.prog)) + ": " + st.error().message);
    }
  }
  if (o.backend) {
    Status st = in_netns(topo.backend.name(), [&]() -> Status {
      if (int e = bpf_xdp_attach(topo.be.ifindex, bpf_program__fd(cons->progs.hc_backend),
                                 XDP_FLAGS_DRV_MODE, nullptr))
        return bpf::errno_error(e, "attach hc_backend to " + topo.be.ifname);
      backend_attached_ = true;
      return {};
    });
    if (!st) return st.error();
  }
  if (o.xsk) {
    xsk_ = std::make_unique<Xsk>();
    if (auto st = xsk_->create(topo, bpf_map__fd(cons->maps.xsks)); !st) return st.error();
  }
  return {};
}

void Rig::poll(int ms) {
  if (rb_) ring_buffer__poll(rb_, ms);
  capture->poll_events(0, [&](const CaptureEvent& e) { events[e.seq] = e; });
  if (xsk_) {
    std::vector<hc_rec> v;
    xsk_->poll(key_seq_, v);
    for (auto& r : v) seen[r.seq][HC_XSK] = r;
  }
}

uint64_t Rig::lost() const { return cons->bss->lost; }

net::UdpBurst Rig::burst(int count, int gap_us) const {
  net::UdpBurst b;
  b.dst = topo.vip;
  b.dport = kRigDport;
  b.sport_base = kRigSportBase;
  b.flows = kRigFlows;
  b.count = count;
  b.gap = std::chrono::microseconds(gap_us);
  return b;
}

Result<int> Rig::send_and_wait(const net::UdpBurst& b, const std::vector<uint32_t>& consumers) {
  // Only the packets of this send count: those captured after the last event so far.
  const uint64_t first = events.empty() ? 0 : events.rbegin()->first + 1;
  const size_t count = static_cast<size_t>(b.count);
  t_start = mono_ns();
  auto sent = net::send_udp(topo.client, b);
  if (!sent) return sent.error();
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(15);
  while (std::chrono::steady_clock::now() < deadline && !net::interrupted()) {
    poll(20);
    size_t fresh = 0, done = 0;
    for (auto it = events.lower_bound(first); it != events.end(); ++it) {
      fresh++;
      auto s = seen.find(it->first);
      bool all = s != seen.end();
      for (auto c : consumers) all = all && s->second.count(c);
      done += all;
    }
    if (fresh >= count && done >= count) break;
  }
  poll(50);
  t_end = mono_ns();
  return sent;
}

const char* consumer_name(uint32_t c) {
  switch (c) {
    case HC_DEVMAP: return "devmap-prog";
    case HC_CPUMAP: return "cpumap-prog";
    case HC_BACKEND: return "backend-xdp";
    case HC_TC: return "tc";
    case HC_TRACE: return "tracepoint";
    case HC_XSK: return "af_xdp";
    case HC_TC_PRE: return "tc-before-restore";
    default: return "?";
  }
}

std::string mismatch(const hc_rec& r, const Hints& h) {
  std::string d;
  auto add = [&](const char* what) { d += (d.empty() ? "" : ", ") + std::string(what); };
  if (h.has(XDPKV_HINT_HASH)) {
    if (r.hash_rc || r.hash != h.hash || r.hash_type != h.hash_type || r.flags != h.flags)
      add("hash");
  } else if (r.hash_rc != -ENODATA) {
    add("hash (none captured)");
  }
  if (h.has(XDPKV_HINT_VLAN)) {
    if (r.vlan_rc || r.vlan_proto != h.vlan_proto || r.vlan_tci != h.vlan_tci) add("vlan");
  } else if (r.vlan_rc != -ENODATA) {
    add("vlan (none captured)");
  }
  if (h.has(XDPKV_HINT_TIMESTAMP)) {
    if (r.ts_rc || r.ts != h.timestamp) add("timestamp");
  } else if (r.ts_rc != -ENODATA) {
    add("timestamp (none captured)");
  }
  return d;
}

uint32_t expected_sw_hash(const net::Topology& t, uint16_t sport, uint16_t dport) {
  uint32_t s = t.cli.ip4, d = t.vip;
  return software_hash({reinterpret_cast<const uint8_t*>(&s), 4},
                       {reinterpret_cast<const uint8_t*>(&d), 4}, htons(sport), htons(dport), true);
}

}  // namespace xdpkv::hints
