// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
// xdpkv demo: its command line and key registry, and --offline: tag packets
// in XDP (BPF_PROG_TEST_RUN) and decode what they carry. The namespace demo
// is demo_netns.cpp.
#include <bpf/libbpf.h>
#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <set>
#include <string>
#include <vector>

#include <xdpkv/bpf_util.hpp>
#include <xdpkv/codec.hpp>
#include <xdpkv/features.hpp>
#include <xdpkv/frame.hpp>
#include <xdpkv/netns.hpp>

#include "args.hpp"
#include "commands.hpp"
#include "demo.hpp"
#include "xdpkv_tag.skel.h"

namespace xdpkv::cli {
namespace {

struct Flow {
  bool v6;
  uint8_t proto;  // 6 tcp, 17 udp
  uint16_t sport, dport;
};

// An Ethernet frame for flow f (addresses from the documentation ranges).
std::vector<uint8_t> make_frame(const Flow& f) {
  traffic::PacketSpec p;
  p.dst_mac = {0x02, 0, 0, 0, 0, 2};
  p.src_mac = {0x02, 0, 0, 0, 0, 1};
  (void)traffic::set_addresses(p, f.v6 ? "2001:db8::1" : "192.0.2.1",
                               f.v6 ? "2001:db8::2" : "192.0.2.2");
  p.l4_proto = f.proto;
  p.sport = f.sport;
  p.dport = f.dport;
  return traffic::build_packet(p);
}

std::string flow_str(const Flow& f) {
  char s[96];
  std::snprintf(s, sizeof(s), "%s %s:%u > %s:%u", f.proto == 6 ? "tcp" : "udp",
                f.v6 ? "[2001:db8::1]" : "192.0.2.1", f.sport, f.v6 ? "[2001:db8::2]" : "192.0.2.2",
                f.dport);
  return s;
}

// Removes name and, if it is a directory, everything in it, relative to
// parent: by file descriptor, so that it still works when the bpffs it lives
// on was unmounted meanwhile (a lazy umount leaves the mount alive for the
// descriptors that hold it; a path would no longer reach it, and the pins
// would stay on the filesystem for every other mount namespace to see).
int remove_tree_at(int parent, const char* name, int depth = 0) {
  if (!unlinkat(parent, name, 0)) return 0;
  if (errno != EISDIR && errno != EPERM) return errno == ENOENT ? 0 : errno;
  if (depth > 8) return ELOOP;  // the registry's layout is flat; bounded anyway
  int fd = openat(parent, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) return errno;
  DIR* d = fdopendir(fd);
  if (!d) {
    const int e = errno;
    close(fd);
    return e;
  }
  int err = 0;
  while (dirent* e = readdir(d)) {
    if (!std::strcmp(e->d_name, ".") || !std::strcmp(e->d_name, "..")) continue;
    if (int r = remove_tree_at(dirfd(d), e->d_name, depth + 1); r && !err) err = r;
  }
  closedir(d);
  if (unlinkat(parent, name, AT_REMOVEDIR) && errno != ENOENT && !err) err = errno;
  return err;
}

}  // namespace

DemoRegistry::~DemoRegistry() {
  if (own_.empty() || !parent_) return;
  // This run's own directory: every pin in it is the registry's.
  const std::string name = own_.substr(own_.rfind('/') + 1);
  if (int e = remove_tree_at(parent_.get(), name.c_str()))
    std::fprintf(stderr, "xdpkv demo: cannot remove %s: %s\n", own_.c_str(), std::strerror(e));
}

Status DemoRegistry::resolve(const DemoOptions& opt, std::span<const KeyBinding> keys) {
  RegistryOptions ro;
  ro.dir = opt.bpffs;
  if (ro.dir.empty()) ro.dir = own_ = "/sys/fs/bpf/xdpkv-demo-" + std::to_string(getpid());
  dir_ = ro.dir;
  ro.create = true;
  ro.notice = [](const std::string& s) { std::printf("%s\n", s.c_str()); };
  auto reg = Registry::open(ro);
  if (!reg) return reg.error();
  if (!own_.empty()) {
    // Held for the removal at exit (see remove_tree_at).
    const std::string parent = own_.substr(0, own_.rfind('/'));
    const int fd = open(parent.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) return bpf::errno_error(errno, "open " + parent);
    parent_ = bpf::UniqueFd(fd);
  }
  if (auto r = resolve_keys(*reg, keys); !r) return r.error();
  std::string line = "key ids from the registry in " + ro.dir +
                     (own_.empty() ? "" : " (this run's own, removed at exit)") + ":";
  for (const KeyBinding& k : keys)
    line += " " + std::string(k.name) + "=" + std::to_string(*k.slot);
  std::printf("%s\n", line.c_str());
  return {};
}

int demo_offline(const Command& self, const DemoOptions& opt) {
  const int packets = opt.packets;
  const bool quiet = opt.quiet;
  bpf::init_libbpf();
  auto skel = bpf::open_skeleton(xdpkv_tag__open, xdpkv_tag__destroy, "xdpkv_tag");
  if (!skel) return fail(self, skel.error().message);
  // Key ids by name from the registry, written into the program before load.
  uint32_t key_packet_id = 0, key_flow_hash = 0, key_ingress = 0;
  const KeyBinding kb[] = {{"packet_id", 8, &key_packet_id},
                           {"flow_hash", 4, &key_flow_hash},
                           {"ingress", 2, &key_ingress}};
  DemoRegistry reg;
  if (auto r = reg.resolve(opt, kb); !r) return fail(self, r.error().message);
  (*skel)->rodata->key_packet_id = key_packet_id;
  (*skel)->rodata->key_flow_hash = key_flow_hash;
  (*skel)->rodata->key_ingress = key_ingress;
  (*skel)->rodata->id_base = 0x00d0ULL << 48;
  if (auto l = bpf::load_skeleton(*skel, xdpkv_tag__load, "xdpkv_tag"); !l)
    return fail(self, l.error().message);
  int fd = bpf_program__fd((*skel)->progs.xdpkv_tag);
  std::printf(
      "xdpkv demo: XDP program xdpkv_tag loaded (verifier processed %u insns); "
      "tagging %d packets with BPF_PROG_TEST_RUN\n\n",
      bpf::verified_insns(fd), packets);

  const Flow flows[] = {{false, 17, 40000, 53},
                        {false, 6, 40001, 443},
                        {true, 17, 40002, 4789},
                        {true, 6, 40003, 80}};
  // Packet i % 4 == 1 already carries 8 bytes of a cooperating program's
  // metadata below an empty store: they must stay at data_meta. Packet
  // i % 8 == 7 carries 8 bytes of a program that ignores xdpkv: that area is
  // malformed for xdpkv (0 < M < 16), so every set is refused with -EBADMSG
  // and the packet passes untouched.
  const std::vector<uint8_t> other{0xca, 0xfe, 0xf0, 0x0d, 0x12, 0x34, 0x56, 0x78};
  std::vector<uint8_t> below(other);
  below.resize(other.size() + XDPKV_HDR_SIZE, 0);
  std::set<uint64_t> ids;
  std::set<std::pair<int, uint32_t>> flow_hashes;
  int bad = 0, refused = 0, kept = 0;
  for (int i = 0; i < packets && !net::interrupted(); i++) {
    const Flow& f = flows[i % 4];
    const bool lone = i % 8 == 7;
    const std::vector<uint8_t>& meta = lone ? other : (i % 4 == 1) ? below : std::vector<uint8_t>{};
    auto r = bpf::xdp_test_run(fd, meta, make_frame(f));
    if (!r) return fail(self, r.error().message);
    View v(r->meta);
    std::string problem, note;
    uint8_t b[8] = {};
    uint64_t id = 0;
    uint32_t hash = 0;
    if (lone) {
      // Expected outcome: refused, area byte-identical, packet passed.
      if (r->meta != meta || r->retval != 2) {
        problem = "foreign-only area was modified or the packet dropped";
      } else if ((*skel)->bss->last_err != -EBADMSG) {
        problem = "expected -EBADMSG from xdpkv_set";
      }
      note = "foreign-only area (8 B): xdpkv_set -> -EBADMSG, packet passed untouched";
      refused++;
    } else {
      if (v.validate()) problem = v.problem();
      if (problem.empty() && v.get(key_packet_id, b) == 8) {
        std::memcpy(&id, b, 8);
      } else if (problem.empty()) {
        problem = "no packet_id";
      }
      if (problem.empty() && v.get(key_flow_hash, b) == 4) {
        std::memcpy(&hash, b, 4);
      } else if (problem.empty()) {
        problem = "no flow_hash";
      }
      if (!meta.empty()) {
        bool same = v.foreign().size() == other.size() &&
                    std::equal(other.begin(), other.end(), v.foreign().begin());
        if (!same && problem.empty()) problem = "foreign metadata changed";
        if (same) kept++;
        note = "8 B foreign kept at data_meta";
      }
      if (problem.empty() && !ids.insert(id).second) problem = "duplicate packet_id";
      if (problem.empty()) flow_hashes.insert({i % 4, hash});
    }
    if (!problem.empty()) bad++;
    if (!quiet || !problem.empty()) {
      if (lone) {
        std::printf("pkt %-3d %-44s meta %3zu B  %s%s%s\n", i, flow_str(f).c_str(), v.area_size(),
                    note.c_str(), problem.empty() ? "" : "  ERROR: ", problem.c_str());
      } else {
        std::printf("pkt %-3d %-44s meta %3zu B  packet_id=0x%016llx flow_hash=0x%08x%s%s%s%s\n", i,
                    flow_str(f).c_str(), v.area_size(), (unsigned long long)id, hash,
                    note.empty() ? "" : "  ", note.c_str(),
                    problem.empty() ? "" : "  ERROR: ", problem.c_str());
      }
      if (i < 2 && !quiet) std::printf("        decode: %s\n", to_json(v).c_str());
    }
  }
  // One hash per flow: as many (flow, hash) pairs as flows seen.
  std::set<int> flows_seen;
  for (auto& [fl, h] : flow_hashes) flows_seen.insert(fl);
  const bool hashes_stable = flow_hashes.size() == flows_seen.size();
  const uint64_t tagged = (*skel)->bss->tagged, failed = (*skel)->bss->failed;
  std::printf(
      "\nsummary: %d packets: %zu tagged with unique packet ids, %d refused as expected "
      "(foreign-only metadata), %d kept foreign bytes; flow hash stable per flow: %s; "
      "program counters tagged=%llu failed=%llu; %d errors\n",
      packets, ids.size(), refused, kept, hashes_stable ? "yes" : "NO", (unsigned long long)tagged,
      (unsigned long long)failed, bad);
  if (net::interrupted()) {
    std::printf("interrupted\n");
    return kExitFail;
  }
  const bool ok = !bad && hashes_stable && tagged == ids.size() && failed == (uint64_t)refused;
  return ok ? kExitOk : kExitFail;
}

int cmd_demo(int argc, char** argv) {
  const Command& self = *find_command("demo");
  auto app = make_app(self);
  DemoOptions opt;
  bool offline = false;
  std::string gen = "dpdk";
  auto* off = app->add_flag("--offline", offline, "BPF_PROG_TEST_RUN only, no namespaces");
  add_uint(*app, "--packets", opt.packets, 1, 100000, "packets to send");
  add_uint(*app, "--show", opt.show, 1, 100000, "packets to print at every consumer")
      ->excludes(off);
  app->add_flag("--quiet", opt.quiet, "print the summary only");
  app->add_option("--gen", gen, "traffic generator")
      ->check(one_of({"dpdk", "socket"}))
      ->type_name("dpdk|socket")
      ->excludes(off);
  add_bpffs_option(*app, opt.bpffs);
  if (auto rc = parse(*app, self, argc, argv)) return *rc;
  opt.gen = gen == "socket" ? Gen::socket : Gen::dpdk;
  // Asked before anything is created: every path of the demo creates stores.
  if (!features::get(features::Cap::grow_meta).ok) {
    return fail(self, features::refusal(features::Cap::grow_meta, "the demo"));
  }
  // Ctrl-C only sets a flag, so every namespace, program and pin is removed.
  net::catch_interrupts();
  return offline ? demo_offline(self, opt) : demo_netns(self, opt);
}

}  // namespace xdpkv::cli
