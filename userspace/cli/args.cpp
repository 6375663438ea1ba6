// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#include "args.hpp"

#include <cstdio>

namespace xdpkv::cli {

std::unique_ptr<CLI::App> make_app(const Command& self) {
  auto app = std::make_unique<CLI::App>(std::string(self.summary), "xdpkv " + std::string(self.name));
  // -h/--help prints the usage text of the command table (parse()): one source for both.
  app->set_help_flag("-h,--help", "print help");
  app->allow_extras(false);
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
      const std::string a = argv[i];
      if (a == "--") break;
      if (a == "-h" || a == "--help") return print_help(self);
    }
    return usage_error(self, e.what());
  }
  return std::nullopt;
}

const CLI::Validator& non_empty() {
  static const CLI::Validator v(
      [](std::string& s) { return s.empty() ? std::string("empty value") : std::string(); },
      "NONEMPTY", "non-empty");
  return v;
}

std::optional<std::uint64_t> parse_strict_uint(const std::string& text) {
  std::string_view s = text;
  int base = 10;
  if (s.size() > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
    base = 16;
    s.remove_prefix(2);
  }
  if (s.empty() || s.size() > 20) return std::nullopt;
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
    if (v > (UINT64_MAX - d) / static_cast<unsigned>(base)) return std::nullopt;
    v = v * static_cast<unsigned>(base) + d;
  }
  return v;
}

CLI::Validator strict_uint(std::uint64_t lo, std::uint64_t hi) {
  return CLI::Validator(
      [lo, hi](std::string& s) {
        const auto v = parse_strict_uint(s);
        if (!v) return "'" + s + "' is not a number (decimal or 0x hex, no sign or blanks)";
        if (*v < lo || *v > hi)
          return "'" + s + "' is out of range [" + std::to_string(lo) + ", " + std::to_string(hi) +
                 "]";
        return std::string();
      },
      "UINT", "strict unsigned");
}

CLI::Option* add_bpffs_option(CLI::App& app, std::string& dir) {
  return app.add_option("--bpffs", dir, "registry directory on a bpffs (default /sys/fs/bpf/xdpkv)")
      ->check(non_empty())
      ->type_name("DIR");
}

}  // namespace xdpkv::cli
