// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
// xdpkv demo: the whole path on network namespaces. A client sends UDP to a
// VIP; the LB (xdp/examples/lb) tags each packet with PACKET_ID, FLOW_HASH
// and BACKEND_ID, encapsulates and redirects it to the backend; every
// consumer on the way reports the store it sees. Then the same through a
// cpumap and to an AF_XDP socket. Everything is removed at the end.
#include <chrono>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include <unistd.h>

#include <xdpkv/codec.hpp>
#include <xdpkv/registry.hpp>
#include <xdpkv/topology.hpp>
#include <xdpkv/traffic.hpp>

#include "commands.hpp"
#include "lb.hpp"

namespace xdpkv::cli {

int demo_offline(const Command& self, int packets, bool quiet);

namespace {

struct PhaseResult {
  int sent = 0, complete = 0, identical = 0, delivered = 0;
  std::map<uint32_t, int> per_consumer;
};

void print_store(const lb_rec& r) {
  auto store = lb::store_bytes(r);
  View v(store);
  std::printf("      %-12s M=%-3u store %2zu B:", lb::consumer_name(r.consumer), r.meta_len,
              store.size());
  for (const auto& e : v.entries()) std::printf(" k%u=%s", e.key, to_hex(e.value).c_str());
  std::printf("\n");
}

Result<PhaseResult> phase(const char* title, net::Topology& topo, lb::Deployment& dep,
                          lb::XskReader* xsk, const std::vector<uint32_t>& consumers, int packets,
                          int show, int rx_fd) {
  std::printf("\n== %s: %d packets client -> VIP %s ==\n", title, packets, net::Topology::kVip);
  net::UdpBurst b;
  b.dst = topo.vip;
  b.count = packets;
  auto sent = net::send_udp(topo.client, b);
  if (!sent) return sent.error();
  PhaseResult pr;
  pr.sent = *sent;
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (std::chrono::steady_clock::now() < deadline && !net::interrupted()) {
    dep.poll(xsk ? 1 : 20);
    if (xsk) xsk->poll(dep);
    if (rx_fd >= 0) pr.delivered += net::drain(rx_fd);
    int done = 0;
    for (auto& [id, s] : dep.seen()) {
      bool all = true;
      for (auto c : consumers) all = all && s.at.count(c);
      done += all;
    }
    if (done >= pr.sent && (rx_fd < 0 || pr.delivered >= pr.sent)) break;
  }
  int shown = 0;
  for (auto& [id, s] : dep.seen()) {
    auto ref = s.at.count(LB_AT_INGRESS) ? lb::store_bytes(s.at.at(LB_AT_INGRESS)) : std::vector<uint8_t>{};
    bool all = true, same = !ref.empty();
    for (auto c : consumers) {
      auto it = s.at.find(c);
      if (it == s.at.end()) {
        all = false;
        continue;
      }
      pr.per_consumer[c]++;
      same = same && lb::store_bytes(it->second) == ref;
    }
    pr.complete += all;
    pr.identical += all && same;
    if (shown < show) {
      const lb_rec& r0 = s.at.begin()->second;
      std::printf("  packet_id=%#018llx flow_hash=%#010x backend=%u  %s\n", (unsigned long long)id,
                  r0.flow_hash, r0.backend, all && same ? "same store at every consumer" : "MISMATCH");
      for (auto c : consumers)
        if (s.at.count(c)) print_store(s.at.at(c));
      shown++;
    }
  }
  std::printf("  %d sent, %zu tagged, %d seen by all %zu consumers, %d byte-identical;",
              pr.sent, dep.seen().size(), pr.complete, consumers.size(), pr.identical);
  for (auto& [c, n] : pr.per_consumer) std::printf(" %s=%d", lb::consumer_name(c), n);
  if (rx_fd >= 0) std::printf(" delivered=%d", pr.delivered);
  std::printf("\n");
  return pr;
}

// A registry directory of this run only, removed at exit (pins included).
struct PrivateDir {
  std::string dir;
  ~PrivateDir() {
    if (dir.empty()) return;
    (void)unlink((dir + "/registry").c_str());
    (void)rmdir(dir.c_str());
  }
};

int parse_count(const char* s, int* out) {
  char* end;
  long v = std::strtol(s, &end, 10);
  if (*s == '\0' || *end || v < 1 || v > 100000) return -1;
  *out = static_cast<int>(v);
  return 0;
}

}  // namespace

int cmd_demo(int argc, char** argv) {
  const Command& self = *find_command("demo");
  int packets = 300, show = 3;
  bool quiet = false, offline = false;
  std::string bpffs;
  for (int i = 1; i < argc; i++) {
    std::string_view a = argv[i];
    if (a == "--help" || a == "-h") return print_help(self);
    if (a == "--packets" && i + 1 < argc) {
      if (parse_count(argv[++i], &packets)) return usage_error(self, "--packets takes 1..100000");
    } else if (a == "--show" && i + 1 < argc) {
      if (parse_count(argv[++i], &show)) return usage_error(self, "--show takes 1..100000");
    } else if (a == "--quiet") {
      quiet = true;
    } else if (a == "--bpffs" && i + 1 < argc) {
      bpffs = argv[++i];
    } else if (a == "--offline") {
      offline = true;
    } else {
      return usage_error(self, "unknown argument '" + std::string(a) + "'");
    }
  }
  if (offline) return demo_offline(self, packets, quiet);
  if (quiet) show = 0;

  net::catch_interrupts();
  std::printf("xdpkv demo: client -> lb -> backend on three network namespaces (veth pairs)\n");
  auto topo = net::Topology::create();
  if (!topo) return fail(self, topo.error().message);
  std::printf("namespaces %s, %s, %s (removed at exit, also on Ctrl-C)\n", topo->client.name().c_str(),
              topo->lb.name().c_str(), topo->backend.name().c_str());
  if (auto r = topo->backend.ip({"addr", "add", std::string(net::Topology::kVip) + "/32", "dev", "lo"}); !r)
    return fail(self, r.error().message);
  lb::Options opt;
  opt.log = [](const std::string& s) { std::printf("%s\n", s.c_str()); };
  // Key ids by name from the registry: a private one unless --bpffs names a shared one.
  PrivateDir priv;
  if (bpffs.empty()) bpffs = priv.dir = "/sys/fs/bpf/xdpkv-demo-" + std::to_string(getpid());
  {
    RegistryOptions ro;
    ro.dir = bpffs;
    ro.create = true;
    ro.notice = [](const std::string& s) { std::printf("%s\n", s.c_str()); };
    auto reg = Registry::open(ro);
    if (!reg) return fail(self, reg.error().message);
    const KeyBinding kb[] = {{"packet_id", 8, &opt.keys.packet_id},
                             {"flow_hash", 4, &opt.keys.flow_hash},
                             {"backend_id", 4, &opt.keys.backend_id}};
    if (auto r = resolve_keys(*reg, kb); !r) return fail(self, r.error().message);
    std::printf("key ids from the registry in %s%s: packet_id=%u flow_hash=%u backend_id=%u\n",
                bpffs.c_str(), priv.dir.empty() ? "" : " (this run's own, removed at exit)",
                opt.keys.packet_id, opt.keys.flow_hash, opt.keys.backend_id);
  }
  int bad = 0;
  {
    auto rx = net::udp_socket_in(topo->backend, topo->vip, 7777);
    if (!rx) return fail(self, rx.error().message);
    auto dep = lb::Deployment::create(*topo, opt);
    if (!dep) return fail(self, dep.error().message);
    auto pr = phase("devmap: lb XDP -> devmap program -> backend XDP (decap) -> TC ingress", *topo,
                    *dep, nullptr, {LB_AT_INGRESS, LB_AT_DEVMAP, LB_AT_BACKEND, LB_AT_TC}, packets,
                    show, rx->get());
    if (!pr) return fail(self, pr.error().message);
    bad += pr->identical != pr->sent || pr->delivered != pr->sent;
  }
  {
    lb::Options o = opt;
    o.cpumap = true;
    auto dep = lb::Deployment::create(*topo, o);
    if (!dep) return fail(self, dep.error().message);
    auto pr = phase("cpumap: lb XDP -> cpumap program (skb built on CPU 0) -> TC ingress", *topo,
                    *dep, nullptr, {LB_AT_INGRESS, LB_AT_CPUMAP, LB_AT_TC}, packets, show, -1);
    if (!pr) return fail(self, pr.error().message);
    bad += pr->identical != pr->sent;
  }
  {
    lb::Options o = opt;
    o.xsk = true;
    auto dep = lb::Deployment::create(*topo, o);
    if (!dep) return fail(self, dep.error().message);
    auto xsk = lb::XskReader::create(*topo, *dep, o.keys);
    if (!xsk) return fail(self, xsk.error().message);
    auto pr = phase("AF_XDP: lb XDP -> devmap -> backend XDP -> AF_XDP socket (C++ codec at data - 16)",
                    *topo, *dep, &*xsk, {LB_AT_INGRESS, LB_AT_DEVMAP, LB_AT_BACKEND, LB_AT_XSK},
                    packets, show, -1);
    if (!pr) return fail(self, pr.error().message);
    bad += pr->identical != pr->sent;
  }
  if (net::interrupted()) {
    std::printf("\ninterrupted: removing everything\n");
    return kExitFail;
  }
  std::printf("\nsummary: 3 paths x %d packets; %s. Namespaces and programs are removed now.\n",
              packets, bad ? "SOME PACKETS MISSED A CONSUMER OR DIFFERED" : "every packet reached every consumer with a byte-identical store");
  return bad ? kExitFail : kExitOk;
}

}  // namespace xdpkv::cli
