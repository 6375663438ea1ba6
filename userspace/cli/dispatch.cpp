// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
// The top level: `xdpkv [--help] [--version] COMMAND [ARGS...]`, and `xdpkv help`.
#include <algorithm>
#include <cstdio>
#include <string>
#include <string_view>

#include <xdpkv/bpf_util.hpp>

#include "args.hpp"
#include "commands.hpp"

#ifndef XDPKV_VERSION_STRING
#define XDPKV_VERSION_STRING "unknown"
#endif

namespace xdpkv::cli {
namespace {

std::string main_usage() {
  std::string s =
      "usage: xdpkv [--help] [--version] [--verbose] COMMAND [ARGS...]\n"
      "\n"
      "xdpkv: a per-packet key-value store in the XDP metadata area.\n"
      "\n"
      "Commands:\n";
  size_t width = 0;
  for (const Command& c : commands()) width = std::max(width, c.name.size());
  for (const Command& c : commands()) {
    s += "  " + std::string(c.name) + std::string(width - c.name.size(), ' ') + "  " +
         std::string(c.summary) + "\n";
  }
  return s +
         "\n--verbose: a BPF program the kernel refuses unexpectedly is reported with the\n"
         "tail of the verifier's log (by default: one line ending in its last words).\n"
         "\nRun 'xdpkv help COMMAND' for details.\n";
}

// The top level's own command-table entry: its usage is main_usage().
const Command& top() {
  static const std::string usage = main_usage();
  static const Command self{"", "", usage, nullptr};
  return self;
}

int top_usage_error(std::string_view message) {
  std::fputs(("xdpkv: " + std::string(message) + "\nTry 'xdpkv --help'.\n").c_str(), stderr);
  return kExitUsage;
}

// The parser and the help's text of `xdpkv help` (args.hpp).
void build_help(CLI::App& app, std::string& name) {
  app.description(
      "usage: xdpkv help [COMMAND]\n"
      "\n"
      "Show the list of commands, or the help of COMMAND.\n");
  app.add_option("COMMAND", name, "the command to show the help of");
}

}  // namespace

int cmd_help(int argc, char** argv) {
  const Command& self = *find_command("help");
  std::string name;
  auto app = build_app(self, build_help, name);
  if (auto rc = parse(*app, self, argc, argv)) return *rc;
  if (argc == 1) return write_out(self, top().usage);
  const Command* cmd = find_command(name);
  if (!cmd) return usage_error(self, "unknown command '" + shorten(name) + "'");
  return print_help(*cmd);
}

std::string help_help(const Command& self) { return help_from(self, build_help); }

int run(int argc, char** argv) {
  // The global options are those before the first word that is not an
  // option: everything from the command name on belongs to the command.
  int first = 1;
  while (first < argc && argv[first][0] == '-' && argv[first][1] != '\0') {
    if (std::string_view(argv[first++]) == "--") break;
  }
  CLI::App app("xdpkv", "xdpkv");
  app.set_help_flag();
  app.option_defaults()->disable_flag_override();
  bool help = false, version = false, verbose = false;
  app.add_flag("-h,--help", help, "print help");
  app.add_flag("-V,--version", version, "print the version");
  app.add_flag("-v,--verbose", verbose, "verifier logs of refused programs");
  try {
    app.parse(first, argv);
  } catch (const CLI::ParseError& e) {
    return top_usage_error(describe_error(app, e));
  }
  bpf::set_load_log(verbose);
  if (help) return finish_output("", write_out(top(), top().usage));
  if (version) return finish_output("", write_out(top(), "xdpkv " XDPKV_VERSION_STRING "\n"));
  if (first >= argc) {
    std::fwrite(top().usage.data(), 1, top().usage.size(), stderr);
    return kExitUsage;
  }
  const Command* cmd = find_command(argv[first]);
  if (!cmd) return top_usage_error("unknown command '" + shorten(argv[first]) + "'");
  return finish_output(cmd->name, cmd->run(argc - first, argv + first));
}

}  // namespace xdpkv::cli
