// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
// The conventions every command follows, in one place.
//
// Arguments: one parser (CLI11). Each command has a build function that adds
// its options to a CLI::App from make_app(), with the strict validators below,
// each option with the description its help shows; the handler builds and
// calls parse(). Numbers are strict (digits only, or 0x + hex digits: no sign,
// no blanks), and a value is never empty, so `--bpffs="$UNSET"` is an error
// instead of the host's registry.
//
// Help: made from the same parser (help_from, format_help): the app's
// description (synopsis, what the command does), every option and subcommand
// with its description, the app's footer (notes, exit status). --help prints
// it, the same text as `xdpkv help NAME`.
//
// Output: write_out() writes and flushes stdout and says when that failed;
// run() checks stdout once more after every command (finish_output), so a
// command whose output is lost (`> /dev/full`, a closed descriptor) exits 1.
//
// Messages: a value from the command line or an input is shown through
// shorten() (at most kShownMax bytes, control bytes escaped).
#pragma once

#include <CLI/CLI.hpp>
#include <cstdint>
#include <cstdio>
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <xdpkv/result.hpp>

#include "commands.hpp"

namespace xdpkv::cli {

// ---- Arguments -------------------------------------------------------------------

// The parser of `xdpkv NAME`; --help prints the command's help (print_help).
std::unique_ptr<CLI::App> make_app(const Command& self);

// Parses argv (argv[0] is the command name). Returns the exit status when the
// command must stop here (help printed: kExitOk, or kExitFail if it could not
// be written; bad command line: the error and a pointer to the help on
// stderr, kExitUsage), nullopt to go on.
std::optional<int> parse(CLI::App& app, const Command& self, int argc, char** argv);
// A parse error in this tool's words ("unknown option '--x'", "option --wait
// needs a value", ...), every value from the command line shortened.
std::string describe_error(CLI::App& app, const CLI::ParseError& e);

// A value that is not empty.
const CLI::Validator& non_empty();
// An unsigned number, decimal or 0x-hex, no sign or blanks, within [lo, hi].
CLI::Validator strict_uint(std::uint64_t lo, std::uint64_t hi);
// Parses text as strict_uint() does (for values split by hand, e.g. "A-B").
std::optional<std::uint64_t> parse_strict_uint(std::string_view text);
// One of the given words.
CLI::Validator one_of(std::initializer_list<std::string_view> words);
// A value of at most max bytes (names the kernel bounds: IFNAMSIZ, PATH_MAX).
CLI::Validator max_length(std::size_t max);

// An option (or positional) NAME holding a strict unsigned number within
// [lo, hi], stored in out. Converted by parse_strict_uint, never by CLI11's own
// integer conversion (which reads "010" as octal).
template <class T>
CLI::Option* add_uint(CLI::App& app, const std::string& name, T& out, std::uint64_t lo,
                      std::uint64_t hi, const std::string& description) {
  return app
      .add_option_function<std::string>(
          name, [&out](const std::string& s) { out = static_cast<T>(*parse_strict_uint(s)); },
          description)
      ->check(strict_uint(lo, hi))
      ->type_name("N");
}

// add_uint for an option given any number of times, each value appended.
template <class T>
CLI::Option* add_uints(CLI::App& app, const std::string& name, std::vector<T>& out,
                       std::uint64_t lo, std::uint64_t hi, const std::string& description) {
  return app
      .add_option_function<std::vector<std::string>>(
          name,
          [&out](const std::vector<std::string>& v) {
            for (const auto& s : v) out.push_back(static_cast<T>(*parse_strict_uint(s)));
          },
          description)
      ->check(strict_uint(lo, hi))
      ->type_name("N");
}

// The registry directory option (--bpffs DIR), shared by every command that
// opens the registry; description: what the help says of it.
inline constexpr const char* kBpffsHelp =
    "registry directory on a bpf filesystem (default: $XDPKV_BPFFS, else /sys/fs/bpf/xdpkv)";
CLI::Option* add_bpffs_option(CLI::App& app, std::string& dir,
                              const std::string& description = kBpffsHelp);

// ---- Help ------------------------------------------------------------------------

// The help of app: its description, then a list of its positionals and
// options that have a description (one line each: NAME, or --name TYPE, and
// the description wrapped below the others'), of each subcommand (its name and
// positionals, its description, then its own list, indented), then its footer.
// A '\n' in a description starts a new line.
std::string format_help(const CLI::App& app);

// The parser of self (make_app) with what build() adds to it, its values in opts.
template <class Opts>
std::unique_ptr<CLI::App> build_app(const Command& self, void (*build)(CLI::App&, Opts&),
                                    Opts& opts) {
  auto app = make_app(self);
  build(*app, opts);
  return app;
}

// The help of the command whose parser build() makes: built on a throwaway
// Opts, never parsed, so nothing of the command runs.
template <class Opts>
std::string help_from(const Command& self, void (*build)(CLI::App&, Opts&)) {
  Opts unused;
  return format_help(*build_app(self, build, unused));
}

// words joined by sep, in lines of at most 80 columns: the first goes on at
// column `at`, the next ones start with `indent` blanks. Ends with a newline.
std::string wrap(const std::vector<std::string>& words, std::string_view sep, std::size_t at,
                 std::size_t indent);

// ---- Input -----------------------------------------------------------------------

// The hex text of a metadata area from HEX arguments (joined by blanks) or,
// for the single argument "-", from standard input. Returns the exit status
// when the command must stop: usage error for no argument or '-' mixed with
// HEX, kExitFail for unreadable stdin or an input with no hex at all ("no
// input": an empty area is written 0x). Else nullopt, with the bytes in out.
std::optional<int> read_hex_area(const Command& self, const std::vector<std::string>& args,
                                 std::vector<std::uint8_t>& out);

// All of in, at most limit bytes: EFBIG beyond it (nothing more is read), or
// the read error. what names the input in the messages ("standard input").
Result<std::string> read_at_most(std::FILE* in, size_t limit, const std::string& what);

// The most a hex metadata area can take: 252 bytes are 504 hex digits; room
// for "0x", blanks, newlines and one byte per line with comments' worth.
inline constexpr size_t kHexInputMax = size_t{64} << 10;

// ---- Output ----------------------------------------------------------------------

// Writes all of text to stdout and flushes it. On failure says so once on
// stderr ("xdpkv NAME: cannot write standard output: REASON") and returns
// kExitFail, else kExitOk.
int write_out(const Command& self, std::string_view text);
// After a command (run() calls it): flushes stdout and, if the command
// succeeded but a write to stdout failed (also a printf), says so once and
// returns kExitFail; else returns rc. who is the command name (empty for the
// top level).
int finish_output(std::string_view who, int rc);

// ---- Messages --------------------------------------------------------------------

inline constexpr std::size_t kShownMax = 64;
// s for a message: control bytes as \xHH (an ESC must not reach the terminal
// raw), cut to max bytes with "..." when longer.
std::string shorten(std::string_view s, std::size_t max = kShownMax);

}  // namespace xdpkv::cli
