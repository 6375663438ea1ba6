// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
// The kernel feature probes (features.hpp). Each BPF probe loads one program of
// features.bpf.c alone, with its own verifier log, so a refusal is reported in
// the kernel's words; the rest read BTF, sysfs and the mount table.
#include <xdpkv/features.hpp>

#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>
#include <linux/magic.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <memory>
#include <vector>

#include <xdpkv/hints.h>
#include <xdpkv/bpf_util.hpp>

#include "xdpkv_features.skel.h"

#ifndef TRACEFS_MAGIC
#define TRACEFS_MAGIC 0x74726163
#endif
#ifndef BPF_F_TEST_XDP_LIVE_FRAMES
#define BPF_F_TEST_XDP_LIVE_FRAMES (1U << 1)
#endif

namespace xdpkv::features {
namespace {

// The capability of each NIC hint kind (<xdpkv/hints.h>), named after its
// device-bound kfunc (bpf_xdp_metadata_<name> in vmlinux BTF), in name order.
struct HintCap {
  Cap cap;
  std::string_view name, what, since, without;
  const char* kfunc;
};

#define XDPKV_HINT_CAP(NAME, name, key, size, kfunc, nl, sw, sws, since, without)       \
  HintCap{Cap::kfunc, #kfunc,  "kfunc " XDPKV_HINT_KFUNC_NAME(kfunc) " (device-bound)", \
          since,      without, XDPKV_HINT_KFUNC_NAME(kfunc)},
std::array<HintCap, XDPKV_HI_N> sorted_hint_caps() {
  std::array<HintCap, XDPKV_HI_N> caps{XDPKV_HINT_KINDS(XDPKV_HINT_CAP)};
  std::sort(caps.begin(), caps.end(),
            [](const HintCap& a, const HintCap& b) { return a.name < b.name; });
  return caps;
}
#undef XDPKV_HINT_CAP

const std::array<HintCap, XDPKV_HI_N>& hint_caps() {
  static const std::array<HintCap, XDPKV_HI_N> caps = sorted_hint_caps();
  return caps;
}

// The row of cap: rows are not in Cap's order (the hint kinds' are sorted by name).
template <class Rows>
auto& row_of(Rows& rows, Cap cap) {
  return *std::find_if(rows.begin(), rows.end(), [cap](const Feature& f) { return f.cap == cap; });
}

// The table: what each capability is, since when upstream has it, and what
// xdpkv does without it. Probed into the same rows.
std::vector<Feature> table() {
  using C = Cap;
  struct Row {
    Cap cap;
    std::string_view name, what, since, without;
  };
  static constexpr Row kRows[] = {
      {C::grow_meta, "grow_meta", "bpf_xdp_adjust_meta in XDP programs (create or grow a store)",
       "4.15",
       "no XDP program that calls xdpkv_set or xdpkv_del loads here (programs that only read "
       "stores do); run it in a guest kernel: scripts/guest.sh -- COMMAND"},
      {C::meta_252, "meta_252", "XDP metadata beyond 32 bytes", "6.8",
       "a set that would grow the area past 32 bytes fails with -ENOSPC"},
      {C::live_frames, "live_frames", "BPF_PROG_TEST_RUN with BPF_F_TEST_XDP_LIVE_FRAMES", "5.18",
       "the live-frames generator cannot send; the DPDK or socket generators can"},
      {C::fentry_prog, "fentry_prog", "fentry/fexit on XDP and TC programs (BPF trampolines)",
       "5.5", "xdpkv trace follows packets at tracepoints only, not inside BPF programs"},
      {C::fentry_kernel, "fentry_kernel", "fentry on kernel functions (BPF trampolines)", "5.5",
       "xdpkv trace follows packets at tracepoints only (tp_btf, raw_tp)"},
      {C::freplace, "freplace", "freplace programs (libxdp's multi-program dispatcher)", "5.10",
       "XDP programs are attached alone in native mode, one per interface"},
      {C::dynptr_skb_meta, "dynptr_skb_meta", "kfunc bpf_dynptr_from_skb_meta in TC", "6.18",
       "TC programs read the store through __sk_buff->data_meta"},
      {C::modules, "modules", "loading kernel modules (CONFIG_MODULES)", "1.0",
       "the kfunc backend (xdpkv.ko) cannot be used: the inline backend needs no module"},
      {C::xdpkv_module, "xdpkv_module", "xdpkv.ko loaded with its kfuncs (/sys/kernel/btf/xdpkv)",
       "6.1 (module BTF)", "the inline backend is used; the kfunc backend is tested in guests"},
      {C::tracefs, "tracefs", "tracefs mounted at /sys/kernel/tracing", "4.1",
       "libbpf's legacy tracepoint attach fails; xdpkv uses tp_btf and raw tracepoints"},
      {C::bpffs, "bpffs", "bpf filesystem mounted at /sys/fs/bpf", "4.4",
       "xdpkv key add mounts it (mode 0700) when it can"},
  };
  std::vector<Feature> rows;
  for (const Row& r : kRows) {
    rows.push_back(Feature{r.cap, r.name, r.what, r.since, r.without, false, {}});
    if (r.cap != C::live_frames) continue;
    for (const HintCap& h : hint_caps())  // the hint kinds' capabilities follow live_frames
      rows.push_back(Feature{h.cap, h.name, h.what, h.since, h.without, false, {}});
  }
  return rows;
}

struct SkelDeleter {
  void operator()(xdpkv_features* s) const { xdpkv_features__destroy(s); }
};
using Skel = std::unique_ptr<xdpkv_features, SkelDeleter>;

constexpr size_t kLogSize = size_t{64} * 1024;

// Loads `want` of a fresh copy of the probe object (nothing else), with a
// verifier log; `prepare` may set attach targets. On a refusal `said` is the
// kernel's words.
Skel load_one(bpf_program* (*pick)(xdpkv_features*), std::string& said,
              const std::function<int(xdpkv_features*)>& prepare = {}) {
  Skel s(xdpkv_features__open());
  if (!s) {
    said = std::string("cannot open the probe object: ") + std::strerror(errno);
    return nullptr;
  }
  bpf_program* want = pick(s.get());
  bpf_program* p = nullptr;
  bpf_object__for_each_program(p, s->obj) bpf_program__set_autoload(p, p == want);
  auto log = std::make_unique<char[]>(kLogSize);
  log[0] = '\0';
  bpf_program__set_log_buf(want, log.get(), kLogSize);
  bpf_program__set_log_level(want, 1);
  if (prepare) {
    if (int err = prepare(s.get()); err != 0) {
      said = std::strerror(err < 0 ? -err : err);
      return nullptr;
    }
  }
  if (int err = xdpkv_features__load(s.get()); err != 0) {
    std::string words = bpf::verifier_words(log.get());
    said = words.empty() ? std::string(std::strerror(-err)) + " (no verifier log)"
                         : words + " (" + std::strerror(-err) + ")";
    return nullptr;
  }
  return s;
}

void probe_grow(Feature& grow, Feature& cap) {
  Skel s = load_one([](xdpkv_features* k) { return k->progs.probe_grow_meta; }, grow.said);
  if (!s) {
    cap.said = "not probed: growing metadata is refused";
    return;
  }
  grow.ok = true;
  grow.said = "an XDP program calling it loads";
  // Run it: a 36-byte grow succeeds only where the cap is above 32 bytes.
  std::array<uint8_t, 64> frame{};
  LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = frame.data(), .data_size_in = frame.size(),
              .repeat = 1);
  if (int err = bpf_prog_test_run_opts(bpf_program__fd(s->progs.probe_grow_meta), &opts); err) {
    cap.said = std::string("BPF_PROG_TEST_RUN: ") + std::strerror(errno);
    return;
  }
  cap.ok = opts.retval == XDP_PASS;
  cap.said = cap.ok ? "grew 36 bytes" : "a 36-byte grow failed: the cap is 32 bytes";
}

void probe_live(Feature& f) {
  Skel s = load_one([](xdpkv_features* k) { return k->progs.probe_drop; }, f.said);
  if (!s) return;
  std::array<uint8_t, 64> frame{};
  frame[12] = 0x08;  // an Ethernet header of type IPv4: the frame is dropped anyway
  LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = frame.data(), .data_size_in = frame.size(),
              .repeat = 1, .flags = BPF_F_TEST_XDP_LIVE_FRAMES);
  if (bpf_prog_test_run_opts(bpf_program__fd(s->progs.probe_drop), &opts) != 0) {
    f.said =
        std::string("BPF_PROG_TEST_RUN with BPF_F_TEST_XDP_LIVE_FRAMES: ") + std::strerror(errno);
    return;
  }
  f.ok = true;
  f.said = "a live-frames test run of one frame ran";
}

// Loads the target, then `pick` attached to `func` of it, and attaches it.
void probe_on_prog(Feature& f, bpf_program* (*pick)(xdpkv_features*), const char* func) {
  std::string ignored;
  Skel target = load_one([](xdpkv_features* k) { return k->progs.probe_target; }, ignored);
  if (!target) {
    f.said = "the target XDP program does not load: " + ignored;
    return;
  }
  int tfd = bpf_program__fd(target->progs.probe_target);
  Skel s = load_one(pick, f.said, [&](xdpkv_features* k) {
    return bpf_program__set_attach_target(pick(k), tfd, func);
  });
  if (!s) return;
  bpf_link* link = bpf_program__attach(pick(s.get()));
  if (!link) {
    f.said = std::string("attach: ") + std::strerror(errno);
    return;
  }
  bpf_link__destroy(link);
  f.ok = true;
  f.said = std::string("attached to a global function of an XDP program");
}

void probe_fentry_kernel(Feature& f) {
  Skel s = load_one([](xdpkv_features* k) { return k->progs.probe_fentry_kernel; }, f.said);
  if (!s) return;
  bpf_link* link = bpf_program__attach(s->progs.probe_fentry_kernel);
  if (!link) {
    f.said = std::string("attach to bpf_fentry_test1: ") + std::strerror(errno);
    return;
  }
  bpf_link__destroy(link);
  f.ok = true;
  f.said = "attached to bpf_fentry_test1";
}

void probe_btf_func(Feature& f, const btf* vmlinux, const char* name) {
  if (!vmlinux) {
    f.said = "no kernel BTF (/sys/kernel/btf/vmlinux)";
    return;
  }
  f.ok = btf__find_by_name_kind(vmlinux, name, BTF_KIND_FUNC) > 0;
  f.said = f.ok ? std::string(name) + " in the kernel's BTF"
                : std::string("no ") + name + " in the kernel's BTF";
}

void probe_modules(Feature& f) {
  if (access("/proc/modules", F_OK) != 0) {
    f.said = "/proc/modules missing: the kernel is built without CONFIG_MODULES";
    return;
  }
  // An empty image: ENOEXEC where loading is allowed, EPERM where it is not.
  long rc = syscall(SYS_init_module, nullptr, 0UL, "");
  int err = rc == 0 ? 0 : errno;
  f.ok = err == ENOEXEC || err == EFAULT || err == EINVAL;
  f.said = std::string("init_module of an empty image: ") + std::strerror(err);
  if (err == EPERM) f.said += " (modules_disabled, lockdown, or no CAP_SYS_MODULE)";
}

void probe_mount(Feature& f, const char* path, long magic, const char* fs) {
  struct statfs st {};
  if (statfs(path, &st) != 0) {
    f.said = std::string(path) + ": " + std::strerror(errno);
    return;
  }
  f.ok = static_cast<long>(st.f_type) == magic;
  f.said = f.ok ? std::string(fs) + " at " + path : std::string("no ") + fs + " mounted at " + path;
}

void probe_xdpkv_module(Feature& f, const btf* vmlinux) {
  btf* mod =
      vmlinux ? btf__parse_split("/sys/kernel/btf/xdpkv", const_cast<btf*>(vmlinux)) : nullptr;
  if (!mod) {
    f.said = "no /sys/kernel/btf/xdpkv (xdpkv.ko is not loaded, or was built without BTF)";
    return;
  }
  f.ok = btf__find_by_name_kind(mod, "bpf_xdpkv_get", BTF_KIND_FUNC) > 0;
  f.said = f.ok ? "xdpkv.ko with its kfuncs" : "xdpkv.ko is loaded but its BTF names no kfuncs";
  btf__free(mod);
}

// Each hint kind's kfunc in vmlinux BTF.
void probe_hint_kfuncs(std::vector<Feature>& rows, const btf* vmlinux) {
  for (const HintCap& h : hint_caps()) {
    for (Feature& f : rows)
      if (f.cap == h.cap) probe_btf_func(f, vmlinux, h.kfunc);
  }
}

// XDPKV_REFUSE=NAME,...: the names read as refused (tests of refusal paths).
void apply_simulation(std::vector<Feature>& rows) {
  const char* env = std::getenv("XDPKV_REFUSE");
  if (!env || !*env) return;
  std::string list = std::string(",") + env + ",";
  for (Feature& f : rows) {
    if (list.find("," + std::string(f.name) + ",") == std::string::npos) continue;
    f.ok = false;
    f.said = "refused by XDPKV_REFUSE (a simulated refusal; the kernel was not asked)";
  }
}

std::vector<Feature> probe_all() {
  bpf::init_libbpf();
  std::vector<Feature> rows = table();
  auto row = [&](Cap c) -> Feature& { return row_of(rows, c); };
  btf* vmlinux = btf__load_vmlinux_btf();
  probe_grow(row(Cap::grow_meta), row(Cap::meta_252));
  probe_live(row(Cap::live_frames));
  probe_hint_kfuncs(rows, vmlinux);
  probe_on_prog(
      row(Cap::fentry_prog), [](xdpkv_features* k) { return k->progs.probe_fentry_prog; },
      "probe_target");
  probe_fentry_kernel(row(Cap::fentry_kernel));
  probe_on_prog(
      row(Cap::freplace), [](xdpkv_features* k) { return k->progs.probe_freplace; },
      "probe_target_sub");
  probe_btf_func(row(Cap::dynptr_skb_meta), vmlinux, "bpf_dynptr_from_skb_meta");
  probe_modules(row(Cap::modules));
  probe_xdpkv_module(row(Cap::xdpkv_module), vmlinux);
  probe_mount(row(Cap::tracefs), "/sys/kernel/tracing", TRACEFS_MAGIC, "tracefs");
  probe_mount(row(Cap::bpffs), "/sys/fs/bpf", BPF_FS_MAGIC, "bpffs");
  btf__free(vmlinux);
  apply_simulation(rows);
  bpf::init_libbpf();  // the probes' libbpf messages are not anyone's load error
  return rows;
}

const std::vector<Feature>& cached() {
  static const std::vector<Feature> rows = probe_all();
  return rows;
}

}  // namespace

std::span<const Feature> all() { return cached(); }

const Feature& get(Cap cap) { return row_of(cached(), cap); }

std::string hint_cap_names() {
  std::string s;
  for (const HintCap& h : hint_caps()) s += (s.empty() ? "" : ", ") + std::string(h.name);
  return s;
}

const Feature* find(std::string_view name) {
  for (const Feature& f : cached()) {
    if (f.name == name) return &f;
  }
  return nullptr;
}

std::string kernel_release() {
  utsname u{};
  return uname(&u) == 0 ? u.release : "unknown";
}

std::string why_no_dispatcher() {
  const Feature& f = get(Cap::freplace);
  if (!f.ok) return "the kernel refuses freplace programs: " + f.said;
  return "this kernel allows freplace programs but refused libxdp's dispatcher (libxdp before "
         "1.5.5 on Linux 6.13+ and 6.12.25+: its slot does not change packet data)";
}

std::string refusal(Cap cap, std::string_view needs) {
  const Feature& f = get(cap);
  return std::string(needs) + " needs " + std::string(f.what) +
         " (Linux >= " + std::string(f.since) + "), which this kernel (" + kernel_release() +
         ") refuses: " + f.said + "; " + std::string(f.without);
}

}  // namespace xdpkv::features
