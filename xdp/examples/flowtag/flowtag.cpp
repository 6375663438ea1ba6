// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
// flowtag: registers the key "flow_hash" (or finds it: the same id in every
// program on the host), loads flowtag.bpf.c with that id, attaches its XDP
// program and its TC ingress program to IFACE, prints the counters every
// second and detaches on SIGINT/SIGTERM (or after --seconds N).
//
//   usage: flowtag IFACE [--bpffs DIR] [--seconds N]
//
// Exit status: 0 detached cleanly, 1 failed, 2 usage error. Needs root.
#include <linux/types.h>
#include <net/if.h>
#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <string_view>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include <xdpkv/bpf_util.hpp>
#include <xdpkv/registry.hpp>
#include <xdpkv/tc.hpp>

#include "flowtag.h"
#include "flowtag.skel.h"

namespace {

volatile sig_atomic_t g_stop = 0;

void on_signal(int) { g_stop = 1; }

struct Options {
  std::string iface;
  std::string bpffs;  // empty: $XDPKV_BPFFS, else /sys/fs/bpf/xdpkv
  long seconds = -1;  // < 0: until a signal
};

int usage(const char* why) {
  std::fprintf(stderr, "flowtag: %s\nusage: flowtag IFACE [--bpffs DIR] [--seconds N]\n", why);
  return 2;
}

// 0 on success, else the exit status of a usage error (already reported).
int parse(int argc, char** argv, Options& o) {
  for (int i = 1; i < argc; i++) {
    const std::string_view a = argv[i];
    if ((a == "--bpffs" || a == "--seconds") && i + 1 >= argc) return usage("missing value");
    if (a == "--bpffs") {
      o.bpffs = argv[++i];
    } else if (a == "--seconds") {
      char* end = nullptr;
      errno = 0;
      o.seconds = std::strtol(argv[++i], &end, 10);
      if (errno || *end || o.seconds < 0) return usage("--seconds needs a number >= 0");
    } else if (!a.empty() && a[0] == '-') {
      return usage("unknown option");
    } else if (o.iface.empty()) {
      o.iface = a;
    } else {
      return usage("one interface only");
    }
  }
  return o.iface.empty() ? usage("no interface given") : 0;
}

int fail(const std::string& what) {
  std::fprintf(stderr, "flowtag: %s\n", what.c_str());
  return 1;
}

// Entries of the per-flow map (at most FLOWTAG_MAX_FLOWS).
unsigned count_flows(int map_fd) {
  unsigned n = 0;
  __u32 key = 0, next = 0;
  const __u32* prev = nullptr;
  while (n < FLOWTAG_MAX_FLOWS && bpf_map_get_next_key(map_fd, prev, &next) == 0) {
    key = next;
    prev = &key;
    n++;
  }
  return n;
}

void print_counters(const flowtag_counters& c, unsigned flows) {
  std::printf(
      "xdp tagged %llu failed %llu | tc seen %llu untagged %llu mismatched %llu | flows %u\n",
      static_cast<unsigned long long>(c.xdp_tagged), static_cast<unsigned long long>(c.xdp_failed),
      static_cast<unsigned long long>(c.tc_seen), static_cast<unsigned long long>(c.tc_untagged),
      static_cast<unsigned long long>(c.tc_mismatch), flows);
  std::fflush(stdout);
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  if (int rc = parse(argc, argv, o)) return rc;
  const unsigned ifindex = if_nametoindex(o.iface.c_str());
  if (!ifindex) return fail("no interface " + o.iface + ": " + std::strerror(errno));

  xdpkv::bpf::init_libbpf();
  xdpkv::RegistryOptions ro;
  ro.dir = o.bpffs;
  ro.create = true;  // and mount bpffs on /sys/fs/bpf if none is
  auto reg = xdpkv::Registry::open(ro);
  if (!reg) return fail(reg.error().message);
  auto skel = xdpkv::bpf::open_skeleton(flowtag__open, flowtag__destroy, "flowtag");
  if (!skel) return fail(skel.error().message);
  const xdpkv::KeyBinding keys[] = {
      {FLOWTAG_KEY_NAME, FLOWTAG_KEY_SIZE, &(*skel)->rodata->key_flow}};
  if (auto st = xdpkv::resolve_keys(*reg, keys); !st) return fail(st.error().message);
  if (auto st = xdpkv::bpf::load_skeleton(*skel, flowtag__load, "flowtag"); !st)
    return fail(st.error().message);

  // A BPF link: detached when destroyed, also if this process dies.
  std::unique_ptr<bpf_link, int (*)(bpf_link*)> xdp(
      bpf_program__attach_xdp((*skel)->progs.flowtag_xdp, static_cast<int>(ifindex)),
      bpf_link__destroy);
  if (!xdp) return fail("cannot attach XDP to " + o.iface + ": " + std::strerror(errno));
  // Detached when destroyed; the clsact qdisc goes too if this created it.
  auto tc = xdpkv::bpf::TcFilter::attach(static_cast<int>(ifindex),
                                         bpf_program__fd((*skel)->progs.flowtag_tc),
                                         xdpkv::bpf::TcHook::kIngress);
  if (!tc) return fail("cannot attach TC ingress to " + o.iface + ": " + tc.error().message);

  std::printf("flowtag on %s: key %s = id %u\n", o.iface.c_str(), FLOWTAG_KEY_NAME,
              (*skel)->rodata->key_flow);
  struct sigaction sa {};
  sa.sa_handler = on_signal;
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);
  const int flows_fd = bpf_map__fd((*skel)->maps.flows);
  for (long t = 0; !g_stop && (o.seconds < 0 || t < o.seconds); t++) {
    sleep(1);  // a signal ends it early
    print_counters((*skel)->bss->counters, count_flows(flows_fd));
  }
  tc->detach();
  if (tc->created_clsact()) xdpkv::bpf::tc_destroy_clsact(static_cast<int>(ifindex));
  xdp.reset();
  std::printf("flowtag: detached from %s\n", o.iface.c_str());
  return 0;
}
