// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
// Internals of the registry library.
#pragma once

#include <functional>
#include <string>
#include <string_view>

#include <xdpkv/registry.hpp>

namespace xdpkv::detail {

using Notice = std::function<void(const std::string&)>;

std::string normalize_dir(std::string d);

// EEXIST: "key 'x' is registered with scope flow (id 3), not packet".
Error scope_conflict(std::string_view name, int id, KeyScope held, KeyScope want);

// When a directory above path may not be searched by this process (the
// usual cause of EACCES for a reader): "directory D has mode 0700 (owner
// 0:0), which uid U may not search; ..." naming the first such directory.
// Empty when every directory above path is searchable.
std::string unsearchable_dir(const std::string& path);

// Checks that dir is (or would be) on bpffs, mounts bpffs on /sys/fs/bpf when
// dir lies below it and none is mounted (create only), creates dir (create only).
// Refuses a dir that another user could change (fs::check_dir), before and
// after creating it.
Status prepare_dir(const std::string& dir, bool create, const Notice& notice);

}  // namespace xdpkv::detail
