// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
// xdpkv codec: reads and writes the store format of xdp/include/xdpkv/format.h
// (docs/FORMAT.md) on a copy of an XDP metadata area, with exactly the return
// codes and byte effects of the BPF library.
//
// Return conventions follow the BPF API: int results are >= 0 on success and
// a negative errno (-EINVAL, -ENOENT, -EEXIST, -ENOSPC, -EBADMSG) on error.
// Checks run in the order arguments -> validity -> presence -> space, and on
// error nothing (area, caller buffer) is modified.
#pragma once

#include <bit>
#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include <xdpkv/format.hpp>
#include <xdpkv/result.hpp>

namespace xdpkv {

// One present key, as found in a View.
struct Entry {
  unsigned key = 0;                // 0..63
  unsigned len = 0;                // 2, 4 or 8
  std::span<const uint8_t> value;  // the stored bytes, in memory order
  // The value read as a little-endian unsigned integer (zero-extended; the
  // first 8 bytes of a longer value). Inline: iteration sums values per entry.
  uint64_t as_uint() const noexcept {
    if constexpr (std::endian::native == std::endian::little) {
      // The format's value sizes as one load each instead of a byte loop.
      if (value.size() == 2) return load<uint16_t>();
      if (value.size() == 4) return load<uint32_t>();
      if (value.size() >= 8) return load<uint64_t>();
    }
    uint64_t v = 0;
    for (size_t i = value.size() < 8 ? value.size() : 8; i-- > 0;) v = (v << 8) | value[i];
    return v;
  }

 private:
  template <class T>
  uint64_t load() const noexcept {
    T v;
    std::memcpy(&v, value.data(), sizeof v);
    return v;
  }
};

// Which popcount the codec's hot paths use: "hardware" (the popcnt
// instruction, checked once at run time) or "portable" (libgcc's
// __popcountdi2 on a CPU without it).
std::string_view popcount_path() noexcept;

namespace detail {
// What a View keeps of its area after reading it once.
struct ViewState {
  uint64_t hi = 0;  // header words, 0 when M < 16
  uint64_t lo = 0;
  uint32_t s = 0;  // S, the store size the header claims; 0 when M < 16
  int err = 0;     // validate()
};
// Reads the header of area and validates it into st (View's constructor; an
// out-parameter so that the popcount dispatch is a tail call).
void decode(std::span<const uint8_t> area, ViewState& st) noexcept;
}  // namespace detail

// Non-owning view of a metadata area: the bytes [data_meta, data).
// The store's header is the last 16 bytes. A View never reads outside the span.
// The constructor reads the header and validates the area once; every other
// call uses that result (no re-validation per get). So a View describes the
// bytes as they were when it was made: make a new one after they change.
// Cheap to copy (the span, the two header words, S and the verdict).
class View {
 public:
  View() noexcept = default;
  explicit View(std::span<const uint8_t> area) noexcept : area_(area) { detail::decode(area, st_); }

  std::span<const uint8_t> area() const noexcept { return area_; }

  // 0 if the area holds a valid store (or is empty, M == 0), else -EBADMSG:
  // M > XDPKV_META_MAX (252, the kernel's cap), 0 < M < 16, or a header
  // whose extent exceeds M (docs/FORMAT.md §3).
  int validate() const noexcept { return st_.err; }
  bool valid() const noexcept { return st_.err == 0; }
  // One line naming what is wrong; empty if valid.
  std::string problem() const;

  // M: bytes of metadata.
  size_t area_size() const noexcept { return area_.size(); }
  // The store's extent align4(S); 0 when M == 0 or M < 16. For a malformed
  // area with M >= 16 this is the extent the header claims (larger than M).
  size_t store_size() const noexcept { return st_.s ? xdpkv_align4(st_.s) : 0; }
  // S - 16: bytes of values the header describes (0 when M < 16).
  size_t value_bytes() const noexcept { return st_.s ? st_.s - XDPKV_HDR_SIZE : 0; }
  // Header words (0 when M < 16).
  uint64_t hi() const noexcept { return st_.hi; }
  uint64_t lo() const noexcept { return st_.lo; }

  // Copies the value of key into out[0, len) and returns len (2/4/8).
  // -EINVAL key > 63, -EBADMSG malformed, -ENOENT absent, -ENOSPC out too small.
  int get(uint64_t key, std::span<uint8_t> out) const noexcept;
  // 1 present, 0 absent, -EINVAL, -EBADMSG.
  int has(uint64_t key) const noexcept {
    const int l = len(key);
    return l < 0 ? l : l > 0;
  }
  // Value length (2/4/8), 0 absent, -EINVAL, -EBADMSG.
  int len(uint64_t key) const noexcept {
    if (key > XDPKV_MAX_KEY) return -EINVAL;
    if (st_.err) return st_.err;
    return static_cast<int>(xdpkv_key_len(st_.hi, st_.lo, static_cast<__u32>(key)));
  }

  // Calls f(const Entry&) for each present key in ascending key order
  // (nothing if malformed). Allocates nothing and needs no popcount: the
  // values lie below the header in key order, so each offset is the running
  // sum of the lengths before it. The Entry's span is valid as long as the area.
  template <class F>
  void for_each(F&& f) const {
    if (st_.err || area_.empty()) return;
    const uint8_t* const top = area_.data() + area_.size() - XDPKV_HDR_SIZE;
    size_t below = 0;  // P(k) + len(k): bytes from the header down to k's value start
    for (uint64_t bits = st_.hi | st_.lo; bits; bits &= bits - 1) {
      const auto k = static_cast<unsigned>(std::countr_zero(bits));
      const unsigned l = xdpkv_key_len(st_.hi, st_.lo, k);
      below += l;
      f(Entry{k, l, std::span<const uint8_t>(top - below, l)});
    }
  }

  // Present keys in ascending key order (empty if malformed); for_each
  // without the allocation is the fast way.
  std::vector<Entry> entries() const;
  // Bytes below the store, [data_meta, data - store_size()) (empty if malformed).
  std::span<const uint8_t> foreign() const noexcept;
  // The store's padding (0 or 2 bytes at its low end; empty if malformed).
  std::span<const uint8_t> padding() const noexcept;

 private:
  std::span<const uint8_t> area_;
  detail::ViewState st_;
};

// Owns a metadata area and edits it like the BPF library edits data_meta.
// capacity is the largest area size M the "headroom" allows; a set that must
// grow the area beyond it fails with -ENOSPC. Views returned by view() are
// invalidated by set()/del().
class Builder {
 public:
  explicit Builder(size_t capacity = XDPKV_META_MAX_HEADROOM) : capacity_(capacity) {}
  // Copies the area as it is, even malformed (mutating ops then return -EBADMSG).
  static Builder from(std::span<const uint8_t> area, size_t capacity = XDPKV_META_MAX_HEADROOM);

  // val.size() is the value length: anything but 2/4/8 is -EINVAL.
  // flags: 0, XDPKV_F_NOEXIST or XDPKV_F_EXIST.
  // 0, -EINVAL, -EBADMSG, -ENOENT (EXIST, absent), -EEXIST (NOEXIST, present), -ENOSPC.
  int set(uint64_t key, std::span<const uint8_t> val, uint64_t flags = 0);
  int set_u16(uint64_t key, uint16_t v, uint64_t flags = 0);
  int set_u32(uint64_t key, uint32_t v, uint64_t flags = 0);
  int set_u64(uint64_t key, uint64_t v, uint64_t flags = 0);
  // 0, -EINVAL, -EBADMSG, -ENOENT.
  int del(uint64_t key);

  View view() const noexcept { return View(area_); }
  std::span<const uint8_t> bytes() const noexcept { return area_; }
  size_t capacity() const noexcept { return capacity_; }

 private:
  int rebuild(uint64_t new_hi, uint64_t new_lo, unsigned key, std::span<const uint8_t> val);

  std::vector<uint8_t> area_;
  size_t capacity_;
};

// "EINVAL", "ENOENT", ... for -EINVAL or EINVAL; "OK" for 0; "E?" if unknown.
std::string_view errno_name(int neg);
// e.g. "EEXIST (-17): key already present (XDPKV_F_NOEXIST)".
std::string describe(int neg);

// Hex text -> bytes. Accepts an optional 0x prefix, whitespace and ':'
// between groups; each group must have an even number of hex digits.
Result<std::vector<uint8_t>> parse_hex(std::string_view text);
// Lowercase hex, no separators.
std::string to_hex(std::span<const uint8_t> bytes);

// j as JSON text with ", " and ": " separators on one line (nlohmann's
// dump() has no spaces): the layout of every xdpkv JSON document.
std::string dump_spaced(const nlohmann::ordered_json& j);

// {"size": M, "store_size": N, "keys": [{"key": k, "len": n, "value": "hex"}, ...]}
std::string to_json(const View& view);

}  // namespace xdpkv
