// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
// The JSON of `xdpkv hints decode` and `xdpkv hints probe --json`
// (hints::to_json, through nlohmann-json): the documents' shape, and valid
// JSON whatever bytes the names hold.
#include <arpa/inet.h>

#include <string>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <xdpkv/codec.hpp>
#include <xdpkv/hints.hpp>

namespace {

using xdpkv::hints::Hints;
using xdpkv::hints::ProbeResult;

TEST(HintsJson, Shape) {
  Hints h;
  EXPECT_EQ(xdpkv::hints::to_json(h), "{}");
  h.flags = XDPKV_HINT_HASH | XDPKV_HINT_VLAN | XDPKV_HINT_TIMESTAMP | XDPKV_HINT_HASH_SW |
            XDPKV_HINT_TIMESTAMP_SW;
  h.hash = 0x51ccc178;
  h.vlan_proto = htons(0x8100);
  h.vlan_tci = 5;
  h.timestamp = 1000000000;
  EXPECT_EQ(xdpkv::hints::to_json(h),
            R"({"hash": {"value": "0x51ccc178", "type": "none", "source": "software"}, )"
            R"("vlan": {"proto": "0x8100", "tci": 5, "source": "hardware"}, )"
            R"("timestamp": {"ns": 1000000000, "source": "software"}})");
}

ProbeResult probe_result() {
  ProbeResult r;
  r.ifname = "veth0";
  r.ifindex = 7;
  r.driver = "veth";
  r.netns = "blue";
  r.kernel = 7;
  for (auto& s : r.source) s = "software";
  r.device.fill(xdpkv::hints::Support::kNo);
  return r;
}

TEST(ProbeJson, Shape) {
  ProbeResult r = probe_result();
  const std::string hints =
      R"("hints": {"hash": {"kernel": true, "device": "no", "source": "software"}, )"
      R"("vlan": {"kernel": true, "device": "no", "source": "software"}, )"
      R"("timestamp": {"kernel": true, "device": "no", "source": "software"}}})";
  EXPECT_EQ(
      xdpkv::hints::to_json(r),
      R"({"device": "veth0", "ifindex": 7, "driver": "veth", "netns": "blue", "netlink": null, )" +
          hints);
  r.netlink = true;
  r.netlink_features = 6;
  r.live = true;
  r.live_packets = 3;
  r.live_rc = {0, -61, -95};
  EXPECT_EQ(xdpkv::hints::to_json(r),
            R"({"device": "veth0", "ifindex": 7, "driver": "veth", "netns": "blue", "netlink": 6, )"
            R"("live": {"packets": 3, "rc": {"hash": 0, "vlan": -61, "timestamp": -95}}, )" +
                hints);
}

// Names come from outside: quotes, control bytes and bytes that are not UTF-8
// (Linux allows them in interface names) still give one valid document.
TEST(ProbeJson, HostileNames) {
  ProbeResult r = probe_result();
  r.ifname = "a\"b\\\n\x1b";
  r.netns = "\x01";
  r.driver = "\xff\xfe";
  std::string text;
  ASSERT_NO_THROW(text = xdpkv::hints::to_json(r));
  nlohmann::json j;
  ASSERT_NO_THROW(j = nlohmann::json::parse(text)) << text;
  EXPECT_EQ(j["device"], "a\"b\\\n\x1b");
  EXPECT_EQ(j["netns"], "\x01");
  EXPECT_EQ(j["driver"], "\xef\xbf\xbd\xef\xbf\xbd");  // U+FFFD each
  EXPECT_EQ(text.find('\n'), std::string::npos);
}

}  // namespace
