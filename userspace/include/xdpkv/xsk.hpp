// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
// An AF_XDP socket in copy mode on one queue, with its own umem, owned
// (libxdp's xsk API). The XDP program that redirects to it is the caller's:
// the socket is put into the caller's XSKMAP and libxdp loads nothing.
// Create it inside the device's network namespace (net::NsScope).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>

#include <xdpkv/result.hpp>

namespace xdpkv::bpf {

// One received frame. `below` is the part of the frame's umem chunk that lies
// below data, at most the XDP headroom and never outside the chunk, rounded
// down to 4 bytes: where a metadata area can be. Its bytes are whatever the
// last user of the chunk left there unless this packet's producer wrote them.
struct XskFrame {
  std::span<const uint8_t> below;
  std::span<const uint8_t> data;
};

class XskSocket {
 public:
  static Result<XskSocket> create(const std::string& ifname, uint32_t queue, int xsks_map_fd);
  XskSocket(XskSocket&&) noexcept;
  XskSocket& operator=(XskSocket&&) noexcept;
  ~XskSocket();
  // Hands every frame waiting on the RX ring (at most `budget`) to fn, then
  // gives the chunks back to the fill ring. Returns the number handled.
  int poll(const std::function<void(const XskFrame&)>& fn, uint32_t budget = 64);

 private:
  struct State;
  XskSocket();
  std::unique_ptr<State> st_;
};

}  // namespace xdpkv::bpf
