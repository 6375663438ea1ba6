// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
// `xdpkv hints verify` (hints::verify) on a real driver: the guest's two
// virtio-net NICs (run-vm.sh: one QEMU hub, rss=on,hash=on), test frames
// from the first to the second. QEMU computes a Toeplitz hash with the key
// the driver programmed and reports it in the virtio header; virtio_net
// gives it to XDP through bpf_xdp_metadata_rx_hash (Linux >= 6.3 kfunc;
// in the 6.12 and 7.3 guests, only with `ethtool -K IFACE rxhash on`).
//
//  - rxhash off: the hash is advertised and gives no data;
//  - rxhash on: every driver hash equals xdpkv's Toeplitz with the device's
//    key (ETHTOOL_GRSSH), the same hints are read back behind a devmap and
//    a cpumap, and skb->hash after xdpkv_restore equals them;
//  - after a key change (ETHTOOL_SRSSH) the same, with the new key;
//  - on 6.12.95 the driver gives the device its key one byte late: every hash
//    is wrong with the reported key and right with 00 + its first 39 bytes;
//  - checked with another key, verify fails and names a packet and both values;
//  - in the 6.1 guest (no device-bound kfuncs) every hint is unsupported and the
//    redirect passes still hold.
// Prints "xdpkv-vm: hints verify ...: ok|FAIL (...)" lines with the counts.
#include <gtest/gtest.h>

#include <linux/ethtool.h>
#include <linux/sockios.h>
#include <net/if.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <string>
#include <vector>

#include <xdpkv/hints.hpp>

#include "guest_util.hpp"

namespace xdpkv::test {
namespace {

namespace fs = std::filesystem;
using hints::Verdict;

// The guest's virtio_net devices, by name.
std::vector<std::string> virtio_nics() {
  std::vector<std::string> out;
  std::error_code ec;
  for (const auto& d : fs::directory_iterator("/sys/class/net", ec)) {
    const fs::path drv = d.path() / "device" / "driver";
    if (fs::is_symlink(drv, ec) && fs::read_symlink(drv, ec).filename() == "virtio_net")
      out.push_back(d.path().filename());
  }
  std::sort(out.begin(), out.end());
  return out;
}

int ethtool(const std::string& dev, void* data) {
  const int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  ifreq ifr{};
  std::strncpy(ifr.ifr_name, dev.c_str(), IFNAMSIZ - 1);
  ifr.ifr_data = static_cast<char*>(data);
  const int ret = ioctl(fd, SIOCETHTOOL, &ifr) ? -errno : 0;
  ::close(fd);
  return ret;
}

// ethtool -K DEV rxhash on|off
int set_rxhash(const std::string& dev, bool on) {
  ethtool_value v{ETHTOOL_GFLAGS, 0};
  if (int r = ethtool(dev, &v)) return r;
  v.cmd = ETHTOOL_SFLAGS;
  v.data = on ? (v.data | ETH_FLAG_RXHASH) : (v.data & ~static_cast<uint32_t>(ETH_FLAG_RXHASH));
  return ethtool(dev, &v);
}

// ethtool -X DEV hkey KEY (indirection table unchanged)
int set_rss_key(const std::string& dev, const hints::RssKey& key) {
  std::vector<uint8_t> buf(sizeof(ethtool_rxfh) + key.size());
  ethtool_rxfh h{};
  h.cmd = ETHTOOL_SRSSH;
  h.indir_size = ETH_RXFH_INDIR_NO_CHANGE;
  h.key_size = static_cast<uint32_t>(key.size());
  std::memcpy(buf.data(), &h, sizeof(h));
  std::memcpy(buf.data() + sizeof(h), key.data(), key.size());
  return ethtool(dev, buf.data());
}

struct Nics {
  std::string tx, rx;
  bool ok = false;
  Nics() {
    auto n = virtio_nics();
    if (n.size() < 2) return;
    tx = n[0];
    rx = n[1];
    ok = !link_up(tx.c_str()) && !link_up(rx.c_str());
  }
};

hints::VerifyOptions options(const Nics& n) {
  hints::VerifyOptions o;
  o.from = n.tx;
  o.count = 32;
  o.timeout_ms = 20000;  // TCG
  return o;
}

void print(const std::string& what, const hints::VerifyReport& r) {
  std::string text = hints::format(r);
  for (size_t p = 0, e; p < text.size(); p = e + 1) {
    e = text.find('\n', p);
    if (e == std::string::npos) e = text.size();
    std::printf("xdpkv-vm: hints verify %s: %s\n", what.c_str(), text.substr(p, e - p).c_str());
  }
  std::fflush(stdout);
}

std::string counts(const hints::HintCheck& c) {
  return std::to_string(c.ok) + " of " + std::to_string(c.checked) + " right, " +
         std::to_string(c.given) + " given";
}

// Every frame's hints read back behind both redirects, skb->hash restored.
void expect_redirects(const hints::VerifyReport& r, unsigned n) {
  for (const hints::RedirectCheck& c : r.redirects) {
    EXPECT_TRUE(c.run && c.ok()) << c.name << ": " << c.first_wrong << " " << c.note;
    EXPECT_EQ(c.captured, n) << c.name;
    EXPECT_EQ(c.arrived, n) << c.name;
    EXPECT_EQ(c.same, n) << c.name;
  }
  EXPECT_EQ(r.redirects[1].skb_hash_same, n);
}

// Debian's 6.12.95 virtio_net hands the device its RSS key one byte late:
// QEMU hashes with 00 followed by the key's first 39 bytes, so no hash matches
// the key ETHTOOL_GRSSH reports. 7.3.4's driver does not (the device's hashes
// match its key). Measured in these guests; verify shows it, this pins it.
bool key_one_byte_late() { return kernel_at_least(6, 12) && !kernel_at_least(7, 0); }

// Every hash wrong with the device's key, every one right with the key the
// device really used; returns what was seen.
std::string expect_key_one_byte_late(const Nics& nics, const hints::VerifyReport& r) {
  const unsigned n = options(nics).count;
  const hints::HintCheck& h = r.hints[hints::kHash];
  EXPECT_FALSE(r.ok());
  EXPECT_EQ(h.verdict, Verdict::kWrong);
  EXPECT_EQ(h.wrong, n);
  auto o = options(nics);
  o.key_given = true;
  o.key[0] = 0;
  std::copy(r.key.begin(), r.key.end() - 1, o.key.begin() + 1);
  o.redirects = false;
  auto late = hints::verify(nics.rx, o);
  EXPECT_TRUE(late) << late.error().message;
  if (!late) return "";
  print("the key one byte late", *late);
  EXPECT_TRUE(late->ok());
  EXPECT_EQ(late->hints[hints::kHash].ok, n);
  return "device key: " + std::to_string(h.wrong) + " of " + std::to_string(h.checked) +
         " wrong; 00 + its first 39 bytes: " + std::to_string(late->hints[hints::kHash].ok) +
         " of " + std::to_string(late->hints[hints::kHash].checked) + " right (driver bug)";
}

TEST(V_Virtio, HintsVerify) {
  Nics nics;
  ASSERT_TRUE(nics.ok) << "two virtio_net NICs, up (run-vm.sh gives them)";
  const unsigned n = options(nics).count;
  if (!kernel_at_least(6, 12)) {
    // No rx_hash from virtio_net: every hint unsupported, the passes still hold.
    auto r = hints::verify(nics.rx, options(nics));
    ASSERT_TRUE(r) << r.error().message;
    print("(" + kernel_release() + ": no device-bound kfuncs)", *r);
    EXPECT_TRUE(r->ok());
    EXPECT_EQ(r->packets, n);
    for (const hints::HintCheck& c : r->hints) EXPECT_EQ(c.given, 0u);
    expect_redirects(*r, n);
    return;
  }
  // run-vm.sh puts the NICs on taps with virtio-net headers where it can;
  // on its fallback (a QEMU hub) QEMU offers no hash reports.
  const char* nic = std::getenv("xdpkv_nic");
  ASSERT_STREQ(nic ? nic : "(unset)", "tap")
      << "no tap bridge on this host: QEMU's hub gives virtio-net no hash reports "
         "(VIRTIO_NET_F_HASH_REPORT), so the driver's hashes cannot be checked";
  // rxhash off (virtio_net's default): advertised, no data.
  ASSERT_EQ(set_rxhash(nics.rx, false), 0);
  auto off = hints::verify(nics.rx, [&] {
    auto o = options(nics);
    o.redirects = false;
    return o;
  }());
  ASSERT_TRUE(off) << off.error().message;
  print("rxhash off", *off);
  EXPECT_EQ(off->hints[hints::kHash].verdict, Verdict::kNoData);
  EXPECT_TRUE(off->hints[hints::kHash].advertised);
  EXPECT_EQ(off->hints[hints::kHash].nodata, n);
  EXPECT_NE(off->hints[hints::kHash].note.find("rxhash on"), std::string::npos);

  ASSERT_EQ(set_rxhash(nics.rx, true), 0);
  auto on = hints::verify(nics.rx, options(nics));
  ASSERT_TRUE(on) << on.error().message;
  print("device key", *on);
  const hints::HintCheck& h = on->hints[hints::kHash];
  EXPECT_TRUE(on->device_bound) << on->capture_note;
  EXPECT_TRUE(on->key_known) << on->key_source;
  EXPECT_EQ(h.checked, n);
  EXPECT_EQ(on->hints[hints::kVlan].verdict, Verdict::kUnsupported);
  EXPECT_EQ(on->hints[hints::kTimestamp].verdict, Verdict::kUnsupported);
  expect_redirects(*on, n);
  std::string bug;
  if (key_one_byte_late()) {
    bug = "; " + kernel_release() + ": " + expect_key_one_byte_late(nics, *on);
  } else {
    EXPECT_TRUE(on->ok());
    EXPECT_EQ(h.verdict, Verdict::kOk);
    EXPECT_EQ(h.ok, n);
  }

  // Another key on the device: the driver's hashes follow it, and so does verify.
  hints::RssKey key;
  for (size_t i = 0; i < key.size(); i++) key[i] = static_cast<uint8_t>(0x3c + 7 * i);
  ASSERT_EQ(set_rss_key(nics.rx, key), 0);
  auto after = hints::verify(nics.rx, options(nics));
  ASSERT_TRUE(after) << after.error().message;
  print("after ETHTOOL_SRSSH", *after);
  EXPECT_TRUE(after->key == key) << hints::format(*after);
  if (key_one_byte_late()) {
    (void)expect_key_one_byte_late(nics, *after);
  } else {
    EXPECT_TRUE(after->ok());
    EXPECT_EQ(after->hints[hints::kHash].ok, n);
  }

  // Checked with the standard key instead: wrong, naming a packet and both values.
  auto o = options(nics);
  o.key_given = true;
  o.key = hints::default_rss_key();
  o.redirects = false;
  auto wrong = hints::verify(nics.rx, o);
  ASSERT_TRUE(wrong) << wrong.error().message;
  print("another key", *wrong);
  const hints::HintCheck& w = wrong->hints[hints::kHash];
  EXPECT_FALSE(wrong->ok());
  EXPECT_EQ(w.verdict, Verdict::kWrong);
  EXPECT_EQ(w.wrong, n);
  EXPECT_NE(w.first_wrong.find("packet "), std::string::npos);
  EXPECT_NE(w.first_wrong.find("driver 0x"), std::string::npos);
  EXPECT_NE(w.first_wrong.find("expected 0x"), std::string::npos);

  const bool ok = !::testing::Test::HasFailure();
  std::printf(
      "xdpkv-vm: hints verify virtio_net: %s (rx_hash: off -> no data on %u of %u; "
      "device key %s; after a key change %s; devmap %u/%u, cpumap %u/%u same hints, "
      "skb->hash %u/%u; another key: %u of %u wrong%s)\n",
      ok ? "ok" : "FAIL", off->hints[hints::kHash].nodata, n, counts(h).c_str(),
      counts(after->hints[hints::kHash]).c_str(), on->redirects[0].same, on->redirects[0].captured,
      on->redirects[1].same, on->redirects[1].captured, on->redirects[1].skb_hash_same,
      on->redirects[1].captured, w.wrong, w.checked, bug.c_str());
  std::fflush(stdout);
}

}  // namespace
}  // namespace xdpkv::test
