// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
// xdpkv::fs: trusted directories and pins, and safe output files (fs.hpp).
#include <xdpkv/fs.hpp>

#include <fcntl.h>
#include <linux/magic.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <utility>
#include <vector>

namespace xdpkv::fs {
namespace {

bool trusted_owner(uid_t uid) { return uid == 0 || uid == ::geteuid(); }

std::string mode_of(const struct stat& st) {
  char b[16];
  std::snprintf(b, sizeof(b), "%04o", st.st_mode & 07777);
  return b;
}

// Where a link points, as messages show it; its maker chose the name, so one
// with bytes a terminal would act on is not shown.
std::string link_target(const std::string& path) {
  char b[4096];
  ssize_t n = ::readlink(path.c_str(), b, sizeof(b));
  if (n < 0) return "?";
  std::string t(b, static_cast<size_t>(n));
  for (unsigned char c : t)
    if (c < 0x20 || c >= 0x7f) return "a name with unprintable bytes";
  return t;
}

Error not_owned(const std::string& name, const struct stat& st, const char* verb) {
  return make_error(EPERM, name + " is owned by uid " + std::to_string(st.st_uid) + " (mode " +
                               mode_of(st) + "), not by this user (uid " +
                               std::to_string(::geteuid()) + ") or root: refusing to " + verb);
}

Error symlink_refused(const std::string& name, const std::string& path, const std::string& why) {
  return make_error(ELOOP, name + " is a symbolic link (to " + link_target(path) + ")" + why +
                               ": refusing to follow it");
}

// Every prefix of path that ends at a component: /a, /a/b, /a/b/c.
std::vector<std::string> prefixes(const std::string& path) {
  std::vector<std::string> out;
  for (size_t i = 1; i <= path.size(); i++) {
    if ((i == path.size() || path[i] == '/') && path[i - 1] != '/')
      out.push_back(path.substr(0, i));
  }
  if (out.empty()) out.push_back(path);
  return out;
}

bool on_bpffs(const std::string& path) {
  struct statfs sf {};
  return ::statfs(path.c_str(), &sf) == 0 && static_cast<unsigned long>(sf.f_type) == BPF_FS_MAGIC;
}

// One directory of the walk; st from lstat (or stat, through a trusted link).
Status check_one(const std::string& name, const struct stat& st) {
  if (!trusted_owner(st.st_uid)) return not_owned(name, st, "use it");
  if ((st.st_mode & (S_IWGRP | S_IWOTH)) && !(st.st_mode & S_ISVTX)) {
    return make_error(EPERM, name + " is writable by other users without the sticky bit (mode " +
                                 mode_of(st) + ", owner uid " + std::to_string(st.st_uid) +
                                 "): another user could replace what is in it; refusing to use it");
  }
  return {};
}

}  // namespace

Status check_dir(const std::string& path, const std::string& what) {
  const std::vector<std::string> parts = prefixes(path);
  bool bpffs = false;
  for (size_t i = 0; i < parts.size(); i++) {
    const std::string& p = parts[i];
    const bool last = i + 1 == parts.size();
    const std::string name =
        last ? what + " " + p : "directory " + p + " (above " + what + " " + path + ")";
    struct stat st {};
    // Absent or unsearchable: whoever creates or opens through it says why.
    if (::lstat(p.c_str(), &st) != 0) return {};
    if (S_ISLNK(st.st_mode)) {
      if (bpffs) return symlink_refused(name, p, " on a bpf filesystem");
      if (!trusted_owner(st.st_uid)) {
        return symlink_refused(name, p,
                               " owned by uid " + std::to_string(st.st_uid) +
                                   ", not by this user (uid " + std::to_string(::geteuid()) +
                                   ") or root");
      }
      if (::stat(p.c_str(), &st) != 0) return {};
    }
    if (!S_ISDIR(st.st_mode)) return {};
    bpffs = bpffs || on_bpffs(p);
    if (!bpffs && !last) continue;  // above the mount point: not ours to judge
    if (auto s = check_one(name, st); !s) return s;
  }
  return {};
}

Status check_pin(const std::string& path, const std::string& what) {
  struct stat st {};
  if (::lstat(path.c_str(), &st) != 0) return {};  // the open that follows reports it
  const std::string name = what + " " + path;
  if (S_ISLNK(st.st_mode)) return symlink_refused(name, path, "");
  if (!trusted_owner(st.st_uid)) return not_owned(name, st, "use it");
  return {};
}

// ---- OutputFile ---------------------------------------------------------------

namespace {

// Opens an existing FIFO or character device for writing in place (no
// truncation, no rename: renaming over /dev/null would replace it).
Result<bpf::UniqueFd> open_in_place(const std::string& path) {
  bpf::UniqueFd fd(::open(path.c_str(), O_WRONLY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY));
  if (!fd) return make_error(errno, "cannot open " + path + ": " + std::strerror(errno));
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0)
    return make_error(errno, "cannot stat " + path + ": " + std::strerror(errno));
  // It may have been replaced since the lstat.
  if (!trusted_owner(st.st_uid)) return not_owned("output file " + path, st, "write to it");
  return fd;
}

// A new file of mode 0600 in dir, named after base; its name in *tmp.
Result<bpf::UniqueFd> create_temporary(int dir, const std::string& base, std::string* tmp) {
  timespec ts{};
  ::clock_gettime(CLOCK_MONOTONIC, &ts);
  for (int attempt = 0; attempt < 100; attempt++) {
    // Short enough for NAME_MAX whatever base is.
    *tmp = "." + base.substr(0, 200) + "." + std::to_string(::getpid()) + "-" +
           std::to_string((ts.tv_nsec + attempt) % 1000000) + ".tmp";
    int fd =
        ::openat(dir, tmp->c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd >= 0) return bpf::UniqueFd(fd);
    if (errno != EEXIST) return make_error(errno, std::strerror(errno));
  }
  return make_error(EEXIST, "every temporary name was taken");
}

}  // namespace

Result<OutputFile> OutputFile::create(const std::string& path) {
  const size_t slash = path.rfind('/');
  const std::string dir =
      slash == std::string::npos ? "." : (slash == 0 ? "/" : path.substr(0, slash));
  const std::string base = slash == std::string::npos ? path : path.substr(slash + 1);
  if (base.empty() || base == "." || base == "..")
    return make_error(EISDIR, "cannot write " + path + ": it names a directory, not a file");
  const std::string name = "output file " + path;
  OutputFile out;
  out.path_ = path;
  out.base_ = base;
  struct stat st {};
  if (::lstat(path.c_str(), &st) == 0) {
    if (S_ISLNK(st.st_mode)) return symlink_refused(name, path, "");
    if (S_ISDIR(st.st_mode))
      return make_error(EISDIR, "cannot write " + path + ": it is a directory");
    if (!trusted_owner(st.st_uid)) return not_owned(name, st, "write to it");
    if (S_ISFIFO(st.st_mode) || S_ISCHR(st.st_mode)) {
      auto fd = open_in_place(path);
      if (!fd) return fd.error();
      out.fd_ = std::move(*fd);
      return out;
    }
    if (!S_ISREG(st.st_mode))
      return make_error(EINVAL, "cannot write " + path + ": it is not a regular file");
  }
  out.dir_ = bpf::UniqueFd(::open(dir.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
  if (!out.dir_)
    return make_error(errno, "cannot write " + path + ": " + dir + ": " + std::strerror(errno));
  auto fd = create_temporary(out.dir_.get(), base, &out.tmp_);
  if (!fd) {
    return make_error(fd.error().code, "cannot create a temporary file in " + dir + " for " + path +
                                           ": " + fd.error().message);
  }
  out.fd_ = std::move(*fd);
  return out;
}

OutputFile::OutputFile(OutputFile&& o) noexcept
    : path_(std::move(o.path_)),
      base_(std::move(o.base_)),
      tmp_(std::exchange(o.tmp_, {})),
      dir_(std::move(o.dir_)),
      fd_(std::move(o.fd_)) {}

OutputFile& OutputFile::operator=(OutputFile&& o) noexcept {
  if (this != &o) {
    discard();
    path_ = std::move(o.path_);
    base_ = std::move(o.base_);
    tmp_ = std::exchange(o.tmp_, {});
    dir_ = std::move(o.dir_);
    fd_ = std::move(o.fd_);
  }
  return *this;
}

OutputFile::~OutputFile() { discard(); }

void OutputFile::discard() noexcept {
  fd_ = bpf::UniqueFd();
  if (!tmp_.empty() && dir_) ::unlinkat(dir_.get(), tmp_.c_str(), 0);
  tmp_.clear();
  dir_ = bpf::UniqueFd();
}

Status OutputFile::write(const void* data, size_t n) {
  if (!fd_) return make_error(EBADF, "cannot write " + path_ + ": already closed");
  const auto* p = static_cast<const char*>(data);
  while (n > 0) {
    ssize_t w = ::write(fd_.get(), p, n);
    if (w < 0 && errno == EINTR) continue;
    if (w < 0) return make_error(errno, "cannot write " + path_ + ": " + std::strerror(errno));
    p += w;
    n -= static_cast<size_t>(w);
  }
  return {};
}

Status OutputFile::commit() {
  if (!fd_) return make_error(EBADF, "cannot write " + path_ + ": already closed");
  if (::close(fd_.release()) != 0) {
    const int err = errno;
    discard();
    return make_error(err, "cannot write " + path_ + ": " + std::strerror(err));
  }
  if (!tmp_.empty()) {
    if (::renameat(dir_.get(), tmp_.c_str(), dir_.get(), base_.c_str()) != 0) {
      const int err = errno;
      discard();
      return make_error(
          err, "cannot rename the temporary file onto " + path_ + ": " + std::strerror(err));
    }
    tmp_.clear();
  }
  dir_ = bpf::UniqueFd();
  return {};
}

}  // namespace xdpkv::fs
