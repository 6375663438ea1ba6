// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
// xdpkv demo --offline: tag packets in XDP (BPF_PROG_TEST_RUN) and decode
// what they carry.
#include <bpf/libbpf.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <set>
#include <string>
#include <vector>

#include <xdpkv/bpf_util.hpp>
#include <xdpkv/codec.hpp>
#include <xdpkv/demo/demo.hpp>
#include <xdpkv/frame.hpp>
#include <xdpkv/netns.hpp>

#include "xdpkv_tag.skel.h"

namespace xdpkv::demo {
namespace {

struct Flow {
  bool v6;
  uint8_t proto;  // 6 tcp, 17 udp
  uint16_t sport, dport;
};

// An Ethernet frame for flow f (addresses from the documentation ranges).
std::vector<uint8_t> make_frame(const Flow& f) {
  traffic::PacketSpec p;
  p.dst_mac = {0x02, 0, 0, 0, 0, 2};
  p.src_mac = {0x02, 0, 0, 0, 0, 1};
  (void)traffic::set_addresses(p, f.v6 ? "2001:db8::1" : "192.0.2.1",
                               f.v6 ? "2001:db8::2" : "192.0.2.2");
  p.l4_proto = f.proto;
  p.sport = f.sport;
  p.dport = f.dport;
  return traffic::build_packet(p);
}

std::string flow_str(const Flow& f) {
  char s[96];
  std::snprintf(s, sizeof(s), "%s %s:%u > %s:%u", f.proto == 6 ? "tcp" : "udp",
                f.v6 ? "[2001:db8::1]" : "192.0.2.1", f.sport, f.v6 ? "[2001:db8::2]" : "192.0.2.2",
                f.dport);
  return s;
}

// Packet i % 4 == 1 already carries 8 bytes of a cooperating program's
// metadata below an empty store: they must stay at data_meta. Packet
// i % 8 == 7 carries 8 bytes of a program that ignores xdpkv: that area is
// malformed for xdpkv (0 < M < 16), so every set is refused with -EBADMSG
// and the packet passes untouched.
const std::vector<uint8_t> kOther{0xca, 0xfe, 0xf0, 0x0d, 0x12, 0x34, 0x56, 0x78};

struct Keys {
  uint32_t packet_id = 0, flow_hash = 0, ingress = 0;
};

// What the run saw, over all packets.
struct Tally {
  std::set<uint64_t> ids;
  std::set<std::pair<int, uint32_t>> flow_hashes;
  int bad = 0, refused = 0, kept = 0;
};

// One packet's outcome: its ids, and what (if anything) was wrong.
struct Seen {
  uint64_t id = 0;
  uint32_t hash = 0;
  std::string problem, note;
};

// A foreign-only area: refused, area byte-identical, packet passed.
Seen check_lone(const bpf::XdpRun& r, const std::vector<uint8_t>& meta, int last_err) {
  Seen s;
  if (r.meta != meta || r.retval != 2) {
    s.problem = "foreign-only area was modified or the packet dropped";
  } else if (last_err != -EBADMSG) {
    s.problem = "expected -EBADMSG from xdpkv_set";
  }
  s.note = "foreign-only area (8 B): xdpkv_set -> -EBADMSG, packet passed untouched";
  return s;
}

// A tagged packet: a valid store with both ids, foreign bytes kept.
Seen check_tagged(const View& v, const Keys& k, bool foreign, Tally& t) {
  Seen s;
  uint8_t b[8] = {};
  if (v.validate()) s.problem = v.problem();
  if (s.problem.empty() && v.get(k.packet_id, b) == 8) {
    std::memcpy(&s.id, b, 8);
  } else if (s.problem.empty()) {
    s.problem = "no packet_id";
  }
  if (s.problem.empty() && v.get(k.flow_hash, b) == 4) {
    std::memcpy(&s.hash, b, 4);
  } else if (s.problem.empty()) {
    s.problem = "no flow_hash";
  }
  if (foreign) {
    const bool same = v.foreign().size() == kOther.size() &&
                      std::equal(kOther.begin(), kOther.end(), v.foreign().begin());
    if (!same && s.problem.empty()) s.problem = "foreign metadata changed";
    t.kept += same;
    s.note = "8 B foreign kept at data_meta";
  }
  if (s.problem.empty() && !t.ids.insert(s.id).second) s.problem = "duplicate packet_id";
  return s;
}

void print_packet(int i, const Flow& f, const View& v, const Seen& s, bool lone, bool quiet) {
  const char* err = s.problem.empty() ? "" : "  ERROR: ";
  if (lone) {
    std::printf("pkt %-3d %-44s meta %3zu B  %s%s%s\n", i, flow_str(f).c_str(), v.area_size(),
                s.note.c_str(), err, s.problem.c_str());
  } else {
    std::printf("pkt %-3d %-44s meta %3zu B  packet_id=0x%016llx flow_hash=0x%08x%s%s%s%s\n", i,
                flow_str(f).c_str(), v.area_size(), (unsigned long long)s.id, s.hash,
                s.note.empty() ? "" : "  ", s.note.c_str(), err, s.problem.c_str());
  }
  if (i < 2 && !quiet) std::printf("        decode: %s\n", to_json(v).c_str());
}

using Skel = bpf::Skeleton<xdpkv_tag>;

// Loads the tagger with the key ids of the registry written into it.
Result<Skel> load_tagger(const Options& opt, OwnRegistry& reg, Keys& k) {
  bpf::init_libbpf();
  auto skel = bpf::open_skeleton(xdpkv_tag__open, xdpkv_tag__destroy, "xdpkv_tag");
  if (!skel) return skel.error();
  const KeyBinding kb[] = {
      {"packet_id", 8, &k.packet_id}, {"flow_hash", 4, &k.flow_hash}, {"ingress", 2, &k.ingress}};
  if (auto r = reg.resolve(opt, kb); !r) return r.error();
  (*skel)->rodata->key_packet_id = k.packet_id;
  (*skel)->rodata->key_flow_hash = k.flow_hash;
  (*skel)->rodata->key_ingress = k.ingress;
  (*skel)->rodata->id_base = 0x00d0ULL << 48;
  if (auto l = bpf::load_skeleton(*skel, xdpkv_tag__load, "xdpkv_tag"); !l) return l.error();
  return skel;
}

// Prints the summary; whether every check passed.
bool summarize(const Options& opt, const Tally& t, const xdpkv_tag& skel) {
  // One hash per flow: as many (flow, hash) pairs as flows seen.
  std::set<int> flows_seen;
  for (auto& [fl, h] : t.flow_hashes) flows_seen.insert(fl);
  const bool hashes_stable = t.flow_hashes.size() == flows_seen.size();
  const uint64_t tagged = skel.bss->tagged, failed = skel.bss->failed;
  std::printf(
      "\nsummary: %d packets: %zu tagged with unique packet ids, %d refused as expected "
      "(foreign-only metadata), %d kept foreign bytes; flow hash stable per flow: %s; "
      "program counters tagged=%llu failed=%llu; %d errors\n",
      opt.packets, t.ids.size(), t.refused, t.kept, hashes_stable ? "yes" : "NO",
      (unsigned long long)tagged, (unsigned long long)failed, t.bad);
  if (net::interrupted()) {
    std::printf("interrupted\n");
    return false;
  }
  return !t.bad && hashes_stable && tagged == t.ids.size() && failed == (uint64_t)t.refused;
}

}  // namespace

Result<bool> run_offline(const Options& opt) {
  OwnRegistry reg;
  Keys k;
  auto skel = load_tagger(opt, reg, k);
  if (!skel) return skel.error();
  const int fd = bpf_program__fd((*skel)->progs.xdpkv_tag);
  std::printf(
      "xdpkv demo: XDP program xdpkv_tag loaded (verifier processed %u insns); "
      "tagging %d packets with BPF_PROG_TEST_RUN\n\n",
      bpf::verified_insns(fd), opt.packets);
  const Flow flows[] = {{false, 17, 40000, 53},
                        {false, 6, 40001, 443},
                        {true, 17, 40002, 4789},
                        {true, 6, 40003, 80}};
  std::vector<uint8_t> below(kOther);
  below.resize(kOther.size() + XDPKV_HDR_SIZE, 0);
  const std::vector<uint8_t> none;
  Tally t;
  for (int i = 0; i < opt.packets && !net::interrupted(); i++) {
    const Flow& f = flows[i % 4];
    const bool lone = i % 8 == 7;
    const std::vector<uint8_t>& meta = lone ? kOther : (i % 4 == 1) ? below : none;
    auto r = bpf::xdp_test_run(fd, meta, make_frame(f));
    if (!r) return r.error();
    View v(r->meta);
    const Seen s =
        lone ? check_lone(*r, meta, (*skel)->bss->last_err) : check_tagged(v, k, !meta.empty(), t);
    t.refused += lone;
    if (!lone && s.problem.empty()) t.flow_hashes.insert({i % 4, s.hash});
    t.bad += !s.problem.empty();
    if (!opt.quiet || !s.problem.empty()) print_packet(i, f, v, s, lone, opt.quiet);
  }
  return summarize(opt, t, **skel);
}

}  // namespace xdpkv::demo
