// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
// The check shared by the end-to-end tests of the LB example: after some
// traffic to the VIP, every consumer must have recorded every tagged packet
// with the store the LB wrote, byte for byte.
#pragma once

#include <chrono>
#include <cstdint>
#include <vector>

#include <xdpkv/demo/lb.hpp>

namespace xdpkv::lbcheck {

struct Outcome {
  int complete = 0;  // packet ids seen by every consumer, with the LB's store byte for byte
  int received = 0;  // datagrams read from receiver_fd
};

// Waits (at most `timeout`, draining the ring buffer) until `expected` packet
// ids have a record from every consumer and, if receiver_fd >= 0, that many
// datagrams arrived on it; then checks (gtest EXPECTs) that exactly `expected`
// packet ids were tagged and that every consumer saw each one with err 0, the
// same packet id, flow hash and store bytes as the LB's ingress record.
// Prints one summary line starting with `label`. With an AF_XDP reader, it is
// polled too (its records are the LB_AT_XSK consumer).
Outcome wait_and_check(lb::Deployment& dep, int expected, const std::vector<uint32_t>& consumers,
                       int receiver_fd, lb::XskReader* xsk = nullptr,
                       const char* label = "redirect",
                       std::chrono::milliseconds timeout = std::chrono::seconds(10));

}  // namespace xdpkv::lbcheck
