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
  // -h/--help prints the help that `xdpkv help NAME` prints (parse(), print_help()).
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

CLI::Option* add_bpffs_option(CLI::App& app, std::string& dir, const std::string& description) {
  // PATH_MAX - 1 - strlen("/registry"): the pin path must fit too.
  return app.add_option("--bpffs", dir, description)
      ->check(non_empty())
      ->check(max_length(4095 - 9))
      ->type_name("DIR");
}

// ---- Help ------------------------------------------------------------------------

std::string wrap(const std::vector<std::string>& words, std::string_view sep, std::size_t at,
                 std::size_t indent) {
  std::string out;
  std::size_t col = at;
  for (std::size_t i = 0; i < words.size(); i++) {
    const std::string w = words[i] + (i + 1 < words.size() ? std::string(sep) : "");
    const std::string_view fit =
        i + 1 < words.size() ? std::string_view(w).substr(0, w.find_last_not_of(' ') + 1) : w;
    if (col > indent && col + fit.size() > 80) {
      while (!out.empty() && out.back() == ' ') out.pop_back();
      out += "\n" + std::string(indent, ' ');
      col = indent;
    }
    out += w;
    col += w.size();
  }
  return out + "\n";
}

namespace {

// A label longer than this (with its indent) goes on a line of its own, its
// description on the next.
constexpr std::size_t kLabelMax = 24;

// One entry of a help's list: what is typed, and what it does.
struct Row {
  std::size_t indent;
  std::string label;
  std::string text;
  bool gap;  // a blank line before it (each subcommand but the first)
};

// NAME for a positional, --name for a flag, --name TYPE for an option.
std::string label_of(const CLI::Option& o) {
  if (o.get_positional()) return o.get_name(true);
  if (o.get_type_size() == 0) return o.get_name();
  const std::string type = o.get_type_name();
  return o.get_name() + " " + type.substr(0, type.find(':'));  // validators append ":NAME"
}

// app's positionals, then its options, that have a description; the help flag is not one.
void option_rows(const CLI::App& app, std::size_t indent, std::vector<Row>& rows) {
  for (const bool positional : {true, false}) {
    for (const CLI::Option* o : app.get_options()) {
      if (o == app.get_help_ptr() || o->get_positional() != positional) continue;
      if (o->get_description().empty() || o->get_group().empty()) continue;
      rows.push_back({indent, label_of(*o), o->get_description(), false});
    }
  }
}

// "NAME POSITIONAL..." (a positional taking several values: "HEX...").
std::string subcommand_label(const CLI::App& sub) {
  std::string label = sub.get_name();
  for (const CLI::Option* o : sub.get_options()) {
    if (!o->get_positional()) continue;
    label += " " + o->get_name(true) + (o->get_items_expected_max() > 1 ? "..." : "");
  }
  return label;
}

// The rows' descriptions start one column for all: after the longest label
// that stays on its line.
std::size_t text_column(const std::vector<Row>& rows) {
  std::size_t width = 0;
  for (const Row& r : rows) {
    const std::size_t w = r.indent + r.label.size();
    if (w <= kLabelMax) width = std::max(width, w);
  }
  return width + 2;
}

// text from column col on, wrapped; each of its lines starts a new line (an
// empty one: a blank line).
std::string wrap_text(const std::string& text, std::size_t col) {
  std::string out;
  std::size_t start = 0;
  while (start < text.size()) {
    std::size_t end = text.find('\n', start);
    if (end == std::string::npos) end = text.size();
    std::vector<std::string> words;
    for (std::size_t w = start; w < end;) {
      const std::size_t next = std::min(text.find(' ', w), end);
      if (next > w) words.push_back(text.substr(w, next - w));
      w = next + 1;
    }
    if (words.empty()) {
      out += "\n";
    } else {
      out += (out.empty() ? "" : std::string(col, ' ')) + wrap(words, " ", col, col);
    }
    start = end + 1;
  }
  return out;
}

std::string format_rows(const std::vector<Row>& rows) {
  const std::size_t col = text_column(rows);
  std::string out;
  for (const Row& r : rows) {
    if (r.gap) out += "\n";
    std::string line = std::string(r.indent, ' ') + r.label;
    if (r.text.empty()) {
      out += line + "\n";
      continue;
    }
    if (line.size() + 2 > col) {
      out += line + "\n";
      line.clear();
    }
    out += line + std::string(col - line.size(), ' ') + wrap_text(r.text, col);
  }
  return out;
}

}  // namespace

std::string format_help(const CLI::App& app) {
  std::vector<Row> rows;
  option_rows(app, 2, rows);
  bool first = true;
  for (const CLI::App* sub : app.get_subcommands([](const CLI::App*) { return true; })) {
    rows.push_back({2, subcommand_label(*sub), sub->get_description(), !first});
    option_rows(*sub, 4, rows);
    first = false;
  }
  std::string out = app.get_description();
  if (!rows.empty()) out += (out.empty() ? "" : "\n") + format_rows(rows);
  const std::string footer = app.get_footer();
  if (!footer.empty()) out += (out.empty() ? "" : "\n") + footer;
  return out;
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

int print_help(const Command& cmd) {
  return write_out(cmd, cmd.help ? cmd.help(cmd) : std::string(cmd.usage));
}

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
