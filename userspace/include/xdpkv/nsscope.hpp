// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
// The calling thread in another network namespace for a while: the one way
// every tool (tracer, tagger, hints capture and probe, TC filters, the demo,
// the tests) enters a namespace, with one failure policy:
//   - entering fails with an error that names the namespace;
//   - going back cannot fail quietly: a thread left in the wrong namespace
//     would attach, detach or send in the wrong place, so the process says
//     so on stderr and aborts.
// Here (xdpkv_bpf), not in xdpkv_net, because TcFilter (tc.hpp) uses it.
#pragma once

#include <functional>
#include <string>

#include <xdpkv/bpf_util.hpp>
#include <xdpkv/result.hpp>

namespace xdpkv::net {

class NsScope {
 public:
  // The namespace `ip netns` names `name` (/var/run/netns/NAME); "" stays
  // where the thread is.
  static Result<NsScope> enter(const std::string& name);
  // Anything that names an `ip netns` namespace (net::Netns).
  template <class Ns>
  requires requires(const Ns& n) { n.name(); }
  static Result<NsScope> enter(const Ns& ns) { return enter(std::string(ns.name())); }
  // The namespace of an open nsfs descriptor; `what` names it in errors.
  static Result<NsScope> enter_fd(int ns_fd, const std::string& what);

  NsScope(NsScope&& o) noexcept : back_(std::move(o.back_)) {}
  NsScope(const NsScope&) = delete;
  NsScope& operator=(const NsScope&) = delete;
  NsScope& operator=(NsScope&&) = delete;
  ~NsScope();

 private:
  explicit NsScope(bpf::UniqueFd back) : back_(std::move(back)) {}
  bpf::UniqueFd back_;  // empty: nothing to undo
};

// fn() inside namespace `name` ("" : here); its status, or why the namespace
// could not be entered.
Status in_netns(const std::string& name, const std::function<Status()>& fn);

}  // namespace xdpkv::net
