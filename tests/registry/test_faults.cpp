// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
// Faults (issue 10): an import racing a registrant is all or nothing; a
// `key add` or `key import` killed with SIGKILL leaves the registry as it
// was before or after, never torn; the pin removed under running programs.
#include <bpf/libbpf.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstring>
#include <fstream>
#include <random>
#include <thread>

#include <xdpkv/bpf_util.hpp>

#include "reg_test.h"
#include "testdir.hpp"
#include "xdpkv_reg_test_strict.skel.h"

#ifndef XDPKV_CLI
#error "XDPKV_CLI: path of the xdpkv binary"
#endif

namespace xdpkv::test {
namespace {

std::vector<KeyAssignment> assignments(const char* prefix, int first, int n) {
  std::vector<KeyAssignment> out;
  for (int i = 0; i < n; i++) out.push_back({prefix + std::to_string(i), first + i, 2u << (i % 3)});
  return out;
}

// How many of keys the registry holds exactly (name, id, size).
int present(const Registry& reg, const std::vector<KeyAssignment>& keys) {
  int n = 0;
  for (const KeyAssignment& k : keys) {
    auto e = reg.lookup(k.name);
    if (e && e->id == k.id && e->size == k.size) n++;
  }
  return n;
}

// Issue 10 item 7: a registrant in another process takes and frees ids all
// over 0-59 while the test imports 30 keys at ids 10-39 again and again:
// every import applies all 30 or none (before: it could stop half-way).
// Both outcomes first, deterministically (an import with every id free
// applies whole; one with an id taken is refused whole); then against a
// registrant in another process, where only all-or-nothing is asserted: how
// often the registrant gets in the way is up to the scheduler (counted).
TEST(RegistryFaults, ImportIsAllOrNothingAgainstAConcurrentRegistrant) {
  TestDir d;
  Registry reg = XDPKV_ASSERT_OK(Registry::open(options(d.path())));
  const std::vector<KeyAssignment> keys = assignments("imp.", 10, 30);
  {
    auto r = import_assignments(reg, keys);
    ASSERT_TRUE(r) << r.error().message;
    EXPECT_TRUE(r->conflicts.empty());
    EXPECT_EQ(present(reg, keys), 30) << "an import with every id free applies whole";
    for (const KeyAssignment& k : keys) (void)reg.unregister(k.name);
    ASSERT_EQ(XDPKV_ASSERT_OK(reg.register_at("other", 2, 25)), 25);  // inside 10..39
    auto c = import_assignments(reg, keys);
    EXPECT_TRUE(!c || !c->conflicts.empty()) << "id 25 is taken: the import must be refused";
    EXPECT_EQ(present(reg, keys), 0) << "a refused import registers nothing";
    ASSERT_TRUE(reg.unregister("other"));
  }
  auto* stop = static_cast<std::atomic<int>*>(::mmap(nullptr, 2 * sizeof(std::atomic<int>),
                                                     PROT_READ | PROT_WRITE,
                                                     MAP_SHARED | MAP_ANONYMOUS, -1, 0));
  ASSERT_NE(stop, MAP_FAILED);
  std::atomic<int>* ready = stop + 1;
  stop->store(0);
  ready->store(0);
  pid_t pid = ::fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    auto r = Registry::open(options(d.path(), false));
    ready->store(1);
    if (!r) ::_exit(1);
    for (int round = 0; round < 1000000 && !stop->load(); round++) {
      for (int i = 0; i < 20; i++) (void)r->register_key("conc." + std::to_string(i), 2);
      for (int i = 0; i < 20; i++) (void)r->unregister("conc." + std::to_string(i));
    }
    ::_exit(0);
  }
  int applied = 0, refused = 0, partial = 0, gave_up = 0, rounds = 0;
  for (int i = 0; i < 3000 && !ready->load(); i++)
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  // Until both outcomes were seen a few times, or 3000 rounds.
  for (int round = 0; round < 3000 && (round < 200 || applied < 5 || refused < 5);
       round++, rounds++) {
    auto r = import_assignments(reg, keys);
    if (!r) {
      EXPECT_EQ(r.error().code, EAGAIN) << r.error().message;
      gave_up++;
    }
    const int n = present(reg, keys);
    if (r && r->conflicts.empty()) {
      EXPECT_EQ(n, 30) << "import reported success";
      applied++;
    } else {
      refused++;
    }
    if (n != 0 && n != 30) partial++;
    EXPECT_TRUE(n == 0 || n == 30) << "round " << round << ": " << n << " of 30 keys imported";
    for (const KeyAssignment& k : keys) (void)reg.unregister(k.name);
  }
  stop->store(1);
  int status = 0;
  ASSERT_EQ(::waitpid(pid, &status, 0), pid);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  ::munmap(stop, 2 * sizeof(std::atomic<int>));
  EXPECT_EQ(partial, 0);
  std::printf(
      "[import race] %d imports of 30 keys against a registrant: %d applied whole, %d refused "
      "whole (conflicts), %d gave up, %d partial\n",
      rounds, applied, refused, gave_up, partial);
}

// Starts `xdpkv ARGS...` with its output to /dev/null.
pid_t start_cli(const std::vector<std::string>& args) {
  pid_t pid = ::fork();
  if (pid < 0) return false;
  if (pid == 0) {
    std::vector<char*> argv{const_cast<char*>(XDPKV_CLI)};
    for (const std::string& a : args) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    int devnull = ::open("/dev/null", O_WRONLY);
    ::dup2(devnull, 1);
    ::dup2(devnull, 2);
    ::execv(XDPKV_CLI, argv.data());
    ::_exit(127);
  }
  return pid;
}

// Kills `xdpkv ARGS...` with SIGKILL after delay_us; true if the kill landed
// (the process had not exited yet).
bool run_and_kill(const std::vector<std::string>& args, int delay_us) {
  pid_t pid = start_cli(args);
  if (pid < 0) return false;
  std::this_thread::sleep_for(std::chrono::microseconds(delay_us));
  const bool killed = ::kill(pid, SIGKILL) == 0;
  int status = 0;
  ::waitpid(pid, &status, 0);
  return killed && WIFSIGNALED(status);
}

// Issue 10, faults: SIGKILL at random points of `key add` and `key import`.
// After each kill the registry opens (its whole value validates) and holds
// the key / all 40 imported keys, or nothing of them.
TEST(RegistryFaults, SigkillDuringAddAndImport) {
  TestDir d;
  Registry reg = XDPKV_ASSERT_OK(Registry::open(options(d.path())));
  ASSERT_TRUE(reg.register_key("base", 8).ok());
  const std::vector<KeyAssignment> keys = assignments("kill.", 5, 40);
  const std::string file = "/tmp/xdpkv-kill-" + std::to_string(::getpid()) + ".json";
  std::vector<RegistryEntry> fake;
  for (const KeyAssignment& k : keys) {
    RegistryEntry e;
    e.id = k.id;
    e.name = k.name;
    e.size = k.size;
    fake.push_back(e);
  }
  std::ofstream(file) << export_json(fake);
  // Kill anywhere in the second half of a run (most of a run is loading the
  // allocation programs) and a little after its usual end.
  const auto t0 = std::chrono::steady_clock::now();
  pid_t warm = start_cli({"key", "add", "warm", "2", "--bpffs", d.path()});
  int st = 0;
  ASSERT_EQ(::waitpid(warm, &st, 0), warm);
  ASSERT_TRUE(WIFEXITED(st) && WEXITSTATUS(st) == 0);
  const int run_us = static_cast<int>(
      std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() - t0)
          .count());
  std::mt19937 rng(7);
  int add_before = 0, add_after = 0, imp_before = 0, imp_after = 0, not_killed = 0;
  constexpr int kRuns = 16;
  for (int i = 0; i < kRuns; i++) {
    const int delay =
        run_us / 2 + static_cast<int>(rng() % static_cast<unsigned>(run_us * 6 / 10 + 1));
    const std::string name = "add." + std::to_string(i);
    if (!run_and_kill({"key", "add", name, "4", "--bpffs", d.path()}, delay)) not_killed++;
    Registry ro = XDPKV_ASSERT_OK(Registry::open(readonly_options(d.path())));
    auto e = ro.lookup(name);
    if (e) {
      EXPECT_EQ(e->size, 4u);
      add_after++;
    } else {
      EXPECT_EQ(e.error().code, ENOENT);
      add_before++;
    }
    if (!run_and_kill({"key", "import", file, "--bpffs", d.path()}, delay)) not_killed++;
    Registry ro2 = XDPKV_ASSERT_OK(Registry::open(readonly_options(d.path())));
    const int n = present(ro2, keys);
    EXPECT_TRUE(n == 0 || n == 40) << "kill after " << delay << " us: " << n << " of 40 keys";
    (n == 40 ? imp_after : imp_before)++;
    for (const KeyAssignment& k : keys) (void)reg.unregister(k.name);
    (void)reg.unregister(name);
  }
  ::unlink(file.c_str());
  EXPECT_TRUE(XDPKV_ASSERT_OK(reg.lookup("base")).size == 8u);
  std::printf("[sigkill] a key add takes %d us; kills at 50-110%% of that\n", run_us);
  std::printf(
      "[sigkill] %d x key add: %d killed before the registration, %d after; %d x import of 40 "
      "keys: %d before, %d after (all 40); %d runs finished before the kill; 0 torn\n",
      kRuns, add_before, add_after, kRuns, imp_before, imp_after, not_killed);
}

// Issue 10, faults: the pin removed while a strict-mode program bound to it
// runs. The program keeps the map and keeps working; a new open says that
// no registry is there.
TEST(RegistryFaults, PinRemovedWhileProgramsRun) {
  TestDir d;
  Registry reg = XDPKV_ASSERT_OK(Registry::open(options(d.path())));
  const int id = XDPKV_ASSERT_OK(reg.register_key("packet_id", 8));
  auto strict = XDPKV_ASSERT_OK(bpf::open_skeleton(
      xdpkv_reg_test_strict__open, xdpkv_reg_test_strict__destroy, "reg_test_strict"));
  ASSERT_TRUE(bind_registry(reg, strict->obj).ok());
  ASSERT_TRUE(bpf::load_skeleton(strict, xdpkv_reg_test_strict__load, "reg_test_strict").ok());
  const int fd = bpf_program__fd(strict->progs.reg_op);
  auto set = [&](uint64_t key) {
    std::vector<uint8_t> pkt(64, 0);
    reg_test_op op{key, 0x1122334455667788ull, 8, 12345};
    std::memcpy(pkt.data(), &op, sizeof(op));
    auto r = bpf::xdp_test_run(fd, {}, pkt);
    EXPECT_TRUE(r.ok()) << r.error().message;
    if (!r) return 12345;
    std::memcpy(&op, r->packet.data(), sizeof(op));
    return op.ret;
  };
  EXPECT_EQ(set(id), 0);
  EXPECT_EQ(set(id + 1), -EPERM);
  ASSERT_EQ(::unlink(d.pin().c_str()), 0);
  for (int i = 0; i < 100; i++) ASSERT_EQ(set(id), 0) << "a running program lost its registry";
  EXPECT_EQ(set(id + 1), -EPERM);
  for (bool ro : {true, false}) {
    RegistryOptions o = options(d.path(), false);
    o.readonly = ro;
    auto r = Registry::open(o);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().code, ENOENT);
    EXPECT_EQ(r.error().message, "no registry at " + d.pin() +
                                     " (nothing registered yet; 'xdpkv key add' creates it)");
  }
  // The open handle still reads the (unpinned) map the programs use.
  EXPECT_EQ(XDPKV_ASSERT_OK(reg.lookup("packet_id")).id, id);
  std::printf(
      "[pin removed] strict program kept setting key %d 100 times; new open: no registry at %s\n",
      id, d.pin().c_str());
}

}  // namespace
}  // namespace xdpkv::test
