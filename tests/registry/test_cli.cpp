// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
// `xdpkv key ...` as a newcomer would use it: help, add, ls (--json), show,
// rm, export, import (with a conflict), exit codes 0/1/2.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <sstream>

#include "testdir.hpp"

#ifndef XDPKV_CLI
#error "XDPKV_CLI: path of the xdpkv binary"
#endif

namespace xdpkv::test {
namespace {

struct CliRun {
  int rc = -1;
  std::string out, err;
};

std::string slurp(const std::string& path) {
  std::ifstream f(path);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

class Cli {
 public:
  Cli() {
    char t[] = "/tmp/xdpkv-cli-XXXXXX";
    if (::mkdtemp(t)) tmp_ = t;
  }
  ~Cli() { remove_tree(tmp_); }
  const std::string& tmp() const { return tmp_; }

  // Runs `xdpkv ARGS` (a shell word list) with stdin from `input`.
  CliRun operator()(const std::string& args, const std::string& input = "") const {
    const std::string in = tmp_ + "/in", out = tmp_ + "/out", err = tmp_ + "/err";
    std::ofstream(in) << input;
    const std::string cmd = std::string("env -u XDPKV_BPFFS ") + XDPKV_CLI + " " + args + " <" +
                            in + " >" + out + " 2>" + err;
    int st = std::system(cmd.c_str());
    CliRun r;
    r.rc = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
    r.out = slurp(out);
    r.err = slurp(err);
    return r;
  }

 private:
  std::string tmp_;
};

bool has(const std::string& s, const std::string& part) {
  return s.find(part) != std::string::npos;
}

TEST(RegistryCli, NewcomerSession) {
  TestDir d;
  Cli x;
  const std::string b = "--bpffs " + d.path();

  CliRun r = x("--help");
  EXPECT_EQ(r.rc, 0);
  EXPECT_TRUE(has(r.out, "  key ")) << r.out;
  r = x("key --help");
  EXPECT_EQ(r.rc, 0);
  EXPECT_TRUE(has(r.out, "usage: xdpkv key [--bpffs DIR] SUBCOMMAND")) << r.out;
  EXPECT_EQ(x("help key").out, r.out);
  EXPECT_EQ(x("key add --help").out, r.out);

  // Nothing registered yet: ls says so, and is not an error.
  r = x("key ls " + b);
  EXPECT_EQ(r.rc, 0) << r.err;
  EXPECT_EQ(r.out, "no keys registered (no registry at " + d.pin() +
                       " yet; 'xdpkv key add NAME SIZE' creates it)\n");
  r = x("key ls --json " + b);
  EXPECT_EQ(r.rc, 0);
  EXPECT_EQ(r.out, "{\"registry\": \"" + d.pin() +
                       "\", \"exists\": false, \"version\": 2, \"free\": 59, \"keys\": []}\n");

  r = x("key add packet_id 8 " + b);
  EXPECT_EQ(r.rc, 0) << r.err;
  EXPECT_EQ(r.out, "registered 'packet_id' (8 bytes) as key id 0\n");
  r = x("key " + b + " add packet_id 8");  // options anywhere after 'key'
  EXPECT_EQ(r.rc, 0);
  EXPECT_EQ(r.out, "'packet_id' (8 bytes) is already key id 0\n");
  r = x("key add flow_hash 4 " + b);
  EXPECT_EQ(r.out, "registered 'flow_hash' (4 bytes) as key id 1\n");
  r = x("key add backend 2 --id 7 " + b);
  EXPECT_EQ(r.out, "registered 'backend' (2 bytes) as key id 7\n");

  r = x("key add packet_id 4 " + b);
  EXPECT_EQ(r.rc, 1);
  EXPECT_EQ(r.err, "xdpkv key: 'packet_id' is registered with size 8 (id 0), not 4\n");
  r = x("key add Packet_ID 8 " + b);
  EXPECT_EQ(r.rc, 2);
  EXPECT_EQ(r.err,
            "xdpkv key: name 'Packet_ID' has 'P' at 0: names are 1-31 characters of [a-z0-9_.-]\n"
            "Try 'xdpkv help key'.\n");
  EXPECT_EQ(x("key add x 3 " + b).rc, 2);
  EXPECT_EQ(x("key add x " + b).rc, 2);
  EXPECT_EQ(x("key frob " + b).rc, 2);
  EXPECT_EQ(x("key").rc, 2);
  EXPECT_EQ(x("key add hint 2 --id 61 " + b).rc, 1);

  r = x("key ls " + b);
  EXPECT_EQ(r.rc, 0);
  EXPECT_TRUE(has(r.out, " ID  NAME       SIZE  SCOPE   OWNER (UID)           REGISTERED\n"))
      << r.out;
  EXPECT_TRUE(has(r.out, "  0  packet_id     8  -       xdpkv (0)             20")) << r.out;
  EXPECT_TRUE(has(r.out, "  7  backend       2  ")) << r.out;
  EXPECT_TRUE(has(r.out,
                  "3 keys registered, 56 of 59 ids free (ids 59-63 are reserved: 59 for the origin "
                  "mark, 60-63 for hints); " +
                      d.pin()))
      << r.out;
  r = x("key ls --json " + b);
  EXPECT_EQ(r.rc, 0);
  EXPECT_TRUE(
      has(r.out,
          "{\"registry\": \"" + d.pin() +
              "\", \"exists\": true, \"version\": 2, \"free\": 56, "
              "\"keys\": [{\"id\": 0, \"name\": \"packet_id\", \"size\": 8, \"owner\": \"xdpkv\", "
              "\"owner_uid\": 0, \"registered_ns\": "))
      << r.out;

  r = x("key show flow_hash " + b);
  EXPECT_EQ(r.rc, 0);
  EXPECT_TRUE(has(
      r.out, "name        flow_hash\nid          1\nsize        4\nowner       xdpkv (uid 0)\n"))
      << r.out;
  r = x("key show 7 --json " + b);
  EXPECT_EQ(r.rc, 0);
  EXPECT_TRUE(has(r.out, "{\"id\": 7, \"name\": \"backend\", \"size\": 2,")) << r.out;
  r = x("key show nope " + b);
  EXPECT_EQ(r.rc, 1);
  EXPECT_EQ(r.err, "xdpkv key: no key named 'nope' in the registry at " + d.path() + "\n");

  // export, then import on a fresh "host" (another directory), and a conflict.
  const std::string file = x.tmp() + "/keys.json";
  r = x("key export " + file + " " + b);
  EXPECT_EQ(r.rc, 0);
  EXPECT_EQ(r.err, "exported 3 keys to " + file + "\n");
  r = x("key export - " + b);
  EXPECT_EQ(r.out, slurp(file));

  TestDir d2;
  const std::string b2 = "--bpffs " + d2.path();
  EXPECT_EQ(x("key add local 2 --id 1 " + b2).rc, 0);
  r = x("key import " + file + " " + b2);
  EXPECT_EQ(r.rc, 1);
  EXPECT_EQ(r.err,
            "xdpkv key: conflict: 'flow_hash' (id 1, size 4): id 1 is held by 'local' (size 2) on "
            "this host\n"
            "xdpkv key: import refused: 1 conflict, nothing changed in " +
                d2.pin() + "\n");
  EXPECT_EQ(x("key rm local " + b2).rc, 0);
  r = x("key import - " + b2, slurp(file));
  EXPECT_EQ(r.rc, 0) << r.err;
  EXPECT_EQ(r.out, "imported 3 keys from -: 3 registered, 0 already present\n");
  r = x("key export - " + b2);
  EXPECT_EQ(r.out, slurp(file)) << "the other host does not agree on the ids";
  r = x("key import " + x.tmp() + "/missing.json " + b2);
  EXPECT_EQ(r.rc, 1);

  r = x("key rm flow_hash " + b);
  EXPECT_EQ(r.rc, 0);
  EXPECT_EQ(r.out,
            "unregistered 'flow_hash' (key id 1, generation 1). Programs loaded with id 1 keep "
            "using it as 'flow_hash' and strict-mode programs now refuse to set it; new names "
            "get id 1 only after every other free id (reload those programs first)\n");
  r = x("key rm flow_hash " + b);
  EXPECT_EQ(r.rc, 1);
  EXPECT_EQ(r.err, "xdpkv key: no key named 'flow_hash' in the registry at " + d.path() + "\n");

  // XDPKV_BPFFS is the default directory.
  const std::string env_ls = [&] {
    const std::string cmd =
        "XDPKV_BPFFS=" + d.path() + " " + XDPKV_CLI + " key ls > " + x.tmp() + "/envout";
    return std::system(cmd.c_str()) == 0 ? slurp(x.tmp() + "/envout") : std::string();
  }();
  EXPECT_TRUE(has(env_ls, "2 keys registered")) << env_ls;

  r = x("key show packet_id " + b);
  EXPECT_TRUE(has(r.out, "generation  1 (times id 0 was given to a name)\n")) << r.out;
  EXPECT_TRUE(has(x("key show 0 --json " + b).out, ", \"generation\": 1}")) << r.out;

  // A directory that is not on bpffs.
  r = x("key add a 2 --bpffs " + x.tmp());
  EXPECT_EQ(r.rc, 1);
  EXPECT_TRUE(has(r.err, "is not on a bpf filesystem")) << r.err;
}

// Issue 20: a key's GRO scope through the CLI: add --scope, conflicts, ls,
// show, --json, export and import.
TEST(RegistryCli, GroScope) {
  TestDir d;
  Cli x;
  const std::string b = " --bpffs " + d.path();

  CliRun r = x("key add pid 8 --scope packet" + b);
  EXPECT_EQ(r.rc, 0) << r.err;
  EXPECT_EQ(r.out, "registered 'pid' (8 bytes, scope packet) as key id 0\n");
  r = x("key add pid 8 --scope packet" + b);
  EXPECT_EQ(r.rc, 0) << r.err;
  EXPECT_EQ(r.out, "'pid' (8 bytes, scope packet) is already key id 0\n");
  r = x("key add pid 8" + b);  // no scope: no claim, the key as it is
  EXPECT_EQ(r.rc, 0) << r.err;
  EXPECT_EQ(r.out, "'pid' (8 bytes, scope packet) is already key id 0\n");
  r = x("key add pid 8 --scope flow" + b);
  EXPECT_EQ(r.rc, 1);
  EXPECT_EQ(r.err, "xdpkv key: key 'pid' is registered with scope packet (id 0), not flow\n");

  for (const char* bad : {"bogus", "unset", "Flow", "''"}) {
    r = x("key add fh 4 --scope " + std::string(bad) + b);
    EXPECT_EQ(r.rc, 2) << bad;
    EXPECT_TRUE(has(r.err, "--scope")) << r.err;
  }
  r = x("key add fh 4 --scope bogus" + b);
  EXPECT_EQ(r.err,
            "xdpkv key: --scope must be flow or packet, not 'bogus'\nTry 'xdpkv help key'.\n");
  EXPECT_EQ(x("key add fh 4 --scope flow" + b).out,
            "registered 'fh' (4 bytes, scope flow) as key id 1\n");

  // An unset key stays unset, and says so.
  EXPECT_EQ(x("key add plain 2" + b).out, "registered 'plain' (2 bytes) as key id 2\n");
  r = x("key add plain 2 --scope flow" + b);
  EXPECT_EQ(r.rc, 0) << r.err;
  EXPECT_EQ(r.out,
            "'plain' (2 bytes) is already key id 2\n"
            "its scope stays unset: a registered key is never changed ('xdpkv key rm' it and add "
            "it again to record scope flow)\n");

  r = x("key ls" + b);
  EXPECT_EQ(r.rc, 0);
  EXPECT_TRUE(has(r.out, " ID  NAME   SIZE  SCOPE   OWNER (UID)           REGISTERED\n")) << r.out;
  EXPECT_TRUE(has(r.out, "  0  pid       8  packet  xdpkv (0)  ")) << r.out;
  EXPECT_TRUE(has(r.out, "  1  fh        4  flow    xdpkv (0)  ")) << r.out;
  EXPECT_TRUE(has(r.out, "  2  plain     2  -       xdpkv (0)  ")) << r.out;
  r = x("key ls --json" + b);
  EXPECT_TRUE(has(r.out, "\"name\": \"pid\", \"size\": 8, ")) << r.out;
  EXPECT_TRUE(has(r.out, "\"scope\": \"packet\", \"generation\": 1}")) << r.out;
  EXPECT_TRUE(has(r.out, "\"scope\": \"unset\", \"generation\": 1}")) << r.out;
  EXPECT_TRUE(has(x("key show pid" + b).out, "\nscope       packet\ngeneration  1")) << r.out;
  EXPECT_TRUE(has(x("key show 2" + b).out, "\nscope       -\ngeneration  1")) << r.out;
  EXPECT_TRUE(has(x("key show fh --json" + b).out, "\"scope\": \"flow\"")) << r.out;

  // Export carries the scope (none for an unset key); import restores it.
  r = x("key export -" + b);
  EXPECT_EQ(r.out,
            "{\n  \"xdpkv_registry\": 1,\n  \"keys\": [\n"
            "    {\"name\": \"pid\", \"id\": 0, \"size\": 8, \"scope\": \"packet\"},\n"
            "    {\"name\": \"fh\", \"id\": 1, \"size\": 4, \"scope\": \"flow\"},\n"
            "    {\"name\": \"plain\", \"id\": 2, \"size\": 2}\n  ]\n}\n");
  const std::string exported = r.out;
  TestDir d2;
  const std::string b2 = " --bpffs " + d2.path();
  r = x("key import -" + b2, exported);
  EXPECT_EQ(r.rc, 0) << r.err;
  EXPECT_EQ(x("key export -" + b2).out, exported);
  // The same assignment with the other scope is a conflict.
  TestDir d3;
  const std::string b3 = " --bpffs " + d3.path();
  EXPECT_EQ(x("key add pid 8 --id 0 --scope flow" + b3).rc, 0);
  r = x("key import -" + b3, exported);
  EXPECT_EQ(r.rc, 1);
  EXPECT_EQ(r.err,
            "xdpkv key: conflict: 'pid' (id 0, size 8, scope packet): this host has 'pid' at id 0 "
            "with size 8 and scope flow\n"
            "xdpkv key: import refused: 1 conflict, nothing changed in " +
                d3.pin() + "\n");
  // An unknown scope in a file: refused, named.
  r = x("key import -" + b3,
        "{\"xdpkv_registry\": 1, \"keys\": [{\"name\": \"a\", \"id\": 3, \"size\": 2, "
        "\"scope\": \"sometimes\"}]}");
  EXPECT_EQ(r.rc, 1);
  EXPECT_EQ(r.err,
            "xdpkv key: -: not an xdpkv key export: keys[0]: scope 'sometimes' is not flow, packet "
            "or unset\n");
}

// Runs a shell command line; its exit status and stderr.
CliRun shell(const std::string& cmd, const std::string& tmp) {
  const std::string err = tmp + "/sh-err";
  int st = std::system((cmd + " 2>" + err).c_str());
  CliRun r;
  r.rc = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
  r.err = slurp(err);
  return r;
}

// Issue 10 items 8-10 for `key`: strict numbers, empty values refused,
// writes checked, messages that name the problem.
TEST(RegistryCli, HostileCommandLines) {
  TestDir d;
  Cli x;
  const std::string b = "--bpffs " + d.path();
  ASSERT_EQ(x("key add packet_id 8 " + b).rc, 0);

  // Strict numbers and non-empty values (exit 2, nothing registered).
  for (const std::string& args : std::vector<std::string>{
           "key add a 8 --id ' 5' " + b, "key add a +8 " + b, "key add a ' 8' " + b,
           "key add a 8 --id 5x " + b, "key add a 8 --id -1 " + b, "key add a 8 --id=64 " + b,
           "key add a 8 --bpffs=", "key ls --bpffs=", "key ls --bpffs ''", "key ls --id 3 " + b,
           "key add a 8 --json " + b, "key show " + b, "key rm a b " + b, "key frob " + b, "key"}) {
    CliRun r = x(args);
    EXPECT_EQ(r.rc, 2) << args << ": " << r.err;
    EXPECT_TRUE(has(r.err, "Try 'xdpkv help key'.")) << args << ": " << r.err;
  }
  EXPECT_EQ(x("key show a " + b).rc, 1);  // nothing registered 'a' above
  EXPECT_TRUE(has(x("key ls " + b).out, "1 key registered"))
      << "a usage error registered something";
  // --bpffs after the subcommand and as --bpffs=DIR.
  EXPECT_EQ(x("key add a 8 --bpffs=" + d.path()).rc, 0);
  EXPECT_EQ(x("key list --bpffs=" + d.path()).rc, 0);

  // Writes are checked.
  CliRun r = shell("env -u XDPKV_BPFFS " XDPKV_CLI " key ls " + b + " >/dev/full", x.tmp());
  EXPECT_EQ(r.rc, 1) << r.err;
  EXPECT_EQ(r.err, "xdpkv key: cannot write to standard output: No space left on device\n");
  r = shell("env -u XDPKV_BPFFS " XDPKV_CLI " key export - " + b + " >/dev/full", x.tmp());
  EXPECT_EQ(r.rc, 1) << r.err;
  r = shell("env -u XDPKV_BPFFS " XDPKV_CLI " key ls --json " + b + " >/dev/full", x.tmp());
  EXPECT_EQ(r.rc, 1) << r.err;
  r = x("key export /dev/full " + b);
  EXPECT_EQ(r.rc, 1) << r.err;

  // Messages.
  r = x("key import /tmp " + b);
  EXPECT_EQ(r.rc, 1);
  EXPECT_EQ(r.err, "xdpkv key: cannot read /tmp: it is a directory, not an export file\n");
  r = x("key import - " + b,
        "{\"xdpkv_registry\": 1, \"keys\": [{\"name\": \"\\u61zz\", \"id\": 1, \"size\": 2}]}");
  EXPECT_EQ(r.rc, 1) << "exit 134 was an uncaught exception";
  EXPECT_TRUE(has(r.err, "xdpkv key: -: not an xdpkv key export: parse error at line 1, column "))
      << r.err;
  const std::string huge = std::string(512u << 10, 'q');
  r = x("key import - " + b, "{\"xdpkv_registry\": 1, \"keys\": [{\"name\": \"" + huge +
                                 "\", \"id\": 1, \"size\": 2}]}");
  EXPECT_EQ(r.rc, 1);
  EXPECT_LT(r.err.size(), 400u) << "a 512 KiB name echoed whole";
  EXPECT_TRUE(has(r.err, "...(524288 bytes)")) << r.err.substr(0, 400);
  // An input past 1 MiB is no export: refused before it is read to the end.
  r = x("key import - " + b, std::string(30u << 20, 'q'));
  EXPECT_EQ(r.rc, 1);
  EXPECT_EQ(r.err,
            "xdpkv key: standard input is longer than 1048576 bytes, more than a valid input can "
            "be\n");
  ASSERT_EQ(::mkdir((d.path() + "/dirpin").c_str(), 0755), 0);
  ASSERT_EQ(::mkdir((d.path() + "/dirpin/registry").c_str(), 0755), 0);
  r = x("key ls --bpffs " + d.path() + "/dirpin");
  EXPECT_EQ(r.rc, 1);
  EXPECT_EQ(r.err, "xdpkv key: " + d.path() +
                       "/dirpin/registry is a directory, not a pinned registry map; "
                       "left untouched (remove it, or use another --bpffs directory)\n");
  r = x("key add $(printf 'a\\033[2Jb') 8 " + b);
  EXPECT_EQ(r.rc, 2);
  EXPECT_EQ(r.err.find('\033'), std::string::npos) << "an ESC reached the terminal";
  EXPECT_TRUE(has(r.err, "name 'a\\x1b[2Jb' has '\\x1b' at 1")) << r.err;
}

// Issue 18: `key export FILE` in a sticky world-writable directory (/tmp) where
// another user planted a symbolic link or a file of theirs: refused, and what
// they point to untouched; a file of ours is replaced whole, mode 0600.
TEST(RegistryCli, ExportRefusesPlantedFiles) {
  TestDir d;
  Cli x;
  const std::string b = "--bpffs " + d.path();
  ASSERT_EQ(x("key add packet_id 8 " + b).rc, 0);
  const std::string t = x.tmp() + "/shared", victim = x.tmp() + "/victim";
  ASSERT_EQ(::chmod(x.tmp().c_str(), 0755), 0);  // nobody reaches t
  ASSERT_EQ(::mkdir(t.c_str(), 0755), 0);
  ASSERT_EQ(::chmod(t.c_str(), 01777), 0);
  std::ofstream(victim) << "precious\n";
  std::string out;
  ASSERT_EQ(as_nobody(
                [&](int) {
                  if (::symlink(victim.c_str(), (t + "/link.json").c_str())) return 1;
                  std::ofstream(t + "/planted.json") << "theirs\n";
                  return ::chmod((t + "/planted.json").c_str(), 0666) ? 2 : 0;
                },
                &out),
            0);

  CliRun r = x("key export " + t + "/link.json " + b);
  EXPECT_EQ(r.rc, 1);
  EXPECT_EQ(r.err, "xdpkv key: output file " + t + "/link.json is a symbolic link (to " + victim +
                       "): refusing to follow it\n");
  EXPECT_EQ(slurp(victim), "precious\n");

  r = x("key export " + t + "/planted.json " + b);
  EXPECT_EQ(r.rc, 1);
  EXPECT_EQ(r.err, "xdpkv key: output file " + t +
                       "/planted.json is owned by uid 65534 (mode 0666), not by this user (uid "
                       "0) or root: refusing to write to it\n");
  EXPECT_EQ(slurp(t + "/planted.json"), "theirs\n");

  // Ours: replaced whole with mode 0600, no temporary left behind.
  const std::string mine = t + "/mine.json";
  std::ofstream(mine) << "old\n";
  ASSERT_EQ(::chmod(mine.c_str(), 0644), 0);
  r = x("key export " + mine + " " + b);
  EXPECT_EQ(r.rc, 0) << r.err;
  EXPECT_TRUE(has(slurp(mine), "\"packet_id\"")) << slurp(mine);
  struct stat st {};
  ASSERT_EQ(::stat(mine.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0600u);
  EXPECT_EQ(shell("ls -A " + t + " | grep -c tmp", x.tmp()).rc, 1) << "a temporary file is left";
}

}  // namespace
}  // namespace xdpkv::test
