// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
// xdpkv decode HEX... | -
#include <cstdio>
#include <string>
#include <string_view>

#include <xdpkv/codec.hpp>

#include "commands.hpp"

namespace xdpkv::cli {
namespace {

bool read_all(std::FILE* in, std::string& out) {
  char buf[4096];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, in)) > 0) out.append(buf, n);
  return !std::ferror(in);
}

}  // namespace

int cmd_decode(int argc, char** argv) {
  const Command& self = *find_command("decode");
  std::string text;
  bool from_stdin = false;
  int nargs = 0;
  bool options_done = false;
  for (int i = 1; i < argc; ++i) {
    const std::string_view arg = argv[i];
    if (!options_done && arg == "--") {
      options_done = true;
      continue;
    }
    if (!options_done && (arg == "--help" || arg == "-h")) return print_help(self);
    if (!options_done && arg == "-") {
      from_stdin = true;
    } else if (!options_done && arg.size() > 1 && arg[0] == '-') {
      return usage_error(self, "unknown option '" + std::string(arg) + "'");
    } else {
      if (!text.empty()) text += ' ';
      text += arg;
    }
    ++nargs;
  }
  if (nargs == 0) return usage_error(self, "missing HEX argument (or '-' for stdin)");
  if (from_stdin && nargs > 1) return usage_error(self, "'-' cannot be combined with HEX arguments");
  if (from_stdin && !read_all(stdin, text)) return fail(self, "cannot read standard input");

  auto bytes = parse_hex(text);
  if (!bytes) return fail(self, bytes.error().message);
  const View view(*bytes);
  if (view.validate() != 0) return fail(self, view.problem());
  const std::string json = to_json(view) + "\n";
  std::fwrite(json.data(), 1, json.size(), stdout);
  return std::fflush(stdout) == 0 ? kExitOk : kExitFail;
}

}  // namespace xdpkv::cli
