// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
// The registry directory: resolution (option > $XDPKV_BPFFS > default),
// "is it on bpffs", mounting bpffs on /sys/fs/bpf when it is missing, mkdir -p,
// and refusing a directory another user could change (fs::check_dir).
#include "internal.hpp"

#include <linux/magic.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include <fcntl.h>

#include <xdpkv/fs.hpp>

namespace xdpkv::detail {
namespace {

constexpr const char* kBpffsRoot = "/sys/fs/bpf";
constexpr const char* kWhat = "registry directory";

std::string fs_name(long type) {
  switch (static_cast<unsigned long>(type)) {
    case BPF_FS_MAGIC: return "bpf";
    case TMPFS_MAGIC: return "tmpfs";
    case EXT4_SUPER_MAGIC: return "ext2/ext3/ext4";
    case BTRFS_SUPER_MAGIC: return "btrfs";
    case XFS_SUPER_MAGIC: return "xfs";
    case OVERLAYFS_SUPER_MAGIC: return "overlayfs";
    case SYSFS_MAGIC: return "sysfs";
    case PROC_SUPER_MAGIC: return "proc";
    case CGROUP2_SUPER_MAGIC: return "cgroup2";
    default: {
      char b[32];
      std::snprintf(b, sizeof(b), "filesystem type 0x%lx", static_cast<unsigned long>(type));
      return b;
    }
  }
}

bool under(const std::string& path, const std::string& root) {
  return path == root || (path.size() > root.size() && path.compare(0, root.size(), root) == 0 &&
                          path[root.size()] == '/');
}

// The longest existing prefix of path (at least "/").
std::string existing_ancestor(const std::string& path) {
  std::string p = path;
  struct stat st;
  while (p.size() > 1 && ::stat(p.c_str(), &st) != 0) {
    size_t slash = p.rfind('/');
    p = slash == 0 ? "/" : p.substr(0, slash);
  }
  return p;
}

Status mkdir_p(const std::string& dir) {
  size_t pos = 1;
  while (true) {
    size_t slash = dir.find('/', pos);
    std::string part = dir.substr(0, slash);
    if (::mkdir(part.c_str(), 0755) != 0 && errno != EEXIST)
      return make_error(errno, "cannot create " + part + ": " + std::strerror(errno));
    if (slash == std::string::npos) break;
    pos = slash + 1;
  }
  return {};
}

}  // namespace

std::string unsearchable_dir(const std::string& path) {
  for (size_t slash = 0; (slash = path.find('/', slash)) != std::string::npos; slash++) {
    const std::string d = slash == 0 ? "/" : path.substr(0, slash);
    if (::faccessat(AT_FDCWD, d.c_str(), X_OK, AT_EACCESS) == 0 || errno != EACCES) continue;
    struct stat st {};
    char b[64];
    if (::stat(d.c_str(), &st) == 0) {
      std::snprintf(b, sizeof(b), "mode %04o (owner %u:%u)", st.st_mode & 07777, st.st_uid,
                    st.st_gid);
    } else {
      std::snprintf(b, sizeof(b), "a mode this process cannot read");
    }
    return "directory " + d + " has " + b + ", which uid " + std::to_string(::geteuid()) +
           " may not search; a reader needs search (x) permission on every directory above the "
           "pin (see docs/REGISTRY.md, Permissions)";
  }
  return {};
}

std::string normalize_dir(std::string d) {
  while (d.size() > 1 && d.back() == '/') d.pop_back();
  return d;
}

Status prepare_dir(const std::string& dir, bool create, const Notice& notice) {
  if (dir.empty() || dir[0] != '/')
    return make_error(EINVAL, "registry directory '" + dir + "' is not an absolute path");
  std::string anc = existing_ancestor(dir);
  struct statfs sf;
  if (::statfs(anc.c_str(), &sf) != 0)
    return make_error(errno, "cannot statfs " + anc + ": " + std::strerror(errno));
  if (static_cast<unsigned long>(sf.f_type) != BPF_FS_MAGIC) {
    if (under(dir, kBpffsRoot) && anc.size() <= std::strlen(kBpffsRoot)) {
      // /sys/fs/bpf itself is not a bpffs mount.
      if (!create) {
        return make_error(ENOENT, std::string("no bpf filesystem is mounted on ") + kBpffsRoot +
                                      " (so no registry exists yet at " + dir + ")");
      }
      if (::mount("bpf", kBpffsRoot, "bpf", 0, "mode=0700") != 0) {
        return make_error(errno, std::string("no bpf filesystem on ") + kBpffsRoot +
                                     " and mounting one failed: " + std::strerror(errno) +
                                     " (mount it with 'mount -t bpf bpf /sys/fs/bpf' as root)");
      }
      notice(std::string("mounted a bpf filesystem on ") + kBpffsRoot + " (none was mounted)");
    } else {
      return make_error(EINVAL, "registry directory " + dir + " is not on a bpf filesystem (" +
                                    (anc == dir ? dir : anc) + " is on " + fs_name(sf.f_type) +
                                    "): pinned maps live on bpffs; use a directory under " +
                                    kBpffsRoot + " or mount one with 'mount -t bpf bpf DIR'");
    }
  }
  // Before anything is created or opened in it.
  if (auto s = fs::check_dir(dir, kWhat); !s) return s;
  struct stat st;
  if (::stat(dir.c_str(), &st) == 0) {
    if (!S_ISDIR(st.st_mode))
      return make_error(ENOTDIR, "registry directory " + dir + " exists and is not a directory");
    return {};
  }
  if (errno != ENOENT) {
    const int err = errno;
    std::string why = unsearchable_dir(dir + "/");
    return make_error(
        err, "cannot stat " + dir + ": " + std::strerror(err) + (why.empty() ? "" : ": " + why));
  }
  if (!create) {
    return make_error(ENOENT,
                      "registry directory " + dir +
                          " does not exist (nothing registered yet; 'xdpkv key add' creates it)");
  }
  if (auto s = mkdir_p(dir); !s) return s;
  // Another user may have made a component between the check and mkdir.
  return fs::check_dir(dir, kWhat);
}

}  // namespace xdpkv::detail
