// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
// Loading and running xdpkv BPF programs from C++: RAII for libbpf skeletons
// and file descriptors, BPF_PROG_TEST_RUN of XDP programs with a metadata
// area, verifier statistics.
#pragma once

#include <cerrno>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <xdpkv/result.hpp>

namespace xdpkv::bpf {

// Owns a file descriptor.
class UniqueFd {
 public:
  UniqueFd() noexcept = default;
  explicit UniqueFd(int fd) noexcept : fd_(fd) {}
  UniqueFd(UniqueFd&& o) noexcept : fd_(std::exchange(o.fd_, -1)) {}
  UniqueFd& operator=(UniqueFd&& o) noexcept;
  UniqueFd(const UniqueFd&) = delete;
  UniqueFd& operator=(const UniqueFd&) = delete;
  ~UniqueFd();
  int get() const noexcept { return fd_; }
  int release() noexcept { return std::exchange(fd_, -1); }
  explicit operator bool() const noexcept { return fd_ >= 0; }

 private:
  int fd_ = -1;
};

// Error{code, "what: strerror(code)"}.
Error errno_error(int code, const std::string& what);

// A bpftool skeleton owned by unique_ptr: Skeleton<foo> p = open_skeleton(foo__open, foo__destroy).
template <class S>
using Skeleton = std::unique_ptr<S, void (*)(S*)>;

// Opens a skeleton; on failure returns the errno with what failed.
template <class S>
Result<Skeleton<S>> open_skeleton(S* (*open)(), void (*destroy)(S*), const char* name) {
  S* s = open();
  if (!s) return errno_error(errno, std::string("cannot open BPF object ") + name);
  return Skeleton<S>(s, destroy);
}

// Loads a skeleton's programs; the error message carries the tail of the
// verifier log and the capability that is missing when that is the cause.
template <class S>
Result<void> load_skeleton(Skeleton<S>& s, int (*load)(S*), const char* name);

// Turns a libbpf load error into an Error: with the tail of the captured
// verifier log (the default), or, after set_load_log(false), one line that
// ends with the verifier's last words (a tool shows the log on --verbose).
Error load_error(int err, const char* name);
void set_load_log(bool full);
// The kernel's words in a verifier log: its last line that is not a statistic.
std::string verifier_words(std::string_view log);

// Sets up libbpf logging (warnings only; the verifier log of a failed load is
// kept for load_error) and raises RLIMIT_MEMLOCK for pre-5.11 kernels.
void init_libbpf();

// Result of one BPF_PROG_TEST_RUN of an XDP program.
struct XdpRun {
  uint32_t retval = 0;          // XDP action
  uint32_t duration_ns = 0;     // mean per repetition as the kernel reports it (truncated)
  double cpu_ns = 0;            // CPU time of this thread around the syscall alone
  std::vector<uint8_t> meta;    // the metadata area after the run
  std::vector<uint8_t> packet;  // data .. data_end after the run
};

// Runs an XDP program on a packet whose metadata area is `meta` (M bytes,
// M % 4 == 0, M <= 252): ctx_in {data_meta = 0, data = M}. Buffers are set up
// before and read after the syscall, so cpu_ns times the kernel's work only
// (benchmarks divide it by `repeat`).
Result<XdpRun> xdp_test_run(int prog_fd, std::span<const uint8_t> meta,
                            std::span<const uint8_t> packet, uint32_t repeat = 1);

// Instructions the verifier processed to load the program (bpf_prog_info.verified_insns,
// Linux >= 5.16; 0 when the kernel does not report it).
uint32_t verified_insns(int prog_fd);
// Translated (xlated) and JITed program sizes in bytes.
struct ProgSize {
  uint32_t xlated = 0;
  uint32_t jited = 0;
};
ProgSize prog_size(int prog_fd);

template <class S>
Result<void> load_skeleton(Skeleton<S>& s, int (*load)(S*), const char* name) {
  int err = load(s.get());
  if (err) return load_error(err, name);
  return {};
}

}  // namespace xdpkv::bpf
