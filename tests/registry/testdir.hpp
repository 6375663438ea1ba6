// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
// Helpers of the registry tests: a private bpffs directory per test.
#pragma once

#include <gtest/gtest.h>

#include <sys/types.h>

#include <functional>
#include <string>
#include <vector>

#include <xdpkv/registry.hpp>

namespace xdpkv::test {

// A registry directory on a private bpffs: the constructor mounts a bpffs of
// this test alone on /tmp/xdpkv-bpffs-<pid>-<n> (mode: its root's mode=
// option, default the kernel's) and path() is its subdirectory "reg", not
// created (tests check creation). The destructor removes it and unmounts,
// also when the test fails. The host's /sys/fs/bpf is never used.
class TestDir {
 public:
  explicit TestDir(const char* mode = nullptr);
  ~TestDir();
  TestDir(const TestDir&) = delete;
  TestDir& operator=(const TestDir&) = delete;
  const std::string& path() const { return path_; }
  std::string pin() const { return path_ + "/registry"; }
  const std::string& mount_point() const { return mnt_; }

 private:
  std::string mnt_;
  std::string path_;
};

// Removes a directory tree (pins, subdirectories); ignores errors.
void remove_tree(const std::string& path);

// Options for a test registry whose notices are collected in *notices.
RegistryOptions options(const std::string& dir, bool create = true,
                        std::vector<std::string>* notices = nullptr);

// Options to open dir read-only.
RegistryOptions readonly_options(const std::string& dir);

// Runs fn in a child process; returns its exit status (fn's return value),
// and whatever the child wrote to the pipe fd it is given.
int in_child(const std::function<int(int out_fd)>& fn, std::string* out = nullptr);

// Writes s to fd (a child's pipe).
void say(int fd, const std::string& s);

// Runs fn as uid/gid nobody in a child; fn's result is the exit status.
constexpr uid_t kNobody = 65534;
int as_nobody(const std::function<int(int)>& fn, std::string* out);

// The id every test name maps to in a listing, for comparisons.
std::string describe(const std::vector<RegistryEntry>& l);

}  // namespace xdpkv::test

// Unwraps a Result in a test, failing it with the error's message.
#define XDPKV_ASSERT_OK(expr)                                                \
  ({                                                                         \
    auto&& xdpkv_r_ = (expr);                                                \
    ASSERT_TRUE(xdpkv_r_.ok()) << #expr << ": " << xdpkv_r_.error().message; \
    std::move(*xdpkv_r_);                                                    \
  })
