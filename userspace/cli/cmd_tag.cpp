// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
// xdpkv tag: the shipped PACKET_ID tagger (userspace/trace/tagger.bpf.c):
// attach it, --detach it, or print its --status (build() below says how).
#include <cinttypes>
#include <cstdio>
#include <string>

#include <xdpkv/trace.hpp>

#include "args.hpp"

namespace xdpkv::cli {

namespace {

struct TagArgs {
  trace::TagOptions opt;
  bool detach = false, status = false;
};

// The parser and the help's text (args.hpp).
void build(CLI::App& app, TagArgs& a) {
  app.description(
      "usage: xdpkv tag IFACE [--netns NS] [--key NAME] [--bpffs DIR] [--sample N]\n"
      "                 [--filter EXPR] [--hints] [--per-packet]\n"
      "       xdpkv tag --detach IFACE [--netns NS] [--bpffs DIR]\n"
      "       xdpkv tag --status IFACE [--netns NS] [--bpffs DIR]\n"
      "\n"
      "Attaches the shipped XDP tagger (userspace/trace/tagger.bpf.c) to IFACE\n"
      "through libxdp (its multi-program dispatcher where the kernel allows freplace,\n"
      "alone otherwise; it says which). Selected packets get a PACKET_ID under a key:\n"
      "ids come from one counter per host, so they are unique and increase in the\n"
      "order packets are tagged. The tagger stays attached after this command exits\n"
      "(pinned under DIR/tag/).\n");
  trace::TagOptions& opt = a.opt;
  app.add_option("IFACE", opt.ifname, "the device whose packets get ids")
      ->required()
      ->check(non_empty());
  // trace::check() says what it may be.
  add_uint(app, "--sample", opt.sample, 0, UINT32_MAX,
           "tag one TCP burst, or one other packet, in N (default 64; --sample 1: every one)");
  app.add_flag("--per-packet", opt.per_packet,
               "sample single TCP packets too, not bursts (stops GRO)");
  app.add_option("--filter", opt.filter,
                 "which packets get an id: terms ('and' between them is optional), each one of "
                 "ip | udp | tcp | icmp | [src|dst] host A.B.C.D | [src|dst] port N; e.g. 'udp "
                 "and dst port 4789'. Default: all.")
      ->type_name("EXPR");
  app.add_flag("--hints", opt.hints,
               "also store the software NIC hints (keys 60-62; TCP bursts: hash and VLAN only, a "
               "timestamp differs per packet)");
  app.add_option("--key", opt.key,
                 "the key the ids are stored under (default packet_id, registered with 8 bytes "
                 "if absent)")
      ->check(non_empty())
      ->type_name("NAME");
  app.add_option("--netns", opt.netns, "IFACE is in that namespace ('ip netns')")
      ->check(non_empty())
      ->type_name("NS");
  add_bpffs_option(app, opt.bpffs);
  auto* d = app.add_flag("--detach", a.detach, "remove exactly the tagger this command attached");
  auto* s = app.add_flag("--status", a.status, "print the tagger's counters");
  d->excludes(s);
  for (const char* o : {"--key", "--sample", "--filter", "--hints", "--per-packet"}) {
    app.get_option(o)->excludes(d);
    app.get_option(o)->excludes(s);
  }
  app.footer(
      "TCP is tagged by burst: every packet of a sampled burst carries the burst's id,\n"
      "and a burst ends with a segment after which GRO holds nothing of the flow (PSH,\n"
      "FIN, SYN, RST, URG, no payload). A packet whose id differs from its neighbours'\n"
      "is never merged by GRO and reaches TCP behind later data; bursts keep GRO and\n"
      "the order (docs/PERFORMANCE.md has the numbers). A TCP packet is named by its\n"
      "id and sequence number (xdpkv trace's SEQ column).\n"
      "See docs/TRACE.md. Needs root.\n"
      "Exit status: 0 done, 1 failed, 2 usage error.\n");
}

}  // namespace

int cmd_tag(int argc, char** argv) {
  const Command& self = *find_command("tag");
  TagArgs a;
  auto app = build_app(self, build, a);
  trace::TagOptions& opt = a.opt;
  if (auto rc = parse(*app, self, argc, argv)) return *rc;
  const bool sample_given = app->get_option("--sample")->count() > 0;
  if (auto c = trace::check(opt); !c) return usage_error(self, c.error().message);

  if (a.detach) {
    auto r = trace::tag_detach(opt.ifname, opt.netns, opt.bpffs);
    if (!r) return fail(self, r.error().message);
    std::printf("xdpkv tag: removed the tagger (program id %u) from %s\n", r->prog_id,
                opt.ifname.c_str());
  } else if (a.status) {
    auto r = trace::tag_status(opt.ifname, opt.netns, opt.bpffs);
    if (!r) return fail(self, r.error().message);
    std::printf("xdpkv tag: %s: program id %u, seen %" PRIu64 ", matched %" PRIu64
                ", tagged %" PRIu64 ", failed %" PRIu64 "; TCP bursts %" PRIu64
                ", of them sampled %" PRIu64 "\n",
                opt.ifname.c_str(), r->prog_id, static_cast<uint64_t>(r->stats.seen),
                static_cast<uint64_t>(r->stats.matched), static_cast<uint64_t>(r->stats.tagged),
                static_cast<uint64_t>(r->stats.failed), static_cast<uint64_t>(r->stats.bursts),
                static_cast<uint64_t>(r->stats.sampled));
  } else {
    const auto f = trace::parse_filter(opt.filter);  // valid: checked above
    auto r = trace::tag_attach(opt);
    if (!r) return fail(self, r.error().message);
    std::printf(
        "xdpkv tag: tagging %s (ifindex %d) with key '%s' (id %d, %u bytes); filter '%s', "
        "one %s in %" PRIu64
        "%s%s\n"
        "xdpkv tag: program id %u attached %s\n"
        "xdpkv tag: pinned at %s; remove with: xdpkv tag --detach %s%s%s\n",
        opt.ifname.c_str(), r->ifindex, opt.key.c_str(), r->key_id, r->key_size,
        trace::filter_str(*f).c_str(),
        opt.per_packet ? "packet" : "TCP burst (other packets: one packet)", opt.sample,
        sample_given                             ? ""
        : opt.sample == trace::kTagDefaultSample ? " (the default; --sample 1 tags every packet)"
                                                 : "",
        opt.hints ? ", software hints" : "", r->prog_id, r->mode.c_str(), r->pin.c_str(),
        opt.ifname.c_str(), opt.netns.empty() ? "" : " --netns ", opt.netns.c_str());
  }
  return std::fflush(stdout) == 0 && !std::ferror(stdout) ? kExitOk : kExitFail;
}

std::string help_tag(const Command& self) { return help_from(self, build); }

}  // namespace xdpkv::cli
