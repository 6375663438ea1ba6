// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#include "commands.hpp"

namespace xdpkv::cli {
namespace {

constexpr Command kCommands[] = {
    {"decode", "Decode a metadata area given as hex and print it as JSON",
     "usage: xdpkv decode HEX...\n"
     "       xdpkv decode -\n"
     "\n"
     "Decode an XDP metadata area (the bytes data_meta..data, in memory order) and\n"
     "print its xdpkv store as one line of JSON:\n"
     "  {\"size\": M, \"store_size\": N, \"keys\": [{\"key\": k, \"len\": n, \"value\": \"hex\"}, ...]}\n"
     "value is the stored bytes in memory order (little-endian for typed values).\n"
     "\n"
     "HEX may have a 0x prefix and whitespace or ':' between byte groups; several\n"
     "arguments are joined. '-' reads the hex from standard input.\n"
     "\n"
     "Exit status: 0 decoded, 1 malformed area or bad hex, 2 usage error.\n",
     cmd_decode},
    {"demo", "Tag packets in an XDP program and decode the stores they carry",
     "usage: xdpkv demo [--packets N] [--quiet]\n"
     "\n"
     "Load the XDP program xdpkv_tag (xdp/progs/tag.bpf.c), run it on N packets\n"
     "(default 12; IPv4/IPv6, UDP/TCP, every third one already carrying 8 bytes of\n"
     "another program's metadata) through BPF_PROG_TEST_RUN, and print for each\n"
     "packet the store it carries: packet_id (u64, unique), flow_hash (u32, stable\n"
     "per flow), ingress (u16). Checks that ids are unique, hashes stable and the\n"
     "foreign bytes intact. Needs root (CAP_BPF + CAP_PERFMON).\n"
     "\n"
     "  --packets N   packets to tag (1..100000)\n"
     "  --quiet       print only the summary and errors\n"
     "\n"
     "Exit status: 0 all packets tagged and verified, 1 otherwise, 2 usage error.\n",
     cmd_demo},
    {"help", "Show help for a command",
     "usage: xdpkv help [COMMAND]\n"
     "\n"
     "Show the list of commands, or the help of COMMAND.\n",
     cmd_help},
};

}  // namespace

std::span<const Command> commands() { return kCommands; }

const Command* find_command(std::string_view name) {
  for (const Command& c : kCommands)
    if (c.name == name) return &c;
  return nullptr;
}

}  // namespace xdpkv::cli
