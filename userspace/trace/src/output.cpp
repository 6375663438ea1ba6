// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
// Text and JSON lines of trace events, and the per-packet summary.
#include <time.h>

#include <cinttypes>
#include <cstdio>
#include <nlohmann/json.hpp>

#include <xdpkv/codec.hpp>
#include <xdpkv/trace.hpp>

namespace xdpkv::trace {
namespace {

std::string clock_str(uint64_t ns) {
  const time_t s = static_cast<time_t>(ns / 1000000000ull);
  tm t{};
  gmtime_r(&s, &t);
  char b[40];
  std::snprintf(b, sizeof b, "%02d:%02d:%02d.%06" PRIu64, t.tm_hour, t.tm_min, t.tm_sec,
                static_cast<uint64_t>((ns % 1000000000ull) / 1000));
  return b;
}

std::string hex(uint64_t v) {
  char b[24];
  std::snprintf(b, sizeof b, "0x%" PRIx64, v);
  return b;
}

constexpr const char* kTextFmt = "%-15s %-8s %-18s %-3s %-10s %-12s %-5s %-44s %-24s %s";

std::string iface_str(const Event& e) {
  return (e.iface.empty() ? "-" : e.iface) + ":" + std::to_string(e.ifindex);
}

}  // namespace

std::string text_header() {
  char b[256];
  std::snprintf(b, sizeof b, kTextFmt, "TIME", "ID", "SKB", "CPU", "NETNS", "IFACE", "LEN", "TUPLE",
                "POINT", "REASON");
  return b;
}

std::string format_text(const Event& e) {
  char b[512];
  const std::string id = std::to_string(e.id) + (e.followed ? "*" : "");
  std::snprintf(b, sizeof b, kTextFmt, clock_str(e.time_ns).c_str(), id.c_str(), hex(e.skb).c_str(),
                std::to_string(e.cpu).c_str(), std::to_string(e.netns).c_str(),
                iface_str(e).c_str(), std::to_string(e.len).c_str(),
                e.tuple.empty() ? "-" : e.tuple.c_str(), e.point.c_str(),
                e.reason ? e.reason->c_str() : "");
  std::string s = b;
  while (!s.empty() && s.back() == ' ') s.pop_back();
  return s;
}

std::string store_json(const Event& e) {
  if (e.meta.empty()) return "";
  return to_json(View(e.meta));
}

std::string format_json(const Event& e, bool with_store) {
  nlohmann::ordered_json j;
  j["time_ns"] = e.time_ns;
  j["id"] = e.id;
  j["skb"] = hex(e.skb);
  j["cpu"] = e.cpu;
  j["netns"] = e.netns;
  j["ifindex"] = e.ifindex;
  j["iface"] = e.iface;
  j["len"] = e.len;
  j["tuple"] = e.tuple;
  j["point"] = e.point;
  j["reason"] = e.reason ? nlohmann::ordered_json(*e.reason) : nlohmann::ordered_json(nullptr);
  if (with_store) {
    const std::string s = store_json(e);
    j["store"] = s.empty() ? nlohmann::ordered_json(nullptr)
                           : nlohmann::ordered_json::parse(s, nullptr, false);
  }
  return j.dump();
}

void Summary::add(const Event& e) {
  Seen& s = seen_[e.id];
  s.points.push_back(e.iface.empty() ? e.point : e.point + "@" + e.iface);
  if (e.point == "kfree_skb") {
    s.end = "dropped (" + e.reason.value_or("?") + ")";
  } else if (e.point == "cgroup_skb/ingress") {
    s.end = "delivered to a socket";
  } else if (e.point == "consume_skb") {
    s.end = s.end == "delivered to a socket" ? s.end : "delivered (consumed)";
  } else {
    s.end = "in flight";  // seen again after a free: a clone or a new skb of the packet
  }
}

std::map<uint64_t, Summary::Packet> Summary::packets() const {
  std::map<uint64_t, Packet> out;
  for (const auto& [id, s] : seen_) out.emplace(id, Packet{s.points, s.end});
  return out;
}

std::vector<std::string> Summary::lines() const {
  std::vector<std::string> out;
  for (const auto& [id, p] : packets()) {
    std::string l = "id " + std::to_string(id) + ": ";
    for (size_t i = 0; i < p.points.size(); ++i) l += (i ? " -> " : "") + p.points[i];
    out.push_back(l + ": " + p.end);
  }
  return out;
}

}  // namespace xdpkv::trace
