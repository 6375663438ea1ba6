// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
// xdpkv decode HEX... | -
#include <string>
#include <vector>

#include <xdpkv/codec.hpp>

#include "args.hpp"
#include "commands.hpp"

namespace xdpkv::cli {

int cmd_decode(int argc, char** argv) {
  const Command& self = *find_command("decode");
  auto app = make_app(self);
  std::vector<std::string> hex;
  app->add_option("HEX", hex, "the metadata area as hex ('-': standard input)");
  if (auto rc = parse(*app, self, argc, argv)) return *rc;
  std::vector<uint8_t> bytes;
  if (auto rc = read_hex_area(self, hex, bytes)) return *rc;
  const View view(bytes);
  if (view.validate() != 0) return fail(self, view.problem());
  return write_out(self, to_json(view) + "\n");
}

}  // namespace xdpkv::cli
