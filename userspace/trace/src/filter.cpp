// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
// The tagger's filter grammar (trace.hpp): a conjunction of protocol,
// address and port tests, compiled into struct xdpkv_tag_filter.
#include <arpa/inet.h>

#include <cstring>
#include <sstream>
#include <vector>

#include <xdpkv/trace.hpp>

namespace xdpkv::trace {
namespace {

std::vector<std::string> words(std::string_view s) {
  std::vector<std::string> w;
  std::istringstream in{std::string(s)};
  for (std::string t; in >> t;) w.push_back(t);
  return w;
}

Error bad(const std::string& why) { return make_error(EINVAL, "filter: " + why); }

// The words of a filter, taken in order.
struct Words {
  std::vector<std::string> w;
  size_t i = 0;

  Result<std::string> need(const char* what) {
    if (i >= w.size()) return bad(std::string("missing ") + what + " at the end");
    return w[i++];
  }
};

// ip, udp, tcp or icmp.
Status add_proto(xdpkv_tag_filter& f, const std::string& kw) {
  // Each test at most once, as for host and port: a repeat is a typo.
  const uint8_t p = kw == "udp" ? 17 : kw == "tcp" ? 6 : kw == "icmp" ? 1 : 0;
  if ((p && f.proto == p) || (!p && f.ipv4_only)) return bad("'" + kw + "' given twice");
  if (kw == "ip") {
    f.ipv4_only = 1;
  } else {
    if (f.proto) return bad("two protocols ('" + kw + "' and another): no packet matches");
    f.proto = p;
  }
  return {};
}

// [src|dst] host a (dir: "src", "dst" or "").
Status add_host(xdpkv_tag_filter& f, const std::string& dir, const std::string& a) {
  in_addr addr{};
  if (inet_pton(AF_INET, a.c_str(), &addr) != 1) return bad("'" + a + "' is not an IPv4 address");
  uint8_t* has = dir == "src" ? &f.has_src : dir == "dst" ? &f.has_dst : &f.has_host;
  __u32* slot = dir == "src" ? &f.src : dir == "dst" ? &f.dst : &f.host;
  if (*has) return bad("'" + (dir.empty() ? "" : dir + " ") + "host' given twice");
  *has = 1;
  *slot = addr.s_addr;
  return {};
}

// [src|dst] port a (dir: "src", "dst" or "").
Status add_port(xdpkv_tag_filter& f, const std::string& dir, const std::string& a) {
  unsigned long v = 0;
  bool digits =
      !a.empty() && a.size() <= 5 && a.find_first_not_of("0123456789") == std::string::npos;
  if (digits) v = std::stoul(a);
  if (!digits || v < 1 || v > 65535) return bad("'" + a + "' is not a port (1-65535)");
  uint8_t* has = dir == "src" ? &f.has_sport : dir == "dst" ? &f.has_dport : &f.has_port;
  __u16* slot = dir == "src" ? &f.sport : dir == "dst" ? &f.dport : &f.port;
  if (*has) return bad("'" + (dir.empty() ? "" : dir + " ") + "port' given twice");
  *has = 1;
  *slot = htons(static_cast<uint16_t>(v));
  if (f.proto == 1) return bad("ports need tcp or udp, not icmp");
  return {};
}

// One term, from the next word on: a protocol, or [src|dst] host or port and its argument.
Status add_term(Words& in, xdpkv_tag_filter& f) {
  const std::string& t = in.w[in.i++];
  std::string dir;
  std::string kw = t;
  if (t == "src" || t == "dst") {
    dir = t;
    auto k = in.need("'host' or 'port'");
    if (!k) return k.error();
    kw = *k;
    if (kw != "host" && kw != "port")
      return bad("'" + t + "' must be followed by 'host' or 'port', not '" + kw + "'");
  }
  if (kw == "ip" || kw == "udp" || kw == "tcp" || kw == "icmp") return add_proto(f, kw);
  if (kw == "host") {
    auto a = in.need("an IPv4 address after 'host'");
    if (!a) return a.error();
    return add_host(f, dir, *a);
  }
  if (kw == "port") {
    auto a = in.need("a port number after 'port'");
    if (!a) return a.error();
    return add_port(f, dir, *a);
  }
  return bad("unknown word '" + kw +
             "' (only 'and' joins terms; expected ip, udp, tcp, icmp, [src|dst] host A.B.C.D, "
             "[src|dst] port N)");
}

}  // namespace

Result<xdpkv_tag_filter> parse_filter(std::string_view expr) {
  xdpkv_tag_filter f{};
  Words in{words(expr)};
  if (in.w.empty() || (in.w.size() == 1 && in.w[0] == "all")) return f;
  while (true) {
    if (auto s = add_term(in, f); !s) return s.error();
    if (f.proto == 1 && (f.has_port || f.has_sport || f.has_dport))
      return bad("ports need tcp or udp, not icmp");
    if (in.i == in.w.size()) break;
    // "and" is optional between terms, as in pcap filters ("tcp port 80").
    if (in.w[in.i] == "and" && ++in.i == in.w.size()) return bad("'and' at the end");
  }
  return f;
}

std::string filter_str(const xdpkv_tag_filter& f) {
  std::vector<std::string> t;
  auto ip = [](__u32 a) {
    char b[INET_ADDRSTRLEN];
    in_addr x{};
    x.s_addr = a;
    return std::string(inet_ntop(AF_INET, &x, b, sizeof b));
  };
  if (f.ipv4_only) t.push_back("ip");
  if (f.proto) t.push_back(f.proto == 17 ? "udp" : f.proto == 6 ? "tcp" : "icmp");
  if (f.has_host) t.push_back("host " + ip(f.host));
  if (f.has_src) t.push_back("src host " + ip(f.src));
  if (f.has_dst) t.push_back("dst host " + ip(f.dst));
  if (f.has_port) t.push_back("port " + std::to_string(ntohs(f.port)));
  if (f.has_sport) t.push_back("src port " + std::to_string(ntohs(f.sport)));
  if (f.has_dport) t.push_back("dst port " + std::to_string(ntohs(f.dport)));
  if (t.empty()) return "all";
  std::string s = t[0];
  for (size_t i = 1; i < t.size(); ++i) s += " and " + t[i];
  return s;
}

}  // namespace xdpkv::trace
