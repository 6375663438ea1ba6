// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
// A minimal pcapng writer: section header, one interface description per
// (netns, device, link type), one enhanced packet block per event with an
// opt_comment (pcap_comment(): the point, the id and the decoded store).
#include <cerrno>
#include <cstring>

#include <xdpkv/bpf_util.hpp>
#include <xdpkv/trace.hpp>

namespace xdpkv::trace {
namespace {

constexpr uint32_t kShb = 0x0a0d0d0a, kIdb = 1, kEpb = 6;
constexpr uint16_t kOptEnd = 0, kOptComment = 1, kOptIfName = 2, kOptTsResol = 9;
constexpr uint16_t kLinkEthernet = 1, kLinkRaw = 101;

void put32(std::vector<uint8_t>& b, uint32_t v) {
  for (int i = 0; i < 4; i++) b.push_back(static_cast<uint8_t>(v >> (8 * i)));
}
void put16(std::vector<uint8_t>& b, uint16_t v) {
  b.push_back(static_cast<uint8_t>(v));
  b.push_back(static_cast<uint8_t>(v >> 8));
}
void pad4(std::vector<uint8_t>& b) {
  while (b.size() % 4) b.push_back(0);
}
void option(std::vector<uint8_t>& b, uint16_t code, const void* v, size_t n) {
  put16(b, code);
  put16(b, static_cast<uint16_t>(n));
  const auto* p = static_cast<const uint8_t*>(v);
  b.insert(b.end(), p, p + n);
  pad4(b);
}
// Wraps a body into a block: type, total length, body, total length.
std::vector<uint8_t> block(uint32_t type, std::vector<uint8_t> body) {
  pad4(body);
  std::vector<uint8_t> b;
  const uint32_t total = static_cast<uint32_t>(body.size() + 12);
  put32(b, type);
  put32(b, total);
  b.insert(b.end(), body.begin(), body.end());
  put32(b, total);
  return b;
}

}  // namespace

Result<PcapWriter> PcapWriter::open(const std::string& path) {
  auto out = fs::OutputFile::create(path);
  if (!out) return out.error();
  PcapWriter w(std::move(*out));
  std::vector<uint8_t> shb;
  put32(shb, 0x1a2b3c4d);  // byte-order magic
  put16(shb, 1);
  put16(shb, 0);
  put32(shb, 0xffffffff);  // section length: unknown
  put32(shb, 0xffffffff);
  const char app[] = "xdpkv trace";
  option(shb, 4 /* shb_userappl */, app, sizeof app - 1);
  option(shb, kOptEnd, nullptr, 0);
  if (auto s = w.put(block(kShb, shb)); !s) return s.error();
  return w;
}

Status PcapWriter::flush() {
  if (buf_.empty()) return {};
  auto s = out_.write(buf_.data(), buf_.size());
  buf_.clear();
  return s;
}

Status PcapWriter::put(const std::vector<uint8_t>& b) {
  buf_.insert(buf_.end(), b.begin(), b.end());
  return buf_.size() >= 65536 ? flush() : Status{};
}

Status PcapWriter::write(const Event& e) {
  const std::string key =
      std::to_string(e.netns) + "/" + std::to_string(e.ifindex) + "/" + (e.l2 ? "eth" : "ip");
  auto it = ifaces_.find(key);
  if (it == ifaces_.end()) {
    std::vector<uint8_t> idb;
    put16(idb, e.l2 ? kLinkEthernet : kLinkRaw);
    put16(idb, 0);
    put32(idb, XDPKV_TRACE_SNAPLEN);
    const std::string name = (e.iface.empty() ? "if" + std::to_string(e.ifindex) : e.iface) +
                             "@netns:" + std::to_string(e.netns);
    option(idb, kOptIfName, name.data(), name.size());
    const uint8_t resol = 9;  // nanoseconds
    option(idb, kOptTsResol, &resol, 1);
    option(idb, kOptEnd, nullptr, 0);
    if (auto s = put(block(kIdb, idb)); !s) return s;
    it = ifaces_.emplace(key, static_cast<uint32_t>(ifaces_.size())).first;
  }
  std::vector<uint8_t> epb;
  put32(epb, it->second);
  put32(epb, static_cast<uint32_t>(e.time_ns >> 32));
  put32(epb, static_cast<uint32_t>(e.time_ns));
  put32(epb, static_cast<uint32_t>(e.frame.size()));
  put32(epb, std::max<uint32_t>(e.frame_len, static_cast<uint32_t>(e.frame.size())));
  epb.insert(epb.end(), e.frame.begin(), e.frame.end());
  pad4(epb);
  const std::string c = pcap_comment(e);
  option(epb, kOptComment, c.data(), c.size());
  option(epb, kOptEnd, nullptr, 0);
  return put(block(kEpb, epb));
}

Status PcapWriter::close() {
  if (auto s = flush(); !s) return s;
  return out_.commit();
}

}  // namespace xdpkv::trace
