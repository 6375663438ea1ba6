// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
// Loading the capture program (device-bound, in the device's network
// namespace) and the TC restore program.
#include <xdpkv/features.hpp>
#include <xdpkv/hints.hpp>
#include <xdpkv/nsscope.hpp>
#include <xdpkv/tc.hpp>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <fcntl.h>
#include <linux/if_link.h>
#include <net/if.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <iterator>
#include <mutex>

#include <xdpkv/capture.h>
#include "origin.hpp"
#include "xdpkv_capture.skel.h"
#include "xdpkv_capture_sw.skel.h"
#include "xdpkv_restore.skel.h"

#ifndef BPF_F_XDP_DEV_BOUND_ONLY
#define BPF_F_XDP_DEV_BOUND_ONLY (1U << 6)  // Linux >= 6.3
#endif

namespace xdpkv::hints {

using net::in_netns;

uint32_t kernel_kfuncs() {
  // Probed once per process with every other capability (features.hpp): the
  // capability of each hint kfunc has the kind's kfunc name.
  uint32_t have = 0;
  for (const HintKind& k : hint_kinds()) {
    const features::Feature* f = features::find(k.capability);
    if (f && f->ok) have |= k.bit;
  }
  return have;
}

// ---- Capture ----------------------------------------------------------------------

struct Capture::State {
  bpf::Skeleton<xdpkv_capture> hw{nullptr, nullptr};
  bpf::Skeleton<xdpkv_capture_sw> sw{nullptr, nullptr};
  std::string netns;
  int ifindex = 0;
  uint32_t xdp_flags = 0;
  uint32_t kfuncs = 0;
  bool attached = false;
  std::string note;
  ring_buffer* rb = nullptr;
  std::function<void(const CaptureEvent&)> cb;  // the ring buffer's context: stable address

  bpf_object* obj() const { return hw ? hw->obj : sw->obj; }
  bpf_program* prog() const { return hw ? hw->progs.xdpkv_capture : sw->progs.xdpkv_capture; }
  bpf_map* map(const char* name) const { return bpf_object__find_map_by_name(obj(), name); }
  volatile uint32_t* mode() const { return hw ? &hw->data->mode : &sw->data->mode; }
  const volatile xdpkv_capture_stats* stats() const {
    return hw ? &hw->bss->stats : &sw->bss->stats;
  }

  // Capture::attach's steps, run in the device's network namespace (defined beside it).
  Status load_and_attach(const std::string& ifname, const CaptureOptions& opt, uint32_t origin);
  Status load_bound(const CaptureOptions& opt, uint32_t origin);
  Status load_software(const CaptureOptions& opt, uint32_t origin);

  ~State() {
    if (rb) ring_buffer__free(rb);
    if (attached) {
      (void)in_netns(netns, [&]() -> Status {
        bpf_xdp_detach(ifindex, xdp_flags, nullptr);
        return {};
      });
    }
  }
};

namespace {

template <class S>
void configure(S* s, const CaptureOptions& opt, uint32_t kfuncs, uint32_t origin) {
  auto* ro = s->rodata;
  ro->want = opt.want & XDPKV_HINT_PRESENT_MASK;
  ro->action = opt.action;
  ro->redirect_key = opt.redirect_key;
  ro->key_seq = opt.key_seq;
  ro->key_seq_size = opt.key_seq_size == 4 ? 4 : 8;
  ro->xdpkv_origin = origin;
  ro->emit_events = opt.events;
  std::memcpy(const_cast<uint8_t*>(reinterpret_cast<volatile uint8_t*>(ro->xdpkv_rss_key)),
              opt.rss_key.data(), opt.rss_key.size());
  if constexpr (requires { ro->xdpkv_hints_kfuncs; }) ro->xdpkv_hints_kfuncs = kfuncs;
  s->data->mode = opt.mode;
}

int on_event(void* ctx, void* data, size_t size) {
  auto* st = static_cast<const std::function<void(const CaptureEvent&)>*>(ctx);
  if (!st || !*st || size < sizeof(xdpkv_capture_event)) return 0;
  xdpkv_capture_event e;
  std::memcpy(&e, data, sizeof(e));
  CaptureEvent ev;
  ev.seq = e.seq;
  ev.ifindex = e.ifindex;
  ev.rx_queue = e.rx_queue;
  for (int i = 0; i < kNumHints; i++) ev.rc[i] = e.rc[i];
  ev.store_rc = e.store_rc;
  ev.hints = Hints(e.hints);
  ev.frame_len = e.frame_len;
  ev.meta_len = e.meta_len;
  ev.frame.assign(e.frame, e.frame + std::min<size_t>(e.copied, sizeof(e.frame)));
  (*st)(ev);
  return 0;
}

}  // namespace

Capture::Capture() : st_(std::make_unique<State>()) {}
Capture::Capture(Capture&& o) noexcept : st_(std::move(o.st_)) {}
Capture::~Capture() = default;

// Device-bound, with the kfuncs wanted: prog_ifindex names the device in this
// (the loading thread's) network namespace, so the load happens in here.
Status Capture::State::load_bound(const CaptureOptions& opt, uint32_t origin) {
  auto sk = bpf::open_skeleton(xdpkv_capture__open, xdpkv_capture__destroy, "xdpkv_capture");
  if (!sk) return sk.error();
  hw = std::move(*sk);
  configure(hw.get(), opt, kfuncs, origin);
  bpf_program__set_ifindex(hw->progs.xdpkv_capture, static_cast<uint32_t>(ifindex));
  if (int e = bpf_program__set_flags(hw->progs.xdpkv_capture, BPF_F_XDP_DEV_BOUND_ONLY))
    return bpf::errno_error(e, "BPF_F_XDP_DEV_BOUND_ONLY");
  if (auto l = bpf::load_skeleton(hw, xdpkv_capture__load, "xdpkv_capture (device-bound)"); !l) {
    // E.g. a kernel that refuses device-bound programs referencing a
    // devmap/cpumap (before 6.16): capture in software instead, and say so.
    note = "device-bound load failed, capturing in software: " + l.error().message;
    hw.reset();
    kfuncs = 0;
  }
  return {};
}

Status Capture::State::load_software(const CaptureOptions& opt, uint32_t origin) {
  auto sk =
      bpf::open_skeleton(xdpkv_capture_sw__open, xdpkv_capture_sw__destroy, "xdpkv_capture_sw");
  if (!sk) return sk.error();
  sw = std::move(*sk);
  configure(sw.get(), opt, 0, origin);
  if (auto l = bpf::load_skeleton(sw, xdpkv_capture_sw__load, "xdpkv_capture_sw"); !l)
    return l.error();
  return {};
}

// Finds the device, loads the capture program (device-bound where kfuncs are
// wanted and the kernel takes it, else in software) and attaches it.
Status Capture::State::load_and_attach(const std::string& ifname, const CaptureOptions& opt,
                                       uint32_t origin) {
  ifindex = static_cast<int>(if_nametoindex(ifname.c_str()));
  if (!ifindex) {
    return bpf::errno_error(errno,
                            "device " + ifname + (netns.empty() ? "" : " in netns " + netns));
  }
  if (kfuncs) {
    if (auto s = load_bound(opt, origin); !s) return s;
  }
  if (!hw) {
    if (auto s = load_software(opt, origin); !s) return s;
  }
  int fd = bpf_program__fd(prog());
  if (int e = bpf_xdp_attach(ifindex, fd, xdp_flags, nullptr)) {
    return bpf::errno_error(
        e, "attach xdpkv_capture to " + ifname +
               (e == -EBUSY || e == -EEXIST ? " (another XDP program is attached: a device-bound "
                                              "program must be the device's first program)"
                                            : ""));
  }
  attached = true;
  return {};
}

Result<Capture> Capture::attach(const std::string& netns, const std::string& ifname,
                                const CaptureOptions& opt) {
  // The capture stores hints: nothing is loaded where a store cannot be made.
  if (!features::get(features::Cap::grow_meta).ok) {
    return make_error(EOPNOTSUPP, features::refusal(features::Cap::grow_meta, "capturing hints"));
  }
  auto origin = detail::origin_or_host(opt.origin);
  if (!origin) return origin.error();
  bpf::init_libbpf();
  Capture c;
  State& st = *c.st_;
  st.netns = netns;
  st.xdp_flags = opt.xdp_flags ? opt.xdp_flags : XDP_FLAGS_DRV_MODE;
  st.kfuncs = opt.device_bound ? kernel_kfuncs() & opt.want : 0;
  Status s = in_netns(netns, [&]() -> Status { return st.load_and_attach(ifname, opt, *origin); });
  if (!s) return s.error();
  if (opt.events) {
    st.rb =
        ring_buffer__new(bpf_map__fd(st.map("xdpkv_capture_events")), on_event, &st.cb, nullptr);
    if (!st.rb) return bpf::errno_error(errno, "events ring buffer");
  }
  return c;
}

bool Capture::device_bound() const { return static_cast<bool>(st_->hw); }
const std::string& Capture::note() const { return st_->note; }
uint32_t Capture::kfuncs() const { return st_->kfuncs; }
int Capture::ifindex() const { return st_->ifindex; }
int Capture::prog_fd() const { return bpf_program__fd(st_->prog()); }
int Capture::devmap_fd() const { return bpf_map__fd(st_->map("xdpkv_capture_tx")); }
int Capture::cpumap_fd() const { return bpf_map__fd(st_->map("xdpkv_capture_cpus")); }
void Capture::set_mode(uint32_t mode) { *st_->mode() = mode; }

CaptureStats Capture::stats() const {
  const volatile xdpkv_capture_stats* s = st_->stats();
  CaptureStats r;
  r.packets = s->packets;
  r.captured = s->captured;
  r.skipped = s->skipped;
  r.store_err = s->store_err;
  r.seq_err = s->seq_err;
  for (int i = 0; i < kNumHints; i++) {
    r.hw[i] = s->hw[i];
    r.sw[i] = s->sw[i];
    r.none[i] = s->none[i];
    r.last_rc[i] = s->last_rc[i];
  }
  r.last_store_err = s->last_store_err;
  return r;
}

int Capture::poll_events(int timeout_ms, const std::function<void(const CaptureEvent&)>& fn) {
  if (!st_->rb) return -EINVAL;
  st_->cb = fn;
  int n = ring_buffer__poll(st_->rb, timeout_ms);
  st_->cb = nullptr;
  return n;
}

// ---- Restore ------------------------------------------------------------------------

struct Restore::State {
  bpf::Skeleton<xdpkv_restore> skel{nullptr, nullptr};
  bpf::TcFilter filter;  // detached first, in its namespace
};

Restore::Restore() : st_(std::make_unique<State>()) {}
Restore::Restore(Restore&& o) noexcept : st_(std::move(o.st_)) {}
Restore::~Restore() = default;

Result<Restore> Restore::attach(const std::string& netns, const std::string& ifname,
                                const RestoreOptions& opt) {
  auto origin = detail::origin_or_host(opt.origin);
  if (!origin) return origin.error();
  bpf::init_libbpf();
  Restore r;
  State& st = *r.st_;
  auto sk = bpf::open_skeleton(xdpkv_restore__open, xdpkv_restore__destroy, "xdpkv_restore");
  if (!sk) return sk.error();
  st.skel = std::move(*sk);
  st.skel->rodata->restore_hash = opt.hash;
  st.skel->rodata->restore_vlan = opt.vlan;
  st.skel->rodata->xdpkv_origin = *origin;
  if (auto l = bpf::load_skeleton(st.skel, xdpkv_restore__load, "xdpkv_restore"); !l)
    return l.error();
  Status s = in_netns(netns, [&]() -> Status {
    const int ifindex = static_cast<int>(if_nametoindex(ifname.c_str()));
    if (!ifindex) return bpf::errno_error(errno, "device " + ifname);
    auto f = bpf::TcFilter::attach(ifindex, bpf_program__fd(st.skel->progs.xdpkv_restore),
                                   bpf::TcHook::kIngress, opt.priority);
    if (!f)
      return make_error(f.error().code, "xdpkv_restore on " + ifname + ": " + f.error().message);
    st.filter = std::move(*f);
    return {};
  });
  if (!s) return s.error();
  return r;
}

int Restore::cpumap_prog_fd() const {
  return bpf_program__fd(st_->skel->progs.xdpkv_restore_cpumap);
}

RestoreStats Restore::stats() const {
  const volatile xdpkv_restore_stats* s = &st_->skel->bss->rstats;
  RestoreStats r;
  r.skbs = s->skbs;
  r.with_hints = s->with_hints;
  r.hash_set = s->hash_set;
  r.vlan_pushed = s->vlan_pushed;
  r.vlan_kept = s->vlan_kept;
  r.errors = s->errors;
  r.cpumap_frames = s->cpumap_frames;
  r.cpumap_with_hints = s->cpumap_with_hints;
  r.refused = s->refused;
  r.foreign = s->foreign;
  static_assert(std::size(RestoreStats{}.refused_why) == XDPKV_REFUSE_N);
  for (int i = 0; i < XDPKV_REFUSE_N; i++) r.refused_why[i] = s->refused_why[i];
  return r;
}

}  // namespace xdpkv::hints
