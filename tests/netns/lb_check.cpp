// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#include "lb_check.hpp"

#include <gtest/gtest.h>

#include <cstdio>

namespace xdpkv::lbcheck {

Outcome wait_and_check(lb::Deployment& dep, int expected, const std::vector<uint32_t>& consumers,
                       int receiver_fd, lb::XskReader* xsk, const char* label,
                       std::chrono::milliseconds timeout) {
  const lb::Tally t = lb::wait_and_tally(dep, expected, consumers, receiver_fd, xsk, timeout);
  EXPECT_EQ(t.tagged, static_cast<size_t>(expected)) << "packet ids tagged";
  EXPECT_EQ(t.identical, t.complete) << "records that differ from the LB's";
  for (const auto& p : t.problems) ADD_FAILURE() << p;
  std::printf("%s: %d packets sent, %s\n", label, expected,
              lb::summary(t, receiver_fd >= 0).c_str());
  return {t.identical, t.delivered};
}

}  // namespace xdpkv::lbcheck
