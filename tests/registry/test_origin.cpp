// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
// Issue 18, class 2: the host's origin mark (docs/FORMAT.md "Reserved keys",
// key 59), pinned as DIR/origin. Made once, with a random nonzero value, by
// the first caller allowed to create; read by every later one, concurrent
// creators included; frozen, so nobody changes a mark in use; and a pin that
// is not an origin map, or a symbolic link, is refused by path.
#include <bpf/bpf.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <set>
#include <string>

#include <xdpkv/bpf_util.hpp>

#include "testdir.hpp"

namespace xdpkv::test {
namespace {

TEST(Origin, MadeOnceReadByEveryone) {
  TestDir d;
  XDPKV_ASSERT_OK(Registry::open(options(d.path())));  // the directory, no mark yet
  auto none = host_origin(readonly_options(d.path()));
  ASSERT_FALSE(none.ok());
  EXPECT_EQ(none.error().code, ENOENT);
  EXPECT_EQ(none.error().message, "no origin mark at " + d.path() +
                                      "/origin (no xdpkv writer has used this directory "
                                      "since boot)");
  const uint32_t mark = XDPKV_ASSERT_OK(host_origin(options(d.path())));
  EXPECT_NE(mark, 0u);
  EXPECT_EQ(XDPKV_ASSERT_OK(host_origin(options(d.path()))), mark);
  EXPECT_EQ(XDPKV_ASSERT_OK(host_origin(readonly_options(d.path()))), mark);
  struct stat st {};
  ASSERT_EQ(::stat((d.path() + "/origin").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0077, 0u) << "the mark must not be readable by other users";
  // Frozen: not even root changes it through the map.
  bpf::UniqueFd fd(bpf_obj_get((d.path() + "/origin").c_str()));
  ASSERT_TRUE(fd);
  const uint32_t key = 0, other = mark ^ 1;
  EXPECT_NE(bpf_map_update_elem(fd.get(), &key, &other, BPF_ANY), 0);
  EXPECT_EQ(XDPKV_ASSERT_OK(host_origin(options(d.path()))), mark);
  // Another directory, another mark (32 random bits: equal once in 2^32).
  TestDir e;
  EXPECT_NE(XDPKV_ASSERT_OK(host_origin(options(e.path()))), mark);
}

TEST(Origin, ConcurrentCreatorsAgree) {
  TestDir d;
  constexpr int kProcs = 8;
  int fds[kProcs];
  pid_t pids[kProcs];
  for (int i = 0; i < kProcs; i++) {
    int p[2];
    ASSERT_EQ(::pipe(p), 0);
    pids[i] = ::fork();
    if (pids[i] == 0) {
      auto m = host_origin(options(d.path()));
      const uint32_t v = m ? *m : 0;
      _exit(::write(p[1], &v, sizeof(v)) == sizeof(v) ? 0 : 1);
    }
    ::close(p[1]);
    fds[i] = p[0];
  }
  std::set<uint32_t> seen;
  for (int i = 0; i < kProcs; i++) {
    uint32_t v = 0;
    EXPECT_EQ(::read(fds[i], &v, sizeof(v)), static_cast<ssize_t>(sizeof(v)));
    ::close(fds[i]);
    int status = 0;
    ::waitpid(pids[i], &status, 0);
    seen.insert(v);
  }
  EXPECT_EQ(seen.size(), 1u);
  EXPECT_EQ(seen.count(0), 0u) << "a creator failed";
}

TEST(Origin, PinThatIsNoOriginMapIsRefused) {
  TestDir d;
  // The registry's map where the mark should be: the wrong shape.
  XDPKV_ASSERT_OK(Registry::open(options(d.path())));
  bpf::UniqueFd reg(bpf_obj_get(d.pin().c_str()));
  ASSERT_TRUE(reg);
  ASSERT_EQ(bpf_obj_pin(reg.get(), (d.path() + "/origin").c_str()), 0);
  auto r = host_origin(options(d.path()));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, EBADMSG);
  EXPECT_EQ(r.error().message, d.path() +
                                   "/origin is not an xdpkv origin map (a one-entry array of "
                                   "4-byte values); left untouched");
}

TEST(Origin, PinIsSymlink) {
  TestDir d;
  const uint32_t mark = XDPKV_ASSERT_OK(host_origin(options(d.path())));
  const std::string dir = d.mount_point() + "/b";
  ASSERT_EQ(::mkdir(dir.c_str(), 0755), 0);
  ASSERT_EQ(::symlink((d.path() + "/origin").c_str(), (dir + "/origin").c_str()), 0);
  auto r = host_origin(options(dir));
  ASSERT_FALSE(r.ok()) << "followed a planted link to mark " << mark;
  EXPECT_EQ(r.error().code, ELOOP);
  EXPECT_EQ(r.error().message, "origin pin " + dir + "/origin is a symbolic link (to " + d.path() +
                                   "/origin): refusing to follow it");
  remove_tree(dir);
}

}  // namespace
}  // namespace xdpkv::test
