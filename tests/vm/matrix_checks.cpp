// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
// The kernel-matrix checks, run in every guest kernel (tests/vm/run-vm.sh),
// module or not: what this host refuses but production kernels allow.
//
//  - capacity of the inline backend on this kernel (32 B before 6.8, 216 B
//    from 6.8 in a BPF_PROG_TEST_RUN with 256 B headroom);
//  - libxdp's multi-program dispatcher (freplace) on a veth: matrix_tag
//    (priority 10) stores a PACKET_ID, matrix_count (priority 20) reads it;
//    chain actions (a DROP from the first ends the chain) and detaching one
//    program (the other keeps running); the dispatcher is xdpkv's
//    (xdp/progs/xdp_dispatcher.bpf.c, linked in by dispatcher_embed.c), whose
//    slots take programs that change packet data on 6.13+ / 6.12.y;
//  - fexit on an XDP program and fentry on a kernel function (ip_route_input_noref) that
//    read the PACKET_ID from copied metadata with xdpkv_buf_get;
//  - device-bound hints (>= 6.3): a dev-bound first XDP program captures rx
//    hash, VLAN (>= 6.8) and timestamp through the bpf_xdp_metadata_rx_*
//    kfuncs, stores them, and a program behind a devmap redirect reads them;
//    through a cpumap instead, drivers/restore.bpf.c's TC program gives the
//    skb that cpumap built the captured hash (skb->hash) back.
// Prints one "xdpkv-vm: <check>: ok (...)" or "... FAIL (...)" line each.
#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <net/if.h>
#include <netinet/ip.h>
#include <netinet/udp.h>
#include <sys/socket.h>
#include <unistd.h>
#include <xdp/libxdp.h>

#include <chrono>
#include <cstdarg>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include <xdpkv/hints.h>
#include <xdpkv/bpf_util.hpp>
#include <xdpkv/tc.hpp>

#include <xdpkv/capture.h>
#include "guest_util.hpp"
#include "progs/matrix.h"
#include "xdpkv_restore.skel.h"
#include "xdpkv_vm_fill_inline.skel.h"
#include "xdpkv_vm_matrix_count.skel.h"
#include "xdpkv_vm_matrix_hints.skel.h"
#include "xdpkv_vm_matrix_tag.skel.h"
#include "xdpkv_vm_matrix_trace.skel.h"

namespace xdpkv::test {
namespace {

void line(const std::string& check, bool ok, const std::string& detail) {
  std::printf("xdpkv-vm: %s: %s (%s)\n", check.c_str(), ok ? "ok" : "FAIL", detail.c_str());
  std::fflush(stdout);
}

template <class S>
bpf::Skeleton<S> open_load(S* (*open)(), int (*load)(S*), void (*destroy)(S*), const char* name) {
  bpf::init_libbpf();
  auto s = bpf::open_skeleton(open, destroy, name);
  if (s) {
    auto l = bpf::load_skeleton(*s, load, name);
    if (l) return std::move(*s);
    ADD_FAILURE() << l.error().message;
  } else {
    ADD_FAILURE() << s.error().message;
  }
  return {nullptr, destroy};
}

// A veth pair, deleted with the test (deleting one end deletes both).
struct Veth {
  std::string a, b;
  int ia = 0, ib = 0;
  Veth(const char* x, const char* y) : a(x), b(y) {
    if (create_veth(x, y) || link_up(x) || link_up(y)) return;
    ia = static_cast<int>(if_nametoindex(x));
    ib = static_cast<int>(if_nametoindex(y));
  }
  ~Veth() {
    if (ib) bpf_xdp_detach(ib, 0, nullptr);
    std::system(("/bin/ip link del " + a + " 2>/dev/null").c_str());
  }
  explicit operator bool() const { return ia > 0 && ib > 0; }
};

// Sends n IPv4/UDP frames to MATRIX_UDP_PORT out of ifindex (AF_PACKET):
// they arrive on the peer through the skb path, where veth runs XDP.
int send_frames(int ifindex, unsigned n) {
  return send_packet_frames(ifindex, udp_test_frame(MATRIX_UDP_PORT), n);
}

// Waits until pred() holds: the frames sent pass the stack asynchronously.
// Bounded (10 s) only to end a loss; the checks after it are exact.
template <class Pred>
void wait_for(Pred pred) {
  for (int i = 0; i < 1000 && !pred(); i++)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
}

// Waits until counter reaches want.
void settle(const volatile __u64* counter, uint64_t want) {
  wait_for([&] { return *counter >= want; });
}

TEST(M_Capacity, InlinePerKernel) {
  auto in = open_load(xdpkv_vm_fill_inline__open, xdpkv_vm_fill_inline__load,
                      xdpkv_vm_fill_inline__destroy, "xdpkv_vm_fill_inline");
  ASSERT_TRUE(in);
  std::vector<uint8_t> pkt(64, 0);
  auto r = bpf::xdp_test_run(bpf_program__fd(in->progs.xdpkv_vm_fill), {}, pkt);
  ASSERT_TRUE(r) << r.error().message;
  const uint32_t m = in->bss->result_m;
  const bool ok = m == inline_meta_cap() && in->bss->result_err == -ENOSPC;
  line("inline capacity", ok,
       std::to_string(m) + " B written by the inline backend (expected " +
           std::to_string(inline_meta_cap()) + " B on " + kernel_release() + ": " +
           (kernel_at_least(6, 8) ? "6.8+ lifted the 32 B cap" : "< 6.8 caps at 32 B") +
           "), then " + std::to_string(in->bss->result_err));
  EXPECT_TRUE(ok);
}

// libxdp programs from the skeletons' embedded objects (libxdp loads them
// itself, as freplace extensions of its dispatcher).
struct XdpProg {
  bpf_object* obj = nullptr;
  xdp_program* prog = nullptr;
  XdpProg(const void* elf, size_t size, const char* name) {
    LIBBPF_OPTS(bpf_object_open_opts, oo, .object_name = name);
    obj = bpf_object__open_mem(elf, size, &oo);
    if (!obj) return;
    prog = xdp_program__from_bpf_obj(obj, nullptr);
    if (libxdp_get_error(prog)) prog = nullptr;
  }
  ~XdpProg() {
    if (prog) {
      xdp_program__close(prog);  // closes obj too
    } else if (obj) {
      bpf_object__close(obj);
    }
  }
  // The map of one of the program's global sections (".bss", ".data").
  bpf_map* section(const char* sec) const {
    bpf_map* m = nullptr;
    const size_t l = std::strlen(sec);
    bpf_object__for_each_map(m, obj) {
      const char* n = bpf_map__name(m);
      if (std::strlen(n) > l && !std::strcmp(n + std::strlen(n) - l, sec)) return m;
    }
    return nullptr;
  }
  template <class T>
  T get(const char* sec) const {
    T v{};
    uint32_t k = 0;
    if (bpf_map* m = section(sec)) bpf_map_lookup_elem(bpf_map__fd(m), &k, &v);
    return v;
  }
  template <class T>
  int set(const char* sec, const T& v) const {
    uint32_t k = 0;
    bpf_map* m = section(sec);
    return !m ? -ENOENT : bpf_map_update_elem(bpf_map__fd(m), &k, &v, 0) ? -errno : 0;
  }
};

// libxdp's and libbpf's messages (the kernel's verifier log, if it gave
// one) while libxdp loads the programs, kept for a failure report.
std::string g_libxdp_log, g_libbpf_log;
template <std::string* Log, class Level>
int keep_log(Level, const char* fmt, va_list ap) {
  char b[1024];
  std::vsnprintf(b, sizeof(b), fmt, ap);
  *Log += b;
  return 0;
}

// The dispatcher libxdp loads: xdpkv's (xdp/progs/xdp_dispatcher.bpf.c),
// linked in under libxdp.a's embedded-object symbols (dispatcher_embed.c).
extern "C" const char _binary_xdp_dispatcher_o_start[], _binary_xdp_dispatcher_o_end[];

// A kernel symbol's address from /proc/kallsyms, 0 if absent or hidden.
uint64_t kallsym(const char* name) {
  FILE* f = std::fopen("/proc/kallsyms", "r");
  if (!f) return 0;
  char line[512], sym[256], type;
  unsigned long long addr;
  uint64_t found = 0;
  while (!found && std::fgets(line, sizeof(line), f)) {
    if (std::sscanf(line, "%llx %c %255s", &addr, &type, sym) == 3 && !std::strcmp(sym, name))
      found = addr;
  }
  std::fclose(f);
  return found;
}

// Calls of the loaded program prog_fd (all its functions, as the kernel
// translated them) to bpf_xdp_adjust_tail: a root dump keeps a helper
// call's imm, the helper's offset from __bpf_call_base.
std::string adjust_tail_calls(int prog_fd, unsigned* calls) {
  *calls = 0;
  const uint64_t base = kallsym("__bpf_call_base"), fn = kallsym("bpf_xdp_adjust_tail");
  if (!base || !fn) return "no __bpf_call_base/bpf_xdp_adjust_tail in /proc/kallsyms";
  bpf_prog_info info{};
  uint32_t len = sizeof(info);
  if (bpf_obj_get_info_by_fd(prog_fd, &info, &len))
    return std::string("prog info: ") + strerror(errno);
  std::vector<bpf_insn> insns(info.xlated_prog_len / sizeof(bpf_insn));
  const uint32_t xlen = info.xlated_prog_len;
  info = {};
  info.xlated_prog_len = xlen;
  info.xlated_prog_insns = reinterpret_cast<uintptr_t>(insns.data());
  len = sizeof(info);
  if (bpf_obj_get_info_by_fd(prog_fd, &info, &len))
    return std::string("prog info: ") + strerror(errno);
  const int32_t imm = static_cast<int32_t>(fn - base);
  for (const bpf_insn& i : insns)
    if (i.code == (BPF_JMP | BPF_CALL) && i.src_reg == 0 && i.imm == imm) ++*calls;
  return "";
}

TEST(M_Dispatcher, TwoProgramsByPriority) {
  libxdp_set_print(keep_log<&g_libxdp_log, enum libxdp_print_level>);
  Veth v("xmx0", "xmx1");
  ASSERT_TRUE(v) << "veth xmx0/xmx1";
  size_t ts = 0, cs = 0;
  const void* te = xdpkv_vm_matrix_tag__elf_bytes(&ts);
  const void* ce = xdpkv_vm_matrix_count__elf_bytes(&cs);
  XdpProg tag(te, ts, "matrix_tag"), count(ce, cs, "matrix_count");
  ASSERT_TRUE(tag.prog && count.prog) << "libxdp cannot open the programs";
  xdp_program__set_run_prio(tag.prog, 10);
  xdp_program__set_run_prio(count.prog, 20);
  // Add count first: the dispatcher must order by priority, not by call order.
  xdp_program* both[2] = {count.prog, tag.prog};
  auto old_print = libbpf_set_print(keep_log<&g_libbpf_log, enum libbpf_print_level>);
  int r = xdp_program__attach_multi(both, 2, v.ib, XDP_MODE_NATIVE, 0);
  libbpf_set_print(old_print);
  if (r) {
    // Linux 6.13 (and 6.12.y stable) refuse an extension that changes packet
    // data (matrix_tag: bpf_xdp_adjust_meta) in place of a function that
    // does not: our dispatcher's slots call bpf_xdp_adjust_tail, so any
    // refusal here is a failure.
    std::string lb = g_libbpf_log.substr(g_libbpf_log.size() > 400 ? g_libbpf_log.size() - 400 : 0);
    for (char& c : lb)
      if (c == '\n') c = ' ';
    line("dispatcher", false,
         std::string("xdp_program__attach_multi: ") + strerror(-r) + "; libbpf: ..." + lb +
             "; libxdp: " + g_libxdp_log);
  }
  ASSERT_EQ(r, 0);
  xdp_multiprog* mp = xdp_multiprog__get_from_ifindex(v.ib);
  ASSERT_FALSE(libxdp_get_error(mp));
  std::string order;
  for (xdp_program* p = xdp_multiprog__next_prog(nullptr, mp); p;
       p = xdp_multiprog__next_prog(p, mp)) {
    order += std::string(order.empty() ? "" : " -> ") + xdp_program__name(p) + "(" +
             std::to_string(xdp_program__run_prio(p)) + ")";
  }
  const bool is_multi = !xdp_multiprog__is_legacy(mp);
  unsigned slot_calls = 0;
  const std::string calls_err =
      is_multi ? adjust_tail_calls(xdp_program__fd(xdp_multiprog__main_prog(mp)), &slot_calls)
               : "legacy attach: no dispatcher";
  xdp_multiprog__close(mp);
  // Each slot calls it once. Newer verifiers drop the slots that the frozen
  // num_progs_enabled makes unreachable (7.3, 6.12: one call per enabled
  // slot), 6.1 keeps all 11; libxdp 1.3.1's own dispatcher has none.
  const unsigned want_calls = 2;
  const std::string which =
      "dispatcher xdpkv xdp-dispatcher.o (" +
      std::to_string(_binary_xdp_dispatcher_o_end - _binary_xdp_dispatcher_o_start) +
      " B, embedded in place of libxdp's), loaded with " + std::to_string(slot_calls) +
      " bpf_xdp_adjust_tail calls (at least " + std::to_string(want_calls) +
      ": one per enabled slot)" + (calls_err.empty() ? "" : ": " + calls_err);
  using TB = xdpkv_vm_matrix_tag::xdpkv_vm_matrix_tag__bss;
  using TD = xdpkv_vm_matrix_tag::xdpkv_vm_matrix_tag__data;
  using CB = xdpkv_vm_matrix_count::xdpkv_vm_matrix_count__bss;
  const unsigned n = 100;

  // 1. PASS from the first: the second runs and sees its PACKET_ID.
  ASSERT_EQ(send_frames(v.ia, n), 0);
  wait_for([&] { return count.get<CB>(".bss").seen >= n; });
  TB t1 = tag.get<TB>(".bss");
  CB c1 = count.get<CB>(".bss");
  const uint64_t expect_sum = n * 1000 + n * (n - 1) / 2;  // ids 1000 .. 1000+n-1
  // 2. DROP from the first: not a chain action, so the second does not run.
  TD td = tag.get<TD>(".data");
  td.tag_action = 1;  // XDP_DROP
  ASSERT_EQ(tag.set(".data", td), 0);
  ASSERT_EQ(send_frames(v.ia, n), 0);
  // The second would run in the same dispatcher call as the first: once the
  // first has seen them all, the second has run for every one it will.
  wait_for([&] { return tag.get<TB>(".bss").tagged >= 2ull * n; });
  TB t2 = tag.get<TB>(".bss");
  CB c2 = count.get<CB>(".bss");
  // 3. Detach the first: the second keeps running, now without ids.
  r = xdp_program__detach(tag.prog, v.ib, XDP_MODE_NATIVE, 0);
  ASSERT_EQ(r, 0) << "xdp_program__detach(tag): " << strerror(-r);
  ASSERT_EQ(send_frames(v.ia, n), 0);
  wait_for([&] { return count.get<CB>(".bss").seen >= c2.seen + n; });
  TB t3 = tag.get<TB>(".bss");
  CB c3 = count.get<CB>(".bss");
  xdp_program__detach(count.prog, v.ib, XDP_MODE_NATIVE, 0);

  const bool ok = is_multi && calls_err.empty() && slot_calls >= want_calls && t1.tagged == n &&
                  c1.seen == n && c1.with_id == n && c1.id_sum == expect_sum &&
                  t2.tagged == 2ull * n && c2.seen == c1.seen && t3.tagged == t2.tagged &&
                  c3.seen == c2.seen + n && c3.without_id == n && c3.bad_id == 0;
  line("dispatcher", ok,
       std::string("libxdp ") + (is_multi ? "multi-prog" : "LEGACY single-prog") +
           " on veth: " + order + "; " + which + "; PASS: " + std::to_string(c1.with_id) + "/" +
           std::to_string(n) + " PACKET_IDs read by the second (id sum " +
           std::to_string(c1.id_sum) + ", expected " + std::to_string(expect_sum) +
           "); DROP from the first: second ran " + std::to_string(c2.seen - c1.seen) +
           " times; first detached: second ran " + std::to_string(c3.seen - c2.seen) + " times, " +
           std::to_string(c3.without_id) + " without id, first ran " +
           std::to_string(t3.tagged - t2.tagged));
  EXPECT_TRUE(ok);
}

TEST(M_Fentry, XdpProgramAndKernelFunction) {
  Veth v("xmx2", "xmx3");
  ASSERT_TRUE(v) << "veth xmx2/xmx3";
  auto tag = open_load(xdpkv_vm_matrix_tag__open, xdpkv_vm_matrix_tag__load,
                       xdpkv_vm_matrix_tag__destroy, "xdpkv_vm_matrix_tag");
  ASSERT_TRUE(tag);
  const int tag_fd = bpf_program__fd(tag->progs.matrix_tag);
  ASSERT_EQ(bpf_xdp_attach(v.ib, tag_fd, XDP_FLAGS_DRV_MODE, nullptr), 0) << strerror(errno);
  bpf::init_libbpf();
  auto tr = bpf::open_skeleton(xdpkv_vm_matrix_trace__open, xdpkv_vm_matrix_trace__destroy,
                               "xdpkv_vm_matrix_trace");
  ASSERT_TRUE(tr) << tr.error().message;
  ASSERT_EQ(bpf_program__set_attach_target((*tr)->progs.matrix_fexit_xdp, tag_fd, "matrix_tag"), 0);
  auto l = bpf::load_skeleton(*tr, xdpkv_vm_matrix_trace__load, "xdpkv_vm_matrix_trace");
  ASSERT_TRUE(l) << l.error().message;
  ASSERT_EQ(xdpkv_vm_matrix_trace__attach(tr->get()), 0)
      << "attach fexit/fentry: " << strerror(errno);
  auto* s = tr->get();
  const unsigned n = 100;
  ASSERT_EQ(send_frames(v.ia, n), 0);
  settle(&s->bss->skb_ids, n);
  const uint64_t expect_sum = n * 1000 + n * (n - 1) / 2;
  const auto* b = s->bss;
  const bool ok = tag->bss->tagged == n && b->xdp_ids == n && b->xdp_id_sum == expect_sum &&
                  b->xdp_bad == 0 && b->skb_ids == n && b->skb_id_sum == expect_sum &&
                  b->skb_bad == 0;
  line("fentry", ok,
       "fexit on XDP program matrix_tag: " + std::to_string(b->xdp_hits) + " calls, " +
           std::to_string(b->xdp_ids) + " PACKET_IDs (sum " + std::to_string(b->xdp_id_sum) +
           "); fentry on ip_route_input_noref: " + std::to_string(b->skb_ids) +
           " skbs with a PACKET_ID in their metadata (sum " + std::to_string(b->skb_id_sum) +
           ", expected " + std::to_string(expect_sum) + "), " +
           std::to_string(b->xdp_bad + b->skb_bad) + " unreadable");
  EXPECT_TRUE(ok);
}

#ifndef BPF_F_XDP_DEV_BOUND_ONLY
#define BPF_F_XDP_DEV_BOUND_ONLY (1U << 6)  // Linux 6.3 uapi; bookworm's headers are 6.1
#endif

TEST(M_DevBound, HintsAcrossDevmap) {
  if (!kernel_at_least(6, 3)) {
    std::printf(
        "xdpkv-vm: devbound hints: n/a (%s has no device-bound programs or bpf_xdp_metadata_rx_* "
        "kfuncs: 6.3+)\n",
        kernel_release().c_str());
    GTEST_SKIP();
  }
  const bool vlan = kernel_at_least(6, 8);
  Veth src("xmx4", "xmx5"), dst("xmx6", "xmx7");
  ASSERT_TRUE(src && dst) << "veth xmx4/xmx5, xmx6/xmx7";
  bpf::init_libbpf();
  auto sk = bpf::open_skeleton(xdpkv_vm_matrix_hints__open, xdpkv_vm_matrix_hints__destroy,
                               "xdpkv_vm_matrix_hints");
  ASSERT_TRUE(sk) << sk.error().message;
  auto* s = sk->get();
  s->rodata->xdpkv_hints_kfuncs =
      XDPKV_HINT_HASH | XDPKV_HINT_TIMESTAMP | (vlan ? XDPKV_HINT_VLAN : 0);
  bpf_program__set_ifindex(s->progs.matrix_capture, static_cast<uint32_t>(src.ib));
  ASSERT_EQ(bpf_program__set_flags(s->progs.matrix_capture, BPF_F_XDP_DEV_BOUND_ONLY), 0);
  auto l = bpf::load_skeleton(*sk, xdpkv_vm_matrix_hints__load, "xdpkv_vm_matrix_hints");
  ASSERT_TRUE(l) << l.error().message;
  uint32_t k = 0, port = static_cast<uint32_t>(dst.ia);
  ASSERT_EQ(bpf_map_update_elem(bpf_map__fd(s->maps.tx_port), &k, &port, 0), 0) << strerror(errno);
  ASSERT_EQ(bpf_xdp_attach(dst.ib, bpf_program__fd(s->progs.matrix_hints_read), XDP_FLAGS_DRV_MODE,
                           nullptr),
            0)
      << strerror(errno);
  ASSERT_EQ(
      bpf_xdp_attach(src.ib, bpf_program__fd(s->progs.matrix_capture), XDP_FLAGS_DRV_MODE, nullptr),
      0)
      << "dev-bound program on its device: " << strerror(errno);
  auto push = bpf::TcFilter::attach(src.ia, bpf_program__fd(s->progs.matrix_vlan_push),
                                    bpf::TcHook::kEgress);
  ASSERT_TRUE(push) << push.error().message << " (sch_ingress.ko, cls_bpf.ko loaded?)";
  const unsigned n = 100;
  ASSERT_EQ(send_frames(src.ia, n), 0);
  settle(&s->bss->rd_seen, n);
  push->detach();
  bpf::tc_destroy_clsact(src.ia);
  const auto* b = s->bss;
  const bool ok = b->pushed == n && b->cap_seen == n && b->cap_hash == n && b->rc_hash == 0 &&
                  b->cap_store_err == 0 && b->rd_seen == n && b->rd_ok == n && b->rd_bad == 0 &&
                  (!vlan || (b->cap_vlan == n && b->rc_vlan == 0 && b->rd_vlan_ok == n));
  line("devbound hints", ok,
       "dev-bound XDP on veth " + src.b + ": rx_hash " + std::to_string(b->cap_hash) + "/" +
           std::to_string(b->cap_seen) + " (rc " + std::to_string(b->rc_hash) + "), rx_vlan_tag " +
           (vlan ? std::to_string(b->cap_vlan) + "/" + std::to_string(b->pushed) + " tagged (rc " +
                       std::to_string(b->rc_vlan) + ")"
                 : std::string("n/a before 6.8")) +
           ", rx_timestamp rc " + std::to_string(b->rc_ts) +
           " (veth: 0 = no hardware stamp); after devmap -> " + dst.a + " -> XDP on " + dst.b +
           ": " + std::to_string(b->rd_ok) + "/" + std::to_string(b->rd_seen) +
           " read back the same hash" +
           (vlan ? ", " + std::to_string(b->rd_vlan_ok) + " the same VLAN" : std::string()) + ", " +
           std::to_string(b->rd_bad + b->rd_noid) + " wrong");
  EXPECT_TRUE(ok);
}

// The same capture, into a cpumap: the hints survive the cpumap redirect
// (drivers/restore.bpf.c's cpumap entry program finds them) and the TC
// restore gives the skb that cpumap built its hash back.
TEST(M_DevBound, HintsAcrossCpumapAndTcRestore) {
  if (!kernel_at_least(6, 3)) {
    std::printf(
        "xdpkv-vm: cpumap hints: n/a (%s has no device-bound programs or bpf_xdp_metadata_rx_* "
        "kfuncs: 6.3+)\n",
        kernel_release().c_str());
    GTEST_SKIP();
  }
  Veth src("xmx8", "xmx9");
  ASSERT_TRUE(src) << "veth xmx8/xmx9";
  bpf::init_libbpf();
  auto sk = bpf::open_skeleton(xdpkv_vm_matrix_hints__open, xdpkv_vm_matrix_hints__destroy,
                               "xdpkv_vm_matrix_hints");
  ASSERT_TRUE(sk) << sk.error().message;
  auto* s = sk->get();
  s->rodata->xdpkv_hints_kfuncs = XDPKV_HINT_HASH;
  bpf_program__set_ifindex(s->progs.matrix_capture, static_cast<uint32_t>(src.ib));
  ASSERT_EQ(bpf_program__set_flags(s->progs.matrix_capture, BPF_F_XDP_DEV_BOUND_ONLY), 0);
  auto l = bpf::load_skeleton(*sk, xdpkv_vm_matrix_hints__load, "xdpkv_vm_matrix_hints");
  ASSERT_TRUE(l) << l.error().message;
  auto rs =
      open_load(xdpkv_restore__open, xdpkv_restore__load, xdpkv_restore__destroy, "xdpkv_restore");
  ASSERT_TRUE(rs);
  s->bss->via_cpumap = 1;
  uint32_t k = 0;
  bpf_cpumap_val cv{};
  cv.qsize = 1024;
  cv.bpf_prog.fd = bpf_program__fd(rs->progs.xdpkv_restore_cpumap);
  ASSERT_EQ(bpf_map_update_elem(bpf_map__fd(s->maps.cpu_map), &k, &cv, 0), 0) << strerror(errno);
  // xdpkv_restore first (priority 1), then the check (2).
  auto restore = bpf::TcFilter::attach(src.ib, bpf_program__fd(rs->progs.xdpkv_restore),
                                       bpf::TcHook::kIngress, 1);
  ASSERT_TRUE(restore) << restore.error().message << " (sch_ingress.ko, cls_bpf.ko loaded?)";
  auto check = bpf::TcFilter::attach(src.ib, bpf_program__fd(s->progs.matrix_tc_restored),
                                     bpf::TcHook::kIngress, 2);
  ASSERT_TRUE(check) << check.error().message;
  ASSERT_EQ(
      bpf_xdp_attach(src.ib, bpf_program__fd(s->progs.matrix_capture), XDP_FLAGS_DRV_MODE, nullptr),
      0)
      << "dev-bound program on its device: " << strerror(errno);
  const unsigned n = 100;
  ASSERT_EQ(send_frames(src.ia, n), 0);
  settle(&s->bss->tc_seen, n);
  bpf_xdp_detach(src.ib, XDP_FLAGS_DRV_MODE, nullptr);
  check->detach();
  restore->detach();
  bpf::tc_destroy_clsact(src.ib);
  const auto* b = s->bss;
  const auto& r = rs->bss->rstats;
  const bool ok = b->cap_seen == n && b->cap_hash == n && b->rc_hash == 0 &&
                  b->cap_store_err == 0 && r.cpumap_frames == n && r.cpumap_with_hints == n &&
                  r.hash_set == n && r.refused == 0 && r.errors == 0 && b->tc_seen == n &&
                  b->tc_hint_ok == n && b->tc_hash_ok == n && b->tc_hash_zero == 0 &&
                  b->tc_noid == 0;
  line("cpumap hints", ok,
       "dev-bound XDP on veth " + src.b + ": rx_hash " + std::to_string(b->cap_hash) + "/" +
           std::to_string(b->cap_seen) +
           " -> cpumap -> xdpkv_restore_cpumap: " + std::to_string(r.cpumap_with_hints) + "/" +
           std::to_string(r.cpumap_frames) + " frames with the stored hints; TC ingress of " +
           src.b + ": xdpkv_restore set the hash of " + std::to_string(r.hash_set) +
           " skbs (refused " + std::to_string(r.refused) + ", errors " + std::to_string(r.errors) +
           "), then " + std::to_string(b->tc_hash_ok) + "/" + std::to_string(b->tc_seen) +
           " skb->hash == the captured rx hash, " + std::to_string(b->tc_hint_ok) +
           " stored hints intact, " + std::to_string(b->tc_hash_zero) + " without a hash, " +
           std::to_string(b->tc_noid) + " without a PACKET_ID");
  EXPECT_TRUE(ok);
}

}  // namespace
}  // namespace xdpkv::test

int main(int argc, char** argv) {
  testing::InitGoogleTest(&argc, argv);
  std::printf("xdpkv-vm: matrix checks on %s\n", xdpkv::test::kernel_release().c_str());
  return RUN_ALL_TESTS();
}
