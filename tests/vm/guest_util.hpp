// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
// Shared by the guest binaries (guest_test.cpp, matrix_checks.cpp): the
// guest kernel's version and the limits that follow from it, veth pairs.
#pragma once

#include <arpa/inet.h>
#include <linux/ethtool.h>
#include <linux/if_link.h>
#include <linux/if_packet.h>
#include <linux/rtnetlink.h>
#include <linux/sockios.h>
#include <linux/veth.h>
#include <net/if.h>
#include <netinet/ip.h>
#include <netinet/udp.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <span>
#include <string>
#include <vector>

#include <xdpkv/format.h>

namespace xdpkv::test {

// KERNEL_VERSION(a, b, c) of the running kernel (uname -r), 0 if unparsable.
inline unsigned kernel_version() {
  utsname u{};
  unsigned a = 0, b = 0, c = 0;
  if (uname(&u) || std::sscanf(u.release, "%u.%u.%u", &a, &b, &c) < 2) return 0;
  return (a << 16) + (b << 8) + (c > 255 ? 255 : c);
}

inline bool kernel_at_least(unsigned a, unsigned b) {
  return kernel_version() >= (a << 16) + (b << 8);
}

inline std::string kernel_release() {
  utsname u{};
  return uname(&u) ? std::string("?") : std::string(u.release);
}

// What bpf_xdp_adjust_meta lets a BPF program (the inline backend) write in
// a BPF_PROG_TEST_RUN with the kernel's 256-byte headroom: 32 bytes before
// 6.8, the headroom less struct xdp_frame from 6.8 on.
inline size_t inline_meta_cap() {
  return kernel_at_least(6, 8) ? XDPKV_META_MAX_HEADROOM : XDPKV_META_MAX_OLD;
}

// One rtnetlink request (RTM_*LINK on an ifinfomsg) and its ack.
struct LinkMsg {
  alignas(4) char buf[512] = {};
  nlmsghdr* nh = reinterpret_cast<nlmsghdr*>(buf);

  LinkMsg(unsigned short type, unsigned short flags, int ifindex) {
    nh->nlmsg_len = NLMSG_LENGTH(sizeof(ifinfomsg));
    nh->nlmsg_type = type;
    nh->nlmsg_flags = static_cast<unsigned short>(NLM_F_REQUEST | NLM_F_ACK | flags);
    reinterpret_cast<ifinfomsg*>(NLMSG_DATA(nh))->ifi_index = ifindex;
  }
  rtattr* add(unsigned short type, const void* data, size_t len) {
    auto* a = reinterpret_cast<rtattr*>(buf + NLMSG_ALIGN(nh->nlmsg_len));
    a->rta_type = type;
    a->rta_len = static_cast<unsigned short>(RTA_LENGTH(len));
    if (len) std::memcpy(RTA_DATA(a), data, len);
    nh->nlmsg_len = NLMSG_ALIGN(nh->nlmsg_len) + RTA_ALIGN(a->rta_len);
    return a;
  }
  // Closes a nested attribute opened by add(type, nullptr, 0).
  void end(rtattr* a) { a->rta_len = static_cast<unsigned short>(buf + nh->nlmsg_len - (char*)a); }
  // Sends it in the calling thread's namespace: 0 or -errno.
  int send() const {
    int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
    if (fd < 0) return -errno;
    int ret = 0;
    if (::send(fd, buf, nh->nlmsg_len, 0) < 0) {
      ret = -errno;
    } else {
      char rb[4096];
      ssize_t n = recv(fd, rb, sizeof(rb), 0);
      auto* r = reinterpret_cast<nlmsghdr*>(rb);
      if (n < 0) {
        ret = -errno;
      } else if (r->nlmsg_type == NLMSG_ERROR) {
        ret = reinterpret_cast<nlmsgerr*>(NLMSG_DATA(r))->error;
      }
    }
    ::close(fd);
    return ret;
  }
};

// Netlink: ip link add NAME type veth peer name PEER.
inline int create_veth(const char* name, const char* peer) {
  LinkMsg m(RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL, 0);
  m.add(IFLA_IFNAME, name, std::strlen(name) + 1);
  rtattr* li = m.add(IFLA_LINKINFO, nullptr, 0);
  m.add(IFLA_INFO_KIND, "veth", 4);
  rtattr* data = m.add(IFLA_INFO_DATA, nullptr, 0);
  rtattr* p = m.add(VETH_INFO_PEER, nullptr, 0);
  m.nh->nlmsg_len += sizeof(ifinfomsg);  // the peer's (zeroed) ifinfomsg
  m.add(IFLA_IFNAME, peer, std::strlen(peer) + 1);
  m.end(p);
  m.end(data);
  m.end(li);
  return m.send();
}

// ip link set NAME netns NS_FD
inline int link_set_netns(const char* name, int ns_fd) {
  const int ifindex = static_cast<int>(if_nametoindex(name));
  if (!ifindex) return -ENODEV;
  LinkMsg m(RTM_NEWLINK, 0, ifindex);
  const uint32_t fd = static_cast<uint32_t>(ns_fd);
  m.add(IFLA_NET_NS_FD, &fd, sizeof(fd));
  return m.send();
}

// ip link del NAME (a veth takes its peer with it)
inline int delete_link(const char* name) {
  const int ifindex = static_cast<int>(if_nametoindex(name));
  if (!ifindex) return -ENODEV;
  return LinkMsg(RTM_DELLINK, 0, ifindex).send();
}

inline int link_up(const char* name) {
  int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  ifreq ifr{};
  std::strncpy(ifr.ifr_name, name, IFNAMSIZ - 1);
  int ret = ioctl(fd, SIOCGIFFLAGS, &ifr);
  ifr.ifr_flags |= IFF_UP;
  ret = ret ?: ioctl(fd, SIOCSIFFLAGS, &ifr);
  ret = ret ? -errno : 0;
  ::close(fd);
  return ret;
}

// ip addr add ADDR/24 dev NAME (ADDR in dotted form), in the calling thread's namespace.
inline int set_ipv4_24(const char* name, const char* addr) {
  int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -errno;
  ifreq ifr{};
  std::strncpy(ifr.ifr_name, name, IFNAMSIZ - 1);
  auto* sin = reinterpret_cast<sockaddr_in*>(&ifr.ifr_addr);
  sin->sin_family = AF_INET;
  int ret = 0;
  if (inet_pton(AF_INET, addr, &sin->sin_addr) != 1) {
    ret = -EINVAL;
  } else if (ioctl(fd, SIOCSIFADDR, &ifr)) {
    ret = -errno;
  } else {
    sin->sin_addr.s_addr = htonl(0xffffff00);
    if (ioctl(fd, SIOCSIFNETMASK, &ifr)) ret = -errno;
  }
  ::close(fd);
  return ret;
}

// ethtool -K NAME gro on|off
inline int set_gro(const char* name, bool on) {
  int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -errno;
  ethtool_value v{ETHTOOL_SGRO, on ? 1u : 0u};
  ifreq ifr{};
  std::strncpy(ifr.ifr_name, name, IFNAMSIZ - 1);
  ifr.ifr_data = reinterpret_cast<char*>(&v);
  int ret = ioctl(fd, SIOCETHTOOL, &ifr) ? -errno : 0;
  ::close(fd);
  return ret;
}

// A 64-byte Ethernet broadcast IPv4/UDP frame, 10.11.0.1:1234 -> 10.11.0.2:dport.
inline std::vector<uint8_t> udp_test_frame(uint16_t dport) {
  std::vector<uint8_t> f(64, 0);
  std::memset(f.data(), 0xff, 6);
  const uint8_t src[6] = {0x02, 0, 0, 0, 0, 1};
  std::memcpy(f.data() + 6, src, 6);
  f[12] = 0x08;
  iphdr ip{};
  ip.version = 4;
  ip.ihl = 5;
  ip.ttl = 64;
  ip.protocol = IPPROTO_UDP;
  ip.tot_len = htons(static_cast<uint16_t>(f.size() - 14));
  ip.saddr = htonl(0x0a0b0001);
  ip.daddr = htonl(0x0a0b0002);
  uint32_t sum = 0;
  const auto* w = reinterpret_cast<const uint16_t*>(&ip);
  for (int i = 0; i < 10; i++) sum += w[i];
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  ip.check = static_cast<uint16_t>(~sum);
  std::memcpy(f.data() + 14, &ip, sizeof ip);
  udphdr udp{};
  udp.source = htons(1234);
  udp.dest = htons(dport);
  udp.len = htons(static_cast<uint16_t>(f.size() - 34));
  std::memcpy(f.data() + 34, &udp, sizeof udp);
  return f;
}

// Sends n copies of frame out of ifindex (AF_PACKET): they arrive on the
// veth peer through the skb path, where veth runs XDP. 0 or -errno.
inline int send_packet_frames(int ifindex, std::span<const uint8_t> frame, unsigned n) {
  const int fd = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, 0);
  if (fd < 0) return -errno;
  sockaddr_ll sll{};
  sll.sll_family = AF_PACKET;
  sll.sll_ifindex = ifindex;
  sll.sll_halen = 6;
  std::memset(sll.sll_addr, 0xff, 6);
  int ret = 0;
  for (unsigned i = 0; i < n && !ret; i++) {
    if (sendto(fd, frame.data(), frame.size(), 0, reinterpret_cast<sockaddr*>(&sll), sizeof sll) <
        0)
      ret = -errno;
  }
  ::close(fd);
  return ret;
}

}  // namespace xdpkv::test
