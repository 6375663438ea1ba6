// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
// The tracer: loads xdp/progs/trace.bpf.c with the best attach type the
// kernel allows (fentry + tp_btf, tp_btf, raw_tp; each refusal is said once),
// reads its ring buffer and turns raw events into trace::Event.
#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>
#include <fcntl.h>
#include <net/if.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <mutex>
#include <regex>
#include <set>
#include <unordered_map>

#include <xdpkv/bpf_util.hpp>
#include <xdpkv/hints.hpp>
#include <xdpkv/registry.hpp>
#include <xdpkv/trace.hpp>

#include "xdpkv_trace.skel.h"

namespace xdpkv::trace {
namespace {

constexpr const char* kPointNames[XDPKV_TP_NPOINTS] = {
    "netif_receive_skb",  "napi_gro_receive_entry",
    "net_dev_queue",      "net_dev_start_xmit",
    "net_dev_xmit",       "skb_copy_datagram_iovec",
    "kfree_skb",          "consume_skb",
    "cgroup_skb/ingress", "fentry"};
// trace.bpf.c's XDPKV_FENTRY indexes.
constexpr const char* kFentryNames[] = {"ip_rcv", "ip_local_deliver", "udp_rcv", "tcp_v4_rcv"};
constexpr const char* kXdpNames[XDPKV_XP_NPOINTS] = {"xdp_exception",        "xdp_redirect",
                                                     "xdp_redirect_err",     "xdp_redirect_map",
                                                     "xdp_redirect_map_err", "xdp_devmap_xmit"};

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

// pwru's tuple format: SRC:SPORT->DST:DPORT(proto), from the frame copy.
std::string parse_tuple(const uint8_t* d, size_t n, bool l2) {
  size_t off = 0;
  uint16_t proto = 0;
  if (l2) {
    if (n < 14) return "";
    proto = uint16_t(d[12] << 8 | d[13]);
    off = 14;
    if ((proto == 0x8100 || proto == 0x88a8) && n >= 18) {
      proto = uint16_t(d[16] << 8 | d[17]);
      off = 18;
    }
  } else {
    if (n < 1) return "";
    proto = (d[0] >> 4) == 6 ? 0x86dd : (d[0] >> 4) == 4 ? 0x0800 : 0;
  }
  uint8_t l4 = 0;
  size_t l4off = 0;
  std::string src, dst;
  if (proto == 0x0800) {
    if (n < off + 20) return "";
    l4 = d[off + 9];
    l4off = off + (d[off] & 0xf) * 4u;
    src = ip_str(d + off + 12, false);
    dst = ip_str(d + off + 16, false);
  } else if (proto == 0x86dd) {
    if (n < off + 40) return "";
    l4 = d[off + 6];
    l4off = off + 40;
    src = ip_str(d + off + 8, true);
    dst = ip_str(d + off + 24, true);
  } else {
    return "";
  }
  const char* pn = l4 == 17   ? "udp"
                   : l4 == 6  ? "tcp"
                   : l4 == 1  ? "icmp"
                   : l4 == 58 ? "icmp6"
                              : nullptr;
  std::string name = pn ? pn : std::to_string(l4);
  if ((l4 == 17 || l4 == 6) && n >= l4off + 4) {
    const unsigned sp = d[l4off] << 8 | d[l4off + 1], dp = d[l4off + 2] << 8 | d[l4off + 3];
    return src + ":" + std::to_string(sp) + "->" + dst + ":" + std::to_string(dp) + "(" + name +
           ")";
  }
  return src + "->" + dst + "(" + name + ")";
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
  return p == "cg_ingress" ? "cgroup_skb/ingress" : p.substr(3);
}

// Where cgroup v2 is mounted ("" if nowhere): the socket-delivery hook attaches to its root.
std::string cgroup2_root() {
  std::FILE* f = std::fopen("/proc/self/mounts", "r");
  if (!f) return "";
  char dev[256], dir[512], type[64];
  std::string root;
  while (std::fscanf(f, "%255s %511s %63s %*[^\n]", dev, dir, type) == 3)
    if (std::string(type) == "cgroup2") {
      root = dir;
      break;
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

struct Tracer::Impl {
  bpf::Skeleton<xdpkv_trace> skel{nullptr, xdpkv_trace__destroy};
  std::vector<Link> links;
  ring_buffer* rb = nullptr;
  std::string kind;
  std::vector<std::string> points;
  bool fentry = false;
  int key_id = -1;
  uint64_t rt_off = 0;
  uint64_t received = 0;
  const std::function<void(const Event&)>* cb = nullptr;
  // Names of devices whose events came without a device (socket queues).
  std::map<std::pair<uint32_t, uint32_t>, std::string> ifnames;

  ~Impl() { close(); }
  void close() {
    if (rb) ring_buffer__free(rb);
    rb = nullptr;
    links.clear();
    skel.reset();
  }

  static int on_event(void* ctx, void* data, size_t size) {
    auto* self = static_cast<Impl*>(ctx);
    if (size < sizeof(xdpkv_trace_event)) return 0;
    const auto* r = static_cast<const xdpkv_trace_event*>(data);
    Event e;
    e.time_ns = r->time_ns + self->rt_off;
    e.id = r->id;
    e.followed = (r->flags & XDPKV_TEV_FOLLOWED) != 0;
    e.skb = r->skb;
    e.cpu = r->cpu;
    e.netns = r->netns;
    e.ifindex = r->ifindex;
    e.iface.assign(r->ifname, strnlen(r->ifname, sizeof r->ifname));
    auto key = std::make_pair(r->netns, r->ifindex);
    if (!e.iface.empty())
      self->ifnames[key] = e.iface;
    else if (auto it = self->ifnames.find(key); it != self->ifnames.end())
      e.iface = it->second;
    e.len = r->len;
    if (r->point == XDPKV_TP_FENTRY)
      e.point = r->func_id < std::size(kFentryNames) ? kFentryNames[r->func_id] : "fentry";
    else
      e.point = r->point < XDPKV_TP_NPOINTS ? kPointNames[r->point] : "?";
    if (r->point == XDPKV_TP_KFREE_SKB) e.reason = drop_reason_name(r->reason);
    const size_t m = std::min<size_t>(r->meta_len, sizeof r->meta);
    e.meta.assign(r->meta, r->meta + m);
    const size_t c = std::min<size_t>(r->cap_len, sizeof r->data);
    e.frame.assign(r->data, r->data + c);
    e.frame_len = r->frame_len;
    e.l2 = r->l2 != 0;
    e.tuple = parse_tuple(r->data, c, e.l2);
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
                    uint32_t ifindex) {
  auto* ro = s->rodata;
  ro->key_id = static_cast<uint32_t>(key_id);
  ro->value_lo = opt.value_lo;
  ro->value_hi = opt.value_hi;
  ro->filter_netns = netns_ino;
  ro->filter_ifindex = ifindex;
  ro->follow = opt.follow;
  if (bpf_map__set_max_entries(s->maps.events, opt.ringbuf_bytes))
    return bpf::errno_error(errno, "ring buffer size");
  return {};
}

// Chooses the programs of one variant that the regex and the kernel allow.
std::vector<bpf_program*> select_programs(xdpkv_trace* s, Variant v, const std::regex* re) {
  std::vector<bpf_program*> keep;
  bpf_program* p;
  bpf_object__for_each_program(p, s->obj) {
    const std::string name = bpf_program__name(p);
    const std::string point = point_of(name.c_str());
    bool want = false;
    if (name == "cg_ingress")
      want = !cgroup2_root().empty() && has_function("bpf_cast_to_kern_ctx");
    else if (name.rfind("fe_", 0) == 0)
      want = v == Variant::fentry_tp_btf && has_function(point);
    else if (name.rfind("tb_", 0) == 0)
      want = v != Variant::raw_tp && has_tracepoint(point);
    else if (name.rfind("rt_", 0) == 0)
      want = v == Variant::raw_tp && has_tracepoint(point);
    if (want && re && !std::regex_search(point, *re)) want = false;
    bpf_program__set_autoload(p, want);
    if (want) keep.push_back(p);
  }
  return keep;
}

}  // namespace

Result<Tracer> Tracer::start(const TraceOptions& opt) {
  auto notice = opt.notice ? opt.notice
                           : [](const std::string& s) { std::fprintf(stderr, "%s\n", s.c_str()); };
  bpf::init_libbpf();
  auto impl = std::make_unique<Impl>();
  impl->rt_off = realtime_offset();
  if (opt.ringbuf_bytes < 4096 || (opt.ringbuf_bytes & (opt.ringbuf_bytes - 1)))
    return make_error(EINVAL, "ring buffer size must be a power of 2 and at least 4096");
  if (opt.value_lo > opt.value_hi) return make_error(EINVAL, "empty id range");

  // The key.
  impl->key_id = opt.key_id;
  if (impl->key_id < 0) {
    auto reg = Registry::open({.dir = opt.bpffs, .readonly = true, .notice = opt.notice});
    if (!reg) return reg.error();
    auto e = reg->lookup(opt.key);
    if (!e) return e.error();
    impl->key_id = e->id;
  } else if (impl->key_id > XDPKV_MAX_KEY) {
    return make_error(EINVAL, "key id " + std::to_string(opt.key_id) + " > 63");
  }

  // Where.
  uint32_t netns_ino = 0, ifindex = 0;
  if (!opt.netns.empty() || !opt.iface.empty()) {
    Status s = hints::in_netns(opt.netns, [&]() -> Status {
      struct stat st {};
      if (stat("/proc/thread-self/ns/net", &st)) return bpf::errno_error(errno, "stat netns");
      if (!opt.netns.empty()) netns_ino = static_cast<uint32_t>(st.st_ino);
      if (!opt.iface.empty()) {
        ifindex = if_nametoindex(opt.iface.c_str());
        if (!ifindex) return bpf::errno_error(errno, "interface " + opt.iface);
      }
      return {};
    });
    if (!s) return s.error();
  }
  std::optional<std::regex> re;
  if (!opt.points.empty()) {
    try {
      re.emplace(opt.points, std::regex::ECMAScript);
    } catch (const std::regex_error& e) {
      return make_error(EINVAL, "--points: bad regex '" + opt.points + "': " + e.what());
    }
  }

  // Load: fentry + tp_btf, else tp_btf, else raw_tp.
  std::vector<Variant> order;
  if (!opt.force_raw_tp) {
    if (opt.try_fentry) order.push_back(Variant::fentry_tp_btf);
    order.push_back(Variant::tp_btf);
  }
  order.push_back(Variant::raw_tp);
  std::vector<bpf_program*> progs;
  Error last{};
  bool loaded = false;
  for (size_t i = 0; i < order.size() && !loaded; i++) {
    auto s = bpf::open_skeleton(xdpkv_trace__open, xdpkv_trace__destroy, "xdpkv_trace");
    if (!s) return s.error();
    if (auto r = setup_rodata(s->get(), opt, impl->key_id, netns_ino, ifindex); !r)
      return r.error();
    progs = select_programs(s->get(), order[i], re ? &*re : nullptr);
    if (progs.empty())
      return make_error(ENOENT, "no trace point matches --points '" + opt.points + "'");
    bool any_fentry = false;
    for (auto* p : progs) any_fentry |= std::string(bpf_program__name(p)).rfind("fe_", 0) == 0;
    if (order[i] == Variant::fentry_tp_btf && !any_fentry) continue;
    auto l = bpf::load_skeleton(*s, xdpkv_trace__load, "xdpkv_trace");
    if (!l) {
      last = l.error();
      if (order[i] == Variant::fentry_tp_btf)
        notice("note: the kernel refuses fentry programs (" +
               last.message.substr(0, last.message.find('\n')) +
               "): kernel functions are not traced, tracepoints only");
      else if (order[i] == Variant::tp_btf)
        notice("note: the kernel refuses tp_btf programs; using raw tracepoints");
      continue;
    }
    impl->skel = std::move(*s);
    impl->kind = order[i] == Variant::raw_tp ? "raw_tp" : "tp_btf";
    impl->fentry = order[i] == Variant::fentry_tp_btf;
    loaded = true;
  }
  if (!loaded) return last;

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
    impl->links.emplace_back(l);
    const std::string point = point_of(bpf_program__name(p));
    if (seen.insert(point).second) impl->points.push_back(point);
  }
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
    if (!bpf_map_lookup_elem(fd, &next, &v))
      out.push_back({next.point < XDPKV_XP_NPOINTS ? kXdpNames[next.point] : "?", next.prog_id,
                     next.ifindex, static_cast<int32_t>(next.action), v});
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
