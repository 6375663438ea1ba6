// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
// Loader helpers: resolve named keys into a BPF program's read-only config,
// and point a strict-mode program's registry map at the pinned registry.
#include <xdpkv/registry.hpp>

#include <bpf/libbpf.h>

#include <xdpkv/bpf_util.hpp>

#include "internal.hpp"

namespace xdpkv {

Status resolve_keys(Registry& reg, std::span<const KeyBinding> keys, bool register_missing) {
  for (const KeyBinding& k : keys) {
    if (!k.slot)
      return make_error(EINVAL, "key '" + std::string(k.name) + "': no slot to write its id into");
    int id;
    if (register_missing) {
      auto r = reg.register_key(k.name, k.size, k.scope);
      if (!r) return r.error();
      id = *r;
    } else {
      auto e = reg.lookup(k.name);
      if (!e) return e.error();
      if (e->size != k.size) {
        return make_error(EEXIST, "'" + e->name + "' is registered with size " +
                                      std::to_string(e->size) + " (id " + std::to_string(e->id) +
                                      "), the program uses it with size " + std::to_string(k.size));
      }
      if (!xdpkv_scope_compatible(static_cast<uint32_t>(e->scope), static_cast<uint32_t>(k.scope)))
        return detail::scope_conflict(e->name, e->id, e->scope, k.scope);
      id = e->id;
    }
    *k.slot = static_cast<uint32_t>(id);
  }
  return {};
}

Status bind_registry(const Registry& reg, bpf_object* obj) {
  bpf_map* m = bpf_object__find_map_by_name(obj, "xdpkv_registry");
  if (!m) {
    return make_error(ENOENT,
                      std::string("BPF object '") + bpf_object__name(obj) +
                          "' has no map named xdpkv_registry (built without XDPKV_STRICT?)");
  }
  if (int err = bpf_map__reuse_fd(m, reg.map_fd())) {
    return bpf::errno_error(err,
                            "cannot bind " + reg.path() + " to '" + bpf_object__name(obj) + "'");
  }
  return {};
}

}  // namespace xdpkv
