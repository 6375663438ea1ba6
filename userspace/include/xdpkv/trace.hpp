// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
// Packet tracing by a PACKET_ID kept in the packet's xdpkv store
// (docs/TRACE.md).
//
// The tagger (userspace/trace/tagger.bpf.c) gives packets an id in XDP; it stays
// attached after the process exits (pinned under the registry directory) and
// is removed by tag_detach() from any later process:
//
//   auto t = xdpkv::trace::tag_attach({.ifname = "veth1", .netns = "blue"});
//
// The tracer (userspace/trace/trace.bpf.c) follows the tagged packets through the
// kernel's skb tracepoints and hands each sighting to a callback:
//
//   auto tr = xdpkv::trace::Tracer::start({.key = "packet_id"});
//   while (...) tr->poll(100, [](const Event& e) { puts(format_text(e).c_str()); });
//   tr->stop();   // also in the destructor: no program or link stays behind
#pragma once

#include <cstdint>
#include <cstdio>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <xdpkv/trace.h>
#include <xdpkv/fs.hpp>
#include <xdpkv/result.hpp>

namespace xdpkv::trace {

// ---- the tagger's filter -------------------------------------------------------
//
//   expr   := term { ["and"] term }
//   term   := "ip" | "udp" | "tcp" | "icmp"
//           | ["src" | "dst"] "host" IPV4
//           | ["src" | "dst"] "port" N          (1..65535)
//
// e.g. "udp", "tcp port 80", "host 10.1.0.2", "udp and dst port 4789". "" or
// "all": every packet. Each test may appear once; a second protocol is an
// error (a packet has only one). Address tests take IPv4 packets only.
Result<xdpkv_tag_filter> parse_filter(std::string_view expr);
// The canonical text of a filter ("all" when empty).
std::string filter_str(const xdpkv_tag_filter& f);

// ---- the tagger ------------------------------------------------------------------

// The tagger's default sampling: one TCP burst (every packet up to the next
// segment that makes GRO complete the flow's skb: PSH, FIN...) in 64, one
// other packet in 64. A TCP packet whose id differs from its neighbours' is
// held by GRO as an skb of its own and reaches TCP late (reordering): the
// burst keeps the id constant while GRO holds the flow (docs/TRACE.md).
inline constexpr uint64_t kTagDefaultSample = 64;

struct TagOptions {
  std::string ifname;
  std::string netns;                               // "ip netns" name; "": the caller's
  std::string key = "packet_id";                   // registered (size 8) if absent
  std::string bpffs;                               // registry directory; "": default
  uint64_t sample = kTagDefaultSample;             // tag one burst (TCP) or packet in `sample`
  bool per_packet = false;                         // TCP too by single packets (stops GRO)
  std::string filter;                              // parse_filter() syntax
  bool hints = false;                              // also store software NIC hints (keys 60-62)
  std::function<void(const std::string&)> notice;  // default: stderr
};

struct TagInfo {
  int ifindex = 0;
  int key_id = -1;
  uint32_t key_size = 0;
  uint32_t prog_id = 0;
  std::string mode;         // how libxdp attached it (dispatcher or alone), native or skb mode
  std::string pin;          // the program's pin
  xdpkv_tag_stats stats{};  // tag_status() only
};

// Checks opt without touching the system: the filter's grammar, the sample,
// the netns name. tag_attach() checks too; a CLI calls it to refuse a bad
// command line (exit 2) before it does anything.
Status check(const TagOptions& opt);

Result<TagInfo> tag_attach(const TagOptions& opt);
// A tagger's statistics summed over CPUs, read from its per-CPU map
// (xdpkv_tag_cpu in tagger.bpf.c; trace.h, struct xdpkv_tag_cpu).
Result<xdpkv_tag_stats> tag_stats(int cpu_map_fd);
// Detaches exactly the tagger that tag_attach() put on ifname and removes its
// pin. ENOENT: no tagger of ours there.
Result<TagInfo> tag_detach(const std::string& ifname, const std::string& netns,
                           const std::string& bpffs);
// The attached tagger's counters.
Result<TagInfo> tag_status(const std::string& ifname, const std::string& netns,
                           const std::string& bpffs);

// ---- the tracer ------------------------------------------------------------------

struct TraceOptions {
  std::string key = "packet_id";  // looked up in the registry, unless key_id >= 0
  int key_id = -1;
  std::string bpffs;
  uint64_t value_lo = 0, value_hi = UINT64_MAX;  // ids traced (--value / --range)
  std::string netns;                             // only skbs of this netns ("ip netns" name)
  std::string iface;                             // only skbs on this device (in netns)
  std::string points;                            // ECMAScript regex over point names; "": all
  bool follow = false;                           // keep following an skb after its metadata is gone
  // Report ids also from stores without the host's origin mark (written by
  // programs that do not store it). By default they are only counted: after
  // a decap those bytes are outer headers (docs/FORMAT.md "Reserved keys").
  bool any_origin = false;
  uint32_t ringbuf_bytes = 4u << 20;  // power of 2, 4 KiB .. 1 GiB
  bool force_raw_tp = false;          // do not try tp_btf (tests the fallback)
  bool try_fentry = true;             // try fentry on kernel functions
  // Also count every successful redirect (xdp_redirect, xdp_redirect_map):
  // these tracepoints cannot see the frame, so their program runs on every
  // redirect, traced or not, and costs the redirect path (docs/PERFORMANCE.md).
  bool redirects = false;
  // fentry/fexit on XDP or TC (sched_cls) programs, pwru --filter-trace-xdp
  // style: points "xdp:NAME" (the store before the program) and
  // "xdp:NAME/fexit" (after it; reason = its action), "tc:NAME" likewise.
  std::vector<uint32_t> prog_ids;                  // by program id
  std::vector<std::string> xdp_ifaces;             // every XDP program on these devices (in netns)
  std::vector<std::string> functions;              // fentry on kernel functions taking an skb first
  std::function<void(const std::string&)> notice;  // once-per-run notes; default: stderr
};

// Checks opt without touching the system: the ring size, the --points regex,
// the id range, the key id, the netns name. Tracer::start() checks too; a CLI
// calls it to refuse a bad command line (exit 2) before it does anything.
Status check(const TraceOptions& opt);

// The points of their own name (trace.h's XDPKV_TRACE_POINTS: tracepoints and
// cgroup_skb/ingress), and the kernel functions traced by fentry where the
// kernel allows it; --fentry, --prog and --xdp-progs add more.
std::vector<std::string> point_names();
std::vector<std::string> fentry_functions();

struct Event {
  uint64_t time_ns = 0;  // CLOCK_REALTIME
  uint64_t id = 0;
  bool followed = false;  // id from the followed-skb map, not the packet's metadata
  uint64_t skb = 0;
  uint32_t cpu = 0;
  uint32_t netns = 0;  // inode
  uint32_t ifindex = 0;
  std::string iface;
  uint32_t len = 0;                   // skb->len
  std::string tuple;                  // "10.1.0.1:20000->10.1.0.2:7777(udp)", "" if not IP
  std::optional<uint32_t> seq;        // TCP: the sequence number (with the id, names a packet)
  uint32_t payload = 0;               // TCP: payload bytes (a GRO train: all of its segments')
  uint32_t segs = 1;                  // segments in it: > 1 for a GRO (or GSO) skb
  std::string point;                  // tracepoint, function, "xdp:PROG", "xdp:PROG/fexit"...
  std::optional<std::string> reason;  // kfree_skb's drop reason; fexit: the action (XDP_PASS)
  std::vector<uint8_t> meta;          // the metadata area (the store)
  std::vector<uint8_t> frame;         // captured frame bytes (<= XDPKV_TRACE_SNAPLEN)
  uint32_t frame_len = 0;             // frame's full length
  bool l2 = true;                     // frame starts at the MAC header (else at the IP header)
  // The record as the BPF program sent it (time_ns in CLOCK_MONOTONIC): an
  // output column that prints a kernel field as it is reads it from here.
  xdpkv_trace_event raw{};
};

struct XdpCount {
  std::string point;  // xdp_redirect, ...
  uint32_t prog_id = 0;
  uint32_t ifindex = 0;
  int32_t action = 0;  // xdp_exception: the XDP action; *_err: the error
  uint64_t count = 0;
};

struct TraceStats {
  uint64_t emitted = 0;   // events the BPF side submitted
  uint64_t lost = 0;      // events the ring buffer had no room for
  uint64_t received = 0;  // events handed to callbacks
  uint64_t foreign = 0;   // sightings whose store had the key but not the origin mark
};

class Tracer {
 public:
  static Result<Tracer> start(const TraceOptions& opt);
  Tracer(Tracer&&) noexcept;
  Tracer& operator=(Tracer&&) noexcept;
  ~Tracer();

  // Waits up to timeout_ms for events and calls cb for each; returns how many.
  Result<int> poll(int timeout_ms, const std::function<void(const Event&)>& cb);
  // Detaches every program and frees the BPF objects (idempotent).
  void stop();

  TraceStats stats() const;
  std::vector<XdpCount> xdp_counts() const;
  const std::string& attach_kind() const;          // "tp_btf" or "raw_tp"
  const std::vector<std::string>& points() const;  // attached points (with program ones)
  bool fentry() const;                             // fentry programs attached
  int key_id() const;

 private:
  struct Impl;
  explicit Tracer(std::unique_ptr<Impl> impl);
  static Status attach_targets(Impl& impl, const TraceOptions& opt,
                               const std::function<void(const std::string&)>& notice,
                               uint32_t netns_ino, uint32_t ifindex);
  std::unique_ptr<Impl> impl_;
};

// ---- output ----------------------------------------------------------------------

// One table of columns (userspace/trace/src/output.cpp) makes the text line
// and its header, the JSON object and the pcapng comment.
// pwru-like text columns: TIME ID SKB CPU NETNS IFACE LEN TUPLE SEQ SEGS POINT REASON.
std::string text_header();
std::string format_text(const Event& e);
// One JSON object (one line): time_ns id skb cpu netns ifindex iface len tuple
// seq segs point reason [store].
std::string format_json(const Event& e, bool with_store);
// The names, in order, for a help text: the text columns, the JSON members.
std::vector<std::string> text_columns();
std::vector<std::string> json_members();
// The pcapng comment: "POINT id=ID[ (followed)][ reason=REASON][ store={KEY: VALUE, ...}]".
std::string pcap_comment(const Event& e);
// The decoded store, as xdpkv decode prints it ("" when there is none).
std::string store_json(const Event& e);

// A packet's name: its id, and for TCP its sequence number (every packet of
// a TCP burst carries the burst's id: `xdpkv tag`).
struct PacketName {
  PacketName(uint64_t i, std::optional<uint32_t> s = std::nullopt) : id(i), seq(s) {}  // NOLINT
  uint64_t id;
  std::optional<uint32_t> seq;
  // NOLINTNEXTLINE(modernize-use-nullptr): clang-tidy 14 misreads a defaulted <=>
  auto operator<=>(const PacketName&) const = default;
};

// Per packet: the points in order and where it ended. An skb of several TCP
// segments (GRO) is the packet of its first segment's sequence number; the
// segments it took in end as "merged by GRO into the skb at seq S".
class Summary {
 public:
  // Bounded: at most max_packets packets and max_points points per packet
  // are kept; what is left out is counted and said in lines().
  static constexpr size_t kMaxPackets = 65536;
  static constexpr size_t kMaxPoints = 64;
  explicit Summary(size_t max_packets = kMaxPackets, size_t max_points = kMaxPoints)
      : max_packets_(max_packets), max_points_(max_points) {}
  void add(const Event& e);
  // One line per packet: "id 7 seq 1001 (an skb of 12 segments):
  // netif_receive_skb -> ... -> consume_skb: delivered (consumed)".
  std::vector<std::string> lines() const;
  struct Packet {
    std::vector<std::string> points;
    // "delivered to a socket" (seen at cgroup_skb/ingress), "delivered (consumed)"
    // (consume_skb), "dropped (REASON)" (kfree_skb), "merged by GRO into the skb
    // at seq S", "in flight" (none of these, yet)
    std::string end;
    uint32_t segs = 0;            // the most segments an skb of it had (> 1: GRO merged others in)
    uint64_t points_dropped = 0;  // points past max_points (the end state still follows)
  };
  std::map<PacketName, Packet> packets() const;

 private:
  void merged(const Event& train);
  size_t max_packets_, max_points_;
  uint64_t packets_dropped_ = 0;  // events of packets past max_packets
  std::map<PacketName, Packet> seen_;
};

// pcapng: one enhanced packet block per event (the captured frame bytes) with
// an opt_comment naming the point and the decoded store. Events whose frame
// starts at the IP header go to a raw-IP interface, the rest to Ethernet ones.
// The file is an fs::OutputFile: a new file of mode 0600 that replaces path
// only at close(); a symlink or another user's file at path is refused, and
// a trace that fails (no close) leaves what was at path untouched.
class PcapWriter {
 public:
  static Result<PcapWriter> open(const std::string& path);
  PcapWriter(PcapWriter&&) noexcept = default;
  PcapWriter& operator=(PcapWriter&&) noexcept = default;
  ~PcapWriter() = default;
  Status write(const Event& e);
  Status close();  // flushes and puts the file in place

 private:
  explicit PcapWriter(fs::OutputFile out) : out_(std::move(out)) {}
  Status put(const std::vector<uint8_t>& block);
  Status flush();
  fs::OutputFile out_;
  std::vector<uint8_t> buf_;                // written in 64 KiB pieces
  std::map<std::string, uint32_t> ifaces_;  // "netns/ifindex/l2" -> interface id
};

// Names of enum skb_drop_reason from the running kernel's BTF ("NO_SOCKET").
std::string drop_reason_name(uint32_t reason);

}  // namespace xdpkv::trace
