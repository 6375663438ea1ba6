// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#include <xdpkv/demo/lb.hpp>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/if_link.h>
#include <net/if.h>
#include <unistd.h>
#include <xdp/libxdp.h>

#include <cstdio>
#include <cstring>

#include <xdpkv/codec.hpp>
#include <xdpkv/features.hpp>
#include <xdpkv/traffic.hpp>

#include "xdpkv_lb.skel.h"

namespace xdpkv::lb {

namespace {

// libxdp keeps its lock and dispatcher pins here.
constexpr const char* kLibxdpDir = "/sys/fs/bpf/xdp";

void default_log(const std::string& s) { std::fprintf(stderr, "%s\n", s.c_str()); }

// libxdp explains its fallback at info level; keep only warnings.
int xdp_print(enum libxdp_print_level level, const char*, va_list) {
  (void)level;
  return 0;
}

}  // namespace

const char* consumer_name(uint32_t c) {
  static const char* names[] = {"lb-ingress",  "devmap-prog", "cpumap-prog",
                                "backend-xdp", "tc-ingress",  "af_xdp"};
  return c < LB_NCONSUMERS ? names[c] : "?";
}

std::vector<uint8_t> store_bytes(const lb_rec& r) {
  std::span<const uint8_t> tail(r.store + LB_REC_STORE - r.store_len, r.store_len);
  View v(tail);
  if (v.validate() || r.store_len == 0) return {};
  auto s = tail.subspan(tail.size() - v.store_size());
  return {s.begin(), s.end()};
}

Result<Deployment> Deployment::create(net::Topology& topo, const Options& opt) {
  bpf::init_libbpf();
  libxdp_set_print(xdp_print);
  if (opt.fixed_struct && (opt.xsk || opt.grow_foreign)) {
    return make_error(EINVAL,
                      "the fixed-struct LB (a bench baseline) hands no store to AF_XDP "
                      "and has none to grow below: no xsk or grow_foreign with it");
  }
  Deployment d;
  d.topo_ = &topo;
  if (auto s = d.load(opt); !s) return s.error();
  {
    // devmap and cpumap entries resolve ifindexes in the updater's netns.
    auto in_lb = net::NsScope::enter(topo.lb);
    if (!in_lb) return in_lb.error();
    if (auto s = d.set_redirect_targets(opt); !s) return s.error();
    if (auto s = d.attach_ingress(opt.log ? opt.log : default_log); !s) return s.error();
  }
  if (auto s = d.attach_backend(opt); !s) return s.error();
  d.rb_ = ring_buffer__new(bpf_map__fd(d.skel_->maps.records), &Deployment::on_record, &d, nullptr);
  if (!d.rb_) return bpf::errno_error(errno, "ring buffer");
  return d;
}

// Opens and loads the programs with opt's config, and fills the backends map.
Status Deployment::load(const Options& opt) {
  auto s = bpf::open_skeleton(xdpkv_lb__open, xdpkv_lb__destroy, "xdpkv_lb");
  if (!s) return s.error();
  skel_ = std::move(*s);
  auto* ro = skel_->rodata;
  ro->key_packet_id = opt.keys.packet_id;
  ro->key_flow_hash = opt.keys.flow_hash;
  ro->key_backend_id = opt.keys.backend_id;
  ro->n_backends = 1;
  ro->vip = topo_->vip;
  ro->use_cpumap = opt.cpumap;
  ro->cpumap_cpu = 0;
  ro->id_base = opt.id_base;
  ro->xdpkv_origin = opt.origin;
  ro->to_xsk = opt.xsk;
  ro->grow_foreign = opt.grow_foreign;
  ro->xsk_no_guard = opt.xsk_no_guard;
  ro->fixed_struct = opt.fixed_struct;
  ro->no_records = !opt.records;
  if (opt.ring_bytes) {
    if (int e = bpf_map__set_max_entries(skel_->maps.records, opt.ring_bytes))
      return bpf::errno_error(e, "ring buffer size " + std::to_string(opt.ring_bytes));
  }
  if (auto l = bpf::load_skeleton(skel_, xdpkv_lb__load, "xdpkv_lb"); !l) return l.error();

  lb_backend be{};
  be.ifindex = static_cast<uint32_t>(topo_->lbout.ifindex);
  be.ip = topo_->be.ip4;
  be.src_ip = topo_->lbout.ip4;
  std::memcpy(be.mac, topo_->be.mac.data(), 6);
  std::memcpy(be.src_mac, topo_->lbout.mac.data(), 6);
  uint32_t zero = 0;
  if (bpf_map_update_elem(bpf_map__fd(skel_->maps.backends), &zero, &be, 0))
    return bpf::errno_error(errno, "backends map");
  return {};
}

// The devmap entry (out of lbout, program lb_devmap) and, with opt.cpumap,
// the cpumap entry and lb_tc on lbin. In lb's namespace.
Status Deployment::set_redirect_targets(const Options& opt) {
  uint32_t zero = 0;
  bpf_devmap_val dv{};
  dv.ifindex = static_cast<uint32_t>(topo_->lbout.ifindex);
  dv.bpf_prog.fd = bpf_program__fd(skel_->progs.lb_devmap);
  if (bpf_map_update_elem(bpf_map__fd(skel_->maps.tx_port), &zero, &dv, 0))
    return bpf::errno_error(errno, "devmap entry with program lb_devmap");
  if (opt.cpumap) {
    bpf_cpumap_val cv{};
    cv.qsize = 2048;
    cv.bpf_prog.fd = bpf_program__fd(skel_->progs.lb_cpumap);
    if (bpf_map_update_elem(bpf_map__fd(skel_->maps.cpus), &zero, &cv, 0))
      return bpf::errno_error(errno, "cpumap entry with program lb_cpumap");
    auto t = bpf::TcFilter::attach(topo_->lbin.ifindex, bpf_program__fd(skel_->progs.lb_tc),
                                   bpf::TcHook::kIngress);
    if (!t) return t.error();
    tc_lbin_ = std::move(*t);
  }
  return {};
}

// lb_ingress on lbin through libxdp: its dispatcher needs freplace (refused
// on some kernels, e.g. this CI host); libxdp then attaches the program
// alone. In lb's namespace.
Status Deployment::attach_ingress(void (*log)(const std::string&)) {
  made_libxdp_dir_ = access(kLibxdpDir, F_OK) != 0;
  ingress_ = xdp_program__from_fd(bpf_program__fd(skel_->progs.lb_ingress));
  if (libxdp_get_error(ingress_)) {
    ingress_ = nullptr;
    return make_error(EINVAL, "libxdp cannot use lb_ingress");
  }
  if (int e = xdp_program__attach(ingress_, topo_->lbin.ifindex, XDP_MODE_NATIVE, 0))
    return bpf::errno_error(e, "attach lb_ingress to " + topo_->lbin.ifname + " (libxdp, native)");
  if (auto* mp = xdp_multiprog__get_from_ifindex(topo_->lbin.ifindex);
      mp && !libxdp_get_error(mp)) {
    ingress_legacy_ = xdp_multiprog__is_legacy(mp);
    xdp_multiprog__close(mp);
  }
  if (ingress_legacy_) {
    dispatcher_fallback_ = true;
    static bool said = false;
    if (!said) {
      log("note: libxdp's multi-program dispatcher is not available here (" +
          features::why_no_dispatcher() + "); lb_ingress is attached alone in native mode");
    }
    said = true;
  }
  return {};
}

// lb_backend (with opt.backend_xdp) and lb_tc on be, in the backend's namespace.
Status Deployment::attach_backend(const Options& opt) {
  auto in_be = net::NsScope::enter(topo_->backend);
  if (!in_be) return in_be.error();
  if (opt.backend_xdp) {
    if (int e = bpf_xdp_attach(topo_->be.ifindex, bpf_program__fd(skel_->progs.lb_backend),
                               XDP_FLAGS_DRV_MODE, nullptr))
      return bpf::errno_error(e, "attach lb_backend to " + topo_->be.ifname);
    backend_attached_ = true;
  }
  auto t = bpf::TcFilter::attach(topo_->be.ifindex, bpf_program__fd(skel_->progs.lb_tc),
                                 bpf::TcHook::kIngress);
  if (!t) return t.error();
  tc_be_ = std::move(*t);
  return {};
}

Deployment::Deployment(Deployment&& o) noexcept
    : skel_(std::move(o.skel_)),
      topo_(o.topo_),
      rb_(std::exchange(o.rb_, nullptr)),
      ingress_(std::exchange(o.ingress_, nullptr)),
      ingress_legacy_(o.ingress_legacy_),
      backend_attached_(std::exchange(o.backend_attached_, false)),
      tc_be_(std::move(o.tc_be_)),
      tc_lbin_(std::move(o.tc_lbin_)),
      dispatcher_fallback_(o.dispatcher_fallback_),
      made_libxdp_dir_(std::exchange(o.made_libxdp_dir_, false)),
      seen_(std::move(o.seen_)),
      received_(o.received_) {
  // The ring buffer's context pointer must follow the object.
  if (rb_) {
    ring_buffer__free(rb_);
    rb_ = ring_buffer__new(bpf_map__fd(skel_->maps.records), &Deployment::on_record, this, nullptr);
  }
}

Deployment::~Deployment() {
  if (rb_) ring_buffer__free(rb_);
  if (!topo_) return;
  // The TC filters (tc_lbin_, tc_be_) detach themselves, in their namespaces.
  if (ingress_) {
    if (auto in_lb = net::NsScope::enter(topo_->lb))
      (void)xdp_program__detach(ingress_, topo_->lbin.ifindex, XDP_MODE_NATIVE, 0);
    xdp_program__close(ingress_);
  }
  // Leave bpffs as we found it: libxdp's directory goes if we made it and it is empty.
  if (made_libxdp_dir_) (void)rmdir(kLibxdpDir);
  if (backend_attached_) {
    if (auto in_be = net::NsScope::enter(topo_->backend))
      (void)bpf_xdp_detach(topo_->be.ifindex, XDP_FLAGS_DRV_MODE, nullptr);
  }
}

int Deployment::on_record(void* self, void* data, size_t size) {
  auto* d = static_cast<Deployment*>(self);
  if (size < sizeof(lb_rec)) return 0;
  lb_rec r;
  std::memcpy(&r, data, sizeof(r));
  d->received_++;
  d->seen_[r.packet_id].at[r.consumer] = r;
  return 0;
}

int Deployment::poll(int timeout_ms) { return ring_buffer__poll(rb_, timeout_ms); }

int Deployment::xsks_map_fd() const { return bpf_map__fd(skel_->maps.xsks); }
int Deployment::ingress_prog_fd() const { return bpf_program__fd(skel_->progs.lb_ingress); }

Tally wait_and_tally(Deployment& dep, int expected, const std::vector<uint32_t>& consumers,
                     int receiver_fd, XskReader* xsk, std::chrono::milliseconds timeout) {
  Tally t;
  auto complete = [&] {
    int done = 0;
    for (auto& [id, s] : dep.seen()) {
      bool all = true;
      for (auto c : consumers) all = all && s.at.count(c);
      done += all;
    }
    return done;
  };
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline && !net::interrupted()) {
    dep.poll(xsk ? 1 : 20);
    if (xsk) xsk->poll(dep);
    if (receiver_fd >= 0) t.delivered += net::drain(receiver_fd);
    if (complete() >= expected && (receiver_fd < 0 || t.delivered >= expected)) break;
  }
  dep.poll(0);  // what is left, so that lost == attempted - received
  t.records = dep.record_stats();
  auto problem = [&](const std::string& s) {
    if (t.problems.size() < 20) t.problems.push_back(s);
  };
  char id_s[32];
  if (t.records.lost) {
    problem("ring buffer full: " + std::to_string(t.records.lost) + " of " +
            std::to_string(t.records.attempted()) + " records lost");
  }
  for (auto& [id, s] : dep.seen()) {
    std::snprintf(id_s, sizeof(id_s), "packet %#llx", (unsigned long long)id);
    auto ref_it = s.at.find(LB_AT_INGRESS);
    if (ref_it == s.at.end()) {
      problem(std::string(id_s) + ": no ingress record");
      continue;
    }
    t.tagged++;
    const auto ref = store_bytes(ref_it->second);
    bool all = true, same = !ref.empty();
    if (ref.empty()) problem(std::string(id_s) + ": no valid store at ingress");
    for (auto c : consumers) {
      auto it = s.at.find(c);
      if (it == s.at.end()) {
        all = false;
        problem(std::string(id_s) + ": not seen by " + consumer_name(c));
        continue;
      }
      t.per_consumer[c]++;
      const lb_rec& r = it->second;
      bool ok = r.err == 0 && r.packet_id == id && r.flow_hash == ref_it->second.flow_hash &&
                store_bytes(r) == ref;
      if (!ok) {
        problem(std::string(id_s) + ": " + consumer_name(c) + " saw err " + std::to_string(r.err) +
                ", store " + to_hex(store_bytes(r)) + " (ingress " + to_hex(ref) + ")");
      }
      same = same && ok;
    }
    t.complete += all;
    t.identical += all && same;
  }
  return t;
}

std::string summary(const Tally& t, bool with_delivered) {
  std::string s = std::to_string(t.tagged) + " tagged, " + std::to_string(t.complete) +
                  " seen by every consumer, " + std::to_string(t.identical) + " byte-identical;";
  for (auto& [c, n] : t.per_consumer)
    s += std::string(" ") + consumer_name(c) + "=" + std::to_string(n);
  if (with_delivered) s += " delivered=" + std::to_string(t.delivered);
  if (t.records.lost) {
    s += "; ring buffer full: " + std::to_string(t.records.lost) + " of " +
         std::to_string(t.records.attempted()) + " records lost";
  }
  return s;
}

uint64_t Deployment::stat(int i) const {
  if (i == LB_ST_REC_LOST) return record_stats().lost;
  return i >= 0 && i < LB_ST_N ? skel_->bss->stats[i] : 0;
}

RecordStats Deployment::record_stats() const {
  RecordStats r;
  r.received = received_;
  const int ncpu = libbpf_num_possible_cpus();
  if (ncpu <= 0) return r;
  std::vector<lb_rec_stats> per(static_cast<size_t>(ncpu));
  uint32_t zero = 0;
  if (bpf_map_lookup_elem(bpf_map__fd(skel_->maps.rec_stats), &zero, per.data())) return r;
  for (const auto& c : per) {
    r.submitted += c.submitted;
    r.lost += c.lost;
  }
  return r;
}

Status Deployment::set_xsk_strip(bool on) {
  skel_->bss->xsk_strip = on;
  return {};
}

}  // namespace xdpkv::lb
