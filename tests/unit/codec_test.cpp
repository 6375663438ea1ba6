// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
// Codec tests: layout, every error path and the order of checks. Expected
// bytes are written out by hand from docs/FORMAT.md, not computed.
#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <initializer_list>
#include <ostream>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include <xdpkv/codec.hpp>

namespace {

using xdpkv::Builder;
using xdpkv::View;
using Bytes = std::vector<uint8_t>;

Bytes cat(std::initializer_list<Bytes> parts) {
  Bytes out;
  for (const auto& p : parts) out.insert(out.end(), p.begin(), p.end());
  return out;
}
Bytes zeros(size_t n) { return Bytes(n, 0); }
Bytes le64(uint64_t v) {
  Bytes b(8);
  for (auto& c : b) c = static_cast<uint8_t>(v), v >>= 8;
  return b;
}
Bytes header(uint64_t hi, uint64_t lo) { return cat({le64(hi), le64(lo)}); }
Bytes bytes_of(const Builder& b) { return Bytes(b.bytes().begin(), b.bytes().end()); }
Bytes value_of(const View& v, uint64_t key) {
  Bytes out(8);
  const int n = v.get(key, out);
  if (n < 0) return {};
  out.resize(static_cast<size_t>(n));
  return out;
}

// Keys 0 (u32 0xaabbccdd), 1 (u16 0x1122), 5 (u64 0x0102030405060708):
// S = 16 + 4 + 2 + 8 = 30, extent 32; hi = bits {0,5} = 0x21, lo = bits {1,5} = 0x22.
const Bytes kSample = {
    0x00, 0x00,                                      // padding
    0x08, 0x07, 0x06, 0x05, 0x04, 0x03, 0x02, 0x01,  // key 5
    0x22, 0x11,                                      // key 1
    0xdd, 0xcc, 0xbb, 0xaa,                          // key 0
    0x21, 0,    0,    0,    0,    0,    0,    0,     // hi
    0x22, 0,    0,    0,    0,    0,    0,    0,     // lo
};
const Bytes kForeign = {0xf0, 0xf1, 0xf2, 0xf3};

constexpr uint64_t kBadKeys[] = {64, 65, 100, (1ULL << 32) + 1, 1ULL << 32, 1ULL << 63, ~0ULL};

// ---- layout -----------------------------------------------------------------

TEST(Create, U16FromEmptyIs20Bytes) {
  Builder b;
  ASSERT_EQ(b.set_u16(0, 0x1234), 0);
  EXPECT_EQ(bytes_of(b), cat({{0x00, 0x00, 0x34, 0x12}, header(0, 1)}));
  EXPECT_EQ(b.view().store_size(), 20u);
  EXPECT_EQ(b.view().padding().size(), 2u);
}

TEST(Create, U32FromEmptyIs20Bytes) {
  Builder b;
  ASSERT_EQ(b.set_u32(3, 0xdeadbeef), 0);
  EXPECT_EQ(bytes_of(b), cat({{0xef, 0xbe, 0xad, 0xde}, header(0x08, 0)}));
  EXPECT_EQ(b.view().padding().size(), 0u);
}

TEST(Create, U64FromEmptyIs24Bytes) {
  Builder b;
  ASSERT_EQ(b.set_u64(63, 0x0102030405060708ULL), 0);
  EXPECT_EQ(bytes_of(b), cat({{0x08, 0x07, 0x06, 0x05, 0x04, 0x03, 0x02, 0x01},
                              {0, 0, 0, 0, 0, 0, 0, 0x80},
                              {0, 0, 0, 0, 0, 0, 0, 0x80}}));
  EXPECT_EQ(b.view().area_size(), 24u);
}

TEST(Create, RawSpanSetEqualsTypedSet) {
  Builder a, b;
  const uint8_t v[4] = {1, 2, 3, 4};
  ASSERT_EQ(a.set(7, v), 0);
  ASSERT_EQ(b.set_u32(7, 0x04030201), 0);
  EXPECT_EQ(bytes_of(a), bytes_of(b));
}

TEST(Layout, SampleInAnyInsertionOrder) {
  const int orders[][3] = {{0, 1, 5}, {5, 1, 0}, {1, 5, 0}, {5, 0, 1}};
  for (const auto& order : orders) {
    Builder b;
    for (int k : order) {
      const int rc = k == 0   ? b.set_u32(0, 0xaabbccdd)
                     : k == 1 ? b.set_u16(1, 0x1122)
                              : b.set_u64(5, 0x0102030405060708ULL);
      ASSERT_EQ(rc, 0);
    }
    EXPECT_EQ(bytes_of(b), kSample) << order[0] << order[1] << order[2];
  }
}

TEST(Layout, ViewAccessors) {
  const View v(kSample);
  EXPECT_EQ(v.validate(), 0);
  EXPECT_TRUE(v.problem().empty());
  EXPECT_EQ(v.area_size(), 32u);
  EXPECT_EQ(v.store_size(), 32u);
  EXPECT_EQ(v.value_bytes(), 14u);
  EXPECT_EQ(v.hi(), 0x21u);
  EXPECT_EQ(v.lo(), 0x22u);
  EXPECT_EQ(v.foreign().size(), 0u);
  EXPECT_EQ(Bytes(v.padding().begin(), v.padding().end()), Bytes({0, 0}));
  EXPECT_EQ(v.len(0), 4);
  EXPECT_EQ(v.len(1), 2);
  EXPECT_EQ(v.len(5), 8);
  EXPECT_EQ(v.len(2), 0);
  EXPECT_EQ(v.has(5), 1);
  EXPECT_EQ(v.has(63), 0);
  EXPECT_EQ(value_of(v, 1), Bytes({0x22, 0x11}));
  EXPECT_EQ(value_of(v, 5), Bytes({8, 7, 6, 5, 4, 3, 2, 1}));
}

TEST(Layout, EmptyArea) {
  const View v;
  EXPECT_EQ(v.validate(), 0);
  EXPECT_EQ(v.area_size(), 0u);
  EXPECT_EQ(v.store_size(), 0u);
  EXPECT_EQ(v.value_bytes(), 0u);
  EXPECT_EQ(v.hi(), 0u);
  EXPECT_EQ(v.lo(), 0u);
  EXPECT_TRUE(v.entries().empty());
  EXPECT_TRUE(v.foreign().empty());
  EXPECT_TRUE(v.padding().empty());
  EXPECT_EQ(v.has(0), 0);
  EXPECT_EQ(v.len(63), 0);
  uint8_t buf[8];
  EXPECT_EQ(v.get(0, buf), -ENOENT);
}

TEST(Layout, EntriesInKeyOrder) {
  Builder b;
  const unsigned keys[] = {40, 3, 63, 0, 17, 9};
  for (unsigned k : keys) ASSERT_EQ(b.set_u32(k, 1000 + k), 0);
  ASSERT_EQ(b.set_u16(9, 0xbeef), 0);
  ASSERT_EQ(b.set_u64(17, 0x1122334455667788ULL), 0);
  const auto es = b.view().entries();
  ASSERT_EQ(es.size(), 6u);
  const unsigned want_keys[] = {0, 3, 9, 17, 40, 63};
  const unsigned want_lens[] = {4, 4, 2, 8, 4, 4};
  for (size_t i = 0; i < es.size(); ++i) {
    EXPECT_EQ(es[i].key, want_keys[i]);
    EXPECT_EQ(es[i].len, want_lens[i]);
    EXPECT_EQ(es[i].value.size(), want_lens[i]);
  }
  EXPECT_EQ(es[0].as_uint(), 1000u);
  EXPECT_EQ(es[2].as_uint(), 0xbeefu);
  EXPECT_EQ(es[3].as_uint(), 0x1122334455667788ULL);
  EXPECT_EQ(es[5].as_uint(), 1063u);
}

TEST(Layout, Fill216Exactly) {
  Builder b;  // capacity 216 = 16 + 25 * 8
  for (unsigned k = 0; k < 25; ++k) ASSERT_EQ(b.set_u64(k, k), 0) << k;
  EXPECT_EQ(b.bytes().size(), 216u);
  EXPECT_EQ(b.set_u16(25, 1), -ENOSPC);
  EXPECT_EQ(b.set_u16(0, 1), 0);  // shrinking always fits
  EXPECT_EQ(b.bytes().size(), 212u);
}

TEST(Layout, AllSixtyFourKeys) {
  // All 64 keys fit as u16 (M = 144); as u64 (528 bytes) they never fit a
  // packet: see Errors.CapacityNeverExceedsTheKernelCap.
  Builder b(XDPKV_MAX_STORE);
  for (unsigned k = 0; k < 64; ++k) ASSERT_EQ(b.set_u16(k, static_cast<uint16_t>(~k)), 0);
  EXPECT_EQ(b.bytes().size(), 144u);
  EXPECT_EQ(b.view().hi(), 0u);
  EXPECT_EQ(b.view().lo(), ~0ULL);
  for (unsigned k = 0; k < 64; ++k)
    EXPECT_EQ(b.view().entries()[k].as_uint(), static_cast<uint16_t>(~k));
}

// ---- foreign bytes, overwrite, moves ---------------------------------------

TEST(Foreign, PreservedAtStartThroughSetAndDel) {
  Builder b = Builder::from(cat({kForeign, kSample}));
  EXPECT_EQ(Bytes(b.view().foreign().begin(), b.view().foreign().end()), kForeign);
  // Insert key 2 (u16 0x6677): S = 32, no padding; 4 + 32 = 36 bytes.
  ASSERT_EQ(b.set_u16(2, 0x6677), 0);
  EXPECT_EQ(bytes_of(b), cat({kForeign,
                              {0x08, 0x07, 0x06, 0x05, 0x04, 0x03, 0x02, 0x01},  // key 5
                              {0x77, 0x66},                                      // key 2
                              {0x22, 0x11},                                      // key 1
                              {0xdd, 0xcc, 0xbb, 0xaa},                          // key 0
                              header(0x21, 0x26)}));
  // Delete key 5: S = 24, extent 24, 28 bytes.
  ASSERT_EQ(b.del(5), 0);
  EXPECT_EQ(bytes_of(b),
            cat({kForeign, {0x77, 0x66, 0x22, 0x11, 0xdd, 0xcc, 0xbb, 0xaa}, header(0x01, 0x06)}));
  // Delete key 1: S = 22, extent 24: two bytes of zero padding appear.
  ASSERT_EQ(b.del(1), 0);
  EXPECT_EQ(bytes_of(b),
            cat({kForeign, {0x00, 0x00, 0x77, 0x66, 0xdd, 0xcc, 0xbb, 0xaa}, header(0x01, 0x04)}));
  ASSERT_EQ(b.del(0), 0);
  ASSERT_EQ(b.del(2), 0);
  EXPECT_EQ(bytes_of(b), cat({kForeign, zeros(16)}));
  EXPECT_EQ(b.del(2), -ENOENT);
  EXPECT_EQ(bytes_of(b), cat({kForeign, zeros(16)}));
}

TEST(Foreign, UnalignedForeignLength) {
  // 3 foreign bytes before an empty store (M = 19): the codec accepts any M.
  Builder b = Builder::from(cat({{1, 2, 3}, zeros(16)}));
  ASSERT_EQ(b.set_u16(4, 0xabcd), 0);
  EXPECT_EQ(bytes_of(b), cat({{1, 2, 3}, {0, 0, 0xcd, 0xab}, header(0, 0x10)}));
}

TEST(Overwrite, SameSizeTouchesOnlyValueBytes) {
  // Valid store with garbage padding (readers do not validate padding).
  Bytes area = cat({kForeign, kSample});
  area[4] = 0xaa;
  area[5] = 0xbb;
  Builder b = Builder::from(area);
  ASSERT_EQ(b.view().validate(), 0);
  ASSERT_EQ(b.set_u16(1, 0x5566), 0);
  Bytes want = area;
  want[4 + 10] = 0x66;
  want[4 + 11] = 0x55;
  EXPECT_EQ(bytes_of(b), want);
  ASSERT_EQ(b.set_u64(5, 0xfffefdfcfbfaf9f8ULL, XDPKV_F_EXIST), 0);
  for (int i = 0; i < 8; ++i) want[4 + 2 + i] = static_cast<uint8_t>(0xf8 + i);
  EXPECT_EQ(bytes_of(b), want);
  ASSERT_EQ(b.set_u32(0, 0xaabbccdd), 0);  // same bytes again: nothing changes
  EXPECT_EQ(bytes_of(b), want);
}

TEST(Padding, ZeroedWhenTheStoreChanges) {
  // S = 18 with garbage padding; inserting a u32 gives S = 22, new padding zero.
  const Bytes area = cat({{0xaa, 0xbb, 0x34, 0x12}, header(0, 1)});
  Builder b = Builder::from(area);
  ASSERT_EQ(b.set_u32(1, 0x44332211), 0);
  EXPECT_EQ(bytes_of(b),
            cat({{0x00, 0x00, 0x11, 0x22, 0x33, 0x44, 0x34, 0x12}, header(0x02, 0x01)}));
  // And del back: S = 18, padding again zero (not the old garbage).
  ASSERT_EQ(b.del(1), 0);
  EXPECT_EQ(bytes_of(b), cat({{0x00, 0x00, 0x34, 0x12}, header(0, 1)}));
}

TEST(Del, LastKeyLeavesZeroHeader) {
  Builder b;
  ASSERT_EQ(b.set_u64(10, 7), 0);
  ASSERT_EQ(b.del(10), 0);
  EXPECT_EQ(bytes_of(b), zeros(16));
  EXPECT_EQ(b.view().validate(), 0);
  EXPECT_EQ(b.view().store_size(), 16u);
  EXPECT_EQ(b.del(10), -ENOENT);
  EXPECT_EQ(b.set_u16(1, 2), 0);
  EXPECT_EQ(bytes_of(b), cat({{0, 0, 2, 0}, header(0, 2)}));
}

// Keys 1 (u32), 2 (size from), 3 (u64), 7 (u16) behind 3 foreign bytes;
// set key 2 to size `to` and check where everything went.
struct Resize {
  unsigned from, to;
};
void PrintTo(const Resize& r, std::ostream* os) { *os << r.from << "->" << r.to; }
class MoveTest : public ::testing::TestWithParam<Resize> {};

TEST_P(MoveTest, HigherKeysMoveLowerKeysStay) {
  const auto [from, to] = GetParam();
  Builder b(512);
  ASSERT_EQ(b.set_u32(1, 0x11111111), 0);
  ASSERT_EQ(b.set_u64(2, 0x2222222222222222ULL), 0);
  ASSERT_EQ(b.set_u64(3, 0x3333333333333333ULL), 0);
  ASSERT_EQ(b.set_u16(7, 0x7777), 0);
  const uint8_t v_from[8] = {0xa0, 0xa1, 0xa2, 0xa3, 0xa4, 0xa5, 0xa6, 0xa7};
  ASSERT_EQ(b.set(2, std::span<const uint8_t>(v_from, from)), 0);
  const Bytes foreign = {0xf0, 0xf1, 0xf2};
  b = Builder::from(cat({foreign, bytes_of(b)}), 512);
  const Bytes before = bytes_of(b);
  const size_t m = before.size();
  const size_t s = 16 + 4 + from + 8 + 2;
  ASSERT_EQ(m, 3 + ((s + 3) & ~size_t{3}));

  const uint8_t v_to[8] = {0xb0, 0xb1, 0xb2, 0xb3, 0xb4, 0xb5, 0xb6, 0xb7};
  ASSERT_EQ(b.set(2, std::span<const uint8_t>(v_to, to)), 0);
  const Bytes after = bytes_of(b);
  const size_t s2 = s - from + to;
  const size_t m2 = 3 + ((s2 + 3) & ~size_t{3});
  ASSERT_EQ(after.size(), m2);
  // Foreign bytes at the start.
  EXPECT_EQ(Bytes(after.begin(), after.begin() + 3), foreign);
  // Key 1 keeps its offset from data (the end).
  EXPECT_EQ(Bytes(after.end() - 20, after.end() - 16), Bytes(before.end() - 20, before.end() - 16));
  // Key 2's new value right below key 1.
  EXPECT_EQ(Bytes(after.end() - 20 - to, after.end() - 20), Bytes(v_to, v_to + to));
  // Key 3 and 7 moved by (to - from) toward data_meta (or toward data).
  const Bytes k3(8, 0x33), k7(2, 0x77);
  EXPECT_EQ(Bytes(after.end() - 28 - to, after.end() - 20 - to), k3);
  EXPECT_EQ(Bytes(after.end() - 30 - to, after.end() - 28 - to), k7);
  // Padding zero, header updated.
  for (size_t i = 3; i < 3 + (m2 - 3 - s2); ++i) EXPECT_EQ(after[i], 0) << i;
  EXPECT_EQ(b.view().padding().size(), (m2 - 3) - s2);
  for (uint8_t c : b.view().padding()) EXPECT_EQ(c, 0);
  EXPECT_EQ(b.view().len(2), static_cast<int>(to));
  EXPECT_EQ(b.view().len(1), 4);
  EXPECT_EQ(b.view().len(3), 8);
  EXPECT_EQ(b.view().len(7), 2);
  EXPECT_EQ(b.view().entries()[2].as_uint(), 0x3333333333333333ULL);
}

INSTANTIATE_TEST_SUITE_P(Deltas, MoveTest,
                         ::testing::Values(Resize{2, 4}, Resize{4, 8}, Resize{2, 8}, Resize{4, 2},
                                           Resize{8, 4}, Resize{8, 2}),
                         [](const auto& info) {
                           return "from" + std::to_string(info.param.from) + "to" +
                                  std::to_string(info.param.to);
                         });

TEST(Move, LiteralGrowAndShrink) {
  // Sample with key 1 grown from 2 to 8 bytes: S = 36, extent 36, no padding.
  Builder b = Builder::from(kSample);
  ASSERT_EQ(b.set_u64(1, 0x9988776655443322ULL), 0);
  const Bytes grown = cat({{0x08, 0x07, 0x06, 0x05, 0x04, 0x03, 0x02, 0x01},
                           {0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88, 0x99},
                           {0xdd, 0xcc, 0xbb, 0xaa},
                           header(0x23, 0x22)});
  EXPECT_EQ(bytes_of(b), grown);
  // Shrink key 0 from 4 to 2 bytes: S = 34, extent 36, 2 bytes of padding.
  ASSERT_EQ(b.set_u16(0, 0xeeff), 0);
  EXPECT_EQ(bytes_of(b), cat({{0x00, 0x00},
                              {0x08, 0x07, 0x06, 0x05, 0x04, 0x03, 0x02, 0x01},
                              {0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88, 0x99},
                              {0xff, 0xee},
                              header(0x22, 0x23)}));
}

// ---- errors and their order ----------------------------------------------------

TEST(Errors, InvalidKeys) {
  Builder b = Builder::from(kSample);
  uint8_t buf[8] = {};
  for (uint64_t k : kBadKeys) {
    EXPECT_EQ(b.set_u16(k, 1), -EINVAL) << k;
    EXPECT_EQ(b.del(k), -EINVAL) << k;
    EXPECT_EQ(b.view().get(k, buf), -EINVAL) << k;
    EXPECT_EQ(b.view().has(k), -EINVAL) << k;
    EXPECT_EQ(b.view().len(k), -EINVAL) << k;
  }
  EXPECT_EQ(bytes_of(b), kSample);
  // 2^32 + 1 is never key 1.
  Builder e;
  EXPECT_EQ(e.set_u16((1ULL << 32) + 1, 1), -EINVAL);
  EXPECT_EQ(e.bytes().size(), 0u);
  EXPECT_EQ(b.del((1ULL << 32) + 1), -EINVAL);
  EXPECT_EQ(b.view().has(1), 1);
}

TEST(Errors, InvalidLengths) {
  Builder b = Builder::from(kSample);
  const uint8_t v[16] = {};
  for (size_t len : {0, 1, 3, 5, 6, 7, 9, 16}) {
    EXPECT_EQ(b.set(2, std::span<const uint8_t>(v, len)), -EINVAL) << len;
    EXPECT_EQ(b.set(1, std::span<const uint8_t>(v, len)), -EINVAL) << len;
  }
  EXPECT_EQ(bytes_of(b), kSample);
}

TEST(Errors, InvalidFlags) {
  Builder b = Builder::from(kSample);
  for (uint64_t f : {uint64_t{4}, uint64_t{8}, uint64_t{5}, uint64_t{1} << 63, ~uint64_t{0},
                     uint64_t{XDPKV_F_NOEXIST | XDPKV_F_EXIST}}) {
    EXPECT_EQ(b.set_u16(2, 1, f), -EINVAL) << f;
    EXPECT_EQ(b.set_u16(1, 1, f), -EINVAL) << f;
  }
  EXPECT_EQ(bytes_of(b), kSample);
}

TEST(Errors, ShortAreasAreMalformed) {
  for (size_t m = 1; m < 16; ++m) {
    const Bytes area(m, 0);
    Builder b = Builder::from(area);
    const View v = b.view();
    EXPECT_EQ(v.validate(), -EBADMSG) << m;
    EXPECT_FALSE(v.problem().empty());
    uint8_t buf[8] = {1, 1, 1, 1, 1, 1, 1, 1};
    EXPECT_EQ(v.get(0, buf), -EBADMSG);
    EXPECT_EQ(v.has(0), -EBADMSG);
    EXPECT_EQ(v.len(0), -EBADMSG);
    EXPECT_TRUE(v.entries().empty());
    EXPECT_EQ(b.set_u16(0, 1), -EBADMSG);
    EXPECT_EQ(b.set_u16(0, 1, XDPKV_F_EXIST), -EBADMSG);
    EXPECT_EQ(b.set_u16(0, 1, XDPKV_F_NOEXIST), -EBADMSG);
    EXPECT_EQ(b.del(0), -EBADMSG);
    EXPECT_EQ(bytes_of(b), area);
    EXPECT_EQ(buf[0], 1);
  }
}

TEST(Errors, HeaderClaimingMoreThanTheArea) {
  const Bytes areas[] = {
      header(0, 1),                             // M 16, S 18 -> 20
      cat({zeros(2), header(0, 1)}),            // M 18, S 18 -> 20 (alignment counts)
      cat({zeros(3), header(0, 1)}),            // M 19
      cat({zeros(4), header(0x2, 0x1)}),        // M 20, S 22 -> 24
      cat({zeros(8), header(0x07, 0x0b)}),      // M 24, S 38 -> 40
      cat({zeros(200), header(~0ULL, ~0ULL)}),  // M 216, S 528
  };
  for (const auto& area : areas) {
    Builder b = Builder::from(area, 1024);
    EXPECT_EQ(b.view().validate(), -EBADMSG) << area.size();
    EXPECT_EQ(b.set_u16(0, 1), -EBADMSG);
    EXPECT_EQ(b.set_u64(40, 1), -EBADMSG);
    EXPECT_EQ(b.del(0), -EBADMSG);
    EXPECT_EQ(b.del(40), -EBADMSG);
    uint8_t buf[8];
    EXPECT_EQ(b.view().get(0, buf), -EBADMSG);
    EXPECT_EQ(b.view().has(40), -EBADMSG);
    EXPECT_EQ(bytes_of(b), area);
  }
  // The same headers with enough room are valid.
  EXPECT_EQ(View(cat({zeros(4), header(0, 1)})).validate(), 0);
  EXPECT_EQ(View(cat({zeros(8), header(0x2, 0x1)})).validate(), 0);
}

// FORMAT.md §3 rule 2: no kernel builds a metadata area over 252 bytes
// (xdp_metalen_invalid), so the codec refuses one like the BPF library does.
TEST(Errors, AreasOverTheKernelCapAreMalformed) {
  // 600 bytes ending in a complete 528-byte store (all 64 keys, 8 bytes each).
  Bytes big(600 - 16, 0x5a);
  big = cat({big, header(~0ULL, ~0ULL)});
  const Bytes areas[] = {
      big, cat({zeros(253 - 16), header(0, 0)}),  // M 253, empty header
      cat({zeros(256 - 16), header(0, 0)}),       // M 256
      cat({zeros(256 - 16), header(0, 1)}),       // M 256, a store that fits
  };
  for (const auto& area : areas) {
    Builder b = Builder::from(area, 1024);
    const View v = b.view();
    EXPECT_EQ(v.validate(), -EBADMSG) << area.size();
    EXPECT_NE(v.problem().find("more than the 252 bytes"), std::string::npos) << v.problem();
    uint8_t buf[8] = {1, 1, 1, 1, 1, 1, 1, 1};
    EXPECT_EQ(v.get(0, buf), -EBADMSG);
    EXPECT_EQ(buf[0], 1);
    EXPECT_EQ(v.has(63), -EBADMSG);
    EXPECT_EQ(v.len(0), -EBADMSG);
    EXPECT_TRUE(v.entries().empty());
    EXPECT_TRUE(v.foreign().empty());
    EXPECT_EQ(b.set_u16(0, 1), -EBADMSG);
    EXPECT_EQ(b.del(0), -EBADMSG);
    EXPECT_EQ(bytes_of(b), area);
    EXPECT_EQ(v.get(64, buf), -EINVAL) << "arguments are still checked first";
  }
  EXPECT_EQ(View(big).problem(),
            "metadata area is 600 bytes: more than the 252 bytes a kernel allows "
            "(xdp_metalen_invalid)");
  // 252 bytes is the largest valid area.
  EXPECT_EQ(View(cat({zeros(252 - 16), header(0, 0)})).validate(), 0);
  EXPECT_EQ(View(cat({zeros(252 - 24), le64(7), header(1, 1)})).validate(), 0);
}

TEST(Errors, CapacityNeverExceedsTheKernelCap) {
  Builder b(1024);
  // 29 u64 values: M = 16 + 232 = 248. A 30th would need 256 > 252.
  for (uint64_t k = 0; k < 29; ++k) ASSERT_EQ(b.set_u64(k, k), 0) << k;
  EXPECT_EQ(b.bytes().size(), 248u);
  const Bytes before = bytes_of(b);
  EXPECT_EQ(b.set_u64(29, 29), -ENOSPC);
  EXPECT_EQ(bytes_of(b), before);
  // A u32 still fits exactly: M = 252.
  EXPECT_EQ(b.set_u32(29, 29), 0);
  EXPECT_EQ(b.bytes().size(), 252u);
  EXPECT_EQ(b.view().validate(), 0);
  EXPECT_EQ(b.set_u16(30, 1), -ENOSPC);
}

TEST(Errors, ProblemText) {
  EXPECT_EQ(View(zeros(7)).problem(),
            "metadata area is 7 bytes: a store needs at least 16 (header)");
  EXPECT_EQ(View(zeros(1)).problem(),
            "metadata area is 1 byte: a store needs at least 16 (header)");
  EXPECT_EQ(View(cat({zeros(8), header(0x07, 0x0b)})).problem(),
            "header describes a 40-byte store (keys 0:8 1:8 2:4 3:2, 22 value bytes) "
            "but the area has 24 bytes");
  EXPECT_EQ(View(kSample).problem(), "");
}

TEST(Errors, ArgumentsBeforeValidity) {
  Builder b = Builder::from(zeros(7));
  const uint8_t v3[3] = {};
  uint8_t buf[8];
  EXPECT_EQ(b.set_u16(64, 1), -EINVAL);
  EXPECT_EQ(b.set(0, v3), -EINVAL);
  EXPECT_EQ(b.set_u16(0, 1, XDPKV_F_EXIST | XDPKV_F_NOEXIST), -EINVAL);
  EXPECT_EQ(b.set_u16(0, 1, 8), -EINVAL);
  EXPECT_EQ(b.del(~0ULL), -EINVAL);
  EXPECT_EQ(b.view().get(64, buf), -EINVAL);
  EXPECT_EQ(b.view().has(64), -EINVAL);
}

TEST(Errors, ValidityBeforePresenceAndSpace) {
  Builder b = Builder::from(header(0, 1), 16);  // malformed and no room
  uint8_t buf[1];
  EXPECT_EQ(b.set_u16(5, 1, XDPKV_F_EXIST), -EBADMSG);
  EXPECT_EQ(b.set_u64(0, 1, XDPKV_F_NOEXIST), -EBADMSG);
  EXPECT_EQ(b.set_u64(5, 1), -EBADMSG);
  EXPECT_EQ(b.del(5), -EBADMSG);
  EXPECT_EQ(b.view().get(5, buf), -EBADMSG);
  EXPECT_EQ(b.view().get(0, buf), -EBADMSG);
}

TEST(Errors, Presence) {
  Builder b = Builder::from(kSample);
  uint8_t buf[8];
  EXPECT_EQ(b.view().get(2, buf), -ENOENT);
  EXPECT_EQ(b.del(2), -ENOENT);
  EXPECT_EQ(b.set_u16(2, 1, XDPKV_F_EXIST), -ENOENT);
  EXPECT_EQ(b.set_u16(1, 1, XDPKV_F_NOEXIST), -EEXIST);  // same size
  EXPECT_EQ(b.set_u64(1, 1, XDPKV_F_NOEXIST), -EEXIST);  // other size
  EXPECT_EQ(bytes_of(b), kSample);
  EXPECT_EQ(b.set_u16(2, 0x0102, XDPKV_F_NOEXIST), 0);
  EXPECT_EQ(b.set_u32(2, 0x01020304, XDPKV_F_EXIST), 0);
  EXPECT_EQ(b.view().entries()[2].as_uint(), 0x01020304u);
  // On an empty area.
  Builder e;
  EXPECT_EQ(e.del(0), -ENOENT);
  EXPECT_EQ(e.set_u16(0, 1, XDPKV_F_EXIST), -ENOENT);
  EXPECT_EQ(e.view().get(0, buf), -ENOENT);
  EXPECT_EQ(e.bytes().size(), 0u);
  EXPECT_EQ(e.set_u16(0, 1, XDPKV_F_NOEXIST), 0);
}

TEST(Errors, PresenceBeforeSpace) {
  Builder b = Builder::from(kSample, 32);  // full
  EXPECT_EQ(b.set_u64(2, 1, XDPKV_F_EXIST), -ENOENT);
  EXPECT_EQ(b.set_u64(0, 1, XDPKV_F_NOEXIST), -EEXIST);
  EXPECT_EQ(b.set_u64(0, 1), -ENOSPC);
  EXPECT_EQ(b.set_u64(0, 1, XDPKV_F_EXIST), -ENOSPC);
  EXPECT_EQ(b.set_u16(2, 1, XDPKV_F_NOEXIST), 0);  // S 30 -> 32 still fits
  EXPECT_EQ(b.bytes().size(), 32u);
  uint8_t small[1] = {0x5a};
  EXPECT_EQ(b.view().get(3, small), -ENOENT);  // absent before short buffer
  EXPECT_EQ(b.view().get(0, small), -ENOSPC);
  EXPECT_EQ(small[0], 0x5a);
}

TEST(Errors, NoSpaceToGrow) {
  Builder b(19);
  EXPECT_EQ(b.set_u16(0, 1), -ENOSPC);
  EXPECT_EQ(b.bytes().size(), 0u);
  Builder c(20);
  EXPECT_EQ(c.capacity(), 20u);
  ASSERT_EQ(c.set_u16(0, 1), 0);  // 20
  ASSERT_EQ(c.set_u16(1, 2), 0);  // S 20 -> 20
  const Bytes full = bytes_of(c);
  EXPECT_EQ(c.set_u16(2, 3), -ENOSPC);  // S 22 -> 24
  EXPECT_EQ(c.set_u32(0, 3), -ENOSPC);  // size change that grows
  EXPECT_EQ(bytes_of(c), full);
  EXPECT_EQ(c.set_u16(0, 9), 0);  // same size still works
  // Foreign bytes count against the capacity.
  Builder f = Builder::from(cat({zeros(8), header(0, 0)}), 28);
  EXPECT_EQ(f.set_u32(0, 1), 0);        // 8 + 20
  EXPECT_EQ(f.set_u16(1, 1), -ENOSPC);  // 8 + 24
}

TEST(Errors, ShortGetBuffer) {
  const View v(kSample);
  uint8_t buf[8];
  for (size_t n = 0; n < 8; ++n) {
    std::fill(buf, buf + 8, 0x5a);
    EXPECT_EQ(v.get(5, std::span<uint8_t>(buf, n)), -ENOSPC) << n;
    for (uint8_t c : buf) EXPECT_EQ(c, 0x5a);
  }
  std::fill(buf, buf + 8, 0x5a);
  EXPECT_EQ(v.get(1, std::span<uint8_t>(buf, 1)), -ENOSPC);
  EXPECT_EQ(v.get(1, std::span<uint8_t>(buf, 2)), 2);
  std::fill(buf, buf + 8, 0x5a);
  EXPECT_EQ(v.get(1, buf), 2);  // a larger buffer: only len bytes written
  EXPECT_EQ(Bytes(buf, buf + 8), Bytes({0x22, 0x11, 0x5a, 0x5a, 0x5a, 0x5a, 0x5a, 0x5a}));
}

TEST(Errors, MalformedFromIsKeptVerbatim) {
  const Bytes junk = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 0xff, 0xff};
  Builder b = Builder::from(junk);
  EXPECT_EQ(bytes_of(b), junk);
  EXPECT_EQ(b.set_u16(0, 1), -EBADMSG);
  EXPECT_EQ(b.del(0), -EBADMSG);
  EXPECT_EQ(bytes_of(b), junk);
}

// docs/FORMAT.md section 6, byte for byte.
TEST(FormatDoc, WorkedExamples) {
  Builder b;
  // Example 1.
  ASSERT_EQ(b.set_u32(3, 0x11223344), 0);
  EXPECT_EQ(bytes_of(b), cat({{0x44, 0x33, 0x22, 0x11}, header(0x8, 0)}));
  // Example 2.
  ASSERT_EQ(b.set_u16(1, 0xbeef), 0);
  EXPECT_EQ(bytes_of(b), cat({{0, 0, 0x44, 0x33, 0x22, 0x11, 0xef, 0xbe}, header(0x8, 0x2)}));
  uint8_t buf[8] = {9, 9, 9, 9, 9, 9, 9, 9};
  EXPECT_EQ(b.view().get(3, buf), 4);
  EXPECT_EQ(Bytes(buf, buf + 8), Bytes({0x44, 0x33, 0x22, 0x11, 9, 9, 9, 9}));
  EXPECT_EQ(b.view().get(1, std::span<uint8_t>(buf, 1)), -ENOSPC);
  EXPECT_EQ(b.set_u16(1, 1, XDPKV_F_NOEXIST), -EEXIST);
  EXPECT_EQ(b.set_u16(9, 1, XDPKV_F_EXIST), -ENOENT);
  EXPECT_EQ(b.set_u16(1, 1, XDPKV_F_NOEXIST | XDPKV_F_EXIST), -EINVAL);
  EXPECT_EQ(b.set_u16((1ULL << 32) + 1, 1), -EINVAL);
  // Example 3.
  ASSERT_EQ(b.del(3), 0);
  const Bytes ex3 = cat({{0, 0, 0xef, 0xbe}, header(0, 0x2)});
  EXPECT_EQ(bytes_of(b), ex3);
  // Example 4: 8 foreign bytes below, then a u64 insert and its removal.
  const Bytes foreign{0xf0, 0xf1, 0xf2, 0xf3, 0xf4, 0xf5, 0xf6, 0xf7};
  Builder old_kernel = Builder::from(cat({foreign, ex3}), XDPKV_META_MAX_OLD);
  EXPECT_EQ(old_kernel.set_u64(5, 0x1122334455667788ULL), -ENOSPC);
  EXPECT_EQ(bytes_of(old_kernel), cat({foreign, ex3}));
  Builder f = Builder::from(cat({foreign, ex3}));
  EXPECT_EQ(f.view().get(1, buf), 2);
  ASSERT_EQ(f.set_u64(5, 0x1122334455667788ULL), 0);
  EXPECT_EQ(bytes_of(f), cat({foreign,
                              {0, 0, 0x88, 0x77, 0x66, 0x55, 0x44, 0x33, 0x22, 0x11, 0xef, 0xbe},
                              header(0x20, 0x22)}));
  ASSERT_EQ(f.del(5), 0);
  EXPECT_EQ(bytes_of(f), cat({foreign, ex3}));
  ASSERT_EQ(f.del(1), 0);
  EXPECT_EQ(bytes_of(f), cat({foreign, zeros(16)}));
  // Example 5.
  EXPECT_EQ(Builder::from(Bytes{1, 2, 3, 4}).set_u16(1, 1), -EBADMSG);
  EXPECT_EQ(Builder::from(header(0, 1)).set_u16(1, 1), -EBADMSG);
  EXPECT_EQ(Builder::from(header(0, 1)).set(1, Bytes{1, 2, 3}), -EINVAL);
}

}  // namespace
