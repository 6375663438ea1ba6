// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#include "commands.hpp"

namespace xdpkv::cli {
namespace {

// Each command's help is made from its parser: see cmd_NAME.cpp and args.hpp.
constexpr Command kCommands[] = {
    {"decode", "Decode a metadata area given as hex and print it as JSON", "", cmd_decode,
     help_decode},
    {"demo", "Run the whole path on network namespaces: tag, redirect, read at every consumer", "",
     cmd_demo, help_demo},
    {"key", "Register key names and list the key registry (add, ls, show, rm, export, import)", "",
     cmd_key, help_key},
    {"hints",
     "NIC hints: which a device gives (probe) and are they right (verify), decode, RSS hash", "",
     cmd_hints, help_hints},
    {"tag", "Give packets a PACKET_ID in XDP (the shipped tagger, for xdpkv trace)", "", cmd_tag,
     help_tag},
    {"trace", "Trace packets by their PACKET_ID through the kernel (pwru-style)", "", cmd_trace,
     help_trace},
    {"features", "What this kernel allows xdpkv: each capability, the kernel's words, what to do",
     "", cmd_features, help_features},
    {"help", "Show help for a command", "", cmd_help, help_help},
};

}  // namespace

std::span<const Command> commands() { return kCommands; }

const Command* find_command(std::string_view name) {
  for (const Command& c : kCommands)
    if (c.name == name) return &c;
  return nullptr;
}

}  // namespace xdpkv::cli
