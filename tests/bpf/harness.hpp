// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
// Shared pieces of the BPF runtime tests: loading the test programs once,
// running one store operation through BPF_PROG_TEST_RUN, and the same
// operation on the C++ codec.
#pragma once

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <random>
#include <span>
#include <string>
#include <vector>

#include <xdpkv/bpf_util.hpp>
#include <xdpkv/codec.hpp>

#include "multi.h"
#include "ops.h"

namespace xdpkv::test {

// The outcome of one operation: return code, the caller's 16-byte buffer
// after it (get writes into it) and the metadata area after it.
struct OpOutcome {
  int64_t ret = 0;
  std::vector<uint8_t> buf;
  std::vector<uint8_t> area;
  bool operator==(const OpOutcome&) const = default;
};

// Opens and loads a test program's skeleton once per process; aborts (with the
// verifier's words) if it does not load, since every test after would fail.
template <class S>
S* load_once(S* (*open)(), void (*destroy)(S*), int (*load)(S*), const char* name) {
  static bpf::Skeleton<S> skel(nullptr, destroy);
  static std::once_flag once;
  std::call_once(once, [&] {
    bpf::init_libbpf();
    auto die = [](const std::string& why) {
      std::fprintf(stderr, "%s\n", why.c_str());
      std::abort();
    };
    auto s = bpf::open_skeleton(open, destroy, name);
    if (!s) die(s.error().message);
    if (auto l = bpf::load_skeleton(*s, load, name); !l) die(l.error().message);
    skel = std::move(*s);
  });
  return skel.get();
}

// The op-runner program (tests/progs/ops.bpf.c), loaded once per process.
int ops_prog_fd();

// Runs op on area through the BPF library; aborts the test on a syscall error.
OpOutcome run_bpf(std::span<const uint8_t> area, const xdpkv_test_op& op);
// Runs op on area with the C++ codec (Builder with the test-run capacity).
OpOutcome run_codec(std::span<const uint8_t> area, const xdpkv_test_op& op);

std::string describe(const xdpkv_test_op& op);
std::string hex(std::span<const uint8_t> b);

// Random areas and operations for the differential tests.
struct Gen {
  explicit Gen(uint64_t seed) : rng(seed) {}
  std::mt19937_64 rng;
  uint64_t u(uint64_t lo, uint64_t hi) {
    return std::uniform_int_distribution<uint64_t>(lo, hi)(rng);
  }
  bool chance(unsigned pct) { return u(0, 99) < pct; }
  std::vector<uint8_t> bytes(size_t n);
  uint64_t key();
  // A starting area: empty, valid, foreign-prefixed, dirty padding or malformed.
  std::vector<uint8_t> area(const char** kind);
  xdpkv_test_op op(bool fill);
};

// A random set_many / get_many (tests/progs/multi_run.bpf.h), its keys and
// sizes drawn as Gen::op draws them; fill: valid keys and sizes, mostly sets.
xdpkv_test_multi gen_multi(Gen& g, bool fill);
std::string describe_multi(const xdpkv_test_multi& op);

// What set_many / get_many must do (docs/API.md "Several keys"): the
// sequence of single calls on the C++ codec, and where the multi-key calls
// differ from it by design:
//  - set_many is atomic: on any error the area is unchanged;
//  - every argument and presence check comes first, -ENOSPC (the final
//    store does not fit XDPKV_META_MAX_HEADROOM) last; a key given twice is
//    -EINVAL; refused_key (>= 0: the module's key 63) is -EPERM right after
//    its own argument checks;
//  - get_many: -EINVAL if any key > 63, before the area's own errors; on
//    error the kv array is unspecified.
struct MultiOutcome {
  int64_t ret = 0;
  std::vector<xdpkv_kv> kv;  // compared only for get_many with ret >= 0
  std::vector<uint8_t> area;
};

MultiOutcome model_set_many(std::span<const uint8_t> area, const xdpkv_test_multi& op,
                            int64_t refused_key = -1);
MultiOutcome model_get_many(std::span<const uint8_t> area, const xdpkv_test_multi& op);

}  // namespace xdpkv::test
