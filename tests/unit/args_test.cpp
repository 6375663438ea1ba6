// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
// The CLI's conventions (userspace/cli/args.hpp): strict numbers, validators,
// parse errors in the tool's words, shortened values in messages.
#include <cstdint>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "args.hpp"

namespace xdpkv::cli {
namespace {

using U = std::optional<std::uint64_t>;

TEST(StrictUint, Accepts) {
  EXPECT_EQ(parse_strict_uint("0"), U(0));
  EXPECT_EQ(parse_strict_uint("42"), U(42));
  EXPECT_EQ(parse_strict_uint("010"), U(10));  // decimal, not octal
  EXPECT_EQ(parse_strict_uint("0x10"), U(16));
  EXPECT_EQ(parse_strict_uint("0X1f"), U(31));
  EXPECT_EQ(parse_strict_uint("0xAbC"), U(0xabc));
  EXPECT_EQ(parse_strict_uint("18446744073709551615"), U(UINT64_MAX));
  EXPECT_EQ(parse_strict_uint("0xffffffffffffffff"), U(UINT64_MAX));
  // Leading zeros are digits like any other, however many.
  EXPECT_EQ(parse_strict_uint("0000000000000000000000005"), U(5));
  EXPECT_EQ(parse_strict_uint("0x0000000000000000000000ff"), U(255));
}

TEST(StrictUint, Rejects) {
  for (const char* s : {"",
                        " 5",
                        "5 ",
                        "\t5",
                        "5\n",
                        "+5",
                        "-5",
                        "-0",
                        "0x",
                        "0x-1",
                        "0x+1",
                        "1e3",
                        "12a",
                        "0b1",
                        "5.0",
                        "1_000",
                        "18446744073709551616",
                        "99999999999999999999",
                        "0x10000000000000000",
                        "0xg",
                        "x10"})
    EXPECT_EQ(parse_strict_uint(s), std::nullopt) << "'" << s << "'";
  EXPECT_EQ(parse_strict_uint(std::string_view("5\0", 2)), std::nullopt);
}

std::string check(const CLI::Validator& v, std::string s) { return v(s); }

TEST(Validators, Messages) {
  const auto v = strict_uint(1, 10);
  EXPECT_EQ(check(v, "1"), "");
  EXPECT_EQ(check(v, "0xa"), "");
  EXPECT_EQ(check(v, "11"), "'11' is out of range [1, 10]");
  EXPECT_EQ(check(v, "0"), "'0' is out of range [1, 10]");
  EXPECT_EQ(check(v, " 5"), "' 5' is not a number (decimal or 0x hex, no sign or blanks)");
  EXPECT_EQ(check(non_empty(), ""), "empty value");
  EXPECT_EQ(check(non_empty(), "x"), "");
  EXPECT_EQ(check(one_of({"dpdk", "socket"}), "socket"), "");
  EXPECT_EQ(check(one_of({"dpdk", "socket"}), "x"), "'x' is not dpdk or socket");
  EXPECT_EQ(check(one_of({"a", "b", "c"}), "x"), "'x' is not a, b or c");
  EXPECT_EQ(check(max_length(3), "abc"), "");
  EXPECT_EQ(check(max_length(3), "abcd"), "'abcd' is longer than 3 bytes");
  // A long value comes back shortened.
  EXPECT_EQ(check(v, std::string(1000, '7')),
            "'" + std::string(64, '7') + "...' is out of range [1, 10]");
  // Past 64 bits a number is out of range, not "not a number".
  EXPECT_EQ(check(strict_uint(0, UINT64_MAX), "18446744073709551616"),
            "'18446744073709551616' is out of range [0, 18446744073709551615]");
}

TEST(Shorten, CutsAndEscapes) {
  EXPECT_EQ(shorten("abc"), "abc");
  EXPECT_EQ(shorten(std::string(64, 'a')), std::string(64, 'a'));
  EXPECT_EQ(shorten(std::string(65, 'a')), std::string(64, 'a') + "...");
  EXPECT_EQ(shorten(std::string(30 << 20, 'a')), std::string(64, 'a') + "...");
  EXPECT_EQ(shorten("\x1b[31mred\x7f\n"), "\\x1b[31mred\\x7f\\x0a");
  EXPECT_EQ(shorten(std::string_view("a\0b", 3)), "a\\x00b");
  EXPECT_EQ(shorten("h\xc3\xa9"), "h\xc3\xa9");  // UTF-8 kept
  // ... and never cut inside a character: 63 ASCII bytes, then a 2-byte one.
  EXPECT_EQ(shorten(std::string(63, 'a') + "\xc3\xa9" + "zz"), std::string(63, 'a') + "...");
  EXPECT_EQ(shorten("abcdef", 3), "abc...");
}

// A test command: its usage text is the help.
const Command kSelf{"t", "a test command", "usage: t [--n N] [--dir DIR] [--flag]\n", nullptr};

struct Parsed {
  std::optional<int> rc;
  unsigned n = 7;
  std::string dir;
  bool flag = false;
};

Parsed run(std::vector<std::string> args) {
  Parsed p;
  auto app = make_app(kSelf);
  add_uint(*app, "--n", p.n, 1, 100, "a number");
  add_bpffs_option(*app, p.dir);
  app->add_flag("--flag", p.flag, "a flag");
  args.insert(args.begin(), "t");
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  p.rc = parse(*app, kSelf, static_cast<int>(argv.size()), argv.data());
  return p;
}

std::string error_of(std::vector<std::string> args) {
  testing::internal::CaptureStderr();
  const Parsed p = run(std::move(args));
  std::string err = testing::internal::GetCapturedStderr();
  EXPECT_EQ(p.rc, std::optional<int>(kExitUsage)) << err;
  return err;
}

TEST(Parse, Values) {
  auto p = run({"--n", "010", "--bpffs", "/sys/fs/bpf/x", "--flag"});
  EXPECT_EQ(p.rc, std::nullopt);
  EXPECT_EQ(p.n, 10u);  // CLI11's own conversion would read 010 as octal 8
  EXPECT_EQ(p.dir, "/sys/fs/bpf/x");
  EXPECT_TRUE(p.flag);
  p = run({"--n=0x20"});
  EXPECT_EQ(p.rc, std::nullopt);
  EXPECT_EQ(p.n, 32u);
  p = run({});
  EXPECT_EQ(p.n, 7u);  // untouched default
}

TEST(Parse, ErrorsInTheToolsWords) {
  const std::string hint = "\nTry 'xdpkv help t'.\n";
  EXPECT_EQ(error_of({"--n"}), "xdpkv t: option --n needs a value" + hint);
  EXPECT_EQ(error_of({"--n="}), "xdpkv t: option --n needs a value" + hint);
  EXPECT_EQ(error_of({"--n", "+5"}),
            "xdpkv t: --n: '+5' is not a number (decimal or 0x hex, no sign or blanks)" + hint);
  EXPECT_EQ(error_of({"--n", "1", "--n", "2"}),
            "xdpkv t: option --n is given more than once" + hint);
  EXPECT_EQ(error_of({"--bpffs", ""}), "xdpkv t: --bpffs: empty value" + hint);
  EXPECT_EQ(error_of({"--flag=1"}), "xdpkv t: option --flag takes no value" + hint);
  EXPECT_EQ(error_of({"--frob"}), "xdpkv t: unknown option '--frob'" + hint);
  EXPECT_EQ(error_of({"stray"}), "xdpkv t: unexpected argument 'stray'" + hint);
  EXPECT_EQ(error_of({std::string(100000, 'x')}),
            "xdpkv t: unexpected argument '" + std::string(64, 'x') + "...'" + hint);
}

// A command with subcommands that requires one (as `xdpkv key` does).
std::string subcommand_error(std::vector<std::string> args) {
  auto app = make_app(kSelf);
  app->add_subcommand("add", "a");
  app->add_subcommand("ls", "l");
  app->require_subcommand(1);
  args.insert(args.begin(), "t");
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  testing::internal::CaptureStderr();
  const auto rc = parse(*app, kSelf, static_cast<int>(argv.size()), argv.data());
  std::string err = testing::internal::GetCapturedStderr();
  EXPECT_EQ(rc, std::optional<int>(kExitUsage)) << err;
  return err;
}

TEST(Parse, Subcommands) {
  const std::string hint = "\nTry 'xdpkv help t'.\n";
  EXPECT_EQ(subcommand_error({"frob"}), "xdpkv t: unknown subcommand 'frob' (add or ls)" + hint);
  EXPECT_EQ(subcommand_error({}), "xdpkv t: missing subcommand (add or ls)" + hint);
  EXPECT_EQ(subcommand_error({"--x"}), "xdpkv t: unknown option '--x'" + hint);
  EXPECT_EQ(subcommand_error({"ls", "extra"}), "xdpkv t: unexpected argument 'extra'" + hint);
}

TEST(Parse, HelpIsTheUsageText) {
  testing::internal::CaptureStdout();
  const Parsed p = run({"--n", "bad", "--help"});  // --help wins over the error
  EXPECT_EQ(testing::internal::GetCapturedStdout(), std::string(kSelf.usage));
  EXPECT_EQ(p.rc, std::optional<int>(kExitOk));
}

}  // namespace
}  // namespace xdpkv::cli
