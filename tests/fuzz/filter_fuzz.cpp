// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
// libFuzzer target for the tagger's filter grammar (`xdpkv tag --filter`,
// userspace/trace/src/filter.cpp): any input is parsed or refused with a
// message, never a crash; an accepted filter, printed by filter_str(),
// parses back to the same bytes (what the BPF program receives).
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <string_view>

#include <xdpkv/trace.hpp>

#define CHECK(cond)                                                                \
  do {                                                                             \
    if (!(cond)) {                                                                 \
      std::fprintf(stderr, "filter_fuzz: %s:%d: %s\n", __FILE__, __LINE__, #cond); \
      std::abort();                                                                \
    }                                                                              \
  } while (0)

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view s(reinterpret_cast<const char*>(data), size);
  auto f = xdpkv::trace::parse_filter(s);
  if (!f) {
    CHECK(f.error().message.rfind("filter: ", 0) == 0);
    return 0;
  }
  const std::string text = xdpkv::trace::filter_str(*f);
  auto g = xdpkv::trace::parse_filter(text);
  CHECK(g);
  CHECK(std::memcmp(&*f, &*g, sizeof(*f)) == 0);
  CHECK(xdpkv::trace::filter_str(*g) == text);
  return 0;
}
