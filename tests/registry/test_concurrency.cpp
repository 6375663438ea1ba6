// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
// 8 processes x 8 threads register overlapping sets of 70 distinct names at
// once. Every name gets exactly one id, no id is given twice, the names past
// the 59 assignable ids (64 minus the 5 reserved: origin mark and hints) get -ENOSPC,
// nothing is lost; the figures are printed.
#include <gtest/gtest.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <climits>
#include <cstdio>
#include <map>
#include <new>
#include <random>
#include <set>
#include <thread>

#include "testdir.hpp"

namespace xdpkv::test {
namespace {

constexpr int kProcs = 8;
constexpr int kThreads = 8;
constexpr int kNames = 70;
constexpr int kPerThread = 50;  // each thread: a shuffled subset of 50 of the 70
constexpr int kNotTried = INT_MIN;

struct Shared {
  std::atomic<int> ready;  // threads ready to start
  std::atomic<int> go;     // start flag
  int open_failed[kProcs];
  int created[kProcs];  // this process's open created (pinned) the registry
  int64_t elapsed_ns[kProcs][kThreads];
  // Result of every attempt: the id, or -errno; kNotTried if the thread had not the name.
  int result[kProcs][kThreads][kNames];
  // register_key's `created`: this attempt made the entry.
  uint8_t made[kProcs][kThreads][kNames];
};
static_assert(std::atomic<int>::is_always_lock_free);

std::string name_of(int i) {
  char b[16];
  std::snprintf(b, sizeof(b), "conc.%02d", i);
  return b;
}
uint32_t size_of(int i) { return 2u << (i % 3); }

std::vector<int> subset(int proc, int thread) {
  std::vector<int> all(kNames);
  for (int i = 0; i < kNames; i++) all[i] = i;
  std::mt19937 rng(1000 + proc * kThreads + thread);
  std::shuffle(all.begin(), all.end(), rng);
  all.resize(kPerThread);
  return all;
}

void child(const std::string& dir, int proc, Shared* sh) {
  auto reg = Registry::open(options(dir, true));
  if (!reg) {
    std::fprintf(stderr, "process %d: %s\n", proc, reg.error().message.c_str());
    sh->open_failed[proc] = 1;
    sh->ready.fetch_add(kThreads);
    ::_exit(1);
  }
  sh->created[proc] = reg->created();
  std::vector<std::thread> ts;
  for (int t = 0; t < kThreads; t++) {
    ts.emplace_back([&, t] {
      const std::vector<int> names = subset(proc, t);
      sh->ready.fetch_add(1);
      while (!sh->go.load()) {
      }
      auto t0 = std::chrono::steady_clock::now();
      for (int i : names) {
        bool made = false;
        auto r = reg->register_key(name_of(i), size_of(i), KeyScope::unset, &made);
        sh->result[proc][t][i] = r ? *r : -r.error().code;
        sh->made[proc][t][i] = made;
      }
      sh->elapsed_ns[proc][t] = std::chrono::duration_cast<std::chrono::nanoseconds>(
                                    std::chrono::steady_clock::now() - t0)
                                    .count();
    });
  }
  for (auto& t : ts) t.join();
  ::_exit(0);
}

TEST(RegistryConcurrency, EightProcessesTimesEightThreads) {
  TestDir d;
  void* mem =
      ::mmap(nullptr, sizeof(Shared), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  ASSERT_NE(mem, MAP_FAILED);
  Shared* sh = new (mem) Shared{};
  for (auto& p : sh->result) {
    for (auto& t : p)
      for (int& r : t) r = kNotTried;
  }

  // Every name is in some thread's subset, and most names in many processes.
  std::set<int> covered;
  for (int p = 0; p < kProcs; p++) {
    for (int t = 0; t < kThreads; t++)
      for (int i : subset(p, t)) covered.insert(i);
  }
  ASSERT_EQ(covered.size(), static_cast<size_t>(kNames));

  // The registry does not exist yet: the 8 processes race to create it too.
  std::vector<pid_t> pids;
  for (int p = 0; p < kProcs; p++) {
    pid_t pid = ::fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) child(d.path(), p, sh);
    pids.push_back(pid);
  }
  while (sh->ready.load() < kProcs * kThreads)
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  auto t0 = std::chrono::steady_clock::now();
  sh->go.store(1);
  for (pid_t pid : pids) {
    int status = 0;
    ASSERT_EQ(::waitpid(pid, &status, 0), pid);
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  }
  const double wall_ms =
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
  int creators = 0;
  for (int p = 0; p < kProcs; p++) {
    ASSERT_EQ(sh->open_failed[p], 0) << "process " << p;
    creators += sh->created[p];
  }
  EXPECT_EQ(creators, 1) << "processes that pinned a registry of their own";

  // Per name: all attempts agree (one id, or all -ENOSPC).
  std::map<int, int> id_of;    // name -> id
  std::map<int, int> name_at;  // id -> name
  std::set<int> enospc_names;
  long attempts = 0, enospc_attempts = 0, repeat_hits = 0, other_errors = 0;
  std::map<int, int> firsts;  // name -> attempts that got an id
  std::map<int, int> makers;  // name -> attempts told they registered it
  for (int p = 0; p < kProcs; p++) {
    for (int t = 0; t < kThreads; t++) {
      for (int i = 0; i < kNames; i++) {
        int r = sh->result[p][t][i];
        if (r == kNotTried) continue;
        attempts++;
        if (r == -ENOSPC) {
          enospc_attempts++;
          enospc_names.insert(i);
          continue;
        }
        if (r < 0) {
          other_errors++;
          ADD_FAILURE() << name_of(i) << ": error " << r << " in process " << p << " thread " << t;
          continue;
        }
        firsts[i]++;
        makers[i] += sh->made[p][t][i];
        auto [it, fresh] = id_of.emplace(i, r);
        if (!fresh) {
          repeat_hits++;
          EXPECT_EQ(it->second, r) << name_of(i) << " got two ids";
        }
      }
    }
  }
  for (auto& [n, id] : id_of) {
    EXPECT_EQ(makers[n], 1) << name_of(n) << ": attempts told they registered it";
    auto [it, fresh] = name_at.emplace(id, n);
    EXPECT_TRUE(fresh) << "id " << id << " given to " << name_of(it->second) << " and "
                       << name_of(n);
    EXPECT_LT(id, XDPKV_RESERVED_FIRST) << "reserved id handed out";
    EXPECT_EQ(enospc_names.count(n), 0u) << name_of(n) << " got both an id and -ENOSPC";
  }
  EXPECT_EQ(other_errors, 0);
  EXPECT_EQ(id_of.size(), static_cast<size_t>(XDPKV_ASSIGNABLE));
  EXPECT_EQ(enospc_names.size(), static_cast<size_t>(kNames - XDPKV_ASSIGNABLE));
  EXPECT_EQ(id_of.size() + enospc_names.size(), static_cast<size_t>(kNames));

  // Nothing lost: the registry holds exactly what the registrants were told.
  Registry reg = XDPKV_ASSERT_OK(Registry::open(readonly_options(d.path())));
  auto l = XDPKV_ASSERT_OK(reg.list());
  ASSERT_EQ(l.size(), id_of.size());
  for (const RegistryEntry& e : l) {
    auto it = name_at.find(e.id);
    ASSERT_NE(it, name_at.end()) << "id " << e.id << " in the registry was given to nobody";
    EXPECT_EQ(e.name, name_of(it->second));
    EXPECT_EQ(e.size, size_of(it->second));
  }
  auto raw = XDPKV_ASSERT_OK(reg.read_raw());
  EXPECT_EQ(raw.used, (1ull << XDPKV_ASSIGNABLE) - 1);
  // One state change per id handed out (plus the initialisation).
  EXPECT_EQ(raw.generation, 1u + XDPKV_ASSIGNABLE);

  int64_t max_thread_ns = 0, sum_thread_ns = 0;
  for (auto& p : sh->elapsed_ns) {
    for (int64_t ns : p) {
      max_thread_ns = std::max(max_thread_ns, ns);
      sum_thread_ns += ns;
    }
  }
  std::string enospc_list;
  for (int n : enospc_names) enospc_list += (enospc_list.empty() ? "" : " ") + name_of(n);
  std::printf(
      "[concurrency] %d processes x %d threads, %d distinct names (each thread: %d of them, "
      "shuffled); all 8 raced to create the registry: %d pinned it, the others opened theirs\n"
      "[concurrency] %ld register calls, %.1f ms from the start signal to the last exit (slowest "
      "thread %.1f ms, mean %.0f us/call "
      "per thread): %zu names got an id (ids 0-%d, each exactly once, %ld repeat calls answered "
      "idempotently), %zu names got -ENOSPC (%ld calls), 0 other errors\n"
      "[concurrency] the 60th distinct name (64 ids minus 5 reserved = 59 assignable) "
      "and every later one got -ENOSPC: %s\n"
      "[concurrency] final list: %zu entries, used mask %#llx, generation %llu: nothing lost\n",
      kProcs, kThreads, kNames, kPerThread, creators, attempts, wall_ms, max_thread_ns / 1e6,
      sum_thread_ns / 1e3 / attempts, id_of.size(), XDPKV_ASSIGNABLE - 1, repeat_hits,
      enospc_names.size(), enospc_attempts, enospc_list.c_str(), l.size(),
      (unsigned long long)raw.used, (unsigned long long)raw.generation);
  ::munmap(mem, sizeof(Shared));
}

}  // namespace
}  // namespace xdpkv::test
