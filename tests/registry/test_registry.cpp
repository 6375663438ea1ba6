// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
// The registry API: register / lookup / unregister / list, names, reserved
// ids, running out of ids, outliving the registrant, export and import.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cstring>

#include "testdir.hpp"

namespace xdpkv::test {
namespace {

uint64_t now_ns() {
  timespec ts{};
  clock_gettime(CLOCK_REALTIME, &ts);
  return ts.tv_sec * 1000000000ull + ts.tv_nsec;
}

TEST(RegistryNames, Validation) {
  EXPECT_TRUE(validate_key_name("packet_id").ok());
  EXPECT_TRUE(validate_key_name("a").ok());
  EXPECT_TRUE(validate_key_name("lb.backend-id_2").ok());
  EXPECT_TRUE(validate_key_name(std::string(31, 'x')).ok());
  auto e = validate_key_name("Packet_ID");
  ASSERT_FALSE(e.ok());
  EXPECT_EQ(e.error().code, EINVAL);
  EXPECT_EQ(e.error().message,
            "name 'Packet_ID' has 'P' at 0: names are 1-31 characters of [a-z0-9_.-]");
  EXPECT_EQ(validate_key_name(std::string(32, 'x')).error().message,
            "name '" + std::string(32, 'x') + "' has 32 characters: names are 1-31 characters of [a-z0-9_.-]");
  EXPECT_EQ(validate_key_name("").error().message, "empty key name: names are 1-31 characters of [a-z0-9_.-]");
  EXPECT_EQ(validate_key_name("a b").error().message,
            "name 'a b' has ' ' at 1: names are 1-31 characters of [a-z0-9_.-]");
  EXPECT_EQ(validate_key_name(std::string("a\0b", 3)).error().message,
            "name 'a\\x00b' has '\\x00' at 1: names are 1-31 characters of [a-z0-9_.-]");
}

TEST(RegistryDir, Resolution) {
  EXPECT_EQ(resolve_registry_dir("/sys/fs/bpf/x/"), "/sys/fs/bpf/x");
  ::setenv("XDPKV_BPFFS", "/sys/fs/bpf/from-env", 1);
  EXPECT_EQ(resolve_registry_dir(""), "/sys/fs/bpf/from-env");
  EXPECT_EQ(resolve_registry_dir("/sys/fs/bpf/opt"), "/sys/fs/bpf/opt");
  ::unsetenv("XDPKV_BPFFS");
  EXPECT_EQ(resolve_registry_dir(""), "/sys/fs/bpf/xdpkv");
}

TEST(Registry, RegisterLookupListUnregister) {
  TestDir d;
  std::vector<std::string> notices;
  const uint64_t t0 = now_ns();
  Registry reg = XDPKV_ASSERT_OK(Registry::open(options(d.path(), true, &notices)));
  EXPECT_TRUE(reg.created());
  EXPECT_TRUE(notices.empty());
  EXPECT_EQ(reg.path(), d.pin());
  struct stat st{};
  ASSERT_EQ(::stat(d.pin().c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u) << "pinned registry mode";

  EXPECT_EQ(XDPKV_ASSERT_OK(reg.register_key("packet_id", 8)), 0);
  EXPECT_EQ(XDPKV_ASSERT_OK(reg.register_key("flow_hash", 4)), 1);
  EXPECT_EQ(XDPKV_ASSERT_OK(reg.register_key("ingress", 2)), 2);
  // Idempotent for the same name and size.
  EXPECT_EQ(XDPKV_ASSERT_OK(reg.register_key("packet_id", 8)), 0);
  EXPECT_EQ(XDPKV_ASSERT_OK(reg.register_key("flow_hash", 4)), 1);
  // The same name with another size.
  auto e = reg.register_key("packet_id", 4);
  ASSERT_FALSE(e.ok());
  EXPECT_EQ(e.error().code, EEXIST);
  EXPECT_EQ(e.error().message, "'packet_id' is registered with size 8 (id 0), not 4");
  // Bad input never reaches the kernel.
  EXPECT_EQ(reg.register_key("packet_id", 3).error().code, EINVAL);
  EXPECT_EQ(reg.register_key("Packet_ID", 8).error().message,
            "name 'Packet_ID' has 'P' at 0: names are 1-31 characters of [a-z0-9_.-]");

  RegistryEntry p = XDPKV_ASSERT_OK(reg.lookup("packet_id"));
  EXPECT_EQ(p.id, 0);
  EXPECT_EQ(p.size, 8u);
  EXPECT_EQ(p.owner_uid, ::getuid());
  EXPECT_FALSE(p.owner.empty());
  EXPECT_GE(p.registered_ns, t0);
  EXPECT_LE(p.registered_ns, now_ns());
  EXPECT_EQ(XDPKV_ASSERT_OK(reg.lookup(1)).name, "flow_hash");
  EXPECT_EQ(reg.lookup("nope").error().code, ENOENT);
  EXPECT_EQ(reg.lookup(61).error().message,
            "key id 61 is not registered (ids 60-63 are reserved for hints)");

  auto l = XDPKV_ASSERT_OK(reg.list());
  EXPECT_EQ(describe(l), "0:packet_id/8 1:flow_hash/4 2:ingress/2 ");

  // Unregister, then register again: the lowest free id, with a new size.
  ASSERT_TRUE(reg.unregister("flow_hash").ok());
  EXPECT_EQ(reg.unregister("flow_hash").error().message,
            "no key named 'flow_hash' in the registry at " + d.path());
  EXPECT_EQ(reg.lookup("flow_hash").error().code, ENOENT);
  EXPECT_EQ(XDPKV_ASSERT_OK(reg.register_key("flow_hash", 8)), 1);
  EXPECT_EQ(XDPKV_ASSERT_OK(reg.lookup("flow_hash")).size, 8u);
  ASSERT_TRUE(reg.unregister("packet_id").ok());
  EXPECT_EQ(XDPKV_ASSERT_OK(reg.register_key("other", 2)), 0);
  EXPECT_EQ(XDPKV_ASSERT_OK(reg.register_key("packet_id", 4)), 3);
  EXPECT_EQ(describe(XDPKV_ASSERT_OK(reg.list())), "0:other/2 1:flow_hash/8 2:ingress/2 3:packet_id/4 ");

  // A second open (another handle, same pinned map) sees the same registry.
  Registry again = XDPKV_ASSERT_OK(Registry::open(options(d.path(), false)));
  EXPECT_FALSE(again.created());
  EXPECT_EQ(XDPKV_ASSERT_OK(again.register_key("flow_hash", 8)), 1);
  Registry ro = XDPKV_ASSERT_OK(Registry::open(readonly_options(d.path())));
  EXPECT_EQ(describe(XDPKV_ASSERT_OK(ro.list())), describe(XDPKV_ASSERT_OK(reg.list())));
  auto w = ro.register_key("x", 2);
  ASSERT_FALSE(w.ok());
  EXPECT_EQ(w.error().code, EPERM);

  auto raw = XDPKV_ASSERT_OK(reg.read_raw());
  EXPECT_EQ(raw.magic, XDPKV_REGISTRY_MAGIC);
  EXPECT_EQ(raw.version, 1u);
  EXPECT_EQ(raw.reserved, XDPKV_RESERVED_MASK);
  EXPECT_EQ(raw.used, 0xfull);
}

TEST(Registry, FixedIdsAndReservedIds) {
  TestDir d;
  Registry reg = XDPKV_ASSERT_OK(Registry::open(options(d.path())));
  EXPECT_EQ(XDPKV_ASSERT_OK(reg.register_at("backend", 2, 7)), 7);
  EXPECT_EQ(XDPKV_ASSERT_OK(reg.register_at("backend", 2, 7)), 7);  // idempotent
  EXPECT_EQ(reg.register_at("backend", 2, 8).error().message, "'backend' is registered at id 7, not 8");
  EXPECT_EQ(reg.register_at("other", 2, 7).error().message,
            "key id 7 is held by 'backend', cannot give it to 'other'");
  EXPECT_EQ(reg.register_at("other", 2, 7).error().code, EBUSY);
  for (int id = XDPKV_KEY_HINT_FIRST; id <= XDPKV_KEY_HINT_LAST; id++) {
    auto r = reg.register_at("hint", 4, id);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().code, EINVAL);
    EXPECT_NE(r.error().message.find("reserved for hints"), std::string::npos) << r.error().message;
  }
  EXPECT_EQ(reg.register_at("x", 2, 64).error().code, EINVAL);
  // The free-id scan skips 7 (taken) and never reaches 60-63.
  EXPECT_EQ(XDPKV_ASSERT_OK(reg.register_key("first", 8)), 0);
}

TEST(Registry, RunsOutOfIdsWithEnospc) {
  TestDir d;
  Registry reg = XDPKV_ASSERT_OK(Registry::open(options(d.path())));
  for (int i = 0; i < XDPKV_ASSIGNABLE; i++) {
    int id = XDPKV_ASSERT_OK(reg.register_key("k" + std::to_string(i), 2 << (i % 3)));
    EXPECT_EQ(id, i);
  }
  auto r = reg.register_key("k60", 8);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ENOSPC);
  EXPECT_EQ(r.error().message,
            "all 60 assignable key ids are taken (ids 60-63 are reserved for hints): cannot register 'k60'");
  // Idempotent registration still answers when full.
  EXPECT_EQ(XDPKV_ASSERT_OK(reg.register_key("k59", 2 << (59 % 3))), 59);
  auto l = XDPKV_ASSERT_OK(reg.list());
  ASSERT_EQ(l.size(), 60u);
  EXPECT_EQ(l.back().id, 59);
  // Freeing one id makes room for exactly one more name.
  ASSERT_TRUE(reg.unregister("k17").ok());
  EXPECT_EQ(XDPKV_ASSERT_OK(reg.register_key("k60", 8)), 17);
  EXPECT_EQ(reg.register_key("k61", 8).error().code, ENOSPC);
}

// The registry lives in the pinned map: a registrant that exits leaves its keys.
TEST(Registry, OutlivesTheRegistrant) {
  TestDir d;
  pid_t pid = ::fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    auto reg = Registry::open(options(d.path()));
    int ok = reg && reg->register_key("packet_id", 8).value_or(-1) == 0 &&
             reg->register_key("flow_hash", 4).value_or(-1) == 1;
    ::_exit(ok ? 0 : 1);
  }
  int status = 0;
  ASSERT_EQ(::waitpid(pid, &status, 0), pid);
  ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << "registrant failed";
  Registry ro = XDPKV_ASSERT_OK(Registry::open(readonly_options(d.path())));
  auto l = XDPKV_ASSERT_OK(ro.list());
  EXPECT_EQ(describe(l), "0:packet_id/8 1:flow_hash/4 ");
  EXPECT_EQ(l[0].owner, "xdpkv_registry_"); /* the child's comm (the test binary, cut to 15) */
  Registry rw = XDPKV_ASSERT_OK(Registry::open(options(d.path(), false)));
  EXPECT_EQ(XDPKV_ASSERT_OK(rw.register_key("packet_id", 8)), 0);
  EXPECT_EQ(XDPKV_ASSERT_OK(rw.register_key("third", 2)), 2);
}

TEST(Registry, ExportImportRoundTrip) {
  TestDir a, b;
  Registry ra = XDPKV_ASSERT_OK(Registry::open(options(a.path())));
  ASSERT_TRUE(ra.register_at("packet_id", 8, 0).ok());
  ASSERT_TRUE(ra.register_at("flow_hash", 4, 5).ok());
  ASSERT_TRUE(ra.register_at("ingress", 2, 59).ok());
  const std::string text = export_json(XDPKV_ASSERT_OK(ra.list()));
  EXPECT_EQ(text,
            "{\n  \"xdpkv_registry\": 1,\n  \"keys\": [\n"
            "    {\"name\": \"packet_id\", \"id\": 0, \"size\": 8},\n"
            "    {\"name\": \"flow_hash\", \"id\": 5, \"size\": 4},\n"
            "    {\"name\": \"ingress\", \"id\": 59, \"size\": 2}\n  ]\n}\n");
  auto keys = XDPKV_ASSERT_OK(parse_export(text));
  ASSERT_EQ(keys.size(), 3u);
  EXPECT_EQ(keys[1], (KeyAssignment{"flow_hash", 5, 4}));

  // Another host already has one of them at the same id, and other keys elsewhere.
  Registry rb = XDPKV_ASSERT_OK(Registry::open(options(b.path())));
  ASSERT_TRUE(rb.register_at("flow_hash", 4, 5).ok());
  ASSERT_TRUE(rb.register_at("local", 2, 1).ok());
  ImportResult r = XDPKV_ASSERT_OK(import_assignments(rb, keys));
  EXPECT_TRUE(r.conflicts.empty());
  EXPECT_EQ(r.added, 2);
  EXPECT_EQ(r.unchanged, 1);
  EXPECT_EQ(describe(XDPKV_ASSERT_OK(rb.list())), "0:packet_id/8 1:local/2 5:flow_hash/4 59:ingress/2 ");
  // Importing again changes nothing.
  r = XDPKV_ASSERT_OK(import_assignments(rb, keys));
  EXPECT_EQ(r.added, 0);
  EXPECT_EQ(r.unchanged, 3);

  // Conflicts: refused as a whole, each one named.
  std::vector<KeyAssignment> bad = {{"packet_id", 0, 8},   // fine
                                    {"local", 2, 2},       // 'local' is at 1 here
                                    {"newkey", 5, 4},      // 5 is held by flow_hash
                                    {"flow_hash", 5, 8},   // id 5 given twice in the file
                                    {"hint", 62, 2},       // reserved
                                    {"fresh", 30, 2}};     // fine, but not applied
  r = XDPKV_ASSERT_OK(import_assignments(rb, bad));
  ASSERT_EQ(r.conflicts.size(), 4u);
  EXPECT_EQ(r.added, 0);
  EXPECT_EQ(r.conflicts[0], "'local' (id 2, size 2): this host has 'local' at id 1 with size 2");
  EXPECT_EQ(r.conflicts[1], "'newkey' (id 5, size 4): id 5 is held by 'flow_hash' (size 4) on this host");
  EXPECT_EQ(r.conflicts[2], "'flow_hash' (id 5, size 8): the file gives id 5 to both 'newkey' and 'flow_hash'");
  EXPECT_EQ(r.conflicts[3], "'hint' (id 62, size 2): id 62 is reserved for hints (ids 60-63)");
  EXPECT_EQ(rb.lookup("fresh").error().code, ENOENT);
  std::vector<KeyAssignment> resized = {{"flow_hash", 5, 8}};
  r = XDPKV_ASSERT_OK(import_assignments(rb, resized));
  ASSERT_EQ(r.conflicts.size(), 1u);
  EXPECT_EQ(r.conflicts[0], "'flow_hash' (id 5, size 8): this host has 'flow_hash' at id 5 with size 4");

  // Malformed files.
  EXPECT_EQ(parse_export("{\"xdpkv_registry\": 1, \"keys\": [").error().message,
            "not an xdpkv key export: unexpected end of input at line 1, column 32");
  EXPECT_EQ(parse_export("{\"xdpkv_registry\": 2, \"keys\": []}").error().code, EPROTO);
  EXPECT_EQ(parse_export("{\"keys\": []}").error().message,
            "not an xdpkv key export: no \"xdpkv_registry\": VERSION field");
  EXPECT_EQ(parse_export("{\"xdpkv_registry\": 1, \"keys\": [{\"name\": \"a\", \"id\": 1, \"size\": 3}]}")
                .error()
                .message,
            "not an xdpkv key export: keys[0]: size 3 is not 2, 4 or 8");
  EXPECT_TRUE(parse_export("{\"keys\": [], \"xdpkv_registry\": 1, \"comment\": [null, true]}").ok());
}

}  // namespace
}  // namespace xdpkv::test
