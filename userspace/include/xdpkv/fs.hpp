// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
// Trust in the filesystem, for every tool: directories and pins no other user
// can replace (a bpffs mount is world-writable and sticky by default), and
// output files a planted symbolic link or file cannot redirect.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include <xdpkv/bpf_util.hpp>
#include <xdpkv/result.hpp>

namespace xdpkv::fs {

// Refuses (EPERM) a directory that another user could change under us. From
// the bpffs mount point down to path (path not on bpffs: path alone), every
// existing directory must be owned by this user (geteuid()) or root, and not
// writable by group or others unless it has the sticky bit; a symbolic link
// on bpffs is refused (ELOOP), and one elsewhere unless owned by this user or
// root. The walk ends at the first component that does not exist or cannot
// be searched: creating or opening through it reports that. `what` names
// path in messages: "registry directory /sys/fs/bpf/xdpkv is owned by uid
// 1000 (mode 0755), not by this user (uid 0) or root: refusing to use it".
Status check_dir(const std::string& path, const std::string& what);

// Refuses a pin (or any file) at path that is a symbolic link (ELOOP) or is
// owned by a user other than this one or root (EPERM); an absent path
// passes. Call it right before bpf_obj_get(path), after check_dir of its
// directory: bpf_obj_get follows symbolic links (BPF_OBJ_GET takes no
// O_NOFOLLOW; path_fd needs Linux 6.5 and libbpf 1.2, Debian 12 has 1.1),
// and the directory check is what keeps the pin from being swapped between
// the two calls.
Status check_pin(const std::string& path, const std::string& what);

// An output file that appears whole or not at all. create() makes a new file
// of mode 0600 under a temporary name in path's directory (O_CREAT|O_EXCL|
// O_NOFOLLOW), and commit() renames it onto path; destroyed uncommitted, the
// temporary is removed and path is untouched. An existing path that is a
// symbolic link (ELOOP), a directory (EISDIR) or owned by another user than
// this one or root (EPERM) is refused. An existing FIFO or character device
// (/dev/null, a pipe to wireshark) is written in place instead. Open it only
// once everything that can fail before the first write has succeeded.
class OutputFile {
 public:
  static Result<OutputFile> create(const std::string& path);
  OutputFile(OutputFile&&) noexcept;
  OutputFile& operator=(OutputFile&&) noexcept;
  OutputFile(const OutputFile&) = delete;
  OutputFile& operator=(const OutputFile&) = delete;
  ~OutputFile();

  // The whole of data, or an error naming path.
  Status write(const void* data, size_t n);
  Status write(std::string_view s) { return write(s.data(), s.size()); }
  // Closes and renames into place; after it the object holds nothing.
  Status commit();
  // For a FILE* (fdopen(dup(fd()), "w")): flush and fclose it before commit().
  int fd() const { return fd_.get(); }
  const std::string& path() const { return path_; }

 private:
  OutputFile() = default;
  void discard() noexcept;

  std::string path_;
  std::string base_;  // path's last component, in dir_
  std::string tmp_;   // the temporary's name in dir_; empty: written in place
  bpf::UniqueFd dir_, fd_;
};

}  // namespace xdpkv::fs
