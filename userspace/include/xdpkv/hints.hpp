// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
// NIC hints from user space (library xdpkv_hints, drivers/):
//  - decoding the hints a packet's store carries (keys 60-62), e.g. in an
//    AF_XDP reader or from `xdpkv decode`;
//  - the software Toeplitz hash (the same header the BPF capture uses);
//  - what the kernel and a device offer (`xdpkv hints probe`);
//  - loading the capture program (device-bound, in the device's network
//    namespace) and the TC restore program.
// docs/DRIVERS.md describes the design.
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include <xdpkv/hints.h>
#include <xdpkv/bpf_util.hpp>
#include <xdpkv/codec.hpp>
#include <xdpkv/result.hpp>

#include <xdpkv/toeplitz.h>

struct xdpkv_capture_stats;
struct xdpkv_capture_event;
struct xdpkv_restore_stats;

namespace xdpkv::hints {

// ---- values ---------------------------------------------------------------

// The hints of one packet: struct xdpkv_hints (<xdpkv/hints.h>) with mark
// and check 0. vlan_proto is as on the wire (network order): 0x8100 is
// stored as the bytes 81 00; proto_host() gives 0x8100.
struct Hints : xdpkv_hints {
  Hints() : xdpkv_hints{} {}
  explicit Hints(const xdpkv_hints& c) : xdpkv_hints(c) { mark = check = 0; }

  bool has(uint32_t bit) const { return flags & bit; }
  bool software(uint32_t bit) const { return flags & (bit << XDPKV_HINT_SW_SHIFT); }
  uint16_t proto_host() const;
};

// The hints in a store (keys 60-62): 0, -ENODATA (no key 60, or no hint
// present), -EBADMSG (malformed area, or reserved keys of the wrong size or
// missing where key 60 says present).
int read(const View& store, Hints& out);

// Writes them like xdpkv_hints_store does (keys 61, 62, then 60).
int write(Builder& store, const Hints& h);

// "hash 0x51ccc178 (ipv4 udp, software)", "vlan 0x8100 tci 100 (hardware)", ...
std::string describe(const Hints& h);
std::string hash_type_name(uint32_t type);  // "ipv4 udp", "l4", "none", ...
// JSON object with the hints of h.
std::string to_json(const Hints& h);

// ---- software hash ----------------------------------------------------------

using RssKey = std::array<uint8_t, XDPKV_RSS_KEY_SIZE>;
const RssKey& default_rss_key();

// Toeplitz hash of input (at most 36 bytes) under key.
uint32_t toeplitz(std::span<const uint8_t> input, const RssKey& key = default_rss_key());

// The software hash xdpkv computes for a packet, from its fields in network
// order: addresses 4 or 16 bytes; with_ports false gives the L3-only hash.
uint32_t software_hash(std::span<const uint8_t> saddr, std::span<const uint8_t> daddr,
                       uint16_t sport_be, uint16_t dport_be, bool with_ports,
                       const RssKey& key = default_rss_key());

// ---- what the kernel and a device offer --------------------------------------

// The hint kinds, indexed by XDPKV_HI_*: the rows of XDPKV_HINT_KINDS
// (<xdpkv/hints.h>), for every table and printer of them. HintIndex is the C
// enum; kHash... are short names for the kinds that code handles one by one
// (a new kind needs none); tables loop to kNumHints.
using HintIndex = xdpkv_hint_index;
inline constexpr HintIndex kHash = XDPKV_HI_HASH;
inline constexpr HintIndex kVlan = XDPKV_HI_VLAN;
inline constexpr HintIndex kTimestamp = XDPKV_HI_TIMESTAMP;
inline constexpr int kNumHints = XDPKV_HI_N;

struct HintKind {
  const char* name;            // "hash": printed, JSON key
  const char* kfunc;           // "bpf_xdp_metadata_rx_hash"
  const char* capability;      // "rx_hash": its features::Cap name
  uint32_t bit;                // XDPKV_HINT_HASH
  unsigned key, size;          // the reserved key of its value (60: in key 60's value)
  uint64_t netlink;            // NETDEV_XDP_RX_METADATA_HASH
  const char* software;        // where the software capture takes it from
  const char* software_short;  // the same, short
};
const std::array<HintKind, kNumHints>& hint_kinds();
const char* hint_name(int i);   // "hash", "vlan", "timestamp"
const char* hint_kfunc(int i);  // "bpf_xdp_metadata_rx_hash", ...
uint32_t hint_bit(int i);       // XDPKV_HINT_HASH, ...

// An array with one v for each hint kind.
template <class T>
constexpr std::array<T, kNumHints> per_hint(T v) {
  std::array<T, kNumHints> a{};
  a.fill(v);
  return a;
}

// Driver kfuncs present in the running kernel (vmlinux BTF), as
// XDPKV_HINT_* bits: rx_hash/rx_timestamp since 6.3, rx_vlan_tag since 6.8.
uint32_t kernel_kfuncs();

enum class Support { kYes, kNo, kUnknown };
const char* support_name(Support s);

struct ProbeOptions {
  std::string netns;           // named network namespace of the device ("" = current)
  bool live = false;           // also attach the capture program and look at real packets
  bool live_if_needed = true;  // run the live check when netlink cannot tell
  int wait_ms = 3000;          // live check: how long to wait for packets
  bool send = true;            // live check on a veth: send a test frame from its peer
};

struct ProbeResult {
  std::string ifname, netns, driver;
  int ifindex = 0;
  uint32_t kernel = 0;  // kernel_kfuncs()
  // netlink netdev family, NETDEV_A_DEV_XDP_RX_METADATA_FEATURES
  bool netlink = false;
  uint64_t netlink_features = 0;  // NETDEV_XDP_RX_METADATA_* (1 timestamp, 2 hash, 4 vlan-tag)
  std::string netlink_note;       // why netlink could not tell, if it could not
  // live check
  bool live = false;
  int live_packets = 0;
  std::string live_note;
  // first packet's kfunc results
  std::array<int, kNumHints> live_rc = per_hint(XDPKV_HINT_RC_NOT_TRIED);
  std::array<int, kNumHints> live_data{};  // packets where the driver gave the hint
  // conclusions
  std::array<Support, kNumHints> device = per_hint(Support::kUnknown);
  std::array<std::string, kNumHints> source;  // how xdpkv will take it
};

Result<ProbeResult> probe(const std::string& ifname, const ProbeOptions& opt);
std::string format(const ProbeResult& r);
std::string to_json(const ProbeResult& r);

// xdp-rx-metadata-features of a device in the current netns through the
// netdev generic netlink family; errors: ENOENT (no netdev family: Linux
// < 6.3), ENODATA (no such attribute in this kernel), others.
Result<uint64_t> netlink_rx_metadata_features(int ifindex);

// ---- loading ------------------------------------------------------------------

struct CaptureOptions {
  uint32_t want = XDPKV_HINT_PRESENT_MASK;
  enum Action { kPass = 0, kDevmap = 1, kCpumap = 2 } action = kPass;
  uint32_t redirect_key = 0;
  uint32_t key_seq = 0xffffffffu;  // <= 58: store a sequence number under it
  uint32_t key_seq_size = 8;       // as a u64, or 4: a u32
  bool events = false;             // per-packet events (ring buffer)
  uint32_t mode = 1;               // XDPKV_CAPTURE_OFF / _ON / _ALTERNATE
  // Device-bound (driver kfuncs) unless false or the kernel has none of them.
  bool device_bound = true;
  uint32_t xdp_flags = 0;  // XDP_FLAGS_DRV_MODE when 0
  RssKey rss_key = default_rss_key();
  // The origin mark stored with the hints (docs/FORMAT.md "Reserved keys");
  // unset: host_origin() of $XDPKV_BPFFS or /sys/fs/bpf/xdpkv; 0: none.
  std::optional<uint32_t> origin;
};

struct CaptureStats {
  uint64_t packets = 0, captured = 0, skipped = 0, store_err = 0, seq_err = 0;
  std::array<uint64_t, kNumHints> hw{}, sw{}, none{};
  std::array<int, kNumHints> last_rc{};
  int last_store_err = 0;
};

struct CaptureEvent {
  uint64_t seq = 0;
  uint32_t ifindex = 0, rx_queue = 0;
  std::array<int, kNumHints> rc{};
  int store_rc = 0;
  Hints hints;
  uint32_t frame_len = 0;      // the frame's length at XDP (linear part)
  int meta_len = 0;            // metadata bytes the driver left, or -errno (no data_meta)
  std::vector<uint8_t> frame;  // its first bytes (at most XDPKV_CAPTURE_FRAME)
};

// The capture program attached to one device (detached when destroyed).
class Capture {
 public:
  static Result<Capture> attach(const std::string& netns, const std::string& ifname,
                                const CaptureOptions& opt);
  Capture(Capture&&) noexcept;
  Capture& operator=(Capture&&) = delete;
  Capture(const Capture&) = delete;
  ~Capture();

  bool device_bound() const;
  // Why the capture is not device-bound although asked to be ("" otherwise).
  const std::string& note() const;
  uint32_t kfuncs() const;  // driver kfuncs compiled in (XDPKV_HINT_* bits)
  int ifindex() const;
  int prog_fd() const;
  int devmap_fd() const;  // xdpkv_capture_tx
  int cpumap_fd() const;  // xdpkv_capture_cpus
  void set_mode(uint32_t mode);
  CaptureStats stats() const;
  // Drains the events ring buffer (CaptureOptions::events) into fn.
  int poll_events(int timeout_ms, const std::function<void(const CaptureEvent&)>& fn);

 private:
  Capture();
  struct State;
  std::unique_ptr<State> st_;
};

struct RestoreOptions {
  bool hash = true;
  bool vlan = false;
  uint32_t priority = 1;  // TC filter priority (lower runs first)
  // Hints are applied only from stores with this origin mark; unset: the
  // host's (as CaptureOptions::origin); 0: any store.
  std::optional<uint32_t> origin;
};

struct RestoreStats {
  uint64_t skbs = 0, with_hints = 0, hash_set = 0, vlan_pushed = 0, vlan_kept = 0, errors = 0;
  uint64_t cpumap_frames = 0, cpumap_with_hints = 0;
  // Key 60 present but not a well-formed hint record (the skb was left
  // alone), in total and by enum xdpkv_refuse (capture.h).
  uint64_t refused = 0;
  uint64_t refused_why[4] = {};  // size, flags, hash, vlan
  // Key 60 in a store without the origin mark (not this host's: e.g. outer
  // headers after a decap): the skb was left alone.
  uint64_t foreign = 0;
};

// The TC ingress restore program on one device (detached when destroyed),
// and its cpumap entry program.
class Restore {
 public:
  static Result<Restore> attach(const std::string& netns, const std::string& ifname,
                                const RestoreOptions& opt);
  Restore(Restore&&) noexcept;
  Restore& operator=(Restore&&) = delete;
  Restore(const Restore&) = delete;
  ~Restore();
  int cpumap_prog_fd() const;  // xdpkv_restore_cpumap
  RestoreStats stats() const;

 private:
  Restore();
  struct State;
  std::unique_ptr<State> st_;
};

// ---- verify: a driver's hints against independent sources ---------------------

struct VerifyOptions {
  std::string netns;       // the device's network namespace ("" = current)
  unsigned count = 32;     // packets per pass
  int timeout_ms = 5000;   // per pass
  bool send = true;        // send test frames (from `from`, or a veth's peer)
  std::string from;        // the device to send them from ("" = IFACE's veth peer)
  std::string from_netns;  // its namespace
  bool key_given = false;  // check hashes with `key` instead of the device's RSS key
  RssKey key{};
  std::optional<uint16_t> vlan;    // test frames carry this 802.1Q TCI; the reference for VLAN
  bool redirects = true;           // the devmap and cpumap passes
  std::optional<uint32_t> origin;  // as CaptureOptions::origin
};

enum class Verdict { kOk, kWrong, kNoData, kUnsupported, kUnchecked };
const char* verdict_name(Verdict v);  // "ok", "WRONG", "no data", "unsupported", "unchecked"

struct HintCheck {
  Verdict verdict = Verdict::kUnsupported;
  bool advertised = false;  // netlink xdp-rx-metadata-features (or the kfunc answered)
  unsigned given = 0, nodata = 0, unsupported = 0;  // driver kfunc results: 0, ENODATA, EOPNOTSUPP
  unsigned checked = 0, ok = 0, wrong = 0;          // given values held against a reference
  unsigned agree = 0;       // hash: type bits consistent with the frame (the value aside)
  unsigned untyped = 0;     // hash: type none on an IP frame (nothing says what it covers)
  std::string reference;    // what they were held against
  std::string first_wrong;  // "packet 3 (udp 192.0.2.1:40003 -> ...): driver 0x.., expected 0x.."
  std::string sample;       // the first value the driver gave, and what it came with
  std::string note;
};

struct RedirectCheck {
  bool run = false;
  std::string name;                              // "devmap", "cpumap"
  unsigned captured = 0, arrived = 0, same = 0;  // frames, read behind the redirect, same hints
  unsigned skb_hash_same = 0;                    // cpumap: skb->hash == the captured hash
  std::string first_wrong, note;
  bool ok() const;
};

struct VerifyReport {
  std::string ifname, netns, driver;
  int ifindex = 0;
  uint32_t kernel = 0;  // kernel_kfuncs()
  bool netlink = false;
  uint64_t netlink_features = 0;
  bool device_bound = false;
  std::string capture_note;  // why the capture is not device-bound
  std::string key_source;    // "device (ETHTOOL_GRSSH)", "--key", or why there is none
  bool key_known = false;
  RssKey key{};
  std::string traffic;      // where the test frames came from
  bool rxhash_off = false;  // the device's NETIF_F_RXHASH is off
  unsigned packets = 0;
  int meta_min = -1, meta_max = -1;  // metadata bytes the driver left before the capture
  unsigned store_errors = 0;
  std::array<HintCheck, kNumHints> hints{};
  std::array<RedirectCheck, 2> redirects{};
  bool ok() const;  // packets arrived, no hint and no redirect wrong
};

// Attaches the capture to ifname (it must have no XDP program), checks every
// hint the driver gives for `count` packets against the frame, the device's
// RSS key and the sender's VLAN tag, then the same hints after a devmap and a
// cpumap redirect and on the skb after xdpkv_restore. Errors: the device,
// loading, attaching; a wrong hint is a report that is not ok().
Result<VerifyReport> verify(const std::string& ifname, const VerifyOptions& opt);
std::string format(const VerifyReport& r);
std::string to_json(const VerifyReport& r);

// The device's RSS hash key (ETHTOOL_GRSSH) in the calling thread's
// namespace; errors name the device and say when the hash function is not
// Toeplitz or the key is not 40 bytes.
Result<RssKey> device_rss_key(const std::string& ifname);

}  // namespace xdpkv::hints
