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

#include <xdpkv/bpf_util.hpp>
#include <xdpkv/features.hpp>
#include <xdpkv/hints.hpp>
#include <xdpkv/registry.hpp>
#include <xdpkv/trace.hpp>

#include "xdpkv_tagger.skel.h"

namespace xdpkv::trace {
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
    // The .bss map: struct xdpkv_tag_stats is its first member.
    if (std::strstr(mi.name, ".bss") && mi.value_size >= sizeof(xdpkv_tag_stats)) {
      std::vector<uint8_t> v(mi.value_size);
      uint32_t zero = 0;
      if (bpf_map_lookup_elem(m.get(), &zero, v.data()))
        return bpf::errno_error(errno, "read .bss");
      xdpkv_tag_stats s;
      std::memcpy(&s, v.data(), sizeof(s));
      return s;
    }
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

Result<TagInfo> tag_attach(const TagOptions& opt) {
  auto notice = opt.notice ? opt.notice
                           : [](const std::string& s) { std::fprintf(stderr, "%s\n", s.c_str()); };
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
  if (auto e = reg->lookup(opt.key)) {
    info.key_id = e->id;
    info.key_size = e->size;
  } else if (e.error().code == ENOENT) {
    auto id = reg->register_key(opt.key, 8);
    if (!id) return id.error();
    info.key_id = *id;
    info.key_size = 8;
    notice("registered key '" + opt.key + "' (8 bytes) as id " + std::to_string(*id));
  } else {
    return e.error();
  }
  const std::string tag_dir = reg->dir() + "/tag";
  if (mkdir(tag_dir.c_str(), 0700) && errno != EEXIST)
    return bpf::errno_error(errno, "mkdir " + tag_dir);
  const std::string ids_pin = reg->dir() + "/tag_ids";

  Status st = hints::in_netns(opt.netns, [&]() -> Status {
    auto place = place_here(opt.ifname);
    if (!place) return place.error();
    info.ifindex = place->ifindex;
    info.pin = pin_path(reg->dir(), *place);
    if (bpf::UniqueFd old(bpf_obj_get(info.pin.c_str())); old) {
      const uint32_t id = prog_id_of(old.get());
      if (attached_here(id, info.ifindex, nullptr)) {
        return make_error(EEXIST, opt.ifname + " already has an xdpkv tagger (program id " +
                                      std::to_string(id) +
                                      "); detach it first: xdpkv tag --detach " + opt.ifname);
      }
      unlink(info.pin.c_str());  // stale: its program was removed by someone else
    }

    // One id counter per host: every tagger shares the pinned map.
    bpf::UniqueFd ids(bpf_obj_get(ids_pin.c_str()));
    auto open_tagger = [&]() -> Result<bpf::Skeleton<xdpkv_tagger>> {
      auto s = bpf::open_skeleton(xdpkv_tagger__open, xdpkv_tagger__destroy, "xdpkv_tagger");
      if (!s) return s.error();
      auto* ro = (*s)->rodata;
      ro->key_packet_id = static_cast<uint32_t>(info.key_id);
      ro->key_size = info.key_size;
      ro->sample = opt.sample;
      ro->with_hints = opt.hints;
      std::memcpy(const_cast<xdpkv_tag_filter*>(&ro->filter), &*filter, sizeof(*filter));
      if (ids && bpf_map__reuse_fd((*s)->maps.xdpkv_tag_ids, ids.get()))
        return bpf::errno_error(errno, "reuse " + ids_pin);
      return s;
    };
    auto skel = open_tagger();
    if (!skel) return skel.error();

    // libxdp loads the object itself: as an extension of its dispatcher where
    // the kernel allows freplace, as a plain XDP program otherwise.
    xdp_program* prog = xdp_program__from_bpf_obj((*skel)->obj, "xdp");
    if (long e = libxdp_get_error(prog))
      return bpf::errno_error(static_cast<int>(-e), "libxdp program");
    struct Close {
      xdp_program* p;
      ~Close() { xdp_program__close(p); }
    } close_prog{prog};
    const char* how = "native";
    // libxdp makes its state directory for a dispatcher; where it falls back
    // to a single program the directory stays empty: leave bpffs as found.
    const bool had_libxdp_dir = access("/sys/fs/bpf/xdp", F_OK) == 0;
    auto attach = [&](xdp_program* p) {
      how = "native";
      int e = xdp_program__attach(p, info.ifindex, XDP_MODE_NATIVE, 0);
      if (e == -EOPNOTSUPP) {
        how = "skb (generic: the driver has no native XDP)";
        e = xdp_program__attach(p, info.ifindex, XDP_MODE_SKB, 0);
      }
      return e;
    };
    int err = attach(prog);
    if (err == -EINVAL && features::get(features::Cap::freplace).ok) {
      // libxdp before 1.5.5 on Linux 6.13+ and 6.12.25+: the kernel refuses
      // its dispatcher (the slot does not change packet data) and libxdp does
      // not fall back. Load the tagger here and give libxdp the loaded program,
      // which it attaches alone.
      skel = open_tagger();
      if (!skel) return skel.error();
      if (auto l = bpf::load_skeleton(*skel, xdpkv_tagger__load, "xdpkv_tagger"); !l)
        return l.error();
      xdp_program__close(prog);
      prog = close_prog.p = xdp_program__from_fd(bpf_program__fd((*skel)->progs.xdpkv_tagger));
      if (long e = libxdp_get_error(prog)) {
        prog = close_prog.p = nullptr;
        return bpf::errno_error(static_cast<int>(-e), "libxdp program");
      }
      err = attach(prog);
    }
    if (!had_libxdp_dir) (void)rmdir("/sys/fs/bpf/xdp");  // fails (kept) when not empty
    if (err) {
      char buf[256];
      libxdp_strerror(err, buf, sizeof buf);
      return make_error(-err, "attach the tagger to " + opt.ifname + " (libxdp): " + buf);
    }
    const int fd = xdp_program__fd(prog);
    info.prog_id = xdp_program__id(prog);
    bool legacy = true;
    if (xdp_multiprog* mp = xdp_multiprog__get_from_ifindex(info.ifindex);
        mp && !libxdp_get_error(mp)) {
      legacy = xdp_multiprog__is_legacy(mp);
      if (!legacy) {
        info.mode = "libxdp dispatcher (" + std::to_string(xdp_multiprog__program_count(mp)) +
                    " program(s) on " + opt.ifname + "), " + how;
      }
      xdp_multiprog__close(mp);
    }
    if (legacy) {
      info.mode = "alone: libxdp's dispatcher is not available (" + features::why_no_dispatcher() +
                  "), " + how;
    }
    if (bpf_obj_pin(fd, info.pin.c_str())) {
      const int e = errno;
      (void)xdp_program__detach(prog, info.ifindex, legacy ? XDP_MODE_NATIVE : XDP_MODE_UNSPEC, 0);
      return bpf::errno_error(e, "pin " + info.pin);
    }
    if (!ids) {
      // First tagger on this host: pin its counter for the next ones.
      if (bpf_obj_pin(bpf_map__fd((*skel)->maps.xdpkv_tag_ids), ids_pin.c_str()) && errno != EEXIST)
        notice("warning: cannot pin " + ids_pin + ": " + std::strerror(errno));
    }
    return {};
  });
  if (!st) return st.error();
  return info;
}

namespace {

// Finds our pinned tagger for ifname and runs fn(prog_fd, info) in its netns.
Status with_tagger(const std::string& ifname, const std::string& netns, const std::string& bpffs,
                   TagInfo& info, const std::function<Status(int)>& fn) {
  const std::string dir = resolve_registry_dir(bpffs);
  return hints::in_netns(netns, [&]() -> Status {
    auto place = place_here(ifname);
    if (!place) return place.error();
    info.ifindex = place->ifindex;
    info.pin = pin_path(dir, *place);
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
