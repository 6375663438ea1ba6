// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
// The tagger's filter grammar, the per-packet summary and the pcapng writer.
#include <arpa/inet.h>
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <sys/stat.h>
#include <unistd.h>
#include <algorithm>

#include <cstdio>
#include <fstream>
#include <iterator>
#include <regex>
#include <string>
#include <vector>

#include <xdpkv/trace.hpp>

namespace xdpkv::trace {
namespace {

TEST(TagFilter, ParsesEveryForm) {
  auto all = parse_filter("");
  ASSERT_TRUE(all);
  EXPECT_EQ(filter_str(*all), "all");
  EXPECT_EQ(filter_str(*parse_filter("all")), "all");

  auto f = parse_filter("udp and dst port 4789");
  ASSERT_TRUE(f) << f.error().message;
  EXPECT_EQ(f->proto, 17);
  EXPECT_EQ(f->has_dport, 1);
  EXPECT_EQ(f->dport, htons(4789));
  EXPECT_EQ(f->has_port, 0);
  EXPECT_EQ(filter_str(*f), "udp and dst port 4789");

  f = parse_filter("tcp port 80");  // 'and' is optional, as in pcap filters
  ASSERT_TRUE(f) << f.error().message;
  EXPECT_EQ(filter_str(*f), "tcp and port 80");
  f = parse_filter("tcp and port 80");
  ASSERT_TRUE(f);
  EXPECT_EQ(f->proto, 6);
  EXPECT_EQ(f->port, htons(80));

  f = parse_filter("host 10.1.0.2");
  ASSERT_TRUE(f);
  EXPECT_EQ(f->has_host, 1);
  EXPECT_EQ(f->host, inet_addr("10.1.0.2"));
  f = parse_filter("  src host 10.0.0.1   and dst host 10.0.0.2 and src port 5 and icmp ");
  EXPECT_FALSE(f) << "ports with icmp";
  f = parse_filter("src host 10.0.0.1 and dst host 10.0.0.2 and src port 5 and ip");
  ASSERT_TRUE(f) << f.error().message;
  EXPECT_EQ(f->src, inet_addr("10.0.0.1"));
  EXPECT_EQ(f->dst, inet_addr("10.0.0.2"));
  EXPECT_EQ(f->sport, htons(5));
  EXPECT_EQ(f->ipv4_only, 1);
  EXPECT_EQ(filter_str(*f), "ip and src host 10.0.0.1 and dst host 10.0.0.2 and src port 5");
}

TEST(TagFilter, RejectsWithAReason) {
  struct Case {
    const char* expr;
    const char* says;
  } cases[] = {
      {"udp and tcp", "two protocols"},
      {"port 0", "not a port"},
      {"port 65536", "not a port"},
      {"port -1", "not a port"},
      {"port 8x", "not a port"},
      {"host 10.1.2", "not an IPv4 address"},
      {"host", "missing"},
      {"src", "missing"},
      {"src udp", "followed by 'host' or 'port'"},
      {"udp and", "'and' at the end"},
      {"udp or tcp", "unknown word 'or'"},
      {"port 1 and port 2", "given twice"},
      {"udp and udp", "'udp' given twice"},
      {"ip tcp ip", "'ip' given twice"},
      {"vlan 5", "unknown word 'vlan'"},
      {"icmp and port 5", "icmp"},
  };
  for (const auto& c : cases) {
    auto f = parse_filter(c.expr);
    ASSERT_FALSE(f) << c.expr;
    EXPECT_EQ(f.error().code, EINVAL) << c.expr;
    EXPECT_NE(f.error().message.find(c.says), std::string::npos)
        << c.expr << ": " << f.error().message;
  }
}

Event ev(uint64_t id, const char* point, std::optional<std::string> reason = std::nullopt) {
  Event e;
  e.id = id;
  e.point = point;
  e.iface = "v0";
  e.reason = std::move(reason);
  return e;
}

TEST(TraceSummary, EndStates) {
  Summary s;
  s.add(ev(1, "netif_receive_skb"));
  s.add(ev(2, "netif_receive_skb"));
  s.add(ev(1, "cgroup_skb/ingress"));
  s.add(ev(2, "kfree_skb", "NO_SOCKET"));
  s.add(ev(3, "net_dev_queue"));
  s.add(ev(4, "consume_skb"));
  auto p = s.packets();
  ASSERT_EQ(p.size(), 4u);
  EXPECT_EQ(p[1].end, "delivered to a socket");
  EXPECT_EQ(p[2].end, "dropped (NO_SOCKET)");
  EXPECT_EQ(p[3].end, "in flight");
  EXPECT_EQ(p[4].end, "delivered (consumed)");
  EXPECT_EQ(s.lines()[1], "id 2: netif_receive_skb@v0 -> kfree_skb@v0: dropped (NO_SOCKET)");
}

// TCP: a packet is (id, seq). A GRO train [seq, seq + payload) takes in the
// segments of its id seen before it; a segment of another id or outside the
// range stays its own packet. The range may wrap around 2^32.
TEST(TraceSummary, GroTrainTakesInItsSegments) {
  auto seg = [](uint64_t id, uint32_t seq, const char* point, uint32_t segs, uint32_t payload) {
    Event e = ev(id, point);
    e.seq = seq;
    e.segs = segs;
    e.payload = payload;
    return e;
  };
  Summary s;
  const uint32_t top = UINT32_MAX - 999;  // 1000 bytes below the wrap
  for (uint32_t i = 0; i < 3; i++) s.add(seg(5, top + i * 1000, "xdp:tagger", 1, 1000));
  s.add(seg(6, top + 1000, "xdp:tagger", 1, 1000));  // another id
  s.add(seg(5, top + 3000, "xdp:tagger", 1, 1000));  // after the train
  s.add(seg(5, top, "netif_receive_skb", 3, 3000));  // the train: top .. top + 3000
  s.add(ev(5, "cgroup_skb/ingress"));                // no TCP: the id alone
  auto p = s.packets();
  EXPECT_EQ(p.at({5, top}).segs, 3u);
  EXPECT_EQ(p.at({5, top}).end, "in flight");
  EXPECT_EQ(p.at({5, top + 1000}).end, "merged by GRO into the skb at seq " + std::to_string(top));
  EXPECT_EQ(p.at({5, top + 2000}).end, "merged by GRO into the skb at seq " + std::to_string(top))
      << "across the wrap";
  EXPECT_EQ(p.at({5, top + 3000}).end, "in flight");
  EXPECT_EQ(p.at({6, top + 1000}).end, "in flight");
  EXPECT_EQ(p.at({5}).end, "delivered to a socket");
  const auto lines = s.lines();
  EXPECT_NE(std::find(lines.begin(), lines.end(),
                      "id 5 seq " + std::to_string(top) +
                          " (an skb of 3 segments): xdp:tagger@v0 -> netif_receive_skb@v0: "
                          "in flight"),
            lines.end());
}

// The summary is bounded: packets past the limit and points past the
// per-packet limit are counted and said, and the end state still follows.
TEST(TraceSummary, Bounded) {
  Summary s(2, 3);
  for (int i = 0; i < 5; i++) s.add(ev(1, "netif_receive_skb"));
  s.add(ev(1, "kfree_skb", "NO_SOCKET"));
  s.add(ev(2, "netif_receive_skb"));
  s.add(ev(3, "netif_receive_skb"));
  s.add(ev(3, "consume_skb"));
  auto p = s.packets();
  ASSERT_EQ(p.size(), 2u);
  EXPECT_EQ(p.at({1}).points.size(), 3u);
  EXPECT_EQ(p.at({1}).points_dropped, 3u);
  EXPECT_EQ(p.at({1}).end, "dropped (NO_SOCKET)");
  const auto l = s.lines();
  ASSERT_EQ(l.size(), 3u);
  EXPECT_EQ(l[0],
            "id 1: netif_receive_skb@v0 -> netif_receive_skb@v0 -> netif_receive_skb@v0 -> (3 "
            "more points): dropped (NO_SOCKET)");
  EXPECT_EQ(l[2], "(2 events of packets past the first 2 not summarized)");
}

// docs/TRACE.md's JSON table is the schema: "exactly these members in this
// order", each of the type it gives ("number or null"...). The test reads the
// table, so a new column is a row there and a row of kColumns, not an edit here.
struct DocMember {
  std::string name;
  std::vector<std::string> types;
};

std::vector<DocMember> json_members_of_the_doc() {
  std::ifstream f(XDPKV_DOCS_DIR "/TRACE.md");
  std::vector<DocMember> out;
  std::string line;
  bool in = false;
  static const std::regex row(R"(^\| `([a-z_]+)` \| ([a-z ]+) \|)");
  while (std::getline(f, line)) {
    if (line.rfind("### ", 0) == 0) {
      if (in) break;
      in = line == "### JSON (`--json`)";
      continue;
    }
    std::smatch m;
    if (!in || !std::regex_search(line, m, row)) continue;
    DocMember d{m[1], {}};
    std::string t = m[2];
    for (size_t at; (at = t.find(" or ")) != std::string::npos; t.erase(0, at + 4)) {
      d.types.push_back(t.substr(0, at));
    }
    d.types.push_back(t);
    out.push_back(d);
  }
  return out;
}

// A member list and types that match the doc's, for one formatted event.
void expect_the_doc_schema(const std::string& line, bool with_store) {
  const auto doc = json_members_of_the_doc();
  ASSERT_GE(doc.size(), 10u) << "no JSON member table in " XDPKV_DOCS_DIR "/TRACE.md";
  const auto j = nlohmann::ordered_json::parse(line);
  std::vector<std::string> got, want;
  for (const auto& [k, v] : j.items()) got.push_back(k);
  for (const auto& d : doc) {
    if (d.name == "store" && !with_store) continue;  // only with --output-store
    want.push_back(d.name);
    if (!j.contains(d.name)) continue;
    const auto& v = j[d.name];
    const std::string type = v.is_null()     ? "null"
                             : v.is_number() ? "number"
                             : v.is_string() ? "string"
                             : v.is_object() ? "object"
                                             : v.type_name();
    EXPECT_NE(std::find(d.types.begin(), d.types.end(), type), d.types.end())
        << d.name << " is " << type << " in " << line;
  }
  EXPECT_EQ(got, want) << line;
}

TEST(TraceOutput, JsonHasExactlyTheMembers) {
  Event e = ev(7, "kfree_skb", "NO_SOCKET");
  // key 0, 8 bytes = 7: the value, then the header words hi = 1, lo = 1.
  e.meta = {7, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0};
  const std::string j = format_json(e, true);
  expect_the_doc_schema(j, true);
  const auto o = nlohmann::json::parse(j);
  for (const char* zero : {"time_ns", "cpu", "netns", "ifindex", "len"}) {
    EXPECT_EQ(o[zero], 0) << zero;
  }
  EXPECT_EQ(o["id"], 7);
  EXPECT_EQ(o["skb"], "0x0");
  EXPECT_EQ(o["iface"], "v0");
  EXPECT_EQ(o["tuple"], "");
  EXPECT_TRUE(o["seq"].is_null());
  EXPECT_EQ(o["segs"], 1);
  EXPECT_EQ(o["point"], "kfree_skb");
  EXPECT_EQ(o["reason"], "NO_SOCKET");
  EXPECT_NE(j.find("\"value\":\"0700000000000000\""), std::string::npos) << j;
  const std::string n = format_json(ev(1, "netif_receive_skb"), false);
  expect_the_doc_schema(n, false);
  EXPECT_NE(n.find("\"reason\":null}"), std::string::npos) << n;
  EXPECT_EQ(n.find("store"), std::string::npos) << n;
}

// An interface name that is not UTF-8 (a user namespace lets anyone make one)
// is written with U+FFFD in its place, not an abort (nlohmann type_error 316).
TEST(TraceOutput, JsonSurvivesAnInterfaceNameThatIsNotUtf8) {
  Event e = ev(3, "netif_receive_skb");
  e.iface = std::string("v\xff\xfe\x01x", 5);
  std::string j;
  ASSERT_NO_THROW(j = format_json(e, false));
  EXPECT_NE(j.find("\"iface\":\"v\xef\xbf\xbd\xef\xbf\xbd\\u0001x\""), std::string::npos) << j;
  EXPECT_TRUE(nlohmann::json::accept(j)) << j;
}

TEST(TraceOutput, PcapngBlocksAreWellFormed) {
  char path[] = "/tmp/xdpkv-pcap-XXXXXX";
  int fd = mkstemp(path);
  ASSERT_GE(fd, 0);
  close(fd);
  {
    auto w = PcapWriter::open(path);
    ASSERT_TRUE(w) << w.error().message;
    Event e = ev(3, "netif_receive_skb");
    e.frame.assign(42, 0xab);
    e.frame_len = 60;
    ASSERT_TRUE(w->write(e));
    ASSERT_TRUE(w->write(e));
    ASSERT_TRUE(w->close());
  }
  std::ifstream f(path, std::ios::binary);
  std::vector<uint8_t> b((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  std::remove(path);
  // SHB, IDB, EPB, EPB: every block's two length fields agree and tile the file.
  std::vector<uint32_t> types;
  size_t off = 0;
  auto u32 = [&](size_t o) {
    return uint32_t(b[o]) | uint32_t(b[o + 1]) << 8 | uint32_t(b[o + 2]) << 16 |
           uint32_t(b[o + 3]) << 24;
  };
  while (off + 12 <= b.size()) {
    const uint32_t len = u32(off + 4);
    ASSERT_EQ(len % 4, 0u);
    ASSERT_LE(off + len, b.size());
    ASSERT_EQ(u32(off + len - 4), len);
    types.push_back(u32(off));
    off += len;
  }
  EXPECT_EQ(off, b.size());
  EXPECT_EQ(types, (std::vector<uint32_t>{0x0a0d0d0a, 1, 6, 6}));
  const std::string s(b.begin(), b.end());
  EXPECT_NE(s.find("netif_receive_skb id=3"), std::string::npos);
}

// The capture is an fs::OutputFile: a planted symlink is refused, and until
// close() (a trace that failed) what was at the path stays as it was.
TEST(TraceOutput, PcapngNeverWritesThroughALinkOrBeforeTheEnd) {
  char dir[] = "/tmp/xdpkv-pcapdir-XXXXXX";
  ASSERT_NE(mkdtemp(dir), nullptr);
  const std::string d = dir, victim = d + "/victim", link = d + "/link.pcapng",
                    old = d + "/old.pcapng";
  auto slurp = [](const std::string& p) {
    std::ifstream f(p, std::ios::binary);
    return std::string((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  };
  std::ofstream(victim) << "precious";
  std::ofstream(old) << "last capture";
  ASSERT_EQ(symlink(victim.c_str(), link.c_str()), 0);
  auto l = PcapWriter::open(link);
  ASSERT_FALSE(l);
  EXPECT_NE(l.error().message.find("is a symbolic link"), std::string::npos) << l.error().message;
  EXPECT_EQ(slurp(victim), "precious");
  {
    auto w = PcapWriter::open(old);
    ASSERT_TRUE(w) << w.error().message;
    Event e = ev(3, "netif_receive_skb");
    e.frame.assign(42, 0xab);
    ASSERT_TRUE(w->write(e));
  }  // no close(): the trace failed
  EXPECT_EQ(slurp(old), "last capture");
  {
    auto w = PcapWriter::open(old);
    ASSERT_TRUE(w) << w.error().message;
    ASSERT_TRUE(w->close());
  }
  struct stat st {};
  ASSERT_EQ(stat(old.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  EXPECT_NE(slurp(old), "last capture");
  for (const auto& p : {victim, link, old}) std::remove(p.c_str());
  EXPECT_EQ(rmdir(dir), 0) << "a temporary file was left in " << d;
}

}  // namespace
}  // namespace xdpkv::trace
