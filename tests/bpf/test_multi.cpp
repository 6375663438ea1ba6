// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
// xdpkv_set_many / xdpkv_get_many (tests/progs/multi.bpf.c) against the
// equivalent sequence of single calls on the C++ codec, on the differential
// test's random areas. Where the calls differ from the sequence by design
// (docs/API.md "Several keys"), the model says so:
//  - set_many is atomic: on any error the area is unchanged;
//  - every argument and presence check comes first, -ENOSPC (the final
//    store does not fit) last; a key given twice is -EINVAL;
//  - get_many: -EINVAL if any key > 63, before the area's own errors; on
//    error the kv array is unspecified.
#include <gtest/gtest.h>

#include <cstring>
#include <map>
#include <set>

#include "harness.hpp"
#include "multi.h"
#include "xdpkv_test_kvs.skel.h"

namespace xdpkv::test {
namespace {

struct MultiOutcome {
  int64_t ret = 0;
  std::vector<xdpkv_test_kv> kv;  // compared only for get_many with ret >= 0
  std::vector<uint8_t> area;
};

int multi_prog_fd() {
  static xdpkv_test_kvs* s = [] {
    auto* p =
        load_once(xdpkv_test_kvs__open, xdpkv_test_kvs__destroy, xdpkv_test_kvs__load, "multi");
    int fd = bpf_program__fd(p->progs.xdpkv_multi);
    std::printf("verifier: multi (8 call sites of each call) processed %u insns, jited %u B\n",
                bpf::verified_insns(fd), bpf::prog_size(fd).jited);
    return p;
  }();
  return bpf_program__fd(s->progs.xdpkv_multi);
}

MultiOutcome run_bpf_multi(std::span<const uint8_t> area, const xdpkv_test_multi& op) {
  std::vector<uint8_t> pkt(sizeof(op) + 64, 0);
  std::memcpy(pkt.data(), &op, sizeof(op));
  auto r = bpf::xdp_test_run(multi_prog_fd(), area, pkt);
  if (!r) {
    ADD_FAILURE() << "test run: " << r.error().message;
    return {};
  }
  if (r->retval != 2 /* XDP_PASS */) ADD_FAILURE() << "program returned " << r->retval;
  xdpkv_test_multi out{};
  std::memcpy(&out, r->packet.data(), sizeof(out));
  return {out.ret, {out.kv, out.kv + op.n}, std::move(r->meta)};
}

std::span<const uint8_t> val_bytes(const xdpkv_test_kv& kv) {
  return {reinterpret_cast<const uint8_t*>(&kv.val), std::min<size_t>(kv.len, 8)};
}

// Argument, repeat and presence checks of kv[from..n): the first error, else -ENOSPC.
int64_t later_checks(const View& v, const xdpkv_test_multi& op, unsigned from,
                     std::set<uint64_t>* seen) {
  for (unsigned i = from; i < op.n; i++) {
    const auto& kv = op.kv[i];
    if (xdpkv_check_set_args(kv.key, kv.len, op.flags) || seen->count(kv.key)) return -EINVAL;
    seen->insert(kv.key);
    if (int r = xdpkv_check_set_presence(v.has(kv.key) > 0 ? 1 : 0, op.flags)) return r;
  }
  return -ENOSPC;
}

// The sequence of single sets on the codec, then the differences above.
MultiOutcome model_set_many(std::span<const uint8_t> area, const xdpkv_test_multi& op) {
  MultiOutcome o{0, {op.kv, op.kv + op.n}, {area.begin(), area.end()}};
  Builder b = Builder::from(area, 4096);  // no -ENOSPC during the sequence
  std::set<uint64_t> seen;
  for (unsigned i = 0; i < op.n; i++) {
    const auto& kv = op.kv[i];
    int r = kv.len > 8 ? -EINVAL : b.set(kv.key, val_bytes(kv), op.flags);
    // A repeated key is -EINVAL where its own set would check presence.
    if (i && kv.key <= XDPKV_MAX_KEY && seen.count(kv.key) &&
        (r == 0 || r == -ENOENT || r == -EEXIST))
      r = -EINVAL;
    seen.insert(kv.key);
    if (r == -ENOSPC) {
      // Past the codec's 252 bytes: the later keys' checks still come first.
      o.ret = later_checks(View(b.bytes()), op, i + 1, &seen);
      return o;
    }
    if (r) {
      o.ret = r;
      return o;
    }
  }
  if (b.bytes().size() > XDPKV_META_MAX_HEADROOM) {
    o.ret = -ENOSPC;
    return o;
  }
  o.area.assign(b.bytes().begin(), b.bytes().end());
  return o;
}

// The sequence of single gets (8-byte buffers) on the codec.
MultiOutcome model_get_many(std::span<const uint8_t> area, const xdpkv_test_multi& op) {
  MultiOutcome o{0, {op.kv, op.kv + op.n}, {area.begin(), area.end()}};
  for (unsigned i = 0; i < op.n; i++) {
    if (op.kv[i].key > XDPKV_MAX_KEY) {
      o.ret = -EINVAL;
      return o;
    }
  }
  View v(area);
  for (auto& kv : o.kv) {
    uint64_t val = 0;
    int r = v.get(kv.key, std::span<uint8_t>(reinterpret_cast<uint8_t*>(&val), 8));
    if (r < 0 && r != -ENOENT) {
      o.ret = r;
      return o;
    }
    kv.len = r > 0 ? static_cast<uint32_t>(r) : 0;
    if (r > 0) {
      kv.val = val;
      o.ret++;
    }
  }
  return o;
}

// fill: valid keys and sizes, mostly sets (stores grow until -ENOSPC).
xdpkv_test_multi gen_multi(Gen& g, bool fill) {
  xdpkv_test_multi op{};
  op.kind = g.chance(fill ? 85 : 60) ? XDPKV_OP_SET_MANY : XDPKV_OP_GET_MANY;
  op.n = static_cast<uint32_t>(g.u(1, XDPKV_TEST_MULTI_MAX));
  // Flags, lengths and keys as the single-op generator draws them.
  xdpkv_test_op one = g.op(false);
  while (one.kind != XDPKV_OP_SET) one = g.op(false);
  op.flags = fill ? 0 : one.flags;
  bool ascending = g.chance(50);  // the one-grow path needs ascending keys
  uint64_t next = g.u(0, 20);
  for (unsigned i = 0; i < op.n; i++) {
    xdpkv_test_op k = g.op(fill);
    while (k.kind != XDPKV_OP_SET) k = g.op(fill);
    auto& kv = op.kv[i];
    kv.key = ascending && next <= 63 && g.chance(90) ? next : k.key;
    next += g.u(1, 6);
    kv.len = k.len;
    std::memcpy(&kv.val, k.val, 8);
    kv.pad = op.kind == XDPKV_OP_GET_MANY ? 0 : static_cast<uint32_t>(g.u(0, 1));
    if (op.kind == XDPKV_OP_GET_MANY) kv.val = 0xa5a5a5a5a5a5a5a5ULL;
  }
  return op;
}

std::string describe_multi(const xdpkv_test_multi& op) {
  std::string s = op.kind == XDPKV_OP_SET_MANY ? "set_many" : "get_many";
  s += "(n=" + std::to_string(op.n) + " flags=" + std::to_string(op.flags) + ":";
  for (unsigned i = 0; i < op.n; i++)
    s += " " + std::to_string(op.kv[i].key) + "/" + std::to_string(op.kv[i].len);
  return s + ")";
}

TEST(Multi, RandomCallsEqualTheSequenceOfSingleCalls) {
  const uint64_t sequences = 4000;
  std::map<int64_t, uint64_t> rets;
  uint64_t calls = 0, failures = 0;
  for (uint64_t s = 0; s < sequences && failures < 5; s++) {
    Gen g(0x6d756c7469ULL * 1000003 + s);
    const char* kind = "";
    std::vector<uint8_t> area = g.area(&kind);
    bool fill = g.chance(15);
    unsigned n = static_cast<unsigned>(fill ? g.u(10, 30) : g.u(1, 8));
    for (unsigned i = 0; i < n; i++) {
      xdpkv_test_multi op = gen_multi(g, fill);
      MultiOutcome b = run_bpf_multi(area, op);
      MultiOutcome m =
          op.kind == XDPKV_OP_SET_MANY ? model_set_many(area, op) : model_get_many(area, op);
      calls++;
      rets[b.ret]++;
      bool kv_ok = op.kind == XDPKV_OP_SET_MANY || b.ret < 0 ||
                   std::memcmp(b.kv.data(), m.kv.data(), b.kv.size() * sizeof(b.kv[0])) == 0;
      if (b.ret != m.ret || b.area != m.area || !kv_ok) {
        failures++;
        ADD_FAILURE() << "sequence " << s << " (start " << kind << ") call " << i << ": "
                      << describe_multi(op) << "\n  area before: " << hex(area) << "\n  bpf:   ret "
                      << b.ret << " area " << hex(b.area) << "\n  model: ret " << m.ret << " area "
                      << hex(m.area) << (kv_ok ? "" : "\n  kv differs");
        break;
      }
      area = std::move(b.area);
    }
  }
  std::printf("multi: %llu calls, %llu mismatches; results:", (unsigned long long)calls,
              (unsigned long long)failures);
  for (auto& [k, v] : rets) std::printf(" %lld=%llu", (long long)k, (unsigned long long)v);
  std::printf("\n");
  for (int e : {0, 1, 3, -EINVAL, -ENOENT, -EEXIST, -ENOSPC, -EBADMSG})
    EXPECT_GT(rets[e], 0u) << "no call returned " << e;
}

// The hand-off of a load balancer: a new store of 3 keys, read back at once.
TEST(Multi, HandOffCreateThenRead) {
  xdpkv_test_multi set{};
  set.kind = XDPKV_OP_SET_MANY;
  set.n = 3;
  set.kv[0] = {0, 0x0102030405060708ULL, 8, 0};
  set.kv[1] = {1, 0x11121314, 4, 0};
  set.kv[2] = {2, 0x21222324, 4, 0};
  MultiOutcome b = run_bpf_multi({}, set);
  ASSERT_EQ(b.ret, 0);
  Builder want;
  ASSERT_EQ(want.set_u64(0, 0x0102030405060708ULL), 0);
  ASSERT_EQ(want.set_u32(1, 0x11121314), 0);
  ASSERT_EQ(want.set_u32(2, 0x21222324), 0);
  EXPECT_EQ(hex(b.area), hex(want.bytes()));
  xdpkv_test_multi get{};
  get.kind = XDPKV_OP_GET_MANY;
  get.n = 4;
  get.kv[0].key = 2;
  get.kv[1].key = 0;
  get.kv[2].key = 7;  // absent
  get.kv[3].key = 1;
  MultiOutcome r = run_bpf_multi(b.area, get);
  ASSERT_EQ(r.ret, 3);
  EXPECT_EQ(r.kv[0].len, 4u);
  EXPECT_EQ(r.kv[0].val, 0x21222324u);
  EXPECT_EQ(r.kv[1].len, 8u);
  EXPECT_EQ(r.kv[1].val, 0x0102030405060708ULL);
  EXPECT_EQ(r.kv[2].len, 0u);
  EXPECT_EQ(r.kv[3].val, 0x11121314u);
  // Atomic: the second key already there with NOEXIST leaves the area as it was.
  xdpkv_test_multi again = set;
  again.flags = XDPKV_F_NOEXIST;
  again.kv[0].key = 5;
  MultiOutcome e = run_bpf_multi(b.area, again);
  EXPECT_EQ(e.ret, -EEXIST);
  EXPECT_EQ(hex(e.area), hex(b.area));
}

}  // namespace
}  // namespace xdpkv::test
