// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
// The hint programs load with the host's origin mark (docs/FORMAT.md
// "Reserved keys"), made on first use in $XDPKV_BPFFS or /sys/fs/bpf/xdpkv.
// A test run must not leave one in the host's directory: this run's own
// directory, set before main() and removed when the process ends.
#pragma once

#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <string>

namespace xdpkv::test {

struct PrivateBpffs {
  std::string dir = "/sys/fs/bpf/xdpkv-hints-test-" + std::to_string(getpid());
  PrivateBpffs() { ::setenv("XDPKV_BPFFS", dir.c_str(), 1); }
  ~PrivateBpffs() {
    std::error_code ec;
    std::filesystem::remove_all(dir, ec);
  }
  PrivateBpffs(const PrivateBpffs&) = delete;
  PrivateBpffs& operator=(const PrivateBpffs&) = delete;
};

inline const PrivateBpffs kPrivateBpffs;

}  // namespace xdpkv::test
