// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
// The registry API: register / lookup / unregister / list, names, reserved
// ids, running out of ids, outliving the registrant, export and import.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <bpf/bpf.h>

#include <cstddef>
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
            "name '" + std::string(32, 'x') +
                "' has 32 characters: names are 1-31 characters of [a-z0-9_.-]");
  EXPECT_EQ(validate_key_name("").error().message,
            "empty key name: names are 1-31 characters of [a-z0-9_.-]");
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
  struct stat st {};
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
            "key id 61 is not registered (ids 59-63 are reserved: 59 for the origin mark, 60-63 "
            "for hints)");

  auto l = XDPKV_ASSERT_OK(reg.list());
  EXPECT_EQ(describe(l), "0:packet_id/8 1:flow_hash/4 2:ingress/2 ");

  // Unregister, then register again: a freed id is quarantined (reused only
  // after every other free id), the new name gets the next one round-robin.
  ASSERT_TRUE(reg.unregister("flow_hash").ok());
  EXPECT_EQ(reg.unregister("flow_hash").error().message,
            "no key named 'flow_hash' in the registry at " + d.path());
  EXPECT_EQ(reg.lookup("flow_hash").error().code, ENOENT);
  EXPECT_EQ(XDPKV_ASSERT_OK(reg.register_key("flow_hash", 8)), 3);
  EXPECT_EQ(XDPKV_ASSERT_OK(reg.lookup("flow_hash")).size, 8u);
  ASSERT_TRUE(reg.unregister("packet_id").ok());
  EXPECT_EQ(XDPKV_ASSERT_OK(reg.register_key("other", 2)), 4);
  EXPECT_EQ(XDPKV_ASSERT_OK(reg.register_key("packet_id", 4)), 5);
  EXPECT_EQ(describe(XDPKV_ASSERT_OK(reg.list())),
            "2:ingress/2 3:flow_hash/8 4:other/2 5:packet_id/4 ");

  // A second open (another handle, same pinned map) sees the same registry.
  Registry again = XDPKV_ASSERT_OK(Registry::open(options(d.path(), false)));
  EXPECT_FALSE(again.created());
  EXPECT_EQ(XDPKV_ASSERT_OK(again.register_key("flow_hash", 8)), 3);
  Registry ro = XDPKV_ASSERT_OK(Registry::open(readonly_options(d.path())));
  EXPECT_EQ(describe(XDPKV_ASSERT_OK(ro.list())), describe(XDPKV_ASSERT_OK(reg.list())));
  auto w = ro.register_key("x", 2);
  ASSERT_FALSE(w.ok());
  EXPECT_EQ(w.error().code, EPERM);

  auto raw = XDPKV_ASSERT_OK(reg.read_raw());
  EXPECT_EQ(raw.magic, XDPKV_REGISTRY_MAGIC);
  EXPECT_EQ(raw.version, 2u);
  EXPECT_EQ(raw.reserved, XDPKV_RESERVED_MASK);
  EXPECT_EQ(raw.used, 0x3cull);
  EXPECT_EQ(raw.next, 6u);
}

// Issue 10 item 5: `rm a; add c` must not give c a's id while other ids are
// free; every id counts the names it was given (its generation).
TEST(Registry, FreedIdsAreQuarantinedWithGenerations) {
  TestDir d;
  Registry reg = XDPKV_ASSERT_OK(Registry::open(options(d.path())));
  EXPECT_EQ(XDPKV_ASSERT_OK(reg.register_key("a", 8)), 0);
  EXPECT_EQ(XDPKV_ASSERT_OK(reg.register_key("b", 8)), 1);
  EXPECT_EQ(XDPKV_ASSERT_OK(reg.lookup("a")).generation, 1u);
  ASSERT_TRUE(reg.unregister("a").ok());
  EXPECT_EQ(XDPKV_ASSERT_OK(reg.register_key("c", 8)), 2) << "c got a's freed id";
  // Every other free id goes first; then id 0 comes round again, generation 2.
  for (int i = 3; i < XDPKV_ASSIGNABLE; i++)
    EXPECT_EQ(XDPKV_ASSERT_OK(reg.register_key("k" + std::to_string(i), 2)), i);
  EXPECT_EQ(XDPKV_ASSERT_OK(reg.register_key("d", 4)), 0);
  RegistryEntry e = XDPKV_ASSERT_OK(reg.lookup("d"));
  EXPECT_EQ(e.generation, 2u);
  EXPECT_EQ(XDPKV_ASSERT_OK(reg.lookup("b")).generation, 1u);
  // Idempotent registration does not count.
  EXPECT_EQ(XDPKV_ASSERT_OK(reg.register_key("d", 4)), 0);
  EXPECT_EQ(XDPKV_ASSERT_OK(reg.lookup(0)).generation, 2u);
  std::printf(
      "[quarantine] rm a (id 0); add c -> id 2; id 0 handed out again only after ids 3-58, "
      "as generation %u\n",
      e.generation);
}

TEST(Registry, FixedIdsAndReservedIds) {
  TestDir d;
  Registry reg = XDPKV_ASSERT_OK(Registry::open(options(d.path())));
  EXPECT_EQ(XDPKV_ASSERT_OK(reg.register_at("backend", 2, 7)), 7);
  EXPECT_EQ(XDPKV_ASSERT_OK(reg.register_at("backend", 2, 7)), 7);  // idempotent
  EXPECT_EQ(reg.register_at("backend", 2, 8).error().message,
            "'backend' is registered at id 7, not 8");
  EXPECT_EQ(reg.register_at("other", 2, 7).error().message,
            "key id 7 is held by 'backend', cannot give it to 'other'");
  EXPECT_EQ(reg.register_at("other", 2, 7).error().code, EBUSY);
  for (int id = XDPKV_RESERVED_FIRST; id <= XDPKV_MAX_KEY; id++) {
    auto r = reg.register_at("hint", 4, id);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().code, EINVAL);
    EXPECT_NE(r.error().message.find(" are reserved: "), std::string::npos) << r.error().message;
  }
  EXPECT_EQ(reg.register_at("x", 2, 64).error().code, EINVAL);
  // The free-id scan skips 7 (taken) and never reaches 59-63.
  EXPECT_EQ(XDPKV_ASSERT_OK(reg.register_key("first", 8)), 0);
}

TEST(Registry, RunsOutOfIdsWithEnospc) {
  TestDir d;
  Registry reg = XDPKV_ASSERT_OK(Registry::open(options(d.path())));
  for (int i = 0; i < XDPKV_ASSIGNABLE; i++) {
    int id = XDPKV_ASSERT_OK(reg.register_key("k" + std::to_string(i), 2 << (i % 3)));
    EXPECT_EQ(id, i);
  }
  auto r = reg.register_key("k59", 8);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ENOSPC);
  EXPECT_EQ(r.error().message,
            "all 59 assignable key ids are taken (ids 59-63 are reserved: 59 for the origin mark, "
            "60-63 for hints): cannot "
            "register 'k59'");
  // Idempotent registration still answers when full.
  EXPECT_EQ(XDPKV_ASSERT_OK(reg.register_key("k58", 2 << (58 % 3))), 58);
  auto l = XDPKV_ASSERT_OK(reg.list());
  ASSERT_EQ(l.size(), 59u);
  EXPECT_EQ(l.back().id, 58);
  // Freeing one id makes room for exactly one more name.
  ASSERT_TRUE(reg.unregister("k17").ok());
  EXPECT_EQ(XDPKV_ASSERT_OK(reg.register_key("k59", 8)), 17);
  EXPECT_EQ(reg.register_key("k60", 8).error().code, ENOSPC);
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
  ASSERT_TRUE(ra.register_at("ingress", 2, 58).ok());
  const std::string text = export_json(XDPKV_ASSERT_OK(ra.list()));
  EXPECT_EQ(text,
            "{\n  \"xdpkv_registry\": 1,\n  \"keys\": [\n"
            "    {\"name\": \"packet_id\", \"id\": 0, \"size\": 8},\n"
            "    {\"name\": \"flow_hash\", \"id\": 5, \"size\": 4},\n"
            "    {\"name\": \"ingress\", \"id\": 58, \"size\": 2}\n  ]\n}\n");
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
  EXPECT_EQ(describe(XDPKV_ASSERT_OK(rb.list())),
            "0:packet_id/8 1:local/2 5:flow_hash/4 58:ingress/2 ");
  // Importing again changes nothing.
  r = XDPKV_ASSERT_OK(import_assignments(rb, keys));
  EXPECT_EQ(r.added, 0);
  EXPECT_EQ(r.unchanged, 3);

  // Conflicts: refused as a whole, each one named.
  std::vector<KeyAssignment> bad = {{"packet_id", 0, 8},  // fine
                                    {"local", 2, 2},      // 'local' is at 1 here
                                    {"newkey", 5, 4},     // 5 is held by flow_hash
                                    {"flow_hash", 5, 8},  // id 5 given twice in the file
                                    {"hint", 62, 2},      // reserved
                                    {"fresh", 30, 2}};    // fine, but not applied
  r = XDPKV_ASSERT_OK(import_assignments(rb, bad));
  ASSERT_EQ(r.conflicts.size(), 4u);
  EXPECT_EQ(r.added, 0);
  EXPECT_EQ(r.conflicts[0], "'local' (id 2, size 2): this host has 'local' at id 1 with size 2");
  EXPECT_EQ(r.conflicts[1],
            "'newkey' (id 5, size 4): id 5 is held by 'flow_hash' (size 4) on this host");
  EXPECT_EQ(r.conflicts[2],
            "'flow_hash' (id 5, size 8): the file gives id 5 to both 'newkey' and 'flow_hash'");
  EXPECT_EQ(
      r.conflicts[3],
      "'hint' (id 62, size 2): ids 59-63 are reserved: 59 for the origin mark, 60-63 for hints");
  EXPECT_EQ(rb.lookup("fresh").error().code, ENOENT);
  std::vector<KeyAssignment> resized = {{"flow_hash", 5, 8}};
  r = XDPKV_ASSERT_OK(import_assignments(rb, resized));
  ASSERT_EQ(r.conflicts.size(), 1u);
  EXPECT_EQ(r.conflicts[0],
            "'flow_hash' (id 5, size 8): this host has 'flow_hash' at id 5 with size 4");

  // Malformed files.
  EXPECT_EQ(parse_export("{\"xdpkv_registry\": 1, \"keys\": [")
                .error()
                .message.rfind("not an xdpkv key export: parse error at line 1, column 32: ", 0),
            0u)
      << parse_export("{\"xdpkv_registry\": 1, \"keys\": [").error().message;
  EXPECT_EQ(parse_export("{\"xdpkv_registry\": 2, \"keys\": []}").error().code, EPROTO);
  EXPECT_EQ(parse_export("{\"keys\": []}").error().message,
            "not an xdpkv key export: no \"xdpkv_registry\": VERSION field");
  EXPECT_EQ(
      parse_export("{\"xdpkv_registry\": 1, \"keys\": [{\"name\": \"a\", \"id\": 1, \"size\": 3}]}")
          .error()
          .message,
      "not an xdpkv key export: keys[0]: size 3 is not 2, 4 or 8");
  EXPECT_TRUE(
      parse_export("{\"keys\": [], \"xdpkv_registry\": 1, \"comment\": [null, true]}").ok());
}

// Issue 20: the GRO scope of a key, recorded by the kernel program,
// checked there, idempotent, and listed.
TEST(Registry, GroScope) {
  TestDir d;
  Registry reg = XDPKV_ASSERT_OK(Registry::open(options(d.path())));
  EXPECT_EQ(XDPKV_ASSERT_OK(reg.register_key("pid", 8, KeyScope::packet)), 0);
  EXPECT_EQ(XDPKV_ASSERT_OK(reg.register_key("fh", 4, KeyScope::flow)), 1);
  EXPECT_EQ(XDPKV_ASSERT_OK(reg.register_key("plain", 2)), 2);
  EXPECT_EQ(XDPKV_ASSERT_OK(reg.register_at("backend", 4, 7, KeyScope::flow)), 7);
  EXPECT_EQ(XDPKV_ASSERT_OK(reg.lookup("pid")).scope, KeyScope::packet);
  EXPECT_EQ(XDPKV_ASSERT_OK(reg.lookup(1)).scope, KeyScope::flow);
  auto l = XDPKV_ASSERT_OK(reg.list());
  ASSERT_EQ(l.size(), 4u);
  EXPECT_EQ(l[2].scope, KeyScope::unset);
  EXPECT_EQ(l[3].scope, KeyScope::flow);
  const xdpkv_registry raw = XDPKV_ASSERT_OK(reg.read_raw());
  EXPECT_EQ(raw.keys[0].scope, XDPKV_SCOPE_PACKET);
  EXPECT_EQ(reinterpret_cast<const uint8_t*>(&raw.keys[1])[63], XDPKV_SCOPE_FLOW);
  EXPECT_FALSE(XDPKV_ASSERT_OK(reg.lookup(0)).owner.empty()) << "the comm is still there";

  // Idempotent for the same scope, and for no claim (unset).
  EXPECT_EQ(XDPKV_ASSERT_OK(reg.register_key("pid", 8, KeyScope::packet)), 0);
  EXPECT_EQ(XDPKV_ASSERT_OK(reg.register_key("pid", 8)), 0);
  EXPECT_EQ(XDPKV_ASSERT_OK(reg.register_at("backend", 4, 7, KeyScope::flow)), 7);
  // The other scope is a conflict, refused like another size.
  const uint64_t gen = XDPKV_ASSERT_OK(reg.read_raw()).generation;
  auto e = reg.register_key("pid", 8, KeyScope::flow);
  ASSERT_FALSE(e.ok());
  EXPECT_EQ(e.error().code, EEXIST);
  EXPECT_EQ(e.error().message, "key 'pid' is registered with scope packet (id 0), not flow");
  EXPECT_EQ(reg.register_at("backend", 4, 7, KeyScope::packet).error().message,
            "key 'backend' is registered with scope flow (id 7), not packet");
  // A size conflict is named first.
  EXPECT_EQ(reg.register_key("pid", 4, KeyScope::flow).error().message,
            "'pid' is registered with size 8 (id 0), not 4");
  // An unset key takes either scope and stays unset.
  EXPECT_EQ(XDPKV_ASSERT_OK(reg.register_key("plain", 2, KeyScope::flow)), 2);
  EXPECT_EQ(XDPKV_ASSERT_OK(reg.register_key("plain", 2, KeyScope::packet)), 2);
  EXPECT_EQ(XDPKV_ASSERT_OK(reg.lookup("plain")).scope, KeyScope::unset);
  EXPECT_EQ(XDPKV_ASSERT_OK(reg.read_raw()).generation, gen) << "nothing changed";

  // An unknown scope reaches the kernel program (the API passes it as given)
  // and is refused there: -EINVAL, nothing written.
  for (uint8_t bad : {3, 7, 255}) {
    auto r = reg.register_key("new", 2, static_cast<KeyScope>(bad));
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().code, EINVAL);
    EXPECT_EQ(r.error().message, "the registry refused 'new' (size 2, scope " +
                                     std::to_string(bad) +
                                     "): invalid name, size, scope or reserved id");
    EXPECT_EQ(reg.register_at("new", 2, 30, static_cast<KeyScope>(bad)).error().code, EINVAL);
    const std::vector<KeyAssignment> batch = {{"new", 30, 2, static_cast<KeyScope>(bad)}};
    auto s = reg.assign_all(batch, XDPKV_ASSERT_OK(reg.read_raw()).generation);
    ASSERT_FALSE(s.ok());
    EXPECT_EQ(s.error().code, EINVAL);
    EXPECT_EQ(s.error().message,
              "the registry refused the import (item 0: bad name, size, scope or id, or an id "
              "given twice); nothing written");
  }
  EXPECT_EQ(reg.lookup("new").error().code, ENOENT);
  EXPECT_EQ(XDPKV_ASSERT_OK(reg.read_raw()).generation, gen);
  // A registry entry with an unknown scope is corrupt.
  xdpkv_registry v = XDPKV_ASSERT_OK(reg.read_raw());
  v.keys[1].scope = 3;
  uint32_t key = 0;
  ASSERT_EQ(bpf_map_update_elem(reg.map_fd(), &key, &v, BPF_F_LOCK), 0);
  EXPECT_EQ(Registry::open(readonly_options(d.path())).error().message,
            d.pin() +
                " is corrupt: key id 1 'fh': scope 3 is not 0-2; left untouched (was the pin "
                "writable? docs/REGISTRY.md §8)");
  v.keys[1].scope = XDPKV_SCOPE_FLOW;
  ASSERT_EQ(bpf_map_update_elem(reg.map_fd(), &key, &v, BPF_F_LOCK), 0);

  // Loader helpers: a program's scope is registered, and checked on lookup.
  uint32_t slot = 99;
  const KeyBinding lb[] = {{"lb.flow", 4, &slot, KeyScope::flow}};
  ASSERT_TRUE(resolve_keys(reg, lb).ok());
  EXPECT_EQ(XDPKV_ASSERT_OK(reg.lookup("lb.flow")).scope, KeyScope::flow);
  const KeyBinding wrong[] = {{"pid", 8, &slot, KeyScope::flow}};
  EXPECT_EQ(resolve_keys(reg, wrong).error().message,
            "key 'pid' is registered with scope packet (id 0), not flow");
  Registry ro = XDPKV_ASSERT_OK(Registry::open(readonly_options(d.path())));
  EXPECT_EQ(resolve_keys(ro, wrong, false).error().message,
            "key 'pid' is registered with scope packet (id 0), not flow");
  const KeyBinding any[] = {{"pid", 8, &slot}};
  ASSERT_TRUE(resolve_keys(ro, any, false).ok());
  EXPECT_EQ(slot, 0u);

  EXPECT_EQ(scope_name(KeyScope::flow), "flow");
  EXPECT_EQ(scope_name(static_cast<KeyScope>(9)), "scope 9");
  EXPECT_EQ(XDPKV_ASSERT_OK(parse_scope("packet")), KeyScope::packet);
  EXPECT_EQ(parse_scope("Packet").error().message, "scope 'Packet' is not flow, packet or unset");
}

// A registry written by the tools before scopes (the same layout, version 2):
// their entries end in the comm's NUL, which reads as scope unset; such a
// registry opens, lists and registers as before.
TEST(Registry, EntriesOfOlderToolsReadAsUnset) {
  TestDir d;
  Registry reg = XDPKV_ASSERT_OK(Registry::open(options(d.path())));
  ASSERT_EQ(XDPKV_ASSERT_OK(reg.register_key("pid", 8, KeyScope::packet)), 0);
  // What an older registry.bpf.c wrote for 'old' at id 1, registered by a
  // task with a 15-character comm: 16 bytes of comm, the last one its NUL.
  xdpkv_registry v = XDPKV_ASSERT_OK(reg.read_raw());
  xdpkv_reg_entry& e = v.keys[1];
  std::memcpy(e.name, "old", 3);
  e.size = 4;
  e.owner_uid = 0;
  e.registered_ns = now_ns();
  const char comm[16] = "fifteen_chars_x";
  std::memcpy(reinterpret_cast<char*>(&e) + offsetof(xdpkv_reg_entry, owner), comm, 16);
  v.used |= 2;
  v.key_gen[1] = 1;
  v.generation++;
  v.next = 2;
  uint32_t key = 0;
  ASSERT_EQ(bpf_map_update_elem(reg.map_fd(), &key, &v, BPF_F_LOCK), 0);

  for (bool ro : {false, true}) {
    Registry r =
        XDPKV_ASSERT_OK(Registry::open(ro ? readonly_options(d.path()) : options(d.path(), false)));
    RegistryEntry old = XDPKV_ASSERT_OK(r.lookup("old"));
    EXPECT_EQ(old.scope, KeyScope::unset);
    EXPECT_EQ(old.owner, "fifteen_chars_x");
    EXPECT_EQ(old.size, 4u);
    EXPECT_EQ(describe(XDPKV_ASSERT_OK(r.list())), "0:pid/8 1:old/4 ");
  }
  // A new registrant with a scope gets the old key as it is.
  EXPECT_EQ(XDPKV_ASSERT_OK(reg.register_key("old", 4, KeyScope::flow)), 1);
  EXPECT_EQ(XDPKV_ASSERT_OK(reg.lookup("old")).scope, KeyScope::unset);
  EXPECT_EQ(XDPKV_ASSERT_OK(reg.register_key("next", 2, KeyScope::flow)), 2);
  EXPECT_EQ(XDPKV_ASSERT_OK(reg.read_raw()).version, 2u) << "same layout, same version";
}

TEST(Registry, ExportImportKeepsScope) {
  TestDir a, b;
  Registry ra = XDPKV_ASSERT_OK(Registry::open(options(a.path())));
  ASSERT_TRUE(ra.register_at("pid", 8, 0, KeyScope::packet).ok());
  ASSERT_TRUE(ra.register_at("fh", 4, 5, KeyScope::flow).ok());
  ASSERT_TRUE(ra.register_at("plain", 2, 9).ok());
  const std::string text = export_json(XDPKV_ASSERT_OK(ra.list()));
  EXPECT_EQ(text,
            "{\n  \"xdpkv_registry\": 1,\n  \"keys\": [\n"
            "    {\"name\": \"pid\", \"id\": 0, \"size\": 8, \"scope\": \"packet\"},\n"
            "    {\"name\": \"fh\", \"id\": 5, \"size\": 4, \"scope\": \"flow\"},\n"
            "    {\"name\": \"plain\", \"id\": 9, \"size\": 2}\n  ]\n}\n");
  auto keys = XDPKV_ASSERT_OK(parse_export(text));
  ASSERT_EQ(keys.size(), 3u);
  EXPECT_EQ(keys[0], (KeyAssignment{"pid", 0, 8, KeyScope::packet}));
  EXPECT_EQ(keys[2], (KeyAssignment{"plain", 9, 2, KeyScope::unset}));

  Registry rb = XDPKV_ASSERT_OK(Registry::open(options(b.path())));
  ImportResult r = XDPKV_ASSERT_OK(import_assignments(rb, keys));
  EXPECT_TRUE(r.conflicts.empty());
  EXPECT_EQ(r.added, 3);
  EXPECT_EQ(export_json(XDPKV_ASSERT_OK(rb.list())), text);
  r = XDPKV_ASSERT_OK(import_assignments(rb, keys));
  EXPECT_EQ(r.unchanged, 3);

  // An export of an older xdpkv (no "scope"): unset; it matches either scope.
  auto old = XDPKV_ASSERT_OK(parse_export(
      "{\"xdpkv_registry\": 1, \"keys\": [{\"name\": \"pid\", \"id\": 0, \"size\": 8}, "
      "{\"name\": \"older\", \"id\": 1, \"size\": 2}]}"));
  EXPECT_EQ(old[0].scope, KeyScope::unset);
  r = XDPKV_ASSERT_OK(import_assignments(rb, old));
  EXPECT_TRUE(r.conflicts.empty());
  EXPECT_EQ(r.added, 1);
  EXPECT_EQ(r.unchanged, 1);
  EXPECT_EQ(XDPKV_ASSERT_OK(rb.lookup("older")).scope, KeyScope::unset);
  EXPECT_EQ(XDPKV_ASSERT_OK(rb.lookup("pid")).scope, KeyScope::packet);

  // The other scope: a conflict, nothing applied.
  const std::vector<KeyAssignment> other = {{"fh", 5, 4, KeyScope::packet},
                                            {"fresh", 30, 2, KeyScope::flow}};
  r = XDPKV_ASSERT_OK(import_assignments(rb, other));
  ASSERT_EQ(r.conflicts.size(), 1u);
  EXPECT_EQ(r.conflicts[0],
            "'fh' (id 5, size 4, scope packet): this host has 'fh' at id 5 with size 4 and scope "
            "flow");
  EXPECT_EQ(rb.lookup("fresh").error().code, ENOENT);

  // Unknown scopes in a file: refused, named, with the names allowed.
  auto doc = [](const std::string& scope) {
    return "{\"xdpkv_registry\": 1, \"keys\": [{\"name\": \"a\", \"id\": 3, \"size\": 2, "
           "\"scope\": " +
           scope + "}]}";
  };
  EXPECT_EQ(parse_export(doc("\"sometimes\"")).error().message,
            "not an xdpkv key export: keys[0]: scope 'sometimes' is not flow, packet or unset");
  EXPECT_EQ(parse_export(doc("1")).error().message,
            "not an xdpkv key export: keys[0]: scope 1 is not a string");
  EXPECT_EQ(XDPKV_ASSERT_OK(parse_export(doc("\"unset\"")))[0].scope, KeyScope::unset);
}

// Issue 10 items 6 and 10: hostile export files are refused with a message,
// never a crash (a malformed \\u escape used to abort with exit 134), never
// read loosely (\\u61zz was 'a'; the first of duplicate members won).
TEST(RegistryJson, HostileImportFiles) {
  auto doc = [](const std::string& key) {
    return "{\"xdpkv_registry\": 1, \"keys\": [" + key + "]}";
  };
  auto err = [](const std::string& text) {
    auto r = parse_export(text);
    EXPECT_FALSE(r.ok()) << text.substr(0, 200);
    return r.ok() ? std::string() : r.error().message;
  };
  // Good escapes still work.
  auto ok = parse_export(doc("{\"name\": \"\\u0061\\u002eb\", \"id\": 3, \"size\": 2}"));
  ASSERT_TRUE(ok.ok()) << ok.error().message;
  EXPECT_EQ((*ok)[0], (KeyAssignment{"a.b", 3, 2}));

  std::string m = err(doc("{\"name\": \"\\u61zz\", \"id\": 3, \"size\": 2}"));
  EXPECT_NE(m.find("not an xdpkv key export: parse error at line 1, column "), std::string::npos)
      << m;
  EXPECT_NE(m.find("'\\u' must be followed by 4 hex digits"), std::string::npos) << m;
  for (const char* bad : {"\\u", "\\u1", "\\uD800", "\\x41", "\\u00G0", "\\uzzzz"})
    err(doc(std::string("{\"name\": \"a") + bad + "\", \"id\": 3, \"size\": 2}"));

  m = err(doc("{\"name\": \"a\", \"name\": \"b\", \"id\": 3, \"size\": 2}"));
  EXPECT_EQ(m, "not an xdpkv key export: member \"name\" appears twice in one object");
  m =
      err("{\"xdpkv_registry\": 1, \"keys\": [], \"keys\": [{\"name\": \"a\", \"id\": 3, \"size\": "
          "2}]}");
  EXPECT_EQ(m, "not an xdpkv key export: member \"keys\" appears twice in one object");
  // The same member name in two different objects is fine.
  EXPECT_TRUE(parse_export(doc("{\"name\": \"a\", \"id\": 3, \"size\": 2}, {\"name\": \"b\", "
                               "\"id\": 4, \"size\": 2}"))
                  .ok());

  m = err(doc("{\"name\": \"a\xff\", \"id\": 3, \"size\": 2}"));  // not UTF-8
  EXPECT_NE(m.find("UTF-8"), std::string::npos) << m;
  m = err(doc("{\"name\": \"a\", \"id\": 1e1, \"size\": 2}"));
  EXPECT_EQ(
      m,
      "not an xdpkv key export: keys[0] needs \"name\" (string), \"id\" and \"size\" (integers)");
  m = err(doc("{\"name\": \"a\", \"id\": 99999999999999999999999, \"size\": 2}"));
  m = err(doc("{\"name\": \"a\", \"id\": 18446744073709551615, \"size\": 2}"));
  EXPECT_EQ(m, "not an xdpkv key export: keys[0]: id 18446744073709551615 is not 0-63");
  m = err(doc("{\"name\": \"a\", \"id\": 1, \"size\": -8}"));
  EXPECT_EQ(m, "not an xdpkv key export: keys[0]: size -8 is not 2, 4 or 8");
  m = err(std::string(100000, '[') + std::string(100000, ']'));
  EXPECT_NE(m.find("nesting deeper than 16 levels"), std::string::npos) << m;

  // A 30 MB name is cut in the message, not echoed whole.
  const std::string huge(30u << 20, 'a');
  m = err(doc("{\"name\": \"" + huge + "\", \"id\": 3, \"size\": 2}"));
  EXPECT_LT(m.size(), 300u);
  EXPECT_NE(m.find("...(31457280 bytes)"), std::string::npos) << m;
  std::printf("[json] 30 MB name: %s\n", m.c_str());
  // Control bytes in names are escaped in messages.
  EXPECT_EQ(validate_key_name("\x1b[31m").error().message,
            "name '\\x1b[31m' has '\\x1b' at 0: names are 1-31 characters of [a-z0-9_.-]");
}

}  // namespace
}  // namespace xdpkv::test
