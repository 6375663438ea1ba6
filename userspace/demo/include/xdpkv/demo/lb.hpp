// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
// The load-balancer example deployed on a Topology: lb_ingress on the lb's
// ingress veth (through libxdp), a devmap (with its entry program) or a
// cpumap towards the backend, lb_backend on the backend's veth, lb_tc on TC
// ingress, and the ring buffer of observations. Everything attached is
// detached when the Deployment is destroyed.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <xdpkv/bpf_util.hpp>
#include <xdpkv/tc.hpp>
#include <xdpkv/topology.hpp>
#include <xdpkv/xsk.hpp>

#include <xdpkv/demo/lb.h>

struct xdpkv_lb;
struct ring_buffer;
struct xdp_program;

namespace xdpkv::lb {

struct KeyIds {
  uint32_t packet_id = 0, flow_hash = 1, backend_id = 2;
};

struct Options {
  KeyIds keys{};
  bool cpumap = false;  // redirect through a cpumap entry instead of the devmap
  bool xsk = false;     // backend hands tagged frames to AF_XDP (XskReader) instead of the stack
  bool backend_xdp = true;    // attach lb_backend; false: the redirect target runs no XDP
  bool grow_foreign = false;  // lb_backend adds 8 bytes of its own below the store
  uint64_t id_base = 0;
  // The host's origin mark stored with the tags (xdpkv::host_origin, FORMAT.md
  // key 59), which the tracer requires to report packet_id; 0: none.
  uint32_t origin = 0;
  // Size of the records ring buffer in bytes (a power of two, at least a
  // page); 0: the program's 4 MiB. Small sizes make records get lost.
  uint32_t ring_bytes = 0;
  // Tests only: lb_backend hands frames to AF_XDP without first making sure
  // they carry a store (FORMAT.md §3 rule 6), like a non-conforming producer.
  bool xsk_no_guard = false;
  // Bench (bench/e2e): the same LB handing its tags over in a fixed struct at
  // data_meta instead of a store (no origin mark; no xsk or grow_foreign), and
  // without the per-consumer records (seen() stays empty).
  bool fixed_struct = false;
  bool records = true;
  // Log lines (e.g. the libxdp dispatcher fallback) go here; default stderr.
  void (*log)(const std::string&) = nullptr;
};

// The records ring buffer's accounting: every record a consumer tried to
// send was submitted or lost (ring buffer full, counted per CPU in BPF);
// received is what poll() read. Nothing is lost silently:
// lost == attempted - received once the buffer is drained.
struct RecordStats {
  uint64_t submitted = 0, lost = 0, received = 0;
  uint64_t attempted() const { return submitted + lost; }
};

// Observations of one packet, per consumer.
struct Seen {
  std::map<uint32_t, lb_rec> at;  // consumer -> record
};

class Deployment {
 public:
  static Result<Deployment> create(net::Topology& topo, const Options& opt);
  Deployment(Deployment&&) noexcept;
  Deployment& operator=(Deployment&&) = delete;
  Deployment(const Deployment&) = delete;
  ~Deployment();

  // Drains the ring buffer into seen(); returns the records read.
  int poll(int timeout_ms);
  const std::map<uint64_t, Seen>& seen() const { return seen_; }
  // enum lb_stat (lb.h); LB_ST_REC_LOST is record_stats().lost.
  uint64_t stat(int i) const;
  RecordStats record_stats() const;
  // Tests: lb_backend drops the store before handing frames to AF_XDP.
  Status set_xsk_strip(bool on);
  bool dispatcher_fallback() const { return dispatcher_fallback_; }
  int xsks_map_fd() const;
  int ingress_prog_fd() const;
  // Adds an observation made outside BPF (AF_XDP).
  void add(const lb_rec& r) { seen_[r.packet_id].at[r.consumer] = r; }

 private:
  Deployment() = default;
  // create's steps, in this order.
  Status load(const Options& opt);
  Status set_redirect_targets(const Options& opt);
  Status attach_ingress(void (*log)(const std::string&));
  Status attach_backend(const Options& opt);
  static int on_record(void* self, void* data, size_t size);

  bpf::Skeleton<xdpkv_lb> skel_{nullptr, nullptr};
  net::Topology* topo_ = nullptr;
  ::ring_buffer* rb_ = nullptr;
  ::xdp_program* ingress_ = nullptr;
  bool ingress_legacy_ = false;
  bool backend_attached_ = false;
  bpf::TcFilter tc_be_, tc_lbin_;  // lb_tc on be and, with cpumap, on lbin
  bool dispatcher_fallback_ = false;
  bool made_libxdp_dir_ = false;  // libxdp's /sys/fs/bpf/xdp did not exist before us
  std::map<uint64_t, Seen> seen_;
  uint64_t received_ = 0;
};

// AF_XDP consumer: a copy-mode socket on the backend's queue 0, fed by
// lb_backend through the xsks map; decodes each frame's store with the C++
// codec from data - 16 (the RX descriptor carries no metadata length, so
// the area is bounded by the frame headroom).
using XskOptions = bpf::XskSocket::Options;

// What the reader decoded, frame by frame.
struct XskStats {
  uint64_t frames = 0;     // received
  uint64_t with_id = 0;    // valid store with a PACKET_ID: recorded as LB_AT_XSK
  uint64_t no_id = 0;      // valid store without one (empty header)
  uint64_t malformed = 0;  // -EBADMSG
};

class XskReader {
 public:
  static Result<XskReader> create(net::Topology& topo, Deployment& dep, KeyIds keys,
                                  const XskOptions& opt = {});
  XskReader(XskReader&&) noexcept;
  XskReader& operator=(XskReader&&) = delete;
  XskReader(const XskReader&) = delete;
  ~XskReader();
  // Receives what is waiting; records LB_AT_XSK observations into dep.
  int poll(Deployment& dep);
  XskStats stats() const;

 private:
  XskReader() = default;
  struct State;
  std::unique_ptr<State> st_;
};

// What the consumers reported for a burst of traffic.
struct Tally {
  size_t tagged = 0;    // packet ids the LB tagged (ingress records)
  int complete = 0;     // ids seen by every consumer asked for
  int identical = 0;    // complete, no error, same id, flow hash and store bytes everywhere
  int delivered = 0;    // datagrams read from the receiver socket
  RecordStats records;  // ring-buffer accounting after the wait
  std::map<uint32_t, int> per_consumer;
  std::vector<std::string> problems;  // one line each, at most 20
};

// Polls the ring buffer (and the AF_XDP reader, and drains receiver_fd when
// >= 0) until `expected` ids were seen by every consumer and, with a
// receiver, that many datagrams arrived, or the timeout; then tallies.
Tally wait_and_tally(Deployment& dep, int expected, const std::vector<uint32_t>& consumers,
                     int receiver_fd, XskReader* xsk, std::chrono::milliseconds timeout);
// "N tagged, N complete, N byte-identical; consumer=N ... [delivered=N]
// [; ring buffer full: N of M records lost]"
std::string summary(const Tally& t, bool with_delivered);

// The store carried by a record: the last store_size() bytes of the tail
// the consumer copied (empty if the tail holds no valid store).
std::vector<uint8_t> store_bytes(const lb_rec& r);

const char* consumer_name(uint32_t c);

}  // namespace xdpkv::lb
