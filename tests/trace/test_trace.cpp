// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
// `xdpkv tag` and `xdpkv trace` as a user runs them, on the client -> lb
// topology of userspace/net (namespaces and veth named with the pid, removed
// even when a test fails). The tagger runs on lb's ingress veth; lb listens on
// some UDP ports and not on others (those datagrams are dropped: NO_SOCKET).
// Every test has its own registry directory, so its ids start at 1 and
// follow the send order.
#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <fcntl.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <linux/seccomp.h>
#include <net/if.h>
#include <sched.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>
#include <thread>
#include <tuple>

#include <xdpkv/codec.hpp>
#include <xdpkv/topology.hpp>
#include <xdpkv/traffic.hpp>

#ifndef XDPKV_CLI
#error "XDPKV_CLI: path of the xdpkv binary"
#endif

namespace xdpkv {
namespace {

using json = nlohmann::json;
using namespace std::chrono_literals;

std::string slurp(const std::string& path) {
  std::ifstream f(path);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

void remove_tree(const std::string& path) {
  if (!path.empty()) (void)std::system(("rm -rf '" + path + "'").c_str());
}

// A private registry directory and scratch directory, removed afterwards.
struct Dirs {
  std::string bpffs, tmp;
  Dirs() {
    static int n = 0;
    bpffs = "/sys/fs/bpf/xdpkv-trace-test-" + std::to_string(getpid()) + "-" + std::to_string(n++);
    char t[] = "/tmp/xdpkv-trace-XXXXXX";
    if (mkdtemp(t)) tmp = t;
  }
  ~Dirs() {
    remove_tree(bpffs);
    remove_tree(tmp);
  }
};

struct CliRun {
  int rc = -1;
  std::string out, err;
};

// `xdpkv ARGS` in the background, stdout/stderr to files.
class Bg {
 public:
  // Files are unique per run: a reader must never see a previous run's output.
  // closed_stdout: stdout is a pipe whose reader is gone (`xdpkv trace | head` after head ends).
  // netns: the network namespace it runs in (`ip netns exec` without its new /sys).
  Bg(const std::string& tmp, const std::string& name, const std::vector<std::string>& args,
     bool closed_stdout = false, const std::string& netns = "")
      : out_(tmp + "/" + name + std::to_string(++runs_) + ".out"),
        err_(tmp + "/" + name + std::to_string(runs_) + ".err") {
    pid_ = fork();
    if (pid_ == 0) {
      if (!netns.empty()) {
        const int ns = open(("/var/run/netns/" + netns).c_str(), O_RDONLY | O_CLOEXEC);
        if (ns < 0 || setns(ns, CLONE_NEWNET)) _exit(126);
      }
      int o = open(out_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
      int p[2];
      if (closed_stdout && pipe(p) == 0) {
        close(p[0]);
        o = p[1];
      }
      int e = open(err_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
      dup2(o, 1);
      dup2(e, 2);
      std::vector<char*> av;
      av.push_back(const_cast<char*>(XDPKV_CLI));
      for (const auto& a : args) av.push_back(const_cast<char*>(a.c_str()));
      av.push_back(nullptr);
      execv(XDPKV_CLI, av.data());
      _exit(127);
    }
  }
  ~Bg() {
    if (pid_ > 0) {
      kill(pid_, SIGKILL);
      waitpid(pid_, nullptr, 0);
    }
  }
  // Waits (bounded) until the tracer says it is attached.
  bool wait_attached() {
    for (int i = 0; i < 300; i++) {
      if (slurp(err_).find("xdpkv trace: key") != std::string::npos) return true;
      int st;
      if (waitpid(pid_, &st, WNOHANG) == pid_) {
        pid_ = -1;
        return false;
      }
      std::this_thread::sleep_for(50ms);
    }
    return false;
  }
  void signal(int sig) { kill(pid_, sig); }
  // Waits (bounded) for the exit.
  CliRun wait(std::chrono::seconds limit = 30s) {
    CliRun r;
    const auto end = std::chrono::steady_clock::now() + limit;
    int st = 0;
    while (pid_ > 0 && std::chrono::steady_clock::now() < end) {
      if (waitpid(pid_, &st, WNOHANG) == pid_) {
        pid_ = -1;
        r.rc = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
      } else {
        std::this_thread::sleep_for(20ms);
      }
    }
    r.out = slurp(out_);
    r.err = slurp(err_);
    return r;
  }

 private:
  static inline int runs_ = 0;
  std::string out_, err_;
  pid_t pid_ = -1;
};

CliRun cli(const std::string& tmp, const std::vector<std::string>& args) {
  Bg b(tmp, "cli", args);
  return b.wait();
}

std::vector<json> json_lines(const std::string& out) {
  std::vector<json> v;
  std::istringstream in(out);
  for (std::string l; std::getline(in, l);)
    if (!l.empty() && l[0] == '{') v.push_back(json::parse(l));
  return v;
}

// The name of program `id` ("" if it is gone).
std::string prog_name(uint32_t id) {
  int fd = bpf_prog_get_fd_by_id(id);
  if (fd < 0) return "";
  bpf_prog_info info{};
  uint32_t len = sizeof(info);
  std::string n = bpf_obj_get_info_by_fd(fd, &info, &len) ? "" : info.name;
  close(fd);
  return n;
}

bool is_tracer(const std::string& n) {
  return n.rfind("tb_", 0) == 0 || n.rfind("rt_", 0) == 0 || n.rfind("fe_", 0) == 0 ||
         n.rfind("fx_", 0) == 0 || n == "cg_ingress";
}

// Names of the tracer's and tagger's BPF programs alive on the host.
std::multiset<std::string> our_progs() {
  std::multiset<std::string> names;
  uint32_t id = 0;
  while (!bpf_prog_get_next_id(id, &id)) {
    const std::string n = prog_name(id);
    if (is_tracer(n) || n == "xdpkv_tagger") names.insert(n);
  }
  return names;
}

// Programs are freed after an RCU grace period: true if only `want` remain within 3 s.
bool only_progs_left(const std::multiset<std::string>& want) {
  for (int i = 0; i < 150; i++) {
    if (our_progs() == want) return true;
    std::this_thread::sleep_for(20ms);
  }
  return false;
}

// Links whose program is one of the tracer's.
int our_links() {
  int n = 0;
  uint32_t id = 0;
  while (!bpf_link_get_next_id(id, &id)) {
    int fd = bpf_link_get_fd_by_id(id);
    if (fd < 0) continue;
    bpf_link_info li{};
    uint32_t len = sizeof(li);
    if (!bpf_obj_get_info_by_fd(fd, &li, &len) && is_tracer(prog_name(li.prog_id))) n++;
    close(fd);
  }
  return n;
}

class Trace : public ::testing::Test {
 protected:
  void SetUp() override {
    // A namespace is deleted asynchronously: the previous test's tagger goes with its veth soon.
    for (int i = 0; i < 100 && !our_progs().empty(); i++) std::this_thread::sleep_for(50ms);
    ASSERT_TRUE(our_progs().empty()) << "a tracer or tagger of another run is still loaded";
    auto t = net::Topology::create();
    ASSERT_TRUE(t) << t.error().message;
    topo_.emplace(std::move(*t));
  }
  void TearDown() override {
    // Deleting the namespaces removes the veth and with it the tagger.
    topo_.reset();
  }
  // Every matching packet gets an id (--sample 1) unless extra says otherwise.
  std::vector<std::string> tag_args(std::vector<std::string> extra = {}) {
    std::vector<std::string> a = {"tag",     "lbin",     "--netns", topo_->lb.name(),
                                  "--bpffs", dirs_.bpffs};
    if (std::find(extra.begin(), extra.end(), "--sample") == extra.end())
      a.insert(a.end(), {"--sample", "1"});
    a.insert(a.end(), extra.begin(), extra.end());
    return a;
  }
  // The events of this test's lb and backend namespaces: a trace without
  // --netns also sees other runs on the host, which use the same addresses.
  std::vector<json> in_our_netns(const std::string& out) const {
    auto inode = [](const net::Netns& ns) {
      struct stat st {};
      return stat(("/var/run/netns/" + ns.name()).c_str(), &st) ? 0 : uint64_t(st.st_ino);
    };
    const std::set<uint64_t> ours = {inode(topo_->lb), inode(topo_->backend)};
    std::vector<json> v;
    for (auto& e : json_lines(out))
      if (ours.count(e["netns"].get<uint64_t>())) v.push_back(std::move(e));
    return v;
  }
  std::vector<std::string> trace_args(std::vector<std::string> extra) {
    std::vector<std::string> a = {"trace", "--bpffs", dirs_.bpffs, "--netns", topo_->lb.name()};
    a.insert(a.end(), extra.begin(), extra.end());
    return a;
  }
  // One datagram from the client to lb's address at each port, in order, paced.
  void send(const std::vector<uint16_t>& ports) {
    for (uint16_t p : ports) {
      net::UdpBurst b;
      b.dst = topo_->lbin.ip4;
      b.dport = p;
      b.flows = 1;
      b.count = 1;
      auto s = net::send_udp(topo_->client, b);
      ASSERT_TRUE(s) << s.error().message;
      std::this_thread::sleep_for(30ms);
    }
  }
  Result<bpf::UniqueFd> listen(uint16_t port) {
    return net::udp_socket_in(topo_->lb, topo_->lbin.ip4, port);
  }
  // Sockets on two ports of lb and a tagger that takes the first port only.
  void listen_two_tag_first(uint16_t p1, uint16_t p2) {
    auto a = listen(p1), b = listen(p2);
    ASSERT_TRUE(a && b);
    rx1_ = std::move(*a);
    rx2_ = std::move(*b);
    CliRun t = cli(dirs_.tmp, tag_args({"--filter", "udp and dst port " + std::to_string(p1)}));
    ASSERT_EQ(t.rc, 0) << t.err;
  }
  bpf::UniqueFd rx1_, rx2_;

  Dirs dirs_;
  std::optional<net::Topology> topo_;
};

// The points of each id, in time order.
std::map<uint64_t, std::vector<json>> by_id(const std::vector<json>& ev) {
  std::map<uint64_t, std::vector<json>> m;
  for (const auto& e : ev) m[e["id"].get<uint64_t>()].push_back(e);
  return m;
}

std::vector<std::string> points(const std::vector<json>& ev) {
  std::vector<std::string> p;
  for (const auto& e : ev) p.push_back(e["point"].get<std::string>());
  return p;
}

bool subsequence(const std::vector<std::string>& have, const std::vector<std::string>& want) {
  size_t i = 0;
  for (const auto& h : have)
    if (i < want.size() && h == want[i]) i++;
  return i == want.size();
}

void check_delivered_and_dropped(const std::vector<json>& ev, size_t delivered) {
  auto ids = by_id(ev);
  ASSERT_EQ(ids.size(), delivered + 1) << "one id per datagram";
  uint64_t expect = 1;
  for (const auto& [id, list] : ids) {
    EXPECT_EQ(id, expect++) << "ids follow the send order";
    const bool drop = id == delivered + 1;
    const auto pts = points(list);
    const std::vector<std::string> want =
        drop ? std::vector<std::string>{"napi_gro_receive_entry", "netif_receive_skb", "kfree_skb"}
             : std::vector<std::string>{"napi_gro_receive_entry", "netif_receive_skb",
                                        "cgroup_skb/ingress"};
    EXPECT_TRUE(subsequence(pts, want)) << "id " << id << ": " << json(pts).dump();
    for (size_t i = 1; i < list.size(); i++)
      EXPECT_GE(list[i]["time_ns"].get<uint64_t>(), list[i - 1]["time_ns"].get<uint64_t>());
    for (const auto& e : list) {
      EXPECT_EQ(e.size(), 14u) << "exactly the documented members + store: " << e.dump();
      EXPECT_EQ(e["iface"], "lbin");
      const std::string dport = drop ? ":7102(udp)" : ":7101(udp)";
      EXPECT_NE(e["tuple"].get<std::string>().find("10.77.1.1:20000->10.77.1.2" + dport),
                std::string::npos)
          << e.dump();
      if (e["point"] == "kfree_skb") {
        EXPECT_EQ(e["reason"], "NO_SOCKET") << e.dump();
      } else {
        EXPECT_TRUE(e["reason"].is_null()) << e.dump();
      }
      // The decoded store carries the id under key 0 (the test registry's first key)
      // and the host's origin mark under key 59, the same on every packet.
      ASSERT_TRUE(e["store"].is_object()) << e.dump();
      const auto& keys = e["store"]["keys"];
      ASSERT_EQ(keys.size(), 2u) << e.dump();
      EXPECT_EQ(keys[0]["key"], 0);
      EXPECT_EQ(keys[1]["key"], XDPKV_KEY_ORIGIN);
      EXPECT_EQ(keys[1]["len"], XDPKV_ORIGIN_SIZE);
      EXPECT_EQ(keys[1]["value"], ev.front()["store"]["keys"][1]["value"]) << e.dump();
      uint8_t le[8] = {};
      for (int i = 0; i < 8; i++) le[i] = static_cast<uint8_t>(id >> (8 * i));
      EXPECT_EQ(keys[0]["value"], to_hex(le));
    }
  }
}

class TraceAttach : public Trace, public ::testing::WithParamInterface<bool> {};

// Three datagrams to a listener and one to a closed port: every one at every
// point in order with its id, the dropped one with NO_SOCKET; the pcapng file
// has one packet per event with the point and store in its comment.
TEST_P(TraceAttach, DeliveredAndDroppedPacketsAtEveryPoint) {
  const bool raw_tp = GetParam();
  auto rx = listen(7101);
  ASSERT_TRUE(rx) << rx.error().message;
  CliRun t = cli(dirs_.tmp, tag_args({"--filter", "udp"}));
  ASSERT_EQ(t.rc, 0) << t.err;
  EXPECT_NE(t.out.find("attached alone"), std::string::npos)
      << "this host refuses freplace: " << t.out;

  const std::string pcap = dirs_.tmp + "/t.pcapng";
  std::vector<std::string> a = {"--json", "--output-store", "--pcap", pcap, "--duration", "3"};
  if (raw_tp) a.push_back("--raw-tp");
  Bg tr(dirs_.tmp, "trace", trace_args(a));
  ASSERT_TRUE(tr.wait_attached()) << tr.wait().err;
  send({7101, 7101, 7101, 7102});
  CliRun r = tr.wait();
  ASSERT_EQ(r.rc, 0) << r.err;
  EXPECT_NE(r.err.find(raw_tp ? "raw_tp" : "tp_btf"), std::string::npos) << r.err;
  EXPECT_EQ(net::drain(rx->get()), 3);
  const auto ev = json_lines(r.out);
  check_delivered_and_dropped(ev, 3);
  // The summary (stderr with --json).
  EXPECT_NE(r.err.find("id 1: "), std::string::npos) << r.err;
  EXPECT_NE(r.err.find(": delivered to a socket\n"), std::string::npos) << r.err;
  // Where the kernel allows fentry (not on every host), the functions the
  // packet passed on its way to the drop are points of its path too.
  const bool fentry = r.err.find("tp_btf + fentry") != std::string::npos;
  const std::string dropped =
      std::string("id 4: napi_gro_receive_entry@lbin -> netif_receive_skb@lbin -> ") +
      (fentry ? "ip_local_deliver@lbin -> udp_rcv@lbin -> " : "") +
      "kfree_skb@lbin: dropped (NO_SOCKET)";
  EXPECT_NE(r.err.find(dropped), std::string::npos) << r.err;
  EXPECT_NE(r.err.find(" 0 lost"), std::string::npos) << r.err;

  // tshark reads the pcapng back: one packet per event, same ports, comments.
  const std::string fields = dirs_.tmp + "/fields";
  const std::string cmd = std::string(XDPKV_TSHARK) + " -r " + pcap +
                          " -T fields -E separator=/t -e udp.dstport -e frame.comment >" + fields +
                          " 2>/dev/null";
  ASSERT_EQ(std::system(cmd.c_str()), 0) << "tshark cannot read " << pcap;
  std::istringstream in(slurp(fields));
  size_t n = 0;
  for (std::string l; std::getline(in, l); n++) {
    ASSERT_LT(n, ev.size());
    const auto& e = ev[n];
    const uint64_t id = e["id"];
    EXPECT_EQ(l.substr(0, 4), id == 4 ? "7102" : "7101") << l;
    const std::string c = e["point"].get<std::string>() + " id=" + std::to_string(id);
    EXPECT_NE(l.find(c), std::string::npos) << l;
    EXPECT_NE(l.find("store={0: " + std::to_string(id) + ", 59: "), std::string::npos) << l;
    if (e["point"] == "kfree_skb") {
      EXPECT_NE(l.find("reason=NO_SOCKET"), std::string::npos) << l;
    }
  }
  EXPECT_EQ(n, ev.size());
  EXPECT_TRUE(only_progs_left({"xdpkv_tagger"})) << "the tracer left programs";
  EXPECT_EQ(our_links(), 0);
}

INSTANTIATE_TEST_SUITE_P(TpBtfAndRawTp, TraceAttach, ::testing::Values(false, true),
                         [](const auto& i) { return i.param ? "raw_tp" : "tp_btf"; });

// Untagged packets (the tagger's filter leaves port 7202 out) never appear;
// --value selects one id; the text output has the pwru-style columns.
TEST_F(Trace, KeyAndValueFiltersSelect) {
  ASSERT_NO_FATAL_FAILURE(listen_two_tag_first(7201, 7202));
  Bg all(dirs_.tmp, "all", trace_args({"--json", "--duration", "3"}));
  Bg one(dirs_.tmp, "one", trace_args({"--value", "2", "--duration", "3"}));
  ASSERT_TRUE(all.wait_attached());
  ASSERT_TRUE(one.wait_attached());
  send({7201, 7202, 7201, 7202, 7201});
  CliRun ra = all.wait(), ro = one.wait();
  ASSERT_EQ(ra.rc, 0) << ra.err;
  ASSERT_EQ(ro.rc, 0) << ro.err;
  EXPECT_EQ(net::drain(rx1_.get()), 3);
  EXPECT_EQ(net::drain(rx2_.get()), 2) << "untagged datagrams are delivered too";
  const auto ev = json_lines(ra.out);
  ASSERT_FALSE(ev.empty()) << ra.err;
  std::set<uint64_t> ids;
  for (const auto& e : ev) {
    ids.insert(e["id"].get<uint64_t>());
    EXPECT_NE(e["tuple"].get<std::string>().find(":7201(udp)"), std::string::npos) << e.dump();
  }
  EXPECT_EQ(ids, (std::set<uint64_t>{1, 2, 3}));
  // Text: header, then only id 2's lines.
  std::istringstream in(ro.out);
  std::string header;
  std::getline(in, header);
  EXPECT_EQ(header.substr(0, 4), "TIME");
  for (const char* col : {"ID", "SKB", "CPU", "NETNS", "IFACE", "LEN", "TUPLE", "POINT", "REASON"})
    EXPECT_NE(header.find(col), std::string::npos) << col;
  int lines = 0;
  for (std::string l; std::getline(in, l) && !l.empty();) {
    std::istringstream w(l);
    std::string time, id;
    w >> time >> id;
    EXPECT_EQ(id, "2") << l;
    EXPECT_NE(l.find("lbin:"), std::string::npos) << l;
    lines++;
  }
  EXPECT_GE(lines, 3) << ro.out;
  EXPECT_NE(ro.out.find("id 2: "), std::string::npos);
  EXPECT_EQ(ro.out.find("id 1: "), std::string::npos);
}

// SIGINT, SIGTERM and SIGHUP stop the tracer cleanly: exit 0, summary, nothing left attached.
TEST_F(Trace, DetachesOnSignals) {
  CliRun t = cli(dirs_.tmp, tag_args());
  ASSERT_EQ(t.rc, 0) << t.err;
  for (int sig : {SIGINT, SIGTERM, SIGHUP}) {
    Bg tr(dirs_.tmp, "sig", trace_args({"--follow"}));
    ASSERT_TRUE(tr.wait_attached());
    EXPECT_GT(our_links(), 0) << strsignal(sig);
    send({7301});
    std::this_thread::sleep_for(200ms);
    tr.signal(sig);
    CliRun r = tr.wait(10s);
    EXPECT_EQ(r.rc, 0) << strsignal(sig) << ": " << r.err;
    EXPECT_NE(r.out.find("dropped (NO_SOCKET)"), std::string::npos) << r.out;
    EXPECT_TRUE(only_progs_left({"xdpkv_tagger"}));
    EXPECT_EQ(our_links(), 0);
  }
  // A closed stdout ends it like a signal: exit 1 (a failed write), the
  // capture written with the packets seen, nothing left attached.
  const std::string pcap = dirs_.tmp + "/epipe.pcapng";
  Bg ep(dirs_.tmp, "epipe", trace_args({"--pcap", pcap}), true);
  ASSERT_TRUE(ep.wait_attached());
  send({7301});
  CliRun er = ep.wait(10s);
  EXPECT_EQ(er.rc, 1) << er.err;
  struct stat pst {};
  ASSERT_EQ(stat(pcap.c_str(), &pst), 0) << er.err;
  EXPECT_GT(pst.st_size, 200) << "the capture has its blocks and the packet";
  EXPECT_TRUE(only_progs_left({"xdpkv_tagger"}));
  EXPECT_EQ(our_links(), 0);
  // --max-events stops it too.
  Bg tr(dirs_.tmp, "max", trace_args({"--max-events", "2", "--json"}));
  ASSERT_TRUE(tr.wait_attached());
  send({7301, 7301});
  CliRun r = tr.wait(10s);
  EXPECT_EQ(r.rc, 0) << r.err;
  EXPECT_EQ(json_lines(r.out).size(), 2u);
  EXPECT_TRUE(only_progs_left({"xdpkv_tagger"}));
}

// A flood into a 4 KiB ring buffer: events are lost, counted and reported,
// and every event the BPF side submitted is printed.
TEST_F(Trace, LostEventsAreCounted) {
  auto rx = listen(7401);
  ASSERT_TRUE(rx);
  CliRun t = cli(dirs_.tmp, tag_args({"--filter", "udp"}));
  ASSERT_EQ(t.rc, 0) << t.err;
  Bg tr(dirs_.tmp, "flood", trace_args({"--json", "--ringbuf", "4096", "--duration", "4"}));
  ASSERT_TRUE(tr.wait_attached());
  net::UdpBurst b;
  b.dst = topo_->lbin.ip4;
  b.dport = 7401;
  b.count = 3000;
  b.gap = std::chrono::microseconds(0);
  ASSERT_TRUE(net::send_udp(topo_->client, b));
  CliRun r = tr.wait();
  ASSERT_EQ(r.rc, 0) << r.err;
  const size_t printed = json_lines(r.out).size();
  unsigned long long p = 0, sub = 0, lost = 0;
  const auto at = r.err.find(" events printed");
  ASSERT_NE(at, std::string::npos) << r.err;
  const auto line_start = r.err.rfind('\n', at) + 1;
  ASSERT_EQ(std::sscanf(r.err.c_str() + line_start,
                        "%llu events printed, %llu submitted, %llu lost", &p, &sub, &lost),
            3)
      << r.err;
  std::printf("flood: %llu events printed, %llu submitted, %llu lost\n", p, sub, lost);
  EXPECT_EQ(p, printed);
  EXPECT_EQ(sub, printed) << "every submitted event reaches the output";
  EXPECT_GT(lost, 0u) << "3000 packets x 3 points cannot fit a 4 KiB ring";
}

// The tagger: --sample 3 tags every third matching packet; the filter counts
// what it matched; a second tag on the same device is refused; --detach
// removes exactly it.
TEST_F(Trace, TaggerSampleFilterAndDetach) {
  auto rx = listen(7501);
  ASSERT_TRUE(rx);
  CliRun t = cli(dirs_.tmp, tag_args({"--sample", "3", "--filter", "udp and dst port 7501"}));
  ASSERT_EQ(t.rc, 0) << t.err;
  CliRun again = cli(dirs_.tmp, tag_args());
  EXPECT_EQ(again.rc, 1);
  EXPECT_NE(again.err.find("already has an xdpkv tagger"), std::string::npos) << again.err;

  Bg tr(dirs_.tmp, "sample", trace_args({"--json", "--duration", "3"}));
  ASSERT_TRUE(tr.wait_attached());
  send({7501, 7501, 7501, 7501, 7501, 7501, 7501, 7501, 7501, 7502, 7502});
  CliRun r = tr.wait();
  ASSERT_EQ(r.rc, 0) << r.err;
  std::set<uint64_t> ids;
  for (const auto& e : json_lines(r.out)) ids.insert(e["id"].get<uint64_t>());
  EXPECT_EQ(ids, (std::set<uint64_t>{1, 2, 3})) << "9 matching datagrams, one in 3 tagged";

  CliRun st = cli(dirs_.tmp,
                  {"tag", "--status", "lbin", "--netns", topo_->lb.name(), "--bpffs", dirs_.bpffs});
  ASSERT_EQ(st.rc, 0) << st.err;
  EXPECT_NE(st.out.find("matched 9, tagged 3, failed 0"), std::string::npos) << st.out;

  CliRun d = cli(dirs_.tmp,
                 {"tag", "--detach", "lbin", "--netns", topo_->lb.name(), "--bpffs", dirs_.bpffs});
  ASSERT_EQ(d.rc, 0) << d.err;
  EXPECT_TRUE(only_progs_left({})) << "the tagger is gone";
  auto link = topo_->lb.ip({"link", "show", "lbin"});
  ASSERT_TRUE(link);
  EXPECT_EQ(link->find("xdp"), std::string::npos) << *link;
  CliRun d2 = cli(dirs_.tmp,
                  {"tag", "--detach", "lbin", "--netns", topo_->lb.name(), "--bpffs", dirs_.bpffs});
  EXPECT_EQ(d2.rc, 1);
  EXPECT_NE(d2.err.find("no xdpkv tagger on lbin"), std::string::npos) << d2.err;
}

// Without --sample the tagger takes one matching packet in 64 (an id on every
// packet turns GRO off: docs/PERFORMANCE.md), and says so; --help names it.
TEST_F(Trace, TaggerSamplesOneIn64ByDefault) {
  auto rx = listen(7551);
  ASSERT_TRUE(rx);
  CliRun t = cli(dirs_.tmp, {"tag", "lbin", "--netns", topo_->lb.name(), "--bpffs", dirs_.bpffs,
                             "--filter", "udp and dst port 7551"});
  ASSERT_EQ(t.rc, 0) << t.err;
  EXPECT_NE(t.out.find("one TCP burst (other packets: one packet) in 64 (the default; --sample 1 "
                       "tags every packet)"),
            std::string::npos)
      << t.out;
  net::UdpBurst b;
  b.dst = topo_->lbin.ip4;
  b.dport = 7551;
  b.flows = 1;
  b.count = 130;
  ASSERT_TRUE(net::send_udp(topo_->client, b));
  CliRun st;
  for (int i = 0; i < 100; i++) {  // bounded: until the tagger saw them all
    st = cli(dirs_.tmp,
             {"tag", "--status", "lbin", "--netns", topo_->lb.name(), "--bpffs", dirs_.bpffs});
    if (st.out.find("matched 130,") != std::string::npos) break;
    std::this_thread::sleep_for(20ms);
  }
  EXPECT_NE(st.out.find("matched 130, tagged 3, failed 0"), std::string::npos)
      << "the 1st, 65th and 129th: " << st.out;
  EXPECT_EQ(net::drain(rx->get()), 130);
  CliRun h = cli(dirs_.tmp, {"tag", "--help"});
  EXPECT_EQ(h.rc, 0);
  EXPECT_NE(h.out.find("--sample N     tag one TCP burst, or one other packet, in N (default 64;"),
            std::string::npos)
      << h.out;
}

// TCP is tagged by burst (--sample 1: every burst): every packet of a burst
// carries its id, so GRO still merges tagged packets (skbs of several
// segments with an id), and no skb reaches the stack behind later data
// (except what the sender retransmitted): at netif_receive_skb the sequence
// numbers and the ids only grow.
TEST_F(Trace, TaggerTagsTcpByBurstAndGroKeepsOrder) {
  ASSERT_TRUE(topo_->lb.exec({"ethtool", "-K", "lbin", "gro", "on"}));
  CliRun t = cli(dirs_.tmp, tag_args({"--filter", "tcp and dst port 7661"}));
  ASSERT_EQ(t.rc, 0) << t.err;
  Bg tr(dirs_.tmp, "burst",
        trace_args({"--json", "--duration", "4", "--points", "^netif_receive_skb$"}));
  ASSERT_TRUE(tr.wait_attached());
  auto p = net::tcp_connect(topo_->lb, topo_->client, topo_->lbin.ip4, 7661);
  ASSERT_TRUE(p) << p.error().message;
  // 40 writes of 32 KiB: each ends with a PSH segment, so there are bursts.
  std::vector<char> chunk(32 << 10, 'x');
  std::vector<char> buf(1 << 20);
  size_t got = 0;
  for (int i = 0; i < 40; i++) {
    ASSERT_EQ(write(p->client.get(), chunk.data(), chunk.size()), ssize_t(chunk.size()));
    while (got < (i + 1) * chunk.size()) {
      const ssize_t n = read(p->server.get(), buf.data(), buf.size());
      ASSERT_GT(n, 0);
      got += size_t(n);
    }
  }
  CliRun r = tr.wait();
  ASSERT_EQ(r.rc, 0) << r.err;
  size_t trains = 0, data = 0, late = 0;
  std::optional<uint32_t> end;
  uint64_t last_id = 0;
  for (const auto& e : in_our_netns(r.out)) {
    if (e["tuple"].get<std::string>().find(":7661(tcp)") == std::string::npos) continue;
    ASSERT_FALSE(e["seq"].is_null()) << e.dump();
    const uint32_t seq = e["seq"].get<uint32_t>();
    const uint64_t id = e["id"].get<uint64_t>();
    trains += e["segs"].get<uint32_t>() > 1;
    // Data only: IPv4 + TCP with timestamps is 52 bytes (the SYN, with
    // more options, 60; this direction carries no SACK).
    if (e["len"].get<uint32_t>() <= 60) continue;
    data++;
    if (end && int32_t(seq - *end) < 0) {
      late++;  // behind later data
      continue;
    }
    EXPECT_GE(id, last_id) << "ids follow the byte stream: " << e.dump();
    last_id = id;
    end = seq + (e["len"].get<uint32_t>() - 52);
  }
  // A tail loss probe resends a write's last segment: it arrives behind data seen.
  auto retrans = net::net_counter(topo_->client, "snmp", "Tcp", "RetransSegs");
  ASSERT_TRUE(retrans) << retrans.error().message;
  EXPECT_LE(late, *retrans) << "only retransmitted data arrives late\n" << r.out;
  EXPECT_GT(data, 10u) << r.out.substr(0, 2000);
  EXPECT_GT(trains, 10u) << "GRO merged packets that carry an id";
  CliRun st = cli(dirs_.tmp,
                  {"tag", "--status", "lbin", "--netns", topo_->lb.name(), "--bpffs", dirs_.bpffs});
  ASSERT_EQ(st.rc, 0) << st.err;
  std::printf("%s", st.out.c_str());
  unsigned long long seen, matched, tagged, failed, bursts, sampled;
  ASSERT_EQ(std::sscanf(st.out.c_str() + st.out.find("seen"),
                        "seen %llu, matched %llu, tagged %llu, failed %llu; TCP bursts %llu, of "
                        "them sampled %llu",
                        &seen, &matched, &tagged, &failed, &bursts, &sampled),
            6)
      << st.out;
  EXPECT_EQ(failed, 0u);
  EXPECT_EQ(sampled, bursts) << "--sample 1: every burst";
  EXPECT_GE(bursts, 40u) << "each write ends with a PSH segment: a burst each at least";
  EXPECT_GT(tagged, 5 * bursts) << "a burst's packets share its id";
}

// --follow under GRO with sampled tags. GRO frees the skbs it merges where
// no tracepoint sees it (stolen heads, the NAPI skb cache) and TCP frees the
// skbs it coalesces the same way; the next skb at such an address (an
// untagged segment, another flow's, one of lb's ACKs) must not take the id.
// Two streams: 7671 is tagged one burst in 4, 7672 never. No event may be of
// 7672 or of an ACK, and an event by address (no store) must be of an skb
// that was seen with that id and sequence number in its store.
TEST_F(Trace, FollowNeverLendsAnIdUnderGro) {
  ASSERT_TRUE(topo_->lb.exec({"ethtool", "-K", "lbin", "gro", "on"}));
  CliRun t = cli(dirs_.tmp, tag_args({"--filter", "tcp and dst port 7671", "--sample", "4"}));
  ASSERT_EQ(t.rc, 0) << t.err;
  Bg tr(dirs_.tmp, "follow-gro",
        trace_args({"--json", "--output-store", "--follow", "--duration", "5"}));
  ASSERT_TRUE(tr.wait_attached());
  auto a = net::tcp_connect(topo_->lb, topo_->client, topo_->lbin.ip4, 7671);
  auto b = net::tcp_connect(topo_->lb, topo_->client, topo_->lbin.ip4, 7672);
  ASSERT_TRUE(a && b);
  // 60 writes of 32 KiB on each, in turn: each write ends a burst.
  std::vector<char> chunk(32 << 10, 'x');
  std::vector<char> buf(1 << 20);
  for (int i = 0; i < 60; i++) {
    for (auto* c : {&*a, &*b}) {
      ASSERT_EQ(write(c->client.get(), chunk.data(), chunk.size()), ssize_t(chunk.size()));
      for (size_t got = 0; got < chunk.size();) {
        const ssize_t n = read(c->server.get(), buf.data(), buf.size());
        ASSERT_GT(n, 0);
        got += size_t(n);
      }
    }
  }
  CliRun r = tr.wait();
  ASSERT_EQ(r.rc, 0) << r.err;
  const auto ev = json_lines(r.out);
  // (skb, id, seq) seen with the id in the store.
  std::set<std::tuple<std::string, uint64_t, uint32_t>> carried;
  size_t stored = 0, by_address = 0, wrong = 0;
  for (const auto& e : ev) {
    if (e["store"].is_null() || e["seq"].is_null()) continue;
    carried.emplace(e["skb"], e["id"], e["seq"]);
    stored++;
  }
  for (const auto& e : ev) {
    const bool data_7671 = e["tuple"].get<std::string>().find(":7671(tcp)") != std::string::npos &&
                           e["tuple"].get<std::string>().rfind("10.77.1.1:", 0) == 0;
    bool ok = data_7671;
    if (ok && e["store"].is_null()) {
      by_address++;
      ok = !e["seq"].is_null() && carried.count({e["skb"], e["id"], e["seq"]}) > 0;
    }
    if (!ok && wrong++ < 10) ADD_FAILURE() << "an id the skb does not carry: " << e.dump();
  }
  std::printf(
      "follow under GRO: %zu events, %zu with the id in the store, %zu by address, %zu "
      "with an id they do not carry\n",
      ev.size(), stored, by_address, wrong);
  EXPECT_EQ(wrong, 0u);
  EXPECT_GT(stored, 10u) << "tagged bursts were traced";
  // Sampling left most of 7671 untagged: fewer ids than bursts (one id per sampled burst).
  std::set<uint64_t> ids;
  for (const auto& e : ev) ids.insert(e["id"].get<uint64_t>());
  CliRun st = cli(dirs_.tmp,
                  {"tag", "--status", "lbin", "--netns", topo_->lb.name(), "--bpffs", dirs_.bpffs});
  ASSERT_EQ(st.rc, 0) << st.err;
  const auto at = st.out.find("TCP bursts ");
  ASSERT_NE(at, std::string::npos) << st.out;
  EXPECT_LT(ids.size() * 2, std::stoull(st.out.substr(at + 11))) << st.out;
}

}  // namespace
}  // namespace xdpkv

namespace xdpkv {
namespace {

// Forwarded by lb from lbin to lbout and into the backend's namespace: the id
// written on lbin names the packet on the transmit path and on the far side.
TEST_F(Trace, ForwardedPacketKeepsItsIdAcrossDevices) {
  ASSERT_TRUE(topo_->lb.exec({"sysctl", "-qw", "net.ipv4.ip_forward=1"}));
  ASSERT_TRUE(topo_->client.ip({"route", "add", "10.77.2.0/24", "via", "10.77.1.2"}));
  auto rx = net::udp_socket_in(topo_->backend, topo_->be.ip4, 7611);
  ASSERT_TRUE(rx) << rx.error().message;
  CliRun t = cli(dirs_.tmp, tag_args({"--filter", "udp and dst port 7611"}));
  ASSERT_EQ(t.rc, 0) << t.err;
  // No --netns: the packet crosses two namespaces (the events are filtered to ours below).
  Bg tr(dirs_.tmp, "fwd", {"trace", "--bpffs", dirs_.bpffs, "--json", "--duration", "3"});
  ASSERT_TRUE(tr.wait_attached());
  std::optional<Bg> text;
  if (std::getenv("XDPKV_TRACE_DOC")) {
    text.emplace(dirs_.tmp, "doc",
                 std::vector<std::string>{"trace", "--bpffs", dirs_.bpffs, "--duration", "3"});
    ASSERT_TRUE(text->wait_attached());
  }
  net::UdpBurst b;
  b.dst = topo_->be.ip4;
  b.dport = 7611;
  b.flows = 1;
  b.count = 1;
  ASSERT_TRUE(net::send_udp(topo_->client, b));
  CliRun r = tr.wait();
  ASSERT_EQ(r.rc, 0) << r.err;
  EXPECT_EQ(net::drain(rx->get()), 1);
  std::vector<std::string> seen;
  for (const auto& e : in_our_netns(r.out)) {
    if (e["tuple"] == "10.77.1.1:20000->10.77.2.2:7611(udp)" && e["id"] == 1)
      seen.push_back(e["point"].get<std::string>() + "@" + e["iface"].get<std::string>());
  }
  EXPECT_TRUE(
      subsequence(seen, {"napi_gro_receive_entry@lbin", "netif_receive_skb@lbin",
                         "net_dev_queue@lbout", "net_dev_start_xmit@lbout", "net_dev_xmit@lbout",
                         "netif_receive_skb@be", "cgroup_skb/ingress@be"}))
      << json(seen).dump();
  EXPECT_NE(r.err.find(": delivered to a socket\n"), std::string::npos) << r.err;
  if (text) std::fprintf(stderr, "%s\n", text->wait().out.c_str());  // for docs/TRACE.md
}

}  // namespace
}  // namespace xdpkv

namespace xdpkv {
namespace {

// --follow keeps an skb's id by address until the skb is freed. A delivered
// UDP skb is freed where no tracepoint sees it (deferred free), and its memory
// is reused by the next skb at once: that skb, untagged, must not inherit the id.
TEST_F(Trace, FollowDoesNotLendAnIdToAReusedSkb) {
  ASSERT_NO_FATAL_FAILURE(listen_two_tag_first(7701, 7702));
  Bg tr(dirs_.tmp, "follow", trace_args({"--json", "--follow", "--duration", "3"}));
  ASSERT_TRUE(tr.wait_attached());
  std::vector<uint16_t> ports;
  for (int i = 0; i < 4; i++) ports.insert(ports.end(), {7701, 7702, 7702, 7702});
  send(ports);
  CliRun r = tr.wait();
  ASSERT_EQ(r.rc, 0) << r.err;
  EXPECT_EQ(net::drain(rx1_.get()), 4);
  EXPECT_EQ(net::drain(rx2_.get()), 12);
  std::set<uint64_t> ids;
  for (const auto& e : json_lines(r.out)) {
    ids.insert(e["id"].get<uint64_t>());
    EXPECT_NE(e["tuple"].get<std::string>().find(":7701(udp)"), std::string::npos) << e.dump();
  }
  EXPECT_EQ(ids, (std::set<uint64_t>{1, 2, 3, 4}));
}

// --iface without --netns names a device of the tracer's own namespace: the
// same name at the same ifindex in another namespace is another device. Two
// tracers with `--iface lbin`, one in lb's namespace and one in a namespace
// holding its own lbin at that ifindex: only the first sees lb's packets.
TEST_F(Trace, IfaceWithoutNetnsIsInTheTracersNamespace) {
  auto rx = listen(7711);
  ASSERT_TRUE(rx);
  CliRun t = cli(dirs_.tmp, tag_args({"--filter", "udp and dst port 7711"}));
  ASSERT_EQ(t.rc, 0) << t.err;
  auto other = net::Netns::create(net::unique_name("iface"));
  ASSERT_TRUE(other) << other.error().message;
  auto link = other->ip({"link", "add", "lbin", "index", std::to_string(topo_->lbin.ifindex),
                         "type", "veth", "peer", "name", "lbpeer", "index",
                         std::to_string(topo_->lbin.ifindex + 1)});
  ASSERT_TRUE(link) << link.error().message;
  ASSERT_EQ(net::ifindex_in(*other, "lbin"), topo_->lbin.ifindex);
  const std::vector<std::string> args = {"trace", "--bpffs", dirs_.bpffs,  "--iface",
                                         "lbin",  "--json",  "--duration", "3"};
  Bg here(dirs_.tmp, "here", args, false, topo_->lb.name());
  Bg elsewhere(dirs_.tmp, "elsewhere", args, false, other->name());
  ASSERT_TRUE(here.wait_attached()) << here.wait().err;
  ASSERT_TRUE(elsewhere.wait_attached()) << elsewhere.wait().err;
  send({7711, 7711, 7711});
  CliRun rh = here.wait(), re = elsewhere.wait();
  ASSERT_EQ(rh.rc, 0) << rh.err;
  ASSERT_EQ(re.rc, 0) << re.err;
  EXPECT_EQ(net::drain(rx->get()), 3);
  EXPECT_EQ(by_id(json_lines(rh.out)).size(), 3u) << rh.out;
  EXPECT_TRUE(json_lines(re.out).empty()) << "another namespace's lbin: " << re.out;
}

}  // namespace
}  // namespace xdpkv

namespace xdpkv {
namespace {

// A pin planted under DIR/tag (a symbolic link where lo's tagger pin would
// be) is refused by path and never followed: --detach cannot detach a program
// it did not attach, --status cannot report one.
TEST(TraceCli, TagRefusesAPlantedPin) {
  Dirs d;
  ASSERT_EQ(cli(d.tmp, {"key", "add", "packet_id", "8", "--bpffs", d.bpffs}).rc, 0);
  ASSERT_EQ(mkdir((d.bpffs + "/tag").c_str(), 0700), 0);
  struct stat ns {};
  ASSERT_EQ(stat("/proc/thread-self/ns/net", &ns), 0);
  const std::string pin =
      d.bpffs + "/tag/" + std::to_string(ns.st_ino) + "_" + std::to_string(if_nametoindex("lo"));
  ASSERT_EQ(symlink((d.bpffs + "/registry").c_str(), pin.c_str()), 0) << std::strerror(errno);
  for (const char* how : {"--detach", "--status"}) {
    CliRun r = cli(d.tmp, {"tag", how, "lo", "--bpffs", d.bpffs});
    EXPECT_EQ(r.rc, 1) << how << ": " << r.err;
    EXPECT_NE(r.err.find("tag pin " + pin + " is a symbolic link"), std::string::npos)
        << how << ": " << r.err;
  }
}

// Bad command lines: exit 2 and say what is wrong, before anything is loaded.
TEST(TraceCli, BadCommandLinesExit2) {
  Dirs d;
  struct Case {
    std::vector<std::string> args;
    const char* says;
  } cases[] = {
      {{"trace", "--key-id", "0", "--points", "("}, "bad regex"},
      // std::regex recursion: 30000 nested groups overflowed the stack.
      {{"trace", "--key-id", "0", "--points", std::string(9, '(') + "a" + std::string(9, ')')},
       "groups nested 9 deep, more than 8"},
      {{"trace", "--key-id", "0", "--points", std::string(30000, '(')},
       "30000 characters long, more than 512"},
      {{"trace", "--key-id", "0", "--range", "5-2"}, "A <= B"},
      {{"trace", "--key-id", "0", "--value", "1", "--range", "1-2"}, "excludes"},
      {{"trace", "--key-id", "64"}, "out of range"},
      {{"trace", "--key-id", "0", "--ringbuf", "5000"}, "power of 2"},
      // Decimal, as the validator read it: not octal 4096 or 52.
      {{"trace", "--key-id", "0", "--ringbuf", "010000"}, "power of 2"},
      {{"trace", "--key-id", "064"}, "out of range"},
      {{"trace", "--key", "a", "--key-id", "0"}, "excludes"},
      {{"tag", "lo", "--filter", "udp or tcp"}, "unknown word 'or'"},
      {{"tag", "lo", "--sample", "0"}, "out of range"},
      {{"tag", "--detach", "lo", "--sample", "2"}, "excludes"},
      {{"tag"}, "IFACE is required"},
  };
  for (const auto& c : cases) {
    CliRun r = cli(d.tmp, c.args);
    EXPECT_EQ(r.rc, 2) << json(c.args).dump() << ": " << r.err;
    EXPECT_NE(r.err.find(c.says), std::string::npos) << json(c.args).dump() << ": " << r.err;
  }
}

}  // namespace
}  // namespace xdpkv

namespace xdpkv {
namespace {

std::string kernel_release() {
  utsname u{};
  return uname(&u) ? "" : u.release;
}

// fentry/fexit on the XDP programs of lbin (the tagger). Where the kernel
// refuses BPF trampolines (this host: EPERM) the tracer says so, naming the
// feature, the kernel that has it and this one, and the tracepoints still
// follow every packet; where it allows them, the tagger's fexit point shows
// each id with its action. tests/vm/trace_checks.cpp runs the allowed path.
TEST_F(Trace, FentryOnXdpProgramsOrItsRefusal) {
  auto rx = listen(7801);
  ASSERT_TRUE(rx);
  CliRun t = cli(dirs_.tmp, tag_args({"--filter", "udp and dst port 7801"}));
  ASSERT_EQ(t.rc, 0) << t.err;
  const auto at = t.out.find("program id ");
  ASSERT_NE(at, std::string::npos) << t.out;
  const std::string prog_id = std::to_string(std::stoul(t.out.substr(at + 11)));
  // The same program twice (by id and by device) is traced once.
  Bg tr(dirs_.tmp, "fentry",
        trace_args({"--json", "--xdp-progs", "lbin", "--prog", prog_id, "--duration", "3"}));
  ASSERT_TRUE(tr.wait_attached()) << tr.wait().err;
  send({7801, 7801, 7801});
  CliRun r = tr.wait();
  ASSERT_EQ(r.rc, 0) << r.err;
  EXPECT_EQ(net::drain(rx->get()), 3);
  const auto ev = json_lines(r.out);
  auto ids = by_id(ev);
  ASSERT_EQ(ids.size(), 3u) << r.out << r.err;
  const bool refused =
      r.err.find("note: the kernel refuses fentry/fexit on BPF programs (") != std::string::npos;
  std::printf("this kernel (%s) %s fentry/fexit on XDP programs\n", kernel_release().c_str(),
              refused ? "refuses" : "allows");
  uint64_t expect = 1;
  for (const auto& [id, list] : ids) {
    EXPECT_EQ(id, expect++);
    const auto pts = points(list);
    EXPECT_TRUE(
        subsequence(pts, {"napi_gro_receive_entry", "netif_receive_skb", "cgroup_skb/ingress"}))
        << "the tracepoints follow id " << id << ": " << json(pts).dump();
    const bool at_fexit = std::count(pts.begin(), pts.end(), "xdp:xdpkv_tagger/fexit") == 1;
    EXPECT_EQ(at_fexit, !refused) << json(pts).dump();
    // fentry runs before the tagger gave the id: never an event there.
    EXPECT_EQ(std::count(pts.begin(), pts.end(), "xdp:xdpkv_tagger"), 0) << json(pts).dump();
    for (const auto& e : list) {
      if (e["point"] == "xdp:xdpkv_tagger/fexit") {
        EXPECT_EQ(e["reason"], "XDP_PASS") << e.dump();
        EXPECT_EQ(e["iface"], "lbin") << e.dump();
        EXPECT_NE(e["tuple"].get<std::string>().find(":7801(udp)"), std::string::npos);
      }
    }
  }
  if (refused) {
    EXPECT_NE(r.err.find("not traced: xdp:xdpkv_tagger; the tracepoints are. fentry/fexit on XDP "
                         "and TC programs needs BPF trampolines (Linux 5.5+, x86-64); this "
                         "kernel, " +
                         kernel_release() + ", refuses them"),
              std::string::npos)
        << r.err;
    const auto start = r.err.find("xdpkv trace: key");
    ASSERT_NE(start, std::string::npos) << r.err;
    const std::string attached = r.err.substr(start, r.err.find('\n', start) - start);
    EXPECT_EQ(attached.find("xdp:"), std::string::npos) << "not listed as attached: " << attached;
  } else {
    EXPECT_NE(r.err.find(" xdp:xdpkv_tagger xdp:xdpkv_tagger/fexit"), std::string::npos) << r.err;
  }
  EXPECT_TRUE(only_progs_left({"xdpkv_tagger"})) << "the tracer left programs";
  EXPECT_EQ(our_links(), 0);

  // What is not an XDP or TC program, or not a program, is an error.
  CliRun bad = cli(dirs_.tmp, trace_args({"--prog", "4294967295", "--duration", "1"}));
  EXPECT_EQ(bad.rc, 1);
  EXPECT_NE(bad.err.find("BPF program id 4294967295"), std::string::npos) << bad.err;
  CliRun fn = cli(dirs_.tmp, trace_args({"--fentry", "jiffies_to_msecs", "--duration", "1"}));
  EXPECT_EQ(fn.rc, 1);
  EXPECT_NE(fn.err.find("kernel function jiffies_to_msecs: its first argument is not a struct "
                        "sk_buff *"),
            std::string::npos)
      << fn.err;
}

// --follow after the metadata is lost on the way: lb forwards lbin -> lbout
// while a packet socket on lbin holds a clone of each skb, so ip_forward's
// skb_cow() expands the head and pskb_expand_head() clears the metadata
// (kernels before the 2025 "TC BPF helpers preserve skb metadata" series;
// later ones keep it there). Without --follow each id ends on lbin; with it,
// the skb keeps its id by address on lbout and in the backend, with no store,
// and no untagged datagram is given an id.
TEST_F(Trace, FollowKeepsTheIdAfterTheMetadataIsLost) {
  ASSERT_TRUE(topo_->lb.exec({"sysctl", "-qw", "net.ipv4.ip_forward=1"}));
  ASSERT_TRUE(topo_->client.ip({"route", "add", "10.77.2.0/24", "via", "10.77.1.2"}));
  auto rx1 = net::udp_socket_in(topo_->backend, topo_->be.ip4, 7901);
  auto rx2 = net::udp_socket_in(topo_->backend, topo_->be.ip4, 7902);
  ASSERT_TRUE(rx1 && rx2);
  CliRun t = cli(dirs_.tmp, tag_args({"--filter", "udp and dst port 7901"}));
  ASSERT_EQ(t.rc, 0) << t.err;
  bpf::UniqueFd pkt;
  {
    auto in = net::NsScope::enter(topo_->lb);
    ASSERT_TRUE(in) << in.error().message;
    pkt = bpf::UniqueFd(socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, htons(ETH_P_ALL)));
    ASSERT_TRUE(pkt) << strerror(errno);
    sockaddr_ll sll{};
    sll.sll_family = AF_PACKET;
    sll.sll_protocol = htons(ETH_P_ALL);
    sll.sll_ifindex = static_cast<int>(if_nametoindex("lbin"));
    ASSERT_EQ(bind(pkt.get(), reinterpret_cast<sockaddr*>(&sll), sizeof sll), 0) << strerror(errno);
  }
  Bg fol(
      dirs_.tmp, "fol",
      {"trace", "--bpffs", dirs_.bpffs, "--json", "--output-store", "--follow", "--duration", "3"});
  Bg nof(dirs_.tmp, "nof",
         {"trace", "--bpffs", dirs_.bpffs, "--json", "--output-store", "--duration", "3"});
  ASSERT_TRUE(fol.wait_attached());
  ASSERT_TRUE(nof.wait_attached());
  // Tagged (7901) and untagged (7902) in turn, each tagged one from its own source port.
  const uint16_t ports[] = {7901, 7902, 7901, 7902, 7901, 7902};
  uint16_t sport = 21000;
  for (uint16_t p : ports) {
    net::UdpBurst b;
    b.dst = topo_->be.ip4;
    b.dport = p;
    b.sport_base = p == 7901 ? sport++ : 22000;
    b.flows = 1;
    b.count = 1;
    ASSERT_TRUE(net::send_udp(topo_->client, b));
    std::this_thread::sleep_for(30ms);
  }
  CliRun rf = fol.wait(), rn = nof.wait();
  ASSERT_EQ(rf.rc, 0) << rf.err;
  ASSERT_EQ(rn.rc, 0) << rn.err;
  EXPECT_EQ(net::drain(rx1->get()), 3);
  EXPECT_EQ(net::drain(rx2->get()), 3);
  auto tuple_of = [](uint64_t id) {
    return "10.77.1.1:" + std::to_string(21000 + id - 1) + "->10.77.2.2:7901(udp)";
  };
  // Without --follow: the id is seen on lbin only, the metadata is gone after.
  auto plain = by_id(in_our_netns(rn.out));
  ASSERT_EQ(plain.size(), 3u) << rn.out;
  for (const auto& [id, list] : plain) {
    for (const auto& e : list) {
      EXPECT_EQ(e["iface"], "lbin") << "the forward cleared the metadata: " << e.dump();
      EXPECT_EQ(e["tuple"], tuple_of(id)) << e.dump();
    }
  }
  // With --follow: the same ids, further on, by address and without a store.
  auto followed = by_id(in_our_netns(rf.out));
  ASSERT_EQ(followed.size(), 3u) << rf.out;
  uint64_t expect = 1;
  for (const auto& [id, list] : followed) {
    EXPECT_EQ(id, expect++);
    std::vector<std::string> seen;
    for (const auto& e : list) {
      EXPECT_EQ(e["tuple"], tuple_of(id)) << "no other packet gets id " << id << ": " << e.dump();
      const bool on_lbin = e["iface"] == "lbin";
      EXPECT_EQ(e["store"].is_null(), !on_lbin) << e.dump();
      seen.push_back(e["point"].get<std::string>() + "@" + e["iface"].get<std::string>());
    }
    EXPECT_TRUE(
        subsequence(seen, {"netif_receive_skb@lbin", "net_dev_queue@lbout", "net_dev_xmit@lbout",
                           "netif_receive_skb@be", "cgroup_skb/ingress@be"}))
        << json(seen).dump();
  }
}

}  // namespace
}  // namespace xdpkv

namespace xdpkv {
namespace {

// Issue 18, class 2. After a VXLAN decap the skb's metadata length still
// counts bytes below the frame, and the frame now starts at the inner
// Ethernet header: the last 16 of those bytes are the outer UDP and VXLAN
// headers, which the sender chooses. Source port 256, destination port 1,
// VNI 1, no UDP checksum and a 49-byte inner frame make them a valid store
// header (keys 0, 3, 24, 40, 46, 48: 36 bytes), and key 0, the registry's
// packet_id, reads the outer destination address. The tagger's real store on
// lbin (id, origin mark, software hints: 44 bytes) keeps the length large
// enough. Those bytes carry no origin mark: no event on the VXLAN device may
// have an id, while the outer packets keep theirs.
TEST_F(Trace, DecapNeverTurnsOuterHeadersIntoAnId) {
  const std::string cl = net::ip4_str(topo_->cli.ip4), lb = net::ip4_str(topo_->lbin.ip4);
  auto vxlan = [](const net::Netns& ns, const std::string& local, const std::string& remote,
                  const std::string& dev, const std::string& ip, const std::string& mac,
                  const std::vector<std::string>& extra) {
    std::vector<std::string> add = {"ip",     "link", "add",     "xkvvx0", "type",     "vxlan",
                                    "id",     "1",    "dstport", "1",      "local",    local,
                                    "remote", remote, "dev",     dev,      "noudpcsum"};
    add.insert(add.end(), extra.begin(), extra.end());
    return ns.exec(add) && ns.exec({"ip", "link", "set", "xkvvx0", "address", mac, "up"}) &&
           ns.exec({"ip", "addr", "add", ip + "/24", "dev", "xkvvx0"});
  };
  ASSERT_TRUE(vxlan(topo_->client, cl, lb, topo_->cli.ifname, "192.168.77.1", "02:00:00:77:00:01",
                    {"srcport", "256", "257"}));
  ASSERT_TRUE(vxlan(topo_->lb, lb, cl, "lbin", "192.168.77.2", "02:00:00:77:00:02", {}));
  ASSERT_TRUE(topo_->client.exec({"ip", "neigh", "replace", "192.168.77.2", "lladdr",
                                  "02:00:00:77:00:02", "dev", "xkvvx0", "nud", "permanent"}));
  auto rx = net::udp_socket_in(topo_->lb, inet_addr("192.168.77.2"), 7801);
  ASSERT_TRUE(rx) << rx.error().message;
  CliRun t = cli(dirs_.tmp, tag_args({"--filter", "udp and dst port 1", "--hints"}));
  ASSERT_EQ(t.rc, 0) << t.err;
  Bg tr(dirs_.tmp, "decap", trace_args({"--json", "--duration", "3"}));
  ASSERT_TRUE(tr.wait_attached());
  net::UdpBurst b;
  b.dst = inet_addr("192.168.77.2");
  b.dport = 7801;
  b.flows = 1;
  b.count = 8;  // payloads "xdpkv 0" .. "xdpkv 7": 7 bytes, a 49-byte inner frame
  b.gap = std::chrono::milliseconds(20);
  ASSERT_TRUE(net::send_udp(topo_->client, b));
  CliRun r = tr.wait();
  ASSERT_EQ(r.rc, 0) << r.err;
  EXPECT_EQ(net::drain(rx->get()), 8) << "the datagrams were not decapsulated and delivered";
  std::set<uint64_t> outer;
  for (const auto& e : in_our_netns(r.out)) {
    EXPECT_NE(e["iface"], "xkvvx0") << "an id read from outer headers: " << e.dump();
    if (e["iface"] == "lbin") outer.insert(e["id"].get<uint64_t>());
  }
  // 8 datagrams, and the inner frames the kernel sends on its own (IPv6 MLD).
  EXPECT_GE(outer.size(), 8u) << "the outer packets lost their ids";
  // Seen and refused, not missed: every inner frame had the key without the mark.
  EXPECT_NE(r.err.find(" sightings carried the key in a store without this host's origin mark"),
            std::string::npos)
      << r.err;
}

}  // namespace
}  // namespace xdpkv

#ifdef XDPKV_E2E
namespace xdpkv {
namespace {

// The standard output of a shell command.
std::string slurp_cmd(const std::string& cmd) {
  std::string out;
  if (FILE* p = popen(cmd.c_str(), "r")) {
    char b[4096];
    for (size_t n; (n = fread(b, 1, sizeof b, p)) > 0;) out.append(b, n);
    pclose(p);
  }
  return out;
}

// Makes every bpf() of this process and its children fail with EPERM.
bool refuse_bpf() {
#ifdef __x86_64__
  sock_filter f[] = {
      BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(seccomp_data, arch)),
      BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, AUDIT_ARCH_X86_64, 0, 3),
      BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(seccomp_data, nr)),
      BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_bpf, 0, 1),
      BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | EPERM),
      BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
  };
  sock_fprog prog{static_cast<unsigned short>(sizeof f / sizeof f[0]), f};
  return !prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) &&
         !prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog);
#else
  return false;
#endif
}

// The namespaces process pid made (net::unique_name: "xkv<pid>-N-what").
std::vector<std::string> namespaces_of(pid_t pid) {
  std::vector<std::string> v;
  const std::string prefix = "xkv" + std::to_string(pid) + "-";
  std::istringstream in(slurp_cmd("ip netns list"));
  for (std::string l; std::getline(in, l);)
    if (l.rfind(prefix, 0) == 0) v.push_back(l.substr(0, l.find(' ')));
  return v;
}

// xdpkv_e2e makes its three namespaces (client, lb, backend) before it loads
// its programs. Where the load fails (here: a seccomp filter refuses bpf()),
// it exits 1 with the error, and its fatal errors unwind the stack: none of
// the namespaces is left behind.
TEST(E2eCleanup, FailedLoadLeavesNoNamespaces) {
#ifndef __x86_64__
  GTEST_SKIP() << "the seccomp filter is written for x86-64";
#endif
  Dirs d;
  const std::string err = d.tmp + "/e2e.err";
  const pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    const int o = open("/dev/null", O_WRONLY);
    const int e = open(err.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    dup2(o, 1);
    dup2(e, 2);
    if (!refuse_bpf()) _exit(126);
    execl(XDPKV_E2E, "xdpkv_e2e", "--frames", "1000", "--rounds", "1", "--no-gro",
          "--no-tracer-cost", "--no-tagger-cost", nullptr);
    _exit(127);
  }
  int st = 0;
  for (int i = 0; i < 600 && waitpid(pid, &st, WNOHANG) != pid; i++)
    std::this_thread::sleep_for(50ms);
  if (!WIFEXITED(st) && !WIFSIGNALED(st)) {
    kill(pid, SIGKILL);
    waitpid(pid, &st, 0);
  }
  const std::vector<std::string> left = namespaces_of(pid);
  for (const auto& n : left) (void)std::system(("ip netns del " + n).c_str());
  const std::string says = slurp(err);
  ASSERT_TRUE(WIFEXITED(st)) << says;
  EXPECT_EQ(WEXITSTATUS(st), 1) << says;
  EXPECT_NE(says.find("xdpkv_e2e: load: "), std::string::npos) << "failed at the load: " << says;
  EXPECT_TRUE(left.empty()) << "left behind: " << json(left).dump();
}

}  // namespace
}  // namespace xdpkv
#endif
