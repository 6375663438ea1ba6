// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
// Hex parsing, JSON output, errno names and Result.
#include <cerrno>
#include <cstdint>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include <xdpkv/codec.hpp>
#include <xdpkv/result.hpp>

namespace {

using Bytes = std::vector<uint8_t>;

Bytes hex(std::string_view s) {
  auto r = xdpkv::parse_hex(s);
  EXPECT_TRUE(r.ok()) << s << ": " << (r.ok() ? "" : r.error().message);
  return r.ok() ? *r : Bytes{};
}

std::string hex_error(std::string_view s) {
  auto r = xdpkv::parse_hex(s);
  EXPECT_FALSE(r.ok()) << s;
  if (r.ok()) return {};
  EXPECT_EQ(r.error().code, EINVAL);
  return r.error().message;
}

TEST(Hex, Accepts) {
  EXPECT_EQ(hex(""), Bytes{});
  EXPECT_EQ(hex("  \n"), Bytes{});
  EXPECT_EQ(hex("0x"), Bytes{});
  EXPECT_EQ(hex("00ff7F"), Bytes({0x00, 0xff, 0x7f}));
  EXPECT_EQ(hex("0x0102"), Bytes({1, 2}));
  EXPECT_EQ(hex("0X0102"), Bytes({1, 2}));
  EXPECT_EQ(hex("  0xab cd"), Bytes({0xab, 0xcd}));
  EXPECT_EQ(hex("01 02:03\n04\t05\r\n"), Bytes({1, 2, 3, 4, 5}));
  EXPECT_EQ(hex("de:ad:be:ef"), Bytes({0xde, 0xad, 0xbe, 0xef}));
  EXPECT_EQ(hex("0102 0304"), Bytes({1, 2, 3, 4}));
  EXPECT_EQ(hex("ABcd"), Bytes({0xab, 0xcd}));
}

TEST(Hex, Rejects) {
  EXPECT_EQ(hex_error("abc"), "odd number of hex digits (3) in \"abc\" at offset 0");
  EXPECT_EQ(hex_error("01 2"), "odd number of hex digits (1) in \"2\" at offset 3");
  EXPECT_EQ(hex_error("0x1"), "odd number of hex digits (1) in \"1\" at offset 2");
  EXPECT_EQ(hex_error("0g"), "invalid hex character 'g' at offset 1");
  EXPECT_EQ(hex_error("0x0x01"), "invalid hex character 'x' at offset 3");
  EXPECT_EQ(hex_error("01,02"), "invalid hex character ',' at offset 2");
  EXPECT_EQ(hex_error(std::string_view("01\0"
                                       "2",
                                       4)),
            "invalid hex character byte 0x00 at offset 2");
  EXPECT_EQ(hex_error("0123456789abcdef012"),
            "odd number of hex digits (19) in \"0123456789abcdef...\" at offset 0");
}

TEST(Hex, ToHexRoundTrip) {
  const Bytes b = {0x00, 0x01, 0xab, 0xff, 0x10};
  EXPECT_EQ(xdpkv::to_hex(b), "0001abff10");
  EXPECT_EQ(xdpkv::to_hex({}), "");
  EXPECT_EQ(hex(xdpkv::to_hex(b)), b);
}

TEST(Json, Empty) {
  EXPECT_EQ(xdpkv::to_json(xdpkv::View()), R"({"size": 0, "store_size": 0, "keys": []})");
  const Bytes zero(16, 0);
  EXPECT_EQ(xdpkv::to_json(xdpkv::View(zero)), R"({"size": 16, "store_size": 16, "keys": []})");
}

TEST(Json, SampleWithForeignBytes) {
  const Bytes area =
      hex("f0f1f2f3 0000 0807060504030201 2211 ddccbbaa 2100000000000000 2200000000000000");
  ASSERT_EQ(area.size(), 36u);
  EXPECT_EQ(xdpkv::to_json(xdpkv::View(area)),
            R"({"size": 36, "store_size": 32, "keys": [)"
            R"({"key": 0, "len": 4, "value": "ddccbbaa"}, )"
            R"({"key": 1, "len": 2, "value": "2211"}, )"
            R"({"key": 5, "len": 8, "value": "0807060504030201"}]})");
}

TEST(Json, BuiltStore) {
  xdpkv::Builder b;
  ASSERT_EQ(b.set_u16(63, 0xbeef), 0);
  EXPECT_EQ(xdpkv::to_json(b.view()),
            R"({"size": 20, "store_size": 20, "keys": [{"key": 63, "len": 2, "value": "efbe"}]})");
}

TEST(Errno, Names) {
  EXPECT_EQ(xdpkv::errno_name(-EINVAL), "EINVAL");
  EXPECT_EQ(xdpkv::errno_name(-ENOENT), "ENOENT");
  EXPECT_EQ(xdpkv::errno_name(-EEXIST), "EEXIST");
  EXPECT_EQ(xdpkv::errno_name(-ENOSPC), "ENOSPC");
  EXPECT_EQ(xdpkv::errno_name(-EBADMSG), "EBADMSG");
  EXPECT_EQ(xdpkv::errno_name(-EOPNOTSUPP), "EOPNOTSUPP");
  EXPECT_EQ(xdpkv::errno_name(EBADMSG), "EBADMSG");
  EXPECT_EQ(xdpkv::errno_name(0), "OK");
  EXPECT_EQ(xdpkv::errno_name(-4095), "E?");
  EXPECT_EQ(xdpkv::describe(-EEXIST), "EEXIST (-17): key already present (XDPKV_F_NOEXIST)");
  EXPECT_EQ(xdpkv::describe(-EBADMSG), "EBADMSG (-74): malformed metadata area");
  EXPECT_NE(xdpkv::describe(-ENOSPC).find("ENOSPC (-28): "), std::string::npos);
}

xdpkv::Result<int> half(int v) {
  if (v % 2) return xdpkv::make_error(EINVAL, "odd");
  return v / 2;
}
xdpkv::Status check(bool good) {
  if (!good) return xdpkv::make_error(-ENOENT, "missing");
  return {};
}

TEST(Result, ValueAndError) {
  auto a = half(4);
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(*a, 2);
  EXPECT_EQ(a.value_or(7), 2);
  auto b = half(3);
  ASSERT_FALSE(b);
  EXPECT_EQ(b.error().code, EINVAL);
  EXPECT_EQ(b.error().message, "odd");
  EXPECT_EQ(b.value_or(7), 7);
  EXPECT_TRUE(check(true).ok());
  EXPECT_EQ(check(false).error().code, ENOENT);
  xdpkv::Result<std::string> s = std::string("x");
  EXPECT_EQ(s->size(), 1u);
}

}  // namespace
