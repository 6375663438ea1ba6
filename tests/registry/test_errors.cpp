// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
// What the registry must refuse, clearly, without crashing and without
// writing: a pinned map that is not ours, another version or magic, a
// directory that does not exist or is not on bpffs; mounting bpffs when it
// is missing; read-only access granted by the pin's file mode.
#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <grp.h>
#include <gtest/gtest.h>
#include <linux/magic.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <functional>

#include <xdpkv/bpf_util.hpp>

#include "testdir.hpp"

namespace xdpkv::test {
namespace {

using bpf::UniqueFd;

bool contains(const std::string& s, const std::string& part) {
  return s.find(part) != std::string::npos;
}

uint32_t map_id(int fd) {
  bpf_map_info info{};
  uint32_t len = sizeof(info);
  return bpf_obj_get_info_by_fd(fd, &info, &len) ? 0 : info.id;
}

std::vector<uint8_t> read_elem(int fd, size_t size, uint64_t flags = 0) {
  std::vector<uint8_t> v(size);
  uint32_t key = 0;
  EXPECT_EQ(bpf_map_lookup_elem_flags(fd, &key, v.data(), flags), 0) << std::strerror(errno);
  return v;
}

// Opens dir for create, for writing and read-only (in that order); each open
// must fail: their errors.
std::vector<Error> open_every_way(const std::string& dir) {
  std::vector<Error> out;
  for (int mode = 0; mode < 3; mode++) {
    RegistryOptions o = options(dir, mode == 0);
    o.readonly = mode == 2;
    auto r = Registry::open(o);
    EXPECT_FALSE(r.ok()) << "open mode " << mode;
    out.push_back(r.ok() ? Error{0, "opened"} : r.error());
  }
  return out;
}

// Writes value to key 0 of map fd and pins it at d.pin().
void pin_with_value(int fd, const void* value, const TestDir& d) {
  uint32_t key = 0;
  ASSERT_EQ(bpf_map_update_elem(fd, &key, value, 0), 0) << std::strerror(errno);
  ASSERT_EQ(bpf_obj_pin(fd, d.pin().c_str()), 0) << std::strerror(errno);
}

// A plain map pinned where the registry would be; opening must refuse it,
// name what differs and leave its content alone.
void expect_foreign_refused(const TestDir& d, bpf_map_type type, uint32_t value_size,
                            const std::string& want_message_part) {
  ASSERT_EQ(::mkdir(d.path().c_str(), 0755), 0);
  LIBBPF_OPTS(bpf_map_create_opts, mo);
  UniqueFd m(bpf_map_create(type, "foreign", 4, value_size, 1, &mo));
  ASSERT_TRUE(m) << std::strerror(errno);
  std::vector<uint8_t> pattern(value_size);
  for (size_t i = 0; i < pattern.size(); i++) pattern[i] = static_cast<uint8_t>(0xa5 ^ i);
  pin_with_value(m.get(), pattern.data(), d);

  for (const Error& e : open_every_way(d.path())) {
    EXPECT_EQ(e.code, EINVAL);
    EXPECT_TRUE(contains(e.message, d.pin() + " is not an xdpkv registry: " + want_message_part))
        << e.message;
    EXPECT_TRUE(contains(e.message, "left untouched")) << e.message;
  }
  std::printf("[foreign map] %s\n", open_every_way(d.path())[0].message.c_str());
  UniqueFd again(bpf_obj_get(d.pin().c_str()));
  ASSERT_TRUE(again);
  EXPECT_EQ(map_id(again.get()), map_id(m.get())) << "the pin was replaced";
  EXPECT_EQ(read_elem(again.get(), value_size), pattern) << "the foreign map was written";
}

TEST(RegistryErrors, ForeignMapWithOtherValueSize) {
  TestDir d;
  expect_foreign_refused(d, BPF_MAP_TYPE_ARRAY, 100, "value size 100, expected 4392");
}

TEST(RegistryErrors, ForeignHashMap) {
  TestDir d;
  expect_foreign_refused(d, BPF_MAP_TYPE_HASH, 100,
                         "type hash, expected array, value size 100, expected 4392");
}

TEST(RegistryErrors, ForeignMapOfTheSameShapeWithoutOurType) {
  TestDir d;
  expect_foreign_refused(d, BPF_MAP_TYPE_ARRAY, sizeof(xdpkv_registry),
                         "value type without BTF, expected 'struct xdpkv_registry'");
}

TEST(RegistryErrors, PinnedProgramInsteadOfMap) {
  TestDir d;
  ASSERT_EQ(::mkdir(d.path().c_str(), 0755), 0);
  const bpf_insn insns[] = {{0xb7, 0, 0, 0, 0}, {0x95, 0, 0, 0, 0}};  // r0 = 0; exit
  UniqueFd p(bpf_prog_load(BPF_PROG_TYPE_SOCKET_FILTER, "notamap", "GPL", insns, 2, nullptr));
  ASSERT_TRUE(p) << std::strerror(errno);
  ASSERT_EQ(bpf_obj_pin(p.get(), d.pin().c_str()), 0);
  auto r = Registry::open(options(d.path()));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(
      r.error().message,
      d.pin() + " is not an xdpkv registry: it is a pinned BPF prog, not a map; left untouched");
}

// A registry whose value says version 2 (or another magic): refused by every
// opener and by an already open handle; the value is never written.
TEST(RegistryErrors, OtherVersionOrMagic) {
  TestDir d;
  Registry reg = XDPKV_ASSERT_OK(Registry::open(options(d.path())));
  ASSERT_TRUE(reg.register_key("packet_id", 8).ok());
  xdpkv_registry v = XDPKV_ASSERT_OK(reg.read_raw());
  v.version = 3;
  uint32_t key = 0;
  ASSERT_EQ(bpf_map_update_elem(reg.map_fd(), &key, &v, BPF_F_LOCK), 0);
  const std::vector<uint8_t> before = read_elem(reg.map_fd(), sizeof(v), BPF_F_LOCK);

  for (bool ro : {false, true}) {
    RegistryOptions o = options(d.path(), !ro);
    o.readonly = ro;
    auto r = Registry::open(o);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().code, EPROTO);
    EXPECT_EQ(r.error().message, d.pin() +
                                     " is an xdpkv registry of version 3; this xdpkv reads "
                                     "version 2 only; left untouched");
  }
  // The handle opened before the change: the kernel program refuses too.
  auto w = reg.register_key("flow_hash", 4);
  ASSERT_FALSE(w.ok());
  EXPECT_EQ(w.error().code, EPROTO);
  EXPECT_EQ(reg.unregister("packet_id").error().code, EPROTO);
  EXPECT_EQ(read_elem(reg.map_fd(), sizeof(v), BPF_F_LOCK), before)
      << "a version-3 registry was written";

  v.version = XDPKV_REGISTRY_VERSION;
  v.magic = 0xdeadbeef;
  ASSERT_EQ(bpf_map_update_elem(reg.map_fd(), &key, &v, BPF_F_LOCK), 0);
  auto r = Registry::open(options(d.path()));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, EBADMSG);
  EXPECT_EQ(
      r.error().message, d.pin() + " is not an xdpkv registry: magic 0xdeadbeef, expected 0x" + [] {
        char b[16];
        std::snprintf(b, sizeof(b), "%08x", XDPKV_REGISTRY_MAGIC);
        return std::string(b);
      }() + "; left untouched");
  EXPECT_EQ(reg.register_key("x", 2).error().code, EPROTO);
  xdpkv_registry after = XDPKV_ASSERT_OK(reg.read_raw());
  EXPECT_EQ(after.used, 1u);
  EXPECT_EQ(after.magic, 0xdeadbeefu);
}

TEST(RegistryErrors, MissingDirectory) {
  TestDir d;
  for (bool ro : {false, true}) {
    RegistryOptions o = options(d.path(), false);
    o.readonly = ro;
    auto r = Registry::open(o);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().code, ENOENT);
    EXPECT_EQ(r.error().message,
              "registry directory " + d.path() +
                  " does not exist (nothing registered yet; 'xdpkv key add' creates it)");
  }
  struct stat st;
  EXPECT_NE(::stat(d.path().c_str(), &st), 0) << "a read created the directory";
  // The directory without a registry in it.
  ASSERT_EQ(::mkdir(d.path().c_str(), 0755), 0);
  auto r = Registry::open(options(d.path(), false));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().message,
            "no registry at " + d.pin() + " (nothing registered yet; 'xdpkv key add' creates it)");
  // create makes missing parents too.
  TestDir d2;
  Registry reg = XDPKV_ASSERT_OK(Registry::open(options(d2.path() + "/a/b")));
  EXPECT_EQ(reg.path(), d2.path() + "/a/b/registry");
}

TEST(RegistryErrors, DirectoryNotOnBpffs) {
  char tmpl[] = "/tmp/xdpkv-reg-XXXXXX";
  ASSERT_NE(::mkdtemp(tmpl), nullptr);
  const std::string dir = tmpl;
  struct statfs sf {};
  ASSERT_EQ(::statfs(dir.c_str(), &sf), 0);
  for (const std::string& target : {dir, dir + "/sub"}) {
    auto r = Registry::open(options(target));
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().code, EINVAL);
    EXPECT_TRUE(contains(r.error().message, "registry directory " + target +
                                                " is not on a bpf filesystem (" + dir + " is on "))
        << r.error().message;
    EXPECT_TRUE(contains(r.error().message, "mount -t bpf bpf DIR")) << r.error().message;
    if (target == dir) std::printf("[not bpffs] %s\n", r.error().message.c_str());
  }
  struct stat st;
  EXPECT_NE(::stat((dir + "/sub").c_str(), &st), 0);
  EXPECT_NE(::stat((dir + "/registry").c_str(), &st), 0);
  ::rmdir(dir.c_str());
}

// No bpffs on /sys/fs/bpf (in a private mount namespace): reads say so,
// create mounts one and says so.
TEST(RegistryErrors, MountsBpffsWhenMissing) {
  const std::string dir = "/sys/fs/bpf/xdpkv-test-mnt-" + std::to_string(::getpid());
  std::string out;
  int rc = in_child(
      [&](int fd) {
        if (::unshare(CLONE_NEWNS)) return 10;
        if (::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr)) return 11;
        struct statfs sf {};
        // Whatever state the host is in (not mounted, 0700, default): none here.
        while (::statfs("/sys/fs/bpf", &sf) == 0 && sf.f_type == BPF_FS_MAGIC)
          if (::umount2("/sys/fs/bpf", MNT_DETACH)) return 12;
        if (::statfs("/sys/fs/bpf", &sf) || sf.f_type == BPF_FS_MAGIC) return 13;
        auto ro = Registry::open(readonly_options(dir));
        if (ro) return 14;
        say(fd, "read: " + ro.error().message + "\n");
        std::vector<std::string> notices;
        auto reg = Registry::open(options(dir, true, &notices));
        if (!reg) {
          say(fd, "create: " + reg.error().message + "\n");
          return 15;
        }
        for (auto& n : notices) say(fd, "notice: " + n + "\n");
        if (::statfs("/sys/fs/bpf", &sf) || sf.f_type != BPF_FS_MAGIC) return 16;
        if (reg->register_key("packet_id", 8).value_or(-1) != 0) return 17;
        return 0;  // the namespace, its bpffs and the registry go away with us
      },
      &out);
  EXPECT_EQ(rc, 0) << out;
  EXPECT_EQ(out,
            "read: no bpf filesystem is mounted on /sys/fs/bpf (so no registry exists yet at " +
                dir + ")\nnotice: mounted a bpf filesystem on /sys/fs/bpf (none was mounted)\n");
  struct stat st;
  EXPECT_NE(::stat(dir.c_str(), &st), 0) << "the private mount leaked into the host";
}

// Registering needs CAP_BPF; reading needs only read access to the pin,
// which its file mode grants (0600 by default: root only), and search
// access to every directory above it. On a private bpffs of the kernel's
// default mode, whatever the host's /sys/fs/bpf is.
TEST(RegistryErrors, ReadOnlyAccessByFileMode) {
  TestDir d;
  Registry reg = XDPKV_ASSERT_OK(Registry::open(options(d.path())));
  ASSERT_TRUE(reg.register_key("packet_id", 8).ok());
  auto try_open = [&](bool readonly, std::string* msg) {
    return as_nobody(
        [&](int fd) {
          RegistryOptions o = options(d.path(), false);
          o.readonly = readonly;
          auto r = Registry::open(o);
          if (!r) {
            say(fd, r.error().message);
            return 1;
          }
          auto l = r->list();
          if (!l || l->size() != 1 || (*l)[0].name != "packet_id") return 21;
          auto w = r->register_key("other", 2);
          if (w) return 22;
          say(fd, w.error().message);
          return 0;
        },
        msg);
  };
  std::string msg;
  EXPECT_EQ(try_open(true, &msg), 1);
  EXPECT_TRUE(contains(msg, "cannot open " + d.pin() + " for reading")) << msg;
  EXPECT_TRUE(contains(msg, "Permission denied")) << msg;
  std::printf("[permissions] mode 0600, uid nobody, read: %s\n", msg.c_str());

  // Grant a group read access (here: nogroup) the way docs/REGISTRY.md says.
  ASSERT_EQ(::chown(d.pin().c_str(), 0, kNobody), 0);
  ASSERT_EQ(::chmod(d.pin().c_str(), 0640), 0);
  EXPECT_EQ(try_open(true, &msg), 0) << msg;
  EXPECT_EQ(msg, "the registry at " + d.pin() + " is open read-only");
  // Writing still needs write access to the pin and CAP_BPF.
  EXPECT_EQ(try_open(false, &msg), 1);
  EXPECT_TRUE(contains(msg, "cannot open " + d.pin() + " for writing")) << msg;
  std::printf("[permissions] mode 0640 group nogroup, uid nobody, write: %s\n", msg.c_str());
  ASSERT_EQ(::chmod(d.pin().c_str(), 0660), 0);
  EXPECT_EQ(try_open(false, &msg), 1);
  EXPECT_TRUE(contains(msg, "registering keys needs root or CAP_BPF")) << msg;
  std::printf("[permissions] mode 0660 group nogroup, uid nobody, write: %s\n",
              msg.substr(0, msg.find('\n')).c_str());
}

// Issue 9: a bpffs mounted mode=0700 (as systemd and xdpkv mount it; bpffs
// keeps its root's sticky bit: 1700): a reader's error names the directory
// it may not search, and its mode.
TEST(RegistryErrors, UnsearchableDirectoryIsNamed) {
  TestDir d("0700");
  Registry reg = XDPKV_ASSERT_OK(Registry::open(options(d.path())));
  ASSERT_TRUE(reg.register_key("packet_id", 8).ok());
  ASSERT_EQ(::chown(d.pin().c_str(), 0, kNobody), 0);
  ASSERT_EQ(::chmod(d.pin().c_str(), 0640), 0);
  std::string msg;
  int rc = as_nobody(
      [&](int fd) {
        auto r = Registry::open(readonly_options(d.path()));
        if (r) return 0;
        say(fd, r.error().message);
        return 1;
      },
      &msg);
  EXPECT_EQ(rc, 1);
  EXPECT_TRUE(
      contains(msg, "directory " + d.mount_point() +
                        " has mode 1700 (owner 0:0), which uid 65534 may not search; a reader "
                        "needs search (x) permission on every directory above the pin"))
      << msg;
  std::printf("[permissions] bpffs mode 0700, pin 0640 nogroup, uid nobody: %s\n", msg.c_str());
}

// Issue 10 item 10: a directory where the pin belongs is named as such.
TEST(RegistryErrors, DirectoryAtThePinPath) {
  TestDir d;
  ASSERT_EQ(::mkdir(d.path().c_str(), 0755), 0);
  ASSERT_EQ(::mkdir(d.pin().c_str(), 0755), 0);
  for (const Error& e : open_every_way(d.path())) {
    EXPECT_EQ(e.code, EISDIR);
    EXPECT_EQ(e.message, d.pin() +
                             " is a directory, not a pinned registry map; left untouched "
                             "(remove it, or use another --bpffs directory)");
  }
  struct stat st;
  ASSERT_EQ(::stat(d.pin().c_str(), &st), 0);
  EXPECT_TRUE(S_ISDIR(st.st_mode));
}

// Issue 10 item 4: a value rewritten behind the registry's back (write
// access to the pin) is refused by every opener, named, and left as it is;
// a handle opened before the change never hands out a reserved id.
TEST(RegistryErrors, TamperedValueRefused) {
  TestDir d;
  Registry reg = XDPKV_ASSERT_OK(Registry::open(options(d.path())));
  ASSERT_TRUE(reg.register_key("packet_id", 8).ok());
  ASSERT_TRUE(reg.register_key("flow_hash", 4).ok());
  const xdpkv_registry good = XDPKV_ASSERT_OK(reg.read_raw());
  uint32_t key = 0;
  struct Case {
    const char* what;
    std::function<void(xdpkv_registry&)> tamper;
    std::string message;  // after "PIN is corrupt: "
  };
  const std::string tail = "; left untouched (was the pin writable? docs/REGISTRY.md §8)";
  const std::vector<Case> cases = {
      {"reserved cleared", [](xdpkv_registry& v) { v.reserved = 0; },
       "reserved ids 0x0000000000000000, expected 0xf800000000000000"},
      {"reserved id used", [](xdpkv_registry& v) { v.used |= 1ull << 61; },
       "used bits 0x2000000000000003 include reserved ids"},
      {"cursor", [](xdpkv_registry& v) { v.next = 64; }, "free-id cursor 64 is not 0-63"},
      {"control bytes in a name",
       [](xdpkv_registry& v) { std::memcpy(v.keys[0].name, "\x1b[2J", 5); },
       "key id 0: name '\\x1b[2J' has '\\x1b' at 0: names are 1-31 characters of [a-z0-9_.-]"},
      {"bytes after the NUL", [](xdpkv_registry& v) { v.keys[1].name[20] = 'x'; },
       "key id 1: bytes after the name's NUL are not zero"},
      {"size", [](xdpkv_registry& v) { v.keys[1].size = 3; },
       "key id 1 'flow_hash': size 3 is not 2, 4 or 8"},
      {"used bit cleared", [](xdpkv_registry& v) { v.used &= ~2ull; },
       "key id 1 is free but its entry is not empty"},
      {"used bit set", [](xdpkv_registry& v) { v.used |= 4ull; },
       "key id 2: empty key name: names are 1-31 characters of [a-z0-9_.-]"},
      {"a name twice", [](xdpkv_registry& v) { std::memcpy(v.keys[1].name, v.keys[0].name, 32); },
       "'packet_id' is registered twice (ids 0 and 1)"},
  };
  for (const Case& c : cases) {
    xdpkv_registry v = good;
    c.tamper(v);
    ASSERT_EQ(bpf_map_update_elem(reg.map_fd(), &key, &v, BPF_F_LOCK), 0) << c.what;
    const std::vector<uint8_t> before = read_elem(reg.map_fd(), sizeof(v), BPF_F_LOCK);
    for (const Error& e : open_every_way(d.path())) {
      EXPECT_EQ(e.code, EBADMSG) << c.what;
      EXPECT_EQ(e.message, d.pin() + " is corrupt: " + c.message + tail) << c.what;
    }
    EXPECT_EQ(read_elem(reg.map_fd(), sizeof(v), BPF_F_LOCK), before) << c.what << ": written";
    std::printf("[tamper] %s: refused\n", c.what);
  }
  // The reserved mask cleared under a handle opened before, with ids 0-58
  // all taken: register refuses (before, it handed out 59, 60, 61, 63).
  ASSERT_EQ(bpf_map_update_elem(reg.map_fd(), &key, &good, BPF_F_LOCK), 0);
  for (int i = 0; i < XDPKV_ASSIGNABLE - 2; i++)
    ASSERT_TRUE(reg.register_key("k" + std::to_string(i), 2).ok());
  xdpkv_registry v = XDPKV_ASSERT_OK(reg.read_raw());
  ASSERT_EQ(v.used, (1ull << XDPKV_ASSIGNABLE) - 1);
  v.reserved = 0;
  ASSERT_EQ(bpf_map_update_elem(reg.map_fd(), &key, &v, BPF_F_LOCK), 0);
  for (int i = 0; i < 4; i++) {
    auto r = reg.register_key("h" + std::to_string(i), 2);
    ASSERT_FALSE(r.ok()) << "handed out id " << *r;
    EXPECT_EQ(r.error().code, EBADMSG);
  }
  EXPECT_EQ(XDPKV_ASSERT_OK(reg.read_raw()).used, (1ull << XDPKV_ASSIGNABLE) - 1);
  EXPECT_EQ(reg.register_at("h", 2, 61).error().code, EINVAL);
}

// Issue 10 item 5: the layout is an ABI; a version-1 registry (the shape
// without key_gen[]) is refused with its version named, never read as v2.
TEST(RegistryErrors, VersionOneRegistryRefused) {
  TestDir d;
  ASSERT_EQ(::mkdir(d.path().c_str(), 0755), 0);
  // A map of version 1's shape, with BTF (a spin lock at 0) as v1 made it.
  btf* b = btf__new_empty();
  ASSERT_NE(b, nullptr);
  const int u32 = btf__add_int(b, "unsigned int", 4, 0);
  const int u8 = btf__add_int(b, "unsigned char", 1, 0);
  const int lock = btf__add_struct(b, "bpf_spin_lock", 4);
  ASSERT_EQ(btf__add_field(b, "val", u32, 0, 0), 0);
  const int rest = btf__add_array(b, u32, u8, XDPKV_REGISTRY_V1_SIZE - 12);
  const int value = btf__add_struct(b, "xdpkv_registry", XDPKV_REGISTRY_V1_SIZE);
  ASSERT_EQ(btf__add_field(b, "lock", lock, 0, 0), 0);
  ASSERT_EQ(btf__add_field(b, "magic", u32, 32, 0), 0);
  ASSERT_EQ(btf__add_field(b, "version", u32, 64, 0), 0);
  ASSERT_EQ(btf__add_field(b, "rest", rest, 96, 0), 0);
  ASSERT_EQ(btf__load_into_kernel(b), 0) << std::strerror(errno);
  LIBBPF_OPTS(bpf_map_create_opts, mo);
  mo.btf_fd = static_cast<__u32>(btf__fd(b));
  mo.btf_key_type_id = static_cast<__u32>(u32);
  mo.btf_value_type_id = static_cast<__u32>(value);
  UniqueFd m(
      bpf_map_create(BPF_MAP_TYPE_ARRAY, "xdpkv_registry", 4, XDPKV_REGISTRY_V1_SIZE, 1, &mo));
  btf__free(b);
  ASSERT_TRUE(m) << std::strerror(errno);
  std::vector<uint8_t> v1(XDPKV_REGISTRY_V1_SIZE);
  const uint32_t magic = XDPKV_REGISTRY_MAGIC, version = 1;
  std::memcpy(v1.data() + 4, &magic, 4);
  std::memcpy(v1.data() + 8, &version, 4);
  pin_with_value(m.get(), v1.data(), d);
  for (const Error& e : open_every_way(d.path())) {
    EXPECT_EQ(e.code, EPROTO);
    EXPECT_EQ(e.message,
              d.pin() +
                  " is an xdpkv registry of version 1; this xdpkv reads version 2 only; left "
                  "untouched (migrate: 'xdpkv key export' with the xdpkv that made it, remove "
                  "the pin, 'xdpkv key import')");
  }
  EXPECT_EQ(read_elem(m.get(), XDPKV_REGISTRY_V1_SIZE), v1);
}

}  // namespace
}  // namespace xdpkv::test
