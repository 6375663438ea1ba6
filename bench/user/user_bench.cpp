// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
// xdpkv user-space benchmarks (Google Benchmark):
//   - the codec (libxdpkv_codec) as a reader of a store copied out of a
//     packet (AF_XDP, a tracer event): validate + get of one key, and
//     iterating every entry (entries(), which allocates, and for_each,
//     which does not; "per_entry" = time per entry), at 1, 2, 8, 32 and 60
//     keys; the context's "popcount" says which popcount the codec used;
//   - the registry (pinned BPF maps, allocation in a BPF_PROG_TYPE_SYSCALL
//     program under a spin lock): register + unregister and lookup by name
//     per second, against the number of concurrent registrants (threads,
//     each with its own Registry handle as separate processes would have).
// The registry lives in a directory of this run's own
// (/sys/fs/bpf/xdpkv-ubench-<pid>), removed at exit. Needs root for the
// registry part.
#include <unistd.h>

#include <benchmark/benchmark.h>
#include <algorithm>
#include <atomic>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include <xdpkv/codec.hpp>
#include <xdpkv/registry.hpp>

namespace {

// The stores xdpkv_bench uses (its key_ids() and make_store()): n key ids
// (32 + i*64/n) % 64, key 33 left absent; sizes 4,4,8,2 cycling in key order
// up to 32 keys, 2 bytes beyond (60 keys fit the headroom); key 32 (read) 4 bytes.
std::vector<uint8_t> make_store(int n) {
  std::set<unsigned> idset;
  for (int i = 0; i < n; i++) idset.insert(static_cast<unsigned>((32 + i * 64 / n) % 64));
  if (idset.erase(33)) {
    for (unsigned k = 0; k < 64; k++)
      if (k != 33 && idset.insert(k).second) break;
  }
  static constexpr unsigned kSizes[] = {4, 4, 8, 2};
  xdpkv::Builder b;
  size_t i = 0;
  for (unsigned id : idset) {
    const unsigned sz = id == 32 ? 4 : n <= 32 ? kSizes[i % 4] : 2;
    const uint64_t v = 0x1000 + id;
    const int rc = sz == 2   ? b.set_u16(id, static_cast<uint16_t>(v))
                   : sz == 4 ? b.set_u32(id, static_cast<uint32_t>(v))
                             : b.set_u64(id, v);
    if (rc) {
      std::fprintf(stderr, "user_bench: building a %d-key store: set(%u) = %d\n", n, id, rc);
      std::exit(1);
    }
    i++;
  }
  return {b.bytes().begin(), b.bytes().end()};
}

void BM_CodecGet(benchmark::State& state) {
  const auto area = make_store(static_cast<int>(state.range(0)));
  uint8_t out[8];
  for (auto _ : state) {
    xdpkv::View v(area);
    benchmark::DoNotOptimize(area.data());
    int rc = v.valid() ? v.get(32, out) : -1;
    benchmark::DoNotOptimize(rc);
    benchmark::DoNotOptimize(out);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_CodecGet)->ArgName("keys")->Arg(1)->Arg(2)->Arg(8)->Arg(32)->Arg(60);

// Times the View's construction (validation included) plus walk(v), which
// sums every value; "per_entry" is CPU time per entry (entries per iteration,
// inverted into a time).
template <class Walk>
void iterate(benchmark::State& state, Walk walk) {
  const auto area = make_store(static_cast<int>(state.range(0)));
  for (auto _ : state) {
    xdpkv::View v(area);
    benchmark::DoNotOptimize(area.data());
    uint64_t sum = walk(v);
    benchmark::DoNotOptimize(sum);
  }
  state.SetItemsProcessed(state.iterations() * state.range(0));
  state.counters["per_entry"] = benchmark::Counter(
      static_cast<double>(state.range(0)),
      benchmark::Counter::kIsIterationInvariantRate | benchmark::Counter::kInvert);
}

void BM_CodecIterate(benchmark::State& state) {
  iterate(state, [](const xdpkv::View& v) {
    uint64_t sum = 0;
    for (const xdpkv::Entry& e : v.entries()) sum += e.as_uint();
    return sum;
  });
}
BENCHMARK(BM_CodecIterate)->ArgName("keys")->Arg(1)->Arg(2)->Arg(8)->Arg(32)->Arg(60);

// The same walk without the vector: View::for_each.
void BM_CodecForEach(benchmark::State& state) {
  iterate(state, [](const xdpkv::View& v) {
    uint64_t sum = 0;
    v.for_each([&sum](const xdpkv::Entry& e) { sum += e.as_uint(); });
    return sum;
  });
}
BENCHMARK(BM_CodecForEach)->ArgName("keys")->Arg(1)->Arg(2)->Arg(8)->Arg(32)->Arg(60);

std::string g_dir;
// A registry operation failed (SkipWithError alone would still exit 0).
std::atomic<bool> g_failed{false};

void fail(benchmark::State& state, const std::string& what) {
  g_failed = true;
  std::fprintf(stderr, "user_bench: %s\n", what.c_str());
  state.SkipWithError(what.c_str());
}

xdpkv::Registry open_one() {
  xdpkv::RegistryOptions o;
  o.dir = g_dir;
  o.create = true;
  o.notice = [](const std::string&) {};
  auto r = xdpkv::Registry::open(o);
  if (!r) {
    std::fprintf(stderr, "user_bench: registry %s: %s\n", g_dir.c_str(), r.error().message.c_str());
    std::exit(1);
  }
  return std::move(*r);
}

// One handle per registrant, opened once (opening loads the registry's
// programs: far slower than what is measured, and outside it).
constexpr int kMaxThreads = 8;
std::vector<std::unique_ptr<xdpkv::Registry>> g_regs;

xdpkv::Registry& registry(int thread) { return *g_regs.at(static_cast<size_t>(thread)); }

// One registrant: register a name of its own, then unregister it (the pair
// keeps the 60 ids from running out). Threads = concurrent registrants.
void BM_RegistryRegister(benchmark::State& state) {
  auto& reg = registry(state.thread_index());
  const std::string name = "ub_t" + std::to_string(state.thread_index());
  for (auto _ : state) {
    auto id = reg.register_key(name, 4);
    if (!id) {
      fail(state, "register: " + id.error().message);
      break;
    }
    if (auto s = reg.unregister(name); !s) {
      fail(state, "unregister: " + s.error().message);
      break;
    }
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_RegistryRegister)->ThreadRange(1, kMaxThreads)->UseRealTime();

// Lookup by name (what a loader does per key), while other threads do the same.
void BM_RegistryLookup(benchmark::State& state) {
  auto& reg = registry(state.thread_index());
  const std::string name = "ub_l" + std::to_string(state.thread_index());
  if (auto id = reg.register_key(name, 8); !id) {
    fail(state, "register: " + id.error().message);
    return;
  }
  for (auto _ : state) {
    auto e = reg.lookup(name);
    if (!e) {
      fail(state, "lookup: " + e.error().message);
      break;
    }
    benchmark::DoNotOptimize(e->id);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_RegistryLookup)->ThreadRange(1, kMaxThreads)->UseRealTime();

}  // namespace

int main(int argc, char** argv) {
  g_dir = "/sys/fs/bpf/xdpkv-ubench-" + std::to_string(getpid());
  benchmark::Initialize(&argc, argv);
  benchmark::AddCustomContext("popcount", std::string(xdpkv::popcount_path()));
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  for (int i = 0; i < kMaxThreads; i++)
    g_regs.push_back(std::make_unique<xdpkv::Registry>(open_one()));
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  g_regs.clear();
  std::error_code ec;
  std::filesystem::remove_all(g_dir, ec);
  return g_failed ? 1 : 0;
}
