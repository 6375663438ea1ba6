// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#include "testdir.hpp"

#include <ftw.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>

namespace xdpkv::test {

TestDir::TestDir() {
  static std::atomic<int> counter{0};
  path_ = "/sys/fs/bpf/xdpkv-test-" + std::to_string(::getpid()) + "-" + std::to_string(counter++);
  remove_tree(path_);
}

TestDir::~TestDir() { remove_tree(path_); }

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
  if (notices)
    o.notice = [notices](const std::string& m) { notices->push_back(m); };
  return o;
}

RegistryOptions readonly_options(const std::string& dir) {
  RegistryOptions o;
  o.dir = dir;
  o.readonly = true;
  return o;
}

std::string describe(const std::vector<RegistryEntry>& l) {
  std::string s;
  for (auto& e : l) s += std::to_string(e.id) + ":" + e.name + "/" + std::to_string(e.size) + " ";
  return s;
}

}  // namespace xdpkv::test
