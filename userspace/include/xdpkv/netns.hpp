// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
// Network namespaces and commands run in them, with RAII cleanup: a Netns
// deletes its namespace (and with it every interface in it) when destroyed,
// also when a test fails. SIGINT/SIGTERM only set a flag (interrupted()) so
// that loops stop and destructors run.
#pragma once

#include <string>
#include <vector>

#include <xdpkv/bpf_util.hpp>
#include <xdpkv/nsscope.hpp>
#include <xdpkv/result.hpp>

namespace xdpkv::net {

// Runs argv (no shell), waits; the error carries the command and its stderr.
Result<std::string> run(const std::vector<std::string>& argv);

// A namespace name no other live process uses: "xkv<pid>-<n>-<what>".
// Interfaces live inside such namespaces and keep short fixed names.
std::string unique_name(const std::string& what);

// Installs SIGINT/SIGTERM handlers that set the flag instead of killing the process.
void catch_interrupts();
bool interrupted();

// Deletes namespaces left by xdpkv processes that no longer exist (killed
// with SIGKILL, for example). Returns how many it removed.
int remove_stale_namespaces();

class Netns {
 public:
  static Result<Netns> create(const std::string& name);
  Netns(Netns&& o) noexcept : name_(std::move(o.name_)) { o.name_.clear(); }
  Netns& operator=(Netns&& o) noexcept;
  Netns(const Netns&) = delete;
  Netns& operator=(const Netns&) = delete;
  ~Netns();

  const std::string& name() const { return name_; }
  // Runs argv inside the namespace (ip netns exec).
  Result<std::string> exec(const std::vector<std::string>& argv) const;
  // `ip ...` inside the namespace.
  Result<std::string> ip(const std::vector<std::string>& args) const;
  Result<bpf::UniqueFd> open() const;

 private:
  explicit Netns(std::string name) : name_(std::move(name)) {}
  std::string name_;
};

// ifindex of an interface inside a namespace (0 if absent).
int ifindex_in(const Netns& ns, const std::string& ifname);

}  // namespace xdpkv::net
