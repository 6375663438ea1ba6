// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
// `xdpkv hints verify`: a driver's hints held against sources that do not
// come from the driver. The capture program reports each packet with its
// first bytes; the hash is recomputed here (Toeplitz with the device's RSS
// key over the fields its hash type names), the VLAN tag compared with the
// sender's, timestamps checked for order and clock. Then the same hints are
// read back behind a devmap (the devmap's egress program on the frame
// before it leaves) and a cpumap (TC after xdpkv_restore: skb->hash).
#include <xdpkv/frame.hpp>
#include <xdpkv/hints.hpp>
#include <xdpkv/nsscope.hpp>
#include <xdpkv/tc.hpp>

#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/ethtool.h>
#include <linux/if_link.h>
#include <linux/if_packet.h>
#include <net/if.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <map>

#include <nlohmann/json.hpp>

#include <xdpkv/capture.h>
#include "device.hpp"
#include "origin.hpp"
#include "xdpkv_verify.skel.h"

namespace xdpkv::hints {

using net::in_netns;

namespace {

using Clock = std::chrono::steady_clock;

// What the hash of a frame can cover, parsed independently of the BPF side.
struct Flow {
  bool ip = false, v6 = false, ports = false;
  uint8_t proto = 0;
  std::vector<uint8_t> addrs;  // source then destination address
  uint8_t port_bytes[4] = {};  // source and destination port, network order
  bool tagged = false;         // a VLAN tag in the frame's header
  uint16_t tag_proto = 0, tag_tci = 0;
  std::string text;  // "udp 192.0.2.1:40003 -> 192.0.2.2:7777"
};

uint16_t be16(const uint8_t* p) { return static_cast<uint16_t>(p[0] << 8 | p[1]); }

std::string flow_text(const Flow& f) {
  if (!f.ip) return "non-IP frame";
  const size_t n = f.v6 ? 16 : 4;
  char s[INET6_ADDRSTRLEN] = {}, d[INET6_ADDRSTRLEN] = {};
  inet_ntop(f.v6 ? AF_INET6 : AF_INET, f.addrs.data(), s, sizeof(s));
  inet_ntop(f.v6 ? AF_INET6 : AF_INET, f.addrs.data() + n, d, sizeof(d));
  std::string p = f.proto == 6 ? "tcp" : f.proto == 17 ? "udp" : "proto " + std::to_string(f.proto);
  if (!f.ports) return p + " " + s + " -> " + d;
  return p + " " + s + ":" + std::to_string(be16(f.port_bytes)) + " -> " + d + ":" +
         std::to_string(be16(f.port_bytes + 2));
}

Flow parse_flow(std::span<const uint8_t> b) {
  Flow f;
  size_t off = 12;
  if (b.size() < off + 2) return f;
  uint16_t type = be16(&b[off]);
  for (int i = 0; i < 2 && (type == 0x8100 || type == 0x88a8) && b.size() >= off + 6; i++) {
    if (!f.tagged) {
      f.tagged = true;
      f.tag_proto = type;
      f.tag_tci = be16(&b[off + 2]);
    }
    off += 4;
    type = be16(&b[off]);
  }
  off += 2;
  size_t l4 = 0;
  if (type == 0x0800 && b.size() >= off + 20 && (b[off] >> 4) == 4) {
    f.ip = true;
    f.proto = b[off + 9];
    f.addrs.assign(&b[off + 12], &b[off + 20]);
    if ((be16(&b[off + 6]) & 0x3fff) == 0) l4 = off + size_t{b[off] & 0xfu} * 4;  // not a fragment
  } else if (type == 0x86dd && b.size() >= off + 40) {
    f.ip = f.v6 = true;
    f.proto = b[off + 6];  // extension headers: no ports
    f.addrs.assign(&b[off + 8], &b[off + 40]);
    l4 = off + 40;
  }
  if (l4 && (f.proto == 6 || f.proto == 17) && b.size() >= l4 + 4) {
    f.ports = true;
    std::memcpy(f.port_bytes, &b[l4], 4);
  }
  f.text = flow_text(f);
  return f;
}

// ---- the checks of one packet ----------------------------------------------------

std::string hex32(uint32_t v) {
  char b[16];
  std::snprintf(b, sizeof(b), "0x%08x", v);
  return b;
}

std::string packet_name(const CaptureEvent& e, const Flow& f) {
  return "packet " + std::to_string(e.seq) + " (" + f.text + ")";
}

void note_wrong(HintCheck& c, const std::string& what) {
  c.wrong++;
  if (c.first_wrong.empty()) c.first_wrong = what;
}

// The hash type's bits against the frame: "" when they agree.
std::string type_contradiction(uint32_t type, const Flow& f) {
  if (!f.ip) return type ? "hash type " + hash_type_name(type) + " for a non-IP frame" : "";
  if ((type & XDPKV_RSS_L3_IPV4) && f.v6) return "hash type says IPv4";
  if ((type & XDPKV_RSS_L3_IPV6) && !f.v6) return "hash type says IPv6";
  if ((type & XDPKV_RSS_L4_TCP) && f.proto != 6) return "hash type says TCP";
  if ((type & XDPKV_RSS_L4_UDP) && f.proto != 17) return "hash type says UDP";
  if ((type & XDPKV_RSS_L4) && !f.ports) return "hash type says L4, the frame has no ports";
  return "";
}

// Toeplitz of the frame with key, with or without the ports.
uint32_t frame_hash(const Flow& f, bool l4, const RssKey& key) {
  std::vector<uint8_t> in = f.addrs;
  if (l4) in.insert(in.end(), f.port_bytes, f.port_bytes + 4);
  return toeplitz(in, key);
}

void check_hash(HintCheck& c, const CaptureEvent& e, const Flow& f, const VerifyReport& r) {
  const uint32_t type = e.hints.hash_type, hash = e.hints.hash;
  if (c.sample.empty()) {
    c.sample = packet_name(e, f) + ": hash " + hex32(hash) + " type " + hash_type_name(type);
    if (f.ip && r.key_known) {
      c.sample +=
          "; Toeplitz with the key: " + hex32(frame_hash(f, f.ports, r.key)) +
          (f.ports ? " with ports, " + hex32(frame_hash(f, false, r.key)) + " without" : "");
    }
  }
  if (std::string why = type_contradiction(type, f); !why.empty()) {
    c.checked++;
    note_wrong(c, packet_name(e, f) + ": " + why + " (" + hash_type_name(type) + ")");
    return;
  }
  c.agree++;
  if (f.ip && !type) c.untyped++;
  if (!f.ip || !type || !r.key_known) return;  // nothing to compute it from
  const bool l4 = (type & XDPKV_RSS_L4) && f.ports;
  const uint32_t want = frame_hash(f, l4, r.key);
  c.checked++;
  if (hash == want) {
    c.ok++;
    return;
  }
  note_wrong(c, packet_name(e, f) + ": driver " + hex32(hash) + ", expected " + hex32(want) +
                    " (Toeplitz over " + (l4 ? "addresses and ports" : "addresses") + ")");
}

void check_vlan(HintCheck& c, const CaptureEvent& e, const Flow& f, const VerifyOptions& opt) {
  std::optional<uint16_t> want = opt.vlan;
  if (!want && f.tagged) want = f.tag_tci;
  if (!want) return;
  c.checked++;
  if (e.hints.vlan_tci == *want && e.hints.proto_host() == (f.tagged ? f.tag_proto : 0x8100)) {
    c.ok++;
    return;
  }
  char b[96];
  std::snprintf(b, sizeof(b), ": driver tag 0x%04x tci %u, expected tci %u", e.hints.proto_host(),
                e.hints.vlan_tci, *want);
  note_wrong(c, packet_name(e, f) + b);
}

uint64_t clock_ns(clockid_t id) {
  timespec t{};
  clock_gettime(id, &t);
  return static_cast<uint64_t>(t.tv_sec) * 1000000000ull + static_cast<uint64_t>(t.tv_nsec);
}

// Monotonic across packets, and near one of the clocks a NIC's clock runs as.
void check_timestamp(HintCheck& c, const CaptureEvent& e, const Flow& f, uint64_t& last) {
  const uint64_t ts = e.hints.timestamp, window = 60ull * 1000000000ull;
  c.checked++;
  if (ts < last) {
    note_wrong(c, packet_name(e, f) + ": timestamp " + std::to_string(ts) + " before the " +
                      "previous packet's " + std::to_string(last));
    return;
  }
  last = ts;
  for (clockid_t id : {CLOCK_REALTIME, CLOCK_TAI, CLOCK_MONOTONIC, CLOCK_BOOTTIME}) {
    const uint64_t now = clock_ns(id);
    if (ts <= now + window && ts + window >= now) {
      c.ok++;
      return;
    }
  }
  note_wrong(c, packet_name(e, f) + ": timestamp " + std::to_string(ts) +
                    " ns is not within 60 s of CLOCK_REALTIME, _TAI, _MONOTONIC or _BOOTTIME");
}

struct PassState {
  uint64_t last_ts = 0;
};

void check_packet(VerifyReport& r, const VerifyOptions& opt, const CaptureEvent& e, PassState& ps) {
  r.packets++;
  if (r.meta_min < 0 || e.meta_len < r.meta_min) r.meta_min = e.meta_len;
  if (e.meta_len > r.meta_max) r.meta_max = e.meta_len;
  if (e.store_rc < 0) r.store_errors++;
  const Flow f = parse_flow(e.frame);
  for (int i = 0; i < kNumHints; i++) {
    HintCheck& c = r.hints[i];
    const int rc = e.rc[i];
    const bool hw = e.hints.has(hint_bit(i)) && !e.hints.software(hint_bit(i));
    if (rc == -EOPNOTSUPP || rc == XDPKV_HINT_RC_NOT_TRIED) {
      c.unsupported++;
    } else if (rc == -ENODATA || (rc == 0 && !hw)) {
      c.nodata++;  // rc 0 with nothing stored: the driver's value was 0 (no data)
    } else if (rc != 0) {
      c.checked++;
      note_wrong(c, packet_name(e, f) + ": " + hint_kfunc(i) + " returned " + std::to_string(rc));
    } else {
      c.given++;
      if (i == kHash) check_hash(c, e, f, r);
      if (i == kVlan) check_vlan(c, e, f, opt);
      if (i == kTimestamp) check_timestamp(c, e, f, ps.last_ts);
    }
  }
}

// ---- test frames ---------------------------------------------------------------

// Frame i of a pass: UDP and TCP over IPv4 and IPv6 in turn, one flow each.
std::vector<uint8_t> test_frame(unsigned i, const traffic::Mac& src, const traffic::Mac& dst,
                                const VerifyOptions& opt) {
  traffic::PacketSpec p;
  p.src_mac = src;
  p.dst_mac = dst;
  const bool v6 = (i / 2) % 2;
  (void)traffic::set_addresses(p, v6 ? "2001:db8::1" : "192.0.2.1",
                               v6 ? "2001:db8::2" : "192.0.2.2");
  p.l4_proto = i % 2 ? 6 : 17;
  p.sport = static_cast<uint16_t>(40000 + i % 20000);
  p.dport = 7777;
  p.seq = i;
  p.payload_size = 16;
  if (opt.vlan) {
    p.ntags = 1;
    p.tags[0] = {0x8100, *opt.vlan};
  }
  return traffic::build_packet(p);
}

struct Sender {
  detail::Peer from;  // empty ifname: no sending
  traffic::Mac src{}, dst{};
  unsigned next = 0;

  Status send(unsigned n, const VerifyOptions& opt) {
    if (from.ifname.empty() || !n) return {};
    return in_netns(from.netns, [&]() -> Status {
      const int ifi = static_cast<int>(if_nametoindex(from.ifname.c_str()));
      if (!ifi) return bpf::errno_error(errno, "sender device " + from.ifname);
      bpf::UniqueFd fd(socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, 0));
      if (fd.get() < 0) return bpf::errno_error(errno, "AF_PACKET socket");
      sockaddr_ll ll{};
      ll.sll_family = AF_PACKET;
      ll.sll_ifindex = ifi;
      ll.sll_halen = 6;
      std::memcpy(ll.sll_addr, dst.data(), 6);
      for (unsigned k = 0; k < n; k++) {
        const auto f = test_frame(next++, src, dst, opt);
        if (sendto(fd.get(), f.data(), f.size(), 0, reinterpret_cast<sockaddr*>(&ll), sizeof(ll)) <
            0)
          return bpf::errno_error(errno, "send on " + from.ifname);
      }
      return {};
    });
  }
};

// Sends (what is still missing, every half second) and polls until `done`
// or the pass's time is up.
Status pump(Sender& tx, const VerifyOptions& opt, const std::function<unsigned()>& have,
            const std::function<void(int)>& poll) {
  const auto end = Clock::now() + std::chrono::milliseconds(opt.timeout_ms);
  auto next_send = Clock::now();
  while (have() < opt.count && Clock::now() < end) {
    if (Clock::now() >= next_send) {
      if (auto s = tx.send(opt.count - have(), opt); !s) return s;
      next_send = Clock::now() + std::chrono::milliseconds(500);
    }
    poll(50);
  }
  return {};
}

// ---- the device ------------------------------------------------------------------

bool rxhash_on(const std::string& ifname) {
  ethtool_value v{ETHTOOL_GFLAGS, 0};
  if (!detail::ethtool_ioctl(ifname, &v, "ETHTOOL_GFLAGS")) return true;  // cannot tell
  return v.data & ETH_FLAG_RXHASH;
}

Status describe_device(VerifyReport& r, const std::string& ifname, const VerifyOptions& opt,
                       Sender& tx) {
  ProbeOptions po;
  po.netns = opt.netns;
  po.live_if_needed = false;
  auto p = probe(ifname, po);
  if (!p) return p.error();
  r.ifname = ifname;
  r.netns = opt.netns;
  r.driver = p->driver;
  r.ifindex = p->ifindex;
  r.kernel = p->kernel;
  r.netlink = p->netlink;
  r.netlink_features = p->netlink_features;
  return in_netns(opt.netns, [&]() -> Status {
    if (opt.key_given) {
      r.key = opt.key;
      r.key_known = true;
      r.key_source = "--key";
    } else if (auto k = device_rss_key(ifname)) {
      r.key = *k;
      r.key_known = true;
      r.key_source = "the device's (ETHTOOL_GRSSH)";
    } else {
      r.key_source = "none (" + k.error().message + ")";
    }
    r.rxhash_off = !rxhash_on(ifname);
    detail::mac_of(ifname, tx.dst.data());
    return {};
  });
}

Status choose_sender(VerifyReport& r, const std::string& ifname, const VerifyOptions& opt,
                     Sender& tx) {
  if (!opt.send) {
    r.traffic = "arriving packets only (--no-send)";
    return {};
  }
  if (!opt.from.empty()) {
    tx.from = {opt.from_netns, opt.from};
  } else if (r.driver != "veth" || !detail::veth_peer(opt.netns, ifname, tx.from)) {
    r.traffic = "arriving packets only (no --from device, and " + ifname + " is not a veth)";
    return {};
  }
  bool ok = false;
  (void)in_netns(tx.from.netns, [&]() -> Status {
    ok = detail::mac_of(tx.from.ifname, tx.src.data());
    return {};
  });
  if (!ok) {
    return make_error(ENODEV, "sender device " + tx.from.ifname +
                                  (tx.from.netns.empty() ? "" : " in netns " + tx.from.netns));
  }
  r.traffic = "test frames from " + tx.from.ifname +
              (tx.from.netns.empty() ? "" : " (netns " + tx.from.netns + ")") +
              ": UDP and TCP over IPv4 and IPv6" +
              (opt.vlan ? ", 802.1Q tag " + std::to_string(*opt.vlan) : "");
  return {};
}

CaptureOptions capture_options(const VerifyOptions& opt, CaptureOptions::Action action,
                               uint32_t want = XDPKV_HINT_PRESENT_MASK) {
  CaptureOptions co;
  co.want = want;
  co.events = true;
  co.action = action;
  // The device pass reads the events alone: no reader needs the mark, and
  // without it hash and timestamp fit the 32 bytes of Linux < 6.8.
  co.origin = action == CaptureOptions::kPass ? 0 : opt.origin;
  co.key_seq = action == CaptureOptions::kPass ? XDPKV_CAPTURE_NO_KEY : XDPKV_VERIFY_KEY_SEQ;
  co.key_seq_size = XDPKV_VERIFY_SEQ_SIZE;
  co.xdp_flags = XDP_FLAGS_DRV_MODE | XDP_FLAGS_UPDATE_IF_NOEXIST;
  return co;
}

Status check_pass(VerifyReport& r, const std::string& ifname, const VerifyOptions& opt,
                  Sender& tx) {
  auto cap = Capture::attach(opt.netns, ifname, capture_options(opt, CaptureOptions::kPass));
  if (!cap) return cap.error();
  r.device_bound = cap->device_bound();
  r.capture_note = cap->note();
  PassState ps;
  auto on = [&](const CaptureEvent& e) { check_packet(r, opt, e, ps); };
  return pump(
      tx, opt, [&] { return r.packets; }, [&](int ms) { cap->poll_events(ms, on); });
}

void finish_hints(VerifyReport& r) {
  for (int i = 0; i < kNumHints; i++) {
    HintCheck& c = r.hints[i];
    c.advertised = (r.netlink && (r.netlink_features & hint_kinds()[i].netlink)) || c.given;
    c.verdict = c.wrong     ? Verdict::kWrong
                : c.checked ? Verdict::kOk
                : c.given   ? Verdict::kUnchecked
                : c.nodata  ? Verdict::kNoData
                            : Verdict::kUnsupported;
  }
  HintCheck& h = r.hints[kHash];
  h.reference = r.key_known ? "Toeplitz with " + r.key_source + " key over the fields of the " +
                                  "hash type; type bits against the frame"
                            : "type bits against the frame; no RSS key: " + r.key_source;
  if (!h.given && h.nodata && r.rxhash_off)
    h.note = "rxhash is off on " + r.ifname + ": ethtool -K " + r.ifname + " rxhash on";
  if (h.given && !h.checked && h.untyped) {
    h.note = "type none on " + std::to_string(h.untyped) + " IP frames: the driver gave a " +
             "hash without saying what it covers, so its value cannot be checked";
  } else if (h.given && !h.checked) {
    h.note = "type bits agree with the frame on " + std::to_string(h.agree) + " of " +
             std::to_string(h.given) + "; the value is not checked without a key";
  }
  r.hints[kVlan].reference = "the test frames' tag, else the frame's own";
  r.hints[kTimestamp].reference = "monotonic, within 60 s of a system clock";
}

// ---- the redirect passes ------------------------------------------------------------

// The verify programs (drivers/verify.bpf.c) and their events.
struct Readers {
  bpf::Skeleton<xdpkv_verify> skel{nullptr, nullptr};
  ring_buffer* rb = nullptr;
  std::vector<xdpkv_verify_event> events;
  ~Readers() {
    if (rb) ring_buffer__free(rb);
  }
};

int on_verify_event(void* ctx, void* data, size_t size) {
  if (size < sizeof(xdpkv_verify_event)) return 0;
  xdpkv_verify_event e;
  std::memcpy(&e, data, sizeof(e));
  static_cast<Readers*>(ctx)->events.push_back(e);
  return 0;
}

Status load_readers(Readers& rd, uint32_t origin) {
  bpf::init_libbpf();
  auto sk = bpf::open_skeleton(xdpkv_verify__open, xdpkv_verify__destroy, "xdpkv_verify");
  if (!sk) return sk.error();
  rd.skel = std::move(*sk);
  rd.skel->rodata->xdpkv_origin = origin;
  if (auto l = bpf::load_skeleton(rd.skel, xdpkv_verify__load, "xdpkv_verify"); !l)
    return l.error();
  rd.rb = ring_buffer__new(bpf_map__fd(rd.skel->maps.xdpkv_verify_events), on_verify_event, &rd,
                           nullptr);
  if (!rd.rb) return bpf::errno_error(errno, "verify events ring buffer");
  return {};
}

// Every field but the module's mark and check: the struct as a whole, so that
// each hint kind's fields count (struct xdpkv_hints has no padding).
bool same_hints(const Hints& a, const Hints& b) {
  xdpkv_hints x = static_cast<const xdpkv_hints&>(a);
  xdpkv_hints y = static_cast<const xdpkv_hints&>(b);
  x.mark = x.check = y.mark = y.check = 0;
  return std::memcmp(&x, &y, sizeof(x)) == 0;
}

// What the reader behind the redirect saw, against what the capture stored.
void compare(RedirectCheck& c, const std::map<uint64_t, Hints>& captured,
             const std::vector<xdpkv_verify_event>& events) {
  c.captured = static_cast<unsigned>(captured.size());
  for (const xdpkv_verify_event& e : events) {
    auto it = captured.find(e.seq);
    if (e.seq_rc != XDPKV_VERIFY_SEQ_SIZE || it == captured.end())
      continue;  // not numbered in this pass
    c.arrived++;
    const Hints got(e.hints);
    const bool stored = it->second.flags & XDPKV_HINT_PRESENT_MASK;
    const std::string name = "packet " + std::to_string(e.seq);
    if ((stored ? e.load_rc != 0 : e.load_rc != -ENODATA) ||
        (stored && !same_hints(got, it->second))) {
      if (c.first_wrong.empty()) {
        c.first_wrong = name + ": read back " +
                        (e.load_rc ? xdpkv::describe(e.load_rc) : describe(got)) + ", captured " +
                        describe(it->second);
      }
      continue;
    }
    c.same++;
    const bool hashed = it->second.has(XDPKV_HINT_HASH);
    if (c.name == "cpumap" && (!hashed || e.skb_hash == it->second.hash)) {
      c.skb_hash_same++;
    } else if (c.name == "cpumap" && c.first_wrong.empty()) {
      c.first_wrong = name + ": skb->hash " + hex32(e.skb_hash) +
                      " after xdpkv_restore, captured " + hex32(it->second.hash);
    }
  }
}

// Whether the device transmits redirected frames (the devmap sends them back out of it).
bool takes_redirects(int ifindex, const VerifyOptions& opt) {
  bool yes = true;  // a kernel that cannot tell (< 6.3) tries
  (void)in_netns(opt.netns, [&]() -> Status {
    if (auto f = detail::netlink_xdp_features(ifindex)) yes = *f & detail::kXdpActNdoXmit;
    return {};
  });
  return yes;
}

// The capture's devmap or cpumap entry 0 for a redirect pass: 0, or
// nonzero with errno set.
int redirect_entry(Capture& cap, const Readers& rd, const VerifyOptions& opt,
                   CaptureOptions::Action action, int cpumap_prog) {
  uint32_t key = 0;
  int rc = 0;
  if (action == CaptureOptions::kDevmap) {
    // Back out of the same device, through the egress program that drops it.
    bpf_devmap_val v{};
    v.ifindex = static_cast<uint32_t>(cap.ifindex());
    v.bpf_prog.fd = bpf_program__fd(rd.skel->progs.xdpkv_verify_devmap);
    // The kernel looks the ifindex up in the updating thread's namespace.
    (void)in_netns(opt.netns, [&]() -> Status {
      rc = bpf_map_update_elem(cap.devmap_fd(), &key, &v, 0);
      return {};
    });
  } else {
    bpf_cpumap_val v{};
    v.qsize = 1024;
    v.bpf_prog.fd = cpumap_prog;
    rc = bpf_map_update_elem(cap.cpumap_fd(), &key, &v, 0);
  }
  return rc;
}

// One pass: the capture redirects every frame into its devmap or cpumap.
Status redirect_pass(RedirectCheck& c, Readers& rd, const std::string& ifname,
                     const VerifyOptions& opt, Sender& tx, CaptureOptions::Action action,
                     uint32_t want, int cpumap_prog = -1) {
  c.name = action == CaptureOptions::kDevmap ? "devmap" : "cpumap";
  auto cap = Capture::attach(opt.netns, ifname, capture_options(opt, action, want));
  if (!cap) return cap.error();
  // Drivers offer ndo_xdp_xmit while an XDP program is attached (virtio_net), or
  // while the peer has one (veth): asked now, with the capture in place.
  if (action == CaptureOptions::kDevmap && !takes_redirects(cap->ifindex(), opt)) {
    c.note = "devmap pass not run: " + ifname + " does not transmit redirected frames " +
             "(xdp-features without ndo-xmit; a veth offers it while its peer has an XDP " +
             "program or GRO on)";
    return {};
  }
  c.run = true;
  if (redirect_entry(*cap, rd, opt, action, cpumap_prog))
    return bpf::errno_error(errno, c.name + " entry");
  rd.events.clear();
  std::map<uint64_t, Hints> captured;
  auto on = [&](const CaptureEvent& e) {
    captured[e.seq] = e.hints;
    if (e.store_rc < 0 && c.first_wrong.empty()) {
      c.first_wrong = "packet " + std::to_string(e.seq) + ": the capture could not store the " +
                      "hints with the sequence number: " + xdpkv::describe(e.store_rc);
    }
  };
  auto poll = [&](int ms) {
    cap->poll_events(ms / 2, on);
    ring_buffer__poll(rd.rb, ms / 2);
  };
  if (auto s = pump(
          tx, opt, [&] { return static_cast<unsigned>(rd.events.size()); }, poll);
      !s)
    return s;
  cap->set_mode(XDPKV_CAPTURE_OFF);  // what is in flight still arrives; nothing new is numbered
  for (int i = 0; i < 6; i++) poll(100);
  compare(c, captured, rd.events);
  if (!c.arrived) {
    c.note = "no frame reached the reader behind the " + c.name +
             (action == CaptureOptions::kDevmap ? " (can " + ifname +
                                                      " transmit redirected frames? a veth needs "
                                                      "XDP or GRO on its peer)"
                                                : "");
  }
  return {};
}

Status check_redirects(VerifyReport& r, const std::string& ifname, const VerifyOptions& opt,
                       Sender& tx) {
  Readers rd;
  if (auto s = load_readers(rd, opt.origin.value_or(0)); !s) return s;
  // The hints the driver gave (the hash when it gave none): with the mark and
  // the sequence number they fit the 32 bytes that kernels before 6.8 allow.
  uint32_t want = 0;
  for (int i = 0; i < kNumHints; i++)
    if (r.hints[i].given) want |= hint_bit(i);
  if (!want) want = XDPKV_HINT_HASH;
  if (auto s = redirect_pass(r.redirects[0], rd, ifname, opt, tx, CaptureOptions::kDevmap, want);
      !s)
    return s;
  // cpumap: xdpkv_restore's entry program, then TC: xdpkv_restore (1), the reader (2).
  // The reader first: if it makes the clsact qdisc, it is removed afterwards.
  RestoreOptions ro;
  ro.origin = opt.origin;
  bpf::TcFilter tc;
  Status s = in_netns(opt.netns, [&]() -> Status {
    auto f = bpf::TcFilter::attach(r.ifindex, bpf_program__fd(rd.skel->progs.xdpkv_verify_tc),
                                   bpf::TcHook::kIngress, ro.priority + 1);
    if (!f) return f.error();
    tc = std::move(*f);
    return {};
  });
  if (!s) return s;
  const bool created = tc.created_clsact();
  {
    auto restore = Restore::attach(opt.netns, ifname, ro);
    s = restore ? redirect_pass(r.redirects[1], rd, ifname, opt, tx, CaptureOptions::kCpumap, want,
                                restore->cpumap_prog_fd())
                : Status(restore.error());
  }
  tc.detach();
  (void)in_netns(opt.netns, [&]() -> Status {
    if (created) bpf::tc_destroy_clsact(r.ifindex);
    return {};
  });
  return s;
}

}  // namespace

const char* verdict_name(Verdict v) {
  switch (v) {
    case Verdict::kOk: return "ok";
    case Verdict::kWrong: return "WRONG";
    case Verdict::kNoData: return "no data";
    case Verdict::kUnsupported: return "unsupported";
    case Verdict::kUnchecked: return "unchecked";
  }
  return "?";
}

// ETH_RSS_HASH_TOP: in the kernel's linux/ethtool.h, not in the uapi header.
constexpr uint8_t kRssHashToeplitz = 1;

Result<RssKey> device_rss_key(const std::string& ifname) {
  ethtool_rxfh head{};
  head.cmd = ETHTOOL_GRSSH;
  if (auto s = detail::ethtool_ioctl(ifname, &head,
                                     "ETHTOOL_GRSSH on " + ifname + " (the driver's RSS key)");
      !s)
    return s.error();
  if (head.key_size != XDPKV_RSS_KEY_SIZE) {
    return make_error(EOPNOTSUPP, ifname + "'s RSS key is " + std::to_string(head.key_size) +
                                      " bytes, not " + std::to_string(XDPKV_RSS_KEY_SIZE));
  }
  if (head.hfunc && !(head.hfunc & kRssHashToeplitz)) {
    return make_error(EOPNOTSUPP, ifname + "'s RSS hash function is not Toeplitz (hfunc " +
                                      std::to_string(head.hfunc) + ")");
  }
  if (head.indir_size > 65536) {
    return make_error(EOVERFLOW,
                      ifname + "'s RSS table has " + std::to_string(head.indir_size) + " entries");
  }
  const size_t table = size_t{head.indir_size} * sizeof(uint32_t);
  std::vector<uint8_t> buf(sizeof(ethtool_rxfh) + table + head.key_size);
  std::memcpy(buf.data(), &head, sizeof(head));
  if (auto s = detail::ethtool_ioctl(ifname, buf.data(), "ETHTOOL_GRSSH on " + ifname); !s)
    return s.error();
  RssKey k;
  std::memcpy(k.data(), buf.data() + sizeof(ethtool_rxfh) + table, k.size());
  return k;
}

bool RedirectCheck::ok() const {
  return !run || (arrived > 0 && arrived == captured && same == arrived &&
                  (name != "cpumap" || skb_hash_same == arrived) && first_wrong.empty());
}

bool VerifyReport::ok() const {
  if (!packets || store_errors) return false;
  for (const HintCheck& c : hints)
    if (c.verdict == Verdict::kWrong) return false;
  for (const RedirectCheck& c : redirects)
    if (!c.ok()) return false;
  return true;
}

Result<VerifyReport> verify(const std::string& ifname, const VerifyOptions& given) {
  VerifyOptions opt = given;
  VerifyReport r;
  Sender tx;
  if (auto s = describe_device(r, ifname, opt, tx); !s) return s.error();
  if (auto s = choose_sender(r, ifname, opt, tx); !s) return s.error();
  // Once, after the device checks: every pass loads with the same mark.
  auto origin = detail::origin_or_host(opt.origin);
  if (!origin) return origin.error();
  opt.origin = *origin;
  if (auto s = check_pass(r, ifname, opt, tx); !s) return s.error();
  finish_hints(r);
  if (opt.redirects) {
    if (auto s = check_redirects(r, ifname, opt, tx); !s) return s.error();
  }
  return r;
}

namespace {

std::string hint_line(int i, const HintCheck& c) {
  char b[160];
  std::snprintf(b, sizeof(b),
                "%-10s %-11s advertised %-3s  kfunc: %u gave, %u no data, %u unsupported",
                hint_name(i), verdict_name(c.verdict), c.advertised ? "yes" : "no", c.given,
                c.nodata, c.unsupported);
  std::string s = b;
  if (c.checked) {
    s += "; " + std::to_string(c.ok) + " of " + std::to_string(c.checked) + " right";
    s += " (" + c.reference + ")";
  } else if (c.given) {
    s += "; none checked (" + c.reference + ")";
  }
  s += "\n";
  if (!c.sample.empty()) s += "           first: " + c.sample + "\n";
  if (!c.first_wrong.empty()) s += "           first wrong: " + c.first_wrong + "\n";
  if (!c.note.empty() && c.verdict != Verdict::kOk) s += "           " + c.note + "\n";
  return s;
}

std::string redirect_line(const RedirectCheck& c) {
  if (!c.run) return c.note.empty() ? "" : c.name + ": " + c.note + "\n";
  std::string s = c.name + ": " + (c.ok() ? "ok" : "WRONG") + ": " + std::to_string(c.captured) +
                  " frames redirected, " + std::to_string(c.arrived) + " read back " +
                  (c.name == "devmap" ? "in the devmap's egress program"
                                      : "in TC after the cpumap and xdpkv_restore") +
                  ", " + std::to_string(c.same) + " with the captured hints";
  if (c.name == "cpumap") s += ", skb->hash right on " + std::to_string(c.skb_hash_same);
  s += "\n";
  if (!c.first_wrong.empty()) s += "        first wrong: " + c.first_wrong + "\n";
  if (!c.note.empty()) s += "        " + c.note + "\n";
  return s;
}

}  // namespace

std::string format(const VerifyReport& r) {
  std::string s = "device " + r.ifname + " (ifindex " + std::to_string(r.ifindex) + ", driver " +
                  r.driver + (r.netns.empty() ? "" : ", netns " + r.netns) + "), capture " +
                  (r.device_bound           ? "device-bound"
                   : r.capture_note.empty() ? "in software (no device-bound kfuncs here: Linux 6.3)"
                                            : "in software: " + r.capture_note) +
                  "\n";
  char b[160];
  if (r.netlink) {
    std::snprintf(b, sizeof(b), "netlink: xdp-rx-metadata-features 0x%llx\n",
                  static_cast<unsigned long long>(r.netlink_features));
    s += b;
  }
  s += "RSS key: " + r.key_source + (r.key_known ? " " + to_hex(r.key) : "") + "\n";
  s += "traffic: " + r.traffic + "\n";
  s += "packets: " + std::to_string(r.packets) + "; metadata the driver left before the capture: ";
  s += r.meta_min < 0 ? std::string("-")
                      : std::to_string(r.meta_min) + ".." + std::to_string(r.meta_max) + " bytes";
  s += r.store_errors ? "; storing the hints failed " + std::to_string(r.store_errors) + " times\n"
                      : "\n";
  for (int i = 0; i < kNumHints; i++) s += hint_line(i, r.hints[i]);
  for (const RedirectCheck& c : r.redirects) s += redirect_line(c);
  s += std::string("result: ") +
       (r.ok()      ? "ok"
        : r.packets ? "FAIL"
                    : "FAIL: no packet arrived") +
       "\n";
  return s;
}

std::string to_json(const VerifyReport& r) {
  using nlohmann::ordered_json;
  ordered_json j = {{"device", r.ifname},
                    {"ifindex", r.ifindex},
                    {"driver", r.driver},
                    {"netns", r.netns},
                    {"device_bound", r.device_bound},
                    {"capture_note", r.capture_note},
                    {"rss_key", r.key_known ? to_hex(r.key) : ""},
                    {"rss_key_source", r.key_source},
                    {"traffic", r.traffic},
                    {"packets", r.packets},
                    {"meta_min", r.meta_min},
                    {"meta_max", r.meta_max},
                    {"store_errors", r.store_errors}};
  j["netlink"] = r.netlink ? ordered_json(r.netlink_features) : ordered_json(nullptr);
  ordered_json h = ordered_json::object();
  for (int i = 0; i < kNumHints; i++) {
    const HintCheck& c = r.hints[i];
    h[hint_name(i)] = {{"verdict", verdict_name(c.verdict)},
                       {"advertised", c.advertised},
                       {"given", c.given},
                       {"nodata", c.nodata},
                       {"unsupported", c.unsupported},
                       {"checked", c.checked},
                       {"ok", c.ok},
                       {"wrong", c.wrong},
                       {"type_agrees", c.agree},
                       {"reference", c.reference},
                       {"first_wrong", c.first_wrong},
                       {"note", c.note}};
  }
  j["hints"] = std::move(h);
  ordered_json rd = ordered_json::object();
  for (const RedirectCheck& c : r.redirects) {
    if (c.name.empty()) continue;
    rd[c.name] = {{"run", c.run},
                  {"ok", c.ok()},
                  {"captured", c.captured},
                  {"arrived", c.arrived},
                  {"same", c.same},
                  {"skb_hash_same", c.skb_hash_same},
                  {"first_wrong", c.first_wrong},
                  {"note", c.note}};
  }
  j["redirects"] = std::move(rd);
  j["ok"] = r.ok();
  return dump_spaced(j);
}

}  // namespace xdpkv::hints
