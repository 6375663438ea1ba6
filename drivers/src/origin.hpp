// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
// The origin mark the hint programs are loaded with (docs/FORMAT.md "Reserved
// keys", key 59): the caller's, else the host's for $XDPKV_BPFFS or the
// default registry directory, made there if it is missing.
#pragma once

#include <cstdint>
#include <optional>

#include <xdpkv/registry.hpp>

namespace xdpkv::hints::detail {

inline Result<uint32_t> origin_or_host(const std::optional<uint32_t>& given) {
  if (given) return *given;
  RegistryOptions o;
  o.create = true;
  return host_origin(o);
}

}  // namespace xdpkv::hints::detail
