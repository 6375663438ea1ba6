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

struct FeaturesArgs {
  bool json = false;
  std::string need;
};

// The parser and the help's text (args.hpp).
void build(CLI::App& app, FeaturesArgs& a) {
  app.description(
      "usage: xdpkv features [--json]\n"
      "       xdpkv features --need NAME[,NAME...]\n"
      "\n"
      "Probes the running kernel once, the way every xdpkv tool does before it loads\n"
      "anything, and prints each capability: available or not, what the kernel said\n"
      "(a refusal in its own words), the upstream Linux version that has it, and\n"
      "what xdpkv does without it:\n"
      "  grow_meta        bpf_xdp_adjust_meta in XDP (create or grow a store)\n"
      "  meta_252         metadata beyond 32 bytes\n"
      "  live_frames      BPF_PROG_TEST_RUN with BPF_F_TEST_XDP_LIVE_FRAMES\n"
      "  " +
      features::hint_cap_names() +
      "   device-bound RX metadata kfuncs\n"
      "  fentry_prog      fentry/fexit on XDP and TC programs\n"
      "  fentry_kernel    fentry on kernel functions\n"
      "  freplace         extension programs (libxdp's multi-program dispatcher)\n"
      "  dynptr_skb_meta  bpf_dynptr_from_skb_meta in TC\n"
      "  modules          loading kernel modules\n"
      "  xdpkv_module     xdpkv.ko loaded with its kfuncs\n"
      "  tracefs, bpffs   the filesystems mounted\n");
  app.add_flag("--json", a.json,
               "one JSON object: kernel, features [{name, available, what, kernel_said, since, "
               "without}]");
  app.add_option("--need", a.need,
                 "print nothing and exit 0 when every named capability is available, else one "
                 "line for each that is not, exit 1")
      ->check(non_empty())
      ->type_name("LIST");
  app.footer(
      "Where the kernel refuses what a command needs, scripts/guest.sh runs the\n"
      "command in a guest kernel that allows it (docs/KERNELS.md). XDPKV_REFUSE=\n"
      "NAME,... makes capabilities read as refused, to try those paths. Needs root.\n"
      "Exit status: 0 done, 1 a capability of --need is missing, 2 usage error.\n");
}

}  // namespace

int cmd_features(int argc, char** argv) {
  const Command& self = *find_command("features");
  FeaturesArgs a;
  auto app = build_app(self, build, a);
  if (auto rc = parse(*app, self, argc, argv)) return *rc;
  const bool json = a.json;
  const std::string& need = a.need;
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

std::string help_features(const Command& self) { return help_from(self, build); }

}  // namespace xdpkv::cli
