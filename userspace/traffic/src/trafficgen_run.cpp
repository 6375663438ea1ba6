// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#include <xdpkv/trafficgen.hpp>

#include <arpa/inet.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <system_error>

namespace xdpkv::traffic {

// $XDPKV_TRAFFICGEN, else the generator installed next to this executable
// (bin/xdpkv and bin/xdpkv-trafficgen of an installed prefix, wherever it was
// moved), else the one of the build tree this binary was built in.
std::string trafficgen_path() {
  if (const char* e = std::getenv("XDPKV_TRAFFICGEN"); e && *e) return e;
  std::error_code ec;
  const std::filesystem::path self = std::filesystem::read_symlink("/proc/self/exe", ec);
  if (!ec) {
    const std::filesystem::path beside = self.parent_path() / "xdpkv-trafficgen";
    if (access(beside.c_str(), X_OK) == 0) return beside.string();
  }
#ifdef XDPKV_TRAFFICGEN_PATH
  return XDPKV_TRAFFICGEN_PATH;
#else
  return "xdpkv-trafficgen";
#endif
}

std::vector<std::string> trafficgen_args(const std::string& iface, const FrameSpec& s,
                                         uint64_t count, uint64_t rate_pps) {
  auto ip = [](uint32_t a) {
    char b[INET_ADDRSTRLEN];
    inet_ntop(AF_INET, &a, b, sizeof(b));
    return std::string(b);
  };
  std::vector<std::string> a = {"--iface",      iface,
                                "--src-mac",    mac_str(s.src_mac),
                                "--dst-mac",    mac_str(s.dst_mac),
                                "--src-ip",     ip(s.src_ip),
                                "--dst-ip",     ip(s.dst_ip),
                                "--dport",      std::to_string(s.dport),
                                "--sport-base", std::to_string(s.sport_base),
                                "--flows",      std::to_string(s.flows),
                                "--proto",      s.proto == Proto::tcp ? "tcp" : "udp",
                                "--payload",    std::to_string(s.payload_size),
                                "--count",      std::to_string(count),
                                "--rate",       std::to_string(rate_pps)};
  if (s.vlan_tci) {
    a.push_back("--vlan");
    a.push_back(std::to_string(*s.vlan_tci));
  }
  return a;
}

namespace {

// The generator's time bounds: SIGTERM at the deadline, SIGKILL 2 s later.
struct Bounds {
  std::chrono::steady_clock::time_point deadline, kill_at;
  bool termed = false;
};

// Runs argv (argv[0] the path) in the network namespace nsfd, its stdout
// and stderr on out; returns the child's pid.
Result<pid_t> spawn(int nsfd, std::vector<std::string> argv_s, int out) {
  std::vector<char*> argv;
  for (auto& a : argv_s) argv.push_back(a.data());
  argv.push_back(nullptr);
  pid_t pid = fork();
  if (pid < 0) return bpf::errno_error(errno, "fork");
  if (pid == 0) {
    // Child: only async-signal-safe calls until exec.
    dup2(out, 1);
    dup2(out, 2);
    if (setns(nsfd, CLONE_NEWNET)) {
      const char m[] = "setns failed\n";
      (void)!write(2, m, sizeof(m) - 1);
      _exit(126);
    }
    execv(argv[0], argv.data());
    const char m[] = "cannot exec xdpkv-trafficgen\n";
    (void)!write(2, m, sizeof(m) - 1);
    _exit(127);
  }
  return pid;
}

// Reads the child's output into r until EOF; bounded by the deadline (then
// SIGTERM, then SIGKILL).
void read_output(int fd, Bounds& b, TrafficgenRun& r) {
  char buf[4096];
  for (;;) {
    auto now = std::chrono::steady_clock::now();
    if (!b.termed && now >= b.deadline) {
      kill(r.pid, SIGTERM);
      b.termed = true;
      r.timed_out = true;
    }
    if (b.termed && now >= b.kill_at) {
      kill(r.pid, SIGKILL);
      break;
    }
    pollfd p{fd, POLLIN, 0};
    int rc = poll(&p, 1, 100);
    if (rc < 0 && errno != EINTR) break;
    if (rc <= 0) continue;
    ssize_t n = read(fd, buf, sizeof(buf));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    if (r.output.size() < (1u << 20)) r.output.append(buf, static_cast<size_t>(n));
  }
}

// Output closed: the process is exiting. Reaps it, still within the
// bounds; returns its wait status.
int reap(Bounds& b, TrafficgenRun& r) {
  int status = 0;
  for (bool killed = false;;) {
    pid_t w = waitpid(r.pid, &status, killed ? 0 : WNOHANG);
    if (w == r.pid || (w < 0 && errno != EINTR)) break;
    if (w == 0) {
      auto now = std::chrono::steady_clock::now();
      if (!b.termed && now >= b.deadline) {
        kill(r.pid, SIGTERM);
        b.termed = true;
        r.timed_out = true;
      } else if (now >= b.kill_at) {
        kill(r.pid, SIGKILL);
        killed = true;  // cannot survive it: wait for it
      }
      usleep(10'000);
    }
  }
  return status;
}

// The generator's final line into r: "sent N of M frames in T s (R pps) via
// DRIVER; IF tx_dropped +D". path names the generator in the error.
Status parse_final_line(TrafficgenRun& r, const std::string& path) {
  size_t at = r.output.rfind("sent ");
  unsigned long long sent = 0, req = 0, dropped = 0;
  double secs = 0, pps = 0;
  char drv[32] = {}, ifname[32] = {};
  if (at == std::string::npos ||
      std::sscanf(
          r.output.c_str() + at,
          "sent %llu of %llu frames in %lf s (%lf pps) via %31[a-z_]; %31s tx_dropped +%llu", &sent,
          &req, &secs, &pps, drv, ifname, &dropped) < 4) {
    return make_error(EIO, path + (r.timed_out ? " timed out" : " failed") +
                               " without a final line; output:\n" + r.output);
  }
  r.sent = sent;
  r.requested = req;
  r.seconds = secs;
  r.pps = pps;
  r.driver = drv;
  r.if_dropped = dropped;
  r.fell_back = r.output.find("falling back to net_af_packet") != std::string::npos;
  return {};
}

}  // namespace

Result<TrafficgenRun> run_trafficgen(const net::Netns& ns, const std::vector<std::string>& args,
                                     std::chrono::milliseconds timeout) {
  auto nsfd = ns.open();
  if (!nsfd) return nsfd.error();
  const std::string path = trafficgen_path();
  int pfd[2];
  if (pipe2(pfd, O_CLOEXEC)) return bpf::errno_error(errno, "pipe");
  bpf::UniqueFd rd(pfd[0]), wr(pfd[1]);
  std::vector<std::string> argv_s{path};
  argv_s.insert(argv_s.end(), args.begin(), args.end());

  // libxdp (inside DPDK's af_xdp PMD) creates its state directory on the
  // host bpffs; leave bpffs as we found it, also when the tool is killed.
  static constexpr const char* kLibxdpDir = "/sys/fs/bpf/xdp";
  const bool had_libxdp_dir = access(kLibxdpDir, F_OK) == 0;
  auto pid = spawn(nsfd->get(), std::move(argv_s), wr.get());
  if (!pid) return pid.error();
  wr = bpf::UniqueFd();

  TrafficgenRun r;
  r.pid = *pid;
  Bounds b;
  b.deadline = std::chrono::steady_clock::now() + timeout;
  b.kill_at = b.deadline + std::chrono::seconds(2);
  read_output(rd.get(), b, r);
  const int status = reap(b, r);
  r.exit_status = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  if (!had_libxdp_dir) (void)rmdir(kLibxdpDir);  // only if empty
  if (auto s = parse_final_line(r, path); !s) return s.error();
  return r;
}

}  // namespace xdpkv::traffic
