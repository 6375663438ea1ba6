// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
// xdpkv trace: follow packets by a PACKET_ID in their xdpkv store
// (docs/TRACE.md). The tracer itself is userspace/trace (xdpkv::trace::Tracer).
#include <signal.h>
#include <time.h>

#include <cinttypes>
#include <csignal>
#include <cstdio>
#include <optional>
#include <string>
#include <vector>

#include <xdpkv/format.hpp>
#include <xdpkv/trace.hpp>

#include "args.hpp"

namespace xdpkv::cli {
namespace {

volatile std::sig_atomic_t g_stop = 0;
void on_stop(int) { g_stop = 1; }

uint64_t now_ns() {
  timespec t{};
  clock_gettime(CLOCK_MONOTONIC, &t);
  return uint64_t(t.tv_sec) * 1000000000ull + uint64_t(t.tv_nsec);
}

bool put_line(std::FILE* f, const std::string& s) {
  return std::fputs(s.c_str(), f) >= 0 && std::fputc('\n', f) != EOF;
}

// The command line, checked.
struct TraceArgs {
  trace::TraceOptions opt;
  std::string pcap;
  bool json = false, output_store = false;
  uint64_t max_events = 0, duration = 0;
  // As given, until parse_trace_args() puts them into opt.
  std::string value, range;
  uint64_t key_id = 0, ringbuf = trace::TraceOptions().ringbuf_bytes;
  bool no_fentry = false;
};

// The help's synopsis and description: the points and columns come from the library's lists.
const std::string& trace_synopsis() {
  static const std::string u =
      "usage: xdpkv trace [--key NAME | --key-id N] [--bpffs DIR] [--value N | --range A-B]\n"
      "                   [--netns NS] [--iface IF] [--points REGEX] [--json] [--pcap FILE]\n"
      "                   [--output-store] [--follow] [--any-origin] [--max-events N]\n"
      "                   [--duration S]\n"
      "                   [--prog ID]... [--xdp-progs IFACE]... [--fentry FUNC]...\n"
      "\n"
      "Attaches to the skb tracepoints (tp_btf, else raw tracepoints: no tracefs\n"
      "needed) and the sockets' cgroup hook, reads each skb's xdpkv store and prints\n"
      "the packets that carry the key (default packet_id, from the registry), one\n"
      "line per sighting. The xdp tracepoints (redirect, exception) are counted per\n"
      "program and device.\n"
      "  points:  " +
      wrap(trace::point_names(), ", ", 11, 11) +
      "  fentry (where the kernel allows it): " + wrap(trace::fentry_functions(), ", ", 39, 11) +
      "  columns: " + wrap(trace::text_columns(), " ", 11, 11);
  return u;
}

// Which packets, keys and points: options of the parser (build()).
void build_selection(CLI::App& app, TraceArgs& a) {
  trace::TraceOptions& opt = a.opt;
  auto* key = app.add_option("--key", opt.key, "the key that holds the id (default packet_id)")
                  ->check(non_empty())
                  ->type_name("NAME");
  // Numbers are parsed here; what they may be, trace::check() says.
  auto* kid = add_uint(app, "--key-id", a.key_id, 0, INT32_MAX, "the key by its id");
  key->excludes(kid);
  add_bpffs_option(app, opt.bpffs);
  auto* v = app.add_option("--value", a.value, "only this id")
                ->check(strict_uint(0, UINT64_MAX))
                ->type_name("N");
  auto* r = app.add_option("--range", a.range, "only the ids A to B")
                ->check(non_empty())
                ->type_name("A-B");
  v->excludes(r);
  app.add_option("--netns", opt.netns, "only skbs in that namespace")
      ->check(non_empty())
      ->type_name("NS");
  app.add_option("--iface", opt.iface, "only skbs on that device")
      ->check(non_empty())
      ->type_name("IF");
  app.add_option("--points", opt.points, "only points whose name matches")
      ->check(non_empty())
      ->type_name("REGEX");
}

// What is printed, and for how long: options of the parser (build()).
void build_output(CLI::App& app, TraceArgs& a) {
  std::string members;
  for (const std::string& m : trace::json_members()) members += m + " ";
  app.add_flag("--json", a.json, "one JSON object per line: " + members + "[store]");
  app.add_flag("--output-store", a.output_store, "also the decoded store");
  app.add_option("--pcap", a.pcap, "pcapng: one packet per event, comment = point + store")
      ->check(non_empty())
      ->type_name("FILE");
  app.add_flag("--follow", a.opt.follow,
               "keep following an skb by address after its metadata is gone, until it is "
               "freed (ID shows '*')");
  app.add_flag("--any-origin", a.opt.any_origin,
               "ids also from stores without this host's origin mark (key 59), which a "
               "writer that does not store it leaves; by default such sightings are only "
               "counted, since after a decap those bytes are outer headers");
  add_uint(app, "--max-events", a.max_events, 1, UINT64_MAX, "stop after N events");
  add_uint(app, "--duration", a.duration, 1, 86400, "stop after S seconds")->type_name("S");
  add_uint(app, "--ringbuf", a.ringbuf, 0, UINT32_MAX,
           "ring buffer size (power of 2, 4 KiB to 1 GiB, default 4 MiB)")
      ->type_name("BYTES");
}

// How it attaches: options of the parser (build()).
void build_attach(CLI::App& app, TraceArgs& a) {
  trace::TraceOptions& opt = a.opt;
  app.add_flag("--raw-tp", opt.force_raw_tp, "raw tracepoints only");
  app.add_flag("--no-fentry", a.no_fentry, "do not try fentry");
  app.add_flag("--redirects", opt.redirects,
               "count every redirect (xdp_redirect): a program per redirect, traced or not");
  add_uints(app, "--prog", opt.prog_ids, 1, UINT32_MAX,
            "fentry/fexit on that XDP or TC program: points xdp:NAME (store before it) and "
            "xdp:NAME/fexit (after it; REASON = its action), tc:NAME likewise")
      ->type_name("ID");
  app.add_option("--xdp-progs", opt.xdp_ifaces,
                 "the same on every XDP program on IFACE (in --netns)")
      ->check(non_empty())
      ->type_name("IFACE");
  app.add_option("--fentry", opt.functions,
                 "fentry on a kernel function whose first argument is a struct sk_buff *")
      ->check(non_empty())
      ->type_name("FUNC");
}

// The parser and the help's text (args.hpp).
void build(CLI::App& app, TraceArgs& a) {
  app.description(trace_synopsis());
  build_selection(app, a);
  build_output(app, a);
  build_attach(app, a);
  app.footer(
      "A kernel that refuses fentry/fexit (BPF trampolines, Linux 5.5+) is named\n"
      "and the tracepoints are traced without them.\n"
      "\n"
      "Stops at --max-events, --duration, Ctrl-C or SIGTERM, detaches everything,\n"
      "and prints event and loss counts, the xdp counters and, per id, the points\n"
      "seen in order and where the packet ended (delivered, dropped (REASON), in\n"
      "flight). See docs/TRACE.md. Needs root.\n"
      "Exit status: 0 done, 1 failed, 2 usage error.\n");
}

// Parses argv into *out; an exit status if the command ends here (--help,
// or a usage error, already printed).
std::optional<int> parse_trace_args(const Command& self, int argc, char** argv, TraceArgs* out) {
  auto app = build_app(self, build, *out);
  if (auto rc = parse(*app, self, argc, argv)) return *rc;

  trace::TraceOptions& opt = out->opt;
  if (app->count("--key-id")) opt.key_id = static_cast<int>(out->key_id);
  opt.try_fentry = !out->no_fentry;
  opt.ringbuf_bytes = static_cast<uint32_t>(out->ringbuf);
  if (!out->value.empty()) opt.value_lo = opt.value_hi = *parse_strict_uint(out->value);
  if (const std::string& range = out->range; !range.empty()) {
    const auto dash = range.find('-');
    auto lo = dash == std::string::npos ? std::nullopt : parse_strict_uint(range.substr(0, dash));
    auto hi = dash == std::string::npos ? std::nullopt : parse_strict_uint(range.substr(dash + 1));
    if (!lo || !hi) return usage_error(self, "--range takes A-B with A <= B (numbers)");
    opt.value_lo = *lo;
    opt.value_hi = *hi;
  }
  if (auto c = trace::check(opt); !c) return usage_error(self, c.error().message);
  return std::nullopt;
}

// What the event loop printed and whether every write succeeded.
struct Printed {
  uint64_t events = 0;
  trace::Summary summary;
  bool out_ok = true;  // stdout
  std::optional<Error> pcap_error;
};

// Prints events until a signal, --max-events, --duration or a failed write.
Result<Printed> print_events(trace::Tracer& tr, const TraceArgs& a, trace::PcapWriter* pw) {
  Printed p;
  if (!a.json) p.out_ok = put_line(stdout, trace::text_header());
  const uint64_t end = a.duration ? now_ns() + a.duration * 1000000000ull : 0;
  auto on_event = [&](const trace::Event& e) {
    if (a.max_events && p.events >= a.max_events) return;
    p.events++;
    p.summary.add(e);
    std::string line = a.json ? trace::format_json(e, a.output_store) : trace::format_text(e);
    if (!a.json && a.output_store) {
      const std::string s = trace::store_json(e);
      line += "\n    store " + (s.empty() ? std::string("(none)") : s);
    }
    p.out_ok = p.out_ok && put_line(stdout, line) && std::fflush(stdout) == 0;
    if (pw && !p.pcap_error)
      if (auto s = pw->write(e); !s) p.pcap_error = s.error();
  };
  while (!g_stop && p.out_ok && !p.pcap_error && !(a.max_events && p.events >= a.max_events) &&
         !(end && now_ns() >= end))
    if (auto st = tr.poll(100, on_event); !st) return st.error();
  return p;
}

// The closing report: counts, the XDP error counters, the per-packet summary.
bool print_report(std::FILE* rep, const Printed& p, const trace::TraceStats& st,
                  const std::vector<trace::XdpCount>& counts) {
  bool ok = std::fprintf(rep,
                         "\n%" PRIu64 " events printed, %" PRIu64 " submitted, %" PRIu64
                         " lost (ring buffer full)\n",
                         p.events, st.emitted, st.lost) > 0;
  if (st.foreign) {
    ok &= std::fprintf(rep,
                       "%" PRIu64
                       " sightings carried the key in a store without this host's "
                       "origin mark: not reported (outer headers after a decap, or a writer "
                       "that stores no mark: --any-origin)\n",
                       st.foreign) > 0;
  }
  for (const auto& c : counts) {
    ok &= std::fprintf(rep, "%s: prog %u, ifindex %u, %s %d: %" PRIu64 "\n", c.point.c_str(),
                       c.prog_id, c.ifindex, c.point == "xdp_exception" ? "action" : "err",
                       c.action, c.count) > 0;
  }
  for (const auto& l : p.summary.lines()) ok &= put_line(rep, l);
  return ok;
}

}  // namespace

int cmd_trace(int argc, char** argv) {
  const Command& self = *find_command("trace");
  TraceArgs a;
  if (auto rc = parse_trace_args(self, argc, argv, &a)) return *rc;

  std::optional<trace::PcapWriter> pw;
  if (!a.pcap.empty()) {
    auto w = trace::PcapWriter::open(a.pcap);
    if (!w) return fail(self, w.error().message);
    pw.emplace(std::move(*w));
  }
  // Signals only set a flag: the loop ends and the tracer detaches everything.
  // A hang-up ends it the same way; a closed stdout is a failed write (EPIPE,
  // not SIGPIPE): the loop ends, the capture is still written, exit 1.
  struct sigaction sa {};
  sa.sa_handler = on_stop;
  for (int sig : {SIGINT, SIGTERM, SIGHUP}) sigaction(sig, &sa, nullptr);
  std::signal(SIGPIPE, SIG_IGN);

  auto tr = trace::Tracer::start(a.opt);
  if (!tr) return fail(self, tr.error().message);
  std::string pts;
  for (const auto& p : tr->points()) pts += (pts.empty() ? "" : " ") + p;
  std::fprintf(stderr, "xdpkv trace: key %d, %s%s: %s\n", tr->key_id(), tr->attach_kind().c_str(),
               tr->fentry() ? " + fentry" : "", pts.c_str());
  std::fflush(stderr);

  auto printed = print_events(*tr, a, pw ? &*pw : nullptr);
  if (!printed) {
    tr->stop();
    return fail(self, printed.error().message);
  }
  const auto st = tr->stats();
  const auto counts = tr->xdp_counts();
  tr->stop();  // detach before reporting: nothing stays attached

  const bool rep_ok = print_report(a.json ? stderr : stdout, *printed, st, counts);
  std::optional<Error> werr = printed->pcap_error;
  if (pw)
    if (auto s = pw->close(); !s && !werr) werr = s.error();
  if (werr) return fail(self, werr->message);
  if (std::fflush(stdout) || std::ferror(stdout) || !printed->out_ok || !rep_ok) return kExitFail;
  return kExitOk;
}

std::string help_trace(const Command& self) { return help_from(self, build); }

}  // namespace xdpkv::cli
