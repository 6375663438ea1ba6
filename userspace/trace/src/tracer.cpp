// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
// The tracer: loads trace.bpf.c (beside this folder) with the best attach type the
// kernel allows (fentry + tp_btf, tp_btf, raw_tp; each refusal is said once),
// reads its ring buffer and turns raw events into trace::Event. fentry/fexit
// on XDP and TC programs and fentry on named kernel functions are one more
// load of the same object per target, sharing the main load's ring buffer.
#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>
#include <fcntl.h>
#include <net/if.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>
#include <xdp/libxdp.h>

#include <cstdio>
#include <cstring>
#include <mutex>
#include <regex>
#include <set>
#include <unordered_map>

#include <xdpkv/bpf_util.hpp>
#include <xdpkv/features.hpp>
#include <xdpkv/nsscope.hpp>
#include <xdpkv/registry.hpp>
#include <xdpkv/trace.hpp>

#include "xdpkv_trace.skel.h"

namespace xdpkv::trace {
namespace {

// Names from trace.h's lists, indexed by the enums they make.
#define XDPKV_NAME_(e, name, ...) name,
constexpr const char* kPointNames[XDPKV_TP_NPOINTS] = {XDPKV_TRACE_POINTS(XDPKV_NAME_)};
constexpr const char* kXdpNames[XDPKV_XP_NPOINTS] = {XDPKV_XDP_POINTS(XDPKV_NAME_)};
#undef XDPKV_NAME_
#define XDPKV_OWN_(e, name, own) own,
constexpr bool kPointOwn[XDPKV_TP_NPOINTS] = {XDPKV_TRACE_POINTS(XDPKV_OWN_)};
#undef XDPKV_OWN_
#define XDPKV_FUNC_NAME_(fn) #fn,
constexpr const char* kFentryNames[XDPKV_TF_NFUNCS] = {XDPKV_TRACE_FENTRY_FUNCS(XDPKV_FUNC_NAME_)};
#undef XDPKV_FUNC_NAME_

const btf* vmlinux_btf() {
  static std::once_flag once;
  static btf* b = nullptr;
  std::call_once(once, [] { b = btf__load_vmlinux_btf(); });
  return b;
}

uint64_t realtime_offset() {
  timespec rt{}, mono{};
  clock_gettime(CLOCK_REALTIME, &rt);
  clock_gettime(CLOCK_MONOTONIC, &mono);
  return (uint64_t(rt.tv_sec) * 1000000000ull + uint64_t(rt.tv_nsec)) -
         (uint64_t(mono.tv_sec) * 1000000000ull + uint64_t(mono.tv_nsec));
}

std::string ip_str(const uint8_t* a, bool v6) {
  char b[64];
  if (v6) {
    std::snprintf(b, sizeof b, "[%x:%x:%x:%x:%x:%x:%x:%x]", a[0] << 8 | a[1], a[2] << 8 | a[3],
                  a[4] << 8 | a[5], a[6] << 8 | a[7], a[8] << 8 | a[9], a[10] << 8 | a[11],
                  a[12] << 8 | a[13], a[14] << 8 | a[15]);
  } else {
    std::snprintf(b, sizeof b, "%u.%u.%u.%u", a[0], a[1], a[2], a[3]);
  }
  return b;
}

// What the frame copy says: pwru's tuple format SRC:SPORT->DST:DPORT(proto),
// and for TCP the sequence number and the payload's length (of the whole
// train for a GRO skb: GRO rewrites the IP length).
struct FrameInfo {
  std::string tuple;
  std::optional<uint32_t> seq;
  uint32_t payload = 0;
};

uint32_t be32(const uint8_t* p) {
  return uint32_t{p[0]} << 24 | uint32_t{p[1]} << 16 | uint32_t{p[2]} << 8 | p[3];
}

// The TCP part: seq, and payload = the IP packet's bytes from the TCP header
// (l4_len) less the TCP header.
void parse_tcp(const uint8_t* d, size_t n, size_t l4off, uint32_t l4_len, FrameInfo& f) {
  if (n < l4off + 13) return;
  f.seq = be32(d + l4off + 4);
  const uint32_t doff = uint32_t{4} * (d[l4off + 12] >> 4);
  f.payload = l4_len > doff ? l4_len - doff : 0;
}

FrameInfo parse_frame(const uint8_t* d, size_t n, bool l2) {
  FrameInfo f;
  size_t off = 0;
  uint16_t proto = 0;
  if (l2) {
    if (n < 14) return f;
    proto = uint16_t(d[12] << 8 | d[13]);
    off = 14;
    if ((proto == 0x8100 || proto == 0x88a8) && n >= 18) {
      proto = uint16_t(d[16] << 8 | d[17]);
      off = 18;
    }
  } else {
    if (n < 1) return f;
    proto = (d[0] >> 4) == 6 ? 0x86dd : (d[0] >> 4) == 4 ? 0x0800 : 0;
  }
  uint8_t l4 = 0;
  size_t l4off = 0;
  uint32_t l4_len = 0;  // bytes from the L4 header to the end of the IP packet
  std::string src, dst;
  if (proto == 0x0800) {
    if (n < off + 20) return f;
    l4 = d[off + 9];
    const uint32_t ihl = uint32_t{4} * (d[off] & 0xfu);
    l4off = off + ihl;
    const uint32_t tot = uint32_t(d[off + 2] << 8 | d[off + 3]);
    l4_len = tot > ihl ? tot - ihl : 0;
    src = ip_str(d + off + 12, false);
    dst = ip_str(d + off + 16, false);
  } else if (proto == 0x86dd) {
    if (n < off + 40) return f;
    l4 = d[off + 6];
    l4off = off + 40;
    l4_len = uint32_t(d[off + 4] << 8 | d[off + 5]);
    src = ip_str(d + off + 8, true);
    dst = ip_str(d + off + 24, true);
  } else {
    return f;
  }
  const char* pn = l4 == 17   ? "udp"
                   : l4 == 6  ? "tcp"
                   : l4 == 1  ? "icmp"
                   : l4 == 58 ? "icmp6"
                              : nullptr;
  std::string name = pn ? pn : std::to_string(l4);
  if ((l4 == 17 || l4 == 6) && n >= l4off + 4) {
    const unsigned sp = d[l4off] << 8 | d[l4off + 1], dp = d[l4off + 2] << 8 | d[l4off + 3];
    f.tuple =
        src + ":" + std::to_string(sp) + "->" + dst + ":" + std::to_string(dp) + "(" + name + ")";
    if (l4 == 6) parse_tcp(d, n, l4off, l4_len, f);
    return f;
  }
  f.tuple = src + "->" + dst + "(" + name + ")";
  return f;
}

struct LinkCloser {
  void operator()(bpf_link* l) const { bpf_link__destroy(l); }
};
using Link = std::unique_ptr<bpf_link, LinkCloser>;

enum class Variant { fentry_tp_btf, tp_btf, raw_tp };

bool has_tracepoint(const std::string& name) {
  const btf* b = vmlinux_btf();
  return b && btf__find_by_name_kind(b, ("btf_trace_" + name).c_str(), BTF_KIND_TYPEDEF) > 0;
}
bool has_function(const std::string& name) {
  const btf* b = vmlinux_btf();
  return b && btf__find_by_name_kind(b, name.c_str(), BTF_KIND_FUNC) > 0;
}

// The point a program serves: tb_NAME / rt_NAME / fe_NAME -> NAME.
std::string point_of(const char* prog) {
  const std::string p = prog;
  return p == "cg_ingress" ? kPointNames[XDPKV_TP_SOCK_INGRESS] : p.substr(3);
}

// Where cgroup v2 is mounted ("" if nowhere): the socket-delivery hook attaches to its root.
std::string cgroup2_root() {
  std::FILE* f = std::fopen("/proc/self/mounts", "r");
  if (!f) return "";
  char dev[256], dir[512], type[64];
  std::string root;
  while (std::fscanf(f, "%255s %511s %63s %*[^\n]", dev, dir, type) == 3) {
    if (std::string(type) == "cgroup2") {
      root = dir;
      break;
    }
  }
  std::fclose(f);
  return root;
}

}  // namespace

std::string drop_reason_name(uint32_t reason) {
  static std::once_flag once;
  static std::unordered_map<uint32_t, std::string> names;
  std::call_once(once, [] {
    const btf* b = vmlinux_btf();
    if (!b) return;
    const int id = btf__find_by_name_kind(b, "skb_drop_reason", BTF_KIND_ENUM);
    if (id <= 0) return;
    const btf_type* t = btf__type_by_id(b, id);
    const struct btf_enum* e = btf_enum(t);
    for (int i = 0; i < btf_vlen(t); i++) {
      std::string n = btf__name_by_offset(b, e[i].name_off);
      const std::string pfx = "SKB_DROP_REASON_";
      if (n.rfind(pfx, 0) == 0) n = n.substr(pfx.size());
      names.emplace(static_cast<uint32_t>(e[i].val), n);
    }
  });
  auto it = names.find(reason);
  return it != names.end() ? it->second : "reason_" + std::to_string(reason);
}

namespace {

// A program or kernel function with its own load of the object (prog_slot).
struct Target {
  std::string point;  // "xdp:NAME", "tc:NAME" or the kernel function
  bool xdp = false;   // (programs) XDP, else TC
};

using features::kernel_release;

std::string action_name(bool xdp, int32_t a) {
  static const char* const kXdp[] = {"XDP_ABORTED", "XDP_DROP", "XDP_PASS", "XDP_TX",
                                     "XDP_REDIRECT"};
  static const char* const kTc[] = {"TC_ACT_OK",     "TC_ACT_RECLASSIFY", "TC_ACT_SHOT",
                                    "TC_ACT_PIPE",   "TC_ACT_STOLEN",     "TC_ACT_QUEUED",
                                    "TC_ACT_REPEAT", "TC_ACT_REDIRECT",   "TC_ACT_TRAP"};
  if (xdp && a >= 0 && a < 5) return kXdp[a];
  if (!xdp && a == -1) return "TC_ACT_UNSPEC";
  if (!xdp && a >= 0 && a < 9) return kTc[a];
  return (xdp ? "XDP_" : "TC_ACT_") + std::to_string(a);
}

struct ProgInfo;  // a program to trace (defined with prog_info)

}  // namespace

struct Tracer::Impl {
  bpf::Skeleton<xdpkv_trace> skel{nullptr, xdpkv_trace__destroy};
  std::vector<bpf::Skeleton<xdpkv_trace>> extra;  // one load per Target
  std::vector<Target> programs, functions;        // prog_slot -> target
  std::vector<Link> links;
  ring_buffer* rb = nullptr;
  std::string kind;
  std::vector<std::string> points;
  bool fentry = false;
  int key_id = -1;
  uint32_t origin = 0;  // the mark a store needs for its id to be reported (0: none)
  uint64_t rt_off = 0;
  uint64_t received = 0;
  const std::function<void(const Event&)>* cb = nullptr;
  // Names of devices whose events came without a device (socket queues).
  // A cache: emptied when it reaches kMaxIfnames (devices come and go).
  static constexpr size_t kMaxIfnames = 4096;
  std::map<std::pair<uint32_t, uint32_t>, std::string> ifnames;

  // What every extra load of the object (one per traced program or function) is set up with.
  struct Load {
    const TraceOptions& opt;
    uint32_t netns_ino, ifindex;
  };
  // attach_targets' steps (defined beside it).
  Status load_target(const Load& how, const char* entry, const char* exit, int target_fd,
                     const std::string& func, uint16_t slot);
  Status attach_programs(const Load& how, const std::vector<ProgInfo>& progs,
                         const features::Feature& on_progs,
                         const std::function<void(const std::string&)>& notice);
  void attach_functions(const Load& how, const features::Feature& on_funcs,
                        const std::function<void(const std::string&)>& notice);

  ~Impl() { close(); }
  void close() {
    if (rb) ring_buffer__free(rb);
    rb = nullptr;
    links.clear();
    extra.clear();
    skel.reset();
  }

  static int on_event(void* ctx, void* data, size_t size) {
    auto* self = static_cast<Impl*>(ctx);
    if (size < sizeof(xdpkv_trace_event)) return 0;
    const auto* r = static_cast<const xdpkv_trace_event*>(data);
    Event e;
    e.raw = *r;
    e.time_ns = r->time_ns + self->rt_off;
    e.id = r->id;
    e.followed = (r->flags & XDPKV_TEV_FOLLOWED) != 0;
    e.skb = r->skb;
    e.cpu = r->cpu;
    e.netns = r->netns;
    e.ifindex = r->ifindex;
    e.iface.assign(r->ifname, strnlen(r->ifname, sizeof r->ifname));
    auto key = std::make_pair(r->netns, r->ifindex);
    if (!e.iface.empty()) {
      if (self->ifnames.size() >= kMaxIfnames && !self->ifnames.count(key)) self->ifnames.clear();
      self->ifnames[key] = e.iface;
    } else if (auto it = self->ifnames.find(key); it != self->ifnames.end()) {
      e.iface = it->second;
    }
    e.len = r->len;
    constexpr size_t nfixed = std::size(kFentryNames);
    if (r->point == XDPKV_TP_FENTRY) {
      e.point = r->func_id < nfixed ? kFentryNames[r->func_id]
                : r->func_id - nfixed < self->functions.size()
                    ? self->functions[r->func_id - nfixed].point
                    : "fentry";
    } else if (r->point == XDPKV_TP_PROG_ENTRY || r->point == XDPKV_TP_PROG_EXIT) {
      e.point = r->func_id < self->programs.size() ? self->programs[r->func_id].point : "prog";
    } else {
      e.point = r->point < XDPKV_TP_NPOINTS ? kPointNames[r->point] : "?";
    }
    if (r->point == XDPKV_TP_KFREE_SKB) e.reason = drop_reason_name(r->reason);
    if (r->point == XDPKV_TP_PROG_EXIT) {
      const bool xdp = r->func_id < self->programs.size() && self->programs[r->func_id].xdp;
      e.point += "/fexit";
      e.reason = action_name(xdp, static_cast<int32_t>(r->reason));
    }
    const size_t m = std::min<size_t>(r->meta_len, sizeof r->meta);
    e.meta.assign(r->meta, r->meta + m);
    const size_t c = std::min<size_t>(r->cap_len, sizeof r->data);
    e.frame.assign(r->data, r->data + c);
    e.frame_len = r->frame_len;
    e.l2 = r->l2 != 0;
    FrameInfo fi = parse_frame(r->data, c, e.l2);
    e.tuple = std::move(fi.tuple);
    e.seq = fi.seq;
    e.payload = fi.payload;
    e.segs = std::max<uint32_t>(r->segs, 1);  // gso_segs is 0 for an skb of one packet
    self->received++;
    if (self->cb) (*self->cb)(e);
    return 0;
  }
};

Tracer::Tracer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Tracer::Tracer(Tracer&&) noexcept = default;
Tracer& Tracer::operator=(Tracer&&) noexcept = default;
Tracer::~Tracer() = default;

namespace {

Status setup_rodata(xdpkv_trace* s, const TraceOptions& opt, int key_id, uint32_t netns_ino,
                    uint32_t ifindex, uint32_t origin) {
  s->rodata->xdpkv_origin = origin;
  const xdpkv_trace_filter f{.value_lo = opt.value_lo,
                             .value_hi = opt.value_hi,
                             .key_id = static_cast<uint32_t>(key_id),
                             .netns = netns_ino,
                             .ifindex = ifindex,
                             .follow = opt.follow};
  std::memcpy(const_cast<xdpkv_trace_filter*>(&s->rodata->filter), &f, sizeof f);
  if (bpf_map__set_max_entries(s->maps.events, opt.ringbuf_bytes))
    return bpf::errno_error(errno, "ring buffer size");
  return {};
}

// Points that run a program on every redirect, traced or not (the
// tracepoints cannot see the frame): only with TraceOptions::redirects.
bool per_redirect(const std::string& point) {
  return point == kXdpNames[XDPKV_XP_REDIRECT] || point == kXdpNames[XDPKV_XP_REDIRECT_MAP];
}

// Chooses the programs of one variant that the regex and the kernel allow.
std::vector<bpf_program*> select_programs(xdpkv_trace* s, Variant v, const std::regex* re,
                                          bool redirects) {
  std::vector<bpf_program*> keep;
  bpf_program* p;
  bpf_object__for_each_program(p, s->obj) {
    const std::string name = bpf_program__name(p);
    const std::string point = point_of(name.c_str());
    bool want = false;
    if (name.find("_prog_") != std::string::npos || name == "fe_func") {
      want = false;  // per-target loads only
    } else if (name == "cg_ingress") {
      want = !cgroup2_root().empty() && has_function("bpf_cast_to_kern_ctx");
    } else if (name.rfind("fe_", 0) == 0) {
      want = v == Variant::fentry_tp_btf && has_function(point);
    } else if (name.rfind("tb_", 0) == 0) {
      want = v != Variant::raw_tp && has_tracepoint(point);
    } else if (name.rfind("rt_", 0) == 0) {
      want = v == Variant::raw_tp && has_tracepoint(point);
    }
    if (want && re && !std::regex_search(point, *re)) want = false;
    if (want && !redirects && per_redirect(point)) want = false;
    bpf_program__set_autoload(p, want);
    if (want) keep.push_back(p);
  }
  return keep;
}

// An XDP or TC program to put fentry/fexit on: its type and its function's
// name in its BTF (bpf_prog_info's name is cut at 15 characters).
struct ProgInfo {
  uint32_t id = 0;
  bool xdp = false;
  std::string func;
};

Result<ProgInfo> prog_info(uint32_t id) {
  const std::string what = "BPF program id " + std::to_string(id);
  bpf::UniqueFd fd(bpf_prog_get_fd_by_id(id));
  if (!fd) return bpf::errno_error(errno, what);
  bpf_prog_info info{};
  uint32_t len = sizeof info;
  if (bpf_obj_get_info_by_fd(fd.get(), &info, &len)) return bpf::errno_error(errno, what);
  ProgInfo p{id, info.type == BPF_PROG_TYPE_XDP, info.name};
  if (info.type != BPF_PROG_TYPE_XDP && info.type != BPF_PROG_TYPE_SCHED_CLS)
    return make_error(EINVAL, what + " (" + p.func + ") is not an XDP or TC (sched_cls) program");
  if (!info.btf_id || !info.nr_func_info) {
    return make_error(
        EINVAL, what + " (" + p.func + ") has no BTF: fentry/fexit on a program needs its BTF");
  }
  std::vector<bpf_func_info> fi(info.nr_func_info);
  const uint32_t btf_id = info.btf_id;
  info = {};
  info.nr_func_info = static_cast<uint32_t>(fi.size());
  info.func_info_rec_size = sizeof(bpf_func_info);
  info.func_info = reinterpret_cast<uintptr_t>(fi.data());
  len = sizeof info;
  if (bpf_obj_get_info_by_fd(fd.get(), &info, &len)) return bpf::errno_error(errno, what);
  btf* b = btf__load_from_kernel_by_id(btf_id);
  if (!b) return bpf::errno_error(errno, what + ": its BTF");
  if (const btf_type* t = btf__type_by_id(b, fi[0].type_id))
    p.func = btf__name_by_offset(b, t->name_off);
  btf__free(b);
  return p;
}

// The programs XDP runs on ifindex (in the caller's netns): the components of
// libxdp's dispatcher, or the one program.
Result<std::vector<uint32_t>> xdp_progs_on(int ifindex, const std::string& ifname) {
  xdp_multiprog* mp = xdp_multiprog__get_from_ifindex(ifindex);
  if (const long e = libxdp_get_error(mp); e || !mp)
    return bpf::errno_error(e ? static_cast<int>(-e) : ENOENT, "XDP programs on " + ifname);
  std::vector<uint32_t> ids;
  if (xdp_multiprog__is_legacy(mp)) {
    if (xdp_program* p = xdp_multiprog__main_prog(mp)) ids.push_back(xdp_program__id(p));
  } else {
    for (xdp_program* p = xdp_multiprog__next_prog(nullptr, mp); p;
         p = xdp_multiprog__next_prog(p, mp))
      ids.push_back(xdp_program__id(p));
  }
  xdp_multiprog__close(mp);
  if (ids.empty()) return make_error(ENOENT, "no XDP program on " + ifname);
  return ids;
}

// Kernel function fn exists in vmlinux BTF and takes a struct sk_buff * first.
Status check_skb_function(const std::string& fn) {
  const btf* b = vmlinux_btf();
  const int id = b ? btf__find_by_name_kind(b, fn.c_str(), BTF_KIND_FUNC) : -1;
  if (id <= 0) return make_error(ENOENT, "kernel function " + fn + " is not in the kernel's BTF");
  const btf_type* proto = btf__type_by_id(b, btf__type_by_id(b, id)->type);
  bool ok = false;
  if (proto && btf_is_func_proto(proto) && btf_vlen(proto) > 0) {
    const btf_type* t = btf__type_by_id(b, btf__resolve_type(b, btf_params(proto)[0].type));
    if (t && btf_is_ptr(t)) {
      const btf_type* s = btf__type_by_id(b, btf__resolve_type(b, t->type));
      ok = s && btf_is_struct(s) && std::string(btf__name_by_offset(b, s->name_off)) == "sk_buff";
    }
  }
  if (!ok) {
    return make_error(EINVAL,
                      "kernel function " + fn + ": its first argument is not a struct sk_buff *");
  }
  return {};
}

// The programs opt names (by id, or as the XDP programs on its interfaces),
// each once, in the order given; each must be XDP or TC and have BTF.
Result<std::vector<ProgInfo>> target_programs(const TraceOptions& opt) {
  std::vector<ProgInfo> progs;
  std::set<uint32_t> ids;
  std::vector<uint32_t> want = opt.prog_ids;
  for (const auto& ifname : opt.xdp_ifaces) {
    Result<std::vector<uint32_t>> on = std::vector<uint32_t>{};
    Status s = net::in_netns(opt.netns, [&]() -> Status {
      const int ix = static_cast<int>(if_nametoindex(ifname.c_str()));
      if (!ix) return bpf::errno_error(errno, "interface " + ifname);
      on = xdp_progs_on(ix, ifname);
      return {};
    });
    if (!s) return s.error();
    if (!on) return on.error();
    want.insert(want.end(), on->begin(), on->end());
  }
  for (uint32_t id : want) {
    if (!ids.insert(id).second) continue;
    auto p = prog_info(id);
    if (!p) return p.error();
    progs.push_back(*p);
  }
  return progs;
}

}  // namespace

// One load: prog entry (and its fexit twin exit) attached to target (fd, or 0
// and a kernel function).
Status Tracer::Impl::load_target(const Load& how, const char* entry, const char* exit,
                                 int target_fd, const std::string& func, uint16_t slot) {
  auto s = bpf::open_skeleton(xdpkv_trace__open, xdpkv_trace__destroy, "xdpkv_trace");
  if (!s) return s.error();
  if (auto r = setup_rodata(s->get(), how.opt, key_id, how.netns_ino, how.ifindex, origin); !r)
    return r.error();
  (*s)->rodata->prog_slot = slot;
  bpf_program* p;
  bpf_object__for_each_program(p, (*s)->obj) {
    const std::string n = bpf_program__name(p);
    const bool want_it = n == entry || (exit && n == exit);
    bpf_program__set_autoload(p, want_it);
    if (want_it && bpf_program__set_attach_target(p, target_fd, func.c_str()))
      return bpf::errno_error(errno, "attach target " + func);
  }
  if (bpf_map__reuse_fd((*s)->maps.events, bpf_map__fd(skel->maps.events)) ||
      bpf_map__reuse_fd((*s)->maps.followed, bpf_map__fd(skel->maps.followed)))
    return bpf::errno_error(errno, "share the tracer's maps");
  if (auto l = bpf::load_skeleton(*s, xdpkv_trace__load, "xdpkv_trace"); !l) return l.error();
  const size_t before = links.size();
  for (const char* n : {entry, exit}) {
    if (!n) continue;
    bpf_program* q = bpf_object__find_program_by_name((*s)->obj, n);
    bpf_link* l = q ? bpf_program__attach(q) : nullptr;
    if (!l) {
      const int e = errno;
      links.resize(before);  // all or nothing: the slot is reused
      return bpf::errno_error(e, std::string("attach ") + n + " to " + func);
    }
    links.emplace_back(l);
  }
  extra.push_back(std::move(*s));
  return {};
}

// fentry/fexit on each program. After the first refusal none is tried; the
// refused ones are said in one notice.
Status Tracer::Impl::attach_programs(const Load& how, const std::vector<ProgInfo>& progs,
                                     const features::Feature& on_progs,
                                     const std::function<void(const std::string&)>& notice) {
  std::vector<std::string> refused;
  Error why{};
  if (!on_progs.ok) why = make_error(EPERM, on_progs.said);
  for (const auto& p : progs) {
    const std::string point = std::string(p.xdp ? "xdp:" : "tc:") + p.func;
    if (!refused.empty() || !on_progs.ok) {
      refused.push_back(point);
      continue;
    }
    bpf::UniqueFd fd(bpf_prog_get_fd_by_id(p.id));
    if (!fd) return bpf::errno_error(errno, "BPF program id " + std::to_string(p.id));
    const auto slot = static_cast<uint16_t>(programs.size());
    programs.push_back({point, p.xdp});
    Status s = p.xdp ? load_target(how, "fe_prog_xdp", "fx_prog_xdp", fd.get(), p.func, slot)
                     : load_target(how, "fe_prog_tc", "fx_prog_tc", fd.get(), p.func, slot);
    if (!s) {
      programs.pop_back();
      why = s.error();
      refused.push_back(point);
      continue;
    }
    points.push_back(point);
    points.push_back(point + "/fexit");
  }
  if (!refused.empty()) {
    std::string list;
    for (const auto& r : refused) list += (list.empty() ? "" : " ") + r;
    notice("note: the kernel refuses fentry/fexit on BPF programs (" +
           why.message.substr(0, why.message.find('\n')) + "): not traced: " + list +
           "; the tracepoints are. fentry/fexit on XDP and TC programs needs BPF trampolines "
           "(Linux 5.5+, x86-64); this kernel, " +
           kernel_release() + ", refuses them");
  }
  return {};
}

// fentry on each kernel function of opt. After the first refusal (said once)
// none is tried.
void Tracer::Impl::attach_functions(const Load& how, const features::Feature& on_funcs,
                                    const std::function<void(const std::string&)>& notice) {
  bool func_refused = false;
  for (const auto& fn : how.opt.functions) {
    if (func_refused) continue;
    const auto slot = static_cast<uint16_t>(std::size(kFentryNames) + functions.size());
    functions.push_back({fn, false});
    Status s = on_funcs.ok ? load_target(how, "fe_func", nullptr, 0, fn, slot)
                           : Status(make_error(EPERM, on_funcs.said));
    if (!s) {
      functions.pop_back();
      func_refused = true;
      notice("note: the kernel refuses fentry on kernel functions (" +
             s.error().message.substr(0, s.error().message.find('\n')) + "): " + fn +
             " is not traced; the tracepoints are. fentry needs BPF trampolines (Linux 5.5+, "
             "x86-64); this kernel, " +
             kernel_release() + ", refuses them");
      continue;
    }
    points.push_back(fn);
  }
}

// fentry/fexit on opt's programs and fentry on its functions, each one more
// load of the object. A kernel that refuses the first is said once (with the
// feature and the kernel that has it); the tracepoints keep working.
Status Tracer::attach_targets(Impl& impl, const TraceOptions& opt,
                              const std::function<void(const std::string&)>& notice,
                              uint32_t netns_ino, uint32_t ifindex) {
  auto progs = target_programs(opt);
  if (!progs) return progs.error();
  for (const auto& fn : opt.functions)
    if (auto c = check_skb_function(fn); !c) return c.error();
  if (progs->empty() && opt.functions.empty()) return {};

  // Asked once per process (features.hpp): no load is tried where the kernel
  // refuses trampolines, and its words are the reason given.
  const features::Feature& on_progs = features::get(features::Cap::fentry_prog);
  const features::Feature& on_funcs = features::get(features::Cap::fentry_kernel);
  const Impl::Load how{opt, netns_ino, ifindex};
  if (auto s = impl.attach_programs(how, *progs, on_progs, notice); !s) return s.error();
  impl.attach_functions(how, on_funcs, notice);
  return {};
}

namespace {

// std::regex recurses per group level and per repetition: bound what it is given.
constexpr size_t kPointsMax = 512;
constexpr int kPointsDepthMax = 8;

// The --points regex ("" : none).
Result<std::optional<std::regex>> points_regex(const std::string& points) {
  if (points.empty()) return std::optional<std::regex>{};
  if (points.size() > kPointsMax) {
    return make_error(EINVAL, "--points: the regex is " + std::to_string(points.size()) +
                                  " characters long, more than " + std::to_string(kPointsMax));
  }
  int depth = 0, deepest = 0;
  for (size_t i = 0; i < points.size(); i++) {
    if (points[i] == '\\') {
      i++;  // an escaped character is no group
    } else if (points[i] == '(') {
      deepest = std::max(deepest, ++depth);
    } else if (points[i] == ')') {
      depth--;
    }
  }
  if (deepest > kPointsDepthMax) {
    return make_error(EINVAL, "--points: groups nested " + std::to_string(deepest) +
                                  " deep, more than " + std::to_string(kPointsDepthMax));
  }
  try {
    return std::optional<std::regex>(std::regex(points, std::regex::ECMAScript));
  } catch (const std::regex_error& e) {
    return make_error(EINVAL, "--points: bad regex '" + points + "': " + e.what());
  }
}

}  // namespace

Status check(const TraceOptions& opt) {
  const uint32_t rb = opt.ringbuf_bytes;
  if (rb < 4096 || rb > (1u << 30) || (rb & (rb - 1))) {
    return make_error(EINVAL, "--ringbuf must be a power of 2 from 4096 to 1073741824, not " +
                                  std::to_string(rb));
  }
  if (opt.value_lo > opt.value_hi)
    return make_error(EINVAL, "empty id range: --range takes A-B with A <= B");
  if (opt.key_id > XDPKV_MAX_KEY) {
    return make_error(EINVAL, "key id " + std::to_string(opt.key_id) + " is out of range [0, " +
                                  std::to_string(XDPKV_MAX_KEY) + "]");
  }
  if (opt.netns.find('/') != std::string::npos)
    return make_error(EINVAL, "--netns takes a name from 'ip netns'");
  if (auto re = points_regex(opt.points); !re) return re.error();
  return {};
}

std::vector<std::string> point_names() {
  std::vector<std::string> out;
  for (int i = 0; i < XDPKV_TP_NPOINTS; i++)
    if (kPointOwn[i]) out.emplace_back(kPointNames[i]);
  return out;
}

std::vector<std::string> fentry_functions() {
  return {std::begin(kFentryNames), std::end(kFentryNames)};
}

namespace {

using Notice = std::function<void(const std::string&)>;

// The traced key's id: opt.key_id, else the registry's id of opt.key.
Result<int> resolve_key(const TraceOptions& opt) {
  if (opt.key_id >= 0) return opt.key_id;
  auto reg = Registry::open({.dir = opt.bpffs, .readonly = true, .notice = opt.notice});
  if (!reg) return reg.error();
  auto e = reg->lookup(opt.key);
  if (!e) return e.error();
  return static_cast<int>(e->id);
}

// The mark a store must carry for its id to be reported (0: none needed).
Result<uint32_t> trace_origin(const TraceOptions& opt) {
  if (opt.any_origin) return 0u;
  return host_origin({.dir = opt.bpffs, .create = true, .readonly = false, .notice = opt.notice});
}

// The filter's netns inode and ifindex (0: any), looked up in opt.netns.
Status resolve_place(const TraceOptions& opt, uint32_t& netns_ino, uint32_t& ifindex) {
  if (opt.netns.empty() && opt.iface.empty()) return {};
  return net::in_netns(opt.netns, [&]() -> Status {
    struct stat st {};
    if (stat("/proc/thread-self/ns/net", &st)) return bpf::errno_error(errno, "stat netns");
    // --iface names a device of --netns, or of the tracer's own namespace: an
    // ifindex alone would match that number in every namespace.
    netns_ino = static_cast<uint32_t>(st.st_ino);
    if (!opt.iface.empty()) {
      ifindex = if_nametoindex(opt.iface.c_str());
      if (!ifindex) return bpf::errno_error(errno, "interface " + opt.iface);
    }
    return {};
  });
}

// The variants to try, best first: fentry + tp_btf, else tp_btf, else raw_tp.
std::vector<Variant> variant_order(const TraceOptions& opt, const Notice& notice) {
  std::vector<Variant> order;
  if (!opt.force_raw_tp) {
    const features::Feature& fentry = features::get(features::Cap::fentry_kernel);
    if (opt.try_fentry && fentry.ok) {
      order.push_back(Variant::fentry_tp_btf);
    } else if (opt.try_fentry) {
      notice("note: the kernel refuses fentry programs (" + fentry.said +
             "): kernel functions are not traced, tracepoints only");
    }
    order.push_back(Variant::tp_btf);
  }
  order.push_back(Variant::raw_tp);
  return order;
}

// The main load: the first variant the kernel takes, with its programs.
struct MainLoad {
  bpf::Skeleton<xdpkv_trace> skel{nullptr, xdpkv_trace__destroy};
  Variant variant = Variant::raw_tp;
  std::vector<bpf_program*> progs;
};

Result<MainLoad> load_main(const TraceOptions& opt, const Notice& notice, int key_id,
                           uint32_t netns_ino, uint32_t ifindex, uint32_t origin) {
  auto re = points_regex(opt.points);
  if (!re) return re.error();
  Error last{};
  for (const Variant v : variant_order(opt, notice)) {
    MainLoad m;
    auto s = bpf::open_skeleton(xdpkv_trace__open, xdpkv_trace__destroy, "xdpkv_trace");
    if (!s) return s.error();
    if (auto r = setup_rodata(s->get(), opt, key_id, netns_ino, ifindex, origin); !r)
      return r.error();
    m.progs = select_programs(s->get(), v, *re ? &**re : nullptr, opt.redirects);
    if (m.progs.empty())
      return make_error(ENOENT, "no trace point matches --points '" + opt.points + "'");
    bool any_fentry = false;
    for (auto* p : m.progs) any_fentry |= std::string(bpf_program__name(p)).rfind("fe_", 0) == 0;
    if (v == Variant::fentry_tp_btf && !any_fentry) continue;
    if (auto l = bpf::load_skeleton(*s, xdpkv_trace__load, "xdpkv_trace"); !l) {
      last = l.error();
      if (v == Variant::fentry_tp_btf) {
        notice("note: the kernel refuses fentry programs (" +
               last.message.substr(0, last.message.find('\n')) +
               "): kernel functions are not traced, tracepoints only");
      } else if (v == Variant::tp_btf) {
        notice("note: the kernel refuses tp_btf programs; using raw tracepoints");
      }
      continue;
    }
    m.skel = std::move(*s);
    m.variant = v;
    return m;
  }
  return last;
}

// Attaches the main load's programs; each point is named once in points.
Status attach_main(const std::vector<bpf_program*>& progs, std::vector<Link>& links,
                   std::vector<std::string>& points) {
  std::set<std::string> seen;
  bpf::UniqueFd cg;
  for (auto* p : progs) {
    bpf_link* l = nullptr;
    if (std::string(bpf_program__name(p)) == "cg_ingress") {
      const std::string root = cgroup2_root();
      cg = bpf::UniqueFd(::open(root.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
      if (!cg) return bpf::errno_error(errno, "open cgroup " + root);
      l = bpf_program__attach_cgroup(p, cg.get());
    } else {
      l = bpf_program__attach(p);
    }
    if (!l) {
      const int e = errno;
      return bpf::errno_error(e, std::string("attach ") + bpf_program__name(p));
    }
    links.emplace_back(l);
    const std::string point = point_of(bpf_program__name(p));
    if (seen.insert(point).second) points.push_back(point);
  }
  return {};
}

}  // namespace

Result<Tracer> Tracer::start(const TraceOptions& opt) {
  auto notice = opt.notice ? opt.notice
                           : [](const std::string& s) { std::fprintf(stderr, "%s\n", s.c_str()); };
  bpf::init_libbpf();
  if (auto c = check(opt); !c) return c.error();
  auto impl = std::make_unique<Impl>();
  impl->rt_off = realtime_offset();
  auto key = resolve_key(opt);
  if (!key) return key.error();
  impl->key_id = *key;
  auto origin = trace_origin(opt);
  if (!origin) return origin.error();
  impl->origin = *origin;
  uint32_t netns_ino = 0, ifindex = 0;
  if (auto s = resolve_place(opt, netns_ino, ifindex); !s) return s.error();

  auto m = load_main(opt, notice, impl->key_id, netns_ino, ifindex, impl->origin);
  if (!m) return m.error();
  impl->skel = std::move(m->skel);
  impl->kind = m->variant == Variant::raw_tp ? "raw_tp" : "tp_btf";
  impl->fentry = m->variant == Variant::fentry_tp_btf;
  if (auto a = attach_main(m->progs, impl->links, impl->points); !a) return a.error();
  if (auto t = attach_targets(*impl, opt, notice, netns_ino, ifindex); !t) return t.error();
  impl->rb =
      ring_buffer__new(bpf_map__fd(impl->skel->maps.events), &Impl::on_event, impl.get(), nullptr);
  if (!impl->rb) return bpf::errno_error(errno, "ring buffer");
  return Tracer(std::move(impl));
}

Result<int> Tracer::poll(int timeout_ms, const std::function<void(const Event&)>& cb) {
  if (!impl_ || !impl_->rb) return make_error(EBADF, "tracer stopped");
  impl_->cb = &cb;
  const int n = ring_buffer__poll(impl_->rb, timeout_ms);
  impl_->cb = nullptr;
  if (n < 0 && n != -EINTR) return bpf::errno_error(-n, "ring buffer poll");
  return n < 0 ? 0 : n;
}

void Tracer::stop() {
  if (impl_) impl_->close();
}

TraceStats Tracer::stats() const {
  TraceStats s;
  if (!impl_) return s;
  s.received = impl_->received;
  if (impl_->skel) {
    s.emitted = __atomic_load_n(&impl_->skel->bss->emitted, __ATOMIC_RELAXED);
    s.lost = __atomic_load_n(&impl_->skel->bss->lost, __ATOMIC_RELAXED);
    s.foreign = __atomic_load_n(&impl_->skel->bss->foreign, __ATOMIC_RELAXED);
    for (const auto& x : impl_->extra) {
      s.emitted += __atomic_load_n(&x->bss->emitted, __ATOMIC_RELAXED);
      s.lost += __atomic_load_n(&x->bss->lost, __ATOMIC_RELAXED);
      s.foreign += __atomic_load_n(&x->bss->foreign, __ATOMIC_RELAXED);
    }
  }
  return s;
}

std::vector<XdpCount> Tracer::xdp_counts() const {
  std::vector<XdpCount> out;
  if (!impl_ || !impl_->skel) return out;
  const int fd = bpf_map__fd(impl_->skel->maps.xdp_counts);
  xdpkv_xdp_count_key k{}, next{};
  xdpkv_xdp_count_key* prev = nullptr;
  while (!bpf_map_get_next_key(fd, prev, &next)) {
    uint64_t v = 0;
    if (!bpf_map_lookup_elem(fd, &next, &v)) {
      out.push_back({next.point < XDPKV_XP_NPOINTS ? kXdpNames[next.point] : "?", next.prog_id,
                     next.ifindex, static_cast<int32_t>(next.action), v});
    }
    k = next;
    prev = &k;
  }
  return out;
}

const std::string& Tracer::attach_kind() const { return impl_->kind; }
const std::vector<std::string>& Tracer::points() const { return impl_->points; }
bool Tracer::fentry() const { return impl_->fentry; }
int Tracer::key_id() const { return impl_->key_id; }

}  // namespace xdpkv::trace
