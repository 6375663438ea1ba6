// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
// xdpkv tag: the shipped PACKET_ID tagger (userspace/trace/tagger.bpf.c).
//   xdpkv tag IFACE [--netns NS] [--key NAME] [--bpffs DIR] [--sample N] [--filter EXPR] [--hints]
//             [--per-packet]
// One TCP burst (other packets: one packet) in 64 gets an id unless --sample
// says otherwise (trace::kTagDefaultSample).
//   xdpkv tag --detach IFACE [--netns NS] [--bpffs DIR]
//   xdpkv tag --status IFACE [--netns NS] [--bpffs DIR]
#include <cinttypes>
#include <cstdio>
#include <string>

#include <xdpkv/trace.hpp>

#include "args.hpp"

namespace xdpkv::cli {

int cmd_tag(int argc, char** argv) {
  const Command& self = *find_command("tag");
  auto app = make_app(self);
  trace::TagOptions opt;
  bool detach = false, status = false;
  app->add_option("IFACE", opt.ifname, "interface")->required()->check(non_empty());
  app->add_option("--netns", opt.netns, "network namespace ('ip netns' name)")->check(non_empty());
  app->add_option("--key", opt.key, "key name")->check(non_empty());
  add_bpffs_option(*app, opt.bpffs);
  // trace::check() says what it may be.
  add_uint(*app, "--sample", opt.sample, 0, UINT32_MAX, "tag one packet in N (default 64)");
  app->add_option("--filter", opt.filter, "which packets get an id");
  app->add_flag("--hints", opt.hints, "also store the software NIC hints");
  app->add_flag("--per-packet", opt.per_packet, "sample single TCP packets, not bursts");
  auto* d = app->add_flag("--detach", detach, "remove the tagger");
  auto* s = app->add_flag("--status", status, "print the tagger's counters");
  d->excludes(s);
  for (const char* o : {"--key", "--sample", "--filter", "--hints", "--per-packet"}) {
    app->get_option(o)->excludes(d);
    app->get_option(o)->excludes(s);
  }
  if (auto rc = parse(*app, self, argc, argv)) return *rc;
  const bool sample_given = app->get_option("--sample")->count() > 0;
  if (auto c = trace::check(opt); !c) return usage_error(self, c.error().message);

  if (detach) {
    auto r = trace::tag_detach(opt.ifname, opt.netns, opt.bpffs);
    if (!r) return fail(self, r.error().message);
    std::printf("xdpkv tag: removed the tagger (program id %u) from %s\n", r->prog_id,
                opt.ifname.c_str());
  } else if (status) {
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

}  // namespace xdpkv::cli
