// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
// Key names: the rule, and how names (and any outside text) appear in
// messages. No BPF here: the import fuzz target links this file alone.
#include <cstdio>
#include <ctime>
#include <string>

#include <xdpkv/registry.hpp>

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
