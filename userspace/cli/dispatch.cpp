// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#include <cstdio>
#include <string>
#include <string_view>

#include "commands.hpp"

#ifndef XDPKV_VERSION_STRING
#define XDPKV_VERSION_STRING "unknown"
#endif

namespace xdpkv::cli {
namespace {

void print_main_usage(std::FILE* out) {
  std::fputs(
      "usage: xdpkv [--help] [--version] COMMAND [ARGS...]\n"
      "\n"
      "xdpkv: a per-packet key-value store in the XDP metadata area.\n"
      "\n"
      "Commands:\n",
      out);
  size_t width = 0;
  for (const Command& c : commands()) width = c.name.size() > width ? c.name.size() : width;
  for (const Command& c : commands()) {
    std::fprintf(out, "  %-*.*s  %.*s\n", static_cast<int>(width), static_cast<int>(c.name.size()),
                 c.name.data(), static_cast<int>(c.summary.size()), c.summary.data());
  }
  std::fputs("\nRun 'xdpkv help COMMAND' for details.\n", out);
}

void put(std::FILE* out, std::string_view s) { std::fwrite(s.data(), 1, s.size(), out); }

}  // namespace

int print_help(const Command& cmd) {
  put(stdout, cmd.usage);
  return kExitOk;
}

int usage_error(const Command& cmd, std::string_view message) {
  std::string line = "xdpkv " + std::string(cmd.name) + ": " + std::string(message) + "\n" +
                     "Try 'xdpkv help " + std::string(cmd.name) + "'.\n";
  put(stderr, line);
  return kExitUsage;
}

int fail(const Command& cmd, std::string_view message) {
  std::string line = "xdpkv " + std::string(cmd.name) + ": " + std::string(message) + "\n";
  put(stderr, line);
  return kExitFail;
}

int cmd_help(int argc, char** argv) {
  if (argc == 1) {
    print_main_usage(stdout);
    return kExitOk;
  }
  const Command& self = *find_command("help");
  if (argc > 2) return usage_error(self, "too many arguments");
  const Command* cmd = find_command(argv[1]);
  if (!cmd) return usage_error(self, "unknown command '" + std::string(argv[1]) + "'");
  return print_help(*cmd);
}

int run(int argc, char** argv) {
  if (argc < 2) {
    print_main_usage(stderr);
    return kExitUsage;
  }
  const std::string_view first = argv[1];
  if (first == "--help" || first == "-h") {
    print_main_usage(stdout);
    return kExitOk;
  }
  if (first == "--version" || first == "-V") {
    std::puts("xdpkv " XDPKV_VERSION_STRING);
    return kExitOk;
  }
  const Command* cmd = find_command(first);
  if (!cmd) {
    std::fprintf(stderr, "xdpkv: unknown %s '%s'\nTry 'xdpkv --help'.\n",
                 first.starts_with("-") ? "option" : "command", argv[1]);
    return kExitUsage;
  }
  if (argc == 3 && (std::string_view(argv[2]) == "--help" || std::string_view(argv[2]) == "-h"))
    return print_help(*cmd);
  return cmd->run(argc - 1, argv + 1);
}

}  // namespace xdpkv::cli
