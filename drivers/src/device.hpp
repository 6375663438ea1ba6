// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
// Device facts for the probe and verify (probe.cpp), in the calling
// thread's network namespace unless a netns is named.
#pragma once

#include <cstdint>
#include <string>

#include <xdpkv/result.hpp>

namespace xdpkv::hints::detail {

// One SIOCETHTOOL request on ifname; cmd is the ethtool struct (its first
// u32 the ETHTOOL_* command), filled in by the driver. An ioctl failure is
// errno_error(errno, what); a socket failure errno_error(errno, "socket").
Status ethtool_ioctl(const std::string& ifname, void* cmd, const std::string& what);

std::string driver_of(const std::string& ifname);  // ETHTOOL_GDRVINFO; "?" if unknown
bool mac_of(const std::string& ifname, uint8_t mac[6]);

struct Peer {
  std::string netns, ifname;
};
// The other end of a veth (`ip -j link`, `ip netns list`): false if none found.
bool veth_peer(const std::string& netns, const std::string& ifname, Peer& peer);

// The device's NETDEV_A_DEV_XDP_FEATURES (netdev netlink, Linux >= 6.3).
Result<uint64_t> netlink_xdp_features(int ifindex);
inline constexpr uint64_t kXdpActNdoXmit = 1u << 2;  // NETDEV_XDP_ACT_NDO_XMIT

// A kfunc result as text: "0", "-ENODATA", "-EOPNOTSUPP", "not called".
std::string rc_text(int rc);

}  // namespace xdpkv::hints::detail
