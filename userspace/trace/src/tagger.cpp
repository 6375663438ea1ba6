// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
// `xdpkv tag`: attaches tagger.bpf.c (beside this folder) through libxdp and pins it,
// so that it outlives this process and a later `tag --detach` finds it.
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <net/if.h>
#include <sys/stat.h>
#include <unistd.h>
#include <xdp/libxdp.h>

#include <cstdio>
#include <cstring>
#include <functional>
#include <vector>

#include <xdpkv/bpf_util.hpp>
#include <xdpkv/features.hpp>
#include <xdpkv/fs.hpp>
#include <xdpkv/nsscope.hpp>
#include <xdpkv/registry.hpp>
#include <xdpkv/trace.hpp>

#include "xdpkv_tagger.skel.h"

namespace xdpkv::trace {

Result<xdpkv_tag_stats> tag_stats(int cpu_map_fd) {
  const int ncpu = libbpf_num_possible_cpus();
  if (ncpu <= 0) return make_error(-ncpu, "possible CPUs");
  std::vector<xdpkv_tag_cpu> v(static_cast<size_t>(ncpu));  // 64 bytes: no per-CPU padding
  uint32_t zero = 0;
  if (bpf_map_lookup_elem(cpu_map_fd, &zero, v.data()))
    return bpf::errno_error(errno, "read stats");
  xdpkv_tag_stats s{};
  for (const auto& c : v) {
    s.seen += c.stats.seen;
    s.matched += c.stats.matched;
    s.tagged += c.stats.tagged;
    s.failed += c.stats.failed;
    s.bursts += c.stats.bursts;
    s.sampled += c.stats.sampled;
  }
  return s;
}

namespace {

// libxdp explains its dispatcher fallback at info level; we say it ourselves.
int quiet_libxdp(enum libxdp_print_level, const char*, va_list) { return 0; }

struct Place {
  int ifindex = 0;
  uint64_t netns_ino = 0;
};

// ifindex and netns inode, resolved in the caller's current namespace.
Result<Place> place_here(const std::string& ifname) {
  Place p;
  p.ifindex = static_cast<int>(if_nametoindex(ifname.c_str()));
  if (!p.ifindex) return bpf::errno_error(errno, "interface " + ifname);
  struct stat st {};
  if (stat("/proc/thread-self/ns/net", &st)) return bpf::errno_error(errno, "stat netns");
  p.netns_ino = st.st_ino;
  return p;
}

std::string pin_path(const std::string& dir, const Place& p) {
  return dir + "/tag/" + std::to_string(p.netns_ino) + "_" + std::to_string(p.ifindex);
}

uint32_t prog_id_of(int fd) {
  bpf_prog_info info{};
  uint32_t len = sizeof(info);
  if (bpf_obj_get_info_by_fd(fd, &info, &len)) return 0;
  return info.id;
}

// Is program `id` running on ifindex (alone or in libxdp's dispatcher)?
bool attached_here(uint32_t id, int ifindex, xdp_attach_mode* mode) {
  xdp_multiprog* mp = xdp_multiprog__get_from_ifindex(ifindex);
  if (!mp || libxdp_get_error(mp)) return false;
  bool found = false;
  if (xdp_multiprog__is_legacy(mp)) {
    xdp_program* m = xdp_multiprog__main_prog(mp);
    found = m && xdp_program__id(m) == id;
  } else {
    for (xdp_program* p = xdp_multiprog__next_prog(nullptr, mp); p;
         p = xdp_multiprog__next_prog(p, mp))
      if (xdp_program__id(p) == id) found = true;
  }
  if (mode) *mode = xdp_multiprog__attach_mode(mp);
  xdp_multiprog__close(mp);
  return found;
}

Result<xdpkv_tag_stats> read_stats(int prog_fd) {
  bpf_prog_info info{};
  uint32_t len = sizeof(info);
  uint32_t map_ids[8] = {};
  info.nr_map_ids = 8;
  info.map_ids = reinterpret_cast<uint64_t>(map_ids);
  if (bpf_obj_get_info_by_fd(prog_fd, &info, &len)) return bpf::errno_error(errno, "program info");
  for (uint32_t i = 0; i < info.nr_map_ids && i < 8; i++) {
    bpf::UniqueFd m(bpf_map_get_fd_by_id(map_ids[i]));
    if (!m) continue;
    bpf_map_info mi{};
    uint32_t ml = sizeof(mi);
    if (bpf_obj_get_info_by_fd(m.get(), &mi, &ml)) continue;
    if (std::strcmp(mi.name, "xdpkv_tag_cpu") == 0 && mi.type == BPF_MAP_TYPE_PERCPU_ARRAY &&
        mi.value_size == sizeof(xdpkv_tag_cpu))
      return tag_stats(m.get());
  }
  return make_error(ENOENT, "the tagger has no statistics map");
}

}  // namespace

Status check(const TagOptions& opt) {
  if (opt.sample < 1)
    return make_error(EINVAL, "--sample " + std::to_string(opt.sample) + " is out of range (>= 1)");
  if (opt.netns.find('/') != std::string::npos)
    return make_error(EINVAL, "--netns takes a name from 'ip netns'");
  if (auto f = parse_filter(opt.filter); !f) return f.error();
  return {};
}

namespace {

using Notice = std::function<void(const std::string&)>;

// The key's id and size, registering it (8 bytes) when it is new.
Status resolve_key(Registry& reg, const std::string& key, const Notice& notice, TagInfo& info) {
  if (auto e = reg.lookup(key)) {
    info.key_id = e->id;
    info.key_size = e->size;
    return {};
  } else if (e.error().code != ENOENT) {
    return e.error();
  }
  auto id = reg.register_key(key, 8, KeyScope::packet);
  if (!id) return id.error();
  info.key_id = *id;
  info.key_size = 8;
  notice("registered key '" + key + "' (8 bytes) as id " + std::to_string(*id));
  return {};
}

// What attach_tagger() needs and leaves behind, in the interface's netns.
struct Attach {
  const TagOptions& opt;
  const xdpkv_tag_filter& filter;
  const std::string& ids_pin;
  bpf::UniqueFd ids;  // the host's id counter, once pinned
  TagInfo& info;
  uint32_t origin = 0;  // the host's origin mark, stored with every id
  bpf::Skeleton<xdpkv_tagger> skel{nullptr, nullptr};
  xdp_program* prog = nullptr;
  const char* how = "native";
  bool legacy = true;
  ~Attach() { xdp_program__close(prog); }
};

Result<bpf::Skeleton<xdpkv_tagger>> open_tagger(const Attach& a) {
  auto s = bpf::open_skeleton(xdpkv_tagger__open, xdpkv_tagger__destroy, "xdpkv_tagger");
  if (!s) return s.error();
  auto* ro = (*s)->rodata;
  ro->key_packet_id = static_cast<uint32_t>(a.info.key_id);
  ro->key_size = a.info.key_size;
  ro->sample = a.opt.sample;
  ro->with_hints = a.opt.hints;
  ro->per_packet = a.opt.per_packet;
  ro->xdpkv_origin = a.origin;
  std::memcpy(const_cast<xdpkv_tag_filter*>(&ro->filter), &a.filter, sizeof(a.filter));
  // One id counter per host: every tagger shares the pinned map.
  if (a.ids && bpf_map__reuse_fd((*s)->maps.xdpkv_tag_ids, a.ids.get()))
    return bpf::errno_error(errno, "reuse " + a.ids_pin);
  return s;
}

int attach_mode(Attach& a) {
  a.how = "native";
  int e = xdp_program__attach(a.prog, a.info.ifindex, XDP_MODE_NATIVE, 0);
  if (e == -EOPNOTSUPP) {
    a.how = "skb (generic: the driver has no native XDP)";
    e = xdp_program__attach(a.prog, a.info.ifindex, XDP_MODE_SKB, 0);
  }
  return e;
}

// libxdp before 1.5.5 on Linux 6.13+ and 6.12.25+: the kernel refuses its
// dispatcher (the slot does not change packet data) and libxdp does not fall
// back. Load the tagger here and give libxdp the loaded program, which it
// attaches alone. The attach's libxdp error (0: attached), or an error.
Result<int> attach_loaded(Attach& a) {
  xdp_program__close(a.prog);  // before the object it was made from goes
  a.prog = nullptr;
  auto skel = open_tagger(a);
  if (!skel) return skel.error();
  if (auto l = bpf::load_skeleton(*skel, xdpkv_tagger__load, "xdpkv_tagger"); !l) return l.error();
  a.skel = std::move(*skel);
  a.prog = xdp_program__from_fd(bpf_program__fd(a.skel->progs.xdpkv_tagger));
  if (long e = libxdp_get_error(a.prog)) {
    a.prog = nullptr;
    return bpf::errno_error(static_cast<int>(-e), "libxdp program");
  }
  return attach_mode(a);
}

// libxdp loads the object itself: as an extension of its dispatcher where the
// kernel allows freplace, as a plain XDP program otherwise.
Status attach_tagger(Attach& a) {
  auto skel = open_tagger(a);
  if (!skel) return skel.error();
  a.skel = std::move(*skel);
  a.prog = xdp_program__from_bpf_obj(a.skel->obj, "xdp");
  if (long e = libxdp_get_error(a.prog)) {
    a.prog = nullptr;
    return bpf::errno_error(static_cast<int>(-e), "libxdp program");
  }
  // libxdp makes its state directory for a dispatcher; where it falls back
  // to a single program the directory stays empty: leave bpffs as found.
  const bool had_libxdp_dir = access("/sys/fs/bpf/xdp", F_OK) == 0;
  Result<int> err = attach_mode(a);
  if (*err == -EINVAL && features::get(features::Cap::freplace).ok) err = attach_loaded(a);
  if (!had_libxdp_dir) (void)rmdir("/sys/fs/bpf/xdp");  // fails (kept) when not empty
  if (!err) return err.error();
  if (*err) {
    char buf[256];
    libxdp_strerror(*err, buf, sizeof buf);
    return make_error(-*err, "attach the tagger to " + a.opt.ifname + " (libxdp): " + buf);
  }
  return {};
}

// How the tagger runs on the interface, for TagInfo::mode.
void describe_mode(Attach& a) {
  a.info.prog_id = xdp_program__id(a.prog);
  if (xdp_multiprog* mp = xdp_multiprog__get_from_ifindex(a.info.ifindex);
      mp && !libxdp_get_error(mp)) {
    a.legacy = xdp_multiprog__is_legacy(mp);
    if (!a.legacy) {
      a.info.mode = "libxdp dispatcher (" + std::to_string(xdp_multiprog__program_count(mp)) +
                    " program(s) on " + a.opt.ifname + "), " + a.how;
    }
    xdp_multiprog__close(mp);
  }
  if (a.legacy) {
    a.info.mode = "alone: libxdp's dispatcher is not available (" + features::why_no_dispatcher() +
                  "), " + a.how;
  }
}

// The pin of a tagger already on the interface: refused while its program
// runs there, removed when it is stale.
Status refuse_second(const TagInfo& info, const std::string& ifname) {
  if (auto s = fs::check_pin(info.pin, "tag pin"); !s) return s;
  bpf::UniqueFd old(bpf_obj_get(info.pin.c_str()));
  if (!old) return {};
  const uint32_t id = prog_id_of(old.get());
  if (attached_here(id, info.ifindex, nullptr)) {
    return make_error(EEXIST, ifname + " already has an xdpkv tagger (program id " +
                                  std::to_string(id) + "); detach it first: xdpkv tag --detach " +
                                  ifname);
  }
  unlink(info.pin.c_str());  // stale: its program was removed by someone else
  return {};
}

// In the interface's netns: attach, pin the program (and, for the first
// tagger on the host, the id counter).
Status attach_here(Attach& a, const std::string& dir, const Notice& notice) {
  auto place = place_here(a.opt.ifname);
  if (!place) return place.error();
  a.info.ifindex = place->ifindex;
  a.info.pin = pin_path(dir, *place);
  if (auto s = refuse_second(a.info, a.opt.ifname); !s) return s;
  a.ids = bpf::UniqueFd(bpf_obj_get(a.ids_pin.c_str()));
  if (auto s = attach_tagger(a); !s) return s;
  describe_mode(a);
  if (bpf_obj_pin(xdp_program__fd(a.prog), a.info.pin.c_str())) {
    const int e = errno;
    (void)xdp_program__detach(a.prog, a.info.ifindex, a.legacy ? XDP_MODE_NATIVE : XDP_MODE_UNSPEC,
                              0);
    return bpf::errno_error(e, "pin " + a.info.pin);
  }
  if (!a.ids && bpf_obj_pin(bpf_map__fd(a.skel->maps.xdpkv_tag_ids), a.ids_pin.c_str()) &&
      errno != EEXIST)
    notice("warning: cannot pin " + a.ids_pin + ": " + std::strerror(errno));
  return {};
}

}  // namespace

Result<TagInfo> tag_attach(const TagOptions& opt) {
  const Notice notice = opt.notice ? opt.notice : [](const std::string& s) {
    std::fprintf(stderr, "%s\n", s.c_str());
  };
  if (auto c = check(opt); !c) return c.error();
  const auto filter = parse_filter(opt.filter);
  // Before anything is registered or loaded: the tagger creates stores.
  if (!features::get(features::Cap::grow_meta).ok) {
    return make_error(EOPNOTSUPP, features::refusal(features::Cap::grow_meta, "the tagger"));
  }
  bpf::init_libbpf();
  libxdp_set_print(quiet_libxdp);

  auto reg = Registry::open({.dir = opt.bpffs, .create = true, .notice = opt.notice});
  if (!reg) return reg.error();
  TagInfo info;
  if (auto s = resolve_key(*reg, opt.key, notice, info); !s) return s.error();
  const std::string tag_dir = reg->dir() + "/tag";
  if (mkdir(tag_dir.c_str(), 0700) && errno != EEXIST)
    return bpf::errno_error(errno, "mkdir " + tag_dir);
  // Pins another user could have planted or swapped are refused (fs.hpp).
  if (auto s = fs::check_dir(tag_dir, "tag directory"); !s) return s.error();
  const std::string ids_pin = reg->dir() + "/tag_ids";
  if (auto s = fs::check_pin(ids_pin, "tag id counter pin"); !s) return s.error();
  auto origin = host_origin({.dir = reg->dir(), .create = true, .notice = opt.notice});
  if (!origin) return origin.error();
  Attach a{.opt = opt,
           .filter = *filter,
           .ids_pin = ids_pin,
           .ids = bpf::UniqueFd(),
           .info = info,
           .origin = *origin};
  Status st = net::in_netns(opt.netns, [&]() { return attach_here(a, reg->dir(), notice); });
  if (!st) return st.error();
  return info;
}

namespace {

// Finds our pinned tagger for ifname and runs fn(prog_fd, info) in its netns.
Status with_tagger(const std::string& ifname, const std::string& netns, const std::string& bpffs,
                   TagInfo& info, const std::function<Status(int)>& fn) {
  const std::string dir = resolve_registry_dir(bpffs);
  if (auto s = fs::check_dir(dir + "/tag", "tag directory"); !s) return s;
  return net::in_netns(netns, [&]() -> Status {
    auto place = place_here(ifname);
    if (!place) return place.error();
    info.ifindex = place->ifindex;
    info.pin = pin_path(dir, *place);
    if (auto s = fs::check_pin(info.pin, "tag pin"); !s) return s;
    bpf::UniqueFd fd(bpf_obj_get(info.pin.c_str()));
    if (!fd) {
      if (errno == ENOENT)
        return make_error(ENOENT, "no xdpkv tagger on " + ifname + " (no pin " + info.pin + ")");
      return bpf::errno_error(errno, "open " + info.pin);
    }
    info.prog_id = prog_id_of(fd.get());
    return fn(fd.get());
  });
}

}  // namespace

Result<TagInfo> tag_detach(const std::string& ifname, const std::string& netns,
                           const std::string& bpffs) {
  libxdp_set_print(quiet_libxdp);
  TagInfo info;
  Status st = with_tagger(ifname, netns, bpffs, info, [&](int) -> Status {
    xdp_attach_mode mode = XDP_MODE_UNSPEC;
    if (!attached_here(info.prog_id, info.ifindex, &mode)) {
      unlink(info.pin.c_str());
      return make_error(ENOENT, "the tagger (program id " + std::to_string(info.prog_id) +
                                    ") is no longer attached to " + ifname + "; removed its pin");
    }
    xdp_program* p = xdp_program__from_id(info.prog_id);
    if (long e = libxdp_get_error(p))
      return bpf::errno_error(static_cast<int>(-e), "libxdp program");
    int err = xdp_program__detach(p, info.ifindex, mode, 0);
    xdp_program__close(p);
    if (err) {
      char buf[256];
      libxdp_strerror(err, buf, sizeof buf);
      return make_error(-err, "detach the tagger from " + ifname + " (libxdp): " + buf);
    }
    if (unlink(info.pin.c_str())) return bpf::errno_error(errno, "unlink " + info.pin);
    return {};
  });
  if (!st) return st.error();
  return info;
}

Result<TagInfo> tag_status(const std::string& ifname, const std::string& netns,
                           const std::string& bpffs) {
  TagInfo info;
  Status st = with_tagger(ifname, netns, bpffs, info, [&](int fd) -> Status {
    auto s = read_stats(fd);
    if (!s) return s.error();
    info.stats = *s;
    return {};
  });
  if (!st) return st.error();
  return info;
}

}  // namespace xdpkv::trace
