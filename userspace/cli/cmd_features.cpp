// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
// xdpkv features [--json] [--need NAME[,NAME...]]: what the running kernel
// allows (xdpkv::features), the table every tool consults before it loads.
#include <algorithm>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include <xdpkv/features.hpp>

#include "args.hpp"
#include "commands.hpp"

namespace xdpkv::cli {
namespace {

std::string as_text(std::span<const features::Feature> rows) {
  size_t w = 0;
  for (const auto& f : rows) w = std::max(w, f.name.size());
  std::ostringstream out;
  out << "Linux " << features::kernel_release() << "\n";
  for (const auto& f : rows) {
    out << "  " << f.name << std::string(w - f.name.size(), ' ') << "  " << (f.ok ? "yes" : "no ")
        << "  " << f.what << " (Linux >= " << f.since << ")\n";
    out << "  " << std::string(w, ' ') << "       kernel: " << f.said << "\n";
    if (!f.ok) out << "  " << std::string(w, ' ') << "       without it: " << f.without << "\n";
  }
  return out.str();
}

std::string as_json(std::span<const features::Feature> rows) {
  nlohmann::ordered_json j;
  j["kernel"] = features::kernel_release();
  auto& list = j["features"] = nlohmann::ordered_json::array();
  for (const auto& f : rows) {
    list.push_back({{"name", f.name},
                    {"available", f.ok},
                    {"what", f.what},
                    {"kernel_said", f.said},
                    {"since", f.since},
                    {"without", f.without}});
  }
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
}

}  // namespace

int cmd_features(int argc, char** argv) {
  const Command& self = *find_command("features");
  auto app = make_app(self);
  bool json = false;
  std::string need;
  app->add_flag("--json", json, "print JSON");
  app->add_option("--need", need, "capabilities that must be available")->check(non_empty());
  if (auto rc = parse(*app, self, argc, argv)) return *rc;
  if (!need.empty()) {
    std::vector<const features::Feature*> wanted;
    std::istringstream in(need);
    for (std::string name; std::getline(in, name, ',');) {
      const features::Feature* f = features::find(name);
      if (!f) return usage_error(self, "--need: unknown capability '" + shorten(name) + "'");
      wanted.push_back(f);
    }
    int rc = kExitOk;
    for (const auto* f : wanted) {
      if (f->ok) continue;
      std::string line = std::string(f->name) + ": " + features::refusal(f->cap, "xdpkv") + "\n";
      if (write_out(self, line) != kExitOk) return kExitFail;
      rc = kExitFail;
    }
    return rc;
  }
  return write_out(self, json ? as_json(features::all()) : as_text(features::all()));
}

}  // namespace xdpkv::cli
