// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
// xdpkv demo: the whole path on network namespaces. A client sends UDP to a
// VIP; the LB (lb.bpf.c) tags each packet with PACKET_ID, FLOW_HASH
// and BACKEND_ID, encapsulates and redirects it to the backend; every
// consumer on the way reports the store it sees. Then the same through a
// cpumap and to an AF_XDP socket; a few packets are traced by their
// PACKET_ID (xdpkv trace) to the socket and to a drop; the NIC hints are
// captured in the first XDP program and read after devmap and cpumap
// (hints_section.cpp). Everything is removed at the end.
#include <chrono>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include <xdpkv/codec.hpp>
#include <xdpkv/demo/demo.hpp>
#include <xdpkv/demo/lb.hpp>
#include <xdpkv/registry.hpp>
#include <xdpkv/topology.hpp>
#include <xdpkv/trace.hpp>
#include <xdpkv/traffic.hpp>
#include <xdpkv/trafficgen.hpp>

namespace xdpkv::demo {

namespace {

void print_store(const lb_rec& r) {
  auto store = lb::store_bytes(r);
  View v(store);
  std::printf("      %-12s M=%-3u store %2zu B:", lb::consumer_name(r.consumer), r.meta_len,
              store.size());
  for (const auto& e : v.entries()) std::printf(" k%u=%s", e.key, to_hex(e.value).c_str());
  std::printf("\n");
}

// Sends `packets` UDP datagrams client -> VIP: with the DPDK generator
// (xdpkv-trafficgen, net_af_xdp on `cli`) or from sockets in the client ns.
Result<int> send(net::Topology& topo, Gen gen, int packets) {
  if (gen == Gen::socket) {
    net::UdpBurst b;
    b.dst = topo.vip;
    b.count = packets;
    return net::send_udp(topo.client, b);
  }
  const traffic::FrameSpec spec = traffic::client_to_vip(topo, 8);
  auto r = traffic::run_trafficgen(topo.client,
                                   traffic::trafficgen_args(topo.cli.ifname, spec, packets, 20000),
                                   std::chrono::seconds(60));
  if (!r) return r.error();
  std::printf("  DPDK: sent %llu of %llu frames via %s at %.0f pps%s\n",
              (unsigned long long)r->sent, (unsigned long long)r->requested, r->driver.c_str(),
              r->pps, r->fell_back ? " (af_xdp unavailable: fell back to af_packet)" : "");
  if (r->exit_status != 0) return make_error(EIO, "xdpkv-trafficgen failed:\n" + r->output);
  return static_cast<int>(r->sent);
}

Result<lb::Tally> phase(const char* title, net::Topology& topo, lb::Deployment& dep,
                        lb::XskReader* xsk, const std::vector<uint32_t>& consumers, int packets,
                        Gen gen, int show, int rx_fd) {
  std::printf("\n== %s: %d packets client -> VIP %s ==\n", title, packets, net::Topology::kVip);
  auto sent = send(topo, gen, packets);
  if (!sent) return sent.error();
  lb::Tally t = lb::wait_and_tally(dep, *sent, consumers, rx_fd, xsk, std::chrono::seconds(10));
  int shown = 0;
  for (auto& [id, s] : dep.seen()) {
    if (shown++ >= show) break;
    const lb_rec& r0 = s.at.begin()->second;
    std::printf("  packet_id=0x%016llx flow_hash=0x%08x backend=%u\n", (unsigned long long)id,
                r0.flow_hash, r0.backend);
    for (auto c : consumers)
      if (s.at.count(c)) print_store(s.at.at(c));
  }
  for (const auto& p : t.problems) std::printf("  PROBLEM: %s\n", p.c_str());
  std::printf("  %d sent: %s\n", *sent, lb::summary(t, rx_fd >= 0).c_str());
  if (*sent != packets || t.identical != packets || t.tagged != static_cast<size_t>(packets) ||
      (rx_fd >= 0 && t.delivered != packets))
    t.problems.push_back("not every packet reached every consumer intact");
  return t;
}

// The traced packets: pass datagrams to the listening port, then one to a
// port nobody listens on (the backend's stack drops it).
Status send_traced(net::Topology& topo, int pass) {
  net::UdpBurst b;
  b.dst = topo.vip;
  b.flows = 1;
  b.count = pass;
  auto sent = net::send_udp(topo.client, b);
  if (!sent) return sent.error();
  b.dport = 7778;  // nothing listens: the backend's stack drops it
  b.count = 1;
  b.sport_base = 20001;
  if (auto s = net::send_udp(topo.client, b); !s) return s.error();
  return {};
}

// Reads the tracer's events into sum and lines until `packets` packets
// ended (delivered or dropped), or 3 s.
Status collect(trace::Tracer& tr, trace::Summary& sum, std::vector<std::string>& lines,
               int packets) {
  const auto end = std::chrono::steady_clock::now() + std::chrono::seconds(3);
  while (std::chrono::steady_clock::now() < end) {
    auto n = tr.poll(100, [&](const trace::Event& e) {
      sum.add(e);
      lines.push_back(trace::format_text(e));
    });
    if (!n) return n.error();
    auto pk = sum.packets();
    size_t ended = 0;
    for (auto& [id, p] : pk) ended += p.end != "in flight";
    if (ended >= static_cast<size_t>(packets)) break;
  }
  return {};
}

// Traces a few packets by their PACKET_ID while they go client -> lb ->
// backend: kPass to a listening port, one to a port nobody listens on (its
// drop reason ends the trace). The tracer reads the ids the LB wrote.
Status trace_section(net::Topology& topo, lb::Deployment& dep, const std::string& bpffs, int rx_fd,
                     bool quiet) {
  constexpr int kPass = 3;
  std::printf(
      "\n== trace: xdpkv trace by PACKET_ID (skb tracepoints), %d packets to the socket "
      "and 1 to a port with no listener ==\n",
      kPass);
  trace::TraceOptions to;
  to.bpffs = bpffs;
  to.notice = [](const std::string& s) { std::printf("  %s\n", s.c_str()); };
  auto tr = trace::Tracer::start(to);
  if (!tr) return tr.error();
  std::printf("  attached: %s on %zu points, key id %d\n", tr->attach_kind().c_str(),
              tr->points().size(), tr->key_id());
  if (auto s = send_traced(topo, kPass); !s) return s;
  trace::Summary sum;
  std::vector<std::string> lines;
  if (auto s = collect(*tr, sum, lines, kPass + 1); !s) return s;
  (void)net::drain(rx_fd);
  (void)dep.poll(0);
  tr->stop();
  if (!quiet) {
    std::printf("  %s\n", trace::text_header().c_str());
    for (const auto& l : lines) std::printf("  %s\n", l.c_str());
  }
  for (const auto& l : sum.lines()) std::printf("  %s\n", l.c_str());
  const trace::TraceStats st = tr->stats();
  std::printf("  %llu events, %llu lost\n", (unsigned long long)st.received,
              (unsigned long long)st.lost);
  int delivered = 0, dropped = 0;
  for (auto& [id, p] : sum.packets()) {
    delivered += p.end.rfind("delivered", 0) == 0;
    dropped += p.end.rfind("dropped", 0) == 0;
  }
  if (delivered < kPass || dropped < 1) {
    return make_error(EIO, "trace: expected " + std::to_string(kPass) +
                               " delivered and 1 dropped packet, saw " + std::to_string(delivered) +
                               " and " + std::to_string(dropped));
  }
  return {};
}

// The three paths (devmap with a trace, cpumap, AF_XDP); counts those whose
// checks failed into bad and trace_bad. An error when one could not run.
Status paths(net::Topology& topo, const lb::Options& opt, const Options& d, const std::string& dir,
             int& bad, int& trace_bad) {
  const int show = d.quiet ? 0 : d.show;
  {
    auto rx = net::udp_socket_in(topo.backend, topo.vip, 7777);
    if (!rx) return rx.error();
    auto dep = lb::Deployment::create(topo, opt);
    if (!dep) return dep.error();
    auto pr = phase("devmap: lb XDP -> devmap program -> backend XDP (decap) -> TC ingress", topo,
                    *dep, nullptr, {LB_AT_INGRESS, LB_AT_DEVMAP, LB_AT_BACKEND, LB_AT_TC},
                    d.packets, d.gen, show, rx->get());
    if (!pr) return pr.error();
    bad += !pr->problems.empty();
    if (auto t = trace_section(topo, *dep, dir, rx->get(), d.quiet); !t) {
      std::printf("  PROBLEM: %s\n", t.error().message.c_str());
      trace_bad++;
    }
  }
  {
    lb::Options o = opt;
    o.cpumap = true;
    auto dep = lb::Deployment::create(topo, o);
    if (!dep) return dep.error();
    auto pr =
        phase("cpumap: lb XDP -> cpumap program (skb built on CPU 0) -> TC ingress", topo, *dep,
              nullptr, {LB_AT_INGRESS, LB_AT_CPUMAP, LB_AT_TC}, d.packets, d.gen, show, -1);
    if (!pr) return pr.error();
    bad += !pr->problems.empty();
  }
  lb::Options o = opt;
  o.xsk = true;
  auto dep = lb::Deployment::create(topo, o);
  if (!dep) return dep.error();
  auto xsk = lb::XskReader::create(topo, *dep, o.keys);
  if (!xsk) return xsk.error();
  auto pr =
      phase("AF_XDP: lb XDP -> devmap -> backend XDP -> AF_XDP socket (C++ codec at data - 16)",
            topo, *dep, &*xsk, {LB_AT_INGRESS, LB_AT_DEVMAP, LB_AT_BACKEND, LB_AT_XSK}, d.packets,
            d.gen, show, -1);
  if (!pr) return pr.error();
  bad += !pr->problems.empty();
  return {};
}

}  // namespace

Result<bool> run_netns(const Options& d) {
  std::printf("xdpkv demo: client -> lb -> backend on three network namespaces (veth pairs)\n");
  auto topo = net::Topology::create({.backend_owns_vip = true});
  if (!topo) return topo.error();
  std::printf("namespaces %s, %s, %s (removed at exit, also on Ctrl-C)\n",
              topo->client.name().c_str(), topo->lb.name().c_str(), topo->backend.name().c_str());
  lb::Options opt;
  opt.log = [](const std::string& s) { std::printf("%s\n", s.c_str()); };
  // Key ids by name from the registry: a private one unless --bpffs names a shared one.
  OwnRegistry reg;
  // GRO scopes: the LB's keys are the same on every packet of a flow; packet_id is not.
  const KeyBinding kb[] = {{"packet_id", 8, &opt.keys.packet_id, KeyScope::packet},
                           {"flow_hash", 4, &opt.keys.flow_hash, KeyScope::flow},
                           {"backend_id", 4, &opt.keys.backend_id, KeyScope::flow}};
  if (auto r = reg.resolve(d, kb); !r) return r.error();
  // The mark the LB and the capture store, and the tracer requires (FORMAT.md, key 59).
  opt.origin = reg.origin();
  int bad = 0, trace_bad = 0, hints_bad = 0;
  if (auto p = paths(*topo, opt, d, reg.dir(), bad, trace_bad); !p) return p.error();
  if (!net::interrupted()) {
    if (auto h = hints_section(*topo, opt.keys.packet_id, opt.origin, d.quiet); !h) {
      std::printf("  PROBLEM: %s\n", h.error().message.c_str());
      hints_bad++;
    }
  }
  if (net::interrupted()) {
    std::printf("\ninterrupted: removing everything\n");
    return false;
  }
  std::printf(
      "\nsummary: 3 paths x %d packets, a trace and the hints; %s%s%s. Namespaces and programs "
      "are removed now.\n",
      d.packets,
      bad ? "SOME PACKETS MISSED A CONSUMER OR DIFFERED"
          : "every packet reached every consumer with a byte-identical store",
      trace_bad ? "; THE TRACE COULD NOT RUN" : "", hints_bad ? "; THE HINTS CHECK FAILED" : "");
  return !bad && !trace_bad && !hints_bad;
}

}  // namespace xdpkv::demo
