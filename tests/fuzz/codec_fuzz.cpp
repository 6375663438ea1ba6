// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
// libFuzzer target for the xdpkv codec. The input is an initial metadata area
// and a list of operations; every operation's return code and resulting bytes
// are compared with an independent model of the format (this file does its
// own bit arithmetic on purpose), and the View is always read through an
// exactly-sized heap copy so that ASan catches any read outside the area.
//
// Input layout:
//   byte 0    mode. 0xff: the rest is text for parse_hex. Otherwise
//             bits 0-5: area length M (0..62); 63: the next two bytes
//             (little-endian) give M = 63 + (value % 600), so M covers
//             0..662: past the kernel's 252-byte cap and a full 528-byte
//             store. bit 6: next byte is the capacity (0..255, else 216),
//             bit 7: clear the highest header keys until the header fits M
//             (makes valid stores common).
//   M bytes   the area (zero-filled if the input is short)
//   ops...    op byte (kind = op % 6), then per kind:
//             0 set:  key, len, flags, value bytes   3 has/len: key
//             1 get:  key, buffer size               4 set typed: key, len code, flags, value
//             2 del:  key                            5 full check (entries, json, foreign)
#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <xdpkv/codec.hpp>

namespace {

using Bytes = std::vector<uint8_t>;

[[noreturn]] void die(const char* what, long a = 0, long b = 0) {
  std::fprintf(stderr, "invariant violated: %s (%ld vs %ld)\n", what, a, b);
  std::abort();
}
#define CHECK(c)       \
  do {                 \
    if (!(c)) die(#c); \
  } while (0)
#define CHECK_EQ(a, b)                                                 \
  do {                                                                 \
    const long va_ = static_cast<long>(a), vb_ = static_cast<long>(b); \
    if (va_ != vb_) die(#a " == " #b, va_, vb_);                       \
  } while (0)

struct Input {
  const uint8_t* p;
  size_t n;
  uint8_t byte() {
    if (!n) return 0;
    --n;
    return *p++;
  }
  bool empty() const { return n == 0; }
};

constexpr size_t kMetaMax = 252;  // the kernel's cap, FORMAT.md §3 rule 2
size_t align4(size_t v) { return (v + 3) & ~size_t{3}; }
uint64_t le64(const uint8_t* p) {
  uint64_t v = 0;
  for (int i = 7; i >= 0; --i) v = v << 8 | p[i];
  return v;
}
void put_le64(uint8_t* p, uint64_t v) {
  for (int i = 0; i < 8; ++i, v >>= 8) p[i] = static_cast<uint8_t>(v);
}
unsigned code_len(uint64_t hi, uint64_t lo, unsigned k) {
  const unsigned code = ((hi >> k) & 1) * 2 + ((lo >> k) & 1);
  static constexpr unsigned kLen[] = {0, 2, 4, 8};
  return kLen[code];
}
size_t header_store_size(uint64_t hi, uint64_t lo) {
  size_t s = 16;
  for (unsigned k = 0; k < 64; ++k) s += code_len(hi, lo, k);
  return s;
}

// An exactly-sized heap copy: reading one byte past it is an ASan report.
struct Exact {
  explicit Exact(std::span<const uint8_t> b)
      : n(b.size()), p(std::make_unique<uint8_t[]>(b.size() ? b.size() : 1)) {
    if (n) std::memcpy(p.get(), b.data(), n);
  }
  std::span<const uint8_t> span() const { return {p.get(), n}; }
  size_t n;
  std::unique_ptr<uint8_t[]> p;
};

struct Model {
  bool valid = false;
  bool empty = true;          // M == 0
  bool padding_clean = true;  // padding known to be zero
  Bytes foreign;
  std::map<unsigned, Bytes> values;
  size_t capacity = 216;

  size_t store() const {
    size_t s = 16;
    for (const auto& [k, v] : values) s += v.size();
    return s;
  }
  size_t extent() const { return empty ? 0 : align4(store()); }
  // The full area the format prescribes (padding zero).
  Bytes layout() const {
    if (empty) return foreign;
    Bytes out = foreign;
    const size_t s = store();
    out.resize(out.size() + align4(s) - s, 0);
    for (auto it = values.rbegin(); it != values.rend(); ++it)
      out.insert(out.end(), it->second.begin(), it->second.end());
    uint64_t hi = 0, lo = 0;
    for (const auto& [k, v] : values) {
      const unsigned code = v.size() == 2 ? 1 : v.size() == 4 ? 2 : 3;
      hi |= uint64_t(code >> 1) << k;
      lo |= uint64_t(code & 1) << k;
    }
    uint8_t h[16];
    put_le64(h, hi);
    put_le64(h + 8, lo);
    out.insert(out.end(), h, h + 16);
    return out;
  }
  size_t offset_of(unsigned key, size_t m) const {
    size_t p = 0;
    for (const auto& [k, v] : values)
      if (k < key) p += v.size();
    return m - 16 - p - values.at(key).size();
  }
};

bool independent_valid(std::span<const uint8_t> a) {
  if (a.empty()) return true;
  if (a.size() < 16 || a.size() > kMetaMax) return false;
  const uint8_t* h = a.data() + a.size() - 16;
  return align4(header_store_size(le64(h), le64(h + 8))) <= a.size();
}

uint64_t read_key(Input& in) {
  static constexpr uint64_t kSpecial[16] = {
      64,         65,    127,     255, 256,  1ULL << 32, (1ULL << 32) + 1, (1ULL << 32) + 63,
      1ULL << 63, ~0ULL, 63 + 64, 100, 1000, ~0ULL - 1,  0xffffffffULL,    (1ULL << 63) + 5};
  const uint8_t b = in.byte();
  return b < 0xe0 ? b & 63 : kSpecial[b & 15];
}

size_t read_len(Input& in) {
  static constexpr size_t kRaw[16] = {0, 1, 3, 5, 6, 7, 9, 16, 32, 255, 2, 4, 8, 12, 64, 1000};
  const uint8_t b = in.byte();
  return b < 0xc0 ? size_t{2} << (b % 3) : kRaw[b & 15];
}

uint64_t read_flags(Input& in) {
  static constexpr uint64_t kRaw[16] = {3, 4, 8, 1ULL << 63, 7,          5,    0x100, ~0ULL,
                                        6, 0, 1, 2,          1ULL << 32, 0x10, 11,    0x80};
  const uint8_t b = in.byte();
  return b < 0xf0 ? b % 3 : kRaw[b & 15];
}

int expect_set(const Model& m, uint64_t key, size_t len, uint64_t flags, bool* in_place) {
  *in_place = false;
  if (key > 63 || (len != 2 && len != 4 && len != 8) || (flags & ~uint64_t{3}) || flags == 3)
    return -EINVAL;
  if (!m.valid) return -EBADMSG;
  const auto it = m.values.find(static_cast<unsigned>(key));
  const size_t cur = it == m.values.end() ? 0 : it->second.size();
  if ((flags & 2) && !cur) return -ENOENT;
  if ((flags & 1) && cur) return -EEXIST;
  if (cur == len) {
    *in_place = true;
    return 0;
  }
  const size_t e2 = align4(m.store() - cur + len);
  if (e2 > m.extent() && m.foreign.size() + e2 > std::min(m.capacity, kMetaMax)) return -ENOSPC;
  return 0;
}

void full_check(const Model& m, const xdpkv::Builder& b) {
  const Exact copy(b.bytes());
  const xdpkv::View v(copy.span());
  CHECK_EQ(v.validate() == 0, m.valid);
  CHECK_EQ(independent_valid(copy.span()), m.valid);
  CHECK_EQ(v.problem().empty(), m.valid);
  CHECK(copy.n <= kMetaMax || v.problem().find("more than the 252 bytes") != std::string::npos);
  (void)xdpkv::to_json(v);
  (void)v.hi();
  (void)v.lo();
  (void)v.store_size();
  (void)v.value_bytes();
  if (!m.valid) {
    CHECK(v.entries().empty());
    CHECK(v.foreign().empty());
    return;
  }
  const auto entries = v.entries();
  CHECK_EQ(entries.size(), m.values.size());
  size_t i = 0, total = 0;
  unsigned prev = 0;
  for (const auto& [k, val] : m.values) {
    const auto& e = entries[i];
    CHECK_EQ(e.key, k);
    CHECK(i == 0 || e.key > prev);
    prev = e.key;
    CHECK_EQ(e.len, val.size());
    CHECK(std::equal(e.value.begin(), e.value.end(), val.begin(), val.end()));
    CHECK(e.value.data() >= copy.span().data() &&
          e.value.data() + e.len <= copy.span().data() + copy.n);
    total += e.len;
    ++i;
  }
  for (unsigned k = 0; k < 64; ++k) {
    const auto it = m.values.find(k);
    CHECK_EQ(v.has(k), it != m.values.end());
    CHECK_EQ(v.len(k), it == m.values.end() ? 0 : it->second.size());
  }
  CHECK_EQ(v.value_bytes(), m.empty ? 0 : total);
  CHECK_EQ(v.store_size(), m.extent());
  CHECK_EQ(v.area_size(), m.foreign.size() + m.extent());
  CHECK(std::equal(v.foreign().begin(), v.foreign().end(), m.foreign.begin(), m.foreign.end()));
  const auto pad = v.padding();
  CHECK_EQ(pad.size(), m.empty ? 0 : m.extent() - m.store());
  if (m.padding_clean) {
    for (uint8_t c : pad) CHECK_EQ(c, 0);
    const Bytes want = m.layout();
    CHECK(std::equal(want.begin(), want.end(), copy.span().begin(), copy.span().end()));
  }
}

void fuzz_hex(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  auto r = xdpkv::parse_hex(text);
  if (!r) {
    CHECK(!r.error().message.empty());
    CHECK_EQ(r.error().code, EINVAL);
    return;
  }
  const Bytes bytes = *r;
  CHECK(bytes.size() * 2 <= size);
  const std::string hex = xdpkv::to_hex(bytes);
  auto again = xdpkv::parse_hex(hex);
  CHECK(again.ok() && *again == bytes);
  const Exact copy(bytes);
  const xdpkv::View v(copy.span());
  CHECK_EQ(v.validate() == 0, independent_valid(copy.span()));
  (void)xdpkv::to_json(v);
  (void)v.problem();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  if (data[0] == 0xff) {
    fuzz_hex(data + 1, size - 1);
    return 0;
  }
  Input in{data, size};
  const uint8_t mode = in.byte();
  size_t m0 = mode & 63;
  if (m0 == 63) {
    const size_t lo = in.byte();
    m0 += (lo | size_t{in.byte()} << 8) % 600;
  }
  Model model;
  if (mode & 0x40) model.capacity = in.byte();
  Bytes area(m0, 0);
  for (auto& c : area) c = in.byte();
  if ((mode & 0x80) && m0 >= 16) {
    uint8_t* h = area.data() + m0 - 16;
    uint64_t hi = le64(h), lo = le64(h + 8);
    for (int k = 63; k >= 0 && align4(header_store_size(hi, lo)) > m0; --k) {
      hi &= ~(1ULL << k);
      lo &= ~(1ULL << k);
    }
    put_le64(h, hi);
    put_le64(h + 8, lo);
  }

  // Model of the initial area, decoded independently.
  model.valid = independent_valid(area);
  model.empty = area.empty();
  if (model.valid && !model.empty) {
    const uint8_t* h = area.data() + m0 - 16;
    const uint64_t hi = le64(h), lo = le64(h + 8);
    size_t p = 0;
    for (unsigned k = 0; k < 64; ++k) {
      const unsigned l = code_len(hi, lo, k);
      if (!l) continue;
      const size_t off = m0 - 16 - p - l;
      model.values[k] = Bytes(area.begin() + off, area.begin() + off + l);
      p += l;
    }
    const size_t s = 16 + p, e = align4(s);
    model.foreign.assign(area.begin(), area.begin() + (m0 - e));
    for (size_t i = m0 - e; i < m0 - s; ++i) model.padding_clean &= area[i] == 0;
  }

  xdpkv::Builder b = xdpkv::Builder::from(area, model.capacity);
  CHECK_EQ(b.capacity(), model.capacity);
  full_check(model, b);

  for (int steps = 0; !in.empty() && steps < 256; ++steps) {
    const Bytes before(b.bytes().begin(), b.bytes().end());
    const uint8_t op = in.byte();
    switch (op % 6) {
      case 0:
      case 4: {
        const uint64_t key = read_key(in);
        const size_t len = op % 6 == 0 ? read_len(in) : size_t{2} << (in.byte() % 3);
        const uint64_t flags = read_flags(in);
        Bytes val(len);
        for (auto& c : val) c = in.byte();
        bool in_place = false;
        const int want = expect_set(model, key, len, flags, &in_place);
        int got;
        if (op % 6 == 4) {
          uint64_t u = 0;
          for (size_t i = len; i-- > 0;) u = u << 8 | val[i];
          got = len == 2   ? b.set_u16(key, static_cast<uint16_t>(u), flags)
                : len == 4 ? b.set_u32(key, static_cast<uint32_t>(u), flags)
                           : b.set_u64(key, u, flags);
        } else {
          // An exactly-sized value buffer: set must not read past len.
          const Exact v(val);
          got = b.set(key, v.span(), flags);
        }
        CHECK_EQ(got, want);
        if (got < 0) {
          CHECK(before == Bytes(b.bytes().begin(), b.bytes().end()));
          break;
        }
        if (in_place) {
          Bytes expect = before;
          const size_t off = model.offset_of(static_cast<unsigned>(key), before.size());
          std::memcpy(expect.data() + off, val.data(), len);
          CHECK(expect == Bytes(b.bytes().begin(), b.bytes().end()));
          model.values[static_cast<unsigned>(key)] = val;
        } else {
          model.values[static_cast<unsigned>(key)] = val;
          model.empty = false;
          model.padding_clean = true;
        }
        // The value reads back.
        Bytes out(8, 0xa5);
        CHECK_EQ(b.view().get(key, out), len);
        CHECK(std::equal(val.begin(), val.end(), out.begin()));
        break;
      }
      case 1: {
        const uint64_t key = read_key(in);
        const size_t bs = in.byte() % 17;
        int want;
        const auto it =
            key <= 63 ? model.values.find(static_cast<unsigned>(key)) : model.values.end();
        if (key > 63)
          want = -EINVAL;
        else if (!model.valid)
          want = -EBADMSG;
        else if (it == model.values.end())
          want = -ENOENT;
        else if (bs < it->second.size())
          want = -ENOSPC;
        else
          want = static_cast<int>(it->second.size());
        const Exact copy(b.bytes());
        Exact buf(Bytes(bs, 0x5a));
        const int got = xdpkv::View(copy.span()).get(key, {buf.p.get(), bs});
        CHECK_EQ(got, want);
        for (size_t i = 0; i < bs; ++i) {
          if (got > 0 && i < static_cast<size_t>(got))
            CHECK_EQ(buf.p[i], it->second[i]);
          else
            CHECK_EQ(buf.p[i], 0x5a);
        }
        break;
      }
      case 2: {
        const uint64_t key = read_key(in);
        int want;
        if (key > 63)
          want = -EINVAL;
        else if (!model.valid)
          want = -EBADMSG;
        else if (!model.values.count(static_cast<unsigned>(key)))
          want = -ENOENT;
        else
          want = 0;
        CHECK_EQ(b.del(key), want);
        if (want < 0) {
          CHECK(before == Bytes(b.bytes().begin(), b.bytes().end()));
        } else {
          model.values.erase(static_cast<unsigned>(key));
          model.padding_clean = true;
        }
        break;
      }
      case 3: {
        const uint64_t key = read_key(in);
        const Exact copy(b.bytes());
        const xdpkv::View v(copy.span());
        if (key > 63) {
          CHECK_EQ(v.has(key), -EINVAL);
          CHECK_EQ(v.len(key), -EINVAL);
        } else if (!model.valid) {
          CHECK_EQ(v.has(key), -EBADMSG);
          CHECK_EQ(v.len(key), -EBADMSG);
        } else {
          const auto it = model.values.find(static_cast<unsigned>(key));
          CHECK_EQ(v.has(key), it != model.values.end());
          CHECK_EQ(v.len(key), it == model.values.end() ? 0 : it->second.size());
        }
        break;
      }
      case 5: full_check(model, b); break;
    }
    CHECK_EQ(xdpkv::View(b.bytes()).validate() == 0, model.valid);
    if (model.valid && !model.empty) {
      // Foreign bytes stay at the start of the area.
      CHECK(before.size() >= model.foreign.size());
      CHECK(std::equal(model.foreign.begin(), model.foreign.end(), b.bytes().begin()));
      CHECK_EQ(b.bytes().size(), model.foreign.size() + model.extent());
    }
  }
  full_check(model, b);
  return 0;
}
