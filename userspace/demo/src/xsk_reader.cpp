// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
// The AF_XDP consumer of the LB example (copy mode, libxdp's xsk API).
#include <sys/mman.h>
#include <xdp/xsk.h>

#include <algorithm>
#include <cstring>

#include <xdpkv/codec.hpp>

#include <xdpkv/lb.hpp>

namespace xdpkv::lb {

namespace {
constexpr uint32_t kFrames = 4096;
constexpr uint32_t kFrameSize = XSK_UMEM__DEFAULT_FRAME_SIZE;
// The kernel puts the frame XDP_PACKET_HEADROOM (256) into its chunk, the
// metadata right below it: a reader may look at most that far back.
constexpr uint32_t kHeadroom = 256;
}  // namespace

struct XskReader::State {
  void* area = MAP_FAILED;
  size_t size = size_t(kFrames) * kFrameSize;
  xsk_umem* umem = nullptr;
  xsk_socket* xsk = nullptr;
  xsk_ring_prod fill{};
  xsk_ring_cons comp{};
  xsk_ring_cons rx{};
  KeyIds keys;
  XskOptions opt;
  XskStats stats;
  ~State() {
    if (xsk) xsk_socket__delete(xsk);
    if (umem) xsk_umem__delete(umem);
    if (area != MAP_FAILED) munmap(area, size);
  }
};

Result<XskReader> XskReader::create(net::Topology& topo, Deployment& dep, KeyIds keys,
                                    const XskOptions& opt) {
  if (opt.frames == 0 || opt.frames > kFrames)
    return make_error(EINVAL, "AF_XDP reader: frames must be 1.." + std::to_string(kFrames));
  XskReader r;
  r.st_ = std::make_unique<State>();
  State& s = *r.st_;
  s.keys = keys;
  s.opt = opt;
  s.size = size_t(opt.frames) * kFrameSize;
  s.area = mmap(nullptr, s.size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (s.area == MAP_FAILED) return bpf::errno_error(errno, "mmap umem");
  // The umem's fd becomes the first socket: create it inside the namespace,
  // or the socket binds to an interface of the caller's namespace.
  auto in_be = net::NsScope::enter(topo.backend);
  if (!in_be) return in_be.error();
  if (int e = xsk_umem__create(&s.umem, s.area, s.size, &s.fill, &s.comp, nullptr))
    return bpf::errno_error(e, "xsk_umem__create");
  xsk_socket_config cfg{};
  cfg.rx_size = XSK_RING_CONS__DEFAULT_NUM_DESCS;
  cfg.tx_size = XSK_RING_PROD__DEFAULT_NUM_DESCS;
  cfg.libxdp_flags = XSK_LIBXDP_FLAGS__INHIBIT_PROG_LOAD;  // lb_backend redirects to us
  cfg.bind_flags = XDP_COPY;
  if (int e = xsk_socket__create(&s.xsk, topo.be.ifname.c_str(), 0, s.umem, &s.rx, nullptr, &cfg))
    return bpf::errno_error(e, "AF_XDP socket on " + topo.be.ifname + " queue 0 (copy mode)");
  if (int e = xsk_socket__update_xskmap(s.xsk, dep.xsks_map_fd()))
    return bpf::errno_error(e, "xsks map");
  uint32_t idx = 0;
  uint32_t n = xsk_ring_prod__reserve(
      &s.fill, std::min<uint32_t>(opt.frames, XSK_RING_PROD__DEFAULT_NUM_DESCS), &idx);
  for (uint32_t i = 0; i < n; i++) *xsk_ring_prod__fill_addr(&s.fill, idx + i) = uint64_t(i) * kFrameSize;
  xsk_ring_prod__submit(&s.fill, n);
  return r;
}

XskReader::XskReader(XskReader&& o) noexcept : st_(std::move(o.st_)) {}
XskStats XskReader::stats() const { return st_->stats; }
XskReader::~XskReader() = default;

int XskReader::poll(Deployment& dep) {
  State& s = *st_;
  uint32_t idx = 0;
  uint64_t addrs[64];
  uint32_t n = xsk_ring_cons__peek(&s.rx, 64, &idx);
  for (uint32_t i = 0; i < n; i++) {
    const xdp_desc* d = xsk_ring_cons__rx_desc(&s.rx, idx + i);
    addrs[i] = d->addr & ~uint64_t(kFrameSize - 1);
    uint8_t* data = static_cast<uint8_t*>(xsk_umem__get_data(s.area, d->addr));
    // The area below data, bounded by the headroom (never below the chunk).
    uint64_t in_chunk = d->addr % kFrameSize;
    uint32_t back = static_cast<uint32_t>(std::min<uint64_t>(in_chunk, kHeadroom)) & ~3u;
    back = std::min<uint32_t>(back, XDPKV_META_MAX);
    View v(std::span<const uint8_t>(data - back, back));
    lb_rec rec{};
    rec.consumer = LB_AT_XSK;
    uint8_t b[8] = {};
    rec.err = v.validate();
    if (!rec.err && v.get(s.keys.packet_id, b) == 8) std::memcpy(&rec.packet_id, b, 8);
    else if (!rec.err) rec.err = -ENOENT;
    if (!rec.err && v.get(s.keys.flow_hash, b) == 4) std::memcpy(&rec.flow_hash, b, 4);
    if (!rec.err && v.get(s.keys.backend_id, b) == 4) std::memcpy(&rec.backend, b, 4);
    // Record the bytes below data like the BPF consumers do.
    rec.meta_len = static_cast<uint32_t>(v.store_size());
    rec.store_len = std::min<uint32_t>(LB_REC_STORE, back);
    std::memcpy(rec.store + LB_REC_STORE - rec.store_len, data - rec.store_len, rec.store_len);
    s.stats.frames++;
    if (!rec.err) {
      s.stats.with_id++;
      dep.add(rec);
    } else if (rec.err == -ENOENT) {
      s.stats.no_id++;
    } else {
      s.stats.malformed++;
    }
    // The next packet in this chunk may carry less metadata, or none (the
    // kernel copies only its own M bytes): it must find zeros, not this one's store.
    if (s.opt.clear_recycled) std::memset(data - back, 0, back);
  }
  xsk_ring_cons__release(&s.rx, n);
  // Give the frames back.
  uint32_t fidx = 0;
  uint32_t got = xsk_ring_prod__reserve(&s.fill, n, &fidx);
  for (uint32_t i = 0; i < got; i++)
    *xsk_ring_prod__fill_addr(&s.fill, fidx + i) = addrs[i];
  xsk_ring_prod__submit(&s.fill, got);
  return static_cast<int>(n);
}

}  // namespace xdpkv::lb
