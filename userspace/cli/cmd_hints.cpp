// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
// xdpkv hints: NIC hints (RX hash, VLAN, timestamp) from the command line:
// probe, decode, hash and verify (build() below says what each takes).
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

// Every subcommand's values: one parser for all.
struct HintsArgs {
  ProbeArgs probe;
  std::vector<std::string> hex;
  HashArgs hash;
  VerifyArgs verify;
};

constexpr const char* kNetnsHelp = "the device is in that namespace ('ip netns')";

void add_probe(CLI::App& app, ProbeArgs& pa) {
  auto* p = app.add_subcommand(
      "probe",
      "which hints the device gives and where xdpkv will take each from. Asks the kernel's "
      "netdev netlink family for the device's xdp-rx-metadata-features (Linux >= 6.6); where "
      "it cannot tell, or with --live, attaches the capture program (device-bound, only if the "
      "device has no XDP program) and looks at real packets: on a veth it sends test frames "
      "from the peer, else it waits --wait MS for traffic.");
  add_iface(*p, "IFACE", pa.ifname, "");
  add_netns(*p, "--netns", pa.opt.netns, kNetnsHelp);
  auto* live = p->add_flag("--live", pa.opt.live, "always run the live check");
  p->add_flag("--no-live", pa.no_live, "never run the live check")->excludes(live);
  add_uint(*p, "--wait", pa.opt.wait_ms, 0, 600000,
           "live check, off a veth: wait MS for traffic (default 3000)")
      ->type_name("MS");
  p->add_flag("--json", pa.json, "JSON output");
}

void add_decode_hash(CLI::App& app, HintsArgs& a) {
  app.add_subcommand("decode",
                     "the hints stored in a metadata area (HEX or '-' as for 'xdpkv decode', "
                     "also \"no input\"), as JSON; {} when it carries none")
      ->add_option("HEX", a.hex);
  auto* h = app.add_subcommand("hash",
                               "the software Toeplitz hash (standard 40-byte key) xdpkv stores "
                               "for such a packet: with SPORT DPORT for TCP/UDP, without them "
                               "otherwise");
  h->add_option("SRC", a.hash.src)->check(non_empty());
  h->add_option("DST", a.hash.dst)->check(non_empty());
  add_uint(*h, "SPORT", a.hash.sport, 0, 65535, "");
  add_uint(*h, "DPORT", a.hash.dport, 0, 65535, "");
}

void add_verify(CLI::App& app, VerifyArgs& va) {
  auto* v = app.add_subcommand(
      "verify",
      "the driver's hints held against sources that are not the driver, for --count packets "
      "per pass: the hash against Toeplitz with the device's RSS key (ETHTOOL_GRSSH; --key: "
      "another) over the fields its type names, the type bits against the frame; the VLAN tag "
      "against the sender's (--vlan) or the frame's; timestamps for order and clock. Then the "
      "same hints behind a devmap (the frames go back out of IFACE through an egress program "
      "that drops them) and a cpumap (TC after xdpkv_restore: skb->hash). Test frames (UDP and "
      "TCP over IPv4 and IPv6) come from --from DEV, else from a veth's peer, else (or with "
      "--no-send) arriving traffic is used. IFACE must have no XDP program. Exit 0 only when "
      "packets arrived and nothing was wrong.");
  add_iface(*v, "IFACE", va.ifname, "");
  add_netns(*v, "--netns", va.opt.netns, kNetnsHelp);
  add_iface(*v, "--from", va.opt.from, "send the test frames from this device")->type_name("DEV");
  add_netns(*v, "--from-netns", va.opt.from_netns, "the sending device's namespace");
  v->add_flag("--no-send", va.no_send, "send nothing: use arriving traffic");
  add_uint(*v, "--count", va.opt.count, 1, 100000, "packets per pass (default 32)");
  add_uint(*v, "--timeout", va.opt.timeout_ms, 100, 600000,
           "each pass ends after MS (default 5000)")
      ->type_name("MS");
  v->add_option("--key", va.key_hex, "check the hashes with this RSS key (40 bytes of hex)")
      ->check(max_length(256))
      ->type_name("HEX");
  add_uint(*v, "--vlan", va.opt.vlan, 0, 65535, "the test frames carry this 802.1Q TCI")
      ->type_name("TCI");
  v->add_flag("--no-redirects", va.no_redirects, "skip the devmap and cpumap passes");
  v->add_flag("--json", va.json, "JSON output");
}

// The parser and the help's text (args.hpp).
void build(CLI::App& app, HintsArgs& a) {
  app.description(
      "usage: xdpkv hints probe IFACE [--netns NAME] [--live] [--no-live] [--wait MS] [--json]\n"
      "       xdpkv hints decode HEX...|-\n"
      "       xdpkv hints hash SRC DST [SPORT DPORT]\n"
      "       xdpkv hints verify IFACE [--netns NAME] [--from DEV [--from-netns NAME]]\n"
      "                          [--no-send] [--count N] [--timeout MS] [--key HEX]\n"
      "                          [--vlan TCI] [--no-redirects] [--json]\n"
      "\n"
      "RX hints are the RX hash (and its type), the VLAN tag and the RX timestamp of\n"
      "a packet. xdpkv captures them in the first XDP program from the driver (the\n"
      "device-bound kfuncs bpf_xdp_metadata_rx_hash/_vlan_tag/_timestamp) or in\n"
      "software, and keeps them in the packet's store (keys 60-62), where they\n"
      "survive XDP_REDIRECT; see docs/DRIVERS.md.\n");
  add_probe(app, a.probe);
  add_decode_hash(app, a);
  add_verify(app, a.verify);
  app.footer(
      "Examples:\n"
      "  xdpkv hints probe eth0\n"
      "  xdpkv hints probe veth1 --netns blue --live\n"
      "  xdpkv hints hash 66.9.149.187 161.142.100.80 2794 1766   # 0x51ccc178\n"
      "  xdpkv hints verify eth1 --from eth0 --count 64\n"
      "\n"
      "probe needs root for the live check (and CAP_NET_ADMIN in the namespace).\n"
      "Exit status: 0 done (verify: every check right), 1 failed (verify: a hint\n"
      "wrong, or no packet), 2 usage error.\n");
}

}  // namespace

int cmd_hints(int argc, char** argv) {
  const Command& self = *find_command("hints");
  HintsArgs a;
  auto app = build_app(self, build, a);
  if (auto rc = parse(*app, self, argc, argv)) return *rc;
  if (app->got_subcommand("probe")) return hints_probe(self, a.probe);
  if (app->got_subcommand("decode")) return hints_decode(self, a.hex);
  if (app->got_subcommand("hash")) return hints_hash(self, a.hash);
  if (app->got_subcommand("verify")) return hints_verify(self, a.verify);
  return usage_error(self, "missing subcommand (probe, decode, hash or verify)");
}

std::string help_hints(const Command& self) { return help_from(self, build); }

}  // namespace xdpkv::cli
