// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#include <xdpkv/bpf_util.hpp>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/bpf.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include <cstdarg>
#include <cstdio>
#include <cstring>
#include <mutex>

#include <xdpkv/format.hpp>

namespace xdpkv::bpf {

UniqueFd& UniqueFd::operator=(UniqueFd&& o) noexcept {
  if (this != &o) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = std::exchange(o.fd_, -1);
  }
  return *this;
}

UniqueFd::~UniqueFd() {
  if (fd_ >= 0) ::close(fd_);
}

Error errno_error(int code, const std::string& what) {
  if (code < 0) code = -code;
  return make_error(code, what + ": " + std::strerror(code));
}

namespace {

// libbpf prints the verifier log of a failed load at warning level; keep the
// last one so that the error names the instruction the verifier refused.
std::mutex g_log_mu;
std::string g_last_log;
bool g_full_log = true;

int print_fn(enum libbpf_print_level level, const char* fmt, va_list ap) {
  if (level == LIBBPF_DEBUG) return 0;
  // The verifier log arrives as one message of up to megabytes: size it first.
  va_list ap2;
  va_copy(ap2, ap);
  int n = std::vsnprintf(nullptr, 0, fmt, ap2);
  va_end(ap2);
  if (n <= 0) return 0;
  std::string msg(static_cast<size_t>(n) + 1, '\0');
  std::vsnprintf(msg.data(), msg.size(), fmt, ap);
  msg.pop_back();
  std::lock_guard lk(g_log_mu);
  g_last_log += msg;
  if (g_last_log.size() > (1u << 20)) g_last_log.erase(0, g_last_log.size() - (1u << 19));
  return 0;
}

std::string tail_lines(const std::string& s, int lines) {
  size_t pos = s.size();
  while (lines-- > 0 && pos > 0) {
    size_t p = s.rfind('\n', pos - 1);
    if (p == std::string::npos) return s;
    pos = p;
  }
  return s.substr(pos);
}

}  // namespace

void init_libbpf() {
  static std::once_flag once;
  std::call_once(once, [] {
    libbpf_set_print(print_fn);
    // Kernels before 5.11 charge BPF memory to RLIMIT_MEMLOCK.
    rlimit r{RLIM_INFINITY, RLIM_INFINITY};
    setrlimit(RLIMIT_MEMLOCK, &r);
  });
  std::lock_guard lk(g_log_mu);
  g_last_log.clear();
}

Error load_error(int err, const char* name) {
  if (err < 0) err = -err;
  std::string msg = std::string("cannot load BPF object ") + name + ": " + std::strerror(err);
  if (err == EPERM || err == EACCES) {
    if (geteuid() != 0) {
      msg +=
          " (needs root, or CAP_BPF + CAP_PERFMON + CAP_NET_ADMIN: xdpkv uses "
          "variable-offset packet pointers, which the verifier allows with CAP_PERFMON)";
    }
  }
  std::lock_guard lk(g_log_mu);
  if (g_last_log.empty()) return make_error(err, msg);
  if (g_full_log)
    return make_error(err, msg + "\nverifier/libbpf log (tail):" + tail_lines(g_last_log, 25));
  const size_t end = g_last_log.rfind("-- END PROG LOAD LOG --");
  if (std::string words = verifier_words(g_last_log.substr(0, end)); !words.empty())
    msg += "; the verifier said: " + words;
  return make_error(err, msg + " (--verbose shows its log)");
}

std::string verifier_words(std::string_view log) {
  while (!log.empty()) {
    const size_t b = log.find_last_of('\n', log.size() - 1);
    std::string_view line = b == std::string_view::npos ? log : log.substr(b + 1);
    log = b == std::string_view::npos ? std::string_view{} : log.substr(0, b);
    while (!line.empty() && line.back() == ' ') line.remove_suffix(1);
    const bool statistic = line.starts_with("processed ") ||
                           line.starts_with("verification time") ||
                           line.starts_with("stack depth") || line.starts_with("libbpf:");
    if (!line.empty() && !statistic) return std::string(line);
  }
  return {};
}

void set_load_log(bool full) {
  std::lock_guard lk(g_log_mu);
  g_full_log = full;
}

Result<XdpRun> xdp_test_run(int prog_fd, std::span<const uint8_t> meta,
                            std::span<const uint8_t> packet, uint32_t repeat) {
  if (meta.size() % 4 || meta.size() > XDPKV_META_MAX) {
    return make_error(EINVAL, "metadata area of " + std::to_string(meta.size()) +
                                  " bytes: the kernel takes a multiple of 4, at most " +
                                  std::to_string(XDPKV_META_MAX));
  }
  std::vector<uint8_t> in(meta.begin(), meta.end());
  in.insert(in.end(), packet.begin(), packet.end());
  // Output: the whole headroom may have become metadata.
  std::vector<uint8_t> out(in.size() + 256 + 64);
  xdp_md ctx_in{};
  ctx_in.data_meta = 0;
  ctx_in.data = static_cast<uint32_t>(meta.size());
  ctx_in.data_end = static_cast<uint32_t>(in.size());
  xdp_md ctx_out{};
  LIBBPF_OPTS(bpf_test_run_opts, opts);
  opts.data_in = in.data();
  opts.data_out = out.data();
  opts.data_size_in = static_cast<uint32_t>(in.size());
  opts.data_size_out = static_cast<uint32_t>(out.size());
  opts.ctx_in = &ctx_in;
  opts.ctx_size_in = sizeof(ctx_in);
  opts.ctx_out = &ctx_out;
  opts.ctx_size_out = sizeof(ctx_out);
  opts.repeat = static_cast<int>(repeat);
  timespec t0{}, t1{};
  // The thread's CPU clock: time other tasks take on this CPU is not counted.
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t0);
  int err = bpf_prog_test_run_opts(prog_fd, &opts);
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t1);
  if (err) return errno_error(errno, "BPF_PROG_TEST_RUN");
  XdpRun r;
  r.cpu_ns = (t1.tv_sec - t0.tv_sec) * 1e9 + (t1.tv_nsec - t0.tv_nsec);
  r.retval = opts.retval;
  r.duration_ns = opts.duration;
  uint32_t m = ctx_out.data;
  uint32_t total = opts.data_size_out;
  if (m > total || ctx_out.data_end > total)
    return make_error(EPROTO, "BPF_PROG_TEST_RUN returned an inconsistent context");
  r.meta.assign(out.begin(), out.begin() + m);
  r.packet.assign(out.begin() + m, out.begin() + ctx_out.data_end);
  return r;
}

uint32_t verified_insns(int prog_fd) {
  bpf_prog_info info{};
  uint32_t len = sizeof(info);
  if (bpf_obj_get_info_by_fd(prog_fd, &info, &len)) return 0;
  return info.verified_insns;
}

ProgSize prog_size(int prog_fd) {
  bpf_prog_info info{};
  uint32_t len = sizeof(info);
  if (bpf_obj_get_info_by_fd(prog_fd, &info, &len)) return {};
  return {info.xlated_prog_len, info.jited_prog_len};
}

}  // namespace xdpkv::bpf
