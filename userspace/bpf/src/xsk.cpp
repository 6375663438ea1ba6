// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#include <sys/mman.h>
#include <xdp/xsk.h>

#include <algorithm>
#include <cstring>
#include <vector>

#include <xdpkv/format.h>
#include <xdpkv/bpf_util.hpp>
#include <xdpkv/xsk.hpp>

namespace xdpkv::bpf {
namespace {
constexpr uint32_t kFrames = 4096;
constexpr uint32_t kFrameSize = XSK_UMEM__DEFAULT_FRAME_SIZE;
// The kernel puts the frame XDP_PACKET_HEADROOM (256) into its chunk, the
// metadata right below it: a reader may look at most that far back.
constexpr uint32_t kHeadroom = 256;
}  // namespace

struct XskSocket::State {
  void* area = MAP_FAILED;
  size_t size = 0;
  bool clear_recycled = true;
  xsk_umem* umem = nullptr;
  xsk_socket* xsk = nullptr;
  xsk_ring_prod fill{};
  xsk_ring_cons comp{};
  xsk_ring_cons rx{};
  ~State() {
    if (xsk) xsk_socket__delete(xsk);
    if (umem) xsk_umem__delete(umem);
    if (area != MAP_FAILED) munmap(area, size);
  }
  void refill(std::span<const uint64_t> addrs) {
    uint32_t idx = 0;
    const auto n = static_cast<uint32_t>(addrs.size());
    const uint32_t got = xsk_ring_prod__reserve(&fill, n, &idx);
    for (uint32_t i = 0; i < got; i++) *xsk_ring_prod__fill_addr(&fill, idx + i) = addrs[i];
    xsk_ring_prod__submit(&fill, got);
  }
};

XskSocket::XskSocket() : st_(std::make_unique<State>()) {}
XskSocket::XskSocket(XskSocket&&) noexcept = default;
XskSocket& XskSocket::operator=(XskSocket&&) noexcept = default;
XskSocket::~XskSocket() = default;

Result<XskSocket> XskSocket::create(const std::string& ifname, uint32_t queue, int xsks_map_fd,
                                    const Options& opt) {
  if (opt.frames == 0 || opt.frames > kFrames)
    return make_error(EINVAL, "AF_XDP socket: frames must be 1.." + std::to_string(kFrames));
  XskSocket sock;
  State& s = *sock.st_;
  s.size = size_t(opt.frames) * kFrameSize;
  s.clear_recycled = opt.clear_recycled;
  s.area = mmap(nullptr, s.size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (s.area == MAP_FAILED) return errno_error(errno, "mmap umem");
  if (int e = xsk_umem__create(&s.umem, s.area, s.size, &s.fill, &s.comp, nullptr))
    return errno_error(e, "xsk_umem__create");
  xsk_socket_config cfg{};
  cfg.rx_size = XSK_RING_CONS__DEFAULT_NUM_DESCS;
  cfg.tx_size = XSK_RING_PROD__DEFAULT_NUM_DESCS;
  cfg.libxdp_flags = XSK_LIBXDP_FLAGS__INHIBIT_PROG_LOAD;  // the caller's program redirects
  cfg.bind_flags = XDP_COPY;
  if (int e = xsk_socket__create(&s.xsk, ifname.c_str(), queue, s.umem, &s.rx, nullptr, &cfg)) {
    return errno_error(
        e, "AF_XDP socket on " + ifname + " queue " + std::to_string(queue) + " (copy mode)");
  }
  if (int e = xsk_socket__update_xskmap(s.xsk, xsks_map_fd)) return errno_error(e, "xsks map");
  std::vector<uint64_t> all(std::min<uint32_t>(opt.frames, XSK_RING_PROD__DEFAULT_NUM_DESCS));
  for (size_t i = 0; i < all.size(); i++) all[i] = uint64_t(i) * kFrameSize;
  s.refill(all);
  return sock;
}

int XskSocket::poll(const std::function<void(const XskFrame&)>& fn, uint32_t budget) {
  State& s = *st_;
  uint32_t idx = 0;
  const uint32_t n = xsk_ring_cons__peek(&s.rx, budget, &idx);
  std::vector<uint64_t> addrs(n);
  for (uint32_t i = 0; i < n; i++) {
    const xdp_desc* d = xsk_ring_cons__rx_desc(&s.rx, idx + i);
    addrs[i] = d->addr & ~uint64_t(kFrameSize - 1);
    auto* data = static_cast<uint8_t*>(xsk_umem__get_data(s.area, d->addr));
    uint32_t back =
        static_cast<uint32_t>(std::min<uint64_t>(d->addr % kFrameSize, kHeadroom)) & ~3u;
    back = std::min<uint32_t>(back, XDPKV_META_MAX);
    fn(XskFrame{std::span<const uint8_t>(data - back, back),
                std::span<const uint8_t>(data, d->len)});
    // The next packet in this chunk may carry less metadata, or none (the
    // kernel copies only its own M bytes): it must find zeros, not this one's store.
    if (s.clear_recycled) std::memset(data - back, 0, back);
  }
  xsk_ring_cons__release(&s.rx, n);
  s.refill(addrs);
  return static_cast<int>(n);
}

}  // namespace xdpkv::bpf
