// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
// xdpkv::fs (fs.hpp): output files that appear whole or not at all and refuse
// a planted symbolic link or another user's file; check_dir and check_pin
// off bpffs. Root: the hostile files are given to uid 65534 with chown.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include <xdpkv/fs.hpp>

namespace xdpkv::fs {
namespace {

constexpr uid_t kOther = 65534;

std::string slurp(const std::string& path) {
  std::ifstream f(path);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

// A private directory, removed with what is in it.
class Tmp {
 public:
  Tmp() {
    char t[] = "/tmp/xdpkv-fs-XXXXXX";
    if (::mkdtemp(t)) dir_ = t;
  }
  ~Tmp() {
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }
  Tmp(const Tmp&) = delete;
  Tmp& operator=(const Tmp&) = delete;
  std::string operator/(const std::string& name) const { return dir_ + "/" + name; }
  const std::string& dir() const { return dir_; }
  // How many entries the directory holds.
  int entries() const {
    std::error_code ec;
    int n = 0;
    for (auto it = std::filesystem::directory_iterator(dir_, ec);
         !ec && it != std::filesystem::directory_iterator(); it.increment(ec))
      n++;
    return n;
  }

 private:
  std::string dir_;
};

mode_t mode_of(const std::string& path) {
  struct stat st {};
  return ::lstat(path.c_str(), &st) == 0 ? st.st_mode : 0;
}

TEST(FsOutputFile, AppearsOnCommitOnly) {
  Tmp t;
  const std::string p = t / "out";
  auto f = OutputFile::create(p);
  ASSERT_TRUE(f.ok()) << f.error().message;
  ASSERT_TRUE(f->write("hello\n").ok());
  EXPECT_EQ(mode_of(p), 0u) << "visible before commit";
  ASSERT_TRUE(f->commit().ok());
  EXPECT_EQ(slurp(p), "hello\n");
  EXPECT_EQ(mode_of(p) & 07777, 0600u);
  EXPECT_EQ(t.entries(), 1) << "a temporary file is left";
}

TEST(FsOutputFile, UncommittedLeavesTheOldFile) {
  Tmp t;
  const std::string p = t / "out";
  std::ofstream(p) << "old\n";
  {
    auto f = OutputFile::create(p);
    ASSERT_TRUE(f.ok()) << f.error().message;
    ASSERT_TRUE(f->write("new\n").ok());
  }
  EXPECT_EQ(slurp(p), "old\n");
  EXPECT_EQ(t.entries(), 1) << "the temporary file was not removed";
  // Committed, ours: replaced, with mode 0600 whatever the old mode.
  ASSERT_EQ(::chmod(p.c_str(), 0644), 0);
  auto f = OutputFile::create(p);
  ASSERT_TRUE(f.ok()) << f.error().message;
  ASSERT_TRUE(f->write("new\n").ok());
  ASSERT_TRUE(f->commit().ok());
  EXPECT_EQ(slurp(p), "new\n");
  EXPECT_EQ(mode_of(p) & 07777, 0600u);
}

TEST(FsOutputFile, RefusesSymlink) {
  Tmp t;
  const std::string victim = t / "victim", p = t / "out";
  std::ofstream(victim) << "precious\n";
  ASSERT_EQ(::symlink(victim.c_str(), p.c_str()), 0);
  auto f = OutputFile::create(p);
  ASSERT_FALSE(f.ok());
  EXPECT_EQ(f.error().code, ELOOP);
  EXPECT_EQ(f.error().message,
            "output file " + p + " is a symbolic link (to " + victim + "): refusing to follow it");
  EXPECT_EQ(slurp(victim), "precious\n");
  EXPECT_EQ(t.entries(), 2);
}

TEST(FsOutputFile, RefusesAnotherUsersFile) {
  Tmp t;
  const std::string p = t / "out";
  std::ofstream(p) << "theirs\n";
  ASSERT_EQ(::chmod(p.c_str(), 0666), 0);
  ASSERT_EQ(::chown(p.c_str(), kOther, kOther), 0);
  auto f = OutputFile::create(p);
  ASSERT_FALSE(f.ok());
  EXPECT_EQ(f.error().code, EPERM);
  EXPECT_EQ(f.error().message,
            "output file " + p + " is owned by uid 65534 (mode 0666), not by this user (uid " +
                std::to_string(::geteuid()) + ") or root: refusing to write to it");
  EXPECT_EQ(slurp(p), "theirs\n");
}

TEST(FsOutputFile, DirectoryAndDevice) {
  Tmp t;
  auto d = OutputFile::create(t.dir());
  ASSERT_FALSE(d.ok());
  EXPECT_EQ(d.error().message, "cannot write " + t.dir() + ": it is a directory");
  auto slash = OutputFile::create(t.dir() + "/");
  ASSERT_FALSE(slash.ok());
  EXPECT_EQ(slash.error().code, EISDIR);
  // A character device is written in place, never renamed over.
  auto n = OutputFile::create("/dev/null");
  ASSERT_TRUE(n.ok()) << n.error().message;
  ASSERT_TRUE(n->write("x").ok());
  ASSERT_TRUE(n->commit().ok());
  EXPECT_TRUE(S_ISCHR(mode_of("/dev/null")));
  auto full = OutputFile::create("/dev/full");
  ASSERT_TRUE(full.ok()) << full.error().message;
  auto w = full->write("x");
  ASSERT_FALSE(w.ok());
  EXPECT_EQ(w.error().message, "cannot write /dev/full: No space left on device");
}

// Off bpffs only the directory itself is judged.
TEST(FsTrust, CheckDirAndPin) {
  Tmp t;
  const std::string d = t / "d";
  ASSERT_EQ(::mkdir(d.c_str(), 0755), 0);
  EXPECT_TRUE(check_dir(d, "test directory").ok());
  ASSERT_EQ(::chmod(d.c_str(), 0777), 0);
  auto s = check_dir(d, "test directory");
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().message, "test directory " + d +
                                   " is writable by other users without the sticky bit (mode "
                                   "0777, owner uid 0): another user could replace what is in "
                                   "it; refusing to use it");
  ASSERT_EQ(::chmod(d.c_str(), 01777), 0);
  EXPECT_TRUE(check_dir(d, "test directory").ok());
  ASSERT_EQ(::chown(d.c_str(), kOther, kOther), 0);
  s = check_dir(d, "test directory");
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().code, EPERM);
  EXPECT_TRUE(check_dir(d + "/absent/below", "test directory").ok()) << "absent ends the walk";

  const std::string pin = t / "pin", link = t / "link";
  EXPECT_TRUE(check_pin(pin, "test pin").ok()) << "an absent pin passes";
  std::ofstream(pin) << "";
  EXPECT_TRUE(check_pin(pin, "test pin").ok());
  ASSERT_EQ(::symlink(pin.c_str(), link.c_str()), 0);
  s = check_pin(link, "test pin");
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().message,
            "test pin " + link + " is a symbolic link (to " + pin + "): refusing to follow it");
  ASSERT_EQ(::chown(pin.c_str(), kOther, kOther), 0);
  ASSERT_EQ(::chmod(pin.c_str(), 0600), 0);
  s = check_pin(pin, "test pin");
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().message, "test pin " + pin +
                                   " is owned by uid 65534 (mode 0600), not by this user (uid 0) "
                                   "or root: refusing to use it");
}

}  // namespace
}  // namespace xdpkv::fs
