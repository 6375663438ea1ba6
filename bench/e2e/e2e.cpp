// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
// xdpkv end-to-end benchmark: what xdpkv costs a real packet path.
//
// Redirect part: the live-frames generator sends frames from the client
// namespace into lbin, whose XDP program (one variant per run) redirects them
// through a devmap out of lbout to be, where e2e_sink counts and drops them.
// Rates are frames that reached the sink per second of sending; variants take
// turns within every round, so the ratios against the baseline
// (redirect only) come from the same conditions.
//
// GRO part: a TCP stream from the client namespace into lbin, whose XDP
// program writes (or not) a store before XDP_PASS; TC ingress on lbin counts
// the skbs GRO made. The kernel never merges skbs whose metadata differ
// (skb_metadata_differs), so a per-packet id turns GRO off for the flow.
//
// Tagger part: the shipped tagger through BPF_PROG_TEST_RUN on one CPU, then
// on two at once: its cost per packet must not grow with the CPUs.
//
// Needs root. Prints a table and, with --json, writes the figures.
#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/if_link.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <sched.h>
#include <sys/socket.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <functional>
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include <xdpkv/bpf_util.hpp>
#include <xdpkv/demo/lb.hpp>
#include <xdpkv/frame.hpp>
#include <xdpkv/live.hpp>
#include <xdpkv/netns.hpp>
#include <xdpkv/tc.hpp>
#include <xdpkv/topology.hpp>
#include <xdpkv/trace.hpp>
#include <xdpkv/traffic.hpp>
#include <xdpkv/trafficgen.hpp>

#include "e2e.h"
#include "xdpkv_e2e.skel.h"
#include "xdpkv_tagger.skel.h"

namespace xdpkv::bench {
namespace {

using Clock = std::chrono::steady_clock;

struct Config {
  uint64_t frames = 2'000'000;
  int rounds = 5;
  double gro_seconds = 2.0;
  bool redirect = true;
  bool gro = true;
  bool tracer = true;       // the "+ tracer attached" row
  bool dpdk = true;         // the DPDK generator rows
  bool tracer_cost = true;  // the tracer's cost per event at rising rates
  bool tagger_cost = true;  // the tagger's ns/packet on 1 and 2 CPUs at once
  uint32_t tagger_repeat = 2'000'000;
  uint64_t dpdk_frames = 0;    // 0: --frames
  double trace_seconds = 1.0;  // per rate step
  std::vector<uint64_t> trace_rates = {10'000, 30'000, 100'000, 300'000};
  std::string json;
};

struct Stats {
  double median = 0, min = 0, max = 0;
};

Stats stats_of(std::vector<double> v) {
  Stats s;
  if (v.empty()) return s;
  std::sort(v.begin(), v.end());
  const size_t n = v.size();
  s.median = n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
  s.min = v.front();
  s.max = v.back();
  return s;
}

// A fatal error is thrown, not std::exit: the stack unwinds, so the
// namespaces, links and programs made so far are removed on the way out
// (main catches it, prints it and exits 1).
struct Fatal : std::runtime_error {
  using std::runtime_error::runtime_error;
};

[[noreturn]] void die(const std::string& what) { throw Fatal(what); }

template <class T>
T must(Result<T> r, const char* what) {
  if (!r) die(std::string(what) + ": " + r.error().message);
  return std::move(*r);
}

void must(const Status& s, const char* what) {
  if (!s) die(std::string(what) + ": " + s.error().message);
}

// Waits until fn() stops changing (the last frames leave the rings).
uint64_t settle(const std::function<uint64_t()>& fn) {
  uint64_t last = fn();
  for (int i = 0; i < 100; i++) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    const uint64_t now = fn();
    if (now == last) return now;
    last = now;
  }
  return last;
}

Status attach_xdp(const net::Netns& ns, int ifindex, int prog_fd) {
  auto scope = net::NsScope::enter(ns);
  if (!scope) return scope.error();
  if (int e = bpf_xdp_attach(ifindex, prog_fd, XDP_FLAGS_DRV_MODE, nullptr))
    return bpf::errno_error(e, "attach XDP on ifindex " + std::to_string(ifindex));
  return {};
}

// ---- redirect part ----

struct RedirectRig {
  net::Topology topo;
  bpf::Skeleton<xdpkv_e2e> skel{nullptr, nullptr};
};

RedirectRig redirect_rig() {
  RedirectRig r{must(net::Topology::create(), "topology")};
  r.skel = must(bpf::open_skeleton(xdpkv_e2e__open, xdpkv_e2e__destroy, "xdpkv_e2e"), "open");
  must(bpf::load_skeleton(r.skel, xdpkv_e2e__load, "xdpkv_e2e"), "load");
  bpf_devmap_val v{};
  v.ifindex = static_cast<uint32_t>(r.topo.lbout.ifindex);
  const uint32_t zero = 0;
  {
    // A devmap resolves ifindex in the updater's namespace.
    auto scope = must(net::NsScope::enter(r.topo.lb), "netns");
    if (bpf_map_update_elem(bpf_map__fd(r.skel->maps.e2e_tx), &zero, &v, 0))
      die("devmap entry: " + std::string(strerror(errno)));
  }
  must(attach_xdp(r.topo.backend, r.topo.be.ifindex, bpf_program__fd(r.skel->progs.e2e_sink)),
       "sink");
  return r;
}

struct Sample {
  double pps = 0;
  uint64_t sent = 0, delivered = 0, errors = 0;
  std::string note;
};

// The tracer (`xdpkv trace`, libxdpkv_trace) following the bench's PACKET_ID
// key (id E2E_KEY_ID of the bench's private store, no registry), with a
// thread that polls it as the CLI does. Stopped and joined on destruction.
class TracerRun {
 public:
  explicit TracerRun(const std::string& netns, bool redirects = false) {
    trace::TraceOptions o;
    o.key_id = E2E_KEY_ID;
    // e2e.bpf.c writes no origin mark (FORMAT.md key 59): without this the
    // tracer would report no id, and it would make the host's mark pin.
    o.any_origin = true;
    o.netns = netns;
    o.redirects = redirects;
    o.notice = [](const std::string&) {};
    tr_ = std::make_unique<trace::Tracer>(must(trace::Tracer::start(o), "tracer"));
    th_ = std::thread([this] {
      timespec t0{}, t1{};
      clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t0);
      while (!stop_.load()) {
        auto n = tr_->poll(50, [this](const trace::Event&) { events_++; });
        if (!n) break;
      }
      clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t1);
      cpu_ns_ = static_cast<double>(t1.tv_sec - t0.tv_sec) * 1e9 +
                static_cast<double>(t1.tv_nsec - t0.tv_nsec);
    });
  }
  TracerRun(const TracerRun&) = delete;
  TracerRun& operator=(const TracerRun&) = delete;
  // Joins the poller; returns its CPU time in ns.
  double finish() {
    if (th_.joinable()) {
      stop_ = true;
      th_.join();
      stats_ = tr_->stats();
      tr_->stop();
    }
    return cpu_ns_;
  }
  ~TracerRun() { finish(); }
  uint64_t events() const { return events_.load(); }
  trace::TraceStats stats() const { return stats_; }

 private:
  std::unique_ptr<trace::Tracer> tr_;
  std::thread th_;
  std::atomic<bool> stop_{false};
  std::atomic<uint64_t> events_{0};
  trace::TraceStats stats_{};
  double cpu_ns_ = 0;
};

Sample run_variant(RedirectRig& r, bpf_program* prog, uint64_t frames) {
  must(attach_xdp(r.topo.lb, r.topo.lbin.ifindex, bpf_program__fd(prog)), "variant");
  const uint64_t sink0 = r.skel->bss->sink.packets, err0 = r.skel->bss->counts.errors;
  auto st = must(traffic::send_live_frames(r.topo.client, r.topo.cli.ifindex,
                                           traffic::client_to_vip(r.topo, 8), frames),
                 "live frames");
  Sample s;
  s.sent = st.sent;
  s.delivered = settle([&] { return r.skel->bss->sink.packets; }) - sink0;
  s.errors = r.skel->bss->counts.errors - err0;
  s.pps = st.seconds > 0 ? static_cast<double>(s.delivered) / st.seconds : 0;
  return s;
}

// The DPDK generator (xdpkv-trafficgen, net_af_xdp on cli, full speed) as the
// source instead of the live-frames generator. An error (with the
// generator's own words) when it cannot run or sent nothing.
Result<Sample> run_dpdk(RedirectRig& r, bpf_program* prog, uint64_t frames) {
  must(attach_xdp(r.topo.lb, r.topo.lbin.ifindex, bpf_program__fd(prog)), "variant");
  const uint64_t sink0 = r.skel->bss->sink.packets, err0 = r.skel->bss->counts.errors;
  auto args =
      traffic::trafficgen_args(r.topo.cli.ifname, traffic::client_to_vip(r.topo, 8), frames, 0);
  auto run = traffic::run_trafficgen(r.topo.client, args, std::chrono::seconds(120));
  if (!run) return run.error();
  if (run->exit_status != 0 || run->sent == 0) {
    std::string out = run->output;
    if (out.size() > 400) out = out.substr(out.size() - 400);
    return make_error(EIO, "xdpkv-trafficgen exit " + std::to_string(run->exit_status) + ", sent " +
                               std::to_string(run->sent) + ": " + out);
  }
  Sample s;
  s.sent = run->sent;
  s.delivered = settle([&] { return r.skel->bss->sink.packets; }) - sink0;
  s.errors = r.skel->bss->counts.errors - err0;
  s.pps = run->seconds > 0 ? static_cast<double>(s.delivered) / run->seconds : 0;
  s.note = "driver " + run->driver + (run->fell_back ? " (af_xdp failed)" : "") + ", generator " +
           std::to_string(static_cast<long long>(run->pps)) + " pps, " +
           std::to_string(run->if_dropped) + " dropped at cli";
  return s;
}

// The full LB: tag (three keys), IPIP encap, devmap redirect, backend decap.
// The demo's LB (lb_ingress tags and encapsulates, the devmap program, lb_backend
// and lb_tc read the tags), its ring-buffer records off: handing the tags over
// in an xdpkv store, or (fixed) in a fixed struct at data_meta, the floor.
Sample run_lb(uint64_t frames, bool fixed) {
  auto topo = must(net::Topology::create(), "topology");
  lb::Options o;
  o.fixed_struct = fixed;
  o.records = false;
  o.ring_bytes = 4096;  // no records: the smallest ring
  auto dep = must(lb::Deployment::create(topo, o), "LB deployment");
  auto st = must(traffic::send_live_frames(topo.client, topo.cli.ifindex,
                                           traffic::client_to_vip(topo, 8), frames),
                 "live frames");
  Sample s;
  s.sent = st.sent;
  s.delivered = settle([&] { return dep.stat(LB_ST_DECAP); });
  s.errors = dep.stat(LB_ST_TAG_ERR);  // a fresh deployment: counted from 0
  s.pps = st.seconds > 0 ? static_cast<double>(s.delivered) / st.seconds : 0;
  return s;
}

struct RedirectVariant {
  const char* name;
  bpf_program* prog;   // nullptr: the demo's LB
  bool fixed = false;  // the LB hands its tags over in a fixed struct
  std::vector<double> pps;
  uint64_t sent = 0, delivered = 0, errors = 0;
  bool tracer = false;     // the tracer runs during the variant
  bool redirects = false;  // the tracer counts every redirect (--redirects)
  bool dpdk = false;       // xdpkv-trafficgen is the source; ratio to the DPDK baseline
  std::string note;
};

std::vector<RedirectVariant> redirect_variants(const Config& c, const RedirectRig& rig) {
  auto variant = [](const char* name, bpf_program* prog, bool tracer = false, bool dpdk = false) {
    RedirectVariant v{};
    v.name = name;
    v.prog = prog;
    v.tracer = tracer;
    v.dpdk = dpdk;
    return v;
  };
  const auto& p = rig.skel->progs;
  std::vector<RedirectVariant> vs = {variant("redirect only (baseline)", p.e2e_redirect),
                                     variant("+ PACKET_ID", p.e2e_id),
                                     variant("+ PACKET_ID + hints (software)", p.e2e_id_hints),
                                     variant("LB on a fixed struct (3 values, IPIP)", nullptr),
                                     variant("LB on xdpkv (3 values, IPIP)", nullptr)};
  vs[3].fixed = true;
  if (c.tracer) {
    vs.push_back(variant("+ PACKET_ID + tracer attached", p.e2e_id, true));
    // Frames without a store: what the tracer costs the traffic it does not trace.
    vs.push_back(variant("untagged + tracer attached", p.e2e_redirect, true));
    vs.push_back(variant("untagged + tracer --redirects", p.e2e_redirect, true));
    vs.back().redirects = true;
  }
  if (c.dpdk) {
    vs.push_back(variant("DPDK: redirect only (DPDK baseline)", p.e2e_redirect, false, true));
    vs.push_back(variant("DPDK: + PACKET_ID", p.e2e_id, false, true));
  }
  return vs;
}

// Every variant once per round; the DPDK generator's failure (reported once), or "".
std::string run_redirect_rounds(const Config& c, RedirectRig& rig,
                                std::vector<RedirectVariant>& vs) {
  std::string dpdk_note;
  for (int round = 0; round < c.rounds; round++) {
    for (RedirectVariant& v : vs) {
      Sample s;
      if (v.dpdk) {
        if (!dpdk_note.empty()) continue;  // the generator failed: reported once
        auto d = run_dpdk(rig, v.prog, c.dpdk_frames ? c.dpdk_frames : c.frames);
        if (!d) {
          dpdk_note = d.error().message;
          continue;
        }
        s = *d;
      } else if (v.tracer) {
        TracerRun tr(rig.topo.lb.name(), v.redirects);
        s = run_variant(rig, v.prog, c.frames);
        tr.finish();
      } else {
        s = v.prog ? run_variant(rig, v.prog, c.frames) : run_lb(c.frames, v.fixed);
      }
      v.pps.push_back(s.pps);
      v.sent += s.sent;
      v.delivered += s.delivered;
      v.errors += s.errors;
      v.note = s.note;
    }
  }
  return dpdk_note;
}

// The LB on xdpkv over the same LB on a fixed struct, round by round (the two
// ran back to back in each round): what the hand-off costs a load balancer.
void print_lb_pair(const std::vector<RedirectVariant>& vs) {
  const RedirectVariant *fixed = nullptr, *kv = nullptr;
  for (const RedirectVariant& v : vs) {
    if (!v.prog && !v.dpdk) (v.fixed ? fixed : kv) = &v;
  }
  if (!fixed || !kv || fixed->pps.size() != kv->pps.size() || fixed->pps.empty()) return;
  std::vector<double> r;
  for (size_t i = 0; i < kv->pps.size(); i++) {
    if (fixed->pps[i] > 0) r.push_back(kv->pps[i] / fixed->pps[i]);
  }
  const Stats s = stats_of(r);
  std::printf(
      "LB on xdpkv / LB on a fixed struct, per round: median %.3f [%.3f, %.3f], %zu rounds\n",
      s.median, s.min, s.max, r.size());
}

nlohmann::json redirect_part(const Config& c) {
  RedirectRig rig = redirect_rig();
  std::vector<RedirectVariant> vs = redirect_variants(c, rig);
  const std::string dpdk_note = run_redirect_rounds(c, rig, vs);
  if (!dpdk_note.empty()) std::printf("DPDK rows not measured: %s\n", dpdk_note.c_str());
  const double base = stats_of(vs[0].pps).median;
  double dpdk_base = 0;
  std::string dpdk_base_name;
  for (const RedirectVariant& v : vs) {
    if (v.dpdk && !v.pps.empty()) {
      dpdk_base = stats_of(v.pps).median;
      dpdk_base_name = v.name;
      break;
    }
  }
  nlohmann::json out = nlohmann::json::array();
  std::printf(
      "\n== end to end: live frames -> XDP on a veth -> devmap redirect -> veth -> sink "
      "(%d rounds x %llu frames)\n",
      c.rounds, static_cast<unsigned long long>(c.frames));
  std::printf("%-38s %12s %12s %12s %7s %10s %8s\n", "variant", "median pps", "min", "max", "ratio",
              "delivered", "errors");
  for (const RedirectVariant& v : vs) {
    if (v.pps.empty()) {
      out.push_back({{"name", v.name},
                     {"pps", nullptr},
                     {"ratio", nullptr},
                     {"runs", 0},
                     {"source", v.dpdk ? "dpdk" : "live frames"},
                     {"not_measured", dpdk_note}});
      continue;
    }
    const Stats s = stats_of(v.pps);
    const double b = v.dpdk ? dpdk_base : base;
    const double ratio = b > 0 ? s.median / b : 0;
    std::printf(
        "%-38s %12.0f %12.0f %12.0f %7.3f %9.1f%% %8llu\n", v.name, s.median, s.min, s.max, ratio,
        v.sent ? 100.0 * static_cast<double>(v.delivered) / static_cast<double>(v.sent) : 0.0,
        static_cast<unsigned long long>(v.errors));
    out.push_back({{"name", v.name},
                   {"pps", s.median},
                   {"ratio", ratio},
                   {"pps_min", s.min},
                   {"pps_max", s.max},
                   {"runs", v.pps.size()},
                   {"sent", v.sent},
                   {"delivered", v.delivered},
                   {"store_errors", v.errors},
                   {"source", v.dpdk ? "dpdk" : "live frames"},
                   {"baseline", v.dpdk ? dpdk_base_name : std::string(vs[0].name)},
                   {"pps_rounds", v.pps},
                   {"note", v.note}});
  }
  print_lb_pair(vs);
  return out;
}

// ---- the tagger's cost per packet against the CPUs running it ----

bpf::Skeleton<xdpkv_tagger> load_tagger(bool per_packet);

// A UDP datagram, or a TCP segment inside a burst (ACK, payload: the flow
// table is read, not written), from the client to the VIP.
std::vector<uint8_t> tagger_frame(bool tcp) {
  traffic::PacketSpec p;
  p.src_ip = htonl(0x0a000002);
  p.dst_ip = htonl(0x0a000101);
  p.l4_proto = tcp ? 6 : 17;
  p.sport = 40000;
  p.dport = 80;
  p.payload_size = 64;
  std::vector<uint8_t> f = traffic::build_packet(p);
  constexpr size_t kTcpFlags = 14 + 20 + 13;
  if (tcp) f[kTcpFlags] = 0x10;  // ACK only: does not end the burst
  return f;
}

// ns per packet (the kernel's mean per repetition) of each of `threads`
// threads, pinned to CPUs first..first+threads-1, running the tagger at the same time.
std::vector<double> tagger_round(int prog_fd, const std::vector<uint8_t>& frame, int first,
                                 int threads, uint32_t repeat) {
  std::vector<double> ns(static_cast<size_t>(threads));
  std::atomic<int> ready{0};
  std::vector<std::thread> ts;
  for (int i = 0; i < threads; i++) {
    ts.emplace_back([&, i] {
      cpu_set_t set;
      CPU_ZERO(&set);
      CPU_SET(first + i, &set);
      pthread_setaffinity_np(pthread_self(), sizeof set, &set);
      ready++;
      while (ready.load() < threads) std::this_thread::yield();
      auto r = bpf::xdp_test_run(prog_fd, {}, frame, repeat);
      ns[static_cast<size_t>(i)] = r ? r->duration_ns : -1;
    });
  }
  for (auto& t : ts) t.join();
  if (std::find(ns.begin(), ns.end(), -1) != ns.end())
    die("BPF_PROG_TEST_RUN of the tagger failed");
  return ns;
}

nlohmann::json tagger_cost_part(const Config& c) {
  auto t = load_tagger(false);
  const int fd = bpf_program__fd(t->progs.xdpkv_tagger);
  const int ncpu = std::min<int>(2, static_cast<int>(std::thread::hardware_concurrency()));
  nlohmann::json out = nlohmann::json::array();
  std::printf(
      "\n== tagger cost: BPF_PROG_TEST_RUN of the shipped tagger (1 in 64), %u repetitions per "
      "thread, pinned: 1 CPU = each CPU alone in turn, 2 = both at once, %d rounds\n",
      c.tagger_repeat, c.rounds);
  std::printf("%-26s %7s %12s %8s %8s\n", "frame", "CPUs", "ns/packet", "min", "max");
  for (const bool tcp : {false, true}) {
    const auto frame = tagger_frame(tcp);
    for (int n = 1; n <= ncpu; n++) {
      std::vector<double> v;  // every thread of every round
      // 1 CPU: each CPU alone in turn, so both rows measure the same CPUs.
      for (int r = 0; r < c.rounds; r++) {
        for (int first = 0; first + n <= ncpu; first += n) {
          for (double x : tagger_round(fd, frame, first, n, c.tagger_repeat)) v.push_back(x);
        }
      }
      const Stats s = stats_of(v);
      const char* name = tcp ? "TCP (inside a burst)" : "UDP";
      std::printf("%-26s %7d %12.1f %8.1f %8.1f\n", name, n, s.median, s.min, s.max);
      out.push_back({{"frame", name},
                     {"cpus", n},
                     {"ns", s.median},
                     {"ns_min", s.min},
                     {"ns_max", s.max},
                     {"runs", v.size()}});
    }
  }
  return out;
}

// ---- the tracer's cost per event ----
//
// lbin's XDP program gives every frame a PACKET_ID and passes it: the skbs
// it becomes (dropped in lb: the VIP is not local there) are what the tracer
// follows. xdpkv-trafficgen paces the frames (its token bucket; one
// BPF_PROG_RUN per burst would cost more than the frames); the tracer's
// polling thread reports its CPU time per event received.

struct TraceStep {
  double achieved = 0;  // frames per second (the generator's)
  double seconds = 0;
  uint64_t events = 0, lost = 0;
  double poll_cpu_ns = 0;  // tracer's polling thread
};

Result<TraceStep> paced_run(net::Topology& topo, uint64_t rate, double seconds) {
  TracerRun tr(topo.lb.name());
  const auto count = static_cast<uint64_t>(static_cast<double>(rate) * seconds);
  auto args = traffic::trafficgen_args(topo.cli.ifname, traffic::client_to_vip(topo, 8),
                                       std::max<uint64_t>(count, 100), rate);
  auto run = traffic::run_trafficgen(topo.client, args, std::chrono::seconds(120));
  if (!run) return run.error();
  if (run->exit_status != 0 || run->sent == 0) {
    return make_error(
        EIO, "xdpkv-trafficgen exit " + std::to_string(run->exit_status) + ": " +
                 run->output.substr(run->output.size() > 300 ? run->output.size() - 300 : 0));
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(150));  // the last events
  TraceStep st;
  st.achieved = run->pps;
  st.seconds = run->seconds;
  st.poll_cpu_ns = tr.finish();
  st.events = tr.stats().received;
  st.lost = tr.stats().lost;
  return st;
}

nlohmann::json tracer_cost_part(const Config& c) {
  auto topo = must(net::Topology::create(), "topology");
  auto skel = must(bpf::open_skeleton(xdpkv_e2e__open, xdpkv_e2e__destroy, "xdpkv_e2e"), "open");
  skel->rodata->gro_mode = E2E_GRO_ID;
  must(bpf::load_skeleton(skel, xdpkv_e2e__load, "xdpkv_e2e"), "load");
  must(attach_xdp(topo.lb, topo.lbin.ifindex, bpf_program__fd(skel->progs.e2e_gro_xdp)), "id xdp");
  std::printf(
      "\n== tracer cost: xdpkv-trafficgen (paced) -> XDP (PACKET_ID, XDP_PASS) -> skb, traced by "
      "`xdpkv trace`, %.1f s per step, %d rounds\n",
      c.trace_seconds, c.rounds);
  std::printf("%10s %10s %10s %8s %14s\n", "offered", "achieved", "events/s", "lost",
              "poll ns/event");
  nlohmann::json out = nlohmann::json::array();
  for (uint64_t rate : c.trace_rates) {
    std::vector<double> per_ev, ach, evs, lost;
    for (int round = 0; round < c.rounds; round++) {
      auto r = paced_run(topo, rate, c.trace_seconds);
      if (!r) {
        std::printf("tracer cost not measured: %s\n", r.error().message.c_str());
        return {{{"not_measured", r.error().message}}};
      }
      per_ev.push_back(r->events ? r->poll_cpu_ns / static_cast<double>(r->events) : 0);
      ach.push_back(r->achieved);
      evs.push_back(r->seconds > 0 ? static_cast<double>(r->events) / r->seconds : 0);
      lost.push_back(static_cast<double>(r->lost));
    }
    const Stats pe = stats_of(per_ev), a = stats_of(ach), e = stats_of(evs), l = stats_of(lost);
    std::printf("%10llu %10.0f %10.0f %8.0f %14.1f\n", static_cast<unsigned long long>(rate),
                a.median, e.median, l.median, pe.median);
    out.push_back({{"offered_pps", rate},
                   {"achieved_pps", a.median},
                   {"events_per_s", e.median},
                   {"lost", l.median},
                   {"poll_ns_per_event", pe.median},
                   {"poll_ns_per_event_min", pe.min},
                   {"poll_ns_per_event_max", pe.max},
                   {"runs", per_ev.size()}});
  }
  return out;
}

// ---- GRO part ----

// What the receiver's XDP program is in a GRO run: an e2e_gro_xdp mode, or
// the shipped tagger (userspace/trace/tagger.bpf.c) as `xdpkv tag` loads it.
struct GroVariant {
  const char* name;
  uint32_t mode = E2E_GRO_NONE;
  bool tagger = false;
  bool per_packet = false;  // the tagger's --per-packet (the old default)
};

struct GroSample {
  double gbps = 0;
  double segs_per_skb = 0;
  uint64_t packets = 0, skbs = 0;
  uint64_t late = 0;          // data skbs that reached TC behind later data
  uint64_t ofo = 0;           // receiver: TcpExtTCPOFOQueue
  uint64_t sack_reorder = 0;  // sender: TcpExtTCPSACKReorder
  uint64_t retrans = 0;       // sender: Tcp RetransSegs
  uint64_t tagged = 0;        // packets that got an id
};

uint64_t counter(const net::Netns& ns, const char* file, const char* group, const char* name) {
  return must(net::net_counter(ns, file, group, name), "TCP counter");
}

// A TCP stream client -> lbin:5201 for `seconds`; returns bytes received.
uint64_t tcp_stream(net::Topology& t, double seconds) {
  auto c = must(net::tcp_connect(t.lb, t.client, t.lbin.ip4, 5201), "TCP connection");
  std::atomic<uint64_t> got{0};
  std::thread rx([&] {
    std::vector<char> buf(1 << 18);
    for (;;) {
      const ssize_t n = read(c.server.get(), buf.data(), buf.size());
      if (n <= 0) break;
      got += static_cast<uint64_t>(n);
    }
  });
  std::vector<char> chunk(1 << 16, 'x');
  const auto end = Clock::now() + std::chrono::duration<double>(seconds);
  while (Clock::now() < end)
    if (write(c.client.get(), chunk.data(), chunk.size()) < 0) break;
  shutdown(c.client.get(), SHUT_WR);
  rx.join();
  return got.load();
}

// The shipped tagger, loaded as `xdpkv tag` does (key E2E_KEY_ID, 8 bytes,
// one in 64; its own id counter: no registry, no pins).
bpf::Skeleton<xdpkv_tagger> load_tagger(bool per_packet) {
  auto t =
      must(bpf::open_skeleton(xdpkv_tagger__open, xdpkv_tagger__destroy, "xdpkv_tagger"), "open");
  t->rodata->key_packet_id = E2E_KEY_ID;
  t->rodata->key_size = 8;
  t->rodata->sample = trace::kTagDefaultSample;
  t->rodata->per_packet = per_packet;
  // As `xdpkv tag` loads it: id and origin mark in one set_many. Any nonzero
  // constant costs what the host's mark does (no pin of the host's is made).
  t->rodata->xdpkv_origin = 0x5eed0001;
  must(bpf::load_skeleton(t, xdpkv_tagger__load, "xdpkv_tagger"), "load tagger");
  return t;
}

GroSample run_gro(const GroVariant& v, double seconds) {
  auto topo = must(net::Topology::create(), "topology");
  auto skel = must(bpf::open_skeleton(xdpkv_e2e__open, xdpkv_e2e__destroy, "xdpkv_e2e"), "open");
  skel->rodata->gro_mode = v.mode;
  must(bpf::load_skeleton(skel, xdpkv_e2e__load, "xdpkv_e2e"), "load");
  bpf::Skeleton<xdpkv_tagger> tagger{nullptr, nullptr};
  if (v.tagger) tagger = load_tagger(v.per_packet);
  // GRO on the receiver (veth has it off by default; with it on, veth
  // runs its NAPI path and hands XDP_PASS frames to napi_gro_receive).
  must(topo.lb.exec({"ethtool", "-K", topo.lbin.ifname, "gro", "on"}), "ethtool -K gro on");
  const int xdp_fd = v.tagger ? bpf_program__fd(tagger->progs.xdpkv_tagger)
                              : bpf_program__fd(skel->progs.e2e_gro_xdp);
  must(attach_xdp(topo.lb, topo.lbin.ifindex, xdp_fd), "gro xdp");
  bpf::TcFilter tc;
  {
    auto scope = must(net::NsScope::enter(topo.lb), "netns");
    tc = must(bpf::TcFilter::attach(topo.lbin.ifindex, bpf_program__fd(skel->progs.e2e_gro_tc),
                                    bpf::TcHook::kIngress),
              "gro tc");
  }
  const auto t0 = Clock::now();
  const uint64_t bytes = tcp_stream(topo, seconds);
  const double secs = std::chrono::duration<double>(Clock::now() - t0).count();
  GroSample s;
  s.gbps = static_cast<double>(bytes) * 8 / secs / 1e9;
  const xdpkv_tag_stats ts =
      v.tagger ? must(trace::tag_stats(bpf_map__fd(tagger->maps.xdpkv_tag_cpu)), "tagger stats")
               : xdpkv_tag_stats{};
  s.packets = v.tagger ? ts.seen : skel->bss->counts.packets;
  s.tagged = ts.tagged;
  s.skbs = skel->bss->gro.skbs;
  s.segs_per_skb =
      s.skbs ? static_cast<double>(skel->bss->gro.segs) / static_cast<double>(s.skbs) : 0;
  s.late = skel->bss->gro.late;
  s.ofo = counter(topo.lb, "netstat", "TcpExt", "TCPOFOQueue");
  s.sack_reorder = counter(topo.client, "netstat", "TcpExt", "TCPSACKReorder");
  s.retrans = counter(topo.client, "snmp", "Tcp", "RetransSegs");
  tc.detach();
  return s;
}

struct GroRow {
  explicit GroRow(const GroVariant& variant) : v(variant) {}
  GroVariant v;
  std::vector<double> gbps, segs, late, ofo, reorder, retrans, tagged_share;
};

nlohmann::json gro_row_json(const GroRow& r, double base) {
  const Stats g = stats_of(r.gbps), s = stats_of(r.segs);
  return {{"name", r.v.name},
          {"gbps", g.median},
          {"gbps_min", g.min},
          {"gbps_max", g.max},
          {"ratio", base > 0 ? g.median / base : 0},
          {"segs_per_skb", s.median},
          {"segs_min", s.min},
          {"segs_max", s.max},
          {"late_skbs", stats_of(r.late).median},
          {"late_skbs_max", stats_of(r.late).max},
          {"rcv_ofo_queue", stats_of(r.ofo).median},
          {"snd_sack_reorder", stats_of(r.reorder).median},
          {"snd_retrans_segs", stats_of(r.retrans).median},
          {"tagged_share", stats_of(r.tagged_share).median},
          {"runs", r.gbps.size()}};
}

nlohmann::json gro_part(const Config& c) {
  std::vector<GroRow> rows;
  for (const GroVariant& v :
       {GroVariant{"no store", E2E_GRO_NONE}, GroVariant{"per-flow value only", E2E_GRO_FLOW},
        GroVariant{"per-packet id", E2E_GRO_ID},
        GroVariant{"tagger --per-packet 1/64", E2E_GRO_NONE, true, true},
        GroVariant{"tagger bursts 1/64", E2E_GRO_NONE, true, false}})
    rows.emplace_back(v);
  for (int round = 0; round < c.rounds; round++) {
    for (GroRow& r : rows) {
      const GroSample s = run_gro(r.v, c.gro_seconds);
      r.gbps.push_back(s.gbps);
      r.segs.push_back(s.segs_per_skb);
      r.late.push_back(static_cast<double>(s.late));
      r.ofo.push_back(static_cast<double>(s.ofo));
      r.reorder.push_back(static_cast<double>(s.sack_reorder));
      r.retrans.push_back(static_cast<double>(s.retrans));
      r.tagged_share.push_back(
          s.packets ? static_cast<double>(s.tagged) / static_cast<double>(s.packets) : 0);
    }
  }
  const double base = stats_of(rows[0].gbps).median;
  std::printf(
      "\n== GRO: TCP client -> veth with XDP (GRO on) -> socket, %.1f s per run, %d rounds\n"
      "   (medians; late: data skbs that reached TC behind later data; ofo: the receiver's\n"
      "   TcpExtTCPOFOQueue; reord, retr: the sender's TcpExtTCPSACKReorder, RetransSegs)\n",
      c.gro_seconds, c.rounds);
  std::printf("%-26s %8s %7s %7s %7s %6s %6s %6s %6s %7s\n", "store", "Gbit/s", "min", "max",
              "ratio", "segs", "late", "ofo", "reord", "retr");
  nlohmann::json out = nlohmann::json::array();
  for (const GroRow& r : rows) {
    const nlohmann::json j = gro_row_json(r, base);
    std::printf("%-26s %8.2f %7.2f %7.2f %7.3f %6.1f %6.0f %6.0f %6.0f %7.0f\n", r.v.name,
                j["gbps"].get<double>(), j["gbps_min"].get<double>(), j["gbps_max"].get<double>(),
                j["ratio"].get<double>(), j["segs_per_skb"].get<double>(),
                j["late_skbs"].get<double>(), j["rcv_ofo_queue"].get<double>(),
                j["snd_sack_reorder"].get<double>(), j["snd_retrans_segs"].get<double>());
    out.push_back(j);
  }
  return out;
}

std::string machine() {
  std::ifstream cpu("/proc/cpuinfo");
  std::string line, model = "unknown CPU";
  while (std::getline(cpu, line)) {
    if (line.rfind("model name", 0) == 0) {
      model = line.substr(line.find(':') + 2);
      break;
    }
  }
  utsname u{};
  uname(&u);
  return model + ", " + std::to_string(std::thread::hardware_concurrency()) + " CPUs, Linux " +
         u.release;
}

}  // namespace
}  // namespace xdpkv::bench

namespace xdpkv::bench {
namespace {

int run(int argc, char** argv) {
  Config c;
  CLI::App app{"xdpkv end-to-end benchmark (root; netns + veth)", "xdpkv_e2e"};
  app.add_option("--frames", c.frames, "frames per redirect run")
      ->check(CLI::Range(1000ull, 1ull << 31));
  app.add_option("--rounds", c.rounds, "rounds (every variant once per round)")
      ->check(CLI::Range(1, 100));
  app.add_option("--gro-seconds", c.gro_seconds, "TCP stream length per GRO run")
      ->check(CLI::Range(0.2, 60.0));
  app.add_flag("!--no-redirect", c.redirect, "skip the redirect part");
  app.add_flag("!--no-gro", c.gro, "skip the GRO part");
  app.add_flag("!--no-tracer", c.tracer, "skip the \"+ tracer attached\" row");
  app.add_flag("!--no-dpdk", c.dpdk, "skip the DPDK generator rows");
  app.add_flag("!--no-tracer-cost", c.tracer_cost, "skip the tracer's cost per event");
  app.add_flag("!--no-tagger-cost", c.tagger_cost, "skip the tagger's cost on 1 and 2 CPUs");
  app.add_option("--tagger-repeat", c.tagger_repeat, "BPF_PROG_TEST_RUN repetitions per thread")
      ->check(CLI::Range(1000u, 100'000'000u));
  app.add_option("--dpdk-frames", c.dpdk_frames, "frames per DPDK run (default --frames)");
  app.add_option("--trace-seconds", c.trace_seconds, "length of each tracer rate step")
      ->check(CLI::Range(0.1, 60.0));
  app.add_option("--trace-rates", c.trace_rates, "offered rates (pps) of the tracer steps")
      ->delimiter(',');
  app.add_option("--json", c.json, "write the figures as JSON to FILE");
  CLI11_PARSE(app, argc, argv);

  xdpkv::bpf::init_libbpf();
  xdpkv::net::catch_interrupts();
  nlohmann::json doc;
  doc["machine"] = machine();
  doc["date"] = static_cast<long long>(std::chrono::duration_cast<std::chrono::seconds>(
                                           std::chrono::system_clock::now().time_since_epoch())
                                           .count());
  doc["rounds"] = c.rounds;
  std::printf("machine: %s\n", doc["machine"].get<std::string>().c_str());
  if (c.redirect) doc["e2e"] = redirect_part(c);
  if (c.tracer_cost) doc["tracer_cost"] = tracer_cost_part(c);
  if (c.tagger_cost) doc["tagger_cost"] = tagger_cost_part(c);
  if (c.gro) doc["gro"] = gro_part(c);
  if (!c.json.empty()) {
    std::ofstream f(c.json);
    f << doc.dump(2) << "\n";
    if (!f.flush()) {
      std::fprintf(stderr, "xdpkv_e2e: cannot write %s\n", c.json.c_str());
      return 1;
    }
  }
  return 0;
}

}  // namespace
}  // namespace xdpkv::bench

// nlohmann::json and the standard library may throw (bad_alloc, a type
// error in a figure): the benchmark then says so and exits 1.
int main(int argc, char** argv) {
  try {
    return xdpkv::bench::run(argc, argv);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "xdpkv_e2e: %s\n", e.what());
    return 1;
  }
}
