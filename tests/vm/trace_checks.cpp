// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
// The tracer (userspace/trace, `xdpkv trace --xdp-progs/--prog/--fentry`) in
// every guest kernel, where fentry/fexit are allowed (this project's host
// refuses them): fentry/fexit on XDP programs and fentry on a kernel
// function, with packets of known PACKET_IDs.
//
//  - matrix_tag on a veth (found through the device, as --xdp-progs does)
//    gives ids 5000.. to frames sent into it: each id must appear once at
//    xdp:matrix_tag/fexit with XDP_PASS, never at xdp:matrix_tag (fentry runs
//    before the store exists), and at fentry ip_route_input_noref;
//  - the TC restore program (userspace hints::Restore, by program id) on
//    the same veth's ingress sees each id at tc:xdpkv_restore (fentry) and
//    tc:xdpkv_restore/fexit (TC_ACT_UNSPEC: it passes the skb on);
//  - matrix_count (by program id) is run by BPF_PROG_TEST_RUN with a store
//    holding ids 9000..: each id must appear at its fentry (the store before
//    the program) and at its fexit.
// Prints "xdpkv-vm: trace fentry: ok (...)" or "... FAIL (...)".
#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/if_ether.h>
#include <linux/if_link.h>
#include <linux/if_packet.h>
#include <net/if.h>
#include <netinet/ip.h>
#include <netinet/udp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include <xdpkv/bpf_util.hpp>
#include <xdpkv/codec.hpp>
#include <xdpkv/hints.hpp>
#include <xdpkv/trace.hpp>

#include "guest_util.hpp"
#include "progs/matrix.h"
#include "xdpkv_vm_matrix_count.skel.h"
#include "xdpkv_vm_matrix_tag.skel.h"

namespace xdpkv::test {
namespace {

// The id of the newest loaded program called name (0: none).
uint32_t newest_prog(const char* name) {
  uint32_t id = 0, found = 0;
  while (!bpf_prog_get_next_id(id, &id)) {
    bpf::UniqueFd fd(bpf_prog_get_fd_by_id(id));
    bpf_prog_info info{};
    uint32_t len = sizeof info;
    if (fd && !bpf_obj_get_info_by_fd(fd.get(), &info, &len) && !std::strcmp(info.name, name))
      found = id;
  }
  return found;
}

TEST(M_TraceFentry, TracerOnXdpProgramsAndAKernelFunction) {
  const char *a = "xtr0", *b = "xtr1";
  ASSERT_EQ(create_veth(a, b), 0);
  struct Del {
    const char* n;
    ~Del() { std::system((std::string("/bin/ip link del ") + n + " 2>/dev/null").c_str()); }
  } del{a};
  ASSERT_EQ(link_up(a), 0);
  ASSERT_EQ(link_up(b), 0);
  const int ia = static_cast<int>(if_nametoindex(a)), ib = static_cast<int>(if_nametoindex(b));
  bpf::init_libbpf();
  auto tag = bpf::open_skeleton(xdpkv_vm_matrix_tag__open, xdpkv_vm_matrix_tag__destroy,
                                "xdpkv_vm_matrix_tag");
  ASSERT_TRUE(tag) << tag.error().message;
  (*tag)->data->next_id = 5000;
  ASSERT_TRUE(bpf::load_skeleton(*tag, xdpkv_vm_matrix_tag__load, "xdpkv_vm_matrix_tag"));
  auto count = bpf::open_skeleton(xdpkv_vm_matrix_count__open, xdpkv_vm_matrix_count__destroy,
                                  "xdpkv_vm_matrix_count");
  ASSERT_TRUE(count) << count.error().message;
  ASSERT_TRUE(bpf::load_skeleton(*count, xdpkv_vm_matrix_count__load, "xdpkv_vm_matrix_count"));
  const int tag_fd = bpf_program__fd((*tag)->progs.matrix_tag);
  const int count_fd = bpf_program__fd((*count)->progs.matrix_count);
  ASSERT_EQ(bpf_xdp_attach(ib, tag_fd, XDP_FLAGS_DRV_MODE, nullptr), 0) << strerror(errno);
  struct Detach {
    int ifindex;
    ~Detach() { bpf_xdp_detach(ifindex, XDP_FLAGS_DRV_MODE, nullptr); }
  } detach{ib};
  bpf_prog_info info{};
  uint32_t len = sizeof info;
  ASSERT_EQ(bpf_obj_get_info_by_fd(count_fd, &info, &len), 0);
  auto restore = hints::Restore::attach("", b, {});
  ASSERT_TRUE(restore) << restore.error().message;
  const uint32_t tc_id = newest_prog("xdpkv_restore");
  ASSERT_NE(tc_id, 0u);

  std::string notes;
  trace::TraceOptions opt;
  opt.key_id = MATRIX_KEY_PACKET_ID;
  // matrix_tag and matrix_count store PACKET_ID without the host's origin
  // mark, as a program of another party would: --any-origin.
  opt.any_origin = true;
  opt.xdp_ifaces = {b};
  opt.prog_ids = {info.id, tc_id};
  opt.functions = {"ip_route_input_noref"};
  opt.notice = [&](const std::string& s) { notes += s + "; "; };
  auto tr = trace::Tracer::start(opt);
  ASSERT_TRUE(tr) << tr.error().message;
  std::string pts;
  for (const auto& p : tr->points()) pts += (pts.empty() ? "" : " ") + p;

  // Traffic: n frames through the veth (skb path, veth runs XDP), m test runs.
  const unsigned n = 20, m = 10;
  const auto frame = udp_test_frame(MATRIX_UDP_PORT);
  ASSERT_EQ(send_packet_frames(ia, frame, n), 0) << strerror(errno);
  for (unsigned i = 0; i < m; i++) {
    Builder st;
    ASSERT_EQ(st.set_u64(MATRIX_KEY_PACKET_ID, 9000 + i), 0);
    auto r = bpf::xdp_test_run(count_fd, st.bytes(), frame);
    ASSERT_TRUE(r) << r.error().message;
  }
  // point -> id -> sightings (and the fexit actions).
  std::map<std::string, std::map<uint64_t, int>> seen;
  std::map<std::string, std::string> actions;
  size_t events = 0;
  for (int i = 0, quiet = 0; i < 100 && quiet < 5; i++) {
    auto got = tr->poll(50, [&](const trace::Event& e) {
      seen[e.point][e.id]++;
      if (e.reason) actions[e.point] += (actions[e.point].empty() ? "" : ",") + *e.reason;
      events++;
    });
    ASSERT_TRUE(got) << got.error().message;
    quiet = *got ? 0 : quiet + 1;
  }
  const auto st = tr->stats();
  tr->stop();

  // Each id once at the point, and no other id there.
  auto exactly = [&](const std::string& point, uint64_t first, unsigned k) {
    const auto& ids = seen[point];
    if (ids.size() != k) return false;
    for (unsigned i = 0; i < k; i++) {
      auto it = ids.find(first + i);
      if (it == ids.end() || it->second != 1) return false;
    }
    return true;
  };
  auto all_are = [&](const std::string& point, unsigned k, const char* action) {
    std::string want;
    for (unsigned i = 0; i < k; i++) want += (want.empty() ? "" : ",") + std::string(action);
    return actions[point] == want;
  };
  auto all_pass = [&](const std::string& point, unsigned k) {
    return all_are(point, k, "XDP_PASS");
  };
  const bool tag_exit = exactly("xdp:matrix_tag/fexit", 5000, n);
  const bool tag_entry_none = seen["xdp:matrix_tag"].empty();
  const bool skb_fn = exactly("ip_route_input_noref", 5000, n);
  const bool count_entry = exactly("xdp:matrix_count", 9000, m);
  const bool count_exit = exactly("xdp:matrix_count/fexit", 9000, m);
  const bool tc = exactly("tc:xdpkv_restore", 5000, n) &&
                  exactly("tc:xdpkv_restore/fexit", 5000, n) &&
                  all_are("tc:xdpkv_restore/fexit", n, "TC_ACT_UNSPEC");
  const bool ok = tr->fentry() && tag_exit && tag_entry_none && skb_fn && count_entry &&
                  count_exit && tc && all_pass("xdp:matrix_tag/fexit", n) &&
                  all_pass("xdp:matrix_count/fexit", m) && st.lost == 0 && notes.empty();
  auto c = [&](const std::string& p) { return std::to_string(seen[p].size()); };
  std::printf(
      "xdpkv-vm: trace fentry: %s (%s: tracer %s + fentry, points [%s]; %u frames tagged "
      "5000.. by matrix_tag on %s: %s ids at xdp:matrix_tag/fexit (XDP_PASS each: %s), %s at "
      "xdp:matrix_tag (fentry, before the store: 0 expected), %s at fentry ip_route_input_noref, "
      "%s at tc:xdpkv_restore and %s at its fexit (TC_ACT_UNSPEC each: %s); "
      "%u test runs of matrix_count with ids 9000..: %s at xdp:matrix_count, %s at "
      "xdp:matrix_count/fexit; %zu events, %llu lost%s%s)\n",
      ok ? "ok" : "FAIL", kernel_release().c_str(), tr->attach_kind().c_str(), pts.c_str(), n, b,
      c("xdp:matrix_tag/fexit").c_str(), all_pass("xdp:matrix_tag/fexit", n) ? "yes" : "no",
      c("xdp:matrix_tag").c_str(), c("ip_route_input_noref").c_str(), c("tc:xdpkv_restore").c_str(),
      c("tc:xdpkv_restore/fexit").c_str(),
      all_are("tc:xdpkv_restore/fexit", n, "TC_ACT_UNSPEC") ? "yes" : "no", m,
      c("xdp:matrix_count").c_str(), c("xdp:matrix_count/fexit").c_str(), events,
      static_cast<unsigned long long>(st.lost), notes.empty() ? "" : "; notes: ", notes.c_str());
  std::fflush(stdout);
  EXPECT_TRUE(ok);
  EXPECT_EQ((*tag)->bss->tagged, n);
}

}  // namespace
}  // namespace xdpkv::test
