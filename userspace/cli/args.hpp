// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
// One argument parser for every command (CLI11): each handler builds a
// CLI::App with make_app(), adds its options with the strict validators below,
// and calls parse(). Numbers are strict (digits only, or 0x + hex digits: no
// sign, no blanks), and a value is never empty, so `--bpffs="$UNSET"` is an
// error instead of the host's registry.
#pragma once

#include <CLI/CLI.hpp>
#include <cstdint>
#include <optional>
#include <string>

#include "commands.hpp"

namespace xdpkv::cli {

// The parser of `xdpkv NAME`; --help prints the command's usage text.
std::unique_ptr<CLI::App> make_app(const Command& self);

// Parses argv (argv[0] is the command name). Returns the exit status when the
// command must stop here (help printed: kExitOk; bad command line: the error
// and a pointer to the help on stderr, kExitUsage), nullopt to go on.
std::optional<int> parse(CLI::App& app, const Command& self, int argc, char** argv);

// A value that is not empty.
const CLI::Validator& non_empty();
// An unsigned number, decimal or 0x-hex, no sign or blanks, within [lo, hi].
CLI::Validator strict_uint(std::uint64_t lo, std::uint64_t hi);
// Parses text as strict_uint() does (for values split by hand, e.g. "A-B").
std::optional<std::uint64_t> parse_strict_uint(const std::string& text);

// The registry directory option (--bpffs DIR), shared by every command that
// opens the registry.
CLI::Option* add_bpffs_option(CLI::App& app, std::string& dir);

}  // namespace xdpkv::cli
