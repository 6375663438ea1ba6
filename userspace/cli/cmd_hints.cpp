// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
// xdpkv hints: NIC hints (RX hash, VLAN, timestamp) from the command line.
//   xdpkv hints probe IFACE [--netns NAME] [--live] [--no-live] [--wait MS] [--json]
//   xdpkv hints decode HEX...|-
//   xdpkv hints hash SRC DST [SPORT DPORT]
//   xdpkv hints verify IFACE [--netns NAME] [--from DEV [--from-netns NAME]] [--no-send]
//                      [--count N] [--timeout MS] [--key HEX] [--vlan TCI] [--no-redirects]
//                      [--json]
#include <arpa/inet.h>
#include <net/if.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <optional>
#include <string>
#include <vector>

#include <xdpkv/codec.hpp>
#include <xdpkv/hints.hpp>

#include "args.hpp"
#include "commands.hpp"

namespace xdpkv::cli {
namespace {

struct ProbeArgs {
  hints::ProbeOptions opt;
  std::string ifname;
  bool json = false, no_live = false;
};

int hints_probe(const Command& self, ProbeArgs& a) {
  if (a.ifname.empty()) return usage_error(self, "probe needs an IFACE");
  if (a.no_live) a.opt.live_if_needed = false;
  auto r = hints::probe(a.ifname, a.opt);
  if (!r) return fail(self, r.error().message);
  return write_out(self, a.json ? hints::to_json(*r) + "\n" : hints::format(*r));
}

int hints_decode(const Command& self, const std::vector<std::string>& hex) {
  std::vector<uint8_t> bytes;
  if (auto rc = read_hex_area(self, hex, bytes)) return *rc;
  View v(bytes);
  if (v.validate()) return fail(self, v.problem());
  hints::Hints h;
  int ret = hints::read(v, h);
  if (ret == -ENODATA) return write_out(self, "{}\n");
  if (ret) return fail(self, "reserved hint keys: " + describe(ret));
  return write_out(self, hints::to_json(h) + "\n");
}

bool parse_addr(const std::string& s, std::vector<uint8_t>& out, int& family) {
  uint8_t b[16];
  if (inet_pton(AF_INET, s.c_str(), b) == 1) {
    out.assign(b, b + 4);
    family = AF_INET;
    return true;
  }
  if (inet_pton(AF_INET6, s.c_str(), b) == 1) {
    out.assign(b, b + 16);
    family = AF_INET6;
    return true;
  }
  return false;
}

struct HashArgs {
  std::string src, dst;
  std::optional<uint16_t> sport, dport;
};

int hints_hash(const Command& self, const HashArgs& a) {
  if (a.dst.empty() || a.sport.has_value() != a.dport.has_value())
    return usage_error(self, "hash takes SRC DST [SPORT DPORT]");
  std::vector<uint8_t> s, d;
  int fs = 0, fd = 0;
  if (!parse_addr(a.src, s, fs) || !parse_addr(a.dst, d, fd) || fs != fd)
    return usage_error(self, "SRC and DST must be two IPv4 or two IPv6 addresses");
  const bool ports = a.sport.has_value();
  const uint16_t sp = ports ? htons(*a.sport) : 0, dp = ports ? htons(*a.dport) : 0;
  char buf[32];
  std::snprintf(buf, sizeof(buf), "0x%08x\n", hints::software_hash(s, d, sp, dp, ports));
  return write_out(self, buf);
}

struct VerifyArgs {
  hints::VerifyOptions opt;
  std::string ifname, key_hex;
  bool json = false, no_send = false, no_redirects = false;
};

int hints_verify(const Command& self, VerifyArgs& a) {
  if (a.ifname.empty()) return usage_error(self, "verify needs an IFACE");
  if (!a.key_hex.empty()) {
    auto k = parse_hex(a.key_hex);
    if (!k || k->size() != a.opt.key.size()) {
      return usage_error(self, "--key takes " + std::to_string(a.opt.key.size()) +
                                   " bytes of hex (the RSS key 'ethtool -x' shows)");
    }
    std::copy(k->begin(), k->end(), a.opt.key.begin());
    a.opt.key_given = true;
  }
  if (a.opt.vlan && (*a.opt.vlan & 0xfff) == 0xfff)
    return usage_error(self, "VLAN id 4095 is reserved");
  a.opt.send = !a.no_send;
  a.opt.redirects = !a.no_redirects;
  auto r = hints::verify(a.ifname, a.opt);
  if (!r) return fail(self, r.error().message);
  const int rc = write_out(self, a.json ? hints::to_json(*r) + "\n" : hints::format(*r));
  return rc ? rc : r->ok() ? 0 : 1;
}

// --netns-like options: a name from 'ip netns'.
CLI::Option* add_netns(CLI::App& app, const std::string& name, std::string& out,
                       const std::string& what) {
  return app.add_option(name, out, what)
      ->check(non_empty())
      ->check(max_length(255))
      ->check(CLI::Validator(
          [](std::string& s) {
            if (s.find('/') == std::string::npos && s != "." && s != "..") return std::string();
            return "'" + shorten(s) + "' is not a name from 'ip netns'";
          },
          "NAME", "netns name"))
      ->type_name("NAME");
}

CLI::Option* add_iface(CLI::App& app, const std::string& name, std::string& out,
                       const std::string& what) {
  return app.add_option(name, out, what)->check(non_empty())->check(max_length(IFNAMSIZ - 1));
}

CLI::App* add_verify(CLI::App& app, VerifyArgs& va) {
  auto* v = app.add_subcommand("verify", "check a driver's hints against independent sources");
  add_iface(*v, "IFACE", va.ifname, "the device");
  add_netns(*v, "--netns", va.opt.netns, "the device's network namespace ('ip netns')");
  add_iface(*v, "--from", va.opt.from, "send the test frames from this device")->type_name("DEV");
  add_netns(*v, "--from-netns", va.opt.from_netns, "the sending device's namespace");
  v->add_flag("--no-send", va.no_send, "send nothing: take arriving packets");
  add_uint(*v, "--count", va.opt.count, 1, 100000, "packets per pass (default 32)");
  add_uint(*v, "--timeout", va.opt.timeout_ms, 100, 600000, "per pass (ms, default 5000)")
      ->type_name("MS");
  v->add_option("--key", va.key_hex, "the RSS key to check hashes with (40 bytes hex)")
      ->check(max_length(256))
      ->type_name("HEX");
  add_uint(*v, "--vlan", va.opt.vlan, 0, 65535, "test frames carry this 802.1Q TCI")
      ->type_name("TCI");
  v->add_flag("--no-redirects", va.no_redirects, "skip the devmap and cpumap passes");
  v->add_flag("--json", va.json, "JSON output");
  return v;
}

}  // namespace

int cmd_hints(int argc, char** argv) {
  const Command& self = *find_command("hints");
  auto app = make_app(self);

  ProbeArgs pa;
  auto* probe = app->add_subcommand("probe", "which hints a device gives");
  add_iface(*probe, "IFACE", pa.ifname, "the device");
  add_netns(*probe, "--netns", pa.opt.netns, "the device's network namespace ('ip netns')");
  auto* live = probe->add_flag("--live", pa.opt.live, "always run the live check");
  probe->add_flag("--no-live", pa.no_live, "never run the live check")->excludes(live);
  add_uint(*probe, "--wait", pa.opt.wait_ms, 0, 600000, "live check: wait for traffic (ms)")
      ->type_name("MS");
  probe->add_flag("--json", pa.json, "JSON output");

  std::vector<std::string> hex;
  auto* decode = app->add_subcommand("decode", "the hints stored in a metadata area");
  decode->add_option("HEX", hex, "the metadata area as hex ('-': standard input)");

  HashArgs ha;
  auto* hash = app->add_subcommand("hash", "the software Toeplitz hash of a flow");
  hash->add_option("SRC", ha.src, "source address")->check(non_empty());
  hash->add_option("DST", ha.dst, "destination address")->check(non_empty());
  add_uint(*hash, "SPORT", ha.sport, 0, 65535, "source port");
  add_uint(*hash, "DPORT", ha.dport, 0, 65535, "destination port");

  VerifyArgs va;
  auto* verify = add_verify(*app, va);

  if (auto rc = parse(*app, self, argc, argv)) return *rc;
  if (probe->parsed()) return hints_probe(self, pa);
  if (decode->parsed()) return hints_decode(self, hex);
  if (hash->parsed()) return hints_hash(self, ha);
  if (verify->parsed()) return hints_verify(self, va);
  return usage_error(self, "missing subcommand (probe, decode, hash or verify)");
}

}  // namespace xdpkv::cli
