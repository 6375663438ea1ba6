// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
// All layout arithmetic comes from format.h (xdpkv_key_len, xdpkv_prefix,
// xdpkv_store_size, xdpkv_align4, xdpkv_hdr_put, xdpkv_check_set_*).
#include <xdpkv/codec.hpp>

#include <bit>
#include <cerrno>
#include <cstdio>
#include <cstring>

#include <endian.h>

#include <nlohmann/json.hpp>

namespace xdpkv {
namespace {

constexpr size_t kHdr = XDPKV_HDR_SIZE;

// always_inline here and below: GCC does not inline plain functions into the
// target("popcnt") copies of the hot paths, which would leave calls in them.
[[gnu::always_inline]] inline uint64_t load_le64(const uint8_t* p) noexcept {
  uint64_t v;
  std::memcpy(&v, p, sizeof v);  // one load; a byte loop is 8 dependent ones
  return le64toh(v);
}

void store_le(uint8_t* p, uint64_t v, size_t n) noexcept {
  for (size_t i = 0; i < n; ++i, v >>= 8) p[i] = static_cast<uint8_t>(v);
}

struct Header {
  __u64 hi = 0;
  __u64 lo = 0;
};

// Header of an area with M >= 16; zero otherwise.
[[gnu::always_inline]] inline Header header_of(std::span<const uint8_t> area) noexcept {
  Header h;
  if (area.size() >= kHdr) {
    const uint8_t* p = area.data() + area.size() - kHdr;
    h.hi = load_le64(p);
    h.lo = load_le64(p + 8);
  }
  return h;
}

// Offset of key k's value from the start of an area of m bytes.
[[gnu::always_inline]] inline size_t value_offset(size_t m, const Header& h, __u32 k,
                                                  __u32 len) noexcept {
  return m - kHdr - xdpkv_prefix(h.hi, h.lo, k) - len;
}

}  // namespace

// ---- View -------------------------------------------------------------------

namespace {

// The hot paths' popcounts (S at construction, P(k) in get) come from
// format.h's xdpkv_bytes_in, i.e. __builtin_popcountll. The build targets
// plain x86-64 (the package runs on any), where that is a libgcc call; the
// *_hw copies below are compiled for the popcnt instruction and chosen once
// at run time. g_hw_popcnt is false until this file's static init runs, so a
// View made earlier takes the portable path: same results, only slower.
// -DXDPKV_PORTABLE_POPCOUNT=ON (CMake) forces the portable path, to test it.
#if (defined(__x86_64__) || defined(__i386__)) && !defined(XDPKV_PORTABLE_POPCOUNT)
#define XDPKV_HW_POPCNT [[gnu::target("popcnt")]]
bool detect_popcnt() noexcept {
  __builtin_cpu_init();  // may run before libgcc's own constructor
  return __builtin_cpu_supports("popcnt");
}
#else
#define XDPKV_HW_POPCNT
bool detect_popcnt() noexcept { return false; }
#endif
const bool g_hw_popcnt = detect_popcnt();

// validate()'s checks, in its order; the header is read only when M >= 16.
[[gnu::always_inline]] inline detail::ViewState decode_body(
    std::span<const uint8_t> area) noexcept {
  detail::ViewState d;
  const size_t m = area.size();
  if (m >= kHdr) {
    const Header h = header_of(area);
    d.hi = h.hi;
    d.lo = h.lo;
    d.s = xdpkv_store_size(h.hi, h.lo);
  }
  if (m == 0) return d;
  // No kernel builds a longer area (xdp_metalen_invalid): the BPF backends refuse it too.
  if (m > XDPKV_META_MAX || m < kHdr || xdpkv_align4(d.s) > m) d.err = -EBADMSG;
  return d;
}

XDPKV_HW_POPCNT void decode_hw(std::span<const uint8_t> area, detail::ViewState& st) noexcept {
  st = decode_body(area);
}
// noinline (and get_sw): the dispatchers then stay a branch and a tail call.
[[gnu::noinline]] void decode_sw(std::span<const uint8_t> area, detail::ViewState& st) noexcept {
  st = decode_body(area);
}

// get() after the View's own checks (len() inline in the header).
[[gnu::always_inline]] inline int get_body(const View& v, uint64_t key,
                                           std::span<uint8_t> out) noexcept {
  const int l = v.len(key);
  if (l < 0) return l;
  if (l == 0) return -ENOENT;
  const auto n = static_cast<__u32>(l);
  if (out.size() < n) return -ENOSPC;
  const auto area = v.area();
  const uint8_t* src =
      area.data() + value_offset(area.size(), Header{v.hi(), v.lo()}, static_cast<__u32>(key), n);
  // Constant-size copies: a variable-length memcpy is a libc call.
  if (n == 8) {
    std::memcpy(out.data(), src, 8);
  } else if (n == 4) {
    std::memcpy(out.data(), src, 4);
  } else {
    std::memcpy(out.data(), src, 2);
  }
  return l;
}

XDPKV_HW_POPCNT int get_hw(const View& v, uint64_t key, std::span<uint8_t> out) noexcept {
  return get_body(v, key, out);
}
[[gnu::noinline]] int get_sw(const View& v, uint64_t key, std::span<uint8_t> out) noexcept {
  return get_body(v, key, out);
}

}  // namespace

std::string_view popcount_path() noexcept { return g_hw_popcnt ? "hardware" : "portable"; }

// The dispatchers end in a tail call: one branch on top of the variant.
void detail::decode(std::span<const uint8_t> area, detail::ViewState& st) noexcept {
  if (g_hw_popcnt) {
    decode_hw(area, st);
  } else {
    decode_sw(area, st);
  }
}

std::string View::problem() const {
  const size_t m = area_.size();
  if (st_.err == 0) return {};
  if (m > XDPKV_META_MAX) {
    return "metadata area is " + std::to_string(m) + " bytes: more than the " +
           std::to_string(XDPKV_META_MAX) + " bytes a kernel allows (xdp_metalen_invalid)";
  }
  if (m < kHdr) {
    return "metadata area is " + std::to_string(m) + (m == 1 ? " byte" : " bytes") +
           ": a store needs at least " + std::to_string(kHdr) + " (header)";
  }
  std::string keys;
  for (__u32 k = 0; k <= XDPKV_MAX_KEY; ++k) {
    const __u32 l = xdpkv_key_len(st_.hi, st_.lo, k);
    if (!l) continue;
    keys += keys.empty() ? "keys " : " ";
    keys += std::to_string(k) + ":" + std::to_string(l);
  }
  return "header describes a " + std::to_string(xdpkv_align4(st_.s)) + "-byte store (" + keys +
         ", " + std::to_string(st_.s - kHdr) + " value bytes) but the area has " +
         std::to_string(m) + " bytes";
}

int View::get(uint64_t key, std::span<uint8_t> out) const noexcept {
  return g_hw_popcnt ? get_hw(*this, key, out) : get_sw(*this, key, out);
}

std::vector<Entry> View::entries() const {
  std::vector<Entry> out;
  out.reserve(static_cast<size_t>(std::popcount(st_.hi | st_.lo)));
  for_each([&out](const Entry& e) { out.push_back(e); });
  return out;
}

std::span<const uint8_t> View::foreign() const noexcept {
  if (st_.err != 0) return {};
  return area_.first(area_.size() - store_size());
}

std::span<const uint8_t> View::padding() const noexcept {
  if (st_.err != 0 || area_.empty()) return {};
  const size_t e = xdpkv_align4(st_.s);
  return area_.subspan(area_.size() - e, e - st_.s);
}

// ---- Builder ----------------------------------------------------------------

Builder Builder::from(std::span<const uint8_t> area, size_t capacity) {
  Builder b(capacity);
  b.area_.assign(area.begin(), area.end());
  return b;
}

int Builder::set(uint64_t key, std::span<const uint8_t> val, uint64_t flags) {
  if (const int err = xdpkv_check_set_args(key, val.size(), flags)) return err;
  const View v = view();
  if (const int err = v.validate()) return err;
  const auto k = static_cast<__u32>(key);
  const auto len = static_cast<__u32>(val.size());
  const Header h = header_of(area_);
  const __u32 cur = xdpkv_key_len(h.hi, h.lo, k);
  if (const int err = xdpkv_check_set_presence(cur, flags)) return err;
  if (cur == len) {
    // Same size: overwrite the value bytes in place, touch nothing else.
    std::memcpy(area_.data() + value_offset(area_.size(), h, k, len), val.data(), len);
    return 0;
  }
  __u64 hi = h.hi, lo = h.lo;
  xdpkv_hdr_put(&hi, &lo, k, len);
  return rebuild(hi, lo, k, val);
}

int Builder::set_u16(uint64_t key, uint16_t v, uint64_t flags) {
  uint8_t b[2];
  store_le(b, v, sizeof b);
  return set(key, b, flags);
}

int Builder::set_u32(uint64_t key, uint32_t v, uint64_t flags) {
  uint8_t b[4];
  store_le(b, v, sizeof b);
  return set(key, b, flags);
}

int Builder::set_u64(uint64_t key, uint64_t v, uint64_t flags) {
  uint8_t b[8];
  store_le(b, v, sizeof b);
  return set(key, b, flags);
}

int Builder::del(uint64_t key) {
  if (key > XDPKV_MAX_KEY) return -EINVAL;
  if (const int err = view().validate()) return err;
  const auto k = static_cast<__u32>(key);
  const Header h = header_of(area_);
  if (!xdpkv_key_len(h.hi, h.lo, k)) return -ENOENT;
  __u64 hi = h.hi, lo = h.lo;
  xdpkv_hdr_put(&hi, &lo, k, 0);
  return rebuild(hi, lo, k, {});
}

// Lays out the store described by (new_hi, new_lo) over a valid area: foreign
// bytes stay first, then zero padding, the values (key's from val, the others
// copied from their old places) and the header. Keys below key keep their
// offset from data; the area grows or shrinks by the change of the extent.
int Builder::rebuild(uint64_t new_hi, uint64_t new_lo, unsigned key, std::span<const uint8_t> val) {
  const View v = view();
  const Header old = header_of(area_);
  const Header neu{new_hi, new_lo};
  const size_t m = area_.size();
  const size_t e = v.store_size();  // 0 when m == 0
  const size_t n_foreign = m - e;
  const size_t e2 = xdpkv_align4(xdpkv_store_size(neu.hi, neu.lo));
  const size_t m2 = n_foreign + e2;
  // The kernel's cap bounds every capacity: a longer area would be malformed (§3).
  const size_t cap = capacity_ < XDPKV_META_MAX ? capacity_ : size_t{XDPKV_META_MAX};
  if (e2 > e && m2 > cap) return -ENOSPC;

  std::vector<uint8_t> out(m2, 0);
  if (n_foreign) std::memcpy(out.data(), area_.data(), n_foreign);
  for (__u32 j = 0; j <= XDPKV_MAX_KEY; ++j) {
    const __u32 l = xdpkv_key_len(neu.hi, neu.lo, j);
    if (!l) continue;
    uint8_t* dst = out.data() + value_offset(m2, neu, j, l);
    if (j == key) {
      std::memcpy(dst, val.data(), l);
    } else {
      std::memcpy(dst, area_.data() + value_offset(m, old, j, l), l);
    }
  }
  store_le(out.data() + m2 - kHdr, neu.hi, 8);
  store_le(out.data() + m2 - 8, neu.lo, 8);
  area_ = std::move(out);
  return 0;
}

// ---- errors -----------------------------------------------------------------

namespace {

struct ErrnoInfo {
  int code;
  std::string_view name;
  std::string_view text;
};

constexpr ErrnoInfo kErrnos[] = {
    {EPERM, "EPERM", "operation not permitted"},
    {ENOENT, "ENOENT", "key not present"},
    {ESRCH, "ESRCH", "no such process"},
    {EINTR, "EINTR", "interrupted system call"},
    {EIO, "EIO", "input/output error"},
    {ENXIO, "ENXIO", "no such device or address"},
    {E2BIG, "E2BIG", "argument list too long"},
    {EBADF, "EBADF", "bad file descriptor"},
    {EAGAIN, "EAGAIN", "resource temporarily unavailable"},
    {ENOMEM, "ENOMEM", "out of memory"},
    {EACCES, "EACCES", "permission denied"},
    {EFAULT, "EFAULT", "bad address"},
    {EBUSY, "EBUSY", "device or resource busy"},
    {EEXIST, "EEXIST", "key already present (XDPKV_F_NOEXIST)"},
    {ENODEV, "ENODEV", "no such device"},
    {ENOTDIR, "ENOTDIR", "not a directory"},
    {EINVAL, "EINVAL",
     "invalid argument (key > 63, length not 2/4/8, or unknown or contradictory flags)"},
    {ENOSPC, "ENOSPC",
     "no space (metadata headroom exhausted, or get buffer smaller than the value)"},
    {ERANGE, "ERANGE", "result out of range"},
    {ENOSYS, "ENOSYS", "function not implemented"},
    {ENODATA, "ENODATA", "no data available"},
    {EBADMSG, "EBADMSG", "malformed metadata area"},
    {EOPNOTSUPP, "EOPNOTSUPP", "operation not supported (no XDP metadata support)"},
    {ETIMEDOUT, "ETIMEDOUT", "timed out"},
};

const ErrnoInfo* find_errno(int code) noexcept {
  if (code < 0) code = -code;
  for (const auto& e : kErrnos)
    if (e.code == code) return &e;
  return nullptr;
}

}  // namespace

std::string_view errno_name(int neg) {
  if (neg == 0) return "OK";
  const ErrnoInfo* e = find_errno(neg);
  return e ? e->name : "E?";
}

std::string describe(int neg) {
  if (neg == 0) return "OK (0): success";
  const int code = neg < 0 ? -neg : neg;
  const ErrnoInfo* e = find_errno(code);
  if (!e) return "E? (-" + std::to_string(code) + "): unknown error";
  return std::string(e->name) + " (-" + std::to_string(code) + "): " + std::string(e->text);
}

// ---- hex and JSON -----------------------------------------------------------

namespace {

int hex_value(char c) noexcept {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

bool is_separator(char c) noexcept {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f' || c == ':';
}

std::string printable(char c) {
  const auto u = static_cast<unsigned char>(c);
  if (u >= 0x20 && u < 0x7f) return std::string("'") + c + "'";
  static constexpr char kDigits[] = "0123456789abcdef";
  return std::string("byte 0x") + kDigits[u >> 4] + kDigits[u & 15];
}

}  // namespace

Result<std::vector<uint8_t>> parse_hex(std::string_view text) {
  std::vector<uint8_t> out;
  size_t i = 0;
  while (i < text.size() && is_separator(text[i]) && text[i] != ':') ++i;
  if (text.size() - i >= 2 && text[i] == '0' && (text[i + 1] == 'x' || text[i + 1] == 'X')) i += 2;
  while (i < text.size()) {
    if (is_separator(text[i])) {
      ++i;
      continue;
    }
    const size_t start = i;
    while (i < text.size() && !is_separator(text[i])) {
      if (hex_value(text[i]) < 0) {
        return make_error(EINVAL, "invalid hex character " + printable(text[i]) + " at offset " +
                                      std::to_string(i));
      }
      ++i;
    }
    const size_t n = i - start;
    if (n % 2) {
      std::string group(text.substr(start, n > 16 ? 16 : n));
      if (n > 16) group += "...";
      return make_error(EINVAL, "odd number of hex digits (" + std::to_string(n) + ") in \"" +
                                    group + "\" at offset " + std::to_string(start));
    }
    for (size_t j = start; j < i; j += 2)
      out.push_back(static_cast<uint8_t>(hex_value(text[j]) << 4 | hex_value(text[j + 1])));
  }
  return out;
}

std::string to_hex(std::span<const uint8_t> bytes) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string s;
  s.reserve(bytes.size() * 2);
  for (const uint8_t b : bytes) {
    s += kDigits[b >> 4];
    s += kDigits[b & 15];
  }
  return s;
}

std::string dump_spaced(const nlohmann::ordered_json& j) {
  std::string s;
  if (j.is_object()) {
    s = "{";
    for (auto it = j.begin(); it != j.end(); ++it) {
      if (it != j.begin()) s += ", ";
      s += dump_spaced(nlohmann::ordered_json(it.key())) + ": " + dump_spaced(it.value());
    }
    return s + "}";
  }
  if (j.is_array()) {
    s = "[";
    for (size_t i = 0; i < j.size(); ++i) s += (i ? ", " : "") + dump_spaced(j[i]);
    return s + "]";
  }
  // Strings from outside (an interface name, a path) need not be UTF-8:
  // U+FFFD for a bad sequence instead of nlohmann's type_error 316.
  return j.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace);
}

std::string to_json(const View& view) {
  nlohmann::ordered_json keys = nlohmann::ordered_json::array();
  view.for_each([&keys](const Entry& e) {
    keys.push_back({{"key", e.key}, {"len", e.len}, {"value", to_hex(e.value)}});
  });
  nlohmann::ordered_json doc = {{"size", view.area_size()},
                                {"store_size", view.valid() ? view.store_size() : 0},
                                {"keys", std::move(keys)}};
  return dump_spaced(doc);
}

}  // namespace xdpkv
