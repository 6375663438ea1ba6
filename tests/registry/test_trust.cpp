// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
// Issue 18, trust in the filesystem: a registry directory or pin that another
// user made, could replace, or that is a symbolic link is refused, with a
// message naming the path, its owner and mode. The hostile state is made in a
// private bpffs of the kernel's default mode (1777, as /sys/fs/bpf often is),
// by user nobody or with chown; the registry is then opened as root.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "testdir.hpp"

namespace xdpkv::test {
namespace {

// Each way to open dir (create, write, read-only) fails with code and message.
void refused_every_way(const std::string& dir, int code, const std::string& message) {
  for (int mode = 0; mode < 3; mode++) {
    RegistryOptions o = options(dir, mode == 0);
    o.readonly = mode == 2;
    auto r = Registry::open(o);
    ASSERT_FALSE(r.ok()) << "open mode " << mode << " accepted " << dir;
    EXPECT_EQ(r.error().code, code) << "open mode " << mode;
    EXPECT_EQ(r.error().message, message) << "open mode " << mode;
  }
}

bool exists(const std::string& path) {
  struct stat st;
  return ::lstat(path.c_str(), &st) == 0;
}

// Another user makes the registry directory first (or after deleting it, had
// root's been writable by them): root must not register into it.
TEST(RegistryTrust, DirectoryMadeByAnotherUser) {
  TestDir d;
  std::string out;
  ASSERT_EQ(as_nobody([&](int) { return ::mkdir(d.path().c_str(), 0755) == 0 ? 0 : 1; }, &out), 0);
  refused_every_way(d.path(), EPERM,
                    "registry directory " + d.path() +
                        " is owned by uid 65534 (mode 0755), not by this user (uid 0) or root: "
                        "refusing to use it");
  EXPECT_FALSE(exists(d.pin())) << "a registry was created in another user's directory";
}

// The premise of the check above: in the sticky mount root, another user
// cannot remove or rename root's registry directory or pin.
TEST(RegistryTrust, StickyMountProtectsRootsRegistry) {
  TestDir d;
  Registry reg = XDPKV_ASSERT_OK(Registry::open(options(d.path())));
  ASSERT_TRUE(reg.register_key("packet_id", 8).ok());
  std::string out;
  const std::string moved = d.mount_point() + "/moved";
  EXPECT_EQ(as_nobody(
                [&](int fd) {
                  if (::unlink(d.pin().c_str()) == 0) return 1;
                  if (::rename(d.path().c_str(), moved.c_str()) == 0) return 2;
                  say(fd, std::strerror(errno));
                  return 0;
                },
                &out),
            0)
      << out;
  Registry again = XDPKV_ASSERT_OK(Registry::open(options(d.path(), false)));
  EXPECT_TRUE(again.lookup("packet_id").ok());
}

TEST(RegistryTrust, DirectoryWritableByOthers) {
  TestDir d;
  ASSERT_EQ(::mkdir(d.path().c_str(), 0755), 0);
  ASSERT_EQ(::chmod(d.path().c_str(), 0777), 0);
  refused_every_way(d.path(), EPERM,
                    "registry directory " + d.path() +
                        " is writable by other users without the sticky bit (mode 0777, owner "
                        "uid 0): another user could replace what is in it; refusing to use it");
  EXPECT_FALSE(exists(d.pin()));
  // Sticky: others cannot remove or rename root's pin, so it is accepted.
  ASSERT_EQ(::chmod(d.path().c_str(), 01777), 0);
  XDPKV_ASSERT_OK(Registry::open(options(d.path())));
}

TEST(RegistryTrust, DirectoryIsSymlink) {
  TestDir d;
  const std::string real = d.mount_point() + "/real";
  ASSERT_EQ(::mkdir(real.c_str(), 0755), 0);
  ASSERT_EQ(::symlink(real.c_str(), d.path().c_str()), 0) << std::strerror(errno);
  refused_every_way(d.path(), ELOOP,
                    "registry directory " + d.path() + " is a symbolic link (to " + real +
                        ") on a bpf filesystem: refusing to follow it");
  EXPECT_FALSE(exists(real + "/registry"));
  remove_tree(real);
}

TEST(RegistryTrust, DirectoryAboveOwnedByAnotherUser) {
  TestDir d;
  const std::string other = d.mount_point() + "/other", dir = other + "/reg";
  ASSERT_EQ(::mkdir(other.c_str(), 0755), 0);
  ASSERT_EQ(::chown(other.c_str(), kNobody, kNobody), 0);
  const std::string message = "directory " + other + " (above registry directory " + dir +
                              ") is owned by uid 65534 (mode 0755), not by this user (uid 0) or "
                              "root: refusing to use it";
  // Not created: refused before anything is made in it.
  refused_every_way(dir, EPERM, message);
  EXPECT_FALSE(exists(dir)) << "created a directory inside another user's";
  ASSERT_EQ(::mkdir(dir.c_str(), 0755), 0);
  refused_every_way(dir, EPERM, message);
  EXPECT_FALSE(exists(dir + "/registry"));
  remove_tree(other);
}

// A pin replaced by a symbolic link to another registry: root's registration
// would land there.
TEST(RegistryTrust, PinIsSymlink) {
  TestDir d;
  Registry target = XDPKV_ASSERT_OK(Registry::open(options(d.path())));
  const std::string dir = d.mount_point() + "/b";
  ASSERT_EQ(::mkdir(dir.c_str(), 0755), 0);
  ASSERT_EQ(::symlink(d.pin().c_str(), (dir + "/registry").c_str()), 0) << std::strerror(errno);
  refused_every_way(dir, ELOOP,
                    "registry pin " + dir + "/registry is a symbolic link (to " + d.pin() +
                        "): refusing to follow it");
  EXPECT_TRUE(XDPKV_ASSERT_OK(target.list()).empty());
  remove_tree(dir);
}

TEST(RegistryTrust, PinOwnedByAnotherUser) {
  TestDir d;
  { Registry reg = XDPKV_ASSERT_OK(Registry::open(options(d.path()))); }
  ASSERT_EQ(::chown(d.pin().c_str(), kNobody, kNobody), 0) << std::strerror(errno);
  refused_every_way(d.path(), EPERM,
                    "registry pin " + d.pin() +
                        " is owned by uid 65534 (mode 0600), not by this user (uid 0) or root: "
                        "refusing to use it");
}

// What must keep working: root's registry under a root-owned sticky mount
// root (1777, the kernel's default) or a 0700 one, and another user reading
// root's registry.
TEST(RegistryTrust, RootOwnedSetupAccepted) {
  for (const char* mode : {static_cast<const char*>(nullptr), "0700"}) {
    TestDir d(mode);
    Registry reg = XDPKV_ASSERT_OK(Registry::open(options(d.path())));
    ASSERT_TRUE(reg.register_key("packet_id", 8).ok());
    XDPKV_ASSERT_OK(Registry::open(readonly_options(d.path())));
    if (mode) continue;
    ASSERT_EQ(::chmod(d.pin().c_str(), 0644), 0);
    std::string out;
    EXPECT_EQ(as_nobody(
                  [&](int fd) {
                    auto r = Registry::open(readonly_options(d.path()));
                    if (!r) say(fd, r.error().message);
                    return r ? 0 : 1;
                  },
                  &out),
              0)
        << out;
  }
}

}  // namespace
}  // namespace xdpkv::test
