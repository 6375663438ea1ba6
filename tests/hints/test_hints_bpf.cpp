// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
// The BPF side of the hints through BPF_PROG_TEST_RUN: the software capture
// (the BPF build of drivers/toeplitz.h against the published vectors, on
// constructed packets), the store under keys 60-62 and every read path.
#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <time.h>

#include <unistd.h>

#include <cstring>
#include <optional>
#include <string>

#include <xdpkv/bpf_util.hpp>
#include <xdpkv/codec.hpp>
#include <xdpkv/hints.hpp>
#include <xdpkv/netns.hpp>

#include <xdpkv/capture.h>
#include "packets.hpp"
#include "private_bpffs.hpp"
#include "progs/hints_test.h"
#include "vectors.hpp"
#include "xdpkv_capture_sw.skel.h"
#include "xdpkv_hints_run.skel.h"

namespace xdpkv {
namespace {

using hintpkt::frame;
constexpr uint32_t kV4Udp = XDPKV_RSS_L3_IPV4 | XDPKV_RSS_L4 | XDPKV_RSS_L4_UDP;
constexpr uint32_t kV4Tcp = XDPKV_RSS_L3_IPV4 | XDPKV_RSS_L4 | XDPKV_RSS_L4_TCP;
constexpr uint32_t kV6Udp = XDPKV_RSS_L3_IPV6 | XDPKV_RSS_L4 | XDPKV_RSS_L4_UDP;
constexpr uint32_t kV6Tcp = XDPKV_RSS_L3_IPV6 | XDPKV_RSS_L4 | XDPKV_RSS_L4_TCP;

uint64_t mono_ns() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return uint64_t(ts.tv_sec) * 1000000000ull + uint64_t(ts.tv_nsec);
}

class HintsRun : public ::testing::Test {
 protected:
  void SetUp() override {
    bpf::init_libbpf();
    auto s = bpf::open_skeleton(xdpkv_hints_run__open, xdpkv_hints_run__destroy, "hints_run");
    ASSERT_TRUE(s) << s.error().message;
    skel_ = std::move(*s);
    auto l = bpf::load_skeleton(skel_, xdpkv_hints_run__load, "hints_run");
    ASSERT_TRUE(l) << l.error().message;
  }

  // One run; returns the result and the metadata area after it.
  hr_result run(uint32_t op, const std::vector<uint8_t>& pkt, std::vector<uint8_t> meta = {},
                uint32_t want = XDPKV_HINT_PRESENT_MASK, std::vector<uint8_t>* meta_out = nullptr) {
    skel_->bss->op = op;
    skel_->data->want = want;
    auto r = bpf::xdp_test_run(bpf_program__fd(skel_->progs.hints_run), meta, pkt);
    EXPECT_TRUE(r) << (r ? "" : r.error().message);
    if (!r) return {};
    EXPECT_EQ(r->retval, 2u);  // XDP_PASS
    if (meta_out) *meta_out = r->meta;
    hr_result res;
    std::memcpy(&res, const_cast<hr_result*>(&skel_->bss->res), sizeof(res));
    return res;
  }

  // Software capture of pkt: the stored hints must equal what was captured,
  // through every read path.
  hr_result capture(const std::vector<uint8_t>& pkt, std::vector<uint8_t>* meta = nullptr) {
    std::vector<uint8_t> m;
    uint64_t before = mono_ns();
    hr_result r = run(HR_CAPTURE, pkt, {}, XDPKV_HINT_PRESENT_MASK, &m);
    uint64_t after = mono_ns();
    EXPECT_EQ(r.store_rc, 0);
    EXPECT_TRUE(r.captured.flags & XDPKV_HINT_TIMESTAMP_SW);
    EXPECT_GE(r.captured.timestamp, before);
    EXPECT_LE(r.captured.timestamp, after);
    if (r.captured.flags & XDPKV_HINT_HASH) {
      EXPECT_EQ(r.hash_rc, 0);
      EXPECT_EQ(r.hash, r.captured.hash);
      EXPECT_EQ(r.hash_type, r.captured.hash_type);
      EXPECT_EQ(r.buf_rc, 0);
      EXPECT_EQ(r.buf_hash, r.captured.hash);
    } else {
      EXPECT_EQ(r.hash_rc, -ENODATA);
      EXPECT_EQ(r.buf_rc, -ENODATA);
    }
    EXPECT_EQ(r.load_rc, 0);
    EXPECT_EQ(r.loaded.flags, r.captured.flags);
    EXPECT_EQ(r.ts_rc, 0);
    EXPECT_EQ(r.ts, r.captured.timestamp);
    // User space decodes the same bytes.
    hints::Hints h;
    EXPECT_EQ(hints::read(View(m), h), 0);
    EXPECT_EQ(h.flags, r.captured.flags);
    EXPECT_EQ(h.hash, r.captured.hash);
    EXPECT_EQ(h.timestamp, r.captured.timestamp);
    if (meta) *meta = m;
    return r;
  }

  bpf::Skeleton<xdpkv_hints_run> skel_{nullptr, nullptr};
};

TEST_F(HintsRun, SoftwareHashEqualsTheVectorsIpv4) {
  for (const auto& v : hintvec::kIpv4) {
    SCOPED_TRACE(std::string(v.src) + " -> " + v.dst);
    hr_result udp = capture(frame(v.src, v.dst, 17, v.sport, v.dport));
    EXPECT_EQ(udp.captured.flags, XDPKV_HINT_HASH | XDPKV_HINT_HASH_SW | XDPKV_HINT_TIMESTAMP |
                                      XDPKV_HINT_TIMESTAMP_SW);
    EXPECT_EQ(udp.hash, v.l4);
    EXPECT_EQ(udp.hash_type, kV4Udp);
    hr_result tcp = capture(frame(v.src, v.dst, 6, v.sport, v.dport));
    EXPECT_EQ(tcp.hash, v.l4);
    EXPECT_EQ(tcp.hash_type, kV4Tcp);
    hr_result gre = capture(frame(v.src, v.dst, 47, 0, 0));  // no ports: the L3 hash
    EXPECT_EQ(gre.hash, v.l3);
    EXPECT_EQ(gre.hash_type, uint32_t(XDPKV_RSS_L3_IPV4));
    hr_result frag = capture(frame(v.src, v.dst, 17, v.sport, v.dport, {}, true));
    EXPECT_EQ(frag.hash, v.l3) << "fragments hash without ports";
    EXPECT_EQ(frag.hash_type, uint32_t(XDPKV_RSS_L3_IPV4));
  }
}

TEST_F(HintsRun, SoftwareHashEqualsTheVectorsIpv6) {
  for (const auto& v : hintvec::kIpv6) {
    SCOPED_TRACE(std::string(v.src) + " -> " + v.dst);
    hr_result udp = capture(frame(v.src, v.dst, 17, v.sport, v.dport));
    EXPECT_EQ(udp.hash, v.l4);
    EXPECT_EQ(udp.hash_type, kV6Udp);
    hr_result tcp = capture(frame(v.src, v.dst, 6, v.sport, v.dport));
    EXPECT_EQ(tcp.hash, v.l4);
    EXPECT_EQ(tcp.hash_type, kV6Tcp);
    hr_result icmp = capture(frame(v.src, v.dst, 58, 0, 0));
    EXPECT_EQ(icmp.hash, v.l3);
    EXPECT_EQ(icmp.hash_type, uint32_t(XDPKV_RSS_L3_IPV6));
  }
}

TEST_F(HintsRun, VlanTagFromTheFrame) {
  const auto& v = hintvec::kIpv4[0];
  std::vector<uint8_t> meta;
  hr_result r = capture(frame(v.src, v.dst, 17, v.sport, v.dport, {{0x8100, 0x2064}}), &meta);
  EXPECT_EQ(r.captured.flags & (XDPKV_HINT_VLAN | XDPKV_HINT_VLAN_SW),
            XDPKV_HINT_VLAN | XDPKV_HINT_VLAN_SW);
  EXPECT_EQ(r.vlan_rc, 0);
  EXPECT_EQ(ntohs(r.vlan_proto), 0x8100);
  EXPECT_EQ(r.vlan_tci, 0x2064);
  EXPECT_EQ(r.hash, v.l4) << "hash over the IP packet behind the tag";
  // Keys 60, 61, 62 as FORMAT.md's "Reserved keys" says.
  View view(meta);
  EXPECT_EQ(view.len(XDPKV_KEY_HINT_INFO), 8);
  EXPECT_EQ(view.len(XDPKV_KEY_HINT_VLAN), 4);
  EXPECT_EQ(view.len(XDPKV_KEY_HINT_TS), 8);
  EXPECT_EQ(meta.size(), 16u + 8 + 4 + 8);
  uint8_t b[8];
  ASSERT_EQ(view.get(XDPKV_KEY_HINT_VLAN, b), 4);
  EXPECT_EQ(b[0], 0x81);
  EXPECT_EQ(b[1], 0x00);
  EXPECT_EQ(b[2], 0x64);
  EXPECT_EQ(b[3], 0x20);
  // QinQ: the outer tag is the packet's VLAN hint.
  hr_result q = capture(frame(v.src, v.dst, 6, v.sport, v.dport, {{0x88a8, 30}, {0x8100, 100}}));
  EXPECT_EQ(ntohs(q.vlan_proto), 0x88a8);
  EXPECT_EQ(q.vlan_tci, 30);
  EXPECT_EQ(q.hash, v.l4);
}

TEST_F(HintsRun, NonIpFramesHaveNoHash) {
  hr_result r = capture(hintpkt::arp_frame());
  EXPECT_EQ(r.captured.flags, XDPKV_HINT_TIMESTAMP | XDPKV_HINT_TIMESTAMP_SW);
  EXPECT_EQ(r.capture_n, 1);
  EXPECT_EQ(r.hash_rc, -ENODATA);
  EXPECT_EQ(r.vlan_rc, -ENODATA);
  // Asked for the hash only: nothing to store, the area stays empty.
  std::vector<uint8_t> meta;
  hr_result h = run(HR_CAPTURE, hintpkt::arp_frame(), {}, XDPKV_HINT_HASH, &meta);
  EXPECT_EQ(h.capture_n, 0);
  EXPECT_EQ(h.store_rc, 0);
  EXPECT_TRUE(meta.empty());
  EXPECT_EQ(h.load_rc, -ENODATA);
}

TEST_F(HintsRun, CaptureKeepsOtherKeysAndForeignBytes) {
  Builder b;
  ASSERT_EQ(b.set_u32(3, 0x11223344), 0);
  std::vector<uint8_t> meta = {0xf0, 0xf1, 0xf2, 0xf3, 0xf4, 0xf5, 0xf6, 0xf7};
  meta.insert(meta.end(), b.bytes().begin(), b.bytes().end());
  const auto& v = hintvec::kIpv6[1];
  std::vector<uint8_t> out;
  skel_->bss->op = HR_CAPTURE;
  skel_->data->want = XDPKV_HINT_PRESENT_MASK;
  auto r = bpf::xdp_test_run(bpf_program__fd(skel_->progs.hints_run), meta,
                             frame(v.src, v.dst, 17, v.sport, v.dport));
  ASSERT_TRUE(r) << r.error().message;
  View view(r->meta);
  ASSERT_EQ(view.validate(), 0);
  ASSERT_EQ(view.foreign().size(), 8u);
  EXPECT_EQ(view.foreign()[0], 0xf0);
  EXPECT_EQ(view.foreign()[7], 0xf7);
  uint8_t k3[4];
  ASSERT_EQ(view.get(3, k3), 4);
  EXPECT_EQ(k3[0], 0x44);
  hints::Hints h;
  ASSERT_EQ(hints::read(view, h), 0);
  EXPECT_EQ(h.hash, v.l4);
}

TEST_F(HintsRun, ReadsWithoutHintsAndOnForeignMetadata) {
  const auto& v = hintvec::kIpv4[1];
  auto pkt = frame(v.src, v.dst, 17, v.sport, v.dport);
  hr_result none = run(HR_READ, pkt);  // M == 0
  EXPECT_EQ(none.hash_rc, -ENODATA);
  EXPECT_EQ(none.vlan_rc, -ENODATA);
  EXPECT_EQ(none.ts_rc, -ENODATA);
  EXPECT_EQ(none.load_rc, -ENODATA);
  EXPECT_EQ(none.buf_rc, -ENODATA);
  Builder b;
  ASSERT_EQ(b.set_u64(7, 1), 0);
  std::vector<uint8_t> store(b.bytes().begin(), b.bytes().end());
  hr_result other = run(HR_READ, pkt, store);  // a store without key 60
  EXPECT_EQ(other.hash_rc, -ENODATA);
  EXPECT_EQ(other.load_rc, -ENODATA);
  hr_result bad = run(HR_READ, pkt, {1, 2, 3, 4});  // someone else's 4 bytes
  EXPECT_EQ(bad.hash_rc, -EBADMSG);
  EXPECT_EQ(bad.load_rc, -EBADMSG);
  // Keys 61 and 62 left by an earlier store: key 60 says they are not hints now.
  ASSERT_EQ(b.set_u32(XDPKV_KEY_HINT_VLAN, 0x00640081), 0);
  ASSERT_EQ(b.set_u64(XDPKV_KEY_HINT_TS, 99), 0);
  ASSERT_EQ(b.set_u64(XDPKV_KEY_HINT_INFO, xdpkv_hint_info_pack(5, 0, XDPKV_HINT_HASH)), 0);
  store.assign(b.bytes().begin(), b.bytes().end());
  hr_result partial = run(HR_READ, pkt, store);
  EXPECT_EQ(partial.hash_rc, 0);
  EXPECT_EQ(partial.hash, 5u);
  EXPECT_EQ(partial.vlan_rc, -ENODATA);
  EXPECT_EQ(partial.ts_rc, -ENODATA);
}

TEST_F(HintsRun, StoreCleansFlagsAndClears) {
  const auto& v = hintvec::kIpv4[2];
  auto pkt = frame(v.src, v.dst, 17, v.sport, v.dport);
  xdpkv_hints in{};
  in.flags =
      XDPKV_HINT_VLAN | XDPKV_HINT_HASH_SW | XDPKV_HINT_TIMESTAMP_SW;  // SW bits of absent hints
  in.hash = 77;
  in.vlan_proto = htons(0x8100);
  in.vlan_tci = 5;
  std::memcpy(const_cast<xdpkv_hints*>(&skel_->bss->input), &in, sizeof(in));
  std::vector<uint8_t> meta;
  hr_result r = run(HR_STORE, pkt, {}, XDPKV_HINT_PRESENT_MASK, &meta);
  EXPECT_EQ(r.store_rc, 0);
  EXPECT_EQ(r.loaded.flags, uint32_t(XDPKV_HINT_VLAN));
  EXPECT_EQ(r.hash_rc, -ENODATA);
  EXPECT_EQ(r.vlan_tci, 5);
  // Storing "no hints" removes key 60.
  in.flags = 0;
  std::memcpy(const_cast<xdpkv_hints*>(&skel_->bss->input), &in, sizeof(in));
  hr_result cleared = run(HR_STORE, pkt, meta);
  EXPECT_EQ(cleared.store_rc, 0);
  EXPECT_EQ(cleared.load_rc, -ENODATA);
}

TEST_F(HintsRun, NoRoomStoresNoHintsRatherThanWrongOnes) {
  // 200 bytes of metadata (216 is the test-run maximum): VLAN and timestamp fit, key 60 not.
  Builder b;
  ASSERT_EQ(b.set_u64(0, 1), 0);
  std::vector<uint8_t> meta(200 - b.bytes().size(), 0xee);  // 176 foreign + 24-byte store
  meta.insert(meta.end(), b.bytes().begin(), b.bytes().end());
  ASSERT_EQ(meta.size() % 4, 0u);
  const auto& v = hintvec::kIpv4[3];
  std::vector<uint8_t> out;
  hr_result r = run(HR_CAPTURE, frame(v.src, v.dst, 17, v.sport, v.dport, {{0x8100, 9}}), meta,
                    XDPKV_HINT_PRESENT_MASK, &out);
  EXPECT_EQ(r.store_rc, -ENOSPC);
  hints::Hints h;
  int rr = hints::read(View(out), h);
  // Whatever fit, key 60 never claims a hint that is not there.
  if (rr == 0) {
    EXPECT_EQ(r.load_rc, 0);
    EXPECT_EQ(h.flags, r.loaded.flags);
  } else {
    EXPECT_EQ(rr, -ENODATA);
    EXPECT_EQ(r.load_rc, -ENODATA);
  }
  std::printf("no room: %zu -> %zu bytes of metadata, store %d, read back %d\n", meta.size(),
              out.size(), r.store_rc, rr);
}

TEST(HintsCaptureProgram, SoftwareVariantThroughTestRun) {
  bpf::init_libbpf();
  auto s =
      bpf::open_skeleton(xdpkv_capture_sw__open, xdpkv_capture_sw__destroy, "xdpkv_capture_sw");
  ASSERT_TRUE(s) << s.error().message;
  (*s)->rodata->key_seq = 9;
  (*s)->rodata->emit_events = 0;
  auto l = bpf::load_skeleton(*s, xdpkv_capture_sw__load, "xdpkv_capture_sw");
  ASSERT_TRUE(l) << l.error().message;
  int fd = bpf_program__fd((*s)->progs.xdpkv_capture);
  std::printf("xdpkv_capture_sw: %u insns processed by the verifier, %u bytes xlated\n",
              bpf::verified_insns(fd), bpf::prog_size(fd).xlated);
  const auto& v = hintvec::kIpv4[4];
  auto pkt = frame(v.src, v.dst, 6, v.sport, v.dport);
  (*s)->data->mode = XDPKV_CAPTURE_ALTERNATE;
  for (int i = 0; i < 10; i++) {
    auto r = bpf::xdp_test_run(fd, {}, pkt);
    ASSERT_TRUE(r) << r.error().message;
    View view(r->meta);
    uint8_t b[8] = {};
    ASSERT_EQ(view.get(9, b), 8);
    uint64_t seq;
    std::memcpy(&seq, b, 8);
    EXPECT_EQ(seq, uint64_t(i));
    hints::Hints h;
    int rr = hints::read(view, h);
    if (seq % 2 == 0) {
      ASSERT_EQ(rr, 0) << "seq " << seq;
      EXPECT_EQ(h.hash, v.l4);
      EXPECT_TRUE(h.software(XDPKV_HINT_HASH));
    } else {
      EXPECT_EQ(rr, -ENODATA) << "seq " << seq << " must carry no hints";
    }
  }
  auto& st = (*s)->bss->stats;
  EXPECT_EQ(st.packets, 10u);
  EXPECT_EQ(st.captured, 5u);
  EXPECT_EQ(st.skipped, 5u);
  EXPECT_EQ(st.sw[XDPKV_HI_HASH], 5u);
  EXPECT_EQ(st.hw[XDPKV_HI_HASH], 0u);
  EXPECT_EQ(st.none[XDPKV_HI_VLAN], 5u);
  EXPECT_EQ(st.last_rc[XDPKV_HI_HASH], XDPKV_HINT_RC_NOT_TRIED);
}

// ---- the TC restore program against hostile stores ------------------------------

// The origin mark the restore program is loaded with, and that record() writes.
constexpr uint32_t kOrigin = 0x6f726967;
//
// TC test runs take no metadata, so the store reaches xdpkv_restore the way
// it does in production: a live-frames XDP test run (BPF_F_TEST_XDP_LIVE_FRAMES)
// passes the frame, metadata included, to the stack of loopback in a private
// namespace, whose TC ingress runs the restore program.
class RestoreHostile : public ::testing::Test {
 protected:
  void SetUp() override {
    bpf::init_libbpf();
    auto ns = net::Netns::create("xkv" + std::to_string(getpid()) + "-restore");
    ASSERT_TRUE(ns) << ns.error().message;
    ns_.emplace(std::move(*ns));
    auto up = ns_->ip({"link", "set", "lo", "up"});
    ASSERT_TRUE(up) << up.error().message;
    hints::RestoreOptions opt;
    opt.vlan = true;
    opt.origin = kOrigin;
    auto r = hints::Restore::attach(ns_->name(), "lo", opt);
    ASSERT_TRUE(r) << r.error().message;
    restore_.emplace(std::move(*r));
    auto s = bpf::open_skeleton(xdpkv_hints_run__open, xdpkv_hints_run__destroy, "hints_run");
    ASSERT_TRUE(s) << s.error().message;
    skel_ = std::move(*s);
    skel_->bss->op = HR_READ;
    auto l = bpf::load_skeleton(skel_, xdpkv_hints_run__load, "hints_run");
    ASSERT_TRUE(l) << l.error().message;
  }
  void TearDown() override {
    restore_.reset();
    ns_.reset();
  }

  // One frame with `meta` through XDP_PASS into loopback's stack.
  hints::RestoreStats pass(const std::vector<uint8_t>& meta) {
    const auto& v = hintvec::kIpv4[0];
    std::vector<uint8_t> in = meta;
    const auto pkt = frame(v.src, v.dst, 17, v.sport, v.dport);
    in.insert(in.end(), pkt.begin(), pkt.end());
    xdp_md ctx{};
    ctx.data = static_cast<uint32_t>(meta.size());
    ctx.data_end = static_cast<uint32_t>(in.size());
    LIBBPF_OPTS(bpf_test_run_opts, o);
    o.data_in = in.data();
    o.data_size_in = static_cast<uint32_t>(in.size());
    o.ctx_in = &ctx;
    o.ctx_size_in = sizeof(ctx);
    o.flags = BPF_F_TEST_XDP_LIVE_FRAMES;
    o.repeat = 1;
    {
      auto in_ns = net::NsScope::enter(*ns_);
      EXPECT_TRUE(in_ns) << in_ns.error().message;
      EXPECT_EQ(bpf_prog_test_run_opts(bpf_program__fd(skel_->progs.hints_run), &o), 0)
          << strerror(errno);
    }
    return restore_->stats();
  }

  std::optional<net::Netns> ns_;
  std::optional<hints::Restore> restore_;
  bpf::Skeleton<xdpkv_hints_run> skel_{nullptr, nullptr};
};

constexpr uint32_t kHash = XDPKV_HINT_HASH | XDPKV_HINT_HASH_SW;
constexpr uint32_t kVlan = XDPKV_HINT_VLAN;
constexpr uint32_t kTs = XDPKV_HINT_TIMESTAMP | XDPKV_HINT_TIMESTAMP_SW;

std::vector<uint8_t> record(uint64_t info, int vlan_len = 0, uint32_t vlan = 0, int ts_len = 0,
                            int origin_len = 4, uint32_t origin = kOrigin) {
  Builder b;
  int rc = 0;
  if (origin_len == 4) rc |= b.set_u32(XDPKV_KEY_ORIGIN, origin);
  if (origin_len == 8) rc |= b.set_u64(XDPKV_KEY_ORIGIN, origin);
  if (vlan_len == 4) rc |= b.set_u32(XDPKV_KEY_HINT_VLAN, vlan);
  if (vlan_len == 2) rc |= b.set_u16(XDPKV_KEY_HINT_VLAN, static_cast<uint16_t>(vlan));
  if (ts_len == 8) rc |= b.set_u64(XDPKV_KEY_HINT_TS, 1000);
  if (ts_len == 4) rc |= b.set_u32(XDPKV_KEY_HINT_TS, 1000);
  rc |= b.set_u64(XDPKV_KEY_HINT_INFO, info);
  EXPECT_EQ(rc, 0);
  return {b.bytes().begin(), b.bytes().end()};
}

TEST_F(RestoreHostile, WellFormedRecordsAreApplied) {
  auto st = pass(record(xdpkv_hint_info_pack(0x51ccc178, kV4Udp, kHash)));
  EXPECT_EQ(st.skbs, 1u);
  EXPECT_EQ(st.hash_set, 1u);
  EXPECT_EQ(st.refused, 0u);
  st = pass(record(xdpkv_hint_info_pack(0x51ccc178, kV4Udp, kHash | kVlan), 4,
                   xdpkv_hint_vlan_pack(htons(0x8100), 0x2064), 0));
  EXPECT_EQ(st.hash_set, 2u);
  EXPECT_EQ(st.vlan_pushed, 1u);
  st = pass(record(xdpkv_hint_info_pack(0, 0, kTs), 0, 0, 8));
  EXPECT_EQ(st.refused, 0u);
  EXPECT_EQ(st.with_hints, 2u) << "a timestamp alone restores nothing";
  // What veth's driver reports: XDP_RSS_TYPE_L4_ANY, hardware source.
  st = pass(record(xdpkv_hint_info_pack(0x1234, XDPKV_RSS_L4, XDPKV_HINT_HASH)));
  EXPECT_EQ(st.hash_set, 3u);
  EXPECT_EQ(st.refused, 0u);
  st = pass({});
  EXPECT_EQ(st.skbs, 5u);
  EXPECT_EQ(st.refused, 0u);
  EXPECT_EQ(st.errors, 0u);
}

TEST_F(RestoreHostile, MalformedRecordsAreRefusedAndCounted) {
  struct Case {
    const char* what;
    std::vector<uint8_t> meta;
    int why;
  };
  const uint64_t hash_ok = xdpkv_hint_info_pack(0x51ccc178, kV4Udp, kHash);
  auto info = [](uint32_t hash, uint32_t type, uint32_t flags) {
    return uint64_t(hash) | uint64_t(type & 0xffff) << 32 | uint64_t(flags & 0xffff) << 48;
  };
  Builder u32_info;
  EXPECT_EQ(u32_info.set_u32(XDPKV_KEY_ORIGIN, kOrigin), 0);
  EXPECT_EQ(u32_info.set_u32(XDPKV_KEY_HINT_INFO, 0x51ccc178), 0);
  const Case cases[] = {
      {"key 60 as a u32", {u32_info.bytes().begin(), u32_info.bytes().end()}, XDPKV_REFUSE_SIZE},
      {"unknown flag bit 3", record(info(0x51ccc178, kV4Udp, kHash | 0x8)), XDPKV_REFUSE_FLAGS},
      {"unknown flag bit 15", record(info(0x51ccc178, kV4Udp, kHash | 0x8000)), XDPKV_REFUSE_FLAGS},
      {"software bit of an absent hint", record(info(0x51ccc178, kV4Udp, kHash | 0x200)),
       XDPKV_REFUSE_FLAGS},
      {"no hint present", record(info(0x51ccc178, kV4Udp, 0)), XDPKV_REFUSE_FLAGS},
      {"reserved hash type bit", record(info(0x51ccc178, 0x8000 | kV4Udp, kHash)),
       XDPKV_REFUSE_HASH},
      {"IPv4 and IPv6", record(info(1, kV4Udp | XDPKV_RSS_L3_IPV6, kHash)), XDPKV_REFUSE_HASH},
      {"TCP and UDP", record(info(1, kV4Udp | XDPKV_RSS_L4_TCP, kHash)), XDPKV_REFUSE_HASH},
      {"L4 kind without L4", record(info(1, XDPKV_RSS_L3_IPV4 | XDPKV_RSS_L4_UDP, kHash)),
       XDPKV_REFUSE_HASH},
      {"DYNHDR without L3", record(info(1, XDPKV_RSS_L3_DYNHDR, kHash)), XDPKV_REFUSE_HASH},
      {"hash without its flag", record(info(0x51ccc178, 0, kTs), 0, 0, 8), XDPKV_REFUSE_HASH},
      {"VLAN flag, no key 61", record(hash_ok | uint64_t(kVlan) << 48), XDPKV_REFUSE_SIZE},
      {"key 61 as a u16", record(hash_ok | uint64_t(kVlan) << 48, 2, 0x0081), XDPKV_REFUSE_SIZE},
      {"VLAN protocol IPv4",
       record(hash_ok | uint64_t(kVlan) << 48, 4, xdpkv_hint_vlan_pack(htons(0x0800), 0x2064)),
       XDPKV_REFUSE_VLAN},
      {"VLAN protocol in host order",
       record(hash_ok | uint64_t(kVlan) << 48, 4, xdpkv_hint_vlan_pack(0x8100, 0x2064)),
       XDPKV_REFUSE_VLAN},
      {"reserved VID 4095",
       record(hash_ok | uint64_t(kVlan) << 48, 4, xdpkv_hint_vlan_pack(htons(0x8100), 0x2fff)),
       XDPKV_REFUSE_VLAN},
      {"timestamp flag, no key 62", record(hash_ok | uint64_t(kTs) << 48), XDPKV_REFUSE_SIZE},
      {"key 62 as a u32", record(hash_ok | uint64_t(kTs) << 48, 0, 0, 4), XDPKV_REFUSE_SIZE},
  };
  hints::RestoreStats before = restore_->stats();
  for (const auto& c : cases) {
    const hints::RestoreStats st = pass(c.meta);
    SCOPED_TRACE(c.what);
    EXPECT_EQ(st.skbs, before.skbs + 1);
    EXPECT_EQ(st.refused, before.refused + 1);
    EXPECT_EQ(st.refused_why[c.why], before.refused_why[c.why] + 1);
    EXPECT_EQ(st.hash_set, before.hash_set) << "skb->hash from a refused record";
    EXPECT_EQ(st.vlan_pushed, before.vlan_pushed) << "VLAN pushed from a refused record";
    EXPECT_EQ(st.with_hints, before.with_hints);
    EXPECT_EQ(st.errors, before.errors);
    before = st;
  }
  std::printf("restore refused %llu hostile records: size %llu, flags %llu, hash %llu, vlan %llu\n",
              (unsigned long long)before.refused, (unsigned long long)before.refused_why[0],
              (unsigned long long)before.refused_why[1], (unsigned long long)before.refused_why[2],
              (unsigned long long)before.refused_why[3]);
}

// Issue 18, class 2: a well-formed hint record that no writer of this host
// stored (no origin mark, another value, another size) is never applied; it
// is counted as foreign, not as refused.
TEST_F(RestoreHostile, RecordsWithoutTheOriginMarkAreForeign) {
  const uint64_t info = xdpkv_hint_info_pack(0x51ccc178, kV4Udp, kHash | kVlan);
  const uint32_t tag = xdpkv_hint_vlan_pack(htons(0x8100), 0x2064);
  const struct {
    const char* what;
    std::vector<uint8_t> meta;
  } cases[] = {
      {"no mark", record(info, 4, tag, 0, 0)},
      {"another host's mark", record(info, 4, tag, 0, 4, kOrigin ^ 1)},
      {"the mark as a u64", record(info, 4, tag, 0, 8)},
  };
  hints::RestoreStats before = restore_->stats();
  for (const auto& c : cases) {
    const hints::RestoreStats st = pass(c.meta);
    SCOPED_TRACE(c.what);
    EXPECT_EQ(st.skbs, before.skbs + 1);
    EXPECT_EQ(st.foreign, before.foreign + 1);
    EXPECT_EQ(st.refused, before.refused);
    EXPECT_EQ(st.hash_set, before.hash_set) << "skb->hash from a foreign record";
    EXPECT_EQ(st.vlan_pushed, before.vlan_pushed) << "VLAN pushed from a foreign record";
    EXPECT_EQ(st.with_hints, before.with_hints);
    before = st;
  }
  // The same record with the mark is applied: the mark is what decides.
  const hints::RestoreStats st = pass(record(info, 4, tag));
  EXPECT_EQ(st.hash_set, before.hash_set + 1);
  EXPECT_EQ(st.vlan_pushed, before.vlan_pushed + 1);
  EXPECT_EQ(st.foreign, before.foreign);
}

}  // namespace
}  // namespace xdpkv
