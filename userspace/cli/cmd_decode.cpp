// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
// xdpkv decode HEX... | -
#include <string>
#include <vector>

#include <xdpkv/codec.hpp>

#include "args.hpp"
#include "commands.hpp"

namespace xdpkv::cli {
namespace {

// The parser and the help's text (args.hpp).
void build(CLI::App& app, std::vector<std::string>& hex) {
  app.description(
      "usage: xdpkv decode HEX...\n"
      "       xdpkv decode -\n"
      "\n"
      "Decode an XDP metadata area (the bytes data_meta..data, in memory order) and\n"
      "print its xdpkv store as one line of JSON:\n"
      "  {\"size\": M, \"store_size\": N, \"keys\": [{\"key\": k, \"len\": n, \"value\": \"hex\"}, "
      "...]}\n"
      "value is the stored bytes in memory order (little-endian for typed values).\n");
  app.add_option("HEX", hex,
                 "the metadata area as hex. It may have a 0x prefix and whitespace or ':' "
                 "between byte groups; several arguments are joined. '-' reads the hex from "
                 "standard input. An input with no hex at all (blank, or an empty standard "
                 "input) is an error, \"no input\"; an empty area (M = 0) is written 0x.");
  app.footer("Exit status: 0 decoded, 1 malformed area, bad hex or no input, 2 usage error.\n");
}

}  // namespace

int cmd_decode(int argc, char** argv) {
  const Command& self = *find_command("decode");
  std::vector<std::string> hex;
  auto app = build_app(self, build, hex);
  if (auto rc = parse(*app, self, argc, argv)) return *rc;
  std::vector<uint8_t> bytes;
  if (auto rc = read_hex_area(self, hex, bytes)) return *rc;
  const View view(bytes);
  if (view.validate() != 0) return fail(self, view.problem());
  return write_out(self, to_json(view) + "\n");
}

std::string help_decode(const Command& self) { return help_from(self, build); }

}  // namespace xdpkv::cli
