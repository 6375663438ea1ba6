// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
// xdpkv command-line tool: the command table. To add a command, write
// cmd_NAME.cpp with an `int cmd_NAME(int argc, char** argv)`, declare it
// below and add one row to the table in commands.cpp.
#pragma once

#include <span>
#include <string_view>

namespace xdpkv::cli {

inline constexpr int kExitOk = 0;
inline constexpr int kExitFail = 1;   // the operation failed (bad input, malformed area, ...)
inline constexpr int kExitUsage = 2;  // bad command line

// argv[0] is the command name, argv[1..argc) its arguments.
using Handler = int (*)(int argc, char** argv);

struct Command {
  std::string_view name;
  std::string_view summary;  // one line, for `xdpkv --help`
  std::string_view usage;    // full help, for `xdpkv help NAME` and `xdpkv NAME --help`
  Handler run;
};

// The table, in the order `xdpkv --help` lists it.
std::span<const Command> commands();
const Command* find_command(std::string_view name);

// Dispatches argv (argv[0] is the program) and returns the exit status.
int run(int argc, char** argv);

// Prints cmd.usage to stdout; returns kExitOk.
int print_help(const Command& cmd);
// Prints "xdpkv NAME: message" and a pointer to the help on stderr; returns kExitUsage.
int usage_error(const Command& cmd, std::string_view message);
// Prints "xdpkv NAME: message" on stderr; returns kExitFail.
int fail(const Command& cmd, std::string_view message);

// Handlers.
int cmd_help(int argc, char** argv);
int cmd_decode(int argc, char** argv);
int cmd_demo(int argc, char** argv);
int cmd_key(int argc, char** argv);
int cmd_hints(int argc, char** argv);
int cmd_tag(int argc, char** argv);
int cmd_trace(int argc, char** argv);
int cmd_features(int argc, char** argv);

}  // namespace xdpkv::cli
