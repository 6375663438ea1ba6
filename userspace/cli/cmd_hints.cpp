// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
// xdpkv hints: NIC hints (RX hash, VLAN, timestamp) from the command line.
//   xdpkv hints probe IFACE [--netns NAME] [--live] [--wait MS] [--json]
//   xdpkv hints decode HEX...|-
//   xdpkv hints hash SRC DST [SPORT DPORT]
#include <arpa/inet.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <string_view>

#include <xdpkv/codec.hpp>
#include <xdpkv/hints.hpp>

#include "commands.hpp"

namespace xdpkv::cli {
namespace {

int out(const std::string& s) {
  std::fwrite(s.data(), 1, s.size(), stdout);
  return std::fflush(stdout) == 0 ? kExitOk : kExitFail;
}

int hints_probe(const Command& self, int argc, char** argv) {
  hints::ProbeOptions opt;
  std::string ifname;
  bool json = false;
  for (int i = 0; i < argc; i++) {
    std::string_view a = argv[i];
    if (a == "--netns" && i + 1 < argc) {
      opt.netns = argv[++i];
    } else if (a == "--live") {
      opt.live = true;
    } else if (a == "--no-live") {
      opt.live_if_needed = false;
    } else if (a == "--wait" && i + 1 < argc) {
      char* end = nullptr;
      long ms = std::strtol(argv[++i], &end, 10);
      if (*end || ms < 0 || ms > 600000) return usage_error(self, "--wait takes milliseconds (0..600000)");
      opt.wait_ms = static_cast<int>(ms);
    } else if (a == "--json") {
      json = true;
    } else if (!a.empty() && a[0] == '-') {
      return usage_error(self, "unknown option '" + std::string(a) + "'");
    } else if (ifname.empty()) {
      ifname = a;
    } else {
      return usage_error(self, "one IFACE only");
    }
  }
  if (ifname.empty()) return usage_error(self, "probe needs an IFACE");
  if (opt.netns.find('/') != std::string::npos) return usage_error(self, "--netns takes a name from 'ip netns'");
  auto r = hints::probe(ifname, opt);
  if (!r) return fail(self, r.error().message);
  return out(json ? hints::to_json(*r) + "\n" : hints::format(*r));
}

int hints_decode(const Command& self, int argc, char** argv) {
  std::string text;
  for (int i = 0; i < argc; i++) {
    std::string_view a = argv[i];
    if (a == "-") {
      char buf[4096];
      size_t n;
      while ((n = std::fread(buf, 1, sizeof(buf), stdin)) > 0) text.append(buf, n);
    } else {
      text += std::string(a) + " ";
    }
  }
  if (text.empty()) return usage_error(self, "decode needs HEX (or '-')");
  auto bytes = parse_hex(text);
  if (!bytes) return fail(self, bytes.error().message);
  View v(*bytes);
  if (v.validate()) return fail(self, v.problem());
  hints::Hints h;
  int ret = hints::read(v, h);
  if (ret == -ENODATA) return out("{}\n");
  if (ret) return fail(self, "reserved hint keys: " + describe(ret));
  return out(hints::to_json(h) + "\n");
}

bool parse_addr(const char* s, std::vector<uint8_t>& out, int& family) {
  uint8_t b[16];
  if (inet_pton(AF_INET, s, b) == 1) {
    out.assign(b, b + 4);
    family = AF_INET;
    return true;
  }
  if (inet_pton(AF_INET6, s, b) == 1) {
    out.assign(b, b + 16);
    family = AF_INET6;
    return true;
  }
  return false;
}

int hints_hash(const Command& self, int argc, char** argv) {
  if (argc != 2 && argc != 4) return usage_error(self, "hash takes SRC DST [SPORT DPORT]");
  std::vector<uint8_t> s, d;
  int fs = 0, fd = 0;
  if (!parse_addr(argv[0], s, fs) || !parse_addr(argv[1], d, fd) || fs != fd)
    return usage_error(self, "SRC and DST must be two IPv4 or two IPv6 addresses");
  uint16_t sp = 0, dp = 0;
  if (argc == 4) {
    char *e1 = nullptr, *e2 = nullptr;
    long a = std::strtol(argv[2], &e1, 10), b = std::strtol(argv[3], &e2, 10);
    if (*e1 || *e2 || a < 0 || a > 65535 || b < 0 || b > 65535)
      return usage_error(self, "ports are 0..65535");
    sp = htons(static_cast<uint16_t>(a));
    dp = htons(static_cast<uint16_t>(b));
  }
  uint32_t h = hints::software_hash(s, d, sp, dp, argc == 4);
  char buf[32];
  std::snprintf(buf, sizeof(buf), "0x%08x\n", h);
  return out(buf);
}

}  // namespace

int cmd_hints(int argc, char** argv) {
  const Command& self = *find_command("hints");
  if (argc < 2) return usage_error(self, "missing subcommand (probe, decode, hash)");
  std::string_view sub = argv[1];
  for (int i = 1; i < argc; i++)
    if (std::string_view(argv[i]) == "--help" || std::string_view(argv[i]) == "-h") return print_help(self);
  if (sub == "probe") return hints_probe(self, argc - 2, argv + 2);
  if (sub == "decode") return hints_decode(self, argc - 2, argv + 2);
  if (sub == "hash") return hints_hash(self, argc - 2, argv + 2);
  return usage_error(self, "unknown subcommand '" + std::string(sub) + "'");
}

}  // namespace xdpkv::cli
