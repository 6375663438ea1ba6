// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
// xdpkv demo: its command line. The demo itself is userspace/demo.
#include <string>

#include <xdpkv/demo/demo.hpp>
#include <xdpkv/features.hpp>
#include <xdpkv/netns.hpp>

#include "args.hpp"
#include "commands.hpp"

namespace xdpkv::cli {

int cmd_demo(int argc, char** argv) {
  const Command& self = *find_command("demo");
  auto app = make_app(self);
  demo::Options opt;
  bool offline = false;
  std::string gen = "dpdk";
  auto* off = app->add_flag("--offline", offline, "BPF_PROG_TEST_RUN only, no namespaces");
  add_uint(*app, "--packets", opt.packets, 1, 100000, "packets to send");
  add_uint(*app, "--show", opt.show, 1, 100000, "packets to print at every consumer")
      ->excludes(off);
  app->add_flag("--quiet", opt.quiet, "print the summary only");
  app->add_option("--gen", gen, "traffic generator")
      ->check(one_of({"dpdk", "socket"}))
      ->type_name("dpdk|socket")
      ->excludes(off);
  add_bpffs_option(*app, opt.bpffs);
  if (auto rc = parse(*app, self, argc, argv)) return *rc;
  opt.gen = gen == "socket" ? demo::Gen::socket : demo::Gen::dpdk;
  // Asked before anything is created: every path of the demo creates stores.
  if (!features::get(features::Cap::grow_meta).ok) {
    return fail(self, features::refusal(features::Cap::grow_meta, "the demo"));
  }
  // Ctrl-C only sets a flag, so every namespace, program and pin is removed.
  net::catch_interrupts();
  auto passed = offline ? demo::run_offline(opt) : demo::run_netns(opt);
  if (!passed) return fail(self, passed.error().message);
  return *passed ? kExitOk : kExitFail;
}

}  // namespace xdpkv::cli
