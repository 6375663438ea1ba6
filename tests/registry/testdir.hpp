// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
// Helpers of the registry tests: a private bpffs directory per test.
#pragma once

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include <xdpkv/registry.hpp>

namespace xdpkv::test {

// /sys/fs/bpf/xdpkv-test-<pid>-<n>: not created by the constructor (tests
// check creation), removed with everything in it by the destructor, also
// when the test fails.
class TestDir {
 public:
  TestDir();
  ~TestDir();
  TestDir(const TestDir&) = delete;
  TestDir& operator=(const TestDir&) = delete;
  const std::string& path() const { return path_; }
  std::string pin() const { return path_ + "/registry"; }

 private:
  std::string path_;
};

// Removes a directory tree (pins, subdirectories); ignores errors.
void remove_tree(const std::string& path);

// Options for a test registry whose notices are collected in *notices.
RegistryOptions options(const std::string& dir, bool create = true,
                        std::vector<std::string>* notices = nullptr);

// Options to open dir read-only.
RegistryOptions readonly_options(const std::string& dir);

// The id every test name maps to in a listing, for comparisons.
std::string describe(const std::vector<RegistryEntry>& l);

}  // namespace xdpkv::test

// Unwraps a Result in a test, failing it with the error's message.
#define XDPKV_ASSERT_OK(expr)                                                       \
  ({                                                                              \
    auto&& xdpkv_r_ = (expr);                                                     \
    ASSERT_TRUE(xdpkv_r_.ok()) << #expr << ": " << xdpkv_r_.error().message;      \
    std::move(*xdpkv_r_);                                                         \
  })
