// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#include <xdpkv/netns.hpp>

#include <dirent.h>
#include <fcntl.h>
#include <net/if.h>
#include <sched.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cstring>

namespace xdpkv::net {

namespace {

std::atomic<bool> g_interrupted{false};
std::atomic<unsigned> g_counter{0};

void on_signal(int) { g_interrupted.store(true); }

Result<std::string> read_all(int fd) {
  std::string out;
  char buf[4096];
  ssize_t n;
  while ((n = ::read(fd, buf, sizeof(buf))) > 0) out.append(buf, static_cast<size_t>(n));
  if (n < 0) return bpf::errno_error(errno, "read");
  return out;
}

std::string join(const std::vector<std::string>& argv) {
  std::string s;
  for (const auto& a : argv) s += (s.empty() ? "" : " ") + a;
  return s;
}

}  // namespace

Result<std::string> run(const std::vector<std::string>& argv) {
  int out[2], err[2];
  if (pipe2(out, O_CLOEXEC) || pipe2(err, O_CLOEXEC)) return bpf::errno_error(errno, "pipe");
  pid_t pid = fork();
  if (pid < 0) return bpf::errno_error(errno, "fork");
  if (pid == 0) {
    dup2(out[1], 1);
    dup2(err[1], 2);
    std::vector<char*> args;
    for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    execvp(args[0], args.data());
    std::fprintf(stderr, "cannot run %s: %s\n", args[0], std::strerror(errno));
    _exit(127);
  }
  ::close(out[1]);
  ::close(err[1]);
  bpf::UniqueFd o(out[0]), e(err[0]);
  // Commands here print little: read stdout then stderr without deadlock risk.
  auto so = read_all(o.get());
  auto se = read_all(e.get());
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (!so) return so.error();
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    std::string msg = se ? *se : std::string();
    while (!msg.empty() && msg.back() == '\n') msg.pop_back();
    return make_error(
        EIO, "'" + join(argv) + "' failed: " +
                 (msg.empty() ? "exit status " + std::to_string(WEXITSTATUS(status)) : msg));
  }
  return *so;
}

std::string unique_name(const std::string& what) {
  return "xkv" + std::to_string(getpid()) + "-" + std::to_string(g_counter++) + "-" + what;
}

void catch_interrupts() {
  struct sigaction sa {};
  sa.sa_handler = on_signal;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);
}

bool interrupted() { return g_interrupted.load(); }

int remove_stale_namespaces() {
  int removed = 0;
  DIR* d = opendir("/var/run/netns");
  if (!d) return 0;
  std::vector<std::string> stale;
  while (dirent* e = readdir(d)) {
    std::string n = e->d_name;
    if (n.rfind("xkv", 0) != 0) continue;
    size_t dash = n.find('-');
    if (dash == std::string::npos) continue;
    std::string pid = n.substr(3, dash - 3);
    if (pid.empty() || pid.find_first_not_of("0123456789") != std::string::npos) continue;
    // Only remove when no such process lives.
    if (access(("/proc/" + pid).c_str(), F_OK) == 0) continue;
    stale.push_back(n);
  }
  closedir(d);
  for (const auto& n : stale)
    if (run({"ip", "netns", "del", n})) removed++;
  return removed;
}

Result<Netns> Netns::create(const std::string& name) {
  if (auto r = run({"ip", "netns", "add", name}); !r) return r.error();
  Netns ns(name);
  if (auto r = ns.ip({"link", "set", "lo", "up"}); !r) return r.error();
  return ns;
}

Netns& Netns::operator=(Netns&& o) noexcept {
  if (this != &o) {
    if (!name_.empty()) (void)run({"ip", "netns", "del", name_});
    name_ = std::move(o.name_);
    o.name_.clear();
  }
  return *this;
}

Netns::~Netns() {
  if (!name_.empty()) (void)run({"ip", "netns", "del", name_});
}

Result<std::string> Netns::exec(const std::vector<std::string>& argv) const {
  std::vector<std::string> a{"ip", "netns", "exec", name_};
  a.insert(a.end(), argv.begin(), argv.end());
  return run(a);
}

Result<std::string> Netns::ip(const std::vector<std::string>& args) const {
  std::vector<std::string> a{"ip", "-n", name_};
  a.insert(a.end(), args.begin(), args.end());
  return run(a);
}

Result<bpf::UniqueFd> Netns::open() const {
  int fd = ::open(("/var/run/netns/" + name_).c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return bpf::errno_error(errno, "open netns " + name_);
  return bpf::UniqueFd(fd);
}

int ifindex_in(const Netns& ns, const std::string& ifname) {
  auto s = NsScope::enter(ns);
  if (!s) return 0;
  return static_cast<int>(if_nametoindex(ifname.c_str()));
}

}  // namespace xdpkv::net
