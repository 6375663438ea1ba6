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
  struct Options {
    uint32_t frames = 4096;  // umem chunks (all go to the fill ring, at most 2048)
    // Zero the metadata area below data before a chunk goes back to the fill
    // ring, so that a frame arriving with M == 0 reads as an empty store, never
    // as the previous packet's (docs/REDIRECT.md "AF_XDP"). false: tests only.
    bool clear_recycled = true;
  };
  static Result<XskSocket> create(const std::string& ifname, uint32_t queue, int xsks_map_fd,
                                  const Options& opt);
  static Result<XskSocket> create(const std::string& ifname, uint32_t queue, int xsks_map_fd) {
    return create(ifname, queue, xsks_map_fd, Options{});
  }
  XskSocket(XskSocket&&) noexcept;
  XskSocket& operator=(XskSocket&&) noexcept;
  ~XskSocket();
  // Hands every frame waiting on the RX ring (at most `budget`) to fn, then
  // gives the chunks back to the fill ring (cleared below data, see Options).
  // Returns the number handled.
  int poll(const std::function<void(const XskFrame&)>& fn, uint32_t budget = 64);

 private:
  struct State;
  XskSocket();
  std::unique_ptr<State> st_;
};

}  // namespace xdpkv::bpf
