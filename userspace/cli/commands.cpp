// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#include "commands.hpp"

#include <string>
#include <vector>

#include <xdpkv/trace.hpp>

namespace xdpkv::cli {
namespace {

// words joined by sep, in lines of at most 80 columns: the first goes on at
// column `at`, the next ones start with `indent` blanks.
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

// `xdpkv trace`'s help: its points and columns come from the library's lists.
const std::string& trace_usage() {
  static const std::string u = [] {
    std::vector<std::string> json = trace::json_members();
    json.emplace_back("[store]");
    return "usage: xdpkv trace [--key NAME | --key-id N] [--bpffs DIR] [--value N | --range A-B]\n"
           "                   [--netns NS] [--iface IF] [--points REGEX] [--json] [--pcap FILE]\n"
           "                   [--output-store] [--follow] [--max-events N] [--duration S]\n"
           "                   [--prog ID]... [--xdp-progs IFACE]... [--fentry FUNC]...\n"
           "\n"
           "Attaches to the skb tracepoints (tp_btf, else raw tracepoints: no tracefs\n"
           "needed) and the sockets' cgroup hook, reads each skb's xdpkv store and prints\n"
           "the packets that carry the key (default packet_id, from the registry), one\n"
           "line per sighting. The xdp tracepoints (redirect, exception) are counted per\n"
           "program and device.\n"
           "  points:  " +
           wrap(trace::point_names(), ", ", 11, 11) + "  fentry (where the kernel allows it): " +
           wrap(trace::fentry_functions(), ", ", 39, 11) +
           "  columns: " + wrap(trace::text_columns(), " ", 11, 11) +
           "\n"
           "  --value N / --range A-B   only these ids\n"
           "  --netns NS, --iface IF    only skbs in that namespace / on that device\n"
           "  --points REGEX            only points whose name matches\n"
           "  --json                    one JSON object per line: " +
           wrap(json, " ", 54, 28) +
           "  --output-store            also the decoded store\n"
           "  --pcap FILE               pcapng: one packet per event, comment = point + store\n"
           "  --follow                  keep following an skb by address after its\n"
           "                            metadata is gone, until it is freed (ID shows '*')\n"
           "  --max-events N, --duration S   stop after N events / S seconds\n"
           "  --ringbuf BYTES           ring buffer size (power of 2, 4 KiB to 1 GiB,\n"
           "                            default 4 MiB)\n"
           "  --prog ID                 fentry/fexit on that XDP or TC program: points\n"
           "                            xdp:NAME (store before it) and xdp:NAME/fexit (after\n"
           "                            it; REASON = its action), tc:NAME likewise\n"
           "  --xdp-progs IFACE         the same on every XDP program on IFACE (in --netns)\n"
           "  --fentry FUNC             fentry on a kernel function whose first argument\n"
           "                            is a struct sk_buff *\n"
           "  A kernel that refuses fentry/fexit (BPF trampolines, Linux 5.5+) is named\n"
           "  and the tracepoints are traced without them.\n"
           "\n"
           "Stops at --max-events, --duration, Ctrl-C or SIGTERM, detaches everything,\n"
           "and prints event and loss counts, the xdp counters and, per id, the points\n"
           "seen in order and where the packet ended (delivered, dropped (REASON), in\n"
           "flight). See docs/TRACE.md. Needs root.\n"
           "Exit status: 0 done, 1 failed, 2 usage error.\n";
  }();
  return u;
}

// Not constexpr: trace's usage is made from the library's lists at start.
const Command kCommands[] = {
    {"decode", "Decode a metadata area given as hex and print it as JSON",
     "usage: xdpkv decode HEX...\n"
     "       xdpkv decode -\n"
     "\n"
     "Decode an XDP metadata area (the bytes data_meta..data, in memory order) and\n"
     "print its xdpkv store as one line of JSON:\n"
     "  {\"size\": M, \"store_size\": N, \"keys\": [{\"key\": k, \"len\": n, \"value\": \"hex\"}, "
     "...]}\n"
     "value is the stored bytes in memory order (little-endian for typed values).\n"
     "\n"
     "HEX may have a 0x prefix and whitespace or ':' between byte groups; several\n"
     "arguments are joined. '-' reads the hex from standard input. An input with no\n"
     "hex at all (blank, or an empty standard input) is an error, \"no input\"; an\n"
     "empty area (M = 0) is written 0x.\n"
     "\n"
     "Exit status: 0 decoded, 1 malformed area, bad hex or no input, 2 usage error.\n",
     cmd_decode},
    {"demo", "Run the whole path on network namespaces: tag, redirect, read at every consumer",
     "usage: xdpkv demo [--packets N] [--show N] [--quiet] [--gen dpdk|socket] [--bpffs DIR]\n"
     "       xdpkv demo --offline [--packets N] [--quiet] [--bpffs DIR]\n"
     "\n"
     "Builds client -> lb -> backend on three new network namespaces joined by veth\n"
     "pairs, loads the load balancer (userspace/demo/lb.bpf.c) and sends N UDP packets\n"
     "(default 300, 8 flows) from the client to the VIP with the DPDK generator\n"
     "(xdpkv-trafficgen, net_af_xdp on the client's veth; --gen socket: plain UDP\n"
     "sockets), three times:\n"
     "  devmap  lb XDP tags PACKET_ID/FLOW_HASH/BACKEND_ID, IPIP-encapsulates and\n"
     "          redirects; devmap program, backend XDP (decap) and TC ingress read it\n"
     "  cpumap  the same through a cpumap entry program and the skb it builds\n"
     "  AF_XDP  the backend hands frames to an AF_XDP socket; the C++ codec reads\n"
     "          the store at data - 16\n"
     "then two sections:\n"
     "  trace   xdpkv trace follows 3 packets by PACKET_ID to the socket and one to\n"
     "          its drop (no listener), with the kernel's drop reason\n"
     "  hints   rx hash, VLAN and timestamp captured in lbin's first XDP program\n"
     "          (driver kfuncs, or software), read back after devmap and cpumap, and\n"
     "          skb->hash after cpumap with and without the TC restore\n"
     "For the first --show packets (default 3) it prints the store seen at every\n"
     "consumer, then per-consumer counts. Key ids come from the registry by name:\n"
     "a registry of this run's own (removed at exit) unless --bpffs DIR names one.\n"
     "Everything it creates is removed at exit, also on Ctrl-C. Needs root.\n"
     "\n"
     "--offline tags packets with userspace/demo/tag.bpf.c through BPF_PROG_TEST_RUN only\n"
     "(no namespaces): every third packet carries a cooperating program's 8 bytes\n"
     "below the store, every eighth a foreign-only area that xdpkv must refuse.\n"
     "Its key ids (packet_id, flow_hash, ingress) also come from the registry.\n"
     "\n"
     "Exit status: 0 every packet reached every consumer with a byte-identical store\n"
     "and the trace and hints sections passed, 1 otherwise, 2 usage error.\n",
     cmd_demo},
    {"key", "Register key names and list the key registry (add, ls, show, rm, export, import)",
     "usage: xdpkv key [--bpffs DIR] SUBCOMMAND [ARGS...]\n"
     "\n"
     "Manage the key registry: names for the 64 key ids, shared by every program on\n"
     "this host. Ids are handed out in the kernel (a BPF program under a spin lock),\n"
     "so all programs that ask for the same name get the same id.\n"
     "\n"
     "  add NAME SIZE [--id ID] [--scope flow|packet]\n"
     "                           register NAME for values of SIZE bytes (2, 4 or 8) and\n"
     "                           print its id; asking again with the same SIZE gives\n"
     "                           the same id. --id ID asks for a fixed id. --scope says\n"
     "                           how the value behaves under GRO: flow (the same on\n"
     "                           every packet of a flow: merging keeps going) or packet\n"
     "                           (differs per packet: merging stops). Without it the\n"
     "                           scope is unset ('-'); a key registered with one scope\n"
     "                           refuses the other; an unset key stays unset.\n"
     "  ls [--json]              list the registered keys: id, name, size, scope,\n"
     "                           owner, time\n"
     "  show NAME|ID [--json]    show one key\n"
     "  rm NAME                  unregister NAME; its id becomes free\n"
     "  export FILE              write every assignment (name, id, size, scope) as JSON\n"
     "                           ('-': standard output)\n"
     "  import FILE              register the assignments of an export at the same ids\n"
     "                           ('-': standard input). If any of them conflicts with\n"
     "                           this host's registry, nothing is changed and each\n"
     "                           conflict is listed.\n"
     "\n"
     "Names are 1-31 characters of [a-z0-9_.-]. Ids 60-63 are reserved for hints, so\n"
     "60 keys can be registered.\n"
     "\n"
     "  --bpffs DIR   registry directory on a bpf filesystem (default: $XDPKV_BPFFS,\n"
     "                else /sys/fs/bpf/xdpkv). add and import create it, and mount\n"
     "                bpffs on /sys/fs/bpf if none is mounted (and say so).\n"
     "\n"
     "add, rm and import need root (CAP_BPF); ls, show and export need only read\n"
     "access to DIR/registry (docs/REGISTRY.md explains how to grant it).\n"
     "\n"
     "Examples:\n"
     "  xdpkv key add packet_id 8 --scope packet\n"
     "                                   # registered 'packet_id' (8 bytes, scope packet)\n"
     "                                   # as key id 0\n"
     "  xdpkv key ls\n"
     "  xdpkv key export keys.json       # on one host; then, on every other host:\n"
     "  xdpkv key import keys.json\n"
     "\n"
     "Exit status: 0 done, 1 failed (conflict, no such key, no permission), 2 usage error.\n",
     cmd_key},
    {"hints",
     "NIC hints: which a device gives (probe) and are they right (verify), decode, RSS hash",
     "usage: xdpkv hints probe IFACE [--netns NAME] [--live] [--no-live] [--wait MS] [--json]\n"
     "       xdpkv hints decode HEX...|-\n"
     "       xdpkv hints hash SRC DST [SPORT DPORT]\n"
     "       xdpkv hints verify IFACE [--netns NAME] [--from DEV [--from-netns NAME]]\n"
     "                          [--no-send] [--count N] [--timeout MS] [--key HEX]\n"
     "                          [--vlan TCI] [--no-redirects] [--json]\n"
     "\n"
     "RX hints are the RX hash (and its type), the VLAN tag and the RX timestamp of\n"
     "a packet. xdpkv captures them in the first XDP program from the driver (the\n"
     "device-bound kfuncs bpf_xdp_metadata_rx_hash/_vlan_tag/_timestamp) or in\n"
     "software, and keeps them in the packet's store (keys 60-62), where they\n"
     "survive XDP_REDIRECT; see docs/DRIVERS.md.\n"
     "\n"
     "  probe IFACE   which hints the device gives and where xdpkv will take each\n"
     "                from. Asks the kernel's netdev netlink family for the device's\n"
     "                xdp-rx-metadata-features (Linux >= 6.6); where it cannot tell,\n"
     "                or with --live, attaches the capture program (device-bound,\n"
     "                only if the device has no XDP program) and looks at real\n"
     "                packets: on a veth it sends test frames from the peer, else it\n"
     "                waits --wait MS (default 3000) for traffic. --no-live: never.\n"
     "                --netns NAME: the device is in that namespace ('ip netns').\n"
     "  decode HEX    the hints stored in a metadata area (HEX or '-' as for\n"
     "                'xdpkv decode', also \"no input\"), as JSON; {} when it\n"
     "                carries none\n"
     "  hash SRC DST [SPORT DPORT]\n"
     "                the software Toeplitz hash (standard 40-byte key) xdpkv stores\n"
     "                for such a packet: with ports for TCP/UDP, without otherwise\n"
     "  verify IFACE  the driver's hints held against sources that are not the\n"
     "                driver, for --count N packets (default 32) per pass: the hash\n"
     "                against Toeplitz with the device's RSS key (ETHTOOL_GRSSH; --key\n"
     "                HEX: another) over the fields its type names, the type bits\n"
     "                against the frame; the VLAN tag against the sender's (--vlan\n"
     "                TCI: the test frames carry it) or the frame's; timestamps for\n"
     "                order and clock. Then the same hints behind a devmap (the\n"
     "                frames go back out of IFACE through an egress program that\n"
     "                drops them) and a cpumap (TC after xdpkv_restore: skb->hash);\n"
     "                --no-redirects skips these. Test frames (UDP and TCP over IPv4\n"
     "                and IPv6) come from --from DEV, else from a veth's peer, else\n"
     "                (or with --no-send) arriving traffic is used; each pass ends\n"
     "                after --timeout MS (default 5000). IFACE must have no XDP\n"
     "                program. Exit 0 only when packets arrived and nothing was wrong.\n"
     "\n"
     "Examples:\n"
     "  xdpkv hints probe eth0\n"
     "  xdpkv hints probe veth1 --netns blue --live\n"
     "  xdpkv hints hash 66.9.149.187 161.142.100.80 2794 1766   # 0x51ccc178\n"
     "  xdpkv hints verify eth1 --from eth0 --count 64\n"
     "\n"
     "probe needs root for the live check (and CAP_NET_ADMIN in the namespace).\n"
     "Exit status: 0 done (verify: every check right), 1 failed (verify: a hint\n"
     "wrong, or no packet), 2 usage error.\n",
     cmd_hints},
    {"tag", "Give packets a PACKET_ID in XDP (the shipped tagger, for xdpkv trace)",
     "usage: xdpkv tag IFACE [--netns NS] [--key NAME] [--bpffs DIR] [--sample N]\n"
     "                 [--filter EXPR] [--hints] [--per-packet]\n"
     "       xdpkv tag --detach IFACE [--netns NS] [--bpffs DIR]\n"
     "       xdpkv tag --status IFACE [--netns NS] [--bpffs DIR]\n"
     "\n"
     "Attaches the shipped XDP tagger (userspace/trace/tagger.bpf.c) to IFACE\n"
     "through libxdp (its multi-program dispatcher where the kernel allows freplace,\n"
     "alone otherwise; it says which). Selected packets get a PACKET_ID under the key\n"
     "NAME (default packet_id, registered with 8 bytes if absent): ids come from\n"
     "one counter per host, so they are unique and increase in the order packets\n"
     "are tagged. The tagger stays attached after this command exits (pinned under\n"
     "DIR/tag/); --detach removes exactly it, --status prints its counters.\n"
     "\n"
     "  --sample N     tag one TCP burst, or one other packet, in N (default 64;\n"
     "                 1: every one)\n"
     "  --per-packet   sample single TCP packets too, not bursts (stops GRO)\n"
     "  --filter EXPR  which packets get an id: terms ('and' between them is\n"
     "                 optional), each one of\n"
     "                 ip | udp | tcp | icmp | [src|dst] host A.B.C.D |\n"
     "                 [src|dst] port N; e.g. 'udp and dst port 4789'. Default: all.\n"
     "  --hints        also store the software NIC hints (keys 60-62; TCP bursts:\n"
     "                 hash and VLAN only, a timestamp differs per packet)\n"
     "  --netns NS     IFACE is in that namespace ('ip netns')\n"
     "\n"
     "TCP is tagged by burst: every packet of a sampled burst carries the burst's id,\n"
     "and a burst ends with a segment after which GRO holds nothing of the flow (PSH,\n"
     "FIN, SYN, RST, URG, no payload). A packet whose id differs from its neighbours'\n"
     "is never merged by GRO and reaches TCP behind later data; bursts keep GRO and\n"
     "the order (docs/PERFORMANCE.md has the numbers). A TCP packet is named by its\n"
     "id and sequence number (xdpkv trace's SEQ column).\n"
     "See docs/TRACE.md. Needs root.\n"
     "Exit status: 0 done, 1 failed, 2 usage error.\n",
     cmd_tag},
    {"trace", "Trace packets by their PACKET_ID through the kernel (pwru-style)", trace_usage(),
     cmd_trace},
    {"features", "What this kernel allows xdpkv: each capability, the kernel's words, what to do",
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
     "  rx_hash, rx_timestamp, rx_vlan_tag   device-bound RX metadata kfuncs\n"
     "  fentry_prog      fentry/fexit on XDP and TC programs\n"
     "  fentry_kernel    fentry on kernel functions\n"
     "  freplace         extension programs (libxdp's multi-program dispatcher)\n"
     "  dynptr_skb_meta  bpf_dynptr_from_skb_meta in TC\n"
     "  modules          loading kernel modules\n"
     "  xdpkv_module     xdpkv.ko loaded with its kfuncs\n"
     "  tracefs, bpffs   the filesystems mounted\n"
     "\n"
     "  --json          one JSON object: kernel, features [{name, available, what,\n"
     "                  kernel_said, since, without}]\n"
     "  --need LIST     print nothing and exit 0 when every named capability is\n"
     "                  available, else one line for each that is not, exit 1\n"
     "\n"
     "Where the kernel refuses what a command needs, scripts/guest.sh runs the\n"
     "command in a guest kernel that allows it (docs/KERNELS.md). XDPKV_REFUSE=\n"
     "NAME,... makes capabilities read as refused, to try those paths. Needs root.\n"
     "Exit status: 0 done, 1 a capability of --need is missing, 2 usage error.\n",
     cmd_features},
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
