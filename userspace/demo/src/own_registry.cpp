// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
// The demo's key registry: a shared one (--bpffs) or this run's own,
// removed at exit.
#include <dirent.h>
#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <string>

#include <xdpkv/demo/demo.hpp>

namespace xdpkv::demo {
namespace {

// Removes name and, if it is a directory, everything in it, relative to
// parent: by file descriptor, so that it still works when the bpffs it lives
// on was unmounted meanwhile (a lazy umount leaves the mount alive for the
// descriptors that hold it; a path would no longer reach it, and the pins
// would stay on the filesystem for every other mount namespace to see).
int remove_tree_at(int parent, const char* name, int depth = 0) {
  if (!unlinkat(parent, name, 0)) return 0;
  if (errno != EISDIR && errno != EPERM) return errno == ENOENT ? 0 : errno;
  if (depth > 8) return ELOOP;  // the registry's layout is flat; bounded anyway
  int fd = openat(parent, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) return errno;
  DIR* d = fdopendir(fd);
  if (!d) {
    const int e = errno;
    close(fd);
    return e;
  }
  int err = 0;
  while (dirent* e = readdir(d)) {
    if (!std::strcmp(e->d_name, ".") || !std::strcmp(e->d_name, "..")) continue;
    if (int r = remove_tree_at(dirfd(d), e->d_name, depth + 1); r && !err) err = r;
  }
  closedir(d);
  if (unlinkat(parent, name, AT_REMOVEDIR) && errno != ENOENT && !err) err = errno;
  return err;
}

}  // namespace

OwnRegistry::~OwnRegistry() {
  if (own_.empty() || !parent_) return;
  // This run's own directory: every pin in it is the registry's.
  const std::string name = own_.substr(own_.rfind('/') + 1);
  if (int e = remove_tree_at(parent_.get(), name.c_str()))
    std::fprintf(stderr, "xdpkv demo: cannot remove %s: %s\n", own_.c_str(), std::strerror(e));
}

Status OwnRegistry::resolve(const Options& opt, std::span<const KeyBinding> keys) {
  RegistryOptions ro;
  ro.dir = opt.bpffs;
  if (ro.dir.empty()) ro.dir = own_ = "/sys/fs/bpf/xdpkv-demo-" + std::to_string(getpid());
  dir_ = ro.dir;
  ro.create = true;
  ro.notice = [](const std::string& s) { std::printf("%s\n", s.c_str()); };
  auto reg = Registry::open(ro);
  if (!reg) return reg.error();
  if (!own_.empty()) {
    // Held for the removal at exit (see remove_tree_at).
    const std::string parent = own_.substr(0, own_.rfind('/'));
    const int fd = open(parent.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) return bpf::errno_error(errno, "open " + parent);
    parent_ = bpf::UniqueFd(fd);
  }
  if (auto r = resolve_keys(*reg, keys); !r) return r.error();
  // With the keys: what needs the directory is done before it can go away.
  auto origin = host_origin(ro);
  if (!origin) return origin.error();
  origin_ = *origin;
  std::string line = "key ids from the registry in " + ro.dir +
                     (own_.empty() ? "" : " (this run's own, removed at exit)") + ":";
  for (const KeyBinding& k : keys)
    line += " " + std::string(k.name) + "=" + std::to_string(*k.slot);
  std::printf("%s\n", line.c_str());
  return {};
}

}  // namespace xdpkv::demo
