// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#include <bpf/libbpf.h>
#include <fcntl.h>
#include <unistd.h>

#include <utility>

#include <xdpkv/bpf_util.hpp>
#include <xdpkv/nsscope.hpp>
#include <xdpkv/tc.hpp>

namespace xdpkv::bpf {
namespace {
bpf_tc_attach_point point(TcHook h) {
  return h == TcHook::kEgress ? BPF_TC_EGRESS : BPF_TC_INGRESS;
}
const char* name(TcHook h) { return h == TcHook::kEgress ? "egress" : "ingress"; }
}  // namespace

Result<TcFilter> TcFilter::attach(int ifindex, int prog_fd, TcHook hook, uint32_t priority) {
  LIBBPF_OPTS(bpf_tc_hook, h, .ifindex = ifindex, .attach_point = point(hook));
  int err = bpf_tc_hook_create(&h);
  if (err && err != -EEXIST)
    return errno_error(-err, "create clsact qdisc on ifindex " + std::to_string(ifindex));
  LIBBPF_OPTS(bpf_tc_opts, o, .prog_fd = prog_fd, .priority = priority);
  if (int e = bpf_tc_attach(&h, &o)) {
    return errno_error(
        -e, std::string("attach TC ") + name(hook) + " on ifindex " + std::to_string(ifindex));
  }
  TcFilter f;
  f.netns_ = UniqueFd(open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC));
  f.ifindex_ = ifindex;
  f.hook_ = hook;
  f.handle_ = o.handle;
  f.priority_ = o.priority;
  f.created_clsact_ = err == 0;
  return f;
}

TcFilter::TcFilter(TcFilter&& o) noexcept
    : netns_(std::move(o.netns_)),
      ifindex_(std::exchange(o.ifindex_, 0)),
      hook_(o.hook_),
      handle_(o.handle_),
      priority_(o.priority_),
      created_clsact_(o.created_clsact_) {}

TcFilter& TcFilter::operator=(TcFilter&& o) noexcept {
  if (this != &o) {
    detach();
    netns_ = std::move(o.netns_);
    ifindex_ = std::exchange(o.ifindex_, 0);
    hook_ = o.hook_;
    handle_ = o.handle_;
    priority_ = o.priority_;
    created_clsact_ = o.created_clsact_;
  }
  return *this;
}

TcFilter::~TcFilter() { detach(); }

void TcFilter::detach() {
  if (!ifindex_) return;
  const int ifindex = std::exchange(ifindex_, 0);
  // Detach in the filter's namespace; if it cannot be entered, leave the
  // filter (it goes with its device) rather than touch another device.
  if (!netns_) return;
  auto in = net::NsScope::enter_fd(netns_.get(), "of the TC filter");
  if (!in) return;
  LIBBPF_OPTS(bpf_tc_hook, h, .ifindex = ifindex, .attach_point = point(hook_));
  LIBBPF_OPTS(bpf_tc_opts, o, .handle = handle_, .priority = priority_);
  (void)bpf_tc_detach(&h, &o);  // the device may be gone already
}

void tc_destroy_clsact(int ifindex) {
  LIBBPF_OPTS(bpf_tc_hook, h, .ifindex = ifindex,
              .attach_point = static_cast<bpf_tc_attach_point>(BPF_TC_INGRESS | BPF_TC_EGRESS));
  (void)bpf_tc_hook_destroy(&h);
}

}  // namespace xdpkv::bpf
