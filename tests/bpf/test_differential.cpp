// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
// Differential test: seeded random operation sequences run by the inline BPF
// library (inside an XDP program, through BPF_PROG_TEST_RUN) and by the C++
// codec must agree on every return code, every byte of the caller's buffer
// and every byte of the resulting metadata area.
#include <gtest/gtest.h>

#include <cstdlib>
#include <map>

#include "harness.hpp"

namespace xdpkv::test {
namespace {

uint64_t env_u64(const char* name, uint64_t dflt) {
  const char* v = std::getenv(name);
  return v && *v ? std::strtoull(v, nullptr, 0) : dflt;
}

TEST(Differential, RandomSequencesBpfEqualsCodec) {
  const uint64_t seed = env_u64("XDPKV_DIFF_SEED", 0x5eed2026);
  const uint64_t sequences = env_u64("XDPKV_DIFF_SEQUENCES", 10000);
  uint64_t ops = 0, failures = 0;
  std::map<int64_t, uint64_t> rets;
  std::map<std::string, uint64_t> kinds;

  for (uint64_t s = 0; s < sequences && failures < 5; s++) {
    Gen g(seed * 1000003 + s);  // each sequence reproducible on its own
    const char* kind = "";
    std::vector<uint8_t> area = g.area(&kind);
    kinds[kind]++;
    bool fill = g.chance(15);
    unsigned n = static_cast<unsigned>(fill ? g.u(20, 48) : g.u(1, 24));
    for (unsigned i = 0; i < n; i++) {
      xdpkv_test_op op = g.op(fill);
      OpOutcome b = run_bpf(area, op);
      OpOutcome c = run_codec(area, op);
      ops++;
      rets[b.ret]++;
      if (!(b == c)) {
        failures++;
        ADD_FAILURE() << "sequence " << s << " (seed " << seed << ", start " << kind << ") op " << i
                      << ": " << describe(op) << "\n  area before: " << hex(area)
                      << "\n  bpf:   ret " << b.ret << " buf " << hex(b.buf) << " area "
                      << hex(b.area) << "\n  codec: ret " << c.ret << " buf " << hex(c.buf)
                      << " area " << hex(c.area);
        break;
      }
      area = std::move(b.area);
    }
  }
  std::printf("differential: %llu sequences, %llu operations, %llu mismatches (seed %#llx)\n",
              (unsigned long long)sequences, (unsigned long long)ops, (unsigned long long)failures,
              (unsigned long long)seed);
  std::printf("  starting areas:");
  for (auto& [k, v] : kinds) std::printf(" %s=%llu", k.c_str(), (unsigned long long)v);
  std::printf("\n  results:");
  for (auto& [k, v] : rets) {
    std::printf(" %s=%llu",
                k >= 0 ? std::to_string(k).c_str() : std::string(errno_name((int)k)).c_str(),
                (unsigned long long)v);
  }
  std::printf("\n");
  EXPECT_GE(ops, sequences);
  // Every outcome class must have been exercised, or the generator is broken.
  for (int e : {0, 2, 4, 8, -EINVAL, -ENOENT, -EEXIST, -ENOSPC, -EBADMSG})
    EXPECT_GT(rets[e], 0u) << "no operation returned " << e;
}

}  // namespace
}  // namespace xdpkv::test
