// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
// The host's origin mark (docs/FORMAT.md "Reserved keys", key 59): one random,
// nonzero u32 per registry directory, kept in a frozen one-entry array pinned
// as DIR/origin. Writers store it, readers that apply or report a store
// require it, so bytes that only look like a store (outer headers after a
// decap) are never taken for one. The same value on every packet: GRO still
// merges.
#include <bpf/bpf.h>
#include <sys/random.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <string>

#include <xdpkv/bpf_util.hpp>
#include <xdpkv/fs.hpp>
#include <xdpkv/registry.hpp>

#include "internal.hpp"

namespace xdpkv {
namespace {

constexpr int kAttempts = 5;

// The mark held by an opened pin, after checking that it is an origin map.
Result<uint32_t> read_mark(int fd, const std::string& path) {
  bpf_map_info info{};
  uint32_t len = sizeof(info);
  if (bpf_obj_get_info_by_fd(fd, &info, &len)) return bpf::errno_error(errno, "inspect " + path);
  if (info.type != BPF_MAP_TYPE_ARRAY || info.key_size != 4 ||
      info.value_size != XDPKV_ORIGIN_SIZE || info.max_entries != 1) {
    return make_error(EBADMSG, path + " is not an xdpkv origin map (a one-entry array of " +
                                   std::to_string(XDPKV_ORIGIN_SIZE) +
                                   "-byte values); left untouched");
  }
  const uint32_t key = 0;
  uint32_t mark = 0;
  if (bpf_map_lookup_elem(fd, &key, &mark)) return bpf::errno_error(errno, "read " + path);
  if (!mark) return make_error(EBADMSG, path + " holds 0, which is no mark; left untouched");
  return mark;
}

Result<uint32_t> random_mark() {
  uint32_t mark = 0;
  while (!mark) {
    if (getrandom(&mark, sizeof(mark), 0) != sizeof(mark))
      return bpf::errno_error(errno, "getrandom for the origin mark");
  }
  return mark;
}

// A frozen map holding a new mark, pinned at path. EEXIST: another creator won.
Result<uint32_t> create_pin(const std::string& path) {
  auto mark = random_mark();
  if (!mark) return mark.error();
  LIBBPF_OPTS(bpf_map_create_opts, mo, .map_flags = BPF_F_RDONLY_PROG);
  bpf::UniqueFd fd(
      bpf_map_create(BPF_MAP_TYPE_ARRAY, "xdpkv_origin", 4, XDPKV_ORIGIN_SIZE, 1, &mo));
  if (!fd) return bpf::errno_error(errno, "create the origin map for " + path);
  const uint32_t key = 0;
  // Frozen before it is pinned: nobody, root included, can change a mark in use.
  if (bpf_map_update_elem(fd.get(), &key, &*mark, BPF_ANY) || bpf_map_freeze(fd.get()))
    return bpf::errno_error(errno, "fill the origin map for " + path);
  if (bpf_obj_pin(fd.get(), path.c_str())) return bpf::errno_error(errno, "pin " + path);
  return *mark;
}

Error open_error(int err, const std::string& path) {
  if (err == ENOENT) {
    return make_error(ENOENT, "no origin mark at " + path +
                                  " (no xdpkv writer has used this directory since boot)");
  }
  if (err == EINVAL) return make_error(EINVAL, path + " is not a pinned BPF object");
  return bpf::errno_error(err, "cannot open " + path);
}

}  // namespace

Result<uint32_t> host_origin(const RegistryOptions& opts) {
  bpf::init_libbpf();
  const std::string dir = resolve_registry_dir(opts.dir);
  const bool create = opts.create && !opts.readonly;
  detail::Notice notice = opts.notice ? opts.notice : [](const std::string& m) {
    std::fprintf(stderr, "xdpkv: %s\n", m.c_str());
  };
  if (auto s = detail::prepare_dir(dir, create, notice); !s) return s.error();
  const std::string path = dir + "/" XDPKV_ORIGIN_PIN;
  // bpf_obj_get follows symbolic links; prepare_dir made sure no other user
  // can swap the pin after this check.
  if (auto s = fs::check_pin(path, "origin pin"); !s) return s.error();
  for (int attempt = 0; attempt < kAttempts; attempt++) {
    LIBBPF_OPTS(bpf_obj_get_opts, go, .file_flags = BPF_F_RDONLY);
    bpf::UniqueFd fd(bpf_obj_get_opts(path.c_str(), &go));
    if (fd) return read_mark(fd.get(), path);
    const int err = errno;
    if (err != ENOENT || !create) return open_error(err, path);
    auto made = create_pin(path);
    if (made || made.error().code != EEXIST) return made;
  }
  return make_error(EAGAIN,
                    "could not open or create " + path + " (concurrent creators kept racing)");
}

}  // namespace xdpkv
