// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#include "args.hpp"

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>

#include <xdpkv/codec.hpp>

namespace xdpkv::cli {
namespace {

void put(std::FILE* out, std::string_view s) { std::fwrite(s.data(), 1, s.size(), out); }

std::string prefix(std::string_view who) {
  return who.empty() ? std::string("xdpkv: ") : "xdpkv " + std::string(who) + ": ";
}

// Said once per run: a failed write leaves the stream's error flag set, and
// finish_output() looks at it again.
void report_stdout_failure(std::string_view who, int err) {
  static bool reported = false;
  if (reported) return;
  reported = true;
  std::string line = prefix(who) + "cannot write standard output";
  if (err) line += std::string(": ") + std::strerror(err);
  put(stderr, line + "\n");
}

// The names of app's subcommands, "a, b or c"; empty when it has none.
std::string subcommand_names(CLI::App& app) {
  const auto subs = app.get_subcommands([](CLI::App*) { return true; });
  std::string s;
  for (size_t i = 0; i < subs.size(); ++i)
    s += (i ? (i + 1 == subs.size() ? " or " : ", ") : "") + subs[i]->get_name();
  return s;
}

}  // namespace

// CLI11's messages quote values whole: a 100 kB argument would come back.
std::string describe_error(CLI::App& app, const CLI::ParseError& e) {
  const std::string subs = subcommand_names(app);
  const bool no_subcommand = !subs.empty() && app.get_subcommands().empty();
  const bool extras = dynamic_cast<const CLI::ExtrasError*>(&e) != nullptr;
  // With require_subcommand(), an unknown one is a RequiredError.
  if (extras || (no_subcommand && dynamic_cast<const CLI::RequiredError*>(&e))) {
    const std::vector<std::string> extra = app.remaining(true);
    if (!extra.empty()) {
      const std::string& a = extra.front();
      if (a.size() > 1 && a[0] == '-') return "unknown option '" + shorten(a) + "'";
      if (no_subcommand) return "unknown subcommand '" + shorten(a) + "' (" + subs + ")";
      return "unexpected argument '" + shorten(a) + "'";
    }
    if (no_subcommand) return "missing subcommand (" + subs + ")";
  }
  const std::string msg = e.what();
  if (dynamic_cast<const CLI::ArgumentMismatch*>(&e)) {
    std::string name = shorten(msg.substr(0, msg.find_first_of(": ")));
    if (msg.ends_with(" missing")) return "option " + name + " needs a value";
    // CLI11 names the flag without its dashes here.
    if (!name.starts_with("-")) name = (name.size() == 1 ? "-" : "--") + name;
    if (msg.find("flag override") != std::string::npos) return "option " + name + " takes no value";
    if (msg.find("At Most") != std::string::npos)
      return "option " + name + " is given more than once";
  }
  return shorten(msg, 4 * kShownMax);
}

namespace {

bool blank(std::string_view s) {
  return std::all_of(s.begin(), s.end(), [](char c) {
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
  });
}

}  // namespace

Result<std::string> read_at_most(std::FILE* in, size_t limit, const std::string& what) {
  std::string out;
  char buf[4096];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, in)) > 0) {
    if (out.size() + n > limit) {
      return make_error(EFBIG, what + " is longer than " + std::to_string(limit) +
                                   " bytes, more than a valid input can be");
    }
    out.append(buf, n);
  }
  if (std::ferror(in))
    return make_error(errno, "cannot read " + what + ": " + std::strerror(errno));
  return out;
}

// ---- Arguments -------------------------------------------------------------------

std::unique_ptr<CLI::App> make_app(const Command& self) {
  auto app =
      std::make_unique<CLI::App>(std::string(self.summary), "xdpkv " + std::string(self.name));
  // -h/--help prints the usage text of the command table (parse()): one source for both.
  app->set_help_flag("-h,--help", "print help");
  app->allow_extras(false);
  // --flag=VALUE is an error, not a silent override (subcommands inherit it).
  app->option_defaults()->disable_flag_override();
  return app;
}

std::optional<int> parse(CLI::App& app, const Command& self, int argc, char** argv) {
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp&) {
    return print_help(self);
  } catch (const CLI::ParseError& e) {
    // A --help anywhere wins over an error elsewhere, as with getopt tools.
    for (int i = 1; i < argc; ++i) {
      const std::string_view a = argv[i];
      if (a == "--") break;
      if (a == "-h" || a == "--help") return print_help(self);
    }
    return usage_error(self, describe_error(app, e));
  }
  return std::nullopt;
}

const CLI::Validator& non_empty() {
  static const CLI::Validator v(
      [](std::string& s) { return s.empty() ? std::string("empty value") : std::string(); },
      "NONEMPTY", "non-empty");
  return v;
}

namespace {

// The number in s (decimal, or 0x + hex digits); overflow is set when it
// does not fit in 64 bits. nullopt when s is not written as a number.
std::optional<std::uint64_t> scan_uint(std::string_view s, bool& overflow) {
  overflow = false;
  unsigned base = 10;
  if (s.size() > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
    base = 16;
    s.remove_prefix(2);
  }
  if (s.empty()) return std::nullopt;
  std::uint64_t v = 0;
  for (char c : s) {
    unsigned d;
    if (c >= '0' && c <= '9') {
      d = static_cast<unsigned>(c - '0');
    } else if (base == 16 && c >= 'a' && c <= 'f') {
      d = static_cast<unsigned>(c - 'a' + 10);
    } else if (base == 16 && c >= 'A' && c <= 'F') {
      d = static_cast<unsigned>(c - 'A' + 10);
    } else {
      return std::nullopt;
    }
    if (v > (UINT64_MAX - d) / base) overflow = true;
    v = v * base + d;
  }
  return v;
}

}  // namespace

std::optional<std::uint64_t> parse_strict_uint(std::string_view s) {
  bool overflow;
  auto v = scan_uint(s, overflow);
  if (overflow) return std::nullopt;
  return v;
}

CLI::Validator strict_uint(std::uint64_t lo, std::uint64_t hi) {
  return CLI::Validator(
      [lo, hi](std::string& s) {
        bool overflow;
        const auto v = scan_uint(s, overflow);
        if (!v)
          return "'" + shorten(s) + "' is not a number (decimal or 0x hex, no sign or blanks)";
        if (overflow || *v < lo || *v > hi) {
          return "'" + shorten(s) + "' is out of range [" + std::to_string(lo) + ", " +
                 std::to_string(hi) + "]";
        }
        return std::string();
      },
      "UINT", "strict unsigned");
}

CLI::Validator one_of(std::initializer_list<std::string_view> words) {
  std::vector<std::string> w(words.begin(), words.end());
  std::string list;
  for (size_t i = 0; i < w.size(); ++i)
    list += (i ? (i + 1 == w.size() ? " or " : ", ") : "") + w[i];
  return CLI::Validator(
      [w, list](std::string& s) {
        if (std::find(w.begin(), w.end(), s) != w.end()) return std::string();
        return "'" + shorten(s) + "' is not " + list;
      },
      "WORD", "one of " + list);
}

CLI::Validator max_length(std::size_t max) {
  return CLI::Validator(
      [max](std::string& s) {
        if (s.size() <= max) return std::string();
        return "'" + shorten(s) + "' is longer than " + std::to_string(max) + " bytes";
      },
      "LEN", "at most " + std::to_string(max) + " bytes");
}

CLI::Option* add_bpffs_option(CLI::App& app, std::string& dir) {
  // PATH_MAX - 1 - strlen("/registry"): the pin path must fit too.
  return app
      .add_option("--bpffs", dir, "registry directory on a bpffs (default /sys/fs/bpf/xdpkv)")
      ->check(non_empty())
      ->check(max_length(4095 - 9))
      ->type_name("DIR");
}

// ---- Input -----------------------------------------------------------------------

std::optional<int> read_hex_area(const Command& self, const std::vector<std::string>& args,
                                 std::vector<std::uint8_t>& out) {
  if (args.empty()) return usage_error(self, "missing HEX argument (or '-' for stdin)");
  const bool from_stdin = std::find(args.begin(), args.end(), "-") != args.end();
  if (from_stdin && args.size() > 1)
    return usage_error(self, "'-' cannot be combined with HEX arguments");
  std::string text;
  if (from_stdin) {
    auto in = read_at_most(stdin, kHexInputMax, "standard input");
    if (!in) return fail(self, in.error().message + " (a metadata area is at most 252 bytes)");
    text = std::move(*in);
  } else {
    for (const std::string& a : args) text += (text.empty() ? "" : " ") + a;
  }
  // No hex at all is a mistake (an empty pipe, an unset variable), not an
  // empty area: that one is written 0x.
  if (blank(text)) {
    return fail(self, std::string("no input: ") +
                          (from_stdin ? "standard input is empty" : "HEX is blank") +
                          " (an empty metadata area is written 0x)");
  }
  auto bytes = parse_hex(text);
  if (!bytes) return fail(self, bytes.error().message);
  out = std::move(*bytes);
  return std::nullopt;
}

// ---- Output ----------------------------------------------------------------------

int write_out(const Command& self, std::string_view text) {
  errno = 0;
  if (std::fwrite(text.data(), 1, text.size(), stdout) == text.size() && std::fflush(stdout) == 0)
    return kExitOk;
  report_stdout_failure(self.name, errno);
  return kExitFail;
}

int finish_output(std::string_view who, int rc) {
  errno = 0;
  if (std::fflush(stdout) == 0 && !std::ferror(stdout)) return rc;
  // A command that failed has said why already (maybe this very write).
  if (rc != kExitOk) return rc;
  report_stdout_failure(who, errno);
  return kExitFail;
}

int print_help(const Command& cmd) { return write_out(cmd, cmd.usage); }

namespace {

// A message's control characters as \xNN (an interface name or an argument
// inside a library's message must not drive the terminal); its own line
// breaks and tabs stay.
std::string escaped(std::string_view message) {
  std::string o;
  o.reserve(message.size());
  for (const char ch : message) {
    const auto c = static_cast<unsigned char>(ch);
    if ((c < 0x20 && c != '\n' && c != '\t') || c == 0x7f) {
      char b[5];
      std::snprintf(b, sizeof b, "\\x%02x", c);
      o += b;
    } else {
      o += ch;
    }
  }
  return o;
}

}  // namespace

int usage_error(const Command& cmd, std::string_view message) {
  put(stderr,
      prefix(cmd.name) + escaped(message) + "\nTry 'xdpkv help " + std::string(cmd.name) + "'.\n");
  return kExitUsage;
}

int fail(const Command& cmd, std::string_view message) {
  put(stderr, prefix(cmd.name) + escaped(message) + "\n");
  return kExitFail;
}

// ---- Messages --------------------------------------------------------------------

std::string shorten(std::string_view s, std::size_t max) {
  size_t cut = s.size();
  if (cut > max) {
    cut = max;
    // Do not split a UTF-8 sequence.
    while (cut > 0 && (static_cast<unsigned char>(s[cut]) & 0xc0) == 0x80) --cut;
  }
  std::string o;
  for (size_t i = 0; i < cut; ++i) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (c < 0x20 || c == 0x7f) {
      char b[5];
      std::snprintf(b, sizeof b, "\\x%02x", c);
      o += b;
    } else {
      o += static_cast<char>(c);
    }
  }
  if (cut < s.size()) o += "...";
  return o;
}

}  // namespace xdpkv::cli
