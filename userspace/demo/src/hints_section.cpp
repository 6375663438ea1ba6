// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
// xdpkv demo, the hints section: the NIC hints (rx hash, VLAN, timestamp)
// captured by xdpkv_capture, the first XDP program on lbin, read back after a
// devmap redirect (devmap program, XDP and TC on the backend) and after a
// cpumap one (cpumap program, TC on lbin), and skb->hash given back to the
// skb that cpumap built by xdpkv_restore. The rig is xdpkv/demo/hints_rig.hpp,
// the one the hint tests use.
#include <arpa/inet.h>

#include <cstdio>
#include <iterator>
#include <map>
#include <string>
#include <vector>

#include <xdpkv/demo/demo.hpp>
#include <xdpkv/demo/hints_rig.hpp>
#include <xdpkv/hints.hpp>
#include <xdpkv/topology.hpp>

namespace xdpkv::demo {

namespace {

using hints::CaptureEvent;
using hints::Hints;

// Where the capture took hint i of e from, and why.
std::string source(const CaptureEvent& e, int i, bool device_bound, bool tagged) {
  const uint32_t bit = hints::hint_bit(i);
  const std::string kf = hints::hint_kfunc(i);
  if (e.hints.has(bit) && !e.hints.software(bit))
    return "driver: " + kf + (i == hints::kHash ? " (veth: skb_get_hash of the sent skb)" : "");
  std::string why;
  const int rc = e.rc[i];
  if (rc == 0) {
    why = kf + " gave 0";  // veth: the sent skb has no hardware timestamp
  } else if (rc == -ENODATA) {
    why = "driver: " + kf + " -ENODATA";
  } else if (rc == -EOPNOTSUPP) {
    why = "the driver implements no " + kf;
  } else if (!device_bound) {
    why = "capture not device-bound";
  } else {
    why = "no " + kf + " in this kernel";
  }
  if (!e.hints.has(bit)) {
    return why + (i == hints::kVlan && tagged
                      ? ", and the tag is not in the frame (veth offloads it)"
                      : ", none in the frame either");
  }
  const char* sw = i == hints::kHash   ? "Toeplitz of the 5-tuple"
                   : i == hints::kVlan ? "the frame's 802.1Q header"
                                       : "bpf_ktime_get_ns";
  return std::string("software: ") + sw + " (" + why + ")";
}

std::string rc_name(int rc) {
  if (rc == 0) return "0";
  if (rc == -ENODATA) return "-ENODATA";
  if (rc == -EOPNOTSUPP) return "-EOPNOTSUPP";
  if (rc == 1) return "not asked";  // XDPKV_HINT_RC_NOT_TRIED
  return std::to_string(rc);
}

// The client tags its UDP to this port (hc_vlan_push): PCP 1, VID 100.
constexpr uint16_t kVlanDport = 7778;
constexpr uint16_t kVlanTci = 0x2064;

struct Packet {
  const char* path;  // "devmap" or "cpumap"
  uint16_t sport, dport;
  bool tagged;
};

// One datagram's check: the rig it went through, and the problems found.
struct Check {
  hints::Rig& rig;
  const Packet& p;
  bool quiet;
  std::vector<std::string> bad;

  void fail(const std::string& s) { bad.push_back(std::string(p.path) + ": " + s); }
  // Where the capture took hint i of e from (source()).
  std::string from(const CaptureEvent& e, int i) const {
    return source(e, i, rig.capture->device_bound(), p.tagged);
  }
};

// Sends the datagram; the one event lbin captured for it (its sequence
// number in seq), or nullptr after a failure.
const CaptureEvent* send_one(Check& c, const std::vector<uint32_t>& consumers, uint64_t& seq) {
  hints::Rig& rig = c.rig;
  const uint64_t first = rig.events.empty() ? 0 : rig.events.rbegin()->first + 1;
  net::UdpBurst b = rig.burst(1);
  b.sport_base = c.p.sport;
  b.dport = c.p.dport;
  b.flows = 1;
  auto sent = rig.send_and_wait(b, consumers);
  if (!sent) {
    c.fail(sent.error().message);
    return nullptr;
  }
  auto it = rig.events.lower_bound(first);
  if (it == rig.events.end() || std::next(it) != rig.events.end()) {
    c.fail("lbin captured " + std::to_string(std::distance(it, rig.events.end())) +
           " packets for 1 sent");
    return nullptr;
  }
  seq = it->first;
  return &it->second;
}

// Hash: from the driver (veth gives the sender's skb hash), or the
// Toeplitz hash, which must be the one of this 5-tuple.
void check_hash(Check& c, const CaptureEvent& e) {
  const Hints& h = e.hints;
  if (!h.has(XDPKV_HINT_HASH)) {
    c.fail("no hash captured");
    return;
  }
  std::string check;
  if (h.software(XDPKV_HINT_HASH)) {
    const uint32_t want = hints::expected_sw_hash(c.rig.topo, c.p.sport, c.p.dport);
    char line[256];
    std::snprintf(line, sizeof(line), ", = the Toeplitz hash of the 5-tuple (0x%08x)", want);
    check = line;
    if (h.hash != want) c.fail("software hash differs from the 5-tuple's Toeplitz hash");
  } else if (!h.hash) {
    c.fail("the driver's hash is 0");
  }
  if (!c.quiet) {
    std::printf("    hash       0x%08x %-12s %s%s\n", h.hash,
                hints::hash_type_name(h.hash_type).c_str(), c.from(e, hints::kHash).c_str(),
                check.c_str());
  }
}

// VLAN: the tag the client pushed, or none. veth carries it beside the
// frame (offloaded, as a NIC strips it): only the driver kfunc sees it.
void check_vlan(Check& c, const CaptureEvent& e) {
  const Hints& h = e.hints;
  const bool vlan_seen = c.p.tagged && e.rc[hints::kVlan] != 1;  // 1: not asked
  if (vlan_seen != h.has(XDPKV_HINT_VLAN)) {
    c.fail(vlan_seen ? "no VLAN captured for a tagged packet"
                     : "a VLAN captured that was not sent");
  } else if (c.p.tagged && (h.proto_host() != 0x8100 || h.vlan_tci != kVlanTci)) {
    c.fail("captured VLAN is not the tag the client pushed");
  }
  if (c.quiet) return;
  char line[256];
  if (h.has(XDPKV_HINT_VLAN)) {
    std::snprintf(line, sizeof(line), "0x%04x vid %u pcp %u", h.proto_host(), h.vlan_tci & 0xfff,
                  h.vlan_tci >> 13);
  } else {
    std::snprintf(line, sizeof(line), "none");
  }
  std::printf("    vlan       %-23s %s\n", line, c.from(e, hints::kVlan).c_str());
}

// Timestamp: a software one is the clock while the packet was sent.
void check_timestamp(Check& c, const CaptureEvent& e) {
  const Hints& h = e.hints;
  if (!h.has(XDPKV_HINT_TIMESTAMP)) {
    c.fail("no timestamp captured");
  } else if (h.software(XDPKV_HINT_TIMESTAMP) &&
             (h.timestamp < c.rig.t_start || h.timestamp > c.rig.t_end)) {
    c.fail("software timestamp outside the send");
  }
  if (c.quiet) return;
  char line[256];
  std::snprintf(line, sizeof(line), "%llu ns", static_cast<unsigned long long>(h.timestamp));
  std::printf("    timestamp  %-23s %s\n", line, c.from(e, hints::kTimestamp).c_str());
}

// Every consumer on the way read exactly the hints h; returns the names of
// those that read them after the redirect.
std::string check_consumers(Check& c, uint64_t seq, const Hints& h,
                            const std::vector<uint32_t>& consumers) {
  const auto recs = c.rig.seen.find(seq);
  std::string names;
  for (uint32_t cons : consumers) {
    const char* n = hints::consumer_name(cons);
    if (recs == c.rig.seen.end() || !recs->second.count(cons)) {
      c.fail(std::string(n) + " saw no record");
      continue;
    }
    if (cons == HC_TC_PRE) continue;  // the skb before restore: check_skb_hash
    names += (names.empty() ? "" : ", ") + std::string(n);
    if (cons == HC_TC) names += consumers.front() == HC_CPUMAP ? " on lbin" : " on be";
    if (auto d = hints::mismatch(recs->second.at(cons), h); !d.empty())
      c.fail(std::string(n) + " read a different " + d);
  }
  return names;
}

// be's driver gives no hint for a redirected frame (at: the packet's records).
void check_backend_driver(Check& c, const std::map<uint32_t, hc_rec>& at,
                          const std::string& names) {
  auto be = at.find(HC_BACKEND);
  if (be == at.end()) return;
  const int* d = be->second.drv_rc;
  std::string drv;
  for (int i = 0; i < hints::kNumHints; i++) {
    if (d[i] != -ENODATA && d[i] != 1) c.fail("be's driver gave a hint for a redirected frame");
    drv += (i ? ", " : "") + rc_name(d[i]);
  }
  if (!c.quiet) {
    std::printf("    read after the redirect by %s: the same; be's driver: %s\n", names.c_str(),
                drv.c_str());
  }
}

// skb->hash in TC: none as cpumap built the skb, the captured hash after
// xdpkv_restore.
void check_skb_hash(Check& c, const std::map<uint32_t, hc_rec>& at, const Hints& h,
                    const std::string& names) {
  auto pre = at.find(HC_TC_PRE);
  if (pre == at.end()) return;
  const hc_rec& post = at.at(HC_TC);
  if (pre->second.skb_hash != 0) c.fail("cpumap built the skb with a hash: nothing to show");
  if (post.skb_hash != h.hash) c.fail("skb->hash after xdpkv_restore is not the captured hash");
  if (!c.quiet) {
    std::printf(
        "    read after the redirect by %s: the same; skb->hash in TC: 0x%08x as cpumap "
        "built it (what the stack gets without restore), 0x%08x after xdpkv_restore (%s the "
        "captured hash)\n",
        names.c_str(), pre->second.skb_hash, post.skb_hash, post.skb_hash == h.hash ? "=" : "!=");
  }
}

// Sends one datagram p through the rig and checks what every consumer read
// against what lbin captured; prints a few lines and returns the problems.
std::vector<std::string> one(hints::Rig& rig, const Packet& p,
                             const std::vector<uint32_t>& consumers, bool quiet) {
  Check c{rig, p, quiet, {}};
  uint64_t seq = 0;
  const CaptureEvent* e = send_one(c, consumers, seq);
  if (!e) return c.bad;
  if (!quiet) {
    const net::Topology& t = rig.topo;
    std::printf("  %s  udp %s:%u > %s:%u%s\n", p.path, net::ip4_str(t.cli.ip4).c_str(), p.sport,
                net::ip4_str(t.vip).c_str(), p.dport,
                p.tagged ? ", tagged 802.1Q by the client's TC egress" : "");
  }
  check_hash(c, *e);
  check_vlan(c, *e);
  check_timestamp(c, *e);
  const std::string names = check_consumers(c, seq, e->hints, consumers);
  if (!c.bad.empty()) return c.bad;
  const auto& at = rig.seen.find(seq)->second;
  check_backend_driver(c, at, names);
  check_skb_hash(c, at, e->hints, names);
  return c.bad;
}

// How the capture takes the hints: device-bound or in software, and why.
std::string capture_how(const hints::Capture& cap) {
  std::string note = cap.note();
  note = note.substr(0, note.find('\n'));  // not the verifier log
  const uint32_t kf = hints::kernel_kfuncs();
  std::string have;
  for (int i = 0; i < hints::kNumHints; i++) {
    if (kf & hints::hint_bit(i)) {
      have += (have.empty() ? "" : ", ") + std::string(hints::hint_kinds()[i].capability);
    }
  }
  if (cap.device_bound()) {
    return "device-bound to lbin (veth): the driver first (this kernel has " + have +
           "), software where it gives nothing";
  }
  if (!note.empty()) return "all in software: " + note;
  return "all in software: " + std::string(have.empty() ? "no driver hint kfunc in this kernel "
                                                          "(Linux >= 6.3 has them)"
                                                        : "not device-bound");
}

// Two packets redirected through the devmap, one VLAN-tagged: read by the
// devmap program, XDP and TC on the backend. Problems go to bad.
Status through_devmap(net::Topology& topo, uint32_t key_seq, uint32_t origin, bool quiet,
                      std::vector<std::string>& bad, int& packets) {
  hints::RigOptions o;
  o.key_seq = key_seq;
  o.capture.origin = origin;
  o.capture.action = hints::CaptureOptions::kDevmap;
  o.backend = true;
  o.backend_tc = true;
  o.vlan_sender = true;
  o.vlan_dport = kVlanDport;
  o.vlan_tci = kVlanTci;
  auto rig = hints::Rig::create(topo, o);
  if (!rig) return rig.error();
  std::printf("  capture: %s; packets numbered under packet_id (key %u)\n",
              capture_how(*(*rig)->capture).c_str(), key_seq);
  const std::vector<uint32_t> cs{HC_DEVMAP, HC_BACKEND, HC_TC};
  for (const Packet& p : {Packet{"devmap", 20000, hints::kRigDport, false},
                          Packet{"devmap", 20001, kVlanDport, true}}) {
    auto b = one(**rig, p, cs, quiet);
    bad.insert(bad.end(), b.begin(), b.end());
    packets++;
  }
  return {};
}

// One packet through the cpumap: TC on lbin before and after xdpkv_restore.
Status through_cpumap(net::Topology& topo, uint32_t key_seq, uint32_t origin, bool quiet,
                      std::vector<std::string>& bad, int& packets) {
  hints::RigOptions o;
  o.key_seq = key_seq;
  o.capture.origin = origin;
  o.capture.action = hints::CaptureOptions::kCpumap;
  o.restore = hints::RestoreOptions{.hash = true, .vlan = false, .priority = 2, .origin = origin};
  o.lbin_tc_pre = true;  // priority 1: before xdpkv_restore
  o.lbin_tc = true;      // priority 10: after it
  auto rig = hints::Rig::create(topo, o);
  if (!rig) return rig.error();
  auto b = one(**rig, Packet{"cpumap", 20002, hints::kRigDport, false},
               {HC_CPUMAP, HC_TC_PRE, HC_TC}, quiet);
  bad.insert(bad.end(), b.begin(), b.end());
  packets++;
  if ((*rig)->restore->stats().hash_set != 1) bad.push_back("cpumap: xdpkv_restore set no hash");
  return {};
}

}  // namespace

Status hints_section(net::Topology& topo, uint32_t key_seq, uint32_t origin, bool quiet) {
  std::printf(
      "\n== hints: hash, VLAN, timestamp captured in lbin's first XDP program (xdpkv_capture), "
      "read after devmap and cpumap ==\n");
  std::vector<std::string> bad;
  int packets = 0;
  if (auto s = through_devmap(topo, key_seq, origin, quiet, bad, packets); !s) return s;
  if (auto s = through_cpumap(topo, key_seq, origin, quiet, bad, packets); !s) return s;
  for (const auto& s : bad) std::printf("  PROBLEM: %s\n", s.c_str());
  std::printf("  hints: %d packets, %s\n", packets,
              bad.empty()
                  ? "every consumer read the hints lbin captured, and skb->hash after cpumap is "
                    "the captured hash only with xdpkv_restore: ok"
                  : "FAILED");
  if (!bad.empty()) return make_error(EIO, "hints: " + bad.front());
  return {};
}

}  // namespace xdpkv::demo
