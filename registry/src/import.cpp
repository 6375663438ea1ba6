// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
// Import of fixed key assignments, all or nothing: every assignment is checked
// against one copy of the registry, and what is new is applied by one run of
// the allocation program under the registry's lock, only if the registry is
// still at the generation of that copy (else check again and retry).
#include <cerrno>
#include <cstring>
#include <map>
#include <string>
#include <vector>

#include <xdpkv/registry.hpp>

#include "internal.hpp"

namespace xdpkv {
namespace {

constexpr int kAttempts = 100;  // a registrant would have to win the lock 100 times running

std::string who(const KeyAssignment& k) {
  return quote_name(k.name) + " (id " + std::to_string(k.id) + ", size " + std::to_string(k.size) +
         (k.scope == KeyScope::unset ? "" : ", scope " + scope_name(k.scope)) + ")";
}

// k against the key of its name held at id on this host: empty if it is the
// same assignment (an unset scope on either side matches; an unset key stays
// unset, as register leaves it), else why not.
std::string against_held(const xdpkv_reg_entry& e, int id, const KeyAssignment& k) {
  if (id == k.id && e.size == k.size &&
      xdpkv_scope_compatible(e.scope, static_cast<uint32_t>(k.scope)))
    return {};
  const auto held = static_cast<KeyScope>(e.scope);
  return who(k) + ": this host has " + quote_name(k.name) + " at id " + std::to_string(id) +
         " with size " + std::to_string(e.size) +
         (held == KeyScope::unset ? "" : " and scope " + scope_name(held));
}

// Checks every assignment against the registry value r; fills res.conflicts,
// res.unchanged and the assignments still to make.
void check(const xdpkv_registry& r, std::span<const KeyAssignment> keys, ImportResult& res,
           std::vector<KeyAssignment>& todo) {
  std::map<std::string, int> by_name;
  for (int id = 0; id < XDPKV_NKEYS; id++) {
    if ((r.used >> id) & 1)
      by_name[std::string(r.keys[id].name, strnlen(r.keys[id].name, XDPKV_NAME_MAX))] = id;
  }
  auto name_at = [&](int id) {
    return std::string(r.keys[id].name, strnlen(r.keys[id].name, XDPKV_NAME_MAX));
  };
  std::map<std::string, int> file_names;
  std::map<int, std::string> file_ids;
  for (const KeyAssignment& k : keys) {
    if (auto s = validate_key_name(k.name); !s) {
      res.conflicts.push_back(s.error().message);
      continue;
    }
    if (k.id < 0 || k.id > XDPKV_MAX_KEY || !xdpkv_value_size_ok(k.size)) {
      res.conflicts.push_back(who(k) + ": id must be 0-63 and size " XDPKV_VALUE_SIZES);
      continue;
    }
    if (auto it = file_names.find(k.name); it != file_names.end()) {
      res.conflicts.push_back(who(k) + ": the file lists " + quote_name(k.name) + " twice (ids " +
                              std::to_string(it->second) + " and " + std::to_string(k.id) + ")");
      continue;
    }
    if (auto it = file_ids.find(k.id); it != file_ids.end()) {
      res.conflicts.push_back(who(k) + ": the file gives id " + std::to_string(k.id) + " to both " +
                              quote_name(it->second) + " and " + quote_name(k.name));
      continue;
    }
    file_names[k.name] = k.id;
    file_ids[k.id] = k.name;
    if ((XDPKV_RESERVED_MASK >> k.id) & 1) {
      res.conflicts.push_back(who(k) + ": " + reserved_ids());
      continue;
    }
    if (auto it = by_name.find(k.name); it != by_name.end()) {
      if (std::string c = against_held(r.keys[it->second], it->second, k); !c.empty()) {
        res.conflicts.push_back(std::move(c));
      } else {
        res.unchanged++;
      }
      continue;
    }
    if ((r.used >> k.id) & 1) {
      res.conflicts.push_back(who(k) + ": id " + std::to_string(k.id) + " is held by " +
                              quote_name(name_at(k.id)) + " (size " +
                              std::to_string(r.keys[k.id].size) + ") on this host");
      continue;
    }
    todo.push_back(k);
  }
}

}  // namespace

Result<ImportResult> import_assignments(Registry& reg, std::span<const KeyAssignment> keys) {
  for (int attempt = 0; attempt < kAttempts; attempt++) {
    auto raw = reg.read_raw();
    if (!raw) return raw.error();
    ImportResult res;
    std::vector<KeyAssignment> todo;
    check(*raw, keys, res, todo);
    if (!res.conflicts.empty()) {
      res.unchanged = 0;
      return res;  // nothing applied
    }
    if (todo.empty()) return res;
    auto s = reg.assign_all(todo, raw->generation);
    if (s) {
      res.added = static_cast<int>(todo.size());
      return res;
    }
    if (s.error().code != EAGAIN) return s.error();
  }
  return make_error(EAGAIN, "import gave up: " + reg.path() + " changed under each of " +
                                std::to_string(kAttempts) + " attempts; nothing written");
}

}  // namespace xdpkv
