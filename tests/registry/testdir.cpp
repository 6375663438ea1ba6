// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#include "testdir.hpp"

#include <ftw.h>
#include <grp.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <cstring>

namespace xdpkv::test {

TestDir::TestDir(const char* mode) {
  static std::atomic<int> counter{0};
  const std::string id = std::to_string(::getpid()) + "-" + std::to_string(counter++);
  mnt_ = "/tmp/xdpkv-bpffs-" + id;
  remove_tree(mnt_ + "/reg");
  ::umount2(mnt_.c_str(), MNT_DETACH);
  ::rmdir(mnt_.c_str());
  // A bpffs of this test only: the host's /sys/fs/bpf may be missing, 0700 or 1777.
  const std::string opts = mode ? std::string("mode=") + mode : std::string();
  if (::mkdir(mnt_.c_str(), 0755) != 0 ||
      ::mount("bpf", mnt_.c_str(), "bpf", 0, opts.empty() ? nullptr : opts.c_str()) != 0)
    ADD_FAILURE() << "cannot mount a private bpffs on " << mnt_ << ": " << std::strerror(errno);
  path_ = mnt_ + "/reg";
}

TestDir::~TestDir() {
  remove_tree(path_);
  ::umount2(mnt_.c_str(), MNT_DETACH);
  ::rmdir(mnt_.c_str());
}

void remove_tree(const std::string& path) {
  ::nftw(
      path.c_str(),
      [](const char* p, const struct stat*, int, struct FTW*) {
        ::remove(p);
        return 0;
      },
      16, FTW_DEPTH | FTW_PHYS);
}

RegistryOptions options(const std::string& dir, bool create, std::vector<std::string>* notices) {
  RegistryOptions o;
  o.dir = dir;
  o.create = create;
  if (notices) o.notice = [notices](const std::string& m) { notices->push_back(m); };
  return o;
}

RegistryOptions readonly_options(const std::string& dir) {
  RegistryOptions o;
  o.dir = dir;
  o.readonly = true;
  return o;
}

int in_child(const std::function<int(int out_fd)>& fn, std::string* out) {
  int p[2];
  if (::pipe(p)) return -1;
  pid_t pid = ::fork();
  if (pid < 0) return -1;
  if (pid == 0) {
    ::close(p[0]);
    int rc = fn(p[1]);
    ::_exit(rc);
  }
  ::close(p[1]);
  char buf[4096];
  ssize_t n;
  std::string got;
  while ((n = ::read(p[0], buf, sizeof(buf))) > 0) got.append(buf, n);
  ::close(p[0]);
  int status = 0;
  ::waitpid(pid, &status, 0);
  if (out) *out = got;
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

void say(int fd, const std::string& s) {
  ssize_t n = ::write(fd, s.data(), s.size());
  (void)n;
}

int as_nobody(const std::function<int(int)>& fn, std::string* out) {
  return in_child(
      [&](int fd) {
        if (::setgroups(0, nullptr) || ::setgid(kNobody) || ::setuid(kNobody)) return 20;
        return fn(fd);
      },
      out);
}

std::string describe(const std::vector<RegistryEntry>& l) {
  std::string s;
  for (auto& e : l) s += std::to_string(e.id) + ":" + e.name + "/" + std::to_string(e.size) + " ";
  return s;
}

}  // namespace xdpkv::test
