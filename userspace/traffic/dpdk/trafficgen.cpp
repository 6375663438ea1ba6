// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
// xdpkv-trafficgen: sends UDP or TCP test frames (optionally 802.1Q-tagged)
// out of one Linux interface through DPDK's net_af_xdp vdev (or
// net_af_packet), at a set rate and count, without hugepages.
//
// The EAL initialises once per process: this is its own executable. Run it
// inside the namespace that owns the interface:
//   ip netns exec NS xdpkv-trafficgen --iface cli --dst-ip 10.77.9.9 --count 500 --rate 20000
// Final line on stdout: "sent N of M frames in T s (R pps) via DRIVER; IF
// tx_dropped +D"; exit status 0 only if all M were sent (handed to the
// kernel: D counts what the interface then dropped, e.g. a veth whose peer
// could not keep up).
#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <dirent.h>
#include <getopt.h>
#include <ifaddrs.h>
#include <linux/if_link.h>
#include <net/if.h>
#include <sched.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <rte_cycles.h>
#include <rte_dev.h>
#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_ethdev.h>
#include <rte_lcore.h>
#include <rte_log.h>
#include <rte_mbuf.h>
#include <rte_mempool.h>
#include <rte_version.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <xdp/libxdp.h>

#include <xdpkv/frame.hpp>

namespace {

using xdpkv::traffic::FrameSpec;
using xdpkv::traffic::Mac;
using xdpkv::traffic::Proto;

std::atomic<bool> g_stop{false};
void on_signal(int) { g_stop.store(true); }

struct Options {
  std::string iface;
  std::optional<Mac> src_mac, dst_mac;
  std::optional<uint32_t> src_ip;  // network order
  uint32_t dst_ip = 0;
  bool have_dst_ip = false;
  uint16_t dport = 7777, sport_base = 20000;
  uint32_t flows = 1;
  Proto proto = Proto::udp;
  std::optional<uint16_t> vlan;
  uint16_t payload = 18;
  uint64_t count = 1000;
  uint64_t rate = 0;  // pps, 0 = as fast as possible
  std::string driver = "af_xdp";
  bool fallback = true;
  int burst = 32;
  int mem_mb = 64;
  double timeout_s = 0;  // 0: derived from count and rate
  bool quiet = false;
  int log_level = RTE_LOG_ERR;
};

[[noreturn]] void usage(int status) {
  std::FILE* f = status ? stderr : stdout;
  std::fprintf(
      f,
      "usage: xdpkv-trafficgen --iface IF --dst-ip A.B.C.D [options]\n"
      "Sends UDP/TCP test frames out of IF through DPDK (net_af_xdp vdev, no hugepages).\n"
      "  --iface IF          interface to send on (in the current network namespace)\n"
      "  --src-mac MAC       default: IF's address\n"
      "  --dst-mac MAC       default: the neighbour entry of the next hop to --dst-ip on IF\n"
      "                      (resolved by the kernel: one empty UDP datagram to the next hop's\n"
      "                      discard port 9 if there is no entry yet)\n"
      "  --src-ip A.B.C.D    default: IF's IPv4 address\n"
      "  --dst-ip A.B.C.D    destination address (required)\n"
      "  --dport N           destination port (default 7777)\n"
      "  --sport-base N      flow f uses source port N + f (default 20000)\n"
      "  --flows N           number of flows (default 1), sent round-robin\n"
      "  --proto udp|tcp     default udp (TCP: PSH|ACK segments, no handshake)\n"
      "  --vlan TCI          add one 802.1Q tag with this TCI (PCP<<13 | DEI<<12 | VID)\n"
      "  --payload N         L4 payload bytes, >= 8 (default 18: 60-byte untagged UDP frames)\n"
      "  --count N           frames to send (default 1000)\n"
      "  --rate PPS          token-bucket pacing; 0 = as fast as possible (default 0)\n"
      "  --burst N           frames per tx burst and bucket depth (default 32)\n"
      "  --driver af_xdp|af_packet  default af_xdp; falls back to af_packet if af_xdp fails\n"
      "  --no-fallback       fail instead of falling back to af_packet\n"
      "  --mem MB            EAL memory (-m), no hugepages (default 64)\n"
      "  --timeout SEC       stop sending after SEC seconds (default 2 * count / rate + 10,\n"
      "                      or 60 without a rate)\n"
      "  --log-level N       DPDK log level 1..8 (default 4, errors)\n"
      "  --quiet             print only the final line (and errors)\n"
      "Final line: \"sent N of M frames in T s (R pps) via af_xdp|af_packet; IF tx_dropped +D\"\n"
      "exit 0 only if all M were handed to the kernel; D: what IF dropped meanwhile.\n");
  std::exit(status);
}

[[noreturn]] void die(const std::string& msg) {
  std::fprintf(stderr, "xdpkv-trafficgen: %s\n", msg.c_str());
  std::exit(2);
}

uint64_t parse_u64(const char* opt, const char* s, uint64_t max) {
  char* end = nullptr;
  errno = 0;
  unsigned long long v = std::strtoull(s, &end, 0);
  if (errno || !end || *end || *s == '-' || v > max)
    die(std::string("bad value for --") + opt + ": '" + s + "'");
  return v;
}

uint32_t parse_ip(const char* opt, const char* s) {
  in_addr a{};
  if (inet_pton(AF_INET, s, &a) != 1) die(std::string("bad IPv4 address for --") + opt + ": " + s);
  return a.s_addr;
}

// getopt_long ids of the long options: past every short option character.
enum OptId {
  O_IFACE = 256,
  O_SMAC,
  O_DMAC,
  O_SIP,
  O_DIP,
  O_DPORT,
  O_SPORT,
  O_FLOWS,
  O_PROTO,
  O_VLAN,
  O_PAYLOAD,
  O_COUNT,
  O_RATE,
  O_BURST,
  O_DRIVER,
  O_NOFB,
  O_MEM,
  O_TIMEOUT,
  O_LOG,
  O_QUIET,
  O_HELP
};

// Long options only, and -h.
const option kLongopts[] = {{"iface", required_argument, nullptr, O_IFACE},
                            {"src-mac", required_argument, nullptr, O_SMAC},
                            {"dst-mac", required_argument, nullptr, O_DMAC},
                            {"src-ip", required_argument, nullptr, O_SIP},
                            {"dst-ip", required_argument, nullptr, O_DIP},
                            {"dport", required_argument, nullptr, O_DPORT},
                            {"sport-base", required_argument, nullptr, O_SPORT},
                            {"flows", required_argument, nullptr, O_FLOWS},
                            {"proto", required_argument, nullptr, O_PROTO},
                            {"vlan", required_argument, nullptr, O_VLAN},
                            {"payload", required_argument, nullptr, O_PAYLOAD},
                            {"count", required_argument, nullptr, O_COUNT},
                            {"rate", required_argument, nullptr, O_RATE},
                            {"burst", required_argument, nullptr, O_BURST},
                            {"driver", required_argument, nullptr, O_DRIVER},
                            {"no-fallback", no_argument, nullptr, O_NOFB},
                            {"mem", required_argument, nullptr, O_MEM},
                            {"timeout", required_argument, nullptr, O_TIMEOUT},
                            {"log-level", required_argument, nullptr, O_LOG},
                            {"quiet", no_argument, nullptr, O_QUIET},
                            {"help", no_argument, nullptr, O_HELP},
                            {nullptr, 0, nullptr, 0}};

// Sets what option c (a getopt_long result) with argument arg says; exits on
// a bad value, and for --help.
void apply(Options& o, int c, const char* arg) {
  switch (c) {
    case O_IFACE: o.iface = arg; break;
    case O_SMAC:
    case O_DMAC: {
      auto m = xdpkv::traffic::parse_mac(arg);
      if (!m) die(std::string("bad MAC address: ") + arg);
      (c == O_SMAC ? o.src_mac : o.dst_mac) = *m;
      break;
    }
    case O_SIP: o.src_ip = parse_ip("src-ip", arg); break;
    case O_DIP:
      o.dst_ip = parse_ip("dst-ip", arg);
      o.have_dst_ip = true;
      break;
    case O_DPORT: o.dport = static_cast<uint16_t>(parse_u64("dport", arg, 65535)); break;
    case O_SPORT: o.sport_base = static_cast<uint16_t>(parse_u64("sport-base", arg, 65535)); break;
    case O_FLOWS: o.flows = static_cast<uint32_t>(parse_u64("flows", arg, 65536)); break;
    case O_PROTO:
      if (!std::strcmp(arg, "udp")) {
        o.proto = Proto::udp;
      } else if (!std::strcmp(arg, "tcp")) {
        o.proto = Proto::tcp;
      } else {
        die(std::string("--proto must be udp or tcp, not ") + arg);
      }
      break;
    case O_VLAN: o.vlan = static_cast<uint16_t>(parse_u64("vlan", arg, 0xffff)); break;
    case O_PAYLOAD: o.payload = static_cast<uint16_t>(parse_u64("payload", arg, 9000)); break;
    case O_COUNT: o.count = parse_u64("count", arg, UINT64_MAX); break;
    case O_RATE: o.rate = parse_u64("rate", arg, 100'000'000); break;
    case O_BURST: o.burst = static_cast<int>(parse_u64("burst", arg, 512)); break;
    case O_DRIVER:
      o.driver = arg;
      if (o.driver != "af_xdp" && o.driver != "af_packet")
        die("--driver must be af_xdp or af_packet, not " + o.driver);
      break;
    case O_NOFB: o.fallback = false; break;
    case O_MEM: o.mem_mb = static_cast<int>(parse_u64("mem", arg, 65536)); break;
    case O_TIMEOUT: o.timeout_s = static_cast<double>(parse_u64("timeout", arg, 86400)); break;
    case O_LOG: o.log_level = static_cast<int>(parse_u64("log-level", arg, 8)); break;
    case O_QUIET: o.quiet = true; break;
    case 'h':
    case O_HELP: usage(0);
    default: usage(2);
  }
}

// The required options and the bounds between options; derives the timeout.
void finish(Options& o) {
  if (o.iface.empty()) die("--iface is required");
  if (!o.have_dst_ip) die("--dst-ip is required");
  if (o.burst < 1) die("--burst must be >= 1");
  if (o.log_level < 1) o.log_level = 1;
  if (o.mem_mb < 16) die("--mem must be >= 16 (MB)");
  if (o.timeout_s <= 0) {
    o.timeout_s =
        o.rate ? 2.0 * static_cast<double>(o.count) / static_cast<double>(o.rate) + 10 : 60;
  }
}

Options parse(int argc, char** argv) {
  Options o;
  int c;
  while ((c = getopt_long(argc, argv, "h", kLongopts, nullptr)) != -1) apply(o, c, optarg);
  if (optind != argc) die(std::string("unexpected argument: ") + argv[optind]);
  finish(o);
  return o;
}

// --- interface facts from the kernel (current network namespace) ---

std::optional<Mac> iface_mac(const std::string& ifname) {
  int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (s < 0) return std::nullopt;
  ifreq ifr{};
  std::strncpy(ifr.ifr_name, ifname.c_str(), IFNAMSIZ - 1);
  int rc = ioctl(s, SIOCGIFHWADDR, &ifr);
  close(s);
  if (rc) return std::nullopt;
  Mac m;
  std::memcpy(m.data(), ifr.ifr_hwaddr.sa_data, 6);
  return m;
}

std::optional<uint32_t> iface_ip(const std::string& ifname) {
  int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (s < 0) return std::nullopt;
  ifreq ifr{};
  std::strncpy(ifr.ifr_name, ifname.c_str(), IFNAMSIZ - 1);
  ifr.ifr_addr.sa_family = AF_INET;
  int rc = ioctl(s, SIOCGIFADDR, &ifr);
  close(s);
  if (rc) return std::nullopt;
  return reinterpret_cast<sockaddr_in*>(&ifr.ifr_addr)->sin_addr.s_addr;
}

// The next hop towards dst through ifname: the longest matching route of
// /proc/net/route on that device (its gateway, or dst itself when on-link).
std::optional<uint32_t> next_hop(const std::string& ifname, uint32_t dst) {
  std::ifstream f("/proc/net/route");
  std::string line;
  std::getline(f, line);  // header
  int best_len = -1;
  uint32_t best = 0;
  while (std::getline(f, line)) {
    std::istringstream is(line);
    std::string dev;
    unsigned long d, gw, flags, refcnt, use, metric, mask;
    if (!(is >> dev >> std::hex >> d >> gw >> flags >> std::dec >> refcnt >> use >> metric >>
          std::hex >> mask))
      continue;
    if (dev != ifname || !(flags & 1 /* RTF_UP */)) continue;
    if ((dst & mask) != d) continue;
    int len = __builtin_popcountl(mask);
    if (len > best_len) {
      best_len = len;
      best = (flags & 2 /* RTF_GATEWAY */) ? static_cast<uint32_t>(gw) : dst;
    }
  }
  if (best_len < 0) return std::nullopt;
  return best;
}

std::optional<Mac> arp_lookup(const std::string& ifname, uint32_t ip) {
  std::ifstream f("/proc/net/arp");
  std::string line;
  std::getline(f, line);
  const std::string want = inet_ntoa(in_addr{ip});
  while (std::getline(f, line)) {
    std::istringstream is(line);
    std::string addr, hw, flags, mac, mask, dev;
    if (!(is >> addr >> hw >> flags >> mac >> mask >> dev)) continue;
    if (addr != want || dev != ifname) continue;
    if (!(std::strtoul(flags.c_str(), nullptr, 16) & 0x2)) continue;  // ATF_COM: complete
    if (auto m = xdpkv::traffic::parse_mac(mac)) return m;
  }
  return std::nullopt;
}

// Neighbour MAC of the next hop; asks the kernel to resolve it if needed
// (one empty UDP datagram to the discard port), waits at most 2 s.
std::optional<Mac> resolve_dst_mac(const Options& o, std::string& why) {
  auto hop = next_hop(o.iface, o.dst_ip);
  if (!hop) {
    why = "no route to " + std::string(inet_ntoa(in_addr{o.dst_ip})) + " on " + o.iface;
    return std::nullopt;
  }
  if (auto m = arp_lookup(o.iface, *hop)) return m;
  int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (s >= 0) {
    (void)setsockopt(s, SOL_SOCKET, SO_BINDTODEVICE, o.iface.c_str(),
                     static_cast<socklen_t>(o.iface.size()));
    sockaddr_in to{};
    to.sin_family = AF_INET;
    to.sin_port = htons(9);
    to.sin_addr.s_addr = *hop;
    (void)sendto(s, "", 0, 0, reinterpret_cast<sockaddr*>(&to), sizeof(to));
    close(s);
  }
  for (int i = 0; i < 200 && !g_stop.load(); i++) {
    if (auto m = arp_lookup(o.iface, *hop)) return m;
    usleep(10'000);
  }
  why = "no neighbour entry for " + std::string(inet_ntoa(in_addr{*hop})) + " on " + o.iface +
        " (give --dst-mac)";
  return std::nullopt;
}

// libbpf and libxdp (used by the af_xdp PMD) print info lines (ELF sections
// they skip) and warnings while libxdp tries its multi-program dispatcher,
// which fails where the kernel refuses freplace (then it attaches the PMD's
// program alone; harmless). Their warnings are kept while the port is set
// up and shown only if that fails; at other times they go to stderr.
bool g_capture = false;
std::string g_captured;
int print_line(const char* prefix, const char* fmt, va_list ap) {
  char buf[1024];
  int n = std::vsnprintf(buf, sizeof(buf), fmt, ap);
  if (g_capture) {
    g_captured += std::string("  ") + prefix + buf;
    if (!g_captured.empty() && g_captured.back() != '\n') g_captured += '\n';
    return n;
  }
  return std::fprintf(stderr, "%s%s", prefix, buf);
}
int libbpf_print(enum libbpf_print_level level, const char* fmt, va_list ap) {
  if (level != LIBBPF_WARN) return 0;
  return print_line("", fmt, ap);  // libbpf's lines carry their own "libbpf: "
}
int libxdp_print(enum libxdp_print_level level, const char* fmt, va_list ap) {
  if (level != LIBXDP_WARN) return 0;
  return print_line("", fmt, ap);
}

// The interface's tx_dropped counter (netlink, so the current namespace's):
// veth counts there what it could not hand to its peer.
uint64_t tx_dropped(const std::string& ifname) {
  ifaddrs* ifa = nullptr;
  uint64_t v = 0;
  if (getifaddrs(&ifa)) return 0;
  for (ifaddrs* i = ifa; i; i = i->ifa_next) {
    if (i->ifa_addr && i->ifa_addr->sa_family == AF_PACKET && i->ifa_data && ifname == i->ifa_name)
      v = static_cast<const rtnl_link_stats*>(i->ifa_data)->tx_dropped;
  }
  freeifaddrs(ifa);
  return v;
}

// The XDP program attached to an interface (any mode), and how.
struct XdpState {
  uint32_t id = 0;
  uint32_t flags = 0;  // XDP_FLAGS_DRV_MODE / SKB_MODE / HW_MODE: how it is attached
};
XdpState xdp_state(int ifindex) {
  LIBBPF_OPTS(bpf_xdp_query_opts, q);
  XdpState st;
  if (bpf_xdp_query(ifindex, 0, &q)) return st;
  if (q.drv_prog_id) {
    st.id = q.drv_prog_id;
    st.flags = XDP_FLAGS_DRV_MODE;
  } else if (q.skb_prog_id) {
    st.id = q.skb_prog_id;
    st.flags = XDP_FLAGS_SKB_MODE;
  } else if (q.hw_prog_id) {
    st.id = q.hw_prog_id;
    st.flags = XDP_FLAGS_HW_MODE;
  } else {
    st.id = q.prog_id;
  }
  return st;
}

// --- DPDK ---

struct Port {
  uint16_t id = RTE_MAX_ETHPORTS;
  std::string name;
  bool started = false;
};

std::string errstr(int e) { return rte_strerror(e < 0 ? -e : e); }

// Configures one RX queue (the PMD needs one; nothing is read from it) and one TX queue.
bool setup_port(Port& p, rte_mempool* pool, std::string& why) {
  rte_eth_conf conf{};
  int rc = rte_eth_dev_configure(p.id, 1, 1, &conf);
  if (rc) {
    why = "configure: " + errstr(rc);
    return false;
  }
  uint16_t nrx = 1024, ntx = 1024;
  (void)rte_eth_dev_adjust_nb_rx_tx_desc(p.id, &nrx, &ntx);
  int sock = rte_eth_dev_socket_id(p.id);
  if (sock < 0) sock = 0;
  rc = rte_eth_rx_queue_setup(p.id, 0, nrx, static_cast<unsigned>(sock), nullptr, pool);
  if (rc) {
    why = "rx queue: " + errstr(rc);
    return false;
  }
  rc = rte_eth_tx_queue_setup(p.id, 0, ntx, static_cast<unsigned>(sock), nullptr);
  if (rc) {
    why = "tx queue: " + errstr(rc);
    return false;
  }
  rc = rte_eth_dev_start(p.id);
  if (rc) {
    why = "start: " + errstr(rc);
    return false;
  }
  p.started = true;
  return true;
}

void close_port(Port& p) {
  if (p.id >= RTE_MAX_ETHPORTS) return;
  if (p.started) (void)rte_eth_dev_stop(p.id);
  p.started = false;
  (void)rte_eth_dev_close(p.id);
  // Detaches the vdev (frees its name for another probe).
  (void)rte_eal_hotplug_remove("vdev", p.name.c_str());
  p.id = RTE_MAX_ETHPORTS;
}

// Probes a vdev by its devargs and returns its port.
bool probe(const std::string& name, const std::string& args, Port& p, std::string& why) {
  int rc = rte_eal_hotplug_add("vdev", name.c_str(), args.c_str());
  if (rc) {
    why = "probe " + name + "," + args + ": " + errstr(rc);
    return false;
  }
  uint16_t id;
  if (rte_eth_dev_get_port_by_name(name.c_str(), &id)) {
    why = "no port for " + name;
    return false;
  }
  p.id = id;
  p.name = name;
  return true;
}

void remove_runtime_dir(const std::string& prefix) {
  for (const char* base : {"/var/run/dpdk/", "/run/dpdk/"}) {
    std::string dir = std::string(base) + prefix;
    if (DIR* d = opendir(dir.c_str())) {
      while (dirent* e = readdir(d)) {
        if (!std::strcmp(e->d_name, ".") || !std::strcmp(e->d_name, "..")) continue;
        (void)unlink((dir + "/" + e->d_name).c_str());
      }
      closedir(d);
      (void)rmdir(dir.c_str());
    }
  }
}

double now_s() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

// The frame spec from the options and the interface (read before the EAL
// starts: it takes over the process).
FrameSpec frame_spec_for(const Options& o) {
  FrameSpec spec;
  if (o.src_mac) {
    spec.src_mac = *o.src_mac;
  } else if (auto m = iface_mac(o.iface)) {
    spec.src_mac = *m;
  } else {
    die("cannot read the MAC address of " + o.iface + " (give --src-mac)");
  }
  if (o.src_ip) {
    spec.src_ip = *o.src_ip;
  } else if (auto ip = iface_ip(o.iface)) {
    spec.src_ip = *ip;
  } else {
    die(o.iface + " has no IPv4 address (give --src-ip)");
  }
  spec.dst_ip = o.dst_ip;
  if (o.dst_mac) {
    spec.dst_mac = *o.dst_mac;
  } else {
    std::string why;
    auto m = resolve_dst_mac(o, why);
    if (!m) die(why);
    spec.dst_mac = *m;
  }
  spec.dport = o.dport;
  spec.sport_base = o.sport_base;
  spec.flows = o.flows;
  spec.proto = o.proto;
  spec.vlan_tci = o.vlan;
  spec.payload_size = o.payload;
  if (auto v = xdpkv::traffic::validate(spec); !v) die(v.error().message);
  return spec;
}

// "0@(c1,c2,...)": the one lcore may run on any CPU this process may use.
std::string lcore_map() {
  std::string lcores = "0@(";
  cpu_set_t set;
  CPU_ZERO(&set);
  bool first = true;
  if (sched_getaffinity(0, sizeof(set), &set) == 0) {
    for (int c = 0; c < CPU_SETSIZE; c++) {
      if (!CPU_ISSET(c, &set)) continue;
      lcores += (first ? "" : ",") + std::to_string(c);
      first = false;
    }
  }
  if (first) lcores += "0";
  return lcores + ")";
}

// EAL: no hugepages, no PCI, no shared files, a prefix of our own.
void start_eal(const Options& o, const std::string& prefix) {
  std::vector<std::string> eal_args = {"xdpkv-trafficgen",
                                       "--no-huge",
                                       "--no-pci",
                                       "--file-prefix=" + prefix,
                                       "--no-shconf",
                                       "--no-telemetry",
                                       "-m",
                                       std::to_string(o.mem_mb),
                                       "--lcores=" + lcore_map(),
                                       "--log-level=" + std::to_string(o.log_level)};
  std::vector<char*> eal_argv;
  for (auto& a : eal_args) eal_argv.push_back(a.data());
  eal_argv.push_back(nullptr);
  if (rte_eal_init(static_cast<int>(eal_args.size()), eal_argv.data()) >= 0) return;
  std::string e = errstr(rte_errno);
  remove_runtime_dir(prefix);
  std::string all;
  for (auto& a : eal_args) all += " " + a;
  die("EAL init failed: " + e + " (args:" + all + ")");
}

// Opens the port with o.driver (af_xdp falls back to af_packet when allowed).
// Returns the driver used, or "" when none could be opened.
std::string open_port(const Options& o, const XdpState& xdp_before, rte_mempool* pool, Port& port) {
  std::string driver = o.driver, why;
  bool ok = false;
  if (driver == "af_xdp") {
    if (xdp_before.id) {
      // The PMD would have to replace that program, and removes whatever
      // is attached when it closes: never touch someone else's program.
      why = o.iface + " already runs XDP program " + std::to_string(xdp_before.id) +
            " (the PMD would replace it)";
    } else {
      g_capture = true;
      g_captured.clear();
      ok = probe("net_af_xdp0", "iface=" + o.iface + ",start_queue=0,queue_count=1", port, why) &&
           setup_port(port, pool, why);
      if (!ok) close_port(port);
      g_capture = false;
    }
    if (ok) return driver;
    std::fprintf(stderr, "xdpkv-trafficgen: net_af_xdp on %s failed: %s%s\n", o.iface.c_str(),
                 why.c_str(), o.fallback ? "; falling back to net_af_packet" : "");
    if (!g_captured.empty())
      std::fprintf(stderr, "xdpkv-trafficgen: libbpf/libxdp said:\n%s", g_captured.c_str());
    g_captured.clear();
    if (!o.fallback) return "";
    driver = "af_packet";
  }
  ok = probe("net_af_packet0", "iface=" + o.iface + ",qpairs=1", port, why) &&
       setup_port(port, pool, why);
  if (ok) return driver;
  close_port(port);
  std::fprintf(stderr, "xdpkv-trafficgen: net_af_packet on %s failed: %s\n", o.iface.c_str(),
               why.c_str());
  return "";
}

void print_plan(const Options& o, const FrameSpec& spec, const std::string& driver) {
  if (o.quiet) return;
  std::printf(
      "xdpkv-trafficgen: %s (%s) on %s: %s %s -> %s, ports %u..%u -> %u, %s%zu-byte "
      "frames, %llu at %s\n",
      driver.c_str(), rte_version(), o.iface.c_str(), o.proto == Proto::udp ? "udp" : "tcp",
      xdpkv::traffic::mac_str(spec.src_mac).c_str(), xdpkv::traffic::mac_str(spec.dst_mac).c_str(),
      spec.sport_base, spec.sport_base + spec.flows - 1, spec.dport,
      spec.vlan_tci ? ("vlan tci " + std::to_string(*spec.vlan_tci) + ", ").c_str() : "",
      xdpkv::traffic::frame_size(spec), static_cast<unsigned long long>(o.count),
      o.rate ? (std::to_string(o.rate) + " pps").c_str() : "full speed");
  std::fflush(stdout);
}

// Sends n frames starting at sequence number `sent`; a full TX ring is
// retried for at most 1 s. Returns how many went out, nullopt when no mbufs
// were free (try again).
std::optional<unsigned> send_burst(const Port& port, rte_mempool* pool, const FrameSpec& spec,
                                   uint64_t sent, std::vector<rte_mbuf*>& burst, unsigned n) {
  if (rte_pktmbuf_alloc_bulk(pool, burst.data(), n)) {
    // Completions not yet reclaimed: the PMD frees them on its next tx burst.
    (void)rte_eth_tx_burst(port.id, 0, nullptr, 0);
    rte_pause();
    return std::nullopt;
  }
  for (unsigned i = 0; i < n; i++) {
    rte_mbuf* m = burst[i];
    const uint64_t seq = sent + i;
    auto* p = rte_pktmbuf_mtod(m, uint8_t*);
    size_t len = xdpkv::traffic::build_frame(spec, static_cast<uint32_t>(seq % spec.flows), seq,
                                             std::span<uint8_t>(p, rte_pktmbuf_tailroom(m)));
    m->data_len = static_cast<uint16_t>(len);
    m->pkt_len = static_cast<uint32_t>(len);
  }
  unsigned done = 0;
  const double give_up = now_s() + 1.0;
  for (unsigned tries = 0; done < n; tries++) {
    done += rte_eth_tx_burst(port.id, 0, burst.data() + done, static_cast<uint16_t>(n - done));
    if (done == n) break;
    if ((tries & 63) == 63) {
      if (now_s() > give_up || g_stop.load()) break;
      usleep(50);
    } else {
      rte_pause();
    }
  }
  if (done < n) rte_pktmbuf_free_bulk(burst.data() + done, n - done);
  return done;
}

struct SendResult {
  uint64_t sent = 0;
  double secs = 0;
};

// Send loop: token bucket of depth `burst` filled at `rate` per second.
SendResult send_all(const Options& o, const Port& port, rte_mempool* pool, const FrameSpec& spec) {
  SendResult r;
  const uint64_t hz = rte_get_tsc_hz();
  const uint64_t t0 = rte_rdtsc();
  const double deadline = now_s() + o.timeout_s;
  double tokens = o.rate ? 1.0 : 0.0;
  uint64_t last = t0;
  std::vector<rte_mbuf*> burst(static_cast<size_t>(o.burst));
  while (r.sent < o.count && !g_stop.load()) {
    if (now_s() > deadline) {
      std::fprintf(stderr, "xdpkv-trafficgen: timeout after %.1f s\n", o.timeout_s);
      break;
    }
    uint64_t want = std::min<uint64_t>(static_cast<uint64_t>(o.burst), o.count - r.sent);
    if (o.rate) {
      uint64_t now = rte_rdtsc();
      tokens +=
          static_cast<double>(now - last) * static_cast<double>(o.rate) / static_cast<double>(hz);
      last = now;
      if (tokens > o.burst) tokens = o.burst;
      if (tokens < 1.0) {
        // Sleep when the next token is far, spin when it is near.
        double wait_us = (1.0 - tokens) * 1e6 / static_cast<double>(o.rate);
        if (wait_us > 200) {
          usleep(static_cast<useconds_t>(wait_us - 100));
        } else {
          rte_pause();
        }
        continue;
      }
      want = std::min<uint64_t>(want, static_cast<uint64_t>(tokens));
    }
    const auto n = static_cast<unsigned>(want);
    const std::optional<unsigned> done = send_burst(port, pool, spec, r.sent, burst, n);
    if (!done) continue;
    r.sent += *done;
    if (o.rate) tokens -= *done;
    if (*done < n) {
      std::fprintf(stderr, "xdpkv-trafficgen: TX ring stayed full for 1 s; stopping\n");
      break;
    }
  }
  r.secs = static_cast<double>(rte_rdtsc() - t0) / static_cast<double>(hz);
  return r;
}

void print_port_stats(const Options& o, const Port& port) {
  if (o.quiet) return;
  rte_eth_stats st{};
  if (rte_eth_stats_get(port.id, &st) == 0) {
    std::printf("port stats: opackets %llu obytes %llu oerrors %llu\n",
                static_cast<unsigned long long>(st.opackets),
                static_cast<unsigned long long>(st.obytes),
                static_cast<unsigned long long>(st.oerrors));
  }
}

// The af_xdp PMD attaches an XDP program (libxdp's "xsk_def_prog") to the
// interface for its RX queue and removes it on close; make sure it did.
void remove_leftover_xsk_prog(const Options& o, int ifindex, const XdpState& xdp_before) {
  const XdpState after = xdp_state(ifindex);
  if (!after.id || after.id == xdp_before.id) return;
  int fd = bpf_prog_get_fd_by_id(after.id);
  bpf_prog_info info{};
  uint32_t len = sizeof(info);
  if (fd >= 0 && bpf_obj_get_info_by_fd(fd, &info, &len) == 0 &&
      !std::strncmp(info.name, "xsk_def_prog", sizeof(info.name))) {
    LIBBPF_OPTS(bpf_xdp_attach_opts, opts, .old_prog_fd = fd);
    int rc = bpf_xdp_detach(ifindex, after.flags, &opts);
    std::fprintf(stderr, "xdpkv-trafficgen: the af_xdp PMD left XDP program %u on %s: %s\n",
                 after.id, o.iface.c_str(), rc ? "could not remove it" : "removed");
  }
  if (fd >= 0) close(fd);
}

void install_signal_handlers() {
  struct sigaction sa {};
  sa.sa_handler = on_signal;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);
}

}  // namespace

int main(int argc, char** argv) {
  Options o = parse(argc, argv);
  libbpf_set_print(libbpf_print);
  libxdp_set_print(libxdp_print);
  install_signal_handlers();

  // Everything about the interface is read before the EAL starts.
  const int ifindex = static_cast<int>(if_nametoindex(o.iface.c_str()));
  if (!ifindex) die("no interface " + o.iface + " in this network namespace");
  const FrameSpec spec = frame_spec_for(o);
  // With a program already on the interface, af_xdp is not tried: its PMD
  // would replace that program and remove it on close.
  const XdpState xdp_before = xdp_state(ifindex);
  const uint64_t dropped_before = tx_dropped(o.iface);

  const std::string prefix = "xkvtg" + std::to_string(getpid());
  start_eal(o, prefix);

  int status = 2;
  SendResult r;
  Port port;
  std::string port_used;
  // Enough mbufs for the PMD's RX fill ring, the TX ring and bursts in flight.
  rte_mempool* pool = rte_pktmbuf_pool_create("xkvtg_pool", 8191, 256, 0, RTE_MBUF_DEFAULT_BUF_SIZE,
                                              static_cast<int>(rte_socket_id()));
  if (!pool) {
    std::fprintf(stderr, "xdpkv-trafficgen: mbuf pool: %s (try a larger --mem)\n",
                 errstr(rte_errno).c_str());
  } else {
    port_used = open_port(o, xdp_before, pool, port);
  }
  if (!port_used.empty()) {
    print_plan(o, spec, port_used);
    r = send_all(o, port, pool, spec);
    print_port_stats(o, port);
    status = (r.sent == o.count) ? 0 : 1;
  }

  // libxdp repeats its dispatcher notes while detaching: not news.
  g_capture = true;
  close_port(port);
  g_capture = false;
  if (pool) rte_mempool_free(pool);
  (void)rte_eal_cleanup();
  remove_runtime_dir(prefix);
  remove_leftover_xsk_prog(o, ifindex, xdp_before);

  // 32-bit counter in rtnl_link_stats: the delta is taken modulo 2^32.
  const uint64_t dropped = (tx_dropped(o.iface) - dropped_before) & 0xffffffffu;
  std::printf("sent %llu of %llu frames in %.3f s (%.0f pps) via %s; %s tx_dropped +%llu\n",
              static_cast<unsigned long long>(r.sent), static_cast<unsigned long long>(o.count),
              r.secs, r.secs > 0 ? static_cast<double>(r.sent) / r.secs : 0.0,
              port_used.empty() ? "none" : port_used.c_str(), o.iface.c_str(),
              static_cast<unsigned long long>(dropped));
  return status;
}
