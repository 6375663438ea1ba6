// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
// xdpkv_set_many / xdpkv_get_many (tests/progs/multi.bpf.c) against the
// equivalent sequence of single calls on the C++ codec, on the differential
// test's random areas, with the model of harness.hpp (model_set_many,
// model_get_many: where the calls differ from the sequence by design).
#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <map>
#include <set>

#include "harness.hpp"
#include "multi.h"
#include "xdpkv_test_kvs.skel.h"
#include "xdpkv_test_kvs_fast.skel.h"

namespace xdpkv::test {
namespace {

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

MultiOutcome run_bpf_multi(std::span<const uint8_t> area, const xdpkv_test_multi& op,
                           int fd = multi_prog_fd()) {
  std::vector<uint8_t> pkt(sizeof(op) + 64, 0);
  std::memcpy(pkt.data(), &op, sizeof(op));
  auto r = bpf::xdp_test_run(fd, area, pkt);
  if (!r) {
    ADD_FAILURE() << "test run: " << r.error().message;
    return {};
  }
  if (r->retval != 2 /* XDP_PASS */) ADD_FAILURE() << "program returned " << r->retval;
  xdpkv_test_multi out{};
  std::memcpy(&out, r->packet.data(), sizeof(out));
  return {out.ret, {out.kv, out.kv + op.n}, std::move(r->meta)};
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

// The two shapes with paths of their own (xdpkv.bpf.h "new store", "the
// hand-off's shape"), drawn on purpose: random tests rarely hit them. A new
// store: an empty area, keys ascending, values with bytes set above their
// length. A dense read and a same-size overwrite: the store's lowest keys
// ascending, with and without keys above them, on whole, cut-short and
// foreign-prefixed areas.
TEST(Multi, NewStoresAndDenseReadsAndOverwritesEqualTheSingleCalls) {
  uint64_t creates = 0, reads = 0, overwrites = 0, failures = 0, bad = 0;
  for (uint64_t s = 0; s < 3000 && failures < 5; s++) {
    Gen g(0x64656e7365ULL * 1000003 + s);
    xdpkv_test_multi set{};
    set.kind = XDPKV_OP_SET_MANY;
    set.n = static_cast<uint32_t>(g.u(1, XDPKV_MANY_MAX));
    set.flags = g.chance(20) ? XDPKV_F_NOEXIST : g.chance(5) ? XDPKV_F_EXIST : 0;
    uint64_t key = g.u(0, 10);
    for (unsigned i = 0; i < set.n; i++) {
      auto& kv = set.kv[i];
      kv.key = g.chance(97) ? key : g.u(0, 70);  // now and then out of order or out of range
      key += g.u(1, 7);
      static constexpr uint32_t kLens[] = {2, 4, 8, 2, 4, 8, 2, 4, 8, 3};
      kv.len = kLens[g.u(0, 9)];
      kv.val = g.u(0, ~0ULL);  // bytes above len set: never stored
    }
    MultiOutcome b = run_bpf_multi({}, set), m = model_set_many({}, set);
    creates++;
    if (b.ret != m.ret || b.area != m.area) {
      failures++;
      ADD_FAILURE() << "new store: " << describe_multi(set) << "\n  bpf:   ret " << b.ret
                    << " area " << hex(b.area) << "\n  model: ret " << m.ret << " area "
                    << hex(m.area);
      continue;
    }
    if (b.ret || b.area.empty()) continue;
    // Keys above the ones read, now and then.
    Builder st = Builder::from(b.area, 4096);
    if (g.chance(40)) {
      uint64_t top = g.u(std::min<uint64_t>(key, 62), 62);
      (void)st.set_u32(top, 0xabcdef01);
    }
    std::vector<uint8_t> area(st.bytes().begin(), st.bytes().end());
    if (g.chance(15)) {
      area.erase(area.begin(), area.begin() + 4);  // cut short: malformed
      bad++;
    } else if (g.chance(15)) {
      area.insert(area.begin(), {0xee, 0xee, 0xee, 0xee});  // foreign bytes below
    }
    xdpkv_test_multi get{};
    get.kind = XDPKV_OP_GET_MANY;
    get.n = static_cast<uint32_t>(g.u(1, set.n));
    std::vector<uint64_t> present;
    for (unsigned i = 0; i < set.n; i++)
      if (set.kv[i].key <= XDPKV_MAX_KEY) present.push_back(set.kv[i].key);
    std::sort(present.begin(), present.end());
    present.erase(std::unique(present.begin(), present.end()), present.end());
    get.n = std::min<uint32_t>(get.n, static_cast<uint32_t>(present.size()));
    for (unsigned i = 0; i < get.n; i++) {
      get.kv[i].key = g.chance(95) ? present[i] : g.u(0, 63);
      get.kv[i].val = 0xa5a5a5a5a5a5a5a5ULL;
    }
    MultiOutcome rb = run_bpf_multi(area, get), rm = model_get_many(area, get);
    reads++;
    bool kv_ok =
        rb.ret < 0 || std::memcmp(rb.kv.data(), rm.kv.data(), rb.kv.size() * sizeof(rb.kv[0])) == 0;
    if (rb.ret != rm.ret || !kv_ok) {
      failures++;
      ADD_FAILURE() << "dense read: " << describe_multi(get) << " of " << hex(area)
                    << "\n  bpf ret " << rb.ret << ", model ret " << rm.ret
                    << (kv_ok ? "" : ", kv differs");
    }
    // The same keys overwritten: mostly same sizes, now and then another size or a flag.
    xdpkv_test_multi ow = get;
    ow.kind = XDPKV_OP_SET_MANY;
    ow.flags = g.chance(10) ? XDPKV_F_NOEXIST : g.chance(30) ? XDPKV_F_EXIST : 0;
    for (unsigned i = 0; i < ow.n; i++) {
      auto& kv = ow.kv[i];
      uint64_t v = 0;
      int r = View(area).get(kv.key, std::span<uint8_t>(reinterpret_cast<uint8_t*>(&v), 8));
      uint32_t len = r > 0 ? static_cast<uint32_t>(r) : 4;  // the stored size, if any
      kv.len = g.chance(92) ? len : 2u << g.u(0, 2);
      kv.val = g.u(0, ~0ULL);
    }
    MultiOutcome ob = run_bpf_multi(area, ow), om = model_set_many(area, ow);
    overwrites++;
    if (ob.ret != om.ret || ob.area != om.area) {
      failures++;
      ADD_FAILURE() << "dense overwrite: " << describe_multi(ow) << " of " << hex(area)
                    << "\n  bpf:   ret " << ob.ret << " area " << hex(ob.area) << "\n  model: ret "
                    << om.ret << " area " << hex(om.area);
    }
  }
  std::printf(
      "new stores: %llu, dense reads: %llu (%llu of malformed areas), overwrites: %llu, "
      "mismatches %llu\n",
      (unsigned long long)creates, (unsigned long long)reads, (unsigned long long)bad,
      (unsigned long long)overwrites, (unsigned long long)failures);
  EXPECT_EQ(failures, 0u);
  EXPECT_GT(reads, 1000u);
  EXPECT_GT(bad, 50u);
}

// The fast-layout build (XDPKV_FAST_LAYOUT, its own paths for a store whose
// header is the layout's) against the same model, on stores of that layout,
// below foreign bytes and cut short: keys of the layout, absent ones, other
// sizes, repeats and flags.
TEST(Multi, FastLayoutCallsEqualTheSequenceOfSingleCalls) {
  bpf::init_libbpf();
  std::map<int64_t, uint64_t> rets;
  uint64_t calls = 0, failures = 0;
  for (uint64_t s = 0; s < 24 && failures < 5; s++) {
    Gen g(0x6661737474ULL * 1000003 + s);
    Builder b;
    std::vector<uint64_t> keys;
    for (uint64_t k = g.u(0, 3); k <= 63 && keys.size() < 10; k += g.u(1, 9)) {
      static constexpr uint32_t kLens[] = {2, 4, 8};
      std::vector<uint8_t> v = g.bytes(kLens[g.u(0, 2)]);
      ASSERT_EQ(b.set(k, v, 0), 0);
      keys.push_back(k);
    }
    auto sk = bpf::open_skeleton(xdpkv_test_kvs_fast__open, xdpkv_test_kvs_fast__destroy,
                                 "xdpkv_test_kvs_fast");
    ASSERT_TRUE(sk) << sk.error().message;
    xdpkv_layout lay{};
    xdpkv_layout_fill(&lay, b.view().hi(), b.view().lo());
    std::memcpy(const_cast<xdpkv_layout*>(&(*sk)->rodata->xdpkv_fast_layout), &lay, sizeof(lay));
    auto l = bpf::load_skeleton(*sk, xdpkv_test_kvs_fast__load, "xdpkv_test_kvs_fast");
    ASSERT_TRUE(l) << l.error().message;
    int fd = bpf_program__fd((*sk)->progs.xdpkv_multi);
    std::vector<uint8_t> exact(b.bytes().begin(), b.bytes().end());
    for (unsigned c = 0; c < 400 && failures < 5; c++) {
      std::vector<uint8_t> area = exact;
      if (g.chance(15)) {
        area.insert(area.begin(), {0xee, 0xee, 0xee, 0xee});  // foreign bytes below
      } else if (g.chance(10)) {
        area.erase(area.begin(), area.begin() + 4);  // cut short: malformed
      }
      xdpkv_test_multi op{};
      op.kind = g.chance(60) ? XDPKV_OP_SET_MANY : XDPKV_OP_GET_MANY;
      op.n = static_cast<uint32_t>(g.u(1, XDPKV_MANY_MAX));
      op.flags = g.chance(10) ? XDPKV_F_NOEXIST : g.chance(20) ? XDPKV_F_EXIST : 0;
      for (unsigned i = 0; i < op.n; i++) {
        auto& kv = op.kv[i];
        kv.key = g.chance(85) ? keys[g.u(0, keys.size() - 1)] : g.u(0, 66);
        uint64_t v = 0;
        int r = View(exact).get(kv.key, std::span<uint8_t>(reinterpret_cast<uint8_t*>(&v), 8));
        kv.len = g.chance(90) && r > 0 ? static_cast<uint32_t>(r) : 2u << g.u(0, 2);
        if (g.chance(2)) kv.len = 0;
        kv.val = op.kind == XDPKV_OP_GET_MANY ? 0xa5a5a5a5a5a5a5a5ULL : g.u(0, ~0ULL);
      }
      MultiOutcome bo = run_bpf_multi(area, op, fd);
      MultiOutcome mo =
          op.kind == XDPKV_OP_SET_MANY ? model_set_many(area, op) : model_get_many(area, op);
      calls++;
      rets[bo.ret]++;
      bool kv_ok = op.kind == XDPKV_OP_SET_MANY || bo.ret < 0 ||
                   std::memcmp(bo.kv.data(), mo.kv.data(), bo.kv.size() * sizeof(bo.kv[0])) == 0;
      if (bo.ret != mo.ret || bo.area != mo.area || !kv_ok) {
        failures++;
        ADD_FAILURE() << "layout " << s << " call " << c << ": " << describe_multi(op)
                      << "\n  area: " << hex(area) << "\n  bpf:   ret " << bo.ret << " area "
                      << hex(bo.area) << "\n  model: ret " << mo.ret << " area " << hex(mo.area)
                      << (kv_ok ? "" : "\n  kv differs");
      }
    }
  }
  std::printf("multi, fast layout: %llu calls, %llu mismatches; results:",
              (unsigned long long)calls, (unsigned long long)failures);
  for (auto& [k, v] : rets) std::printf(" %lld=%llu", (long long)k, (unsigned long long)v);
  std::printf("\n");
  EXPECT_EQ(failures, 0u);
  for (int e : {0, 1, 3, -EINVAL, -ENOENT, -EEXIST, -EBADMSG})
    EXPECT_GT(rets[e], 0u) << "no call returned " << e;
}

}  // namespace
}  // namespace xdpkv::test
