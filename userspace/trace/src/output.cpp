// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
// The output columns of trace events (text line and header, JSON object,
// pcapng comment), and the per-packet summary.
#include <time.h>

#include <algorithm>
#include <cinttypes>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <variant>

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

// One cell's value: a number, a string, or nothing (JSON null, text "").
using Value = std::variant<std::nullptr_t, uint64_t, std::string>;

// An output column, as bpftrace's output does it: one value, two renderers.
// A new column is one row here and one in docs/TRACE.md's JSON table (the
// schema TraceOutput.JsonHasExactlyTheMembers reads and checks).
struct Column {
  const char* json;  // JSON member name
  const char* head;  // text column header; nullptr: JSON only
  int width;         // text column width (left-aligned); 0: the last, unpadded
  Value (*value)(const Event&);
  // The text cell when it is not the value as it is; nullptr: the value.
  std::string (*text)(const Event&) = nullptr;
  // Its part of the pcapng comment (after the point); nullptr: not in it.
  std::string (*note)(const Event&) = nullptr;
};

std::string dash_if_empty(const std::string& s) { return s.empty() ? "-" : s; }

const Column kColumns[] = {
    {"time_ns", "TIME", 15, [](const Event& e) -> Value { return e.time_ns; },
     [](const Event& e) { return clock_str(e.time_ns); }},
    {"id", "ID", 8, [](const Event& e) -> Value { return e.id; },
     [](const Event& e) { return std::to_string(e.id) + (e.followed ? "*" : ""); },
     [](const Event& e) {
       return "id=" + std::to_string(e.id) + (e.followed ? " (followed)" : "");
     }},
    {"skb", "SKB", 18, [](const Event& e) -> Value { return hex(e.skb); }},
    {"cpu", "CPU", 3, [](const Event& e) -> Value { return e.cpu; }},
    {"netns", "NETNS", 10, [](const Event& e) -> Value { return e.netns; }},
    {"ifindex", nullptr, 0, [](const Event& e) -> Value { return e.ifindex; }},
    {"iface", "IFACE", 12, [](const Event& e) -> Value { return e.iface; },
     [](const Event& e) { return dash_if_empty(e.iface) + ":" + std::to_string(e.ifindex); }},
    {"len", "LEN", 5, [](const Event& e) -> Value { return e.len; }},
    {"tuple", "TUPLE", 44, [](const Event& e) -> Value { return e.tuple; },
     [](const Event& e) { return dash_if_empty(e.tuple); }},
    {"seq", "SEQ", 10,
     [](const Event& e) -> Value {
       if (e.seq) return uint64_t{*e.seq};
       return nullptr;
     },
     [](const Event& e) { return e.seq ? std::to_string(*e.seq) : std::string("-"); },
     [](const Event& e) { return e.seq ? "seq=" + std::to_string(*e.seq) : std::string(); }},
    {"segs", "SEGS", 4, [](const Event& e) -> Value { return uint64_t{e.segs}; }, nullptr,
     [](const Event& e) { return e.segs > 1 ? "segs=" + std::to_string(e.segs) : std::string(); }},
    {"point", "POINT", 24, [](const Event& e) -> Value { return e.point; }},
    {"reason", "REASON", 0,
     [](const Event& e) -> Value {
       if (e.reason) return *e.reason;
       return nullptr;
     },
     nullptr, [](const Event& e) { return e.reason ? "reason=" + *e.reason : std::string(); }},
};

std::string text_of(const Value& v) {
  if (const auto* n = std::get_if<uint64_t>(&v)) return std::to_string(*n);
  if (const auto* t = std::get_if<std::string>(&v)) return *t;
  return "";
}

nlohmann::ordered_json json_of(const Value& v) {
  if (const auto* n = std::get_if<uint64_t>(&v)) return *n;
  if (const auto* t = std::get_if<std::string>(&v)) return *t;
  return nullptr;
}

// The text columns, each padded to its width, without trailing blanks.
template <typename Cell>
std::string text_line(Cell cell) {
  std::string s;
  for (const Column& c : kColumns) {
    if (!c.head) continue;
    if (!s.empty()) s += ' ';
    std::string t = cell(c);
    if (t.size() < static_cast<size_t>(c.width)) t.resize(static_cast<size_t>(c.width), ' ');
    s += t;
  }
  while (!s.empty() && s.back() == ' ') s.pop_back();
  return s;
}

}  // namespace

std::string text_header() {
  return text_line([](const Column& c) { return std::string(c.head); });
}

std::string format_text(const Event& e) {
  return text_line([&](const Column& c) { return c.text ? c.text(e) : text_of(c.value(e)); });
}

std::vector<std::string> text_columns() {
  std::vector<std::string> out;
  for (const Column& c : kColumns)
    if (c.head) out.emplace_back(c.head);
  return out;
}

std::vector<std::string> json_members() {
  std::vector<std::string> out;
  for (const Column& c : kColumns) out.emplace_back(c.json);
  return out;
}

std::string store_json(const Event& e) {
  if (e.meta.empty()) return "";
  return to_json(View(e.meta));
}

std::string format_json(const Event& e, bool with_store) {
  nlohmann::ordered_json j;
  for (const Column& c : kColumns) j[c.json] = json_of(c.value(e));
  if (with_store) {
    const std::string s = store_json(e);
    j["store"] = s.empty() ? nlohmann::ordered_json(nullptr)
                           : nlohmann::ordered_json::parse(s, nullptr, false);
  }
  // An interface name need not be UTF-8 (any user can make one in a user
  // namespace): invalid bytes become U+FFFD instead of an exception.
  return j.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace);
}

// The point, then the columns' notes, then the store's keys and values.
std::string pcap_comment(const Event& e) {
  std::string c = e.point;
  for (const Column& col : kColumns) {
    const std::string n = col.note ? col.note(e) : "";
    if (!n.empty()) c += " " + n;
  }
  if (e.meta.empty()) return c;
  View v(e.meta);
  if (v.validate()) return c + " store=malformed";
  c += " store={";
  bool first = true;
  v.for_each([&c, &first](const Entry& en) {
    c += (first ? "" : ", ") + std::to_string(en.key) + ": " + std::to_string(en.as_uint());
    first = false;
  });
  return c + "}";
}

void Summary::add(const Event& e) {
  const PacketName name(e.id, e.seq);
  auto it = seen_.find(name);
  if (it == seen_.end()) {
    if (seen_.size() >= max_packets_) {
      packets_dropped_++;
      return;
    }
    it = seen_.emplace(name, Packet{}).first;
  }
  Packet& s = it->second;
  if (s.points.size() < max_points_) {
    s.points.push_back(e.iface.empty() ? e.point : e.point + "@" + e.iface);
  } else {
    s.points_dropped++;
  }
  s.segs = std::max(s.segs, e.segs);
  if (e.point == "kfree_skb") {
    s.end = "dropped (" + e.reason.value_or("?") + ")";
  } else if (e.point == "cgroup_skb/ingress") {
    s.end = "delivered to a socket";
  } else if (e.point == "consume_skb") {
    s.end = s.end == "delivered to a socket" ? s.end : "delivered (consumed)";
  } else {
    s.end = "in flight";  // seen again after a free: a clone or a new skb of the packet
  }
  if (e.segs > 1 && e.seq && e.payload) merged(e);
}

// The train covers [seq, seq + payload): the packets of its id seen before
// it with a later sequence number in that range were merged into it.
void Summary::merged(const Event& train) {
  const uint32_t first = *train.seq;
  const std::string end = "merged by GRO into the skb at seq " + std::to_string(first);
  const auto mark = [&](auto it) {
    for (; it != seen_.end() && it->first.id == train.id && it->first.seq; ++it) {
      const uint32_t off = *it->first.seq - first;  // modulo 2^32, as TCP compares
      if (off == 0 || off >= train.payload) return;
      it->second.end = end;
    }
  };
  mark(seen_.upper_bound(PacketName(train.id, first)));
  if (uint64_t{first} + train.payload > UINT32_MAX)  // the range wraps: its rest from 0
    mark(seen_.lower_bound(PacketName(train.id, 0)));
}

std::map<PacketName, Summary::Packet> Summary::packets() const { return seen_; }

std::vector<std::string> Summary::lines() const {
  std::vector<std::string> out;
  for (const auto& [name, p] : seen_) {
    std::string l = "id " + std::to_string(name.id);
    if (name.seq) l += " seq " + std::to_string(*name.seq);
    if (p.segs > 1) l += " (an skb of " + std::to_string(p.segs) + " segments)";
    l += ": ";
    for (size_t i = 0; i < p.points.size(); ++i) l += (i ? " -> " : "") + p.points[i];
    if (p.points_dropped) l += " -> (" + std::to_string(p.points_dropped) + " more points)";
    out.push_back(l + ": " + p.end);
  }
  if (packets_dropped_) {
    out.push_back("(" + std::to_string(packets_dropped_) + " events of packets past the first " +
                  std::to_string(max_packets_) + " not summarized)");
  }
  return out;
}

}  // namespace xdpkv::trace
