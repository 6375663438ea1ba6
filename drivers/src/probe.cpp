// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
// `xdpkv hints probe`: which hints a device gives (the netdev netlink
// family's xdp-rx-metadata-features where the kernel has it, else, or on
// request, a live check with the capture program) and from which source
// xdpkv takes each.
#include <xdpkv/frame.hpp>
#include <xdpkv/hints.hpp>
#include <xdpkv/nsscope.hpp>

#include <arpa/inet.h>
#include <linux/ethtool.h>
#include <linux/genetlink.h>
#include <linux/if_link.h>
#include <linux/if_packet.h>
#include <linux/netlink.h>
#include <linux/sockios.h>
#include <net/if.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <thread>

#include <nlohmann/json.hpp>

#include <xdpkv/capture.h>

#include "device.hpp"

namespace xdpkv::hints {

using net::in_netns;

namespace {

// include/uapi/linux/netdev.h (Linux >= 6.3; not in bookworm's 6.1 headers).
constexpr uint8_t kNetdevCmdDevGet = 1;
constexpr uint16_t kNetdevAttrIfindex = 1;
constexpr uint16_t kNetdevAttrXdpFeatures = 3;
constexpr uint16_t kNetdevAttrRxMetadataFeatures = 5;

// The kernel's name of a NETDEV_XDP_RX_METADATA_* bit (netdev.yaml), the
// kind's kfunc without "rx_": "hash", "vlan-tag", "timestamp".
std::string netlink_name(const HintKind& k) {
  std::string n = k.capability + std::strlen("rx_");
  for (char& c : n)
    if (c == '_') c = '-';
  return n;
}

struct NlMsg {
  std::vector<uint8_t> b;
  NlMsg(uint16_t type, uint8_t cmd) {
    b.resize(NLMSG_HDRLEN + GENL_HDRLEN);
    auto* nh = reinterpret_cast<nlmsghdr*>(b.data());
    nh->nlmsg_type = type;
    nh->nlmsg_flags = NLM_F_REQUEST;
    nh->nlmsg_seq = 1;
    auto* g = reinterpret_cast<genlmsghdr*>(b.data() + NLMSG_HDRLEN);
    g->cmd = cmd;
    g->version = 1;
  }
  void attr(uint16_t type, const void* data, size_t len) {
    size_t off = b.size();
    b.resize(off + NLA_ALIGN(NLA_HDRLEN + len));
    auto* a = reinterpret_cast<nlattr*>(b.data() + off);
    a->nla_type = type;
    a->nla_len = static_cast<uint16_t>(NLA_HDRLEN + len);
    std::memcpy(b.data() + off + NLA_HDRLEN, data, len);
  }
  const void* data() {
    reinterpret_cast<nlmsghdr*>(b.data())->nlmsg_len = static_cast<uint32_t>(b.size());
    return b.data();
  }
};

// Sends one request, returns the attributes of the (single) answer or -errno.
Result<std::vector<std::pair<uint16_t, std::vector<uint8_t>>>> nl_request(int fd, NlMsg& m) {
  if (send(fd, m.data(), m.b.size(), 0) < 0) return bpf::errno_error(errno, "netlink send");
  std::vector<uint8_t> buf(16384);
  ssize_t n = recv(fd, buf.data(), buf.size(), 0);
  if (n < 0) return bpf::errno_error(errno, "netlink recv");
  auto* nh = reinterpret_cast<nlmsghdr*>(buf.data());
  if (!NLMSG_OK(nh, static_cast<uint32_t>(n))) return make_error(EBADMSG, "short netlink answer");
  if (nh->nlmsg_type == NLMSG_ERROR) {
    auto* e = static_cast<nlmsgerr*>(NLMSG_DATA(nh));
    return make_error(-e->error, std::string("netlink: ") + std::strerror(-e->error));
  }
  std::vector<std::pair<uint16_t, std::vector<uint8_t>>> attrs;
  size_t off = NLMSG_HDRLEN + GENL_HDRLEN;
  while (off + NLA_HDRLEN <= nh->nlmsg_len) {
    auto* a = reinterpret_cast<nlattr*>(buf.data() + off);
    if (a->nla_len < NLA_HDRLEN || off + a->nla_len > nh->nlmsg_len) break;
    const uint8_t* p = buf.data() + off + NLA_HDRLEN;
    attrs.emplace_back(a->nla_type & NLA_TYPE_MASK,
                       std::vector<uint8_t>(p, p + a->nla_len - NLA_HDRLEN));
    off += NLA_ALIGN(a->nla_len);
  }
  return attrs;
}

// Runs a command (no shell) and returns its stdout ("" on failure).
std::string capture_output(const std::vector<std::string>& argv) {
  std::string cmd;
  for (const auto& a : argv) {
    if (a.find_first_not_of(
            "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.@:/") !=
        std::string::npos)
      return "";  // names only: nothing to quote
    cmd += a + " ";
  }
  cmd += "2>/dev/null";
  std::string out;
  if (FILE* p = popen(cmd.c_str(), "r")) {
    char b[4096];
    size_t n;
    while ((n = fread(b, 1, sizeof(b), p)) > 0) out.append(b, n);
    pclose(p);
  }
  return out;
}

// A number after "key": in ip's JSON output (-1 if absent).
long json_number(const std::string& j, const std::string& key) {
  size_t p = j.find("\"" + key + "\":");
  if (p == std::string::npos) return -1;
  return std::strtol(j.c_str() + p + key.size() + 3, nullptr, 10);
}

}  // namespace

// Device facts, shared with verify.cpp (device.hpp).
namespace detail {

Status ethtool_ioctl(const std::string& ifname, void* cmd, const std::string& what) {
  bpf::UniqueFd fd(socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
  if (fd.get() < 0) return bpf::errno_error(errno, "socket");
  ifreq ifr{};
  std::strncpy(ifr.ifr_name, ifname.c_str(), IFNAMSIZ - 1);
  ifr.ifr_data = static_cast<char*>(cmd);
  if (ioctl(fd.get(), SIOCETHTOOL, &ifr)) return bpf::errno_error(errno, what);
  return {};
}

std::string driver_of(const std::string& ifname) {
  ethtool_drvinfo di{};
  di.cmd = ETHTOOL_GDRVINFO;
  if (!ethtool_ioctl(ifname, &di, "ETHTOOL_GDRVINFO")) return "?";
  return di.driver;
}

bool mac_of(const std::string& ifname, uint8_t mac[6]) {
  int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (s < 0) return false;
  bpf::UniqueFd fd(s);
  ifreq ifr{};
  std::strncpy(ifr.ifr_name, ifname.c_str(), IFNAMSIZ - 1);
  if (ioctl(fd.get(), SIOCGIFHWADDR, &ifr)) return false;
  std::memcpy(mac, ifr.ifr_hwaddr.sa_data, 6);
  return true;
}

// The other end of a veth: in the same namespace, or in a named one.
bool veth_peer(const std::string& netns, const std::string& ifname, Peer& peer) {
  std::vector<std::string> ip = {"ip"};
  if (!netns.empty()) ip.insert(ip.end(), {"-n", netns});
  auto a = ip;
  a.insert(a.end(), {"-j", "link", "show", "dev", ifname});
  std::string j = capture_output(a);
  long link = json_number(j, "link_index");
  long nsid = json_number(j, "link_netnsid");
  if (link <= 0) return false;
  if (nsid < 0) {
    char name[IF_NAMESIZE] = {};
    bool ok = false;
    (void)in_netns(netns, [&]() -> Status {
      ok = if_indextoname(static_cast<unsigned>(link), name) != nullptr;
      return {};
    });
    if (!ok) return false;
    peer = {netns, name};
    return true;
  }
  auto l = ip;
  l.insert(l.end(), {"netns", "list"});
  std::string list = capture_output(l);
  std::string want = "(id: " + std::to_string(nsid) + ")";
  size_t start = 0;
  while (start < list.size()) {
    size_t end = list.find('\n', start);
    std::string line =
        list.substr(start, end == std::string::npos ? std::string::npos : end - start);
    if (line.find(want) != std::string::npos) {
      std::string name = line.substr(0, line.find(' '));
      char pn[IF_NAMESIZE] = {};
      bool ok = false;
      (void)in_netns(name, [&]() -> Status {
        ok = if_indextoname(static_cast<unsigned>(link), pn) != nullptr;
        return {};
      });
      if (!ok) return false;
      peer = {name, pn};
      return true;
    }
    if (end == std::string::npos) break;
    start = end + 1;
  }
  return false;
}

std::string rc_text(int rc) {
  if (rc == XDPKV_HINT_RC_NOT_TRIED) return "not called";
  if (rc == 0) return "0";
  if (rc == -ENODATA) return "-ENODATA";
  if (rc == -EOPNOTSUPP) return "-EOPNOTSUPP";
  return std::to_string(rc);
}

}  // namespace detail

using namespace detail;

namespace {

// One IPv4/UDP frame to dst_mac from the peer's end (TEST-NET-1 addresses,
// discard port): it reaches the device's XDP program on the skb path.
Status send_probe_frame(const Peer& peer, const uint8_t dst_mac[6]) {
  return in_netns(peer.netns, [&]() -> Status {
    int ifi = static_cast<int>(if_nametoindex(peer.ifname.c_str()));
    if (!ifi) return bpf::errno_error(errno, "peer " + peer.ifname);
    traffic::PacketSpec p;
    mac_of(peer.ifname, p.src_mac.data());
    std::memcpy(p.dst_mac.data(), dst_mac, 6);
    (void)traffic::set_addresses(p, "192.0.2.1", "192.0.2.2");
    p.sport = p.dport = 9;  // discard
    p.payload_size = 16;
    const std::vector<uint8_t> f = traffic::build_packet(p);
    int s = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, 0);
    if (s < 0) return bpf::errno_error(errno, "AF_PACKET socket");
    bpf::UniqueFd fd(s);
    sockaddr_ll ll{};
    ll.sll_family = AF_PACKET;
    ll.sll_ifindex = ifi;
    ll.sll_halen = 6;
    std::memcpy(ll.sll_addr, dst_mac, 6);
    for (int i = 0; i < 3; i++) {
      if (sendto(fd.get(), f.data(), f.size(), 0, reinterpret_cast<sockaddr*>(&ll), sizeof(ll)) < 0)
        return bpf::errno_error(errno, "send on " + peer.ifname);
    }
    return {};
  });
}

// How xdpkv will take hint i on this device, from what the probe saw.
void conclude(ProbeResult& r, int i) {
  const HintKind& k = hint_kinds()[i];
  Support dev = Support::kUnknown;
  if (!(r.kernel & k.bit)) {
    dev = Support::kNo;
  } else if (r.netlink) {
    dev = (r.netlink_features & k.netlink) ? Support::kYes : Support::kNo;
  }
  if (r.live && r.live_packets) {
    int rc = r.live_rc[i];
    Support l = rc == -EOPNOTSUPP             ? Support::kNo
                : (rc == 0 || rc == -ENODATA) ? Support::kYes
                                              : Support::kUnknown;
    if (dev == Support::kUnknown) dev = l;
  }
  r.device[i] = dev;
  const std::string sw = std::string("software: ") + k.software;
  if (!(r.kernel & k.bit)) {
    r.source[i] = sw + " (no " + k.kfunc + " in this kernel)";
  } else if (dev == Support::kNo) {
    r.source[i] = sw;
  } else if (r.live && r.live_packets && !r.live_data[i] && i == kTimestamp && r.live_rc[i] == 0) {
    r.source[i] = sw + " (the driver answers 0: no hardware timestamp)";
  } else {
    r.source[i] = std::string("hardware (") + k.kfunc + "); " + k.software_short +
                  " when the driver has none (ENODATA, e.g. after XDP_REDIRECT)";
  }
}

}  // namespace

namespace detail {

// One u64 attribute of the netdev family's dev-get answer; "what" names it.
Result<uint64_t> netdev_u64(int ifindex, uint16_t attr, const char* what, const char* since) {
  int s = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_GENERIC);
  if (s < 0) return bpf::errno_error(errno, "netlink socket");
  bpf::UniqueFd fd(s);
  timeval tv{2, 0};
  setsockopt(fd.get(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  NlMsg fam(GENL_ID_CTRL, CTRL_CMD_GETFAMILY);
  fam.attr(CTRL_ATTR_FAMILY_NAME, "netdev", 7);
  auto a = nl_request(fd.get(), fam);
  if (!a) {
    if (a.error().code == ENOENT)
      return make_error(ENOENT, "no netdev generic netlink family (Linux < 6.3)");
    return a.error();
  }
  uint16_t id = 0;
  for (auto& [t, v] : *a)
    if (t == CTRL_ATTR_FAMILY_ID && v.size() >= 2) std::memcpy(&id, v.data(), 2);
  if (!id) return make_error(EBADMSG, "netdev family without an id");
  NlMsg get(id, kNetdevCmdDevGet);
  uint32_t ifi = static_cast<uint32_t>(ifindex);
  get.attr(kNetdevAttrIfindex, &ifi, 4);
  auto r = nl_request(fd.get(), get);
  if (!r) return r.error();
  for (auto& [t, v] : *r) {
    if (t == attr && v.size() >= 8) {
      uint64_t f;
      std::memcpy(&f, v.data(), 8);
      return f;
    }
  }
  return make_error(ENODATA,
                    std::string("the netdev family has no ") + what + " here (" + since + ")");
}

Result<uint64_t> netlink_xdp_features(int ifindex) {
  return netdev_u64(ifindex, kNetdevAttrXdpFeatures, "xdp-features", "Linux < 6.3");
}

}  // namespace detail

Result<uint64_t> netlink_rx_metadata_features(int ifindex) {
  return detail::netdev_u64(ifindex, kNetdevAttrRxMetadataFeatures, "xdp-rx-metadata-features",
                            "Linux < 6.6");
}

namespace {

// What the kernel says of the device: ifindex, driver, MAC (into mac) and
// the netdev family's rx metadata features, in opt.netns.
Status read_device(ProbeResult& r, const std::string& ifname, const ProbeOptions& opt,
                   uint8_t mac[6]) {
  return in_netns(opt.netns, [&]() -> Status {
    r.ifindex = static_cast<int>(if_nametoindex(ifname.c_str()));
    if (!r.ifindex) {
      return bpf::errno_error(
          errno, "device " + ifname + (opt.netns.empty() ? "" : " in netns " + opt.netns));
    }
    r.driver = driver_of(ifname);
    mac_of(ifname, mac);
    auto f = netlink_rx_metadata_features(r.ifindex);
    if (f) {
      r.netlink = true;
      r.netlink_features = *f;
    } else {
      r.netlink_note = f.error().message;
    }
    return {};
  });
}

// The live check: the capture program on the device, test frames from a
// veth peer (with opt.send), and what the kfuncs answered for up to 3
// packets within opt.wait_ms.
void live_check(ProbeResult& r, const std::string& ifname, const ProbeOptions& opt,
                const uint8_t mac[6]) {
  r.live = true;
  CaptureOptions co;
  co.events = true;
  co.origin = 0;  // only the events are read: no reader needs the mark, no pin is made
  co.xdp_flags = XDP_FLAGS_DRV_MODE | XDP_FLAGS_UPDATE_IF_NOEXIST;
  auto cap = Capture::attach(opt.netns, ifname, co);
  if (!cap) {
    r.live_note = cap.error().message;
    return;
  }
  Peer peer;
  bool sent = false;
  if (opt.send && r.driver == "veth" && veth_peer(opt.netns, ifname, peer)) {
    auto st = send_probe_frame(peer, mac);
    sent = st.ok();
    r.live_note = sent ? "test frames sent from the veth peer " + peer.ifname +
                             (peer.netns.empty() ? "" : " (netns " + peer.netns + ")")
                       : st.error().message;
  } else {
    r.live_note = "waiting for traffic";
  }
  auto until = std::chrono::steady_clock::now() + std::chrono::milliseconds(opt.wait_ms);
  while (std::chrono::steady_clock::now() < until && r.live_packets < 3) {
    cap->poll_events(100, [&](const CaptureEvent& e) {
      if (r.live_packets == 0) r.live_rc = e.rc;
      r.live_packets++;
      for (int i = 0; i < kNumHints; i++)
        if (e.hints.has(hint_bit(i)) && !e.hints.software(hint_bit(i))) r.live_data[i]++;
    });
  }
  if (!r.live_packets && sent) r.live_note += "; none arrived";
}

}  // namespace

Result<ProbeResult> probe(const std::string& ifname, const ProbeOptions& opt) {
  ProbeResult r;
  r.ifname = ifname;
  r.netns = opt.netns;
  r.kernel = kernel_kfuncs();
  uint8_t mac[6] = {};
  if (Status s = read_device(r, ifname, opt, mac); !s) return s.error();
  if (opt.live || (opt.live_if_needed && !r.netlink)) live_check(r, ifname, opt, mac);
  for (int i = 0; i < kNumHints; i++) conclude(r, i);
  return r;
}

std::string format(const ProbeResult& r) {
  std::string s;
  char b[512];
  std::snprintf(b, sizeof(b), "device %s (ifindex %d, driver %s%s%s)\n", r.ifname.c_str(),
                r.ifindex, r.driver.c_str(), r.netns.empty() ? "" : ", netns ", r.netns.c_str());
  s += b;
  s += "kernel kfuncs:";
  for (int i = 0; i < kNumHints; i++) {
    s += std::string(" ") + hint_kfunc(i) + (r.kernel & hint_bit(i) ? " yes" : " no") +
         (i + 1 < kNumHints ? "," : "\n");
  }
  if (r.netlink) {
    std::string names;  // in the order of the bits, as the kernel lists them
    for (uint64_t bit = 1; bit; bit <<= 1) {
      for (const HintKind& k : hint_kinds())
        if ((r.netlink_features & bit) && k.netlink == bit) names += " " + netlink_name(k);
    }
    std::snprintf(b, sizeof(b), "netlink: netdev xdp-rx-metadata-features 0x%llx (%s)\n",
                  static_cast<unsigned long long>(r.netlink_features),
                  names.empty() ? "none" : names.c_str() + 1);
    s += b;
  } else {
    s += "netlink: " + r.netlink_note + "\n";
  }
  if (r.live) {
    s += "live check: " + r.live_note;
    if (r.live_packets) {
      s += "; " + std::to_string(r.live_packets) + " packets, first:";
      for (int i = 0; i < kNumHints; i++) {
        s += std::string(" ") + hint_name(i) + " " + rc_text(r.live_rc[i]) +
             (r.live_rc[i] == 0 && !r.live_data[i] ? " (value 0)" : "") +
             (i + 1 < kNumHints ? "," : "");
      }
    }
    s += "\n";
  }
  s += "hint       device   xdpkv takes it from\n";
  for (int i = 0; i < kNumHints; i++) {
    std::snprintf(b, sizeof(b), "%-10s %-8s %s\n", hint_name(i), support_name(r.device[i]),
                  r.source[i].c_str());
    s += b;
  }
  return s;
}

std::string to_json(const ProbeResult& r) {
  using nlohmann::ordered_json;
  ordered_json j = {
      {"device", r.ifname}, {"ifindex", r.ifindex}, {"driver", r.driver}, {"netns", r.netns}};
  j["netlink"] = r.netlink ? ordered_json(r.netlink_features) : ordered_json(nullptr);
  if (r.live) {
    ordered_json rc = ordered_json::object();
    for (int i = 0; i < kNumHints; i++) rc[hint_name(i)] = r.live_rc[i];
    j["live"] = {{"packets", r.live_packets}, {"rc", std::move(rc)}};
  }
  ordered_json hints = ordered_json::object();
  for (int i = 0; i < kNumHints; i++) {
    hints[hint_name(i)] = {{"kernel", (r.kernel & hint_bit(i)) != 0},
                           {"device", support_name(r.device[i])},
                           {"source", r.source[i]}};
  }
  j["hints"] = std::move(hints);
  return dump_spaced(j);
}

}  // namespace xdpkv::hints
