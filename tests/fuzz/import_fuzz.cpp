// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
// libFuzzer target for the registry's import parser (xdpkv::parse_export,
// `xdpkv key import`): any input is refused with a bounded message or parsed
// into valid assignments that export and parse back to themselves. Never a
// crash, an uncaught exception (before nlohmann-json: std::invalid_argument on
// a malformed \u escape) or a sanitizer report.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>
#include <vector>

#include <xdpkv/registry.hpp>

namespace {

void check(bool ok) {
  if (!ok) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  auto r = xdpkv::parse_export(text);
  if (!r) {
    // Messages are cut: no input is echoed whole.
    check(r.error().code != 0 && !r.error().message.empty() && r.error().message.size() < 1024);
    return 0;
  }
  std::vector<xdpkv::RegistryEntry> entries;
  for (const xdpkv::KeyAssignment& k : *r) {
    check(xdpkv::validate_key_name(k.name).ok());
    check(k.id >= 0 && k.id <= XDPKV_MAX_KEY);
    check(k.size == 2 || k.size == 4 || k.size == 8);
    xdpkv::RegistryEntry e;
    e.id = k.id;
    e.name = k.name;
    e.size = k.size;
    entries.push_back(e);
  }
  auto again = xdpkv::parse_export(xdpkv::export_json(entries));
  check(again.ok() && *again == *r);
  return 0;
}
