// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
// Defined outcomes of the LB's tagging program on unusual metadata, through
// BPF_PROG_TEST_RUN (no namespaces needed): full headroom, a store written
// by a foreign program, and the normal case for reference. Never a dropped
// packet, never a changed byte of someone else's metadata.
#include <gtest/gtest.h>

#include <arpa/inet.h>

#include <cstring>

#include <bpf/bpf.h>

#include <xdpkv/bpf_util.hpp>
#include <xdpkv/codec.hpp>
#include <xdpkv/frame.hpp>

#include <xdpkv/demo/lb.h>
#include "xdpkv_lb.skel.h"

namespace xdpkv {
namespace {

constexpr uint32_t kXdpPass = 2, kXdpRedirect = 4;

// A UDP datagram from 10.77.1.1:20000 to vip:7777.
std::vector<uint8_t> udp_to(uint32_t vip) {
  traffic::PacketSpec p;
  inet_pton(AF_INET, "10.77.1.1", &p.src_ip);
  p.dst_ip = vip;
  p.sport = 20000;
  p.dport = 7777;
  p.payload_size = 16;
  return traffic::build_packet(p);
}

struct Lb {
  bpf::Skeleton<xdpkv_lb> skel{nullptr, xdpkv_lb__destroy};
  uint32_t vip = 0;
  int fd() const { return bpf_program__fd(skel->progs.lb_ingress); }
  uint64_t tag_errors() const { return skel->bss->stats[2]; }
};

Lb load() {
  Lb lb;
  bpf::init_libbpf();
  auto s = bpf::open_skeleton(xdpkv_lb__open, xdpkv_lb__destroy, "xdpkv_lb");
  EXPECT_TRUE(s);
  if (!s) return lb;
  inet_pton(AF_INET, "10.77.9.9", &lb.vip);
  (*s)->rodata->vip = lb.vip;
  (*s)->rodata->n_backends = 1;
  auto l = bpf::load_skeleton(*s, xdpkv_lb__load, "xdpkv_lb");
  EXPECT_TRUE(l) << (l ? "" : l.error().message);
  lb.skel = std::move(*s);
  lb_backend be{};
  uint32_t zero = 0;
  EXPECT_EQ(bpf_map_update_elem(bpf_map__fd(lb.skel->maps.backends), &zero, &be, 0), 0);
  bpf_devmap_val dv{};
  dv.ifindex = 1;  // lo: any device will do, test runs do not transmit
  EXPECT_EQ(bpf_map_update_elem(bpf_map__fd(lb.skel->maps.tx_port), &zero, &dv, 0), 0);
  return lb;
}

TEST(LbOutcomes, NormalPacketIsTaggedEncapsulatedRedirected) {
  Lb lb = load();
  ASSERT_TRUE(lb.skel);
  auto pkt = udp_to(lb.vip);
  auto r = bpf::xdp_test_run(lb.fd(), {}, pkt);
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->retval, kXdpRedirect);
  EXPECT_EQ(r->packet.size(), pkt.size() + 20) << "IPIP header added";
  View v(r->meta);
  EXPECT_EQ(v.validate(), 0);
  EXPECT_EQ(v.len(0), 8);
  EXPECT_EQ(v.len(1), 4);
  EXPECT_EQ(v.len(2), 4);
}

TEST(LbOutcomes, FullHeadroomPassesUntaggedAndUntouched) {
  Lb lb = load();
  ASSERT_TRUE(lb.skel);
  // 196 foreign bytes below an empty store: 212 of the 216 bytes in use, so
  // the first 8-byte tag cannot fit.
  std::vector<uint8_t> meta(196, 0xab);
  meta.resize(212, 0);
  auto r = bpf::xdp_test_run(lb.fd(), meta, udp_to(lb.vip));
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->retval, kXdpPass);
  EXPECT_EQ(r->meta, meta) << "metadata must be byte-identical";
  EXPECT_EQ(lb.tag_errors(), 1u);
}

TEST(LbOutcomes, ForeignMetadataIsRefusedNotOverwritten) {
  Lb lb = load();
  ASSERT_TRUE(lb.skel);
  // 8 bytes of a program that does not use xdpkv: malformed for xdpkv.
  const std::vector<uint8_t> foreign{1, 2, 3, 4, 5, 6, 7, 8};
  auto r = bpf::xdp_test_run(lb.fd(), foreign, udp_to(lb.vip));
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->retval, kXdpPass);
  EXPECT_EQ(r->meta, foreign);
  // A header that claims more than the area holds (a foreign 16-byte struct).
  std::vector<uint8_t> claims(16, 0xff);
  r = bpf::xdp_test_run(lb.fd(), claims, udp_to(lb.vip));
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->retval, kXdpPass);
  EXPECT_EQ(r->meta, claims);
  EXPECT_EQ(lb.tag_errors(), 2u);
}

}  // namespace
}  // namespace xdpkv
