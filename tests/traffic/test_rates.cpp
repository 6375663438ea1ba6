// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
// Rates of both generators into the LB example (docs/TRAFFIC.md). Not a
// correctness test and not run by ctest: run it by hand,
//   xdpkv_traffic_tests --gtest_also_run_disabled_tests --gtest_filter='*Rates*'
// Counts come from the LB's stats array only (the ring buffer is not drained).
#include <gtest/gtest.h>

#include <cstdio>
#include <thread>

#include <xdpkv/live.hpp>
#ifdef XDPKV_HAVE_TRAFFICGEN
#include <xdpkv/trafficgen.hpp>
#endif

#include <xdpkv/demo/lb.hpp>
#include "common.hpp"
#include "lb_path.hpp"

namespace xdpkv::traffic {
namespace {

using namespace test;

constexpr uint64_t kCount = 1000000;

void settle(lb::Deployment& dep, uint64_t sent) {
  for (int i = 0; i < 200 && (dep.stat(kDecap) < dep.stat(kTagged) || dep.stat(kTagged) < sent);
       i++)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
}

void report(const char* what, uint64_t sent, double pps, const lb::Deployment& dep,
            uint64_t dropped) {
  std::printf(
      "RATE %-34s sent %8llu  %9.0f pps  tagged %8llu  dropped %llu  (not_vip %llu, "
      "tag_err %llu, encap_err %llu, decap %llu)\n",
      what, static_cast<unsigned long long>(sent), pps,
      static_cast<unsigned long long>(dep.stat(kTagged)), static_cast<unsigned long long>(dropped),
      static_cast<unsigned long long>(dep.stat(kNotVip)),
      static_cast<unsigned long long>(dep.stat(kTagErr)),
      static_cast<unsigned long long>(dep.stat(kEncapErr)),
      static_cast<unsigned long long>(dep.stat(kDecap)));
}

TEST(Rates, DISABLED_IntoTheLb) {
  for (uint32_t payload : {18u, 1000u}) {
    {
      lbpath::Path path;
      ASSERT_TRUE(path.start());
      auto& topo = path.topo();
      auto& dep = path.dep();
      auto s = lb_spec(topo, Proto::udp, 8);
      s.payload_size = static_cast<uint16_t>(payload);
      auto st = send_live_frames(topo.client, topo.cli.ifindex, s, kCount);
      ASSERT_TRUE(st) << st.error().message;
      settle(dep, st->sent);
      report(("live frames, payload " + std::to_string(payload)).c_str(), st->sent, st->pps, dep,
             st->xmit_errors);
    }
#ifdef XDPKV_HAVE_TRAFFICGEN
    for (const char* driver : {"af_xdp", "af_packet"}) {
      lbpath::Path path;
      ASSERT_TRUE(path.start());
      auto& topo = path.topo();
      auto& dep = path.dep();
      auto s = lb_spec(topo, Proto::udp, 8);
      s.payload_size = static_cast<uint16_t>(payload);
      auto args = trafficgen_args("cli", s, kCount, 0);
      args.insert(args.end(), {"--driver", driver, "--no-fallback", "--quiet"});
      auto r = run_trafficgen(topo.client, args, std::chrono::seconds(120));
      ASSERT_TRUE(r) << r.error().message;
      settle(dep, r->sent - r->if_dropped);
      report(("trafficgen " + std::string(driver) + ", payload " + std::to_string(payload)).c_str(),
             r->sent, r->pps, dep, r->if_dropped);
    }
#endif
  }
}

}  // namespace
}  // namespace xdpkv::traffic
