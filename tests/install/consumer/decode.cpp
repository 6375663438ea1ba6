// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
// A consumer of xdpkv::codec: decodes the store given as hex (argv[1]) and
// checks it holds exactly key 3 = 0x0102030405060708 (u64) and key 7 = 0xbeef
// (u16), as a Builder writes it. Prints the store as JSON.
#include <cstdio>
#include <xdpkv/codec.hpp>

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: consumer_decode HEX\n");
    return 2;
  }
  auto bytes = xdpkv::parse_hex(argv[1]);
  if (!bytes) {
    std::fprintf(stderr, "bad hex: %s\n", bytes.error().message.c_str());
    return 1;
  }
  const xdpkv::View view(*bytes);
  if (!view.valid()) {
    std::fprintf(stderr, "malformed: %s\n", view.problem().c_str());
    return 1;
  }
  xdpkv::Builder expect;
  expect.set_u64(3, 0x0102030405060708ULL);
  expect.set_u16(7, 0xbeef);
  const auto got = view.entries();
  const auto want = expect.view().entries();
  bool same = got.size() == want.size();
  for (size_t i = 0; same && i < got.size(); i++)
    same = got[i].key == want[i].key && got[i].as_uint() == want[i].as_uint();
  std::printf("%s\n", xdpkv::to_json(view).c_str());
  if (!same || xdpkv::to_hex(expect.bytes()) != xdpkv::to_hex(view.area())) {
    std::fprintf(stderr, "decoded store differs from %s\n", xdpkv::to_hex(expect.bytes()).c_str());
    return 1;
  }
  return 0;
}
