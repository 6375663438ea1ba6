// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#include <xdpkv/live.hpp>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/ethtool.h>
#include <linux/if_link.h>
#include <linux/sockios.h>
#include <net/if.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <map>
#include <memory>

#include "xdpkv_traffic_live.skel.h"

#ifndef BPF_F_TEST_XDP_LIVE_FRAMES
#define BPF_F_TEST_XDP_LIVE_FRAMES (1U << 1)
#endif

namespace xdpkv::traffic {

namespace {

// The driver's ethtool statistics (ETHTOOL_GSTRINGS + ETHTOOL_GSTATS); empty if it has none.
std::map<std::string, uint64_t> driver_stats(const char* ifname) {
  std::map<std::string, uint64_t> out;
  int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (s < 0) return out;
  bpf::UniqueFd fd(s);
  ifreq ifr{};
  std::strncpy(ifr.ifr_name, ifname, IFNAMSIZ - 1);

  // ethtool_sset_info ends in a flexible array: one u32 follows for one set.
  alignas(8) uint8_t sbuf_info[sizeof(ethtool_sset_info) + sizeof(uint32_t)] = {};
  auto* info = reinterpret_cast<ethtool_sset_info*>(sbuf_info);
  info->cmd = ETHTOOL_GSSET_INFO;
  info->sset_mask = 1ULL << ETH_SS_STATS;
  ifr.ifr_data = reinterpret_cast<char*>(info);
  if (ioctl(fd.get(), SIOCETHTOOL, &ifr) || !(info->sset_mask & (1ULL << ETH_SS_STATS))) return out;
  uint32_t n;
  std::memcpy(&n, sbuf_info + sizeof(ethtool_sset_info), sizeof(n));
  if (n == 0 || n > 65536) return out;

  std::vector<uint8_t> sbuf(sizeof(ethtool_gstrings) + size_t{n} * ETH_GSTRING_LEN);
  auto* gs = reinterpret_cast<ethtool_gstrings*>(sbuf.data());
  gs->cmd = ETHTOOL_GSTRINGS;
  gs->string_set = ETH_SS_STATS;
  gs->len = n;
  ifr.ifr_data = reinterpret_cast<char*>(gs);
  if (ioctl(fd.get(), SIOCETHTOOL, &ifr)) return out;

  std::vector<uint64_t> vbuf((sizeof(::ethtool_stats) + 7) / 8 + n);
  auto* st = reinterpret_cast<::ethtool_stats*>(vbuf.data());
  st->cmd = ETHTOOL_GSTATS;
  st->n_stats = n;
  ifr.ifr_data = reinterpret_cast<char*>(st);
  if (ioctl(fd.get(), SIOCETHTOOL, &ifr)) return out;
  for (uint32_t i = 0; i < n && i < st->n_stats; i++) {
    const char* name = reinterpret_cast<const char*>(gs->data + size_t{i} * ETH_GSTRING_LEN);
    out[std::string(name, strnlen(name, ETH_GSTRING_LEN))] = st->data[i];
  }
  return out;
}

}  // namespace

XmitCounters xdp_xmit_counters(const char* ifname) {
  XmitCounters x;
  for (const auto& [k, v] : driver_stats(ifname)) {
    if (k.rfind("tx_queue_", 0) != 0) continue;
    if (k.ends_with("_xdp_xmit")) {
      x.have = true;
      x.ok += v;
    } else if (k.ends_with("_xdp_xmit_errors")) {
      x.err += v;
    }
  }
  return x;
}

namespace {

Status check_live_options(const FrameSpec& spec, const LiveOptions& opt) {
  if (auto v = validate(spec); !v) return v.error();
  if (opt.batch_size < 1 || opt.batch_size > 256)
    return make_error(EINVAL, "batch_size must be 1..256");
  if (opt.max_repeat < 1 || opt.max_repeat > INT32_MAX)
    return make_error(EINVAL, "max_repeat must be 1..2^31-1");
  return {};
}

// Sends count frames, the flows' shares in turn, through the loaded program:
// st.sent, runs, seconds and pps. ifname names ifindex in the errors.
Status send_rounds(xdpkv_traffic_live& skel, const FrameSpec& spec, uint64_t count,
                   const LiveOptions& opt, int ifindex, const char* ifname, LiveStats& st) {
  const int prog_fd = bpf_program__fd(skel.progs.live_tx);
  std::vector<uint64_t> left(spec.flows, count / spec.flows);
  for (uint64_t f = 0; f < count % spec.flows; f++) left[f]++;
  std::vector<uint8_t> frame(frame_size(spec));
  if (frame.size() > sizeof(skel.bss->tmpl)) {
    return make_error(EMSGSIZE, "frame of " + std::to_string(frame.size()) +
                                    " bytes: the live-frames program holds at most " +
                                    std::to_string(sizeof(skel.bss->tmpl)));
  }
  xdp_md ctx{};
  ctx.ingress_ifindex = static_cast<uint32_t>(ifindex);
  ctx.rx_queue_index = 0;
  ctx.data = 0;  // no metadata
  ctx.data_end = static_cast<uint32_t>(frame.size());

  auto t0 = std::chrono::steady_clock::now();
  // Each round gives every flow one call; the number of calls is bounded by
  // flows * ceil(count / flows / max_repeat).
  for (bool more = count > 0; more;) {
    more = false;
    for (uint32_t f = 0; f < spec.flows; f++) {
      if (!left[f]) continue;
      if (net::interrupted()) return make_error(EINTR, "interrupted");
      const uint64_t n = std::min(left[f], opt.max_repeat);
      build_frame(spec, f, st.sent, frame);
      // The program rewrites every frame from this template (see live.bpf.c).
      std::memcpy(skel.bss->tmpl, frame.data(), frame.size());
      skel.bss->tmpl_len = static_cast<uint32_t>(frame.size());
      LIBBPF_OPTS(bpf_test_run_opts, ro, .data_in = frame.data(),
                  .data_size_in = static_cast<uint32_t>(frame.size()), .ctx_in = &ctx,
                  .ctx_size_in = sizeof(ctx), .repeat = static_cast<int>(n),
                  .flags = BPF_F_TEST_XDP_LIVE_FRAMES, .batch_size = opt.batch_size);
      if (bpf_prog_test_run_opts(prog_fd, &ro)) {
        return bpf::errno_error(
            errno, "BPF_PROG_RUN (live frames, repeat " + std::to_string(n) + ") on " + ifname);
      }
      st.sent += n;
      st.runs++;
      left[f] -= n;
      more = more || left[f] > 0;
    }
  }
  st.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  st.pps = st.seconds > 0 ? static_cast<double>(st.sent) / st.seconds : 0;
  return {};
}

}  // namespace

Result<LiveStats> send_live_frames(const net::Netns& ns, int ifindex, const FrameSpec& spec,
                                   uint64_t count, const LiveOptions& opt) {
  if (auto v = check_live_options(spec, opt); !v) return v.error();
  bpf::init_libbpf();
  auto skel = bpf::open_skeleton(xdpkv_traffic_live__open, xdpkv_traffic_live__destroy,
                                 "xdpkv_traffic_live");
  if (!skel) return skel.error();
  if (auto l = bpf::load_skeleton(*skel, xdpkv_traffic_live__load, "xdpkv_traffic_live"); !l)
    return l.error();

  // ingress_ifindex is resolved in the calling thread's network namespace.
  auto scope = net::NsScope::enter(ns);
  if (!scope) return scope.error();
  char ifname[IF_NAMESIZE] = {};
  if (!if_indextoname(static_cast<unsigned>(ifindex), ifname))
    return bpf::errno_error(errno, "no interface " + std::to_string(ifindex) + " in " + ns.name());

  LiveStats st;
  st.requested = count;
  const XmitCounters before = xdp_xmit_counters(ifname);
  if (auto s = send_rounds(**skel, spec, count, opt, ifindex, ifname, st); !s) return s.error();
  if (const uint64_t bad = (*skel)->bss->restore_err)
    return make_error(EIO, std::to_string(bad) + " frames could not be written from the template");
  const XmitCounters after = xdp_xmit_counters(ifname);
  if (before.have && after.have) {
    st.have_xmit_stats = true;
    st.xmit = after.ok - before.ok;
    st.xmit_errors = after.err - before.err;
  }
  return st;
}

}  // namespace xdpkv::traffic
