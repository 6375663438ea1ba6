// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
// Key names: the rule, and how names (and any outside text) appear in
// messages; scope names. No BPF here: the import fuzz target links this file alone.
#include <cstdio>
#include <ctime>
#include <iterator>
#include <string>

#include <xdpkv/registry.hpp>

#include "internal.hpp"

namespace xdpkv {
namespace {

constexpr const char* kNameRule = "names are 1-31 characters of [a-z0-9_.-]";

// Escapes bytes outside printable ASCII, and `also`, as \xNN; cuts after max.
std::string escaped(std::string_view s, size_t max, char also) {
  std::string out;
  const size_t shown = s.size() > max ? max : s.size();
  for (size_t i = 0; i < shown; i++) {
    const unsigned char c = static_cast<unsigned char>(s[i]);
    if (c >= 0x20 && c < 0x7f && c != static_cast<unsigned char>(also)) {
      out += static_cast<char>(c);
    } else {
      char b[8];
      std::snprintf(b, sizeof(b), "\\x%02x", c);
      out += b;
    }
  }
  if (shown < s.size()) out += "...(" + std::to_string(s.size()) + " bytes)";
  return out;
}

}  // namespace

std::string printable(std::string_view s, size_t max) { return escaped(s, max, 0); }

std::string quote_name(std::string_view s) { return "'" + escaped(s, 64, '\'') + "'"; }

Status validate_key_name(std::string_view name) {
  if (name.empty()) return make_error(EINVAL, std::string("empty key name: ") + kNameRule);
  if (name.size() >= XDPKV_NAME_MAX) {
    return make_error(EINVAL, "name " + quote_name(name) + " has " + std::to_string(name.size()) +
                                  " characters: " + kNameRule);
  }
  for (size_t i = 0; i < name.size(); i++) {
    if (!xdpkv_name_char_ok(static_cast<uint8_t>(name[i]))) {
      return make_error(EINVAL, "name " + quote_name(name) + " has " +
                                    quote_name(name.substr(i, 1)) + " at " + std::to_string(i) +
                                    ": " + kNameRule);
    }
  }
  return {};
}

namespace {

constexpr const char* kScopeNames[] = {XDPKV_SCOPE_NAMES};
static_assert(std::size(kScopeNames) == XDPKV_SCOPE_MAX + 1, "a name for every scope");

}  // namespace

std::string scope_name(KeyScope s) {
  const auto v = static_cast<unsigned>(s);
  return v <= XDPKV_SCOPE_MAX ? kScopeNames[v] : "scope " + std::to_string(v);
}

Result<KeyScope> parse_scope(std::string_view s) {
  for (unsigned v = 0; v <= XDPKV_SCOPE_MAX; v++)
    if (s == kScopeNames[v]) return static_cast<KeyScope>(v);
  return make_error(EINVAL, "scope '" + printable(s) + "' is not " + kScopeNames[XDPKV_SCOPE_FLOW] +
                                ", " + kScopeNames[XDPKV_SCOPE_PACKET] + " or " +
                                kScopeNames[XDPKV_SCOPE_UNSET]);
}

Error detail::scope_conflict(std::string_view name, int id, KeyScope held, KeyScope want) {
  return make_error(EEXIST, "key " + quote_name(name) + " is registered with scope " +
                                scope_name(held) + " (id " + std::to_string(id) + "), not " +
                                scope_name(want));
}

std::string format_registered(uint64_t ns, bool iso) {
  if (!ns) return "-";
  time_t t = static_cast<time_t>(ns / 1000000000ull);
  tm tm{};
  gmtime_r(&t, &tm);
  char b[40];
  std::strftime(b, sizeof(b), iso ? "%Y-%m-%dT%H:%M:%SZ" : "%Y-%m-%d %H:%M:%S UTC", &tm);
  return b;
}

}  // namespace xdpkv
