// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
// xdpkv demo: its command line. The demo itself is userspace/demo.
#include <string>

#include <xdpkv/demo/demo.hpp>
#include <xdpkv/features.hpp>
#include <xdpkv/netns.hpp>

#include "args.hpp"
#include "commands.hpp"

namespace xdpkv::cli {
namespace {

struct DemoArgs {
  demo::Options opt;
  bool offline = false;
  std::string gen = "dpdk";
};

// The parser and the help's text (args.hpp).
void build(CLI::App& app, DemoArgs& a) {
  app.description(
      "usage: xdpkv demo [--packets N] [--show N] [--quiet] [--gen dpdk|socket] [--bpffs DIR]\n"
      "       xdpkv demo --offline [--packets N] [--quiet] [--bpffs DIR]\n"
      "\n"
      "Builds client -> lb -> backend on three new network namespaces joined by veth\n"
      "pairs, loads the load balancer (userspace/demo/lb.bpf.c) and sends UDP packets\n"
      "from the client to the VIP with a traffic generator, three times:\n"
      "  devmap  lb XDP tags PACKET_ID/FLOW_HASH/BACKEND_ID, IPIP-encapsulates and\n"
      "          redirects; devmap program, backend XDP (decap) and TC ingress read it\n"
      "  cpumap  the same through a cpumap entry program and the skb it builds\n"
      "  AF_XDP  the backend hands frames to an AF_XDP socket; the C++ codec reads\n"
      "          the store at data - 16\n"
      "then two sections:\n"
      "  trace   xdpkv trace follows 3 packets by PACKET_ID to the socket and one to\n"
      "          its drop (no listener), with the kernel's drop reason\n"
      "  hints   rx hash, VLAN and timestamp captured in lbin's first XDP program\n"
      "          (driver kfuncs, or software), read back after devmap and cpumap, and\n"
      "          skb->hash after cpumap with and without the TC restore\n"
      "It prints the store seen at every consumer for the first packets, then\n"
      "per-consumer counts. Key ids come from the registry by name. Everything it\n"
      "creates is removed at exit, also on Ctrl-C. Needs root.\n");
  add_uint(app, "--packets", a.opt.packets, 1, 100000, "send N UDP packets (default 300, 8 flows)");
  auto* show = add_uint(app, "--show", a.opt.show, 1, 100000,
                        "print the store at every consumer for the first N packets (default 3)");
  app.add_flag("--quiet", a.opt.quiet, "print the summary only");
  auto* gen = app.add_option("--gen", a.gen,
                             "the traffic generator: dpdk (the default: xdpkv-trafficgen, "
                             "net_af_xdp on the client's veth) or socket (plain UDP sockets)")
                  ->check(one_of({"dpdk", "socket"}))
                  ->type_name("dpdk|socket");
  add_bpffs_option(app, a.opt.bpffs,
                   "the registry to take key ids from (default: a registry of this run's own, "
                   "removed at exit)");
  auto* off = app.add_flag(
      "--offline", a.offline,
      "tag packets with userspace/demo/tag.bpf.c through BPF_PROG_TEST_RUN only (no "
      "namespaces): every third packet carries a cooperating program's 8 bytes below the "
      "store, every eighth a foreign-only area that xdpkv must refuse. Its key ids "
      "(packet_id, flow_hash, ingress) also come from the registry.");
  show->excludes(off);
  gen->excludes(off);
  app.footer(
      "Exit status: 0 every packet reached every consumer with a byte-identical store\n"
      "and the trace and hints sections passed, 1 otherwise, 2 usage error.\n");
}

}  // namespace

int cmd_demo(int argc, char** argv) {
  const Command& self = *find_command("demo");
  DemoArgs a;
  auto app = build_app(self, build, a);
  if (auto rc = parse(*app, self, argc, argv)) return *rc;
  demo::Options& opt = a.opt;
  opt.gen = a.gen == "socket" ? demo::Gen::socket : demo::Gen::dpdk;
  // Asked before anything is created: every path of the demo creates stores.
  if (!features::get(features::Cap::grow_meta).ok) {
    return fail(self, features::refusal(features::Cap::grow_meta, "the demo"));
  }
  // Ctrl-C only sets a flag, so every namespace, program and pin is removed.
  net::catch_interrupts();
  auto passed = a.offline ? demo::run_offline(opt) : demo::run_netns(opt);
  if (!passed) return fail(self, passed.error().message);
  return *passed ? kExitOk : kExitFail;
}

std::string help_demo(const Command& self) { return help_from(self, build); }

}  // namespace xdpkv::cli
