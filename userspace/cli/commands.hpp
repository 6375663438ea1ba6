// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
// xdpkv command-line tool: the command table. To add a command, write
// cmd_NAME.cpp with a build function that makes its parser (its options, each
// with the text its help shows, and the help's prose: args.hpp), an
// `int cmd_NAME(int argc, char** argv)` and a `std::string help_NAME(const
// Command&)`, declare both below and add one row to the table in commands.cpp.
#pragma once

#include <span>
#include <string>
#include <string_view>

namespace xdpkv::cli {

inline constexpr int kExitOk = 0;
inline constexpr int kExitFail = 1;   // the operation failed (bad input, malformed area, ...)
inline constexpr int kExitUsage = 2;  // bad command line

// argv[0] is the command name, argv[1..argc) its arguments.
using Handler = int (*)(int argc, char** argv);

struct Command;
// The full help of a command, made from its parser (help_from in args.hpp).
using Help = std::string (*)(const Command& self);

struct Command {
  std::string_view name;
  std::string_view summary;  // one line, for `xdpkv --help`
  std::string_view usage;    // the full help when there is no `help` (the top level)
  Handler run;
  Help help = nullptr;  // the full help, for `xdpkv help NAME` and `xdpkv NAME --help`
};

// The table, in the order `xdpkv --help` lists it.
std::span<const Command> commands();
const Command* find_command(std::string_view name);

// Dispatches argv (argv[0] is the program) and returns the exit status.
int run(int argc, char** argv);

// Prints the help of cmd (cmd.help, else cmd.usage) to stdout; returns kExitOk,
// or kExitFail if it could not be written.
int print_help(const Command& cmd);
// Prints "xdpkv NAME: message" and a pointer to the help on stderr; returns kExitUsage.
int usage_error(const Command& cmd, std::string_view message);
// Prints "xdpkv NAME: message" on stderr; returns kExitFail.
int fail(const Command& cmd, std::string_view message);

// Handlers, and their help.
int cmd_help(int argc, char** argv);
int cmd_decode(int argc, char** argv);
int cmd_demo(int argc, char** argv);
int cmd_key(int argc, char** argv);
int cmd_hints(int argc, char** argv);
int cmd_tag(int argc, char** argv);
int cmd_trace(int argc, char** argv);
int cmd_features(int argc, char** argv);
std::string help_help(const Command& self);
std::string help_decode(const Command& self);
std::string help_demo(const Command& self);
std::string help_key(const Command& self);
std::string help_hints(const Command& self);
std::string help_tag(const Command& self);
std::string help_trace(const Command& self);
std::string help_features(const Command& self);

}  // namespace xdpkv::cli
