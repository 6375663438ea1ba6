// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
// The AF_XDP consumer of the LB (an xdpkv::bpf::XskSocket in copy mode).
#include <algorithm>
#include <cstring>
#include <optional>

#include <xdpkv/codec.hpp>

#include <xdpkv/demo/lb.hpp>

namespace xdpkv::lb {

struct XskReader::State {
  std::optional<bpf::XskSocket> sock;
  KeyIds keys;
  XskStats stats;
};

Result<XskReader> XskReader::create(net::Topology& topo, Deployment& dep, KeyIds keys,
                                    const XskOptions& opt) {
  XskReader r;
  r.st_ = std::make_unique<State>();
  State& s = *r.st_;
  s.keys = keys;
  // The umem's fd becomes the first socket: create it inside the namespace,
  // or the socket binds to an interface of the caller's namespace.
  auto in_be = net::NsScope::enter(topo.backend);
  if (!in_be) return in_be.error();
  auto sock = bpf::XskSocket::create(topo.be.ifname, 0, dep.xsks_map_fd(), opt);
  if (!sock) return sock.error();
  s.sock.emplace(std::move(*sock));
  return r;
}

XskReader::XskReader(XskReader&& o) noexcept : st_(std::move(o.st_)) {}
XskStats XskReader::stats() const { return st_->stats; }
XskReader::~XskReader() = default;

int XskReader::poll(Deployment& dep) {
  State& s = *st_;
  return s.sock->poll([&](const bpf::XskFrame& f) {
    View v(f.below);
    lb_rec rec{};
    rec.consumer = LB_AT_XSK;
    uint8_t b[8] = {};
    rec.err = v.validate();
    if (!rec.err && v.get(s.keys.packet_id, b) == 8) {
      std::memcpy(&rec.packet_id, b, 8);
    } else if (!rec.err) {
      rec.err = -ENOENT;
    }
    if (!rec.err && v.get(s.keys.flow_hash, b) == 4) std::memcpy(&rec.flow_hash, b, 4);
    if (!rec.err && v.get(s.keys.backend_id, b) == 4) std::memcpy(&rec.backend, b, 4);
    // Record the bytes below data like the BPF consumers do.
    rec.meta_len = static_cast<uint32_t>(v.store_size());
    rec.store_len = std::min<uint32_t>(LB_REC_STORE, static_cast<uint32_t>(f.below.size()));
    std::memcpy(rec.store + LB_REC_STORE - rec.store_len,
                f.below.data() + f.below.size() - rec.store_len, rec.store_len);
    s.stats.frames++;
    if (!rec.err) {
      s.stats.with_id++;
      dep.add(rec);
    } else if (rec.err == -ENOENT) {
      s.stats.no_id++;
    } else {
      s.stats.malformed++;
    }
  });
}

}  // namespace xdpkv::lb
