// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#include <xdpkv/nsscope.hpp>

#include <fcntl.h>
#include <sched.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace xdpkv::net {

Result<NsScope> NsScope::enter_fd(int ns_fd, const std::string& what) {
  bpf::UniqueFd back(::open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC));
  if (!back) return bpf::errno_error(errno, "open this thread's network namespace");
  if (::setns(ns_fd, CLONE_NEWNET) != 0)
    return bpf::errno_error(errno, "enter network namespace " + what);
  return NsScope(std::move(back));
}

Result<NsScope> NsScope::enter(const std::string& name) {
  if (name.empty()) return NsScope(bpf::UniqueFd());
  bpf::UniqueFd fd(::open(("/var/run/netns/" + name).c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd) return bpf::errno_error(errno, "network namespace " + name);
  return enter_fd(fd.get(), name);
}

NsScope::~NsScope() {
  if (!back_) return;
  if (::setns(back_.get(), CLONE_NEWNET) != 0) {
    std::fprintf(stderr, "xdpkv: cannot return to the thread's network namespace: %s\n",
                 std::strerror(errno));
    std::abort();
  }
}

Status in_netns(const std::string& name, const std::function<Status()>& fn) {
  auto scope = NsScope::enter(name);
  if (!scope) return scope.error();
  return fn();
}

}  // namespace xdpkv::net
