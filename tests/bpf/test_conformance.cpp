// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
// Constant-key calls of every operation in one program (tests/progs/many.bpf.c)
// must give the codec's results byte for byte; and every test program must
// load, with its verifier cost printed for docs/VERIFIER.md.
#include <gtest/gtest.h>

#include <cstring>

#include "harness.hpp"
#include "xdpkv_test_many.skel.h"
#include "xdpkv_test_many_fast.skel.h"
#include "xdpkv_test_ops.skel.h"
#include "xdpkv_test_read.skel.h"
#include "xdpkv_test_read_fast.skel.h"

namespace xdpkv::test {
namespace {

template <class T>
int64_t get_t(const Builder& b, uint64_t key, T* out) {
  T v = 0;
  int r = b.view().get(key, std::span<uint8_t>(reinterpret_cast<uint8_t*>(&v), sizeof(v)));
  if (r > 0) *out = v;
  return r;
}

// The sequence of many.bpf.c, on the codec.
std::vector<int64_t> expected_many(Builder& b) {
  std::vector<int64_t> r;
  uint64_t v64 = 0;
  uint32_t v32 = 0;
  uint16_t v16 = 0;
  r.push_back(b.set_u64(0, 0x0102030405060708ULL));
  r.push_back(b.set_u32(1, 0x11121314));
  r.push_back(b.set_u16(2, 0x2122));
  r.push_back(b.set_u64(5, 0x3132333435363738ULL, XDPKV_F_NOEXIST));
  r.push_back(b.set_u32(9, 0x41424344));
  r.push_back(b.set_u16(17, 0x5152));
  r.push_back(b.set_u64(33, 0x6162636465666768ULL));
  r.push_back(b.set_u32(63, 0x71727374));
  r.push_back(b.set_u32(63, 0x7a7b7c7d, XDPKV_F_NOEXIST));
  r.push_back(b.set_u16(40, 1, XDPKV_F_EXIST));
  r.push_back(get_t(b, 0, &v64));
  r.push_back(v64);
  r.push_back(get_t(b, 1, &v32));
  r.push_back(v32);
  r.push_back(get_t(b, 2, &v16));
  r.push_back(v16);
  r.push_back(get_t(b, 5, &v64));
  r.push_back(v64);
  r.push_back(get_t(b, 9, &v32));
  r.push_back(v32);
  r.push_back(get_t(b, 17, &v64));
  r.push_back(v64);
  r.push_back(get_t(b, 33, &v16));
  r.push_back(v16);
  r.push_back(b.view().has(63));
  r.push_back(b.view().has(62));
  r.push_back(b.del(1));
  r.push_back(b.del(1));
  r.push_back(b.set_u64(2, 0x8182838485868788ULL, XDPKV_F_EXIST));
  r.push_back(b.set_u16(0, 0x9192));
  r.push_back(b.set_u32(33, 0xa1a2a3a4));
  r.push_back(b.del(63));
  r.push_back(get_t(b, 2, &v64));
  r.push_back(v64);
  r.push_back(get_t(b, 33, &v64));
  r.push_back(v64);
  r.push_back(get_t(b, 64, &v64));
  r.push_back(b.set_u16((1ULL << 32) + 1, 1));
  r.push_back(b.view().has(1));
  return r;
}

template <class S>
void run_many(S* (*open)(), void (*destroy)(S*), int (*load)(S*), const char* name, bool fast) {
  bpf::init_libbpf();
  auto s = bpf::open_skeleton(open, destroy, name);
  ASSERT_TRUE(s) << s.error().message;
  auto l = bpf::load_skeleton(*s, load, name);
  ASSERT_TRUE(l) << l.error().message;
  (void)fast;
  int fd = bpf_program__fd((*s)->progs.xdpkv_many);
  // Empty; another program's 8 bytes alone (malformed: 0 < M < 16, every op
  // is -EBADMSG); and those 8 bytes below an empty store.
  std::vector<uint8_t> foreign{1, 2, 3, 4, 5, 6, 7, 8};
  std::vector<uint8_t> below(foreign);
  below.resize(24, 0);
  for (const auto& start : {std::vector<uint8_t>{}, foreign, below}) {
    uint8_t pkt[64] = {};
    std::memset((*s)->bss->res, 0, sizeof((*s)->bss->res));
    auto r = bpf::xdp_test_run(fd, start, pkt);
    ASSERT_TRUE(r) << r.error().message;
    Builder b = Builder::from(start);
    auto want = expected_many(b);
    ASSERT_LE(want.size(), std::size((*s)->bss->res));
    for (size_t i = 0; i < want.size(); i++)
      EXPECT_EQ((*s)->bss->res[i], want[i]) << name << " result " << i << " start " << hex(start);
    EXPECT_EQ(hex(r->meta), hex(b.bytes())) << name;
  }
}

TEST(Conformance, ConstantKeysManyCallsMatchCodec) {
  run_many(xdpkv_test_many__open, xdpkv_test_many__destroy, xdpkv_test_many__load,
           "xdpkv_test_many", false);
}

TEST(Conformance, ConstantKeysManyCallsFastLayoutBuild) {
  run_many(xdpkv_test_many_fast__open, xdpkv_test_many_fast__destroy, xdpkv_test_many_fast__load,
           "xdpkv_test_many_fast", true);
}

TEST(Conformance, ManyCallsResultsAreTheExpectedOnes) {
  // Hand-checked expectations, so the test does not only compare two
  // implementations with each other.
  Builder b;
  auto r = expected_many(b);
  const int64_t head[] = {0, 0, 0, 0, 0, 0, 0, 0, -EEXIST, -ENOENT, 8, 0x0102030405060708LL};
  for (size_t i = 0; i < std::size(head); i++) EXPECT_EQ(r[i], head[i]) << i;
  EXPECT_EQ(r[20], 2);        // 2-byte key 17 read into a u64
  EXPECT_EQ(r[21], 0x5152);   // zero-extended
  EXPECT_EQ(r[22], -ENOSPC);  // 8-byte key 33 into a u16 ...
  EXPECT_EQ(r[23], 0x2122);   // ... leaves the u16 as it was
  EXPECT_EQ(r[24], 1);
  EXPECT_EQ(r[25], 0);
  EXPECT_EQ(r[27], -ENOENT);  // second del
  EXPECT_EQ(r[32], 8);
  EXPECT_EQ(r[33], static_cast<int64_t>(0x8182838485868788ULL));
  EXPECT_EQ(r[34], 4);
  EXPECT_EQ(r[35], 0xa1a2a3a4);
  EXPECT_EQ(r[36], -EINVAL);
  EXPECT_EQ(r[37], -EINVAL);  // 2^32 + 1 is not key 1
  EXPECT_EQ(r[38], 0);
  EXPECT_EQ(r.size(), 39u);
}

template <class S>
void report(S* (*open)(), void (*destroy)(S*), int (*load)(S*), const char* name,
            bpf_program* S::*unused = nullptr) {
  (void)unused;
  bpf::init_libbpf();
  auto s = bpf::open_skeleton(open, destroy, name);
  ASSERT_TRUE(s) << s.error().message;
  auto l = bpf::load_skeleton(*s, load, name);
  ASSERT_TRUE(l) << l.error().message;
  bpf_program* p;
  bpf_object__for_each_program(p, (*s)->obj) {
    int fd = bpf_program__fd(p);
    auto sz = bpf::prog_size(fd);
    uint32_t insns = bpf::verified_insns(fd);
    std::printf("verifier: %-22s %-12s processed %6u insns, xlated %5u B, jited %5u B\n", name,
                bpf_program__name(p), insns, sz.xlated, sz.jited);
    EXPECT_GT(insns, 0u);
    EXPECT_LT(insns, 1000000u);
  }
}

TEST(Conformance, ProgramsLoadAndReportVerifierCost) {
  report(xdpkv_test_ops__open, xdpkv_test_ops__destroy, xdpkv_test_ops__load, "ops");
  report(xdpkv_test_many__open, xdpkv_test_many__destroy, xdpkv_test_many__load, "many");
  report(xdpkv_test_many_fast__open, xdpkv_test_many_fast__destroy, xdpkv_test_many_fast__load,
         "many(fast layout)");
  report(xdpkv_test_read__open, xdpkv_test_read__destroy, xdpkv_test_read__load, "read");
  report(xdpkv_test_read_fast__open, xdpkv_test_read_fast__destroy, xdpkv_test_read_fast__load,
         "read(fast layout)");
}

}  // namespace
}  // namespace xdpkv::test
