// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
// xdpkv_bench: times the inline BPF library against a fixed-offset struct and
// a TLV walk, through BPF_PROG_TEST_RUN with a large repeat (see
// bench/README.md). Every program is checked before it is timed (value read,
// return codes, metadata bytes unchanged) and after every timed run; any
// failure exits 1, because a benchmark of a broken program is worse than none.
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/bpf.h>
#include <sched.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cinttypes>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <memory>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include <xdpkv/bpf_util.hpp>
#include <xdpkv/codec.hpp>
#include <xdpkv/features.hpp>
#include <xdpkv/registry.hpp>

#include "bench.h"
#include "xdpkv_bench_progs.skel.h"
#include "xdpkv_bench_progs_fast.skel.h"
#include "xdpkv_bench_progs_ho_fast.skel.h"
#include "xdpkv_bench_progs_strict.skel.h"

namespace {

using xdpkv::Builder;
namespace xb = xdpkv::bpf;
namespace features = xdpkv::features;

constexpr uint64_t kKey = 32;     // the key read/written: middle of every store
constexpr uint64_t kNewKey = 33;  // absent in every store: inserted and deleted
constexpr uint32_t kNewVal = 0xdeadbeef;
constexpr int64_t kSentinel = 0x5e5e5e5e;
constexpr unsigned kSizes[] = {4, 4, 8, 2};  // value sizes, cycling by key index
// Larger stores do not fit 4,4,8,2 in the headroom: their values are 2 bytes
// (key 32 keeps 4), which is also what a store of many flags looks like.
constexpr unsigned kMixedMaxKeys = 32;

// ---- options ------------------------------------------------------------------

struct Options {
  uint32_t repeat = 1000000;
  unsigned rounds = 7;
  std::vector<unsigned> keys = {1, 2, 8, 32};
  std::string json;
  std::string markdown;
  int cpu = -1;
  bool verbose = false;
};

[[noreturn]] void usage(int code) {
  std::fprintf(code ? stderr : stdout,
               "usage: xdpkv_bench [--repeat N] [--rounds R] [--keys 1,2,8,32] [--cpu C] "
               "[--json FILE] [--markdown FILE] [--verbose]\n"
               "  --repeat N   BPF_PROG_TEST_RUN repetitions per timed run (default 1000000)\n"
               "  --rounds R   rounds; each round runs every program once (default 7)\n"
               "  --keys L     store sizes to measure, 1..60 keys (default 1,2,8,32)\n"
               "  --cpu C      pin to CPU C (default: not pinned)\n"
               "  --json FILE  also write the results as JSON\n"
               "  --markdown FILE  also write the per-operation table as Markdown\n"
               "  --verbose    print every run (stderr)\n"
               "Needs root (CAP_BPF + CAP_PERFMON).\n");
  std::exit(code);
}

Options parse(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; i++) {
    std::string a = argv[i];
    auto next = [&]() -> std::string {
      if (i + 1 >= argc) usage(2);
      return argv[++i];
    };
    auto num = [&](const std::string& s, unsigned long lo, unsigned long hi) {
      char* end = nullptr;
      errno = 0;
      unsigned long v = std::strtoul(s.c_str(), &end, 10);
      if (errno || !end || *end || s.empty() || v < lo || v > hi) {
        std::fprintf(stderr, "xdpkv_bench: bad number '%s' for %s\n", s.c_str(), a.c_str());
        usage(2);
      }
      return v;
    };
    if (a == "--repeat") {
      o.repeat = static_cast<uint32_t>(num(next(), 1, 1000000000));
    } else if (a == "--rounds") {
      o.rounds = static_cast<unsigned>(num(next(), 1, 1000));
    } else if (a == "--json") {
      o.json = next();
    } else if (a == "--markdown") {
      o.markdown = next();
    } else if (a == "--cpu") {
      o.cpu = static_cast<int>(num(next(), 0, 4095));
    } else if (a == "--keys") {
      o.keys.clear();
      std::stringstream ss(next());
      std::string item;
      while (std::getline(ss, item, ',')) {
        o.keys.push_back(static_cast<unsigned>(num(item, 1, 60)));
      }
      if (o.keys.empty()) usage(2);
    } else if (a == "--verbose") {
      o.verbose = true;
    } else if (a == "-h" || a == "--help") {
      usage(0);
    } else {
      std::fprintf(stderr, "xdpkv_bench: unknown argument '%s'\n", a.c_str());
      usage(2);
    }
  }
  return o;
}

// ---- test data ----------------------------------------------------------------

// Value bytes of key k (first `len` of them), the same in the store and the TLV.
std::vector<uint8_t> value_of(uint64_t k, unsigned len) {
  uint64_t v = 0x1122334455667788ULL ^ (k * 0x0101010101010101ULL);
  std::vector<uint8_t> b(len);
  for (unsigned i = 0; i < len; i++) b[i] = static_cast<uint8_t>(v >> (8 * i));
  return b;
}

uint32_t expect_u32() {
  auto b = value_of(kKey, 4);
  return b[0] | b[1] << 8 | b[2] << 16 | static_cast<uint32_t>(b[3]) << 24;
}

struct StoreCase {
  unsigned n = 0;
  std::vector<std::pair<uint64_t, unsigned>> keys;  // ascending (key, len)
  std::vector<uint8_t> store;                       // xdpkv metadata area
  std::vector<uint8_t> tlv;                         // TLV metadata area, same keys
  uint64_t hi = 0, lo = 0;
};

// n distinct key ids spread over 0..63 from key 32, {(32 + i*64/n) % 64};
// kNewKey stays absent (replaced by the first free id).
std::vector<uint64_t> key_ids(unsigned n) {
  std::set<uint64_t> ids;
  for (unsigned i = 0; i < n; i++) ids.insert((kKey + i * 64 / n) % 64);
  if (ids.erase(kNewKey)) {
    for (uint64_t k = 0; k < 64; k++)
      if (k != kNewKey && ids.insert(k).second) break;
  }
  return {ids.begin(), ids.end()};
}

// Key ids from key_ids(n); sizes 4,4,8,2 cycling by ascending index up to
// kMixedMaxKeys keys, 2 bytes beyond; key 32 always 4 bytes.
bool make_store(unsigned n, StoreCase* sc, std::string* why) {
  sc->n = n;
  std::vector<uint64_t> ids = key_ids(n);
  Builder b(XDPKV_META_MAX_HEADROOM);
  for (size_t i = 0; i < ids.size(); i++) {
    unsigned len = ids[i] == kKey ? 4 : n <= kMixedMaxKeys ? kSizes[i % 4] : 2;
    sc->keys.emplace_back(ids[i], len);
    int r = b.set(ids[i], value_of(ids[i], len));
    if (r) {
      *why = "store of " + std::to_string(n) + " keys: set(" + std::to_string(ids[i]) +
             "): " + xdpkv::describe(r);
      return false;
    }
  }
  sc->store.assign(b.bytes().begin(), b.bytes().end());
  sc->hi = b.view().hi();
  sc->lo = b.view().lo();
  // Independent check of what the programs will be told to expect.
  uint8_t got[8] = {};
  if (b.view().get(kKey, got) != 4 || std::memcmp(got, value_of(kKey, 4).data(), 4) != 0 ||
      b.view().has(kNewKey) != 0) {
    *why = "codec does not read back key 32 of the " + std::to_string(n) + "-key store";
    return false;
  }
  // The insert of kNewKey must fit in the headroom.
  Builder probe = Builder::from(b.bytes());
  if (probe.set_u32(kNewKey, kNewVal) != 0) {
    *why = "no room to insert key 33 into the " + std::to_string(n) + "-key store";
    return false;
  }
  // TLV: {type = key + 1, len, value}, ascending keys, zero padding to 4.
  static_assert(XDPKV_META_MAX_HEADROOM % 4 == 0);
  for (auto [k, len] : sc->keys) {
    sc->tlv.push_back(static_cast<uint8_t>(k + 1));
    sc->tlv.push_back(static_cast<uint8_t>(len));
    auto v = value_of(k, len);
    sc->tlv.insert(sc->tlv.end(), v.begin(), v.end());
  }
  // A TLV larger than the headroom (60 keys: 4 bytes of type and length per
  // 2-byte value) loses its last entries, all above key 32: tlv_get never
  // walks past key 32's entry.
  size_t room = XDPKV_META_MAX_HEADROOM;
  while (sc->tlv.size() > room) {
    size_t last = 0;
    for (size_t at = 0; at < sc->tlv.size() && at + 2 + sc->tlv[at + 1] <= room;)
      last = at += 2 + sc->tlv[at + 1];
    sc->tlv.resize(last);
  }
  while (sc->tlv.size() % 4) sc->tlv.push_back(0);
  return true;
}

std::vector<uint8_t> fixed_area() {
  std::vector<uint8_t> a(size_t{4} * BENCH_FIXED_WORDS);
  for (size_t i = 0; i < a.size(); i++) a[i] = static_cast<uint8_t>(0xc0 + i);
  uint32_t e = expect_u32();
  std::memcpy(a.data() + size_t{4} * BENCH_FIXED_FIELD, &e, 4);
  return a;
}

std::vector<uint8_t> packet() {
  std::vector<uint8_t> p(64, 0);
  for (int i = 0; i < 6; i++) p[i] = 0xff;  // broadcast dst
  p[6] = 0x02;                              // locally administered src
  p[12] = 0x08;                             // IPv4 ethertype
  for (size_t i = 14; i < p.size(); i++) p[i] = static_cast<uint8_t>(i);
  return p;
}

// ---- cases ---------------------------------------------------------------------

struct Bss {
  int64_t* ret = nullptr;
  int64_t* ret2 = nullptr;
  uint64_t* val = nullptr;
};

struct Case {
  std::string name;
  unsigned keys = 0;  // 0: does not depend on the store
  const char* what = "";
  int fd = -1;
  std::vector<uint8_t> meta;
  Bss bss;
  int64_t exp_ret = kSentinel, exp_ret2 = kSentinel;
  uint64_t exp_val = kSentinel;
  uint32_t insns = 0;
  xb::ProgSize size;
  std::vector<double> ns;        // ns/op per round
  std::vector<uint32_t> kernel;  // kernel-reported ns/op per round (truncated)
};

template <class S>
Bss bss_of(S* s) {
  return {reinterpret_cast<int64_t*>(&s->bss->out_ret),
          reinterpret_cast<int64_t*>(&s->bss->out_ret2),
          reinterpret_cast<uint64_t*>(&s->bss->out_val)};
}

// ---- hand-off (issue 22): n values written once, read by later programs ---------

constexpr unsigned kHandoffN[] = {1, 3, 8};

// Value i of the hand-off: BENCH_HO_LEN(i) bytes of value_of(key), as a u64.
uint64_t ho_value(unsigned i, unsigned len = 8) {
  auto b = value_of(BENCH_HO_KEY(i), len);
  uint64_t v = 0;
  std::memcpy(&v, b.data(), b.size());
  return v;
}

uint64_t ho_sum(unsigned n) {
  uint64_t s = 0;
  for (unsigned i = 0; i < n; i++) s += ho_value(i, BENCH_HO_LEN(i));
  return s;
}

// The fixed struct of n values at data_meta: the values in order, no gaps.
std::vector<uint8_t> ho_fixed_area(unsigned n) {
  std::vector<uint8_t> a;
  for (unsigned i = 0; i < n; i++) {
    auto v = value_of(BENCH_HO_KEY(i), BENCH_HO_LEN(i));
    a.insert(a.end(), v.begin(), v.end());
  }
  return a;
}

// The xdpkv store of the same n values; its size goes to *extent.
std::vector<uint8_t> ho_store(unsigned n) {
  Builder b(XDPKV_META_MAX_HEADROOM);
  for (unsigned i = 0; i < n; i++)
    (void)b.set(BENCH_HO_KEY(i), value_of(BENCH_HO_KEY(i), BENCH_HO_LEN(i)));
  return {b.bytes().begin(), b.bytes().end()};
}

template <class R>
void set_rodata(R* ro) {
  ro->key = kKey;
  ro->new_key = kNewKey;
  ro->expect = expect_u32();
  ro->new_val = kNewVal;
  if constexpr (requires { ro->ho_key; }) {
    for (unsigned i = 0; i < BENCH_HO_MAX; i++) {
      const_cast<__u64&>(ro->ho_key[i]) = BENCH_HO_KEY(i);
      const_cast<__u64&>(ro->ho_val[i]) = ho_value(i);
    }
    for (size_t j = 0; j < std::size(kHandoffN); j++)
      const_cast<__u64&>(ro->ho_sum[j]) = ho_sum(kHandoffN[j]);
  }
}

// ---- running -------------------------------------------------------------------

struct Run {
  double cpu_ns = 0;  // CPU time of the whole syscall
  double ns_per_op = 0;
  uint32_t kernel_ns = 0;
  bool clamped = false;
};

// Fixed cost of one BPF_PROG_TEST_RUN with repeat > 1: the kernel installs the
// program in the XDP dispatcher before the loop and removes it after (text
// patching), 0.25-0.7 ms of CPU here. Measured by calibrate() and subtracted
// before dividing by the repeat count.
double g_overhead_ns = 0;
bool g_verbose = false;
// Whether this kernel lets XDP programs grow metadata (features.hpp). Where
// it does not, the programs that insert or overwrite are not loaded and
// their rows are not measured here: scripts/bench.sh measures them in a guest.
bool g_writes = true;
constexpr const char* kWritePrograms[] = {"kv_set_ow", "kv_ins_del", "kv_del_ins"};

// Hand-off programs that grow or write the metadata (not the reads).
bool is_write_program(const std::string& name) {
  if (name.rfind("ho_", 0) == 0) return name.find("_read") == std::string::npos;
  return std::find(std::begin(kWritePrograms), std::end(kWritePrograms), name) !=
         std::end(kWritePrograms);
}

std::string keys_str(unsigned k) { return k ? std::to_string(k) : "-"; }

// One BPF_PROG_TEST_RUN through the library's xdp_test_run (timed around the
// syscall alone), then the verdict and metadata/packet byte for byte.
bool run_case(const Case& c, const std::vector<uint8_t>& pkt, uint32_t repeat, Run* out,
              std::string* why) {
  auto r = xb::xdp_test_run(c.fd, c.meta, pkt, repeat);
  if (!r) {
    *why = r.error().message;
    return false;
  }
  if (r->retval != XDP_PASS) {
    *why = "returned " + std::to_string(r->retval) + ", not XDP_PASS (wrong result)";
    return false;
  }
  if (r->meta != c.meta || r->packet != pkt) {
    *why =
        "metadata/packet changed: in " + xdpkv::to_hex(c.meta) + ", out " + xdpkv::to_hex(r->meta);
    return false;
  }
  // The kernel's own figure is exact but truncated: its loop time / repeat
  // lies in [duration, duration + 1). The CPU clock refines it within that
  // interval; an estimate outside it (overhead mis-estimated) is clamped to
  // the nearest bound and counted.
  out->cpu_ns = r->cpu_ns;
  out->kernel_ns = r->duration_ns;
  double est = (r->cpu_ns - g_overhead_ns) / repeat;
  double lo = r->duration_ns, hi = r->duration_ns + 0.999;
  out->clamped = est < lo || est > hi;
  if (g_verbose) {
    std::fprintf(stderr, "run %-14s keys %2s repeat %u: cpu %.0f ns, kernel %u ns/op, est %.3f\n",
                 c.name.c_str(), keys_str(c.keys).c_str(), repeat, r->cpu_ns, r->duration_ns, est);
  }
  out->ns_per_op = std::clamp(est, lo, hi);
  return true;
}

// Median CPU time of a repeat = 2 run of the empty program: the per-syscall
// overhead, the same for every program (it does not depend on the program).
bool calibrate(const Case& empty, const std::vector<uint8_t>& pkt, std::string* why) {
  std::vector<double> w;
  for (int i = 0; i < 9; i++) {
    Run r;
    if (!run_case(empty, pkt, 2, &r, why)) return false;
    w.push_back(r.cpu_ns);
  }
  std::sort(w.begin(), w.end());
  g_overhead_ns = w[w.size() / 2];
  return true;
}

// Runs once and checks what the program published in .bss: return codes and the value read.
bool check_case(const Case& c, const std::vector<uint8_t>& pkt, std::string* why) {
  *c.bss.ret = kSentinel;
  *c.bss.ret2 = kSentinel;
  *c.bss.val = kSentinel;
  Run r;
  if (!run_case(c, pkt, 1, &r, why)) return false;
  if (*c.bss.ret != c.exp_ret || *c.bss.ret2 != c.exp_ret2 || *c.bss.val != c.exp_val) {
    char buf[256];
    std::snprintf(buf, sizeof(buf),
                  "ret %" PRId64 " ret2 %" PRId64 " val %#" PRIx64 "; expected ret %" PRId64
                  " ret2 %" PRId64 " val %#" PRIx64,
                  *c.bss.ret, *c.bss.ret2, *c.bss.val, c.exp_ret, c.exp_ret2, c.exp_val);
    *why = buf;
    return false;
  }
  return true;
}

// Checks every case; prints each failure. `when` names the moment (before/after timing).
bool check_all(const std::vector<Case>& cases, const std::vector<uint8_t>& pkt, const char* when) {
  bool ok = true;
  for (const auto& c : cases) {
    std::string why;
    if (!check_case(c, pkt, &why)) {
      std::fprintf(stderr, "CHECK FAILED %s keys=%s%s: %s\n", c.name.c_str(),
                   keys_str(c.keys).c_str(), when, why.c_str());
      ok = false;
    }
  }
  return ok;
}

// ---- statistics ------------------------------------------------------------------

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  size_t n = v.size();
  return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

// Median over rounds of the per-round difference (runs of a round are adjacent in time).
double delta(const Case& c, const Case* ref) {
  if (!ref) return 0;
  std::vector<double> d;
  for (size_t i = 0; i < c.ns.size(); i++) d.push_back(c.ns[i] - ref->ns[i]);
  return median(d);
}

// Median over rounds of the per-round ratio.
double ratio(const Case& c, const Case& ref) {
  std::vector<double> q;
  for (size_t i = 0; i < c.ns.size(); i++) q.push_back(c.ns[i] / ref.ns[i]);
  return median(q);
}

std::string trim(std::string s) {
  while (!s.empty() && (s.back() == ' ' || s.back() == '\n' || s.back() == '\t')) s.pop_back();
  size_t i = s.find_first_not_of(" \t");
  return i == std::string::npos ? "" : s.substr(i);
}

std::string read_first_line(const char* path) {
  std::ifstream f(path);
  std::string s;
  std::getline(f, s);
  return s.empty() ? "?" : trim(s);
}

// What the header of every output states.
struct Machine {
  std::string cpu = "unknown";
  std::string kernel;
  long cores = 0;
  std::string jit, stats;
  std::string date;
  double load1 = -1;  // 1-minute load average at start (other work on the machine)
};

Machine machine() {
  Machine m;
  std::ifstream f("/proc/cpuinfo");
  std::string line;
  while (std::getline(f, line)) {
    if (line.rfind("model name", 0) == 0) {
      m.cpu = trim(line.substr(line.find(':') + 1));
      break;
    }
  }
  utsname u{};
  uname(&u);
  m.kernel = u.release;
  m.cores = sysconf(_SC_NPROCESSORS_ONLN);
  m.jit = read_first_line("/proc/sys/net/core/bpf_jit_enable");
  m.stats = read_first_line("/proc/sys/kernel/bpf_stats_enabled");
  char buf[64];
  time_t t = time(nullptr);
  strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", gmtime(&t));
  m.date = buf;
  std::istringstream(read_first_line("/proc/loadavg")) >> m.load1;
  return m;
}

}  // namespace

// ---- the steps of a run ------------------------------------------------------------

namespace {

// A registry of this run only, for the strict-mode program: removed at exit.
struct BenchRegistry {
  std::string dir = "/sys/fs/bpf/xdpkv-bench-" + std::to_string(getpid());
  ~BenchRegistry() {
    (void)unlink((dir + "/registry").c_str());
    (void)rmdir(dir.c_str());
  }
};

// Every loaded object: one plain (baselines, general path), one fast-layout
// object per store (its layout is that store's header), one strict.
struct Objects {
  xb::Skeleton<xdpkv_bench_progs> plain{nullptr, xdpkv_bench_progs__destroy};
  std::vector<xb::Skeleton<xdpkv_bench_progs_fast>> fast;
  xb::Skeleton<xdpkv_bench_progs_strict> strict{nullptr, xdpkv_bench_progs_strict__destroy};
  // Hand-off programs, fast layout = the 3-value hand-off store.
  xb::Skeleton<xdpkv_bench_progs_ho_fast> ho_fast{nullptr, xdpkv_bench_progs_ho_fast__destroy};
  BenchRegistry reg_dir;
  std::unique_ptr<xdpkv::Registry> reg;
};

bool pin_cpu(int cpu) {
  if (cpu < 0) return true;
  cpu_set_t set;
  CPU_ZERO(&set);
  CPU_SET(cpu, &set);
  if (sched_setaffinity(0, sizeof(set), &set)) {
    std::fprintf(stderr, "xdpkv_bench: cannot pin to CPU %d: %s\n", cpu, std::strerror(errno));
    return false;
  }
  return true;
}

bool make_stores(const Options& opt, std::vector<StoreCase>* stores) {
  for (unsigned n : opt.keys) {
    StoreCase sc;
    std::string why;
    if (!make_store(n, &sc, &why)) {
      std::fprintf(stderr, "xdpkv_bench: %s\n", why.c_str());
      return false;
    }
    stores->push_back(std::move(sc));
  }
  return true;
}

template <class S>
bool open_load(xb::Skeleton<S>* out, S* (*open)(), void (*destroy)(S*), int (*load)(S*),
               const char* name, const xdpkv_layout* layout, xdpkv::Registry* reg) {
  auto s = xb::open_skeleton(open, destroy, name);
  if (!s) {
    std::fprintf(stderr, "xdpkv_bench: %s\n", s.error().message.c_str());
    return false;
  }
  set_rodata((*s)->rodata);
  if constexpr (requires(S * p) { p->rodata->xdpkv_fast_layout; }) {
    if (layout) {
      std::memcpy(const_cast<xdpkv_layout*>(&(*s)->rodata->xdpkv_fast_layout), layout,
                  sizeof(*layout));
    }
  }
  if (reg) {
    if (auto b = xdpkv::bind_registry(*reg, (*s)->obj); !b) {
      std::fprintf(stderr, "xdpkv_bench: %s\n", b.error().message.c_str());
      return false;
    }
  }
  bpf_program* q = nullptr;
  bpf_object__for_each_program(q, (*s)->obj) {
    if (!g_writes && is_write_program(bpf_program__name(q))) bpf_program__set_autoload(q, false);
  }
  if (auto l = xb::load_skeleton(*s, load, name); !l) {
    std::fprintf(stderr, "xdpkv_bench: %s\n", l.error().message.c_str());
    return false;
  }
  *out = std::move(*s);
  return true;
}

// The per-CPU array baseline reads the expected value on whatever CPU it runs.
bool fill_percpu(xdpkv_bench_progs* p) {
  int ncpu = libbpf_num_possible_cpus();
  if (ncpu <= 0) return false;
  // Per-CPU values are passed in 8-byte slots, one per possible CPU.
  std::vector<uint64_t> vals(static_cast<size_t>(ncpu), expect_u32());
  uint32_t zero = 0;
  if (bpf_map__update_elem(p->maps.bench_percpu, &zero, sizeof(zero), vals.data(),
                           vals.size() * sizeof(uint64_t), 0)) {
    std::fprintf(stderr, "xdpkv_bench: per-CPU map: %s\n", std::strerror(errno));
    return false;
  }
  return true;
}

bool load_objects(const std::vector<StoreCase>& stores, Objects* o) {
  if (!open_load(&o->plain, xdpkv_bench_progs__open, xdpkv_bench_progs__destroy,
                 xdpkv_bench_progs__load, "xdpkv_bench_progs", nullptr, nullptr) ||
      !fill_percpu(o->plain.get()))
    return false;
  for (const auto& sc : stores) {
    xdpkv_layout lay{};
    xdpkv_layout_fill(&lay, sc.hi, sc.lo);
    xb::Skeleton<xdpkv_bench_progs_fast> f{nullptr, xdpkv_bench_progs_fast__destroy};
    if (!open_load(&f, xdpkv_bench_progs_fast__open, xdpkv_bench_progs_fast__destroy,
                   xdpkv_bench_progs_fast__load, "xdpkv_bench_progs_fast", &lay, nullptr))
      return false;
    o->fast.push_back(std::move(f));
  }
  // Strict mode: the same set, checked against a registry where key 32 is registered.
  xdpkv::RegistryOptions ro;
  ro.dir = o->reg_dir.dir;
  ro.create = true;
  auto reg = xdpkv::Registry::open(ro);
  if (!reg) {
    std::fprintf(stderr, "xdpkv_bench: %s\n", reg.error().message.c_str());
    return false;
  }
  o->reg = std::make_unique<xdpkv::Registry>(std::move(*reg));
  if (auto r = o->reg->register_at("bench.key32", 4, kKey); !r) {
    std::fprintf(stderr, "xdpkv_bench: %s\n", r.error().message.c_str());
    return false;
  }
  if (!open_load(&o->strict, xdpkv_bench_progs_strict__open, xdpkv_bench_progs_strict__destroy,
                 xdpkv_bench_progs_strict__load, "xdpkv_bench_progs_strict", nullptr, o->reg.get()))
    return false;
  auto ho3 = ho_store(3);
  xdpkv::View hv(ho3);
  xdpkv_layout lay{};
  xdpkv_layout_fill(&lay, hv.hi(), hv.lo());
  return open_load(&o->ho_fast, xdpkv_bench_progs_ho_fast__open, xdpkv_bench_progs_ho_fast__destroy,
                   xdpkv_bench_progs_ho_fast__load, "xdpkv_bench_progs_ho_fast", &lay, nullptr);
}

// The hand-off rows: fixed struct and xdpkv side by side, for 1, 3 and 8 values.
template <class Add>
void add_handoff_cases(xdpkv_bench_progs* P, Add& add) {
  Bss pb = bss_of(P);
  const auto& g = P->progs;
  bpf_program* progs[][6] = {{g.ho_fixed_create1, g.ho_kv_create1, g.ho_fixed_read1, g.ho_kv_read1,
                              g.ho_fixed_ow1, g.ho_kv_ow1},
                             {g.ho_fixed_create3, g.ho_kv_create3, g.ho_fixed_read3, g.ho_kv_read3,
                              g.ho_fixed_ow3, g.ho_kv_ow3},
                             {g.ho_fixed_create8, g.ho_kv_create8, g.ho_fixed_read8, g.ho_kv_read8,
                              g.ho_fixed_ow8, g.ho_kv_ow8}};
  for (size_t j = 0; j < std::size(kHandoffN); j++) {
    unsigned n = kHandoffN[j];
    auto* p = progs[j];
    auto fixed = ho_fixed_area(n), store = ho_store(n);
    auto sum = static_cast<int64_t>(ho_sum(n));
    int64_t fsize = static_cast<int64_t>(fixed.size()), ksize = static_cast<int64_t>(store.size());
    add("fixed_create", n, "adjust_meta, n stores in a fixed struct, undo", p[0], {}, pb, 0, fsize,
        0);
    add("kv_create", n, "xdpkv_set_many into an empty area (a new store), undo", p[1], {}, pb, 0,
        ksize, 0);
    add("fixed_read", n, "n loads from the fixed struct", p[2], fixed, pb, n, kSentinel, sum);
    add("kv_read", n, "xdpkv_get_many of the n keys", p[3], store, pb, n, kSentinel, sum);
    add("fixed_ow", n, "n stores into the fixed struct", p[4], fixed, pb, 0, kSentinel, 0);
    add("kv_ow", n, "xdpkv_set_many of the n present keys, same sizes", p[5], store, pb, 0,
        kSentinel, 0);
    if (n == 3) {
      add("kv_read_general", n, "xdpkv_get_many of the 3 keys in descending order (general path)",
          g.ho_kv_read3_general, store, pb, 3, kSentinel, sum);
      add("kv_ow_general", n, "xdpkv_set_many of the 3 keys in descending order (general path)",
          g.ho_kv_ow3_general, store, pb, 0, kSentinel, 0);
      add("kv_read_1by1", n, "3 single gets (u64, u32, u32): before set_many/get_many",
          g.ho_kv_read3_single, store, pb, 3, kSentinel, sum);
      add("kv_create_1by1", n, "3 single sets into an empty area, undo", g.ho_kv_create3_single, {},
          pb, 0, ksize, 0);
    }
  }
}

// The rows measured on each store of stores (o.fast[i] has store i's fast
// layout); e is the value of key 32.
template <class Add>
void add_store_cases(const std::vector<StoreCase>& stores, const Objects& o, uint32_t e, Add& add) {
  auto* P = o.plain.get();
  Bss pb = bss_of(P);
  for (size_t i = 0; i < stores.size(); i++) {
    const auto& sc = stores[i];
    unsigned n = sc.n;
    auto* F = o.fast[i].get();
    Bss fb = bss_of(F);
    add("tlv_get", n, "TLV walk from data_meta to key 32's entry", P->progs.tlv_get, sc.tlv, pb, 4,
        kSentinel, e);
    add("get", n, "xdpkv_get_u32(key 32 from rodata)", P->progs.kv_get, sc.store, pb, 4, kSentinel,
        e);
    add("get_const", n, "xdpkv_get_u32(32) literal key", P->progs.kv_get_const, sc.store, pb, 4,
        kSentinel, e);
    add("get_fast", n, "get, XDPKV_FAST_LAYOUT = this store's header", F->progs.kv_get, sc.store,
        fb, 4, kSentinel, e);
    add("has", n, "xdpkv_has(key 32)", P->progs.kv_has, sc.store, pb, 1, kSentinel, 0);
    add("has_fast", n, "has, fast layout", F->progs.kv_has, sc.store, fb, 1, kSentinel, 0);
    add("set_overwrite", n, "xdpkv_set_u32(key 32, same size) in place", P->progs.kv_set_ow,
        sc.store, pb, 0, kSentinel, e);
    add("set_ow_fast", n, "set overwrite, fast layout", F->progs.kv_set_ow, sc.store, fb, 0,
        kSentinel, e);
    add("set_ow_strict", n, "set overwrite, XDPKV_STRICT (one registry lookup)",
        o.strict->progs.kv_set_ow, sc.store, bss_of(o.strict.get()), 0, kSentinel, e);
    add("ins+del", n, "set(key 33, 4 B, absent) + del(key 33)", P->progs.kv_ins_del, sc.store, pb,
        0, 0, kNewVal);
    add("del+ins", n, "del(key 32) + set(key 32, 4 B)", P->progs.kv_del_ins, sc.store, pb, 0, 0, e);
  }
}

// The measured programs, baselines first (cases[0] is `empty`, the calibration program).
std::vector<Case> make_cases(const std::vector<StoreCase>& stores, const Objects& o) {
  const uint32_t e = expect_u32();
  auto* P = o.plain.get();
  Bss pb = bss_of(P);
  std::vector<Case> cases;
  auto add = [&](const char* name, unsigned keys, const char* what, bpf_program* prog,
                 std::vector<uint8_t> meta, Bss bss, int64_t r1, int64_t r2, uint64_t val) {
    if (bpf_program__fd(prog) < 0) return;  // not loaded: a write where writes are refused
    Case c;
    c.name = name;
    c.keys = keys;
    c.what = what;
    c.fd = bpf_program__fd(prog);
    c.meta = std::move(meta);
    c.bss = bss;
    c.exp_ret = r1;
    c.exp_ret2 = r2;
    c.exp_val = val;
    c.insns = xb::verified_insns(c.fd);
    c.size = xb::prog_size(c.fd);
    cases.push_back(std::move(c));
  };
  const auto& s0 = stores.front().store;
  add("empty", 0, "return XDP_PASS", P->progs.bench_empty, s0, pb, kSentinel, kSentinel, kSentinel);
  add("fixed_get", 0, "u32 at a constant offset of a 32 B struct at data_meta", P->progs.fixed_get,
      fixed_area(), pb, 4, kSentinel, e);
  add("fixed_set", 0, "store of a u32 at a constant offset", P->progs.fixed_set, fixed_area(), pb,
      0, kSentinel, e);
  add("percpu_get", 0, "per-CPU array map: lookup of entry 0, load of a u32", P->progs.percpu_get,
      s0, pb, 4, kSentinel, e);
  add_store_cases(stores, o, e, add);
  add_handoff_cases(P, add);
  // The 3-value hand-off with the fast layout (the consumer knows the producer's header).
  auto* H = o.ho_fast.get();
  auto ho3 = ho_store(3);
  auto sum3 = static_cast<int64_t>(ho_sum(3));
  add("kv_read_fast", 3, "xdpkv_get_many, fast layout", H->progs.ho_kv_read3, ho3, bss_of(H), 3,
      kSentinel, sum3);
  add("kv_ow_fast", 3, "xdpkv_set_many of the present keys, fast layout", H->progs.ho_kv_ow3, ho3,
      bss_of(H), 0, kSentinel, 0);
  return cases;
}

void print_header(const Options& opt, const Machine& m) {
  std::printf(
      "xdpkv_bench: %s | kernel %s | %ld cores | cpu pin %s | bpf_jit_enable %s | "
      "bpf_stats_enabled %s | %s | load average %.2f\n",
      m.cpu.c_str(), m.kernel.c_str(), m.cores,
      opt.cpu >= 0 ? std::to_string(opt.cpu).c_str() : "none", m.jit.c_str(), m.stats.c_str(),
      m.date.c_str(), m.load1);
  std::printf(
      "repeat %u, rounds %u; all programs checked OK (value, return codes, metadata "
      "unchanged)\n",
      opt.repeat, opt.rounds);
  if (m.stats == "1")
    std::printf("warning: kernel.bpf_stats_enabled=1 adds per-run accounting to every number\n");
  if (m.load1 > 0.5 * static_cast<double>(m.cores)) {
    std::printf(
        "warning: load average %.2f on %ld cores: other work shares the CPUs; compare "
        "only rows of this run (the deltas and ratios), not absolute numbers\n",
        m.load1, m.cores);
  }
  std::fflush(stdout);
}

struct Timing {
  unsigned clamped = 0, runs = 0;
  std::vector<double> overheads;
};

// Warm-up (untimed), then rounds: every case once per round, start rotated.
bool run_rounds(const Options& opt, const std::vector<uint8_t>& pkt, std::vector<Case>* cases,
                Timing* t) {
  for (auto& c : *cases) {
    Run r;
    std::string why;
    if (!run_case(c, pkt, std::max<uint32_t>(1, opt.repeat / 10), &r, &why)) {
      std::fprintf(stderr, "CHECK FAILED %s keys=%s (warm-up): %s\n", c.name.c_str(),
                   keys_str(c.keys).c_str(), why.c_str());
      return false;
    }
  }
  const size_t nc = cases->size();
  for (unsigned round = 0; round < opt.rounds; round++) {
    std::string cwhy;
    if (!calibrate((*cases)[0], pkt, &cwhy)) {
      std::fprintf(stderr, "CHECK FAILED empty (calibration): %s\n", cwhy.c_str());
      return false;
    }
    t->overheads.push_back(g_overhead_ns);
    size_t start = (size_t{round} * 7) % nc;
    for (size_t j = 0; j < nc; j++) {
      auto& c = (*cases)[(start + j) % nc];
      Run r;
      std::string why;
      if (!run_case(c, pkt, opt.repeat, &r, &why)) {
        std::fprintf(stderr, "CHECK FAILED %s keys=%s (round %u): %s\n", c.name.c_str(),
                     keys_str(c.keys).c_str(), round, why.c_str());
        return false;
      }
      c.ns.push_back(r.ns_per_op);
      c.kernel.push_back(r.kernel_ns);
      t->clamped += r.clamped;
      t->runs++;
    }
  }
  return true;
}

const Case* find_case(const std::vector<Case>& cases, const std::string& name, unsigned keys) {
  for (const auto& c : cases)
    if (c.name == name && c.keys == keys) return &c;
  return nullptr;
}

void print_table(const Options& opt, const std::vector<Case>& cases, const Timing& t) {
  std::printf(
      "ns/op = (CPU time of the syscall - fixed per-syscall overhead) / repeat; "
      "overhead (median of repeat=2 runs, per round) %.0f us, so +/-%.2f ns if it is "
      "off by half; %u of %u runs clamped into the kernel's [duration, duration+1) "
      "interval\n",
      median(t.overheads) / 1000, median(t.overheads) / 2 / opt.repeat, t.clamped, t.runs);
  const Case* empty = &cases[0];
  const Case* fget = find_case(cases, "fixed_get", 0);
  const Case* fset = find_case(cases, "fixed_set", 0);
  std::printf("\n%-14s %4s %8s %8s %6s %8s %8s %8s %6s %6s\n", "program", "keys", "median", "min",
              "kern", "-empty", "-fix_ld", "-fix_st", "insns", "jited");
  std::printf("%-14s %4s %8s %8s %6s %8s %8s %8s %6s %6s\n", "", "", "ns/op", "ns/op", "ns", "ns",
              "ns", "ns", "verif", "bytes");
  unsigned last_keys = ~0u;
  for (const auto& c : cases) {
    if (c.keys != last_keys) std::printf("\n");
    last_keys = c.keys;
    std::vector<double> k(c.kernel.begin(), c.kernel.end());
    std::printf("%-14s %4s %8.2f %8.2f %6.0f %+8.2f %+8.2f %+8.2f %6u %6u\n", c.name.c_str(),
                keys_str(c.keys).c_str(), median(c.ns), *std::min_element(c.ns.begin(), c.ns.end()),
                median(k), delta(c, empty), delta(c, fget), delta(c, fset), c.insns, c.size.jited);
  }
}

// The hand-off table (issue 22): per packet, xdpkv against the fixed struct.
struct HandoffRow {
  const char* op;
  const char* fixed;
  const char* kv;
  double goal;  // at 3 values; NaN: none
};
constexpr HandoffRow kHandoffRows[] = {{"create", "fixed_create", "kv_create", 5},
                                       {"read", "fixed_read", "kv_read", 3},
                                       {"overwrite", "fixed_ow", "kv_ow", NAN}};

void print_handoff(const std::vector<Case>& cases) {
  std::printf(
      "\nhand-off, per packet (ns/op median [min,max] over rounds; delta = median of the "
      "same-round differences):\n%-10s %6s %22s %22s %8s\n",
      "operation", "values", "fixed struct", "xdpkv", "delta");
  for (const auto& row : kHandoffRows) {
    for (unsigned n : kHandoffN) {
      const Case* f = find_case(cases, row.fixed, n);
      const Case* k = find_case(cases, row.kv, n);
      if (!f || !k) {
        std::printf("%-10s %6u  not measured on this kernel\n", row.op, n);
        continue;
      }
      auto cell = [](const Case* c) {
        char b[64];
        std::snprintf(b, sizeof(b), "%.2f [%.2f,%.2f]", median(c->ns),
                      *std::min_element(c->ns.begin(), c->ns.end()),
                      *std::max_element(c->ns.begin(), c->ns.end()));
        return std::string(b);
      };
      double d = delta(*k, f);
      std::printf("%-10s %6u %22s %22s %+8.2f", row.op, n, cell(f).c_str(), cell(k).c_str(), d);
      if (n == 3 && !std::isnan(row.goal))
        std::printf("  goal <= +%.0f: %s", row.goal, d <= row.goal ? "met" : "missed");
      std::printf("\n");
    }
  }
  const Case* r1 = find_case(cases, "kv_read_1by1", 3);
  const Case* c1 = find_case(cases, "kv_create_1by1", 3);
  const Case* fr = find_case(cases, "fixed_read", 3);
  const Case* fc = find_case(cases, "fixed_create", 3);
  const Case* rf = find_case(cases, "kv_read_fast", 3);
  const Case* of = find_case(cases, "kv_ow_fast", 3);
  const Case* fo = find_case(cases, "fixed_ow", 3);
  auto line = [](const char* what, const Case* c, const Case* ref) {
    if (c && ref) std::printf("%-38s %+8.2f over the fixed struct\n", what, delta(*c, ref));
  };
  line("3 values, fast layout: read", rf, fr);
  line("3 values, fast layout: overwrite", of, fo);
  line("3 values, descending keys: read", find_case(cases, "kv_read_general", 3), fr);
  line("3 values, descending keys: overwrite", find_case(cases, "kv_ow_general", 3), fo);
  line("before: 3 single gets (read)", r1, fr);
  line("before: 3 single sets (create)", c1, fc);
}

// Goals of the project (issue 13), reported, never asserted: one line each, per store size.
void print_targets(const std::vector<StoreCase>& stores, const std::vector<Case>& cases) {
  const Case* empty = &cases[0];
  const Case* fget = find_case(cases, "fixed_get", 0);
  // NaN for a program not measured on this kernel (a write where writes are refused).
  auto d = [&](const char* name, unsigned n, const Case* ref) {
    const Case* c = find_case(cases, name, n);
    return c ? delta(*c, ref) : std::nan("");
  };
  auto m = [&](const char* name, unsigned n) {
    const Case* c = find_case(cases, name, n);
    return c ? median(c->ns) : std::nan("");
  };
  auto per_n = [&](const char* label, auto fn) {
    std::printf("  %-48s", label);
    for (const auto& sc : stores) std::printf("  %2u: %s", sc.n, fn(sc.n).c_str());
    std::printf("\n");
  };
  auto fmt = [](const char* f, double a, double b = 0) {
    if (std::isnan(a) || std::isnan(b)) return std::string("n/a (refused here)");
    char buf[64];
    std::snprintf(buf, sizeof(buf), f, a, b);
    return std::string(buf);
  };
  auto goal = [&](const char* name, const Case* ref, double limit) {
    return [=, &d, &fmt](unsigned n) {
      double v = d(name, n, ref);
      if (std::isnan(v)) return fmt("%f", v);
      return fmt("%+.2f", v) + (v <= limit ? " met" : " missed");
    };
  };
  std::printf("\ntargets (reported, not asserted; per store size in keys):\n");
  per_n("get - fixed load <= 4 ns (goal at 8 keys)", goal("get", fget, 4));
  per_n("get_fast - fixed load <= 3 ns", goal("get_fast", fget, 3));
  per_n("has - fixed load <= 3 ns", goal("has", fget, 3));
  per_n("set_overwrite - empty <= 5 ns", goal("set_overwrite", empty, 5));
  per_n("set_ow_fast - empty <= 5 ns", goal("set_ow_fast", empty, 5));
  per_n("strict mode cost: set_ow_strict - set_overwrite",
        [&](unsigned n) { return fmt("%+.2f", m("set_ow_strict", n) - m("set_overwrite", n)); });
  per_n("get faster than tlv_get (target from 2 keys)", [&](unsigned n) {
    return fmt("%.2f/%.2f", m("get", n), m("tlv_get", n)) +
           (m("get", n) < m("tlv_get", n) ? " yes" : " no");
  });
  per_n("get_fast faster than tlv_get", [&](unsigned n) {
    return fmt("%.2f/%.2f", m("get_fast", n), m("tlv_get", n)) +
           (m("get_fast", n) < m("tlv_get", n) ? " yes" : " no");
  });
  per_n("insert or delete, derived: (ins+del - empty)/2",
        [&](unsigned n) { return fmt("%.2f", d("ins+del", n, empty) / 2); });
  std::printf("  traits RFC kfunc, Intel: get 5.53, set 7.54 ns/op; here (-empty):");
  for (const auto& sc : stores) {
    std::printf("  %2u: get %.2f set %.2f", sc.n, d("get", sc.n, empty),
                d("set_overwrite", sc.n, empty));
  }
  std::printf("\n");
}

nlohmann::json to_json(const Options& opt, const Machine& mc, const std::vector<Case>& cases,
                       const Timing& t) {
  const Case* empty = &cases[0];
  const Case* fget = find_case(cases, "fixed_get", 0);
  const Case* fset = find_case(cases, "fixed_set", 0);
  nlohmann::json j;
  j["machine"] = {
      {"cpu", mc.cpu},         {"kernel", mc.kernel},      {"cores", mc.cores},
      {"pinned_cpu", opt.cpu}, {"bpf_jit_enable", mc.jit}, {"bpf_stats_enabled", mc.stats},
      {"date", mc.date},       {"load_average", mc.load1}};
  j["writes_measured"] = g_writes;
  if (!g_writes) {
    j["writes_refused"] =
        features::refusal(features::Cap::grow_meta, "measuring inserts and overwrites");
  }
  j["repeat"] = opt.repeat;
  j["rounds"] = opt.rounds;
  j["syscall_overhead_ns"] = static_cast<uint64_t>(median(t.overheads));
  j["clamped_runs"] = t.clamped;
  j["runs"] = t.runs;
  j["unit"] =
      "ns per BPF_PROG_TEST_RUN repetition ((thread CPU time around the syscall - "
      "syscall_overhead_ns) / repeat, clamped to the kernel's [duration, duration+1))";
  auto& res = j["results"] = nlohmann::json::array();
  for (const auto& c : cases) {
    std::vector<double> k(c.kernel.begin(), c.kernel.end());
    res.push_back({{"program", c.name},
                   {"keys", c.keys},
                   {"measures", c.what},
                   {"median_ns", median(c.ns)},
                   {"min_ns", *std::min_element(c.ns.begin(), c.ns.end())},
                   {"max_ns", *std::max_element(c.ns.begin(), c.ns.end())},
                   {"kernel_median_ns", median(k)},
                   {"vs_empty_ns", delta(c, empty)},
                   {"vs_empty_ratio", ratio(c, *empty)},
                   {"vs_fixed_load_ns", delta(c, fget)},
                   {"vs_fixed_store_ns", delta(c, fset)},
                   {"verified_insns", c.insns},
                   {"xlated_bytes", c.size.xlated},
                   {"jited_bytes", c.size.jited},
                   {"samples_ns", c.ns}});
  }
  return j;
}

bool write_file(const std::string& path, const std::string& text) {
  std::ofstream f(path);
  f << text;
  f.close();
  if (!f) {
    std::fprintf(stderr, "xdpkv_bench: cannot write %s\n", path.c_str());
    return false;
  }
  return true;
}

// The per-operation table: one row per operation and path, one column per store size.
std::string to_markdown(const Options& opt, const Machine& mc, const std::vector<StoreCase>& stores,
                        const std::vector<Case>& cases, const Timing& t) {
  const Case* empty = &cases[0];
  std::ostringstream o;
  char buf[256];
  o << "Machine: " << mc.cpu << ", " << mc.cores << " cores, kernel " << mc.kernel
    << ", bpf_jit_enable " << mc.jit << "; " << mc.date << "; load average at start " << mc.load1
    << ".\n\n";
  o << "BPF_PROG_TEST_RUN, repeat " << opt.repeat << " x " << opt.rounds
    << " rounds (every program once per round, side by side); " << t.runs << " timed runs, "
    << t.clamped << " clamped to the kernel's duration. Each cell: median over rounds of "
    << "(program - empty) in the same round, ns, with [min, max] of the program's own ns/op.\n\n";
  o << "| operation | path |";
  for (const auto& sc : stores) o << " " << sc.n << " keys |";
  o << "\n|---|---|";
  for (size_t i = 0; i < stores.size(); i++) o << "---|";
  o << "\n";
  const std::pair<const char*, const char*> rows[] = {{"tlv_get", "TLV walk (baseline)"},
                                                      {"get", "general"},
                                                      {"get_fast", "fast layout"},
                                                      {"has", "general"},
                                                      {"has_fast", "fast layout"},
                                                      {"set_overwrite", "general"},
                                                      {"set_ow_fast", "fast layout"},
                                                      {"set_ow_strict", "general, strict mode"},
                                                      {"ins+del", "insert + delete, general"},
                                                      {"del+ins", "delete + insert, general"}};
  for (auto [name, path] : rows) {
    o << "| `" << name << "` | " << path << " |";
    for (const auto& sc : stores) {
      const Case* c = find_case(cases, name, sc.n);
      if (!c) {
        o << " not on this kernel |";
        continue;
      }
      std::snprintf(buf, sizeof(buf), " %+.2f [%.1f, %.1f] |", delta(*c, empty),
                    *std::min_element(c->ns.begin(), c->ns.end()),
                    *std::max_element(c->ns.begin(), c->ns.end()));
      o << buf;
    }
    o << "\n";
  }
  o << "\nBaselines (no store):\n\n| program | median ns/op | - empty, ns | verified insns |\n"
       "|---|---|---|---|\n";
  for (const auto& c : cases) {
    if (c.keys) continue;
    std::snprintf(buf, sizeof(buf), "| `%s` | %.2f | %+.2f | %u |\n", c.name.c_str(), median(c.ns),
                  delta(c, empty), c.insns);
    o << buf;
  }
  return o.str();
}

}  // namespace

int main(int argc, char** argv) {
  Options opt = parse(argc, argv);
  g_verbose = opt.verbose;
  if (!pin_cpu(opt.cpu)) return 2;
  xb::init_libbpf();
  g_writes = features::get(features::Cap::grow_meta).ok;
  if (!g_writes) {
    std::printf(
        "xdpkv_bench: %s; not measured here: set_overwrite, set_ow_fast, set_ow_strict, "
        "ins+del, del+ins (scripts/bench.sh measures them in a guest kernel)\n",
        features::refusal(features::Cap::grow_meta, "measuring inserts and overwrites").c_str());
  }

  std::vector<StoreCase> stores;
  Objects objs;
  if (!make_stores(opt, &stores) || !load_objects(stores, &objs)) return 3;
  std::vector<Case> cases = make_cases(stores, objs);

  const auto pkt = packet();
  if (!check_all(cases, pkt, "")) return 1;
  std::string why;
  if (!calibrate(cases[0], pkt, &why)) {
    std::fprintf(stderr, "CHECK FAILED empty (calibration): %s\n", why.c_str());
    return 1;
  }
  const Machine mc = machine();
  print_header(opt, mc);

  Timing t;
  if (!run_rounds(opt, pkt, &cases, &t)) return 1;
  if (!check_all(cases, pkt, " (after timing)")) return 1;

  print_handoff(cases);
  print_table(opt, cases, t);
  print_targets(stores, cases);
  if (!opt.json.empty() && !write_file(opt.json, to_json(opt, mc, cases, t).dump(2) + "\n"))
    return 3;
  if (!opt.markdown.empty() && !write_file(opt.markdown, to_markdown(opt, mc, stores, cases, t)))
    return 3;
  return 0;
}
