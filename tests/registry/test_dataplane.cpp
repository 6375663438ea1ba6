// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
// The data plane side: key ids resolved by name into read-only config before
// load; strict mode (set refuses unregistered keys) and what it costs; the
// verifier cost of the allocation programs.
#include <bpf/libbpf.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cstring>

#include <xdpkv/bpf_util.hpp>
#include <xdpkv/codec.hpp>

#include "reg_test.h"
#include "testdir.hpp"
#include "xdpkv_reg_test.skel.h"
#include "xdpkv_reg_test_global.skel.h"
#include "xdpkv_reg_test_strict.skel.h"

namespace xdpkv::test {
namespace {

std::vector<uint8_t> frame() { return std::vector<uint8_t>(64, 0); }

// One set through reg_op: key, value, len from the packet; returns set's result.
int set_via(int prog_fd, uint64_t key, uint64_t val, uint32_t len,
            std::vector<uint8_t>* meta = nullptr) {
  std::vector<uint8_t> pkt = frame();
  reg_test_op op{key, val, len, 12345};
  std::memcpy(pkt.data(), &op, sizeof(op));
  auto r = bpf::xdp_test_run(prog_fd, meta ? *meta : std::vector<uint8_t>{}, pkt);
  EXPECT_TRUE(r.ok()) << r.error().message;
  if (!r) return 12345;
  EXPECT_EQ(r->retval, 2u);  // XDP_PASS
  std::memcpy(&op, r->packet.data(), sizeof(op));
  if (meta) *meta = r->meta;
  return op.ret;
}

TEST(RegistryDataplane, ResolveKeysIntoReadOnlyConfig) {
  TestDir d;
  Registry reg = XDPKV_ASSERT_OK(Registry::open(options(d.path())));
  ASSERT_EQ(XDPKV_ASSERT_OK(reg.register_key("someone.else", 2)), 0);

  auto skel = XDPKV_ASSERT_OK(
      bpf::open_skeleton(xdpkv_reg_test__open, xdpkv_reg_test__destroy, "reg_test"));
  const KeyBinding keys[] = {{"packet_id", 8, &skel->rodata->key_packet_id},
                             {"flow_hash", 4, &skel->rodata->key_flow_hash},
                             {"bench", 8, &skel->rodata->key_bench}};
  ASSERT_TRUE(resolve_keys(reg, keys).ok());
  EXPECT_EQ(skel->rodata->key_packet_id, 1u);
  EXPECT_EQ(skel->rodata->key_flow_hash, 2u);
  ASSERT_TRUE(bpf::load_skeleton(skel, xdpkv_reg_test__load, "reg_test").ok());

  auto r = XDPKV_ASSERT_OK(bpf::xdp_test_run(bpf_program__fd(skel->progs.reg_tag), {}, frame()));
  EXPECT_EQ(r.retval, 2u);
  View v(r.meta);
  ASSERT_TRUE(v.valid()) << v.problem();
  uint64_t id = 0;
  uint32_t hash = 0;
  EXPECT_EQ(v.get(1, std::span<uint8_t>(reinterpret_cast<uint8_t*>(&id), 8)), 8);
  EXPECT_EQ(v.get(2, std::span<uint8_t>(reinterpret_cast<uint8_t*>(&hash), 4)), 4);
  EXPECT_EQ(id, 0x1122334455667788ull);
  EXPECT_EQ(hash, 0xaabbccddu);
  EXPECT_EQ(v.has(0), 0);

  // Another loader resolving the same names gets the same ids (lookup only).
  uint32_t a = 99, b = 99;
  const KeyBinding again[] = {{"packet_id", 8, &a}, {"flow_hash", 4, &b}};
  Registry ro = XDPKV_ASSERT_OK(Registry::open(readonly_options(d.path())));
  ASSERT_TRUE(resolve_keys(ro, again, false).ok());
  EXPECT_EQ(a, 1u);
  EXPECT_EQ(b, 2u);
  const KeyBinding missing[] = {{"nope", 8, &a}};
  EXPECT_EQ(resolve_keys(ro, missing, false).error().code, ENOENT);
  const KeyBinding wrong[] = {{"flow_hash", 8, &a}};
  EXPECT_EQ(resolve_keys(ro, wrong, false).error().message,
            "'flow_hash' is registered with size 4 (id 2), the program uses it with size 8");
  EXPECT_EQ(resolve_keys(reg, wrong).error().message,
            "'flow_hash' is registered with size 4 (id 2), not 8");
}

TEST(RegistryDataplane, StrictSetRefusesUnregisteredKeys) {
  TestDir d;
  Registry reg = XDPKV_ASSERT_OK(Registry::open(options(d.path())));
  ASSERT_EQ(XDPKV_ASSERT_OK(reg.register_key("packet_id", 8)), 0);
  ASSERT_EQ(XDPKV_ASSERT_OK(reg.register_key("flow_hash", 4)), 1);

  auto strict = XDPKV_ASSERT_OK(bpf::open_skeleton(
      xdpkv_reg_test_strict__open, xdpkv_reg_test_strict__destroy, "reg_test_strict"));
  ASSERT_TRUE(bind_registry(reg, strict->obj).ok());
  ASSERT_TRUE(bpf::load_skeleton(strict, xdpkv_reg_test_strict__load, "reg_test_strict").ok());
  const int fd = bpf_program__fd(strict->progs.reg_op);

  std::vector<uint8_t> meta;
  EXPECT_EQ(set_via(fd, 0, 0x1111, 8, &meta), 0);  // registered, right size
  EXPECT_EQ(set_via(fd, 1, 0x2222, 4, &meta), 0);
  const std::vector<uint8_t> before = meta;
  EXPECT_EQ(set_via(fd, 5, 0x3333, 8, &meta), -EPERM);    // not registered
  EXPECT_EQ(set_via(fd, 0, 0x4444, 4, &meta), -EINVAL);   // registered with 8
  EXPECT_EQ(set_via(fd, 61, 0x5555, 2, &meta), -EPERM);   // reserved hint id
  EXPECT_EQ(set_via(fd, 64, 0x6666, 8, &meta), -EINVAL);  // the format's own check first
  EXPECT_EQ(meta, before) << "a refused set changed the area";
  // The program sees the registry live: unregister, and the key is refused.
  ASSERT_TRUE(reg.unregister("flow_hash").ok());
  EXPECT_EQ(set_via(fd, 1, 0x2222, 4, &meta), -EPERM);
  ASSERT_EQ(XDPKV_ASSERT_OK(reg.register_at("late", 2, 1)),
            1);  // freed ids are reused last: ask for it
  EXPECT_EQ(set_via(fd, 1, 0x77, 2, &meta), 0);

  // The same source without XDPKV_STRICT accepts any key.
  auto plain = XDPKV_ASSERT_OK(
      bpf::open_skeleton(xdpkv_reg_test__open, xdpkv_reg_test__destroy, "reg_test"));
  ASSERT_TRUE(bpf::load_skeleton(plain, xdpkv_reg_test__load, "reg_test").ok());
  EXPECT_EQ(set_via(bpf_program__fd(plain->progs.reg_op), 5, 0x3333, 8), 0);
  EXPECT_EQ(bind_registry(reg, plain->obj).error().code, ENOENT);

  // A strict program loaded without binding gets an empty map: fails closed.
  auto unbound = XDPKV_ASSERT_OK(bpf::open_skeleton(
      xdpkv_reg_test_strict__open, xdpkv_reg_test_strict__destroy, "reg_test_strict"));
  ASSERT_TRUE(bpf::load_skeleton(unbound, xdpkv_reg_test_strict__load, "reg_test_strict").ok());
  EXPECT_EQ(set_via(bpf_program__fd(unbound->progs.reg_op), 0, 0x1111, 8), -EPERM);

  std::printf(
      "[strict] verifier: reg_op %u insns strict, %u plain; xlated %u B strict, %u B plain\n",
      bpf::verified_insns(fd), bpf::verified_insns(bpf_program__fd(plain->progs.reg_op)),
      bpf::prog_size(fd).xlated, bpf::prog_size(bpf_program__fd(plain->progs.reg_op)).xlated);
}

// ns per run of each program over 1,000,000 repetitions: the wall clock of
// the test run (the kernel's own figure is a whole number of ns), rounds
// interleaved (A B C D, A B C D, ...) so that drift hits all alike; median.
struct Cost {
  double wall = 0;
  uint32_t kernel = 0;
};
std::vector<Cost> ns_per_op(const std::vector<int>& fds, const std::vector<uint8_t>& meta,
                            int rounds) {
  std::vector<std::vector<double>> wall(fds.size());
  std::vector<std::vector<uint32_t>> kern(fds.size());
  for (int i = 0; i < rounds; i++) {
    for (size_t p = 0; p < fds.size(); p++) {
      auto t0 = std::chrono::steady_clock::now();
      auto r = bpf::xdp_test_run(fds[p], meta, frame(), 1000000);
      auto t1 = std::chrono::steady_clock::now();
      EXPECT_TRUE(r.ok()) << r.error().message;
      if (!r) return {};
      EXPECT_EQ(r->retval, 2u) << "the measured set failed";
      EXPECT_EQ(r->meta, meta) << "the measured set changed the area's size or content";
      wall[p].push_back(std::chrono::duration<double, std::nano>(t1 - t0).count() / 1e6);
      kern[p].push_back(r->duration_ns);
    }
  }
  std::vector<Cost> out;
  for (size_t p = 0; p < fds.size(); p++) {
    std::sort(wall[p].begin(), wall[p].end());
    std::sort(kern[p].begin(), kern[p].end());
    out.push_back({wall[p][rounds / 2], kern[p][rounds / 2]});
  }
  return out;
}

// Prints the cost of strict mode on a same-size overwrite of a u64 under a
// constant key; asserts correctness only, never speed.
TEST(RegistryDataplane, StrictModeCost) {
  TestDir d;
  Registry reg = XDPKV_ASSERT_OK(Registry::open(options(d.path())));
  auto plain = XDPKV_ASSERT_OK(
      bpf::open_skeleton(xdpkv_reg_test__open, xdpkv_reg_test__destroy, "reg_test"));
  auto global = XDPKV_ASSERT_OK(bpf::open_skeleton(
      xdpkv_reg_test_global__open, xdpkv_reg_test_global__destroy, "reg_test_global"));
  auto strict = XDPKV_ASSERT_OK(bpf::open_skeleton(
      xdpkv_reg_test_strict__open, xdpkv_reg_test_strict__destroy, "reg_test_strict"));
  for (uint32_t* slot :
       {&plain->rodata->key_bench, &global->rodata->key_bench, &strict->rodata->key_bench}) {
    const KeyBinding k[] = {{"bench.packet_id", 8, slot}};
    ASSERT_TRUE(resolve_keys(reg, k).ok());
  }
  ASSERT_TRUE(bind_registry(reg, strict->obj).ok());
  ASSERT_TRUE(bpf::load_skeleton(plain, xdpkv_reg_test__load, "reg_test").ok());
  ASSERT_TRUE(bpf::load_skeleton(global, xdpkv_reg_test_global__load, "reg_test_global").ok());
  ASSERT_TRUE(bpf::load_skeleton(strict, xdpkv_reg_test_strict__load, "reg_test_strict").ok());

  // A store that holds the key: the measured set is an overwrite (size unchanged).
  auto first =
      XDPKV_ASSERT_OK(bpf::xdp_test_run(bpf_program__fd(strict->progs.reg_bench), {}, frame()));
  ASSERT_EQ(first.retval, 2u);
  const std::vector<uint8_t> meta = first.meta;
  ASSERT_EQ(meta.size(), 24u);

  const int rounds = 5;
  auto c = ns_per_op(
      {bpf_program__fd(plain->progs.reg_empty), bpf_program__fd(plain->progs.reg_bench),
       bpf_program__fd(global->progs.reg_bench), bpf_program__fd(strict->progs.reg_bench)},
      meta, rounds);
  ASSERT_EQ(c.size(), 4u);
  const double empty = c[0].wall, p = c[1].wall, g = c[2].wall, s = c[3].wall;
  const uint32_t k_empty = c[0].kernel, k_plain = c[1].kernel, k_global = c[2].kernel,
                 k_strict = c[3].kernel;
  std::printf(
      "[strict cost] set_u64 overwrite, constant key, BPF_PROG_TEST_RUN repeat=1000000, median of "
      "%d "
      "interleaved rounds, ns/op (wall; kernel's integer figure in brackets):\n"
      "[strict cost]   empty program           %6.2f [%u]\n"
      "[strict cost]   default (inline path)   %6.2f [%u]  set %5.2f over empty\n"
      "[strict cost]   global xdpkv__set only  %6.2f [%u]  set %5.2f over empty\n"
      "[strict cost]   XDPKV_STRICT            %6.2f [%u]  set %5.2f over empty: %+.2f vs default, "
      "%+.2f vs the same global path (the registry lookup)\n",
      rounds, empty, k_empty, p, k_plain, p - empty, g, k_global, g - empty, s, k_strict, s - empty,
      s - p, s - g);
}

TEST(RegistryDataplane, AllocationProgramsVerifierCost) {
  TestDir d;
  Registry reg = XDPKV_ASSERT_OK(Registry::open(options(d.path())));
  auto stats = reg.prog_stats();
  ASSERT_EQ(stats.size(), 4u);  // init, register, unregister, import
  for (auto& s : stats) {
    EXPECT_GT(s.verified_insns, 0u) << s.name;
    std::printf("[verifier] %-22s %6u insns processed, %5u B xlated\n", s.name.c_str(),
                s.verified_insns, s.xlated_bytes);
  }
}

}  // namespace
}  // namespace xdpkv::test
