// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
// Random and corrupted metadata fed to the BPF read paths (packet get, with
// and without the fast layout, and the copied-buffer get of tracers) and to
// View: the same verdict and the same bytes for every key. A BPF read outside
// the area cannot happen (the verifier proves every access against data);
// View runs under ASan in the fuzz target.
#include <gtest/gtest.h>

#include <cstring>

#include "harness.hpp"
#include "xdpkv_test_read.skel.h"
#include "xdpkv_test_read_fast.skel.h"

namespace xdpkv::test {
namespace {

constexpr int kKeys = 68;  // must match NKEYS_READ in read.bpf.c
const uint64_t kReadKeys[kKeys - 64] = {64, (1ULL << 32) + 1, ~0ULL, 1ULL << 63};

struct ReadRes {
  int64_t ret;
  uint64_t val;
};

uint64_t read_key(int i) { return i < 64 ? i : kReadKeys[i - 64]; }

// Checks one area through a loaded read program against View.
void check_area(int fd, const std::vector<uint8_t>& area, uint64_t* verdicts, const char* what) {
  std::vector<uint8_t> pkt(sizeof(ReadRes) * 2 * kKeys, 0);
  auto r = bpf::xdp_test_run(fd, area, pkt);
  ASSERT_TRUE(r) << r.error().message;
  ASSERT_EQ(r->retval, 2u) << what;
  ASSERT_EQ(hex(r->meta), hex(area)) << "a read changed the area";
  View v(area);
  for (int half = 0; half < 2; half++) {
    for (int i = 0; i < kKeys; i++) {
      ReadRes got;
      std::memcpy(&got, r->packet.data() + (half * kKeys + i) * sizeof(ReadRes), sizeof(got));
      uint64_t want_val = 0x5a5a5a5a5a5a5a5aULL;
      int want = v.get(read_key(i), std::span<uint8_t>(reinterpret_cast<uint8_t*>(&want_val), 8));
      verdicts[want < 0 ? -want : 0]++;
      if (got.ret != want || got.val != want_val) {
        ADD_FAILURE() << what << (half ? " buf_get" : " get") << " key " << read_key(i) << " area "
                      << hex(area) << ": bpf " << got.ret << "/" << std::hex << got.val << " view "
                      << std::dec << want << "/" << std::hex << want_val;
        return;
      }
    }
  }
}

// Areas to read: random bytes, valid stores, valid stores with flipped header
// bits or truncated from below, foreign-prefixed stores.
std::vector<uint8_t> corrupt_area(Gen& g) {
  const char* kind;
  std::vector<uint8_t> a = g.area(&kind);
  switch (g.u(0, 4)) {
    case 0:  // random bytes of a random legal length
      return g.bytes(4 * g.u(0, 54));
    case 1:  // a flipped bit in the header
      if (a.size() >= 16) a[a.size() - 1 - g.u(0, 15)] ^= static_cast<uint8_t>(1u << g.u(0, 7));
      return a;
    case 2:  // truncated from below (by a multiple of 4, as the kernel requires)
      if (a.size() >= 4) a.erase(a.begin(), a.begin() + 4 * g.u(1, a.size() / 4));
      return a;
    default: return a;
  }
}

void print_verdicts(const char* name, const uint64_t* v, uint64_t areas) {
  std::printf("%s: %llu areas, reads: ok=%llu ENOENT=%llu EINVAL=%llu EBADMSG=%llu\n", name,
              (unsigned long long)areas, (unsigned long long)v[0], (unsigned long long)v[ENOENT],
              (unsigned long long)v[EINVAL], (unsigned long long)v[EBADMSG]);
}

// Loads the read program (tests/progs/read.bpf.c, general path only).
void load_read(bpf::Skeleton<xdpkv_test_read>* out) {
  bpf::init_libbpf();
  auto s = bpf::open_skeleton(xdpkv_test_read__open, xdpkv_test_read__destroy, "xdpkv_test_read");
  ASSERT_TRUE(s) << s.error().message;
  auto l = bpf::load_skeleton(*s, xdpkv_test_read__load, "xdpkv_test_read");
  ASSERT_TRUE(l) << l.error().message;
  *out = std::move(*s);
}

TEST(CorruptMetadata, BpfReadsAgreeWithView) {
  bpf::Skeleton<xdpkv_test_read> s{nullptr, xdpkv_test_read__destroy};
  ASSERT_NO_FATAL_FAILURE(load_read(&s));
  int fd = bpf_program__fd(s->progs.xdpkv_read);
  uint64_t verdicts[256] = {};
  const uint64_t n = 3000;
  for (uint64_t i = 0; i < n && !HasFailure(); i++) {
    Gen g(0xc0ffee + i);
    check_area(fd, corrupt_area(g), verdicts, "random");
  }
  print_verdicts("corrupt", verdicts, n);
  EXPECT_GT(verdicts[0], 0u);
  EXPECT_GT(verdicts[EBADMSG], 0u);
  EXPECT_GT(verdicts[ENOENT], 0u);
}

// Headers whose value bytes overflow the byte-wise running sums of the BPF
// library's SWAR pass (all 64 keys 8 bytes: 256 units, 0 modulo 256) or come
// close: malformed in every area size, never read as a small store.
TEST(CorruptMetadata, SaturatedHeadersAreMalformed) {
  bpf::Skeleton<xdpkv_test_read> s{nullptr, xdpkv_test_read__destroy};
  ASSERT_NO_FATAL_FAILURE(load_read(&s));
  int fd = bpf_program__fd(s->progs.xdpkv_read);
  const uint64_t all = ~0ULL;
  const std::pair<uint64_t, uint64_t> headers[] = {
      {all, all}, {all, all ^ 1}, {all ^ (1ULL << 63), all}, {all, 0}, {all, all >> 8}};
  uint64_t verdicts[256] = {};
  for (auto [hi, lo] : headers) {
    for (size_t m = 16; m <= XDPKV_META_MAX_HEADROOM && !HasFailure(); m += 4) {
      std::vector<uint8_t> area(m, 0xa5);
      for (int i = 0; i < 8; i++) {
        area[m - 16 + i] = static_cast<uint8_t>(hi >> (8 * i));
        area[m - 8 + i] = static_cast<uint8_t>(lo >> (8 * i));
      }
      check_area(fd, area, verdicts, "saturated header");
    }
  }
  print_verdicts("saturated", verdicts, std::size(headers));
  EXPECT_EQ(verdicts[0], 0u) << "a value was read from a header larger than any area";
  EXPECT_GT(verdicts[EBADMSG], 0u);
}

TEST(CorruptMetadata, FastLayoutNeverChangesAnAnswer) {
  // The producer's layout: keys 0 (8 B), 3 (4 B), 7 (2 B), 12 (8 B).
  Builder b;
  ASSERT_EQ(b.set_u64(0, 0x1111111111111111ULL), 0);
  ASSERT_EQ(b.set_u32(3, 0x33333333), 0);
  ASSERT_EQ(b.set_u16(7, 0x7777), 0);
  ASSERT_EQ(b.set_u64(12, 0xcccccccccccccccc), 0);
  std::vector<uint8_t> exact(b.bytes().begin(), b.bytes().end());

  bpf::init_libbpf();
  auto s = bpf::open_skeleton(xdpkv_test_read_fast__open, xdpkv_test_read_fast__destroy,
                              "xdpkv_test_read_fast");
  ASSERT_TRUE(s) << s.error().message;
  xdpkv_layout lay{};
  xdpkv_layout_fill(&lay, b.view().hi(), b.view().lo());
  std::memcpy(const_cast<xdpkv_layout*>(&(*s)->rodata->xdpkv_fast_layout), &lay, sizeof(lay));
  auto l = bpf::load_skeleton(*s, xdpkv_test_read_fast__load, "xdpkv_test_read_fast");
  ASSERT_TRUE(l) << l.error().message;
  int fd = bpf_program__fd((*s)->progs.xdpkv_read);

  uint64_t verdicts[256] = {};
  uint64_t areas = 0;
  auto check = [&](const std::vector<uint8_t>& a, const char* what) {
    check_area(fd, a, verdicts, what);
    areas++;
  };
  check(exact, "exact layout");
  std::vector<uint8_t> foreign{9, 9, 9, 9, 8, 8, 8, 8};
  foreign.insert(foreign.end(), exact.begin(), exact.end());
  check(foreign, "layout below foreign bytes");
  // Same header, area too short for it: must be -EBADMSG, not a fast read.
  for (size_t cut = 4; cut < exact.size(); cut += 4)
    check(std::vector<uint8_t>(exact.begin() + cut, exact.end()), "truncated layout");
  // Values changed, header kept: the fast path must return the new bytes.
  Builder b2 = Builder::from(exact);
  ASSERT_EQ(b2.set_u32(3, 0xdeadbeef), 0);
  check(std::vector<uint8_t>(b2.bytes().begin(), b2.bytes().end()), "layout, new values");
  // Another layout and random areas take the general path.
  for (uint64_t i = 0; i < 500 && !HasFailure(); i++) {
    Gen g(0xfa57 + i);
    check(corrupt_area(g), "random");
  }
  print_verdicts("fast layout", verdicts, areas);
  EXPECT_EQ(verdicts[EBADMSG] > 0, true);
}

}  // namespace
}  // namespace xdpkv::test
