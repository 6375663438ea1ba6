// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
// TC (clsact) attachment of BPF programs, owned: the filter is removed when
// the TcFilter goes away, in the network namespace it was attached in (an
// ifindex means nothing elsewhere). libbpf 1.1 has no tcx API, so this is
// the classic cls_bpf attach in direct-action mode. attach() works in the
// caller's namespace: enter the device's first (net::NsScope).
#pragma once

#include <cstdint>

#include <xdpkv/bpf_util.hpp>
#include <xdpkv/result.hpp>

namespace xdpkv::bpf {

enum class TcHook { kIngress, kEgress };

class TcFilter {
 public:
  // Creates the clsact qdisc if needed and attaches prog_fd at hook.
  static Result<TcFilter> attach(int ifindex, int prog_fd, TcHook hook, uint32_t priority = 0);
  TcFilter() = default;
  TcFilter(TcFilter&& o) noexcept;
  TcFilter& operator=(TcFilter&& o) noexcept;
  TcFilter(const TcFilter&) = delete;
  TcFilter& operator=(const TcFilter&) = delete;
  ~TcFilter();
  // Detaches now (also done by the destructor); the clsact qdisc stays.
  void detach();
  bool attached() const { return ifindex_ != 0; }
  uint32_t handle() const { return handle_; }
  uint32_t priority() const { return priority_; }
  // Whether attach() created the clsact qdisc (it was not there before): a
  // caller that leaves the device as found removes it after detach()
  // (tc_destroy_clsact), which also removes any filter added since.
  bool created_clsact() const { return created_clsact_; }

 private:
  UniqueFd netns_;  // the namespace of ifindex_
  int ifindex_ = 0;
  TcHook hook_ = TcHook::kIngress;
  uint32_t handle_ = 0, priority_ = 0;
  bool created_clsact_ = false;
};

// Removes the clsact qdisc of ifindex and every filter on it.
void tc_destroy_clsact(int ifindex);

}  // namespace xdpkv::bpf
