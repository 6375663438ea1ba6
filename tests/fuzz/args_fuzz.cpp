// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
// libFuzzer target for the CLI's parsers of outside input: the strict number
// parser and its validator (userspace/cli/args.cpp), the hex parser of the
// codec (xdpkv::parse_hex), the message shortener, and a whole command line
// through CLI11 and parse(). The first byte picks the part; each part checks
// its result against a reference or an invariant and aborts when they differ.
// Seeds: args_corpus/ (among them the hostile numbers of issue 10: " 5", "+8");
// tokens: args.dict.
#include <charconv>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include <xdpkv/codec.hpp>

#include "args.hpp"

namespace {

using xdpkv::cli::kShownMax;

#define CHECK(cond)                                                              \
  do {                                                                           \
    if (!(cond)) {                                                               \
      std::fprintf(stderr, "args_fuzz: %s:%d: %s\n", __FILE__, __LINE__, #cond); \
      std::abort();                                                              \
    }                                                                            \
  } while (0)

bool is_digit(char c, int base) {
  if (c >= '0' && c <= '9') return true;
  return base == 16 && ((c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'));
}

// The reference: digits only (after an optional 0x), converted by
// std::from_chars, which must consume them all without overflow.
std::optional<std::uint64_t> reference_uint(std::string_view s) {
  int base = 10;
  if (s.size() > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
    base = 16;
    s.remove_prefix(2);
  }
  if (s.empty()) return std::nullopt;
  for (char c : s)
    if (!is_digit(c, base)) return std::nullopt;
  std::uint64_t v = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v, base);
  if (ec != std::errc() || end != s.data() + s.size()) return std::nullopt;
  return v;
}

void fuzz_uint(std::string_view s) {
  const auto v = xdpkv::cli::parse_strict_uint(s);
  CHECK(v == reference_uint(s));
  if (v) {
    CHECK(xdpkv::cli::parse_strict_uint(std::to_string(*v)) == v);
    char hex[32];
    std::snprintf(hex, sizeof hex, "0x%llx", static_cast<unsigned long long>(*v));
    CHECK(xdpkv::cli::parse_strict_uint(hex) == v);
  }
}

void fuzz_validator(std::string_view in) {
  if (in.size() < 2) return;
  // Bounds from the first two bytes, value from the rest.
  const std::uint64_t lo = static_cast<std::uint8_t>(in[0]);
  const std::uint64_t hi = lo + static_cast<std::uint8_t>(in[1]) * 1000ull;
  std::string s(in.substr(2));
  const auto v = xdpkv::cli::parse_strict_uint(s);
  const std::string err = xdpkv::cli::strict_uint(lo, hi)(s);
  CHECK(err.empty() == (v && *v >= lo && *v <= hi));
  // The message quotes the value shortened: bounded whatever the input.
  CHECK(err.size() <= kShownMax * 4 + 3 + 100);
}

void fuzz_hex(std::string_view s) {
  auto r = xdpkv::parse_hex(s);
  if (!r) {
    // Errors name the place, never echo a long input whole.
    CHECK(!r.error().message.empty());
    CHECK(r.error().message.size() <= 200);
    return;
  }
  // Every byte came from two hex digits of the input.
  std::size_t digits = 0;
  for (char c : s) digits += is_digit(c, 16);
  CHECK(r->size() * 2 <= digits);
  const std::string hex = xdpkv::to_hex(*r);
  CHECK(hex.size() == r->size() * 2);
  auto back = xdpkv::parse_hex(hex);
  CHECK(back && *back == *r);
}

void fuzz_shorten(std::string_view s) {
  const std::string o = xdpkv::cli::shorten(s);
  CHECK(o.size() <= kShownMax * 4 + 3);
  for (unsigned char c : o) CHECK(c >= 0x20 && c != 0x7f);  // nothing raw reaches a terminal
  bool plain = s.size() <= kShownMax;
  for (unsigned char c : s) plain = plain && c >= 0x20 && c != 0x7f;
  if (plain) CHECK(o == s);
}

// A command line (arguments split at NUL bytes) through make_app and parse():
// it never throws, and ends in "go on", help or a usage error.
void fuzz_command_line(std::string_view in) {
  static const xdpkv::cli::Command self{"fuzz", "fuzz", "usage: fuzz\n", nullptr};
  std::vector<std::string> args{"fuzz"};
  std::size_t start = 0;
  for (std::size_t i = 0; i <= in.size() && args.size() < 16; ++i) {
    if (i == in.size() || in[i] == '\0') {
      args.emplace_back(in.substr(start, i - start));
      start = i + 1;
    }
  }
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  auto app = xdpkv::cli::make_app(self);
  unsigned n = 0;
  std::string dir, word;
  bool flag = false;
  std::vector<std::string> rest;
  xdpkv::cli::add_uint(*app, "--n", n, 1, 100000, "n");
  xdpkv::cli::add_bpffs_option(*app, dir);
  app->add_option("--word", word, "w")->check(xdpkv::cli::one_of({"dpdk", "socket"}));
  app->add_flag("--flag", flag, "f");
  auto* sub = app->add_subcommand("sub", "s");
  sub->add_option("REST", rest, "r");
  const auto rc = xdpkv::cli::parse(*app, self, static_cast<int>(argv.size()), argv.data());
  CHECK(!rc || *rc == xdpkv::cli::kExitOk || *rc == xdpkv::cli::kExitUsage ||
        *rc == xdpkv::cli::kExitFail);
  if (!rc) {
    CHECK(n == 0 || (n >= 1 && n <= 100000));
    CHECK(app->count("--bpffs") == 0 || !dir.empty());
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const std::string_view in(reinterpret_cast<const char*>(data) + 1, size - 1);
  // A whole command line costs some twenty times a number: it gets one part
  // in eight.
  switch (data[0] % 8) {
    case 0:
    case 1: fuzz_uint(in); break;
    case 2:
    case 3: fuzz_validator(in); break;
    case 4:
    case 5: fuzz_hex(in); break;
    case 6: fuzz_shorten(in); break;
    default: fuzz_command_line(in); break;
  }
  return 0;
}
