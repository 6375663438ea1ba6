// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#include "harness.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <mutex>
#include <set>

#include "xdpkv_test_ops.skel.h"

namespace xdpkv::test {

namespace {
constexpr uint8_t kCanary = 0xa5;
}

int ops_prog_fd() {
  auto* s = load_once(xdpkv_test_ops__open, xdpkv_test_ops__destroy, xdpkv_test_ops__load,
                      "xdpkv_test_ops");
  return bpf_program__fd(s->progs.xdpkv_op);
}

OpOutcome run_bpf(std::span<const uint8_t> area, const xdpkv_test_op& op) {
  uint8_t pkt[64] = {};
  std::memcpy(pkt, &op, sizeof(op));
  auto r = bpf::xdp_test_run(ops_prog_fd(), area, pkt);
  if (!r) {
    ADD_FAILURE() << "test run: " << r.error().message;
    return {};
  }
  if (r->retval != 2 /* XDP_PASS */) ADD_FAILURE() << "program returned " << r->retval;
  xdpkv_test_op out{};
  if (r->packet.size() < sizeof(out)) {
    ADD_FAILURE() << "short packet back";
    return {};
  }
  std::memcpy(&out, r->packet.data(), sizeof(out));
  return {out.ret, std::vector<uint8_t>(out.val, out.val + sizeof(out.val)), std::move(r->meta)};
}

OpOutcome run_codec(std::span<const uint8_t> area, const xdpkv_test_op& op) {
  Builder b = Builder::from(area, XDPKV_META_MAX_HEADROOM);
  std::vector<uint8_t> buf(op.val, op.val + sizeof(op.val));
  int64_t ret = -EINVAL;
  switch (op.kind) {
    case XDPKV_OP_GET: ret = b.view().get(op.key, std::span<uint8_t>(buf.data(), op.len)); break;
    case XDPKV_OP_SET:
      ret =
          b.set(op.key, std::span<const uint8_t>(op.val, std::min<size_t>(op.len, sizeof(op.val))),
                op.flags);
      if (op.len > sizeof(op.val)) ret = -EINVAL;
      break;
    case XDPKV_OP_DEL: ret = b.del(op.key); break;
    case XDPKV_OP_HAS: ret = b.view().has(op.key); break;
  }
  auto bytes = b.bytes();
  return {ret, std::move(buf), std::vector<uint8_t>(bytes.begin(), bytes.end())};
}

std::string hex(std::span<const uint8_t> b) { return xdpkv::to_hex(b); }

std::string describe(const xdpkv_test_op& op) {
  static const char* names[] = {"get", "set", "del", "has"};
  char s[160];
  std::snprintf(s, sizeof(s), "%s(key=%#llx len=%u flags=%#llx val=%s)",
                op.kind < 4 ? names[op.kind] : "?", (unsigned long long)op.key, op.len,
                (unsigned long long)op.flags, hex(std::span<const uint8_t>(op.val, 8)).c_str());
  return s;
}

std::vector<uint8_t> Gen::bytes(size_t n) {
  std::vector<uint8_t> v(n);
  for (auto& b : v) b = static_cast<uint8_t>(u(0, 255));
  return v;
}

uint64_t Gen::key() {
  uint64_t r = u(0, 99);
  if (r < 70) return u(0, 11);  // collisions: overwrite, resize, delete
  if (r < 92) return u(0, 63);
  static const uint64_t bad[] = {64, 65, 127, 1ull << 32, (1ull << 32) + 1, 1ull << 63, ~0ull};
  return bad[u(0, std::size(bad) - 1)];
}

std::vector<uint8_t> Gen::area(const char** kind) {
  uint64_t r = u(0, 99);
  if (r < 20) {
    *kind = "empty";
    return {};
  }
  if (r < 85) {
    // A valid store from random sets, maybe below foreign bytes, maybe with
    // dirty padding (a foreign producer's).
    Builder b(XDPKV_META_MAX_HEADROOM);
    unsigned n = static_cast<unsigned>(u(0, 14));
    for (unsigned i = 0; i < n; i++) {
      static const unsigned lens[] = {2, 4, 8};
      auto v = bytes(8);
      (void)b.set(u(0, 63), std::span<const uint8_t>(v.data(), lens[u(0, 2)]));
    }
    std::vector<uint8_t> a(b.bytes().begin(), b.bytes().end());
    if (a.empty()) (void)b.set_u16(0, 0x1234), a.assign(b.bytes().begin(), b.bytes().end());
    *kind = "valid";
    if (chance(30)) {
      auto f = bytes(4 * u(1, 8));
      a.insert(a.begin(), f.begin(), f.end());
      *kind = "foreign+valid";
    }
    View v(a);
    if (chance(8) && a.size() >= 20) {
      // One word short of what the header describes.
      a.erase(a.begin(), a.begin() + 4 + (a.size() - v.store_size()));
      *kind = "truncated";
      return a;
    }
    if (!v.padding().empty() && chance(30)) {
      size_t at = a.size() - v.store_size();
      a[at] = 0xee;
      a[at + 1] = 0xdd;
      *kind = "dirty-padding";
    }
    return a;
  }
  *kind = "malformed";
  if (chance(40)) return bytes(4 * u(1, 3));  // 0 < M < 16
  // A header claiming more than the area holds (or, rarely, random but valid).
  auto a = bytes(4 * u(4, 16));
  if (chance(50)) {
    // Keep it plausible: few keys, but more bytes than there are.
    __u64 hi = 0, lo = 0;
    unsigned n = static_cast<unsigned>(u(1, 20));
    for (unsigned i = 0; i < n; i++) xdpkv_hdr_put(&hi, &lo, u(0, 63), 8);
    std::memcpy(a.data() + a.size() - 16, &hi, 8);
    std::memcpy(a.data() + a.size() - 8, &lo, 8);
  }
  return a;
}

xdpkv_test_op Gen::op(bool fill) {
  xdpkv_test_op op{};
  uint64_t r = u(0, 99);
  op.kind = fill ? (r < 85 ? XDPKV_OP_SET : XDPKV_OP_DEL)
                 : (r < 45   ? XDPKV_OP_SET
                    : r < 65 ? XDPKV_OP_GET
                    : r < 85 ? XDPKV_OP_DEL
                             : XDPKV_OP_HAS);
  op.key = fill ? u(0, 63) : key();
  auto v = bytes(sizeof(op.val));
  std::memcpy(op.val, v.data(), sizeof(op.val));
  if (op.kind == XDPKV_OP_SET) {
    static const uint32_t good[] = {2, 4, 8};
    static const uint32_t bad[] = {0, 1, 3, 6, 7, 9, 16};
    op.len = fill || chance(93) ? good[u(0, 2)] : bad[u(0, std::size(bad) - 1)];
    uint64_t f = u(0, 99);
    op.flags = f < 70   ? 0
               : f < 82 ? XDPKV_F_NOEXIST
               : f < 94 ? XDPKV_F_EXIST
               : f < 97 ? (XDPKV_F_NOEXIST | XDPKV_F_EXIST)
                        : (1ull << u(2, 63));
  } else if (op.kind == XDPKV_OP_GET) {
    op.len = static_cast<uint32_t>(u(0, 99) < 80 ? 8 : u(0, 16));
    std::memset(op.val, kCanary, sizeof(op.val));
  }
  return op;
}

// fill: valid keys and sizes, mostly sets (stores grow until -ENOSPC).
xdpkv_test_multi gen_multi(Gen& g, bool fill) {
  xdpkv_test_multi op{};
  op.kind = g.chance(fill ? 85 : 60) ? XDPKV_OP_SET_MANY : XDPKV_OP_GET_MANY;
  op.n = static_cast<uint32_t>(g.u(1, XDPKV_MANY_MAX));
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

namespace {

std::span<const uint8_t> val_bytes(const xdpkv_kv& kv) {
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

}  // namespace

// The sequence of single sets on the codec, then the differences of set_many.
MultiOutcome model_set_many(std::span<const uint8_t> area, const xdpkv_test_multi& op,
                            int64_t refused_key) {
  for (unsigned j = 0; refused_key >= 0 && j < op.n; j++) {
    const auto& kv = op.kv[j];
    if (kv.key != static_cast<uint64_t>(refused_key)) continue;
    // Its argument checks come first; then -EPERM, after the earlier keys'
    // checks and the store's, before -ENOSPC; nothing written.
    if (xdpkv_check_set_args(kv.key, kv.len, op.flags)) break;
    MultiOutcome o{-EPERM, {op.kv, op.kv + op.n}, {area.begin(), area.end()}};
    if (j) {
      xdpkv_test_multi prefix = op;
      prefix.n = j;
      const int64_t r = model_set_many(area, prefix, -1).ret;
      if (r < 0 && r != -ENOSPC) o.ret = r;
    }
    return o;
  }
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

}  // namespace xdpkv::test
